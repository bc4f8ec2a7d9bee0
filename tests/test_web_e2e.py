"""End to end: a real server on 127.0.0.1 and the page driven in headless Debian Chromium.

The page must show the numbers of ``computeplan plan --json`` (REFERENCES section 2), update them
when the demand changes, keep its state in the URL, and draw its plots. A screenshot is saved.
"""

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

from cli_helpers import run_json  # noqa: E402
from computeplan.render import fmt, pct  # noqa: E402
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
    assert cell(page, "params", 2) == "2.418e10" == fmt(expected["optimal"]["params"])
    assert cell(page, "params", 1) == fmt(expected["chinchilla"]["params"])
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
        " !== '2.418e10'")
    ready(page)
    expected = run_json("plan", "--loss", "1.947", "--inference-tokens", "2e13")
    assert cell(page, "params", 2) == fmt(expected["optimal"]["params"])
    assert cell(page, "total_flops", 3) == pct(expected["ratios"]["total_flops"])
    assert page.inner_text("#savings") == pct(1 - expected["ratios"]["total_flops"])

    # The plots are drawn: lines in each and both plans marked.
    for plot in ("plot_savings", "plot_isoloss", "plot_cost"):
        assert page.locator(f"#{plot} path[stroke]").count() >= 1
    assert page.locator("#plot_isoloss polygon").count() >= 1  # the optimum's star
    assert "report.html?" in page.get_attribute("#report", "href")
    if page.is_visible("#tradeoff_figure"):  # the tradeoff command exists: its frontier
        page.wait_for_selector("#plot_tradeoff path[stroke]", timeout=15000)

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
    assert cell(page, "params", 2) == "2.053e10" == fmt(expected["optimal"]["params"])
    assert cell(page, "train_tokens", 2) == "3.302e12"
    assert cell(page, "params", 3) == "60.23%"
    assert cell(page, "train_tokens", 3) == "182.41%"
    assert cell(page, "total_cost_usd", 3) == "88.76%"
    assert page.input_value("select[name=inference_dtype]") == "int8"
    assumptions = page.inner_text("#assumptions")
    for text in ("inference_gpu=a100-40gb", "inference_dtype=int8",
                 "inference_usd_per_gpu_hour=0.6", "decode_mfu=0.2"):
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
    assert cell(page, "params", 2) == fmt(roofline["optimal"]["params"])
    assert cell(page, "total_cost_usd", 3) == pct(roofline["ratios"]["total_cost_usd"])
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
    assert cell(page, "params", 2) == fmt(expected["optimal"]["params"])
    assert round(float(cell(page, "params", 2)) / 1e9) == 7
    saved = expected["chinchilla"]["total_flops"] - expected["optimal"]["total_flops"]
    headline = page.inner_text("#headline")
    assert f"({fmt(saved)} FLOPs)" in headline and f"{saved:.1e}" == "1.7e+22"
    assert page.inner_text("#savings") == pct(1 - expected["ratios"]["total_flops"])
    assert page.inner_text("#savings").startswith("17.")
