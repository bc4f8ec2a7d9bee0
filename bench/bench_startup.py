"""Start-up time of the CLI: cold ``computeplan plan --json`` and ``--help`` against the floor of
``python -c 'import numpy, typer'`` (what any numpy + typer CLI pays), measured in the same run.

Each command runs in a fresh interpreter ``--repeats`` times (default 7, interleaved so that load
on the machine affects all alike); the best wall-clock and CPU time of each is printed with its
ratio to the baseline. Target (issue 15): under 0.3 s for ``plan --json`` and ``--help``.

    PYTHONPATH=src python bench/bench_startup.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time

CASES = {
    "baseline: import numpy, typer": [sys.executable, "-c", "import numpy, typer"],
    "computeplan plan --json": [sys.executable, "-m", "computeplan", "plan", "--json"],
    "computeplan plan --help": [sys.executable, "-m", "computeplan", "plan", "--help"],
    "computeplan --help": [sys.executable, "-m", "computeplan", "--help"],
}


def run_once(cmd: list[str]) -> tuple[float, float]:
    """Wall-clock and CPU (user + system) seconds of one cold run of ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    wall = dict.fromkeys(CASES, float("inf"))
    cpu = dict(wall)
    for _ in range(args.repeats):
        for name, cmd in CASES.items():
            w, c = run_once(cmd)
            wall[name], cpu[name] = min(wall[name], w), min(cpu[name], c)
    base = "baseline: import numpy, typer"
    print(f"cold start-up, best of {args.repeats}: wall-clock and CPU (user + system) seconds, "
          "ratio to the baseline (CPU time is the steadier on a loaded machine)")
    for name in CASES:
        print(f"  {name:32s} wall {wall[name]:6.3f} s x{wall[name] / wall[base]:4.2f}   "
              f"CPU {cpu[name]:6.3f} s x{cpu[name] / cpu[base]:4.2f}")


if __name__ == "__main__":
    main()
