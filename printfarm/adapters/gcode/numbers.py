"""Decimal numbers read straight from a byte buffer, eight bytes at a time (SWAR in numpy).

Every number is read as an integer part and a fraction part, each loaded as one little-endian
64-bit word at its offset; bitwise tests find where the digits stop and three multiply-and-shift
steps turn up to eight ASCII digits into their value. The mantissa (integer and fraction digits
together, at most 14) is exact in a float64, so one division gives the same double as float().
Numbers with eight or more digits on either side of the point go through float() one by one.
"""

from __future__ import annotations

import re

import numpy as np

WORD_BYTES = 8
MAX_NUMBER_BYTES = 24  # longer numbers are cut here (the buffer pads at least this much)

_DECIMAL = re.compile(rb"[0-9]*(?:\.[0-9]*)?")
_ONES = np.uint64(0x0101010101010101)
_HIGH = np.uint64(0x8080808080808080)
_LOW7 = np.uint64(0x7F7F7F7F7F7F7F7F)
_LOW_NIBBLES = np.uint64(0x0F0F0F0F0F0F0F0F)
_TO_HIGH_ABOVE_0X39 = np.uint64(0x4646464646464646)  # 0x3A + 0x46 = 0x80
_TO_HIGH_FROM_0X30 = np.uint64(0x5050505050505050)  # 0x30 + 0x50 = 0x80
_POINTS = np.uint64(0x2E2E2E2E2E2E2E2E)
_POWERS = 10.0 ** np.arange(WORD_BYTES + 1)
_INT_POWERS = 10 ** np.arange(WORD_BYTES + 1, dtype=np.uint64)


def words_at(buf: np.ndarray) -> np.ndarray:
    """A read-only view of `buf` with the 8 bytes starting at every offset as one uint64."""
    return np.ndarray(
        shape=(len(buf) - WORD_BYTES + 1,), dtype="<u8", buffer=buf, strides=(1,)
    )


def parse_numbers(buf: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The numbers (`-12.5`, `+3`, `.25`, `7.`) starting at byte offsets `at` of `buf`; NaN where
    there is no digit. Reading stops at the first byte that is neither a digit nor the first '.'.

    `buf` must hold at least 32 bytes past the largest offset (zero padding will do).
    """
    first = buf[at]
    negative = first == ord("-")
    at = at + (negative | (first == ord("+")))
    word = words_at(buf)[at]
    non_digits = _non_digit_flags(word)
    lowest = non_digits & (~non_digits + np.uint64(1))  # the first byte that is not a digit
    has_point = (lowest & _byte_flags(word, _POINTS)) != 0
    end_flags = non_digits ^ np.where(has_point, lowest, np.uint64(0))  # the point does not end it
    end = _first_flag(end_flags)
    point = _first_flag(non_digits)
    # Short numbers (a G-code coordinate, "-123.456", ".04519") end inside the one word read:
    # the point is cut out and the digits on both sides read as one integer.
    keep = (np.uint64(1) << (point.view(np.uint64) << np.uint64(3))) - np.uint64(1)
    joined = np.where(has_point, (word & keep) | ((word >> np.uint64(8)) & ~keep), word)
    fraction_digits = np.where(has_point, end - point - 1, 0)
    numbers = _digits_value(joined, end - has_point).astype(np.float64)
    numbers /= _POWERS[fraction_digits]
    numbers[end == has_point] = np.nan  # no digit
    long = np.flatnonzero(end == WORD_BYTES)
    if len(long):
        numbers[long] = _parse_long(buf, at[long])
    np.negative(numbers, out=numbers, where=negative)
    return numbers


def _parse_long(buf: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Numbers (no sign at `at`) that do not end in the first word: integer and fraction parts
    each read from a word of their own, and float() for parts of eight digits or more."""
    words = words_at(buf)
    whole_word = words[at]
    whole_digits = _first_flag(_non_digit_flags(whole_word))
    dot_at = at + whole_digits
    fraction_word = words[dot_at + 1]
    fraction_digits = _first_flag(_non_digit_flags(fraction_word))
    fraction_digits *= buf[dot_at] == ord(".")

    # With no point, fraction_digits is 0 and _digits_value(fraction_word, 0) is 0.
    mantissa = _digits_value(whole_word, whole_digits) * _INT_POWERS[fraction_digits]
    mantissa += _digits_value(fraction_word, fraction_digits)
    numbers = mantissa.astype(np.float64)
    numbers /= _POWERS[fraction_digits]

    long = np.flatnonzero((whole_digits | fraction_digits) >= WORD_BYTES)
    if len(long):
        numbers[long] = _parse_slowly(buf, at[long])
    return numbers


def _byte_flags(word: np.ndarray, pattern: np.uint64) -> np.ndarray:
    """0x80 in every byte of `word` equal to the byte repeated in `pattern`."""
    differ = word ^ pattern
    nonzero = ((differ & _LOW7) + _LOW7) | differ
    return ~nonzero & _HIGH


def _non_digit_flags(word: np.ndarray) -> np.ndarray:
    """0x80 in every byte of `word` that is not an ASCII digit ('0' is 0x30, '9' is 0x39)."""
    low7 = word & _LOW7  # adding to 7 bits never carries into the next byte
    above_nine = low7 + _TO_HIGH_ABOVE_0X39  # bit 7 set where low7 >= 0x3A
    at_least_zero = low7 + _TO_HIGH_FROM_0X30  # bit 7 set where low7 >= 0x30
    return (word | above_nine | ~at_least_zero) & _HIGH


def _first_flag(flags: np.ndarray) -> np.ndarray:
    """Index (0–7) of the lowest byte flagged 0x80, or 8 where none is, as int64."""
    lowest = flags & (~flags + np.uint64(1))
    below = ((lowest - np.uint64(1)) & _HIGH) >> np.uint64(7)
    return ((below * _ONES) >> np.uint64(56)).view(np.int64)


def _digits_value(word: np.ndarray, count: np.ndarray) -> np.ndarray:
    """The value of the first `count` (0–8) ASCII digits of each word, as uint64."""
    shift = (32 - 4 * count).view(np.uint64)  # twice: a shift by 64 is undefined
    chunk = ((word << shift) << shift) & _LOW_NIBBLES  # the bytes after the digits go: leading zeros
    chunk = ((chunk & np.uint64(0x0F000F000F000F00)) >> np.uint64(8)) + (
        chunk & np.uint64(0x000F000F000F000F)
    ) * np.uint64(10)
    chunk = ((chunk & np.uint64(0x00FF000000FF0000)) >> np.uint64(16)) + (
        chunk & np.uint64(0x000000FF000000FF)
    ) * np.uint64(100)
    return ((chunk & np.uint64(0x0000FFFF00000000)) >> np.uint64(32)) + (
        chunk & np.uint64(0x000000000000FFFF)
    ) * np.uint64(10000)


def _parse_slowly(buf: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The slow path for long numbers (no sign at `at`): float() on each, exact at any length."""
    numbers = np.empty(len(at))
    for i, offset in enumerate(at.tolist()):
        chunk = buf[offset : offset + MAX_NUMBER_BYTES].tobytes()
        match = _DECIMAL.match(chunk)  # matches at any offset: every part is optional
        numbers[i] = float((match.group() if match else b"") or b"nan")
    return numbers
