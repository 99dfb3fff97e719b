"""Image samples against the loopback server: requests per second and peak memory.

    python bench/multimodal_throughput.py [--n 1000] [--memory-n 10000] [--side 512]

1. N MathVista-shaped samples, each with its own SIDExSIDE PNG, run with `-m math_vista` against
   a zero-latency loopback server: samples/s for the whole run (collection spools the images,
   each request carries one base64 image), next to the same N text-only GSM8K samples.
2. Peak RSS of a run with `--memory-n` image samples (target < 1 GB): images are spooled to disk
   at collection and read back only when their request is built, so memory stays flat.
"""

from __future__ import annotations

import argparse
import io
import json
import random
from pathlib import Path

from _common import QUIET, run_pytest, work_folder, write_gsm8k  # type: ignore[import-not-found]
from PIL import Image

from pytest_llmeval.testing import FakeOpenAIServer, FakeServerConfig


def write_math_vista(folder: Path, count: int, side: int) -> Path:
    (folder / "images").mkdir(parents=True, exist_ok=True)
    rng = random.Random(0)
    with (folder / "testmini.jsonl").open("w") as rows:
        for i in range(count):
            buffer = io.BytesIO()
            # noise, so no two images compress alike or share a hash
            Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3)).save(
                buffer, format="PNG", compress_level=1
            )
            (folder / "images" / f"{i}.png").write_bytes(buffer.getvalue())
            rows.write(
                json.dumps(
                    {
                        "pid": str(i),
                        "question": f"What is {i} + 1?",
                        "image": f"images/{i}.png",
                        "choices": None,
                        "precision": None,
                        "answer": str(i + 1),
                        "question_type": "free_form",
                        "answer_type": "integer",
                        "metadata": {"task": "math word problem"},
                    }
                )
                + "\n"
            )
    return folder / "testmini.jsonl"


def args_for(server: FakeOpenAIServer, bench: str, data: Path, work: Path) -> list[str]:
    subset = ["--llm-bench-arg", "math_vista.subset_list=free_form"] if bench == "math_vista" else []
    return [
        "--llm-model",
        "vl",
        "--llm-base-url",
        server.base_url,
        "-m",
        bench,
        "--llm-dataset",
        f"{bench}={data}",
        *subset,
        "--llm-concurrency",
        "32",
        "--llm-cache-dir",
        str(work / "cache"),
        *QUIET,
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--memory-n", type=int, default=10_000)
    parser.add_argument("--side", type=int, default=512)
    args = parser.parse_args()
    with work_folder() as work, FakeOpenAIServer(FakeServerConfig(fixed_reply="\\boxed{1}")) as server:
        vista = write_math_vista(work / "vista", args.n, args.side)
        text = write_gsm8k(work / "gsm8k.jsonl", args.n)
        wall_text, _, rss_text = run_pytest(args_for(server, "gsm8k", text, work / "t"), work)
        wall_img, code, rss_img = run_pytest(args_for(server, "math_vista", vista, work / "i"), work)
        image_kb = sum(p.stat().st_size for p in (work / "vista" / "images").iterdir()) / args.n / 1024
        print(f"1. N={args.n} samples, {args.side}x{args.side} PNG images (~{image_kb:.0f} KB each), exit {code}")
        print(f"   text-only gsm8k   {wall_text:7.2f} s  {args.n / wall_text:7.1f} samples/s  peak RSS {rss_text} MB")
        print(
            f"   math_vista images {wall_img:7.2f} s  {args.n / wall_img:7.1f} samples/s  peak RSS {rss_img} MB"
            f"  ratio {wall_img / wall_text:4.2f}x"
        )
        if args.memory_n:
            big = write_math_vista(work / "big", args.memory_n, args.side)
            wall, code, rss = run_pytest(args_for(server, "math_vista", big, work / "b"), work)
            print(
                f"2. memory: {args.memory_n} image samples, exit {code}, {wall:.1f} s, "
                f"peak RSS {rss} MB (target < 1024 MB)"
            )


if __name__ == "__main__":
    main()
