"""Defaults and names that command-line help shows, in one module that imports nothing.

The numerical modules take these from here, so that ``computeplan --help``, which builds every
command's options, imports no numpy, fitting, hardware or tradeoff code (start-up, issue 15).
Each value's meaning and source is documented where it is used (named below).
"""

# Fitting (computeplan.fitting._objective)
#: Huber threshold on log-loss residuals used by Hoffmann et al. 2022 (Approach 3).
HUBER_DELTA = 1e-3
#: Share of the penalty put on over-prediction by the asymmetric loss (0.5 would be symmetric).
DEFAULT_ASYMMETRY = 0.9

# Laws (computeplan._lawdata.MIN_EXPONENT, where its reason is given)
#: A law's exponents must exceed this (the fitter's boundary).
MIN_EXPONENT = 1e-2

# Serving and training on real GPUs (computeplan.hardware.serving, .shape, .training)
DEFAULT_BANDWIDTH_FRACTION = 0.7
DEFAULT_COMPUTE_FRACTION = 0.5
DEFAULT_MEMORY_FRACTION = 0.9
DEFAULT_CONTEXT = 2048.0
DEFAULT_MAX_GPUS = 8  # one node
DEFAULT_ASPECT_RATIO = 128.0
ADAM_MIXED_PRECISION_BYTES_PER_PARAM = 16.0  # 2 + 2 + 12 (Rajbhandari et al. 2020, sec. 3.1)
DEFAULT_TRAIN_MFU = 0.4  # Llama-2-7B's reported GPU-hours imply ~0.4; PaLM reports 0.462

# Tradeoffs (computeplan.tradeoffs.techniques, .frontier)
TECHNIQUES = ("scaling-policy", "pruning", "mcts", "pass-at-k", "n-at-k")
DEFAULT_GRID_POINTS = 1000
