"""The dispatch policy, on its own."""

import datetime as dt

from printfarm.dispatch.rules import (
    FileChoice,
    IdlePrinter,
    OpenBatch,
    SitePolicy,
    distance_km,
    file_problems,
    heatups_left,
    match,
    site_is_open,
)
from printfarm.printers.catalog import PROFILES

MK3 = 1
MINI = 2
UTC = dt.timezone.utc


def printer(pid: int, profile: int = MK3, material: str = "PLA", site: int = 1) -> IdlePrinter:
    return IdlePrinter(id=pid, site_id=site, profile_id=profile, loaded_material=material)


def plates(result):
    return [(a.printer_id, a.batch_id) for a in result]


def test_most_urgent_batch_is_served_first():
    batches = [OpenBatch(id=2, part_id=20, remaining_units=4, priority=9), OpenBatch(id=1, part_id=10, remaining_units=4)]
    files = {(10, MK3): [FileChoice(100, 4, "PLA")], (20, MK3): [FileChoice(200, 4, "PLA")]}
    result = match([printer(1)], batches, files)
    assert [(a.printer_id, a.batch_id, a.print_file_id) for a in result] == [(1, 2, 200)]


def test_a_batch_gets_no_more_plates_than_it_needs():
    batches = [OpenBatch(id=1, part_id=10, remaining_units=6)]
    files = {(10, MK3): [FileChoice(100, 4, None)]}
    result = match([printer(1), printer(2), printer(3)], batches, files)
    assert [a.printer_id for a in result] == [1, 2]  # 4 + 4 >= 6: the third printer stays idle


def test_a_printer_without_a_print_file_for_its_profile_gets_nothing():
    batches = [OpenBatch(id=1, part_id=10, remaining_units=4)]
    files = {(10, MK3): [FileChoice(100, 4, None)]}
    assert match([printer(1, profile=MINI)], batches, files) == []


def test_material_must_match_the_loaded_spool():
    batches = [OpenBatch(id=1, part_id=10, remaining_units=4)]
    files = {(10, MK3): [FileChoice(100, 4, "PETG")]}
    assert match([printer(1, material="PLA")], batches, files) == []
    assert len(match([printer(1, material="petg")], batches, files)) == 1


def test_the_newest_file_that_suits_the_spool_is_used():
    batches = [OpenBatch(id=1, part_id=10, remaining_units=8)]
    files = {(10, MK3): [FileChoice(102, 4, "PETG"), FileChoice(101, 2, "PLA"), FileChoice(100, 4, "PLA")]}
    result = match([printer(1, material="PLA"), printer(2, material="PETG", site=2)], batches, files)
    assert sorted((a.printer_id, a.print_file_id) for a in result) == [(1, 101), (2, 102)]


def test_a_printer_falls_through_to_the_next_batch_it_can_print():
    batches = [OpenBatch(id=1, part_id=10, remaining_units=4), OpenBatch(id=2, part_id=20, remaining_units=4)]
    files = {(20, MINI): [FileChoice(200, 2, None)]}
    result = match([printer(5, profile=MINI)], batches, files)
    assert [(a.batch_id, a.units_per_print) for a in result] == [(2, 2)]


def test_every_idle_printer_gets_a_plate_while_compatible_work_remains():
    batches = [OpenBatch(id=1, part_id=10, remaining_units=4), OpenBatch(id=2, part_id=20, remaining_units=400)]
    files = {(10, MK3): [FileChoice(100, 4, None)], (20, MK3): [FileChoice(200, 4, None)], (20, MINI): [FileChoice(201, 2, None)]}
    idle = [printer(i, profile=MK3 if i % 2 else MINI, site=i % 7) for i in range(1, 51)]
    result = match(idle, batches, files)
    assert sorted(a.printer_id for a in result) == list(range(1, 51))
    assert [a.batch_id for a in result].count(1) == 1


def test_a_short_queue_is_shared_round_robin_by_sites():
    batches = [OpenBatch(id=1, part_id=10, remaining_units=12)]
    files = {(10, MK3): [FileChoice(100, 4, None)]}
    idle = [printer(1, site=1), printer(2, site=1), printer(3, site=1), printer(4, site=2), printer(5, site=3)]
    assert [a.printer_id for a in match(idle, batches, files)] == [1, 4, 5]


# -- fairness and urgency -----------------------------------------------------------------------


def test_hospitals_at_equal_priority_take_turns():
    # hospital 7 queued three batches first; hospital 8's single batch still gets every other plate
    batches = [
        OpenBatch(id=1, part_id=10, remaining_units=40, hospital_id=7),
        OpenBatch(id=2, part_id=10, remaining_units=40, hospital_id=7),
        OpenBatch(id=3, part_id=10, remaining_units=40, hospital_id=7),
        OpenBatch(id=4, part_id=10, remaining_units=40, hospital_id=8),
    ]
    files = {(10, MK3): [FileChoice(100, 4, None)]}
    result = match([printer(i) for i in range(1, 7)], batches, files)
    assert [a.batch_id for a in result] == [1, 4, 1, 4, 1, 4]


def test_a_higher_priority_batch_takes_every_printer_before_fairness_applies():
    batches = [
        OpenBatch(id=1, part_id=10, remaining_units=16, hospital_id=7, priority=9),
        OpenBatch(id=2, part_id=10, remaining_units=40, hospital_id=8, priority=1),
    ]
    files = {(10, MK3): [FileChoice(100, 4, None)]}
    result = match([printer(i) for i in range(1, 7)], batches, files)
    assert [a.batch_id for a in result] == [1, 1, 1, 1, 2, 2]


def test_an_earlier_due_day_is_served_before_fair_turns():
    soon = dt.datetime(2026, 4, 1, 12, tzinfo=UTC)
    later = dt.datetime(2026, 4, 9, 12, tzinfo=UTC)
    batches = [
        OpenBatch(id=1, part_id=10, remaining_units=8, hospital_id=7, due_at=soon),
        OpenBatch(id=2, part_id=10, remaining_units=40, hospital_id=8, due_at=later),
    ]
    files = {(10, MK3): [FileChoice(100, 4, None)]}
    assert [a.batch_id for a in match([printer(i) for i in range(1, 5)], batches, files)] == [1, 1, 2, 2]


# -- sites ------------------------------------------------------------------------------------


def test_a_closed_site_starts_nothing():
    batches = [OpenBatch(id=1, part_id=10, remaining_units=40)]
    files = {(10, MK3): [FileChoice(100, 4, None)]}
    idle = [printer(1, site=1), printer(2, site=2)]
    result = match(idle, batches, files, sites={1: SitePolicy(is_open=False)})
    assert [a.printer_id for a in result] == [2]


def test_a_site_prints_only_the_parts_it_allows():
    batches = [OpenBatch(id=1, part_id=10, remaining_units=4), OpenBatch(id=2, part_id=20, remaining_units=4)]
    files = {(10, MK3): [FileChoice(100, 4, None)], (20, MK3): [FileChoice(200, 4, None)]}
    sites = {1: SitePolicy(allowed_part_ids=frozenset({20}))}
    assert plates(match([printer(1, site=1)], batches, files, sites=sites)) == [(1, 2)]


def test_heat_ups_are_staggered_per_site():
    batches = [OpenBatch(id=1, part_id=10, remaining_units=400)]
    files = {(10, MK3): [FileChoice(100, 4, None)]}
    idle = [printer(i, site=1) for i in range(1, 6)] + [printer(i, site=2) for i in range(6, 9)]
    result = match(idle, batches, files, sites={1: SitePolicy(starts_left=2), 2: SitePolicy(starts_left=0)})
    assert [a.printer_id for a in result] == [1, 2]


def test_heatups_left_counts_recent_starts_in_the_window():
    assert heatups_left(3, 120, 1) == 2
    assert heatups_left(3, 120, 5) == 0
    assert heatups_left(None, 120, 5) is None
    assert heatups_left(3, None, 5) is None


def test_among_equal_choices_the_site_nearest_the_hospital_wins():
    gothenburg, stockholm, malmo = (57.70, 11.97), (59.33, 18.07), (55.60, 13.00)
    batches = [
        OpenBatch(id=1, part_id=10, remaining_units=4, hospital_id=7),
        OpenBatch(id=2, part_id=10, remaining_units=4, hospital_id=8),
    ]
    files = {(10, MK3): [FileChoice(100, 4, None)]}
    sites = {1: SitePolicy(location=stockholm), 2: SitePolicy(location=gothenburg), 3: SitePolicy(location=malmo)}
    idle = [printer(1, site=1), printer(2, site=2), printer(3, site=3)]
    result = match(idle, batches, files, sites=sites, hospitals={7: malmo, 8: stockholm})
    assert plates(result) == [(3, 1), (1, 2)]


def test_a_site_without_coordinates_comes_after_located_ones():
    batches = [OpenBatch(id=1, part_id=10, remaining_units=4, hospital_id=7)]
    files = {(10, MK3): [FileChoice(100, 4, None)]}
    sites = {1: SitePolicy(), 2: SitePolicy(location=(59.33, 18.07))}
    result = match([printer(1, site=1), printer(2, site=2)], batches, files, sites=sites, hospitals={7: (57.7, 11.97)})
    assert [a.printer_id for a in result] == [2]


def test_distance_between_gothenburg_and_stockholm():
    assert 390 < distance_km((57.70, 11.97), (59.33, 18.07)) < 400


def test_working_hours_in_the_site_time_zone():
    seven, seven_pm = dt.time(7), dt.time(19)
    summer_noon_utc = dt.datetime(2026, 6, 1, 12, tzinfo=UTC)
    assert site_is_open(summer_noon_utc, seven, seven_pm, "Europe/Stockholm")
    assert not site_is_open(dt.datetime(2026, 6, 1, 17, 30, tzinfo=UTC), seven, seven_pm, "Europe/Stockholm")  # 19:30 local
    assert site_is_open(dt.datetime(2026, 6, 1, 17, 30, tzinfo=UTC), seven, seven_pm, "UTC")
    assert site_is_open(summer_noon_utc, None, None)


def test_overnight_working_hours_wrap_midnight():
    night_start, morning = dt.time(22), dt.time(6)
    assert site_is_open(dt.datetime(2026, 6, 1, 23, tzinfo=UTC), night_start, morning)
    assert site_is_open(dt.datetime(2026, 6, 2, 5, 59, tzinfo=UTC), night_start, morning)
    assert not site_is_open(dt.datetime(2026, 6, 2, 6, tzinfo=UTC), night_start, morning)


# -- compatibility from the G-code analysis -----------------------------------------------------


def analysis(x_span: float, z_top: float = 10.0) -> dict:
    return {"extents_mm": {"x": [0.0, x_span], "y": [0.0, 100.0], "z": [0.2, z_top]}, "filament_type": "PLA"}


def test_a_plate_wider_than_the_bed_does_not_fit():
    mini = PROFILES["prusa-mini-0.4"]
    wide = FileChoice(1, 4, "PLA", analysis(240.0))
    assert file_problems(wide, mini, "PLA") == ["extents 240.0 mm > bed 180 mm on X"]
    assert file_problems(wide, PROFILES["prusa-mk3s-0.4"], "PLA") == []


def test_a_file_sliced_for_another_filament_does_not_fit_the_spool():
    petg_file = FileChoice(1, 4, None, {"filament_type": "PETG"})
    assert file_problems(petg_file, PROFILES["prusa-mk3s-0.4"], "PLA") == ["filament PETG in G-code, printer loaded with PLA"]


def test_match_uses_the_fit_rule_it_is_given():
    profiles = {MK3: PROFILES["prusa-mk3s-0.4"], MINI: PROFILES["prusa-mini-0.4"]}
    batches = [OpenBatch(id=1, part_id=10, remaining_units=40)]
    files = {(10, MK3): [FileChoice(100, 4, "PLA", analysis(240.0))], (10, MINI): [FileChoice(101, 4, "PLA", analysis(240.0))]}

    def fits(choice: FileChoice, profile_id: int, material: str) -> bool:
        return not file_problems(choice, profiles[profile_id], material)

    result = match([printer(1, profile=MINI), printer(2, profile=MK3)], batches, files, fits=fits)
    assert [a.printer_id for a in result] == [2]
