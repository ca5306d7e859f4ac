"""GET /metrics: Prometheus text exposition of printers, jobs, units per site, MQTT ingest and dispatch."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from printfarm.api.deps import ActorDep, ServicesDep, SessionDep
from printfarm.jobs.rules import JobState

router = APIRouter(tags=["stats"])
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _label(value: object) -> str:
    """A label value escaped as the exposition format asks: backslash, quote and newline."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _family(name: str, kind: str, help_text: str, samples: Iterable[tuple[dict[str, object], float]]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        rendered = ",".join(f'{key}="{_label(v)}"' for key, v in labels.items())
        lines.append(f"{name}{{{rendered}}} {value:g}" if rendered else f"{name} {value:g}")
    return lines


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    summary="Prometheus metrics (any token; Prometheus sends it with `authorization: {credentials: ...}`)",
)
def metrics(actor: ActorDep, svc: ServicesDep, session: SessionDep) -> PlainTextResponse:
    printers = svc.dashboard.printers_by_status(session, actor)
    not_online = svc.printers.connection_problems(session, actor)
    jobs = svc.dashboard.jobs_by_state(session, actor)
    sites = svc.dashboard.units_by_site(session, actor)
    stats = svc.tracking.stats
    passes, pass_seconds, last_pass, longest_pass = svc.dispatch_timing.snapshot()
    site_labels = [({"site_id": s.site_id, "site": s.site_name}, s) for s in sites]
    lines = [
        *_family("printfarm_printers", "gauge", "Printers by what their card shows.",
                 (({"status": k}, v) for k, v in sorted(printers.items()))),
        *_family("printfarm_printer_not_online", "gauge",
                 "Printers offline, in fault or not heard from yet (1 each), with why and since when (Unix s).",
                 (({"printer_id": p.id, "site_id": p.site_id, "printer": p.name, "connection": p.connection.value,
                    "reason": p.connection_reason or "",
                    "since": int(p.connection_changed_at.timestamp()) if p.connection_changed_at else ""}, 1)
                  for p in not_online)),
        *_family("printfarm_jobs", "gauge", "Print jobs (plates) by state.",
                 (({"state": s.value}, jobs.get(s.value, 0)) for s in JobState)),
        *_family("printfarm_good_units_total", "counter", "QC-passed units per site.",
                 ((labels, s.good_units) for labels, s in site_labels)),
        *_family("printfarm_rejected_units_total", "counter", "Units rejected at QC per site.",
                 ((labels, s.rejected_units) for labels, s in site_labels)),
        *_family("printfarm_mqtt_messages_received_total", "counter", "OctoPrint-MQTT messages received.",
                 [({}, stats.received)]),
        *_family("printfarm_mqtt_messages_applied_total", "counter", "Messages applied to printers and jobs.",
                 [({}, stats.applied)]),
        *_family("printfarm_mqtt_messages_dropped_total", "counter", "Messages dropped, by reason.",
                 (({"reason": k}, v) for k, v in sorted(dict(stats.dropped).items()))),
        *_family("printfarm_dispatch_pass_seconds", "summary", "Time of the scheduler's dispatch passes.",
                 []),
        f"printfarm_dispatch_pass_seconds_count {passes}",
        f"printfarm_dispatch_pass_seconds_sum {pass_seconds:g}",
        *_family("printfarm_dispatch_pass_last_seconds", "gauge", "Time of the latest dispatch pass.", [({}, last_pass)]),
        *_family("printfarm_dispatch_pass_max_seconds", "gauge", "Longest dispatch pass since start.", [({}, longest_pass)]),
    ]
    return PlainTextResponse("\n".join(lines) + "\n", media_type=CONTENT_TYPE)
