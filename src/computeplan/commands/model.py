"""The `model` command: the Chinchilla calculator."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..laws import ChinchillaLaw, ModelPoint, get_law
from ..vocabulary import called, option
from .options import LAW_BOUNDS, bounded


@dataclass(frozen=True)
class ModelReport:
    law: ChinchillaLaw
    point: ModelPoint
    chinchilla_optimal: bool
    #: With ``unique_tokens``: :class:`computeplan.data_limits.ModelLimit` (``point.loss`` is
    #: then the data-limited loss).
    data_limit: object | None = None

    @property
    def label(self) -> str:
        """How warnings name the model."""
        return "the Chinchilla-optimal model" if self.chinchilla_optimal else "the model"

    @property
    def extrapolation(self) -> dict | None:
        """How far the model lies outside the law's domain and the ``warnings`` that say it
        (:func:`computeplan.extrapolation.law_report`); None when the law has no domain."""
        from ..extrapolation import law_report

        p = self.point
        return law_report(self.law, {"model": (self.label, p.params, p.train_tokens)})

    def to_dict(self) -> dict:
        extra = {"data_limit": self.data_limit.to_dict()} if self.data_limit is not None else {}
        form = {} if self.law.form == "chinchilla" else {"form": self.law.form}
        return {"law": form | self.law.coefficients() | {"name": self.law.name},
                "chinchilla_optimal": self.chinchilla_optimal} | self.point.to_dict() | extra | {
            "extrapolation": self.extrapolation}


@bounded(compute="> 0", params="> 0", tokens="> 0", **LAW_BOUNDS)
def model(*, compute=None, params=None, tokens=None, loss=None, chinchilla: bool = False,
          law: str = "sardana2024", E=None, A=None, B=None, alpha=None, beta=None,
          unique_tokens=None, rd_star=None, rn_star=None) -> ModelReport:
    """The model fixed by what is given: with ``chinchilla`` one of compute/params/tokens/loss
    (the compute-optimal model); two of compute/params/tokens; or loss with params or tokens.
    With ``unique_tokens`` (and ``rd_star``/``rn_star`` overrides) the loss is the data-limited
    one (Muennighoff et al. 2023): the tokens or parameters for a loss, and the compute-optimal
    model for a budget or a loss, account for repeated epochs."""
    with called(**MODEL_ARGUMENTS):  # errors of the law name model's options
        report = _model(compute=compute, params=params, tokens=tokens, loss=loss,
                        chinchilla=chinchilla, law=law, E=E, A=A, B=B, alpha=alpha, beta=beta,
                        unique_tokens=unique_tokens, rd_star=rd_star, rn_star=rn_star)
        _check_size(report, dict(compute=compute, params=params, tokens=tokens, loss=loss))
        return report


def _check_size(report: ModelReport, given: dict) -> None:
    """A one-line InputError when the model has fewer than 1 parameter or 1 token
    (:mod:`computeplan.feasible`), naming what was given; for the Chinchilla-optimal model with
    unlimited data, the bound on the one quantity given: the compute-optimal models with N = 1
    and with D = 1 (Hoffmann et al. 2022, eq. 4; a form's own optimum) bound it, the larger of
    their compute, params or tokens from below, the smaller of their losses from above; with a
    unique-token limit, the bound on its compute or loss (:func:`_limited_bound`)."""
    from ..feasible import MIN_PARAMS, MIN_TOKENS, at, first, round_down, round_up, too_small
    from ..render import count

    p = report.point
    bad = too_small(p)
    if not np.any(bad):
        return
    shape, i = np.shape(bad), first(bad)
    given = {k: at(val, shape, i) for k, val in given.items()
             if val is not None}  # the first offending scenario's
    what = " and ".join(f"{option(k)} {val:g}" for k, val in given.items())
    verb = "gives" if len(given) == 1 else "give"
    n, d = at(p.params, shape, i), at(p.train_tokens, shape, i)
    message = (f"{what} {verb} {report.label} {count(n)} parameters trained on {count(d)} "
               "tokens, and a model needs at least 1 parameter and 1 token")
    law = report.law
    if report.chinchilla_optimal and report.data_limit is None:
        ((key, _),) = given.items()
        ends = (law.compute_optimal(params=MIN_PARAMS), law.compute_optimal(
            train_tokens=MIN_TOKENS))
        field = {"compute": "train_flops", "tokens": "train_tokens"}.get(key, key)
        values = [float(getattr(e, field)) for e in ends]
        bound = (f"<= {round_down(min(values)):.6g}" if key == "loss"
                 else f">= {round_up(max(values)):.4g}")
        message += f": give {option(key)} {bound} (law {law.name})"
    elif report.chinchilla_optimal:
        message += _limited_bound(law, given, report.data_limit.unique_tokens)
    raise InputError(message)


def _limited_bound(law, given: dict, unique_tokens: float) -> str:
    """The words of the smallest ``--compute`` or highest ``--loss`` at which the
    data-limited compute-optimal model (Muennighoff et al. 2023) has N >= 1 and D >= 1, found
    by the vectorised solvers on candidate grids (:mod:`computeplan.feasible`)."""
    from .. import data_limits as dl
    from ..feasible import highest_loss, lowest_budget, round_down, round_up, too_small

    def feasible(solve):
        def ok(values):
            with np.errstate(all="ignore"):
                return ~too_small(solve(values))
        return ok

    u = unique_tokens
    if "compute" in given:
        found = lowest_budget(feasible(lambda c: dl.limited_budget_optimal(
            law, budget=c, unique_tokens=u, inference_tokens=0.0)), given["compute"])
        bound = None if found is None else f">= {round_up(found):.4g}"
        key = "compute"
    else:
        found = highest_loss(feasible(lambda x: dl.limited_optimal(
            law, loss=x, unique_tokens=u, inference_tokens=0.0)), given["loss"],
            float(dl.lowest_reachable_loss(law, u)))
        bound = None if found is None else f"<= {round_down(found):.6g}"
        key = "loss"
    if bound is None:
        return f"; no {option(key)} within reach gives one (law {law.name})"
    return f": give {option(key)} {bound} (law {law.name})"


#: The law's arguments (ChinchillaLaw.point, compute_optimal, ...) -> model's options.
MODEL_ARGUMENTS = dict(train_flops="compute", params="params", train_tokens="tokens",
                       loss="loss")


def _model(*, compute, params, tokens, loss, chinchilla, law, E, A, B, alpha, beta,
           unique_tokens, rd_star, rn_star) -> ModelReport:
    the_law = get_law(law, any_form=True, E=E, A=A, B=B, alpha=alpha, beta=beta)
    given = {k: val for k, val in dict(compute=compute, params=params, tokens=tokens,
                                       loss=loss).items() if val is not None}
    flags = ", ".join(map(option, given)) or "nothing"
    four = "/".join(map(option, ("compute", "params", "tokens", "loss")))
    repetition = [k for k, x in (("rd_star", rd_star), ("rn_star", rn_star)) if x is not None]
    if unique_tokens is None and repetition:
        raise InputError(f"{' and '.join(map(option, repetition))} "
                         f"{'needs' if len(repetition) == 1 else 'need'} "
                         f"{option('unique_tokens')} (the data limit they describe)")
    if unique_tokens is not None and _no_limit(unique_tokens):
        unique_tokens = None  # inf: no data limit, as in plan (the law's plain loss)
    if unique_tokens is not None:
        return _limited_model(the_law, given, flags, chinchilla, unique_tokens, rd_star,
                              rn_star)
    if chinchilla:
        if len(given) != 1:
            raise InputError(f"{option('chinchilla')} takes exactly one of {four}; got {flags}")
        point = the_law.compute_optimal(train_flops=compute, params=params, train_tokens=tokens,
                                        loss=loss)
    elif set(given) == {"loss", "params"}:
        point = the_law.point(params, the_law.tokens_for_loss(loss, params))
    elif set(given) == {"loss", "tokens"}:
        point = the_law.point(the_law.params_for_loss(loss, tokens), tokens)
    elif len(given) == 2 and "loss" not in given:
        point = the_law.complete(train_flops=compute, params=params, train_tokens=tokens)
    else:
        three = "/".join(map(option, ("compute", "params", "tokens")))
        raise InputError(f"give {option('chinchilla')} with one of {four}, two of {three}, or "
                         f"{option('loss')} with {option('params')} or {option('tokens')}; "
                         f"got {flags}")
    return ModelReport(the_law, point, chinchilla)


def _no_limit(unique_tokens) -> bool:
    """Whether ``unique_tokens`` (checked: > 0, not NaN) is infinite, i.e. no data limit."""
    from ..data_limits import check_unique_tokens

    return bool(np.all(np.isinf(check_unique_tokens(unique_tokens))))


def _limited_model(law, given: dict, flags: str, chinchilla: bool, unique_tokens, rd_star,
                   rn_star) -> ModelReport:
    """:func:`model` with a unique-token limit (:mod:`computeplan.data_limits`)."""
    from dataclasses import replace

    from .. import data_limits as dl

    law = law.with_overrides(rd_star=rd_star, rn_star=rn_star)
    u = float(dl.check_unique_tokens(unique_tokens, law))
    keys = set(given)
    if chinchilla:
        if keys not in ({"compute"}, {"loss"}):
            raise InputError(f"with {option('unique_tokens')}, {option('chinchilla')} takes "
                             f"{option('compute')} or {option('loss')}; got {flags}")
        if "compute" in keys:
            best = dl.limited_budget_optimal(law, budget=given["compute"], unique_tokens=u,
                                             inference_tokens=0.0)
        else:
            best = dl.limited_optimal(law, loss=given["loss"], unique_tokens=u,
                                      inference_tokens=0.0)
        n, d = best.params, best.train_tokens
    elif keys == {"loss", "params"}:
        n = given["params"]
        d = dl.limited_tokens_for_loss(law, given["loss"], n, u)
    elif keys == {"loss", "tokens"}:
        d = given["tokens"]
        n = dl.limited_params_for_loss(law, given["loss"], d, u)
    elif len(keys) == 2 and "loss" not in keys:
        p = law.complete(train_flops=given.get("compute"), params=given.get("params"),
                         train_tokens=given.get("tokens"))
        n, d = p.params, p.train_tokens
    else:
        three = "/".join(map(option, ("compute", "params", "tokens")))
        four = "/".join(map(option, ("compute", "params", "tokens", "loss")))
        raise InputError(f"give {option('chinchilla')} with one of {four}, two of {three}, or "
                         f"{option('loss')} with {option('params')} or {option('tokens')}; "
                         f"got {flags}")
    limit = dl.model_limit(law, n, d, u, "the Chinchilla-optimal model" if chinchilla
                           else "the model")
    point = replace(law.point(n, d), loss=limit.loss)
    return ModelReport(law, point, chinchilla, limit)
