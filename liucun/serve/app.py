"""The FastAPI application: REST API under ``/api``, the dashboard at ``/``.

Both read the latest completed run through :class:`~liucun.serve.snapshot.Snapshots`;
routes are thin (one domain call each). Every request body has a limit
(:mod:`liucun.serve.limits`, ``[serve]`` in ``liucun.toml``), and the API docs at
``/docs`` and ``/redoc`` load only vendored files (:mod:`liucun.serve.docs`).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from liucun import config
from liucun.serve import api, docs, web
from liucun.serve.keys import KeyStore
from liucun.serve.limits import BodyLimit, BodyLimits
from liucun.serve.plans import PlanCache
from liucun.serve.snapshot import Snapshots


def create_app(workspace: Path) -> FastAPI:

    app = FastAPI(
        title="liucun",
        description="Retention engine: customers, scores, recommendations, campaign plans.",
        version="0.1.0",
        docs_url=None,  # served by liucun.serve.docs, with local scripts
        redoc_url=None,
    )
    cfg = config.load(Path(workspace) / "liucun.toml")
    serve = config.section("serve", cfg)
    app.state.workspace = Path(workspace)
    app.state.serve_config = serve
    app.state.body_limits = BodyLimits.from_config(cfg)
    app.state.plans = PlanCache(int(serve["plan_cache_size"]))
    app.state.snapshots = Snapshots(Path(workspace))
    app.state.keys = KeyStore(Path(workspace))
    app.add_middleware(BodyLimit, limits=app.state.body_limits)
    app.include_router(api.router)
    app.include_router(docs.router)
    app.include_router(web.router)
    return app
