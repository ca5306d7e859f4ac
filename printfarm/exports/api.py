"""Routes for CSV exports."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from printfarm.api.deps import ActorDep, ServicesDep, SessionDep

router = APIRouter(tags=["exports"])


def _csv_response(body: str, name: str) -> Response:
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/exports/output.csv", summary="Plates, good and rejected units per day, site and part")
def output_csv(actor: ActorDep, svc: ServicesDep, session: SessionDep) -> Response:
    return _csv_response(svc.exports.output_csv(session, actor), "printfarm-output.csv")


@router.get("/exports/deliveries.csv", summary="Deliveries, one row per plate their units came from")
def deliveries_csv(actor: ActorDep, svc: ServicesDep, session: SessionDep) -> Response:
    return _csv_response(svc.exports.deliveries_csv(session, actor), "printfarm-deliveries.csv")


@router.get("/exports/requests.csv", summary="Hospital requests with their fulfilment")
def requests_csv(actor: ActorDep, svc: ServicesDep, session: SessionDep) -> Response:
    return _csv_response(svc.exports.requests_csv(session, actor), "printfarm-requests.csv")
