"""The dispatch policy, pure: which idle printer gets which batch's plate, and retry backoff."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

#: Seconds before re-checking an unreachable printer, by how many checks failed in a row.
BACKOFF_SECONDS = (15, 30, 60, 120, 240)
#: Failed starts in a row after which a printer is disabled until an operator re-enables it.
MAX_CONSECUTIVE_FAILURES = 3


@dataclass(frozen=True)
class IdlePrinter:
    id: int
    site_id: int
    profile_id: int
    loaded_material: str


@dataclass(frozen=True)
class OpenBatch:
    """A batch still short of units, in urgency order when handed to match()."""

    id: int
    part_id: int
    remaining_units: int


@dataclass(frozen=True)
class FileChoice:
    print_file_id: int
    units_per_print: int
    material: str | None


@dataclass(frozen=True)
class Assignment:
    printer_id: int
    batch_id: int
    print_file_id: int
    units_per_print: int


def is_compatible(printer: IdlePrinter, choice: FileChoice | None) -> bool:
    if choice is None:
        return False
    return choice.material is None or choice.material.upper() == printer.loaded_material.upper()


def interleave_sites(printers: list[IdlePrinter]) -> list[IdlePrinter]:
    """Order idle printers round-robin over sites, so a short queue is shared by every site."""
    rank: dict[int, int] = {}
    keyed = []
    for printer in printers:
        rank[printer.site_id] = rank.get(printer.site_id, -1) + 1
        keyed.append((rank[printer.site_id], printer.site_id, printer.id, printer))
    return [item[-1] for item in sorted(keyed)]


def match(
    printers: list[IdlePrinter],
    batches: list[OpenBatch],
    files: dict[tuple[int, int], FileChoice],
) -> list[Assignment]:
    """Give each idle printer the most urgent batch it can print that still needs units.

    Printers are served round-robin over their sites, so a short queue spreads across sites.

    `batches` come most urgent first; `files` maps (part_id, profile_id) to the print file to use.
    A plate may overshoot a batch by less than one plate (4 units per plate, 2 missing: 4 printed).
    """
    remaining = {batch.id: batch.remaining_units for batch in batches}
    assignments: list[Assignment] = []
    for printer in interleave_sites(printers):
        for batch in batches:
            if remaining[batch.id] <= 0:
                continue
            choice = files.get((batch.part_id, printer.profile_id))
            if choice is None or not is_compatible(printer, choice):
                continue
            assignments.append(Assignment(printer.id, batch.id, choice.print_file_id, choice.units_per_print))
            remaining[batch.id] -= choice.units_per_print
            break
    return assignments


def retry_delay(failed_checks: int) -> dt.timedelta:
    """Backoff for an unreachable printer: 15, 30, 60, 120, then 240 s."""
    index = min(max(failed_checks, 1), len(BACKOFF_SECONDS)) - 1
    return dt.timedelta(seconds=BACKOFF_SECONDS[index])
