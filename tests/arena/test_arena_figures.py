"""The verdict scale, the swap rule and the arena statistics against values computed independently."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize, minimize_scalar
from scipy.special import expit, log_expit

from pytest_llmeval.arena import statistics as st
from pytest_llmeval.arena.verdicts import combine, parse_label


@pytest.mark.parametrize(
    ("reply", "scale", "label"),
    [
        ("A is better.\nMy final verdict is: [[A>>B]]", "five", "A>>B"),
        ("[[A>B]] at first, but on reflection [[B>A]]", "five", "B>A"),
        ("[[B<A]]", "five", "A>B"),
        ("[[ A ≫ B ]]", "five", "A>>B"),
        ("[[B=A]]", "five", "A=B"),
        ("[[A>>B]]", "three", "A>B"),
        ("A is better", "five", None),
        ("[[A>A]]", "five", None),
        ("[[C]]", "three", None),
    ],
)
def test_judge_labels_are_read_from_the_last_bracketed_verdict(reply, scale, label):
    assert parse_label(reply, scale) == label


@pytest.mark.parametrize(
    ("first", "second", "outcome", "inconsistent"),
    [
        ("A>>B", "B>>A", "win", False),  # candidate preferred in both orders
        ("A>B", "A=B", "win", False),  # a win and a tie
        ("A=B", "A=B", "tie", False),
        ("A>B", "A>B", "tie", True),  # position bias: each order prefers the first answer
        ("A>>B", "A>B", "tie", True),  # opposite preferences are a tie whatever their strength
        ("B>A", "A>>B", "loss", False),
    ],
)
def test_swap_rule(first, second, outcome, inconsistent):
    pair = combine(first, second, "five")
    assert (pair.outcome, pair.inconsistent) == (outcome, inconsistent)


def test_bradley_terry_matches_the_closed_form_and_a_direct_fit():
    values = {"a": [1.0] * 30 + [0.5] * 10 + [0.0] * 20, "b": [1.0] * 5 + [0.0] * 15}
    ratings = st.bradley_terry(values, "base")
    assert ratings["base"] == 1000.0
    for name, outcomes in values.items():
        w = sum(outcomes) / len(outcomes)
        closed = 1000 + 400 * math.log10(w / (1 - w))  # each candidate only meets the baseline

        def nll(r, o=outcomes):  # the likelihood on the Elo scale itself, fitted by a 1-D optimiser
            p = 1 / (1 + 10 ** (-r / 400))
            return -sum(x * math.log(p) + (1 - x) * math.log(1 - p) for x in o)

        direct = 1000 + minimize_scalar(nll, bounds=(-2000, 2000), method="bounded").x
        assert ratings[name] == pytest.approx(closed, abs=0.05)
        assert ratings[name] == pytest.approx(direct, abs=0.05)


def scipy_elo(outcomes):
    """The Bradley-Terry rating of a candidate that only meets the baseline, fitted by scipy's L-BFGS
    with the same ridge (an independent solver for the module's Newton steps)."""
    y = np.array(outcomes, dtype=float)

    def loss(beta):
        value = -float(np.sum(y * log_expit(beta[0]) + (1 - y) * log_expit(-beta[0]))) + 0.5 * st.RIDGE * beta[0] ** 2
        return value, np.array([float(np.sum(expit(beta[0]) - y)) + st.RIDGE * beta[0]])

    fit = minimize(loss, np.zeros(1), jac=True, method="L-BFGS-B", options={"gtol": 1e-10, "ftol": 1e-14})
    return st.ANCHOR + st.ELO_SCALE * float(fit.x[0])


def scipy_lc_winrate(pairs):
    y = np.array([p.value for p in pairs])
    delta = np.array([p.candidate_len - p.baseline_len for p in pairs], dtype=float)
    x = np.tanh(delta / delta.std()) if delta.std() > 0 else np.zeros_like(delta)

    def loss(params):
        margin = params[0] + params[1] * x
        value = -float(np.sum(y * log_expit(margin) + (1 - y) * log_expit(-margin)))
        residual = expit(margin) - y
        penalty = st.LENGTH_PENALTY * params[1]
        return value + 0.5 * penalty * params[1], np.array([residual.sum(), float(residual @ x) + penalty])

    fit = minimize(loss, np.zeros(2), jac=True, method="L-BFGS-B", options={"gtol": 1e-10, "ftol": 1e-14})
    return float(expit(fit.x[0]))


def test_point_fits_equal_scipy_lbfgs_fits():
    rng = np.random.default_rng(5)
    for _ in range(20):
        pairs = [
            st.Pair(float(rng.choice([0.0, 0.5, 1.0], p=[0.3, 0.2, 0.5])), int(rng.integers(50, 600)), 250)
            for _ in range(int(rng.integers(5, 60)))
        ]
        values = [p.value for p in pairs]
        assert st.bradley_terry({"a": values}, "base")["a"] == pytest.approx(scipy_elo(values), abs=1e-3)
        assert st.length_controlled_win_rate(pairs) == pytest.approx(scipy_lc_winrate(pairs), abs=1e-5)


def test_a_candidate_that_wins_everything_has_a_finite_rating():
    assert math.isfinite(st.bradley_terry({"a": [1.0] * 10}, "base")["a"])
    assert st.length_controlled_win_rate([st.Pair(1.0, 100, 100)] * 6) == pytest.approx(1.0)


def test_lc_win_rate_equals_the_win_rate_without_length_differences():
    pairs = [st.Pair(v, 100, 100) for v in (1.0, 1.0, 0.5, 0.0, 1.0)]
    assert st.length_controlled_win_rate(pairs) == pytest.approx(st.win_rate(pairs), abs=1e-4)


def test_lc_win_rate_discounts_wins_bought_with_length():
    rng = np.random.default_rng(1)
    pairs = []
    for _ in range(400):  # a length-biased judge: the longer answer wins 80% of the time, quality is equal
        longer = bool(rng.random() < 0.7)  # the candidate is longer on 70% of prompts
        wins = rng.random() < (0.8 if longer else 0.2)
        pairs.append(st.Pair(1.0 if wins else 0.0, 300 if longer else 100, 100 if longer else 300))
    raw = st.win_rate(pairs)
    lc = st.length_controlled_win_rate(pairs)
    assert raw is not None and lc is not None
    assert raw > 0.55 and abs(lc - 0.5) < 0.05 and lc < raw


def test_bootstrap_intervals_cover_the_true_win_rate_near_their_level():
    rng = np.random.default_rng(7)
    truth, hits, runs = 0.6, 0, 300
    for run in range(runs):
        per_prompt = {f"p{i}": {"a": st.Pair(float(rng.random() < truth))} for i in range(80)}
        interval = st.bootstrap(per_prompt, ["a"], rounds=500, seed=run)["a.winrate"]
        hits += interval.low <= truth <= interval.high
    assert 0.88 <= hits / runs <= 0.99


def test_vectorised_bootstrap_equals_refitting_each_resample_with_scipy():
    # (the module's own point fits would share its solver; scipy is the independent one)
    rng = np.random.default_rng(3)
    per_prompt = {
        f"p{i:02d}": {"a": st.Pair(float(rng.choice([0.0, 0.5, 1.0])), int(rng.integers(50, 400)), 200)}
        for i in range(40)
    }
    rounds, seed = 60, 11
    intervals = st.bootstrap(per_prompt, ["a"], rounds, seed)
    prompts = sorted(per_prompt)
    draws = np.random.default_rng(seed).integers(0, len(prompts), (rounds, len(prompts)))
    refits: dict[str, list[float]] = {"winrate": [], "lc_winrate": [], "elo": []}
    for row in draws:  # the same resamples, each fitted on its own by scipy's L-BFGS
        pairs = [per_prompt[prompts[i]]["a"] for i in row]
        refits["winrate"].append(st.win_rate(pairs))
        refits["lc_winrate"].append(scipy_lc_winrate(pairs))
        refits["elo"].append(scipy_elo([p.value for p in pairs]))
    for name, values in refits.items():
        low, high = np.percentile(values, [2.5, 97.5])
        got = intervals[f"a.{name}"]
        assert (got.low, got.high) == (pytest.approx(low, rel=1e-5), pytest.approx(high, rel=1e-5)), name
