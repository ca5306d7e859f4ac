"""Units of work tried again after a deadlock, a lock wait past the busy timeout or a lost race."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError, OperationalError

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Tries in all, and the pause before the second (doubled before each further one).
ATTEMPTS = 4
FIRST_PAUSE_SECONDS = 0.05


def retried(what: str, work: Callable[[], T], on_retry: Callable[[], None] = lambda: None) -> T:
    """work() (one whole unit of work), tried up to ATTEMPTS times while the database says "again".

    Deadlocks and lock timeouts (OperationalError) and lost races on a unique index (IntegrityError)
    are what two replicas, or the ingest worker and the server, meet when they touch the same rows;
    the last failure is raised. ``what`` names the work in the log.
    """
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return work()
        except (OperationalError, IntegrityError) as err:
            if attempt == ATTEMPTS:
                raise
            on_retry()
            log.warning("%s: attempt %d failed (%s); trying again", what, attempt,
                        type(err.orig).__name__ if err.orig is not None else err)
            time.sleep(FIRST_PAUSE_SECONDS * 2 ** (attempt - 1))
    raise AssertionError("unreachable")  # the loop returns or raises
