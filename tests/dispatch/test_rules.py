"""The dispatch policy, on its own."""

import datetime as dt

from printfarm.dispatch.rules import FileChoice, IdlePrinter, OpenBatch, match, retry_delay

MK3 = 1
MINI = 2


def printer(pid: int, profile: int = MK3, material: str = "PLA", site: int = 1) -> IdlePrinter:
    return IdlePrinter(id=pid, site_id=site, profile_id=profile, loaded_material=material)


def test_most_urgent_batch_is_served_first():
    batches = [OpenBatch(id=2, part_id=20, remaining_units=4), OpenBatch(id=1, part_id=10, remaining_units=4)]
    files = {(10, MK3): FileChoice(100, 4, "PLA"), (20, MK3): FileChoice(200, 4, "PLA")}
    result = match([printer(1)], batches, files)
    assert [(a.printer_id, a.batch_id, a.print_file_id) for a in result] == [(1, 2, 200)]


def test_a_batch_gets_no_more_plates_than_it_needs():
    batches = [OpenBatch(id=1, part_id=10, remaining_units=6)]
    files = {(10, MK3): FileChoice(100, 4, None)}
    result = match([printer(1), printer(2), printer(3)], batches, files)
    assert [a.printer_id for a in result] == [1, 2]  # 4 + 4 >= 6: the third printer stays idle


def test_a_printer_without_a_print_file_for_its_profile_gets_nothing():
    batches = [OpenBatch(id=1, part_id=10, remaining_units=4)]
    files = {(10, MK3): FileChoice(100, 4, None)}
    assert match([printer(1, profile=MINI)], batches, files) == []


def test_material_must_match_the_loaded_spool():
    batches = [OpenBatch(id=1, part_id=10, remaining_units=4)]
    files = {(10, MK3): FileChoice(100, 4, "PETG")}
    assert match([printer(1, material="PLA")], batches, files) == []
    assert len(match([printer(1, material="petg")], batches, files)) == 1


def test_a_printer_falls_through_to_the_next_batch_it_can_print():
    batches = [OpenBatch(id=1, part_id=10, remaining_units=4), OpenBatch(id=2, part_id=20, remaining_units=4)]
    files = {(20, MINI): FileChoice(200, 2, None)}
    result = match([printer(5, profile=MINI)], batches, files)
    assert [(a.batch_id, a.units_per_print) for a in result] == [(2, 2)]


def test_backoff_grows_then_caps():
    assert [retry_delay(n) for n in range(1, 8)] == [
        dt.timedelta(seconds=s) for s in (15, 30, 60, 120, 240, 240, 240)
    ]


def test_a_short_queue_is_shared_round_robin_by_sites():
    batches = [OpenBatch(id=1, part_id=10, remaining_units=12)]
    files = {(10, MK3): FileChoice(100, 4, None)}
    idle = [printer(1, site=1), printer(2, site=1), printer(3, site=1), printer(4, site=2), printer(5, site=3)]
    assert [a.printer_id for a in match(idle, batches, files)] == [1, 4, 5]
