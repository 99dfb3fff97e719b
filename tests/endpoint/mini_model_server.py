"""A tiny server for the launcher tests: answers GET /v1/models, with knobs for misbehaving.

Not a test module (no ``test_`` prefix); the tests run it as ``python mini_model_server.py ...``.

  --port N / --model NAME     where to listen, which id /v1/models reports
  --ready-after S             sleep S seconds before binding (a slow model load)
  --loading-for S             bind at once but answer 503 for S seconds (llama-server while loading)
  --status N                  answer /v1/models with status N (e.g. 401 for a key-protected server)
  --grandchild-pidfile PATH   start a grandchild (same process group) and write its pid there
  --stubborn                  ignore SIGTERM (it and its grandchild), so only SIGKILL ends them
  --fail-bind-once PATH       if PATH does not exist: create it, print the uvicorn-style
                              "address already in use" error and exit 1 (next start succeeds)
  --die-on-chat SIG           answer POST /v1/chat/completions ("The answer is 5.") until request
                              --die-after N arrives, then kill itself with signal SIG (4 = SIGILL, what
                              a llama.cpp built for another CPU does on its first request)
  --die-after N               see --die-on-chat (default 1: the first chat request)
  --chat-delay S              wait S seconds before answering a chat request
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model", default="mini")
    parser.add_argument("--ready-after", type=float, default=0.0)
    parser.add_argument("--loading-for", type=float, default=0.0)
    parser.add_argument("--status", type=int, default=200)
    parser.add_argument("--grandchild-pidfile", type=Path)
    parser.add_argument("--stubborn", action="store_true")
    parser.add_argument("--fail-bind-once", type=Path)
    parser.add_argument("--die-on-chat", type=int)
    parser.add_argument("--die-after", type=int, default=1)
    parser.add_argument("--chat-delay", type=float, default=0.0)
    args = parser.parse_args()
    chats = [0]

    if args.fail_bind_once is not None and not args.fail_bind_once.exists():
        args.fail_bind_once.write_text("failed once")
        print(
            f"ERROR:    [Errno 98] error while attempting to bind on address ('127.0.0.1', {args.port}): "
            "address already in use",
            flush=True,
        )
        sys.exit(1)
    if args.stubborn:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if args.grandchild_pidfile is not None:
        code = "import signal, time\n"
        if args.stubborn:
            code += "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        code += "time.sleep(3600)\n"
        child = subprocess.Popen([sys.executable, "-c", code])
        args.grandchild_pidfile.write_text(str(child.pid))
    time.sleep(args.ready_after)

    loaded_at = time.monotonic() + args.loading_for
    body = json.dumps({"object": "list", "data": [{"id": args.model, "object": "model"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status = args.status if self.path == "/v1/models" else 404
            if time.monotonic() < loaded_at:
                status = 503
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            chats[0] += 1
            if args.die_on_chat is not None and chats[0] >= args.die_after:
                print(f"chat request {chats[0]}: dying with signal {args.die_on_chat}", flush=True)
                os.kill(os.getpid(), args.die_on_chat)
                # The signal may be handled by another thread a moment later: never answer meanwhile
                # (a fast client would otherwise get this reply from a server that is dying).
                time.sleep(60)
            time.sleep(args.chat_delay)
            reply = json.dumps(
                {
                    "object": "chat.completion",
                    "model": args.model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": "The answer is 5."},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9},
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *values: object) -> None:
            print(format % values, flush=True)

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"mini server pid {os.getpid()} listening on {args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
