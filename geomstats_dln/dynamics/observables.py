"""Observables recorded along trajectories: functions of one state.

End-to-end observables take a matrix ``X`` [..., n, m]; parameter observables a
network ``W`` [..., N, d, d] (``W[k-1] = W_k``, MATH §1).
"""

from __future__ import annotations

import numpy as np

from geomstats_dln._validation import (
    as_field_array,
    as_finite_array,
    as_float_array,
    check_parameters,
)
from geomstats_dln.parameters import end_to_end, moments

__all__ = [
    "effective_rank",
    "layer_norms",
    "moment_norm",
    "singular_values",
]


def singular_values(matrix) -> np.ndarray:
    """Singular values of ``matrix`` [..., n, m], decreasing.

    Refuses non-finite input (LAPACK's SVD loops on inf; with NaN the
    effective rank came out 0).
    """
    matrix = as_finite_array(matrix, "matrix", "singular_values", min_ndim=2)
    return np.linalg.svd(np.asarray(matrix), compute_uv=False)


def effective_rank(matrix) -> np.ndarray:
    r"""Effective rank of Roy and Vetterli (2007), as in Arora et al. (2019).

    ``exp(-sum_i p_i log p_i)`` with ``p_i = s_i / sum_j s_j``: equal to the rank
    for a matrix with equal nonzero singular values, and continuous in between.
    The zero matrix has effective rank 0.
    """
    s = singular_values(matrix)
    total = np.sum(s, axis=-1, keepdims=True)
    p = s / np.where(total > 0, total, 1.0)
    entropy = -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0), -1)
    return np.where(total[..., 0] > 0, np.exp(entropy), 0.0)


def _as_field_parameters(parameters, function):
    """Parameters ``[..., N, d, d]``, real or complex by the dtype (F = R or C)."""
    parameters = np.asarray(as_field_array(parameters, "parameters", function))
    check_parameters(parameters)
    return parameters


def moment_norm(parameters) -> np.ndarray:
    r"""``|G(W)|``: the Frobenius norm of all moments ``G_k`` together (MATH §2).

    ``|G|^2 = sum_k |G_k|^2`` with ``G_k = W_k W_k^* - W_{k+1}^* W_{k+1}``
    (``k < N``; ``^*`` the conjugate transpose, the transpose over R) and
    ``|A|^2 = Re tr(A^* A)`` (balancedness paper §1.1, over F = R or C). Zero
    exactly on the balanced variety; conserved by every gradient flow of a
    lifted loss (Thm 1a). Real or complex parameters, by the dtype.

    Parameters
    ----------
    parameters : array-like, shape=[..., N, d, d]
        ``W[k-1] = W_k``.

    Returns
    -------
    norm : ndarray, shape=[...]
    """
    parameters = _as_field_parameters(parameters, "moment_norm")
    if parameters.shape[-3] == 1:
        return np.zeros(parameters.shape[:-3])
    gram = np.asarray(moments(parameters))
    return np.sqrt(np.sum(np.abs(gram) ** 2, axis=(-3, -2, -1)))


def layer_norms(parameters) -> np.ndarray:
    """``(|W_1|, ..., |W_N|)``, ``|W_k|^2 = Re tr(W_k^* W_k)`` (Frobenius).

    Real or complex parameters ``[..., N, d, d]`` by the dtype; shape [..., N].
    """
    parameters = _as_field_parameters(parameters, "layer_norms")
    return np.sqrt(np.sum(np.abs(parameters) ** 2, axis=(-2, -1)))


def end_to_end_singular_values(parameters) -> np.ndarray:
    """Singular values of ``X = phi(W)``."""
    parameters = as_float_array(parameters, "parameters", "end_to_end_singular_values")
    return singular_values(end_to_end(parameters))
