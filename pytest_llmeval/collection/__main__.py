"""`python -m pytest_llmeval.collection build SCHEMA -n N --seed S -o OUT.jsonl`

Builds a collection file from a schema (YAML or JSON) and prints how many samples it took from each
dataset. Data options have the names and meaning of the plugin's own: `--llm-dataset NAME=PATH`
(repeatable) reads local files instead of the hub, `--llm-bench-arg BENCH.KEY=VALUE` is applied to
every leaf of that benchmark (a leaf's own `args` win). Usage errors exit with status 4.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import ConfigError, LLMEvalError
from .builder import build_collection, count_lines, write_collection
from .sampler import SAMPLERS
from .schema import load_schema

USAGE_ERROR = 4


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m pytest_llmeval.collection", description=__doc__.split("\n\n")[0])
    commands = top.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="sample a collection file from a schema")
    build.add_argument("schema", type=Path, help="collection schema, .yaml/.yml or .json")
    build.add_argument("-n", type=int, required=True, help="number of samples (more than there are: take all, once)")
    build.add_argument("--seed", type=int, default=42, help="sampling seed (default 42)")
    build.add_argument(
        "--sampler", choices=SAMPLERS, default="weighted", help="how counts are split (default weighted)"
    )
    build.add_argument("-o", "--output", type=Path, required=True, help="collection .jsonl to write")
    build.add_argument(
        "--llm-dataset",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="read a local jsonl/json/csv/parquet file or folder instead of the hub; repeatable",
    )
    build.add_argument(
        "--llm-bench-arg",
        action="append",
        default=[],
        metavar="BENCH.KEY=VALUE",
        help="benchmark argument for every leaf of BENCH (a leaf's own args win); repeatable",
    )
    build.add_argument(
        "--llm-hub",
        default=None,
        metavar="auto|huggingface|modelscope",
        help="dataset hub, as the plugin's option (default auto: each benchmark's home)",
    )
    return top


def main(argv: list[str] | None = None) -> int:
    from ..options import check_hub, parse_bench_args, split_pair

    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # argparse prints its own message; usage errors are status 4 here
        return USAGE_ERROR if exc.code not in (0, None) else 0
    try:
        if args.n < 1:  # -n 0 wrote an empty file, whose run was "no tests ran"
            raise ConfigError(f"-n must be 1 or more (the samples to take in total), got {args.n}")
        if args.output.is_dir():  # checked before the (possibly long) build
            raise ConfigError(
                f"-o {args.output} is a folder; pass the collection file to write, "
                f"e.g. -o {args.output / 'collection.jsonl'}"
            )
        datasets = dict(split_pair(item, "--llm-dataset") for item in args.llm_dataset)
        schema = load_schema(args.schema)
        records, counts = build_collection(
            schema,
            args.n,
            seed=args.seed,
            sampler=args.sampler,
            datasets=datasets,
            base_dir=Path.cwd(),
            bench_args=parse_bench_args(args.llm_bench_arg),
            hub=check_hub(args.llm_hub),
        )
        try:
            write_collection(records, args.output)
        except OSError as exc:
            raise ConfigError(f"cannot write -o {args.output}: {exc.strerror or exc}") from None
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except LLMEvalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for line in count_lines(counts, args.sampler):
        print(line)
    print(f"wrote {len(records)} records to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
