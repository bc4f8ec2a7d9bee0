"""Is a fitted law safe to extrapolate? Checks beyond convergence (issue: implausible laws are
not "ok").

A fit can converge to coefficients that describe the runs and still be no law to plan with.
Each check below names such a case; any of them makes the fit "not ok" with the reason (the
warnings start with ``implausible:``), in the table, the JSON and the exit status:

- the irreducible loss E is far below every observed loss (below ``E_FLOOR_SHARE`` of the
  lowest), so the fit spends the runs' curvature on the exponents (Sardana et al.'s 34 runs at
  <= 100 tokens per parameter give E = 0.153 with alpha = 0.077 under the Chinchilla form);
- an exponent is near zero (below ``MIN_EXPONENT``): a power law that barely falls, whose
  prefactor and exponent trade off along a ridge;
- an exponent far above the start grid's (above ``MAX_EXPONENT``): the term acts on the
  smallest runs only, a step rather than a power law, and the objective keeps falling as the
  exponent grows (no optimum is attained, so where the optimiser stops is arbitrary);
- too few runs per coefficient (fewer than ``RUNS_PER_COEFFICIENT``);
- the runs cannot separate N from D: ln N and ln D almost collinear (|correlation| above
  ``MAX_CORRELATION``, e.g. every run at D = 20 N);
- only a handful of the starts reach the best optimum (fewer than ``MIN_STARTS_AT_BEST``).

The cross-validation of ``fit --form auto`` adds one more (:mod:`.select`): a large
extrapolation error on its folds.
"""

from __future__ import annotations

import numpy as np

#: E below this share of the lowest observed loss is implausible.
E_FLOOR_SHARE = 0.2
#: Exponents below this are implausible (the term is nearly flat).
MIN_EXPONENT = 0.1
#: Exponents above this (twice the largest of the Hoffmann start grid) are implausible.
MAX_EXPONENT = 4.0
#: Fewest runs (weight > 0) per fitted coefficient.
RUNS_PER_COEFFICIENT = 3
#: Largest |correlation| of ln N and ln D across the runs.
MAX_CORRELATION = 0.99
#: Fewest starts of the multi-start fit that must reach the best optimum.
MIN_STARTS_AT_BEST = 3


def implausible(form, coef: dict, params, train_tokens, loss, *, starts_at_best: int | None
                ) -> list[str]:
    """The ``implausible:`` warnings of a fit of ``form`` (:mod:`computeplan.forms`) with
    natural coefficients ``coef`` to the runs (weight > 0) ``params``, ``train_tokens``,
    ``loss``; empty when none applies (module docstring)."""
    out = []
    loss = np.asarray(loss, float)
    floor = form.irreducible(coef)
    if floor is not None and floor < E_FLOOR_SHARE * loss.min():
        out.append(f"implausible: irreducible loss {floor:.4g} is far below every observed "
                   f"loss (lowest {loss.min():.4g}; the check is < {E_FLOOR_SHARE:g} of it)")
    for c in form.exponents:
        if 0 < coef[c] < MIN_EXPONENT:
            out.append(f"implausible: exponent {c} = {coef[c]:.4g} is near zero (< "
                       f"{MIN_EXPONENT:g}): the term barely falls and trades off with its "
                       "prefactor")
        if coef[c] > MAX_EXPONENT:
            out.append(f"implausible: exponent {c} = {coef[c]:.4g} is very large (> "
                       f"{MAX_EXPONENT:g}): the term acts on the smallest runs only, a step "
                       "rather than a power law")
    out += runs_checks(form, params, train_tokens)
    if starts_at_best is not None and starts_at_best < MIN_STARTS_AT_BEST:
        out.append(f"implausible: only {starts_at_best} of the starts reach the best optimum "
                   f"(fewer than {MIN_STARTS_AT_BEST}): the optimum is fragile")
    return out


def runs_checks(form, params, train_tokens) -> list[str]:
    """The warnings of :func:`implausible` that are about the runs, not the fitted law: too few
    runs per coefficient, N and D not separable."""
    out = []
    n, k = len(np.asarray(params)), form.n_coefficients
    if n < RUNS_PER_COEFFICIENT * k:
        out.append(f"implausible: {n} runs for {k} coefficients (fewer than "
                   f"{RUNS_PER_COEFFICIENT} per coefficient)")
    ln_n, ln_d = np.log(params), np.log(train_tokens)
    if np.std(ln_n) > 0 and np.std(ln_d) > 0:
        corr = float(np.corrcoef(ln_n, ln_d)[0, 1])
        if abs(corr) > MAX_CORRELATION:
            out.append(f"implausible: the runs cannot separate N from D (correlation of ln N "
                       f"and ln D {corr:.4f}; e.g. all at one tokens-per-parameter ratio)")
    return out
