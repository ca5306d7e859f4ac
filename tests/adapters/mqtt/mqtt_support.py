"""Helpers for the MQTT tests: bounded waits, unique names, a publisher standing in for OctoPrint."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

def wait_until(condition: Callable[[], bool], timeout_seconds: float = 10.0, what: str = "condition") -> None:
    """Poll until condition() is true; fail the test after the deadline."""
    deadline = time.monotonic() + timeout_seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_seconds} s waiting for {what}")
        time.sleep(0.01)


def unique_base() -> str:
    return f"pftest/{uuid.uuid4().hex[:12]}/printer/"


def unique_client_id(prefix: str = "pf-ingest") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@dataclass
class Broker:
    name: str
    port: int
    has_shared_subscriptions: bool


class Publisher:
    """A paho client standing in for OctoPrint-MQTT: publishes and waits for the broker's ack."""

    def __init__(self, port: int) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=unique_client_id("pf-pub"))
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        wait_until(self.client.is_connected, what="the publisher to connect")

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def forget_session(port: int, client_id: str) -> None:
    """Connect once with a clean session so a persistent test session does not stay on the broker."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    try:
        client.connect("127.0.0.1", port)
        client.loop_start()
        wait_until(client.is_connected, 5, "the clean-up client to connect")
        client.disconnect()
    except OSError:
        pass
    finally:
        client.loop_stop()
