"""Training/inference tradeoffs: technique models, iso-performance frontiers, spans, exchange
rates, combinations, optimal allocation and over-training overhead.

Sources: Villalobos & Atkinson 2023 (techniques, spans), Erdil 2024 (allocation), de Vries 2023
(overhead); see each module. Example::

    from computeplan.tradeoffs import get_technique, frontier, allocate_on_frontier
    f = frontier(get_technique("scaling-policy"))       # default level: loss at 1e24 FLOPs
    f.span.train_oom, f.span.inference_oom              # ~1.2, ~0.7 OOM
    allocate_on_frontier(f, 1e13).train_fraction        # TC + Q * IC minimiser, Q = 1e13 tokens
"""

from .allocation import FrontierAllocation, Split, allocate_on_frontier, optimal_split
from .combine import Combination, combine
from .curves import ramp_from_zero, smooth_ramp
from .fitting import CurveFit, fit_csv, fit_curve, read_csv
from .frontier import (
    DEFAULT_GRID_POINTS,
    DEFAULT_MIN_EXCHANGE_RATE,
    SPAN_DEFINITION,
    Frontier,
    Span,
    frontier,
    local_exchange_rate,
    pareto_mask,
)
from .overhead import (
    Overhead,
    compute_overhead,
    critical_size_fraction,
    min_size_fraction,
    overhead,
    token_multiplier,
)
from .techniques import (
    MCTS,
    TECHNIQUES,
    LimitedSampling,
    Pruning,
    RepeatedSampling,
    ScalingPolicy,
    Technique,
    get_technique,
    pruning_rounds,
    training_multiplier,
)

__all__ = [
    "DEFAULT_GRID_POINTS", "DEFAULT_MIN_EXCHANGE_RATE", "MCTS", "SPAN_DEFINITION", "TECHNIQUES",
    "Combination", "CurveFit", "Frontier", "FrontierAllocation", "LimitedSampling", "Overhead",
    "Pruning", "RepeatedSampling", "ScalingPolicy", "Span", "Split", "Technique",
    "allocate_on_frontier", "combine", "compute_overhead", "critical_size_fraction", "fit_csv",
    "fit_curve", "frontier", "get_technique", "local_exchange_rate", "min_size_fraction",
    "optimal_split", "overhead", "pareto_mask", "pruning_rounds", "ramp_from_zero", "read_csv",
    "smooth_ramp", "token_multiplier", "training_multiplier",
]
