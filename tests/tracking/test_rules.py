"""Event -> job state table and monotonic progress."""

from printfarm.jobs.rules import JobState
from printfarm.tracking.rules import merged_progress, target_for_event


def test_print_failed_splits_on_reason():
    assert target_for_event("PrintFailed", "cancelled") is JobState.CANCELLED
    assert target_for_event("PrintFailed", "error") is JobState.FAILED
    assert target_for_event("PrintFailed", None) is JobState.FAILED


def test_events_without_a_job_move_map_to_none():
    assert target_for_event("ZChange", None) is None
    assert target_for_event("PrintCancelling", None) is None


def test_progress_never_goes_back_and_stays_in_range():
    assert merged_progress(40, 30) == 40
    assert merged_progress(40, 55) == 55
    assert merged_progress(40, None) == 40
    assert merged_progress(40, 250) == 100
