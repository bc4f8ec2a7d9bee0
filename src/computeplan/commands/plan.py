"""The `plan` command: inference-aware optimum beside the Chinchilla-optimal model."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError
from ..vocabulary import called, on_cli, option
from ._timeline import TimelineOptions
from .options import LAW_BOUNDS, OptionGroup, OptionSet, opt

if TYPE_CHECKING:  # the option groups are defined without numpy: the CLI builds its flags
    from ..demand import Demand  # from them at start-up
    from ..laws import ChinchillaLaw
    from ..lifetime import PlanComparison
    from ..uncertainty import PlanUncertainty

#: The built-in example: the quality of a Chinchilla-optimal 70B model, served for 2e12 tokens.
DEFAULT_REFERENCE_PARAMS = 70e9
DEFAULT_INFERENCE_TOKENS = 2e12

HARDWARE_OPTIONS = ("train_gpu", "train_dtype", "train_usd_per_gpu_hour", "train_mfu",
                    "inference_gpu", "inference_dtype", "inference_usd_per_gpu_hour",
                    "prefill_mfu", "decode_mfu")
#: Options of the roofline decode model (``decode_model="roofline"``).
ROOFLINE_OPTIONS = ("batch", "context", "kv_dtype", "gqa_ratio", "bandwidth_fraction",
                    "compute_fraction")
DEFAULT_ROOFLINE_BATCH = 64.0
DEFAULT_ROOFLINE_CONTEXT = 2048.0


@dataclass(frozen=True)
class PlanReport:
    comparison: PlanComparison
    notes: tuple[str, ...]
    #: With a timeline option: the plans' bills in time (:class:`~computeplan.timeline.
    #: DatedComparison`); ``comparison`` then holds the present-value-optimal plans' raw bills.
    dated: object | None = None
    #: The assumed defaults that move the answer most (the fixed decode MFU), shown in the
    #: result's header and beside the numbers they drive (JSON ``key_assumptions``).
    key_assumptions: tuple[str, ...] = ()
    #: Under ``uncertainty``: the plan under every replicate of the law
    #: (:class:`computeplan.uncertainty.PlanUncertainty`).
    uncertainty: PlanUncertainty | None = None
    #: With demand or price ranges: the ranges, the chosen (middle) plan and its regret table.
    ranges: dict | None = None
    #: With an averaged law (form ``average(f1,f2,...)``): the plan under each part alone
    #: (:func:`part_plans`).
    law_parts: tuple[dict, ...] | None = None

    @property
    def serving(self) -> dict | None:
        """Under the roofline decode model: the effective prefill/decode MFU of both models."""
        objective = self.comparison.objective
        if not getattr(objective, "params_dependent", False):
            return None
        out = {}
        for name in ("chinchilla", "optimal"):
            prefill, decode = objective.effective_mfu(getattr(self.comparison, name).params)
            out[name] = {"prefill_mfu": prefill, "decode_mfu": decode}
        return out

    @property
    def extrapolation(self) -> dict | None:
        """How far each model lies outside the law's domain (orders of magnitude, 0 inside:
        ``params_oom``, ``train_tokens_oom``, ``tokens_per_param_oom``), and ``warnings`` that
        say it in words; None when the law has no domain."""
        return extrapolation_report(self.comparison)

    def to_dict(self) -> dict:
        serving = self.serving
        extra = {"serving": serving} if serving is not None else {}
        if self.dated is not None:
            extra["timeline"] = self.dated.to_dict()
        if self.uncertainty is not None:
            extra["uncertainty"] = self.uncertainty.to_dict()
        if self.ranges is not None:
            extra["ranges"] = self.ranges
        if self.law_parts is not None:
            extra["law_parts"] = list(self.law_parts)
        out = self.comparison.to_dict()
        if "data_limit" in out and self.comparison.optimal.params.ndim == 0:
            # the same sentences as the table's, for the page and reports (one plan)
            from ..render import data_limit_lines

            out["data_limit"]["summary"] = data_limit_lines(self.comparison)
        return out | {"extrapolation": self.extrapolation} | extra | {
            "key_assumptions": list(self.key_assumptions), "notes": list(self.notes)}


#: How the two models are named in extrapolation warnings.
MODEL_LABELS = {"chinchilla": "the Chinchilla-optimal model", "optimal": "the optimum"}


def extrapolation_report(comparison: PlanComparison) -> dict | None:
    """The law's ``domain``, each model's distances outside it and the ``warnings`` in words
    (:func:`computeplan.extrapolation.law_report`; words for one plan, not for arrays of
    scenarios, whose columns carry the numbers); None when the law has no domain."""
    import numpy as np

    from ..extrapolation import law_report

    models = {key: (label, getattr(comparison, key).params,
                    getattr(comparison, key).train_tokens)
              for key, label in MODEL_LABELS.items()}
    return law_report(comparison.law, models, words=np.ndim(comparison.optimal.params) == 0)


def part_plans(comparison: PlanComparison, solve) -> tuple[tuple[dict, ...], str] | None:
    """For a plan with an averaged law (L = sum_f w_f L_f, :mod:`computeplan.formaverage`), the
    plan under each part L_f alone, ``solve(law)`` giving its :class:`PlanComparison` (same
    target, demand, costs and data limit): rows of form, weight and the optimum (``error``
    when the part cannot reach the target), and a note with their range. The parts are the
    forms the average weighs; how far apart their optima lie is the part of the plan's
    uncertainty that the choice of form carries, which the law's replicates (the weights held
    fixed) do not. None for other laws or arrays of scenarios."""
    import numpy as np

    from ..formaverage import AverageForm
    from ..formlaw import make_law
    from ..forms import get_form
    from ..render import count, flops, fmt, usd

    law = comparison.law
    form = get_form(law.form)
    if not isinstance(form, AverageForm) or np.ndim(comparison.optimal.params) != 0:
        return None
    cost = "total_cost_usd" if comparison.objective.priced else "total_flops"
    rows = []
    for weight, part, coef in form.split(law.coefficients()):
        row = {"form": part.name, "weight": float(weight)}
        part_law = make_law(part.name, coef, name=f"{law.name} [{part.name}]",
                            domain=law.domain, rd_star=law.rd_star, rn_star=law.rn_star)
        try:
            opt = solve(part_law).optimal
        except InputError as exc:
            rows.append(row | {"error": str(exc)})
            continue
        rows.append(row | {k: float(getattr(opt, k)) for k in (
            "params", "train_tokens", "tokens_per_param", "loss", cost)}
            | {"beyond_runs_oom": _beyond_runs(law.domain, opt)})
    solved = [r for r in rows if "error" not in r]
    what = ", ".join(f"{r['form']} {r['weight']:.0%}" for r in rows)
    if not solved:
        return tuple(rows), f"averaged law ({what}): no part alone can be planned for"
    span = {k: (min(r[k] for r in solved), max(r[k] for r in solved))
            for k in ("params", "tokens_per_param", "loss", cost)}

    def spread(key, show):
        return f"{show(span[key][0])}-{show(span[key][1])}"

    parts = [f"{spread('params', count)} parameters",
             f"{spread('tokens_per_param', count)} tokens per parameter"]
    if comparison.target_loss is None:
        parts.append(f"loss {spread('loss', lambda x: fmt(x, 5))}")
    elif comparison.objective.priced:
        parts.append(f"lifetime cost {spread(cost, usd)}")
    else:
        parts.append(f"lifetime FLOPs {spread(cost, flops)}")
    unreached = [r["form"] for r in rows if "error" in r]
    note = (f"averaged law ({what}): each part alone puts the optimum at "
            f"{', '.join(parts)}; the plan rests on the weighting (JSON law_parts)")
    beyond = [r["beyond_runs_oom"] for r in solved if r["beyond_runs_oom"]]
    if beyond:
        note += (f"; those optima lie up to {max(beyond):.2f} orders of magnitude beyond the "
                 "runs the law was fitted on")
    if unreached:
        note += f"; {', '.join(unreached)} alone cannot reach it"
    return tuple(rows), note


def _beyond_runs(domain: dict | None, model) -> float | None:
    """The most orders of magnitude ``model`` lies outside the law's ``domain`` in params,
    training tokens or tokens per parameter (:func:`computeplan._lawdata.extrapolation_oom`;
    0 inside, None without a domain or one that bounds none of them)."""
    from .._lawdata import extrapolation_oom

    oom = extrapolation_oom(domain, model.params, model.train_tokens)
    known = [float(x) for x in (oom or {}).values() if x is not None]
    return max(known) if known else None  # a domain that bounds none of the three: none


# ----------------------------------------------------------------------------- option groups
@dataclass(frozen=True)
class Target(OptionGroup):
    """What to reach: one of a loss, the quality of a reference model, or a lifetime budget."""

    PANEL = "Target (one of)"
    loss: float | None = opt("Target loss (must exceed the law's E).")
    reference_params: float | None = opt(
        "Target the loss of a model of this many parameters: by itself the Chinchilla-optimal "
        "one (trained on its compute-optimal tokens), with {{reference_tokens}} the one "
        "trained on that many tokens.", bounds="> 0")
    reference_tokens: float | None = opt(
        "Training tokens of the {{reference_params}} model (e.g. 15e12 for a model like "
        "Llama 3 8B): target the loss L(N, D) of that model instead of the Chinchilla-optimal "
        "one.", bounds="> 0")
    budget_flops: float | None = opt(
        "Lifetime FLOPs budget: find the lowest reachable loss.", bounds="> 0")
    budget_usd: float | None = opt(
        "Lifetime dollar budget: find the lowest reachable loss.", bounds="> 0")

    def resolve(self, law: ChinchillaLaw, notes: list[str]) -> tuple[float | None, float | None]:
        """(target loss, budget): exactly one is set. No target: the default reference model.
        ``reference_params`` N alone targets the Chinchilla-optimal N-parameter model's loss;
        with ``reference_tokens`` D, the loss L(N, D) of the law (Hoffmann et al. 2022, eq. 2)."""
        if self.reference_tokens is not None and self.reference_params is None:
            raise InputError(f"{option('reference_tokens')} needs {option('reference_params')} "
                             "(the reference model's parameters)")
        named = [option(k) for k in self.given() if k != "reference_tokens"]
        if len(named) > 1:
            raise InputError(f"give one target; got {' and '.join(named)}")
        loss, reference_params = self.loss, self.reference_params
        if self.reference_tokens is not None:
            import numpy as np

            try:
                with called(params="reference_params", train_tokens="reference_tokens"):
                    loss = law.loss(reference_params, self.reference_tokens)
            except InputError as exc:
                raise InputError(f"{option('reference_params')}/{option('reference_tokens')}: "
                                 f"{exc}") from None
            loss = float(loss) if np.ndim(loss) == 0 else loss
            return loss, None
        if not named:
            reference_params = DEFAULT_REFERENCE_PARAMS
            notes.append(f"no target given: using {option('reference_params')} "
                         f"{reference_params / 1e9:g}e9, the loss of a Chinchilla-optimal "
                         f"{reference_params / 1e9:g}B model (law {law.name})")
        if reference_params is not None:
            import numpy as np

            try:  # arrays (one value per scenario, as in sweeps) broadcast
                with called(params="reference_params"):
                    loss = law.compute_optimal(params=reference_params).loss
            except InputError as exc:
                shown = f" {reference_params:g}" if np.ndim(reference_params) == 0 else ""
                raise InputError(f"{option('reference_params')}{shown}: {exc}") from None
            loss = float(loss) if np.ndim(loss) == 0 else loss
        budget = self.budget_flops if self.budget_flops is not None else self.budget_usd
        return loss, budget


@dataclass(frozen=True)
class DemandOptions(OptionGroup):
    """Lifetime inference demand, in one of three forms."""

    PANEL = "Demand (one form)"
    inference_tokens: float | None = opt(
        "Lifetime inference tokens (input + output).", bounds=">= 0")
    requests: float | None = opt("Lifetime requests.", bounds=">= 0")
    users: float | None = opt("Users (with {{requests_per_user_per_day}} and {{days}}).",
                              bounds=">= 0")
    requests_per_user_per_day: float | None = opt("Requests per user per day.", bounds=">= 0")
    days: float | None = opt("Days of service.", bounds=">= 0")
    input_tokens: float | None = opt("Input (prompt) tokens per request.", bounds=">= 0")
    output_tokens: float | None = opt("Output (generated) tokens per request.", bounds=">= 0")

    def build(self, notes: list[str] | None = None) -> Demand:
        """One form of demand: total tokens, requests x tokens, or users x rate x days x tokens.
        ``input_tokens``/``output_tokens`` are per request. No demand at all means the default."""
        from ..demand import Demand

        forms = {"inference_tokens": self.inference_tokens, "requests": self.requests,
                 "users": self.users}
        given = [k for k, val in forms.items() if val is not None]
        if len(given) > 1:
            raise InputError(f"give one form of demand; got {' and '.join(map(option, given))}")
        per_request = (self.input_tokens, self.output_tokens)
        if given in (["requests"], ["users"]) and None in per_request:
            raise InputError(f"{option(given[0])} needs both {option('input_tokens')} and "
                             f"{option('output_tokens')} (tokens per request)")
        if not given and any(x is not None for x in per_request):
            raise InputError(f"{option('input_tokens')}/{option('output_tokens')} need "
                             f"{option('requests')} or {option('users')}")
        rate = (self.requests_per_user_per_day, self.days)
        if (self.users is not None and None in rate) or (
                self.users is None and rate != (None, None)):
            rate_options = f"{option('requests_per_user_per_day')} and {option('days')}"
            raise InputError(f"{option('users')} needs {rate_options}" if self.users is not None
                             else f"{rate_options} need {option('users')}")
        if self.requests is not None:
            return Demand.from_requests(self.requests, self.input_tokens, self.output_tokens)
        if self.users is not None:
            return Demand.from_users(self.users, self.requests_per_user_per_day, self.days,
                                     self.input_tokens, self.output_tokens)
        tokens = self.inference_tokens
        if tokens is None:
            tokens = DEFAULT_INFERENCE_TOKENS
            if notes is not None:
                notes.append(f"no demand given: using {option('inference_tokens')} {tokens:.0e} "
                             "(lifetime inference tokens)")
        return Demand.from_tokens(tokens)


@dataclass(frozen=True)
class CostOptions(OptionGroup):
    """The cost model: FLOPs, or dollars on training and inference hardware."""

    PANEL = "Hardware and prices (dollar objective)"
    objective: str | None = opt("What to minimise; usd when any hardware option is given.",
                                choices=("flops", "usd"))
    train_gpu: str | None = opt("Training GPU [default: h100-sxm].")
    train_dtype: str | None = opt("Training dtype [default: bf16].")
    train_usd_per_gpu_hour: float | None = opt(
        "Training $ per GPU-hour [default: catalog price].", aliases=("train_usd_per_hour",),
        bounds="> 0")
    train_mfu: float | None = opt("Training MFU in (0, 1] [default: 0.5].", bounds="in (0, 1]")
    inference_gpu: str | None = opt("Inference GPU [default: h100-sxm].")
    inference_dtype: str | None = opt(
        "Inference dtype [default: the inference GPU's best: fp8, else int8, bf16, fp16].")
    inference_usd_per_gpu_hour: float | None = opt(
        "Inference $ per GPU-hour [default: catalog price].",
        aliases=("inference_usd_per_hour",), bounds="> 0")
    prefill_mfu: float | None = opt("Prefill MFU [default: 0.5].", bounds="in (0, 1]")
    decode_mfu: float | None = opt("Decode MFU [default: 0.01].", bounds="in (0, 1]")
    decode_model: str | None = opt(
        "mfu: fixed prefill/decode MFU; roofline: derive them from the inference GPU's "
        "bandwidth and FLOP/s at {{batch}} and {{context}} [default: mfu].",
        choices=("mfu", "roofline"))
    gpu_file: Path | None = opt("TOML/JSON file adding or overriding GPUs in the catalog.")

    def hardware(self, given: dict | None = None) -> dict:
        """The hardware and price options that were given (``given``: :meth:`given`, when the
        caller has it), the GPU file (it selects the GPUs that are priced) and the roofline
        decode model: each one asks for the dollar objective."""
        return {k: val for k, val in (self.given() if given is None else given).items()
                if k != "objective" and not (k == "decode_model" and val == "mfu")}


@dataclass(frozen=True)
class RooflineOptions(OptionGroup):
    """The roofline serving model that prices decode under ``decode_model="roofline"``."""

    PANEL = "Roofline inference cost ({{decode_model}} roofline)"
    batch: float | None = opt("Concurrent sequences per replica [default: 64].",
                              bounds="a whole number >= 1")
    context: float | None = opt(
        "Tokens per sequence in the KV cache [default: input + output tokens per request].",
        bounds=">= 1")
    kv_dtype: str | None = opt("KV-cache dtype [default: {{inference_dtype}}].")
    gqa_ratio: float | None = opt(
        "Query heads per KV head (1 = multi-head attention) [default: 1].", bounds=">= 1")
    bandwidth_fraction: float | None = opt(
        "Achievable fraction of memory bandwidth [default: 0.7].", bounds="in (0, 1]")
    compute_fraction: float | None = opt(
        "Achievable fraction of peak FLOP/s [default: 0.5].", bounds="in (0, 1]")


@dataclass(frozen=True)
class LawOptions(OptionGroup):
    """The scaling law: a preset or a law file, with coefficients overridden."""

    PANEL = "Law"
    law: str = opt("Preset (hoffmann2022, sardana2024, besiroglu2024, muennighoff2023, or one "
                   "fitted on over-trained runs: sardana2024-mpt, gadre2024-c4, gadre2024-rpj, "
                   "gadre2024-rw) or a law JSON file of any form (computeplan fit --form).",
                   "sardana2024")  # computeplan.laws.DEFAULT_LAW
    E: float | None = opt("Override E (irreducible loss).", bounds=LAW_BOUNDS["E"])
    A: float | None = opt("Override A.", bounds=LAW_BOUNDS["A"])
    B: float | None = opt("Override B.", bounds=LAW_BOUNDS["B"])
    alpha: float | None = opt("Override alpha.", bounds=LAW_BOUNDS["alpha"])
    beta: float | None = opt("Override beta.", bounds=LAW_BOUNDS["beta"])

    def build(self):
        """The law (:func:`computeplan.laws.get_law`, of any form)."""
        from ..laws import get_law

        return get_law(self.law, any_form=True, E=self.E, A=self.A, B=self.B, alpha=self.alpha,
                       beta=self.beta)


@dataclass(frozen=True)
class DataLimitOptions(OptionGroup):
    """A limit on unique training tokens (Muennighoff et al. 2023, :mod:`computeplan.data_limits`):
    repeated tokens and excess parameters count less."""

    PANEL = "Data limit (Muennighoff et al. 2023)"
    unique_tokens: float | None = opt(
        "Unique training tokens available: more tokens repeat data, which counts less; the plan "
        "reports epochs, effective tokens and what the limit costs [default: unlimited].")
    rd_star: float | None = opt(
        "Override R_D*, how fast repeated tokens lose value (in epochs) [default: the law's, "
        "15.39 from Muennighoff et al.]; needs {{unique_tokens}}.", bounds=LAW_BOUNDS["rd_star"])
    rn_star: float | None = opt(
        "Override R_N*, how fast parameters beyond the compute-optimal size for the unique "
        "tokens lose value [default: the law's, 5.31]; needs {{unique_tokens}}.",
        bounds=LAW_BOUNDS["rn_star"])

    def build(self, law: ChinchillaLaw, notes: list[str]):
        """(the law with R_D*, R_N* overridden, U as an array), or (law, None) without a limit
        (``unique_tokens`` infinite everywhere is no limit either, with a note)."""
        import numpy as np

        given = [k for k in ("rd_star", "rn_star") if getattr(self, k) is not None]
        if self.unique_tokens is None:
            if given:
                raise InputError(f"{' and '.join(map(option, given))} "
                                 f"{'needs' if len(given) == 1 else 'need'} "
                                 f"{option('unique_tokens')} (the data limit they describe)")
            return law, None
        from ..data_limits import check_unique_tokens

        law = law.with_overrides(rd_star=self.rd_star, rn_star=self.rn_star)
        u = check_unique_tokens(self.unique_tokens, law)
        if np.all(np.isinf(u)):
            notes.append(f"{option('unique_tokens')} = inf: no data limit")
            return law, None
        assumed = [k for k in ("rd_star", "rn_star") if k not in given]
        if assumed:
            notes.extend(_repetition_notes(law, assumed))
        return law, u


def _repetition_notes(law, assumed: list[str]) -> list[str]:
    """The notes of the repetition coefficients ``assumed`` (not given as options): those the
    law sets as its own, then Muennighoff et al. 2023's fitted values (a Chinchilla-form law
    that keeps them; a law of another form that sets none: ``fit --unique-tokens-col``
    fits a form's own, and its law file saves them)."""
    from ..laws import DEFAULT_RD_STAR, DEFAULT_RN_STAR

    paper = {"rd_star": DEFAULT_RD_STAR, "rn_star": DEFAULT_RN_STAR}
    chinchilla = law.form == "chinchilla"
    own = [k for k in assumed if getattr(law, k) is not None
           and not (chinchilla and getattr(law, k) == paper[k])]
    rest = [k for k in assumed if k not in own]
    if chinchilla:
        own_why = f" (set in law {law.name}; Muennighoff et al. 2023 fitted 15.39 and 5.31)"
        rest_why = f", Muennighoff et al. 2023's fitted values (law {law.name} sets no others)"
    else:
        own_why = f" (set in law {law.name})"
        rest_why = (", Muennighoff et al. 2023's values, fitted with the Chinchilla form only "
                    f"(law {law.name}, of form {law.form!r}, sets none of its own: "
                    "computeplan fit --unique-tokens-col fits them); effective tokens and "
                    "parameters enter that form's own loss")
    out = []
    for keys, value, why in ((own, lambda k: getattr(law, k), own_why),
                             (rest, paper.get, rest_why)):
        if keys:
            out.append("data limit: assumed "
                       + " and ".join(f"{option(k)} {value(k):.4g}" for k in keys) + why)
    return out


@dataclass(frozen=True)
class UncertaintyOptions(OptionGroup):
    """The law's uncertainty: plan under every coefficient replicate of the law."""

    PANEL = "Uncertainty"
    uncertainty: bool | None = opt(
        "Plan under every coefficient replicate of the law (the besiroglu2024 preset ships "
        "1,000; `computeplan fit RUNS.csv --bootstrap K --out law.json` writes your own): "
        "ranges of the optimum, the chance that the saving is real and that the plan misses "
        "the target, and the robust plan.")
    level: float | None = opt("Level of the reported ranges, in (0, 1) [default: 0.95]; needs "
                              "{{uncertainty}}.", bounds="in (0, 1)")
    confidence: float | None = opt(
        "The robust plan reaches the target loss under at least this share of the replicates "
        "(within a budget: has the lowest loss reached under this share), in (0, 1) "
        "[default: 0.9]; needs {{uncertainty}}.", bounds="in (0, 1)")

    def build(self, law, loss, budget, demand, cost, timeline=None, unique_tokens=None
              ) -> PlanUncertainty | None:
        """The plan under every replicate (None without ``uncertainty``); ``level`` and
        ``confidence`` without it are errors naming it."""
        if not self.uncertainty:
            for name in ("level", "confidence"):
                if getattr(self, name) is not None:
                    raise InputError(f"{option(name)} needs {option('uncertainty')}")
            return None
        from ..uncertainty import DEFAULT_CONFIDENCE, DEFAULT_LEVEL, plan_uncertainty

        level = DEFAULT_LEVEL if self.level is None else self.level
        confidence = DEFAULT_CONFIDENCE if self.confidence is None else self.confidence
        return plan_uncertainty(law, loss=loss, budget=budget, demand=demand, cost=cost,
                                level=level, confidence=confidence, timeline=timeline,
                                unique_tokens=unique_tokens)


#: Each range option and the option whose value it ranges over.
RANGE_OF = {"inference_tokens_range": "inference_tokens", "requests_range": "requests",
            "users_range": "users", "train_usd_per_gpu_hour_range": "train_usd_per_gpu_hour",
            "inference_usd_per_gpu_hour_range": "inference_usd_per_gpu_hour"}


@dataclass(frozen=True)
class RangeSpelling:
    """How a shell's messages write a range's two ends: their names, the pair, the pair's
    values (a format of ``lo`` and ``hi``)."""

    lo: str
    hi: str
    pair: str
    values: str


#: The command line's spelling (``--users-range LO HI``) and the JSON and Python one.
CLI_RANGE = RangeSpelling("LO", "HI", "LO HI", "{lo:g} {hi:g}")
FIELD_RANGE = RangeSpelling("lo", "hi", "[lo, hi]", "[{lo:g}, {hi:g}]")


@dataclass(frozen=True)
class RangeOptions(OptionGroup):
    """Demand and prices known only as ranges: the plan for the middle of every range (it
    minimises the expected lifetime cost, which is linear in demand and prices) and its regret
    at each end (:mod:`computeplan.ranges`)."""

    PANEL = "Ranges (LO HI: plan for the middle, regret at the ends)"
    inference_tokens_range: tuple[float, float] | None = opt(
        "Lifetime inference tokens between LO and HI (instead of {{inference_tokens}}).")
    requests_range: tuple[float, float] | None = opt(
        "Lifetime requests between LO and HI (instead of {{requests}}).")
    users_range: tuple[float, float] | None = opt("Users between LO and HI (instead of "
                                                  "{{users}}).")
    train_usd_per_gpu_hour_range: tuple[float, float] | None = opt(
        "Training $ per GPU-hour between LO and HI (instead of {{train_usd_per_gpu_hour}}).")
    inference_usd_per_gpu_hour_range: tuple[float, float] | None = opt(
        "Inference $ per GPU-hour between LO and HI (instead of "
        "{{inference_usd_per_gpu_hour}}).")

    def check(self, options: PlanOptions) -> dict[str, tuple[float, float]]:
        """The ranges given, by the option they range over: each two finite numbers
        0 <= LO <= HI (prices > 0), not given together with that option, at a target loss."""
        import math

        ranges = self.given()
        if not ranges:
            return {}
        given = options.flat()
        out = {}
        spell = CLI_RANGE if on_cli() else FIELD_RANGE
        for name, value in ranges.items():
            base = RANGE_OF[name]
            try:
                lo, hi = (float(x) for x in value)
            except (TypeError, ValueError):
                raise InputError(f"{option(name)} must be two numbers {spell.pair}; got "
                                 f"{value!r}") from None
            floor = 0.0 if "usd" not in name else math.nextafter(0.0, 1.0)
            if not (math.isfinite(lo) and math.isfinite(hi) and floor <= lo <= hi):
                low = f"0 < {spell.lo}" if floor else f"0 <= {spell.lo}"
                raise InputError(f"{option(name)} must be finite numbers {spell.pair} with "
                                 f"{low} <= {spell.hi}; got "
                                 + spell.values.format(lo=lo, hi=hi))
            if given.get(base) is not None:
                raise InputError(f"give one of {option(base)} and {option(name)}")
            out[base] = (lo, hi)
        if out and (options.target.budget_flops is not None
                    or options.target.budget_usd is not None):
            raise InputError(f"{', '.join(map(option, self.given()))} plan at a target loss "
                             f"(the expected cost at equal quality); give {option('loss')} or "
                             f"{option('reference_params')} instead of a budget")
        return out


#: Options of one plan that a sweep does not vary (the sweep has its own replicate axis).
SINGLE_PLAN_OPTIONS = ("uncertainty", "level", "confidence", *RANGE_OF)


@dataclass(frozen=True)
class PlanOptions(OptionSet):
    """Every option of ``plan``, by what it describes. Build it from flat options with
    :meth:`from_flat` (``PlanOptions.from_flat(loss=1.947, inference_tokens=2e12)``) or from the
    groups (``PlanOptions(target=Target(loss=1.947))``); :func:`plan` validates it."""

    target: Target = field(default_factory=Target)
    demand: DemandOptions = field(default_factory=DemandOptions)
    cost: CostOptions = field(default_factory=CostOptions)
    roofline: RooflineOptions = field(default_factory=RooflineOptions)
    law: LawOptions = field(default_factory=LawOptions)
    timeline: TimelineOptions = field(default_factory=TimelineOptions)
    data_limit: DataLimitOptions = field(default_factory=DataLimitOptions)
    uncertainty: UncertaintyOptions = field(default_factory=UncertaintyOptions)
    ranges: RangeOptions = field(default_factory=RangeOptions)


def plan(options: PlanOptions | None = None, /, **flat) -> PlanReport:
    """Validate the plan options, solve, and say which defaults were assumed (``notes``).

    Takes a :class:`PlanOptions` or its options as flat keyword arguments (or both: the keywords
    override). The dollar objective is used when ``objective="usd"``, a dollar budget or any
    hardware option is given; otherwise lifetime FLOPs. Without a target the loss of a
    Chinchilla-optimal 70B model is used; without a demand, 2e12 tokens.
    ``decode_model="roofline"`` prices prefill and decode with the roofline serving model
    (``batch``, ``context``, ...) instead of the fixed ``prefill_mfu``/``decode_mfu``.
    """
    with called(loss="loss"):  # the law's check of a target loss names plan's option
        return _plan(options, **flat)


#: How the planner of a law of another form refuses a budget below any model it can plan
#: (:func:`computeplan._formsolve.chinchilla_budget`).
NO_MODEL_BUDGET = "the budget is too small for any compute-optimal model"


def _plan(options: PlanOptions | None, /, *, _checked: bool = True, **flat) -> PlanReport:
    from ..lifetime import compare

    if options is None:
        options = PlanOptions.from_flat(**flat)
    elif flat:
        options = options.replace(**flat)
    ranges = options.ranges.check(options)
    if ranges:
        return _plan_ranges(options, ranges)
    notes: list[str] = []
    the_law = options.law.build()
    the_law, unique_tokens = options.data_limit.build(the_law, notes)
    demand = options.demand.build(notes)
    key: list[str] = []
    cost = _cost(options, notes, key)
    loss, budget = options.target.resolve(the_law, notes)
    d = options.demand
    timeline = options.timeline.build(users=d.users, days=d.days, cost=cost, notes=notes)
    uncertainty = options.uncertainty.build(the_law, loss, budget, demand, cost, timeline,
                                            unique_tokens)

    def solve(law):
        """(the plan's comparison, its dated plans or None) under ``law``."""
        if timeline is None:
            return compare(law, loss=loss, budget=budget, demand=demand, cost=cost,
                           unique_tokens=unique_tokens), None
        from ..objectives import FlopsObjective
        from ..timeline import dated_compare

        dated = dated_compare(law, loss=loss, budget=budget, demand=demand,
                              objective=cost if cost is not None else FlopsObjective(),
                              timeline=timeline, unique_tokens=unique_tokens)
        return dated.comparison, dated

    if uncertainty is not None:
        comparison, dated = uncertainty.comparison, uncertainty.dated
    else:
        try:
            comparison, dated = solve(the_law)
        except InputError as exc:  # a budget no model fits: say which budget would
            if _checked and budget is not None and str(exc).startswith(NO_MODEL_BUDGET):
                from ..feasible import refuse_budget

                refuse_budget(options, budget, _unchecked, the_law, str(exc))
            raise
    if _checked:  # at least 1 parameter and 1 token, or an error naming the bound
        from ..feasible import check_plan

        check_plan(options, comparison, loss, budget, _unchecked)
    parts = part_plans(comparison, lambda law: solve(law)[0])
    if parts is not None:
        notes.append(parts[1])
    return PlanReport(comparison, tuple(notes), dated, tuple(key), uncertainty,
                      law_parts=None if parts is None else parts[0])


def _unchecked(options: PlanOptions):
    """The plan's comparison, its models' sizes unchecked (:mod:`computeplan.feasible`)."""
    return _plan(options, _checked=False).comparison


def _plan_ranges(options: PlanOptions, ranges: dict[str, tuple[float, float]]) -> PlanReport:
    """The plan for the middle of every range, with the regret table of that plan at every
    combination of ends and middles (:mod:`computeplan.ranges`): one vectorised plan of the
    3^r scenarios."""
    import dataclasses

    import numpy as np

    from ..ranges import range_points, regret

    scenarios, mid = range_points(ranges)
    cleared = options.replace(**dict.fromkeys(RANGE_OF))
    # the plans' errors name the range options the user gave, not the options they range over
    given = {base: name for name, base in RANGE_OF.items() if base in ranges}
    with called(**given):
        middle = plan(cleared.replace(**scenarios[mid]["values"]))
        swept = plan(cleared.replace(uncertainty=None, level=None, confidence=None, **{
            k: np.array([s["values"][k] for s in scenarios]) for k in ranges})).comparison
    table = regret(swept, mid)
    chosen = middle.comparison.optimal
    out = {"ranges": {k: list(v) for k, v in ranges.items()},
           "chosen": {"params": chosen.params, "train_tokens": chosen.train_tokens},
           "cost": table.cost_key, "regret": table.rows(scenarios)}
    worst = float(np.max(table.relative_regret))
    note = (f"planned for the middle of {', '.join(map(option, ranges))}: the plan that "
            f"minimises the expected lifetime cost (the cost is linear in demand and prices); "
            f"it costs at most {100 * worst:.2f}% more than the best plan anywhere in the range")
    return dataclasses.replace(middle, notes=(*middle.notes, note), ranges=out)


def _cost(options: PlanOptions, notes: list[str], key: list[str]):
    """The dollar objective the options ask for, or None for lifetime FLOPs; assumed defaults
    go to ``notes``, the ones that move the answer most to ``key``."""
    c, target = options.cost, options.target
    given = c.given()
    hw_given = {k: val for k, val in given.items() if k in HARDWARE_OPTIONS}
    roofline_given = options.roofline.given()
    if c.decode_model not in (None, "mfu", "roofline"):
        raise InputError(f"{option('decode_model')} must be 'mfu' or 'roofline'; "
                         f"got {c.decode_model!r}")
    roofline = c.decode_model == "roofline"
    if roofline_given and not roofline:
        raise InputError(", ".join(map(option, roofline_given))
                         + f" need {option('decode_model')} roofline")
    if roofline:
        fixed = [option(k) for k in ("prefill_mfu", "decode_mfu") if k in hw_given]
        if fixed:
            raise InputError(f"{' and '.join(fixed)} conflict with {option('decode_model')} "
                             "roofline, which derives the inference MFU from the hardware; "
                             "drop them")
    if c.objective not in (None, "flops", "usd"):
        raise InputError(f"{option('objective')} must be 'flops' or 'usd'; got {c.objective!r}")
    hardware = [option(k) for k in c.hardware(given) | roofline_given]
    priced = (bool(hardware) or target.budget_usd is not None) if c.objective is None else (
        c.objective == "usd")
    if c.objective == "flops" and hardware:
        raise InputError(f"{option('objective')} flops conflicts with hardware/price options ("
                         + ", ".join(hardware) + "); drop them or use usd")
    if target.budget_flops is not None and priced:
        raise InputError(f"{option('budget_flops')} conflicts with the dollar objective; use "
                         f"{option('budget_usd')}")
    if target.budget_usd is not None and not priced:
        raise InputError(f"{option('budget_usd')} needs the dollar objective; drop "
                         f"{option('objective')} flops")
    if not priced:
        return None
    from ..hardware import get_gpu, load_catalog
    from ..objectives import DollarCost

    catalog = load_catalog(c.gpu_file)
    for role in ("train_gpu", "inference_gpu"):
        hw_given[role] = get_gpu(hw_given.get(role, DollarCost.__dataclass_fields__[role]
                                              .default), catalog)
    if c.inference_dtype is None:  # the inference GPU's best dtype (fp8, else int8, ...)
        from ..hardware.catalog import INFERENCE_DTYPE_PREFERENCE

        gpu = hw_given["inference_gpu"]
        hw_given["inference_dtype"] = gpu.inference_dtype
        notes.append(f"no {option('inference_dtype')} given: {gpu.inference_dtype}, the first of "
                     f"{', '.join(INFERENCE_DTYPE_PREFERENCE)} that {gpu.name} supports")
    if c.decode_mfu is None and not roofline:
        key.append(f"decode MFU {DollarCost.decode_mfu:g} (Sardana et al.'s calculator): it "
                   "moves the dollar saving most; give "
                   f"{option('decode_mfu')} or {option('decode_model')} roofline")
    defaulted = [k for k in HARDWARE_OPTIONS if getattr(c, k) is None and k != "inference_dtype"
                 and not (k == "decode_mfu" and key)
                 and not (roofline and k in ("prefill_mfu", "decode_mfu"))]
    if defaulted:
        notes.append("assumed defaults for the dollar objective: "
                     + ", ".join(map(option, defaulted)))
    if roofline:
        d = options.demand
        return _roofline_cost(hw_given, roofline_given, d.input_tokens, d.output_tokens, notes)
    return DollarCost(**hw_given)


def _roofline_cost(hw_given: dict, roofline_given: dict, input_tokens, output_tokens,
                   notes: list[str]):
    """The roofline dollar objective; the context defaults to the tokens of one request."""
    from ..objectives import RooflineDollarCost

    opts = dict(roofline_given)
    if "batch" not in opts:
        opts["batch"] = DEFAULT_ROOFLINE_BATCH
        notes.append(f"no {option('batch')} given: decode at {DEFAULT_ROOFLINE_BATCH:g} "
                     "concurrent sequences")
    if "context" not in opts:
        if input_tokens is not None and output_tokens is not None:
            opts["context"] = float(input_tokens) + float(output_tokens)
            if not opts["context"] >= 1:
                raise InputError(f"{option('context')} defaults to {option('input_tokens')} + "
                                 f"{option('output_tokens')} per request, here "
                                 f"{opts['context']:g}; it must be >= 1: give "
                                 f"{option('context')} or tokens per request")
            notes.append(f"no {option('context')} given: {opts['context']:g} tokens (input + "
                         "output tokens per request)")
        else:
            opts["context"] = DEFAULT_ROOFLINE_CONTEXT
            notes.append(f"no {option('context')} given: {DEFAULT_ROOFLINE_CONTEXT:g} tokens")
    return RooflineDollarCost(**hw_given, **opts)
