"""Arena figures from per-prompt outcomes (pure numbers: numpy, no I/O).

Input: for each candidate, {prompt id: `Pair`} with the pair's outcome value (win 1.0, tie 0.5,
loss 0.0, `verdicts.combine`) and the character lengths of both answers. Definitions and sources,
also in docs/arena.md:

* **win rate**: the mean outcome value over the candidate's judged prompts (ties count half, as
  ArenaHard and AlpacaEval count them).
* **95% interval**: percentile bootstrap over *prompts* (Efron & Tibshirani 1993): `rounds` resamples
  of the prompt set with replacement, every figure refitted on each (`bootstrap`: the same
  likelihoods solved by vectorised Newton steps, measured at ~1 s for 1000 rounds of 500 prompts x 2
  candidates where one scipy call per resample and figure took over 200 s on the loaded test
  machine), the 2.5th and 97.5th percentiles. One resample draws prompts, so every candidate's pair
  on a drawn prompt comes along (the candidates' figures stay paired, as ArenaHard's bootstrap does).
* **Bradley-Terry ratings on an Elo scale** (Bradley & Terry 1952; the fit ArenaHard and Chatbot
  Arena use): P(i beats j) = 1 / (1 + 10 ** ((R_j - R_i) / 400)); every pair is a battle
  candidate-vs-baseline with the outcome value as a soft label; the ratings maximise the likelihood
  (with ArenaHard's ridge of 1e-6 so that a candidate that wins every pair still has a finite
  rating), anchored at the baseline = 1000.
* **length-controlled win rate** (AlpacaEval 2, Dubois et al. 2024, "Length-Controlled AlpacaEval"):
  a logistic GLM of the outcome on theta + phi * tanh(delta / sd(delta)), delta = candidate length
  minus baseline length in characters; LC win rate = sigmoid(theta), the predicted preference at
  zero length difference. AlpacaEval's third term (instruction difficulty) needs the annotations of
  many models on the same instructions and is left out; phi carries an L2 penalty of 1 (AlpacaEval
  also regularises the length term) so that a small set cannot separate on length alone.

Every fit is a logistic likelihood with one or two parameters per candidate (separable, since every
battle is against the baseline), solved by the damped Newton steps of `_newton_logistic`, the point
estimates as one row of weights 1, the bootstrap as all resamples at once. Why our own few lines:
sklearn's LogisticRegression takes no soft (0.5) labels without duplicating rows, and scipy.optimize
(which gave the same fits, tests/arena/test_arena_figures.py checks against it) took 1.5-4.7 s to
import on the loaded 2-core test machine, inside the first arena record, which stalled the pipeline
(bench/arena_pipeline.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

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


def expit(x: np.ndarray) -> np.ndarray:
    """The logistic function 1 / (1 + e^-x), without overflow for large |x|."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def bradley_terry(values: Mapping[str, Sequence[float]], baseline: str) -> dict[str, float]:
    """Elo-scale ratings from candidate-vs-baseline battles: `values[candidate]` are the outcome
    values (the candidate's side). The baseline is 1000; a candidate without battles is left out.
    The likelihood separates per candidate (each meets only the baseline, whose parameter is the
    anchor 0), so each rating is a one-parameter ridge logistic fit."""
    ratings = {baseline: ANCHOR}
    for name, outcomes in values.items():
        if not len(outcomes) or name == baseline:
            continue
        labels = np.array([[float(x) for x in outcomes]])
        beta = _newton_logistic(np.ones_like(labels), labels, None, RIDGE)
        ratings[name] = ANCHOR + ELO_SCALE * float(beta[0, 0])
    return ratings


def length_controlled_win_rate(pairs: Sequence[Pair]) -> float | None:
    """AlpacaEval 2's LC win rate without the instruction-difficulty term (module docstring)."""
    if not pairs:
        return None
    y = np.array([[p.value for p in pairs]])
    delta = np.array([p.candidate_len - p.baseline_len for p in pairs], dtype=float)
    spread = float(delta.std())
    x = np.tanh(delta / spread) if spread > 0 else np.zeros_like(delta)
    beta = _newton_logistic(np.ones_like(y), y, x[None, :], LENGTH_PENALTY)
    return float(expit(beta[0, 0]))


def _newton_logistic(
    weights: np.ndarray, labels: np.ndarray, features: np.ndarray | None, penalty: float, iterations: int = 50
) -> np.ndarray:
    """Soft-label logistic fits of one batch, one per row of `weights` (how often each prompt was drawn):
    logit p = theta (+ phi * features[row]), L2 `penalty` on the last coefficient. Newton's method,
    vectorised over the rows; returns (rows, 1 or 2) coefficients (NaN for a row without pairs)."""
    rows = weights.shape[0]
    k = 1 if features is None else 2
    beta = np.zeros((rows, k))
    ridge = np.zeros(k)
    ridge[-1] = penalty
    for _ in range(iterations):
        margin = beta[:, 0:1] + (beta[:, 1:2] * features if features is not None else 0.0)
        p = expit(margin)
        residual = weights * (p - labels)
        curve = weights * p * (1 - p)
        grad = np.stack([residual.sum(1), *([(residual * features).sum(1)] if features is not None else [])], 1)
        grad += ridge * beta
        if features is None:
            step = grad / (curve.sum(1, keepdims=True) + ridge)
        else:
            h00 = curve.sum(1) + ridge[0]
            h01 = (curve * features).sum(1)
            h11 = (curve * features * features).sum(1) + ridge[1]
            det = h00 * h11 - h01 * h01
            with np.errstate(invalid="ignore", divide="ignore"):
                step = np.stack(
                    [(h11 * grad[:, 0] - h01 * grad[:, 1]) / det, (h00 * grad[:, 1] - h01 * grad[:, 0]) / det], 1
                )
        # a row whose curvature vanished (all wins and no ridge on theta: p == 1 in floating point) stays put
        step = np.where(np.isfinite(step), step, 0.0)
        beta = beta - np.clip(step, -5, 5)  # damped: a round of all wins walks out towards the ridge's bound
        if np.nanmax(np.abs(step), initial=0.0) < 1e-9:
            break
    beta[weights.sum(1) == 0] = np.nan
    return beta


def bootstrap(
    per_prompt: Mapping[str, Mapping[str, Pair]],
    candidates: Sequence[str],
    rounds: int,
    seed: int,
    level: float = LEVEL,
) -> dict[str, Interval]:
    """Percentile intervals of each candidate's `winrate`, `lc_winrate` and `elo` over `rounds`
    resamples of the prompts (keys `"<candidate>.<figure>"`); `per_prompt` is {prompt id:
    {candidate: Pair}}. A resample is a row of draw counts over the prompts, shared by every
    candidate. The fits are the same likelihoods as `bradley_terry` (separable per candidate, since
    every battle is against the baseline) and `length_controlled_win_rate`, solved by Newton's method
    for all resamples at once (numpy) instead of one optimiser call per resample."""
    prompts = sorted(per_prompt)
    if not prompts or rounds <= 0:
        return {}
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(prompts), (rounds, len(prompts)))
    counts = np.zeros((rounds, len(prompts)))
    np.add.at(counts, (np.repeat(np.arange(rounds), len(prompts)), draws.ravel()), 1.0)
    tail = (1 - level) / 2 * 100
    out: dict[str, Interval] = {}
    for candidate in candidates:
        has = np.array([candidate in per_prompt[p] for p in prompts])
        if not has.any():
            continue
        pairs = [per_prompt[p][candidate] for p in prompts if candidate in per_prompt[p]]
        w = counts[:, has]
        y = np.array([pair.value for pair in pairs])[None, :]
        delta = np.array([pair.candidate_len - pair.baseline_len for pair in pairs], dtype=float)[None, :]
        total = w.sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = (w * y).sum(1) / total
            mean = (w * delta).sum(1, keepdims=True) / total[:, None]
            spread = np.sqrt(np.maximum((w * (delta - mean) ** 2).sum(1, keepdims=True) / total[:, None], 0.0))
            x = np.where(spread > 0, np.tanh(delta / np.where(spread > 0, spread, 1.0)), 0.0)
        elo = ANCHOR + ELO_SCALE * _newton_logistic(w, y, None, RIDGE)[:, 0]
        lc = expit(_newton_logistic(w, y, x, LENGTH_PENALTY)[:, 0])
        for name, values in (("winrate", rate), ("lc_winrate", lc), ("elo", elo)):
            finite = values[np.isfinite(values)]
            if finite.size:
                out[f"{candidate}.{name}"] = Interval(
                    float(np.percentile(finite, tail)), float(np.percentile(finite, 100 - tail))
                )
    return out
