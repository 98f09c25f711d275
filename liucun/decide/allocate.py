"""The budgeted choice: which action for which customer, so that Σ value is largest.

Pure arithmetic on (customers × actions) arrays of value and cost; the planner, the
oracle of the benchmarks and the backtests all choose with the same rule.
"""

from __future__ import annotations

import numpy as np


def choose(
    value: np.ndarray,
    cost: np.ndarray,
    budget: float,
    iterations: int = 60,
) -> tuple[np.ndarray, float]:
    """Action index per customer (−1 = none) maximising Σ value s.t. Σ cost ≤ budget.

    ``value`` (n × k) is uplift minus contact cost, −inf where not allowed; ``cost``
    (n × k) positive. Returns the choice and λ, the value of one more unit of budget.
    """
    value = np.asarray(value, dtype=float)
    cost = np.maximum(np.asarray(cost, dtype=float), 1e-9)
    n = len(value)
    rows = np.arange(n)

    def pick(lam: float) -> tuple[np.ndarray, float]:
        s = value - lam * cost
        best = np.argmax(s, axis=1)
        take = s[rows, best] > 0
        choice = np.where(take, best, -1)
        return choice, float(cost[rows, best][take].sum())

    choice, spend = pick(0.0)
    if spend <= budget or n == 0:
        return choice, 0.0
    ratio = np.where(np.isfinite(value), value / cost, 0.0)
    lo, hi = 0.0, float(max(ratio.max(), 0.0)) + 1.0
    for _ in range(iterations):
        mid = (lo + hi) / 2
        if pick(mid)[1] > budget:
            lo = mid
        else:
            hi = mid
    choice, spend = pick(hi)
    # Fill what is left, best value per cost first, over every (customer, action) pair of
    # customers still without one; a pair that no longer fits is skipped, not the end.
    left = budget - spend
    free = np.flatnonzero(choice < 0)
    if len(free) and left > 0:
        r = np.where(np.isfinite(value[free]), value[free] / cost[free], -np.inf)
        i, j = np.nonzero((r > 0) & (cost[free] <= left))
        cand, act = free[i], j
        order = np.lexsort((act, cand, -r[i, j]))
        cmin = float(cost[cand, act].min()) if len(cand) else np.inf
        for k in order:
            if left < cmin:
                break
            c_ = cost[cand[k], act[k]]
            if choice[cand[k]] < 0 and c_ <= left:
                choice[cand[k]] = act[k]
                left -= c_
    # One affordable customer worth more than the whole selection (tiny shops, big
    # coupons): taking the better of the two bounds the loss to half the optimum.
    ok = np.isfinite(value) & (cost <= budget) & (value > 0)
    if ok.any():
        v1 = np.where(ok, value, -np.inf)
        i1, j1 = np.unravel_index(np.argmax(v1), v1.shape)
        total = float(value[rows, choice][choice >= 0].sum())
        if v1[i1, j1] > total:
            choice[:] = -1
            choice[i1] = j1
    return choice, hi


__all__ = ["choose"]
