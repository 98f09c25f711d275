"""The FastAPI application: REST API under ``/api``, the dashboard at ``/``.

Both read the latest completed run through :class:`~liucun.serve.snapshot.Snapshots`;
routes are thin (one domain call each).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from liucun.serve import api, web
from liucun.serve.keys import KeyStore
from liucun.serve.snapshot import Snapshots


def create_app(workspace: Path) -> FastAPI:

    app = FastAPI(
        title="liucun",
        description="Retention engine: customers, scores, recommendations, campaign plans.",
        version="0.1.0",
    )
    app.state.workspace = Path(workspace)
    app.state.snapshots = Snapshots(Path(workspace))
    app.state.keys = KeyStore(Path(workspace))
    app.include_router(api.router)
    app.include_router(web.router)
    return app
