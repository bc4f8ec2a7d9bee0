"""The `tradeoff` command: iso-performance frontier, span and exchange rates of a technique."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..laws import COEFFICIENTS, get_law
from ..numbertext import NUMBER_FORM, parse_number
from ..tradeoffs.frontier import DEFAULT_GRID_POINTS, DEFAULT_MIN_EXCHANGE_RATE
from ..vocabulary import called, option
from .options import LAW_BOUNDS, bounded


def _set() -> str:
    """The technique-parameter option: the field ``params``, which the CLI spells ``--set``."""
    return option("params", cli="--set")


@dataclass(frozen=True)
class TradeoffReport:
    frontier: object  # tradeoffs.Frontier
    combination: object | None  # tradeoffs.Combination
    allocation: object | None  # tradeoffs.FrontierAllocation
    fit: object | None  # tradeoffs.CurveFit
    point: dict | None
    points: int
    assumed: tuple[str, ...] = ()

    @property
    def notes(self) -> list[str]:
        out = list(self.assumed) + list(self.frontier.notes)
        if self.combination is not None:
            out += list(self.combination.notes)
        if self.allocation is not None and np.any(self.allocation.at_frontier_end):
            out.append("for some query counts the cheapest point is an end of the frontier: "
                       "training share and exchange rate there are not an interior optimum")
        return out

    def _law_frontiers(self) -> list[tuple[str, str, object]]:
        """(key, label, frontier) of the frontiers whose technique is under a scaling law
        (scaling-policy, pruning): the technique's and the combined one's."""
        out = [("frontier", "the frontier's farthest model", self.frontier)]
        if self.combination is not None:
            out.append(("combined", "the combined technique's farthest model",
                        self.combination.second))
        return [(k, label, f) for k, label, f in out if hasattr(f.technique, "models")]

    @property
    def law(self):
        """The scaling law under the technique or the combined one; None when neither has one
        (both have the same: the law options apply to every technique)."""
        fronts = self._law_frontiers()
        return fronts[0][2].technique.law if fronts else None

    @property
    def extrapolation(self) -> dict | None:
        """For a technique under a scaling law (scaling-policy, pruning; also as the combined
        technique): how far the models on its frontier (per quantity, the farthest of them:
        one number, not one per frontier point) and at the evaluated point lie outside the
        law's domain, with ``warnings`` (:func:`computeplan.extrapolation.law_report`); None
        for other techniques and for a law without a domain."""
        if self.law is None:
            return None
        from ..extrapolation import law_report

        models = {key: (label, *f.technique.models(f.train_compute, f.inference_compute))
                  for key, label, f in self._law_frontiers()}
        tech = self.frontier.technique
        if self.point is not None and hasattr(tech, "models"):
            models["point"] = ("the model at the point", *tech.models(
                self.point["train_compute"], self.point["inference_compute"]))
        out = law_report(self.law, models)
        if out is not None:
            for key, _, _ in self._law_frontiers():
                out[key] = {q: None if dist is None else float(np.max(dist))
                            for q, dist in out[key].items()}
        return out

    def to_dict(self) -> dict:
        out = self.frontier.to_dict(self.points)
        out.pop("notes")
        if self.point is not None:
            out["point"] = self.point
        if self.fit is not None:
            out["fit"] = self.fit.to_dict()
        if self.combination is not None:
            out["combination"] = {k: val for k, val in self.combination.to_dict().items()
                                  if k != "notes"}
        if self.allocation is not None:
            out["allocation"] = self.allocation.to_dict()
        if self.law is not None:
            out["extrapolation"] = self.extrapolation
        return out | {"notes": self.notes}


def parse_params(params) -> dict:
    """``["key=value", ...]`` (CLI ``--set``, the field ``params``) or a dict, as technique
    parameter overrides."""
    if params is None:
        return {}
    if isinstance(params, dict):
        out = dict(params)
    else:
        out = {}
        for item in params:
            key, sep, value = str(item).partition("=")
            if not sep or not key.strip():
                raise InputError(f"{_set()} takes KEY=VALUE (a technique parameter); got "
                                 f"{item!r}")
            number = parse_number(value)
            if number is None:
                raise InputError(f"{_set()} {key.strip()} must be a number ({NUMBER_FORM}); "
                                 f"got {value!r}")
            out[key.strip()] = number
    if "law" in out:
        raise InputError(f"{_set()} law is not a number parameter; got {out['law']!r}: choose "
                         f"the law with {option('law')} and its coefficients with "
                         + "/".join(map(option, COEFFICIENTS)))
    return out


def build_technique(name: str, *, law=None, E=None, A=None, B=None, alpha=None, beta=None,
                    params=None, rd_star=None, rn_star=None):
    """The named technique with its law (law-based ones only) and parameter overrides."""
    from ..tradeoffs.techniques import LAW_TECHNIQUES, get_technique

    overrides = dict(zip(COEFFICIENTS, (E, A, B, alpha, beta), strict=True)) | {
        "rd_star": rd_star, "rn_star": rn_star}
    law_given = law is not None or any(x is not None for x in overrides.values())
    if law_given and name not in LAW_TECHNIQUES:
        raise InputError(f"{option('law')} and law coefficients apply only to "
                         f"{', '.join(LAW_TECHNIQUES)};"
                         f" got technique {name!r}")
    the_law = get_law(law, any_form=True, **overrides) if name in LAW_TECHNIQUES else None
    return get_technique(name, law=the_law, **parse_params(params))


def _check_model_point(technique: str, train_compute: float, inference_compute: float) -> None:
    """Under a scaling law (the techniques of ``LAW_TECHNIQUES``) the point's computes are the
    FLOPs of a model of N parameters: C = 6 N D to train, 2 N per token to serve (Kaplan et al.
    2020); below 6 and 2 FLOPs there is no model of at least one parameter and one token, and
    the law's loss there is not a number about any model (a one-line InputError)."""
    from ..laws import INFERENCE_FLOPS_PER_PARAM_TOKEN, TRAIN_FLOPS_PER_PARAM_TOKEN
    from ..tradeoffs.techniques import LAW_TECHNIQUES

    if technique not in LAW_TECHNIQUES:
        return
    if (train_compute <= TRAIN_FLOPS_PER_PARAM_TOKEN
            or inference_compute <= INFERENCE_FLOPS_PER_PARAM_TOKEN):
        raise InputError(
            f"no model at train_compute = {float(train_compute):g}, inference_compute = "
            f"{float(inference_compute):g}: under a scaling law {option('train_compute')} must "
            f"exceed {TRAIN_FLOPS_PER_PARAM_TOKEN:g} and {option('inference_compute')} "
            f"{INFERENCE_FLOPS_PER_PARAM_TOKEN:g} FLOPs (one parameter on one token)")


@bounded(min_exchange_rate="in (0, 1]", train_compute="> 0", inference_compute="> 0",
         points="in [2, 10000]", **LAW_BOUNDS)
def tradeoff(
    *,
    technique: str,
    level: float | None = None,
    law: str | None = None,
    E: float | None = None,
    A: float | None = None,
    B: float | None = None,
    alpha: float | None = None,
    beta: float | None = None,
    fraction_per_round: float | None = None,
    min_density: float | None = None,
    unique_tokens: float | None = None,
    rd_star: float | None = None,
    rn_star: float | None = None,
    params=None,
    fit: str | Path | None = None,
    grid_points: int = DEFAULT_GRID_POINTS,
    train_range: tuple[float, float] | None = None,
    inference_range: tuple[float, float] | None = None,
    min_exchange_rate: float = DEFAULT_MIN_EXCHANGE_RATE,
    combine: str | None = None,
    combine_level: float | None = None,
    queries=None,
    train_compute: float | None = None,
    inference_compute: float | None = None,
    points: int = 41,
    on_progress=None,
) -> TradeoffReport:
    """Analyse ``technique`` at ``level`` (its default when omitted).

    ``fraction_per_round``/``min_density`` are pruning parameters; ``unique_tokens`` (with
    ``rd_star``/``rn_star``) limits scaling-policy's unique data; ``params`` overrides any
    technique parameter (``["a=0.05"]`` or a dict). ``fit`` (a CSV file) fits an S-curve family
    (mcts, pass-at-k, n-at-k) to it first. ``combine`` adds a second technique (at
    ``combine_level``); ``queries`` gives the TC + Q IC allocation along the frontier;
    ``train_compute`` with ``inference_compute`` evaluates the score at one point.
    ``on_progress(done, total)`` follows the scoring of the grid (a progress bar).
    """
    from ..tradeoffs import allocate_on_frontier, frontier
    from ..tradeoffs import combine as combine_frontiers

    if isinstance(points, bool) or not isinstance(points, int) or not 2 <= points <= 10000:
        raise InputError(f"points must be an integer in [2, 10000]; got {points!r}")
    if (train_compute is None) != (inference_compute is None):
        raise InputError(f"give both {option('train_compute')} and "
                         f"{option('inference_compute')} to evaluate a point")
    if combine is None and combine_level is not None:
        raise InputError(f"{option('combine_level')} needs {option('combine')} TECHNIQUE")
    extra = parse_params(params)
    for key, val in (("fraction_per_round", fraction_per_round), ("min_density", min_density)):
        if val is not None:
            if technique != "pruning":
                raise InputError(f"{option(key)} applies only to pruning; got "
                                 f"technique {technique!r}")
            extra[key] = val
    repetition = {k: x for k, x in (("rd_star", rd_star), ("rn_star", rn_star)) if x is not None}
    if unique_tokens is not None:
        if technique != "scaling-policy":
            raise InputError(f"{option('unique_tokens')} applies only to scaling-policy; got "
                             f"technique {technique!r}")
        extra["unique_tokens"] = unique_tokens
    elif repetition:
        raise InputError(f"{' and '.join(map(option, repetition))} "
                         f"{'needs' if len(repetition) == 1 else 'need'} "
                         f"{option('unique_tokens')} (the data limit they describe)")
    with called(loss="level"):  # scaling-policy's target loss is its level
        tech = build_technique(technique, law=law, E=E, A=A, B=B, alpha=alpha, beta=beta,
                               params=extra, **repetition)
    fitted = None
    if fit is not None:
        from ..tradeoffs.fitting import FAMILIES
        from ..tradeoffs.fitting import fit_csv as fit_file

        if technique not in FAMILIES:
            raise InputError(f"{option('fit')} applies to the S-curve families "
                             f"{', '.join(FAMILIES)}; "
                             f"got technique {technique!r}")
        fitted = fit_file(technique, fit)
        tech = (fitted.technique.with_parameters(**parse_params(params)) if params
                else fitted.technique)
    with called(loss="level"):
        front = frontier(tech, level, grid_points=grid_points, train_range=train_range,
                         inference_range=inference_range, min_exchange_rate=min_exchange_rate,
                         on_progress=on_progress)
    combination = None
    if combine is not None:
        from ..tradeoffs.techniques import LAW_TECHNIQUES

        coefficients = dict(law=law, E=E, A=A, B=B, alpha=alpha, beta=beta)
        other = build_technique(combine, **(coefficients if combine in LAW_TECHNIQUES else {}))
        with called(level="combine_level"):
            other_front = frontier(other, combine_level, grid_points=grid_points,
                                   min_exchange_rate=min_exchange_rate)
        combination = combine_frontiers(front, other_front)
    allocation = None if queries is None else allocate_on_frontier(front, queries)
    point = None
    if train_compute is not None:
        _check_model_point(technique, train_compute, inference_compute)
        with np.errstate(all="ignore"):  # checked just below
            score = tech.performance(train_compute, inference_compute)
        if not np.all(np.isfinite(score)):
            raise InputError(f"the {tech.score_name} at train_compute = {float(train_compute):g}, "
                             f"inference_compute = {float(inference_compute):g} is not a finite "
                             "number: give both within the technique's bounds, with a ratio "
                             "well inside floating-point range (about 1e-300 to 1e300)")
        point = {"train_compute": float(train_compute),
                 "inference_compute": float(inference_compute),
                 "score": score, "score_name": tech.score_name}
    assumed = []
    if level is None:
        assumed.append(f"no level given: using {tech.key}'s default, {tech.score_name} "
                       f"{front.level:.6g}")
    if combination is not None and combine_level is None:
        assumed.append(f"no {option('combine_level')} given: using "
                       f"{combination.second.technique.key}'s "
                       f"default, {combination.second.technique.score_name} "
                       f"{combination.second.level:.6g}")
    return TradeoffReport(front, combination, allocation, fitted, point, points,
                          tuple(assumed))
