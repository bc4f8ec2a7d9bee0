"""Plans for a demand and prices known only as ranges: the expected-cost plan and its regret.

Every lifetime objective of the planner is linear in the demand and in each price: lifetime
FLOPs 6 N D + 2 N T (Sardana et al. 2024, eq. 1), lifetime dollars p N D + c(N) T with p
proportional to the training price and c(N) (fixed MFU or roofline serving) proportional to the
inference price, for T inference tokens (T itself a product of requests or users and fixed
factors). Hence, for ranges that vary independently, the expected lifetime cost of any model
(N, D) is its cost at the expected demand and prices, E[C(N, D; x)] = C(N, D; E[x]), and the
model that minimises the expected cost is the plan at the means. With each range taken as
uniform (or as any distribution symmetric about its middle), that is **the plan at the middle of
every range**, whatever the width of the ranges. Two more consequences, tested:

- the best achievable cost, min over (N, D) of C, is a minimum of functions linear in x and so
  concave in x: planning for the middle costs, in expectation, at least as much as knowing the
  demand and prices before choosing (the expected value of perfect information is >= 0), and the
  regret at the middle is zero;
- since C(N, D; x) is linear along any segment of x, the regret of the chosen plan (its cost
  minus the best cost for that x) is convex along it: its largest value over a range lies at an
  end, which is why the table reports the ends and the middle.

:func:`regret` takes a comparison planned for S scenarios at once (the planner broadcasts over
demand and prices) and the index of the scenario whose plan is chosen, and reports the chosen
plan's cost in every scenario against that scenario's own optimum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .lifetime import LifetimePlan, PlanComparison, evaluate

#: Where each range is evaluated in the regret table.
RANGE_POINTS = ("lo", "mid", "hi")


def range_points(ranges: dict[str, tuple[float, float]]) -> tuple[list[dict], int]:
    """Every combination of the ends and middle of each range (3^r scenarios, the last range
    varying fastest) as ``{name: value}``, and the index of the all-middle scenario."""
    names = list(ranges)
    grids = [(lo, 0.5 * (lo + hi), hi) for lo, hi in (ranges[k] for k in names)]
    idx = np.indices((3,) * len(names)).reshape(len(names), -1).T
    scenarios = [{k: grids[i][j] for i, (k, j) in enumerate(zip(names, row, strict=True))}
                 for row in idx]
    labels = [{k: RANGE_POINTS[j] for k, j in zip(names, row, strict=True)} for row in idx]
    mid = int(np.ravel_multi_index((1,) * len(names), (3,) * len(names))) if names else 0
    return [{"at": lab, "values": sc} for lab, sc in zip(labels, scenarios, strict=True)], mid


@dataclass(frozen=True)
class RegretTable:
    """The chosen plan (the optimum for scenario ``chosen``) priced in every scenario, against
    each scenario's own optimum."""

    comparison: PlanComparison  # planned for S scenarios
    chosen: int
    chosen_plan: LifetimePlan  # the chosen (N, D) evaluated in every scenario, (S,)

    @property
    def cost_key(self) -> str:
        return "total_cost_usd" if self.comparison.objective.priced else "total_flops"

    @property
    def best_cost(self) -> np.ndarray:
        return np.asarray(getattr(self.comparison.optimal, self.cost_key), float)

    @property
    def chosen_cost(self) -> np.ndarray:
        return np.asarray(getattr(self.chosen_plan, self.cost_key), float)

    @property
    def regret(self) -> np.ndarray:
        """Extra lifetime cost of the chosen plan over the best plan for each scenario."""
        return self.chosen_cost - self.best_cost

    @property
    def relative_regret(self) -> np.ndarray:
        return self.chosen_cost / self.best_cost - 1.0

    def rows(self, scenarios: list[dict]) -> list[dict]:
        opt = self.comparison.optimal
        key = self.cost_key
        return [{"at": s["at"], "values": s["values"],
                 "best_params": float(np.ravel(opt.params)[i]),
                 "best_train_tokens": float(np.ravel(opt.train_tokens)[i]),
                 f"best_{key}": float(self.best_cost[i]),
                 f"chosen_{key}": float(self.chosen_cost[i]),
                 "regret": float(self.regret[i]),
                 "relative_regret": float(self.relative_regret[i])}
                for i, s in enumerate(scenarios)]


def regret(comparison: PlanComparison, chosen: int) -> RegretTable:
    """The optimum of scenario ``chosen`` of a comparison planned for S scenarios (demand and
    prices broadcast to (S,)), evaluated in every scenario (module docstring)."""
    opt = comparison.optimal
    n = float(np.ravel(opt.params)[chosen])
    d = float(np.ravel(opt.train_tokens)[chosen])
    shape = np.shape(opt.params)
    plan = evaluate(comparison.law, np.full(shape, n), np.full(shape, d), comparison.demand,
                    comparison.objective, inputs="the ranges")
    return RegretTable(comparison, chosen, plan)
