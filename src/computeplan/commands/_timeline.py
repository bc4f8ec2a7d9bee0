"""Timeline options of `plan`, `report`, `sweep` and the web page (:class:`TimelineOptions`): a
:class:`~computeplan.timeline.Timeline`, or ``None`` when no timeline option is given, so that
plans stay exactly today's. Free of numpy at import time: the CLI builds its flags from it."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError
from ..vocabulary import option
from .options import OptionGroup, opt

#: Service life assumed when a timeline option is given without a horizon.
DEFAULT_HORIZON_DAYS = 365.0


@dataclass(frozen=True)
class TimelineOptions(OptionGroup):
    """When demand arrives, how fast inference FLOPs get cheaper, how money is discounted, and
    how long training takes (:mod:`computeplan.timeline`). Any of them dates the plan: it then
    minimises the present value of lifetime cost."""

    PANEL = "Timeline (present value; any of these dates the plan)"
    horizon_days: float | None = opt(
        "Service life in days, from the end of training [default: 365; with {{users}}: "
        "{{days}}].", bounds="in (0, 36525]")
    demand_ramp_days: float | None = opt(
        "Days of linear ramp from zero to peak demand [default: 0].")
    demand_growth_per_year: float | None = opt(
        "Exponential demand growth per year, (1 + g)^t (1: doubling each year; negative: "
        "decline) [default: 0].")
    demand_tail_days: float | None = opt(
        "Days of linear fade to zero at the end of the service life [default: 0].")
    price_performance_doubling_years: float | str | None = opt(
        "Years for inference FLOP/s per dollar to double, or a preset: all-gpus (2.46), "
        "ml-gpus (2.07), top-gpus (2.95) (Hobbhahn & Besiroglu 2022) [default: prices "
        "constant].")
    discount_rate_per_year: float | None = opt(
        "Discount rate per year, > -1 [default: 0].")
    compounding: str | None = opt(
        "Rates per year are annual, (1 + r)^-t, or continuous, e^(-rt) [default: annual].",
        choices=("annual", "continuous"))
    train_gpus: float | None = opt(
        "Training GPUs: serving starts when training ends, after 6ND / (GPUs x peak x "
        "{{train_mfu}}) [default: serving starts at once].", bounds="a whole number >= 1")

    def build(self, *, users=None, days=None, cost=None, notes: list[str] | None = None):
        """The Timeline, or ``None`` when no option is given. With ``users`` the demand's
        ``days`` is the horizon. ``train_gpus`` GPUs of the dollar objective's training GPU,
        dtype and MFU (or of their defaults under the FLOPs objective) set the training time,
        after which serving starts."""
        given = self.given()
        if not given:
            return None
        from .. import _validate as v
        from ..render import fmt
        from ..timeline import MAX_HORIZON_DAYS, PRICE_PERFORMANCE_PRESETS, Timeline

        notes = [] if notes is None else notes
        horizon = given.pop("horizon_days", None)
        if users is not None:
            if horizon is not None:
                raise InputError(f"{option('horizon_days')} conflicts with {option('users')}, "
                                 f"whose {option('days')} is the horizon; drop "
                                 f"{option('horizon_days')}")
            horizon = v.in_range(option("days"), days, 0.0, MAX_HORIZON_DAYS)
            notes.append(f"the service life is {option('days')} {fmt(horizon)} (the demand's "
                         "days of service)")
        elif horizon is None:
            horizon = DEFAULT_HORIZON_DAYS
            notes.append(f"no {option('horizon_days')} given: a service life of {horizon:g} "
                         "days")
        gpus = given.pop("train_gpus", None)
        if gpus is not None:
            given["train_flops_per_second"] = _train_throughput(gpus, cost, notes)
        else:
            notes.append(f"no {option('train_gpus')} given: serving starts at once (the "
                         "training time is not modelled)")
        timeline = Timeline(horizon_days=horizon, **given)
        preset = timeline.price_performance_preset
        if preset is not None:
            years, (lo, hi) = PRICE_PERFORMANCE_PRESETS[preset]
            notes.append(f"price-performance doubling {preset}: {years:g} years (95% CI "
                         f"{lo:g}-{hi:g}; Hobbhahn & Besiroglu 2022, GPUs of 2006-2021), "
                         "extrapolated over the horizon")
        return timeline


def _train_throughput(gpus, cost, notes: list[str]):
    """S = GPUs x peak FLOP/s in the training dtype x MFU (FLOP/s)."""
    import numpy as np

    from .. import _validate as v
    from ..hardware import get_gpu
    from ..objectives import DollarCost
    from ..render import fmt

    k = v.whole(option("train_gpus"), gpus)
    if cost is not None and cost.priced:
        gpu, dtype, mfu = cost.train_gpu, cost.train_dtype, cost.train_mfu
    else:
        fields = DollarCost.__dataclass_fields__
        gpu = get_gpu(fields["train_gpu"].default)
        dtype, mfu = fields["train_dtype"].default, fields["train_mfu"].default
        notes.append(f"training time on {option('train_gpus')} {fmt(k)} x {gpu.name} {dtype} "
                     f"at MFU {fmt(mfu)} (the dollar objective's defaults)")
    per_gpu = gpu.peak(dtype) * mfu
    most = float(np.finfo(float).max) / per_gpu
    if float(np.max(k)) > most:  # S overflows double precision
        hardware = (f"{option('train_gpu')} {gpu.name}, {option('train_dtype')} {dtype}, "
                    f"{option('train_mfu')} {fmt(mfu)}" if cost is not None and cost.priced
                    else f"{gpu.name} {dtype} at MFU {fmt(mfu)}")
        raise InputError(f"{option('train_gpus')} must be a whole number in [1, {most:.3g}] "
                         f"(the training FLOP/s, {option('train_gpus')} x peak x MFU on "
                         f"{hardware}, must be a finite number); got {float(np.max(k)):g}")
    return k * per_gpu
