"""Parser doors the other fuzz suites leave open: nesting, giant numbers, giant lines, and memory that
grows with the input, never faster (a verdict or a clean error, never an escaping exception)."""

from __future__ import annotations

import json
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from printfarm.adapters.gcode import analyse_gcode
from printfarm.errors import GcodeRejected
from printfarm.adapters.octoprint.mqtt_feed import parse_message
from printfarm.printers.feed import BadMessage

TOPICS = ["p/progress/printing", "p/event/PrintDone", "p/temperature/bed", "p/mqtt"]


@pytest.mark.parametrize("topic", TOPICS)
@pytest.mark.parametrize(
    "payload",
    [b"[" * 30_000 + b"]" * 30_000, b'{"a":' * 10_000 + b"1" + b"}" * 10_000, b'{"progress": ' + b"9" * 5000 + b"}",
     b'{"progress": 1e999999}', b'{"_timestamp": ' + b"9" * 4000 + b"}", b'{"_timestamp": -1}',
     b'{"actual": -1e308, "target": 1e308}', b"\xff\xfe" * 100, b'"\\ud800"'],
    ids=["deep list", "deep object", "huge int", "float overflow", "huge timestamp", "negative timestamp",
         "extreme temperatures", "not utf-8", "lone surrogate"],
)
def test_a_hostile_mqtt_payload_is_a_message_or_a_bad_message(topic: str, payload: bytes) -> None:
    try:
        message = parse_message(topic, payload)
    except BadMessage as err:
        assert len(str(err)) < 400
        return
    assert message.timestamp is None or 0 <= message.timestamp < 2**63


def test_a_timestamp_beyond_any_calendar_is_refused() -> None:
    with pytest.raises(BadMessage) as caught:
        parse_message("p/event/PrintDone", json.dumps({"_timestamp": 10**40}).encode())
    assert caught.value.kind_of_problem == "bad_value"
    assert parse_message("p/event/PrintDone", b'{"_timestamp": 1585728000}').timestamp == 1585728000


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=200), st.sampled_from([b"[", b'{"k":', b'{"progress":[']))
def test_any_nesting_depth_is_refused_or_parsed(depth: int, opener: bytes) -> None:
    closer = {b"[": b"]", b'{"k":': b"}", b'{"progress":[': b"]}"}[opener]
    try:
        parse_message("p/progress/printing", opener * depth + b"1" + closer * depth)
    except BadMessage:
        pass


def _peak_bytes(data: bytes) -> int:
    tracemalloc.start()
    try:
        analyse_gcode(data)
    except GcodeRejected:
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


@pytest.mark.parametrize(
    "unit",
    [b"G1 X1.5 Y2 E0.1\n", b"G1 X1 ", b"X1 ", b";comment without end ", b"G1 X" + b"7" * 1000 + b"\n"],
    ids=["moves", "moves without newline", "one endless line of numbers", "endless comment", "long numbers"],
)
def test_g_code_memory_grows_in_proportion_to_the_input(unit: bytes) -> None:
    small, large = unit * (250_000 // len(unit)), unit * (2_000_000 // len(unit))
    _peak_bytes(small)  # warm caches and imports out of the measurement
    ratio_small, ratio_large = _peak_bytes(small) / len(small), _peak_bytes(large) / len(large)
    # Linear, not worse: eight times the input may cost eight times the memory, plus a margin.
    assert ratio_large <= ratio_small * 1.5 + 1, (ratio_small, ratio_large)
