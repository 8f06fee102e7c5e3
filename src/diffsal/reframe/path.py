"""The L1-optimal camera path (Grundmann, Kwatra & Essa, CVPR 2011) for one coordinate of one shot.

Given the per-frame optimum ``raw`` of a window coordinate, the path ``p`` minimises

    w_fidelity * sum |p - raw| + w1 * sum |D1 p| + w2 * sum |D2 p| + w3 * sum |D3 p|

(``Dk`` the k-th forward difference) subject to ``lower <= p_t <= upper`` and, optionally,
``|p_t - raw_t| <= max_deviation``. Minimising L1 norms of the derivatives makes them sparse: the
optimum is made of segments that are constant (a static camera), linear (a constant-speed pan) or
parabolic (the ease between the two), joined at few frames, unlike a least-squares smoother that
keeps every frame slightly in motion. Each absolute value ``|a|`` gets two non-negative slack
variables ``u - v = a`` whose sum it costs, and the whole problem is one sparse linear program
for HiGHS.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.optimize
import scipy.sparse

from diffsal.errors import DiffSalError, InputError

# (fidelity, velocity, acceleration, jerk) weights. The derivative weights are the paper's
# (10, 1, 100): jerk is the most visible artefact, velocity next. Fidelity 1 is small next to
# them, so the path ignores frame-to-frame jitter of the per-frame optimum (following a jitter of
# a costs ~2 * 10 * a in velocity alone, ignoring it a) and moves only for a lasting displacement:
# a displacement d held for k frames costs k * d in fidelity against about 10 * d for one move,
# so the camera follows what stays put for more than about 10 frames (0.4 s at 25 fps).
DEFAULT_WEIGHTS = (1.0, 10.0, 1.0, 100.0)

_DIFFERENCE_STENCILS = ((-1.0, 1.0), (1.0, -2.0, 1.0), (-1.0, 3.0, -3.0, 1.0))


class PathSolverError(DiffSalError):
    """The linear-programming solver did not return an optimal camera path."""


def _difference_matrix(length: int, order: int) -> scipy.sparse.csr_matrix:
    """`(length - order, length)` sparse matrix of the `order`-th forward difference."""
    stencil = _DIFFERENCE_STENCILS[order - 1]
    rows = length - order
    return scipy.sparse.diags(list(stencil), list(range(order + 1)), shape=(rows, length), format="csr")


def _checked_weights(weights: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    try:
        values = tuple(float(weight) for weight in weights)
    except (TypeError, ValueError):
        raise InputError(f"path weights must be four numbers (fidelity, velocity, acceleration, jerk), "
                         f"got {weights!r}") from None
    if len(values) != 4 or not all(math.isfinite(value) and value >= 0 for value in values):
        raise InputError(f"path weights must be four finite numbers >= 0 (fidelity, velocity, acceleration, "
                         f"jerk), got {weights!r}")
    return values


def smooth_path(raw: np.ndarray, lower: float, upper: float, *,
                weights: tuple[float, float, float, float] = DEFAULT_WEIGHTS,
                max_deviation: float | None = None) -> np.ndarray:
    """`(N,)` float64 L1-optimal path for the `(N,)` per-frame optimum `raw` of one coordinate.

    `lower` and `upper` bound every ``p_t`` (the window stays inside the frame); `max_deviation`,
    when given, also bounds ``|p_t - raw_t|`` (the window stays near the per-frame optimum). With
    fewer than k + 1 frames the k-th difference term is absent (one frame: the clamped optimum).
    Raises `InputError` for NaN or infinite input, ``lower > upper`` or a `raw_t` farther than
    `max_deviation` outside the bounds; `PathSolverError` if HiGHS does not find the optimum.
    """
    raw = np.asarray(raw, dtype=np.float64)
    if raw.ndim != 1 or raw.size == 0:
        raise InputError(f"raw path must be a non-empty 1-D array, got shape {raw.shape}")
    if not np.isfinite(raw).all():
        raise InputError("raw path contains NaN or infinity")
    lower, upper = float(lower), float(upper)
    if not (math.isfinite(lower) and math.isfinite(upper)):
        raise InputError(f"path bounds must be finite, got [{lower}, {upper}]")
    if lower > upper:
        raise InputError(f"path lower bound {lower} is above its upper bound {upper}")
    fidelity, *derivative_weights = _checked_weights(weights)
    low = np.full(raw.size, lower)
    high = np.full(raw.size, upper)
    if max_deviation is not None:
        max_deviation = float(max_deviation)
        if not math.isfinite(max_deviation) or max_deviation < 0:
            raise InputError(f"max deviation must be a finite number >= 0, got {max_deviation!r}")
        low = np.maximum(low, raw - max_deviation)
        high = np.minimum(high, raw + max_deviation)
        unreachable = np.flatnonzero(low > high)
        if unreachable.size:
            frame = int(unreachable[0])
            raise InputError(f"raw path value {raw[frame]} at frame {frame} is more than max deviation "
                             f"{max_deviation} outside the bounds [{lower}, {upper}]")
    # Solve for p - offset: values near 0 keep HiGHS's absolute tolerances meaningful.
    offset = float(np.clip(np.median(raw), lower, upper))
    return _solve(raw - offset, low - offset, high - offset, fidelity, derivative_weights) + offset


def _solve(raw: np.ndarray, low: np.ndarray, high: np.ndarray, fidelity: float,
           derivative_weights: list[float]) -> np.ndarray:
    """The linear program over ``[p, u, v]``: every weighted L1 term ``w * |A p - b|`` becomes
    ``A p - b = u - v`` with slacks ``u, v >= 0`` and cost ``w * (u + v)`` (at the optimum one of
    each pair is 0, so ``u + v = |A p - b|``)."""
    length = raw.size
    terms = []  # (operator on p, target, weight)
    if fidelity > 0:
        terms.append((scipy.sparse.identity(length, format="csr"), raw, fidelity))
    for order, weight in enumerate(derivative_weights, start=1):
        if weight > 0 and length > order:
            terms.append((_difference_matrix(length, order), np.zeros(length - order), weight))
    if not terms:  # nothing to trade off: any feasible path is optimal, keep the clamped optimum
        return np.clip(raw, low, high)
    operators = scipy.sparse.vstack([operator for operator, _, _ in terms], format="csr")
    targets = np.concatenate([target for _, target, _ in terms])
    slack_weights = np.concatenate([np.full(operator.shape[0], weight) for operator, _, weight in terms])
    slacks = targets.size
    identity = scipy.sparse.identity(slacks, format="csr")
    equalities = scipy.sparse.hstack([operators, -identity, identity], format="csr")
    cost = np.concatenate([np.zeros(length), slack_weights, slack_weights])
    bounds = np.concatenate([np.column_stack([low, high]),
                             np.column_stack([np.zeros(2 * slacks), np.full(2 * slacks, np.inf)])])
    result = scipy.optimize.linprog(cost, A_eq=equalities, b_eq=targets, bounds=bounds, method="highs")
    if result.status != 0 or result.x is None:
        raise PathSolverError(f"HiGHS found no optimal camera path for {length} frames "
                              f"(status {result.status}: {result.message})")
    return np.clip(result.x[:length], low, high)
