"""Who may see the dashboard: the same key as the API, from a header or a cookie.

``Authorization: Bearer KEY``, or the ``liucun_key`` cookie (HttpOnly, SameSite=Strict)
set by submitting the key on ``/login``. No key or an unknown one redirects to
``/login``; a revoked one gets a 403 page.
"""

from __future__ import annotations

from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from liucun.serve import i18n
from liucun.serve.web.respond import KEY_COOKIE, finish, lang_of, render

router = APIRouter(include_in_schema=False)


def request_key(request: Request) -> str | None:
    """The bearer token, else the key cookie."""
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.cookies.get(KEY_COOKIE)


def safe_next(target: str | None) -> str:
    """Only a path on this site: never ``//host`` or a full URL (an open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def guard(request: Request, lang: str) -> Response | None:
    """None when the key is good; else the login redirect or the 403 page."""
    status = request.app.state.keys.check(request_key(request))
    if status == "ok":
        return None
    if status == "revoked":
        resp = render(
            request,
            "message.html",
            lang,
            status=403,
            title=i18n.strings(lang)["forbidden_title"],
            message=i18n.strings(lang)["forbidden_help"],
            login_link=True,
        )
        resp.delete_cookie(KEY_COOKIE, path="/")
        return resp
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    resp = RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    return finish(request, resp, lang)


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    lang = lang_of(request)
    return render(request, "login.html", lang, next=safe_next(next), error=None)


@router.post("/login")
async def login_submit(request: Request) -> Response:
    lang = lang_of(request)
    body = (await request.body())[:8192].decode("utf-8", "replace")
    form = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
    key = form.get("key", "").strip()
    target = safe_next(form.get("next"))
    status = request.app.state.keys.check(key)
    t = i18n.strings(lang)
    if status != "ok":
        error = t.key_revoked if status == "revoked" else t.key_unknown
        code = 403 if status == "revoked" else 401
        return render(request, "login.html", lang, status=code, next=target, error=error)
    resp = RedirectResponse(target, status_code=303)
    resp.set_cookie(
        KEY_COOKIE,
        key,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return finish(request, resp, lang)


@router.post("/logout")
def logout(request: Request) -> Response:
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(KEY_COOKIE, path="/")
    return finish(request, resp, lang_of(request))
