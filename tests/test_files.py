"""Output files: atomic writes (a failed write keeps the old file), no overwriting an input, a
note when an existing file is replaced (issue 16, item 1)."""

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from computeplan.cli import app
from computeplan.errors import InputError
from computeplan.files import check_output, write_atomic

runner = CliRunner()
EXAMPLE_RUNS = Path(__file__).resolve().parents[1] / "examples" / "runs.csv"
OLD = b"old content that must survive\n" * 40


def _fail_replace(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def _one_line_error(result) -> str:
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    return result.stderr


def _no_temp_files(directory: Path) -> bool:
    return not [p for p in directory.iterdir() if p.name.startswith(".computeplan-")]


# ----------------------------------------------------------------------------- the helper
def test_write_atomic_creates_and_replaces(tmp_path):
    path = tmp_path / "x.json"
    assert write_atomic(path, "one") is False
    assert path.read_text() == "one"
    path.chmod(0o640)
    assert write_atomic(path, b"two") is True
    assert path.read_bytes() == b"two"
    assert path.stat().st_mode & 0o777 == 0o640  # an existing file keeps its permissions
    assert _no_temp_files(tmp_path)


def test_write_atomic_follows_a_symlink(tmp_path):
    target = tmp_path / "target.json"
    target.write_bytes(OLD)
    link = tmp_path / "link.json"
    link.symlink_to(target)
    assert write_atomic(link, "new") is True
    assert link.is_symlink() and target.read_text() == "new"


@pytest.mark.parametrize("where", ["os.replace", "os.fsync"])
def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch, where):
    path = tmp_path / "law.json"
    path.write_bytes(OLD)
    module, name = where.split(".")
    monkeypatch.setattr(os, name, _fail_replace)
    with pytest.raises(InputError, match=r"^out: cannot write .*No space left on device; "
                                         r".* is unchanged"):
        write_atomic(path, "x" * 100_000)
    monkeypatch.undo()
    assert path.read_bytes() == OLD and _no_temp_files(tmp_path)


def test_failed_new_file_says_nothing_was_written(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "replace", _fail_replace)
    with pytest.raises(InputError, match="nothing was written"):
        write_atomic(tmp_path / "new.png", b"x", flag="--plot")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_check_output_refuses_an_input_and_bad_paths(tmp_path):
    data = tmp_path / "r.csv"
    data.write_text("x")
    with pytest.raises(InputError, match="refusing to overwrite .* it is an input"):
        check_output(data, inputs=[None, data])
    with pytest.raises(InputError, match="refusing to overwrite"):  # another spelling of it
        check_output(tmp_path / "." / "r.csv", inputs=[str(data)])
    with pytest.raises(InputError, match="it is a directory"):
        check_output(tmp_path)
    with pytest.raises(InputError, match="no directory"):
        check_output(tmp_path / "missing" / "x.json")
    with pytest.raises(InputError, match=r"300 bytes long; at most \d+ allowed"):
        check_output(tmp_path / ("a" * 295 + ".json"), flag="--plot")
    assert check_output(data) is True and check_output(tmp_path / "new.json") is False


# ----------------------------------------------------------------------------- fit --out/--plot
def test_fit_refuses_to_overwrite_its_input(tmp_path):
    runs = tmp_path / "r.csv"
    runs.write_bytes(EXAMPLE_RUNS.read_bytes())
    for flag in ("--out", "--plot"):
        msg = _one_line_error(runner.invoke(app, ["fit", str(runs), flag, str(runs)]))
        assert f"{flag}: refusing to overwrite" in msg
    assert runs.read_bytes() == EXAMPLE_RUNS.read_bytes()
    msg = _one_line_error(runner.invoke(app, ["fit", str(runs), "--out", str(tmp_path / "a"),
                                              "--plot", str(tmp_path / "a")]))
    assert "--plot: refusing to overwrite" in msg


def test_fit_out_replacing_a_file_says_so(tmp_path):
    out = tmp_path / "law.json"
    result = runner.invoke(app, ["fit", str(EXAMPLE_RUNS), "--out", str(out)])
    assert result.exit_code == 0 and "replaced" not in result.stderr
    result = runner.invoke(app, ["fit", str(EXAMPLE_RUNS), "--out", str(out)])
    assert result.exit_code == 0
    assert result.stderr == f"note: replaced existing file {str(out)!r}\n"
    assert set(json.loads(out.read_text())) >= {"E", "A", "B", "alpha", "beta"}


def test_fit_out_failing_write_keeps_the_old_law(tmp_path):
    """The write is made to fail by the file-size limit (``ulimit -f``) of a subprocess."""
    out = tmp_path / "law.json"
    out.write_bytes(OLD)
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64)); "
            "from computeplan.cli import main; sys.argv = ['computeplan'] + sys.argv[1:]; main()")
    proc = subprocess.run([sys.executable, "-c", code, "fit", str(EXAMPLE_RUNS), "--out",
                           str(out)], capture_output=True, text=True, check=False)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: --out: cannot write") and "is unchanged" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert out.read_bytes() == OLD and _no_temp_files(tmp_path)


@pytest.mark.parametrize("args", [
    ["fit", str(EXAMPLE_RUNS)],
    ["tradeoff", "scaling-policy", "--grid-points", "50"],
    ["serve", "--params", "7e9"],
])
def test_failing_plot_write_keeps_the_old_plot(tmp_path, monkeypatch, args):
    plot = tmp_path / "p.png"
    plot.write_bytes(OLD)
    monkeypatch.setattr(os, "replace", _fail_replace)
    msg = _one_line_error(runner.invoke(app, [*args, "--plot", str(plot)]))
    assert "--plot: cannot write" in msg and "is unchanged" in msg
    monkeypatch.undo()
    assert plot.read_bytes() == OLD and _no_temp_files(tmp_path)
    result = runner.invoke(app, [*args, "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    assert plot.read_bytes().startswith(b"\x89PNG")
    assert f"note: replaced existing file {str(plot)!r}" in result.stderr


def test_tradeoff_plot_refuses_its_fit_csv(tmp_path):
    csv = tmp_path / "s.csv"
    csv.write_text("train_flops,samples,score\n1e20,1,0.1\n")
    msg = _one_line_error(runner.invoke(app, ["tradeoff", "pass-at-k", "--fit", str(csv),
                                              "--plot", str(csv)]))
    assert "--plot: refusing to overwrite" in msg and csv.read_text().startswith("train_flops")


# ----------------------------------------------------------------------------- report --out
@pytest.mark.parametrize("fmt", ["html", "png"])
def test_failing_report_write_keeps_the_old_report(tmp_path, monkeypatch, fmt):
    out = tmp_path / f"r.{fmt}"
    old = [out] if fmt == "html" else [tmp_path / f"r-{n}.png" for n in
                                        ("savings", "isoloss", "cost")]
    for p in old:
        p.write_bytes(OLD)
    monkeypatch.setattr(os, "replace", _fail_replace)
    msg = _one_line_error(runner.invoke(app, ["report", "--format", fmt, "--out", str(out)]))
    assert "--out: cannot write" in msg and "is unchanged" in msg
    monkeypatch.undo()
    assert all(p.read_bytes() == OLD for p in old) and _no_temp_files(tmp_path)


def test_report_refuses_to_overwrite_its_law_file(tmp_path):
    from computeplan.laws import PRESETS

    law = tmp_path / "law.json"
    PRESETS["sardana2024"].save(law)
    before = law.read_bytes()
    msg = _one_line_error(runner.invoke(app, ["report", "--law", str(law), "--out", str(law)]))
    assert "--out: refusing to overwrite" in msg and law.read_bytes() == before


def test_long_output_name_is_a_one_line_error(tmp_path):
    name = str(tmp_path / ("a" * 300 + ".json"))
    msg = _one_line_error(runner.invoke(app, ["fit", str(EXAMPLE_RUNS), "--out", name]))
    assert "bytes long" in msg and len(msg) < 400
