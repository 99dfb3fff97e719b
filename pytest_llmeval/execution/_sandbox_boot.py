"""The sandbox bootstrap:
``python -I -S -B -c SOURCE CPU_S AS_BYTES FSIZE_BYTES MAX_PROCS STATUS_FD HANDED_FDS ARGV...``

Run from its source by :mod:`pytest_llmeval.execution.sandbox` (inside bubblewrap when available, which does
not show this package). Standard library only, as it runs without site-packages. It makes itself
non-dumpable (so the program cannot open ``/proc/<bootstrap>/fd/STATUS_FD`` to fake its exit status), forks
the program, applies the rlimits in the child before ``exec``, reaps every orphan (it is a child subreaper),
kills whatever the program left running, writes the program's raw wait status to ``STATUS_FD`` (when >= 0),
and finally exits the way the program did (same exit code, or the same signal) so the parent can classify
the run. ``HANDED_FDS`` (comma-separated, or ``-``) are handed to the program (a trusted checker: its
verdict and payload descriptors) and closed here. ``ARGV`` = ``--in-process SOURCE ARGS...`` runs a
trusted checker's source in the fork itself instead of ``exec``-ing a new interpreter.
"""

import os
import resource
import signal
import sys


def children():
    me = os.getpid()
    try:
        with open(f"/proc/{me}/task/{me}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        found = []
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    if int(f.read().rpartition(b")")[2].split()[1]) == me:
                        found.append(int(name))
            except (OSError, ValueError, IndexError):
                pass
        return found


def user_process_count():
    uid, n = os.getuid(), 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                n += os.stat(f"/proc/{name}").st_uid == uid
            except OSError:
                pass
    return n


def run_program(cpu_s, as_bytes, fsize_bytes, max_procs, status_fd, handed, argv):
    try:
        if status_fd >= 0:
            os.close(status_fd)  # an in-process checker would otherwise hand it to the program it forks
        for fd in handed:
            os.set_inheritable(fd, True)  # the checker's private channels, and nobody else's
        os.setpgid(0, 0)  # its own group: killpg() hits the program, never the bootstrap
        limits = [
            (resource.RLIMIT_CPU, cpu_s, cpu_s + 1),  # SIGXCPU at soft, SIGKILL one second later
            (resource.RLIMIT_AS, as_bytes, as_bytes),
            (resource.RLIMIT_FSIZE, fsize_bytes, fsize_bytes),
            (resource.RLIMIT_CORE, 0, 0),
        ]
        if os.getuid() != 0:
            # Per user, not per program. Root is exempt with CAP_SYS_RESOURCE, and without it (Docker) the kernel
            # counts root's processes on the whole host, which /proc here may not show: leave root to the watchdog.
            nproc = user_process_count() + max_procs
            limits.append((resource.RLIMIT_NPROC, nproc, nproc))
        for res, soft, hard in limits:
            resource.setrlimit(res, (soft, hard))
        if argv[0] == IN_PROCESS:
            run_in_process(argv[1], argv[2:])
        os.execv(argv[0], argv)
    except BaseException as exc:
        os.write(2, f"sandbox: cannot start the program: {exc}\n".encode())
    os._exit(127)


IN_PROCESS = "--in-process"


def run_in_process(source, args):
    """Run a trusted checker's source in this fork (no new interpreter: one start-up less per run, and the
    fork is already non-dumpable), with ``sys.argv = ["-c", *args]``; exit as it does."""
    sys.argv = ["-c", *args]
    code = 0
    try:
        exec(compile(source, "<checker>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    os._exit(code & 0xFF)


def main():
    cpu_s, as_bytes, fsize_bytes, max_procs, status_fd = (int(a) for a in sys.argv[1:6])
    handed = [int(fd) for fd in sys.argv[6].split(",") if fd != "-"]
    for fd in handed:
        os.set_inheritable(fd, False)
    if status_fd >= 0:
        os.set_inheritable(status_fd, False)  # closed when the program is exec'd: only we write the status
    import ctypes

    libc = ctypes.CDLL(None)
    if libc.prctl(4, 0, 0, 0, 0) != 0:  # PR_SET_DUMPABLE 0: our /proc/<pid>/fd and memory are closed to the program
        os.write(2, b"sandbox: cannot make the bootstrap non-dumpable\n")
        os._exit(126)
    libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: orphans come to us, not to init
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    pid = os.fork()
    if pid == 0:
        run_program(cpu_s, as_bytes, fsize_bytes, max_procs, status_fd, handed, sys.argv[7:])
    for fd in handed:
        os.close(fd)
    # Let go of the pipes so the parent sees EOF when the program's processes close them.
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    for sig in (
        signal.SIGHUP,
        signal.SIGINT,
        signal.SIGQUIT,
        signal.SIGTERM,
        signal.SIGUSR1,
        signal.SIGUSR2,
        signal.SIGPIPE,
        signal.SIGALRM,
        signal.SIGXCPU,
        signal.SIGXFSZ,
    ):
        signal.signal(sig, signal.SIG_IGN)
    status = None
    while status is None:
        reaped, st = os.waitpid(-1, 0)  # also reaps orphans while the program runs
        if reaped == pid:
            status = st
    while True:  # the program is gone: kill and reap what it left behind, level by level
        for child in children():
            try:
                os.kill(child, signal.SIGKILL)
            except OSError:
                pass
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break
    if status_fd >= 0:  # under bubblewrap the exit status is 128+signal; this keeps the signal itself
        try:
            os.write(status_fd, str(status).encode())
        except OSError:
            pass
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        try:
            signal.signal(signum, signal.SIG_DFL)
        except (OSError, ValueError):
            pass
        os.kill(os.getpid(), signum)
        os._exit(128 + signum)
    os._exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main()
