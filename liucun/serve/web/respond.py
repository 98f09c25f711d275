"""How a dashboard page answers: the language, the security headers, a rendered page.

The language comes from ``?lang=zh|en`` (remembered in a cookie), else Accept-Language.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from liucun.serve import i18n
from liucun.serve.web.filters import env

KEY_COOKIE = "liucun_key"
LANG_COOKIE = "liucun_lang"
YEAR = 365 * 24 * 3600

SECURITY_HEADERS = {
    # Everything comes from this origin: the page itself says it works offline.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
        "form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def lang_of(request: Request) -> str:
    """The page's language: the query, else the cookie, else Accept-Language."""
    return i18n.pick(
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
    )


def url_with(request: Request, **params: Any) -> str:
    """This page's path with query parameters replaced (None drops one)."""
    q = dict(request.query_params)
    for k, v in params.items():
        if v is None or v == "":
            q.pop(k, None)
        else:
            q[k] = str(v)
    return request.url.path + ("?" + urlencode(q) if q else "")


def finish(request: Request, resp: Response, lang: str) -> Response:
    """The security headers, and the language cookie when ``?lang=`` chose one."""
    for k, v in SECURITY_HEADERS.items():
        resp.headers.setdefault(k, v)
    if request.query_params.get("lang") in i18n.LANGUAGES:
        resp.set_cookie(LANG_COOKIE, lang, max_age=YEAR, samesite="strict", path="/")
    return resp


def render(request: Request, template: str, lang: str, status: int = 200, **ctx: Any) -> Response:
    """The template rendered in ``lang`` with what every page uses, finished."""
    other = "zh" if lang == "en" else "en"
    t = i18n.strings(lang)
    html = env.get_template(template).render(
        t=t,
        lang=lang,
        v=lambda x: i18n.value(lang, x),
        path=request.url.path,
        switch_url=url_with(request, lang=other),
        url=lambda **p: url_with(request, **p),
        signed_in=request.cookies.get(KEY_COOKIE) is not None,
        **ctx,
    )
    return finish(request, HTMLResponse(html, status_code=status), lang)
