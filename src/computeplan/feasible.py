"""A model is at least one parameter trained on at least one token.

A plan whose optimum or Chinchilla-optimal reference has N < 1 or D < 1 (a lifetime budget of
1 FLOP plans 2.5e-13 parameters) describes no model: it is refused with a one-line
:class:`~computeplan.errors.InputError` naming the target and the smallest budget (largest
target loss) at which both models have N >= 1 and D >= 1. That bound is found for the law, the
objective and the data limit in use by the planner itself: both models grow with the budget
(and shrink with the target loss), so the feasible targets are one interval, and its end is
located on a grid of 64 candidate targets solved in one vectorised call, refined five times
(:func:`lowest_feasible`; 40 decades to 4e-8 decades).
"""

from __future__ import annotations

import math

import numpy as np

from .errors import InputError

#: The smallest model: one parameter, one training token.
MIN_PARAMS = 1.0
MIN_TOKENS = 1.0
#: How far :func:`lowest_feasible` looks, in decades of the budget (or of the loss above its
#: floor), and its grid.
SEARCH_DECADES = 40.0
GRID_POINTS = 64
ROUNDS = 5


def too_small(*models) -> np.ndarray:
    """Per scenario: whether any of ``models`` (with ``params``, ``train_tokens``) has fewer
    than :data:`MIN_PARAMS` parameters or :data:`MIN_TOKENS` tokens (NaN counts as too
    small: it is no model either)."""
    out = np.zeros((), bool)
    for m in models:
        ok = (np.asarray(m.params) >= MIN_PARAMS) & (np.asarray(m.train_tokens) >= MIN_TOKENS)
        out = out | ~ok
    return out


def first(mask) -> tuple:
    """The index of ``mask``'s first true element (``()`` for a scalar)."""
    return np.unravel_index(int(np.argmax(mask)), np.shape(mask)) if np.ndim(mask) else ()


def at(x, shape: tuple, index: tuple) -> float:
    """Element ``index`` of ``x`` broadcast to the scenarios' ``shape``."""
    return float(np.broadcast_to(x, shape)[index])


def lowest_feasible(feasible, t0: float, decades: float = SEARCH_DECADES) -> float | None:
    """The smallest t in (t0, t0 + decades] where ``feasible(t)`` holds, for a ``feasible``
    that takes an array of t and is monotone (false below some t*, true above): the grid's
    first feasible point after ``ROUNDS`` refinements (at or above t*, within
    decades / (GRID_POINTS - 1)^ROUNDS). None when no t in the range is feasible."""
    lo, hi = t0, t0 + decades
    for _ in range(ROUNDS):
        grid = np.linspace(lo, hi, GRID_POINTS)
        ok = np.asarray(feasible(grid), bool)
        if not ok.any():
            return None
        k = int(np.argmax(ok))
        if k == 0:
            return float(grid[0])
        lo, hi = float(grid[k - 1]), float(grid[k])
    return hi


def lowest_budget(feasible, budget: float) -> float | None:
    """The smallest budget above ``budget`` (within :data:`SEARCH_DECADES` decades) at which
    ``feasible`` (an array of budgets -> bools, false below some budget and true above) holds;
    None when none does."""
    found = lowest_feasible(lambda s: feasible(10.0 ** s), math.log10(budget))
    return None if found is None else 10.0 ** found


def highest_loss(feasible, target: float, floor: float) -> float | None:
    """The highest target loss below ``target`` and above ``floor`` (the lowest loss a plan can
    have) at which ``feasible`` (an array of losses -> bools, true below some loss and false
    above) holds; None when none does. The candidates are floor + (target - floor) 10^-s, s >
    0, each a double above the floor."""
    span = target - floor
    decades = min(SEARCH_DECADES, math.log10(span / (1e-12 * max(abs(floor), 1e-300))))
    if not decades > 0:
        return None
    found = lowest_feasible(lambda s: feasible(floor + span * 10.0 ** -s), 0.0, decades)
    return None if found is None else floor + span * 10.0 ** -found


def round_up(x: float, digits: int = 4) -> float:
    """``x`` rounded up to ``digits`` significant digits (a bound that still holds)."""
    step = 10.0 ** (math.floor(math.log10(x)) - digits + 1)
    return math.ceil(x / step * (1 - 1e-12)) * step


def round_down(x: float, digits: int = 6) -> float:
    """``x`` rounded down to ``digits`` significant digits."""
    step = 10.0 ** (math.floor(math.log10(abs(x))) - digits + 1)
    return math.floor(x / step * (1 + 1e-12)) * step


def _feasible(solve, base, target: str, values) -> np.ndarray:
    """Per candidate ``values`` of ``target`` (the target alone: a reference model's loss
    given as a loss): whether both models of the plan have N >= 1 and D >= 1. A candidate the
    planner refuses (e.g. a budget below what a law of another form can plan for) is not; the
    refusing call is split in halves until the refused candidates are alone."""
    try:
        with np.errstate(all="ignore"):
            c = solve(base.replace(reference_params=None, reference_tokens=None,
                                   **{target: values}))
    except InputError:
        if values.size == 1:
            return np.zeros(1, bool)
        half = values.size // 2
        return np.concatenate([_feasible(solve, base, target, values[:half]),
                               _feasible(solve, base, target, values[half:])])
    return np.broadcast_to(~too_small(c.chinchilla, c.optimal), values.shape)


def _scenario(options, shape: tuple, index: tuple):
    """``options`` of one scenario of a vectorised plan (each array option's element
    ``index`` of the scenarios' broadcast ``shape``), without the law's replicates (the
    central law's plan)."""
    one = {k: np.broadcast_to(v, shape)[index].item() for k, v in options.flat().items()
           if isinstance(v, np.ndarray) and v.ndim}
    return options.replace(**one, uncertainty=None, level=None, confidence=None)


def budget_bound(options, budget, solve, shape=(), index=()) -> tuple[str, float, str]:
    """(the budget option, the scenario's budget, the words of the smallest budget at which
    both models have N >= 1 and D >= 1)."""
    from .vocabulary import option

    name = "budget_flops" if options.target.budget_flops is not None else "budget_usd"
    b = at(budget, shape, index)
    base = _scenario(options, shape, index)
    found = lowest_budget(lambda x: _feasible(solve, base, name, x), b)
    words = (f"the smallest {option(name)} at which the optimum and the Chinchilla-optimal "
             f"model both have one is {round_up(found):.4g}" if found is not None
             else f"no {option(name)} up to 1e{SEARCH_DECADES:g} times it gives one")
    return name, b, words


def refuse_budget(options, budget, solve, law, reason: str) -> None:
    """Re-raise the planner's refusal of a budget too small for any model under ``law``
    (``reason``) with the smallest budget that gives one (of the smallest budget given)."""
    from .vocabulary import option

    smallest = np.asarray(budget) == np.min(budget)
    name, b, words = budget_bound(options, budget, solve, np.shape(budget), first(smallest))
    raise InputError(f"{option(name)} {b:g} is too small: {reason}; a model needs at least 1 "
                     f"parameter and 1 token, and {words} (law {law.name})")


def check_plan(options, comparison, loss, budget, solve) -> None:
    """A one-line InputError when the plan's optimum or Chinchilla-optimal reference (of any
    scenario) has fewer than one parameter or token, naming the target and the smallest budget
    (within a budget) or largest target loss at which both are models (module docstring).
    ``solve(options)`` plans ``options`` (arrays of targets, one per candidate) unchecked."""
    from .render import count
    from .vocabulary import option

    models = {"optimum": comparison.optimal, "Chinchilla-optimal model": comparison.chinchilla}
    bad = too_small(*models.values())
    if not bad.any():
        return
    shape, index = bad.shape, first(bad)
    label, model = next((k, m) for k, m in models.items()
                        if np.broadcast_to(too_small(m), shape)[index])
    n, d = at(model.params, shape, index), at(model.train_tokens, shape, index)
    which = "" if bad.size == 1 else (f" (scenario {int(np.ravel_multi_index(index, shape))} "
                                      f"of {bad.size}, {int(bad.sum())} too small)")
    what = (f"the {label} would have {count(n)} parameters trained on {count(d)} tokens, and "
            "a model needs at least 1 parameter and 1 token")
    law = comparison.law.name
    t = options.target
    if budget is not None:
        name, b, bound = budget_bound(options, budget, solve, shape, index)
        raise InputError(f"{option(name)} {b:g} is too small{which}: {what}; {bound} (law "
                         f"{law})")
    target = at(loss, shape, index)
    given = [k for k in ("reference_params", "reference_tokens") if k in t.given()]
    named = f"{option('loss')} {target:.6g}" if not given else (
        f"the target loss {target:.6g} of " + " ".join(
            f"{option(k)} {at(getattr(t, k), shape, index):g}"
            for k in given))
    base = _scenario(options, shape, index)
    found = highest_loss(lambda x: _feasible(solve, base, "loss", x), target,
                         _loss_floor(comparison))
    bound = (f"the highest target {option('loss')} at which the optimum and the Chinchilla-"
             f"optimal model both have one is {round_down(found):.6g}"
             if found is not None else "no lower target loss within reach gives one")
    raise InputError(f"{named} is too high{which}: {what}; {bound} (law {law})")


def _loss_floor(comparison) -> float:
    """The lowest target loss the plan can have: the law's irreducible loss (E; a form's
    own, 0 where it has none), or with a unique-token limit the lowest reachable with it."""
    law = comparison.law
    if comparison.data_limit is not None:
        return float(np.max(comparison.data_limit.lowest_reachable_loss))
    floor = law.irreducible()
    return 0.0 if floor is None else float(floor)
