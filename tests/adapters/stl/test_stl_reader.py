"""Bytes and format checks: each broken input is rejected with its exact code, cheaply."""

from __future__ import annotations

import struct
import tracemalloc

import numpy as np
from adapters.stl.stl_meshes import ascii_solid, cube, cube_bytes

from printfarm.adapters.stl import StlLimits, validate_stl
from printfarm.adapters.stl.writer import binary_stl


def codes(data: bytes, **kwargs: object) -> tuple[str, ...]:
    return validate_stl(data, **kwargs).codes  # type: ignore[arg-type]


def test_empty_bytes_are_rejected_as_empty_file() -> None:
    assert codes(b"") == ("empty_file",)


def test_file_over_the_size_limit_is_rejected_before_parsing() -> None:
    assert codes(cube_bytes(), limits=StlLimits(max_bytes=100)) == ("file_too_large",)


def test_binary_shorter_than_its_header_is_rejected() -> None:
    assert codes(b"\x00" * 50) == ("binary_too_short",)


def test_truncated_binary_is_rejected_naming_count_and_size() -> None:
    report = validate_stl(cube_bytes()[:-7])
    assert report.codes == ("binary_truncated",)
    assert "12 triangles" in report.errors[0].message and "677 bytes" in report.errors[0].message


def test_binary_with_trailing_bytes_is_rejected() -> None:
    assert codes(cube_bytes() + b"\x00" * 50) == ("binary_count_mismatch",)


def test_header_claiming_99999999_triangles_is_rejected_without_allocating() -> None:
    data = b"\x00" * 80 + struct.pack("<I", 99_999_999) + b"\x01" * 50
    assert len(data) == 134
    tracemalloc.start()
    try:
        report = validate_stl(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.codes == ("binary_truncated", "too_many_triangles")
    assert peak < 100_000


def test_triangle_limit_applies_to_an_honest_binary() -> None:
    assert codes(cube_bytes(), limits=StlLimits(max_triangles=11)) == ("too_many_triangles",)


def test_binary_whose_header_starts_with_solid_is_read_as_binary() -> None:
    report = validate_stl(binary_stl(cube(), header=b"solid exported by CAD"))
    assert (report.verdict, report.triangles) == ("ok", 12)


def test_ascii_reads_every_solid_block() -> None:
    text = ascii_solid(cube()) + ascii_solid(cube(offset=(40, 0, 0)), name="second")
    report = validate_stl(text.encode())
    assert (report.triangles, report.bodies, report.codes) == (24, 2, ("multiple_bodies",))


def test_ascii_with_crlf_line_endings_is_accepted() -> None:
    assert validate_stl(ascii_solid(cube(), newline="\r\n").encode()).verdict == "ok"


def test_ascii_with_cr_only_line_endings_is_rejected() -> None:
    assert codes(ascii_solid(cube(), newline="\r").encode()) == ("ascii_cr_line_endings",)


def test_ascii_with_a_bad_number_is_rejected_naming_it() -> None:
    text = ascii_solid(cube()).replace("vertex 20.0", "vertex 2x.0", 1)
    report = validate_stl(text.encode())
    assert report.codes == ("ascii_unparseable",)
    assert "'2x.0'" in report.errors[0].message


def test_ascii_with_a_wrong_keyword_is_rejected() -> None:
    text = ascii_solid(cube()).replace("endloop", "end loop", 1)
    assert codes(text.encode()) == ("ascii_unparseable",)


def test_ascii_cut_short_is_rejected() -> None:
    text = ascii_solid(cube())
    assert codes(text[: len(text) // 2].encode()) == ("ascii_unparseable",)


def test_ascii_with_text_after_endsolid_is_rejected() -> None:
    assert codes((ascii_solid(cube()) + "garbage\n").encode()) == ("ascii_unparseable",)


def test_ascii_facet_limit_is_checked_before_parsing() -> None:
    assert codes(ascii_solid(cube()).encode(), limits=StlLimits(max_triangles=5)) == ("too_many_triangles",)


def test_ascii_without_facets_is_rejected() -> None:
    assert codes(b"solid nothing\nendsolid nothing\n") == ("no_facets",)


def test_nan_coordinates_are_rejected_in_binary() -> None:
    triangles = cube()
    triangles[3, 1, 2] = np.nan
    assert codes(binary_stl(triangles)) == ("non_finite_coordinates",)


def test_infinite_coordinates_are_rejected_in_ascii() -> None:
    text = ascii_solid(cube()).replace("vertex 20.0", "vertex 1e999", 1)
    assert codes(text.encode()) == ("non_finite_coordinates",)


def test_stored_normals_are_ignored() -> None:
    data = bytearray(cube_bytes())
    for facet in range(12):  # overwrite every stored normal with garbage
        data[84 + 50 * facet : 84 + 50 * facet + 12] = struct.pack("<3f", 7.0, -3.0, 0.5)
    assert validate_stl(bytes(data)).verdict == "ok"


def test_negative_zero_welds_with_positive_zero() -> None:
    triangles = cube()
    upper = triangles[6:]
    upper[upper == 0] = -0.0  # half the facets meet the other half only at -0.0 == 0.0
    assert validate_stl(binary_stl(triangles)).verdict == "ok"
