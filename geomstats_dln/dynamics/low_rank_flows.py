r"""Gradient flows on the rank-r strata ``(M_r, g^N)`` (survey §5.4, Thm 3).

From a balanced start of rank ``r`` the end-to-end matrix of a trained network
stays of rank ``r`` and follows ``X' = -grad_{g^N} E = -A_{N,X}(P_T E'(X))``
(:mod:`geomstats_dln.low_rank`). Two vector fields for
:func:`~geomstats_dln.dynamics.integrate`:

- :func:`fixed_rank_gradient_field` -- the state is the dense ``n x m`` matrix;
  each evaluation takes the rank-r truncated SVD of the state (one thin SVD), so
  integration errors off ``M_r`` are not fed back into the field;
- :func:`factored_gradient_field` -- the state is a packed factorization
  ``X = U S V^T`` (``U`` n x r, ``S`` r x r, ``V`` m x r); the factors move by
  the dynamical low-rank equations (Koch and Lubich 2007) written for factors
  that need not be orthonormal: with ``U = Q_U R_U``, ``V = Q_V R_V`` (QR) and
  ``X' = Q_U A Q_V^T + B Q_V^T + Q_U C^T`` (``B`` orthogonal to ``Q_U``, ``C``
  to ``Q_V``),

  .. math::
      S' = R_U^{-1} A R_V^{-T}, \qquad U' = B R_V^{-T} S^{-1}, \qquad
      V' = C R_U^{-T} S^{-T},

  which reproduce ``X'`` exactly: ``U' S V^T + U S' V^T + U S V'^T = X'``.
  Apart from ``E'(X)`` itself an evaluation costs ``O((n + m) r^2)``; the
  loss takes ``X`` dense, so assembling ``X``, ``E'(X)`` and the products
  ``E' V``, ``U^T E'`` cost ``O(n m r)``. No ``n x n`` matrix is formed: this is
  the fast route for the ``100 x 100`` completion benchmark. There (r = 5, one
  BLAS thread) an evaluation takes about 50 us: about 27 us is the fixed cost
  of its ~40 NumPy and LAPACK calls (the same field at n = 10 takes 27 us) and
  about 24 us the dense ``O(n m r)`` work; evaluating the completion loss on the
  observed entries only (gathers and a sparse product) was slower at this size
  (90 us for those steps against 23 us dense).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg.lapack import dgesdd as _gesdd
from scipy.linalg.lapack import dpotrf as _potrf
from scipy.linalg.lapack import dtrtri as _trtri

from geomstats_dln._spectral import dln_coefficients
from geomstats_dln._validation import as_float_array
from geomstats_dln.dynamics.flows import VectorField, _check_loss
from geomstats_dln.dynamics.observables import effective_rank, singular_values
from geomstats_dln.low_rank import (
    LowRankFrame,
    apply_rank_operator,
    check_low_rank_depth,
    low_rank_frame,
    tangent_components,
    tangent_matrix,
    truncated_svd,
)

__all__ = [
    "from_svd_coordinates_2x2",
    "svd_coordinates_field_2x2",
    "to_svd_coordinates_2x2",
    "factored_end_to_end",
    "factored_gradient_field",
    "factorize",
    "fixed_rank_gradient_field",
    "unpack_factors",
]


def fixed_rank_gradient_field(loss, depth: int, rank: int) -> VectorField:
    """``X' = -A_{N,X}(P_T E'(X))`` on ``M_r``, dense state ``X`` [n, m].

    The field is evaluated at the rank-r truncation of the state. Records
    ``loss``, ``singular_values`` and ``effective_rank``. A state whose rank
    falls below ``r`` raises ``ValueError`` naming ``s_r``; a complex state
    (``M_r`` is real) a ``TypeError``.
    """
    _check_loss(loss)
    n, m = loss.shape
    depth = check_low_rank_depth(depth, rank, n, m)

    def minus_gradient(matrix):
        matrix = as_float_array(matrix, "state", "fixed_rank_gradient_field")
        frame = low_rank_frame(np.asarray(matrix), rank, depth)
        gradient = np.asarray(loss.gradient(_assemble(frame)))
        components = apply_rank_operator(frame, tangent_components(frame, gradient))
        return -np.asarray(tangent_matrix(frame, components))

    return VectorField(
        minus_gradient,
        {
            "loss": loss.value,
            "singular_values": singular_values,
            "effective_rank": effective_rank,
        },
        f"fixed_rank_gradient(N={depth}, r={rank})",
    )


def _assemble(frame: LowRankFrame):
    return (frame.left * frame.singular_values[..., None, :]) @ np.swapaxes(
        frame.right, -1, -2
    )


# -------------------------------------------------------------- factored state
def factorize(matrix, rank: int) -> np.ndarray:
    """Packed state ``(U, diag(s), V)`` of the rank-r truncation of ``matrix``
    (real: complex input is a ``TypeError``)."""
    matrix = np.asarray(as_float_array(matrix, "matrix", "factorize"))
    if matrix.ndim != 2:
        raise ValueError(f"factorize takes one matrix [n, m], got shape {matrix.shape}")
    left, s, right = (np.asarray(x) for x in truncated_svd(matrix, rank))
    return np.concatenate([left.ravel(), np.diag(s).ravel(), right.ravel()])


def unpack_factors(state, n: int, m: int, rank: int):
    """``(U [n, r], S [r, r], V [m, r])`` of a packed (real) state."""
    state = np.asarray(as_float_array(state, "state", "unpack_factors"))
    return _unpack(state, n, m, rank)


def _unpack(state, n, m, rank):
    """:func:`unpack_factors` of a float ndarray (checked by the caller)."""
    expected = (n + m + rank) * rank
    if state.shape != (expected,):
        raise ValueError(
            f"a packed rank-{rank} state of a {n} x {m} matrix has shape "
            f"({expected},), got {state.shape}"
        )
    left = state[: n * rank].reshape(n, rank)
    core = state[n * rank : (n + rank) * rank].reshape(rank, rank)
    right = state[(n + rank) * rank :].reshape(m, rank)
    return left, core, right


def factored_end_to_end(state, n: int, m: int, rank: int) -> np.ndarray:
    """``X = U S V^T`` of a packed (real) state (``O(n m r)``)."""
    state = np.asarray(as_float_array(state, "state", "factored_end_to_end"))
    left, core, right = _unpack(state, n, m, rank)
    return (left @ core) @ right.T


def _frame_coefficients(depth):
    """``s -> (-a_ij, s_i^{(N-2)/N})``: minus the core coefficients of MATH §3
    and the normal-block coefficient ``c_i = s_i^{2(N-1)/N}`` divided by ``s_i``.

    For finite ``N``, ``a_ij = sum_q x_i^{N-1-q} x_j^q`` with ``x = s^{2/N}`` (the
    sum of positive terms of :func:`~geomstats_dln._spectral.dln_coefficients`)
    is one ``r x N`` by ``N x r`` product. Depth ``inf`` is only allowed at full
    rank (``r = n = m``), where the normal blocks are empty: the scale is 0.
    """
    if depth == math.inf:

        def infinite(s):
            return -dln_coefficients(s, s, depth, np), np.zeros_like(s)

        return infinite
    exponents = np.arange(depth, dtype=float)

    def finite(s):
        powers = (s ** (2.0 / depth))[:, None] ** exponents  # x_i^q, q < N
        return -(powers[:, ::-1].dot(powers.T)), s ** ((depth - 2.0) / depth)

    return finite


def factored_gradient_field(loss, depth: int, rank: int) -> VectorField:
    """``X' = -A_{N,X}(P_T E'(X))`` on ``M_r`` for a packed factored state.

    See the module docstring for the factor equations; pack a start with
    :func:`factorize`, read states with :func:`factored_end_to_end`. Records
    ``loss``, ``singular_values`` (of ``X``, from the ``r x r`` core) and
    ``effective_rank``. A complex state (``M_r`` is real) is a ``TypeError``.
    """
    _check_loss(loss)
    n, m = loss.shape
    depth = check_low_rank_depth(depth, rank, n, m)
    coefficients = _frame_coefficients(depth)

    size_left, size_core = n * rank, (n + rank) * rank

    def minus_gradient(state):
        # Direct LAPACK calls and plain NumPy, no n x n matrix but E' itself: at
        # n = 100, r = 5 the fixed cost of the ~40 calls is more than half of an
        # evaluation, so products are ndarray.dot (0.3 us for 5 x 5 against
        # 0.8 us for the matmul ufunc) and the factorizations scipy's LAPACK
        # wrappers (0.4 us for potrf against 3 us for numpy.linalg.cholesky).
        # With U = Q_U R_U, V = Q_V R_V (R from Cholesky of the Gram matrices,
        # which stay constant up to integration error: U' is orthogonal to U)
        # and the SVD R_U S R_V^T = P diag(s) Qc^T, the SVD frame is
        # U_f = U M_L, V_f = V M_R with M_L = R_U^{-1} P, M_R = R_V^{-1} Qc,
        # and S = M_L diag(s) M_R^T.
        state = np.asarray(as_float_array(state, "state", "factored_gradient_field"))
        left, core, right = _unpack(state, n, m, rank)
        r_left, info_left = _potrf(left.T.dot(left))
        r_right, info_right = _potrf(right.T.dot(right))
        if info_left or info_right:
            raise ValueError("the factored state lost rank: a factor is singular")
        p_core, s, q_core_t, info = _gesdd(r_left.dot(core).dot(r_right.T))
        if info or not s[-1] > 0:
            raise ValueError("the factored state lost rank: a singular value reached 0")
        a, scale = coefficients(s)
        mix_left = _trtri(r_left)[0].dot(p_core)  # M_L
        mix_right_t = q_core_t.dot(_trtri(r_right)[0].T)  # M_R^T
        frame_left = left.dot(mix_left)  # U_f, orthonormal columns
        frame_right_t = mix_right_t.dot(right.T)  # V_f^T, C-ordered: faster products
        gradient = np.asarray(loss.gradient((frame_left * s).dot(frame_right_t)))
        times_right = gradient.dot(frame_right_t.T)  # E' V_f
        left_times = frame_left.T.dot(gradient)  # U_f^T E'
        rotated = frame_left.T.dot(times_right)  # U_f^T E' V_f
        # -X' = U_f A V_f^T + B V_f^T + U_f C^T with A = a o rotated,
        # B = (I - U_f U_f^T) E' V_f diag(c), C = (I - V_f V_f^T) E'^T U_f diag(c);
        # -S' = M_L A M_R^T, -U' = B diag(1/s) M_L^{-1}, -V' = C diag(1/s) M_R^{-1}
        # (M_L^{-1} = P^T R_U, M_R^{-1} = Qc^T R_V), so that U' S V^T = -B V_f^T
        # and U S V'^T = -U_f C^T; scale = c / s = s^{(N-2)/N}. Written straight
        # into the packed velocity.
        velocity = np.empty(state.shape)
        np.dot(
            frame_left.dot(rotated) - times_right,
            scale[:, None] * p_core.T.dot(r_left),
            out=velocity[:size_left].reshape(n, rank),
        )
        np.dot(
            mix_left.dot(a * rotated),
            mix_right_t,
            out=velocity[size_left:size_core].reshape(rank, rank),
        )
        np.dot(
            (rotated.dot(frame_right_t) - left_times).T,
            scale[:, None] * q_core_t.dot(r_right),
            out=velocity[size_core:].reshape(m, rank),
        )
        return velocity

    def core_singular_values(state):
        left, core, right = unpack_factors(state, n, m, rank)
        r_left = np.linalg.qr(left)[1]
        r_right = np.linalg.qr(right)[1]
        return np.linalg.svd(r_left @ core @ r_right.T, compute_uv=False)

    def factored_effective_rank(state):
        s = core_singular_values(state)
        p = s / np.sum(s)
        return np.exp(-np.sum(p * np.log(np.where(p > 0, p, 1.0))))

    return VectorField(
        minus_gradient,
        {
            "loss": lambda state: loss.value(factored_end_to_end(state, n, m, rank)),
            "singular_values": core_singular_values,
            "effective_rank": factored_effective_rank,
        },
        f"factored_gradient(N={depth}, r={rank})",
    )


# ------------------------------------------ 2 x 2, det > 0, in SVD coordinates
def _rotation(angle):
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]])


def to_svd_coordinates_2x2(matrix) -> np.ndarray:
    """``(theta, phi, log s_1, log s_2)`` with ``X = R(theta) diag(s) R(phi)^T``.

    For a 2 x 2 matrix with ``det X > 0`` and distinct singular values; the
    coordinates cover that component of ``GL(2)`` (MATH §10: it is invariant).
    Complex input is a ``TypeError``.
    """
    matrix = np.asarray(as_float_array(matrix, "matrix", "to_svd_coordinates_2x2"))
    if matrix.shape != (2, 2) or not np.all(np.isfinite(matrix)):
        raise ValueError(f"expected one finite 2 x 2 matrix, got shape {matrix.shape}")
    if not np.linalg.det(matrix) > 0:
        raise ValueError("SVD coordinates of SO(2) x SO(2) need det X > 0")
    left, s, right_t = np.linalg.svd(matrix)
    if np.linalg.det(left) < 0:  # det X > 0: flip both frames together
        left, right_t = left * [1.0, -1.0], right_t * np.array([[1.0], [-1.0]])
    if not s[1] < s[0]:
        raise ValueError("SVD coordinates need distinct singular values")
    theta = np.arctan2(left[1, 0], left[0, 0])
    phi = np.arctan2(right_t[0, 1], right_t[0, 0])
    return np.array([theta, phi, np.log(s[0]), np.log(s[1])])


def from_svd_coordinates_2x2(coordinates) -> np.ndarray:
    """``X = R(theta) diag(exp l_1, exp l_2) R(phi)^T`` (batches on a leading axis;
    real coordinates: complex ones are a ``TypeError``)."""
    coordinates = np.asarray(
        as_float_array(coordinates, "coordinates", "from_svd_coordinates_2x2")
    )
    if coordinates.ndim == 2:
        return np.stack([from_svd_coordinates_2x2(c) for c in coordinates])
    theta, phi, log_1, log_2 = coordinates
    return (_rotation(theta) * np.exp([log_1, log_2])) @ _rotation(phi).T


def svd_coordinates_field_2x2(loss, depth: int) -> VectorField:
    r"""The g^N gradient flow of a 2 x 2 loss in SVD coordinates, ``det X > 0``.

    With ``X = R(theta) diag(s) R(phi)^T`` and ``Z = U^T X' V = -a * (U^T E' V)``
    (``a_ij`` of MATH §3): ``(log s_i)' = Z_ii / s_i`` and

    .. math::
        \theta' = \frac{s_2 Z_{12} + s_1 Z_{21}}{s_1^2 - s_2^2}, \qquad
        \phi' = \frac{s_1 Z_{12} + s_2 Z_{21}}{s_1^2 - s_2^2}.

    The state never leaves the component ``det X > 0`` and ``log s_2`` may run to
    ``-inf`` without loss of relative accuracy: for ``N = 2`` the smallest
    singular value decays exponentially in time, below what a dense integrator
    of ``X`` resolves (it then crosses ``det = 0`` numerically). Records ``loss``,
    ``singular_values``, ``effective_rank``, ``norm`` and ``det``.
    """
    _check_loss(loss)
    if tuple(loss.shape) != (2, 2):
        raise ValueError(f"the loss must be of 2 x 2 matrices, got {loss.shape}")
    depth = check_low_rank_depth(depth, 2, 2, 2)
    if depth == math.inf:
        raise ValueError("svd_coordinates_field_2x2 needs a finite depth")

    def field(coordinates):
        theta, phi, log_1, log_2 = coordinates
        s = np.exp([log_1, log_2])
        left, right = _rotation(theta), _rotation(phi)
        matrix = (left * s) @ right.T
        rotated = left.T @ np.asarray(loss.gradient(matrix)) @ right
        z = -dln_coefficients(s, s, depth, np) * rotated
        gap = s[0] ** 2 - s[1] ** 2
        if not gap > 0:
            raise ValueError("SVD coordinates: the singular values collided")
        return np.array(
            [
                (s[1] * z[0, 1] + s[0] * z[1, 0]) / gap,
                (s[0] * z[0, 1] + s[1] * z[1, 0]) / gap,
                # Z_ii / s_i = -a_ii / s_i * rotated_ii, a_ii / s_i = N s^{(N-2)/N}
                # from log s: no underflow when s_2 ~ e^{-700} (N = 2)
                -depth * np.exp((depth - 2.0) / depth * log_1) * rotated[0, 0],
                -depth * np.exp((depth - 2.0) / depth * log_2) * rotated[1, 1],
            ]
        )

    def matrix_of(coordinates):
        return from_svd_coordinates_2x2(coordinates)

    return VectorField(
        field,
        {
            "loss": lambda c: loss.value(matrix_of(c)),
            "singular_values": lambda c: np.exp(c[2:]),
            "effective_rank": lambda c: effective_rank(matrix_of(c)),
            "norm": lambda c: np.sqrt(np.sum(np.exp(2 * c[2:]))),
            "det": lambda c: np.exp(c[2] + c[3]),
            "log_s2": lambda c: c[3],
            "log_det": lambda c: c[2] + c[3],  # det itself underflows for N = 2
        },
        f"svd_coordinates_2x2(N={depth})",
    )
