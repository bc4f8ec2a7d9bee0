"""Lifetime inference demand: prefill (input) and decode (output) tokens over a model's life.

Three ways to state it: total tokens; requests x (input, output tokens per request); or
users x requests per user per day x days x (input, output tokens per request).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _validate as v
from .errors import InputError


@dataclass(frozen=True)
class Demand:
    """Lifetime inference tokens. ``input_tokens``/``output_tokens`` are ``None`` when only the
    total is known (enough for the FLOPs objective, which counts 2 N FLOPs for every token)."""

    total_tokens: np.ndarray
    input_tokens: np.ndarray | None = None
    output_tokens: np.ndarray | None = None

    @property
    def has_split(self) -> bool:
        return self.input_tokens is not None

    @classmethod
    def from_tokens(cls, inference_tokens) -> Demand:
        """Total lifetime inference tokens (input + output), split unknown."""
        return cls(v.positive("inference_tokens", inference_tokens, allow_zero=True))

    @classmethod
    def from_split(cls, input_tokens, output_tokens) -> Demand:
        """Lifetime prefill (input) and decode (output) token totals."""
        t_in = v.positive("input_tokens", input_tokens, allow_zero=True)
        t_out = v.positive("output_tokens", output_tokens, allow_zero=True)
        if t_in.ndim == 0 and t_out.ndim == 0:  # one scenario: nothing to broadcast
            return cls(t_in + t_out, t_in, t_out)
        return cls(t_in + t_out, *np.broadcast_arrays(t_in, t_out))

    @classmethod
    def from_requests(cls, requests, input_tokens_per_request, output_tokens_per_request):
        """``requests`` lifetime requests of so many input and output tokens each."""
        r = v.positive("requests", requests, allow_zero=True)
        i = v.positive("input_tokens_per_request", input_tokens_per_request, allow_zero=True)
        o = v.positive("output_tokens_per_request", output_tokens_per_request, allow_zero=True)
        return cls.from_split(r * i, r * o)

    @classmethod
    def from_users(cls, users, requests_per_user_per_day, days, input_tokens_per_request,
                   output_tokens_per_request) -> Demand:
        """``users`` x ``requests_per_user_per_day`` x ``days`` requests of the given size."""
        requests = (
            v.positive("users", users, allow_zero=True)
            * v.positive("requests_per_user_per_day", requests_per_user_per_day, allow_zero=True)
            * v.positive("days", days, allow_zero=True)
        )
        return cls.from_requests(requests, input_tokens_per_request, output_tokens_per_request)

    def require_split(self) -> None:
        if not self.has_split:
            from .vocabulary import option

            raise InputError(
                "the dollar objective needs the input/output split of the demand: give "
                f"{option('requests')} (or {option('users')}) with {option('input_tokens')} and "
                f"{option('output_tokens')} per request instead of {option('inference_tokens')}"
            )

    def to_dict(self) -> dict:
        out = {"inference_tokens": self.total_tokens}
        if self.has_split:
            out |= {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens}
        return out


def as_demand(demand: Demand | None = None, inference_tokens=None) -> Demand:
    """Accept exactly one of a :class:`Demand` or a total token count."""
    if (demand is None) == (inference_tokens is None):
        raise InputError("give exactly one of demand or inference_tokens")
    return demand if demand is not None else Demand.from_tokens(inference_tokens)
