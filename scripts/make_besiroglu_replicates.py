"""Write the bootstrap replicates of the ``besiroglu2024`` preset (package data).

Refits the Hoffmann et al. 2022 Approach 3 protocol (as replicated by Besiroglu et al. 2024,
arXiv 2404.10102) to bootstrap resamples of Epoch AI's digitised Chinchilla runs
(../shared/data/chinchilla-epoch, the 240 runs left after dropping the 5 highest-loss rows), with
a fixed seed, and stores the first ``REPLICATES`` usable refits (converged, not on a boundary) in
src/computeplan/presets/besiroglu2024_replicates.json. Also prints the runs' domain (the
``CHINCHILLA_DOMAIN`` of computeplan.laws) and the 95% percentile intervals, to compare with
Besiroglu et al.'s (A 285.2-743.6, B 1042-5810, E 1.769-1.871, alpha 0.317-0.373,
beta 0.331-0.415).

    python scripts/make_besiroglu_replicates.py [--data ../shared/data] [--check]

``--check`` regenerates the replicates and compares them with the shipped file instead of writing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from computeplan._lawdata import domain_of
from computeplan.fitting import filter_runs, fit_runs, read_runs
from computeplan.laws import COEFFICIENTS, PRESET_REPLICATES

SEED = 20240416
REPLICATES = 1000
RESAMPLES = 1050  # a few spare in case some refits land on a boundary
DIGITS = 10


def main() -> int:
    repo = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=repo.parent / "shared" / "data")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    csv = args.data / "chinchilla-epoch" / "svg_extracted_data.csv"
    runs = filter_runs(read_runs(csv, params_col="Model Size", flops_col="Training FLOP"),
                       drop_highest_loss=5)
    result = fit_runs(runs, bootstrap=RESAMPLES, seed=SEED)
    boot = result.bootstrap
    rows = np.column_stack([boot.coefficients[c] for c in COEFFICIENTS])[boot.ok][:REPLICATES]
    if len(rows) < REPLICATES:
        print(f"only {len(rows)} usable refits of {RESAMPLES}", file=sys.stderr)
        return 1
    rows = [[float(f"{x:.{DIGITS}g}") for x in row] for row in rows]
    print("runs:", len(runs), "domain:", domain_of(runs.params, runs.train_tokens))
    print("central fit:", {k: round(v, 6) for k, v in result.coefficients.items()})
    arr = np.array(rows)
    for j, c in enumerate(COEFFICIENTS):
        lo, hi = np.percentile(arr[:, j], [2.5, 97.5])
        print(f"{c}: 95% interval {lo:.4g} - {hi:.4g}")
    data = {
        "description": "bootstrap refits of the Hoffmann et al. 2022 Approach 3 fit to Epoch "
                       "AI's digitised Chinchilla runs (240 runs), columns E, A, B, alpha, beta",
        "script": "scripts/make_besiroglu_replicates.py",
        "seed": SEED, "resamples": RESAMPLES, "runs": len(runs),
        "columns": list(COEFFICIENTS), "replicates": rows,
    }
    if args.check:
        shipped = json.loads(PRESET_REPLICATES.read_text(encoding="utf-8"))["replicates"]
        same = np.allclose(np.array(shipped), arr, rtol=1e-6)
        print("shipped replicates reproduced" if same else "shipped replicates DIFFER")
        return 0 if same else 1
    PRESET_REPLICATES.write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {len(rows)} replicates to {PRESET_REPLICATES}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
