"""/docs (Swagger UI) and /redoc from files this install ships, so the API docs work with no internet.

The fastapi-offline package carries Swagger UI's and ReDoc's built assets; only its files are used.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_PREFIX = "/static/docs"
router = APIRouter(include_in_schema=False)


def docs_assets() -> StaticFiles:
    """swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js and a favicon, mounted at ASSETS_PREFIX."""
    return StaticFiles(directory=Path(str(files("fastapi_offline") / "static")))


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url, title=f"{request.app.title} — API",
        swagger_js_url=f"{ASSETS_PREFIX}/swagger-ui-bundle.js", swagger_css_url=f"{ASSETS_PREFIX}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_PREFIX}/favicon.png",
    )


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    # No Google Fonts: ReDoc falls back to the system's fonts.
    return get_redoc_html(
        openapi_url=request.app.openapi_url, title=f"{request.app.title} — API reference",
        redoc_js_url=f"{ASSETS_PREFIX}/redoc.standalone.js", redoc_favicon_url=f"{ASSETS_PREFIX}/favicon.png",
        with_google_fonts=False,
    )
