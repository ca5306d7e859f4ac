"""The PrintJob state machine."""

import pytest

from printfarm.errors import InvalidTransition
from printfarm.jobs.rules import (
    ACTIVE,
    ALLOWED,
    TERMINAL,
    JobState,
    check_move,
    job_id_from_filename,
    remote_filename,
)


def test_every_state_has_a_transition_entry():
    assert set(ALLOWED) == set(JobState)


def test_terminal_states_allow_no_move():
    for state in TERMINAL:
        assert ALLOWED[state] == frozenset()


def test_active_and_terminal_do_not_overlap_and_cover_all_states():
    assert ACTIVE.isdisjoint(TERMINAL)
    assert ACTIVE | TERMINAL == set(JobState)


def test_a_finished_plate_can_only_be_completed_by_qc():
    assert ALLOWED[JobState.FINISHED] == {JobState.COMPLETED}


def test_disallowed_move_names_job_and_states():
    with pytest.raises(InvalidTransition, match="print job 7: cannot go from completed to printing"):
        check_move(7, JobState.COMPLETED, JobState.PRINTING)


def test_remote_filename_round_trips_the_job_id():
    name = remote_filename(1234, "RC3 Headband / v2")
    assert name == "pf-1234-rc3_headband_v2.gcode"
    assert job_id_from_filename(name) == 1234
    assert job_id_from_filename(f"local/sub/{name}") == 1234


@pytest.mark.parametrize("name", [None, "", "headband.gcode", "pf-x-part.gcode", "pf-12-part.stl", "xpf-12-a.gcode"])
def test_foreign_file_names_name_no_job(name):
    assert job_id_from_filename(name) is None
