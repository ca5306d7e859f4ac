"""SimulatedFarm: many SimulatedPrinters across sites, started and stopped together."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from printfarm.sim.machine import PrintTiming
from printfarm.sim.printer import SimulatedPrinter

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PrinterSpec:
    """One printer of a farm; fail_probability None means the farm's default."""

    site: str
    name: str
    fail_probability: float | None = None


@dataclass(frozen=True)
class SimulatedPrinterInfo:
    """What registering a simulated printer with printfarm needs."""

    site: str
    name: str
    base_url: str
    api_key: str
    base_topic: str


class SimulatedFarm:
    """Printers per site, each with its own HTTP port and base topic `<topic_prefix><site>/<name>/`.

    sites is {site: printer count} (printers named printer-1, printer-2, ...) or a list of
    PrinterSpec. api_key None gives each printer its own random key. Tests sharing a broker pass a
    topic_prefix with a random token so that retained messages never cross runs.
    """

    def __init__(
        self,
        mqtt_host: str,
        mqtt_port: int,
        sites: Mapping[str, int] | Sequence[PrinterSpec],
        *,
        time_scale: float = 600.0,
        min_print_seconds: float = 1.0,
        default_print_seconds: float = 3600.0,
        fail_probability: float = 0.0,
        api_key: str | None = None,
        topic_prefix: str = "printfarm/",
        is_connected: bool = False,
        seed: int | None = None,
    ) -> None:
        specs = (
            [PrinterSpec(site, f"printer-{i}") for site, count in sites.items() for i in range(1, count + 1)]
            if isinstance(sites, Mapping)
            else list(sites)
        )
        timing = PrintTiming(
            time_scale=time_scale, min_print_seconds=min_print_seconds, default_print_seconds=default_print_seconds
        )
        self.printers = [
            SimulatedPrinter(
                spec.name,
                site=spec.site,
                mqtt_host=mqtt_host,
                mqtt_port=mqtt_port,
                base_topic=f"{topic_prefix}{spec.site}/{spec.name}/",
                api_key=api_key or secrets.token_hex(16).upper(),
                timing=timing,
                fail_probability=fail_probability if spec.fail_probability is None else spec.fail_probability,
                seed=None if seed is None else seed + index,
                is_connected=is_connected,
            )
            for index, spec in enumerate(specs)
        ]

    def start(self) -> SimulatedFarm:
        started: list[SimulatedPrinter] = []
        try:
            for printer in self.printers:
                started.append(printer.start())
        except BaseException:
            for printer in started:
                printer.stop()
            raise
        logger.info("sim farm: %d printers running", len(self.printers))
        return self

    def stop(self) -> None:
        for printer in self.printers:
            printer.stop()

    def __enter__(self) -> SimulatedFarm:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def printer(self, site: str, name: str) -> SimulatedPrinter:
        for printer in self.printers:
            if (printer.site, printer.name) == (site, name):
                return printer
        raise KeyError(f"sim farm: no printer {site}/{name}")

    def listing(self) -> list[SimulatedPrinterInfo]:
        """(site, name, base_url, api_key, base_topic) of every printer, for registration."""
        return [
            SimulatedPrinterInfo(p.site, p.name, p.base_url, p.api_key, p.base_topic) for p in self.printers
        ]
