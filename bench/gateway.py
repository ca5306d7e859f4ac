"""Benchmark: printers behind site gateways against the same printers reached directly, in one run.

1. Command round trip on loopback, simulated OctoPrint printers (printfarm.sim, real HTTP): `status`,
   `start` (upload and start a plate) and `cancel`, each through the direct OctoPrint adapter and
   through the gateway printer kind (central GatewayRequester → Mosquitto, MQTT 5 → an in-process
   printfarm.gateway.Gateway → the same OctoPrint adapter → the printer). Through the gateway,
   `start` also pulls the plate over HTTP from a plate server standing in for the central service
   (loopback, no TLS). p50/p99 of each and the ratio at p50. Targets: ≤ 2× direct at p50, ≤ 250 ms p99.
2. Scale: 1,000 printers at 50 sites, every site behind its own gateway (50 in-process gateways,
   20 printers each) on one Mosquitto, against the same 1,000 printers reached directly, with
   bench/dispatch.py's machinery: its timed in-process fake printers (FakePrinterFleet: the gateways
   drive them through client_factory), its dispatch passes (999 printers idle: every pass claims and
   starts 999 plates) and its farm (plates of --print-seconds ±50 %, PrintDone applied
   as the MQTT ingest would, a simulated operator clearing each bed). Printed: pass time (median,
   p95) and the idle gap bed clear → next start (median, p95; target median ≤ 1 s), direct and
   through gateways (with dispatch's 8 start threads, and with --wide-start-workers), and their
   ratios. The gateways pull plates from the file store in-process here (the HTTP pull is measured
   in part 1), and they share this process's interpreter lock with printfarm, which real gateways
   at their sites do not.

SQLite only (a temporary file); Mosquitto is started privately on a free port (the installed one).
Figures only; nothing here asserts on time.

    .venv/bin/python bench/gateway.py [--status-trips 300] [--start-trips 60] [--passes 5] [--farm-seconds 40]
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dispatch as dispatch_bench  # noqa: E402  (bench/dispatch.py: the fleet, passes and farm)

from printfarm.adapters.gateway.client import make_gateway_client_factory  # noqa: E402
from printfarm.adapters.gateway.credentials import PlateCredentials  # noqa: E402
from printfarm.adapters.gateway.link import BrokerEndpoint, GatewayRequester  # noqa: E402
from printfarm.adapters.mqtt.mosquitto import PrivateMosquitto  # noqa: E402
from printfarm.adapters.octoprint.octorest_client import make_octorest_client_factory  # noqa: E402
from printfarm.adapters.secrets import new_key  # noqa: E402
from printfarm.db.migrate import upgrade  # noqa: E402
from printfarm.db.tables import Printer  # noqa: E402
from printfarm.demo.gcode import plate_gcode  # noqa: E402
from printfarm.gateway import Gateway, GatewayConfig, GatewayPrinter  # noqa: E402
from printfarm.printers.port import PrinterClient  # noqa: E402
from printfarm.settings import Settings  # noqa: E402
from printfarm.sim import SimulatedFarm  # noqa: E402
from printfarm.wiring import build_services  # noqa: E402

SIM_KEY = "BENCHKEY0123456789ABCDEF01234567"
SCALE_SITES, SCALE_PRINTERS, SCALE_IDLE = 50, 1_000, 999


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98] if len(values) > 1 else values[0]


def load() -> str:
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


class PlateServer:
    """Stands in for the central service's plate endpoint: GET /api/gateway/plates/<name> → the G-code."""

    def __init__(self, plates: dict[str, bytes]) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                data = plates.get(self.path.rsplit("/", 1)[-1])
                self.send_response(200 if data is not None else 404)
                self.send_header("Content-Length", str(len(data or b"")))
                self.end_headers()
                self.wfile.write(data or b"")

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()


def _timed(call: Callable[[], Any]) -> float:
    began = time.perf_counter()
    call()
    return time.perf_counter() - began


def _wait_idle(client: PrinterClient) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        snapshot = client.status()
        if snapshot.is_operational and not snapshot.is_printing and snapshot.state_text == "Operational":
            return
        time.sleep(0.01)
    raise RuntimeError("a simulated printer did not come back to Operational within 30 s")


def round_trips(mqtt_url: str, work: Path, status_trips: int, start_trips: int) -> dict[str, dict[str, list[float]]]:
    """status/start/cancel through the direct adapter and through a gateway, interleaved on the same printers."""
    port = int(mqtt_url.rsplit(":", 1)[1])
    farm = SimulatedFarm("127.0.0.1", port, {"bench-rt": 4}, time_scale=1.0, min_print_seconds=600.0,
                         api_key=SIM_KEY, topic_prefix="bench/").start()
    plates: dict[str, bytes] = {}
    server = PlateServer(plates)
    gateway = Gateway(GatewayConfig(
        site="bench-rt", mqtt_url=mqtt_url, central_url=server.url, state_dir=work / "gateway-rt",
        printers=[GatewayPrinter(name=p.name, url=p.base_url, api_key=p.api_key) for p in farm.listing()],
        log_level="WARNING",
    ))
    requester = GatewayRequester(BrokerEndpoint.from_url(mqtt_url), client_id="bench-central-rt")
    try:
        if not gateway.start(wait_connected_seconds=15):
            raise RuntimeError("the gateway did not connect to the broker")
        direct_factory = make_octorest_client_factory(5.0)
        via_factory = make_gateway_client_factory(requester, PlateCredentials(new_key()), timeout_seconds=5.0)
        pairs = [(direct_factory(p.base_url, p.api_key), via_factory(f"gateway://bench-rt/{p.name}", ""))
                 for p in farm.listing()]
        for direct, via in pairs:  # warm up: connections, the requester's subscription
            direct.ensure_connected()
            _wait_idle(direct)
            via.status()
        times: dict[str, dict[str, list[float]]] = {
            mode: {"status": [], "start": [], "cancel": []} for mode in ("direct", "gateway")
        }
        for trip in range(status_trips):
            direct, via = pairs[trip % len(pairs)]
            times["direct"]["status"].append(_timed(direct.status))
            times["gateway"]["status"].append(_timed(via.status))
        gcode = plate_gcode(units=4)
        for trip in range(start_trips):
            direct, via = pairs[trip % len(pairs)]
            for mode, client in (("direct", direct), ("gateway", via)):
                name = f"pf-{trip}{mode[0]}-bench.gcode"
                plates[name] = gcode
                times[mode]["start"].append(_timed(lambda: client.start_print(name, gcode)))
                times[mode]["cancel"].append(_timed(client.cancel))
                _wait_idle(direct)
        return times
    finally:
        requester.stop()
        gateway.stop()
        server.stop()
        farm.stop()


def report_round_trips(times: dict[str, dict[str, list[float]]]) -> None:
    print(f"\n1. command round trip on loopback (simulated OctoPrint over HTTP; {load()})")
    print(f"   {'op':<8}{'direct p50':>12}{'p99':>9}{'gateway p50':>14}{'p99':>9}{'ratio p50':>11}   samples")
    for op in ("status", "start", "cancel"):
        direct, via = times["direct"][op], times["gateway"][op]
        d50, g50 = statistics.median(direct) * 1000, statistics.median(via) * 1000
        print(f"   {op:<8}{d50:10.1f}ms{p99(direct) * 1000:7.1f}ms{g50:12.1f}ms{p99(via) * 1000:7.1f}ms"
              f"{g50 / d50:10.2f}x   {len(via)}")
    print("   targets: gateway ≤ 2x direct at p50, ≤ 250 ms at p99 (start includes the gateway's HTTP plate pull)")


def _scale_variant(
    label: str, mqtt_url: str | None, work: Path, args: argparse.Namespace, start_workers: int | None = None
) -> dict[str, Any]:
    """1,000 printers at 50 sites, directly or each site behind a gateway: dispatch.py's passes and farm.

    start_workers replaces dispatch's threads that call printers (default 8): a gateway's start waits on
    a round trip, not on this process, so more of them may overlap.
    """
    url = f"sqlite:///{work / f'{label}.db'}"
    upgrade_engine = sa.create_engine(url)
    upgrade(upgrade_engine)
    upgrade_engine.dispose()
    fleet = dispatch_bench.TimedFleet()
    services = build_services(Settings(data_dir=work / label, database_url=url, mqtt_url=mqtt_url),
                              printer_clients=fleet)
    urls = dispatch_bench.seed(services, fleet)
    if start_workers is not None:
        services.dispatch._start_workers = start_workers  # the bench's knob; DispatchService's default is 8
    gateways: list[Gateway] = []
    try:
        if mqtt_url is not None:
            with services.db.unit_of_work() as session:
                for printer_id in urls:
                    site = (printer_id - 1) % SCALE_SITES + 1
                    session.execute(sa.update(Printer).where(Printer.id == printer_id).values(
                        kind="gateway", base_url=f"gateway://site-{site}/printer-{printer_id}"))

            def from_store(file_name: str, credential: str, sha256: str) -> bytes:
                data = services.store.get(sha256)
                assert hashlib.sha256(data).hexdigest() == sha256
                return data

            for site in range(1, SCALE_SITES + 1):
                printers = [GatewayPrinter(name=f"printer-{pid}", url=u, api_key="bench-key")
                            for pid, u in urls.items() if (pid - 1) % SCALE_SITES + 1 == site]
                gateway = Gateway(GatewayConfig(
                    site=f"site-{site}", mqtt_url=mqtt_url, central_url="http://central.invalid",
                    state_dir=work / label / f"gateway-{site}", printers=printers, log_level="WARNING",
                ), client_factory=fleet, fetch=from_store)
                gateways.append(gateway)
                if not gateway.start(wait_connected_seconds=15):
                    raise RuntimeError(f"gateway of site-{site} did not connect")
            assert services.gateways is not None
            services.gateways.start()
        passes = dispatch_bench.measure_passes(services, fleet, urls, args.passes)
        farm = dispatch_bench.run_farm(services, fleet, urls, args.farm_seconds, args.print_seconds)
        return {"passes": passes, "farm": farm, "load": load()}
    finally:
        for gateway in gateways:
            gateway.stop()
        if services.gateways is not None:
            services.gateways.stop()
        services.db.dispose()


def scale(mqtt_url: str, work: Path, args: argparse.Namespace) -> None:
    # bench/dispatch.py's fleet size, as its module constants: 1,000 printers, 999 of them idle and cycling
    # (its occupy() wants at least one printer on a long plate)
    dispatch_bench.SITES, dispatch_bench.PRINTERS, dispatch_bench.IDLE = SCALE_SITES, SCALE_PRINTERS, SCALE_IDLE
    direct = _scale_variant("direct", None, work, args)
    via = _scale_variant("gateways", mqtt_url, work, args)
    wide = _scale_variant("gateways-wide", mqtt_url, work, args, start_workers=args.wide_start_workers)
    print(f"\n2. {SCALE_PRINTERS} printers at {SCALE_SITES} sites: directly, and each site behind its own gateway "
          f"({SCALE_SITES} gateways, one Mosquitto)")
    print(f"   after each run: direct {direct['load']}; gateways {via['load']}; "
          f"gateways with {args.wide_start_workers} start threads {wide['load']}")
    rows = [
        (f"dispatch pass (claims + starts {SCALE_IDLE} plates) median", "pass_ms_median", "passes"),
        ("dispatch pass p95", "pass_ms_p95", "passes"),
        ("  of which the claim phase, median", "claim_ms_median", "passes"),
        ("  of which the start phase, median", "start_ms_median", "passes"),
        ("idle gap bed clear → next start, median", "gap_ms_median", "farm"),
        ("idle gap p95", "gap_ms_p95", "farm"),
    ]
    wide_label = f"gw, {args.wide_start_workers} thr"
    print(f"   {'':<52}{'direct':>10}{'gateways':>12}{'ratio':>8}{wide_label:>14}{'ratio':>8}")
    for text, key, part in rows:
        d, g, w = direct[part][key], via[part][key], wide[part][key]
        print(f"   {text:<52}{d:8.1f}ms{g:10.1f}ms{g / d:7.2f}x{w:12.1f}ms{w / d:7.2f}x")
    print(f"   plates cleared in {args.farm_seconds:.0f} s: direct {direct['farm']['plates']}, "
          f"gateways {via['farm']['plates']}, with {args.wide_start_workers} start threads {wide['farm']['plates']}; "
          f"CPU cores busy: {direct['farm']['cores']:.2f}, {via['farm']['cores']:.2f}, {wide['farm']['cores']:.2f} "
          "(the 50 gateways run in this process, sharing its interpreter lock with printfarm)")
    print("   target: idle gap median ≤ 1000 ms")


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--status-trips", type=int, default=300)
    parser.add_argument("--start-trips", type=int, default=60)
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--farm-seconds", type=float, default=40.0)
    parser.add_argument("--print-seconds", type=float, default=10.0)
    parser.add_argument("--wide-start-workers", type=int, default=32,
                        help="Dispatch's start threads in the third scale run (the default is 8)")
    parser.add_argument("--skip-scale", action="store_true", help="Only the round trips")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="printfarm-bench-gateway-") as tmp:
        work = Path(tmp)
        broker = PrivateMosquitto(work / "mosquitto")
        mqtt_url = f"mqtt://127.0.0.1:{broker.start()}"
        try:
            report_round_trips(round_trips(mqtt_url, work, args.status_trips, args.start_trips))
            if not args.skip_scale:
                scale(mqtt_url, work, args)
        finally:
            broker.stop()


if __name__ == "__main__":
    main()
