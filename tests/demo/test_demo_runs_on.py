"""The demo keeps the farm busy: five demo-minutes lived through in seconds on a fast demo clock.

`DemoOptions.speedup` makes the simulated printers print that much faster and the demo's own clock
(its rounds, its timers) run that much faster, so the farm goes through the plates of five minutes
while the test waits thirty seconds. Everything else is the real demo: its server, MQTT, dispatch,
the simulated operators clearing beds and the hospitals asking for more.
"""

from __future__ import annotations

import io
import threading

import pytest

from printfarm.auth.rules import SYSTEM
from printfarm.demo import Demo, DemoOptions

pytestmark = pytest.mark.slow

SPEEDUP = 10.0
DEMO_SECONDS = 300.0
SAMPLE_EVERY_SECONDS = 30.0


def test_the_demo_keeps_printing_and_queueing_batches_through_five_demo_minutes() -> None:
    out = io.StringIO()
    stop = threading.Event()
    exit_codes: list[int] = []
    samples: list[tuple[float, int, int]] = []  # (demo seconds, good units, batches)
    with Demo(DemoOptions(units=24, speedup=SPEEDUP), out=out) as demo:
        loop = threading.Thread(target=lambda: exit_codes.append(demo.run(stop)), name="demo-loop")
        loop.start()
        try:
            mark = SAMPLE_EVERY_SECONDS
            while mark <= DEMO_SECONDS:
                demo.clock.wait(threading.Event(), mark - demo.clock.seconds())
                with demo.services.db.unit_of_work() as session:
                    good = demo.services.output.totals(session, SYSTEM)["good_units"]
                    batches = len(demo.services.batches.list(session, SYSTEM))
                samples.append((demo.clock.seconds(), good, batches))
                mark += SAMPLE_EVERY_SECONDS
            assert loop.is_alive(), out.getvalue()
        finally:
            stop.set()
            loop.join(timeout=30)
    report = f"{samples}\n{out.getvalue()}"
    assert exit_codes == [0], report
    goods = [good for _, good, _ in samples]
    assert len(goods) == DEMO_SECONDS / SAMPLE_EVERY_SECONDS, report
    assert all(later > earlier for earlier, later in zip(goods, goods[1:])), report  # rising in every 30 s
    batch_counts = [batches for _, _, batches in samples]
    assert batch_counts[-1] > batch_counts[-3] > batch_counts[0], report  # still queueing in the last minute
    assert "press Ctrl-C" in out.getvalue(), report
    assert out.getvalue().count(" done: ") >= 5, report
    assert "stopped after" in out.getvalue(), report
