"""Reductions computed per block and merged in block order: counts, means, quantiles (exact, or
a mergeable log-bucket sketch), argmin over a decision axis, probability of a saving above X.

A block's partial result is a flat ``{key: numpy array}`` (saved with :func:`numpy.savez` when a
sweep is resumable); merging adds counts and sums in block order, so every backend merges the
same numbers in the same order and gets the same summary.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputError

#: Total scenarios up to which quantiles are exact (all values kept); above, a sketch.
EXACT_QUANTILES_MAX = 1_000_000
DEFAULT_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
DEFAULT_RELATIVE_ACCURACY = 1e-3
REDUCTION_KEYS = ("mean", "quantiles", "exact_quantiles_max", "relative_accuracy", "argmin",
                  "saving_exceeds")


def _columns(where: str, value, numeric: list[str]) -> list[str]:
    cols = [value] if isinstance(value, str) else value
    if not isinstance(cols, list) or not cols or not all(isinstance(c, str) for c in cols):
        raise InputError(f"reductions {where} must be a column name or a list of them")
    for c in cols:
        if c not in numeric:
            raise InputError(f"reductions {where}: {c!r} is not a numeric output column; valid: "
                             + ", ".join(numeric))
    return list(dict.fromkeys(cols))


def _fraction_list(where: str, value, lo_open: bool) -> list[float]:
    vals = [value] if isinstance(value, int | float) and not isinstance(value, bool) else value
    if not isinstance(vals, list) or not vals:
        raise InputError(f"{where} must be a number or a list of numbers")
    out = []
    for x in vals:
        try:
            f = float(x)
        except (TypeError, ValueError):
            raise InputError(f"{where} must be numbers; got {x!r}") from None
        ok = (0 < f <= 1) if lo_open else (0 <= f <= 1)
        if not ok or isinstance(x, bool):
            raise InputError(f"{where} must lie in {'(0' if lo_open else '[0'}, 1]; got {x!r}")
        out.append(f)
    return out


def normalise(raw: dict, *, numeric: list[str], spec) -> dict:
    """Check a spec's ``reductions`` against the output columns; fill in defaults."""
    unknown = set(raw) - set(REDUCTION_KEYS)
    if unknown:
        raise InputError(f"unknown reduction(s) {', '.join(sorted(map(str, unknown)))}; valid: "
                         + ", ".join(REDUCTION_KEYS))
    out: dict = {"mean": [], "quantiles": None, "argmin": None, "saving_exceeds": None}
    if raw.get("mean") is not None:
        out["mean"] = _columns("mean", raw["mean"], numeric)
    q = raw.get("quantiles")
    if q is not None:
        if isinstance(q, dict):
            extra = set(q) - {"columns", "q"}
            if extra or "columns" not in q:
                raise InputError("reductions quantiles must be columns or {columns, q}")
            cols, qs = q["columns"], q.get("q", list(DEFAULT_QUANTILES))
        else:
            cols, qs = q, list(DEFAULT_QUANTILES)
        limit = raw.get("exact_quantiles_max", EXACT_QUANTILES_MAX)
        if isinstance(limit, bool) or not isinstance(limit, int | float) or limit < 0:
            raise InputError(f"reductions exact_quantiles_max must be a number >= 0; got {limit!r}")
        acc = raw.get("relative_accuracy", DEFAULT_RELATIVE_ACCURACY)
        if isinstance(acc, bool) or not isinstance(acc, int | float) or not 0 < acc < 0.5:
            raise InputError(f"reductions relative_accuracy must be in (0, 0.5); got {acc!r}")
        out["quantiles"] = {"columns": _columns("quantiles", cols, numeric),
                            "q": _fraction_list("reductions quantiles q", qs, lo_open=False),
                            "exact": spec.size <= limit, "relative_accuracy": float(acc)}
    a = raw.get("argmin")
    if a is not None:
        if not isinstance(a, dict) or set(a) != {"axis", "of"}:
            raise InputError("reductions argmin must be {axis: AXIS, of: COLUMN}")
        k, axis = spec.axis(str(a["axis"]))
        stride = math.prod(len(b) for b in spec.axes[k + 1:])
        out["argmin"] = {"axis": axis.name, "of": _columns("argmin of", a["of"], numeric)[0],
                         "position": k, "length": len(axis), "stride": stride,
                         "labels": [str(x) if isinstance(x, str) else f"{x:g}"
                                    for x in axis.values]}
    s = raw.get("saving_exceeds")
    if s is not None:
        if not isinstance(s, dict):
            s = {"x": s}
        if not set(s) <= {"x", "of"} or "x" not in s:
            raise InputError("reductions saving_exceeds must be X, [X, ...] or "
                             "{x: ..., of: COLUMN}")
        default = "ratios.total_cost_usd" if "ratios.total_cost_usd" in numeric else (
            "ratios.total_flops")
        of = _columns("saving_exceeds of", s.get("of", default), numeric)[0]
        if not of.startswith("ratios."):
            raise InputError(f"reductions saving_exceeds of must be a ratios.* column (optimal / "
                             f"Chinchilla); got {of!r}")
        out["saving_exceeds"] = {"of": of, "x": _fraction_list("reductions saving_exceeds x",
                                                               s["x"], lo_open=False)}
    return out


def needed_columns(red: dict) -> set[str]:
    cols = set(red["mean"])
    if red["quantiles"]:
        cols |= set(red["quantiles"]["columns"])
    if red["argmin"]:
        cols.add(red["argmin"]["of"])
    if red["saving_exceeds"]:
        cols.add(red["saving_exceeds"]["of"])
    return cols


def fibre_span(red: dict) -> int:
    """Scenarios that one argmin comparison spans (blocks are whole multiples of it)."""
    a = red.get("argmin")
    return a["length"] * a["stride"] if a else 1


# ----------------------------------------------------------------------------- the sketch


def _gamma(acc: float) -> float:
    return (1.0 + acc) / (1.0 - acc)


def _bins(x: np.ndarray, acc: float) -> tuple[np.ndarray, np.ndarray]:
    """Log buckets (DDSketch, Masson et al. 2019): x in (gamma^(i-1), gamma^i]; the bucket's
    estimate 2 gamma^i / (gamma + 1) is within relative accuracy ``acc`` of every x in it."""
    if not x.size:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    idx = np.ceil(np.log(x) / math.log(_gamma(acc))).astype(np.int64)
    return np.unique(idx, return_counts=True)


def _merge_bins(a_idx, a_cnt, b_idx, b_cnt):
    idx = np.concatenate([a_idx, b_idx])
    cnt = np.concatenate([a_cnt, b_cnt]).astype(np.int64)
    u, inv = np.unique(idx, return_inverse=True)
    out = np.zeros(u.size, np.int64)
    np.add.at(out, inv, cnt)
    return u, out


# ----------------------------------------------------------------------------- per block


def partial(red: dict, outputs: dict[str, np.ndarray], ok: np.ndarray, errors, start: int) -> dict:
    """One block's partial reductions from its numeric outputs (NaN where a row failed)."""
    n = ok.size
    out = {"count/scenarios": np.int64(n), "count/ok": np.int64(ok.sum())}
    bad = np.flatnonzero(~ok)
    out["first_error/index"] = np.int64(start + bad[0] if bad.size else -1)
    out["first_error/message"] = np.str_(errors[bad[0]] if bad.size else "")
    for c in red["mean"]:
        x = outputs[c][ok]
        out[f"mean/{c}/sum"] = np.float64(np.sum(x))
        out[f"mean/{c}/n"] = np.int64(x.size)
    q = red["quantiles"]
    if q:
        for c in q["columns"]:
            x = outputs[c][ok]
            if q["exact"]:
                out[f"q/{c}/values"] = x
            else:
                out[f"q/{c}/pos_idx"], out[f"q/{c}/pos_cnt"] = _bins(x[x > 0],
                                                                   q["relative_accuracy"])
                out[f"q/{c}/neg_idx"], out[f"q/{c}/neg_cnt"] = _bins(-x[x < 0],
                                                                   q["relative_accuracy"])
                out[f"q/{c}/zero"] = np.int64(np.count_nonzero(x == 0))
    a = red["argmin"]
    if a:
        m = np.where(ok, outputs[a["of"]], np.inf).reshape(-1, a["length"], a["stride"])
        best = np.argmin(m, axis=1)
        decided = np.isfinite(np.min(m, axis=1))
        out["argmin/counts"] = np.bincount(best[decided], minlength=a["length"]).astype(np.int64)
        out["argmin/undecided"] = np.int64(np.count_nonzero(~decided))
    s = red["saving_exceeds"]
    if s:
        saving = 1.0 - outputs[s["of"]][ok]
        out["saving/count"] = np.array([np.count_nonzero(saving > x) for x in s["x"]], np.int64)
        out["saving/n"] = np.int64(saving.size)
    return out


class Merger:
    """Merges partials in block order and states the summary."""

    def __init__(self, red: dict):
        self.red = red
        self.state: dict | None = None
        self._values: dict[str, list] = {}

    def add(self, part: dict) -> None:
        part = {k: np.asarray(v) for k, v in part.items()}
        if self.state is None:
            self.state = {k: v for k, v in part.items() if not k.endswith("/values")}
            for k, v in part.items():
                if k.endswith("/values"):
                    self._values[k] = [v]
            return
        s = self.state
        if s["first_error/index"] < 0 <= part["first_error/index"]:
            s["first_error/index"] = part["first_error/index"]
            s["first_error/message"] = part["first_error/message"]
        for k, v in part.items():
            if k.startswith("first_error/"):
                continue
            if k.endswith("/values"):
                self._values[k].append(v)
            elif k.endswith("_idx"):
                base = k[:-4]
                s[k], s[base + "_cnt"] = _merge_bins(s[k], s[base + "_cnt"], v,
                                                     part[base + "_cnt"])
            elif k.endswith("_cnt"):
                continue
            else:
                s[k] = s[k] + v

    def summary(self) -> dict:
        s, red = self.state, self.red
        out = {"scenarios": int(s["count/scenarios"]), "ok": int(s["count/ok"]),
               "errors": int(s["count/scenarios"] - s["count/ok"])}
        if s["first_error/index"] >= 0:
            out["first_error"] = {"index": int(s["first_error/index"]),
                                  "error": str(s["first_error/message"])}
        if red["mean"]:
            out["mean"] = {c: (float(s[f"mean/{c}/sum"] / s[f"mean/{c}/n"])
                               if s[f"mean/{c}/n"] else None) for c in red["mean"]}
        q = red["quantiles"]
        if q:
            method = "exact (linear interpolation)" if q["exact"] else (
                f"sketch (log buckets, relative accuracy {q['relative_accuracy']:g})")
            res: dict = {"method": method, "q": q["q"]}
            for c in q["columns"]:
                res[c] = (self._exact(c, q["q"]) if q["exact"] else
                          self._sketch(c, q["q"], q["relative_accuracy"]))
            out["quantiles"] = res
        a = red["argmin"]
        if a:
            counts = s["argmin/counts"]
            total = int(counts.sum())
            out["argmin"] = {
                "axis": a["axis"], "of": a["of"],
                "counts": {lab: int(n) for lab, n in zip(a["labels"], counts, strict=True)},
                "share": {lab: (float(n / total) if total else None)
                          for lab, n in zip(a["labels"], counts, strict=True)},
                "undecided": int(s["argmin/undecided"])}
        sv = red["saving_exceeds"]
        if sv:
            n = int(s["saving/n"])
            out["saving_exceeds"] = {
                "of": sv["of"], "saving": f"1 - {sv['of']}", "n": n,
                "probability": {f"{x:g}": (float(c / n) if n else None)
                                for x, c in zip(sv["x"], s["saving/count"], strict=True)}}
        return out

    def _exact(self, c, qs):
        x = np.concatenate(self._values[f"q/{c}/values"])
        return [float(v) for v in np.quantile(x, qs)] if x.size else [None] * len(qs)

    def _sketch(self, c, qs, acc):
        s = self.state
        g = _gamma(acc)
        neg_idx, neg_cnt = s[f"q/{c}/neg_idx"], s[f"q/{c}/neg_cnt"]
        pos_idx, pos_cnt = s[f"q/{c}/pos_idx"], s[f"q/{c}/pos_cnt"]
        # ascending order: negatives from the largest magnitude, zeros, then positives
        values = np.concatenate([-2.0 * g ** neg_idx[::-1].astype(float) / (g + 1.0), [0.0],
                                 2.0 * g ** pos_idx.astype(float) / (g + 1.0)])
        counts = np.concatenate([neg_cnt[::-1], [s[f"q/{c}/zero"]], pos_cnt])
        total = int(counts.sum())
        if not total:
            return [None] * len(qs)
        cum = np.cumsum(counts)
        ranks = np.asarray(qs) * (total - 1)
        return [float(values[np.searchsorted(cum, r, side="right")]) for r in ranks]
