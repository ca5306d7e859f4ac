"""Slow down repeated bad tokens per client address, without refusing a good token from anywhere.

In memory, for one process: each replica counts on its own, and a restart forgets. Addresses are
what the HTTP server reports (behind a reverse proxy, the proxy's own address unless the server is
told to trust forwarded headers).
"""

from __future__ import annotations

import collections
import datetime as dt
import math
from dataclasses import dataclass, field


@dataclass
class _Failures:
    times: collections.deque[dt.datetime] = field(default_factory=collections.deque)
    is_throttled: bool = False


@dataclass(frozen=True)
class Throttle:
    """An address over the limit: wait this long; ``is_new`` only on the failure that tripped it."""

    retry_after_seconds: float
    is_new: bool


class BadTokenLimiter:
    """Counts failed authentications per address in a sliding window.

    ``failed`` records one failure and returns a Throttle when the address has now failed more than
    ``max_failures`` times within ``window_seconds`` (else None). A good token is never
    asked about: the limiter only decides what a *failed* attempt is answered with (AuthError or TooManyBadTokens).
    At most ``max_addresses`` addresses are remembered; the least recently failing are forgotten first.
    """

    def __init__(self, max_failures: int = 20, window_seconds: float = 60.0, max_addresses: int = 10_000) -> None:
        if max_failures < 1 or window_seconds <= 0 or max_addresses < 1:
            raise ValueError("max_failures and max_addresses must be at least 1, window_seconds positive")
        self.max_failures = max_failures
        self.window = dt.timedelta(seconds=window_seconds)
        self.max_addresses = max_addresses
        self._by_address: collections.OrderedDict[str, _Failures] = collections.OrderedDict()

    def failed(self, address: str, now: dt.datetime) -> Throttle | None:
        failures = self._by_address.pop(address, None) or _Failures()
        self._by_address[address] = failures  # most recent last
        times = failures.times
        while times and times[0] <= now - self.window:
            times.popleft()
        times.append(now)
        while len(times) > self.max_failures + 1:  # only the newest few decide when it clears
            times.popleft()
        while len(self._by_address) > self.max_addresses:
            self._by_address.popitem(last=False)
        if len(times) <= self.max_failures:
            failures.is_throttled = False
            return None
        is_new, failures.is_throttled = not failures.is_throttled, True
        # Throttled until the oldest failure in the window has aged out of it.
        return Throttle(max(1.0, math.ceil((times[0] + self.window - now).total_seconds())), is_new)

    def addresses(self) -> int:
        return len(self._by_address)
