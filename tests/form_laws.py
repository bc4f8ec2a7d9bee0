"""One plausible law per form (of the size of fits to Sardana et al.'s runs), stated once for the
tests of laws beyond the Chinchilla form."""

from computeplan.formlaw import make_law

LAWS = {
    "kaplan": {"E": 1.05, "A": 2.9e12, "B": 1.5e12, "alpha": 0.169, "beta": 0.136},
    "beta-of-n": {"E": 0.57, "A": 28.7, "B": 12498.0, "alpha": 0.131, "beta0": 0.4335,
                  "beta1": -0.0166},
    "farseer": {"a1": -0.1, "b1": -0.9, "alpha": 0.1, "a2": 0.3, "b2": 8.62, "beta": 0.1,
                "a3": 0.25, "b3": 0.6, "gamma": -0.3},
}


def form_law(name):
    """The law of form ``name`` from :data:`LAWS`, named ``name``."""
    return make_law(name, LAWS[name], name=name)
