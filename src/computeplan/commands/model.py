"""The `model` command: the Chinchilla calculator."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError
from ..laws import ChinchillaLaw, ModelPoint, get_law
from ..vocabulary import option


@dataclass(frozen=True)
class ModelReport:
    law: ChinchillaLaw
    point: ModelPoint
    chinchilla_optimal: bool

    def to_dict(self) -> dict:
        return {"law": self.law.coefficients() | {"name": self.law.name},
                "chinchilla_optimal": self.chinchilla_optimal} | self.point.to_dict()


def model(*, compute=None, params=None, tokens=None, loss=None, chinchilla: bool = False,
          law: str = "sardana2024", E=None, A=None, B=None, alpha=None, beta=None) -> ModelReport:
    """The model fixed by what is given: with ``chinchilla`` one of compute/params/tokens/loss
    (the compute-optimal model); two of compute/params/tokens; or loss with params or tokens."""
    the_law = get_law(law, any_form=True, E=E, A=A, B=B, alpha=alpha, beta=beta)
    given = {k: val for k, val in dict(compute=compute, params=params, tokens=tokens,
                                       loss=loss).items() if val is not None}
    flags = ", ".join(map(option, given)) or "nothing"
    four = "/".join(map(option, ("compute", "params", "tokens", "loss")))
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
