"""The 8-bytes-at-a-time number reader gives exactly what float() gives."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from printfarm.adapters.gcode.numbers import parse_numbers


def read(words: list[bytes]) -> np.ndarray:
    text = b" ".join(b"X" + word for word in words) + bytes(40)
    buf = np.frombuffer(text, dtype=np.uint8)
    return parse_numbers(buf, np.flatnonzero(buf == ord("X")) + 1)


def test_signs_points_and_missing_digits() -> None:
    words = [b"-12.5", b"+3", b".25", b"7.", b"0", b"-.202", b"00012.50000", b"1.2.3", b".", b"-", b"Y", b""]
    numbers = read(words)
    assert numbers[:8].tolist() == [-12.5, 3.0, 0.25, 7.0, 0.0, -0.202, 12.5, 1.2]
    assert np.isnan(numbers[8:]).all()


def test_long_numbers_take_the_slow_path_and_stay_exact() -> None:
    words = [b"12345678", b"123456789.5", b"1.123456789", b"1234567.1234567", b"14578.53582"]
    assert read(words).tolist() == [float(w) for w in words]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.from_regex(rb"\A-?[0-9]{0,12}\.?[0-9]{0,10}\Z").filter(lambda w: any(c in b"0123456789" for c in w)), min_size=1, max_size=50))
def test_equals_float_for_any_decimal(words: list[bytes]) -> None:
    assert read(words).tolist() == [float(w) for w in words]
