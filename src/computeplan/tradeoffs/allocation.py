"""Optimal split of total compute between training and inference.

Source: Erdil 2024, "Optimally allocating compute between inference and training" (Epoch;
REFERENCES.md section 4). If beta OOM of training compute trade for alpha OOM of inference
compute at equal performance, the frontier is IC = K TC^(-alpha/beta) and minimising TC + IC
gives TC / IC = alpha / beta: spend alpha/(alpha+beta) of the total on training. On any frontier,
the first-order condition of min TC + Q IC (Q queries) is TC = Q IC r, with r the local exchange
rate -dlog IC/dlog TC, so the training share at the optimum is r / (1 + r): parity (half and
half) exactly where one OOM of training buys one OOM of inference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import _validate as v
from ..errors import InputError
from ..vocabulary import option
from .frontier import Frontier


@dataclass(frozen=True)
class Perturbation:
    """Total compute after moving +train_change_oom of training and -inference_change_oom of
    inference (a move along a constant-exchange-rate frontier) from (train, inference).

    Sign convention: the field ``inference_change_oom`` is the inference *saved* (positive: less
    inference), while :meth:`to_dict` reports the signed change of inference under the same
    name (negative: less inference), so that both JSON changes read as "+ more, - less"."""

    train: float
    inference: float
    train_change_oom: float
    inference_change_oom: float

    @property
    def total(self) -> float:
        return (self.train * 10.0 ** self.train_change_oom
                + self.inference * 10.0 ** -self.inference_change_oom)

    def to_dict(self) -> dict:
        return {"from_train": self.train, "from_inference": self.inference,
                "train_change_oom": self.train_change_oom,
                "inference_change_oom": -self.inference_change_oom,
                "total": self.total, "change": self.total - self.train - self.inference}


@dataclass(frozen=True)
class Split:
    """Erdil's closed-form split for an exchange rate of ``inference_oom`` per ``train_oom``."""

    train_oom: float
    inference_oom: float
    total: float | None
    step_oom: float

    @property
    def train_fraction(self) -> float:
        """alpha / (alpha + beta), as r / (1 + r) with r = alpha / beta so that huge OOM
        counts do not overflow the sum."""
        r = self.inference_oom / self.train_oom
        return r / (1.0 + r)

    @property
    def inference_fraction(self) -> float:
        return 1.0 - self.train_fraction

    def perturbations(self) -> list[Perturbation]:
        """The perturbation check, for a total (1 when none is given): from the equal split and
        from the optimum, move +step OOM of training and -step * alpha/beta OOM of inference,
        and the reverse move from the optimum. Only the optimum gets worse both ways."""
        total = 1.0 if self.total is None else self.total
        di = self.step_oom * self.inference_oom / self.train_oom
        opt = (total * self.train_fraction, total * self.inference_fraction)
        return [Perturbation(total / 2, total / 2, self.step_oom, di),
                Perturbation(*opt, self.step_oom, di),
                Perturbation(*opt, -self.step_oom, -di)]

    def to_dict(self) -> dict:
        out = {"train_oom": self.train_oom, "inference_oom": self.inference_oom,
               "exchange_rate": self.inference_oom / self.train_oom,
               "train_fraction": self.train_fraction,
               "inference_fraction": self.inference_fraction}
        if self.total is not None:
            out |= {"total": self.total, "train": self.total * self.train_fraction,
                    "inference": self.total * self.inference_fraction}
        return out | {"perturbation": [p.to_dict() for p in self.perturbations()],
                      "source": "Erdil 2024, Optimally allocating compute between inference and "
                                "training (Epoch)"}


def optimal_split(train_oom, inference_oom, total=None, *, step_oom: float = 0.1) -> Split:
    """Training share alpha/(alpha+beta) when ``train_oom`` = beta OOM of training trade for
    ``inference_oom`` = alpha OOM of inference (Erdil 2024). Example: beta = 1, alpha = 2,
    total 300 -> 200 training / 100 inference; the perturbation totals are 283.4 (from 150/150)
    and 314.9 (from 200/100)."""
    beta = float(v.positive("train_oom", train_oom))
    alpha = float(v.positive("inference_oom", inference_oom))
    t = None if total is None else float(v.positive("total", total))
    step = float(v.in_range("step_oom", step_oom, 0.0, 3.0))
    move = step * alpha / beta
    if move > 100.0:
        raise InputError(f"the perturbation's inference move step_oom x inference_oom / train_oom "
                         f"must be <= 100 OOM; got {move:.6g}: use a smaller {option('step_oom')}")
    split = Split(beta, alpha, t, step)
    if not all(math.isfinite(p.total) for p in split.perturbations()):
        raise InputError(f"total must be small enough that moving {step:g} OOM stays finite; "
                         f"got {t:.6g}")
    return split


@dataclass(frozen=True)
class FrontierAllocation:
    """The frontier point minimising TC + Q IC for each number of queries Q."""

    queries: np.ndarray
    train_compute: np.ndarray
    inference_compute: np.ndarray
    index: np.ndarray
    exchange_rate: np.ndarray
    at_frontier_end: np.ndarray

    @property
    def total_compute(self) -> np.ndarray:
        return self.train_compute + self.queries * self.inference_compute

    @property
    def train_fraction(self) -> np.ndarray:
        return self.train_compute / self.total_compute

    @property
    def parity_prediction(self) -> np.ndarray:
        """r / (1 + r): the training share the first-order condition predicts."""
        return self.exchange_rate / (1.0 + self.exchange_rate)

    def to_dict(self) -> dict:
        return {"queries": self.queries, "train_compute": self.train_compute,
                "inference_compute_per_query": self.inference_compute,
                "inference_compute": self.queries * self.inference_compute,
                "total_compute": self.total_compute, "train_fraction": self.train_fraction,
                "inference_fraction": 1.0 - self.train_fraction,
                "local_exchange_rate": self.exchange_rate,
                "train_fraction_from_exchange_rate": self.parity_prediction,
                "at_frontier_end": self.at_frontier_end}


def allocate_on_frontier(front: Frontier, queries) -> FrontierAllocation:
    """For each Q in ``queries``, the Pareto-frontier point minimising TC + Q * IC (IC per
    query), with its training share and local exchange rate r. At an interior optimum the share
    is r / (1 + r) up to the grid resolution (Erdil 2024's parity generalised); an optimum at an
    end of the frontier is flagged (widen the grid or the level)."""
    q = v.positive("queries", queries)
    tc, ic = front.train_compute, front.inference_compute
    if tc.size == 0:
        raise InputError("the frontier is empty; nothing to allocate")
    with np.errstate(over="ignore"):  # checked just below
        cost = tc + q[..., None] * ic
    if not np.all(np.isfinite(cost)):
        raise InputError(f"queries must keep the total compute TC + queries x IC finite (below "
                         f"about {np.finfo(float).max / ic.max():.3g} here); got "
                         f"{v._first_bad(q, ~np.all(np.isfinite(cost), axis=-1))}")
    k = np.argmin(cost, axis=-1)
    end = (k == 0) | (k == tc.size - 1)
    return FrontierAllocation(q, tc[k], ic[k], k, front.exchange_rate[k], end)
