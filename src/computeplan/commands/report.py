"""The `report` command: a plan and the curves behind its figures.

The same data feeds the HTML/PNG report (:mod:`computeplan.web.report`), the web page's plots and
``computeplan report --json``. Three figures, all computed with the core's vectorised functions:

* savings versus demand: :func:`~computeplan.commands.plan.plan` re-solved for the demand scaled
  over ``SWEEP_DECADES`` decades either side (one vectorised call);
* loss iso-curves L(N, D) = l in the (N, D) plane, D = (B / (l - E - A N^-alpha))^(1/beta)
  (:meth:`~computeplan.laws.ChinchillaLaw.tokens_for_loss`), with both plans marked;
* the lifetime cost along the iso-loss curve of the optimal plan
  (:func:`~computeplan.lifetime.evaluate`): the optimum is its minimum (Sardana et al. 2024,
  section 2), the Chinchilla-optimal model another point on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..lifetime import evaluate
from ..vocabulary import option
from .plan import DEFAULT_INFERENCE_TOKENS, RANGE_OF, PlanOptions, PlanReport, plan

#: The demand sweep covers this many decades below and above the given demand.
SWEEP_DECADES = 3.0
#: Points per curve.
POINTS = 61
#: Iso-loss levels, as multiples of the reducible loss l - E of the optimal plan.
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
            } | ({"bands": self.bands} if self.bands is not None else {}),
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


def _isoloss(law, loss: float, lo: float, hi: float, tokens_hi: float) -> Curve:
    """The iso-loss curve D(N) for N in [lo, hi], starting where D = ``tokens_hi`` (or just
    above the N that reaches the loss only with infinite data)."""
    with np.errstate(divide="ignore", over="ignore"):  # checked just below
        floor_params = FLOOR_MARGIN * (np.float64(law.A) / (loss - law.E)) ** (1.0 / law.alpha)
    if not (loss > law.E and np.isfinite(floor_params)):
        raise InputError(f"the report's iso-loss curves need a loss above E = {law.E:.6g} (the "
                         f"law's irreducible loss) by a representable margin; got {loss:.6g}: "
                         "use a smaller budget or a higher target loss")
    if loss > law.E + law.B * tokens_hi**-law.beta:
        floor_params = max(floor_params, float(law.params_for_loss(loss, tokens_hi)))
    start = max(lo, floor_params)
    params = np.geomspace(start, max(hi, 10.0 * start), POINTS)
    return Curve(f"L = {loss:.4g}", {"loss": np.asarray(loss), "params": params,
                                      "train_tokens": law.tokens_for_loss(loss, params)})


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
    if law.form != "chinchilla":
        raise InputError(f"the report's iso-loss figures need a Chinchilla-form law; law "
                         f"{law.name!r} has form {law.form!r} (plan works with it)")
    sizes = np.array([float(opt.params), float(chin.params)])
    lo, hi = sizes.min() / SIZE_SPAN, sizes.max() * SIZE_SPAN
    tokens_hi = max(float(opt.train_tokens), float(chin.train_tokens)) * SIZE_SPAN**2
    target = float(opt.loss)
    if not target > law.E:
        which = next((f"{option(k)} = {given[k]:g}" for k in
                      ("budget_flops", "budget_usd", "loss") if k in given), "the inputs")
        raise InputError(f"the optimal loss {target:.6g} rounds to E = {law.E:.6g} (the law's "
                         f"irreducible loss), so the report has no iso-loss curves; got {which}: "
                         "use a smaller budget (the loss must stay above E)")
    levels = [law.E + (target - law.E) * k for k in ISOLOSS_LEVELS]
    if not np.isclose(float(chin.loss), target, rtol=1e-9):  # budget target: unequal losses
        levels = sorted([*levels, float(chin.loss)])
    isoloss = tuple(_isoloss(law, lv, lo, hi, tokens_hi) for lv in levels)
    along = _isoloss(law, target, lo, hi, tokens_hi)
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
        limit = c.data_limit
        unique = None if limit is None else float(limit.unique_tokens)
        # the iso-loss curves drawn are the law's own (no limit): so is their band
        bands = {} if limit is not None else {
            "isoloss": isoloss_band(law, target, along.data["params"], level)}
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
        cost_curve=Curve(label, cost), bands=bands)


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
