"""The dispatch policy, pure: which idle printer gets which batch's plate (backoff is printers/rules.py).

One pass of match():

1. Urgency. Batches come most urgent first (priority, due date, age). They are served in tiers of
   equal priority and equal due day; a tier is finished before the next gets a printer.
2. Fairness. Inside a tier, hospitals take turns: each round gives one plate to each hospital's
   most urgent batch that still needs units and has a printer it can use. A hospital with ten
   batches gets no more than one with a single batch.
3. Eligibility. A printer may take a batch's plate when a print file of the batch's part exists for
   its profile and fits it (file_fits: loaded material, and the G-code analysis' extents, nozzle,
   model and temperatures against the profile, parts/compat.py), and its site is open (not
   drained, within working hours), allows the part and has heat-ups left in its stagger window.
4. Placement. Among printers that may take the plate, the site with the fewest plates of this
   pass wins (a short queue spreads over sites); at equal load the site nearest the batch's
   hospital (both need coordinates; a site without them comes after those with); then the lowest
   site id, and inside a site the lowest printer id.

Cost: printers are pooled by (site, profile, material) and compatibility is decided once per
(part, profile, material), so a pass over 10,000 printers and a thousand batches stays in
milliseconds. Batches of one part for one hospital share a _SiteQueue: their candidate sites
sorted once by (distance, id) and swept level by level of load, since loads only grow in a pass.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from printfarm.parts.compat import print_file_problems
from printfarm.printers.catalog import ProfileSpec

#: Failed starts in a row after which a printer is disabled until an operator re-enables it.
MAX_CONSECUTIVE_FAILURES = 3

_EARTH_RADIUS_KM = 6371.0


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
    hospital_id: int | None = None
    priority: int = 0
    due_at: dt.datetime | None = None


@dataclass(frozen=True)
class FileChoice:
    print_file_id: int
    units_per_print: int
    material: str | None
    analysis: Mapping[str, Any] | None = field(default=None, compare=False, hash=False)


@dataclass(frozen=True)
class SitePolicy:
    """What a site allows right now. starts_left None: no heat-up stagger; allowed None: any part."""

    is_open: bool = True
    allowed_part_ids: frozenset[int] | None = None
    starts_left: int | None = None
    location: tuple[float, float] | None = None  # (latitude, longitude)


@dataclass(frozen=True)
class Assignment:
    printer_id: int
    batch_id: int
    print_file_id: int
    units_per_print: int


#: fits(choice, profile_id, loaded_material): may a printer of this profile and spool print this file?
Fits = Callable[[FileChoice, int, str], bool]


def _same_material(a: str, b: str) -> bool:
    return "".join(c for c in a.lower() if c.isalnum()) == "".join(c for c in b.lower() if c.isalnum())


def material_matches(choice: FileChoice, profile_id: int, loaded_material: str) -> bool:
    """The file's material (if it names one) is the printer's loaded spool (`PLA+` is PLA)."""
    return choice.material is None or _same_material(choice.material, loaded_material)


def file_problems(choice: FileChoice, profile: ProfileSpec, loaded_material: str) -> list[str]:
    """Why this print file cannot print on this profile with this spool; [] when it can."""
    problems = []
    if not material_matches(choice, 0, loaded_material):
        problems.append(f"print file {choice.print_file_id} is for {choice.material}, printer loaded with {loaded_material}")
    if choice.analysis:
        problems += print_file_problems(choice.analysis, profile, loaded_material)
    return problems


def site_is_open(now: dt.datetime, starts_at: dt.time | None, ends_at: dt.time | None, timezone: str = "UTC") -> bool:
    """Whether a site's working hours (local time, [start, end)) contain now; no hours: always open.

    An end before the start is an overnight window (22:00–06:00). An unknown time zone is UTC.
    """
    if starts_at is None or ends_at is None or starts_at == ends_at:
        return True
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = now.astimezone(zone).time().replace(tzinfo=None)
    if starts_at < ends_at:
        return starts_at <= local < ends_at
    return local >= starts_at or local < ends_at


def heatups_left(max_starts: int | None, window_seconds: int | None, recent_starts: int) -> int | None:
    """Starts a site may still make now: at most max_starts within window_seconds (None: no limit)."""
    if max_starts is None or not window_seconds:
        return None
    return max(0, max_starts - recent_starts)


@functools.lru_cache(maxsize=1 << 16)
def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (latitude, longitude) points (remembered: hospitals and
    sites stay put, so each pass asks the same few thousand pairs)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


class _SiteQueue:
    """Candidate sites of batches of one part for one hospital: least loaded first, then nearest.

    Sites are sorted once by (distance, id); a sweep takes, in that order, the sites whose load is
    the current level. Loads only grow during a pass and every live site is at the level or above
    it, so the first site of the sweep at the level is the least loaded, nearest one. A site that
    can no longer take this part (no printer left for it, heat-ups used up) is dropped for good.
    """

    __slots__ = ("sites", "level", "cursor", "dead")

    def __init__(self, sites: list[int], level: int) -> None:
        self.sites = sites
        self.level = level
        self.cursor = 0
        self.dead: set[int] = set()


def _tiers(batches: Sequence[OpenBatch]) -> list[list[OpenBatch]]:
    tiers: list[list[OpenBatch]] = []
    last: tuple[int, dt.date | None] | None = None
    for batch in batches:
        key = (batch.priority, batch.due_at.date() if batch.due_at else None)
        if key != last:
            tiers.append([])
            last = key
        tiers[-1].append(batch)
    return tiers


class _Matcher:
    """The state of one match() call: printer pools, site loads, each batch's candidate sites."""

    def __init__(
        self,
        printers: Sequence[IdlePrinter],
        files: Mapping[tuple[int, int], Sequence[FileChoice]],
        sites: Mapping[int, SitePolicy],
        hospitals: Mapping[int, tuple[float, float]],
        fits: Fits,
    ) -> None:
        self.files = files
        self.sites = sites
        self.hospitals = hospitals
        self.fits = fits
        # pools[site][(profile, material)] = printer ids, highest first (pop() gives the lowest)
        self.pools: dict[int, dict[tuple[int, str], list[int]]] = {}
        for printer in printers:
            policy = sites.get(printer.site_id)
            if policy is not None and (not policy.is_open or policy.starts_left == 0):
                continue
            key = (printer.profile_id, printer.loaded_material)
            self.pools.setdefault(printer.site_id, {}).setdefault(key, []).append(printer.id)
        for site_pools in self.pools.values():
            for ids in site_pools.values():
                ids.sort(reverse=True)
        self.load = dict.fromkeys(self.pools, 0)
        self.starts_left = {
            site: policy.starts_left for site, policy in sites.items() if policy.starts_left is not None
        }
        self._choice: dict[tuple[int, int, str], FileChoice | None] = {}
        self._options: dict[int, dict[int, list[tuple[tuple[int, str], FileChoice]]]] = {}
        # candidate sites depend only on (part, hospital): batches sharing both share one queue
        self._queues: dict[tuple[int, object], _SiteQueue] = {}

    def choice(self, part_id: int, profile_id: int, material: str) -> FileChoice | None:
        key = (part_id, profile_id, material)
        if key not in self._choice:
            candidates = self.files.get((part_id, profile_id), ())
            self._choice[key] = next((c for c in candidates if self.fits(c, profile_id, material)), None)
        return self._choice[key]

    def options(self, part_id: int) -> dict[int, list[tuple[tuple[int, str], FileChoice]]]:
        """Per site, the printer pools that can print this part and the file each would use."""
        if part_id not in self._options:
            by_site: dict[int, list[tuple[tuple[int, str], FileChoice]]] = {}
            for site, site_pools in self.pools.items():
                policy = self.sites.get(site)
                if policy is not None and policy.allowed_part_ids is not None and part_id not in policy.allowed_part_ids:
                    continue
                for pool_key in sorted(site_pools):
                    chosen = self.choice(part_id, *pool_key)
                    if chosen is not None:
                        by_site.setdefault(site, []).append((pool_key, chosen))
            self._options[part_id] = by_site
        return self._options[part_id]

    def _distance(self, batch: OpenBatch, site: int) -> float:
        hospital = self.hospitals.get(batch.hospital_id) if batch.hospital_id is not None else None
        policy = self.sites.get(site)
        if hospital is None or policy is None or policy.location is None:
            return math.inf
        return distance_km(hospital, policy.location)

    def place(self, batch: OpenBatch) -> Assignment | None:
        """One plate of batch on the best printer that can take it, or None when none can."""
        options = self.options(batch.part_id)
        queue_key = (batch.part_id, batch.hospital_id if batch.hospital_id is not None else ("batch", batch.id))
        queue = self._queues.get(queue_key)
        if queue is None:
            ranked = sorted(options, key=lambda site: (self._distance(batch, site), site))
            queue = _SiteQueue(ranked, min((self.load[site] for site in ranked), default=0))
            self._queues[queue_key] = queue
        load, starts_left = self.load, self.starts_left
        while queue.sites:
            sites, level = queue.sites, queue.level
            while queue.cursor < len(sites):
                site = sites[queue.cursor]
                queue.cursor += 1
                if load[site] != level or site in queue.dead:
                    continue  # above the level (it took plates of other batches), or gone
                if starts_left.get(site) == 0:
                    queue.dead.add(site)
                    continue
                for pool_key, chosen in options[site]:
                    pool = self.pools[site][pool_key]
                    if pool:
                        printer_id = pool.pop()
                        break
                else:
                    queue.dead.add(site)  # no printer left there that can print this part
                    continue
                load[site] += 1
                if site in starts_left:
                    starts_left[site] = max(0, (starts_left[site] or 0) - 1)
                return Assignment(printer_id, batch.id, chosen.print_file_id, chosen.units_per_print)
            # the sweep found no live site at this level: start the next one from the nearest site
            queue.sites = [site for site in sites if site not in queue.dead]
            queue.dead.clear()
            queue.level = min((load[site] for site in queue.sites), default=0)
            queue.cursor = 0
        return None


def match(
    printers: Sequence[IdlePrinter],
    batches: Sequence[OpenBatch],
    files: Mapping[tuple[int, int], Sequence[FileChoice]],
    *,
    sites: Mapping[int, SitePolicy] | None = None,
    hospitals: Mapping[int, tuple[float, float]] | None = None,
    fits: Fits = material_matches,
) -> list[Assignment]:
    """Plates for idle printers, by the policy of the module docstring.

    `batches` come most urgent first; `files` maps (part_id, profile_id) to its print files, the
    preferred (newest) first; `sites` holds each site's SitePolicy (a site missing is open with no
    limits); `hospitals` maps hospital ids to (latitude, longitude). A plate may overshoot a batch
    by less than one plate (4 units per plate, 2 missing: 4 printed).
    """
    matcher = _Matcher(printers, files, sites or {}, hospitals or {}, fits)
    remaining = {batch.id: batch.remaining_units for batch in batches}
    assignments: list[Assignment] = []
    for tier in _tiers(batches):
        turns: OrderedDict[object, deque[OpenBatch]] = OrderedDict()
        for batch in tier:
            key: object = batch.hospital_id if batch.hospital_id is not None else ("batch", batch.id)
            turns.setdefault(key, deque()).append(batch)
        while turns:
            for key in list(turns):
                queue = turns[key]
                while queue:
                    batch = queue[0]
                    assignment = matcher.place(batch) if remaining[batch.id] > 0 else None
                    if assignment is None:
                        queue.popleft()  # done, or nothing left that can print it: it stays so this pass
                        continue
                    assignments.append(assignment)
                    remaining[batch.id] -= assignment.units_per_print
                    break
                if not queue:
                    del turns[key]
    return assignments
