"""How exact the perf figures are: measured TTFT and ITL against a server that injects known values.

    python bench/perf_accuracy.py                  # concurrency 1, 16, 64, 128, then higher until it breaks
    python bench/perf_accuracy.py --tokens 64 --max 1024

Our loopback server injects TTFT = 50 ms and ITL = 10 ms and records what it really did (its own
clock, from the moment the request was read to each write: `/_stats` timings). For each
concurrency (closed loop, 4 x concurrency requests, in the worker process as in real runs) this
prints the client's TTFT p50 and ITL p50, their error against the injected values and against
what the server realised, and the client's CPU load. Targets: TTFT p50 within 2 ms and ITL p50
within 1 ms of the truth at loads the client can sustain. The last line is the highest concurrency
where both errors (against the realised truth) stay under those bounds.
"""

from __future__ import annotations

import argparse
import statistics

from pytest_llmeval.perf.load import make_spec
from pytest_llmeval.perf.runner import PerfJob, run
from pytest_llmeval.testing import FakeOpenAIServer, FakeServerConfig

TTFT, ITL = 0.050, 0.010
TTFT_BOUND, ITL_BOUND = 0.002, 0.001
REQUIRED = (1, 16, 64, 128)
BEYOND = (192, 256, 384, 512, 768, 1024)


def measure(server: FakeOpenAIServer, concurrency: int, tokens: int) -> dict[str, float]:
    number = max(4 * concurrency, 32)
    spec = make_spec(
        {
            "parallel": concurrency,
            "number": number,
            "prompt_tokens": 16,
            "output_tokens": tokens,
            "extra_body": {"ignore_eos": True},
            "warmup": min(concurrency, 32),
        }
    )
    job = PerfJob(
        spec=spec,
        model="fake-model",
        chat_url=server.base_url + "/chat/completions",
        models_url=server.base_url + "/models",
    )
    server.reset()
    result = run(job, "process")[0]
    streams = server.stats()["timings"]["streams"]
    assert result.ok == number and result.ttft.p50 is not None and result.itl.p50 is not None, result.errors
    assert result.client_cpu_s is not None
    real_ttft = statistics.median(s[0] for s in streams[-number:])
    real_itl = statistics.median(s[1] for s in streams[-number:])
    return {
        "ttft": result.ttft.p50,
        "itl": result.itl.p50,
        "real_ttft": real_ttft,
        "real_itl": real_itl,
        "cpu": result.client_cpu_s / result.duration_s,
        "rate": result.request_throughput,
        "chunks": result.itl.count / result.duration_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=32, help="output tokens per request (default 32)")
    parser.add_argument("--max", type=int, default=1024, help="highest concurrency tried beyond 128")
    args = parser.parse_args()
    print(
        f"injected TTFT {TTFT * 1000:.0f} ms, ITL {ITL * 1000:.0f} ms, {args.tokens} tokens per request; "
        "errors of the p50s"
    )
    print(
        "  conc   TTFT p50   err vs injected / realised    ITL p50   err vs injected / realised   client CPU   chunks/s"
    )
    best = 0
    with FakeOpenAIServer(FakeServerConfig(ttft_s=TTFT, itl_s=ITL)) as server:
        for concurrency in [*REQUIRED, *(c for c in BEYOND if c <= args.max)]:
            m = measure(server, concurrency, args.tokens)
            ttft_err, itl_err = m["ttft"] - m["real_ttft"], m["itl"] - m["real_itl"]
            within = abs(ttft_err) < TTFT_BOUND and abs(itl_err) < ITL_BOUND
            print(
                f"  {concurrency:4d}  {m['ttft'] * 1000:8.2f} ms   {(m['ttft'] - TTFT) * 1000:+7.2f}"
                f" / {ttft_err * 1000:+6.2f} ms"
                f"          {m['itl'] * 1000:6.2f} ms   {(m['itl'] - ITL) * 1000:+6.2f} / {itl_err * 1000:+6.2f} ms"
                f"              {m['cpu']:5.0%}   {m['chunks']:8.0f}  {'ok' if within else 'OVER'}"
            )
            if within and concurrency > best:
                best = concurrency
            if not within and concurrency > REQUIRED[-1]:
                break
    print(
        f"highest concurrency with TTFT error < {TTFT_BOUND * 1000:.0f} ms and ITL error < {ITL_BOUND * 1000:.0f} ms "
        f"(vs the server's realised timings): {best}"
    )


if __name__ == "__main__":
    main()
