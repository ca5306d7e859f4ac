"""Fuzzing: random bytes, truncations and mutations of real files always yield a report."""

from __future__ import annotations

import struct

from adapters.stl.stl_meshes import DATA, ascii_solid, cube
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from printfarm.adapters.stl import StlLimits, validate_stl

REAL_BINARY = (DATA / "faceshield" / "Visor_frame_SWEDEN_v11.stl").read_bytes()
REAL_ASCII = (DATA / "tricky" / "admesh__block__normal-directions-bad.stl").read_bytes()
SMALL_ASCII = ascii_solid(cube()).encode()
SEEDS = [REAL_BINARY, REAL_ASCII, SMALL_ASCII]
LIMITS = StlLimits(max_bytes=1 << 20, max_triangles=100_000)
VERDICTS = {"ok", "warning", "rejected"}

fuzz = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_clean_report(data: bytes) -> None:
    report = validate_stl(data, limits=LIMITS)
    assert report.verdict in VERDICTS
    assert (report.verdict == "rejected") == bool(report.errors)


@fuzz
@given(st.binary(max_size=2000))
def test_random_bytes_yield_a_report(data: bytes) -> None:
    assert_clean_report(data)


@fuzz
@given(st.binary(max_size=300).map(lambda tail: b"solid " + tail))
def test_random_text_after_solid_yields_a_report(data: bytes) -> None:
    assert_clean_report(data)


@fuzz
@given(st.sampled_from(range(len(SEEDS))), st.floats(0, 1))
def test_truncated_real_files_yield_a_report(seed: int, fraction: float) -> None:
    assert_clean_report(SEEDS[seed][: int(len(SEEDS[seed]) * fraction)])


@fuzz
@given(
    st.sampled_from(range(len(SEEDS))),
    st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=20),
)
def test_byte_mutations_of_real_files_yield_a_report(seed: int, edits: list[tuple[float, int]]) -> None:
    data = bytearray(SEEDS[seed])  # seeds go by index: hypothesis prints its examples
    for where, value in edits:
        data[int(where * len(data))] = value
    assert_clean_report(bytes(data))


@fuzz
@given(st.integers(0, 2**32 - 1), st.binary(max_size=200))
def test_any_header_count_yields_a_report(count: int, body: bytes) -> None:
    assert_clean_report(b"\x00" * 80 + struct.pack("<I", count) + body)


@fuzz
@given(st.sampled_from([b"nan", b"inf", b"-inf", b"1e39", b"-0", b"1e-50", b"0x10", b"1_0", b""]))
def test_odd_ascii_numbers_yield_a_report(number: bytes) -> None:
    assert_clean_report(SMALL_ASCII.replace(b"vertex 20.0", b"vertex " + number, 1))
