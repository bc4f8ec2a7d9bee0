"""`computeplan fit`: fit a loss law (any form) to a CSV file of training runs, or one law per CSV
file of a folder (an ensemble, locally or on a Dask cluster)."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from ..defaults import DEFAULT_ASYMMETRY
from ..errors import InputError
from .app import JsonFlag, Output, command, emit
from .progress import progress_for

_C = "Columns"
_F = "Filters"
_M = "Method"
_O = "Output"
_E = "Ensemble (a folder of runs files)"


def _opt(flag: str, help_: str, panel: str, **kw):
    return typer.Option(flag, help=help_, rich_help_panel=panel, **kw)


@command("fit")
def fit(
    runs: Annotated[Path, typer.Argument(
        help="CSV file with a header row and one row per run, or a folder of such files (one "
        "law per file: an ensemble).", show_default=False)],
    params_col: Annotated[str, _opt("--params-col", "Column of parameter counts N.", _C)]
        = "params",
    tokens_col: Annotated[str | None, _opt(
        "--tokens-col", "Column of training tokens D (default: tokens).", _C)] = None,
    flops_col: Annotated[str | None, _opt(
        "--flops-col", "Column of training FLOPs C; tokens are derived as D = C / (6 N).", _C)]
        = None,
    loss_col: Annotated[str, _opt("--loss-col", "Column of final losses.", _C)] = "loss",
    weight_col: Annotated[str | None, _opt("--weight-col", "Column of run weights >= 0.", _C)]
        = None,
    unique_tokens_col: Annotated[str | None, _opt(
        "--unique-tokens-col", "Column of each run's unique tokens U: runs with more tokens "
        "repeat data, and R_D*, R_N* are fitted (Muennighoff et al. 2023).", _C)] = None,
    where: Annotated[list[str] | None, _opt(
        "--where", "Keep the rows whose text in COLUMN is (or, with !=, is not) VALUE, e.g. "
        "'train_dataset=c4_original'; repeat to apply several.", _F, metavar="COLUMN=VALUE")]
        = None,
    drop_highest_loss: Annotated[int, _opt(
        "--drop-highest-loss", "Drop the K highest-loss runs first.", _F, metavar="K")] = 0,
    min_tokens_per_param: Annotated[float | None, _opt(
        "--min-tokens-per-param", "Keep runs with at least this many tokens per parameter.",
        _F)] = None,
    max_tokens_per_param: Annotated[float | None, _opt(
        "--max-tokens-per-param", "Keep runs with at most this many tokens per parameter.",
        _F)] = None,
    tokens_per_param_power: Annotated[float, _opt(
        "--tokens-per-param-power", "Weight each run by its tokens per parameter to the "
        "POWER (the factors scaled to a mean of 1), in [0, 4], to lean the fit toward the "
        "longest runs, toward where inference-aware plans extrapolate (1 lowered --form auto's "
        "and average's held-out error on Gadre et al.'s runs; 0: equal weights, as the "
        "published fits).", _M,
        metavar="POWER")] = 0.0,
    form: Annotated[str, _opt(
        "--form", "Law form: chinchilla (E + A/N^alpha + B/D^beta), tied (alpha = beta), "
        "kaplan (E + (A N^(-alpha/beta) + B/D)^beta), beta-of-n (data exponent beta0 + "
        "beta1 ln(N/1e9)), farseer, auto (every form, the best by extrapolation "
        "cross-validation) or average (every form, weighted by it).", _M)] = "chinchilla",
    objective: Annotated[str, _opt(
        "--objective", "huber (Hoffmann et al., delta 1e-3 on log loss), asymmetric (penalise "
        "over-prediction: lower envelope) or lsq (least squares on log loss).", _M)] = "huber",
    asymmetry: Annotated[float, _opt(
        "--asymmetry", "Share of the penalty on over-prediction for --objective asymmetric, "
        "in (0.5, 1).", _M)] = DEFAULT_ASYMMETRY,
    bootstrap: Annotated[int, _opt(
        "--bootstrap", "Refit K resamples of the runs for standard errors and 95% intervals.",
        _M, metavar="K")] = 0,
    seed: Annotated[int | None, _opt("--seed", "Seed of the bootstrap resampling.", _M)] = None,
    holdout: Annotated[str | None, _opt(
        "--holdout", "Fit without the runs matching QUANTITY OP VALUE (QUANTITY: params, "
        "tokens, tokens_per_param, flops; epochs = D / U with --unique-tokens-col) and report "
        "errors predicting them, e.g. 'tokens_per_param>100'.", _M)] = None,
    full_grid: Annotated[bool, _opt(
        "--full-grid", "Run L-BFGS from every start of the grid (4,500 for the chinchilla "
        "form), not only from those with the lowest objective value (the default: 100, and "
        "every start when their optimum is not usable; same optimum, several times faster).",
        _M, metavar="")] = False,
    holdout_level: Annotated[float, _opt(
        "--holdout-level", "Level of the predictive intervals of the held-out runs (coefficient "
        "uncertainty, run scatter and an extrapolation term from cross-validation).", _M)]
        = 0.9,
    out: Annotated[Path | None, _opt(
        "--out", "Write the fitted law as JSON (use with `computeplan plan --law FILE`); for a "
        "folder of runs, a folder that receives one law NAME.json per reliable fit.", _O)]
        = None,
    plot: Annotated[Path | None, _opt(
        "--plot", "Write a PNG of loss versus compute with fitted iso-parameter curves.",
        _O)] = None,
    workers: Annotated[int | None, _opt(
        "--workers", "Fit a folder's files on a local Dask cluster of N worker processes "
        "(needs computeplan\\[dask]).", _E)] = None,
    scheduler: Annotated[str | None, _opt(
        "--scheduler", "Fit a folder's files on the Dask cluster at ADDRESS (tcp://host:8786).",
        _E)] = None,
    as_json: JsonFlag = False,
):
    """Fit a loss law L(N, D) to your own training runs (default E + A/N^alpha + B/D^beta).

    Method: Hoffmann et al. (2022) Approach 3; other forms (--form) the same objective.
    Huber loss (delta 1e-3) on log loss, L-BFGS from the 100 best of the 4,500 grid points by
    objective value (--full-grid: from all of them), best kept.
    Exit status 1 if the fit (with unique tokens: the base law) did not converge or is on a
    boundary (no law file then).

    A folder of CSV files is fitted file by file with the same options (on --workers or
    --scheduler when given); exit status 1 if any file failed or is not reliable.

    Example: computeplan fit runs.csv --bootstrap 200 --seed 0 --out law.json
    """
    from ..commands.fit import fit as run

    options = dict(params_col=params_col, tokens_col=tokens_col, flops_col=flops_col,
                   loss_col=loss_col, weight_col=weight_col, where=where,
                   unique_tokens_col=unique_tokens_col, drop_highest_loss=drop_highest_loss,
                   min_tokens_per_param=min_tokens_per_param,
                   max_tokens_per_param=max_tokens_per_param,
                   tokens_per_param_power=tokens_per_param_power, form=form, objective=objective,
                   asymmetry=asymmetry, bootstrap=bootstrap, seed=seed, holdout=holdout,
                   holdout_level=holdout_level, full_grid=full_grid)
    if runs.is_dir():
        if plot is not None:
            raise InputError("--plot draws one fit; it cannot be used with a folder of runs")
        return _fit_folder(runs, out, workers, scheduler, as_json, options)
    if workers is not None or scheduler is not None:
        raise InputError("--workers and --scheduler fit a folder of runs files; "
                         f"{str(runs)!r} is one file")
    law_out = Output("--out", out, inputs=[runs])  # fail before the fit, not after it
    plot_out = Output("--plot", plot, inputs=[runs, out])
    progress = progress_for("bootstrap refits", as_json) if bootstrap else None
    try:
        result = run(runs, **options, name=out.stem if out else "fit",
                     on_progress=progress.update if progress else None)
    finally:
        if progress:
            progress.stop()
    emit(result, as_json, lambda console: _render(console, result))
    if plot is not None and result.law is not None:
        from ..plots.fit import plot_fit

        plot_fit(result, plot)
        plot_out.written()
    elif plot is not None:
        print(f"warning: not drawing {plot}: the coefficients do not form a law (a coefficient "
              "is not > 0)", file=sys.stderr)
    if not result.ok:
        if as_json:  # the table already lists the warnings on stdout
            for w in result.warnings:
                print(f"warning: {w}", file=sys.stderr)
        print("warning: the fit is not reliable" + (f"; not writing {out}" if out else ""),
              file=sys.stderr)
        raise typer.Exit(1)
    law_out.write(result.law.to_json())


def _render(console, result) -> None:
    from ..fitting.outliers import off_law_note
    from ..fitting.runs import optimal_tokens_per_param_rows
    from ..render import fmt, table

    if result.selection is not None:
        _render_selection(console, result.selection)

    boot = result.bootstrap
    ci = boot.intervals() if boot else {}
    cols = ["coefficient", "value"] + (["std. error", f"{100 * boot.level:g}% interval"]
                                       if boot else [])
    rows = []
    for k in result.coefficients:
        row = [k, fmt(result.coefficients[k], 5)]
        if boot:
            c = ci[k]
            row += [fmt(c["se"], 3), _interval(c, 4)]
        rows.append(row)
    f = result.fit
    console.print(table(f"Fitted law (form {result.form}, {f.objective}, {result.n_runs} runs)",
                        cols, rows, caption=f"objective value {fmt(f.objective_value, 6)}; "
                        f"starts: {_starts(f.starts)}, {f.starts['converged']} converged, "
                        f"{f.starts['reaching_best']} reaching the best"))
    r = result.residuals
    console.print(table("Residuals", ["", "value"], [
        ["rms of log residual", fmt(r["rms_log_residual"], 3)],
        ["median |relative error|", f"{100 * r['median_abs_relative_error']:.2f}%"],
        ["max |relative error|", f"{100 * r['max_abs_relative_error']:.2f}%"],
        ["share of runs over-predicted", f"{100 * r['share_over_predicted']:.1f}%"],
    ]))
    optimal = optimal_tokens_per_param_rows(result.budgets, result.tokens_per_param,
                                            result.runs)
    if optimal is not None:
        tpp_rows = []
        boot_tpp = None if not boot else (
            result.tokens_per_param_intervals() if result.form != "chinchilla"
            else boot.tokens_per_param_intervals())
        for j, o in enumerate(optimal):
            row = [fmt(o["train_flops"]), fmt(o["tokens_per_param"], 4)]
            if boot_tpp:
                row += [fmt(boot_tpp[j]["se"], 3), _interval(boot_tpp[j], 4)]
            beyond = o["beyond_runs_oom"]
            tpp_rows.append(row + [f"{beyond:.2f} OOM" if beyond > 0 else "within"])
        console.print(table("Compute-optimal tokens per parameter",
                            ["training FLOPs", "D/N"] + cols[2:] + ["beyond the runs"],
                            tpp_rows, caption="beyond the runs: orders of magnitude of "
                            "training compute past the largest run fitted (6 N D), where "
                            "D/N is an extrapolation of the law"))
    rep = result.repetition
    if rep is not None:
        fitted = set(rep.fitted)
        rb = rep.bootstrap
        rep_ci = rb.intervals() if rb else {}
        rep_rows = []
        for key, label in (("rd_star", "rd_star (R_D*)"), ("rn_star", "rn_star (R_N*)")):
            row = [label, fmt(getattr(rep, key), 5),
                   "fitted" if key in fitted else "kept: not determined"]
            if rb:
                c = rep_ci.get(key)
                row += ["-", "-"] if c is None else [fmt(c["se"], 3) if c["se"] is not None
                                                     else "-", _interval(c, 4)]
            rep_rows.append(row)
        caption = (f"{rep.n_repeated} runs repeat data, {rep.n_excess_params} have more "
                   f"parameters than N_opt(U); objective value {fmt(rep.objective_value, 6)}")
        if rb:
            caption += (f"; bootstrap: {int(rb.ok.sum())} of {len(rb.ok)} replicates used "
                        "(base replicate usable, refit converged, R* in [1e-3, 1e6])")
        console.print(table("Repetition (Muennighoff et al. 2023)",
                            ["coefficient", "value", ""] + cols[2:] if rb else
                            ["coefficient", "value", ""], rep_rows, caption=caption))
    if result.holdout:
        h = result.holdout.summary()
        console.print(table(
            f"Hold-out check: fit without {result.holdout.rule!r}", ["", "value"], [
                ["runs fitted / held out", f"{h['n_fit']} / {h['n_held_out']}"],
                ["mean relative error", f"{100 * h['mean_relative_error']:+.2f}%"],
                ["mean |relative error|", f"{100 * h['mean_abs_relative_error']:.2f}%"],
                ["max |relative error|", f"{100 * h['max_abs_relative_error']:.2f}%"],
                ["share under-predicted", f"{100 * h['share_under_predicted']:.1f}%"],
                *_coverage_rows(result.holdout.intervals),
            ], caption="relative error = predicted / actual loss - 1 on the held-out runs"))
    lines = [f"runs: {result.runs.source}"] + [f"note: {n}" for n in result.runs.notes]
    far = off_law_note(result.outliers)
    if far:
        lines.append(f"note: {far}")
    if rep is not None:
        lines += [f"note: {n}" for n in rep.notes]
    if boot:
        lines.append(f"bootstrap: {boot.n_replicates} resamples (seed {boot.seed}), "
                     f"{int((~boot.ok).sum())} failed or on a boundary and left out")
    if result.holdout:
        lines += [f"warning (hold-out fit): {w}" for w in result.holdout.fit.warnings]
    lines += [f"warning: {w}" for w in result.warnings]
    edge = "" if rep is None or not rep.at_bound else (
        f"; {' and '.join(rep.at_bound)} at the edge of its range, see the note")
    lines.append("status: " + (f"ok ({'the base law ' if rep else ''}converged, not on a "
                               f"boundary{edge})" if result.ok
                               else "NOT RELIABLE (see warnings)"))
    for line in lines:
        console.print(line, highlight=False, soft_wrap=True)


def _starts(starts: dict) -> str:
    """'4500' or '4500, 100 minimised' (the starts screened by objective value)."""
    total, minimised = starts["total"], starts.get("minimised")
    if minimised is None or minimised == total:
        return f"{total}"
    return f"{total} screened, {minimised} minimised"


def _coverage_rows(iv: dict | None) -> list[list[str]]:
    if iv is None:
        return []
    lvl = f"{100 * iv['level']:g}%"
    return [[f"{lvl} predictive intervals: coverage", f"{100 * iv['coverage']:.1f}%"],
            ["  mean half-width", f"{100 * iv['mean_relative_half_width']:.2f}%"],
            ["  without the extrapolation term",
             f"{100 * iv['coverage_without_extrapolation_term']:.1f}%"],
            ["  run scatter (rms log residual)", f"{iv['run_scatter']:.4f}"],
            ["  extrapolation scale (per ln unit)", f"{iv['extrapolation_scale']:.4f}"]]


def _render_selection(console, selection: dict) -> None:
    from ..render import table

    folds = list(selection["folds"])
    weights = selection.get("weights")
    rows = []
    for row in selection["table"]:
        averaged = weights is not None and row["form"] == selection["chosen"]
        last = ("chosen" if row["form"] == selection["chosen"] else "") if weights is None else (
            "" if averaged else _pct(weights.get(row["form"], 0.0)))
        rows.append(["average" if averaged and len(weights) > 1 else row["form"],
                     str(row["n_coefficients"]),
                     *[_pct(row["scores"].get(k)) for k in folds], _pct(row["score"]), last])
    info = "; ".join(f"{k}: {v['n_fit']} fitted, {v['n_held_out']} held out"
                     for k, v in selection["folds"].items())
    title = ("Forms weighted by extrapolation cross-validation" if weights is not None
             else "Form selection by extrapolation cross-validation")
    console.print(table(title, ["form", "coefficients", *[f"error ({k})" for k in folds],
                                "score", "" if weights is None else "weight"],
                        rows, caption=f"folds: {info}. Rule: {selection['rule']}"))


def _pct(x) -> str:
    import math

    if x is None or not math.isfinite(x):
        return "-"
    return f"{100 * x:.2f}%"


def _interval(summary: dict, digits: int) -> str:
    from ..render import fmt

    if summary["lo"] is None:
        return "-"
    return f"{fmt(summary['lo'], digits)} - {fmt(summary['hi'], digits)}"


def _fit_folder(folder: Path, out: Path | None, workers, scheduler, as_json: bool,
                options: dict) -> None:
    """Fit every CSV file of ``folder``; write each reliable law to ``out``/NAME.json."""
    from ..commands.fit import fit_folder
    from ..files import check_output, write_atomic

    if out is not None:
        if out.exists() and not out.is_dir():
            raise InputError(f"--out {str(out)!r}: with a folder of runs, --out names a folder "
                             "for the laws; this is a file")
        if out.resolve() == folder.resolve():
            raise InputError(f"--out {str(out)!r}: write the laws to another folder than the "
                             "runs")
        out.mkdir(parents=True, exist_ok=True)
    progress = progress_for("fits", as_json)
    try:
        result = fit_folder(folder, workers=workers, scheduler=scheduler,
                            on_fit=progress.update if progress else None, **options)
    finally:
        if progress:
            progress.stop()
    if out is not None:
        written, replaced = [], []
        for row in result.rows:
            if row.get("law") is not None:
                path = out / f"{row['name']}.json"
                check_output(path, flag="--out")
                if write_atomic(path, row["law"], flag="--out"):
                    replaced.append(str(path))
                written.append(str(path))
        result = replace(result, written=tuple(written))
        if replaced:
            print(f"note: replaced {len(replaced)} existing law file"
                  f"{'s' if len(replaced) != 1 else ''} in {str(out)!r}", file=sys.stderr)
    emit(result, as_json, lambda console: _render_folder(console, result))
    if not result.ok:
        bad = [r["file"] for r in result.rows if not r["ok"]]
        print(f"warning: {len(bad)} of {len(result.rows)} files failed or are not reliable: "
              + ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else ""),
              file=sys.stderr)
        raise typer.Exit(1)


def _render_folder(console, result) -> None:
    """One table of fits and one of their spread per form (one form unless ``--form auto`` or
    ``average`` chose different forms for different files), then the files not fitted."""
    from ..formaverage import is_average
    from ..render import fmt, table

    groups = result.by_form()
    spread = result.spread() or {}
    lo_hi = f"{100 * result.level:g}% range"
    for form, fitted in groups.items():
        names = list(fitted[0]["coefficients"])
        # an average's parts have too many coefficients for one row: its weights here
        shown = [k for k in names if k.endswith(".weight")] if is_average(form) else names
        rows = [[r["file"], str(r["n_runs"]), *[fmt(r["coefficients"][k], 4) for k in shown],
                 "ok" if r["ok"] else "NOT RELIABLE: " + "; ".join(r["warnings"])]
                for r in fitted]
        console.print(table(
            f"Fitted laws, form {form} ({len(fitted)} of {len(result.rows)} files in "
            f"{result.folder})", ["file", "runs", *shown, "status"], rows,
            caption=None if shown == names else "the parts' coefficients: in the law files and "
            "with --json" + (", their spread below" if form in spread else "")))
        if form in spread:
            s = spread[form]
            console.print(table(
                f"Spread across the reliable fits (form {form}, {s['fits']} fits)",
                ["coefficient", "median", lo_hi],
                [[k, fmt(v["median"], 4), f"{fmt(v['lo'], 4)} - {fmt(v['hi'], 4)}"]
                 for k, v in s["coefficients"].items()]))
    errors = [[r["file"], r["error"]] for r in result.rows if r["error"] is not None]
    if errors:
        console.print(table(f"Files not fitted ({len(errors)} of {len(result.rows)})",
                            ["file", "error"], errors))
    reliable = sum(r["ok"] for r in result.rows)
    lines = [f"{reliable} of {len(result.rows)} fits reliable, on {result.backend} "
             f"({result.workers} worker{'s' if result.workers != 1 else ''}) in "
             f"{result.seconds:.2f} s"]
    if result.written:
        lines.append(f"laws written: {len(result.written)} files in "
                     f"{str(Path(result.written[0]).parent)!r} (a sweep takes them as an axis: "
                     "law: {glob: \"DIR/*.json\"})")
    far = [r["file"] for r in result.rows if r.get("outliers")]
    if far:
        lines.append(f"note: {len(far)} file{'s have' if len(far) > 1 else ' has'} runs far off "
                     f"{'their' if len(far) > 1 else 'its'} fitted law ({', '.join(far[:5])}"
                     f"{', ...' if len(far) > 5 else ''}; JSON: fits[].outliers, and each "
                     "file's own fit names them)")
    if result.chooses_form and groups:
        counts = ", ".join(f"{f}: {len(g)} file{'s' if len(g) != 1 else ''}"
                           for f, g in groups.items())
        lines.append(f"note: with --form {result.form} each file's form comes from its own runs "
                     f"({counts})" + ("; each form's spread is over its own reliable fits "
                                      "(coefficients of different forms are not comparable)"
                                      if len(groups) > 1 else ""))
    for line in lines:
        console.print(line, highlight=False, soft_wrap=True)
