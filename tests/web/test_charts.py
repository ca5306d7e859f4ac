"""The day chart's geometry: it starts where the units do, and its date labels stay inside it."""

from __future__ import annotations

import datetime as dt

from printfarm.web.charts import active_days, line_chart

DAYS = [dt.date(2026, 11, 5) + dt.timedelta(days=i) for i in range(30)]


def only_last_day(units: int) -> list[int]:
    return [0] * 29 + [units]


def test_one_busy_day_after_29_empty_ones_is_drawn_as_the_last_of_a_week() -> None:
    chart = line_chart(DAYS, {"good": only_last_day(7), "rejected": only_last_day(1)})
    assert [p.day for p in chart.series["good"]] == DAYS[-7:]
    assert [p.value for p in chart.series["good"]] == [0] * 6 + [7]
    assert [t.label for t in chart.x_ticks] == [f"{d:%d %b}" for d in DAYS[-7:]]


def test_the_chart_starts_the_day_before_the_first_units_and_keeps_a_zero_baseline() -> None:
    good = [0] * 10 + [3] * 20
    assert active_days(DAYS, {"good": good, "rejected": [0] * 30}) == 9
    assert active_days(DAYS, {"good": [0] * 30, "rejected": [0] * 30}) == 23  # nothing yet: the last week
    assert active_days(DAYS, {"good": [1] * 30}) == 0


def test_the_first_and_last_date_labels_are_anchored_inside_the_plot() -> None:
    chart = line_chart(DAYS, {"good": [1] * 30, "rejected": [0] * 30})
    last = chart.x_ticks[-1]
    assert (last.label, last.anchor) == ("04 Dec", "end")
    assert last.position == chart.left + chart.plot_width  # the last day, labelled, ending at the plot's edge
    assert chart.width - last.position >= 0
    assert all(t.anchor == "middle" for t in chart.x_ticks[1:-1])
    assert len(chart.x_ticks) == 5  # weekly labels over 30 days, ending on the last day
    assert [t.label for t in line_chart(DAYS[:1], {"good": [2]}).x_ticks] == ["05 Nov"]
