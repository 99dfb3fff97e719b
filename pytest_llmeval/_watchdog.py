"""Parent-death watchdog: ``python -I _watchdog.py PGID GRACE_S`` with stdin = the read end of a pipe.

Standard library only (it is run by path, not imported). It waits for EOF on stdin, which happens
when the process holding the write end (the plugin) exits in any way, then stops process group
PGID: SIGTERM, then SIGKILL after GRACE_S seconds. It also exits quietly when the group is already
gone. Started and released by :class:`pytest_llmeval.processes.Watchdog`.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import time


def alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def watch(pgid: int, grace_s: float) -> int:
    while True:
        ready, _, _ = select.select([0], [], [], 1.0)
        if ready and not os.read(0, 1):
            break  # EOF: the owner died (or closed the pipe)
        if not alive(pgid):
            return 0
    for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 0.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return 0
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and alive(pgid):
            time.sleep(0.1)
    return 0


if __name__ == "__main__":
    sys.exit(watch(int(sys.argv[1]), float(sys.argv[2])))
