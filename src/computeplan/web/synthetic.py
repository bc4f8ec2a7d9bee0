"""Synthetic load for the web server's tests and benchmark: a large CSV of training runs, and the
raw HTTP/1.1 multipart request that uploads it to ``POST /api/fit``.

One home for what ``tests/test_web_limits.py`` and ``bench/bench_web.py`` both send (neither
imports the other). Written by hand, not with an HTTP client, so that a test can send part of it,
hold it, or send it on many sockets at once.
"""

from __future__ import annotations


def runs_csv(rows: int = 40_000, *, law: str = "hoffmann2022", noise: float = 0.02,
             seed: int = 0) -> bytes:
    """``rows`` runs (params, tokens, loss) with N log-uniform in [1e7, 1e10], D in [1e8, 1e11]
    and the loss of ``law`` (Hoffmann et al. 2022, eq. 2: E + A/N^alpha + B/D^beta) times
    log-normal noise of ``noise``: about 1.4 MB for 40,000 rows, a fit far slower than any web
    time limit."""
    import numpy as np

    from ..laws import get_law

    rng = np.random.default_rng(seed)
    n, d = 10 ** rng.uniform(7, 10, rows), 10 ** rng.uniform(8, 11, rows)
    loss = get_law(law).loss(n, d) * np.exp(rng.normal(0, noise, rows))
    lines = [f"{a:.6e},{b:.6e},{c:.6f}" for a, b, c in zip(n, d, loss, strict=True)]
    return ("params,tokens,loss\n" + "\n".join(lines) + "\n").encode()


def fit_request(csv: bytes, *, bootstrap: int = 200, host: str = "127.0.0.1",
                boundary: str = "computeplan-synthetic-boundary") -> bytes:
    """A whole raw ``POST /api/fit`` (HTTP/1.1, multipart form) of ``csv`` as the ``runs`` file
    with ``bootstrap`` resamples."""
    b = boundary
    body = (f"--{b}\r\nContent-Disposition: form-data; name=\"bootstrap\"\r\n\r\n{bootstrap}\r\n"
            f"--{b}\r\nContent-Disposition: form-data; name=\"runs\"; filename=\"runs.csv\"\r\n"
            "Content-Type: text/csv\r\n\r\n").encode() + csv + f"\r\n--{b}--\r\n".encode()
    return (f"POST /api/fit HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(body)}\r\n"
            f"Content-Type: multipart/form-data; boundary={b}\r\n\r\n").encode() + body
