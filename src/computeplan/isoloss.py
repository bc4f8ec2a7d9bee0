"""Iso-loss curves L(N, D) = l of a law of any form, or of its data-limited law, vectorised.

The report's figures (:mod:`computeplan.commands.report`) draw the curves D(N) in the (N, D)
plane and the lifetime cost along them. At fixed N every form's data term is invertible, so D(N)
is closed form:

- Chinchilla form: D = (B / (l - E - A N^-alpha))^(1/beta) (Hoffmann et al. 2022, eq. 2;
  :meth:`computeplan.laws.ChinchillaLaw.tokens_for_loss});
- other forms (:mod:`computeplan.forms`): :meth:`~computeplan.forms.Form.log_tokens_at_loss`,
  defined for ln N in :meth:`~computeplan.forms.Form.log_params_range` (from the smallest N that
  reaches l with infinite data to the form's limit, if any);
- under a limit of U unique tokens, the data-limited law L(N, D; U) = E + A N'^-alpha
  + B D'^-beta (Muennighoff et al. 2023, eq. 5; :mod:`computeplan.data_limits`): D' from the
  Chinchilla form, then D from D' (:func:`~computeplan.data_limits.limited_tokens_for_loss`).
  D' saturates at U (1 + R_D*), so the curve starts at the N whose N' reaches l with
  D' = U (1 + R_D*), N' = (A / (l - E - B (U (1 + R_D*))^-beta))^(1/alpha). Other forms:
  the form's loss at N', D' (:mod:`computeplan._formlimits`), D' from the form's contour at N'
  and the curve's start where D' reaches its cap (:func:`~computeplan._formlimits.
  params_range`, a bracketed root).

The N at which a curve comes down to a given D (to start a plotted curve where D leaves the
plot) is a bracketed root in ln N along the curve (:meth:`Contours.params_at`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InputError


@dataclass(frozen=True)
class Contours:
    """The iso-loss curves of ``law`` (any form), under a limit of ``unique_tokens`` unique
    tokens when it is not None (a law with repetition coefficients, as
    :func:`computeplan.data_limits.check_unique_tokens` checks)."""

    law: object
    unique_tokens: float | None = None

    @property
    def form(self) -> str:
        return getattr(self.law, "form", "chinchilla")

    def floor(self) -> float | None:
        """The lowest loss the law reaches at any N, D (E; exp(b3) for a farseer-form law; the
        lowest reachable loss with U unique tokens, :func:`~computeplan.data_limits.
        lowest_reachable_loss`); None when the law's loss has no floor to plan towards."""
        if self.unique_tokens is not None:
            from .data_limits import lowest_reachable_loss

            return float(lowest_reachable_loss(self.law, self.unique_tokens))
        return self.law.irreducible()

    def params_range(self, loss: float) -> tuple[float, float]:
        """(lo, hi): the curve of ``loss`` exists for N in (lo, hi); at lo it needs infinite
        data. An InputError for a loss at or below :meth:`floor`."""
        floor = self.floor()
        if floor is not None and not loss > floor:
            raise InputError(f"the iso-loss curve of loss {loss:.6g} needs a loss above "
                             f"{floor:.6g}, the lowest loss of law {self.law.name}"
                             + (" with these unique tokens" if self.unique_tokens else ""))
        law = self.law
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            if self.unique_tokens is not None and self.form != "chinchilla":
                from ._formlimits import params_range

                return params_range(law, loss, self.unique_tokens)
            if self.unique_tokens is not None:
                from .data_limits import _inverse_effective, base_params

                u = self.unique_tokens
                rest = loss - law.E - law.B * (u * (1.0 + law.rd_star)) ** -law.beta
                n_eff = (law.A / rest) ** (1.0 / law.alpha)
                lo = float(_inverse_effective(n_eff, base_params(law, u), law.rn_star))
                return lo, np.inf
            if self.form == "chinchilla":
                return float((law.A / (loss - law.E)) ** (1.0 / law.alpha)), np.inf
            ln_lo, ln_hi = law.shape.log_params_range(law.coef, loss)
            return float(np.exp(ln_lo)), float(np.exp(ln_hi))

    def tokens(self, loss: float, params) -> np.ndarray:
        """D(N) on the curve of ``loss`` at each N of ``params`` (inside :meth:`params_range`)."""
        if self.unique_tokens is not None:
            from .data_limits import limited_tokens_for_loss

            return limited_tokens_for_loss(self.law, loss, params, self.unique_tokens)
        return self.law.tokens_for_loss(loss, params)

    def params_at(self, loss: float, train_tokens: float, lo: float, hi: float
                  ) -> float | None:
        """The first N in [lo, hi] (inside :meth:`params_range`) at which the curve of ``loss``
        comes down to ``train_tokens`` (D falls from infinity at the curve's start; some forms'
        curves rise again at large N), by a coarse grid and a bracketed root in ln N
        (:func:`computeplan._formsolve.bracketed_root`); None when D stays above it."""
        from ._formsolve import bracketed_root

        grid = np.geomspace(lo, hi, 64)
        log_gap = np.log(train_tokens) - np.log(self.tokens(loss, grid))
        below = np.flatnonzero(log_gap >= 0)
        if not below.size:
            return None
        i = int(below[0])
        if i == 0:
            return float(lo)

        def gap(x, _):
            return np.log(train_tokens) - np.log(self.tokens(loss, np.exp(x)))

        x = bracketed_root(gap, np.log(grid[i - 1]), np.log(grid[i]),
                           ends=(log_gap[i - 1], log_gap[i]))
        return float(np.exp(x))
