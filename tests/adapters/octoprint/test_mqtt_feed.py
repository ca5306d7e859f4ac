"""The octoprint kind's feed: OctoPrint-MQTT topics and payloads, every kind, the DESIGN fields, exact rejection codes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from printfarm.adapters.octoprint.mqtt_feed import OCTOPRINT_MQTT_FEED, OctoPrintMqttFeed, parse_message, split_topic
from printfarm.printers.feed import BadMessage, MessageKind, PrinterFeed, PrinterMessage

BASE = "printfarm/site-3/mk3s-1/"


def payload(**fields: object) -> bytes:
    return json.dumps(fields).encode()


def rejection(topic: str, raw: bytes, **options: int) -> BadMessage:
    with pytest.raises(BadMessage) as caught:
        parse_message(topic, raw, **options)
    return caught.value


# -- topics ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        (f"{BASE}event/PrintStarted", (BASE, MessageKind.EVENT, "PrintStarted")),
        (f"{BASE}progress/printing", (BASE, MessageKind.PROGRESS, "printing")),
        (f"{BASE}temperature/tool0", (BASE, MessageKind.TEMPERATURE, "tool0")),
        (f"{BASE}temperature/bed", (BASE, MessageKind.TEMPERATURE, "bed")),
        (f"{BASE}mqtt", (BASE, MessageKind.CONNECTION, None)),
        ("octoPrint/event/PrintDone", ("octoPrint/", MessageKind.EVENT, "PrintDone")),
        ("event/PrintDone", ("", MessageKind.EVENT, "PrintDone")),
    ],
)
def test_topics_in_the_scheme_split_into_base_kind_and_name(topic: str, expected: tuple) -> None:  # type: ignore[type-arg]
    assert split_topic(topic) == expected


@pytest.mark.parametrize(
    "topic",
    [f"{BASE}progress/slicing", f"{BASE}temperature/", f"{BASE}event/", f"{BASE}hass/status", "", "mqtt/", f"{BASE}"],
)
def test_topics_outside_the_scheme_do_not_split(topic: str) -> None:
    assert split_topic(topic) is None


# -- events ------------------------------------------------------------------------------------


def test_print_started_carries_file_name_and_timestamp() -> None:
    raw = payload(_event="PrintStarted", _timestamp=1700000000, name="pf-12-headband.gcode",
                  path="shields/pf-12-headband.gcode", origin="local", size=123456)

    message = parse_message(f"{BASE}event/PrintStarted", raw)

    assert message == PrinterMessage(
        base_topic=BASE, kind=MessageKind.EVENT, event="PrintStarted", file_name="pf-12-headband.gcode",
        timestamp=1700000000,
    )


def test_print_failed_carries_its_reason() -> None:
    raw = payload(_event="PrintFailed", name="pf-12-headband.gcode", reason="cancelled", time=12.5, _timestamp=1)

    message = parse_message(f"{BASE}event/PrintFailed", raw)

    assert (message.event, message.reason, message.file_name) == ("PrintFailed", "cancelled", "pf-12-headband.gcode")


def test_printer_state_changed_carries_the_state_string() -> None:
    raw = payload(_event="PrinterStateChanged", state_id="PRINTING", state_string="Printing", _timestamp=1)

    message = parse_message(f"{BASE}event/PrinterStateChanged", raw)

    assert (message.state_string, message.file_name) == ("Printing", None)


def test_an_event_without_timestamp_or_event_field_is_accepted() -> None:
    # What OctoPrint's own event subscription sends through mosquitto_pub ({__json}).
    raw = payload(name="pf-12-headband.gcode", path="pf-12-headband.gcode", origin="local", size=99, time=61.2)

    message = parse_message(f"{BASE}event/PrintDone", raw)

    assert (message.event, message.file_name, message.timestamp) == ("PrintDone", "pf-12-headband.gcode", None)


def test_an_event_without_name_takes_the_file_name_from_its_path() -> None:
    message = parse_message(f"{BASE}event/PrintDone", payload(path="shields/pf-12-headband.gcode"))

    assert message.file_name == "pf-12-headband.gcode"


def test_an_event_with_progress_carries_it_floored() -> None:
    assert parse_message(f"{BASE}event/PrintPaused", payload(progress=37.9)).progress_percent == 37


# -- progress, temperature, connection -----------------------------------------------------------


def test_progress_carries_percent_and_the_file_name_from_its_path() -> None:
    raw = payload(location="local", path="shields/pf-12-headband.gcode", progress=42, _timestamp=1700000005)

    message = parse_message(f"{BASE}progress/printing", raw)

    assert message == PrinterMessage(
        base_topic=BASE, kind=MessageKind.PROGRESS, file_name="pf-12-headband.gcode", progress_percent=42,
        timestamp=1700000005,
    )


@pytest.mark.parametrize("percent", [0, 100, 99.99])
def test_progress_at_the_edges_is_accepted(percent: float) -> None:
    assert parse_message(f"{BASE}progress/printing", payload(path="", progress=percent)).progress_percent == int(percent)


def test_progress_with_an_empty_path_has_no_file_name() -> None:
    assert parse_message(f"{BASE}progress/printing", payload(location="", path="", progress=0)).file_name is None


def test_temperature_carries_heater_actual_and_target() -> None:
    message = parse_message(f"{BASE}temperature/bed", payload(actual=59.8, target=60, _timestamp=3))

    assert message == PrinterMessage(
        base_topic=BASE, kind=MessageKind.TEMPERATURE, heater="bed", actual_c=59.8, target_c=60.0, timestamp=3
    )


def test_temperature_without_target_is_accepted() -> None:
    message = parse_message(f"{BASE}temperature/chamber", payload(actual=24.1, target=None))

    assert (message.heater, message.actual_c, message.target_c) == ("chamber", 24.1, None)


@pytest.mark.parametrize(("raw", "is_connected"), [(b"connected", True), (b"disconnected", False), (b"connected\n", True)])
def test_the_last_will_topic_says_whether_the_plugin_is_connected(raw: bytes, is_connected: bool) -> None:
    message = parse_message(f"{BASE}mqtt", raw)

    assert message == PrinterMessage(base_topic=BASE, kind=MessageKind.CONNECTION, is_connected=is_connected)


# -- rejections ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "raw", "code"),
    [
        (f"{BASE}event/PrintDone", b"{not json", "not_json"),
        (f"{BASE}event/PrintDone", b"", "not_json"),
        (f"{BASE}event/PrintDone", b"\xff\xfe", "not_json"),
        (f"{BASE}progress/printing", b'{"progress": NaN}', "not_json"),
        (f"{BASE}progress/printing", b"[" * 20000, "not_json"),
        (f"{BASE}event/PrintDone", b'[{"name": "a.gcode"}]', "not_object"),
        (f"{BASE}event/PrintDone", b'"PrintDone"', "not_object"),
        (f"{BASE}event/PrintDone", b"null", "not_object"),
        (f"{BASE}progress/printing", payload(progress="42"), "wrong_type"),
        (f"{BASE}progress/printing", payload(progress=True), "wrong_type"),
        (f"{BASE}progress/printing", payload(path="a.gcode"), "wrong_type"),
        (f"{BASE}event/PrintStarted", payload(name=7), "wrong_type"),
        (f"{BASE}event/PrintStarted", payload(path=["a.gcode"]), "wrong_type"),
        (f"{BASE}event/PrintFailed", payload(reason=1), "wrong_type"),
        (f"{BASE}event/PrintDone", payload(_event=5), "wrong_type"),
        (f"{BASE}event/PrintDone", payload(_timestamp="1700000000"), "wrong_type"),
        (f"{BASE}event/PrintDone", payload(_timestamp=1.5), "wrong_type"),
        (f"{BASE}temperature/bed", payload(actual="hot"), "wrong_type"),
        (f"{BASE}progress/printing", payload(progress=150), "bad_value"),
        (f"{BASE}progress/printing", payload(progress=-1), "bad_value"),
        (f"{BASE}progress/printing", b'{"progress": 1e999}', "bad_value"),
        (f"{BASE}event/PrintDone", payload(_event="PrintFailed"), "bad_value"),
        (f"{BASE}event/PrintDone", payload(_timestamp=-5), "bad_value"),
        (f"{BASE}temperature/tool0", payload(actual=-300), "bad_value"),
        # no database takes these in text; PostgreSQL would refuse the whole batch that carried one
        (f"{BASE}event/ZChange", b'{"state_string": "Printing\\u0000"}', "bad_value"),
        (f"{BASE}event/PrintDone", b'{"name": "pf-1-a\\ud800.gcode"}', "bad_value"),
        (f"{BASE}mqtt", b"online", "bad_value"),
        (f"{BASE}mqtt", b'{"state": "connected"}', "bad_value"),
        (f"{BASE}progress/slicing", payload(progress=5), "not_used"),  # in the scheme, of no use to printfarm
        ("homeassistant/sensor/x/config", b"{}", "unknown_topic"),
    ],
)
def test_bad_messages_are_rejected_with_their_exact_reason(topic: str, raw: bytes, code: str) -> None:
    err = rejection(topic, raw)

    assert err.kind_of_problem == code
    assert err.topic == topic
    assert repr(topic) in str(err)


def test_progress_150_names_the_topic_and_the_value() -> None:
    err = rejection(f"{BASE}progress/printing", payload(progress=150))

    assert str(err) == f"topic '{BASE}progress/printing': progress 150 is outside 0..100"


def test_a_payload_over_the_limit_is_too_large_before_it_is_parsed() -> None:
    huge = b'{"name": "' + b"a" * 70_000 + b'"}'

    assert rejection(f"{BASE}event/PrintDone", huge).kind_of_problem == "too_large"
    assert rejection(f"{BASE}event/PrintDone", b"{}" + b" " * 20, max_payload_bytes=16).kind_of_problem == "too_large"


def test_a_long_value_is_shortened_in_the_message() -> None:
    err = rejection(f"{BASE}event/PrintDone", b"x" * 5000)

    assert len(str(err)) < 300


# -- fuzz ----------------------------------------------------------------------------------------

_segments = st.sampled_from(["event", "progress", "printing", "temperature", "mqtt", "bed", "PrintDone", "", "a"])
_topics = st.one_of(
    st.text(max_size=60),
    st.lists(_segments, min_size=1, max_size=5).map("/".join),
)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
_field_names = st.sampled_from(["_event", "_timestamp", "name", "path", "progress", "reason", "state_string",
                                "actual", "target", "location"])
_payloads = st.one_of(
    st.binary(max_size=200),
    _json_values.map(lambda value: json.dumps(value).encode()),
    st.dictionaries(_field_names, _json_values, max_size=6).map(lambda value: json.dumps(value).encode()),
)


@given(topic=_topics, raw=_payloads)
def test_any_topic_and_payload_give_a_message_or_bad_message(topic: str, raw: bytes) -> None:
    try:
        message = parse_message(topic, raw)
    except BadMessage as err:
        assert err.kind_of_problem in {"not_json", "not_object", "wrong_type", "too_large", "unknown_topic", "bad_value"}
        return
    assert isinstance(message, PrinterMessage)
    assert topic.startswith(message.base_topic)
    if message.progress_percent is not None:
        assert 0 <= message.progress_percent <= 100
    if message.kind is MessageKind.CONNECTION:
        assert message.is_connected is not None


# -- the feed of the octoprint kind ------------------------------------------------------------


def test_the_octoprint_feed_parses_with_parse_message_and_subscribes_everything_under_a_base() -> None:
    feed: PrinterFeed = OCTOPRINT_MQTT_FEED
    assert OctoPrintMqttFeed.parse is parse_message  # no wrapper on the per-message path
    message = feed.parse(BASE + "progress/printing", payload(progress=42, path="job-1.gcode"))
    assert (message.base_topic, message.kind, message.progress_percent) == (BASE, MessageKind.PROGRESS, 42)
    assert feed.base_topic_of(BASE + "event/PrintDone") == BASE
    assert feed.base_topic_of(BASE + "mqtt") == BASE
    assert feed.base_topic_of(BASE + "nonsense/topic") is None
    assert list(feed.topic_filters(BASE)) == [BASE + "#"]


def test_the_plugins_slicing_progress_is_counted_as_not_used_and_not_warned_about(caplog):
    from printfarm.printers.feed import NOT_USED
    from printfarm.tracking.stats import IngestCounters

    with pytest.raises(BadMessage) as raised:
        OCTOPRINT_MQTT_FEED.parse(BASE + "progress/slicing", b'{"progress": 0, "_timestamp": 1}')
    assert raised.value.kind_of_problem == NOT_USED
    counters = IngestCounters(OCTOPRINT_MQTT_FEED.base_topic_of)
    counters.drop(NOT_USED, BASE + "progress/slicing", str(raised.value))
    assert counters.snapshot()["dropped"] == {NOT_USED: 1}
    assert "dropped" not in caplog.text
