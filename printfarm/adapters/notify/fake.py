"""A Notifier for unit tests: records what it was asked to send, fails on demand."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from printfarm.adapters.notify import ChannelFailed
from printfarm.errors import InputError


@dataclass
class FakeNotifier:
    """Knobs: failures[url] = how many of the next sends to that URL fail (ChannelFailed "fake: refused")."""

    sent: list[tuple[str, str, str]] = field(default_factory=list)  # (url, title, body)
    failures: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def describe(self, url: str) -> str:
        parts = urlsplit(url)
        if not parts.scheme or not (parts.hostname or parts.path):
            raise InputError("channel URL: not an Apprise URL (fake: no scheme://)")
        return f"{parts.scheme}://{parts.hostname or ''}"

    def send(self, url: str, title: str, body: str, timeout_seconds: float) -> None:
        with self._lock:
            if self.failures.get(url, 0) > 0:
                self.failures[url] -= 1
                raise ChannelFailed("fake: refused")
            self.sent.append((url, title, body))
