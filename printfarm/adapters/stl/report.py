"""What STL validation returns: issues with stable codes, the report and the limits it ran under."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

OK = "ok"
WARNING = "warning"
REJECTED = "rejected"


@dataclass(frozen=True)
class StlIssue:
    """One finding: `code` is stable (tests and API clients match on it), `message` names the values."""

    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class StlLimits:
    """Caps checked before anything large is allocated."""

    max_bytes: int = 200 * 1024 * 1024
    max_triangles: int = 10_000_000


@dataclass(frozen=True)
class StlReport:
    """The verdict on one STL: `rejected` if any error, `warning` if any warning, else `ok`."""

    verdict: str
    triangles: int
    bodies: int
    volume_mm3: float | None
    bbox_mm: tuple[float, float, float] | None
    errors: tuple[StlIssue, ...]
    warnings: tuple[StlIssue, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        """Error codes then warning codes, in the order the checks found them."""
        return tuple(issue.code for issue in self.errors + self.warnings)

    def to_dict(self, path: str | None = None) -> dict[str, Any]:
        """The JSON shape of `printfarm stl validate --json` and of the parts API."""
        result: dict[str, Any] = {} if path is None else {"path": path}
        result.update(
            verdict=self.verdict,
            triangles=self.triangles,
            bodies=self.bodies,
            volume_mm3=self.volume_mm3,
            bbox_mm=None if self.bbox_mm is None else list(self.bbox_mm),
            errors=[issue.to_dict() for issue in self.errors],
            warnings=[issue.to_dict() for issue in self.warnings],
        )
        return result


def make_report(
    *,
    triangles: int,
    errors: list[StlIssue],
    warnings: list[StlIssue],
    bodies: int = 0,
    volume_mm3: float | None = None,
    bbox_mm: tuple[float, float, float] | None = None,
) -> StlReport:
    """Build a report whose verdict follows from its issues."""
    verdict = REJECTED if errors else WARNING if warnings else OK
    return StlReport(verdict, triangles, bodies, volume_mm3, bbox_mm, tuple(errors), tuple(warnings))
