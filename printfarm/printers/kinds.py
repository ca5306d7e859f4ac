"""Printer kinds: which client factory drives a printer of each `printers.kind`; the wiring fills it."""

from __future__ import annotations

from collections.abc import Mapping

from printfarm.errors import ConfigError, InputError
from printfarm.printers.port import PrinterClientFactory

#: The first kind, and the kind of every printer registered without one.
OCTOPRINT = "octoprint"


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
        """The client factory of a stored printer's kind; ConfigError when this process cannot drive it."""
        factory = self._factories.get(kind)
        if factory is None:
            raise ConfigError(f"printer kind {kind!r} has no client factory here (kinds: {', '.join(self.names)})")
        return factory
