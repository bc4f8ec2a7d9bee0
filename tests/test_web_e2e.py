"""End to end: a real server on 127.0.0.1 and the page driven in headless Debian Chromium.

The page must show the numbers of ``computeplan plan --json`` (REFERENCES section 2), update them
when the demand changes, keep its state in the URL, and draw its plots. A screenshot is saved.
"""

import re
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's chromium is not at /usr/bin/chromium (apt-get install chromium); CI has it")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
uvicorn = pytest.importorskip("uvicorn", reason="the web extra is not installed")

import computeplan.render as numbers  # noqa: E402
from cli_helpers import run_json  # noqa: E402
from computeplan.render import count, flops, pct, quantity, ratio, usd  # noqa: E402
from computeplan.web import create_app  # noqa: E402
from published import SARDANA_DOLLARS, cli_args  # noqa: E402

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
DOLLAR_QUERY = {"loss": "1.947", "law": "sardana2024", "objective": "usd"} | {
    k: str(v) for k, v in SARDANA_DOLLARS.items()}

CLI_DOLLARS = cli_args(SARDANA_DOLLARS)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port,
                                        log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    srv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM),
            headless=True, args=CHROMIUM_ARGS, viewport={"width": 1400, "height": 1500})
        yield context
        context.close()


def ready(page):
    page.wait_for_selector("body[data-state=ready]", timeout=15000)


def open_page(browser, server, query):
    """A new page at the URL of ``query``, ready, and the list its uncaught errors go to."""
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server + "?" + urlencode(query))
    ready(page)
    return page, errors


def cell(page, key, column):
    return page.locator(f"#table tr[data-key={key}] td").nth(column).inner_text()


def test_page_shows_cli_numbers_and_updates_with_demand(server, browser, tmp_path):
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("request", lambda req: None if req.url.startswith(server) or req.url.startswith(
        "data:") else errors.append(f"request outside the server: {req.url}"))
    page.goto(server)
    ready(page)
    # First visit: the published FLOPs example, as `computeplan plan --json` gives it.
    expected = run_json("plan", "--loss", "1.947", "--inference-tokens", "2e12")
    # Readable numbers, the published ones (N = 2.418e10) to their 4 digits.
    assert cell(page, "params", 2) == "24.18B" == count(expected["optimal"]["params"])
    assert cell(page, "params", 1) == count(expected["chinchilla"]["params"])
    assert cell(page, "train_tokens", 2) == "2.657T"
    assert cell(page, "total_flops", 2) == flops(expected["optimal"]["total_flops"])
    assert cell(page, "params", 3) == "70.96%"
    assert cell(page, "train_tokens", 3) == "146.77%"
    assert cell(page, "total_flops", 3) == "95.22%"
    assert page.inner_text("#savings") == pct(1 - expected["ratios"]["total_flops"])

    # Change the demand: the numbers follow, and the URL carries the new state.
    page.fill("input[name=inference_tokens]", "2e13")
    page.wait_for_function("document.location.search.includes('inference_tokens=2e13')")
    ready(page)
    page.wait_for_function(
        "document.querySelector('#table tr[data-key=params] td:nth-child(3)').textContent"
        " !== '24.18B'")
    ready(page)
    expected = run_json("plan", "--loss", "1.947", "--inference-tokens", "2e13")
    assert cell(page, "params", 2) == count(expected["optimal"]["params"])
    assert cell(page, "total_flops", 3) == ratio(expected["ratios"]["total_flops"])
    assert page.inner_text("#savings") == pct(1 - expected["ratios"]["total_flops"])
    assert page.locator("#plot_isoloss polygon").count() >= 1  # the optimum's star
    assert "report.html?" in page.get_attribute("#report", "href")

    # An invalid input gives the server's message, naming the field (the 422 is expected).
    assert errors == []
    page.fill("input[name=inference_tokens]", "-5")
    page.wait_for_selector("body[data-state=error]", timeout=15000)
    assert "inference_tokens must be >= 0" in page.inner_text("#error")
    assert page.get_attribute("input[name=inference_tokens]", "class") == "invalid"


def test_shared_link_reproduces_the_dollar_example(server, browser, tmp_path):
    page = browser.new_page()
    page.goto(server + "?" + urlencode(DOLLAR_QUERY))
    ready(page)
    expected = run_json("plan", "--loss", "1.947", *CLI_DOLLARS)
    assert cell(page, "params", 2) == "20.53B" == count(expected["optimal"]["params"])
    assert cell(page, "train_tokens", 2) == "3.302T"
    assert cell(page, "total_cost_usd", 2) == usd(expected["optimal"]["total_cost_usd"])
    assert cell(page, "total_cost_usd", 2).startswith("$")
    assert cell(page, "params", 3) == "60.23%"
    assert cell(page, "train_tokens", 3) == "182.41%"
    assert cell(page, "total_cost_usd", 3) == "88.76%"
    assert page.input_value("select[name=inference_dtype]") == "int8"
    assumptions = page.inner_text("#assumptions")
    for text in ("inference_gpu=a100-40gb", "inference_dtype=int8",
                 "inference_usd_per_gpu_hour=$0.60", "decode_mfu=0.2"):
        assert text in assumptions
    # The roofline inference cost: the MFU fields give way to batch and context.
    page.select_option("select[name=decode_model]", "roofline")
    page.fill("input[name=batch]", "32")
    page.wait_for_function("document.location.search.includes('batch=32')")
    page.wait_for_function("!document.location.search.includes('decode_mfu')")
    ready(page)
    page.wait_for_function("document.querySelector('#assumptions').textContent"
                           ".includes('batch=32')")
    roofline = run_json("plan", "--loss", "1.947", *CLI_DOLLARS[:-4], "--decode-model",
                        "roofline", "--batch", "32")
    assert cell(page, "params", 2) == count(roofline["optimal"]["params"])
    assert cell(page, "total_cost_usd", 3) == ratio(roofline["ratios"]["total_cost_usd"])
    assert page.is_hidden("input[name=decode_mfu]")
    shot = tmp_path / "computeplan-page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


def test_page_reproduces_sardana_figure_1(server, browser):
    """A Chinchilla-optimal 13B model served for 2e12 tokens: a ~7B model trained longer
    saves ~1.7e22 FLOPs (17%) over the lifetime (Sardana et al. 2024, Figure 1)."""
    page = browser.new_page()
    page.goto(server + "?" + urlencode({"reference_params": "13e9",
                                        "inference_tokens": "2e12"}))
    ready(page)
    expected = run_json("plan", "--reference-params", "13e9", "--inference-tokens", "2e12")
    assert page.input_value("#target_kind") == "reference_params"
    assert cell(page, "params", 2) == count(expected["optimal"]["params"])
    assert cell(page, "params", 2).endswith("B")
    assert round(float(cell(page, "params", 2)[:-1])) == 7
    saved = expected["chinchilla"]["total_flops"] - expected["optimal"]["total_flops"]
    headline = page.inner_text("#headline")
    assert f"({flops(saved)} FLOPs)" in headline and f"{saved:.1e}" == "1.7e+22"
    assert page.inner_text("#savings") == pct(1 - expected["ratios"]["total_flops"])
    assert page.inner_text("#savings").startswith("17.")


PLOTS = ("plot_savings", "plot_isoloss", "plot_cost", "plot_tradeoff")


def notation(label: str) -> str:
    """The notation of an axis label: powers of ten (10²⁵, 2×10²⁵) or plain/suffixed numbers
    (0.5, 50, 20B, $2M)."""
    if re.fullmatch(r"([125]×)?10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+", label):
        return "power"
    assert re.fullmatch(r"-?\$?[0-9.,]+[kMBT]?", label), label
    return "plain"


@pytest.mark.parametrize("query", [{}, DOLLAR_QUERY, {"budget_flops": "1e24"},
                                   {"reference_params": "13e9", "inference_tokens": "2e12"}])
def test_every_plot_draws_on_first_load_with_one_notation_per_axis(server, browser, query):
    """At 1400x2600, every panel (the tradeoff frontier included) has lines and tick labels as
    soon as the page is ready, and each axis labels all its ticks in one notation."""
    page = browser.new_page()
    page.set_viewport_size({"width": 1400, "height": 2600})
    page.goto(server + ("?" + urlencode(query) if query else ""))
    ready(page)
    assert page.is_visible("#tradeoff_figure")  # the tradeoff command exists
    for plot in PLOTS:
        assert page.locator(f"#{plot} path[stroke]").count() >= 1, plot
        for axis in ("xtick", "ytick"):
            labels = page.locator(f"#{plot} .{axis}").all_text_contents()
            assert len(labels) >= 2, (plot, axis, labels)
            assert len({notation(t) for t in labels}) == 1, (plot, axis, labels)
    assert page.locator("#plot_tradeoff .message").count() == 0  # no placeholder left


FORMAT_VALUES = [0.0, -0.0, 1e-7, 0.0004523, 0.00125, 0.5, 0.6, 1.0, 1.4, 1.947123, 9.995,
                 12.345, 99.995, 109.87, 175.005, 999.96, 1000.0, 2048.0, 2048.3, 9999.5,
                 12345.0, 85830.0, 1.6055e6, 3.408e10, 2.4178e10, 1.81e12, 999.96e12, 2.5e15,
                 3.7e23, 5938.5608, -85830.0, -0.7096, 0.7096, 1.8241]


def test_page_formats_numbers_exactly_as_python(server, browser):
    """static/format.js and computeplan.render give the same text for the same numbers and
    field names (one formatter for the tables, the report and the page)."""
    import random

    rng = random.Random(20240101)
    values = FORMAT_VALUES + [10 ** rng.uniform(-4, 17) * rng.choice((1, -1))
                              for _ in range(300)]
    values += [round(v, rng.randint(0, 3)) for v in values[-100:]]  # exact ties and integers
    page = browser.new_page()
    page.goto(server)
    ready(page)
    keys = ["params", "train_tokens", "total_cost_usd", "train_usd_per_gpu_hour", "total_flops",
            "gpus", "loss", "train_mfu", "optimal.params", "tokens_per_param", "heads",
            "ratios.total_flops", "ratio_total_cost_usd"]
    got = page.evaluate(
        """([values, keys]) => {
        return {fmt: values.map((x) => Fmt.fmt(x)), count: values.map((x) => Fmt.count(x)),
        usd: values.map((x) => Fmt.usd(x)), flops: values.map((x) => Fmt.flops(x)),
        pct: values.map((x) => Fmt.pct(x)), ratio: values.map((x) => Fmt.ratio(x)),
        integer: values.map((x) => Fmt.integer(x)), kind: keys.map((k) => Fmt.kind(k)),
        quantity: keys.map((k, i) => Fmt.quantity(k, values[i + 40]))}; }""",
        [values, keys])
    for name in ("fmt", "count", "usd", "flops", "pct", "ratio", "integer"):
        f = getattr(numbers, name)
        assert got[name] == [f(v) for v in values], name
    assert got["kind"] == [numbers.kind(k) for k in keys]
    assert got["quantity"] == [quantity(k, values[i + 40]) for i, k in enumerate(keys)]


def test_dated_plan_shows_present_values_per_year_spend_and_its_plot(server, browser):
    """A timeline in the URL dates the plan: the page shows the present-value table, one row a
    year, the spend-over-time plot, and the headline's saving is the present-value one."""
    query = {"loss": "1.947", "inference_tokens": "2e13", "horizon_days": "730",
             "price_performance_doubling_years": "all-gpus", "discount_rate_per_year": "0.1",
             "train_gpus": "1024"}
    page, errors = open_page(browser, server, query)
    expected = run_json("plan", *cli_args(query))
    t = expected["timeline"]
    assert page.is_visible("#timeline") and page.is_visible("#spend_figure")
    pv = page.locator("#timeline_table tbody tr").nth(3).locator("td")
    assert pv.nth(0).inner_text() == "PV lifetime FLOP-equivalents"
    assert pv.nth(2).inner_text() == flops(t["optimal"]["present_value_total_flops"])
    assert pv.nth(3).inner_text() == ratio(t["ratios"]["present_value_total_flops"])
    assert page.locator("#per_year tbody tr").count() == len(t["per_year"]) == 3
    assert page.inner_text("#savings") == pct(1 - t["ratios"]["present_value_total_flops"])
    assert page.input_value("input[name=price_performance_doubling_years]") == "all-gpus"
    assert page.locator("#plot_spend path[stroke]").count() >= 1
    assert cell(page, "params", 2) == count(expected["optimal"]["params"])
    # clearing every timeline field gives today's undated plan again
    for name in query:
        if name not in ("loss", "inference_tokens"):
            page.fill(f"input[name={name}]", "")
    page.wait_for_function("!document.location.search.includes('train_gpus')")
    ready(page)
    page.wait_for_function("document.querySelector('#timeline').hidden")
    assert page.is_hidden("#spend_figure")
    assert errors == []


def test_page_with_a_data_limit_shows_the_cli_plan(server, browser):
    page = browser.new_page()
    page.goto(server + "?" + urlencode({"loss": "1.947", "inference_tokens": "2e12",
                                        "unique_tokens": "1e12"}))
    ready(page)
    expected = run_json("plan", "--loss", "1.947", "--inference-tokens", "2e12",
                        "--unique-tokens", "1e12")
    limit = expected["data_limit"]
    assert cell(page, "params", 2) == count(expected["optimal"]["params"]) == "25.35B"
    assert cell(page, "epochs", 2) == numbers.fmt(limit["epochs"], 3) == "2.6"
    assert cell(page, "effective_tokens", 2) == count(limit["effective_tokens"])
    assert page.input_value("input[name=unique_tokens]") == "1e12"
    assumptions = page.inner_text("#assumptions")
    for line in limit["summary"]:
        assert line in assumptions
    assert "1T unique tokens bind" in assumptions


SPLIT_QUERY = {"loss": "1.947", "requests": "1e10", "input_tokens": "1000",
               "output_tokens": "250", "objective": "usd"}


def test_shared_link_accepts_gpu_aliases_as_the_cli_does(server, browser):
    """``?train_gpu=a100`` is the catalog's a100-80gb (as ``--train-gpu a100``), in any case;
    the page says so, and its plan is the CLI's with the aliases. The decode MFU it assumes
    (the default that moves the dollar saving most) stands beside the headline."""
    page, errors = open_page(browser, server, SPLIT_QUERY | {"train_gpu": "a100",
                                                            "inference_gpu": "H100"})
    expected = run_json("plan", "--loss", "1.947", "--requests", "1e10", "--input-tokens",
                        "1000", "--output-tokens", "250", "--train-gpu", "a100",
                        "--inference-gpu", "H100")
    assert expected["assumptions"]["train_gpu"] == "a100-80gb"
    assert page.input_value("select[name=train_gpu]") == "a100-80gb"
    assert page.input_value("select[name=inference_gpu]") == "h100-sxm"
    assert cell(page, "params", 2) == count(expected["optimal"]["params"])
    assert cell(page, "total_cost_usd", 2) == usd(expected["optimal"]["total_cost_usd"])
    assert cell(page, "total_cost_usd", 3) == ratio(expected["ratios"]["total_cost_usd"])
    assumptions = page.inner_text("#assumptions")
    assert "train_gpu=a100-80gb" in assumptions and "inference_gpu=h100-sxm" in assumptions
    assert "train_gpu a100 (from the link) is the catalog's a100-80gb" in assumptions
    assert "inference_gpu H100 (from the link) is the catalog's h100-sxm" in assumptions
    assert "train_gpu=a100-80gb" in page.evaluate("location.search")  # the link, resolved
    # key assumptions: the plan JSON's (the API's spelling: fields), shown above the table
    from computeplan.commands.plan import plan

    key = plan(loss=1.947, requests=1e10, input_tokens=1000, output_tokens=250,
               train_gpu="a100", inference_gpu="H100").key_assumptions
    assert len(key) == len(expected["key_assumptions"]) == 1
    assert key[0].startswith("decode MFU 0.01") and "give decode_mfu or decode_model" in key[0]
    assert page.is_visible("#key_assumptions")
    assert page.locator("#key_assumptions li").all_inner_texts() == [f"assumed {k}"
                                                                      for k in key]
    top = page.locator("#key_assumptions").bounding_box()["y"]
    assert top < page.locator("#table").bounding_box()["y"]
    assert top > page.locator("#headline").bounding_box()["y"]
    # given a decode MFU, nothing is assumed that moves the answer most: the box goes
    page.fill("input[name=decode_mfu]", "0.2")
    page.wait_for_function("document.location.search.includes('decode_mfu=0.2')")
    ready(page)
    page.wait_for_function("document.querySelector('#key_assumptions').hidden")
    assert errors == []


@pytest.mark.parametrize("name, value, message", [
    ("train_gpu", "xyz", "train_gpu: unknown GPU 'xyz' in the link; known GPUs: a100-40gb, "
                         "a100-80gb"),
    ("inference_gpu", "h100 ", None),  # trimmed, as the CLI: no error
    ("inference_dtype", "fp4", "inference_dtype: 'fp4' in the link is not one of bf16"),
    ("law", "nosuchlaw", "law: 'nosuchlaw' in the link is not one of "),
    ("decode_model", "lookup", "decode_model: 'lookup' in the link is not one of mfu, roofline"),
])
def test_shared_link_with_an_unknown_choice_shows_an_error(server, browser, name, value,
                                                           message):
    """A value in the link that is not among a field's choices is an error on the page naming
    the field and the choices; it is kept in the field and the URL, and nothing is computed
    with a default in its place. Choosing a valid value computes the plan."""
    page = browser.new_page()
    computed = []
    page.on("request", lambda req: computed.append(req.url) if "api/report" in req.url
            else None)
    page.goto(server + "?" + urlencode(SPLIT_QUERY | {name: value}))
    if message is None:
        ready(page)
        assert page.input_value(f"select[name={name}]") == "h100-sxm"
        return
    page.wait_for_selector("body[data-state=error]", timeout=15000)
    assert message in page.inner_text("#error")
    if name.endswith("_gpu"):
        assert "aliases: " in page.inner_text("#error") and "a100," in page.inner_text("#error")
    select = f"select[name={name}]"
    assert page.input_value(select) == value
    assert page.get_attribute(select, "class").split()[-1] == "invalid"
    assert f"{name}={value}" in page.evaluate("location.search")
    assert computed == []
    # the user chooses: the error goes and the plan is computed
    valid = page.locator(f"{select} option").nth(1).get_attribute("value")
    page.select_option(select, valid)
    ready(page)
    assert page.is_hidden("#error") and computed
    assert page.locator(f"{select} option.unknown").count() == 0
    assert cell(page, "params", 2).endswith("B")


UNCERTAIN_QUERY = {"reference_params": "1.3e10", "inference_tokens": "1e13",
                   "law": "besiroglu2024", "uncertainty": "true", "confidence": "0.8"}


def uncertainty_table(page):
    return [[td.inner_text() for td in tr.locator("td").all()]
            for tr in page.locator("#uncertainty_table tbody tr").all()]


def test_page_under_uncertainty_shows_the_cli_ranges_robust_plan_and_bands(server, browser):
    """The uncertainty block: the CLI's ranges and robust plan cell for cell, its sentences,
    the savings and iso-loss bands, the robust plan marked; unticking hides it all."""
    page, errors = open_page(browser, server, UNCERTAIN_QUERY)
    expected = run_json("plan", "--reference-params", "1.3e10", "--inference-tokens", "1e13",
                        "--law", "besiroglu2024", "--uncertainty", "--confidence", "0.8")
    u, point = expected["uncertainty"], expected["optimal"]
    assert page.is_visible("#uncertainty_block") and page.is_checked("#uncertainty")
    assert page.input_value("input[name=confidence]") == "0.8"
    assert page.inner_text("#uncertainty_title") == (
        "Under the law's uncertainty (1000 coefficient replicates)")
    heads = page.locator("#uncertainty_table thead th").all_inner_texts()
    assert heads[-1] == "Robust (80%)" and heads[2] == "low (95%)"
    rows = {r[0]: r for r in uncertainty_table(page)}
    for key, label in (("params", "parameters N"), ("train_tokens", "training tokens D"),
                       ("total_flops", "lifetime FLOPs")):
        iv = u["optimal"][key]
        assert rows[label][1:] == [quantity(key, point[key]), quantity(key, iv["lo"]),
                                   quantity(key, iv["median"]), quantity(key, iv["hi"]),
                                   quantity(key, u["robust"][key])], label
    assert rows["P(target met)"][1] == pct(u["point_plan"]["target_met_probability"])
    assert rows["P(target met)"][5] == pct(u["robust"]["target_met_probability"])
    lines = page.locator("#uncertainty_lines li").all_inner_texts()
    r = u["robust"]
    assert (f"robust plan: {quantity('params', r['params'])} parameters on "
            f"{quantity('train_tokens', r['train_tokens'])} tokens reaches the target under "
            f"{pct(r['target_met_probability'])} of the replicates for {pct(r['premium'])} more "
            "lifetime cost than the point plan") in lines
    s = u["savings"]
    assert any(line.startswith("the saving over the Chinchilla-optimal model is positive "
                               f"under {pct(s['probability_positive'])}") for line in lines)
    # the bands on both plots, and the robust plan among the iso-loss plot's marks
    assert page.locator("#plot_savings path.band").count() == 1
    assert page.locator("#plot_isoloss path.band").count() == 1
    assert "robust plan" in page.locator("#plot_isoloss").text_content()
    page.uncheck("#uncertainty")
    page.wait_for_function("!document.location.search.includes('uncertainty')")
    ready(page)
    page.wait_for_function("document.querySelector('#uncertainty_block').hidden")
    assert page.locator("#plot_savings path.band").count() == 0
    assert errors == []


@pytest.mark.parametrize("extra, needle", [
    ({"budget_flops": "1e24"}, "robust plan within the budget: "),
    ({"unique_tokens": "3e11"}, "robust plan: "),
    ({"price_performance_doubling_years": "2.46", "discount_rate_per_year": "0.1",
      "train_gpus": "1000"}, "more present-value lifetime cost than the point plan"),
])
def test_page_under_uncertainty_within_a_budget_and_with_a_timeline(server, browser, extra,
                                                                    needle):
    query = dict(UNCERTAIN_QUERY) | extra
    if "budget_flops" in extra:
        query.pop("reference_params")
    page, errors = open_page(browser, server, query)
    expected = run_json("plan", *cli_args({k: v for k, v in query.items()
                                                if k != "uncertainty"}), "--uncertainty")
    u = expected["uncertainty"]
    lines = page.locator("#uncertainty_lines li").all_inner_texts()
    assert any(needle in line for line in lines), lines
    rows = {r[0]: r for r in uncertainty_table(page)}
    if "budget_flops" in extra:
        assert (f"the point plan misses the loss the central law predicts for it "
                f"({numbers.fmt(expected['optimal']['loss'], 5)}) under") in " ".join(lines)
        assert rows["loss under 80%"][1:] == [
            numbers.fmt(u["point_plan"]["loss_at_confidence"], 5), "", "", "",
            numbers.fmt(u["robust"]["loss_at_confidence"], 5)]
    elif "unique_tokens" in extra:
        r = u["robust"]
        assert rows["parameters N"][1:] == [quantity("params", expected["optimal"]["params"]),
                                            *(quantity("params", u["optimal"]["params"][k])
                                              for k in ("lo", "median", "hi")),
                                            quantity("params", r["params"])]
        assert cell(page, "epochs", 2) == numbers.fmt(expected["data_limit"]["epochs"], 3)
    else:
        pv = expected["timeline"]["optimal"]["present_value_total_flops"]
        assert rows["lifetime FLOPs (present value)"][1] == quantity("total_flops", pv)
        assert rows["lifetime FLOPs (present value)"][5] == quantity(
            "total_flops", u["robust"]["total_flops"])
        assert page.is_visible("#timeline")
    assert errors == []


@pytest.mark.parametrize("query, message", [
    (UNCERTAIN_QUERY | {"confidence": "1.5"}, "confidence must be in (0, 1)"),
    # the page names the fit's field and the law field, not the CLI's command lines
    (UNCERTAIN_QUERY | {"law": "sardana2024"}, "fit's bootstrap option, e.g. 200) and give the "
                                                "fitted law as law"),
])
def test_page_under_uncertainty_shows_bad_input_as_one_line_errors(server, browser, query,
                                                                   message):
    page = browser.new_page()
    page.goto(server + "?" + urlencode(query))
    page.wait_for_selector("body[data-state=error]", timeout=15000)
    text = page.inner_text("#error")
    assert message in text and "\n" not in text.strip()
    assert page.is_hidden("#uncertainty_block")


REPORT_PLOTS = ("plot_savings", "plot_isoloss", "plot_cost")


@pytest.mark.parametrize("query", [{"loss": "2.3", "inference_tokens": "2e12"},
                                   {"budget_flops": "1e23", "inference_tokens": "2e12"}])
def test_page_plans_and_draws_with_a_law_of_another_form(server, browser, query):
    """Every preset is selectable: with sardana2024-mpt (kaplan form) the page shows the CLI's
    plan, its form and formula, and draws the report's figures."""
    query = {"law": "sardana2024-mpt"} | query
    page, errors = open_page(browser, server, query)
    options = page.eval_on_selector_all("#law option", "els => els.map((e) => e.value)")
    assert {"sardana2024", "sardana2024-mpt", "gadre2024-c4"} <= set(options)
    assert page.input_value("#law") == "sardana2024-mpt"
    expected = run_json("plan", *cli_args(query))
    assert expected["law"]["form"] == "kaplan"
    assert cell(page, "params", 2) == count(expected["optimal"]["params"])
    assert cell(page, "params", 1) == count(expected["chinchilla"]["params"])
    assert "kaplan form: L = E + (A N^(-alpha/beta) + B / D)^beta" in page.inner_text(
        "#assumptions")
    assert "kaplan form" in page.inner_text("#law_formula")
    for warning in expected["extrapolation"]["warnings"]:
        assert warning in page.inner_text("#assumptions")
    for plot in PLOTS:  # the tradeoff panel too: its frontier is under the plan's law
        assert page.locator(f"#{plot} path[stroke]").count() >= 1, plot
    assert page.locator("#plot_tradeoff .message").count() == 0
    assert page.locator("#plot_isoloss polygon").count() >= 1  # the optimum's star
    assert errors == []


def test_page_with_a_data_limit_and_a_law_of_another_form(server, browser):
    """With sardana2024-mpt (kaplan form) and a unique-token limit the page shows the CLI's
    data-limited plan, says which repetition coefficients it assumed, and draws every panel."""
    query = {"law": "sardana2024-mpt", "loss": "2.2", "inference_tokens": "1e13",
             "unique_tokens": "1e12"}
    page, errors = open_page(browser, server, query)
    expected = run_json("plan", *cli_args(query))
    assert cell(page, "params", 2) == count(expected["optimal"]["params"])
    assert "fitted with the Chinchilla form only" in page.inner_text("#assumptions")
    assert "data-limited" in page.text_content("#plot_isoloss")
    for plot in PLOTS:
        assert page.locator(f"#{plot} path[stroke]").count() >= 1, plot
    assert errors == []


def test_page_with_a_data_limit_draws_the_data_limited_curves(server, browser):
    """Under a unique-token limit the iso-loss figure is the data-limited law's, with the law's
    own curve through the Chinchilla-optimal model beside it."""
    page = browser.new_page()
    page.goto(server + "?" + urlencode({"loss": "1.947", "inference_tokens": "2e12",
                                        "unique_tokens": "1e12"}))
    ready(page)
    assert "data-limited" in page.text_content("#plot_isoloss")
    assert "without the data limit" in page.text_content("#plot_isoloss")
    assert page.locator("#plot_isoloss path[stroke-dasharray=\"6 4\"]").count() >= 1


def test_page_plans_with_your_own_law_from_the_link_and_as_pasted(server, browser, tmp_path):
    """"your own law": a law file's JSON in the link (the kaplan-form preset's, its 186
    replicates included) plans as ``--law FILE`` under uncertainty, draws every panel, and its
    report link renders; pasted text that is not JSON, or a law file's error, is a one-line
    error marking the text box; a pasted law file plans as the CLI does."""
    import json

    from computeplan.laws import form_presets

    law = form_presets()["sardana2024-mpt"].to_dict()
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(law))
    query = {"law": json.dumps(law), "loss": "2.2", "inference_tokens": "1e13",
             "uncertainty": "true"}
    page, errors = open_page(browser, server, query)
    assert page.input_value("#law") == "own" and page.is_visible("#law_json")
    assert json.loads(page.input_value("#law_json")) == law
    expected = run_json("plan", "--loss", "2.2", "--inference-tokens", "1e13", "--uncertainty",
                        "--law", str(path))
    assert cell(page, "params", 2) == count(expected["optimal"]["params"])
    assert cell(page, "params", 1) == count(expected["chinchilla"]["params"])
    assert "kaplan form" in page.inner_text("#law_formula")
    assert "186 coefficient replicates" in page.inner_text("body")
    for plot in PLOTS:  # the tradeoff panel too: its frontier is under your law
        assert page.locator(f"#{plot} path[stroke]").count() >= 1, plot
    assert page.locator("#plot_tradeoff .message").count() == 0
    report = page.request.get(server + page.get_attribute("#report", "href"))
    assert report.status == 200 and "inline law sardana2024-mpt" in report.text()

    page.fill("#law_json", "")
    page.wait_for_selector("body[data-state=error]", timeout=15000)
    assert page.inner_text("#error").startswith("law: paste a law file's JSON into the box")
    page.fill("#law_json", "{oops")
    page.wait_for_function("document.querySelector('#error').textContent.includes('JSON (')")
    assert page.inner_text("#error").startswith("law: your law is not valid JSON")
    assert "invalid" in page.get_attribute("#law_json", "class")
    page.fill("#law_json", '{"E": 1.9, "A": 420, "alpha": 0.33, "beta": 0.35}')
    page.wait_for_function("document.querySelector('#error').textContent.includes('missing')")
    assert "law is missing coefficient(s) ['B']" in page.inner_text("#error")
    assert "invalid" in page.get_attribute("#law_json", "class")

    example = Path(__file__).parent.parent / "examples" / "law.json"  # no replicates
    page.uncheck("#uncertainty")
    page.fill("#law_json", example.read_text())
    ready(page)
    expected = run_json("plan", "--loss", "2.2", "--inference-tokens", "1e13",
                        "--law", str(example))
    page.wait_for_function(
        "document.querySelector('#table tr[data-key=params] td:nth-child(3)').textContent"
        f" === {json.dumps(count(expected['optimal']['params']))}")
    assert "law example: E=1.9" in page.inner_text("#assumptions")
    assert errors == []
