"use strict";
// The calculator page: form -> POST api/report (the plan and its figure data, computed by the
// server with the same code as the CLI) -> table, headline and SVG plots. The state lives in the
// URL query, whose keys are the API's fields, so a link reproduces the plan and /report.html
// takes the same query.
(() => {
  const $ = (id) => document.getElementById(id);
  const { fmt, pct, ratio, quantity, usd, flops } = Fmt;
  const TARGETS = ["reference_params", "loss", "budget_flops", "budget_usd"];
  const TARGET_TEXT = {
    reference_params: ["Reference model parameters N", "70e9"],
    loss: ["Target loss (nats/token)", "1.947"],
    budget_flops: ["Lifetime FLOPs budget", "1e24"],
    budget_usd: ["Lifetime dollar budget", "1e7"],
  };
  const DEMAND = {
    tokens: ["inference_tokens"],
    requests: ["requests", "input_tokens", "output_tokens"],
    users: ["users", "requests_per_user_per_day", "days", "input_tokens", "output_tokens"],
  };
  const HARDWARE = ["train_gpu", "train_dtype", "train_usd_per_gpu_hour", "train_mfu",
    "inference_gpu", "inference_dtype", "inference_usd_per_gpu_hour", "decode_model"];
  const FIXED_MFU = ["prefill_mfu", "decode_mfu"];
  const ROOFLINE = ["batch", "context", "gqa_ratio", "kv_dtype", "bandwidth_fraction",
    "compute_fraction"];
  const TIMELINE = ["horizon_days", "train_gpus", "demand_ramp_days", "demand_tail_days",
    "demand_growth_per_year", "price_performance_doubling_years", "discount_rate_per_year",
    "compounding"];
  const roofline = () => field("decode_model").value === "roofline";
  const PRICED = [...HARDWARE, ...FIXED_MFU, ...ROOFLINE];
  const UNCERTAINTY = ["level", "confidence"];
  const OPT = "#1b6ac9", CHIN = "#d0582a", ROBUST = "#2e8b57";
  let meta = null, sequence = 0, timer = null;
  // GPU name or alias (lower case, as the CLI and API match them) -> the catalog's name.
  let gpuNames = new Map();
  // Values from the link: the alias resolved ("train_gpu a100 ... is a100-80gb"), and values
  // that are not among a field's choices (shown as an error, never replaced by a default).
  const linkNotes = {}, linkErrors = {};

  const field = (name) => document.querySelector(`[name="${name}"]`);
  // A number as a number; anything else (and numbers beyond float range, which JSON would send
  // as null) as the text typed, so the server answers 422 naming the field.
  const number = (text) => (/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(text)
    && Number.isFinite(Number(text)) ? Number(text) : text);

  // ------------------------------------------------------------------ form <-> API body/URL
  // The state: API field -> the text typed (kept as typed in the URL, e.g. 2e12).
  function state() {
    const out = {};
    const kind = $("target_kind").value, target = $("target_value").value.trim();
    if (target) out[kind] = target;
    for (const name of DEMAND[$("demand_kind").value]) {
      const text = field(name).value.trim();
      if (text) out[name] = text;
    }
    out.law = $("law").value === OWN_LAW ? $("law_json").value.trim()
      : $("law").value || "sardana2024";
    const unique = field("unique_tokens").value.trim();
    if (unique) out.unique_tokens = unique;
    if ($("uncertainty").checked) {
      out.uncertainty = "true";
      for (const name of UNCERTAINTY) {
        const text = field(name).value.trim();
        if (text) out[name] = text;
      }
    }
    if ($("objective").value === "usd") {
      out.objective = "usd";
      for (const name of [...HARDWARE, ...(roofline() ? ROOFLINE : FIXED_MFU)]) {
        const text = field(name).value.trim();
        if (text) out[name] = text;
      }
    }
    for (const name of TIMELINE) {
      const text = field(name).value.trim();
      if (text) out[name] = text;
    }
    return out;
  }

  const TEXT_FIELDS = new Set(["objective", "train_gpu", "train_dtype", "inference_gpu",
    "inference_dtype", "decode_model", "kv_dtype", "compounding"]);

  function body(s) {
    return Object.fromEntries(Object.entries(s).map(([k, v]) =>
      [k, k === "uncertainty" ? v === "true" : k === "law" ? lawValue(v)
        : TEXT_FIELDS.has(k) ? v : number(v)]));
  }

  // The law field: a preset's name, or (the text of a law file, which starts with "{") the
  // law file's JSON object, as the API takes an inline law; text that is not JSON is an error
  // naming the field.
  const OWN_LAW = "own";
  function lawValue(text) {
    if (!text) throw new Error("law: paste a law file's JSON into the box, or choose a preset");
    if (!text.startsWith("{")) return text;
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new Error(`law: your law is not valid JSON (${err.message})`);
    }
  }

  // A select set from the link: the value (matched case-insensitively; a GPU alias resolved to
  // its catalog name), or, when it is not among the choices, kept as a marked option with an
  // error naming the field and the valid choices.
  function choose(sel, name, raw) {
    for (const o of sel.querySelectorAll("option.unknown")) o.remove();
    delete linkNotes[name];
    delete linkErrors[name];
    const text = (raw || "").trim();
    sel.value = "";
    if (!text) return;
    const gpu = sel.classList.contains("gpu");
    // an option's API value: its value, or data-value for a default ("" = "mfu")
    const options = [...sel.options].map((o) => [o.dataset.value || o.value, o.value])
      .filter(([v]) => v);
    const values = options.map(([v]) => v);
    const wanted = gpu ? gpuNames.get(text.toLowerCase()) : text.toLowerCase();
    const match = options.find(([v]) => v.toLowerCase() === wanted);
    if (match) {
      const value = match[0];
      sel.value = match[1];
      if (gpu && value !== text) {
        linkNotes[name] = `${name} ${text} (from the link) is the catalog's ${value}`;
      }
      return;
    }
    const bad = new Option(`${text} (not available)`, text);
    bad.className = "unknown";
    sel.add(bad);
    sel.value = text;
    const aliases = [...gpuNames.keys()].filter((k) => !values.includes(k));
    linkErrors[name] = gpu
      ? `${name}: unknown GPU '${text}' in the link; known GPUs: ${values.join(", ")} ` +
        `(aliases: ${aliases.join(", ")})`
      : `${name}: '${text}' in the link is not one of ${values.join(", ")}` +
        (name.endsWith("_dtype") ? ` (the dtypes of ${gpuOf(name.replace("_dtype", ""))})` : "");
  }

  function restore(params) {
    const kind = TARGETS.find((k) => params.has(k)) || "reference_params";
    $("target_kind").value = kind;
    $("target_value").value = params.get(kind) || "";
    const demand = params.has("users") ? "users" : params.has("requests") ? "requests" : "tokens";
    $("demand_kind").value = demand;
    for (const name of new Set(Object.values(DEMAND).flat())) {
      field(name).value = params.get(name) || "";
    }
    const law = (params.get("law") || "").trim();
    $("law_json").value = law.startsWith("{") ? law : "";
    if (law.startsWith("{")) $("law").value = OWN_LAW;
    else if (params.has("law")) choose($("law"), "law", law);
    field("unique_tokens").value = params.get("unique_tokens") || "";
    $("uncertainty").checked = params.get("uncertainty") === "true";
    for (const name of UNCERTAINTY) field(name).value = params.get(name) || "";
    const usd = params.get("objective") === "usd" || kind === "budget_usd" ||
      PRICED.some((k) => params.has(k));
    $("objective").value = usd ? "usd" : "flops";
    for (const name of ["train_gpu", "inference_gpu"]) choose(field(name), name, params.get(name));
    refreshDtypes();
    for (const name of [...PRICED.filter((k) => !k.endsWith("_gpu")), ...TIMELINE]) {
      const input = field(name);
      if (input.tagName === "SELECT") choose(input, name, params.get(name));
      else input.value = params.get(name) || "";
    }
    if (!params.toString()) {  // first visit: the published FLOPs example
      $("target_kind").value = "loss";
      $("target_value").value = "1.947";
      field("inference_tokens").value = "2e12";
    }
  }

  function query(s) {
    return new URLSearchParams(Object.entries(s)).toString();
  }

  // -------------------------------------------------------------------------- form dynamics
  function syncVisibility() {
    const kind = $("target_kind").value;
    $("target_label").textContent = TARGET_TEXT[kind][0];
    $("target_value").placeholder = TARGET_TEXT[kind][1];
    if (kind === "budget_usd") $("objective").value = "usd";
    if (kind === "budget_flops") $("objective").value = "flops";
    const demand = $("demand_kind").value;
    for (const div of document.querySelectorAll(".demand")) {
      div.hidden = !div.classList.contains(demand);
    }
    document.querySelector(".usd").hidden = $("objective").value !== "usd";
    document.querySelector(".mfu").hidden = roofline();
    document.querySelector(".roofline").hidden = !roofline();
    document.querySelector(".uncertainty-options").hidden = !$("uncertainty").checked;
    const own = $("law").value === OWN_LAW;
    document.querySelector(".own-law").hidden = !own;
    const law = meta && (own ? ownLaw() : meta.laws[$("law").value]);
    $("law_formula").textContent = law ? `${lawText(law)}${law.source ? ` (${law.source})` : ""}`
      : own ? "paste a law file's JSON above" : "";
  }

  function ownLaw() {  // the pasted law, or null while it is not a JSON object
    try {
      const law = JSON.parse($("law_json").value);
      return law && typeof law === "object" && !Array.isArray(law) ? law : null;
    } catch {
      return null;
    }
  }

  // A law's formula and coefficients, for any form (the Chinchilla form written out).
  const NOT_COEFFICIENTS = new Set(["form", "name", "source", "domain", "replicates", "formula",
    "rd_star", "rn_star"]);
  function lawText(law) {
    if (!law.form || law.form === "chinchilla") {
      return `L = ${law.E} + ${law.A}/N^${law.alpha} + ${law.B}/D^${law.beta}`;
    }
    const known = meta.laws[law.name], formula = law.formula || (known && known.formula);
    const coef = Object.keys(law).filter((k) => !NOT_COEFFICIENTS.has(k))
      .map((k) => `${k}=${law[k]}`).join(" ");
    return `${law.form} form${formula ? `: ${formula}` : ""}, ${coef}`;
  }

  function gpuOf(role) {
    return field(`${role}_gpu`).value || meta.dollar_defaults[`${role}_gpu`];
  }

  function refreshDtypes() {
    if (!meta) return;
    for (const sel of document.querySelectorAll("select.dtype")) {
      const role = sel.dataset.gpu.replace("_gpu", ""), keep = sel.value;
      const gpu = meta.gpus[gpuOf(role)] || { dtypes: [] };
      const dflt = meta.dollar_defaults[`${role}_dtype`];
      sel.replaceChildren(new Option(`default (${dflt})`, ""),
        ...gpu.dtypes.map((d) => new Option(d, d)));
      sel.value = gpu.dtypes.includes(keep) ? keep : "";
      const price = field(`${role}_usd_per_gpu_hour`);
      price.placeholder = gpu.usd_per_gpu_hour ? `${gpu.usd_per_gpu_hour} (catalog)` : "";
    }
  }

  function fillMeta() {
    // every preset, of every form (the report's figures draw any law's iso-loss curves)
    $("law").replaceChildren(...Object.keys(meta.laws).map((k) => new Option(
      meta.laws[k].form && meta.laws[k].form !== "chinchilla"
        ? `${k} (${meta.laws[k].form} form)` : k, k)),
      new Option("your own law (a law file's JSON)", OWN_LAW));
    $("law").value = "sardana2024";
    for (const sel of document.querySelectorAll("select.gpu")) {
      const dflt = meta.dollar_defaults[sel.name];
      sel.replaceChildren(new Option(`default (${dflt})`, ""), ...Object.entries(meta.gpus)
        .map(([k, g]) => new Option(`${k}: ${g.description}`, k)));
    }
    for (const name of ["train_mfu", "prefill_mfu", "decode_mfu"]) {
      field(name).placeholder = String(meta.dollar_defaults[name]);
    }
    refreshDtypes();
    $("technique").replaceChildren(...meta.techniques.map((k) => new Option(k, k)));
    $("tradeoff_figure").hidden = !meta.techniques.length;
  }

  // ------------------------------------------------------------------------------ rendering
  function showError(message) {
    const box = $("error");
    box.hidden = !message;
    box.textContent = message || "";
    for (const input of document.querySelectorAll("input, select, textarea")) {
      input.classList.remove("invalid");
    }
    const name = message && message.match(/^([a-z_]+)\b/);
    const own = name && name[1] === "law" && $("law").value === OWN_LAW;  // your law's error
    const bad = name && (own ? $("law_json") : field(name[1]) ||
      (TARGETS.includes(name[1]) && $("target_value")));
    if (bad) bad.classList.add("invalid");
    document.body.dataset.state = message ? "error" : "ready";
  }

  function render(rep) {
    const plan = rep.plan, chin = plan.chinchilla, opt = plan.optimal, ratios = plan.ratios;
    const priced = plan.assumptions.objective === "usd";
    const unit = priced ? "dollars" : "FLOPs";
    const costKey = priced ? "total_cost_usd" : "total_flops";
    if (plan.target_loss !== undefined) {
      $("title").textContent = `Lifetime-optimal model for loss ${fmt(plan.target_loss, 5)}`;
      // dated plans (a timeline option): the saving in present value
      const t = plan.timeline, pvKey = `present_value_${costKey}`;
      const saved = t ? t.chinchilla[pvKey] - t.optimal[pvKey] : chin[costKey] - opt[costKey];
      const saving = t ? t.ratios[pvKey] : ratios[costKey];
      const what = t ? `the present value of lifetime ${priced ? "dollars" : "FLOP-equivalents"}`
        : `lifetime ${unit}`;
      $("headline").innerHTML = `The optimum saves <strong id="savings">` +
        `${pct(1 - saving)}</strong> of ${what} (` +
        `${priced ? usd(saved) : `${flops(saved)} FLOPs`}) with a model <strong>` +
        `${ratio(ratios.params)}</strong> the size, trained on ${ratio(ratios.train_tokens)} ` +
        "of the tokens.";
    } else {
      const budget = plan.budget_usd !== undefined ? plan.budget_usd : plan.budget_flops;
      $("title").textContent = "Lowest loss within a lifetime budget of " +
        (priced ? usd(budget) : `${flops(budget)} FLOPs`);
      $("headline").innerHTML = `At equal budget the optimum reaches loss <strong id="savings">` +
        `${fmt(opt.loss, 5)}</strong>, the Chinchilla-optimal model ${fmt(chin.loss, 5)}.`;
    }
    // The assumed defaults that move the answer most, beside the number they drive (the CLI
    // prints them first, as "assumed ...").
    const keyLines = plan.key_assumptions || [];
    $("key_assumptions").hidden = !keyLines.length;
    $("key_assumptions").replaceChildren(...keyLines.map((t) => {
      const li = document.createElement("li");
      li.textContent = `assumed ${t}`;
      return li;
    }));
    $("table").tBodies[0].replaceChildren(...Object.keys(chin).map((key) => {
      const tr = document.createElement("tr");
      tr.dataset.key = key;
      [key.replace(/_/g, " "), quantity(key, chin[key]), quantity(key, opt[key]),
        key in ratios ? ratio(ratios[key]) : ""].forEach((text, i) => {
        const td = tr.insertCell();
        td.textContent = text;
        if (i === 2) td.className = "opt";
      });
      return tr;
    }));
    const limit = plan.data_limit;
    if (limit) {  // epochs over the unique data, effective tokens (as the CLI's table)
      for (const [key, label, c, o] of [
        ["epochs", "epochs over unique data", fmt(limit.chinchilla_epochs, 3),
          fmt(limit.epochs, 3)],
        ["effective_tokens", "effective tokens D'", "",
          quantity("effective_tokens", limit.effective_tokens)]]) {
        const tr = $("table").tBodies[0].insertRow();
        tr.dataset.key = key;
        [label, c, o, ""].forEach((text, i) => {
          const td = tr.insertCell();
          td.textContent = text;
          if (i === 2) td.className = "opt";
        });
      }
    }
    const a = plan.assumptions, lines = [
      plan.law.form && plan.law.form !== "chinchilla"
        ? `law ${plan.law.name}: ${lawText(plan.law)}`
        : `law ${plan.law.name}: E=${plan.law.E} A=${plan.law.A} B=${plan.law.B} ` +
          `alpha=${plan.law.alpha} beta=${plan.law.beta}`,
      "demand: " + Object.entries(plan.demand).map(([k, v]) => `${k}=${quantity(k, v)}`)
        .join(", "),
      priced ? "cost model: " + Object.entries(a).filter(([k]) => k !== "objective")
        .map(([k, v]) => `${k}=${quantity(k, v)}`).join(", ")
        : "FLOPs: 6ND for training, 2N per inference token (input or output)",
      ...(plan.extrapolation ? plan.extrapolation.warnings.map((w) => `warning: ${w}`)
        : [`note: law ${plan.law.name} has no domain (the range of its runs): ` +
          "extrapolation not checked"]),
      ...(limit ? limit.summary : []),
      ...plan.notes.map((n) => `note: ${n}`),
      ...Object.values(linkNotes).map((n) => `note: ${n}`),
    ];
    $("assumptions").replaceChildren(...lines.map((t) => {
      const li = document.createElement("li");
      li.textContent = t;
      return li;
    }));
    renderTimeline(plan.timeline, priced);
    renderUncertainty(plan);
    drawPlots(rep, priced, costKey);
  }

  // Table rows of text; column `optCol` (the optimal plan's) is highlighted.
  function rows(tbody, data, optCol = 2) {
    tbody.replaceChildren(...data.map((cells) => {
      const tr = document.createElement("tr");
      cells.forEach((text, i) => {
        const td = tr.insertCell();
        td.textContent = text;
        if (i === optCol) td.className = "opt";
      });
      return tr;
    }));
  }

  // A dated plan (computeplan.timeline): present values, Erdil's rule, spend per year.
  function renderTimeline(t, priced) {
    $("timeline").hidden = !t;
    $("spend_figure").hidden = !t;
    if (!t) return;
    // the same rows as computeplan.render_timeline (the terminal and the HTML report)
    const c = t.chinchilla, o = t.optimal, unit = priced ? "cost_usd" : "flops";
    const money = priced ? usd : flops, label = priced ? "cost" : "FLOP-equivalents";
    const rate = (x) => x.local_exchange_rate === null ? "inf" : fmt(x.local_exchange_rate);
    rows($("timeline_table").tBodies[0], [
      ["training days (serving starts)", fmt(c.train_days), fmt(o.train_days), ""],
      ["inference present-value factor f", fmt(c.inference_present_value_factor),
        fmt(o.inference_present_value_factor), ""],
      [`PV inference ${label}`, money(c[`present_value_inference_${unit}`]),
        money(o[`present_value_inference_${unit}`]), ""],
      [`PV lifetime ${label}`, money(c[`present_value_total_${unit}`]),
        money(o[`present_value_total_${unit}`]), ratio(t.ratios[`present_value_total_${unit}`])],
      ["training share of PV spend", pct(c.train_share_of_present_value),
        pct(o.train_share_of_present_value), ""],
      ["local exchange rate r", rate(c), rate(o), ""],
      ["Erdil's rule r/(1+r)", pct(c.erdil_train_share), pct(o.erdil_train_share), ""],
    ]);
    const head = ["year", "demand share", `training ${priced ? "$" : "FLOPs"}`,
      priced ? "inference $ (nominal)" : "inference FLOPs",
      `inference PV ${priced ? "$" : "FLOP-eq."}`];
    const thead = $("per_year").tHead;
    thead.replaceChildren(document.createElement("tr"));
    for (const h of head) {
      const th = document.createElement("th");
      th.textContent = h;
      thead.rows[0].appendChild(th);
    }
    rows($("per_year").tBodies[0], t.per_year.map((y) => [String(y.year), pct(y.demand_share),
      money(y[`train_${unit}`]), money(y[`inference_${unit}`]),
      money(y[`present_value_inference_${unit}`])]), -1);
    const years = t.per_year.map((y) => y.year);
    Plot.draw($("plot_spend"), {
      title: "Spend over time", xlabel: "year from the start of training", xname: "year",
      ylabel: priced ? "USD" : "FLOPs (PV: FLOP-equivalents)", ylog: true,
      ykind: priced ? "usd" : "flops",
      series: [
        { x: years, y: t.per_year.map((y) => y[`inference_${unit}`]),
          label: priced ? "inference (nominal)" : "inference FLOPs", color: "#7fa7db",
          dash: "6 4" },
        { x: years, y: t.per_year.map((y) => y[`present_value_inference_${unit}`]),
          label: "inference, present value", color: OPT },
      ],
      marks: [{ x: 1, y: t.per_year[0][`train_${unit}`], label: "training (paid up front)",
        color: CHIN, shape: "circle" }],
    });
  }


  // The point plan beside the ranges over replicates and the robust plan (the same rows as
  // computeplan.render_uncertainty), and the sentences on the chance of a saving and a miss.
  const U_FIELDS = [["params", "parameters N"], ["train_tokens", "training tokens D"],
    ["tokens_per_param", "tokens per parameter"], ["total_flops", "lifetime FLOPs"],
    ["total_cost_usd", "lifetime cost"], ["loss", "loss"]];
  function renderUncertainty(plan) {
    const u = plan.uncertainty, box = $("uncertainty_block");
    box.hidden = !u;
    if (!u) return;
    const level = `${fmt(100 * u.level, 3)}%`, r = u.robust, o = u.optimal;
    $("uncertainty_title").textContent =
      `Under the law's uncertainty (${u.replicates} coefficient replicates)`;
    const head = ["", "Point plan", `low (${level})`, "median", `high (${level})`,
      `Robust (${fmt(100 * u.confidence, 3)}%)`];
    $("uncertainty_table").tHead.rows[0].replaceChildren(...head.map((h) => {
      const th = document.createElement("th");
      th.textContent = h;
      return th;
    }));
    // under a timeline the costs are present values, the point plan's from its timeline
    const pv = u.present_value ? plan.timeline.optimal : null;
    const point = pv ? { ...plan.optimal, total_flops: pv.present_value_total_flops,
      total_cost_usd: pv.present_value_total_cost_usd } : plan.optimal;
    const rows = U_FIELDS.filter(([k]) => o && o[k] && point[k] !== undefined)
      .map(([k, label]) => [pv && k.startsWith("total_") ? `${label} (present value)` : label,
        quantity(k, point[k]), quantity(k, o[k].lo),
        quantity(k, o[k].median), quantity(k, o[k].hi), r ? quantity(k, r[k]) : ""]);
    const pp = u.point_plan, conf = `${fmt(100 * u.confidence, 3)}%`;
    const inBudget = r && r.loss_at_confidence !== undefined;
    if (inBudget) {  // what the robust plan within a budget minimises
      rows.push([`loss under ${conf}`, fmt(pp.loss_at_confidence, 5), "", "", "",
        fmt(r.loss_at_confidence, 5)]);
    }
    rows.push(["P(target met)", pct(pp.target_met_probability), "", "", "",
      r ? pct(r.target_met_probability) : ""]);
    rows.push(["point plan loss", "", fmt(pp.loss.lo, 5), fmt(pp.loss.median, 5),
      fmt(pp.loss.hi, 5), ""]);
    $("uncertainty_table").tBodies[0].replaceChildren(...rows.map((cells) => {
      const tr = document.createElement("tr");
      cells.forEach((t) => { tr.insertCell().textContent = t; });
      return tr;
    }));
    const lines = [];
    if (u.savings) {
      lines.push(`the saving over the Chinchilla-optimal model is positive under ` +
        `${pct(u.savings.probability_positive)} of the replicates (${level} range ` +
        `${pct(u.savings.lo)} to ${pct(u.savings.hi)}, median ${pct(u.savings.median)})`);
    }
    const target = plan.target_loss !== undefined ? "the target loss"
      : `the loss the central law predicts for it (${fmt(plan.optimal.loss, 5)})`;
    lines.push(`the point plan misses ${target} under ` +
      `${pct(1 - pp.target_met_probability)} of the replicates`);
    if (inBudget) {
      lines.push(`robust plan within the budget: ${quantity("params", r.params)} parameters ` +
        `on ${quantity("train_tokens", r.train_tokens)} tokens reaches loss ` +
        `${fmt(r.loss_at_confidence, 5)} under ${pct(r.target_met_probability)} of the ` +
        `replicates, where the point plan reaches ${fmt(pp.loss_at_confidence, 5)} under ` +
        conf);
    } else if (r) {
      lines.push(`robust plan: ${quantity("params", r.params)} parameters on ` +
        `${quantity("train_tokens", r.train_tokens)} tokens reaches the target under ` +
        `${pct(r.target_met_probability)} of the replicates for ${pct(Math.abs(r.premium))} ` +
        `${r.premium >= 0 ? "more" : "less"} ` +
        `${pv ? "present-value " : ""}lifetime cost than the point plan`);
    }
    $("uncertainty_lines").replaceChildren(...lines.concat(u.notes).map((t) => {
      const li = document.createElement("li");
      li.textContent = t;
      return li;
    }));
  }

  function planMarks(plan, y) {
    const robust = plan.uncertainty && plan.uncertainty.robust;
    return [
      { x: plan.optimal.params, y: y(plan.optimal), label: "inference-aware optimum",
        color: OPT, shape: "star" },
      { x: plan.chinchilla.params, y: y(plan.chinchilla), label: "Chinchilla-optimal",
        color: CHIN, shape: "circle" },
      ...(robust ? [{ x: robust.params, y: y(robust), label: "robust plan", color: ROBUST,
        shape: "circle" }] : []),
    ];
  }

  function drawPlots(rep, priced, costKey) {
    const plan = rep.plan, f = rep.figures, sweep = f.demand_sweep;
    const byLoss = plan.target_loss !== undefined;
    Plot.draw($("plot_savings"), {
      title: "Savings versus demand", xlabel: "lifetime inference tokens", xname: "tokens",
      xkind: "count", ylabel: byLoss ? "%" : "Chinchilla loss - optimal loss", xlog: true,
      ylim: byLoss ? [0, 105] : undefined,
      series: byLoss ? [
        { x: sweep.inference_tokens, y: sweep[`ratio_${costKey}`].map((r) => 100 * (1 - r)),
          label: `lifetime ${priced ? "dollars" : "FLOPs"} saved %`, color: OPT },
        { x: sweep.inference_tokens, y: sweep.ratio_params.map((r) => 100 * r),
          label: "optimal size, % of Chinchilla", color: CHIN, dash: "6 4" },
      ] : [{ x: sweep.inference_tokens,
        y: sweep.chinchilla_loss.map((c, i) => c - sweep.optimal_loss[i]),
        label: "loss gained at equal budget", color: OPT }],
      vline: { x: plan.demand.inference_tokens, label: "this demand" },
      bands: byLoss && f.bands && f.bands.savings ? [{ x: f.bands.savings.inference_tokens,
        lo: f.bands.savings.savings_lo.map((v) => 100 * v),
        hi: f.bands.savings.savings_hi.map((v) => 100 * v), color: OPT,
        label: `saved, ${fmt(100 * plan.uncertainty.level, 3)}% range` }] : [],
    });
    const target = plan.optimal.loss, free = f.isoloss_unlimited;  // free: under a data limit
    Plot.draw($("plot_isoloss"), {
      title: free ? "Loss iso-curves L(N, D; U), data-limited" : "Loss iso-curves L(N, D)",
      xlabel: "parameters N", ylabel: "training tokens D",
      xname: "N", xlog: true, ylog: true, xkind: "count", ykind: "count",
      series: f.isoloss.map((c) => {
        const main = Math.abs(c.loss - target) <= 1e-9 * target;
        return { x: c.params, y: c.train_tokens, label: `L=${fmt(c.loss, 4)}`,
          color: main ? "#222" : "#a3a9b6", width: main ? 2.2 : 1.1, legend: main };
      }).concat(free ? [{ x: free.params, y: free.train_tokens, color: CHIN, dash: "6 4",
        label: `L=${fmt(free.loss, 4)} without the data limit`, width: 1.1 }] : []),
      marks: planMarks(plan, (p) => p.train_tokens),
      bands: f.bands && f.bands.isoloss ? [{ x: f.bands.isoloss.params,
        lo: f.bands.isoloss.train_tokens_lo, hi: f.bands.isoloss.train_tokens_hi,
        color: "#222", label: `target, ${fmt(100 * plan.uncertainty.level, 3)}% range` }] : [],
    });
    const cc = f.cost_curve, pv = cc.present_value_marks;  // pv: a dated plan
    const series = [{ x: cc.params, y: cc[pv ? `present_value_${costKey}` : costKey],
      label: cc.label, color: "#222" }];
    if (pv) {
      series.push({ x: cc.params, y: cc[costKey], label: "undated lifetime cost",
        color: "#a3a9b6", dash: "6 4" });
    }
    Plot.draw($("plot_cost"), {
      title: "Lifetime cost at equal loss", xlabel: "parameters N (tokens set by the loss)",
      ylabel: pv ? (priced ? "present value of lifetime cost (USD)"
        : "present value of lifetime FLOPs (FLOP-equivalents)")
        : (priced ? "lifetime cost (USD)" : "lifetime FLOPs"),
      xname: "N", xlog: true, ylog: true, xkind: "count", ykind: priced ? "usd" : "flops",
      series,
      marks: pv ? planMarks(plan, (p) => pv[p === plan.optimal ? "optimal" : "chinchilla"])
        : planMarks(plan, (p) => p[costKey]),
    });
  }

  // A tradeoff frontier (computeplan tradeoff): the law-based techniques at the plan's loss.
  async function drawTradeoff(plan, law, mine) {
    const technique = $("technique").value, svg = $("plot_tradeoff");
    const b = { technique };
    Plot.message(svg, technique, "computing the frontier…");
    if (meta.law_techniques.includes(technique)) {
      b.law = law;  // the plan's own: a preset or your law
      if (technique === "scaling-policy") b.level = plan.optimal.loss;
    }
    const response = await fetch("api/tradeoff", {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(b),
    });
    const t = await response.json();
    if (mine !== sequence) return;
    if (!response.ok) {
      Plot.message(svg, technique, "no frontier: see the caption");
      $("tradeoff_caption").textContent = t.error;
      return;
    }
    const f = t.frontier, tech = t.technique;
    // Scaling policy: the frontier is the iso-loss curve with TC = 6ND, IC = 2N per token, so
    // the optimum lies on it, and the Chinchilla model too when both have the target loss.
    const onFrontier = technique === "scaling-policy";
    const sameLoss = plan.target_loss !== undefined;
    Plot.draw(svg, {
      title: `${tech.title} at ${tech.score} ${fmt(t.level, 4)}`, xlog: true, ylog: true,
      xkind: "flops", ykind: "flops",
      xlabel: "training compute (FLOPs)", ylabel: `inference compute (${tech.inference_unit})`,
      xname: "TC",
      series: [{ x: f.train_compute, y: f.inference_compute, label: "Pareto frontier",
        color: "#222" }],
      marks: onFrontier ? [
        { x: plan.optimal.train_flops, y: 2 * plan.optimal.params, color: OPT, shape: "star",
          label: "inference-aware optimum" },
        ...(sameLoss ? [{ x: plan.chinchilla.train_flops, y: 2 * plan.chinchilla.params,
          color: CHIN, shape: "circle", label: "Chinchilla-optimal" }] : [])] : [],
    });
    // under a scaling law: the frontier's models outside the runs the law was fitted on
    const warnings = t.extrapolation ? t.extrapolation.warnings.map((w) => ` Warning: ${w}.`)
      : [];
    $("tradeoff_caption").textContent = `Span: ${fmt(t.span.train_oom, 3)} OOM of training ` +
      `for ${fmt(t.span.inference_oom, 3)} OOM of inference (exchange rate ` +
      `${fmt(t.span.exchange_rate, 3)}); ${tech.source}.${warnings.join("")}`;
  }

  // ---------------------------------------------------------------------------- the request
  async function update() {
    const s = state(), qs = query(s), mine = ++sequence;
    history.replaceState(null, "", `${location.pathname}?${qs}`);
    $("share").href = location.href;
    $("report").href = `report.html?${qs}`;
    const bad = Object.keys(linkErrors).find((name) => name in s);
    if (bad) { showError(linkErrors[bad]); return; }  // never computed with a default instead
    let b;
    try {
      b = body(s);
    } catch (err) {
      showError(err.message);
      return;
    }
    document.body.dataset.state = "loading";
    try {
      const response = await fetch("api/report", {
        method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(b),
      });
      const data = await response.json();
      if (mine !== sequence) return;
      if (!response.ok) { showError(data.error || `HTTP ${response.status}`); return; }
      render(data);
      if (meta.techniques.length) {
        try {
          await drawTradeoff(data.plan, b.law, mine);
        } catch (err) {
          $("tradeoff_caption").textContent = `tradeoff failed: ${err}`;
        }
      }
      if (mine === sequence) showError(null);
    } catch (err) {
      if (mine === sequence) showError(`request failed: ${err}`);
    }
  }

  function schedule() {
    syncVisibility();
    clearTimeout(timer);
    timer = setTimeout(update, 150);
  }

  async function start() {
    const [m, catalog] = await Promise.all(["api/meta", "api/gpus"].map(
      async (url) => (await fetch(url)).json()));
    meta = m;
    gpuNames = new Map(catalog.gpus.flatMap((g) =>
      [[g.name, g.name], ...g.aliases.map((a) => [a, g.name])]));
    fillMeta();
    restore(new URLSearchParams(location.search));
    syncVisibility();
    const form = $("inputs");
    form.addEventListener("input", schedule);
    form.addEventListener("change", (ev) => {
      if (ev.target.tagName === "SELECT" && (ev.target.name in linkNotes ||
          ev.target.name in linkErrors)) {  // the user chose: the link's value is gone
        delete linkNotes[ev.target.name];
        delete linkErrors[ev.target.name];
        for (const o of ev.target.querySelectorAll("option.unknown")) o.remove();
      }
      if (ev.target.classList.contains("gpu")) refreshDtypes();
      schedule();
    });
    form.addEventListener("submit", (ev) => { ev.preventDefault(); update(); });
    $("technique").addEventListener("change", update);
    await update();
  }

  start().catch((err) => showError(`could not start: ${err}`));
})();
