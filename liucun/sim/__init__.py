"""The simulated shop with known ground truth (see ``liucun.sim.shop`` for the layout).

``simulate(..., scenario=NAME)`` picks one of the worlds in ``liucun.sim.scenarios``.

>>> import tempfile
>>> from liucun.sim import simulate
>>> r = simulate(tempfile.mkdtemp(), users=300, days=60, holdout_days=14, seed=1)
>>> sorted(r.counts)
['events', 'items', 'order_items', 'orders', 'reviews', 'treatments', 'users']
"""

from liucun.sim.actions import ACTIONS
from liucun.sim.scenarios import SCENARIOS, Scenario, get_scenario
from liucun.sim.shop import DEFAULT_START, SimResult, simulate
from liucun.sim.truth import score_plan

__all__ = [
    "ACTIONS",
    "DEFAULT_START",
    "SCENARIOS",
    "Scenario",
    "SimResult",
    "get_scenario",
    "score_plan",
    "simulate",
]
