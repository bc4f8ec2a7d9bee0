"""Extrapolation check: fit on some runs, predict the held-out ones.

Sardana et al. 2024 (arXiv 2401.00448, section 4) found that laws fitted at typical ratios
mis-predict runs at 1,000-10,000 tokens per parameter; holding out those runs (or the largest
models) and measuring the prediction error shows how far a fitted law can be trusted.
A hold-out rule is ``QUANTITY OP VALUE`` selecting the held-out runs, e.g.
``tokens_per_param>100`` or ``params>=1e9``.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .core import LawFit
from .runs import Runs

QUANTITIES = {
    "params": lambda r: r.params,
    "tokens": lambda r: r.train_tokens,
    "tokens_per_param": lambda r: r.tokens_per_param,
    "flops": lambda r: r.train_flops,
    "epochs": lambda r: r.epochs,
}
OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
_RULE = re.compile(r"^\s*([a-z_]+)\s*(>=|<=|>|<)\s*([-+0-9.eE]+)\s*$")


def parse_rule(rule: str) -> tuple[str, str, float]:
    """``'tokens_per_param>100'`` -> ('tokens_per_param', '>', 100.0)."""
    m = _RULE.match(str(rule))
    valid = f"QUANTITY OP VALUE with QUANTITY in {', '.join(QUANTITIES)} and OP in " \
            f"{' '.join(OPS)}, e.g. 'tokens_per_param>100'"
    if not m or m.group(1) not in QUANTITIES:
        raise InputError(f"holdout must be {valid}; got {rule!r}")
    try:
        value = float(m.group(3))
    except ValueError:
        raise InputError(f"holdout must be {valid}; got {rule!r}") from None
    if not (np.isfinite(value) and value > 0):
        raise InputError(f"holdout value must be a finite number > 0; got {m.group(3)!r}")
    return m.group(1), m.group(2), value


def holdout_mask(runs: Runs, rule: str) -> np.ndarray:
    quantity, op, value = parse_rule(rule)
    return OPS[op](QUANTITIES[quantity](runs), value)


@dataclass(frozen=True)
class HoldoutResult:
    """The law fitted without the held-out runs and its errors on them; a positive error is an
    over-prediction of the loss."""

    rule: str
    fit: LawFit
    held_out: Runs
    predicted_loss: np.ndarray
    #: Predictive intervals and their coverage (:mod:`.intervals`), or None.
    intervals: dict | None = None
    #: With unique tokens per run: R_D*, R_N* refitted without the held-out runs.
    repetition: object | None = None
    #: Runs fitted (all stages; by default those of ``fit``).
    n_fit: int | None = None

    @property
    def relative_error(self) -> np.ndarray:
        return self.predicted_loss / self.held_out.loss - 1.0

    def summary(self) -> dict[str, float]:
        e = self.relative_error
        return {"n_fit": self.fit.n_runs if self.n_fit is None else self.n_fit,
                "n_held_out": len(self.held_out),
                "mean_relative_error": float(np.mean(e)),
                "mean_abs_relative_error": float(np.mean(np.abs(e))),
                "max_abs_relative_error": float(np.max(np.abs(e))),
                "share_under_predicted": float(np.mean(e < 0))}

    def to_dict(self) -> dict:
        h = self.held_out
        out = {"rule": self.rule, "summary": self.summary(), "fit": self.fit.to_dict(),
                "runs": {"row": h.rows, "params": h.params, "train_tokens": h.train_tokens,
                         "loss": h.loss, "predicted_loss": self.predicted_loss,
                         "relative_error": self.relative_error}}
        if self.repetition is not None:
            out["repetition"] = self.repetition.to_dict()
            out["runs"]["unique_tokens"] = h.unique_tokens
        if self.intervals is not None:
            iv = self.intervals
            out["intervals"] = {k: val for k, val in iv.items() if k != "runs"}
            out["runs"] |= {"interval_lo": iv["runs"]["lo"], "interval_hi": iv["runs"]["hi"],
                            "inside_interval": iv["runs"]["inside"],
                            "extrapolation_distance": iv["runs"]["distance"]}
        return out
