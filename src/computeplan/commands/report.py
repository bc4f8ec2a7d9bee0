"""The `report` command: a plan and the curves behind its figures.

The same data feeds the HTML/PNG report (:mod:`computeplan.web.report`), the web page's plots and
``computeplan report --json``. Three figures, all computed with the core's vectorised functions:

* savings versus demand: :func:`~computeplan.commands.plan.plan` re-solved for the demand scaled
  over ``SWEEP_DECADES`` decades either side (one vectorised call);
* loss iso-curves L(N, D) = l in the (N, D) plane of a law of any form, D(N) closed form at
  fixed N (:class:`computeplan.isoloss.Contours`: D = (B / (l - E - A N^-alpha))^(1/beta) for
  the Chinchilla form), with both plans marked; under a unique-token limit the curves are the
  data-limited law's, L(N, D; U) = l (Muennighoff et al. 2023, eq. 5), beside the law's own
  curve through the Chinchilla-optimal model (which ignores the limit);
* the lifetime cost along the iso-loss curve of the optimal plan
  (:func:`~computeplan.lifetime.evaluate`): the optimum is its minimum (Sardana et al. 2024,
  section 2), the Chinchilla-optimal model another point on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..isoloss import Contours
from ..lifetime import evaluate
from ..vocabulary import option
from .plan import DEFAULT_INFERENCE_TOKENS, RANGE_OF, PlanOptions, PlanReport, plan

#: The demand sweep covers this many decades below and above the given demand.
SWEEP_DECADES = 3.0
#: Points per curve.
POINTS = 61
#: Iso-loss levels, as multiples of the reducible loss l - E of the optimal plan (E: the law's
#: lowest loss, under a unique-token limit the lowest loss reachable with those tokens).
ISOLOSS_LEVELS = (0.8, 0.9, 1.0, 1.15, 1.3)
#: The (N, D) plots span this factor below and above the two plans' sizes (its square above
#: their training tokens).
SIZE_SPAN = 20.0
#: Iso-loss curves start this factor above the smallest N that can reach the loss (D -> inf).
FLOOR_MARGIN = 1.05

_DEMAND_COUNTS = ("inference_tokens", "requests", "users")


@dataclass(frozen=True)
class Curve:
    """One plotted line: named arrays, JSON-ready through :func:`computeplan.render.jsonable`."""

    label: str
    data: dict[str, np.ndarray]

    def to_dict(self) -> dict:
        return {"label": self.label} | self.data


@dataclass(frozen=True)
class PlanFigures:
    """A plan, the inputs that produced it, and the data of its three figures."""

    inputs: dict
    plan: PlanReport
    demand_sweep: Curve
    isoloss: tuple[Curve, ...]
    cost_curve: Curve
    #: Under ``uncertainty``: ``savings`` (the demand sweep's range over replicates) and
    #: ``isoloss`` (the target curve's range of D at each N), or None.
    bands: dict | None = None
    #: Under a unique-token limit (``isoloss`` are then the data-limited law's curves): the law's
    #: own curve through the Chinchilla-optimal model, which ignores the limit; else None.
    isoloss_unlimited: Curve | None = None

    @property
    def priced(self) -> bool:
        return bool(self.plan.comparison.objective.priced)

    def to_dict(self) -> dict:
        return {
            "inputs": self.inputs,
            "plan": self.plan.to_dict(),
            "figures": {
                "demand_sweep": self.demand_sweep.to_dict(),
                "isoloss": [c.to_dict() for c in self.isoloss],
                "cost_curve": self.cost_curve.to_dict(),
            } | ({"bands": self.bands} if self.bands is not None else {})
            | ({"isoloss_unlimited": self.isoloss_unlimited.to_dict()}
               if self.isoloss_unlimited is not None else {}),
        }


def _scalar_inputs(options: PlanOptions) -> dict:
    given = options.given()
    for k, val in given.items():
        if np.ndim(val) != 0 and k not in RANGE_OF:
            raise InputError(f"{option(k)} must be a single number for a report; got an array")
    return given


def _demand_sweep(options: PlanOptions, base: PlanReport) -> Curve:
    """``plan`` re-solved with the demand count (tokens, requests or users) scaled by
    10^[-SWEEP_DECADES, SWEEP_DECADES]. A zero demand is swept around the Chinchilla-optimal
    model's training tokens instead, so the figure still shows where inference starts to matter."""
    comparison = base.comparison
    d = options.demand
    form = next((k for k in _DEMAND_COUNTS if getattr(d, k) is not None), None)
    count = float(getattr(d, form)) if form else DEFAULT_INFERENCE_TOKENS
    form = form or "inference_tokens"
    total = float(comparison.demand.total_tokens)
    if not total > 0:  # zero demand: anchor the sweep at the training tokens
        per_request = (d.input_tokens or 0.0) + (d.output_tokens or 0.0)
        per_count = {"inference_tokens": 1.0, "requests": per_request,
                     "users": per_request * (d.requests_per_user_per_day or 0.0)
                     * (d.days or 0.0)}[form]
        anchor = float(comparison.chinchilla.train_tokens)
        if per_count > 0:
            count = anchor / per_count
        else:  # no tokens per request or user: sweep the token count itself
            options = options.replace(**dict.fromkeys(_DEMAND_COUNTS))
            form, count = "inference_tokens", anchor
    scales = np.logspace(-SWEEP_DECADES, SWEEP_DECADES, POINTS)
    swept = plan(options.replace(**{form: count * scales}))
    result = swept.comparison
    data = {"scale": scales, "inference_tokens": result.demand.total_tokens,
            "chinchilla_loss": result.chinchilla.loss, "optimal_loss": result.optimal.loss}
    data |= {f"ratio_{k}": r for k, r in result.ratios.items()}
    return Curve(f"demand sweep ({form} x 10^±{SWEEP_DECADES:g})", data), result.demand


def _isoloss(contours: Contours, loss: float, lo: float, hi: float, tokens_hi: float
             ) -> Curve:
    """The iso-loss curve D(N) for N in [lo, hi], starting where D = ``tokens_hi`` (or just
    above the N that reaches the loss only with infinite data); ``contours`` gives the law's
    curves, or the data-limited law's (:class:`computeplan.isoloss.Contours`)."""
    floor_n, top_n = contours.params_range(loss)
    floor_params = FLOOR_MARGIN * floor_n
    if not (np.isfinite(floor_params) and floor_params < top_n):
        floor = contours.floor()
        raise InputError(f"the report's iso-loss curves need a loss above {floor:.6g} (the "
                         "lowest loss of the law" + (" with these unique tokens"
                                                     if contours.unique_tokens else "")
                         + f") by a representable margin; got {loss:.6g}: use a smaller "
                         "budget or a higher target loss")
    # within the form's range of N (beta-of-n: where its data exponent is a law)
    end = min(max(hi, 10.0 * max(lo, floor_params)), top_n * (1.0 - 1e-9))
    at = contours.params_at(loss, tokens_hi, floor_params, end)
    if at is not None:
        floor_params = max(floor_params, at)
    start = max(lo, floor_params)
    if not start < end:
        raise InputError(f"the report's iso-loss curve of loss {loss:.6g} lies beyond the "
                         f"largest model of this {contours.form}-form law ({top_n:.4g} "
                         "parameters); use a higher target loss or a smaller budget")
    params = np.geomspace(start, end, POINTS)
    return Curve(f"L = {loss:.4g}", {"loss": np.asarray(loss), "params": params,
                                      "train_tokens": contours.tokens(loss, params)})


def report(options: PlanOptions | None = None, /, **flat) -> PlanFigures:
    """The plan for ``options`` (a :class:`~computeplan.commands.plan.PlanOptions` or its flat
    options, as :func:`computeplan.commands.plan.plan` takes them; single numbers only) with the
    data of its figures."""
    if options is None:
        options = PlanOptions.from_flat(**flat)
    elif flat:
        options = options.replace(**flat)
    given = _scalar_inputs(options)
    base = plan(options)
    c = base.comparison
    law, opt, chin = c.law, c.optimal, c.chinchilla
    limit = c.data_limit
    unique = None if limit is None else float(limit.unique_tokens)
    # under a unique-token limit the curves are the data-limited law's (the optimum's loss)
    contours = Contours(law, unique)
    sizes = np.array([float(opt.params), float(chin.params)])
    lo, hi = sizes.min() / SIZE_SPAN, sizes.max() * SIZE_SPAN
    tokens_hi = max(float(opt.train_tokens), float(chin.train_tokens)) * SIZE_SPAN**2
    target = float(opt.loss)
    floor = contours.floor()
    if floor is None:
        raise InputError(f"law {law.name!r} ({law.form} form) has no lowest loss that its loss "
                         "falls towards, so the report has no iso-loss levels to draw")
    if not target > floor:
        which = next((f"{option(k)} = {given[k]:g}" for k in
                      ("budget_flops", "budget_usd", "loss") if k in given), "the inputs")
        what = ("the lowest loss reachable with these unique tokens" if unique is not None
                else "the law's irreducible loss")
        named = f"E = {floor:.6g}" if unique is None and hasattr(law, "E") else f"{floor:.6g}"
        raise InputError(f"the optimal loss {target:.6g} rounds to {named} ({what}), so the "
                         f"report has no iso-loss curves; got {which}: use a smaller budget (the "
                         "loss must stay above it)")
    levels = [floor + (target - floor) * k for k in ISOLOSS_LEVELS]
    if unique is None and not np.isclose(float(chin.loss), target, rtol=1e-9):
        levels = sorted([*levels, float(chin.loss)])  # budget target: unequal losses
    isoloss = tuple(_isoloss(contours, lv, lo, hi, tokens_hi) for lv in levels)
    along = _isoloss(contours, target, lo, hi, tokens_hi)
    # the Chinchilla-optimal reference ignores the limit: its curve is the law's own
    unlimited = None if unique is None else _isoloss(Contours(law), float(chin.loss), lo, hi,
                                                     tokens_hi)
    bill = evaluate(law, along.data["params"], along.data["train_tokens"], c.demand, c.objective)
    cost = {"params": bill.params, "train_tokens": bill.train_tokens,
            "total_flops": bill.total_flops}
    if c.objective.priced:
        cost["total_cost_usd"] = bill.total_cost_usd
    label = f"lifetime cost along L = {target:.4g}"
    if base.dated is not None:
        cost |= _present_value_curve(base, along)
        label = f"present-value lifetime cost along L = {target:.4g}"
    # the figures' sweeps are plans of one law at the middle of any range
    single = options.replace(uncertainty=None, level=None, confidence=None,
                             **dict.fromkeys(RANGE_OF))
    for name, value in options.ranges.given().items():
        single = single.replace(**{RANGE_OF[name]: 0.5 * (value[0] + value[1])})
    sweep, swept_demand = _demand_sweep(single, base)
    bands = None
    if base.uncertainty is not None:
        from ..uncertainty import isoloss_band, savings_band

        level = base.uncertainty.level
        bands = {"isoloss": isoloss_band(law, target, along.data["params"], level,
                                         unique_tokens=unique)}
        demand, t = swept_demand, base.dated.timeline if base.dated is not None else None
        if t is not None:  # present values: each demand at F D_inf (no band where the
            from ..timeline import scaled  # factor depends on each plan's training time)

            fixed = t.train_flops_per_second is not None and not t.trends_off
            demand = None if fixed else scaled(demand, t.service_factor())
        if c.target_loss is not None and demand is not None:
            band = savings_band(law, target, demand, c.objective, level, unique_tokens=unique)
            if band is not None:
                bands["savings"] = {"inference_tokens": sweep.data["inference_tokens"]} | band
    return PlanFigures(
        inputs=given, plan=base, demand_sweep=sweep, isoloss=isoloss,
        cost_curve=Curve(label, cost), bands=bands, isoloss_unlimited=unlimited)


def _present_value_curve(base: PlanReport, along: Curve) -> dict:
    """The present value of the lifetime cost along the iso-loss curve, every model served from
    the optimal plan's serving start (its factor f, :mod:`computeplan.timeline`): p N D + q N f,
    whose minimum is the optimal plan (for that serving start). ``present_value_marks``: both
    plans' present values on the same terms."""
    from ..timeline import scaled

    c, dated = base.comparison, base.dated
    effective = scaled(c.demand, dated.optimal.inference_factor)
    key = "total_cost_usd" if c.objective.priced else "total_flops"
    bill = evaluate(c.law, along.data["params"], along.data["train_tokens"], effective,
                    c.objective)
    marks = {name: getattr(evaluate(c.law, p.params, p.train_tokens, effective, c.objective), key)
             for name, p in (("chinchilla", c.chinchilla), ("optimal", c.optimal))}
    return {f"present_value_{key}": getattr(bill, key), "present_value_marks": marks}
