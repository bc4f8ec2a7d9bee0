"use strict";
// Readable numbers, the same rules as computeplan.render (Python) so the page prints what the
// terminal tables and the HTML report print: counts 24.18B / 2.657T / 2,048, dollars $85.83k,
// FLOPs 3.701e23, ratios 70.96% or 5,939x, whole counts 5. tests/test_web_e2e.py checks that
// both give the same text. Rounding: half away from zero on the exact value (toExponential,
// toFixed), which is what the Python side does with decimal.
const Fmt = (() => {
  const INTEGER_FIELDS = new Set(["gpus", "min_gpus", "max_gpus", "min_gpus_for_state",
    "layers", "heads", "kv_heads", "vocab", "max_batch", "n_runs", "replicate"]);
  const COUNT_FIELDS = new Set(["params", "requests", "users", "d_model", "batch", "context",
    "scenarios", "reference_params"]);
  const SI = [[12, "T"], [9, "B"], [6, "M"], [3, "k"]];

  function sci(x, digits) {
    const [m, e] = Math.abs(x).toExponential(digits - 1).split("e");
    return [(x < 0 ? "-" : "") + m, Number(e)];
  }
  const trim = (t) => (t.includes(".") ? t.replace(/0+$/, "").replace(/\.$/, "") : t);
  function group(t) {
    const neg = t.startsWith("-"), [i, f] = (neg ? t.slice(1) : t).split(".");
    return (neg ? "-" : "") + i.replace(/\B(?=(\d{3})+(?!\d))/g, ",") +
      (f !== undefined ? `.${f}` : "");
  }
  const plain = (x, digits, e) => trim(x.toFixed(Math.max(digits - 1 - e, 0)));
  const bad = (x) => x === null || x === undefined;
  const nonfinite = (x) => (Number.isNaN(x) ? "nan" : x > 0 ? "inf" : "-inf");

  function fmt(x, digits = 4) {
    if (bad(x)) return "-";
    if (!Number.isFinite(x)) return nonfinite(x);
    if (x === 0) return "0";
    const [m, e] = sci(x, digits);
    return e >= -3 && e < 4 ? plain(x, digits, e) : `${m}e${e}`;
  }

  function si(x, digits, e) {
    const [power, suffix] = SI.find(([p]) => e >= p);
    const [m] = sci(x, digits);
    return plain(Number(`${m}e${e - power}`), digits, e - power) + suffix;
  }

  function count(x, digits = 4) {
    if (bad(x) || !Number.isFinite(x) || x === 0) return fmt(x);
    const e = sci(x, digits)[1];
    if (e >= 0 && e < 4) return group(plain(x, digits, e));
    return e >= 4 && e < 15 ? si(x, digits, e) : fmt(x, digits);
  }

  function integer(x) {
    if (bad(x)) return "-";
    if (!Number.isFinite(x) || Math.abs(x) >= 1e15) return fmt(x);
    return group(x.toFixed(0));
  }

  function usd(x, digits = 4) {
    if (bad(x)) return "-";
    if (!Number.isFinite(x)) return nonfinite(x);
    const sign = x < 0 ? "-" : "", a = Math.abs(x);
    if (a > 0 && a < 0.01) return `${sign}$${fmt(a, digits)}`;
    const cents = a.toFixed(2);
    if (Number(cents) < 1000) return `${sign}$${cents}`;
    const e = sci(a, digits)[1];
    if (e < 4) return `${sign}$${group(a.toFixed(0))}`;
    return `${sign}$${e < 15 ? si(a, digits, e) : fmt(a, digits)}`;
  }

  function flops(x, digits = 4) {
    if (bad(x) || !Number.isFinite(x) || x === 0) return fmt(x);
    const [m, e] = sci(x, digits);
    return `${m}e${e}`;
  }

  function pct(x) {
    if (bad(x)) return "-";
    if (!Number.isFinite(x)) return nonfinite(x);
    return Math.abs(100 * x) >= 1e15 ? `${fmt(100 * x)}%` : `${(100 * x).toFixed(2)}%`;
  }

  function ratio(x) {
    if (bad(x)) return "-";
    return !Number.isFinite(x) || Math.abs(x) < 10 ? pct(x) : `${count(x, 4)}x`;
  }

  function kind(key) {
    const path = String(key).split("."), k = path.pop();
    if (path.includes("ratios") || k.startsWith("ratio")) return "ratio";
    if (k.includes("usd")) return "usd";
    if (k.includes("flops") || k.includes("flop_")) return "flops";
    if (INTEGER_FIELDS.has(k)) return "integer";
    if (COUNT_FIELDS.has(k) || k.endsWith("_params") || k.includes("tokens")) return "count";
    return "number";
  }

  function quantity(key, x, digits = 4) {
    if (typeof x === "string") return x;
    switch (kind(key)) {
      case "ratio": return ratio(x);
      case "usd": return usd(x, digits);
      case "flops": return flops(x, digits);
      case "integer": return integer(x);
      case "count": return count(x, digits);
      default: return fmt(x, String(key).split(".").pop() === "loss" ? 5 : digits);
    }
  }

  return { fmt, count, integer, usd, flops, pct, ratio, kind, quantity };
})();
