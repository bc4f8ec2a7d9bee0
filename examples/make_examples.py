"""Generate the example files the README's commands name (all SYNTHETIC, deterministic).

- ``runs.csv``: the ladder of ``make_runs.py`` (a known law with 0.5% noise);
- ``runs-weighted.csv``: the same runs with a weight column ``w`` (the 20M-parameter runs
  count half), for ``fit --weight-col w``;
- ``runs-unique.csv``: a data-limited ladder from ``muennighoff2023`` (Muennighoff et al. 2023,
  eq. 5: L(N, D; U) with repeated epochs over U unique tokens; 0.2% noise), columns
  ``params, tokens, unique_tokens, loss``, for ``fit --unique-tokens-col unique_tokens``;
- ``law.json``: a law file (the law ``runs.csv`` was drawn from), for ``plan --law FILE``;
- ``gpus.toml``: a GPU catalog file overriding one price and adding a GPU, for ``--gpu-file``;
- ``n-at-k.csv``: training FLOPs, samples, solve rate from the ``n-at-k`` technique's default
  model (limited trials), for ``tradeoff n-at-k --fit FILE``.

Run ``python examples/make_examples.py`` to write them, ``--check`` to verify that the files
in examples/ are what this script writes (exit 1 naming the ones that differ).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_runs import TRUE_LAW, runs_csv_text  # noqa: E402


def _csv(header: list[str], rows) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return out.getvalue()


def weighted_runs() -> str:
    rows = list(csv.reader(io.StringIO(runs_csv_text())))
    return _csv([*rows[0], "w"], [[*r, "0.5" if r[1] == "20000000" else "1"] for r in rows[1:]])


def unique_runs(seed: int = 0) -> str:
    from computeplan.data_limits import limited_loss

    rng = np.random.default_rng(seed)
    params = np.array([50e6, 100e6, 200e6, 400e6])
    tokens_per_param = np.array([10, 20, 40, 80, 160, 320])
    n, tpp = (a.ravel() for a in np.meshgrid(params, tokens_per_param, indexing="ij"))
    d = n * tpp
    rows = []
    for unique in (2e9, 32e9):  # the same ladder on 2B and 32B unique tokens
        loss = limited_loss("muennighoff2023", n, d, np.full_like(d, unique))
        loss = loss * np.exp(0.002 * rng.standard_normal(len(n)))
        rows += [[f"{a:.0f}", f"{b:.0f}", f"{unique:.0f}", f"{c:.5f}"]
                 for a, b, c in zip(n, d, loss, strict=True)]
    return _csv(["params", "tokens", "unique_tokens", "loss"], rows)


def law_json() -> str:
    return json.dumps(TRUE_LAW | {
        "name": "example", "source": "the SYNTHETIC law examples/runs.csv was drawn from "
                                     "(examples/make_runs.py)"}, indent=2) + "\n"


GPUS_TOML = """\
# A --gpu-file: an entry naming a catalog GPU (or an alias) changes only the fields it names;
# a new name adds a GPU. Figures here are examples, not quotes.
[h100]
usd_per_gpu_hour = 2.10
price_date = "2026-12-01"
price_source = "example: a negotiated rate"

[example-gpu]
description = "An example accelerator (invented figures)"
memory_gb = 96
bandwidth_gb_per_s = 4000
peak_tflops = { bf16 = 1200, fp8 = 2400 }
usd_per_gpu_hour = 4.00
price_date = "2026-12-01"
price_source = "example"
aliases = ["example"]
"""


def n_at_k_runs(seed: int = 0) -> str:
    from computeplan.tradeoffs import get_technique

    tech = get_technique("n-at-k")
    rng = np.random.default_rng(seed)
    tc = np.array([1e21, 2e21, 5e21, 1e22, 1.8e22])  # within the model's (1e20, 1.92e22]
    k = np.array([1, 2, 4, 8, 16, 32, 64, 128, 256])
    t, s = (a.ravel() for a in np.meshgrid(tc, k, indexing="ij"))
    rate = tech.solve_rate(t, s) + 0.005 * rng.standard_normal(len(t))  # noise, kept in [0, 1]
    return _csv(["train_flops", "samples", "solve_rate"],
                [[f"{a:.3e}", f"{b:d}", f"{min(max(c, 0.0), 1.0):.4f}"]
                 for a, b, c in zip(t, s, rate, strict=True)])


def files() -> dict[str, str]:
    """File name in examples/ -> its text."""
    return {"runs.csv": runs_csv_text(), "runs-weighted.csv": weighted_runs(),
            "runs-unique.csv": unique_runs(), "law.json": law_json(), "gpus.toml": GPUS_TOML,
            "n-at-k.csv": n_at_k_runs()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="verify the files instead of writing them (exit 1 if any differ)")
    args = parser.parse_args(argv)
    stale = []
    for name, text in files().items():
        path = HERE / name
        if args.check:
            if not path.is_file() or path.read_bytes() != text.encode():
                stale.append(name)
        else:
            path.write_bytes(text.encode())
    if stale:
        print(f"examples out of date: {', '.join(stale)}; run python examples/make_examples.py",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
