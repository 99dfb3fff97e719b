"""Arena figures from per-prompt outcomes (pure numbers: numpy and scipy, no I/O).

Input: for each candidate, {prompt id: `Pair`} with the pair's outcome value (win 1.0, tie 0.5,
loss 0.0, `verdicts.combine`) and the character lengths of both answers. Definitions and sources,
also in docs/arena.md:

* **win rate**: the mean outcome value over the candidate's judged prompts (ties count half, as
  ArenaHard and AlpacaEval count them).
* **95% interval**: percentile bootstrap over *prompts* (Efron & Tibshirani 1993): `rounds` resamples
  of the prompt set with replacement, the statistic recomputed on each, the 2.5th and 97.5th
  percentiles. One resample draws prompts, so every candidate's pair on a drawn prompt comes along
  (the candidates' figures stay paired, as ArenaHard's bootstrap does).
* **Bradley-Terry ratings on an Elo scale** (Bradley & Terry 1952; the fit ArenaHard and Chatbot
  Arena use): P(i beats j) = 1 / (1 + 10 ** ((R_j - R_i) / 400)); every pair is a battle
  candidate-vs-baseline with the outcome value as a soft label; the ratings maximise the likelihood
  (scipy.optimize L-BFGS, with ArenaHard's ridge of 1e-6 so that a candidate that wins every pair
  still has a finite rating), anchored at the baseline = 1000.
* **length-controlled win rate** (AlpacaEval 2, Dubois et al. 2024, "Length-Controlled AlpacaEval"):
  a logistic GLM of the outcome on theta + phi * tanh(delta / sd(delta)), delta = candidate length
  minus baseline length in characters; LC win rate = sigmoid(theta), the predicted preference at
  zero length difference. AlpacaEval's third term (instruction difficulty) needs the annotations of
  many models on the same instructions and is left out; phi carries an L2 penalty of 1 (AlpacaEval
  also regularises the length term) so that a small set cannot separate on length alone.

Why our own few lines around scipy: sklearn's LogisticRegression takes no soft (0.5) labels
without duplicating rows, and these fits have two to a handful of parameters.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit

ELO_SCALE = 400.0 / math.log(10.0)  # Elo points per unit of log-odds
ANCHOR = 1000.0  # the baseline's rating
RIDGE = 1e-6  # ArenaHard fits with sklearn LogisticRegression(C=1e6): an L2 penalty of 1/C
LENGTH_PENALTY = 1.0  # L2 penalty on the length coefficient of the LC GLM
LEVEL = 0.95


@dataclass(frozen=True)
class Pair:
    value: float  # 1.0 win, 0.5 tie, 0.0 loss (the candidate's side)
    candidate_len: int = 0
    baseline_len: int = 0


@dataclass(frozen=True)
class Interval:
    low: float | None
    high: float | None


def win_rate(pairs: Sequence[Pair]) -> float | None:
    return sum(p.value for p in pairs) / len(pairs) if pairs else None


def counts(pairs: Sequence[Pair]) -> dict[str, int]:
    return {
        "win": sum(p.value == 1.0 for p in pairs),
        "tie": sum(p.value == 0.5 for p in pairs),
        "loss": sum(p.value == 0.0 for p in pairs),
    }


def bradley_terry(values: Mapping[str, Sequence[float]], baseline: str) -> dict[str, float]:
    """Elo-scale ratings from candidate-vs-baseline battles: `values[candidate]` are the outcome
    values (the candidate's side). The baseline is 1000; a candidate without battles is left out."""
    names = [name for name, v in values.items() if len(v) and name != baseline]
    if not names:
        return {baseline: ANCHOR}
    index = {name: i for i, name in enumerate(names)}
    rows = np.array([index[name] for name in names for _ in values[name]], dtype=int)
    labels = np.array([float(x) for name in names for x in values[name]])

    def loss(beta: np.ndarray) -> tuple[float, np.ndarray]:
        margin = beta[rows]  # baseline's parameter is 0 (the anchor)
        value = -float(np.sum(labels * log_expit(margin) + (1 - labels) * log_expit(-margin)))
        value += 0.5 * RIDGE * float(beta @ beta)
        residual = expit(margin) - labels
        grad = np.bincount(rows, weights=residual, minlength=len(names)) + RIDGE * beta
        return value, grad

    fit = minimize(loss, np.zeros(len(names)), jac=True, method="L-BFGS-B")
    ratings = {name: ANCHOR + ELO_SCALE * float(fit.x[index[name]]) for name in names}
    return {baseline: ANCHOR, **ratings}


def length_controlled_win_rate(pairs: Sequence[Pair]) -> float | None:
    """AlpacaEval 2's LC win rate without the instruction-difficulty term (module docstring)."""
    if not pairs:
        return None
    y = np.array([p.value for p in pairs])
    delta = np.array([p.candidate_len - p.baseline_len for p in pairs], dtype=float)
    spread = float(delta.std())
    x = np.tanh(delta / spread) if spread > 0 else np.zeros_like(delta)

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        theta, phi = params
        margin = theta + phi * x
        value = -float(np.sum(y * log_expit(margin) + (1 - y) * log_expit(-margin))) + 0.5 * LENGTH_PENALTY * phi**2
        residual = expit(margin) - y
        return value, np.array([residual.sum(), float(residual @ x) + LENGTH_PENALTY * phi])

    fit = minimize(loss, np.zeros(2), jac=True, method="L-BFGS-B")
    return float(expit(fit.x[0]))


def bootstrap(
    per_prompt: Mapping[str, Mapping[str, Pair]],
    statistic: Callable[[Mapping[str, Sequence[Pair]]], Mapping[str, float | None]],
    rounds: int,
    seed: int,
    level: float = LEVEL,
) -> dict[str, Interval]:
    """Percentile intervals of `statistic` (named figures from {candidate: pairs}) over `rounds`
    resamples of the prompts; `per_prompt` is {prompt id: {candidate: Pair}}."""
    prompts = sorted(per_prompt)
    if not prompts or rounds <= 0:
        return {}
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {}
    for _ in range(rounds):
        chosen = rng.integers(0, len(prompts), len(prompts))
        sample: dict[str, list[Pair]] = {}
        for i in chosen:
            for candidate, pair in per_prompt[prompts[i]].items():
                sample.setdefault(candidate, []).append(pair)
        for name, value in statistic(sample).items():
            if value is not None and math.isfinite(value):
                draws.setdefault(name, []).append(value)
    tail = (1 - level) / 2 * 100
    return {
        name: Interval(float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail)))
        for name, values in draws.items()
    }
