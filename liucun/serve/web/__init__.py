"""The dashboard: server-rendered pages over the latest run (Jinja2, Chart.js vendored).

Pages read the run's ``dashboard.json`` (aggregates precomputed by the run) and single
customers from the in-memory snapshot, so none iterates all customers per request; the
at-risk list is the snapshot's sorted list, sliced. Charts are ``<canvas>`` elements whose
data is embedded in the page as JSON and drawn by ``/static/dashboard.js`` with the
vendored Chart.js: nothing is loaded from another origin, so it works offline.

It accepts the same key as the API: ``Authorization: Bearer KEY``, or the ``liucun_key``
cookie (HttpOnly, SameSite=Strict) set by submitting the key on ``/login``. No key or an
unknown one redirects to ``/login``; a revoked one gets a 403 page. The language comes
from ``?lang=zh|en`` (remembered in a cookie), else Accept-Language.

Modules by role: :mod:`.auth` (the key, login), :mod:`.respond` (language, headers,
rendering), :mod:`.filters` (formatting in templates), :mod:`.context` (what every page
starts with), :mod:`.views` (the data of each page), :mod:`.charts` (what each page
draws), :mod:`.pages` (the routes).
"""

from __future__ import annotations

from fastapi import APIRouter

from liucun.serve.web import auth, pages
from liucun.serve.web.respond import KEY_COOKIE, LANG_COOKIE
from liucun.serve.web.views import CSV_COLUMNS

__all__ = ["CSV_COLUMNS", "KEY_COOKIE", "LANG_COOKIE", "router"]

router = APIRouter(include_in_schema=False)
router.include_router(auth.router)
router.include_router(pages.router)
