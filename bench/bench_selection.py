"""Benchmark (accuracy, not speed): choosing one form (``fit --form auto``) against weighting
every form (``fit --form average``), on splits that ``auto`` was not developed on.

Gadre et al.'s runs (../shared/data/gadre-overtraining) carry eight validation losses. The
selection rule and the deeper fold of ``auto`` were developed on one of them, ``loss_c4_val``;
the other seven give 21 splits (x three training sets) that it was not tuned on (``average``
was adopted after comparing combinations of the forms on all eight, README). For each
split, one law per training set is fitted on the runs at <= 160 tokens per parameter
(``--split easy``) or at <= 20 with the 40-token runs left out (``--split hard``), and the runs
at >= 320 (resp. >= 80) are predicted. Printed per split: the mean |relative error| of
``auto``, ``average`` and the Chinchilla form, then their means over the splits and how often
``average`` beats ``auto``; the baseline is the Chinchilla form fitted in the same run. Then
each form's own mean over the splits, fitted as given (``--form NAME``), and the mean of the
best form per split (an oracle no rule can beat when it keeps one form).

``--tokens-per-param-power P`` weighs every run by its tokens per parameter to the power P
first (``fit --tokens-per-param-power``), for every form alike.

Run: .venv/bin/python bench/bench_selection.py [--split easy|hard] [--losses all|dev|new]
[--tokens-per-param-power P]
(about a minute per split of the easy design and half that of the hard one, measured with the
two designs run side by side on 2 cores; 24 splits with ``--losses all``).
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import csv  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from computeplan.fitting import filter_runs, fit_runs, read_runs  # noqa: E402
from computeplan.forms import FORMS  # noqa: E402

GADRE = (Path(__file__).resolve().parents[2] / "shared" / "data" / "gadre-overtraining"
         / "summary_loss_by_model.csv")
SETS = ("c4_original", "rpj", "rw_original")
#: The forms other than the Chinchilla form (its column comes first).
OTHERS = tuple(f for f in FORMS if f != "chinchilla")
DEV = "loss_c4_val"
SPLITS = {"easy": ([], "tokens_per_param>=320"),
          "hard": (["chinchilla_multiplier!=2.0"], "tokens_per_param>=80")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=list(SPLITS), default="easy")
    ap.add_argument("--losses", choices=("all", "dev", "new"), default="all")
    ap.add_argument("--tokens-per-param-power", type=float, default=0.0)
    args = ap.parse_args()
    with open(GADRE, newline="") as fh:
        columns = [c for c in next(csv.reader(fh)) if c.startswith("loss_")]
    losses = {"all": columns, "dev": [DEV], "new": [c for c in columns if c != DEV]}[args.losses]
    where, holdout = SPLITS[args.split]
    rows = []
    print(f"split {args.split} (hold out {holdout}), runs weighted by (tokens per parameter)^"
          f"{args.tokens_per_param_power:g}; mean |relative error| of the held-out runs")
    print(f"{'loss':<44} {'set':<12} {'chinchilla':>10} {'auto':>18} {'average':>8}   "
          + " ".join(f"{f:>10}" for f in OTHERS))
    for loss in losses:
        for dataset in SETS:
            runs = filter_runs(read_runs(GADRE, loss_col=loss,
                                         where=[f"train_dataset={dataset}", *where]),
                               tokens_per_param_power=args.tokens_per_param_power)
            err = {}
            chosen = ""
            for form in (*FORMS, "auto", "average"):
                r = fit_runs(runs, form=form, holdout=holdout)
                err[form] = float(np.mean(np.abs(r.holdout.relative_error)))
                if form == "auto":
                    chosen = r.form
            rows.append(err)
            tag = " (dev)" if loss == DEV else ""
            print(f"{loss + tag:<44} {dataset:<12} {100 * err['chinchilla']:>9.2f}% "
                  f"{chosen:>10} {100 * err['auto']:>6.2f}% {100 * err['average']:>7.2f}%   "
                  + " ".join(f"{100 * err[f]:>9.2f}%" for f in OTHERS), flush=True)
    mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
    wins = sum(r["average"] < r["auto"] for r in rows)
    print(f"\nmean over {len(rows)} splits: chinchilla {100 * mean['chinchilla']:.2f}%, auto "
          f"{100 * mean['auto']:.2f}% ({mean['auto'] / mean['chinchilla']:.2f}x the Chinchilla "
          f"form), average {100 * mean['average']:.2f}% "
          f"({mean['average'] / mean['chinchilla']:.2f}x); average better than auto on "
          f"{wins} of {len(rows)}")
    print("each form as given: " + ", ".join(f"{f} {100 * mean[f]:.2f}%" for f in FORMS)
          + "; the best form per split (oracle) "
          f"{100 * np.mean([min(r[f] for f in FORMS) for r in rows]):.2f}%")


if __name__ == "__main__":
    main()
