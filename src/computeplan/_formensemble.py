"""Law replicates of any form (:mod:`computeplan.forms`) as one ensemble, for planning under
uncertainty (:mod:`computeplan.uncertainty`).

The Chinchilla form's replicates are :class:`computeplan.uncertainty.Ensemble` (closed forms);
every other form's are a :class:`FormEnsemble`: the form and (K,) coefficient arrays, with the
same methods, each vectorised over the replicates (no loop over them):

- the loss L_k(N, D) of every replicate (the form's formula), and the training tokens D_k(N)
  that reach a loss at N, the inverse of the data term at fixed N (closed form for every form,
  :meth:`~computeplan.forms.Form.log_tokens_at_loss`; infinite where replicate k cannot reach
  the loss at N);
- each replicate's own optima (the first-order conditions of :mod:`computeplan._formsolve` on
  the coefficient arrays, through the planner of :mod:`computeplan.lifetime`), its
  Chinchilla-optimal model at a loss (Hoffmann et al. 2022, section 3.3: L_N = L_D), the
  lowest loss it reaches at any N, D, and the smallest N at which it reaches a loss (where
  D_k(N) -> infinity), which bound the robust plan's search.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _formsolve as solve
from .forms import Form, get_form


def _floor(form: Form, coef: dict) -> np.ndarray:
    """The lowest loss of each replicate at any N, D: E plus what the form's limits on N leave
    of the parameter term (:meth:`~computeplan.forms.Form.log_params_limits`: beta-of-n), or
    Farseer's exp(b3) where its loss at infinite data falls with N (a3 > 0, gamma < 0; +inf,
    no target reachable, elsewhere)."""
    if "E" in coef:
        _, hi = form.log_params_limits(coef)
        with np.errstate(all="ignore"):
            at_edge = form.loss_at(coef, hi, np.inf)
        return np.where(np.isfinite(hi), at_edge, coef["E"])
    ok = (np.asarray(coef["gamma"]) < 0) & (np.asarray(coef["a3"]) > 0)
    return np.where(ok, np.exp(coef["b3"]), np.inf)


@dataclass(frozen=True)
class FormEnsemble:
    """K laws of ``form`` as (K,) coefficient arrays (``coef``); the planner's solvers
    broadcast over them (module docstring)."""

    form: str
    coef: dict
    unique_tokens: float | None = None

    @classmethod
    def of(cls, law) -> FormEnsemble:
        return cls(law.form, {k: np.ascontiguousarray(val) for k, val in
                              law.replicate_coefficients().items()})

    @property
    def shape(self) -> Form:
        return get_form(self.form)

    def __len__(self) -> int:
        return len(next(iter(self.coef.values())))

    def take(self, index) -> FormEnsemble:
        return FormEnsemble(self.form, {k: val[index] for k, val in self.coef.items()},
                            self.unique_tokens)

    def tile(self, m: int) -> FormEnsemble:
        """The replicates repeated ``m`` times (one copy per scenario of a block)."""
        return FormEnsemble(self.form, {k: np.tile(val, m) for k, val in self.coef.items()},
                            self.unique_tokens)

    def limited(self, law, unique_tokens) -> FormEnsemble:
        if unique_tokens is None:
            return self
        from .errors import InputError

        raise InputError("planning under uncertainty with a unique-token limit needs a "
                         f"Chinchilla-form law; this law has the {self.form} form")

    def unlimited(self) -> FormEnsemble:
        return self

    def floor(self) -> np.ndarray:
        """The lowest loss each replicate reaches at any N, D (:func:`_floor`)."""
        return _floor(self.shape, self.coef)

    def loss(self, params, train_tokens) -> np.ndarray:
        """L_k(N, D) of every replicate (broadcast: e.g. (G, 1) points against (K,))."""
        return self.shape.loss(self.coef, params, train_tokens)

    def _sel(self, index) -> dict:
        return self.coef if index is None else {k: val[index] for k, val in self.coef.items()}

    def loss_of(self, log_params, train_tokens, index=None) -> np.ndarray:
        """L_k at N = exp(``log_params``) and D = ``train_tokens`` of every replicate (or of
        replicate ``index[i]`` at element i)."""
        with np.errstate(divide="ignore"):
            return self.shape.loss_at(self._sel(index), log_params, np.log(train_tokens))

    def _log_tokens(self, coef, loss, log_params) -> np.ndarray:
        """ln D_k(N), +inf where the replicate cannot reach ``loss`` at N (or N lies beyond
        the form's limits)."""
        lo, hi = self.shape.log_params_limits(coef)
        with np.errstate(all="ignore"):
            out = self.shape.log_tokens_at_loss(coef, log_params, loss)
        ok = ~np.isnan(out) & (log_params > lo) & (log_params < hi)
        return np.where(ok, out, np.inf)

    def tokens_for_loss(self, loss, params) -> np.ndarray:
        return self.tokens_for_loss_log(loss, np.log(params))

    def tokens_for_loss_log(self, loss, log_params) -> np.ndarray:
        """D_k(N) at N = exp(``log_params``) (broadcast against the replicates), infinite where
        replicate k cannot reach ``loss`` at N."""
        with np.errstate(over="ignore"):
            return np.exp(self._log_tokens(self.coef, loss, log_params))

    def log_tokens_of(self, loss, log_params, index) -> np.ndarray:
        """ln D_k(N) of replicate ``index[i]`` at ``log_params[i]`` (elementwise)."""
        return self._log_tokens(self._sel(index), loss, log_params)

    def chinchilla_at(self, loss) -> tuple[np.ndarray, np.ndarray]:
        """Each replicate's compute-optimal (N, D) at ``loss`` (every replicate reaching it)."""
        ln_n, ln_d = solve.fixed_loss(self.shape, self.coef, loss, 0.0)
        return np.exp(ln_n), np.exp(ln_d)

    def log_floor_at(self, loss) -> np.ndarray:
        """ln N below which replicate k cannot reach ``loss`` with any D (D_k(N) -> infinity
        there); every replicate reaching it."""
        return np.asarray(self.shape.log_params_range(self.coef, loss)[0], float)

    def optima(self, loss, demand, objective) -> tuple[np.ndarray, np.ndarray]:
        """Each replicate's inference-aware optimum at ``loss`` (the planner's first-order
        conditions on the coefficient arrays)."""
        from .lifetime import _lifetime_optimal

        plan = _lifetime_optimal(self, loss, demand, objective)
        return np.array(plan.params, float), np.array(plan.train_tokens, float)
