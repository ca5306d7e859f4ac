"""slice_stl with the real PrusaSlicer: every face shield on every shipped profile where it fits,
each result analysed and checked against the slicer's own header and the bed."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest

from printfarm.adapters.gcode import GcodeAnalysis, analyse_gcode
from printfarm.adapters.slicer import slice_stl
from printfarm.errors import SlicerError
from printfarm.parts.compat import print_file_problems
from printfarm.printers.catalog import PROFILES

REPO = Path(__file__).resolve().parents[3]
FACESHIELDS = REPO.parent / "shared" / "data" / "stl" / "faceshield"
PROFILE_DIR = REPO / "config" / "profiles"
BOTTOM = FACESHIELDS / "bottom_reinforcement.stl"
HEADBAND = FACESHIELDS / "covid19_headband_rc3.stl"

# Footprints (SOURCES.tsv): only the bottom reinforcement (120 × 31 mm) fits the MINI's 180 mm bed.
FITS = {
    "prusa-mk3s-0.4": ["Visor_frame_SWEDEN_v11", "bottom_reinforcement", "covid19_headband_rc3", "face-shield"],
    "prusa-mini-0.4": ["bottom_reinforcement"],
    "creality-ender3-0.4": ["Visor_frame_SWEDEN_v11", "bottom_reinforcement", "covid19_headband_rc3", "face-shield"],
}
CASES = [(profile, part) for profile, parts in FITS.items() for part in parts]
_TIME = re.compile(rb"; estimated printing time \(normal mode\) = (?:(\d+)d )?(?:(\d+)h )?(?:(\d+)m )?(\d+)s")
_FILAMENT = re.compile(rb"; filament used \[mm\] = ([0-9.]+)")


@pytest.fixture(scope="module")
def sliced() -> dict[tuple[str, str], bytes]:
    """Each face shield sliced once per profile it fits (about 30 s on two cores)."""
    return {
        (profile, part): slice_stl(FACESHIELDS / f"{part}.stl", PROFILE_DIR / PROFILES[profile].slicer_config)
        for profile, part in CASES
    }


def header_seconds(gcode: bytes) -> float:
    match = _TIME.search(gcode)
    assert match, "PrusaSlicer wrote no estimated time"
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return float(((days * 24 + hours) * 60 + minutes) * 60 + seconds)


def without_filament_header(gcode: bytes) -> bytes:
    return re.sub(rb"\n; (?:total )?filament used \[[a-z0-9]+\] = [^\n]*", b"", gcode)


@pytest.mark.slow
@pytest.mark.parametrize(("profile_name", "part"), CASES)
def test_sliced_face_shield_analysis_agrees_with_the_slicer_and_fits_the_bed(
    sliced: dict[tuple[str, str], bytes], profile_name: str, part: str
) -> None:
    gcode = sliced[(profile_name, part)]
    profile = PROFILES[profile_name]
    analysis = analyse_gcode(gcode)

    assert (analysis.slicer, analysis.slicer_version) == ("PrusaSlicer", "2.5.0")
    assert (analysis.nozzle_mm, analysis.filament_type) == (0.4, "PLA")
    assert (analysis.nozzle_temp_c, analysis.bed_temp_c) == (215.0, 60.0)
    assert analysis.estimated_seconds == header_seconds(gcode)
    header_mm = float(_FILAMENT.search(gcode).group(1))  # type: ignore[union-attr]
    assert analysis.filament_mm == header_mm
    assert analysis.filament_g is not None and analysis.filament_g > 0
    assert analysis.layers == gcode.count(b"\n;LAYER_CHANGE")
    assert analysis.lines == gcode.count(b"\n")

    # The moves themselves: net E agrees with the slicer's figure but for the purge line,
    # which the slicer does not count (it is custom start G-code).
    followed = analyse_gcode(without_filament_header(gcode)).filament_mm
    assert followed == pytest.approx(header_mm, abs=25.0)

    extents = analysis.extents_mm
    assert extents is not None
    for axis, bed in (("x", profile.build_x_mm), ("y", profile.build_y_mm)):
        assert 0.0 <= extents[axis][0] < extents[axis][1] <= bed
    assert extents["z"][0] == pytest.approx(0.2)  # first layer on the bed, whatever z the STL had
    assert extents["z"][1] <= profile.build_z_mm
    assert print_file_problems(analysis, profile, "PLA") == []


@pytest.mark.slow
def test_copies_are_arranged_on_the_bed() -> None:
    analysis: GcodeAnalysis = analyse_gcode(slice_stl(BOTTOM, PROFILE_DIR / "prusa-mini-0.4.ini", copies=4))
    one = analyse_gcode(slice_stl(BOTTOM, PROFILE_DIR / "prusa-mini-0.4.ini"))
    assert analysis.filament_mm == pytest.approx(4 * one.filament_mm, rel=0.02)  # type: ignore[operator]
    assert print_file_problems(analysis, PROFILES["prusa-mini-0.4"], "PLA") == []


def test_a_part_larger_than_the_bed_is_a_slicer_error_naming_it() -> None:
    with pytest.raises(SlicerError) as failed:
        slice_stl(HEADBAND, PROFILE_DIR / "prusa-mini-0.4.ini")
    assert str(failed.value) == (
        "1 × covid19_headband_rc3.stl do not fit the bed of prusa-mini-0.4.ini "
        "(PrusaSlicer: objects could not fit on the bed)"
    )


def test_copies_that_do_not_fit_together_are_a_slicer_error() -> None:
    with pytest.raises(SlicerError, match=r"^2 × covid19_headband_rc3.stl do not fit the bed of prusa-mk3s-0.4.ini"):
        slice_stl(HEADBAND, PROFILE_DIR / "prusa-mk3s-0.4.ini", copies=2)


def test_a_part_taller_than_the_printer_is_a_compat_problem(tmp_path: Path) -> None:
    tall = tmp_path / "tall.stl"
    tall.write_bytes(box_stl(20.0, 20.0, 185.0))
    analysis = analyse_gcode(slice_stl(tall, PROFILE_DIR / "prusa-mk3s-0.4.ini"))
    assert print_file_problems(analysis, PROFILES["prusa-mini-0.4"], "PLA") == [
        "extents 185.0 mm > build height 180 mm on Z",
        "printer model MK3S in G-code, profile prusa-mini-0.4 is Original Prusa MINI",
    ]


def test_a_floating_part_is_dropped_onto_the_bed(tmp_path: Path) -> None:
    floating = tmp_path / "floating.stl"
    floating.write_bytes(box_stl(10.0, 10.0, 2.0, z0=30.0))
    analysis = analyse_gcode(slice_stl(floating, PROFILE_DIR / "creality-ender3-0.4.ini"))
    assert analysis.extents_mm is not None
    assert analysis.extents_mm["z"] == pytest.approx((0.2, 2.0))


def test_a_missing_executable_is_a_slicer_error() -> None:
    with pytest.raises(SlicerError, match=r"^slicer executable 'no-such-slicer' not found"):
        slice_stl(BOTTOM, PROFILE_DIR / "prusa-mini-0.4.ini", executable="no-such-slicer")


def test_a_missing_config_is_a_slicer_error(tmp_path: Path) -> None:
    with pytest.raises(SlicerError, match=r"^slicer config .*nope.ini does not exist$"):
        slice_stl(BOTTOM, tmp_path / "nope.ini")


def test_a_failing_slicer_reports_its_last_words(tmp_path: Path) -> None:
    broken = tmp_path / "broken.ini"
    broken.write_text("layer_height = 5\nnozzle_diameter = 0.4\n")
    with pytest.raises(SlicerError, match=r"^PrusaSlicer exited with status 1 slicing bottom_reinforcement.stl with broken.ini: .+"):
        slice_stl(BOTTOM, broken)


def test_a_slow_slicer_is_killed_at_the_timeout() -> None:
    with pytest.raises(SlicerError, match=r"^PrusaSlicer took longer than 0.2 s slicing covid19_headband_rc3.stl ×1; killed$"):
        slice_stl(HEADBAND, PROFILE_DIR / "prusa-mk3s-0.4.ini", timeout_seconds=0.2)


def box_stl(x: float, y: float, z: float, z0: float = 0.0) -> bytes:
    """A closed box as binary STL, outward normals."""
    corners = [(i * x, j * y, z0 + k * z) for i in (0, 1) for j in (0, 1) for k in (0, 1)]
    faces = [
        (0, 2, 3), (0, 3, 1), (4, 5, 7), (4, 7, 6),  # x = 0, x = max
        (0, 1, 5), (0, 5, 4), (2, 6, 7), (2, 7, 3),  # y = 0, y = max
        (0, 4, 6), (0, 6, 2), (1, 3, 7), (1, 7, 5),  # z = 0, z = max
    ]
    records = b"".join(
        struct.pack("<12fH", 0, 0, 0, *corners[a], *corners[b], *corners[c], 0) for a, b, c in faces
    )
    return b"box".ljust(80, b" ") + struct.pack("<I", len(faces)) + records
