"""Arena runs: candidate models against a baseline on the same prompts, judged by a model (docs/arena.md).

`config` (the contestants and the judge), `prompts` (one reader per prompt source), `verdicts`
(the verdict scale and the position-swap rule; pure), `judging` (the judge's requests), `statistics`
(win rate, Bradley-Terry ratings, LC win rate, bootstrap intervals; pure numbers), `runtime` (the
items' pipeline), `plugin` (what the evaluation run registers), `report` (the HTML section).
"""
