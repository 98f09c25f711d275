"""Buy-till-you-die customer-base models: BG/NBD, Pareto/NBD and Gamma-Gamma spend.

Each model is fitted by maximum likelihood with numpy/scipy on per-customer summaries
(``frequency`` = repeat purchases, ``recency`` = time of the last repeat purchase since the
first, ``T`` = time since the first purchase), all in one time unit of the caller's choice.

Why written here instead of using ``lifetimes``: that package is archived, and its
likelihoods overflow for heavy buyers and long (daily) horizons. Here every likelihood term
is a log, hypergeometric functions are evaluated through Euler transforms whose series have
positive, bounded terms, and the optimiser works on log-parameters with time rescaled to
the data's mean ``T`` so that weekly and daily fits are the same problem.

References: Fader, Hardie & Lee (2005) "Counting your customers the easy way" (BG/NBD);
Schmittlein, Morrison & Colombo (1987) and Fader & Hardie (2005) "A note on deriving the
Pareto/NBD model and related expressions"; Fader, Hardie & Lee (2005) "RFM and CLV" and
Fader & Hardie (2013) "The Gamma-Gamma model of monetary value".

One module per model (``bgnbd``, ``paretonbd``, ``gamma``) over their shared parts
(``_base``); ``bundle`` holds the BG/NBD + Gamma-Gamma bundle that scoring fits per cutoff.
"""

from __future__ import annotations

from liucun.models.btyd.bgnbd import BetaGeoModel
from liucun.models.btyd.bundle import Btyd, add_btyd_features, btyd_features, fit_weekly
from liucun.models.btyd.gamma import GammaGammaModel, TransactionModel
from liucun.models.btyd.paretonbd import ParetoNBDModel

__all__ = [
    "BetaGeoModel",
    "Btyd",
    "GammaGammaModel",
    "ParetoNBDModel",
    "TransactionModel",
    "add_btyd_features",
    "btyd_features",
    "fit_weekly",
]
