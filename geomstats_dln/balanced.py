r"""Balanced networks and the Riemannian submersion onto ``(M_d, g^N)``.

``../shared/MATH.md`` §4 (survey §5, §6.4, §8). The full-rank balanced manifold
``M`` consists of the ``W`` with all moments ``G_k = 0``; it is parametrized by
``X = U S V^T``, ``Lam = S^{1/N}`` and gauges ``Q_k in O(d)``:
``W_N = U Lam Q_{N-1}^T``, ``W_k = Q_k Lam Q_{k-1}^T``, ``W_1 = Q_1 Lam V^T``.
The end-to-end map ``phi: M -> M_d`` is a Riemannian submersion onto
``(M_d, g^N)``: the horizontal lift of ``Z`` at ``W`` is
``h_k = above_k^T A_{N,X}^{-1}(Z) below_k^T`` and ``|h|^2 = g^N_X(Z, Z)``.

This module holds the functions of that picture; the manifold and bundle
classes build on them.
"""

from __future__ import annotations

import geomstats.backend as gs

from geomstats_dln._spectral import apply_operator, check_full_rank, svd_frame
from geomstats_dln.parameters import _check_parameters, end_to_end, lifted_gradient

__all__ = ["center", "gauge_action", "horizontal_lift", "moment_differential"]


def _transpose(matrix):
    return gs.moveaxis(matrix, -1, -2)


def gauge_action(gauges, parameters):
    """Action of ``O(d)^{N-1}`` on parameters (MATH §4).

    ``W_N -> W_N Q_{N-1}^T``, ``W_k -> Q_k W_k Q_{k-1}^T``, ``W_1 -> Q_1 W_1``
    (``Q_0 = Q_N = I``). Preserves the end-to-end matrix, the balanced manifold
    and the Frobenius metric.

    Parameters
    ----------
    gauges : array-like, shape=[..., N-1, d, d]
        ``gauges[k-1] = Q_k``, orthogonal matrices.
    parameters : array-like, shape=[..., N, d, d]

    Returns
    -------
    acted : array-like, shape=[..., N, d, d]
    """
    depth, dim = _check_parameters(parameters)
    if tuple(gauges.shape[-3:]) != (depth - 1, dim, dim):
        raise ValueError(
            f"gauges must have shape [..., {depth - 1}, {dim}, {dim}], "
            f"got {tuple(gauges.shape)}"
        )
    batch = gauges.shape[:-3]
    eye = gs.broadcast_to(gs.eye(dim), batch + (1, dim, dim))
    left = gs.concatenate([gauges, eye], axis=-3)  # Q_k for k = 1..N
    right = gs.concatenate([eye, gauges], axis=-3)  # Q_{k-1} for k = 1..N
    return gs.matmul(gs.matmul(left, parameters), _transpose(right))


def center(end_to_end_matrix, depth: int):
    """Canonical balanced lift of ``X``: all gauges ``Q_k = I`` (MATH §4).

    ``W_N = U Lam``, ``W_k = Lam`` (``1 < k < N``), ``W_1 = Lam V^T`` with
    ``X = U S V^T`` and ``Lam = S^{1/N}``.

    Parameters
    ----------
    end_to_end_matrix : array-like, shape=[..., d, d]
        Full-rank square matrix.
    depth : int

    Returns
    -------
    parameters : array-like, shape=[..., N, d, d]
    """
    if end_to_end_matrix.shape[-1] != end_to_end_matrix.shape[-2]:
        raise ValueError(
            "balanced networks of equal widths have square end-to-end matrices, "
            f"got shape {tuple(end_to_end_matrix.shape)}"
        )
    left, singular_values, right_t = gs.linalg.svd(end_to_end_matrix)
    check_full_rank(end_to_end_matrix, singular_values)
    root = singular_values ** (1.0 / depth)
    diagonal = root[..., :, None] * gs.eye(root.shape[-1])
    layers = [diagonal] * depth
    if depth == 1:
        return gs.stack([end_to_end_matrix], axis=-3)
    layers[0] = root[..., :, None] * right_t
    layers[-1] = left * root[..., None, :]
    return gs.stack(layers, axis=-3)


def moment_differential(tangent_vec, parameters):
    """``dG_k(V) = V_k W_k^T + W_k V_k^T - V_{k+1}^T W_{k+1} - W_{k+1}^T V_{k+1}``.

    ``V`` is tangent to the balanced manifold at ``W`` iff this vanishes
    (MATH §2, §4: the balanced manifold is the level set ``G = 0``).

    Returns
    -------
    differential : array-like, shape=[..., N-1, d, d]
    """
    _check_parameters(parameters)
    lower, upper = parameters[..., :-1, :, :], parameters[..., 1:, :, :]
    v_lower, v_upper = tangent_vec[..., :-1, :, :], tangent_vec[..., 1:, :, :]
    term = gs.matmul(v_lower, _transpose(lower)) - gs.matmul(_transpose(v_upper), upper)
    return term + _transpose(term)


def horizontal_lift(tangent_vec, parameters):
    """Horizontal lift ``h_k = above_k^T A_{N,X}^{-1}(Z) below_k^T`` (MATH §4).

    The lifted gradient (:func:`geomstats_dln.parameters.lifted_gradient`) of the
    covector ``A_{N,X}^{-1}(Z)``. For balanced ``W`` over ``X``:
    ``dphi_W(h) = Z``, ``h`` is orthogonal to the gauge orbit, and
    ``|h|^2 = g^N_X(Z, Z)`` (survey Thm 13).

    Parameters
    ----------
    tangent_vec : array-like, shape=[..., d, d]
        ``Z``, a tangent vector at ``X = phi(W)``.
    parameters : array-like, shape=[..., N, d, d]
        A balanced point ``W``.

    Returns
    -------
    lift : array-like, shape=[..., N, d, d]
    """
    depth, _ = _check_parameters(parameters)
    frame = svd_frame(end_to_end(parameters), depth)
    return lifted_gradient(apply_operator(frame, tangent_vec, -1.0), parameters)
