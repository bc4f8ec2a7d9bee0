"""Plans under uncertainty as plain rows of strings, shared by the terminal
(:mod:`computeplan.cli.plan`) and the HTML report (:mod:`computeplan.web.report`): the point plan
beside the ranges of each replicate's own optimum and the robust plan, the sentences on the
chance of a saving and of missing the target, and the regret table of demand and price ranges.
They read the plan's JSON (``uncertainty`` and ``ranges`` of
:meth:`~computeplan.commands.plan.PlanReport.to_dict`); the web page builds the same from it.
"""

from __future__ import annotations

from .render import count, fmt, pct, quantity
from .render_timeline import Rows

_FIELDS = (("params", "parameters N"), ("train_tokens", "training tokens D"),
           ("tokens_per_param", "tokens per parameter"), ("total_flops", "lifetime FLOPs"),
           ("total_cost_usd", "lifetime cost"))


def uncertainty_rows(plan: dict) -> Rows | None:
    """The point plan, the ``level`` range and median of every replicate's own optimum, and the
    robust plan, per quantity. None without ``uncertainty`` in the plan."""
    u = plan.get("uncertainty")
    if u is None:
        return None
    point, robust, optimal = plan["optimal"], u["robust"], u["optimal"]
    level = f"{100 * u['level']:g}%"
    rows = []
    if u.get("present_value"):  # costs in present value, the point plan's from its timeline
        pv = plan["timeline"]["optimal"]
        point = point | {k: pv.get(f"present_value_{k}") for k in ("total_flops",
                                                                     "total_cost_usd")}
    for key, label in _FIELDS:
        if optimal is None or key not in optimal or point.get(key) is None:
            continue
        iv = optimal[key]
        if u.get("present_value") and key.startswith("total_"):
            label = "PV " + label
        rows.append([label, quantity(key, point[key]), quantity(key, iv["lo"]),
                     quantity(key, iv["median"]), quantity(key, iv["hi"]),
                     "" if robust is None else quantity(key, robust[key])])
    pp = u["point_plan"]
    confidence = f"{100 * u['confidence']:g}%"
    budget = plan.get("target_loss") is None
    if budget and robust is not None:  # what the robust plan within a budget minimises
        rows.append([f"loss under {confidence}", fmt(pp["loss_at_confidence"], 5), "", "", "",
                     fmt(robust["loss_at_confidence"], 5)])
    rows.append(["P(target met)", pct(pp["target_met_probability"]), "", "",
                 "", "" if robust is None else pct(robust["target_met_probability"])])
    rows.append(["point plan loss", "", fmt(pp["loss"]["lo"], 5),
                 fmt(pp["loss"]["median"], 5), fmt(pp["loss"]["hi"], 5), ""])
    robust_head = f"Robust ({confidence})"
    what = ("each replicate's own optimum within the same budget" if budget
            else "each replicate's own optimum for the same loss and demand")
    robust_is = (f"the model within the budget whose loss reached under at least {confidence} "
                 "of the replicates is lowest (target met: reaching that loss; the point "
                 "plan's: reaching the loss the central law predicts)" if budget else
                 f"the cheapest model that reaches the loss under at least {confidence} of the "
                 "replicates")
    return Rows(f"Under the law's uncertainty ({u['replicates']} coefficient replicates)",
                ["", "Point plan", "low", "median", "high", robust_head], rows,
                f"low - high: the {level} range over replicates of {what}; robust: {robust_is}"
                + ("; PV: present value" if u.get("present_value") else ""))


def uncertainty_lines(plan: dict) -> list[str]:
    """Sentences: the probability the saving is real and its range, the chance the point plan
    misses the target, the robust plan and its premium, and the notes. Empty without
    ``uncertainty``."""
    u = plan.get("uncertainty")
    if u is None:
        return []
    level = f"{100 * u['level']:g}%"
    out = []
    s = u["savings"]
    if s is not None:
        out.append(f"the saving over the Chinchilla-optimal model is positive under "
                   f"{pct(s['probability_positive'])} of the replicates ({level} range "
                   f"{pct(s['lo'])} to {pct(s['hi'])}, median {pct(s['median'])})")
    miss = 1.0 - u["point_plan"]["target_met_probability"]
    target = ("the target loss" if plan.get("target_loss") is not None else
              f"the loss the central law predicts for it ({fmt(plan['optimal']['loss'], 5)})")
    out.append(f"the point plan misses {target} under {pct(miss)} of the replicates "
               f"(its loss: {level} range {fmt(u['point_plan']['loss']['lo'], 5)} to "
               f"{fmt(u['point_plan']['loss']['hi'], 5)})")
    r = u["robust"]
    cost = "present-value lifetime cost" if u.get("present_value") else "lifetime cost"
    if r is not None and r.get("loss_at_confidence") is not None:
        conf = f"{100 * u['confidence']:g}%"
        out.append(f"robust plan within the budget: {count(r['params'])} parameters on "
                   f"{count(r['train_tokens'])} tokens reaches loss "
                   f"{fmt(r['loss_at_confidence'], 5)} under {pct(r['target_met_probability'])}"
                   f" of the replicates, where the point plan reaches "
                   f"{fmt(u['point_plan']['loss_at_confidence'], 5)} under {conf}")
    elif r is not None:
        out.append(f"robust plan: {count(r['params'])} parameters on {count(r['train_tokens'])} "
                   f"tokens reaches the target under {pct(r['target_met_probability'])} of the "
                   f"replicates for {pct(abs(r['premium']))} "
                   f"{'more' if r['premium'] >= 0 else 'less'} {cost} than the point plan")
    return out + list(u.get("notes", []))


def regret_rows(plan: dict) -> Rows | None:
    """The regret table of demand and price ranges (``ranges`` in the plan): for each end and
    middle of each range, the best plan there, its cost, the chosen plan's cost and the regret.
    None without ranges."""
    r = plan.get("ranges")
    if r is None:
        return None
    key = r["cost"]
    rows = []
    for row in r["regret"]:
        where = ", ".join(f"{name} {at} {quantity(name, row['values'][name])}"
                          for name, at in row["at"].items())
        rows.append([where, count(row["best_params"]), count(row["best_train_tokens"]),
                     quantity(key, row[f"best_{key}"]), quantity(key, row[f"chosen_{key}"]),
                     pct(row["relative_regret"])])
    chosen = r["chosen"]
    return Rows("Regret across the ranges",
                ["scenario", "best N", "best D", "best cost", "chosen plan's cost", "regret"],
                rows, f"Chosen: {count(chosen['params'])} parameters on "
                      f"{count(chosen['train_tokens'])} tokens, the plan for the middle of every "
                      "range, which minimises the expected lifetime cost (the cost is linear in "
                      "demand and prices); regret = its extra cost over the best plan for that "
                      "scenario")
