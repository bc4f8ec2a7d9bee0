"""When a number rests on an extrapolation: the models a result describes outside the runs its
law was fitted on, and repetition beyond the epochs its repetition coefficients were fitted on.

One place for every command (plan, model, overhead, tradeoff) and the web API, so each says it
in the same words (:func:`computeplan._lawdata.extrapolation_words`):

- :func:`law_report`: the law's ``domain`` (the ranges of N, D and D/N of its runs), each
  model's distance outside it in orders of magnitude and ``warnings`` in words; None when the
  law has no domain;
- :func:`epochs_warnings`: a model that repeats its unique data more epochs (D/U) than the runs
  the repetition coefficients R_D*, R_N* (Muennighoff et al. 2023, eq. 5) were fitted on: the
  law's own recorded range (``domain["epochs"]``, written by ``fit --unique-tokens-col``) or,
  without one, Muennighoff et al.'s published runs (:data:`PUBLISHED_EPOCHS`).
"""

from __future__ import annotations

import numpy as np

#: The repetition of the runs Muennighoff et al. (2023, "Scaling Data-Constrained Language
#: Models", arXiv 2305.16264) fitted R_D*, R_N* on, where a law records none: their parametric
#: fit (datablations utils/parametric_fit.ipynb, ``NAMES_TO_VAL_LOSSES``; the fits keep the runs
#: below 1e9 parameters and the larger IsoFLOP runs) spans single-epoch runs to 14M parameters
#: trained on 900B tokens of 100M unique (9000 epochs). Its runs of 1e9 parameters or more
#: repeat at most 44 epochs (2.8B parameters on 55B tokens of 1.25B unique), so a large model
#: between 44 and 9000 epochs rests on the small models' repetition.
PUBLISHED_EPOCHS = (1.0, 9000.0)
PUBLISHED_EPOCHS_SOURCE = "Muennighoff et al. 2023's runs"


def law_report(law, models: dict, *, words: bool = True) -> dict | None:
    """The law's ``domain``, for each ``key: (label, params, train_tokens)`` of ``models`` its
    distances outside it (``params_oom``, ``train_tokens_oom``, ``tokens_per_param_oom``; 0
    inside) and the ``warnings`` that say it. A model given as arrays is said in words by its
    farthest element (per quantity); no words with ``words`` false. None when the law has no
    domain."""
    from ._lawdata import extrapolation_words
    from .render import count

    if law.domain is None:
        return None
    out: dict = {"domain": law.domain}
    warnings: list[str] = []
    for key, (label, params, tokens) in models.items():
        oom = law.extrapolation(params, tokens)
        out[key] = oom
        if not words:
            continue
        n, d = np.broadcast_arrays(np.asarray(params, float), np.asarray(tokens, float))
        for quantity, dist in oom.items():
            if dist is None or np.ndim(dist) == 0:
                continue
            i = np.unravel_index(int(np.argmax(dist)), np.shape(dist))
            warnings += extrapolation_words(label, law.domain, {quantity: dist[i]},
                                            _values(n[i], d[i]), count)
        if np.ndim(n) == 0:
            warnings += extrapolation_words(label, law.domain, oom, _values(n, d), count)
    out["warnings"] = warnings
    return out


def _values(n, d) -> dict:
    return {"params": n, "train_tokens": d, "tokens_per_param": d / n}


def epochs_range(law) -> tuple[tuple[float, float], str]:
    """The epochs [lo, hi] the law's repetition coefficients were fitted on and whose runs
    they are: the law's recorded ``domain["epochs"]``, else :data:`PUBLISHED_EPOCHS`."""
    recorded = (law.domain or {}).get("epochs")
    if recorded is not None:
        return (float(recorded[0]), float(recorded[1])), "the runs"
    return PUBLISHED_EPOCHS, PUBLISHED_EPOCHS_SOURCE


def epochs_warnings(law, label: str, epochs) -> list[str]:
    """Sentences for a model repeating its unique data beyond the fitted epochs, e.g. "the
    optimum trains 1.2e6 epochs over its unique tokens, 4.44 orders of magnitude beyond
    Muennighoff et al. 2023's runs (1-44 epochs) that R_D* and R_N* were fitted on". Arrays:
    their most epochs. Empty inside the range."""
    from ._lawdata import oom_outside
    from .render import count

    (lo, hi), whose = epochs_range(law)
    most = float(np.max(epochs))
    if not most > hi:
        return []
    dist = float(oom_outside(most, lo, hi))
    how_far = f"{dist:.2f}" if dist >= 0.01 else "less than 0.01"
    return [f"{label} trains {count(most)} epochs over its unique tokens, {how_far} orders of "
            f"magnitude beyond {whose} ({count(lo, 3)}-{count(hi, 3)} epochs) that R_D* and "
            "R_N* were fitted on"]


def no_domain_note(law) -> str:
    """The note for a law without a domain: nothing to check its models against."""
    return f"law {law.name} has no domain (the range of its runs): extrapolation not checked"


def lines(report: dict | None, law) -> list[str]:
    """A result's extrapolation as the CLI prints it: ``warning: ...`` for each warning of
    ``report`` (:func:`law_report`), or the note that the law has no domain."""
    if report is None:
        return [f"note: {no_domain_note(law)}"]
    return [f"warning: {w}" for w in report["warnings"]]
