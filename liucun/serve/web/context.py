"""What every dashboard page starts with, as one dependency: the language, the key
check, the served run. A page that cannot be shown answers early (the login redirect,
the 403 page, or the 503 page before the first run) and its route never runs.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute

from liucun.errors import LiucunError
from liucun.serve import i18n
from liucun.serve.snapshot import Snapshot
from liucun.serve.web.auth import guard
from liucun.serve.web.respond import lang_of, render
from liucun.serve.web.views import dashboard_data


class EarlyAnswer(Exception):
    """A dependency's answer in place of the page (caught by :class:`PageRoute`)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class PageRoute(APIRoute):
    """A route whose dependencies may answer early with :class:`EarlyAnswer`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except EarlyAnswer as e:
                return e.response

        return route


@dataclass
class Page:
    """A signed-in request on the served run, in its language."""

    request: Request
    lang: str
    snap: Snapshot

    @cached_property
    def t(self) -> i18n.Strings:
        return i18n.strings(self.lang)

    def v(self, x: Any) -> str:
        """A data value in the page's language."""
        return i18n.value(self.lang, x)

    @cached_property
    def dash(self) -> dict[str, Any]:
        """The run's aggregates (dashboard.json), read once per run."""
        return dashboard_data(self.snap)

    def render(
        self, template: str, active: str | None = None, status: int = 200, **ctx: Any
    ) -> Response:
        """The page; ``active`` (the nav entry) adds the run and its aggregates."""
        if active is not None:
            ctx.update(snap=self.snap, dash=self.dash, active=active, run_id=self.snap.run_id)
        return render(self.request, template, self.lang, status=status, **ctx)


def signed_in(request: Request) -> str:
    """The page's language, once the key is good (else the login redirect or 403 page)."""
    lang = lang_of(request)
    denied = guard(request, lang)
    if denied is not None:
        raise EarlyAnswer(denied)
    return lang


def open_run(request: Request) -> Page:
    """The signed-in request on the served run (a 503 page before the first run)."""
    lang = signed_in(request)
    try:
        snap = request.app.state.snapshots.current()
    except LiucunError:
        t = i18n.strings(lang)
        raise EarlyAnswer(
            render(request, "message.html", lang, status=503, title=t.app, message=t.no_run)
        ) from None
    return Page(request, lang, snap)


def open_page(request: Request) -> Page:
    """:func:`open_run` with the run's aggregates read (every page shows some)."""
    page = open_run(request)
    page.dash  # noqa: B018 (read now, as each page did first)
    return page


SignedIn = Annotated[str, Depends(signed_in)]
OpenRun = Annotated[Page, Depends(open_run)]
OpenPage = Annotated[Page, Depends(open_page)]
