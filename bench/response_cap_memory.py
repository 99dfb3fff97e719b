"""Peak memory of a run whose server streams without end, with and without `--llm-max-response-bytes`.

    python bench/response_cap_memory.py            # 4 samples; the uncapped run is stopped by a 5 s timeout
    python bench/response_cap_memory.py --uncapped-timeout 10

Prints, all measured in this one run on this machine, the peak RSS (ru_maxrss of the pytest process)
of: a healthy run of the same samples (baseline); endless SSE with the default cap (16 MiB); with a
1 MiB cap; and with the cap lifted (1 TB), where only `--llm-timeout` ends each request. Target: the
capped runs stay within a small multiple of the baseline (the body never exceeds the cap), while the
uncapped run grows with whatever the server sends.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

CHUNK = ("data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": "x" * 4000}}]}) + "\n\n").encode() * 16


class EndlessHandler(BaseHTTPRequestHandler):
    endless = True

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        self._send(200, {"data": [{"id": "m"}]})

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        try:
            if not self.endless:
                chunk = {"choices": [{"index": 0, "delta": {"content": "\\boxed{1}"}, "finish_reason": "stop"}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode())
                return
            while True:
                self.wfile.write(CHUNK)
        except OSError:
            pass
        self.close_connection = True


def peak_rss_mb(port: int, data: Path, cwd: Path, *args: str) -> tuple[float, str]:
    command = [sys.executable, "-m", "pytest", "--llm-model", "m", "--llm-base-url", f"http://127.0.0.1:{port}/v1",
               "-p", "no:randomly", "-p", "no:cacheprovider", "-m", "gsm8k", "--llm-dataset", f"gsm8k={data}",
               "--llm-stream", "--llm-retries", "0", "--llm-no-cache", "-q", *args]
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = process.stdout.read().decode()  # type: ignore[union-attr]
    _, _, usage = os.wait4(process.pid, 0)
    return usage.ru_maxrss / 1024, out.strip().splitlines()[-1] if out.strip() else ""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--uncapped-timeout", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        data = cwd / "g.jsonl"
        data.write_text("".join(json.dumps({"question": f"q{i}", "answer": "#### 1"}) + "\n" for i in range(args.samples)))
        healthy = type("Healthy", (EndlessHandler,), {"endless": False})
        figures = {}
        for label, handler, extra in [
            ("healthy run (baseline)", healthy, ()),
            ("endless stream, default cap 16 MiB", EndlessHandler, ()),
            ("endless stream, cap 1 MiB", EndlessHandler, ("--llm-max-response-bytes", str(2**20))),
            (f"endless stream, no cap ({args.uncapped_timeout:g} s timeout)", EndlessHandler,
             ("--llm-max-response-bytes", str(10**12), "--llm-timeout", str(args.uncapped_timeout), "--llm-concurrency", "1")),
        ]:
            server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()
            try:
                figures[label], summary = peak_rss_mb(server.server_address[1], data, cwd, *extra)
            finally:
                server.shutdown()
                server.server_close()
            print(f"{label:<45} peak RSS {figures[label]:8.0f} MB  ({summary})")
        base = figures["healthy run (baseline)"]
        for label, value in figures.items():
            print(f"{label:<45} {value / base:6.2f}x baseline")


if __name__ == "__main__":
    main()
