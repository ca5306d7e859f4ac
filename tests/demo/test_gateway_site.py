"""`printfarm demo --gateway-site`: one site's printers print only through an in-process site gateway, and the
units still add up exactly."""

from __future__ import annotations

import io
import re
import threading

import pytest

from printfarm.auth.rules import SYSTEM
from printfarm.demo import Demo, DemoOptions
from printfarm.jobs.rules import JobState

pytestmark = pytest.mark.slow


def test_the_demo_with_a_gateway_site_counts_every_unit_and_the_gateway_sites_printers_print() -> None:
    out = io.StringIO()
    with Demo(DemoOptions(units=24, exit_when_done=True, timeout_seconds=120, gateway_site=True), out=out) as demo:
        code = demo.run(threading.Event())
        assert demo.farm is not None and demo.farm.gateway_site_id is not None
        with demo.services.db.unit_of_work() as session:
            behind = demo.services.printers.list(session, SYSTEM, demo.farm.gateway_site_id)
            kinds = {(p.kind, p.base_url.split("/")[0]) for p in behind}
            plates_behind = sum(len(demo.services.jobs.list(session, SYSTEM, printer_id=p.id, state=JobState.COMPLETED))
                                for p in behind)
            gateway_site = demo.farm.site_names[demo.farm.gateway_site_id]
    stdout = out.getvalue()
    assert code == 0, stdout
    assert len(behind) == 3 and kinds == {("gateway", "gateway:")}, kinds  # no address or key held centrally
    assert plates_behind > 0, "no plate printed through the gateway"
    assert re.search(rf"^{re.escape(gateway_site)}: printers reached only through its site gateway \(kind gateway; "
                     r"the gateway connects out to mqtt://127\.0\.0\.1:\d+\)$", stdout, re.M), stdout
    per_site = dict(re.findall(r"^  (?!total)(.+?)\s+(\d+)  \(rejected", stdout, re.M))
    total = re.search(r"^  total\s+(\d+)$", stdout, re.M)
    assert int(per_site[gateway_site]) == plates_behind * 4, stdout
    assert total is not None and sum(map(int, per_site.values())) == int(total.group(1)) == 24, stdout
    assert re.search(r"^delivery \d+: 24 units from 3 sites \(6 plates traced\), received by .+: 24 units$",
                     stdout, re.M), stdout
    assert re.search(r"^hospital request \d+: 24 requested, 24 QC-passed, 24 delivered, 0 outstanding$",
                     stdout, re.M), stdout
