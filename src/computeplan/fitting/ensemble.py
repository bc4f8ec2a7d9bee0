"""Ensemble fits: one law per CSV file of a folder (many ladders), on the sweep's backends.

``computeplan fit FOLDER`` fits every ``*.csv`` directly in FOLDER (sorted by name) with the
same options, one fit per task, in this process or on a Dask cluster (``workers`` starts a
local one, ``scheduler`` uses an existing one), through the same
:mod:`computeplan.sweep.backends` as a sweep, so no fitting code is duplicated for Dask. The
client reads each file and sends its text, so workers on other machines need no shared disk.
Each fit is exactly the single file's (:func:`fit_source`: Hoffmann et al. (2022) Approach 3
for the Chinchilla form, any ``form`` of :func:`fit_runs`); a file that cannot be read or
fitted gets its one-line error and the others are unaffected.

With ``form`` ``auto`` (or ``average``, ``average(f1,f2,...)``) each file gets the form its own
runs choose, so the fits may have different forms: the spread of the coefficients is then taken
per form, over the reliable fits of that form (coefficients of different forms do not measure
the same thing).

The fitted laws (one JSON file per reliable fit, ``NAME.json`` for ``NAME.csv``) form a law
ensemble that a sweep can take as an axis: ``axes: {law: {glob: "laws/*.json"}}``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import USER_ERRORS, InputError
from ..formaverage import is_average
from ..vocabulary import option

#: Options of :func:`read_runs` and of :func:`filter_runs`; every other option goes to
#: :func:`fit_runs`.
READ_OPTIONS = ("params_col", "tokens_col", "flops_col", "loss_col", "weight_col",
                "unique_tokens_col", "where")
FILTER_OPTIONS = ("drop_highest_loss", "min_tokens_per_param", "max_tokens_per_param",
                  "tokens_per_param_power")
#: Most CSV files one ensemble reads (each is one task).
MAX_FILES = 100_000


def fit_source(source: str | Path, text: str | None = None, **options):
    """Read (from ``text`` when given, else the file ``source``), filter and fit one CSV of
    runs; ``options`` are those of ``computeplan fit``. Returns a :class:`FitResult` (a
    :class:`.select.FormFitResult` for the other forms)."""
    from . import filter_runs, fit_runs, read_runs

    read = {k: options.pop(k) for k in READ_OPTIONS if k in options}
    filters = {k: options.pop(k) for k in FILTER_OPTIONS if k in options}
    runs = filter_runs(read_runs(source, text=text, **read), **filters)
    return fit_runs(runs, **options)


@dataclass(frozen=True)
class _Task:
    index: int
    name: str      # the file's stem: the law's name
    source: str    # the file's path, for messages
    text: str


def _fit_task(options: dict, task: _Task) -> tuple[int, dict]:
    """One file's row of the ensemble (runs on a worker): the fit's summary, or its error."""
    row = {"file": Path(task.source).name, "name": task.name}
    try:
        result = fit_source(task.source, task.text, **dict(options, name=task.name))
    except USER_ERRORS as exc:
        return task.index, row | {"ok": False, "error": str(exc)}
    law = result.law
    return task.index, (row | {
        "ok": bool(result.ok), "error": None, "form": result.form, "n_runs": result.n_runs,
        "coefficients": result.coefficients, "objective_value": result.objective_value,
        "residuals": result.residuals, "warnings": list(result.warnings),
        "outliers": result.outliers, "domain": result.domain,
        "holdout": result.holdout.summary() if result.holdout else None,
        "law": law.to_json() if (law is not None and result.ok) else None,
    })


@dataclass(frozen=True)
class EnsembleResult:
    """The fits of a folder's CSV files (``rows``, in file-name order) and how they ran;
    ``form``: the ``form`` option (a form's name, ``auto``, ``average`` or ``average(...)``)."""

    folder: str
    rows: tuple[dict, ...]
    backend: str
    workers: int
    seconds: float
    level: float = 0.95
    written: tuple[str, ...] = field(default=())
    form: str = "chinchilla"

    @property
    def ok(self) -> bool:
        """Whether every file was read and fitted reliably."""
        return all(r["ok"] for r in self.rows)

    @property
    def chooses_form(self) -> bool:
        """Whether the ``form`` option lets each file's runs choose its form (``auto``;
        ``average`` and ``average(...)``, whose parts are the forms whose fit is ok)."""
        return self.form in ("auto", "average") or is_average(self.form)

    def by_form(self) -> dict[str, list[dict]]:
        """The rows of the files fitted (reliably or not), by form, in file-name order (the
        forms in the order of their first file)."""
        out: dict[str, list[dict]] = {}
        for r in self.rows:
            if r["error"] is None:
                out.setdefault(r["form"], []).append(r)
        return out

    def spread(self) -> dict[str, dict] | None:
        """Per form with at least two reliable fits: ``{"fits": n, "coefficients": {name:
        {"median", "lo", "hi"}}}``, each coefficient's median and central ``level`` range
        across the reliable fits of that form (None when no form has two)."""
        tail = 100 * (1 - self.level) / 2
        out = {}
        for form, rows in self.by_form().items():
            good = [r["coefficients"] for r in rows if r["ok"]]
            if len(good) < 2:
                continue
            v = np.array([[c[k] for k in good[0]] for c in good])
            lo, med, hi = np.percentile(v, [tail, 50, 100 - tail], axis=0)
            out[form] = {"fits": len(good), "coefficients": {
                k: {"median": float(med[j]), "lo": float(lo[j]), "hi": float(hi[j])}
                for j, k in enumerate(good[0])}}
        return out or None

    def to_dict(self) -> dict:
        rows = [{k: v for k, v in r.items() if k != "law"} for r in self.rows]
        return {"folder": self.folder, "form": self.form, "files": len(self.rows),
                "reliable": sum(r["ok"] for r in self.rows),
                "errors": sum(r["error"] is not None for r in self.rows), "fits": rows,
                "spread": self.spread(), "level": self.level, "laws_written": list(self.written),
                "backend": self.backend, "workers": self.workers, "seconds": self.seconds}


def csv_files(folder: str | Path) -> list[Path]:
    """The ``*.csv`` files directly in ``folder``, sorted by name; an InputError when none."""
    d = Path(folder)
    try:
        files = sorted(p for p in d.iterdir() if p.suffix.lower() == ".csv" and p.is_file())
    except OSError as exc:
        raise InputError(f"cannot read folder {str(d)!r}: {exc.strerror or exc}") from None
    if not files:
        raise InputError(f"folder {str(d)!r} holds no .csv files of runs to fit")
    if len(files) > MAX_FILES:
        raise InputError(f"folder {str(d)!r} holds {len(files):,} .csv files; at most "
                         f"{MAX_FILES:,} per ensemble")
    return files


def _tasks(files: list[Path], rows: list, unreadable: list) -> Iterator[_Task]:
    """One task per file, read lazily (a Dask backend keeps only a few in flight); a file that
    cannot be read gets its error row at once (and its index in ``unreadable``)."""
    for i, p in enumerate(files):
        try:
            with p.open(encoding="utf-8", newline="") as fh:
                text = fh.read()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            rows[i] = {"file": p.name, "name": p.stem, "ok": False,
                       "error": f"cannot read runs file {str(p)!r}: {reason}"}
            unreadable.append(i)
            continue
        yield _Task(i, p.stem, str(p), text)


def fit_folder(folder: str | Path, *, workers: int | None = None, scheduler: str | None = None,
               on_fit: Callable[[int, int], None] | None = None, **options) -> EnsembleResult:
    """Fit every CSV file in ``folder`` with the same ``options`` (those of ``computeplan fit``:
    columns, filters, objective, bootstrap, holdout, ...); ``workers``/``scheduler`` choose the
    backend as for a sweep. ``on_fit(done, total)`` is called after each file."""
    from ..sweep.backends import backend as make_backend

    files = csv_files(folder)
    _check_options(options)  # once, on the client, before any work is sent anywhere
    t0 = time.perf_counter()
    rows: list[dict | None] = [None] * len(files)
    unreadable: list[int] = []
    be = make_backend(workers=workers, scheduler=scheduler)
    try:  # a Dask backend yields results as they complete: each says its file's index
        for fitted, (index, row) in enumerate(
                be.map(_fit_task, options, _tasks(files, rows, unreadable)), start=1):
            rows[index] = row
            if on_fit is not None:
                on_fit(fitted + len(unreadable), len(files))
    finally:
        be.close()
    return EnsembleResult(str(folder), tuple(rows), be.name, be.workers,
                          time.perf_counter() - t0, level=options.get("level", 0.95),
                          form=options.get("form", "chinchilla"))


def _check_options(options: dict) -> None:
    """Errors of the options themselves, once, before any file is read or sent anywhere (what
    depends on a file's runs, such as the filters leaving too few, is that file's error)."""
    import inspect

    from . import check_resampling, fit_runs
    from ._objective import DEFAULT_ASYMMETRY, HUBER_DELTA
    from .core import check_objective
    from .holdout import parse_rule
    from .select import check_fit_form

    known = set(READ_OPTIONS) | set(FILTER_OPTIONS) | set(inspect.signature(fit_runs).parameters)
    unknown = sorted((set(options) - known) | ({"runs", "name"} & set(options)))
    if unknown:
        raise InputError(f"unknown fit option {unknown[0]!r}")
    if options.get("seed") is not None and not options.get("bootstrap"):
        raise InputError(f"{option('seed')} needs {option('bootstrap')} K (it seeds the "
                         "resampling)")
    check_objective(options.get("objective", "huber"), options.get("delta", HUBER_DELTA),
                    options.get("asymmetry", DEFAULT_ASYMMETRY))
    check_resampling(options.get("bootstrap", 0), options.get("seed"))
    if options.get("holdout") is not None:
        parse_rule(options["holdout"])
    check_fit_form(options.get("form", "chinchilla"))
