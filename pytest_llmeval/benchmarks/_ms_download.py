"""The `modelscope` client's download of checked files, in a child process (`hubs.modelscope_snapshot`).

Why a process: the client stops a slow file only after its low-speed window (60 s) and several
retries, and a read in progress does not see its own deadline, so a hub that trickles bytes holds a
download for many minutes. The parent kills this process when the run's deadline
(`LLMEVAL_HUB_TIMEOUT`) passes; the client's own checks (each file no larger than its listed size,
its hash) still apply inside.

Input (stdin, JSON): `dataset_id`, `endpoint`, `patterns`, `files` (listing entries, already checked:
`hub_limits.safe_repo_path` and the size limit). Output (stdout, one JSON line): `{"folder": PATH}`,
or `{"error": TYPE, "message": TEXT, "failures": {path: TYPE}}`.
"""

from __future__ import annotations

import json
import sys


def main() -> int:
    request = json.loads(sys.stdin.read())
    try:
        from modelscope_hub.api import HubApi

        folder = HubApi(endpoint=request["endpoint"]).download_repo(
            request["dataset_id"], "dataset", allow_patterns=request["patterns"], file_list=request["files"]
        )
        answer: dict[str, object] = {"folder": str(folder)}
    except Exception as exc:  # every failure goes back to the parent, which words it for the user
        failures = getattr(exc, "failed_files", None) or {}
        answer = {
            "error": type(exc).__name__,
            "message": (str(exc).splitlines() or [""])[0][:300],
            "failures": {str(path): type(error).__name__ for path, error in failures.items()},
        }
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
