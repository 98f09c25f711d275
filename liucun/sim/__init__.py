"""The simulated shop with known ground truth (see ``liucun.sim.shop`` for the layout).

>>> import tempfile
>>> from liucun.sim import simulate
>>> r = simulate(tempfile.mkdtemp(), users=300, days=60, holdout_days=14, seed=1)
>>> sorted(r.counts)
['events', 'items', 'order_items', 'orders', 'reviews', 'treatments', 'users']
"""

from liucun.sim.actions import ACTIONS
from liucun.sim.shop import DEFAULT_START, SimResult, simulate
from liucun.sim.truth import score_plan

__all__ = ["ACTIONS", "DEFAULT_START", "SimResult", "score_plan", "simulate"]
