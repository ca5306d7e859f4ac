"""Printer kinds: which client factory drives a printer of each `printers.kind`; the wiring fills it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NoReturn

from printfarm.errors import ConfigError, InputError, PrinterUnreachable
from printfarm.printers.port import PrinterClient, PrinterClientFactory, PrinterSnapshot

#: The first kind, and the kind of every printer registered without one.
OCTOPRINT = "octoprint"
#: A printer behind its site's gateway (printfarm/gateway): reached over MQTT requests, never directly.
GATEWAY = "gateway"


class PrinterKinds:
    """The printer kinds this process can drive, {kind: PrinterClientFactory}; OctoPrint is the default."""

    def __init__(self, factories: Mapping[str, PrinterClientFactory], default: str = OCTOPRINT) -> None:
        if default not in factories:
            raise ConfigError(f"the default printer kind {default!r} has no client factory (kinds: {sorted(factories)})")
        self._factories = dict(factories)
        self.default = default

    @property
    def names(self) -> list[str]:
        return sorted(self._factories)

    def checked(self, kind: str | None) -> str:
        """The kind to register a printer as (None: the default); InputError naming the known kinds."""
        if kind is None:
            return self.default
        if kind not in self._factories:
            raise InputError(f"printer kind {kind!r} is not one of: {', '.join(self.names)}")
        return kind

    def factory(self, kind: str) -> PrinterClientFactory:
        """The client factory of a stored printer's kind.

        A kind this process has no factory for (a replica wired with fewer kinds, say) gets clients
        whose every call raises PrinterUnreachable saying so: its printers go offline with backoff
        and their plates return, while every other printer is driven as usual.
        """
        factory = self._factories.get(kind)
        if factory is None:
            reason = f"printer kind {kind!r} has no client factory here (kinds: {', '.join(self.names)})"
            return lambda base_url, api_key: _UndrivenClient(f"printer {base_url}: {reason}")
        return factory


class _UndrivenClient(PrinterClient):
    """A printer of a kind this process cannot drive: every call raises PrinterUnreachable."""

    def __init__(self, message: str) -> None:
        self._message = message

    def _refuse(self) -> NoReturn:
        raise PrinterUnreachable(self._message)

    def check(self) -> str:
        self._refuse()

    def ensure_connected(self) -> None:
        self._refuse()

    def status(self) -> PrinterSnapshot:
        self._refuse()

    def start_print(self, filename: str, gcode: bytes) -> None:
        self._refuse()

    def cancel(self) -> None:
        self._refuse()

    def pause(self) -> None:
        self._refuse()

    def resume(self) -> None:
        self._refuse()
