"""The API's documentation pages, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), offline.

FastAPI's own pages load their scripts, styles, favicon and fonts from other origins and
are blank without a network. These load the copies vendored in ``static/`` (licenses
beside them, as for Chart.js), served by the dashboard's ``/static/{name}`` route, and
their Content-Security-Policy keeps the browser on this origin (ReDoc's sidebar logo,
which it hides when it cannot load, is never fetched).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

# The pages' own inline script and the styles the viewers inject; ReDoc runs a worker
# from a blob.
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def _secured(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = CSP
    page.headers["X-Content-Type-Options"] = "nosniff"
    return page


def _local(request: Request, path: str) -> str:
    """``path`` on this server (under the proxy's prefix, if any)."""
    return request.scope.get("root_path", "") + path


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI over ``/openapi.json``: try the routes with an API key."""
    return _secured(
        get_swagger_ui_html(
            openapi_url=_local(request, str(request.app.openapi_url)),
            title=f"{request.app.title} API",
            swagger_js_url=_local(request, "/static/swagger-ui-bundle.js"),
            swagger_css_url=_local(request, "/static/swagger-ui.css"),
            swagger_favicon_url=_local(request, "/static/swagger-ui-favicon-32x32.png"),
            # No badge from the online validator: nothing is fetched from another origin.
            swagger_ui_parameters={"validatorUrl": None},
        )
    )


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    """ReDoc over ``/openapi.json``: the reference on one page."""
    return _secured(
        get_redoc_html(
            openapi_url=_local(request, str(request.app.openapi_url)),
            title=f"{request.app.title} API",
            redoc_js_url=_local(request, "/static/redoc.standalone.js"),
            redoc_favicon_url=_local(request, "/static/swagger-ui-favicon-32x32.png"),
            with_google_fonts=False,
        )
    )
