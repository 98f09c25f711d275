"""A plan's true worth on a simulated shop, next to the plans it must beat.

Each plan is valued by :func:`liucun.sim.truth.score_plan` (true incremental net revenue
after discounts, true expected cost). The baselines spend the same true cost as the plan
under test, so the comparison is at equal money:

- risk targeting: the highest p_churn first, all given the most common campaign action
  (what "send a coupon to everyone likely to churn" does);
- random targeting: customers in random order, each a random action;
- the oracle: the true effects and true costs, chosen by the planner's own budgeted
  choice (:func:`liucun.decide.allocate.choose`), so it is the best this choice rule can do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from liucun.decide.allocate import choose
from liucun.sim.truth import score_plan


def _until(users: np.ndarray, cost: np.ndarray, budget: float) -> int:
    """How many of ``users`` in order fit in ``budget``."""
    return int(np.searchsorted(np.cumsum(cost), budget + 1e-9, side="right"))


def risk_targeting(
    scores: pd.DataFrame, effects: pd.DataFrame, action: str, budget: float
) -> pd.DataFrame:
    """Highest p_churn first, all given ``action``, until the true cost reaches budget."""
    cost = effects.loc[effects["action"] == action].set_index("user_id")["expected_cost"]
    s = scores[scores["user_id"].isin(cost.index)]
    s = s.sort_values(["p_churn", "user_id"], ascending=[False, True])
    users = s["user_id"].to_numpy()
    n = _until(users, cost.reindex(users).to_numpy(), budget)
    return pd.DataFrame({"user_id": users[:n], "action": action})


def random_targeting(effects: pd.DataFrame, budget: float, seed: int = 0) -> pd.DataFrame:
    """Customers in random order, each a random action, until the true cost reaches budget."""
    rng = np.random.default_rng(seed)
    users = np.sort(effects["user_id"].unique())
    actions = np.sort(effects["action"].unique())
    users = users[rng.permutation(len(users))]
    pick = actions[rng.integers(0, len(actions), len(users))]
    cost = effects.set_index(["user_id", "action"])["expected_cost"]
    c = cost.reindex(pd.MultiIndex.from_arrays([users, pick])).to_numpy()
    n = _until(users, c, budget)
    return pd.DataFrame({"user_id": users[:n], "action": pick[:n]})


def oracle(effects: pd.DataFrame, contact_cost: Mapping[str, float], budget: float) -> pd.DataFrame:
    """The planner's choice rule fed with the true effects and true costs."""

    value = effects.pivot(index="user_id", columns="action", values="incremental_revenue")
    cost = effects.pivot(index="user_id", columns="action", values="expected_cost")
    actions = list(value.columns)
    c = np.array([float(contact_cost.get(a, 0.0)) for a in actions])
    choice, _ = choose(value.to_numpy() - c[None, :], cost[actions].to_numpy(), budget)
    keep = choice >= 0
    return pd.DataFrame(
        {"user_id": value.index.to_numpy()[keep], "action": np.asarray(actions)[choice[keep]]}
    )


def most_common_action(treatments: pd.DataFrame) -> str:
    """The campaign action given most often (ties: the first by name)."""
    t = treatments[treatments.get("arm", "treatment") != "control"]
    counts = t["action"].value_counts()
    return str(sorted(counts[counts == counts.max()].index)[0])


def compare(
    plan: pd.DataFrame,
    effects: pd.DataFrame,
    scores: pd.DataFrame,
    contact_cost: Mapping[str, float],
    action: str,
    seed: int = 0,
) -> dict[str, Any]:
    """True value of ``plan`` and of the baselines at the plan's true cost."""

    ours = score_plan(plan, effects)
    budget = ours["expected_cost"]
    out: dict[str, Any] = {"plan": ours}
    out["risk"] = score_plan(risk_targeting(scores, effects, action, budget), effects)
    out["random"] = score_plan(random_targeting(effects, budget, seed), effects)
    out["oracle"] = score_plan(oracle(effects, contact_cost, budget), effects)

    def ratio(other: str) -> float:
        d = out[other]["net_value"]
        return ours["net_value"] / d if d > 0 else float("nan")

    out["vs_risk"] = ratio("risk")
    out["vs_random"] = ratio("random")
    out["share_of_oracle"] = ratio("oracle")
    return out
