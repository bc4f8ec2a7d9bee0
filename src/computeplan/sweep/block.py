"""One block of scenarios through the vectorised planner: the function every backend runs.

Scenarios are grouped by the options the core takes as scalars (law and its coefficients, GPUs,
dtypes, objective, decode model, which options are given at all, and under the roofline decode
model its serving options); each group is one call of :func:`computeplan.commands.plan.plan`
with arrays for the rest (targets, demand, prices, MFUs). Invalid rows are isolated without
touching the others: the group's shared options are checked once with typical values (an error
there belongs to every row of the group), rows whose own values are out of range are screened
out in one vectorised pass, and if the group's call still fails it is split in halves until the
failing rows are alone. Each failing row gets the plan command's own one-line message.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from ..commands import plan as plan_command
from ..errors import USER_ERRORS
from ..numbertext import NUMBER_FORM, parse_number
from .options import (
    PLACEHOLDER_LOSS_ABOVE_E,
    PLACEHOLDERS,
    ROOFLINE_CONTEXT_OPTIONS,
    ROOFLINE_SCALAR_OPTIONS,
    VECTOR_OPTIONS,
    string_options,
)
from .reduce import partial
from .spec import COEFFICIENT_OPTIONS, REPLICATE, SweepSpec


@dataclass(frozen=True)
class Job:
    """What every block needs: the spec, the output columns, and what to compute."""

    spec: SweepSpec
    inputs: tuple[str, ...]            # input columns (plan options), plan order
    outputs: tuple[tuple[str, str], ...]  # (name, "num" | "str") flattened plan JSON fields
    rows: bool                         # build the per-scenario table
    reductions: dict | None            # normalised reductions (None: none)
    block_size: int

    def blocks(self) -> int:
        return -(-self.spec.size // self.block_size)

    def bounds(self, index: int) -> tuple[int, int]:
        start = index * self.block_size
        return start, min(start + self.block_size, self.spec.size)

    def csv_rows(self, index: int) -> tuple[int, int]:
        """The CSV rows block ``index`` draws on."""
        start, stop = self.bounds(index)
        p = self.spec.axes_size
        return start // p, (stop - 1) // p + 1


@dataclass(frozen=True)
class Task:
    index: int
    csv: dict | None = None  # {column: pyarrow string array} of the CSV rows the block uses


@dataclass(frozen=True)
class BlockResult:
    index: int
    table: Any          # pyarrow.Table of rows, or None
    partial: dict | None


def user_message(exc: BaseException) -> str:
    if isinstance(exc, OverflowError):
        return ("a result is beyond floating-point range: an input is out of range; use less "
                "extreme values")
    return str(exc)


# ----------------------------------------------------------------------------- inputs


def _csv_numbers(name: str, arr) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """A CSV column of numbers (empty cells are not given: NaN); cells that are not numbers,
    or are NaN, are reported as ``(row, message)``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    bad = []
    try:
        values = pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        values = np.full(len(arr), np.nan)
        for i, cell in enumerate(arr.to_pylist()):
            if cell is None:
                continue
            number = parse_number(cell)
            if number is None:
                bad.append((i, f"{name} must be a number ({NUMBER_FORM}); got {cell!r}"))
            else:
                values[i] = number
    refused = {i for i, _ in bad}
    for i in np.flatnonzero(np.isnan(values) & ~arr.is_null().to_numpy(zero_copy_only=False)):
        if i not in refused:
            bad.append((int(i), f"{name} must be a finite number; got {arr[int(i)].as_py()!r} "
                                "(an empty cell takes the default)"))
    return values, bad


def block_inputs(job: Job, task: Task):
    """The block's options: ``nums`` {name: float array, NaN = not given}, ``cats`` {name:
    (codes, levels)} with level ``None`` = not given, and per-row input errors."""
    spec = job.spec
    start, stop = job.bounds(task.index)
    n = stop - start
    idx = np.arange(start, stop, dtype=np.int64)
    p = spec.axes_size
    nums: dict[str, np.ndarray] = {}
    cats: dict[str, tuple[np.ndarray, list]] = {}
    errors = _Errors(n)
    if spec.axes:
        codes = np.unravel_index(idx % p, tuple(len(a) for a in spec.axes))
        for axis, code in zip(spec.axes, codes, strict=True):
            if axis.name == REPLICATE:  # the law's coefficients, replicate by replicate
                nums[REPLICATE] = axis.array()[code]
                coef = np.asarray(spec.replicates, float)[code]
                for j, name in enumerate(COEFFICIENT_OPTIONS):
                    nums[name] = coef[:, j]
            elif axis.numeric:
                nums[axis.name] = axis.array()[code]
            else:
                cats[axis.name] = (code.astype(np.int64), list(axis.values))
    if spec.scenarios is not None:
        row = idx // p - start // p
        for name, arr in task.csv.items():
            if name in string_options():
                cells = np.asarray(arr.to_numpy(zero_copy_only=False), dtype=object)
                levels, code = np.unique(np.where(cells == None, "", cells),  # noqa: E711
                                         return_inverse=True)
                levels = [str(x) or None for x in levels]
                cats[name] = (code[row].astype(np.int64), levels)
                for j, level in enumerate(levels):
                    if level is not None:
                        from .spec import _resolve_path

                        levels[j] = _resolve_path(name, level, spec.scenarios.path.parent)
            else:
                values, bad = _csv_numbers(name, arr)
                nums[name] = values[row]
                for r, msg in bad:
                    where = f"{spec.scenarios.path.name} row {start // p + r + 1}"
                    errors.set(row == r, f"{where}: {msg}")
    for name, value in spec.defaults.items():  # a row's own value wins over the default
        if name in nums:
            nums[name] = np.where(np.isnan(nums[name]), value, nums[name])
        elif name in cats:
            code, levels = cats[name]
            if None in levels:
                levels = [*levels, value]
                missing = levels.index(None)
                cats[name] = (np.where(code == missing, len(levels) - 1, code), levels)
    return nums, cats, errors, start, n


# ----------------------------------------------------------------------------- grouping


def _codes(values: np.ndarray) -> tuple[np.ndarray, int]:
    u, inv = np.unique(values, return_inverse=True)
    return inv.reshape(-1), max(len(u), 1)


def _group(keys: list[tuple[np.ndarray, int]], rows: np.ndarray) -> list[np.ndarray]:
    """Split ``rows`` (ascending) into groups of equal keys (code arrays over ``rows``)."""
    if not keys:
        return [rows]
    dims = tuple(k for _, k in keys)
    if np.prod(np.asarray(dims, float)) < 2**62:
        flat = np.ravel_multi_index(tuple(c for c, _ in keys), dims)
        _, inv = np.unique(flat, return_inverse=True)
    else:
        _, inv = np.unique(np.stack([c for c, _ in keys], axis=1), axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    order = np.argsort(inv, kind="stable")
    bounds = np.cumsum(np.bincount(inv))
    return [rows[g] for g in np.split(order, bounds[:-1])]


def _groups(nums, cats, defaults, rows):
    """(scalar options, vector options {name: array over the group's rows}, rows) per group."""
    keys = []
    for code, levels in cats.values():
        keys.append((code[rows], len(levels)))
    nums = {k: v for k, v in nums.items() if k != REPLICATE}  # an output column only
    for name, values in nums.items():
        if name in VECTOR_OPTIONS:
            keys.append((np.isnan(values[rows]).astype(np.int64), 2))
        else:
            keys.append(_codes(values[rows]))
    for g in _group(keys, rows):
        first = g[0]
        scalars = dict(defaults)
        for name, (code, levels) in cats.items():
            level = levels[code[first]]
            if level is None:
                scalars.pop(name, None)
            else:
                scalars[name] = level
        vectors = {}
        for name, values in nums.items():
            v = values[first]
            if np.isnan(v):
                scalars.pop(name, None)
            elif name in VECTOR_OPTIONS:
                vectors[name] = values[g]
                scalars.pop(name, None)
            else:
                scalars[name] = float(v)
        if scalars.get("decode_model") == "roofline":
            yield from _roofline_groups(scalars, vectors, g)
        else:
            yield scalars, vectors, g


def _roofline_groups(scalars, vectors, rows):
    """Under the roofline decode model prices (and, without a context, the tokens per request)
    are scalars of the serving model: split the group by their values."""
    names = [k for k in ROOFLINE_SCALAR_OPTIONS if k in vectors]
    if "context" not in scalars:
        names += [k for k in ROOFLINE_CONTEXT_OPTIONS if k in vectors]
    if not names:
        yield scalars, vectors, rows
        return
    local = np.arange(rows.size)
    for g in _group([_codes(vectors[k]) for k in names], local):
        sub = dict(scalars) | {k: float(vectors[k][g[0]]) for k in names}
        yield sub, {k: v[g] for k, v in vectors.items() if k not in names}, rows[g]


# ----------------------------------------------------------------------------- planning


def _plan(scalars: dict, vectors: dict):
    with np.errstate(all="ignore"):
        return plan_command.plan(**scalars, **vectors)


def _placeholder(name: str, scalars: dict) -> float:
    if name == "loss":
        law = _law(scalars)
        if law.form != "chinchilla":  # the compute-optimal loss at the placeholder budget
            return float(law.compute_optimal(train_flops=PLACEHOLDERS["budget_flops"]).loss)
        return law.E + PLACEHOLDER_LOSS_ABOVE_E
    return PLACEHOLDERS.get(name, 1.0)


def _law(scalars: dict):
    from ..laws import get_law

    coef = {k: scalars[k] for k in ("E", "A", "B", "alpha", "beta") if k in scalars}
    return get_law(scalars.get("law"), any_form=True, **coef)


def _loss_floor(scalars: dict) -> float:
    """The law's irreducible loss (E; a form's own, or -inf where it has none)."""
    law = _law(scalars)
    if law.form != "chinchilla":
        floor = law.irreducible()
        return -np.inf if floor is None else floor
    return _placeholder("loss", scalars) - PLACEHOLDER_LOSS_ABOVE_E


@lru_cache(maxsize=4096)
def _group_error(scalar_items: tuple, vector_names: tuple) -> str | None:
    """The error every row of a group gets whatever its own numbers, or None."""
    scalars = dict(scalar_items)
    try:
        _plan(scalars, {k: _placeholder(k, scalars) for k in vector_names})
    except USER_ERRORS as exc:
        return user_message(exc)
    return None


@lru_cache(maxsize=65536)
def _value_error(scalar_items: tuple, vector_names: tuple, name: str, value: float) -> str | None:
    """The error a row gets for ``name = value`` alone (other values typical), or None."""
    scalars = dict(scalar_items)
    vectors = {k: _placeholder(k, scalars) for k in vector_names} | {name: value}
    try:
        _plan(scalars, vectors)
    except USER_ERRORS as exc:
        return user_message(exc)
    return None


def _row_error(scalar_items: tuple, vector_items: tuple) -> str | None:
    try:
        _plan(dict(scalar_items), dict(vector_items))
    except USER_ERRORS as exc:
        return user_message(exc)
    return None


def _screen(name: str, x: np.ndarray, scalars: dict) -> np.ndarray:
    """Rows whose ``name`` is out of the range the core accepts (a fast pre-check only: the
    messages, and anything it misses, come from the core itself)."""
    bad = ~np.isfinite(x)
    if name == "loss":
        try:
            bad |= x <= _loss_floor(scalars)
        except USER_ERRORS:
            pass
    elif name in ("train_mfu", "prefill_mfu", "decode_mfu"):
        bad |= (x <= 0) | (x > 1)
    elif name in ("reference_params", "budget_flops", "budget_usd", "train_usd_per_gpu_hour",
                  "inference_usd_per_gpu_hour"):
        bad |= x <= 0
    else:
        bad |= x < 0
    return bad


def _flatten(d: dict, prefix: str = ""):
    """The plan JSON as flat (column, value) pairs, so that a row stays one flat table row:
    nested dicts join their keys with dots (``optimal.params``); a list of numbers becomes one
    column per element, ``NAME.0``, ``NAME.1``, ... (``extrapolation.domain.params.0`` is the
    domain's lower end); text is kept only as single strings, so lists of text (``notes``,
    ``extrapolation.warnings``: words for the numbers in other columns) are skipped."""
    for k, v in d.items():
        name = f"{prefix}{k}"
        if k == "notes":
            continue
        if isinstance(v, dict):
            yield from _flatten(v, f"{name}.")
        elif isinstance(v, list | tuple):
            if all(isinstance(x, int | float | np.number) and not isinstance(x, bool)
                   for x in v):
                for i, x in enumerate(v):
                    yield f"{name}.{i}", x
        else:
            yield name, v


class _Outputs:
    """The block's output columns, filled group by group."""

    def __init__(self, job: Job, n: int, needed: set[str] | None):
        self.num: dict[str, np.ndarray] = {}
        self.str: dict[str, tuple[np.ndarray, list]] = {}
        for name, kind in job.outputs:
            if needed is not None and name not in needed:
                continue
            if kind == "num":
                self.num[name] = np.full(n, np.nan)
            else:
                self.str[name] = (np.full(n, -1, np.int64), [])

    def fill(self, report, rows: np.ndarray) -> None:
        for key, value in _flatten(report.to_dict()):
            if key in self.num:
                self.num[key][rows] = value
            elif key in self.str:
                codes, levels = self.str[key]
                value = str(value)
                if value not in levels:
                    levels.append(value)
                codes[rows] = levels.index(value)


class _Errors:
    """Per-row error messages (``None``: the row is fine) and a mask of failed rows."""

    def __init__(self, n: int):
        self.msg = np.full(n, None, dtype=object)
        self.bad = np.zeros(n, bool)

    def set(self, rows, message: str) -> None:
        self.msg[rows] = message
        self.bad[rows] = True


def _solve(scalars, vectors, rows, local, out: _Outputs, errors: _Errors) -> None:
    """Plan rows ``local`` of the group in one call; on failure, halves (isolates bad rows)."""
    try:
        report = _plan(scalars, {k: v[local] for k, v in vectors.items()})
    except USER_ERRORS as exc:
        if local.size == 1:
            errors.set(rows[local[0]], user_message(exc))
            return
        half = local.size // 2
        _solve(scalars, vectors, rows, local[:half], out, errors)
        _solve(scalars, vectors, rows, local[half:], out, errors)
        return
    out.fill(report, rows[local])


def _run_group(scalars, vectors, rows, out: _Outputs, errors: _Errors) -> None:
    ok = ~errors.bad[rows]
    if not ok.any():
        return
    items = tuple(sorted(scalars.items()))
    names = tuple(sorted(vectors))
    message = _group_error(items, names)
    if message is not None:
        errors.set(rows[ok], message)
        return
    screened = {name: _screen(name, vectors[name], scalars) & ok for name in names}
    flagged = sum(screened.values(), np.zeros(rows.size, np.int64)) if names else None
    for name in names:
        x = vectors[name]
        for j in np.flatnonzero(screened[name] & (flagged == 1)):
            msg = _value_error(items, names, name, float(x[j]))
            if msg is not None:
                errors.set(rows[j], msg)
                ok[j] = False
    if names:  # two or more bad values: the plan's own message for the whole row
        for j in np.flatnonzero(flagged > 1):
            msg = _row_error(items, tuple((k, float(vectors[k][j])) for k in names))
            if msg is not None:
                errors.set(rows[j], msg)
                ok[j] = False
    local = np.flatnonzero(ok)
    if local.size:
        _solve(scalars, vectors, rows, local, out, errors)


# ----------------------------------------------------------------------------- the block


def run_block(job: Job, task: Task) -> BlockResult:
    """Plan every scenario of block ``task.index``; build its rows and/or partial reductions."""
    nums, cats, errors, start, n = block_inputs(job, task)
    needed = None
    if not job.rows:
        from .reduce import needed_columns

        needed = needed_columns(job.reductions)
    out = _Outputs(job, n, needed)
    defaults = {k: v for k, v in job.spec.defaults.items() if k not in nums and k not in cats}
    for scalars, vectors, rows in _groups(nums, cats, defaults, np.arange(n)):
        _run_group(scalars, vectors, rows, out, errors)
    ok = ~errors.bad
    for name in out.num:
        out.num[name][errors.bad] = np.nan
    part = partial(job.reductions, out.num, ok, errors.msg, start) if job.reductions else None
    table = _table(job, nums, cats, errors, ok, out, n) if job.rows else None
    return BlockResult(task.index, table, part)


def _strings(codes: np.ndarray, levels: list):
    import pyarrow as pa

    mask = codes < 0
    if not levels:
        return pa.nulls(codes.size, pa.string())
    dictionary = pa.array(levels, pa.string())
    indices = pa.array(np.where(mask, 0, codes).astype(np.int32), mask=mask)
    return pa.DictionaryArray.from_arrays(indices, dictionary).cast(pa.string())


def _table(job: Job, nums, cats, errors, ok, out: _Outputs, n: int):
    import pyarrow as pa

    columns = {}
    for name in job.inputs:
        if name in nums:
            v = nums[name]
            columns[name] = pa.array(v, pa.float64(), mask=np.isnan(v))
        elif name in cats:
            code, levels = cats[name]
            missing = [i for i, level in enumerate(levels) if level is None]
            if missing:
                code = np.where(code == missing[0], -1, code)
                levels = [level if level is not None else "" for level in levels]
            columns[name] = _strings(code, levels)
        elif name in string_options():
            columns[name] = pa.array(np.full(n, job.spec.defaults[name], object), pa.string())
        else:
            columns[name] = pa.array(np.full(n, job.spec.defaults[name], float), pa.float64())
    columns["error"] = (pa.nulls(n, pa.string()) if ok.all()
                        else pa.array(errors.msg, pa.string()))
    for name, kind in job.outputs:
        if kind == "num":
            v = out.num[name]
            columns[name] = pa.array(v, pa.float64(), mask=np.isnan(v))
        else:
            code, levels = out.str[name]
            columns[name] = _strings(np.where(ok, code, -1), levels)
    return pa.table(columns)
