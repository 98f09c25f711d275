"""Campaigns after the fact and before it: read-outs, sample sizes, plan exports.

* :func:`readout`: how a past randomised campaign did as of a date, per action and for
  all actions pooled (lift with CI and p-value, CUPED, incremental revenue, cost, ROI).
* :func:`plan_size`: how many customers a test needs, and what it can detect.
* :func:`export_plan`: a plan as a CSV / JSON list for a messaging tool.
* :func:`record_plan`: the exported assignments, control included, as the campaign's
  ``treatments`` rows (through the normal ingest, so a re-export adds nothing).

Queries live in :mod:`liucun.features.readouts`; statistics in
:mod:`liucun.decide.experiments`; this module only orchestrates.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from liucun.decide import experiments
from liucun.engines import workspace_tables
from liucun.errors import LiucunError
from liucun.features.readouts import campaign_frame, campaign_list, campaign_window
from liucun.runs import latest_run
from liucun.workspace import Workspace, parse_as_of

if TYPE_CHECKING:
    from liucun.data.ingest import IngestResult
    from liucun.workspace import Workspace

__all__ = [
    "EXPORT_FORMATS",
    "CampaignReadout",
    "campaign_horizon",
    "export_plan",
    "list_campaigns",
    "plan_size",
    "readout",
    "record_plan",
]

ALL = "all"
DEFAULT_HORIZON = 90
EXPORT_FORMATS = ("csv", "json")
PLAN_REQUIRED = ("user_id", "action", "expected_uplift", "cost")
PLAN_OPTIONAL = ("expected_cost", "p_churn", "segment", "reason")
MESSAGE_COLUMNS = ("language", "subject", "body")


@dataclass
class CampaignReadout:
    """A campaign's read-out as of a date.

    ``table`` has one row per action plus ``"all"`` (every action pooled), indexed by
    ``action``, with :data:`liucun.decide.experiments.READOUT_COLUMNS` plus
    ``contact_cost`` and ``discount`` (the two parts of ``cost``, over treated rows).
    ``cost`` = contact cost + discounts redeemed by treated customers in the window;
    ``roi = (incremental_revenue - cost) / cost``. An action whose arm has fewer than two
    customers gets its arm sizes and NaN statistics (see ``notes``).
    """

    campaign_id: str
    as_of: dt.date
    horizon_days: int
    window_days: int
    complete: bool
    start: dt.date
    contacts: int
    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    @property
    def window_line(self) -> str:
        """One human line on the outcome window."""
        if self.complete:
            return (
                f"window complete: every contact followed for the full {self.horizon_days} "
                f"days before {self.as_of}"
            )
        return (
            f"window incomplete: {self.window_days} of {self.horizon_days} days observed "
            f"before {self.as_of}; the read-out may change as the window fills"
        )


def campaign_horizon(ws: Workspace, horizon: int | None = None) -> int:
    """``horizon``, else ``[plan] horizon_days``, else ``[score] horizon_days``, else 90."""
    if horizon is None:
        cfg = ws.config
        for section in ("plan", "score"):
            value = cfg.get(section, {}).get("horizon_days")
            if value is not None:
                horizon = int(value)
                break
        else:
            horizon = DEFAULT_HORIZON
    if int(horizon) < 1:
        raise LiucunError(f"--horizon {horizon}: must be at least 1 day")
    return int(horizon)


def _tables(ws: Workspace) -> dict[str, Any]:

    tables = workspace_tables(ws)
    if "treatments" not in tables:
        raise LiucunError("no campaigns in the warehouse: ingest a treatments file first")
    return tables


def list_campaigns(ws: Workspace, as_of: str | dt.date | None = None) -> pd.DataFrame:
    """The workspace's campaigns, newest first; see
    :func:`liucun.features.readouts.campaign_list`."""

    day = parse_as_of(as_of, ws) if as_of is not None else None
    return campaign_list(_tables(ws), day)


def _nan_row(frame: pd.DataFrame) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(experiments.READOUT_COLUMNS, math.nan)
    row["n_treatment"] = int((frame["arm"] == "treatment").sum())
    row["n_control"] = int((frame["arm"] == "control").sum())
    treated = frame["arm"] == "treatment"
    row["cost"] = float(frame.loc[treated, "total_cost"].sum())
    return row


def _one(frame: pd.DataFrame, key: str, alpha: float, notes: list[str]) -> dict[str, Any]:
    part = frame.assign(action=key)
    try:
        with warnings.catch_warnings():
            # scipy warns on near-constant arms (few buyers); the NaN / wide CI says it.
            warnings.simplefilter("ignore", RuntimeWarning)
            out = experiments.readout(
                part,
                outcome="revenue",
                pre="pre_revenue",
                arm="arm",
                by="action",
                alpha=alpha,
                cost="total_cost",
            )
    except ValueError as e:
        notes.append(f"{key}: no read-out ({e})")
        row = _nan_row(part)
    else:
        row = out.iloc[0].to_dict()
    treated = part["arm"] == "treatment"
    row["contact_cost"] = float(part.loc[treated, "cost"].sum())
    row["discount"] = float(part.loc[treated, "discount"].sum())
    return row


def readout(
    ws: Workspace,
    campaign_id: str,
    as_of: str | dt.date | None,
    horizon: int | None = None,
    alpha: float = 0.05,
) -> CampaignReadout:
    """Read out campaign ``campaign_id`` as of ``as_of`` (a date: 00:00 UTC that day).

    Each contact's outcome is the paid revenue in ``[contact day, + W)``, with ``W`` the
    horizon ``H`` (``horizon``, or ``[plan]`` / ``[score] horizon_days``, or 90) cut at
    ``as_of``; the ``H`` days before the contact give the CUPED covariate. Only rows
    before ``as_of`` are read, so a read-out as of a date never changes when later data
    arrives. Per action and for all actions pooled: treatment against control
    (:func:`liucun.decide.experiments.readout`) with ``cost`` = the treated rows'
    ``treatments.cost`` plus the discounts they redeemed in the window.
    """

    if not 0.0 < alpha < 1.0:
        raise LiucunError(f"--alpha {alpha}: must be between 0 and 1")
    day = parse_as_of(as_of, ws)
    H = campaign_horizon(ws, horizon)
    tables = _tables(ws)
    win = campaign_window(tables, campaign_id, day, H)
    frame = campaign_frame(tables, campaign_id, day, H, window=win)
    frame["total_cost"] = frame["cost"] + frame["discount"]
    notes: list[str] = []
    odd = ~frame["arm"].isin(["treatment", "control"])
    if odd.any():
        notes.append(f"{int(odd.sum()):,} contacts with an unknown arm left out")
        frame = frame[~odd]
    if not (frame["arm"] == "control").any():
        raise LiucunError(
            f"campaign '{campaign_id}' has no control group: a read-out needs customers "
            "held out at random (treatments with arm = control)"
        )
    rows = {
        str(action): _one(part, str(action), alpha, notes)
        for action, part in frame.groupby("action", sort=True)
    }
    rows[ALL] = _one(frame, ALL, alpha, notes)
    cols = [*experiments.READOUT_COLUMNS, "contact_cost", "discount"]
    table = pd.DataFrame.from_dict(rows, orient="index")[cols].astype("float64")
    table[["n_treatment", "n_control"]] = table[["n_treatment", "n_control"]].astype("int64")
    table.index.name = "action"
    out = CampaignReadout(
        campaign_id=campaign_id,
        as_of=day,
        horizon_days=H,
        window_days=int(win["window_days"]),
        complete=bool(win["complete"]),
        start=win["start"],  # type: ignore[arg-type]
        contacts=len(frame),
        table=table,
        notes=notes,
    )
    if not out.complete:
        notes.insert(0, out.window_line)
    return out


def plan_size(
    baseline_rate: float,
    mde: float,
    alpha: float = 0.05,
    power: float = 0.8,
    control_share: float = 0.5,
    n: int | None = None,
) -> dict[str, Any]:
    """Customers a test needs to detect a conversion change of ``mde`` (absolute, 0.02 =
    2 points) from ``baseline_rate``, with ``control_share`` of them held out.

    Returns ``n_treatment, n_control, n_total`` (from
    :func:`liucun.decide.experiments.sample_size` with ratio = treated / control), the
    inputs, and ``mde_at_n``: the smallest upward change detectable with ``n`` customers
    split the same way (``n`` defaults to ``n_total``); the maths is
    :func:`liucun.decide.experiments.arm_sizes` / ``split_total``, shared with
    :func:`liucun.decide.first_test.first_test`. Bad input: :class:`LiucunError`.
    """
    if not 0.0 < control_share < 1.0:
        raise LiucunError(f"--control-share {control_share}: must be between 0 and 1")
    try:
        n_t, n_c = experiments.arm_sizes(baseline_rate, mde, alpha, power, control_share)
        total = n if n is not None else n_t + n_c
        n_tt, n_ct = experiments.split_total(total, control_share)
        mde_at_n = experiments.minimum_detectable_effect(
            n_tt, n_ct, baseline_rate=baseline_rate, alpha=alpha, power=power
        )
    except ValueError as e:
        raise LiucunError(str(e)) from None
    return {
        "baseline_rate": baseline_rate,
        "mde": mde,
        "alpha": alpha,
        "power": power,
        "control_share": control_share,
        "n_treatment": n_t,
        "n_control": n_c,
        "n_total": n_t + n_c,
        "n": total,
        "mde_at_n": mde_at_n,
    }


# ---------------------------------------------------------------------------- export


def _read_plan(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise LiucunError(f"{path}: no such plan file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            df = pd.read_csv(path, dtype={"user_id": str}, keep_default_na=False, na_values=[""])
        elif suffix in (".parquet", ".pq"):
            df = pd.read_parquet(path)
        else:
            raise LiucunError(f"{path}: unknown plan format '{suffix}' (use .csv or .parquet)")
    except LiucunError:
        raise
    except Exception as e:
        raise LiucunError(f"{path}: cannot read the plan ({type(e).__name__}: {e})") from None
    missing = [c for c in PLAN_REQUIRED if c not in df.columns]
    if missing:
        raise LiucunError(f"{path}: the plan lacks column(s) {', '.join(missing)}")
    return df


def _plan_date(path: Path) -> dt.date:
    """The date of the run the plan file belongs to (its ``as_of``), else today (UTC)."""
    info = path.parent / "run.json"
    if info.is_file():
        try:
            return dt.date.fromisoformat(json.loads(info.read_text(encoding="utf-8"))["as_of"])
        except (ValueError, KeyError, TypeError):
            pass
    m = re.match(r"^(\d{4})(\d{2})(\d{2})T", path.parent.name)
    if m:
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            pass
    return dt.datetime.now(dt.UTC).date()


def _messages(plan_path: Path) -> pd.DataFrame | None:
    path = plan_path.parent / "messages.parquet"
    if not path.is_file():
        return None
    m = pd.read_parquet(path)
    if not {"user_id", "action"} <= set(m.columns):
        raise LiucunError(f"{path}: messages need user_id and action columns")
    keep = ["user_id", "action", *[c for c in MESSAGE_COLUMNS if c in m.columns]]
    m = m[keep].astype({"user_id": str, "action": str})
    return m.drop_duplicates(["user_id", "action"], keep="first")


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for rec in df.to_dict("records"):
        clean: dict[str, Any] = {}
        for k, v in rec.items():
            if isinstance(v, np.generic):
                v = v.item()
            if v is None or (isinstance(v, float) and not math.isfinite(v)) or v is pd.NA:
                v = None
            clean[str(k)] = v
        out.append(clean)
    return out


def _plan_path(plan: str | Path, ws: Workspace | None) -> Path:
    """A plan file, or ``plan.parquet`` of the latest run for ``"latest"``."""
    if isinstance(plan, str) and plan == "latest":
        if ws is None:
            ws = Workspace()
        path = latest_run(ws) / "plan.parquet"
        if not path.is_file():
            raise LiucunError(f"{path}: the latest run has no plan (run `liucun plan` first)")
        return path
    return Path(plan)


def _contacts(path: Path, campaign_id: str | None) -> pd.DataFrame:
    """Every plan row (control included) with ``arm`` and ``campaign_id``: what export
    writes and what the campaign records, from one reading of the plan."""
    df = _read_plan(path)
    df["user_id"] = df["user_id"].astype(str)
    df["action"] = df["action"].astype(str)
    df = df.assign(arm=np.where(df["action"] == "control", "control", "treatment"))
    if campaign_id is not None or "campaign_id" not in df.columns:
        df["campaign_id"] = campaign_id or f"plan-{_plan_date(path).isoformat()}"
    df["campaign_id"] = df["campaign_id"].astype(str)
    return df


def export_plan(
    plan: str | Path,
    fmt: str,
    out: str | Path,
    campaign_id: str | None = None,
    include_control: bool = False,
    ws: Workspace | None = None,
) -> tuple[Path, int]:
    """Write a plan as a contact list for a messaging tool; returns (path, rows written).

    ``plan`` is a plan file (.csv or .parquet with ``user_id, action, expected_uplift,
    cost`` and optionally ``expected_cost, p_churn, segment, reason``) or ``"latest"``:
    ``plan.parquet`` of the workspace's latest run. When ``messages.parquet`` sits next to
    the plan, each row gets its ``language, subject, body`` (joined on user and action).
    ``fmt`` is ``csv`` or ``json`` (a UTF-8 list of records, non-ASCII text kept as is).
    Every row carries ``campaign_id`` (default ``plan-<date of the plan's run, or
    today>``) and ``arm``.

    Control rows (``action = control``) are the randomised hold-out that measures the
    campaign: they must never be contacted. They are left out unless ``include_control``
    (for a tool that records the hold-out; such rows say ``arm = control``).

    Writing the file records nothing; :func:`record_plan` stores the assignments as the
    campaign's treatments (``liucun campaign export`` does both unless ``--no-record``).
    """
    fmt = str(fmt).lower().lstrip(".")
    if fmt not in EXPORT_FORMATS:
        raise LiucunError(f"--format {fmt}: expected csv or json")
    path = _plan_path(plan, ws)
    df = _contacts(path, campaign_id)
    if not include_control:
        df = df[df["arm"] != "control"]
    msgs = _messages(path)
    if msgs is not None:
        df = df.drop(columns=[c for c in MESSAGE_COLUMNS if c in df.columns])
        df = df.merge(msgs, on=["user_id", "action"], how="left")
    first = ["campaign_id", "user_id", "action", "arm", *PLAN_REQUIRED[2:], *PLAN_OPTIONAL]
    first += list(MESSAGE_COLUMNS)
    cols = [c for c in first if c in df.columns]
    cols += [c for c in df.columns if c not in cols]
    df = df[cols].reset_index(drop=True)

    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        df.to_csv(target, index=False, encoding="utf-8")
    else:
        target.write_text(json.dumps(_records(df), ensure_ascii=False, indent=1), encoding="utf-8")
    return target, len(df)


@dataclass
class Recorded:
    """What :func:`record_plan` stored: the ingest's count (``loaded`` new treatments,
    ``duplicates`` already recorded by an earlier export) and how it read the plan."""

    campaign_ids: list[str]
    day: dt.date
    rows: int
    control: int
    result: IngestResult
    notes: list[str] = field(default_factory=list)


def _treated_action(df: pd.DataFrame) -> pd.Series:
    """The action a row is recorded under: a control row's planned action (its arm's
    hold-out, so the read-out compares each action against its own control), else
    ``control`` (no ``planned`` column, or a shared control planned as ``all``)."""
    action = df["action"].copy()
    ctrl = df["arm"] == "control"
    if "planned" in df.columns:
        planned = df["planned"].astype("string").str.strip()
        usable = planned.notna() & ~planned.isin(["", "all", "control"])
        action[ctrl & usable] = planned[ctrl & usable].astype(str)
    return action


def _contact_cost(df: pd.DataFrame, ws: Workspace, notes: list[str]) -> np.ndarray:
    """``treatments.cost`` is what the contact cost, not the discounts: the read-out adds
    those from the orders, so recording the plan's expected cost (contact + expected
    discount) would count every redeemed discount twice. From the plan's
    ``contact_cost`` column, else ``[plan.actions]``, else the plan's ``cost``."""
    treated = (df["arm"] == "treatment").to_numpy()
    plan_cost = pd.to_numeric(df["cost"], errors="coerce").fillna(0.0).to_numpy(dtype=float)
    if "contact_cost" in df.columns:
        cost = pd.to_numeric(df["contact_cost"], errors="coerce").to_numpy(dtype=float)
    else:
        cost = np.full(len(df), np.nan)
    actions = dict(ws.config.get("plan", {}).get("actions", {}))
    from_cfg = df["action"].map(
        {k: float(v.get("contact_cost", 0.0)) for k, v in actions.items() if isinstance(v, dict)}
    )
    cost = np.where(np.isnan(cost), from_cfg.to_numpy(dtype=float), cost)
    unknown = treated & np.isnan(cost)
    if unknown.any():
        names = sorted(df.loc[unknown, "action"].unique())
        notes.append(
            f"no contact cost for {', '.join(names)} (not in [plan.actions], no contact_cost "
            "column): recorded the plan's cost, which may include expected discounts"
        )
    cost = np.where(np.isnan(cost), plan_cost, cost)
    return np.where(treated, cost, 0.0)


def record_plan(ws: Workspace, plan: str | Path, campaign_id: str | None = None) -> Recorded:
    """Record a plan's assignments, control rows included, as ``treatments`` rows.

    One row per plan row: ``user_id``, ``ts`` (00:00 UTC of the plan's date: its run's
    ``as_of``, else today), ``campaign_id`` (as :func:`export_plan` writes it),
    ``action`` (a control row's ``planned`` action when the plan has one), ``arm`` and
    ``cost`` (the contact cost; 0 for control). The rows go through the normal ingest
    of a Parquet file written to the workspace's ``tmp/``, so they are validated,
    counted and deduplicated like any file: exporting the same plan again adds nothing.
    A row ingest would refuse (a date over a day ahead) records nothing (strict).
    """
    path = _plan_path(plan, ws)
    df = _contacts(path, campaign_id)
    if df.empty:
        raise LiucunError(f"{path}: the plan has no rows to record")
    day = _plan_date(path)
    notes: list[str] = []
    rows = pd.DataFrame(
        {
            "user_id": df["user_id"].to_numpy(),
            "ts": pd.Timestamp(day, tz="UTC"),
            "campaign_id": df["campaign_id"].to_numpy(),
            "action": _treated_action(df).to_numpy(),
            "arm": df["arm"].to_numpy(),
            "cost": _contact_cost(df, ws, notes),
        }
    )
    tmp = ws.path / "tmp"
    tmp.mkdir(exist_ok=True)
    tag = re.sub(r"[^A-Za-z0-9._-]+", "_", "-".join(sorted(set(rows["campaign_id"]))))[:80]
    src = tmp / f"export-{tag}-{os.getpid()}.parquet"
    rows.to_parquet(src, index=False)
    try:
        results = ws.ingest("treatments", src, tz="UTC", strict=True)
    finally:
        src.unlink(missing_ok=True)
    (res,) = [r for r in results if r.table == "treatments"]
    return Recorded(
        campaign_ids=sorted(set(rows["campaign_id"])),
        day=day,
        rows=len(rows),
        control=int((rows["arm"] == "control").sum()),
        result=res,
        notes=notes,
    )
