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

Under a limit of U unique tokens (:meth:`FormEnsemble.limited`) every replicate's loss is its
data-limited one, L_k(N', D') with Muennighoff et al. 2023's effective data and parameters
(:mod:`computeplan._formlimits`; N_opt_k(U) each replicate's own compute-optimal size for U
tokens, one pair R_D*, R_N* for all): D_k(N) is D from the form's D' at N', the floor the
lowest loss below the caps of N' and D', each replicate's optimum its data-limited one (the
solvers of that module on the coefficient arrays, only where the limit binds).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from . import _formsolve as solve
from .forms import Form, get_form


def _floor(form: Form, coef: dict) -> np.ndarray:
    """The lowest loss of each replicate at any N, D: E plus what the form's limits on N leave
    of the parameter term (:meth:`~computeplan.forms.Form.log_params_limits`: beta-of-n), or
    Farseer's exp(b3) where its loss at infinite data falls with N (a3 > 0, gamma < 0; +inf,
    no target reachable, elsewhere); a form's own ``floor`` where it has one (an averaged
    form's: :meth:`computeplan.formaverage.AverageForm.floor`)."""
    own = getattr(form, "floor", None)
    if own is not None:
        return np.asarray(own(coef), float)
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
    rd_star: float | None = None
    rn_star: float | None = None

    @classmethod
    def of(cls, law) -> FormEnsemble:
        return cls(law.form, {k: np.ascontiguousarray(val) for k, val in
                              law.replicate_coefficients().items()})

    @property
    def shape(self) -> Form:
        return get_form(self.form)

    def __len__(self) -> int:
        return len(next(iter(self.coef.values())))

    def _same(self, coef: dict, log_no=None) -> FormEnsemble:
        out = FormEnsemble(self.form, coef, self.unique_tokens, self.rd_star, self.rn_star)
        if log_no is not None:
            out.__dict__["_log_no"] = log_no  # cached_property: no second solve
        return out

    def take(self, index) -> FormEnsemble:
        limited = self.unique_tokens is not None
        return self._same({k: val[index] for k, val in self.coef.items()},
                          self._log_no[index] if limited else None)

    def tile(self, m: int) -> FormEnsemble:
        """The replicates repeated ``m`` times (one copy per scenario of a block)."""
        limited = self.unique_tokens is not None
        return self._same({k: np.tile(val, m) for k, val in self.coef.items()},
                          np.tile(self._log_no, m) if limited else None)

    def limited(self, law, unique_tokens) -> FormEnsemble:
        """These replicates under a limit of ``unique_tokens`` (None: none), with the law's
        R_D*, R_N* (Muennighoff et al.'s where it sets none: :func:`computeplan._formlimits.
        repetition`)."""
        if unique_tokens is None:
            return self
        from ._formlimits import repetition

        rd, rn, _ = repetition(law)
        return FormEnsemble(self.form, self.coef, float(unique_tokens), rd, rn)

    def unlimited(self) -> FormEnsemble:
        return FormEnsemble(self.form, self.coef)

    # ------------------------------------------------------------- the unique-token limit
    @property
    def _law(self):
        """The replicates as the law :mod:`computeplan._formlimits` reads (array
        coefficients)."""
        from types import SimpleNamespace

        return SimpleNamespace(shape=self.shape, coef=self.coef, rd_star=self.rd_star,
                               rn_star=self.rn_star, name="replicates", form=self.form)

    @property
    def _log_u(self) -> float:
        return float(np.log(self.unique_tokens))

    @cached_property
    def _log_no(self) -> np.ndarray:
        """ln N_opt_k(U), each replicate's compute-optimal size for U tokens."""
        from ._formlimits import log_base_params

        return np.asarray(log_base_params(self._law, self._log_u), float)

    def _effective(self, log_params, train_tokens, index=None):
        """(ln N', ln D') of every replicate (or of replicate ``index[i]``)."""
        from ._formlimits import _forward

        log_no = self._log_no if index is None else self._log_no[index]
        with np.errstate(divide="ignore"):
            return (_forward(log_params, log_no, self.rn_star)[0],
                    _forward(np.log(train_tokens), self._log_u, self.rd_star)[0])

    def floor(self) -> np.ndarray:
        """The lowest loss each replicate reaches at any N, D (:func:`_floor`); under a
        unique-token limit the lowest below the caps of N' and D' (:func:`computeplan.
        _formlimits.lowest_reachable_loss`)."""
        free = _floor(self.shape, self.coef)
        if self.unique_tokens is None:
            return free
        from ._formlimits import _best_params, _caps

        ok = np.isfinite(free)
        out = np.full(free.shape, np.inf)
        if ok.any():
            sub = self.take(ok)
            log_nmax, log_dmax = _caps(sub._law, sub._log_u, sub._log_no)
            out[ok] = _best_params(sub._law, log_dmax, log_nmax)[1]
        return out

    def loss(self, params, train_tokens) -> np.ndarray:
        """L_k(N, D) of every replicate (broadcast: e.g. (G, 1) points against (K,)); the
        data-limited loss under a unique-token limit."""
        if self.unique_tokens is not None:
            return self.loss_of(np.log(params), train_tokens)
        return self.shape.loss(self.coef, params, train_tokens)

    def _sel(self, index) -> dict:
        return self.coef if index is None else {k: val[index] for k, val in self.coef.items()}

    def loss_of(self, log_params, train_tokens, index=None) -> np.ndarray:
        """L_k at N = exp(``log_params``) and D = ``train_tokens`` of every replicate (or of
        replicate ``index[i]`` at element i)."""
        if self.unique_tokens is not None:
            ln_ne, ln_de = self._effective(log_params, train_tokens, index)
            return self.shape.loss_at(self._sel(index), ln_ne, ln_de)
        with np.errstate(divide="ignore"):
            return self.shape.loss_at(self._sel(index), log_params, np.log(train_tokens))

    def _log_tokens(self, coef, loss, log_params, log_no=None) -> np.ndarray:
        """ln D_k(N), +inf where the replicate cannot reach ``loss`` at N (or N lies beyond
        the form's limits); under a unique-token limit D from D' at N' (``log_no``: the
        replicates' ln N_opt(U)), +inf where D' would pass its cap."""
        lo, hi = self.shape.log_params_limits(coef)
        if self.unique_tokens is not None:
            from ._formlimits import _forward, _inverse

            log_params = _forward(log_params, log_no, self.rn_star)[0]
        with np.errstate(all="ignore"):
            out = self.shape.log_tokens_at_loss(coef, log_params, loss)
            if self.unique_tokens is not None:
                out = _inverse(out, self._log_u, self.rd_star)[0]
        ok = ~np.isnan(out) & (log_params > lo) & (log_params < hi)
        return np.where(ok, out, np.inf)

    def tokens_for_loss(self, loss, params) -> np.ndarray:
        return self.tokens_for_loss_log(loss, np.log(params))

    def tokens_for_loss_log(self, loss, log_params) -> np.ndarray:
        """D_k(N) at N = exp(``log_params``) (broadcast against the replicates), infinite where
        replicate k cannot reach ``loss`` at N."""
        log_no = self._log_no if self.unique_tokens is not None else None
        with np.errstate(over="ignore"):
            return np.exp(self._log_tokens(self.coef, loss, log_params, log_no))

    def log_tokens_of(self, loss, log_params, index) -> np.ndarray:
        """ln D_k(N) of replicate ``index[i]`` at ``log_params[i]`` (elementwise)."""
        log_no = self._log_no[index] if self.unique_tokens is not None else None
        return self._log_tokens(self._sel(index), loss, log_params, log_no)

    def chinchilla_at(self, loss) -> tuple[np.ndarray, np.ndarray]:
        """Each replicate's compute-optimal (N, D) at ``loss`` (every replicate reaching it)."""
        ln_n, ln_d = solve.fixed_loss(self.shape, self.coef, loss, 0.0)
        return np.exp(ln_n), np.exp(ln_d)

    def log_floor_at(self, loss) -> np.ndarray:
        """ln N below which replicate k cannot reach ``loss`` with any D (D_k(N) -> infinity
        there, or D'_k -> its cap under a unique-token limit); every replicate reaching it."""
        if self.unique_tokens is not None:
            from ._formlimits import _inverse, _x_range

            x_lo = _x_range(self._law, loss, self._log_u, self._log_no)[0]
            return np.asarray(_inverse(x_lo, self._log_no, self.rn_star)[0], float)
        return np.asarray(self.shape.log_params_range(self.coef, loss)[0], float)

    def optima(self, loss, demand, objective) -> tuple[np.ndarray, np.ndarray]:
        """Each replicate's inference-aware optimum at ``loss`` (the planner's first-order
        conditions on the coefficient arrays); its data-limited optimum under a limit."""
        from .lifetime import _lifetime_optimal

        plan = _lifetime_optimal(self.unlimited(), loss, demand, objective)
        n, d = np.array(plan.params, float), np.array(plan.train_tokens, float)
        return self._limited_optima(n, d, demand, objective, loss=loss)

    def budget_optima(self, budget, demand, objective) -> tuple[np.ndarray, np.ndarray]:
        """Each replicate's lowest-loss model within ``budget`` (data-limited under a
        limit)."""
        from .lifetime import _budget_optimal

        plan = _budget_optimal(self.unlimited(), budget, demand, objective)
        n, d = np.array(plan.params, float), np.array(plan.train_tokens, float)
        return self._limited_optima(n, d, demand, objective, budget=budget)

    def _limited_optima(self, n, d, demand, objective, *, loss=None, budget=None):
        """The unlimited optima (n, d) where the limit does not bind (D <= U, N <= N_opt_k(U)),
        the data-limited solvers of :mod:`computeplan._formlimits` on the others."""
        if self.unique_tokens is None:
            return n, d
        from . import _formlimits as fl
        from .lifetime import _dependent, _ratio
        from .uncertainty import _demand_part

        with np.errstate(over="ignore"):
            bind = np.flatnonzero((d > self.unique_tokens) | (n > np.exp(self._log_no)))
        if not bind.size:
            return n, d
        part = self.take(bind)
        dem = _demand_part(demand, bind)
        law, log_u, log_no = part._law, np.full(bind.size, part._log_u), part._log_no
        if _dependent(objective):
            target = np.full(bind.size, float(loss if budget is None else budget))
            solver = fl.dependent_fixed_loss if budget is None else fl.dependent_budget
            ln_n, ln_d = solver(law, target, objective, dem, log_u, log_no)
        else:
            p, q = objective.coefficients(dem)
            r = np.broadcast_to(_ratio(p, q, "inference demand or prices"), (bind.size,))
            if budget is None:
                ln_n, ln_d = fl.solve_fixed_loss(law, np.full(bind.size, float(loss)), r,
                                                 log_u, log_no)
            else:
                log_k = np.broadcast_to(np.log(float(budget)) - np.log(p), (bind.size,))
                ln_n, ln_d = fl.solve_budget(law, log_k, r, log_u, log_no)
        n, d = n.copy(), d.copy()
        with np.errstate(over="ignore"):
            n[bind], d[bind] = np.exp(ln_n), np.exp(ln_d)
        return n, d
