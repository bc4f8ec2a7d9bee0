"""Web API benchmark: plan latency server-side, sustained requests per second, memory over 100k.

Run by hand: ``.venv/bin/python bench/bench_web.py [--requests 100000] [--seconds 300]``.

1. Server-side latency of one plan request (the FLOPs and the dollar example): the commands-layer
   call, its JSON encoding, and the whole ASGI application called in process (routing,
   validation, encoding; no network). These are stable under load; requests/s are not.
2. Sustained throughput: ``computeplan web`` in a subprocess on 127.0.0.1 (one process), driven
   by a small asyncio HTTP/1.1 keep-alive load generator in this process: bounded in count
   (``--requests``) and time (``--seconds``), 127.0.0.1 only. The server's resident memory
   (VmRSS) is sampled every 10,000 requests: it must stay flat.
3. Baseline measured in the same run: the same plan through the CLI (``computeplan plan --json``
   in a subprocess), one request per process start, as a script without the server would do.

4. Plan latency while two fits hold both slow-work workers (issue 16): two abandoned-later
   uploads of a 1.4 MB CSV of synthetic runs (bootstrap 200) to the same server, then plan
   requests, against the unloaded plan latency of the same run. The fits are then abandoned
   (connections closed) and the time until the server stopped them is printed.

Targets (issue 6): a plan request answers in a few milliseconds server-side; >= 500 plan
requests per second on 2 cores (issue 15: >= 1,500 on one worker); memory flat over 100,000
requests. Issue 16: a plan answers
within 100 ms (median) while two fits run. ``--under-fits-only`` runs section 4 alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

HOST = "127.0.0.1"
BODY = {"loss": 1.947, "requests": 1e10, "input_tokens": 1000, "output_tokens": 250,
        "train_gpu": "a100-80gb", "train_usd_per_gpu_hour": 1.40, "train_mfu": 0.5,
        "inference_gpu": "a100-40gb", "inference_dtype": "int8",
        "inference_usd_per_gpu_hour": 0.60, "prefill_mfu": 0.4, "decode_mfu": 0.2}
#: The FLOPs plan of the README's first example.
FLOPS_BODY = {"loss": 1.947, "inference_tokens": 2e12}
CLI_ARGS = ["plan", "--loss", "1.947", "--requests", "1e10", "--input-tokens", "1000",
            "--output-tokens", "250", "--train-gpu", "a100-80gb", "--train-usd-per-hour", "1.40",
            "--train-mfu", "0.5", "--inference-gpu", "a100-40gb", "--inference-dtype", "int8",
            "--inference-usd-per-hour", "0.60", "--prefill-mfu", "0.4", "--decode-mfu", "0.2",
            "--json"]
CHECKPOINT = 10_000


def percentiles(samples: list[float]) -> str:
    q = statistics.quantiles(samples, n=100)
    return (f"median {statistics.median(samples) * 1e3:.3f} ms, p90 {q[89] * 1e3:.3f} ms, "
            f"p99 {q[98] * 1e3:.3f} ms")


# ---------------------------------------------------------------------- 1. server-side latency
def server_side_latency(n: int = 2000) -> float:
    """In-process medians for the FLOPs and the dollar plan: the commands layer alone, its JSON
    encoding alone, and the whole ASGI app; returns the dollar plan's whole-app median (s)."""
    from computeplan.commands.plan import plan
    from computeplan.render import dumps
    from computeplan.web import create_app

    app = create_app()
    out = 0.0
    for label, body in (("FLOPs plan", FLOPS_BODY), ("dollar plan", BODY)):
        solve, encode = [], []
        for _ in range(n):
            t = time.perf_counter()
            result = plan(**body)
            t1 = time.perf_counter()
            dumps(result, indent=None)
            solve.append(t1 - t)
            encode.append(time.perf_counter() - t1)
        print(f"  {label}, commands layer:    {percentiles(solve)}")
        print(f"  {label}, JSON encoding:     {percentiles(encode)}")
        whole = asyncio.run(_asgi_latencies(app, body, n))
        print(f"  {label}, whole ASGI app:    {percentiles(whole)}")
        out = statistics.median(whole)
    return out


async def _asgi_latencies(app, body: dict, n: int) -> list[float]:
    """Latencies of ``n`` POST /api/plan calls of ``body`` to the ASGI ``app`` in process."""
    payload = json.dumps(body).encode()
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/api/plan", "raw_path": b"/api/plan", "query_string": b"",
             "root_path": "", "client": (HOST, 1), "server": (HOST, 80),
             "headers": [(b"host", b"bench"), (b"content-type", b"application/json"),
                         (b"content-length", str(len(payload)).encode())]}

    async def one() -> int:
        sent = {"done": False}
        status = {}

        async def receive():
            if sent["done"]:
                await asyncio.sleep(3600)
            sent["done"] = True
            return {"type": "http.request", "body": payload, "more_body": False}

        async def send(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]

        await app(dict(scope), receive, send)
        return status["code"]

    out = []
    for _ in range(n):
        t = time.perf_counter()
        assert await one() == 200
        out.append(time.perf_counter() - t)
    return out


# ------------------------------------------------------------------- 2. throughput and memory
def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def start_server(port: int) -> subprocess.Popen:
    exe = Path(sys.executable).with_name("computeplan")
    proc = subprocess.Popen([str(exe), "web", "--host", HOST, "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


async def load(port: int, total: int, seconds: float, connections: int, on_checkpoint):
    """Send ``total`` plan requests over ``connections`` keep-alive connections, stopping early
    after ``seconds``; returns (completed, elapsed, latencies)."""
    payload = json.dumps(BODY).encode()
    request = (f"POST /api/plan HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload
    state = {"issued": 0, "done": 0}
    latencies: list[float] = []
    stop_at = time.monotonic() + seconds

    async def worker():
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            while state["issued"] < total and time.monotonic() < stop_at:
                state["issued"] += 1
                t = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = int(next(line.split(b":", 1)[1] for line in head.split(b"\r\n")
                                  if line.lower().startswith(b"content-length")))
                await reader.readexactly(length)
                if status != 200:
                    raise RuntimeError(f"HTTP {status}")
                latencies.append(time.perf_counter() - t)
                state["done"] += 1
                if state["done"] % CHECKPOINT == 0:
                    on_checkpoint(state["done"])
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return state["done"], time.perf_counter() - t0, latencies


def throughput_and_memory(total: int, seconds: float, connections: int) -> float:
    port = free_port()
    proc = start_server(port)
    try:
        asyncio.run(load(port, 2000, 30, connections, lambda _: None))  # warm-up
        samples = [(0, rss_kib(proc.pid))]
        done, elapsed, lat = asyncio.run(load(
            port, total, seconds, connections,
            lambda k: samples.append((k, rss_kib(proc.pid)))))
        samples.append((done, rss_kib(proc.pid)))
    finally:
        proc.terminate()
        proc.wait(10)
    rps = done / elapsed
    print(f"  {done:,} plan requests in {elapsed:.1f} s over {connections} connections: "
          f"{rps:,.0f} requests/s")
    print(f"  client-observed latency: {percentiles(lat)}")
    first, last = samples[0][1], samples[-1][1]
    print("  server RSS (MiB) after N requests: " + ", ".join(
        f"{k // 1000}k={kib / 1024:.1f}" for k, kib in samples))
    growth = (last - first) / 1024
    print(f"  RSS growth over {done:,} requests: {growth:+.1f} MiB "
          f"({100 * (last - first) / first:+.1f}%)")
    return rps


# ------------------------------------------------------------------------ 3. CLI baseline
def cli_baseline(n: int = 10) -> float:
    exe = Path(sys.executable).with_name("computeplan")
    times = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run([str(exe), *CLI_ARGS], check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    per = statistics.median(times)
    print(f"  computeplan plan --json, one process per request: median {per * 1e3:.0f} ms "
          f"= {1 / per:.1f} requests/s")
    return 1 / per


def _cpu_ticks(pid: int) -> int:
    """User + system CPU ticks of a process so far."""
    return sum(int(x) for x in Path(f"/proc/{pid}/stat").read_text().split()[13:15])


def latency_under_fits(n: int = 20) -> float:
    """Median plan latency (s) while two fits run on the server, beside the unloaded one."""
    import http.client

    port = free_port()
    proc = start_server(port)
    payload = json.dumps(BODY).encode()

    def plan() -> float:
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        t = time.perf_counter()
        conn.request("POST", "/api/plan", payload, {"content-type": "application/json"})
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}")
        return time.perf_counter() - t

    try:
        unloaded = [plan() for _ in range(n)]
        from computeplan.web.synthetic import fit_request, runs_csv

        upload, socks = fit_request(runs_csv(), host=HOST), []
        for _ in range(2):
            socks.append(socket.create_connection((HOST, port)))
            socks[-1].sendall(upload)
        time.sleep(2.0)  # the uploads are parsed and both fits under way
        loaded = [plan() for _ in range(n)]
        for sock in socks:
            sock.close()
        t = time.perf_counter()
        while time.perf_counter() - t < 60:  # until the server uses no CPU for 0.5 s
            cpu = _cpu_ticks(proc.pid)
            time.sleep(0.5)
            if _cpu_ticks(proc.pid) == cpu:
                break
        stopped = time.perf_counter() - t
    finally:
        proc.terminate()
        proc.wait(10)
    print(f"  unloaded plan:              {percentiles(unloaded)}")
    print(f"  plan while two fits run:    {percentiles(loaded)}")
    print(f"  abandoned fits stopped (server CPU idle) within {stopped:.1f} s")
    return statistics.median(loaded)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--under-fits-only", action="store_true",
                        help="run only section 4 (plan latency while two fits run)")
    args = parser.parse_args()
    if args.under_fits_only:
        print("4. plan latency while two fits hold both workers (127.0.0.1):")
        loaded = latency_under_fits()
        print(f"summary: median {loaded * 1e3:.1f} ms under two fits "
              f"(target <= 100 ms: {'met' if loaded <= 0.1 else 'NOT met'})")
        return
    print(f"computeplan web benchmark, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print(f"1. server-side latency of one plan request, in process (load average "
          f"{os.getloadavg()[0]:.2f}):")
    median = server_side_latency()
    print(f"2. sustained throughput and memory (127.0.0.1, at most {args.requests:,} requests "
          f"or {args.seconds:g} s):")
    rps = throughput_and_memory(args.requests, args.seconds, args.connections)
    print(f"  load average after the run: {os.getloadavg()[0]:.2f} (the load generator shares "
          "the cores; other work on the machine lowers requests/s)")
    print("3. baseline in the same run:")
    base = cli_baseline()
    print("4. plan latency while two fits hold both workers (127.0.0.1):")
    loaded = latency_under_fits()
    print(f"summary: server-side median {median * 1e3:.2f} ms; {rps:,.0f} requests/s "
          f"(target >= 1,500: {'met' if rps >= 1500 else 'NOT met'}); "
          f"{rps / base:,.0f}x the CLI subprocess baseline; plan median {loaded * 1e3:.1f} ms "
          f"under two fits (target <= 100 ms: {'met' if loaded <= 0.1 else 'NOT met'})")


if __name__ == "__main__":
    main()
