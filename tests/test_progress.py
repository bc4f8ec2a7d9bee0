"""Progress bars on long work: on stderr when it is a terminal (a pseudo-terminal here), nothing
in pipes or with --json; the callbacks behind them do not change any result."""

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from computeplan.cli import app

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "examples" / "runs.csv"
HIDE_CURSOR = "\x1b[?25l"  # what a rich live display writes first on a terminal


def run_with_tty_stderr(*args: str, timeout: float = 120.0) -> tuple[int, str, str]:
    """Run ``python -m computeplan ARGS`` with stderr on a pseudo-terminal (stdout a pipe);
    return the exit status, stdout and everything written to the terminal. Both are read as
    they come (a child whose stdout fills the pipe would otherwise block)."""
    master, slave = pty.openpty()
    env = dict(os.environ, COLUMNS="100", TERM="xterm-256color",
               PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([sys.executable, "-m", "computeplan", *args], stdout=subprocess.PIPE,
                            stderr=slave, stdin=subprocess.DEVNULL, env=env, cwd=ROOT)
    os.close(slave)
    got = {master: b"", proc.stdout.fileno(): b""}
    open_fds = set(got)
    while open_fds:
        ready, _, _ = select.select(list(open_fds), [], [], timeout)
        if not ready:
            proc.kill()
            pytest.fail(f"computeplan {' '.join(args)} wrote nothing for {timeout} s")
        for fd in ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                chunk = b""
            if chunk:
                got[fd] += chunk
            else:
                open_fds.discard(fd)
    proc.wait(timeout)
    os.close(master)
    out, tty = got[proc.stdout.fileno()], got[master]
    proc.stdout.close()
    return proc.returncode, out.decode(), tty.decode(errors="replace")


@pytest.mark.parametrize(("args", "label"), [
    (("fit", str(RUNS), "--bootstrap", "20", "--seed", "0"), "bootstrap refits"),
    (("tradeoff", "scaling-policy", "--grid-points", "1200"), "grid rows"),
    (("sweep", str(ROOT / "examples" / "sweep.json"), "--block-size", "100"), "blocks"),
])
def test_progress_bar_on_a_terminal(args, label):
    code, out, tty = run_with_tty_stderr(*args)
    assert code == 0, tty
    # The bar was drawn on the terminal: its label, and rich's live display hiding the cursor.
    assert label in tty and HIDE_CURSOR in tty
    assert HIDE_CURSOR not in out  # never on stdout
    code, out_json, tty_json = run_with_tty_stderr(*args, "--json")
    assert code == 0 and label not in tty_json and HIDE_CURSOR not in tty_json  # --json: silent


@pytest.mark.parametrize("args", [
    ("fit", str(RUNS), "--bootstrap", "20", "--seed", "0"),
    ("tradeoff", "scaling-policy", "--grid-points", "1200"),
    ("sweep", str(ROOT / "examples" / "sweep.json"), "--block-size", "100"),
])
def test_no_progress_when_stderr_is_not_a_terminal(args):
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    assert not {"refits", "grid rows", "blocks"} & set(result.stderr.split())
    assert "\x1b[" not in result.stderr


def test_grid_progress_does_not_change_the_frontier():
    from computeplan.tradeoffs import frontier, get_technique

    tech = get_technique("scaling-policy")
    calls = []
    with_bar = frontier(tech, grid_points=333, on_progress=lambda d, t: calls.append((d, t)))
    plain = frontier(tech, grid_points=333)
    np.testing.assert_array_equal(with_bar.grid_score, plain.grid_score)
    assert with_bar.span == plain.span
    done = [d for d, _ in calls]
    assert done == sorted(done) and calls[-1] == (333, 333)


def test_bootstrap_progress_does_not_change_the_replicates():
    from computeplan.fitting import fit_runs, read_runs

    runs = read_runs(RUNS)
    calls = []
    with_bar = fit_runs(runs, bootstrap=10, seed=1, on_progress=lambda d, t: calls.append((d, t)))
    plain = fit_runs(runs, bootstrap=10, seed=1)
    for k, values in plain.bootstrap.coefficients.items():
        np.testing.assert_array_equal(with_bar.bootstrap.coefficients[k], values)
    done, totals = zip(*calls, strict=True)
    assert list(done) == sorted(done) and len(set(totals)) == 1 and done[-1] == totals[0]
