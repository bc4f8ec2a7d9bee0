"""A sweep's scenario space: axes (a product), a CSV of scenarios, or a CSV times axes.

A spec file is JSON, or YAML when PyYAML is installed::

    scenarios: runs.csv            # optional: one scenario per row, columns are plan options
    axes:                          # optional: the product of these, the last varying fastest
      law: [sardana2024, hoffmann2022]
      loss: {start: 1.9, stop: 2.2, num: 31}
      inference_tokens: {start: 1e10, stop: 1e14, num: 41, log: true}
    defaults: {train_gpu: a100-80gb}   # any plan option, for every row
    block_size: 65536
    reductions: {mean: [optimal.params], quantiles: [ratios.total_flops]}

With both, each CSV row is combined with every point of the axes (the CSV varies slowest).

A law ensemble: the axis ``replicate: all`` (or a list of indices) plans every scenario under each
coefficient replicate of the sweep's one law (``law.replicates``, e.g. the 1,000 bootstrap
replicates of ``besiroglu2024``, or a fitted law file written by ``fit --bootstrap K --out``); the
rows gain a ``replicate`` column. A folder of fitted laws is an ensemble too:
``law: {glob: "laws/*.json"}``.
Scenario ``i`` is CSV row ``i // P`` at axes point ``i % P`` (C order), ``P`` the axes' size.
Paths in a spec (``scenarios``, law and GPU files) are relative to the spec file.
"""

from __future__ import annotations

import glob
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..numbertext import NUMBER_FORM, parse_number
from ..vocabulary import option
from .options import plan_options, string_options

#: Rows per block unless the spec or the caller says otherwise: a block's columns stay within a
#: few tens of MB, whatever the sweep's size.
DEFAULT_BLOCK_SIZE = 65536
MAX_BLOCK_SIZE = 4_000_000
SPEC_KEYS = ("scenarios", "axes", "defaults", "block_size", "reductions")
PATH_OPTIONS = ("law", "gpu_file")
#: The axis over a law's coefficient replicates (not a plan option: it sets E, A, B, alpha, beta).
REPLICATE = "replicate"
COEFFICIENT_OPTIONS = ("E", "A", "B", "alpha", "beta")


@dataclass(frozen=True)
class Axis:
    """One axis of the product: a plan option and its values (floats, or strings)."""

    name: str
    values: tuple

    @property
    def numeric(self) -> bool:
        return self.name not in string_options()

    def array(self) -> np.ndarray:
        return np.asarray(self.values, float if self.numeric else object)

    def __len__(self) -> int:
        return len(self.values)


@dataclass(frozen=True)
class Scenarios:
    """A CSV of scenarios: its path, columns (plan options), row count and content hash."""

    path: Path
    columns: tuple[str, ...]
    rows: int
    sha256: str


@dataclass(frozen=True)
class SweepSpec:
    """The scenario space and the options shared by every scenario (``defaults``)."""

    axes: tuple[Axis, ...] = ()
    scenarios: Scenarios | None = None
    defaults: dict[str, Any] = field(default_factory=dict)
    reductions: dict = field(default_factory=dict)
    block_size: int = DEFAULT_BLOCK_SIZE
    #: With a ``replicate`` axis: the law's replicates, rows (E, A, B, alpha, beta).
    replicates: tuple[tuple[float, ...], ...] | None = None

    @property
    def axes_size(self) -> int:
        return math.prod(len(a) for a in self.axes)

    @property
    def size(self) -> int:
        """The number of scenarios."""
        return (self.scenarios.rows if self.scenarios else 1) * self.axes_size

    @property
    def names(self) -> tuple[str, ...]:
        """Every option some scenario sets, in the plan command's order."""
        given = {a.name for a in self.axes} | set(self.defaults)
        if self.scenarios:
            given |= set(self.scenarios.columns)
        first = (REPLICATE,) if REPLICATE in given else ()
        return first + tuple(k for k in plan_options() if k in given)

    def axis(self, name: str) -> tuple[int, Axis]:
        for i, a in enumerate(self.axes):
            if a.name == name:
                return i, a
        names = ", ".join(a.name for a in self.axes) or "none"
        raise InputError(f"no axis {name!r}; axes: {names}")

    def fingerprint(self) -> dict:
        """What identifies the sweep's output (for resuming): everything but file locations."""
        return {
            "axes": [[a.name, list(a.values)] for a in self.axes],
            "scenarios": None if self.scenarios is None else {
                "columns": list(self.scenarios.columns), "rows": self.scenarios.rows,
                "sha256": self.scenarios.sha256},
            "defaults": {k: self.defaults[k] for k in sorted(self.defaults)},
            "reductions": self.reductions,
            "block_size": self.block_size,
            "replicates": None if self.replicates is None else [list(r) for r in self.replicates],
        }


# ----------------------------------------------------------------------------- reading


def read_spec_file(path: str | Path) -> dict:
    """A spec file's contents: JSON (``.json``), or YAML (``.yaml``/``.yml``, needs PyYAML)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read spec {str(p)!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"spec {str(p)!r} is not UTF-8 text") from None
    if p.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise InputError(f"spec {str(p)!r} is YAML, which needs PyYAML: pip install pyyaml, "
                             "or write the spec as JSON") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark is not None else ""
            raise InputError(f"spec {str(p)!r} is not valid YAML{where}") from None
        except RecursionError:
            raise InputError(f"spec {str(p)!r} is nested too deeply (a spec is one mapping of "
                             "keys)") from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"spec {str(p)!r} is not valid JSON: {exc.msg} (line {exc.lineno})"
                             "; YAML specs need a .yaml or .yml name") from None
        except RecursionError:
            raise InputError(f"spec {str(p)!r} is nested too deeply (a spec is one mapping of "
                             "keys)") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(f"spec {str(p)!r} must be a mapping with keys {', '.join(SPEC_KEYS)}")
    return data


def _number(where: str, value) -> float:
    if isinstance(value, bool) or value is None:
        raise InputError(f"{where} must be a number; got {value!r}")
    # YAML 1.1 reads 1e12 as a string: accept it (as a number is spelled, no underscores)
    out = parse_number(value) if isinstance(value, str) else value
    if not isinstance(out, int | float):
        raise InputError(f"{where} must be a number ({NUMBER_FORM}); got {value!r}")
    try:
        out = float(out)
    except OverflowError:  # an integer beyond float range
        out = math.inf
    if not math.isfinite(out):
        raise InputError(f"{where} must be a finite number; got {value!r}")
    return out


def _resolve_path(name: str, value: str, base: Path | None) -> str:
    """A law or GPU file named relative to ``base`` (the spec's folder), as an absolute path;
    preset names are left alone."""
    if base is None or name not in PATH_OPTIONS:
        return value
    from ..laws import PRESETS, form_presets

    if name == "law" and (value in PRESETS or value in form_presets()):
        return value
    p = Path(value)
    if p.is_absolute():
        return value
    full = (base / p).resolve()
    # a bare name that is no file (a mistyped preset) stays as given, for the error to name it
    return value if name == "law" and p.name == value and not p.suffix and not full.exists() \
        else str(full)


def _scalar(name: str, value, where: str, base: Path | None):
    if name in string_options():
        if not isinstance(value, str) or not value:
            raise InputError(f"{where} must be a non-empty string; got {value!r}")
        return _resolve_path(name, value, base)
    return _number(where, value)


def check_option(name: str, where: str, shown: str | None = None) -> None:
    """Refuse ``name`` unless a sweep takes it, naming it as ``shown`` (default: ``name``)."""
    from ..commands.plan import SINGLE_PLAN_OPTIONS

    shown = shown or name
    if name in SINGLE_PLAN_OPTIONS:
        raise InputError(f"{where} {shown!r} is not supported by sweep (it is an option of one "
                         "plan): vary a value with an axis or a CSV column, and a law's "
                         "coefficients with the axis replicate: all")
    if name not in plan_options():
        raise InputError(f"{where} {shown!r} is not a plan option; valid: "
                         + ", ".join(plan_options()))


def parse_axis(name: str, raw, base: Path | None = None) -> Axis:
    """An axis from a list of values, ``{values: [...]}``, ``{start, stop, num[, log]}``
    (inclusive linear or log spacing) or, for ``law``, ``{glob: "laws/*.json"}``; for
    ``replicate``, ``all`` or a list of replicate indices (checked against the law later)."""
    where = f"spec axis {name!r}"
    if name == REPLICATE:
        if raw == "all":
            return Axis(name, ("all",))
        raw = [raw] if isinstance(raw, int) else raw
        if not isinstance(raw, list | tuple) or not raw or not all(
                isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in raw):
            raise InputError(f"{where} must be 'all' or a list of replicate indices >= 0; got "
                             f"{raw!r}")
        if len(set(raw)) != len(raw):
            raise InputError(f"{where} repeats a value; give each value once")
        return Axis(name, tuple(float(x) for x in raw))
    check_option(name, "spec axis")
    if isinstance(raw, dict):
        keys = set(raw)
        if keys == {"values"}:
            raw = raw["values"]
        elif keys == {"glob"} and name in PATH_OPTIONS:
            pattern = str(raw["glob"])
            full = pattern if base is None or Path(pattern).is_absolute() else str(base / pattern)
            raw = sorted(glob.glob(full))
            if not raw:
                raise InputError(f"{where}: no file matches {pattern!r}")
        elif {"start", "stop", "num"} <= keys <= {"start", "stop", "num", "log"}:
            if name in string_options():
                raise InputError(f"{where} takes names, not a range")
            lo, hi = _number(f"{where} start", raw["start"]), _number(f"{where} stop", raw["stop"])
            num = _number(f"{where} num", raw["num"])
            if num != int(num) or num < 1:
                raise InputError(f"{where} num must be a whole number >= 1; got {raw['num']!r}")
            if raw.get("log", False):
                if lo <= 0 or hi <= 0:
                    raise InputError(f"{where}: a log range needs start and stop > 0; got "
                                     f"{lo:g} and {hi:g}")
                values = np.geomspace(lo, hi, int(num))
            else:
                values = np.linspace(lo, hi, int(num))
            return Axis(name, tuple(float(x) for x in values))
        else:
            raise InputError(f"{where} must be a list, {{values: [...]}} or {{start, stop, num, "
                             f"log}}; got keys {sorted(keys)}")
    if isinstance(raw, str | int | float):
        raw = [raw]
    if not isinstance(raw, list | tuple):
        raise InputError(f"{where} must be a list of values; got {raw!r}")
    if not raw:
        raise InputError(f"{where} is empty; give at least one value")
    values = tuple(_scalar(name, x, f"{where} value", base) for x in raw)
    if len(set(values)) != len(values):
        raise InputError(f"{where} repeats a value; give each value once")
    return Axis(name, values)


def read_scenarios_header(path: str | Path) -> Scenarios:
    """The CSV's columns (each a plan option), row count and SHA-256, in one streaming pass."""
    import pyarrow as pa
    from pyarrow import csv

    p = Path(path)
    if not p.is_file():
        raise InputError(f"scenarios file {str(p)!r} does not exist")
    digest = hashlib.sha256()
    try:
        with p.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 22), b""):
                digest.update(chunk)
        reader = csv.open_csv(p, read_options=csv.ReadOptions(block_size=1 << 22),
                              convert_options=_convert_options(None))
        columns = tuple(reader.schema.names)
        _check_columns(p, columns)
        reader = csv.open_csv(p, read_options=csv.ReadOptions(block_size=1 << 22),
                              convert_options=_convert_options(columns))
        rows = sum(batch.num_rows for batch in reader)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"scenarios file {str(p)!r}: {_arrow_message(exc)}") from None
    if rows == 0:
        raise InputError(f"scenarios file {str(p)!r} has no rows")
    return Scenarios(p.resolve(), columns, rows, digest.hexdigest())


def _arrow_message(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _convert_options(columns):
    import pyarrow as pa
    from pyarrow import csv

    types = {} if columns is None else {c: pa.string() for c in columns}
    # only an empty cell is "not given": NaN, NA, null, ... are values, refused row by row
    return csv.ConvertOptions(column_types=types, null_values=[""], strings_can_be_null=True,
                              quoted_strings_can_be_null=True)


def _check_columns(path: Path, columns) -> None:
    if len(set(columns)) != len(columns):
        raise InputError(f"scenarios file {str(path)!r} repeats a column name")
    for c in columns:
        check_option(c, f"scenarios file {str(path)!r}: column")


class ScenarioReader:
    """Reads CSV rows in order, a range at a time (ranges may overlap by their ends)."""

    def __init__(self, scenarios: Scenarios):
        from pyarrow import csv

        self.scenarios = scenarios
        self._reader = csv.open_csv(scenarios.path,
                                    read_options=csv.ReadOptions(block_size=1 << 22),
                                    convert_options=_convert_options(scenarios.columns))
        self._buffer = None  # pyarrow Table of rows [self._first, ...)
        self._first = 0

    def take(self, start: int, stop: int) -> dict:
        """Rows [start, stop) as ``{column: pyarrow array of strings}``; ``start`` never
        decreases from one call to the next."""
        import pyarrow as pa

        if self._buffer is None:
            self._buffer = pa.table({c: pa.array([], pa.string())
                                     for c in self.scenarios.columns})
        drop = min(max(start - self._first, 0), self._buffer.num_rows)
        self._buffer, self._first = self._buffer.slice(drop), self._first + drop
        while self._first + self._buffer.num_rows < stop:
            try:
                batch = pa.Table.from_batches([self._reader.read_next_batch()])
            except StopIteration:
                break
            if self._buffer.num_rows == 0 and self._first < start:  # skipping (a resume)
                skip = min(start - self._first, batch.num_rows)
                batch, self._first = batch.slice(skip), self._first + skip
            self._buffer = pa.concat_tables([self._buffer, batch]).combine_chunks()
        part = self._buffer.slice(start - self._first, stop - start)
        return {c: part.column(c).combine_chunks() for c in self.scenarios.columns}


# ----------------------------------------------------------------------------- building


def build_spec(spec: str | Path | dict | None = None, *, scenarios: str | Path | None = None,
               defaults: dict | None = None, block_size: int | None = None,
               reductions: dict | None = None) -> SweepSpec:
    """The sweep from a spec file (or its contents as a dict), a CSV of scenarios, or both, plus
    options shared by every row (``defaults``: values given by the caller, e.g. CLI flags)."""
    data: dict = {}
    base = None
    if isinstance(spec, dict):
        data = spec
    elif spec is not None:
        data = read_spec_file(spec)
        base = Path(spec).resolve().parent
    unknown = set(data) - set(SPEC_KEYS)
    if unknown:
        raise InputError(f"unknown spec key(s) {', '.join(sorted(map(str, unknown)))}; valid: "
                         + ", ".join(SPEC_KEYS))
    raw_axes = data.get("axes") or {}
    if not isinstance(raw_axes, dict):
        raise InputError("spec axes must be a mapping of plan option to values")
    axes = tuple(parse_axis(str(k), val, base) for k, val in raw_axes.items())

    file_defaults = data.get("defaults") or {}
    if not isinstance(file_defaults, dict):
        raise InputError("spec defaults must be a mapping of plan option to value")
    merged: dict[str, Any] = {}
    for k, val in file_defaults.items():
        check_option(str(k), "spec default")
        merged[str(k)] = _scalar(str(k), val, f"spec default {k!r}", base)
    for k, val in (defaults or {}).items():
        if val is None:
            continue
        check_option(k, "option", option(k))
        merged[k] = _scalar(k, val, f"option {k!r}", Path.cwd() if k in PATH_OPTIONS else None)

    if scenarios is not None and data.get("scenarios") is not None:
        raise InputError(f"give the scenarios CSV in the spec or as {option('scenarios')}, not "
                         "both")
    csv_path = scenarios
    if csv_path is None and data.get("scenarios") is not None:
        csv_path = Path(str(data["scenarios"]))
        if base is not None and not csv_path.is_absolute():
            csv_path = base / csv_path
    table = read_scenarios_header(csv_path) if csv_path is not None else None
    if not axes and table is None:
        raise InputError("a sweep needs axes in a spec, a scenarios CSV, or both")

    axis_names = [a.name for a in axes]
    for a in axes:
        if a.name in merged:
            raise InputError(f"{a.name} is both an axis and a default for every row; give one")
        if table is not None and a.name in table.columns:
            raise InputError(f"{a.name} is both an axis and a column of {str(table.path)!r}; "
                             "give one")
    if len(set(axis_names)) != len(axis_names):
        raise InputError("spec axes repeat a name")

    size = block_size if block_size is not None else data.get("block_size", DEFAULT_BLOCK_SIZE)
    size = _number("block_size", size)
    if size != int(size) or not 1 <= size <= MAX_BLOCK_SIZE:
        raise InputError(f"block_size must be a whole number in [1, {MAX_BLOCK_SIZE}]; got "
                         f"{size:g}")
    red = reductions if reductions is not None else (data.get("reductions") or {})
    if not isinstance(red, dict):
        raise InputError("spec reductions must be a mapping")
    replicates = None
    if REPLICATE in axis_names:
        axes, replicates = _replicate_axis(axes, merged, table)
    return SweepSpec(axes=axes, scenarios=table, defaults=merged, reductions=red,
                     block_size=int(size), replicates=replicates)


def _replicate_axis(axes: tuple[Axis, ...], defaults: dict, table: Scenarios | None):
    """The ``replicate`` axis resolved against the sweep's one law: its indices, and the rows
    (E, A, B, alpha, beta) of the law's replicates that scenarios draw on."""
    from ..laws import get_law

    varied = {a.name for a in axes} | (set(table.columns) if table is not None else set())
    if "law" in varied:
        raise InputError(f"a replicate axis needs one law for every row (a default or "
                         f"{option('law')}), not a law axis or column")
    fixed = sorted(set(COEFFICIENT_OPTIONS) & (varied | set(defaults)))
    if fixed:
        raise InputError(f"a replicate axis sets the law's coefficients; do not also give "
                         f"{fixed[0]}")
    law = get_law(defaults.get("law"))
    if law.replicates is None:
        raise InputError(f"law {law.name!r} has no coefficient replicates for a replicate "
                         "axis; use besiroglu2024 or a law file written by `computeplan fit "
                         "--bootstrap K --out`")
    k = len(law.replicates)
    i, axis = next((i, a) for i, a in enumerate(axes) if a.name == REPLICATE)
    index = tuple(float(j) for j in range(k)) if axis.values == ("all",) else axis.values
    if max(index) >= k:
        raise InputError(f"spec axis 'replicate': law {law.name!r} has {k} replicates "
                         f"(indices 0 to {k - 1}); got {int(max(index))}")
    resolved = axes[:i] + (Axis(REPLICATE, index),) + axes[i + 1:]
    return resolved, tuple(tuple(float(x) for x in law.replicates[int(j)]) for j in index)
