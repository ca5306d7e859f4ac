"""Sending a notification to a channel URL: the Notifier port, its failure, Apprise behind it, a fake.

A channel URL is an Apprise URL (mailto://, json:// webhooks, ntfy://, tgram://, ...); it may hold
a password or token, so nothing here logs it or puts it in an error message.
"""

from __future__ import annotations

from typing import Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

from printfarm.errors import PrintfarmError


class ChannelFailed(PrintfarmError):
    """Sending to a channel failed (refused, unreachable, timed out); the message says why, never the URL."""


class Notifier(Protocol):
    def describe(self, url: str) -> str:
        """What may be shown of url (its scheme and host, nothing secret); InputError if it cannot be used."""

    def send(self, url: str, title: str, body: str, timeout_seconds: float) -> None:
        """Deliver one message to the channel at url within timeout_seconds; ChannelFailed if it did not arrive."""


def redact(text: str, url: str) -> str:
    """text with url, and each secret-looking part of it, replaced by ***."""
    parts = urlsplit(url)
    secrets = {url, parts.password or "", unquote(parts.password or "")}
    # tokens in paths (ntfy topics, webhook keys) and query values (?token=, ?pass=)
    secrets.update(p for p in parts.path.split("/") if len(p) >= 8)
    secrets.update(value for _, value in parse_qsl(parts.query) if len(value) >= 8)
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
