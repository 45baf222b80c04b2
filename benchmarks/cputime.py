"""CPU time of a command and of every process it started, orphans included.

    python3 benchmarks/cputime.py ./scripts/test.sh

`/usr/bin/time` counts a command's children only as they are reaped by their parents; a process
whose parent exits first (chromium's helpers outlive the Playwright driver) is re-parented to
init and its CPU is counted nowhere. This wrapper makes itself the child subreaper (Linux
`prctl(PR_SET_CHILD_SUBREAPER)`), so such orphans are re-parented to it; it reaps them after the
command ends and prints, on stderr, one line: wall, user, sys and cpu (user + sys) seconds of
the whole tree, and the command's exit code, which it exits with (benchmarks/README.md, "#33
test suite").
"""

from __future__ import annotations

import ctypes
import os
import resource
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: cputime.py COMMAND [ARG...]", file=sys.stderr)
        return 2
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print("cputime.py: prctl(PR_SET_CHILD_SUBREAPER) failed (Linux only)", file=sys.stderr)
        return 2
    start = time.perf_counter()
    code = subprocess.call(argv)
    while True:  # orphans re-parented to this process: wait for each, so its CPU is counted
        try:
            os.wait()
        except ChildProcessError:
            break
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime
    print(
        f"cputime: wall={wall:.1f} user={usage.ru_utime:.1f} sys={usage.ru_stime:.1f} "
        f"cpu={cpu:.1f} exit={code}",
        file=sys.stderr,
    )
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
