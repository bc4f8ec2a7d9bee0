"""Sweeps on a Dask LocalCluster (loopback only): the same rows and reductions as numpy, bit for
bit; a worker that dies mid-sweep loses and duplicates nothing; an unreachable scheduler is a
one-line error."""

import os
import sys

import pyarrow.parquet as pq
import pytest

import computeplan as cp
from computeplan.errors import InputError

distributed = pytest.importorskip("distributed")

SPEC = {
    "axes": {
        "law": ["sardana2024", "hoffmann2022"],
        "train_usd_per_gpu_hour": [1.0, 2.5, -1.0],          # -1: error rows
        "loss": {"start": 1.65, "stop": 2.3, "num": 12},      # below E: error rows
        "requests": {"start": 1e8, "stop": 1e12, "num": 25, "log": True},
    },
    "defaults": {"input_tokens": 800, "output_tokens": 200},
    "reductions": {"mean": ["ratios.total_cost_usd", "optimal.params"],
                   "quantiles": ["optimal.total_cost_usd"],
                   "argmin": {"axis": "requests", "of": "optimal.total_cost_usd"},
                   "saving_exceeds": [0.01, 0.1]},
    "block_size": 100,
}


@pytest.fixture(scope="module")
def numpy_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("numpy")
    result = cp.sweep(SPEC, out=d / "rows.parquet", summary=d / "summary.json")
    return result, pq.read_table(d / "rows.parquet")


def _close(a, b, path=""):
    """Reductions equal to 1e-12 (relative) for floats, exactly otherwise."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=1e-12, abs=0), path
    else:
        assert a == b, path


@pytest.mark.parametrize("workers", [1, 2])
def test_local_cluster_gives_the_numpy_rows_bit_for_bit(tmp_path, numpy_run, workers):
    expected, rows = numpy_run
    result = cp.sweep(SPEC, out=tmp_path / "rows.parquet", summary=tmp_path / "s.json",
                      workers=workers)
    assert result.backend == "dask" and result.workers == workers
    assert result.blocks == expected.blocks > 2 * workers
    assert pq.read_table(tmp_path / "rows.parquet").equals(rows)
    _close(result.summary, expected.summary)
    assert expected.summary["errors"] > 0 and expected.summary["ok"] > 0


_MARK = "COMPUTEPLAN_TEST_KILL_MARK"


def _dying_block(job, task):
    """Kills its worker process the first time it runs block 2 (a marker file says so)."""
    from computeplan.sweep.block import run_block

    mark = os.environ.get(_MARK)
    if task.index == 2 and mark and not os.path.exists(mark + ".done"):
        open(mark + ".done", "w").close()
        os._exit(1)
    return run_block(job, task)


def test_a_worker_that_dies_mid_sweep_loses_and_duplicates_nothing(tmp_path, numpy_run):
    import cloudpickle

    from computeplan.sweep.run import run
    from computeplan.sweep.spec import build_spec

    expected, rows = numpy_run
    mark = str(tmp_path / "kill")
    os.environ[_MARK] = mark  # the worker processes inherit it
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        result = run(build_spec(SPEC), out=tmp_path / "rows.parquet", workers=2,
                     block_fn=_dying_block)
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
        del os.environ[_MARK]
    assert os.path.exists(mark + ".done"), "the block never killed its worker"
    assert result.blocks_run == expected.blocks
    assert pq.read_table(tmp_path / "rows.parquet").equals(rows)
    _close(result.summary, expected.summary)


def test_unreachable_scheduler_is_a_one_line_error():
    from computeplan.sweep.backends import DaskBackend

    with pytest.raises(InputError) as exc:
        DaskBackend(scheduler="tcp://127.0.0.1:9", timeout=1)
    msg = str(exc.value)
    assert msg.startswith("cannot reach the Dask scheduler at 'tcp://127.0.0.1:9' within 1 s")
    assert "\n" not in msg


def test_a_local_cluster_beside_another_does_not_warn():
    """The scheduler's HTTP server takes a free port: with 8787 taken (by another cluster's, or
    here by a socket) no UserWarning that the port is in use."""
    import socket
    import warnings

    from computeplan.sweep.backends import DaskBackend

    with socket.socket() as taken:
        try:
            taken.bind(("127.0.0.1", 8787))
            taken.listen()
        except OSError:  # already in use: the case itself
            pass
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            backend = DaskBackend(workers=1)
        backend.close()
