"""Collection schemas and samplers: shares down a tree, determinism, oversized n, the build CLI."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator

import pytest

from pytest_llmeval.benchmarks import (
    Benchmark,
    RecordLoader,
    Sample,
    Score,
    register_benchmark,
    unregister_benchmark,
)
from pytest_llmeval.collection import (
    Collection,
    Dataset,
    allot,
    build_collection,
    load_schema,
    write_collection,
)
from pytest_llmeval.errors import CollectionError, ConfigError, LLMEvalError
from tests.collection import build_cli
from tests.conftest import IQUIZ_ROWS


def sized_benchmark(name: str, size: int) -> type[Benchmark]:
    """A throwaway benchmark of `size` distinct in-memory samples."""

    class Sized(Benchmark):
        task_type = "toy"
        default_args = {"few_shot_num": "0"}

        def load(self, subset: str, loader: RecordLoader) -> Iterator[Sample]:
            for i in range(size):
                yield Sample(id=f"{name}-{i}", subset=subset, input=f"{name} question {i}", target=str(i))

        def score(self, sample: Sample, output: str) -> Score:
            return Score(
                passed=output.strip() == sample.target, metrics={"acc": float(output.strip() == sample.target)}
            )

    Sized.name = name
    Sized.__qualname__ = f"Sized_{name}"
    return Sized


@pytest.fixture
def toy_benchmarks() -> Iterator[dict[str, int]]:
    sizes = {"toy_a1": 5000, "toy_a2": 5000, "toy_b1": 5000, "toy_c1": 5000, "toy_small": 7}
    for name, size in sizes.items():
        register_benchmark(sized_benchmark(name, size))
    yield sizes
    for name in sizes:
        unregister_benchmark(name)


THREE_LEVELS = {
    "name": "root",
    "children": [
        {
            "name": "A",
            "weight": 1,
            "children": [
                {"name": "A.x", "weight": 1, "children": [{"name": "toy_a1", "weight": 1}]},
                {"name": "A.y", "weight": 3, "children": [{"name": "toy_a2", "weight": 1}]},
            ],
        },
        {
            "name": "B",
            "weight": 2,
            "datasets": [  # the reference system's key for children
                {"name": "toy_b1", "weight": 1, "task_type": "math", "tags": ["en"]},
                {"name": "toy_c1", "weight": 1, "args": {"few_shot_num": 0}},
            ],
        },
    ],
}


def test_shares_multiply_normalised_weights_down_the_tree():
    leaves = Collection.from_mapping(THREE_LEVELS).flatten()
    shares = {leaf.name: leaf.share for leaf in leaves}
    assert shares == pytest.approx(
        {"toy_a1": 1 / 3 * 1 / 4, "toy_a2": 1 / 3 * 3 / 4, "toy_b1": 2 / 3 / 2, "toy_c1": 2 / 3 / 2}
    )
    assert math.isclose(sum(shares.values()), 1.0)
    assert [leaf.categories for leaf in leaves][:2] == [["root", "A", "A.x"], ["root", "A", "A.y"]]


def test_docs_worked_example_shares():
    schema = Collection(
        name="root",
        children=[
            Collection(name="A", weight=1, children=[Dataset(name="a1", weight=1), Dataset(name="a2", weight=3)]),
            Collection(name="B", weight=3, children=[Dataset(name="b1")]),
        ],
    )
    assert [leaf.share for leaf in schema.flatten()] == pytest.approx([1 / 16, 3 / 16, 12 / 16])


def test_weighted_draws_match_the_computed_shares(toy_benchmarks):
    schema = Collection.from_mapping(THREE_LEVELS)
    n = 10_000
    records, counts = build_collection(schema, n, seed=7)
    assert len(records) == n
    drawn = Counter(record.dataset_name for record in records)
    for leaf in schema.flatten():
        expected = n * leaf.share
        sigma = math.sqrt(n * leaf.share * (1 - leaf.share))
        assert abs(drawn[leaf.name] - expected) <= 3 * sigma, (leaf.name, drawn[leaf.name], expected)
        assert abs(drawn[leaf.name] - expected) <= 1  # largest remainder: the quota, rounded
    assert {c.name: c.taken for c in counts} == dict(drawn)
    # no sample twice; categories, task type, tags and weights carried onto the records
    assert len({(r.dataset_name, r.prompt["id"]) for r in records}) == n
    b1 = next(r for r in records if r.dataset_name == "toy_b1")
    assert (b1.categories, b1.task_type, b1.tags) == (["root", "B"], "math", ["en"])
    assert next(r for r in records if r.dataset_name == "toy_a1").task_type == "toy"  # the benchmark's own
    assert sum(r.weight for r in records) == pytest.approx(1.0)
    assert [r.index for r in records] == list(range(n))


def test_same_seed_same_bytes_other_seed_other_choice(toy_benchmarks, tmp_path):
    schema = Collection.from_mapping(THREE_LEVELS)
    paths = []
    for name, seed in (("one", 42), ("two", 42), ("three", 43)):
        records, _ = build_collection(schema, 500, seed=seed)
        write_collection(records, tmp_path / f"{name}.jsonl")
        paths.append(tmp_path / f"{name}.jsonl")
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()


@pytest.mark.parametrize("sampler", ["weighted", "stratified", "uniform"])
def test_oversized_n_takes_everything_exactly_once(toy_benchmarks, sampler):
    schema = Collection(name="all", children=[Dataset(name="toy_small", weight=5), Dataset(name="toy_a1")])
    records, counts = build_collection(schema, 100_000_000, seed=1, sampler=sampler)
    ids = [(r.dataset_name, r.prompt["id"]) for r in records]
    assert len(ids) == len(set(ids)) == 5007
    assert {c.name: (c.available, c.taken) for c in counts} == {"toy_small": (7, 7), "toy_a1": (5000, 5000)}


def test_a_small_dataset_gives_all_and_the_rest_goes_elsewhere(toy_benchmarks):
    schema = Collection(name="all", children=[Dataset(name="toy_small", weight=1), Dataset(name="toy_a1", weight=1)])
    records, counts = build_collection(schema, 100, seed=1)
    assert {c.name: c.taken for c in counts} == {"toy_small": 7, "toy_a1": 93}
    assert len({r.prompt["id"] for r in records}) == 100


def test_stratified_follows_sizes_and_uniform_is_equal():
    assert allot(100, [3000.0, 1000.0], [3000, 1000]) == [75, 25]
    assert allot(99, [1.0, 1.0, 1.0], [10, 1000, 1000]) == [10, 45, 44]
    assert allot(10, [1.0, 1.0], [0, 5]) == [0, 5]
    assert sum(allot(1001, [0.2, 0.3, 0.5], [10**6] * 3)) == 1001


def test_unknown_benchmark_and_bad_fields_are_collection_errors(tmp_path):
    with pytest.raises(CollectionError, match="not registered"):
        build_collection(Collection(name="x", children=[Dataset(name="no_such_bench")]), 10)
    with pytest.raises(CollectionError, match=r"children\.0\.wieght"):
        Collection.from_mapping({"name": "x", "children": [{"name": "gsm8k", "wieght": 2}]})
    with pytest.raises(CollectionError, match="weight"):
        Collection.from_mapping({"name": "x", "children": [{"name": "gsm8k", "weight": -1}]})
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(CollectionError, match="not valid YAML"):
        load_schema(bad)


def test_a_few_shot_count_on_a_zero_shot_benchmark_is_an_error_unless_zero(iquiz_dir):
    # iquiz has no few-shot split (gsm8k has one since its evalscope protocol is 4-shot)
    leaf = Collection(name="x", children=[Dataset(name="iquiz", args={"few_shot_num": 3})])
    with pytest.raises(ConfigError, match="few_shot_num"):
        build_collection(leaf, 10, datasets={"iquiz": str(iquiz_dir)})
    leaf = Collection(name="x", children=[Dataset(name="iquiz", args={"few_shot_num": 0})])
    records, _ = build_collection(leaf, 10, datasets={"iquiz": str(iquiz_dir)})
    assert len(records) == sum(len(rows) for rows in IQUIZ_ROWS.values())


def test_build_cli_offline_from_local_files(tmp_path, gsm8k_file, iquiz_dir):
    schema = tmp_path / "schema.yaml"
    schema.write_text(
        "name: Mini\n"
        "children:\n"
        "  - name: Math\n    weight: 1\n    children:\n"
        "      - {name: gsm8k, task_type: math, tags: [en]}\n"
        "  - name: Chinese\n    weight: 1\n    children:\n"
        "      - {name: iquiz, task_type: exam, tags: [zh], args: {subset_list: [IQ, EQ]}}\n",
        encoding="utf-8",
    )
    outputs = []
    for name in ("a", "b"):
        out = tmp_path / f"{name}.jsonl"
        run = build_cli(
            schema,
            "-n",
            "1000",
            "--seed",
            "42",
            "-o",
            str(out),
            "--llm-dataset",
            f"gsm8k={gsm8k_file}",
            "--llm-dataset",
            f"iquiz={iquiz_dir}",
            cwd=tmp_path,
        )
        assert run.returncode == 0, run.stderr
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert "Mini/Math" in run.stdout and "gsm8k" in run.stdout and "wrote 8 records" in run.stdout
    lines = [json.loads(line) for line in outputs[0].decode().splitlines()]
    assert Counter(line["dataset_name"] for line in lines) == {"gsm8k": 4, "iquiz": 4}
    first = lines[0]
    assert set(first) >= {"index", "prompt", "tags", "categories", "task_type", "weight", "dataset_name", "subset_name"}
    assert first["categories"] == ["Mini", "Math"] and "\\boxed" in first["prompt"]["input"]
    assert {line["subset_name"] for line in lines if line["dataset_name"] == "iquiz"} == {"IQ", "EQ"}


def test_build_cli_usage_errors_exit_4(tmp_path):
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps({"name": "x", "children": [{"name": "nope"}]}))
    run = build_cli(schema, "-n", "5", "-o", str(tmp_path / "o.jsonl"))
    assert run.returncode == 4 and "'nope'" in run.stderr and "Traceback" not in run.stderr
    run = build_cli(tmp_path / "missing.yaml", "-n", "5", "-o", str(tmp_path / "o.jsonl"))
    assert run.returncode == 4 and "missing.yaml': no such file; pass a .yaml or .json file" in run.stderr
    run = build_cli(schema, "-n", "0", "-o", str(tmp_path / "o.jsonl"))  # it wrote an empty file, exit 0
    assert run.returncode == 4 and "-n must be 1 or more" in run.stderr and not (tmp_path / "o.jsonl").exists()


def test_a_multimodal_leaf_without_data_is_a_dataset_error_not_a_silent_skip(tmp_path):
    # images are carried inline (tests/multimodal/test_collection_vl.py); with no data, one clear error
    missing = tmp_path / "nowhere.jsonl"
    with pytest.raises(LLMEvalError, match="nowhere"):
        build_collection(
            Collection(name="VL", children=[Dataset(name="math_vista")]), 10, datasets={"math_vista": str(missing)}
        )
