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
  Apart from ``E'(X)`` itself an evaluation costs ``O((n + m) r^2)``; for the
  completion loss the gradient and the products ``E' V``, ``E'^T U`` cost
  ``O(n m r)``. No ``n x n`` matrix is formed: this is the fast route for the
  ``100 x 100`` completion benchmark.
"""

from __future__ import annotations

import numpy as np

from geomstats_dln.dynamics.flows import VectorField, _check_loss
from geomstats_dln.dynamics.observables import effective_rank, singular_values
from geomstats_dln.low_rank import (
    LowRankFrame,
    apply_rank_operator,
    check_low_rank_depth,
    frame_from_factors,
    low_rank_frame,
    tangent_components,
    tangent_matrix,
    truncated_svd,
)

__all__ = [
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
    falls below ``r`` raises ``ValueError`` naming ``s_r``.
    """
    _check_loss(loss)
    n, m = loss.shape
    depth = check_low_rank_depth(depth, rank, n, m)

    def minus_gradient(matrix):
        frame = low_rank_frame(np.asarray(matrix, dtype=float), rank, depth)
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
    """Packed state ``(U, diag(s), V)`` of the rank-r truncation of ``matrix``."""
    matrix = np.asarray(matrix, dtype=float)
    if matrix.ndim != 2:
        raise ValueError(f"factorize takes one matrix [n, m], got shape {matrix.shape}")
    left, s, right = (np.asarray(x) for x in truncated_svd(matrix, rank))
    return np.concatenate([left.ravel(), np.diag(s).ravel(), right.ravel()])


def unpack_factors(state, n: int, m: int, rank: int):
    """``(U [n, r], S [r, r], V [m, r])`` of a packed state."""
    state = np.asarray(state, dtype=float)
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
    """``X = U S V^T`` of a packed state (``O(n m r)``)."""
    left, core, right = unpack_factors(state, n, m, rank)
    return (left @ core) @ right.T


def _orthonormal_frame(left, core, right, depth):
    """``(frame, Q_U, R_U, Q_V, R_V, P, Qc)``: QR of the factors, SVD of the small
    core ``R_U S R_V^T = P diag(s) Qc^T``; frame ``U_f = Q_U P``, ``V_f = Q_V Qc``."""
    q_left, r_left = np.linalg.qr(left)
    q_right, r_right = np.linalg.qr(right)
    p_core, s, q_core_t = np.linalg.svd(r_left @ core @ r_right.T)
    if not s[-1] > 0:
        raise ValueError("the factored state lost rank: a singular value reached 0")
    frame = frame_from_factors(q_left @ p_core, s, q_right @ q_core_t.T, depth)
    return frame, q_left, r_left, q_right, r_right, p_core, q_core_t.T


def factored_gradient_field(loss, depth: int, rank: int) -> VectorField:
    """``X' = -A_{N,X}(P_T E'(X))`` on ``M_r`` for a packed factored state.

    See the module docstring for the factor equations; pack a start with
    :func:`factorize`, read states with :func:`factored_end_to_end`. Records
    ``loss``, ``singular_values`` (of ``X``, from the ``r x r`` core) and
    ``effective_rank``.
    """
    _check_loss(loss)
    n, m = loss.shape
    depth = check_low_rank_depth(depth, rank, n, m)

    def minus_gradient(state):
        left, core, right = unpack_factors(state, n, m, rank)
        frame, _, r_left, _, r_right, p_core, q_core = _orthonormal_frame(
            left, core, right, depth
        )
        matrix = (left @ core) @ right.T
        gradient = np.asarray(loss.gradient(matrix))
        velocity = apply_rank_operator(frame, tangent_components(frame, gradient))
        # components in the QR frame (Q_U, Q_V) instead of the SVD frame
        core_qr = -(p_core @ velocity.core @ q_core.T)
        left_qr = -(velocity.left_normal @ q_core.T)
        right_qr = -(velocity.right_normal @ p_core.T)
        inv_r_left_t = np.linalg.inv(r_left).T
        inv_r_right_t = np.linalg.inv(r_right).T
        core_dot = np.linalg.solve(r_left, core_qr) @ inv_r_right_t
        left_dot = left_qr @ inv_r_right_t @ np.linalg.inv(core)
        right_dot = right_qr @ inv_r_left_t @ np.linalg.inv(core).T
        return np.concatenate([left_dot.ravel(), core_dot.ravel(), right_dot.ravel()])

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
