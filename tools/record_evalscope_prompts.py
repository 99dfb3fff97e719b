"""Record the chat messages EvalScope sends for the rows of `tests/benchmarks/data/evalscope/rows.json`.

The result, `tests/benchmarks/data/evalscope/bodies.json`, is the fixture of
`tests/benchmarks/test_protocols.py`: the messages this plugin sends under `--llm-protocol evalscope`
must equal it byte for byte. EvalScope itself is never a dependency of this project; it runs once,
here, in a virtual environment of its own::

    python3 -m venv /tmp/evs-venv
    /tmp/evs-venv/bin/pip install evalscope==1.14.1
    /tmp/evs-venv/bin/python tools/record_evalscope_prompts.py

The script drives EvalScope's own adapter code for each row: `record_to_sample` (including its option
shuffles), the few-shot rows through `sample_to_fewshot` and the adapter's few-shot template, then
`process_sample_str_input` / `process_sample_messages_input` (system prompt, user message) and
`openai_chat_messages` (the wire format of its OpenAI-compatible client). Only dataset reading is
bypassed: the rows come from the JSON file instead of the hub. The multimodal rows (MathVista,
MMMU-Pro, OmniBench) name small generated files under `media/`; EvalScope gets their bytes as the
`{"bytes": ...}` cells its loader would give it.

It also records EvalScope's multiple-choice parse of the outputs in
`tests/scoring/data/reference_choice_cases.json` (the `evalscope` field), which pins
`scoring/reference_choice.py` (`--llm-answer-parser evalscope`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "tests" / "benchmarks" / "data" / "evalscope"
PARSE_CASES = Path(__file__).resolve().parent.parent / "tests" / "scoring" / "data" / "reference_choice_cases.json"

# our benchmark name -> EvalScope's
NAMES = {"gpqa_diamond": "gpqa_diamond", "truthfulqa": "truthful_qa"}


def evalscope_row(row: dict, spec: dict) -> dict:
    """A row as EvalScope's loader gives it: a media file of the fixture (`media/...`, which this
    plugin reads as a path inside the dataset's folder) becomes the `{"bytes": ...}` cell of a Hugging
    Face image/audio column; `evalscope_media` copies one into a field of EvalScope's name."""

    def cell(value: object) -> object:
        if isinstance(value, str) and value.startswith("media/"):
            return {"bytes": (DATA / value).read_bytes(), "path": None}
        return value

    out = {key: cell(value) for key, value in row.items()}
    for field, source in spec.get("evalscope_media", {}).items():
        out[field] = cell(row[source])
    return out


def record(name: str, spec: dict) -> list[dict]:
    import evalscope
    from evalscope.api.dataset.dataset import MemoryDataset
    from evalscope.api.dataset.utils import shuffle_choices_if_requested
    from evalscope.api.registry import get_benchmark
    from evalscope.config import TaskConfig
    from evalscope.models.utils.openai import openai_chat_messages

    ours = spec.get("benchmark", name)  # one of our benchmarks may be recorded in two EvalScope configurations
    evs_name = NAMES.get(ours, ours)
    config = TaskConfig(
        model="dummy",
        datasets=[evs_name],
        eval_type="mock_llm",
        dataset_args={evs_name: spec.get("evalscope_args", {})},  # a default changed on purpose (see its "note")
    )
    adapter = get_benchmark(evs_name, config)
    subset = spec["subset"]
    rows = [evalscope_row(row, spec) for row in spec.get("evalscope_rows", spec["rows"])]
    with adapter._temporary_attribute("current_subset_name", subset):
        samples = MemoryDataset([adapter.record_to_sample(dict(row)) for row in rows])
        shots = MemoryDataset([adapter.record_to_sample(dict(row)) for row in spec.get("few_shot_rows", [])])
    # what EvalScope's loader does after record_to_sample (TruthfulQA shuffles its options)
    shuffle_choices_if_requested(samples, adapter.shuffle_choices, adapter.seed)
    shuffle_choices_if_requested(shots, adapter.shuffle_choices, adapter.seed)
    adapter.fewshot_dataset = {subset: list(shots)[: adapter.few_shot_num]} if len(shots) else None
    bodies = []
    for index, sample in enumerate(samples):
        if isinstance(sample.input, str):
            messages = adapter.process_sample_str_input(sample, subset)
        else:
            messages = adapter.process_sample_messages_input(sample, subset)
        bodies.append(
            {
                "row": index,
                "few_shot_num": adapter.few_shot_num,
                "messages": openai_chat_messages(messages),
                "evalscope": evalscope.__version__,
            }
        )
    return bodies


def record_parses() -> int:
    """Fill the `evalscope` field of each case of `tests/scoring/data/reference_choice_cases.json` with
    the letters EvalScope's multiple-choice parser reads from its `output`."""
    from evalscope.api.evaluator import Choices
    from evalscope.utils.multi_choices import parse_answers, parse_answers_zh

    class State:  # the one attribute the parser reads besides the completion
        def __init__(self, count: int) -> None:
            self.choices = Choices([str(i) for i in range(count)])

    cases = json.loads(PARSE_CASES.read_text(encoding="utf-8"))
    for case in cases:
        parse = parse_answers_zh if case.get("chinese") else parse_answers
        letters = parse(State(case["n"]), multiple_correct=case.get("multiple", False), completion=case["output"])
        case["evalscope"] = "".join(sorted(letters))
    PARSE_CASES.write_text(json.dumps(cases, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return len(cases)


def main() -> int:
    rows = json.loads((DATA / "rows.json").read_text(encoding="utf-8"))
    out = {name: record(name, spec) for name, spec in rows.items()}
    (DATA / "bodies.json").write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"recorded {sum(len(v) for v in out.values())} request bodies of {len(out)} benchmarks")
    print(f"recorded EvalScope's parse of {record_parses()} multiple-choice outputs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
