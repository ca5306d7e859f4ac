"""Chart geometry for the SVG the pages draw: horizontal bars and a daily line, with readable axes."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass


def nice_ceiling(value: float) -> int:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at or above value (at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return int(math.ceil(step * power))
    return int(10 * power)


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    y: float
    width: float
    key: int


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    width: int
    height: int
    label_width: int
    plot_width: int
    row_height: int
    scale_max: int


def bar_chart(rows: list[tuple[int, str, int]], width: int = 640, row_height: int = 24, label_width: int = 170) -> BarChart:
    """Horizontal bars, one per (key, label, value), in the order given, scaled to the largest value."""
    plot_width = width - label_width - 60
    scale_max = nice_ceiling(max((value for _, _, value in rows), default=0))
    bars = [
        Bar(label=label, value=value, y=i * row_height, width=round(plot_width * value / scale_max, 1), key=key)
        for i, (key, label, value) in enumerate(rows)
    ]
    return BarChart(bars, width, max(row_height, len(rows) * row_height) + 4, label_width, plot_width, row_height, scale_max)


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    day: dt.date
    value: int


@dataclass(frozen=True)
class Tick:
    position: float
    label: str
    anchor: str = "middle"  # SVG text-anchor: the first and last date labels stay inside the chart


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    left: int
    top: int
    plot_width: int
    plot_height: int
    series: dict[str, list[Point]]
    y_ticks: list[Tick]
    x_ticks: list[Tick]

    def polyline(self, name: str) -> str:
        return " ".join(f"{p.x},{p.y}" for p in self.series[name])


def active_days(days: list[dt.date], series: dict[str, list[int]], min_days: int = 7) -> int:
    """Index of the first day to draw: the day before the first with any units, showing at least min_days.

    A new farm's one busy day is then a week's chart, not a spike at the end of 30 empty days."""
    totals = [sum(values) for values in zip(*series.values(), strict=True)] if series else []
    first = next((i for i, total in enumerate(totals) if total), len(days))
    return max(0, min(first - 1, len(days) - min_days))


def line_chart(
    days: list[dt.date], series: dict[str, list[int]], width: int = 640, height: int = 220, min_days: int = 7
) -> LineChart:
    """One line per series over consecutive days, from the first active one (active_days); y from 0 to a
    round maximum; about six date labels, the last day always labelled."""
    start = active_days(days, series, min_days)
    days, series = days[start:], {name: values[start:] for name, values in series.items()}
    left, top, right, bottom = 44, 10, 12, 26
    plot_width, plot_height = width - left - right, height - top - bottom
    scale_max = nice_ceiling(max((v for values in series.values() for v in values), default=0))
    step = plot_width / max(1, len(days) - 1)

    def y_of(value: float) -> float:
        return round(top + plot_height * (1 - value / scale_max), 1)

    points = {
        name: [Point(round(left + i * step, 1), y_of(v), day, v) for i, (day, v) in enumerate(zip(days, values, strict=True))]
        for name, values in series.items()
    }
    y_ticks = [Tick(y_of(scale_max * k / 4), f"{scale_max * k / 4:g}") for k in range(5)]
    last = len(days) - 1
    every = 7 if len(days) > 14 else 2 if len(days) > 8 else 1
    x_ticks = [
        Tick(round(left + i * step, 1), f"{days[i]:%d %b}", "end" if i == last else "start" if i == 0 else "middle")
        for i in range(last % every, len(days), every)
    ]
    return LineChart(width, height, left, top, plot_width, plot_height, points, y_ticks, x_ticks)
