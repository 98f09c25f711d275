"""BTYD models against the published CDNOW fits, plus invariants and round trips.

The CDNOW summaries ship inside the ``lifetimes`` package; its files are read directly
(no lifetimes code is imported), and the tests skip only when it is not installed.
"""

from __future__ import annotations

import importlib.metadata
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.integrate import quad
from sklearn.exceptions import NotFittedError

from liucun.models.btyd import BetaGeoModel, GammaGammaModel, ParetoNBDModel


def _cdnow_file(name: str) -> Path:
    try:
        dist = importlib.metadata.distribution("lifetimes")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("lifetimes (which ships the CDNOW data files) is not installed")
    path = Path(str(dist.locate_file(f"lifetimes/datasets/{name}")))
    if not path.exists():
        pytest.skip(f"{name} not found in the installed lifetimes package")
    return path


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    df = pd.read_csv(_cdnow_file("cdnow_customers_summary.csv"))
    assert len(df) == 2357
    return df


@pytest.fixture(scope="module")
def cdnow_spend() -> pd.DataFrame:
    df = pd.read_csv(_cdnow_file("cdnow_customers_summary_with_transactions.csv"))
    return df.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})


@pytest.fixture(scope="module")
def bgnbd(cdnow: pd.DataFrame) -> BetaGeoModel:
    return BetaGeoModel().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])


@pytest.fixture(scope="module")
def pareto(cdnow: pd.DataFrame) -> ParetoNBDModel:
    return ParetoNBDModel().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])


@pytest.fixture(scope="module")
def gamma_gamma(cdnow_spend: pd.DataFrame) -> GammaGammaModel:
    buyers = cdnow_spend[cdnow_spend["frequency"] > 0]
    return GammaGammaModel().fit(buyers["frequency"], buyers["monetary_value"])


def _rfm(df: pd.DataFrame, unit: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        df["frequency"].to_numpy(float),
        df["recency"].to_numpy(float) * unit,
        df["T"].to_numpy(float) * unit,
    )


# ----------------------------------------------------------------------- published values


def test_bgnbd_matches_published_cdnow_fit(bgnbd: BetaGeoModel) -> None:
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert bgnbd.params_[name] == pytest.approx(value, rel=0.01), name
    assert bgnbd.log_likelihood_ == pytest.approx(-9582.4, abs=0.5)


def test_bgnbd_conditional_expectation_matches_paper(bgnbd: BetaGeoModel) -> None:
    # Fader, Hardie & Lee (2005): customer with x=2, t_x=30.43, T=38.86 buys 1.226 in 39 weeks.
    assert bgnbd.expected_purchases(39, 2, 30.43, 38.86)[0] == pytest.approx(1.226, abs=0.005)


def test_pareto_matches_published_cdnow_fit(pareto: ParetoNBDModel) -> None:
    published = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
    for name, value in published.items():
        assert pareto.params_[name] == pytest.approx(value, rel=0.01), name
    assert pareto.log_likelihood_ == pytest.approx(-9595.0, abs=0.5)


def test_gamma_gamma_matches_published_cdnow_fit(gamma_gamma: GammaGammaModel) -> None:
    published = {"p": 6.25, "q": 3.74, "v": 15.44}
    for name, value in published.items():
        assert gamma_gamma.params_[name] == pytest.approx(value, rel=0.01), name


# ----------------------------------------------------------------------- invariants


def test_p_alive_bounds(bgnbd: BetaGeoModel, pareto: ParetoNBDModel, cdnow: pd.DataFrame) -> None:
    x, tx, t_obs = _rfm(cdnow)
    for model in (bgnbd, pareto):
        p = model.p_alive(x, tx, t_obs)
        assert p.shape == x.shape
        assert np.all((p >= 0) & (p <= 1))
    p_bg = bgnbd.p_alive(x, tx, t_obs)
    assert np.all(p_bg[x == 0] == 1.0)
    assert np.all(p_bg[x > 0] < 1.0)
    # Pareto/NBD lets silent customers die too.
    assert np.all(pareto.p_alive(x, tx, t_obs)[x == 0] < 1.0)


@pytest.mark.parametrize("which", ["bgnbd", "pareto"])
def test_expected_purchases_monotone(which: str, request: pytest.FixtureRequest) -> None:
    model = request.getfixturevalue(which)
    horizons = np.array([0.0, 1.0, 5.0, 13.0, 39.0, 78.0, 520.0])
    by_t = model.expected_purchases(horizons, 3, 20.0, 30.0)
    assert by_t[0] == 0.0
    assert np.all(np.diff(by_t) > 0)
    freqs = np.arange(0, 300)
    by_x = model.expected_purchases(39.0, freqs, 38.0, 38.0)
    assert np.all(np.isfinite(by_x))
    assert np.all(np.diff(by_x) > 0)
    new = model.expected_purchases_new(horizons)
    assert new[0] == 0.0
    assert np.all(np.diff(new) > 0)


@pytest.mark.parametrize("cls", [BetaGeoModel, ParetoNBDModel])
def test_daily_units_give_same_predictions(
    cls: type[BetaGeoModel] | type[ParetoNBDModel],
    request: pytest.FixtureRequest,
    cdnow: pd.DataFrame,
) -> None:
    weekly = request.getfixturevalue("bgnbd" if cls is BetaGeoModel else "pareto")
    daily = cls().fit(*_rfm(cdnow, 7.0))
    for name, value in weekly.params_.items():
        expected = value * 7 if name in ("alpha", "beta") else value
        assert daily.params_[name] == pytest.approx(expected, rel=2e-3), name
    horizons = np.array([1.0, 13.0, 39.0, 104.0])[:, None]
    np.testing.assert_allclose(
        daily.expected_purchases(horizons * 7, *_rfm(cdnow, 7.0)),
        weekly.expected_purchases(horizons, *_rfm(cdnow)),
        rtol=2e-3,
        atol=1e-6,
    )
    np.testing.assert_allclose(
        daily.p_alive(*_rfm(cdnow, 7.0)), weekly.p_alive(*_rfm(cdnow)), rtol=2e-3, atol=1e-6
    )


def test_weights_equal_repeated_rows(bgnbd: BetaGeoModel, cdnow: pd.DataFrame) -> None:
    grouped = cdnow.groupby(["frequency", "recency", "T"]).size().reset_index(name="n")
    assert len(grouped) < len(cdnow)
    model = BetaGeoModel().fit(grouped["frequency"], grouped["recency"], grouped["T"], grouped["n"])
    for name, value in bgnbd.params_.items():
        assert model.params_[name] == pytest.approx(value, rel=1e-4), name
    assert model.log_likelihood_ == pytest.approx(bgnbd.log_likelihood_, abs=1e-3)


# ----------------------------------------------------------------------- numerical robustness


def test_pareto_likelihood_matches_numerical_integration() -> None:
    """Heavy buyers over long daily windows: log A0 through 2F1 vs direct quadrature."""
    r, alpha, s, beta = 0.55, 74.0, 0.61, 81.7
    model = ParetoNBDModel()
    model.params_ = {"r": r, "alpha": alpha, "s": s, "beta": beta}
    cases = [(0, 0.0, 700.0), (1, 3.0, 700.0), (40, 650.0, 700.0), (300, 400.0, 700.0)]
    cases += [(300, 699.0, 700.0), (5, 100.0, 100.0)]
    for x, tx, t_obs in cases:
        ll = model.log_likelihood(x, tx, t_obs)[0]
        # L = G(r+x) a^r b^s / G(r)
        #     * [(a+T)^-(r+x) (b+T)^-s + s * int_tx^T (a+u)^-(r+x) (b+u)^-(s+1) du]
        log_pk = math.lgamma(r + x) - math.lgamma(r) + r * math.log(alpha) + s * math.log(beta)
        ref_log = -(r + x) * math.log(alpha + tx) - (s + 1) * math.log(beta + tx)

        def integrand(u: float, x: int = x, tx: float = tx, ref_log: float = ref_log) -> float:
            log_f = -(r + x) * math.log(alpha + u) - (s + 1) * math.log(beta + u)
            return math.exp(log_f - ref_log)

        integral = quad(integrand, tx, t_obs, limit=200)[0] if t_obs > tx else 0.0
        alive = -(r + x) * math.log(alpha + t_obs) - s * math.log(beta + t_obs)
        died = math.log(s * integral) + ref_log if integral > 0 else -math.inf
        expected = log_pk + np.logaddexp(alive, died)
        assert ll == pytest.approx(expected, rel=1e-8, abs=1e-8), (x, tx, t_obs)


def test_pareto_recovers_simulated_daily_heavy_buyers() -> None:
    rng = np.random.default_rng(7)
    n, truth = 3000, {"r": 2.0, "alpha": 20.0, "s": 0.5, "beta": 200.0}
    lam = rng.gamma(truth["r"], 1 / truth["alpha"], n)
    mu = rng.gamma(truth["s"], 1 / truth["beta"], n)
    t_obs = rng.uniform(100.0, 700.0, n)
    end = np.minimum(rng.exponential(1 / mu), t_obs)
    x = rng.poisson(lam * end).astype(float)
    tx = np.where(x > 0, end * rng.beta(np.maximum(x, 1), 1.0), 0.0)  # max of x uniforms
    assert x.max() > 150
    model = ParetoNBDModel().fit(x, tx, t_obs)
    for name, value in truth.items():
        assert model.params_[name] == pytest.approx(value, rel=0.2), name
    assert np.all(np.isfinite(model.p_alive(x, tx, t_obs)))
    assert np.all(np.isfinite(model.expected_purchases(365.0, x, tx, t_obs)))


# ----------------------------------------------------------------------- Gamma-Gamma


def test_gamma_gamma_predictions(
    gamma_gamma: GammaGammaModel, bgnbd: BetaGeoModel, cdnow_spend: pd.DataFrame
) -> None:
    p, q, v = (gamma_gamma.params_[k] for k in ("p", "q", "v"))
    population_mean = p * v / (q - 1)
    assert gamma_gamma.expected_average_value(0, 0.0)[0] == pytest.approx(population_mean)
    # Shrinkage: the estimate lies between the observed mean and the population mean.
    est = gamma_gamma.expected_average_value([1, 10, 100], 100.0)
    assert np.all((est > population_mean) & (est < 100.0))
    assert np.all(np.diff(est) > 0)

    df = cdnow_spend
    args = (df["frequency"], df["recency"], df["T"])
    revenue = gamma_gamma.expected_revenue(bgnbd, 39, *args, df["monetary_value"])
    np.testing.assert_allclose(
        revenue,
        bgnbd.expected_purchases(39, *args)
        * gamma_gamma.expected_average_value(df["frequency"], df["monetary_value"]),
    )
    clv = gamma_gamma.clv(bgnbd, *args, df["monetary_value"], time=3, freq_unit_per_time=13.0)
    np.testing.assert_allclose(clv, revenue, rtol=1e-10)
    discounted = gamma_gamma.clv(bgnbd, *args, df["monetary_value"], time=3, discount_rate=0.05)
    assert np.all(discounted <= gamma_gamma.expected_revenue(bgnbd, 3, *args, df["monetary_value"]))


# ----------------------------------------------------------------------- persistence, errors


def test_save_load_round_trip(
    tmp_path: Path,
    bgnbd: BetaGeoModel,
    pareto: ParetoNBDModel,
    gamma_gamma: GammaGammaModel,
    cdnow: pd.DataFrame,
) -> None:
    x, tx, t_obs = _rfm(cdnow)
    for model in (bgnbd, pareto):
        path = tmp_path / f"{type(model).__name__}.json"
        model.save(path)
        loaded = type(model).load(path)
        assert loaded.params_ == model.params_
        assert loaded.log_likelihood_ == model.log_likelihood_
        np.testing.assert_array_equal(
            loaded.expected_purchases(39, x, tx, t_obs), model.expected_purchases(39, x, tx, t_obs)
        )
        np.testing.assert_array_equal(loaded.p_alive(x, tx, t_obs), model.p_alive(x, tx, t_obs))
    path = tmp_path / "gg.json"
    gamma_gamma.save(path)
    loaded_gg = GammaGammaModel.load(path)
    np.testing.assert_array_equal(
        loaded_gg.expected_average_value(x, 20.0), gamma_gamma.expected_average_value(x, 20.0)
    )
    with pytest.raises(ValueError, match="GammaGammaModel"):
        BetaGeoModel.load(path)


def test_unfitted_model_raises() -> None:
    for model in (BetaGeoModel(), ParetoNBDModel()):
        with pytest.raises(NotFittedError):
            model.p_alive(1, 1.0, 2.0)
        with pytest.raises(NotFittedError):
            model.save("unused.json")
    with pytest.raises(NotFittedError):
        GammaGammaModel().expected_average_value(1, 10.0)


@pytest.mark.parametrize(
    ("frequency", "recency", "T"),
    [
        ([], [], []),
        ([1, -1], [1.0, 1.0], [2.0, 2.0]),
        ([1, 1], [1.0, -1.0], [2.0, 2.0]),
        ([1, 1], [3.0, 1.0], [2.0, 2.0]),
        ([1, 1], [1.0, 1.0], [2.0, np.nan]),
        ([1.5, 1], [1.0, 1.0], [2.0, 2.0]),
        ([1, 1, 1], [1.0, 1.0], [2.0, 2.0]),
    ],
)
def test_bad_input_raises(frequency: list, recency: list, T: list) -> None:
    for cls in (BetaGeoModel, ParetoNBDModel):
        with pytest.raises(ValueError):
            cls().fit(frequency, recency, T)


def test_bad_spend_and_settings_raise(bgnbd: BetaGeoModel) -> None:
    with pytest.raises(ValueError, match="frequency > 0"):
        GammaGammaModel().fit([0, 0], [0.0, 0.0])
    with pytest.raises(ValueError):
        GammaGammaModel().fit([1, 2], [10.0, -5.0])
    with pytest.raises(ValueError):
        BetaGeoModel(penalizer=-1.0).fit([1, 0], [1.0, 0.0], [2.0, 2.0])
    with pytest.raises(ValueError):
        BetaGeoModel().fit([1, 0], [1.0, 0.0], [2.0, 2.0], weights=[1.0, -1.0])
    with pytest.raises(ValueError):
        bgnbd.expected_purchases(-1.0, 1, 1.0, 2.0)
    with pytest.raises(ValueError):
        bgnbd.p_alive(2, 5.0, 4.0)


def test_penalizer_shrinks_log_params(cdnow: pd.DataFrame, bgnbd: BetaGeoModel) -> None:
    penalized = BetaGeoModel(penalizer=0.1).fit(*_rfm(cdnow))
    assert penalized.log_likelihood_ < bgnbd.log_likelihood_
    norm = lambda m: sum(math.log(v) ** 2 for k, v in m.params_.items() if k != "alpha")  # noqa: E731
    assert norm(penalized) < norm(bgnbd)
