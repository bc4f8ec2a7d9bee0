"""Generate examples/runs.csv: a SYNTHETIC ladder of training runs from a known law, with noise.

The law (E=1.9, A=420, B=1600, alpha=0.33, beta=0.35) is invented for the example; losses get
multiplicative log-normal noise (sigma 0.5%). Six model sizes from 20M to 1B parameters, each at
5 to 320 tokens per parameter. Run: python examples/make_runs.py (deterministic, seed 0).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

TRUE_LAW = {"E": 1.9, "A": 420.0, "B": 1600.0, "alpha": 0.33, "beta": 0.35}
PARAMS = np.array([20e6, 50e6, 100e6, 250e6, 500e6, 1e9])
TOKENS_PER_PARAM = np.array([5, 10, 20, 40, 80, 160, 320])
NOISE = 0.005


def make_runs(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    n, tpp = (a.ravel() for a in np.meshgrid(PARAMS, TOKENS_PER_PARAM, indexing="ij"))
    d = n * tpp
    c = TRUE_LAW
    loss = c["E"] + c["A"] * n ** -c["alpha"] + c["B"] * d ** -c["beta"]
    loss *= np.exp(NOISE * rng.standard_normal(len(n)))
    return {"params": n, "tokens": d, "flops": 6 * n * d, "loss": loss}


def runs_csv_text(seed: int = 0) -> str:
    """The text of examples/runs.csv (CSV with CRLF line ends, as csv.writer writes them)."""
    import io

    runs = make_runs(seed)
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["name", *runs])
    for i in range(len(runs["params"])):
        n = runs["params"][i]
        w.writerow([f"{n / 1e6:g}M-{runs['tokens'][i] / n:g}x", f"{n:.0f}",
                    f"{runs['tokens'][i]:.0f}", f"{runs['flops'][i]:.4e}",
                    f"{runs['loss'][i]:.5f}"])
    return out.getvalue()


def main() -> None:
    Path(__file__).with_name("runs.csv").write_bytes(runs_csv_text().encode())


if __name__ == "__main__":
    main()
