"""The feed of the octoprint kind: OctoPrint-MQTT topics and payloads parsed into PrinterMessage.

Pure, no I/O, called per message: keep it free of per-message allocations it does not need
(bench/ingest.py measures it).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from printfarm.printers.feed import BadMessage, MessageKind, NOT_USED, PrinterMessage

#: The largest temperature we believe; a broken thermistor reads a few hundred degrees off, not millions.
_MAX_TEMPERATURE_C = 2000.0
_ABSOLUTE_ZERO_C = -273.15
#: 9999-12-31T23:59:59Z: a larger "Unix time" is garbage, and no database column would hold it.
_MAX_TIMESTAMP = 253_402_300_799
_SLICING_PROGRESS = "/progress/slicing"


def split_topic(topic: str) -> tuple[str, MessageKind, str | None] | None:
    """(base, kind, name) for a topic in the scheme, else None.

    ``name`` is the event for EVENT, the heater for TEMPERATURE, "printing" for PROGRESS and None for
    CONNECTION. The base keeps its trailing "/" and may be empty.
    """
    head, sep, name = topic.rpartition("/")
    if not sep:
        return ("", MessageKind.CONNECTION, None) if topic == "mqtt" else None
    base, slash, segment = head.rpartition("/")
    base += slash
    if segment == "event" and name:
        return base, MessageKind.EVENT, name
    if segment == "temperature" and name:
        return base, MessageKind.TEMPERATURE, name
    if segment == "progress" and name == "printing":
        return base, MessageKind.PROGRESS, name
    if name == "mqtt":
        return head + "/", MessageKind.CONNECTION, None
    return None


def parse_message(topic: str, payload: bytes, *, max_payload_bytes: int = 64 * 1024) -> PrinterMessage:
    """Parse one MQTT message; raises BadMessage naming the topic and the offending value."""
    if len(payload) > max_payload_bytes:
        raise BadMessage("too_large", topic, f"payload of {len(payload)} bytes > {max_payload_bytes} bytes")
    split = split_topic(topic)
    if split is None:
        if topic.endswith(_SLICING_PROGRESS):  # the plugin publishes it (retained) at every start
            raise BadMessage(NOT_USED, topic, "slicing progress: an OctoPrint-MQTT topic printfarm does not use")
        raise BadMessage("unknown_topic", topic, "not an OctoPrint-MQTT topic")
    base, kind, name = split
    if kind is MessageKind.CONNECTION:
        return _connection(topic, base, payload)
    data = _json_object(topic, payload)
    timestamp = _timestamp(topic, data)
    if kind is MessageKind.EVENT:
        return _event(topic, base, name or "", data, timestamp)
    if kind is MessageKind.PROGRESS:
        progress = _progress(topic, data)
        if progress is None:
            raise BadMessage("wrong_type", topic, "progress is missing")
        return PrinterMessage(
            base, kind, file_name=_basename(_optional_str(topic, data, "path")),
            progress_percent=progress, timestamp=timestamp,
        )
    return PrinterMessage(
        base, kind, heater=name,
        actual_c=_temperature(topic, data, "actual"), target_c=_temperature(topic, data, "target"),
        timestamp=timestamp,
    )


def _connection(topic: str, base: str, payload: bytes) -> PrinterMessage:
    text = payload.strip()
    if text == b"connected":
        return PrinterMessage(base, MessageKind.CONNECTION, is_connected=True)
    if text == b"disconnected":
        return PrinterMessage(base, MessageKind.CONNECTION, is_connected=False)
    raise BadMessage("bad_value", topic, f"connection state {_shown(payload)} is not connected/disconnected")


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are not JSON (RFC 8259); Python's json would accept them otherwise.
    raise ValueError(f"{name} is not JSON")


#: One decoder for all messages: json.loads with keyword arguments builds a new one per call.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _json_object(topic: str, payload: bytes) -> dict[str, Any]:
    try:
        # JSON exchanged between systems is UTF-8 (RFC 8259 section 8.1)
        data = _DECODER.decode(payload.decode("utf-8"))
    except (ValueError, RecursionError) as err:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise BadMessage("not_json", topic, f"payload {_shown(payload)} is not JSON ({type(err).__name__})") from None
    if not isinstance(data, dict):
        raise BadMessage("not_object", topic, f"payload {_shown(payload)} is a JSON {type(data).__name__}, not an object")
    return data


def _event(topic: str, base: str, event: str, data: dict[str, Any], timestamp: int | None) -> PrinterMessage:
    said = data.get("_event")
    if said is not None and said != event:
        if not isinstance(said, str):
            raise BadMessage("wrong_type", topic, f"_event {_shown(said)} is not a string")
        raise BadMessage("bad_value", topic, f"_event {said!r} disagrees with the topic's event {event!r}")
    file_name = _optional_str(topic, data, "name") or _basename(_optional_str(topic, data, "path"))
    return PrinterMessage(
        base, MessageKind.EVENT, event=event, file_name=file_name,
        progress_percent=_progress(topic, data),
        reason=_optional_str(topic, data, "reason"),
        state_string=_optional_str(topic, data, "state_string"),
        state_id=_optional_str(topic, data, "state_id"),
        error=_optional_str(topic, data, "error"),
        consequence=_optional_str(topic, data, "consequence"),
        timestamp=timestamp,
    )


def _optional_str(topic: str, data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadMessage("wrong_type", topic, f"{key} {_shown(value)} is not a string")
    # JSON may escape a NUL or half a surrogate pair; no database text column takes either
    # (PostgreSQL refuses them, and would refuse the whole batch written with them).
    if "\x00" in value or (not value.isascii() and _has_lone_surrogate(value)):
        raise BadMessage("bad_value", topic, f"{key} {_shown(value)} holds a NUL or an unpaired surrogate")
    return value


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _basename(path: str | None) -> str | None:
    if not path:
        return None
    return path.rpartition("/")[2] or None


def _number(topic: str, data: dict[str, Any], key: str) -> int | float | None:
    value = data.get(key)
    if value is None:
        return None
    # bool is an int in Python, but true is not a number in JSON
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadMessage("wrong_type", topic, f"{key} {_shown(value)} is not a number")
    if isinstance(value, float) and not math.isfinite(value):  # e.g. 1e999 parses to inf
        raise BadMessage("bad_value", topic, f"{key} {value!r} is not finite")
    return value


def _progress(topic: str, data: dict[str, Any]) -> int | None:
    value = _number(topic, data, "progress")
    if value is None:
        return None
    if not 0 <= value <= 100:
        raise BadMessage("bad_value", topic, f"progress {_shown(value)} is outside 0..100")
    return int(value)


def _temperature(topic: str, data: dict[str, Any], key: str) -> float | None:
    value = _number(topic, data, key)
    if value is None:
        return None
    if not _ABSOLUTE_ZERO_C <= value <= _MAX_TEMPERATURE_C:
        raise BadMessage("bad_value", topic, f"{key} {_shown(value)} °C is not a plausible temperature")
    return float(value)


def _timestamp(topic: str, data: dict[str, Any]) -> int | None:
    value = data.get("_timestamp")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadMessage("wrong_type", topic, f"_timestamp {_shown(value)} is not an integer")
    if not 0 <= value <= _MAX_TIMESTAMP:
        raise BadMessage("bad_value", topic, f"_timestamp {_shown(value)} is not a Unix time in seconds")
    return value


def _shown(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class OctoPrintMqttFeed:
    """The PrinterFeed of the octoprint kind: the OctoPrint-MQTT plugin's topics under each base topic.

    ``parse`` is parse_message itself, not a wrapper: it runs once per message.
    """

    parse = staticmethod(parse_message)

    def base_topic_of(self, topic: str) -> str | None:
        split = split_topic(topic)
        return split[0] if split is not None else None

    def topic_filters(self, base_topic: str) -> Sequence[str]:
        # everything under the base: a topic outside the scheme is counted as unknown_topic, not missed
        return (f"{base_topic}#",)


OCTOPRINT_MQTT_FEED = OctoPrintMqttFeed()
