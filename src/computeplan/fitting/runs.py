"""Training runs for fitting: read a CSV, map columns, derive tokens, validate, filter.

Tokens from FLOPs use C = 6 N D (Kaplan et al. 2020, section 2.1), i.e. D = C / (6 N), as Epoch
did for the Chinchilla runs (Besiroglu et al. 2024). Every problem is one :class:`InputError`
line naming the column, the rows (numbered from 1 after the header) and the valid range.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..numbertext import NUMBER_FORM, parse_number
from ..vocabulary import option


def _rows_text(rows: np.ndarray, limit: int = 5) -> str:
    shown = ", ".join(str(int(r)) for r in rows[:limit])
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return f"row{'s' if len(rows) > 1 else ''} {shown}{more}"


@dataclass(frozen=True)
class Runs:
    """Runs to fit: parameters N, training tokens D, final loss L, weights; ``rows`` are the
    1-based data-row numbers in the source (for messages), ``notes`` what was done to them."""

    params: np.ndarray
    train_tokens: np.ndarray
    loss: np.ndarray
    weights: np.ndarray
    rows: np.ndarray
    source: str = ""
    notes: tuple[str, ...] = ()
    #: Unique tokens U of each run's data (None: all tokens unique), for the repetition fit.
    unique_tokens: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.params)

    @property
    def tokens_per_param(self) -> np.ndarray:
        return self.train_tokens / self.params

    @property
    def train_flops(self) -> np.ndarray:
        return 6.0 * self.params * self.train_tokens

    def subset(self, mask: np.ndarray, note: str | None = None) -> Runs:
        notes = self.notes + ((note,) if note else ())
        u = None if self.unique_tokens is None else self.unique_tokens[mask]
        return replace(self, params=self.params[mask], train_tokens=self.train_tokens[mask],
                       loss=self.loss[mask], weights=self.weights[mask], rows=self.rows[mask],
                       notes=notes, unique_tokens=u)

    @property
    def epochs(self) -> np.ndarray:
        """Epochs over the unique data, D / U (an InputError without unique tokens)."""
        if self.unique_tokens is None:
            raise InputError(f"epochs need the unique tokens of each run "
                             f"({option('unique_tokens_col')})")
        return self.train_tokens / self.unique_tokens

    @property
    def repeated(self) -> np.ndarray:
        """Runs trained on more tokens than their unique data (D > U; none without U)."""
        if self.unique_tokens is None:
            return np.zeros(len(self), dtype=bool)
        return self.train_tokens > self.unique_tokens

    @classmethod
    def from_arrays(cls, params, train_tokens, loss, weights=None, *, source: str = "arrays",
                    unique_tokens=None) -> Runs:
        """Validated runs from arrays (same checks as for a CSV file)."""
        cols = {"params": params, "train_tokens": train_tokens, "loss": loss}
        if weights is not None:
            cols["weights"] = weights
        if unique_tokens is not None:
            cols["unique_tokens"] = unique_tokens
        arrays = {}
        for name, value in cols.items():
            try:
                arr = np.asarray(value, dtype=float)
            except (TypeError, ValueError):
                raise InputError(f"{name} must be an array of numbers") from None
            if arr.ndim != 1:
                raise InputError(f"{name} must be one-dimensional; got shape {arr.shape}")
            arrays[name] = arr
        lengths = {k: len(a) for k, a in arrays.items()}
        if len(set(lengths.values())) > 1:
            raise InputError(f"params, train_tokens, loss (and weights, unique_tokens) must have "
                             f"equal lengths; got {lengths}")
        rows = np.arange(1, lengths["params"] + 1)
        for name, arr in arrays.items():
            _check_column(name, arr, rows, allow_zero=name == "weights")
        w = arrays.get("weights", np.ones(lengths["params"]))
        return cls(arrays["params"], arrays["train_tokens"], arrays["loss"], w, rows, source,
                   unique_tokens=arrays.get("unique_tokens"))


def optimal_tokens_per_param_rows(budgets, tokens_per_param, runs: Runs) -> list[dict] | None:
    """The JSON rows of a fit's compute-optimal D/N at each training budget, each with
    ``beyond_runs_oom``: log10 of the budget over the largest training compute among the runs
    fitted (weight > 0; C = 6 N D), 0 within it: how far the ratio is an extrapolation."""
    if tokens_per_param is None:
        return None
    largest = float(np.max(runs.train_flops[runs.weights > 0]))
    return [{"train_flops": float(c), "tokens_per_param": float(t),
             "beyond_runs_oom": max(0.0, float(np.log10(c / largest)))}
            for c, t in zip(budgets, tokens_per_param, strict=True)]


def _check_column(name: str, arr: np.ndarray, rows: np.ndarray, allow_zero: bool = False) -> None:
    for bad, what in ((np.isnan(arr), "NaN"), (np.isinf(arr), "infinite")):
        if bad.any():
            raise InputError(f"{name} is {what} in {_rows_text(rows[bad])}; values must be "
                             "finite numbers")
    bad = arr < 0 if allow_zero else arr <= 0
    if bad.any():
        rng = ">= 0" if allow_zero else "> 0"
        raise InputError(f"{name} must be {rng}; got {arr[bad][0]:.6g} in {_rows_text(rows[bad])}")


def _column(table: list[dict], header: list[str], col: str, by: str, path: str) -> np.ndarray:
    if col not in header:
        raise InputError(f"column {col!r} (set by {by}) not found in {path}; columns are: "
                         + ", ".join(repr(h) for h in header))
    raw = [r[col] if r[col] is not None else "" for r in table]
    # as computeplan.numbertext reads numbers (numpy, like float, reads '1_000' as 1000)
    numbers = [parse_number(text) for text in raw]
    bad = [i for i, x in enumerate(numbers) if x is None]
    if not bad:
        return np.array(numbers, dtype=float)
    raise InputError(f"column {col!r} has non-numeric values in "
                     f"{_rows_text(np.array(bad) + 1)} (e.g. {raw[bad[0]]!r}); write numbers as "
                     f"{NUMBER_FORM}")


def read_runs(path: str | Path, *, params_col: str = "params", tokens_col: str | None = None,
              flops_col: str | None = None, loss_col: str = "loss",
              weight_col: str | None = None, unique_tokens_col: str | None = None,
              where: str | list[str] | None = None,
              text: str | None = None) -> Runs:
    """Read runs from a CSV file with a header row (or from ``text``, the file's content read
    elsewhere, e.g. by a sweep's client for a remote worker; ``path`` then names it).

    Parameters come from ``params_col`` and losses from ``loss_col``; tokens from ``tokens_col``
    (default ``tokens``) or, when ``flops_col`` is given, D = C / (6 N) from training FLOPs.
    ``weight_col`` (optional) holds weights >= 0 per run; ``unique_tokens_col`` (optional) the
    unique tokens of each run's data, U > 0 (runs with D > U repeat data: the fit then also
    fits the repetition coefficients, :mod:`computeplan.fitting.repetition`).
    ``where`` (``COLUMN=VALUE`` or ``COLUMN!=VALUE``, or a list of such rules, all applied)
    keeps the rows whose text in COLUMN is (or is not) VALUE, e.g. ``train_dataset=c4_original``.
    """
    if tokens_col is not None and flops_col is not None:
        raise InputError(f"give {option('tokens_col')} or {option('flops_col')}, not both")
    p = Path(path)
    try:
        with (p.open(newline="") if text is None else io.StringIO(text, newline="")) as fh:
            reader = csv.DictReader(fh)
            header = list(reader.fieldnames or [])
            table = list(reader)
    except OSError as exc:
        raise InputError(f"cannot read runs file {str(p)!r}: {exc.strerror}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"runs file {str(p)!r} is not a readable CSV file: {exc}") from None
    if not header:
        raise InputError(f"runs file {str(p)!r} is empty; it needs a header row and one row "
                         "per run")
    src = str(p)
    notes = ()
    for rule in [where] if isinstance(where, str) else (where or ()):
        table, note = _where(table, header, rule, src)
        notes += note
    n = _column(table, header, params_col, option("params_col"), src)
    if flops_col is not None:
        c = _column(table, header, flops_col, option("flops_col"), src)
        rows = np.arange(1, len(n) + 1)
        _check_column(f"column {flops_col!r}", c, rows)
        _check_column(f"column {params_col!r}", n, rows)
        with np.errstate(over="ignore", under="ignore"):
            d = c / (6.0 * n)
        notes += (f"tokens derived as D = C / (6 N) from column {flops_col!r}",)
    else:
        d = _column(table, header, tokens_col or "tokens", option("tokens_col"), src)
    loss = _column(table, header, loss_col, option("loss_col"), src)
    w = _column(table, header, weight_col, option("weight_col"), src) if weight_col else None
    u = (_column(table, header, unique_tokens_col, option("unique_tokens_col"), src)
         if unique_tokens_col else None)
    rows = np.arange(1, len(n) + 1)
    names = {"params": f"column {params_col!r}", "loss": f"column {loss_col!r}",
             "train_tokens": f"column {tokens_col or 'tokens'!r}" if flops_col is None else
             f"the tokens D = C / (6 N) derived from column {flops_col!r}"}
    for key, arr in (("params", n), ("train_tokens", d), ("loss", loss)):
        _check_column(names[key], arr, rows)
    if w is not None:
        _check_column(f"column {weight_col!r}", w, rows, allow_zero=True)
    if u is not None:
        _check_column(f"column {unique_tokens_col!r}", u, rows)
    runs = Runs(n, d, loss, np.ones(len(n)) if w is None else w, rows, src, notes, u)
    if not len(runs):
        raise InputError(f"runs file {src!r} has a header but no runs")
    return runs


def _where(table: list[dict], header: list[str], rule: str, src: str):
    """The rows of ``table`` that ``rule`` (COLUMN=VALUE or COLUMN!=VALUE) keeps, and a note."""
    m = re.match(r"^\s*([^=!]+?)\s*(!=|=)\s*(.*?)\s*$", rule)
    if m is None:
        raise InputError(f"where must be COLUMN=VALUE or COLUMN!=VALUE; got {rule!r}")
    col, op, value = m.groups()
    if col not in header:
        raise InputError(f"column {col!r} (set by {option('where')}) not found in {src}; "
                         "columns are: "
                         + ", ".join(repr(h) for h in header))
    keep = [r for r in table if ((r[col] or "").strip() == value) == (op == "=")]
    if not keep:
        values = sorted({(r[col] or "").strip() for r in table})
        raise InputError(f"where {rule!r} keeps none of the {len(table)} runs; values of "
                         f"{col!r}: " + ", ".join(repr(x) for x in values[:10]))
    return keep, (f"kept the {len(keep)} of {len(table)} rows where {col} {op} {value}",)


#: Largest accepted ``tokens_per_param_power`` (:func:`filter_runs`).
MAX_TOKENS_PER_PARAM_POWER = 4.0


def filter_runs(runs: Runs, *, drop_highest_loss: int = 0, min_tokens_per_param=None,
                max_tokens_per_param=None, tokens_per_param_power: float = 0.0) -> Runs:
    """Drop the ``drop_highest_loss`` highest-loss runs (as Epoch did for Chinchilla's runs),
    then keep runs with tokens per parameter in [min, max], then multiply each run's weight by
    r^``tokens_per_param_power``, r its tokens per parameter, scaled so that the factors average
    1 over the runs with weight > 0 (the objective keeps its size; 0, the default: unchanged).

    Why the power: a law is wanted beyond the runs in D/N, where inference-aware plans land,
    and the shortest runs are the least like the converged end of a schedule that the law
    describes (a warmup of a fixed number of steps is a larger share of a shorter run; on
    Gadre et al.'s runs the 5-token runs lie above every smooth law). Leaning the fit toward
    the longest runs trades fit at small D/N for extrapolation at large D/N: measured on
    splits the value was not developed on (``bench/bench_selection.py``, README), a power of 1
    lowers the held-out error of ``--form auto`` and ``average``. It is importance weighting
    in the spirit of covariate-shift adaptation (Shimodaira 2000; Sugiyama et al. 2007), with
    a weight that grows toward where the law is used instead of a density ratio, which an
    extrapolation does not have."""
    if isinstance(drop_highest_loss, bool) or int(drop_highest_loss) != drop_highest_loss \
            or not 0 <= drop_highest_loss < len(runs):
        raise InputError(f"{option('drop_highest_loss')} must be an integer in "
                         f"[0, {len(runs) - 1}] (fewer "
                         f"than the {len(runs)} runs); got {drop_highest_loss}")
    k = int(drop_highest_loss)
    if k:
        keep = np.ones(len(runs), dtype=bool)
        keep[np.argsort(runs.loss, kind="stable")[len(runs) - k:]] = False
        runs = runs.subset(keep, f"dropped the {k} highest-loss runs")
    lo, hi = min_tokens_per_param, max_tokens_per_param
    for name, val in (("min_tokens_per_param", lo), ("max_tokens_per_param", hi)):
        if val is not None and not (np.isfinite(val) and val > 0):
            raise InputError(f"{option(name)} must be a finite number > 0; got {val}")
    if lo is not None and hi is not None and lo > hi:
        raise InputError(f"{option('min_tokens_per_param')} ({lo:g}) must be <= "
                         f"{option('max_tokens_per_param')} ({hi:g})")
    if lo is not None or hi is not None:
        tpp = runs.tokens_per_param
        keep = (tpp >= (lo or 0)) & (tpp <= (hi or np.inf))
        runs = runs.subset(keep, f"kept {int(keep.sum())} runs with tokens per parameter in "
                                 f"[{lo or 0:g}, {hi or np.inf:g}]")
    return _weighted_by_tokens_per_param(runs, tokens_per_param_power)


def _weighted_by_tokens_per_param(runs: Runs, power) -> Runs:
    """:func:`filter_runs`'s last step: weights times r^power, the factors' mean 1."""
    if isinstance(power, bool) or not (np.isfinite(power)
                                       and 0 <= power <= MAX_TOKENS_PER_PARAM_POWER):
        raise InputError(f"{option('tokens_per_param_power')} must be a number in "
                         f"[0, {MAX_TOKENS_PER_PARAM_POWER:g}]; got {power}")
    used = runs.weights > 0
    if power == 0 or not used.any():
        return runs
    # in logs, divided by the largest factor first: no factor overflows or underflows to 0
    log_factor = float(power) * np.log(runs.tokens_per_param)
    factor = np.exp(log_factor - log_factor[used].max())
    factor /= factor[used].mean()
    note = (f"each run's weight times (tokens per parameter)^{float(power):g}, scaled to a "
            f"mean of 1 ({option('tokens_per_param_power')}): {factor[used].min():.3g} to "
            f"{factor[used].max():.3g}")
    return replace(runs, weights=runs.weights * factor, notes=runs.notes + (note,))


def check_identifiable(runs: Runs, form="chinchilla", what: str = "runs") -> None:
    """More runs with weight > 0 than ``form`` (a name or :class:`computeplan.forms.Form`) has
    coefficients, and more than one model size and token count among them: a one-line
    InputError otherwise. The one rule for every form, fit, fold and hold-out."""
    from ..forms import get_form

    form = get_form(form)
    used = runs.weights > 0
    n = int(used.sum())
    k = form.n_coefficients
    if n <= k:
        raise InputError(f"need more than {k} {what} with weight > 0 to fit the {k} "
                         f"coefficients of form {form.name!r} ({', '.join(form.coefficients)}); "
                         f"got {n}")
    for label, arr in (("model size (params)", runs.params), ("token count", runs.train_tokens)):
        values = arr[used]  # not np.unique: numpy 2.x imports numpy.ma for it (10 ms at start-up)
        if np.all(values == values[0]):
            raise InputError(f"all {what} have the same {label} ({values[0]:.6g}): the law is not "
                             "identifiable; include runs at 3 or more different values")
