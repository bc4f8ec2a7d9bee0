"""Benchmark: law forms (issue 11). Figures and ratios against baselines measured in the same run.

- ``fit --form auto`` and ``--form average`` on the 240 Chinchilla runs (every form, every
  cross-validation fold, the final fit or fits), against the Chinchilla-form fit alone
  (target: auto < 10 s on 2 cores);
- one fit of each other form on the same runs (target: < 2 s each);
- planning 1e6 scenarios (target loss x inference demand) with a kaplan-, a beta-of-n- and a
  farseer-form law through the first-order-condition solvers (computeplan._formsolve), against
  the Chinchilla fast path (Newton on the closed-form equation) on the same scenarios (target:
  within 20x per scenario);
- planning ``--limited-scenarios`` scenarios with a unique-token limit (Muennighoff et al.'s
  effective data and parameters in each form's loss, computeplan._formlimits), against the
  Chinchilla form's data-limited solver (computeplan.data_limits) on scenarios of the same
  kind (unique tokens 10^11.5..10^13, targets 0.02..0.4 above each law's lowest reachable loss).

CPU time (process time), best of ``--repeat``: the machine is shared.

Run: .venv/bin/python bench/bench_forms.py [--scenarios 1000000] [--limited-scenarios 100000]
[--repeat 3]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from _timing import cpu_best  # noqa: E402
from computeplan.fitting import filter_runs, fit_runs, read_runs  # noqa: E402
from computeplan.fitting.forms import fit_form  # noqa: E402
from computeplan.formlaw import make_law  # noqa: E402
from computeplan.laws import get_law  # noqa: E402
from computeplan.lifetime import lifetime_optimal  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"



def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", type=int, default=1_000_000)
    ap.add_argument("--limited-scenarios", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--plans-only", action="store_true", help="skip the fits")
    args = ap.parse_args()
    if not args.plans_only:
        _fits()
    _plans(args)


def _fits() -> None:
    runs = filter_runs(read_runs(DATA / "chinchilla-epoch" / "svg_extracted_data.csv",
                                 params_col="Model Size", flops_col="Training FLOP"),
                       drop_highest_loss=5)
    base = cpu_best(lambda: fit_runs(runs), 1)
    auto = cpu_best(lambda: fit_runs(runs, form="auto"), 1)
    average = cpu_best(lambda: fit_runs(runs, form="average"), 1)
    print(f"fit, 240 Chinchilla runs: chinchilla form {base:.2f} s; --form auto {auto:.2f} s "
          f"({auto / base:.1f}x; target < 10 s); --form average {average:.2f} s "
          f"({average / base:.1f}x)")
    for form in ("tied", "kaplan", "beta-of-n", "farseer"):
        t = cpu_best(lambda f=form: fit_form(runs, f), 1)
        print(f"  one {form} fit: {t:.2f} s (target < 2 s)")


def _plans(args) -> None:
    rng = np.random.default_rng(0)
    n = args.scenarios
    chin = get_law("sardana2024")
    loss = rng.uniform(1.9, 2.4, n)
    demand = 10 ** rng.uniform(10, 14, n)
    t_chin = cpu_best(lambda: lifetime_optimal(chin, loss=loss, inference_tokens=demand),
                  args.repeat)
    print(f"plan, {n:.0e} scenarios: chinchilla fast path {1e9 * t_chin / n:.0f} ns/scenario")
    laws = {"kaplan": make_law("kaplan", {"E": 1.05, "A": 2.9e12, "B": 1.5e12, "alpha": 0.169,
                                          "beta": 0.136}),
            "beta-of-n": make_law("beta-of-n", {"E": 0.57, "A": 28.7, "B": 12498.0,
                                                "alpha": 0.131, "beta0": 0.4335,
                                                "beta1": -0.0166}),
            "farseer": make_law("farseer", {"a1": -0.1, "b1": -0.9, "alpha": 0.1, "a2": 0.3,
                                            "b2": 8.62, "beta": 0.1, "a3": 0.25, "b3": 0.6,
                                            "gamma": -0.3})}
    for name, law in laws.items():
        t = cpu_best(lambda lw=law: lifetime_optimal(lw, loss=loss, inference_tokens=demand),
                 args.repeat)
        print(f"  {name}: {1e9 * t / n:.0f} ns/scenario ({t / t_chin:.1f}x the Chinchilla "
              "fast path; target <= 20x)")
    _limited(args, chin, laws)


def _limited(args, chin, laws) -> None:
    from computeplan.data_limits import limited_optimal, lowest_reachable_loss

    rng = np.random.default_rng(1)
    n = args.limited_scenarios
    u = 10 ** rng.uniform(11.5, 13.0, n)
    above = rng.uniform(0.02, 0.4, n)
    demand = 10 ** rng.uniform(10, 14, n)

    from computeplan import _formlimits

    def once(law, loss):
        _formlimits._BASE_CACHE.clear()  # N_opt(U) solved inside the timed plan
        return limited_optimal(law, loss=loss, unique_tokens=u, inference_tokens=demand)

    def run(law):
        loss = lowest_reachable_loss(law, u) + above
        return cpu_best(lambda: once(law, loss), args.repeat)

    t_chin = run(chin)
    print(f"data-limited plan, {n:.0e} scenarios: chinchilla form {1e9 * t_chin / n:.0f} "
          "ns/scenario")
    for name, law in laws.items():
        t = run(law)
        print(f"  {name}: {1e9 * t / n:.0f} ns/scenario ({t / t_chin:.1f}x the Chinchilla "
              "form's data-limited solver)")


if __name__ == "__main__":
    main()
