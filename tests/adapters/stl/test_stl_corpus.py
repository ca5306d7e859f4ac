"""Every file of the shared STL corpus gets the exact verdict and codes its defects call for."""

from __future__ import annotations

import pytest
from adapters.stl.stl_meshes import DATA

from printfarm.adapters.stl import validate_stl_file

EXPECTED = {
    "faceshield/Visor_frame_SWEDEN_v11.stl": ("ok", ()),
    "faceshield/bottom_reinforcement.stl": ("warning", ("not_on_bed", "degenerate_facets")),
    "faceshield/covid19_headband_rc3.stl": ("warning", ("not_on_bed",)),
    "faceshield/face-shield.stl": ("warning", ("degenerate_facets",)),
    "tricky/Visor_frame_SWEDEN_v11__count_too_low.stl": ("rejected", ("binary_count_mismatch",)),
    "tricky/Visor_frame_SWEDEN_v11__inches.stl": ("warning", ("units_inches_suspected",)),
    "tricky/Visor_frame_SWEDEN_v11__inverted.stl": ("rejected", ("inside_out",)),
    "tricky/Visor_frame_SWEDEN_v11__plus3_degenerate.stl": (
        "rejected",
        ("open_edges", "non_manifold_edges", "degenerate_facets"),
    ),
    "tricky/Visor_frame_SWEDEN_v11__truncated.stl": ("rejected", ("binary_truncated",)),
    "tricky/admesh__block__fill-holes-bad.stl": ("rejected", ("open_edges", "units_inches_suspected", "not_on_bed")),
    "tricky/admesh__block__normal-directions-bad.stl": (
        "rejected",
        ("inconsistent_winding", "units_inches_suspected", "not_on_bed"),
    ),
    "tricky/admesh__block__remove-unconnected-bad.stl": (
        "rejected",
        ("open_edges", "not_on_bed", "no_flat_base", "multiple_bodies"),
    ),
    "tricky/numpy-stl__CubeInvalidUnicode.stl": ("warning", ("units_inches_suspected",)),
    "tricky/numpy-stl__StarWithEmptyHeader.stl": ("warning", ("units_inches_suspected", "no_flat_base")),
    "tricky/prusaslicer__20mmbox-CR.stl": ("rejected", ("ascii_cr_line_endings",)),
    "tricky/prusaslicer__20mmbox-CRLF.stl": ("ok", ()),
    "tricky/trimesh__empty.stl": ("rejected", ("no_facets",)),
    "tricky/trimesh__multibody.stl": (
        "rejected",
        ("inconsistent_winding", "units_inches_suspected", "not_on_bed", "no_flat_base", "multiple_bodies"),
    ),
    "tricky/trimesh__soup.stl": ("rejected", ("units_metres_suspected", "no_flat_base")),
    "tricky/trimesh__stl_empty_bin.stl": ("rejected", ("no_facets",)),
}


def test_corpus_table_covers_every_shared_file() -> None:
    assert sorted(str(p.relative_to(DATA)) for p in DATA.rglob("*.stl")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shared_file_gets_its_exact_codes(name: str) -> None:
    report = validate_stl_file(DATA / name)
    assert (report.verdict, report.codes) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if n.startswith("faceshield/")))
def test_real_face_shields_are_closed_single_bodies_with_positive_volume(name: str) -> None:
    report = validate_stl_file(DATA / name)
    assert report.verdict != "rejected"
    assert report.bodies == 1
    assert report.volume_mm3 is not None and report.volume_mm3 > 0


def test_multibody_ascii_reads_every_solid_block() -> None:
    assert validate_stl_file(DATA / "tricky/trimesh__multibody.stl").triangles == 32


def test_header_count_too_low_is_not_read_as_half_a_part() -> None:
    report = validate_stl_file(DATA / "tricky/Visor_frame_SWEDEN_v11__count_too_low.stl")
    assert "2750 triangles" in report.errors[0].message and "275084 bytes" in report.errors[0].message
