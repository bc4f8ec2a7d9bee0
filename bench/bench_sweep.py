"""Benchmark: sweep throughput in plans per second, numpy vs Dask with 1 and 2 workers, one run.

One reductions-only sweep (mean, sketch quantiles, probability of a saving over 5%) of
``--scenarios`` (loss, inference demand) plans, run three ways in this run: the numpy backend
in a fresh subprocess (which also reports its peak memory, ru_maxrss, target < 1 GiB at 1e8
scenarios), then on a LocalCluster of 1 and of 2 worker processes (loopback only; the
clusters are started before the clock starts). Parallel efficiency = T(1 worker) / (2 x T(2
workers)), target >= 0.8 at 1e8 scenarios. The per-block overhead of Dask is measured on a
sweep of many small blocks: (T(Dask, 1 worker) - T(numpy)) / blocks.

Run: .venv/bin/python bench/bench_sweep.py [--scenarios 1e8] [--block-size 65536]
(1e8 takes about 5 minutes on the 2-core development machine; --scenarios 1e7 for a quick look.)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import computeplan as cp


def spec(n: int, block_size: int) -> dict:
    inner = 1000
    return {"axes": {"loss": {"start": 1.8, "stop": 2.6, "num": n // inner},
                     "inference_tokens": {"start": 1e9, "stop": 1e15, "num": inner,
                                          "log": True}},
            "reductions": {"mean": ["ratios.total_flops", "optimal.params"],
                           "quantiles": ["ratios.total_flops"], "saving_exceeds": [0.05],
                           "exact_quantiles_max": 0},
            "block_size": block_size}


_NUMPY = """
import json, resource, sys, time
import computeplan as cp
spec = json.loads(sys.argv[1])
t0 = time.perf_counter()
r = cp.sweep(spec)
dt = time.perf_counter() - t0
print(json.dumps({"seconds": dt, "blocks": r.blocks, "summary": r.summary,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_numpy(s: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", _NUMPY, json.dumps(s)], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout)


def run_dask(s: dict, workers: int) -> dict:
    import logging

    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        client.run(lambda: __import__("computeplan.sweep.block"))  # warm the workers' imports
        t0 = time.perf_counter()
        r = cp.sweep(s, scheduler=cluster.scheduler_address)
        return {"seconds": time.perf_counter() - t0, "blocks": r.blocks, "summary": r.summary}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", type=float, default=1e8)
    ap.add_argument("--block-size", type=int, default=65536)
    args = ap.parse_args()
    n = int(args.scenarios) // 1000 * 1000
    s = spec(n, args.block_size)

    print(f"sweep of {n:.3g} scenarios (reductions only), blocks of {args.block_size}")
    numpy = run_numpy(s)
    print(f"numpy:            {numpy['seconds']:8.1f} s  {n / numpy['seconds']:.3g} plans/s  "
          f"peak memory {numpy['peak_mib']:.0f} MiB (target < 1024)")
    d1 = run_dask(s, 1)
    print(f"Dask, 1 worker:   {d1['seconds']:8.1f} s  {n / d1['seconds']:.3g} plans/s  "
          f"({numpy['seconds'] / d1['seconds']:.2f}x numpy)")
    d2 = run_dask(s, 2)
    print(f"Dask, 2 workers:  {d2['seconds']:8.1f} s  {n / d2['seconds']:.3g} plans/s  "
          f"({numpy['seconds'] / d2['seconds']:.2f}x numpy)")
    eff = d1["seconds"] / (2 * d2["seconds"])
    print(f"parallel efficiency, 2 workers: {eff:.2f} (target >= 0.8)")
    same = numpy["summary"] == d1["summary"] == d2["summary"]
    print(f"same summary on all three: {same}")

    small = spec(200_000, 1000)
    t_np = run_numpy(small)["seconds"]
    t_d = run_dask(small, 1)["seconds"]
    blocks = 200
    print(f"per-block overhead of Dask (1 worker, {blocks} blocks of 1000): "
          f"{(t_d - t_np) / blocks * 1e3:.2f} ms "
          f"(numpy {t_np / blocks * 1e3:.2f} ms per block, Dask {t_d / blocks * 1e3:.2f} ms)")


if __name__ == "__main__":
    main()
