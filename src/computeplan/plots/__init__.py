"""Matplotlib figures, one module per topic. Import lazily: matplotlib is an optional extra."""


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
