"""Tracking fixtures: the MQTT tests' Mosquitto of the test's own (config/mosquitto.conf, persistence)."""

from __future__ import annotations

from adapters.mqtt.conftest import mosquitto_server

__all__ = ["mosquitto_server"]
