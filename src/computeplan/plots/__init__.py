"""Matplotlib figures, one module per topic. Import lazily: matplotlib is an optional extra."""

from __future__ import annotations

from pathlib import Path


def pyplot():
    """matplotlib.pyplot with the non-interactive Agg backend; a clear error if not installed."""
    try:
        import matplotlib
    except ImportError:
        from ..errors import InputError

        raise InputError("plotting needs matplotlib: pip install 'computeplan[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, path: str | Path, *, dpi: int = 120, name: str = "plot") -> Path:
    """Write ``fig`` to ``path`` as PNG, atomically (:func:`computeplan.files.write_atomic`: a
    failed write leaves an existing file intact), and close it. A path that cannot be written
    (missing directory, no permission, full disk) is an :class:`InputError` naming the option
    ``name``."""
    import io

    from ..errors import InputError
    from ..files import write_atomic
    from ..vocabulary import option

    out = Path(path)
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=dpi)
    except (OSError, ValueError) as exc:
        raise InputError(f"{option(name)}: cannot draw {str(out)!r}: {exc}") from None
    finally:
        pyplot().close(fig)
    write_atomic(out, buf.getvalue(), flag=option(name))
    return out
