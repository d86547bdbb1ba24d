r"""Spectral calculus of the DLN metric: the one place for SVDs and ``a_ij``.

Everything that the metric ``g^N``, the entropy, the Brownian drift and the flows
need from the singular value decomposition of an end-to-end matrix lives here
(``docs/mathematics.md`` §3).

Notation. ``X = U diag(s) V^T`` with ``s_1 >= ... >= s_r > 0``, ``lam = s^2``.
Over C (complex points, where a caller opts in with ``allow_complex``) the frame
is ``X = U diag(s) V^*`` and every transpose below is a conjugate transpose; the
coefficients ``a_ij`` depend on ``s`` only. The geodesic force is real only.
For a finite depth ``N`` the *power coordinates* are ``x = lam^{1/N}`` and
``f(x) = x^N``; for infinite depth ``x = log lam`` and ``f = exp``. In both cases

.. math::
    a_{ij} = f[x_i, x_j] = \frac{\lambda_i - \lambda_j}{x_i - x_j},

the first divided difference of ``f`` (for ``N = inf`` this is the logarithmic
mean, the limit of ``A_N / N``), and the derivative of ``a`` in its first argument,
needed by the geodesic equation, is the second divided difference

.. math::
    \frac{a(\lambda_i, \lambda_j) - a(\lambda_k, \lambda_j)}{\lambda_i - \lambda_k}
    = \frac{f[x_i, x_k, x_j]}{a_{ik}}.

Both are evaluated in forms that keep full relative accuracy when singular
values collide:

- the metric's ``a_ij`` (:func:`dln_coefficients`): ``expm1`` ratios;
- the geodesic force, finite depth: the complete homogeneous polynomials
  ``h_q(x_i, x_k)`` (sums of positive terms), since
  ``f[x_i, x_k, x_j] = sum_q h_{N-2-q}(x_i, x_k) x_j^q``, so that the contraction
  with the momentum costs ``2N`` matrix products and no ``d^3`` tensor;
- the geodesic force, infinite depth: the tensor of second divided differences
  of ``exp`` (:func:`second_divided_difference`: the difference quotient over
  the widest pair, and a short Taylor series for nearly equal triples).

The functions used by the metric (:func:`dln_coefficients`, :func:`svd_frame`,
:func:`apply_operator`) only use operations that ``autograd`` differentiates; the
geodesic force (:func:`operator_and_hamiltonian_gradient`,
:func:`operator_derivative`, :func:`geodesic_acceleration`) is NumPy code in the
full SVD frame, with a lean path for one square matrix (the integrator's case).
"""

from __future__ import annotations

import functools
import math
import os
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import autograd.numpy as anp
import numpy as np
import scipy.linalg

import geomstats.backend as gs

__all__ = [
    "check_depth",
    "power_coordinates",
    "dln_coefficients",
    "second_divided_difference",
    "svd_frame",
    "apply_operator",
    "operator_power",
    "operator_and_hamiltonian_gradient",
    "square_operator_and_hamiltonian_gradient",
    "hamiltonian_gradient",
    "operator_derivative",
    "lower_index",
]

# Array namespace of the differentiable functions: autograd's wrappers cost a few
# microseconds a call, so they are used only under geomstats' autograd backend.
_XP = anp if gs.__name__.endswith("autograd") else np

# Up to this depth a_ij is evaluated as its sum of N positive terms (cheaper than
# two expm1 per pair, and exact); beyond it, as an expm1 ratio.
_SUM_FORM_MAX_DEPTH = 12

# From this finite depth on, and from N = max(n, m) on, the geodesic force uses
# the tensors of second divided differences (cost independent of N, d^3 / 6
# elementwise work for a square X) instead of sums over the N layers (N matrix
# products). Measured crossover (single square X and batches of 101): the
# kernel is cheaper for N >= 16 up to d = 16 (1.9-3.4x at N = 32) and for
# N >= d at d = 32; the sums are cheaper at N = 8 for d >= 10.
KERNEL_MIN_DEPTH = 16


def uses_kernel(depth, shape) -> bool:
    """Whether the force at this depth and matrix shape uses the d^3 kernels."""
    return depth == math.inf or (
        depth >= KERNEL_MIN_DEPTH and depth >= max(shape[-2:])
    )


# Relative width below which a triple of nodes is treated by Opitz' formula.
_TRIPLE_WIDTH = 1e-3


@functools.cache
def _blas_controller():
    import scipy.linalg  # noqa: F401  (load scipy's BLAS before inspecting)
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def single_threaded_blas():
    """Context manager: BLAS on one thread (``threadpoolctl``).

    The geodesic integrator and the shooting solver make thousands of BLAS
    calls on small matrices, where OpenBLAS' threads cost more than they save
    (7x slower on a loaded 2-core machine); large batches are split over cores
    by :func:`operator_power` instead.
    """
    return _blas_controller().limit(limits=1, user_api="blas")


def check_depth(depth: int | float) -> int | float:
    """Validate a depth: an integer ``>= 1`` or ``math.inf``."""
    if isinstance(depth, bool):
        raise TypeError(f"depth must be an integer >= 1 or math.inf, got {depth!r}")
    if depth == math.inf:
        return math.inf
    if isinstance(depth, (int, np.integer)) or (
        isinstance(depth, float) and float(depth).is_integer()
    ):
        if depth >= 1:
            return int(depth)
    raise ValueError(f"depth must be an integer >= 1 or math.inf, got {depth!r}")


def power_coordinates(singular_values, depth: int | float, xp=None):
    """Power coordinates ``x = s^{2/N}`` (finite N) or ``x = log s^2`` (N = inf),
    in which ``a_ij`` is a divided difference (MATH §3).

    Parameters
    ----------
    singular_values : array-like, shape=[..., r]
        Nonnegative singular values.
    depth : int or math.inf
        Depth N.
    """
    xp = _XP if xp is None else xp
    if depth == math.inf:
        return 2.0 * xp.log(singular_values)
    return singular_values ** (2.0 / depth)


def dln_coefficients(s_left, s_right, depth, xp=None):
    r"""Coefficients ``a_ij = a(s_i, s_j)`` of the operator ``A_{N,X}`` (MATH §3).

    .. math::
        a_{ij} = \sum_{p=1}^N s_i^{2(N-p)/N} s_j^{2(p-1)/N}
               = \frac{s_i^2 - s_j^2}{s_i^{2/N} - s_j^{2/N}},
        \qquad a_{ii} = N s_i^{2(N-1)/N},

    and for ``N = inf`` the logarithmic mean of ``s_i^2, s_j^2``. For ``N <= 12``
    evaluated as the sum of its ``N`` positive terms; otherwise as
    ``hi^{N-1} expm1(N t) / expm1(t)`` with ``t = log(lo / hi) <= 0`` in the power
    coordinates. Both keep full relative accuracy when ``s_i ~ s_j`` and need no
    special case for ``s_i = s_j``. Zero singular values are
    allowed on one side (``a(s, 0) = s^{2(N-1)/N}``) for finite depth.

    Parameters
    ----------
    s_left : array-like, shape=[..., n]
    s_right : array-like, shape=[..., m]
    depth : int or math.inf
    xp : module, optional
        Array namespace: ``numpy`` or ``autograd.numpy``; defaults to the one
        matching geomstats' backend.

    Returns
    -------
    coefficients : array-like, shape=[..., n, m]
    """
    xp = _XP if xp is None else xp
    if depth == 1:
        return xp.ones_like(s_left[..., :, None] * s_right[..., None, :])
    if depth != math.inf and depth <= _SUM_FORM_MAX_DEPTH:
        # The same divided difference as its sum of positive terms,
        # h_{N-1}(x_i, x_j) = sum_q x_i^q x_j^{N-1-q}: exact, no transcendental.
        x_i = (s_left ** (2.0 / depth))[..., :, None]
        x_j = (s_right ** (2.0 / depth))[..., None, :]
        total, power_j = 1.0, 1.0
        for _ in range(depth - 1):
            power_j = power_j * x_j
            total = x_i * total + power_j
        return total
    # Logarithms and powers per singular value, then per pair only cheap ops and
    # one expm1 ratio: t = log(x_lo / x_hi) = -(2/N) |log s_i - log s_j| <= 0
    # (lo = 0 gives t = -inf, ratio 1); hi^p = max(s_i^p, s_j^p).
    with np.errstate(divide="ignore", invalid="ignore"):
        log_left, log_right = xp.log(s_left), xp.log(s_right)
        gap = xp.abs(log_left[..., :, None] - log_right[..., None, :])
    if depth == math.inf:
        # a = hi^2 expm1(T) / T with T = -2 |log s_i - log s_j|.
        log_ratio = -2.0 * gap
        equal = log_ratio == 0.0
        safe = xp.where(equal, -1.0, log_ratio)
        ratio = xp.where(equal, 1.0, xp.expm1(safe) / safe)
        return xp.maximum(s_left[..., :, None] ** 2, s_right[..., None, :] ** 2) * ratio
    log_ratio = (-2.0 / depth) * gap
    equal = log_ratio == 0.0
    safe = xp.where(equal, -1.0, log_ratio)
    ratio = xp.where(equal, float(depth), xp.expm1(depth * safe) / xp.expm1(safe))
    power = 2.0 * (depth - 1) / depth
    hi = xp.maximum(s_left[..., :, None] ** power, s_right[..., None, :] ** power)
    return hi * ratio


def _first_divided_difference(hi, lo, depth):
    """``f[hi, lo]`` in power coordinates for ``hi >= lo`` (NumPy, no autodiff)."""
    if depth == math.inf:
        gap = hi - lo
        equal = gap == 0.0
        safe = np.where(equal, 1.0, gap)
        return np.exp(lo) * np.where(equal, 1.0, np.expm1(safe) / safe)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log(lo) - np.log(hi)
    equal = (log_ratio == 0.0) | (hi == 0.0)
    safe = np.where(equal, -1.0, log_ratio)
    ratio = np.where(equal, float(depth), np.expm1(depth * safe) / np.expm1(safe))
    return hi ** (depth - 1) * ratio


def second_divided_difference(x1, x2, x3, depth: int | float):
    r"""Second divided difference ``f[x1, x2, x3]`` of ``f`` in power coordinates.

    The derivative of ``a_ij`` needed by the geodesic equation (MATH §3).

    ``f(x) = x^N`` on ``x >= 0`` for finite depth (then ``f[x1, x2, x3]`` is the
    complete homogeneous polynomial ``h_{N-2}(x1, x2, x3)``) and ``f = exp`` for
    ``N = inf``. Symmetric in its arguments. With the nodes sorted
    ``hi >= mid >= lo`` the value is ``(f[hi, mid] - f[mid, lo]) / (hi - lo)``, whose
    cancellation error is ``O(eps / width)``; triples narrower than a relative width
    of 1e-3 use Opitz' formula ``f(J)_{13}`` instead, ``J`` the upper bidiagonal
    matrix with the nodes on its diagonal (an exact positive matrix power for
    finite depth, a Taylor series about the middle node for ``N = inf``).

    Parameters
    ----------
    x1, x2, x3 : array-like
        Nodes, broadcastable to a common shape.
    depth : int or math.inf

    Returns
    -------
    values : ndarray
    """
    nodes = np.sort(np.stack(np.broadcast_arrays(x1, x2, x3), axis=-1), axis=-1)
    return _sorted_second_divided_difference(
        nodes[..., 0], nodes[..., 1], nodes[..., 2], depth
    )


def _sorted_second_divided_difference(lo, mid, hi, depth):
    """:func:`second_divided_difference` of nodes already sorted ``lo <= mid <= hi``."""
    if depth != math.inf and depth <= 2:
        return np.full(lo.shape, float(depth - 1))
    width = hi - lo
    if depth == math.inf:
        narrow = width <= _TRIPLE_WIDTH
    else:
        narrow = width <= _TRIPLE_WIDTH * hi
    safe_width = np.where(narrow, 1.0, width)
    values = (
        _first_divided_difference(hi, mid, depth)
        - _first_divided_difference(mid, lo, depth)
    ) / safe_width
    if np.any(narrow):
        values = values.copy()
        values[narrow] = _opitz_second_divided_difference(
            np.stack([lo[narrow], mid[narrow], hi[narrow]], axis=-1), depth
        )
    return values


def _opitz_second_divided_difference(nodes, depth):
    """``f[x1, x2, x3]`` for a flat batch of narrow node triples [k, 3].

    Finite depth: Opitz' formula ``f(J)_{13}`` with ``J`` the upper bidiagonal
    matrix of the nodes, here ``J^N`` (products of positive numbers, exact).
    ``N = inf``: the series ``e^c sum_k h_k(x - c) / (k + 2)!`` about the middle
    node ``c`` (``h_k`` complete homogeneous polynomials), whose terms fall by a
    factor below ``1e-3`` each for the narrow triples passed here.
    """
    if depth == math.inf:
        centre = nodes[..., 1]
        offsets = nodes - centre[..., None]
        total = np.zeros(centre.shape)
        # h_k(p1, p2, p3) by the recursion over variables: h^{(v)}_k = sum_j p_v^j
        # h^{(v-1)}_{k-j}; degrees up to 7 leave a remainder below 1e-24.
        degrees = 8
        homogeneous = np.zeros((degrees,) + centre.shape)
        homogeneous[0] = 1.0
        for v in range(3):
            for k in range(1, degrees):
                homogeneous[k] = homogeneous[k] + offsets[..., v] * homogeneous[k - 1]
        for k in range(degrees):
            total = total + homogeneous[k] / math.factorial(k + 2)
        return np.exp(centre) * total
    bidiagonal = np.zeros(nodes.shape[:-1] + (3, 3))
    for i in range(3):
        bidiagonal[..., i, i] = nodes[..., i]
    bidiagonal[..., 0, 1] = bidiagonal[..., 1, 2] = 1.0
    return np.linalg.matrix_power(bidiagonal, depth)[..., 0, 2]


# Depth of Lambert's continued fraction for the Langevin function on |z| <= 1:
# the truncation error is below 1e-30 there.
_CONTINUED_FRACTION_TERMS = 14


def _langevin(z):
    """``L(z) = coth z - 1/z`` (``L(0) = 0``), accurate for every real ``z``."""
    xp = _XP
    small = xp.abs(z) <= 1.0
    z_small = xp.where(small, z, 0.0)
    squared = z_small**2
    tail = 2.0 * _CONTINUED_FRACTION_TERMS + 1.0
    for n in range(_CONTINUED_FRACTION_TERMS - 1, 0, -1):
        tail = (2.0 * n + 1.0) + squared / tail
    z_large = xp.where(small, 1.0, z)
    return xp.where(small, z_small / tail, 1.0 / xp.tanh(z_large) - 1.0 / z_large)


def log_coefficient_derivatives(singular_values, depth):
    r"""``D_ij = s_i d(log a_ij)/d s_i`` [..., d, d], without ``1/(s_i - s_j)``.

    ``D_ij = c_N + L(delta) - L(delta/N)/N`` for ``delta = log(s_i/s_j) >= -1``
    and ``(2/N)/expm1(w) - 2/expm1(N w)``, ``w = 2|delta|/N``, below (both
    sums of terms without cancellation there); ``N = inf``:
    ``1 + L(delta)``, resp. ``1/|delta| - 2/expm1(2|delta|)``. Derivation in the
    docstring of :mod:`geomstats_dln.orbit_entropy`, its user (dS/ds, MATH §5).
    """
    xp = _XP
    logs = xp.log(singular_values)
    delta = logs[..., :, None] - logs[..., None, :]
    far_below = delta < -1.0
    gap = xp.where(far_below, -delta, 1.0)  # |delta| on the far-below branch
    if depth == math.inf:
        near = 1.0 + _langevin(delta)
        far = 1.0 / gap - 2.0 / xp.expm1(2.0 * gap)
    else:
        near = (
            (depth - 1.0) / depth + _langevin(delta) - _langevin(delta / depth) / depth
        )
        w = 2.0 * gap / depth
        far = (2.0 / depth) / xp.expm1(w) - 2.0 / xp.expm1(depth * w)
    return xp.where(far_below, far, near)


class SVDFrame(NamedTuple):
    """Thin SVD of a full-rank ``n x m`` point, with the DLN coefficients.

    ``transposed`` is True when ``n > m``: then the frame describes ``X^T`` (the
    metric is transpose invariant, MATH §3) so that always ``n <= m`` inside.
    """

    left: object  # U, [..., n, r]
    singular_values: object  # s, [..., r]
    right: object  # V, [..., m, r]
    coefficients: object  # a_ij, [..., r, r]
    null_coefficients: object  # a(s_i, 0) = s_i^{2(N-1)/N}, [..., r]
    transposed: bool
    depth: int | float


def _raw(array):
    """The plain ndarray under an autograd box (for checks, not for math)."""
    while hasattr(array, "_value"):
        array = array._value
    return np.asarray(array)


def check_finite_matrix(point, allow_complex: bool = False):
    """Raise ``ValueError`` unless ``point`` is a finite array of shape [..., n, m]
    (``TypeError`` for non-numeric input, and for complex input unless
    ``allow_complex``: the callers that hold over C opt in)."""
    raw = _raw(point)
    if allow_complex and np.iscomplexobj(raw):
        pass
    elif not (
        np.issubdtype(raw.dtype, np.floating) or np.issubdtype(raw.dtype, np.integer)
    ):
        raise TypeError(
            f"expected a real matrix, got dtype {raw.dtype} (complex networks are "
            "not supported by the real DLN metric)"
        )
    if raw.ndim < 2:
        raise ValueError(
            f"expected a matrix of shape [..., n, m], got an array of shape {raw.shape}"
        )
    if not np.all(np.isfinite(raw)):
        raise ValueError(f"point of shape {raw.shape} has non-finite entries")
    return raw


def check_full_rank(point, singular_values=None, rtol=None, allow_complex=False):
    """Raise ``ValueError`` unless ``point`` [..., n, m] is finite and full rank.

    The rank test is ``s_min > rtol * s_max`` with ``rtol = max(n, m) * eps`` by
    default (the rule of ``numpy.linalg.matrix_rank``). Complex input raises
    ``TypeError`` unless ``allow_complex``.
    """
    raw = check_finite_matrix(point, allow_complex=allow_complex)
    if singular_values is None:
        singular_values = np.linalg.svd(raw, compute_uv=False)
    s = _raw(singular_values)
    if rtol is None:
        rtol = max(raw.shape[-2:]) * np.finfo(float).eps
    s_min = s[..., -1]
    s_max = s[..., 0]
    bad = ~(s_min > rtol * s_max)
    if np.any(bad):
        worst = float(np.min(s_min / np.where(s_max > 0, s_max, 1.0)))
        where = ""
        if raw.ndim > 2:
            index = np.unravel_index(int(np.argmax(bad)), bad.shape)
            where = f" (first at batch index {tuple(int(i) for i in index)})"
        numerical = max(raw.shape[-2:]) * np.finfo(float).eps
        if worst > numerical:
            what = (
                f"is nearly rank-deficient: relative smallest singular value "
                f"{worst:.3e} <= {rtol:.1e}, the threshold at which geodesics are "
                "stopped"
            )
        else:
            what = (
                f"is not full rank: smallest singular value "
                f"{float(np.min(s_min)):.3e} (relative {worst:.3e})"
            )
        raise ValueError(
            f"point of shape {raw.shape}{where} {what}; end-to-end matrices must "
            "have full rank"
        )


# Batches at least this large are split over threads by :func:`operator_power`:
# LAPACK's SVD, matmul and large ufuncs release the GIL, and numpy's batched SVD
# otherwise runs on one core.
_PARALLEL_MIN_BATCH = 2048


@functools.cache
def _cpu_count() -> int:
    # cached: os.cpu_count() costs ~50 us, 5% of one 64 x 64 evaluation
    return os.cpu_count() or 1


@functools.cache
def _thread_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=_cpu_count())


def operator_power(
    tangent_vec, point, depth: int | float, power: float, allow_complex: bool = False
):
    """``A_{N,X}^{power}(Z)`` for broadcastable batches (MATH §3).

    :func:`svd_frame` then :func:`apply_operator`; a large batch of plain arrays
    is split into one chunk per core, computed in threads. Complex points
    (``allow_complex``) use the complex SVD frame, see :func:`svd_frame`.
    """
    if allow_complex and (
        np.iscomplexobj(_raw(point)) or np.iscomplexobj(_raw(tangent_vec))
    ):
        return apply_operator(
            svd_frame(point, depth, allow_complex=True), tangent_vec, power
        )
    workers = _cpu_count()
    plain = type(point) is np.ndarray and type(tangent_vec) is np.ndarray
    if plain and workers > 1:
        batch_shape = np.broadcast_shapes(point.shape[:-2], tangent_vec.shape[:-2])
        size = int(np.prod(batch_shape, dtype=int))
        if size >= _PARALLEL_MIN_BATCH:
            points = np.broadcast_to(point, batch_shape + point.shape[-2:])
            vectors = np.broadcast_to(tangent_vec, batch_shape + point.shape[-2:])
            points = points.reshape((size,) + point.shape[-2:])
            vectors = vectors.reshape((size,) + point.shape[-2:])
            chunks = np.array_split(np.arange(size), workers)
            parts = _thread_pool().map(
                lambda index: apply_operator(
                    svd_frame(points[index], depth), vectors[index], power
                ),
                chunks,
            )
            return np.concatenate(list(parts)).reshape(batch_shape + point.shape[-2:])
    return apply_operator(svd_frame(point, depth), tangent_vec, power)


def svd_frame(point, depth, allow_complex: bool = False) -> SVDFrame:
    """Thin SVD of ``point`` [..., n, m] with ``a_ij`` (one SVD per base point).

    Raises ``ValueError`` naming the shape and smallest singular value when the
    point is not full rank. With ``allow_complex`` a complex point gets its
    complex frame ``X = U diag(s) V^*`` (``U``, ``V`` with orthonormal columns
    for ``Re tr(A^* B)``); the coefficients ``a_ij`` depend on ``s`` only, so
    they are the same as over R (MATH §3 over F = C). Otherwise complex input
    raises ``TypeError``.
    """
    depth = check_depth(depth)
    check_finite_matrix(point, allow_complex=allow_complex)
    transposed = point.shape[-2] > point.shape[-1]
    left, singular_values, right_t = gs.linalg.svd(
        _adjoint(point) if transposed else point, full_matrices=False
    )
    # names the caller's shape
    check_full_rank(point, singular_values, allow_complex=allow_complex)
    if depth == math.inf and point.shape[-2] != point.shape[-1]:
        raise ValueError(
            "the infinite-depth metric is degenerate on rectangular matrices "
            f"(a(s, 0) = 0); got shape {tuple(point.shape)}"
        )
    coefficients = dln_coefficients(singular_values, singular_values, depth)
    if depth == math.inf:
        null_coefficients = None
    else:
        null_coefficients = singular_values ** (2.0 * (depth - 1) / depth)
    return SVDFrame(
        left,
        singular_values,
        _adjoint(right_t),
        coefficients,
        null_coefficients,
        transposed,
        depth,
    )


def _is_complex(array) -> bool:
    # plain ndarrays first: this runs on every operator application
    if type(array) is np.ndarray:
        return array.dtype.kind == "c"
    return np.iscomplexobj(_raw(array))


def _transpose(matrix):
    return gs.moveaxis(matrix, -1, -2)


def _conjugate_transpose(matrix):
    return gs.conj(gs.moveaxis(matrix, -1, -2))


def _adjoint(matrix):
    """``M^*``: the transpose, conjugated for complex arrays (real: ``M^T``)."""
    if _is_complex(matrix):
        return _conjugate_transpose(matrix)
    return _transpose(matrix)


def apply_operator(frame: SVDFrame, tangent_vec, power=1.0):
    r"""``A_{N,X}^{power}(Z)``: ``U (a^power * (U^* Z V)) V^*`` plus the null part.

    ``power = 1`` is the cometric (the operator A of MATH §3), ``power = -1`` the
    metric, ``power = 1/2`` its square root used for Brownian noise. For a
    rectangular ``n < m`` point the directions ``Z (I - V V^*)`` see the
    coefficient ``a(s_i, 0) = s_i^{2(N-1)/N}`` on the left. Over C (complex
    frame or vector) ``A`` is the same sum with ``X^*`` for ``X^T``; it is
    C-linear and self-adjoint for ``Re tr(A^* B)``, and ``A_{X^*}(Z^*) =
    A_X(Z)^*`` serves the tall case as ``A_{X^T}(Z^T) = A_X(Z)^T`` does over R.
    """
    complex_case = _is_complex(frame.left) or _is_complex(tangent_vec)
    adjoint = _conjugate_transpose if complex_case else _transpose
    if frame.transposed:
        tangent_vec = adjoint(tangent_vec)
    left, right = frame.left, frame.right
    left_t = adjoint(left)
    right_t = adjoint(right)
    rotated = gs.matmul(gs.matmul(left_t, tangent_vec), right)
    result = gs.matmul(gs.matmul(left, frame.coefficients**power * rotated), right_t)
    if right.shape[-2] > right.shape[-1]:
        # Z (I - V V^T): component outside the row space of X.
        null_part = tangent_vec - gs.matmul(gs.matmul(tangent_vec, right), right_t)
        scale = frame.null_coefficients**power
        result = result + gs.matmul(
            left, scale[..., :, None] * gs.matmul(left_t, null_part)
        )
    if frame.transposed:
        result = adjoint(result)
    return result


# ----------------------------------------------------------------------------
# Geodesic force: NumPy code in the full SVD frame (zero-padded singular values).
# ----------------------------------------------------------------------------


class _FullFrame(NamedTuple):
    """Full SVD frame with zero-padded singular values and the force kernels.

    Finite depth: ``gammas_*[q] = [lam^{q/N}]^{[1]}`` (Daleckii-Krein divided
    differences, ``h_{q-1}(x_i, x_k) / a_ik``) and ``powers_*[q] = x^q``, so that
    ``D[i,k,j] = sum_p gammas_left[N-p][i,k] powers_right[p-1][j]`` is never
    formed: contractions cost ``2N`` matrix products. Infinite depth: the
    tensors ``D`` themselves (``kernel_*``), from second divided differences.
    """

    left: np.ndarray  # U [..., n, n]
    right: np.ndarray  # V [..., m, m]
    diag: np.ndarray | None  # S [..., n, m] = diag(s); None for square points
    singular_values: np.ndarray  # s [..., r]
    coefficients: np.ndarray  # a(lamU_i, lamV_j) [..., n, m]
    depth: int | float
    gammas_left: np.ndarray | None = None  # [N, ..., n, n]
    gammas_right: np.ndarray | None = None  # [N, ..., m, m]
    powers_left: np.ndarray | None = None  # [N, ..., n]
    powers_right: np.ndarray | None = None  # [N, ..., m]
    kernel_left: np.ndarray | None = None  # D [..., n, n, m]
    kernel_right: np.ndarray | None = None  # D' [..., m, m, n]


def _full_svd(point):
    """Full SVD; a single matrix goes straight to LAPACK ``dgesdd``.

    The geodesic integrator calls this at every step on one small matrix, where
    ``numpy.linalg.svd``'s Python wrapper costs as much as the factorization.
    """
    if point.ndim == 2:
        left, s, right_t, info = scipy.linalg.lapack.dgesdd(point)
        if info == 0:
            return left, s, right_t
    try:
        return np.linalg.svd(point, full_matrices=True)
    except np.linalg.LinAlgError:
        check_finite_matrix(point)
        raise


def _full_frame(point, depth, rank_rtol=None) -> _FullFrame:
    point = np.asarray(point, dtype=float)
    n, m = point.shape[-2:]
    left, s, right_t = _full_svd(point)
    # Cheap inline rank test: this runs at every step of the geodesic integrator.
    if rank_rtol is None:
        rank_rtol = max(n, m) * np.finfo(float).eps
    if not np.all(s[..., -1] > rank_rtol * s[..., 0]):
        check_full_rank(point, s, rank_rtol)
    if depth == math.inf and n != m:
        raise ValueError(
            "the infinite-depth metric is degenerate on rectangular matrices; "
            f"got shape {point.shape}"
        )
    r = s.shape[-1]
    if n == m:
        pad_left = pad_right = s
        diag = None  # multiplications by diag(s) are broadcasts (hot path)
    else:
        pad_left = np.zeros(s.shape[:-1] + (n,))
        pad_left[..., :r] = s
        pad_right = np.zeros(s.shape[:-1] + (m,))
        pad_right[..., :r] = s
        diag = np.zeros(point.shape)
        diag[..., np.arange(r), np.arange(r)] = s
    frame = dict(
        left=left,
        right=np.swapaxes(right_t, -1, -2),
        diag=diag,
        singular_values=s,
        depth=depth,
    )
    if depth == math.inf:
        coefficients = dln_coefficients(s, s, depth, np)
        x = power_coordinates(s, depth, np)
        kernel = _kernel(x, coefficients, depth, singular_values=s)
        return _FullFrame(
            coefficients=coefficients, kernel_left=kernel, kernel_right=kernel, **frame
        )
    if uses_kernel(depth, point.shape):
        # Deep networks: the tensors of second divided differences cost O(d^3)
        # whatever N, where the sums over q cost O(N d^3).
        x_left = pad_left ** (2.0 / depth)
        a_left = dln_coefficients(pad_left, pad_left, depth, np)
        if n == m:
            kernel = _kernel(x_left, a_left, depth, singular_values=s)
            return _FullFrame(
                coefficients=a_left, kernel_left=kernel, kernel_right=kernel, **frame
            )
        kernel_left = _kernel(x_left, a_left, depth, pad_right ** (2.0 / depth))
        x_right = pad_right ** (2.0 / depth)
        a_right = dln_coefficients(pad_right, pad_right, depth, np)
        return _FullFrame(
            coefficients=dln_coefficients(pad_left, pad_right, depth, np),
            kernel_left=kernel_left,
            kernel_right=_kernel(x_right, a_right, depth, x_left),
            **frame,
        )
    x_left = pad_left ** (2.0 / depth)
    table_left = _homogeneous_table(x_left, depth)
    frame.update(
        gammas_left=_power_divided_differences(table_left, has_null=n > r),
        powers_left=_powers(x_left, depth),
    )
    if n == m:
        frame.update(
            coefficients=table_left[-1],
            gammas_right=frame["gammas_left"],
            powers_right=frame["powers_left"],
        )
    else:
        x_right = pad_right ** (2.0 / depth)
        frame.update(
            coefficients=dln_coefficients(pad_left, pad_right, depth, np),
            gammas_right=_power_divided_differences(
                _homogeneous_table(x_right, depth), has_null=m > r
            ),
            powers_right=_powers(x_right, depth),
        )
    return _FullFrame(**frame)


@functools.cache
def _exponents(depth, ndim):
    return np.arange(float(depth)).reshape((depth,) + (1,) * ndim)


def _powers(x, depth):
    """``x^q`` for ``q = 0..N-1`` (``0^0 = 1``), shape [N, ..., k]."""
    return x[None] ** _exponents(depth, x.ndim)


def _homogeneous_table(x, depth):
    """``h_q(x_i, x_k) = sum_{a+b=q} x_i^a x_k^b`` for ``q = 0..N-1``: [N, ..., k, k].

    ``h_{N-1}(x_i, x_k) = a_ik`` (the sum form of MATH §3). Sums of positive terms,
    by the recursion ``h_q = x_i h_{q-1} + x_k^q``: exact when ``x_i ~ x_k``.
    """
    x_i, x_k = x[..., :, None], x[..., None, :]
    table = np.empty((depth,) + x_i.shape[:-1] + x_k.shape[-1:])
    table[0] = 1.0
    power_k = np.ones(table.shape[1:])
    for q in range(1, depth):
        power_k = power_k * x_k
        table[q] = x_i * table[q - 1] + power_k
    return table


def _power_divided_differences(table, has_null=True):
    """``[lam^{q/N}]^{[1]}(lam_i, lam_k) = h_{q-1}(x_i, x_k) / h_{N-1}(x_i, x_k)``.

    For ``q = 0..N-1``, shape [N, ..., k, k], from :func:`_homogeneous_table`.
    Zero on the null-null block of a rectangular point (where ``a = 0``; never
    used: the perturbations of ``X X^T`` or ``X^T X`` vanish there).
    """
    a = table[-1]
    gammas = np.zeros(table.shape)
    if has_null:
        valid = a > 0.0
        gammas[1:] = table[:-1] * np.where(valid, 1.0 / np.where(valid, a, 1.0), 0.0)
    else:
        gammas[1:] = table[:-1] / a
    return gammas


def _square_second_divided_differences(x, pairs, depth, log_squares):
    """``f[x_i, x_k, x_j]`` [..., n, n, n] for descending nodes ``x`` [..., n].

    ``pairs = f[x_i, x_k]`` is the table of first divided differences (the
    coefficients ``a_ik`` of the metric) and ``log_squares = log s^2`` [..., n].
    ``f[x_i, x_k, x_j]`` is symmetric, so it is evaluated once per sorted index
    triple (n^3 / 6 of them, no per-triple sort) as ``(f[hi, mid] - f[mid, lo])
    / (hi - lo)`` and gathered. The node gap is taken from ``log s^2``
    (``hi - lo = lo expm1(log(hi / lo))``), not from the rounded ``x = s^{2/N}``,
    whose differences lose a factor ``N`` of relative accuracy: the quotient's
    error is then ``eps / (log s_hi^2 - log s_lo^2)`` at every depth, and only
    triples narrower than ``_TRIPLE_WIDTH`` in ``log s^2`` need another formula
    (equal nodes ``f''(a) / 2``, the others Opitz', as in
    :func:`second_divided_difference`).
    """
    largest, middle, smallest, inverse = _sorted_index_triples(x.shape[-1])
    if depth != math.inf and depth <= 2:
        return np.full(pairs.shape[:-2] + inverse.shape, float(depth - 1))
    gap = log_squares[..., largest] - log_squares[..., smallest]
    narrow = gap <= _TRIPLE_WIDTH
    hi, lo = x[..., largest], x[..., smallest]
    width = gap if depth == math.inf else lo * np.expm1(gap / depth)
    values = (pairs[..., largest, middle] - pairs[..., middle, smallest]) / np.where(
        narrow, 1.0, width
    )
    if np.any(narrow):
        equal = gap == 0.0
        if depth == math.inf:
            values[equal] = 0.5 * np.exp(hi[equal])
        else:
            values[equal] = 0.5 * depth * (depth - 1) * hi[equal] ** (depth - 2)
        close = narrow & ~equal
        if np.any(close):
            nodes = np.stack([lo[close], x[..., middle][close], hi[close]], axis=-1)
            values[close] = _opitz_second_divided_difference(nodes, depth)
    return values[..., inverse]


@functools.lru_cache(maxsize=16)
def _sorted_index_triples(n: int):
    """The index triples ``a <= b <= c`` of ``range(n)`` and, for every
    ``(i, k, j)``, the position of its sorted triple ``[n, n, n]``."""
    grid = np.indices((n, n, n)).reshape(3, -1).T
    codes = np.sort(grid, axis=-1) @ np.array([n * n, n, 1])
    unique, inverse = np.unique(codes, return_inverse=True)
    largest, rest = np.divmod(unique, n * n)
    middle, smallest = np.divmod(rest, n)
    # indices ascending = nodes descending: the first index holds the largest node
    return largest, middle, smallest, inverse.reshape(n, n, n)


def _kernel(x_same, same, depth, x_other=None, singular_values=None):
    """``f[x_i, x_k, y_j] / a(x_i, x_k)`` (``same = a(x_i, x_k)``) [..., n, n, m].

    ``y = x_other`` (default ``x_same``, the square case) are the power
    coordinates of the other side; zero where ``a(x_i, x_k) = 0`` (null-null
    block of a rectangular point, never used). In the square case, give the
    (descending, positive) ``singular_values`` for the accurate and cheap route
    :func:`_square_second_divided_differences`.
    """
    if x_other is None and singular_values is not None:
        third = _square_second_divided_differences(
            x_same, same, depth, 2.0 * np.log(singular_values)
        )
    else:
        if x_other is None:
            x_other = x_same
        third = second_divided_difference(
            x_same[..., :, None, None],
            x_same[..., None, :, None],
            x_other[..., None, None, :],
            depth,
        )
    valid = same > 0.0
    return np.where(
        valid[..., None], third / np.where(valid, same, 1.0)[..., None], 0.0
    )


def _rotate(frame: _FullFrame, matrix):
    return np.swapaxes(frame.left, -1, -2) @ matrix @ frame.right


def _unrotate(frame: _FullFrame, matrix):
    return frame.left @ matrix @ np.swapaxes(frame.right, -1, -2)


def _transpose(matrix):
    return np.swapaxes(matrix, -1, -2)


def _times_diag(frame: _FullFrame, matrix):
    """``matrix @ S`` for ``matrix`` [..., n, n], ``S = diag(s)`` [..., n, m]."""
    if frame.diag is None:
        return matrix * frame.singular_values[..., None, :]
    return matrix @ frame.diag


def _diag_times(frame: _FullFrame, matrix):
    """``S @ matrix`` for ``matrix`` [..., m, m], ``S = diag(s)`` [..., n, m]."""
    if frame.diag is None:
        return frame.singular_values[..., :, None] * matrix
    return frame.diag @ matrix


def _hamiltonian_gradient_rotated(frame: _FullFrame, p):
    """``U^T (dH/dX) V = 2 (K_B S + S K_C)`` in the frame (``p = U^T P V``)."""
    # K_B[i,k] = 1/2 sum_j D[i,k,j] P_ij P_kj; K_C[j,l] = 1/2 sum_i D'[j,l,i] P_ij P_il
    if frame.kernel_left is not None:
        k_left = 0.5 * np.einsum("...ikj,...ij,...kj->...ik", frame.kernel_left, p, p)
        k_right = 0.5 * np.einsum("...jli,...ij,...il->...jl", frame.kernel_right, p, p)
    else:
        # sum over q = 1..N-1 of gammas[q] * (P diag(powers[N-1-q]) P^T), stacked on q.
        p_t = _transpose(p)
        right_weights = frame.powers_right[-2::-1][..., None, :]
        left_weights = frame.powers_left[-2::-1][..., None, :]
        if frame.gammas_left is frame.gammas_right:
            # Square point: both sides in one stacked product (fewer small calls).
            products = (
                np.stack([p * right_weights, p_t * left_weights])
                @ np.stack([p_t, p])[:, None]
            )
            k_left, k_right = 0.5 * np.sum(frame.gammas_left[1:] * products, 1)
        else:
            k_left = 0.5 * np.sum(
                frame.gammas_left[1:] * ((p * right_weights) @ p_t), 0
            )
            k_right = 0.5 * np.sum(
                frame.gammas_right[1:] * ((p_t * left_weights) @ p), 0
            )
    return 2.0 * (_times_diag(frame, k_left) + _diag_times(frame, k_right))


def _operator_derivative_rotated(frame: _FullFrame, v, p):
    """``U^T dA_X[V](P) V`` in the frame (``v``, ``p`` rotated)."""
    v_t = _transpose(v)
    d_left = _transpose(_diag_times(frame, v_t)) + _diag_times(frame, v_t)  # U^T dB U
    d_right = _times_diag(frame, v_t) + _transpose(_times_diag(frame, v_t))  # V^T dC V
    if frame.kernel_left is not None:
        rotated = np.einsum("...ikj,...ik,...kj->...ij", frame.kernel_left, d_left, p)
        return rotated + np.einsum(
            "...jli,...il,...lj->...ij", frame.kernel_right, p, d_right
        )
    # sum over q = 1..N-1, stacked on a leading axis.
    left_terms = ((frame.gammas_left[1:] * d_left) @ p) * frame.powers_right[-2::-1][
        ..., None, :
    ]
    right_terms = frame.powers_left[-2::-1][..., :, None] * (
        p @ (frame.gammas_right[1:] * d_right)
    )
    return np.sum(left_terms + right_terms, axis=0)


def _lean(point, depth) -> bool:
    """One square matrix at a depth served by the sums over layers."""
    return (
        point.ndim == 2
        and point.shape[0] == point.shape[1]
        and not uses_kernel(depth, point.shape)
    )


def _square_frame(point, depth, rank_rtol):
    """SVD, rank check, ``x^q`` and ``h_q(x_i, x_k)`` of one square matrix."""
    left, s, right_t = _full_svd(point)
    if rank_rtol is None:
        rank_rtol = point.shape[0] * np.finfo(float).eps
    if not s[-1] > rank_rtol * s[0]:
        check_full_rank(point, s, rank_rtol)
    x = s ** (2.0 / depth)
    powers = x ** _exponents(depth, 1)  # powers[q] = x^q
    return left, s, right_t, powers, _square_homogeneous_table(x, powers, depth)


def _square_homogeneous_table(x, powers, depth):
    """``[h_q(x_i, x_k) for q in 0..N-1]`` for one vector ``x`` (cf.
    :func:`_homogeneous_table`); ``h_0 = 1`` is kept as a scalar."""
    table = [1.0]
    if depth > 1:
        x_i = x[:, None]
        table.append(x_i + powers[1])
        for q in range(2, depth):
            table.append(x_i * table[-1] + powers[q])
    else:
        table = [np.ones((len(x), len(x)))]
    return table


def square_operator_and_hamiltonian_gradient(point, momentum, depth, rank_rtol):
    """:func:`operator_and_hamiltonian_gradient` for one square matrix, finite depth.

    The same formulas as the general path (:func:`_full_frame`,
    :func:`_hamiltonian_gradient_rotated`) written with as few NumPy calls as
    possible: the geodesic integrator spends its time here, on small matrices,
    where call overhead outweighs arithmetic. Tested against the general path.
    Deep networks and ``N = inf`` take the kernel route of the general path.
    """
    if depth == math.inf or uses_kernel(depth, point.shape):
        return _square_kernel_operator_and_hamiltonian_gradient(
            point, momentum, depth, rank_rtol
        )
    left, s, right_t, powers, table = _square_frame(point, depth, rank_rtol)
    coefficients = table[-1]
    p = left.T @ momentum @ right_t.T
    p_t = p.T
    k_left = k_right = 0.0  # 2 K_B and 2 K_C of the general path
    for q in range(1, depth):
        gamma = table[q - 1] / coefficients
        weight = powers[depth - 1 - q]
        k_left = k_left + gamma * ((p * weight) @ p_t)
        k_right = k_right + gamma * ((p_t * weight) @ p)
    gradient = k_left * s + s[:, None] * k_right
    return left @ (coefficients * p) @ right_t, left @ gradient @ right_t


def _square_kernel_operator_and_hamiltonian_gradient(point, momentum, depth, rank_rtol):
    """The lean path's kernel route (``N = inf`` or deep): one square matrix,
    the d^3 tensor of second divided differences instead of the sums over q."""
    left, s, right_t = _full_svd(point)
    if rank_rtol is None:
        rank_rtol = point.shape[0] * np.finfo(float).eps
    if not s[-1] > rank_rtol * s[0]:
        check_full_rank(point, s, rank_rtol)
    coefficients = dln_coefficients(s, s, depth, np)
    kernel = _kernel(
        power_coordinates(s, depth, np), coefficients, depth, singular_values=s
    )
    p = left.T @ momentum @ right_t.T
    # 2 K_B and 2 K_C of the general path
    k_left = np.einsum("ikj,ij,kj->ik", kernel, p, p)
    k_right = np.einsum("jli,ij,il->jl", kernel, p, p)
    gradient = k_left * s + s[:, None] * k_right
    return left @ (coefficients * p) @ right_t, left @ gradient @ right_t


def squared_norm_and_gradient(points, vectors, depth):
    r"""``g_X(Z, Z)``, ``P = A_X^{-1}(Z)`` and ``d/dX g_X(Z, Z) = -2 dH/dX(X, P)``.

    For flat batches [k, n, m] (NumPy, one SVD per point): the energy of a
    discrete path and its gradient (:mod:`geomstats_dln._shooting`). From
    ``g_X(Z, Z) = <A_X^{-1} Z, Z>``: ``d g[dX] = -<P, dA_X[dX](P)> = -2 dH/dX[dX]``
    with ``H(X, P) = 1/2 <P, A_X(P)>`` (MATH §3).

    Returns
    -------
    squared_norms : ndarray, shape=[k]
    momenta : ndarray, shape=[k, n, m]
    gradients : ndarray, shape=[k, n, m]
        ``d/dX g_X(Z, Z)``.
    """
    depth = check_depth(depth)
    frame = _full_frame(np.asarray(points, dtype=float), depth)
    rotated = _rotate(frame, np.asarray(vectors, dtype=float))
    momenta_rotated = rotated / frame.coefficients
    force = _hamiltonian_gradient_rotated(frame, momenta_rotated)
    squared = np.sum(rotated * momenta_rotated, axis=(-2, -1))
    momenta, force = _unrotate(frame, np.stack([momenta_rotated, force]))
    return squared, momenta, -2.0 * force


def operator_and_hamiltonian_gradient(point, momentum, depth, rank_rtol=None):
    r"""``(A_X(P), dH/dX)`` for ``H(X, P) = 1/2 <P, A_X(P)>``, from one SVD.

    With ``B = X X^T``, ``C = X^T X`` and the Daleckii-Krein formula,
    ``U^T (dH/dX) V = 2 (K_B S + S K_C)`` where, in the SVD frame,
    ``K_B[i,k] = 1/2 sum_j D[i,k,j] P_ij P_kj``, ``K_C[j,l] = 1/2 sum_i D[j,l,i] P_ij
    P_il`` and ``D[i,k,j] = (a(l_i, l_j) - a(l_k, l_j)) / (l_i - l_k)`` (MATH §3,
    Hamiltonian form of the geodesic equation). Tested against autodiff.

    Parameters
    ----------
    point : array-like, shape=[..., n, m]
    momentum : array-like, shape=[..., n, m]
    depth : int or math.inf
    rank_rtol : float, optional
        Raise ``ValueError`` when ``s_min <= rank_rtol * s_max`` (used by the
        geodesic integrator to stop at the boundary of the full-rank matrices).

    Returns
    -------
    velocity : ndarray, shape=[..., n, m]
        ``A_X(P)``.
    gradient : ndarray, shape=[..., n, m]
        ``dH/dX``.
    """
    depth = check_depth(depth)
    point = np.asarray(point, dtype=float)
    if _lean(point, depth):
        return square_operator_and_hamiltonian_gradient(
            point, np.asarray(momentum, dtype=float), depth, rank_rtol
        )
    frame = _full_frame(point, depth, rank_rtol)
    rotated = _rotate(frame, np.asarray(momentum, dtype=float))
    both = np.stack(
        [frame.coefficients * rotated, _hamiltonian_gradient_rotated(frame, rotated)]
    )
    velocity, gradient = _unrotate(frame, both)
    return velocity, gradient


def lower_index(point, tangent_vec, depth: int | float):
    """``A_{N,X}^{-1}(V)`` in NumPy (no autodiff), for the geodesic integrator.

    Same map as :func:`apply_operator` with ``power = -1`` (MATH §3), computed in
    the full SVD frame; one square matrix takes the lean path.
    """
    depth = check_depth(depth)
    point = np.asarray(point, dtype=float)
    tangent_vec = np.asarray(tangent_vec, dtype=float)
    if _lean(point, depth):
        left, _, right_t, _, table = _square_frame(point, depth, None)
        return left @ ((left.T @ tangent_vec @ right_t.T) / table[-1]) @ right_t
    frame = _full_frame(point, depth)
    return _unrotate(frame, _rotate(frame, tangent_vec) / frame.coefficients)


def hamiltonian_gradient(point, momentum, depth):
    """``dH/dX`` of ``H(X, P) = 1/2 <P, A_X(P)>``; see
    :func:`operator_and_hamiltonian_gradient`."""
    return operator_and_hamiltonian_gradient(point, momentum, depth)[1]


def operator_derivative(point, direction, momentum, depth):
    r"""Directional derivative ``d/de A_{X + e V}(P)`` at ``e = 0``.

    In the SVD frame, with ``dB = U^T (V X^T + X V^T) U`` and
    ``dC = V^T (V^T X + X^T V) V`` (``V`` the direction),
    ``(U^T dA V)_ij = sum_k D[i,k,j] dB_ik P_kj + sum_l D'[j,l,i] P_il dC_lj``
    (MATH §3; Daleckii-Krein). Tested against finite differences.
    """
    depth = check_depth(depth)
    frame = _full_frame(point, depth)
    p = _rotate(frame, np.asarray(momentum, dtype=float))
    v = _rotate(frame, np.asarray(direction, dtype=float))
    return _unrotate(frame, _operator_derivative_rotated(frame, v, p))


def _square_geodesic_acceleration(point, velocity, depth, rank_rtol):
    """:func:`geodesic_acceleration` for one square matrix, finite depth.

    Same formulas as the general path with as few NumPy calls as possible (the
    exponential map spends its time here). Tested against the general path.
    """
    left, s, right_t, powers, table = _square_frame(point, depth, rank_rtol)
    coefficients = table[-1]
    v = left.T @ velocity @ right_t.T
    p = v / coefficients
    p_t, v_t = p.T, v.T
    v_s, v_t_s = v * s, v_t * s
    d_left = v_s + v_s.T  # U^T (V X^T + X V^T) U
    d_right = v_t_s + v_t_s.T  # V^T (V^T X + X^T V) V
    derivative = k_left = k_right = 0.0
    for q in range(1, depth):
        gamma = table[q - 1] / coefficients
        weight = powers[depth - 1 - q]
        derivative = (
            derivative
            + ((gamma * d_left) @ p) * weight
            + weight[:, None] * (p @ (gamma * d_right))
        )
        k_left = k_left + gamma * ((p * weight) @ p_t)
        k_right = k_right + gamma * ((p_t * weight) @ p)
    force = k_left * s + s[:, None] * k_right
    return left @ (derivative - coefficients * force) @ right_t


def geodesic_acceleration(
    point, velocity, depth: int | float, rank_rtol: float | None = None
):
    r"""Acceleration ``X''`` of the g^N geodesic through ``(X, X')`` (MATH §3).

    From the Hamiltonian form ``X' = A_X(P)``, ``P' = -dH/dX``:
    ``X'' = dA_X[X'](P) - A_X(dH/dX)`` with ``P = A_X^{-1}(X')``. Tested against
    the Christoffel symbols of the metric matrix.

    Parameters
    ----------
    point, velocity : array-like, shape=[..., n, m]
    depth : int or math.inf
    rank_rtol : float, optional
        Raise ``ValueError`` when ``s_min <= rank_rtol * s_max``.
    """
    depth = check_depth(depth)
    point = np.asarray(point, dtype=float)
    if _lean(point, depth):
        return _square_geodesic_acceleration(
            point, np.asarray(velocity, dtype=float), depth, rank_rtol
        )
    frame = _full_frame(point, depth, rank_rtol)
    v = _rotate(frame, np.asarray(velocity, dtype=float))
    p = v / frame.coefficients
    rotated = _operator_derivative_rotated(frame, v, p)
    force = _hamiltonian_gradient_rotated(frame, p)
    return _unrotate(frame, rotated - frame.coefficients * force)
