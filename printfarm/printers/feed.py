"""What printers report over MQTT, in a neutral form, and the feed Protocol each printer kind implements.

A feed turns one kind's topics and payloads into PrinterMessage; tracking applies PrinterMessages
and never reads a topic itself. OctoPrint-MQTT is the first feed (adapters/octoprint/mqtt_feed.py).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class MessageKind(enum.StrEnum):
    EVENT = "event"
    PROGRESS = "progress"
    TEMPERATURE = "temperature"
    CONNECTION = "connection"  # the printer's MQTT client came or went (OctoPrint-MQTT: its last will)


# Not frozen: a frozen dataclass sets each of its 12 fields through object.__setattr__, which cost
# about 3 µs a message here, a tenth of what the bare paho subscriber spends on one (bench/ingest.py).
@dataclass(slots=True)
class PrinterMessage:
    """One message from one printer, with only the fields printfarm uses; treat it as read-only.

    ``base_topic`` includes its trailing "/". ``progress_percent`` is 0..100 (floats are floored, so
    100 means done). ``timestamp`` is the printer host's clock in Unix seconds, when it sent one.
    ``event`` uses OctoPrint's event names (PrintStarted, PrintDone, ...): a feed of another kind
    translates its own into these. ``state_id`` is OctoPrint's state id of a PrinterStateChanged
    (OPERATIONAL, OFFLINE, ERROR, ...); ``error`` and ``consequence`` are an Error's (or a failed
    print's) message and what OctoPrint did about it (``emergency``, ``disconnect``, ``cancel``).
    """

    base_topic: str
    kind: MessageKind
    event: str | None = None
    file_name: str | None = None
    progress_percent: int | None = None
    reason: str | None = None
    state_string: str | None = None
    state_id: str | None = None
    error: str | None = None
    consequence: str | None = None
    heater: str | None = None
    actual_c: float | None = None
    target_c: float | None = None
    is_connected: bool | None = None
    timestamp: int | None = None


#: The drop code of a message in a feed's scheme that printfarm has no use for: counted, never warned about.
NOT_USED = "not_used"


class BadMessage(Exception):
    """A message that is not in its feed's scheme; ``kind_of_problem`` is a short stable code.

    Codes: ``not_json``, ``not_object``, ``wrong_type``, ``too_large``, ``unknown_topic``, ``bad_value``,
    and ``not_used`` for a topic of the scheme that printfarm has no use for (only counted, not logged).
    """

    def __init__(self, kind_of_problem: str, topic: str, detail: str) -> None:
        super().__init__(f"topic {topic!r}: {detail}")
        self.kind_of_problem = kind_of_problem
        self.topic = topic


class PrinterFeed(Protocol):
    """How one printer kind reports over MQTT: pure, no I/O; parse is called once per message."""

    def parse(self, topic: str, payload: bytes) -> PrinterMessage:
        """One message as a PrinterMessage; raises BadMessage naming the topic and the offending value."""

    def base_topic_of(self, topic: str) -> str | None:
        """The printer's base topic (with its trailing "/") of a topic in this scheme, else None."""

    def topic_filters(self, base_topic: str) -> Sequence[str]:
        """The MQTT topic filters to subscribe for one printer's base topic."""
