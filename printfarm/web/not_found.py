"""The page a browser gets for an address that names nothing (the API keeps its JSON 404)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from printfarm import __version__
from printfarm.web.templating import templates


def not_found_page(request: Request, detail: str) -> Response:
    context = {"title": "Not found", "error": detail, "version": __version__}
    return templates.TemplateResponse(request, "error.html", context, status_code=404)
