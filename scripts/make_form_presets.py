"""Write the presets fitted on over-trained runs (package data, computeplan.laws.form_presets).

Each preset is ``computeplan fit --form auto --bootstrap 200 --seed 20240108`` on all runs of one
published ladder (the form chosen by extrapolation cross-validation on those runs), with the runs'
domain and the usable bootstrap replicates:

- ``sardana2024-mpt``: Sardana et al. 2024's 47 MPT runs (10 to 10,000 tokens per parameter,
  ``Smoothed Loss``), ../shared/data/sardana-mpt;
- ``gadre2024-c4``, ``gadre2024-rpj``, ``gadre2024-rw``: Gadre et al. 2024's runs on C4,
  RedPajama and RefinedWeb (5 to 640 tokens per parameter, C4 validation loss
  ``loss_c4_val``), ../shared/data/gadre-overtraining.

    python scripts/make_form_presets.py [--data ../shared/data] [--check]

``--check`` refits and compares the coefficients with the shipped file instead of writing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from computeplan.fitting import fit_runs, read_runs
from computeplan.laws import FORM_PRESETS_FILE

SEED = 20240108
BOOTSTRAP = 200
DIGITS = 10

#: name -> (file under the data folder, read_runs options, source)
LADDERS = {
    "sardana2024-mpt": ("sardana-mpt/trainingresults.csv",
                        {"params_col": "Parameters", "tokens_col": "Tokens",
                         "loss_col": "Smoothed Loss"},
                        "Sardana et al. 2024 (arXiv 2401.00448), 47 MPT runs, 10-10,000 tokens "
                        "per parameter (github.com/nikhilsardana/beyond-chinchilla)"),
    **{f"gadre2024-{short}": (
        "gadre-overtraining/summary_loss_by_model.csv",
        {"loss_col": "loss_c4_val", "where": f"train_dataset={dataset}"},
        f"Gadre et al. 2024 (arXiv 2403.08540), the runs trained on {label}, 5-640 tokens per "
        "parameter, C4 validation loss (github.com/mlfoundations/scaling)")
       for short, dataset, label in (("c4", "c4_original", "C4"), ("rpj", "rpj", "RedPajama"),
                                     ("rw", "rw_original", "RefinedWeb"))},
}


def _round(x: float) -> float:
    return float(f"{x:.{DIGITS}g}")


def make(data: Path) -> list[dict]:
    out = []
    for name, (path, read, source) in LADDERS.items():
        runs = read_runs(data / path, **read)
        result = fit_runs(runs, form="auto", bootstrap=BOOTSTRAP, seed=SEED, name=name)
        if not result.ok or result.law is None:
            raise SystemExit(f"{name}: the fit is not ok: {result.warnings}")
        entry = result.law.to_dict()
        entry = {k: (_round(v) if isinstance(v, float) else v) for k, v in entry.items()}
        entry["form"] = result.form if result.form != "tied" else "chinchilla"
        entry["name"] = name
        entry["source"] = (f"{source}; fitted by computeplan fit --form auto (chosen: "
                           f"{result.form}) --bootstrap {BOOTSTRAP} --seed {SEED}")
        if "replicates" in entry:
            entry["replicates"] = [[_round(x) for x in row] for row in entry["replicates"]]
        scores = {r["form"]: None if r["score"] is None else round(r["score"], 5)
                  for r in result.selection["table"]}
        print(f"{name}: form {result.form}, cross-validation scores {scores}, "
              f"{len(entry.get('replicates', []))} replicates", file=sys.stderr)
        out.append(entry)
    return out


def main() -> int:
    repo = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=repo.parent / "shared" / "data")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    entries = make(args.data)
    if args.check:
        shipped = {e["name"]: e for e in json.loads(FORM_PRESETS_FILE.read_text())}
        for e in entries:
            s = shipped[e["name"]]
            keys = [k for k in e if isinstance(e[k], float)]
            if s["form"] != e["form"] or not np.allclose([s[k] for k in keys],
                                                         [e[k] for k in keys], rtol=1e-4):
                print(f"{e['name']} differs from the shipped preset", file=sys.stderr)
                return 1
        return 0
    text = "[\n" + ",\n".join(_entry_json(e) for e in entries) + "\n]\n"
    FORM_PRESETS_FILE.write_text(text, encoding="utf-8")
    print(f"wrote {FORM_PRESETS_FILE}", file=sys.stderr)
    return 0


def _entry_json(entry: dict) -> str:
    rows = entry.pop("replicates", None)
    text = json.dumps(entry, indent=2)
    if rows is not None:
        text = (text[:-2] + ',\n  "replicates": [\n'
                + ",\n".join("    " + json.dumps(r) for r in rows) + "\n  ]\n}")
    return "\n".join("  " + line for line in text.splitlines())


if __name__ == "__main__":
    sys.exit(main())
