"""What a large evaluation run costs in memory, collection time and exit time, alone and under `-n 2`.

    python bench/eval_memory.py                  # 10k and 50k samples, -n 2 at 50k, 100k alone
    python bench/eval_memory.py --quick          # 2k and 10k samples, -n 2 at 10k, no 100k run

Every run is `pytest -m gsm8k` over a generated GSM8K file against one zero-latency loopback server
(every answer wrong: each item fails with its short message, the terminal's worst case), cache off.
A probe plugin (`-p`, loaded by the controller and by every xdist worker) writes, per process: the
collection time, the time of its last hook (`pytest_unconfigure`) and its peak RSS. Prints:

  1. bytes per sample: (peak RSS at the large N - peak RSS at the small N) / (difference in N);
  2. collection microseconds per item at the small and the large N, and their ratio (1.0 = linear);
  3. exit time: from the last hook of the large run to the end of the process;
  4. peak RSS summed over all processes under `-n 2` (controller + 2 workers) against the
     single-process run at the same N (goal <= 1.2x); then the same with each process's largest
     live child added (its HTTP client process; not the controller's: its children are the
     workers), that child's own peak RSS (`VmHWM`) read when its process finishes its last item
     (`RUSAGE_CHILDREN` would report a child as large as its parent was when it was forked);
  5. peak RSS of a 100,000-sample single-process run (goal < 400 MB);
  6. the same `-n 2` figures for bare pytest (the plugin installed, not enabled) over as many
     trivial passing parametrized items: what pytest-xdist's process model itself costs, the
     reference for figure 4; with each process's CPU seconds for both. (Passing: bare pytest with
     that many failures is quadratic, 61 s of CPU at 10,000 one-line failures here.)
  7. the floor of figure 4: `-n 2` runs two processes more than one run, and each holds at least
     what a bare pytest worker holds with one trivial item; so even with the samples' memory split
     and nothing held twice, `-n 2` costs at least (one run + 2 such workers) / one run. Printed
     with the size a single run must reach before 1.2x is possible at all, and this plugin's own
     per-process figures with 20 samples under `-n 2`.

Figures of one run are compared with each other only (ratios), never with another machine's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from _common import QUIET, bytecode_env, gsm8k_args  # type: ignore[import-not-found]

from pytest_llmeval.testing import FakeOpenAIServer, FakeServerConfig

PROBE = """
import json, os, resource, time
import pytest

_started = {}

@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_collection(session):
    _started["collect"] = time.perf_counter()
    try:
        return (yield)
    finally:
        _started["collected"] = time.perf_counter() - _started["collect"]
        _started["items"] = len(session.items)

def pytest_collection_finish(session):
    _started["last_item"] = session.items[-1].nodeid if session.items else None


def pytest_runtest_logfinish(nodeid, location):
    if nodeid == _started.get("last_item"):  # children still run: the HTTP child stops at sessionfinish
        _started["child_peak_rss_kb"] = largest_child_peak_kb()


def largest_child_peak_kb():
    import psutil
    largest = 0
    for child in psutil.Process().children(recursive=True):
        try:
            with open(f"/proc/{child.pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        largest = max(largest, int(line.split()[1]))
        except OSError:
            pass  # exited meanwhile
    return largest


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    write(session.config)  # an xdist worker may be torn down before its unconfigure hooks run


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    write(config)


def write(config):
    worker = getattr(config, "workerinput", {}).get("workerid", "main")
    out = {"role": worker, "collect_s": _started.get("collected"), "items": _started.get("items"),
           "last_hook": time.time(), "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
           "cpu_s": sum(resource.getrusage(resource.RUSAGE_SELF)[:2]),
           "child_peak_rss_kb": _started.get("child_peak_rss_kb", 0)}
    folder = os.environ["LLMEVAL_PROBE_DIR"]
    with open(os.path.join(folder, f"probe-{os.getpid()}.json"), "w") as handle:
        json.dump(out, handle)
"""


@dataclass
class Run:
    count: int
    workers: int
    wall_s: float
    exit_code: int
    end: float  # time.time() when the process was reaped
    probes: list[dict]

    @property
    def main(self) -> dict:
        return next(p for p in self.probes if p["role"] == "main")

    @property
    def rss_sum_mb(self) -> float:
        return sum(p["peak_rss_kb"] for p in self.probes) / 1024

    def per_role(self, key: str) -> str:
        """ "gw0 74 MB, gw1 74 MB, main 89 MB": a probe's figure `key` (kB) for each process."""
        return ", ".join(f"{p['role']} {p[key] // 1024} MB" for p in sorted(self.probes, key=lambda p: p["role"]))

    def cpu(self) -> str:
        """ "gw0 5.3 s, gw1 5.4 s, main 5.2 s": each process's CPU seconds (user + system)."""
        return ", ".join(f"{p['role']} {p['cpu_s']:.1f} s" for p in sorted(self.probes, key=lambda p: p["role"]))

    @property
    def rss_sum_with_children_mb(self) -> float:
        # an xdist controller's reaped children are its workers, counted already
        return sum(p["peak_rss_kb"] + self.own_child_kb(p) for p in self.probes) / 1024

    def own_child_kb(self, probe: dict) -> int:
        return 0 if self.workers and probe["role"] == "main" else int(probe["child_peak_rss_kb"])

    @property
    def collect_us_per_item(self) -> float:
        """Collection time per item of the process that collected (a worker under xdist)."""
        collected = [p for p in self.probes if p["items"]]
        probe = collected[0]
        return probe["collect_s"] / probe["items"] * 1e6

    @property
    def exit_s(self) -> float:
        return self.end - self.main["last_hook"]


def write_gsm8k(path: Path, count: int) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for i in range(count):
            question = (
                f"Natalia sold clips to {i} of her friends in April, and then she sold half as many clips "
                "in May. How many clips did Natalia sell altogether in April and May?"
            )
            handle.write(
                json.dumps(
                    {
                        "question": question,
                        "answer": f"She sold {i} and {i}/2.\n#### {i}",
                    }
                )
                + "\n"
            )
    return path


BARE_TESTS = """
import pytest

@pytest.mark.parametrize("i", range({count}))
def test_item(i):
    assert i >= 0
"""


def run(work: Path, server: FakeOpenAIServer, count: int, workers: int = 0) -> Run:
    data = work / f"gsm8k-{count}.jsonl"
    if not data.exists():
        write_gsm8k(data, count)
    return run_pytest(work, [*gsm8k_args(server.base_url, data), "--llm-concurrency", "64"], count, workers)


def run_bare(work: Path, count: int, workers: int = 0) -> Run:
    """Bare pytest over `count` trivial passing items (figure 6)."""
    tests = work / f"test_bare_{count}.py"
    if not tests.exists():
        tests.write_text(BARE_TESTS.format(count=count))
    return run_pytest(work, [str(tests)], count, workers)


def run_pytest(work: Path, arguments: list[str], count: int, workers: int) -> Run:
    probes = Path(tempfile.mkdtemp(dir=work))
    env = bytecode_env()
    env["LLMEVAL_PROBE_DIR"] = str(probes)
    env["PYTHONPATH"] = os.pathsep.join([str(work), env.get("PYTHONPATH", "")])
    args = [sys.executable, "-m", "pytest", "-p", "llmeval_memprobe", *arguments, *QUIET]
    if workers:
        args += ["-n", str(workers)]
    started = time.perf_counter()
    process = subprocess.Popen(args, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, _ = os.wait4(process.pid, 0)
    end = time.time()
    wall = time.perf_counter() - started
    found = [json.loads(path.read_text()) for path in probes.glob("probe-*.json")]
    return Run(count, workers, wall, os.waitstatus_to_exitcode(status), end, found)


def floor(work: Path, server: FakeOpenAIServer, alone: Run) -> None:
    """Figure 7: the least `-n 2` can cost at `alone`'s size. Two more processes than one run, each
    at least what pytest with xdist holds with nothing to run (a worker of bare pytest over one
    trivial item), even if the samples' memory were split with no byte held twice."""
    bare = run_bare(work, 1, workers=2)
    ours = run(work, server, 20, workers=2)
    workers = [p for p in bare.probes if p["role"] != "main"]
    bare_worker_mb = sum(p["peak_rss_kb"] for p in workers) / 1024 / max(len(workers), 1)
    extra_mb = 2 * bare_worker_mb
    print(
        f"7. the floor of -n 2 at {alone.count}: two processes more, each >= {bare_worker_mb:.0f} MB "
        f"(a bare pytest -n 2 worker with one item; this plugin's, with 20 samples: "
        f"{ours.per_role('peak_rss_kb')})   least ratio ({alone.rss_sum_mb:.0f} + {extra_mb:.0f}) / "
        f"{alone.rss_sum_mb:.0f} = {(alone.rss_sum_mb + extra_mb) / alone.rss_sum_mb:.2f}x; 1.2x needs one "
        f"process of >= {extra_mb / 0.2:.0f} MB alone"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=50_000)
    parser.add_argument("--huge", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="2k/10k, no 100k run")
    args = parser.parse_args()
    if args.quick:
        args.small, args.large, args.huge = 2_000, 10_000, 0
    with (
        tempfile.TemporaryDirectory() as tmp,
        FakeOpenAIServer(FakeServerConfig(fixed_reply="\\boxed{-1}")) as server,
    ):
        work = Path(tmp)
        load_start = os.getloadavg()[0]
        (work / "pytest.ini").write_text("[pytest]\n")
        (work / "llmeval_memprobe.py").write_text(PROBE)
        run(work, server, 200)  # warm-up: bytecode caches
        small = run(work, server, args.small)
        large = run(work, server, args.large)
        parallel = run(work, server, args.large, workers=2)
        sent = server.stats()["chat_requests"]
        expected = 200 + args.small + 2 * args.large
        per_sample = (large.main["peak_rss_kb"] - small.main["peak_rss_kb"]) * 1024 / (args.large - args.small)
        print(f"load average at start: {load_start:.2f}")
        print(
            f"requests sent {sent} (expected {expected}: one per sample), exit codes "
            f"{small.exit_code}/{large.exit_code}/{parallel.exit_code} (1 = wrong answers, as meant)"
        )
        print(
            f"1. memory per sample          {per_sample:8.0f} bytes   "
            f"(peak RSS {small.main['peak_rss_kb'] // 1024} MB at {args.small}, "
            f"{large.main['peak_rss_kb'] // 1024} MB at {args.large})"
        )
        ratio = large.collect_us_per_item / small.collect_us_per_item
        print(
            f"2. collection                 {small.collect_us_per_item:8.1f} us/item at {args.small}, "
            f"{large.collect_us_per_item:.1f} us/item at {args.large}   ratio {ratio:.2f} (1.0 = linear)"
        )
        print(f"3. exit after last hook       {large.exit_s:8.2f} s at {args.large} (wall {large.wall_s:.1f} s)")
        if len(parallel.probes) < 3:  # workers write at sessionfinish too (they may not reach unconfigure)
            print(f"   warning: only {len(parallel.probes)} of 3 processes wrote a probe; figure 4 is incomplete")
        roles = parallel.per_role("peak_rss_kb")
        print(
            f"4. -n 2 peak RSS, all procs   {parallel.rss_sum_mb:8.0f} MB vs {large.rss_sum_mb:.0f} MB alone   "
            f"ratio {parallel.rss_sum_mb / large.rss_sum_mb:.2f}x (goal <= 1.2x; {roles}); "
            f"wall {parallel.wall_s:.1f} s vs {large.wall_s:.1f} s"
        )
        children = ", ".join(f"{p['role']} {parallel.own_child_kb(p) // 1024} MB" for p in parallel.probes)
        print(
            f"   with their largest children {parallel.rss_sum_with_children_mb:5.0f} MB vs "
            f"{large.rss_sum_with_children_mb:.0f} MB alone   ratio "
            f"{parallel.rss_sum_with_children_mb / large.rss_sum_with_children_mb:.2f}x (children: {children}; "
            f"alone {large.main['child_peak_rss_kb'] // 1024} MB)"
        )
        print(f"   CPU seconds: -n 2 {parallel.cpu()}; alone {large.cpu()}")
        if args.huge:
            huge = run(work, server, args.huge)
            print(
                f"5. {args.huge} samples, 1 proc  {huge.main['peak_rss_kb'] / 1024:8.0f} MB peak RSS (goal < 400 MB), "
                f"exit after last hook {huge.exit_s:.2f} s, wall {huge.wall_s:.1f} s, exit code {huge.exit_code}"
            )
        bare_alone, bare_parallel = run_bare(work, args.large), run_bare(work, args.large, workers=2)
        print(
            f"6. bare pytest, {args.large} trivial items: -n 2 peak RSS, all procs "
            f"{bare_parallel.rss_sum_mb:.0f} MB vs {bare_alone.rss_sum_mb:.0f} MB alone   ratio "
            f"{bare_parallel.rss_sum_mb / bare_alone.rss_sum_mb:.2f}x ({bare_parallel.per_role('peak_rss_kb')}); "
            f"wall {bare_parallel.wall_s:.1f} s vs {bare_alone.wall_s:.1f} s"
        )
        print(f"   CPU seconds: -n 2 {bare_parallel.cpu()}; alone {bare_alone.cpu()}")
        floor(work, server, large)
        print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
