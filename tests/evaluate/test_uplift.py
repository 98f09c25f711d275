"""Uplift evaluation against hand-computed small cases and a simulated randomised experiment."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from liucun.evaluate import (
    auuc,
    qini_coefficient,
    qini_curve,
    qini_svg,
    true_uplift_gain,
    uplift_by_decile,
)

SVG = "{http://www.w3.org/2000/svg}"

# Six customers in score order: T1 T0 C1 C0 T0 C1 (arm, outcome).
Y = [1, 0, 1, 0, 0, 1]
T = [1, 1, 0, 0, 1, 0]
S = [6, 5, 4, 3, 2, 1]


@pytest.fixture(scope="module")
def experiment() -> dict[str, np.ndarray]:
    """Randomised 50/50 experiment with heterogeneous, partly negative true effects."""
    rng = np.random.default_rng(11)
    n = 20_000
    x = rng.normal(size=n)
    tau = 0.5 * x + 0.2
    t = rng.uniform(size=n) < 0.5
    y = 0.3 * x + t * tau + rng.normal(size=n)
    return {"y": y, "t": t, "tau": tau, "noise": rng.uniform(size=n)}


# hand-checked -----------------------------------------------------------------------------


def test_qini_curve_by_hand() -> None:
    c = qini_curve(Y, T, S, points=6)
    assert list(c.columns) == ["fraction", "qini", "random"]
    # k=1,2: only treated reached; k=3: 1 - 1*2/1; k=4: 1 - 1*2/2; k=5: 1 - 1*3/2; k=6: 1 - 2*3/3
    np.testing.assert_allclose(c["qini"], [0, 1, 1, -1, 0, -0.5, -1])
    np.testing.assert_allclose(c["random"], -np.arange(7) / 6)
    np.testing.assert_allclose(c["fraction"], np.arange(7) / 6)


def test_qini_coefficient_and_auuc_by_hand() -> None:
    # gaps to random: 0, 7/6, 8/6, -3/6, 4/6, 2/6, 0 -> area 18/6 * 1/6 = 0.5, / n=6
    assert qini_coefficient(Y, T, S) == pytest.approx(1 / 12)
    # uplift curve: 0, 0, (1/2-1)*3, 0, (1/3-1/2)*5, (1/3-2/3)*6 -> area -5/9, / n=6
    assert auuc(Y, T, S) == pytest.approx(-5 / 54)


def test_ties_give_the_random_line() -> None:
    c = qini_curve(Y, T, np.zeros(6), points=12)
    np.testing.assert_allclose(c["qini"], c["random"], atol=1e-12)
    assert qini_coefficient(Y, T, np.ones(6)) == pytest.approx(0, abs=1e-12)


def test_constant_propensity_matches_unweighted() -> None:
    e = np.full(6, 0.3)
    pd.testing.assert_frame_equal(qini_curve(Y, T, S, e), qini_curve(Y, T, S))
    assert qini_coefficient(Y, T, S, e) == pytest.approx(qini_coefficient(Y, T, S))
    assert auuc(Y, T, S, e) == pytest.approx(auuc(Y, T, S))


def test_propensity_weights_remove_confounding() -> None:
    rng = np.random.default_rng(3)
    n = 20_000
    x = rng.uniform(size=n) < 0.5
    e = np.where(x, 0.8, 0.2)
    t = rng.uniform(size=n) < e
    y = 2.0 * x + rng.normal(size=n)  # no treatment effect at all
    score = rng.uniform(size=n)
    naive = qini_curve(y, t, score)["qini"].iloc[-1] / t.sum()
    weighted = qini_curve(y, t, score, e)["qini"].iloc[-1] / t.sum()
    assert naive > 0.8  # treated skew to x=1, whose baseline is 2 higher
    assert abs(weighted) < 0.1


def test_degenerate_and_invalid_inputs() -> None:
    assert qini_curve([1, 0], [1, 1], [0.2, 0.1])["qini"].isna().all()
    assert math.isnan(qini_coefficient([1, 0], [0, 0], [0.2, 0.1]))
    assert math.isnan(auuc([], [], []))
    # missing rows are dropped, not propagated
    assert qini_coefficient([*Y, np.nan], [*T, 1], [*S, 0]) == pytest.approx(1 / 12)
    with pytest.raises(ValueError, match="0/1"):
        qini_curve([1, 0], [2, 0], [1, 0])
    with pytest.raises(ValueError, match="propensity"):
        qini_curve([1, 0], [1, 0], [1, 0], propensity=[1.0, 0.5])
    with pytest.raises(ValueError, match="length"):
        auuc([1, 0], [1, 0], [1])
    with pytest.raises(ValueError, match="points"):
        qini_curve(Y, T, S, points=0)


def test_uplift_by_decile_by_hand() -> None:
    d = uplift_by_decile(Y, T, S, deciles=2)
    assert list(d.columns) == [
        "decile",
        "n_treated",
        "n_control",
        "mean_treated",
        "mean_control",
        "uplift",
    ]
    # top half: T1 T0 C1 -> 0.5 - 1; bottom half: C0 T0 C1 -> 0 - 0.5
    assert d["n_treated"].tolist() == [2, 1]
    assert d["n_control"].tolist() == [1, 2]
    np.testing.assert_allclose(d["uplift"], [-0.5, -0.5])
    one_arm = uplift_by_decile([1, 0, 1], [1, 1, 0], [3, 2, 1], deciles=3)
    assert one_arm["uplift"].isna().all()


def test_true_uplift_gain_by_hand() -> None:
    g = true_uplift_gain([1, -1, 3, 0], [0.9, 0.8, 0.1, 0.5], 0.5)
    assert g == {"k": 2, "gain": 0.0, "oracle": 4.0, "ratio": 0.0}
    # a tie at the cut counts at its average: (1 + (-1 + 3) / 2)
    assert true_uplift_gain([1, -1, 3, 0], [2, 1, 1, 0], 0.5)["gain"] == pytest.approx(2.0)
    with pytest.raises(ValueError, match="fraction"):
        true_uplift_gain([1], [1], 0)


# simulated experiment ---------------------------------------------------------------------


def test_true_effect_score_beats_random(experiment: dict[str, np.ndarray]) -> None:
    y, t, tau, noise = experiment["y"], experiment["t"], experiment["tau"], experiment["noise"]
    good, rand = qini_coefficient(y, t, tau), qini_coefficient(y, t, noise)
    backwards = qini_coefficient(y, t, -tau)
    assert good > 0.05
    assert abs(rand) < 0.02
    assert backwards < rand < good
    assert auuc(y, t, tau) > auuc(y, t, noise) > auuc(y, t, -tau)
    # the curve from the coefficient's ingredients: bows above random, same end point
    c_good, c_rand = qini_curve(y, t, tau), qini_curve(y, t, noise)
    assert c_good["qini"].iloc[-1] == pytest.approx(c_rand["qini"].iloc[-1])
    assert (c_good["qini"] - c_good["random"]).iloc[1:-1].min() > 0


def test_oracle_ordering(experiment: dict[str, np.ndarray]) -> None:
    tau, noise = experiment["tau"], experiment["noise"]
    for f in (0.1, 0.3, 0.5):
        best = true_uplift_gain(tau, tau, f)
        rand = true_uplift_gain(tau, noise, f)
        assert best["gain"] == pytest.approx(best["oracle"])
        assert best["ratio"] == pytest.approx(1.0)
        assert rand["gain"] < best["oracle"]
        assert rand["oracle"] == best["oracle"]


def test_deciles_sum_to_n(experiment: dict[str, np.ndarray]) -> None:
    y, t, tau = experiment["y"], experiment["t"], experiment["tau"]
    d = uplift_by_decile(y, t, tau)
    assert d["decile"].tolist() == list(range(1, 11))
    assert int((d["n_treated"] + d["n_control"]).sum()) == y.size
    assert ((d["n_treated"] + d["n_control"]) == y.size // 10).all()
    assert d["uplift"].iloc[0] > d["uplift"].iloc[-1]
    # true mean effect per decile is 0.2 + 0.5 * mean(x): top decile well above the bottom
    assert d["uplift"].iloc[0] > 0.8 and d["uplift"].iloc[-1] < -0.4
    small = uplift_by_decile([1, 0, 1], [1, 0, 1], [1, 2, 3])
    assert int((small["n_treated"] + small["n_control"]).sum()) == 3


def test_qini_svg_parses_and_escapes(experiment: dict[str, np.ndarray]) -> None:
    y, t, tau, noise = experiment["y"], experiment["t"], experiment["tau"], experiment["noise"]
    svg = qini_svg(
        {
            "gbm <v2> & co": qini_curve(y, t, tau, points=20),
            "random": qini_curve(y, t, noise, points=20),
            "empty": qini_curve([1], [1], [0.5]),
        }
    )
    assert svg.startswith("<svg")
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert len(root.findall(f".//{SVG}polyline")) >= 3
    texts = [el.text for el in root.iter(f"{SVG}text")]
    assert "gbm <v2> & co" in texts
    assert "random" in texts
    ET.fromstring(qini_svg({}))
