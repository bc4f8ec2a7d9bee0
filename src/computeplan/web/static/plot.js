"use strict";
// Small SVG line plots (no dependencies): linear or log axes, lines, marked points, a legend
// and a hover read-out. Plot.draw(svg, spec) redraws the whole figure from data.
const Plot = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const W = 560, H = 360, M = { l: 70, r: 18, t: 30, b: 46 };
  const SUP = { "-": "⁻", 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷",
    8: "⁸", 9: "⁹" };

  function el(tag, attrs, parent) {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (parent) parent.appendChild(node);
    return node;
  }

  const fmt = Fmt.fmt;

  // The tick and read-out text of an axis of kind "count", "usd", "flops" or undefined (a plain
  // number), by the same rules as the tables (format.js).
  const FORMATS = { count: Fmt.count, usd: Fmt.usd, flops: Fmt.flops };
  const formatter = (kind) => FORMATS[kind] || fmt;

  function decade(k) {
    return "10" + String(k).split("").map((c) => SUP[c]).join("");
  }

  // One notation per axis. Log axes: 1, 2 and 5 multiples when they span few decades, else
  // decades; labelled by the axis kind's formatter (20B, $2M) when every tick is below 10^15
  // and the kind is a count or dollars, else all as powers of ten (2×10²⁵, 10²⁵, 5×10²⁴).
  function ticks(lo, hi, log, kind) {
    if (log) {
      const a = Math.ceil(Math.log10(lo) - 1e-9), b = Math.floor(Math.log10(hi) + 1e-9);
      const step = Math.max(1, Math.ceil((b - a + 1) / 7));
      let out = [];
      for (let k = a; k <= b; k += step) out.push({ v: 10 ** k, m: 1, k });
      if (out.length < 3) {  // few decades: 2 and 5 multiples too
        for (let k = a - 1; k <= b; k++) for (const m of [2, 5]) {
          const v = m * 10 ** k;
          if (v >= lo && v <= hi) out.push({ v, m, k });
        }
      }
      out = out.sort((p, q) => p.v - q.v);
      const own = (kind === "count" || kind === "usd") && out.every((t) => t.v < 1e15);
      return out.map((t) => ({ v: t.v, label: own ? formatter(kind)(t.v, 2)
        : `${t.m === 1 ? "" : `${t.m}×`}${decade(t.k)}` }));
    }
    const raw = (hi - lo) / 5, mag = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
      out.push({ v, label: formatter(kind)(Math.abs(v) < step * 1e-9 ? 0 : v, 3) });
    }
    return out;
  }

  function extent(values, log, pad) {
    const ok = values.filter((v) => Number.isFinite(v) && (!log || v > 0));
    let lo = Math.min(...ok), hi = Math.max(...ok);
    if (!ok.length) { lo = log ? 1 : 0; hi = log ? 10 : 1; }
    if (log) {
      const span = Math.max(Math.log10(hi / lo), 0.3) * pad;
      return [lo / 10 ** span, hi * 10 ** span];
    }
    const span = (hi - lo || Math.abs(hi) || 1) * pad;
    return [lo - span, hi + span];
  }

  function scale(lo, hi, a, b, log) {
    const f = log ? Math.log10 : (v) => v;
    const l = f(lo), h = f(hi);
    return (v) => a + ((f(v) - l) / (h - l)) * (b - a);
  }

  function path(xs, ys, sx, sy, xlog, ylog) {
    let d = "", pen = false;
    for (let i = 0; i < xs.length; i++) {
      const ok = Number.isFinite(xs[i]) && Number.isFinite(ys[i]) && (!xlog || xs[i] > 0) &&
        (!ylog || ys[i] > 0);
      if (!ok) { pen = false; continue; }
      d += `${pen ? "L" : "M"}${sx(xs[i]).toFixed(1)},${sy(ys[i]).toFixed(1)}`;
      pen = true;
    }
    return d;
  }

  function star(cx, cy, r) {
    const pts = [];
    for (let i = 0; i < 10; i++) {
      const a = -Math.PI / 2 + (i * Math.PI) / 5, rr = i % 2 ? r * 0.45 : r;
      pts.push(`${(cx + rr * Math.cos(a)).toFixed(1)},${(cy + rr * Math.sin(a)).toFixed(1)}`);
    }
    return pts.join(" ");
  }

  // spec: {title, xlabel, ylabel, xlog, ylog, xkind, ykind ("count", "usd", "flops"), ylim,
  // series: [{x, y, label, color, width, dash, legend}], marks: [{x, y, label, color, shape}],
  // vline: {x, label}, bands: [{x, lo, hi, color, label}] (a shaded range between lo and hi)}
  function draw(svg, spec) {
    svg.replaceChildren();
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    const series = spec.series || [], marks = spec.marks || [];
    const bands = spec.bands || [];
    const xs = series.flatMap((s) => s.x).concat(marks.map((m) => m.x));
    const ys = series.flatMap((s) => s.y).concat(marks.map((m) => m.y))
      .concat(bands.flatMap((b) => b.lo.concat(b.hi)));
    const [x0, x1] = extent(xs, spec.xlog, 0.02);
    const [y0, y1] = spec.ylim || extent(ys, spec.ylog, 0.05);
    const sx = scale(x0, x1, M.l, W - M.r, spec.xlog);
    const sy = scale(y0, y1, H - M.b, M.t, spec.ylog);
    el("text", { x: M.l, y: 18, class: "title" }, svg).textContent = spec.title || "";
    const grid = el("g", { class: "grid" }, svg), axis = el("g", { class: "axis" }, svg);
    for (const t of ticks(x0, x1, spec.xlog, spec.xkind)) {
      const x = sx(t.v);
      el("line", { x1: x, x2: x, y1: M.t, y2: H - M.b }, grid);
      el("text", { x, y: H - M.b + 16, "text-anchor": "middle", class: "xtick" }, axis)
        .textContent = t.label;
    }
    for (const t of ticks(y0, y1, spec.ylog, spec.ykind)) {
      const y = sy(t.v);
      el("line", { x1: M.l, x2: W - M.r, y1: y, y2: y }, grid);
      el("text", { x: M.l - 6, y: y + 4, "text-anchor": "end", class: "ytick" }, axis)
        .textContent = t.label;
    }
    el("path", { d: `M${M.l},${M.t}V${H - M.b}H${W - M.r}`, fill: "none" }, axis);
    el("text", { x: (M.l + W - M.r) / 2, y: H - 8, "text-anchor": "middle" }, axis)
      .textContent = spec.xlabel || "";
    el("text", { x: 14, y: (M.t + H - M.b) / 2, "text-anchor": "middle",
      transform: `rotate(-90 14 ${(M.t + H - M.b) / 2})` }, axis).textContent = spec.ylabel || "";
    const clip = `clip${Math.random().toString(36).slice(2)}`;
    el("rect", { x: M.l, y: M.t, width: W - M.l - M.r, height: H - M.t - M.b },
      el("clipPath", { id: clip }, el("defs", {}, svg)));
    const body = el("g", { "clip-path": `url(#${clip})` }, svg);
    if (spec.vline) {
      const x = sx(spec.vline.x);
      el("line", { x1: x, x2: x, y1: M.t, y2: H - M.b, stroke: "#666", "stroke-dasharray": "2 3" },
        body);
    }
    for (const b of bands) {
      const up = path(b.x, b.hi, sx, sy, spec.xlog, spec.ylog);
      const down = path([...b.x].reverse(), [...b.lo].reverse(), sx, sy, spec.xlog, spec.ylog);
      if (up && down) {
        el("path", { d: `${up}L${down.slice(1)}Z`, fill: b.color || "#1b6ac9",
          "fill-opacity": 0.18, stroke: "none", class: "band" }, body);
      }
    }
    for (const s of series) {
      el("path", { d: path(s.x, s.y, sx, sy, spec.xlog, spec.ylog), fill: "none",
        stroke: s.color || "#222", "stroke-width": s.width || 1.8,
        "stroke-dasharray": s.dash || "none" }, body);
    }
    for (const m of marks) {
      const cx = sx(m.x), cy = sy(m.y);
      if (m.shape === "star") el("polygon", { points: star(cx, cy, 9), fill: m.color }, body);
      else el("circle", { cx, cy, r: 5.5, fill: m.color }, body);
    }
    legend(svg, series.filter((s) => s.legend !== false).concat(marks)
      .concat(bands.filter((b) => b.label).map((b) => ({ label: b.label, color: b.color,
        dash: "1 0", band: true }))), spec.vline);
    hover(svg, spec, series, sx, sy);
  }

  function legend(svg, items, vline) {
    const entries = items.map((s) => ({ label: s.label, color: s.color || "#222",
      dash: s.dash, shape: s.shape }));
    if (vline && vline.label) entries.push({ label: vline.label, color: "#666", dash: "2 3" });
    if (!entries.length) return;
    const g = el("g", { class: "legend" }, svg);
    const width = 12 + 7 * Math.max(...entries.map((e) => e.label.length)) + 26;
    const x = W - M.r - width - 4, y = M.t + 4;
    el("rect", { x, y, width, height: 18 * entries.length + 6, fill: "#fff", "fill-opacity": 0.85,
      stroke: "#dde1ea" }, g);
    entries.forEach((e, i) => {
      const cy = y + 13 + 18 * i;
      if (e.shape === "star") el("polygon", { points: star(x + 16, cy, 6), fill: e.color }, g);
      else if (e.shape) el("circle", { cx: x + 16, cy, r: 4, fill: e.color }, g);
      else el("line", { x1: x + 6, x2: x + 26, y1: cy, y2: cy, stroke: e.color,
        "stroke-width": 2, "stroke-dasharray": e.dash || "none" }, g);
      el("text", { x: x + 32, y: cy + 4 }, g).textContent = e.label;
    });
  }

  // Hover read-out: the point of each series nearest to the pointer's x.
  function hover(svg, spec, series, sx, sy) {
    const g = el("g", { class: "tip", visibility: "hidden", "pointer-events": "none" }, svg);
    const line = el("line", { y1: M.t, y2: H - M.b, stroke: "#999" }, g);
    const dots = series.map((s) => el("circle", { r: 3.5, fill: s.color || "#222" }, g));
    const box = el("rect", { rx: 3 }, g), text = el("text", {}, g);
    const overlay = el("rect", { x: M.l, y: M.t, width: W - M.l - M.r, height: H - M.t - M.b,
      fill: "transparent" }, svg);
    overlay.addEventListener("mouseleave", () => g.setAttribute("visibility", "hidden"));
    overlay.addEventListener("mousemove", (ev) => {
      const pt = svg.createSVGPoint();
      pt.x = ev.clientX; pt.y = ev.clientY;
      const p = pt.matrixTransform(svg.getScreenCTM().inverse());
      const rows = [];
      series.forEach((s, k) => {
        let best = -1, dist = Infinity;
        s.x.forEach((x, i) => {
          const d = Math.abs(sx(x) - p.x);
          if (d < dist && Number.isFinite(s.y[i])) { best = i; dist = d; }
        });
        if (best < 0 || dist > 30) { dots[k].setAttribute("visibility", "hidden"); return; }
        dots[k].setAttribute("visibility", "visible");
        dots[k].setAttribute("cx", sx(s.x[best]));
        dots[k].setAttribute("cy", sy(s.y[best]));
        if (!rows.length) {
          rows.push(`${spec.xname || "x"} = ${formatter(spec.xkind)(s.x[best])}`);
        }
        if (s.legend !== false || series.length < 8) {
          rows.push(`${s.label}: ${formatter(spec.ykind)(s.y[best])}`);
        }
      });
      if (!rows.length) return;
      line.setAttribute("x1", p.x); line.setAttribute("x2", p.x);
      text.replaceChildren();
      rows.slice(0, 8).forEach((r, i) => {
        el("tspan", { x: 0, dy: i ? 15 : 0 }, text).textContent = r;
      });
      const wBox = 8 + 6.6 * Math.max(...rows.map((r) => r.length)), hBox = 15 * rows.length + 8;
      const left = p.x + wBox + 12 > W - M.r ? p.x - wBox - 8 : p.x + 8;
      box.setAttribute("x", left); box.setAttribute("y", M.t + 4);
      box.setAttribute("width", wBox); box.setAttribute("height", hBox);
      text.setAttribute("transform", `translate(${left + 4},${M.t + 18})`);
      g.setAttribute("visibility", "visible");
    });
  }

  // A figure that has no data (yet): its title and one line of text, so no panel is blank.
  function message(svg, title, text) {
    svg.replaceChildren();
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    el("text", { x: M.l, y: 18, class: "title" }, svg).textContent = title || "";
    el("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "message" }, svg)
      .textContent = text;
  }

  return { draw, message, fmt };
})();
