r"""Balanced networks and the Riemannian submersion onto ``(M_d, g^N)``.

``docs/mathematics.md`` §4 (survey §5, §6.4, §8). The full-rank balanced manifold
``M`` consists of the ``W`` with all moments ``G_k = 0``; it is parametrized by
``X = U S V^T``, ``Lam = S^{1/N}`` and gauges ``Q_k in O(d)``:
``W_N = U Lam Q_{N-1}^T``, ``W_k = Q_k Lam Q_{k-1}^T``, ``W_1 = Q_1 Lam V^T``.
The end-to-end map ``phi: M -> M_d`` is a Riemannian submersion onto
``(M_d, g^N)``: the horizontal lift of ``Z`` at ``W`` is
``h_k = above_k^T A_{N,X}^{-1}(Z) below_k^T`` and ``|h|^2 = g^N_X(Z, Z)``.

This module holds the functions of that picture; the manifold and bundle
classes build on them.

Over F = C (complex input, selected by the dtype; docs/mathematics.md, "The
complex network"; balancedness paper §1.1, §2) the same statements hold with
conjugate transposes and unitary gauges: ``X = U S V^*``,
``W_k = Q_k Lam Q_{k-1}^*`` with ``Q_k in U(d)``, moments
``G_k = W_k W_k^* - W_{k+1}^* W_{k+1}`` (Hermitian), the real inner product
``Re tr(A^* B)``. The gauge algebra is ``u(d)`` (skew-Hermitian matrices,
``d^2`` real dimensions: ``d (d-1)/2`` complex off-diagonal pairs and ``d``
imaginary diagonal phases), so the complex balanced manifold has real
dimension ``2 d^2 + (N-1) d^2``. The geodesic machinery (RATTLE exp, shooting
log, alignment) is real only and refuses complex input with a ``TypeError``.
"""

from __future__ import annotations

import functools

import numpy as np

import geomstats.backend as gs
from geomstats.geometry.fiber_bundle import FiberBundle
from geomstats.geometry.group_action import GroupAction
from geomstats.geometry.manifold import Manifold, register_quotient
from geomstats.geometry.quotient_metric import QuotientMetric

from geomstats_dln._spectral import (
    _full_svd,
    apply_operator,
    check_full_rank,
    svd_frame,
)
from geomstats_dln._validation import (
    as_field_array,
    as_finite_array,
    as_float_array,
    as_parameters,
    as_positive_float,
    as_size,
    balance_defect,
    broadcast_batch,
    check_balanced,
    check_finite,
    check_orthogonal,
    check_parameters,
    gauge_vector,
    is_complex,
    symmetric_basis,
)
from geomstats_dln.end_to_end import EndToEndMatrices
from geomstats_dln.parameters import (
    DLNParameterSpace,
    FrobeniusMetric,
    differential,
    end_to_end,
    lifted_gradient,
    moments,
)

__all__ = [
    "BalancedBundle",
    "BalancedManifold",
    "BalancedMetric",
    "balanced_exp",
    "GaugeAction",
    "balanced_frame",
    "random_gauges",
    "center",
    "gauge_action",
    "horizontal_lift",
    "horizontal_projection",
    "moment_differential",
    "orbit_basis",
    "to_tangent",
    "vertical_projection",
]


# the private names other modules used to import from here
_balance_defect, _check_balanced = balance_defect, check_balanced
_gauge_vector, _symmetric_basis = gauge_vector, symmetric_basis


# Dense RATTLE / shooting solve systems in the (N-1) d (d+1) / 2 balance
# constraints at every step; beyond these sizes they would run for minutes.
MAX_RATTLE_CONSTRAINTS = 300
MAX_SHOOTING_UNKNOWNS = 20


def _check_vector(tangent_vec, parameters, name="tangent_vec", finite=True):
    """``tangent_vec`` must have the layer shape ``[..., N, d, d]`` of the point
    (and finite entries: it goes into SVDs and linear solves)."""
    tangent_vec = as_field_array(tangent_vec, name)
    if finite:
        check_finite(tangent_vec, name)
    expected = tuple(np.shape(parameters)[-3:])
    if tuple(np.shape(tangent_vec)[-3:]) != expected or np.ndim(tangent_vec) < 3:
        raise ValueError(
            f"{name} must have shape [..., {expected[0]}, {expected[1]}, "
            f"{expected[2]}] like the parameters, got {tuple(np.shape(tangent_vec))}"
        )
    broadcast_batch(
        (np.shape(tangent_vec)[:-3], np.shape(parameters)[:-3]), (name, "parameters")
    )
    if hasattr(tangent_vec, "_value"):  # an autograd box: keep it on the tape
        return tangent_vec
    return np.asarray(tangent_vec)


def _check_single(point, name):
    if np.ndim(point) != 3:
        raise ValueError(
            f"{name} takes one point of shape [N, d, d], got {tuple(np.shape(point))}"
        )


def _transpose(matrix):
    return gs.moveaxis(matrix, -1, -2)


def _adjoint(matrix):
    """``M^*``: ``M^T`` over R (the real code path, unchanged), the conjugate
    transpose over C."""
    transposed = gs.moveaxis(matrix, -1, -2)
    return gs.conj(transposed) if is_complex(matrix) else transposed


def _abs2(array):
    """``|a|^2`` entrywise (real)."""
    if np.iscomplexobj(array):
        return array.real**2 + array.imag**2
    return array**2


def _as_field_parameters(parameters, name="parameters", function=""):
    """Finite parameters ``[..., N, d, d]``, real or complex by their dtype."""
    parameters = as_field_array(parameters, name, function)
    check_parameters(parameters, name)
    check_finite(parameters, name, function)
    return parameters


def _check_full_rank(point, singular_values=None):
    """The real check of ``_spectral`` (its messages) over R; over C the
    field-agnostic one of ``_validation``."""
    if is_complex(point):
        from geomstats_dln._validation import check_full_rank as check_over_field

        check_over_field(point, singular_values)
    else:
        check_full_rank(point, singular_values)


def _check_unitary(gauges, function, atol=1e-8):
    """Raise ``ValueError`` unless every ``Q`` has ``|Q^* Q - I|_max <= atol``."""
    plain = np.asarray(getattr(gauges, "_value", gauges))
    check_finite(plain, "gauges", function)
    if plain.size == 0:
        return
    gram = np.conj(np.swapaxes(plain, -1, -2)) @ plain
    defect = float(np.max(np.abs(gram - np.eye(plain.shape[-1]))))
    if defect > atol:
        raise ValueError(
            f"{function}: gauges must be unitary: max |Q^* Q - I| = "
            f"{defect:.3e} > {atol:g}"
        )


def gauge_action(gauges, parameters):
    """Action of ``O(d)^{N-1}`` on parameters (MATH §4).

    ``W_N -> W_N Q_{N-1}^T``, ``W_k -> Q_k W_k Q_{k-1}^T``, ``W_1 -> Q_1 W_1``
    (``Q_0 = Q_N = I``). Preserves the end-to-end matrix, the balanced manifold
    and the Frobenius metric. Over C (complex gauges or parameters), ``U(d)^{N-1}``
    acting by ``W_k -> Q_k W_k Q_{k-1}^*``.

    Parameters
    ----------
    gauges : array-like, shape=[..., N-1, d, d]
        ``gauges[k-1] = Q_k``, orthogonal (unitary over C) matrices; others
        are refused (they would change ``X = phi(W)``).
    parameters : array-like, shape=[..., N, d, d]

    Returns
    -------
    acted : array-like, shape=[..., N, d, d]
    """
    parameters = as_field_array(parameters, "parameters", "gauge_action")
    gauges = as_field_array(gauges, "gauges", "gauge_action")
    depth, dim = check_parameters(parameters)
    if np.ndim(gauges) < 3 or tuple(gauges.shape[-3:]) != (depth - 1, dim, dim):
        raise ValueError(
            f"gauges must have shape [..., {depth - 1}, {dim}, {dim}], "
            f"got {tuple(np.shape(gauges))}"
        )
    # a non-orthogonal "gauge" changes X = phi(W) without a word
    if is_complex(gauges):
        _check_unitary(gauges, "gauge_action")
    else:
        check_orthogonal(gauges, "gauges", "gauge_action")
    broadcast_batch(
        (gauges.shape[:-3], parameters.shape[:-3]),
        ("gauges", "parameters"),
        "gauge_action",
    )
    batch = gauges.shape[:-3]
    eye = gs.broadcast_to(gs.eye(dim), batch + (1, dim, dim))
    left = gs.concatenate([gauges, eye], axis=-3)  # Q_k for k = 1..N
    right = gs.concatenate([eye, gauges], axis=-3)  # Q_{k-1} for k = 1..N
    return gs.matmul(gs.matmul(left, parameters), _adjoint(right))


def center(end_to_end_matrix, depth: int):
    """Canonical balanced lift of ``X``: all gauges ``Q_k = I`` (MATH §4).

    ``W_N = U Lam``, ``W_k = Lam`` (``1 < k < N``), ``W_1 = Lam V^T`` with
    ``X = U S V^T`` and ``Lam = S^{1/N}``. For complex ``X``, the complex SVD
    ``X = U S V^*`` and ``W_1 = Lam V^*`` (balancedness §2.1).

    Parameters
    ----------
    end_to_end_matrix : array-like, shape=[..., d, d]
        Full-rank square matrix.
    depth : int

    Returns
    -------
    parameters : array-like, shape=[..., N, d, d]
    """
    depth = as_size(depth, "depth", "center")
    if is_complex(end_to_end_matrix):
        end_to_end_matrix = _as_field_matrix(
            end_to_end_matrix, "end_to_end_matrix", "center"
        )
    else:
        end_to_end_matrix = as_finite_array(
            end_to_end_matrix, "end_to_end_matrix", "center", min_ndim=2
        )  # before the SVD: LAPACK loops forever on inf
    if end_to_end_matrix.shape[-1] != end_to_end_matrix.shape[-2]:
        raise ValueError(
            "balanced networks of equal widths have square end-to-end matrices, "
            f"got shape {tuple(end_to_end_matrix.shape)}"
        )
    left, singular_values, right_t = gs.linalg.svd(end_to_end_matrix)
    _check_full_rank(end_to_end_matrix, singular_values)
    root = singular_values ** (1.0 / depth)
    diagonal = root[..., :, None] * gs.eye(root.shape[-1])
    layers = [diagonal] * depth
    if depth == 1:
        return gs.stack([end_to_end_matrix], axis=-3)
    layers[0] = root[..., :, None] * right_t
    layers[-1] = left * root[..., None, :]
    return gs.stack(layers, axis=-3)


def _as_field_matrix(matrix, name, function):
    """A finite real or complex array of shape ``[..., n, m]``."""
    matrix = as_field_array(matrix, name, function)
    if np.ndim(matrix) < 2:
        raise ValueError(
            f"{function}: {name} must have shape [..., n, m], got "
            f"{tuple(np.shape(matrix))}"
        )
    check_finite(matrix, name, function)
    return matrix


def moment_differential(tangent_vec, parameters):
    """``dG_k(V) = V_k W_k^T + W_k V_k^T - V_{k+1}^T W_{k+1} - W_{k+1}^T V_{k+1}``.

    ``V`` is tangent to the balanced manifold at ``W`` iff this vanishes
    (MATH §2, §4: the balanced manifold is the level set ``G = 0``). Over C,
    with conjugate transposes (Hermitian values).

    Returns
    -------
    differential : array-like, shape=[..., N-1, d, d]
    """
    parameters = as_field_array(parameters, "parameters", "moment_differential")
    check_parameters(parameters)
    tangent_vec = _check_vector(tangent_vec, parameters, finite=False)
    lower, upper = parameters[..., :-1, :, :], parameters[..., 1:, :, :]
    v_lower, v_upper = tangent_vec[..., :-1, :, :], tangent_vec[..., 1:, :, :]
    if is_complex(parameters) or is_complex(tangent_vec):
        term = gs.matmul(v_lower, _adjoint(lower)) - gs.matmul(_adjoint(v_upper), upper)
        return term + _adjoint(term)
    term = gs.matmul(v_lower, _transpose(lower)) - gs.matmul(_transpose(v_upper), upper)
    return term + _transpose(term)


def horizontal_lift(tangent_vec, parameters):
    """Horizontal lift ``h_k = above_k^T A_{N,X}^{-1}(Z) below_k^T`` (MATH §4).

    The lifted gradient (:func:`geomstats_dln.parameters.lifted_gradient`) of the
    covector ``A_{N,X}^{-1}(Z)``. For balanced ``W`` over ``X``:
    ``dphi_W(h) = Z``, ``h`` is orthogonal to the gauge orbit, and
    ``|h|^2 = g^N_X(Z, Z)`` (survey Thm 13). Over C: ``h_k = above_k^*
    A^{-1}(Z) below_k^*`` with the complex ``A`` (conjugate transposes), and
    ``|h|^2 = Re tr(h^* h) = g^N_X(Z, Z)``.

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
    if is_complex(parameters) or is_complex(tangent_vec):
        parameters = _as_field_parameters(parameters, function="horizontal_lift")
        tangent_vec = _as_field_matrix(tangent_vec, "tangent_vec", "horizontal_lift")
        depth, _ = check_parameters(parameters)
        check_balanced(parameters)
        frame = svd_frame(end_to_end(parameters + 0j), depth, allow_complex=True)
        covector = apply_operator(frame, tangent_vec + 0j, -1.0)
        return lifted_gradient(covector, parameters + 0j)
    parameters = as_parameters(parameters, function="horizontal_lift")
    tangent_vec = as_finite_array(tangent_vec, "tangent_vec", "horizontal_lift", 2)
    depth, _ = check_parameters(parameters)
    check_balanced(parameters)
    frame = svd_frame(end_to_end(parameters), depth)
    return lifted_gradient(apply_operator(frame, tangent_vec, -1.0), parameters)


def orbit_basis(parameters):
    """Gauge-orbit tangent vectors ``w_a`` over the orthonormal basis
    ``e_ij = (E_ij - E_ji) / sqrt 2`` (i < j) of each ``so(d)`` factor (MATH §4).

    For complex parameters, over the orthonormal basis (for ``Re tr``) of each
    ``u(d)`` factor: ``(E_ij - E_ji) / sqrt 2`` and ``i (E_ij + E_ji) / sqrt 2``
    (i < j), then the phases ``i E_ii``: ``d^2`` per factor.

    Returns
    -------
    basis : ndarray, shape=[(N-1) d (d-1) / 2, N, d, d]
        (``[(N-1) d^2, N, d, d]`` over C.) Not orthonormal: its Gram matrix is
        the pullback metric of survey Lemma 2, with ``det = prod_{i<j} a_ij``
        (tested).
    """
    if is_complex(parameters):
        parameters = np.asarray(
            _as_field_parameters(parameters, function="orbit_basis")
        )
    else:
        parameters = np.asarray(as_parameters(parameters, function="orbit_basis"))
    depth, dim = check_parameters(parameters)
    _check_single(parameters, "orbit_basis")
    rows, cols = np.triu_indices(dim, 1)
    if np.iscomplexobj(parameters):
        generators = _unitary_algebra_basis(dim)
        algebra = np.zeros(
            (depth - 1, len(generators), depth - 1, dim, dim), dtype=complex
        )
        for k in range(depth - 1):
            algebra[k, :, k] = generators
        algebra = algebra.reshape((-1, depth - 1, dim, dim))
        return _orbit_vectors(algebra, parameters[None])
    algebra = np.zeros((depth - 1, len(rows), depth - 1, dim, dim))
    for k in range(depth - 1):
        algebra[k, np.arange(len(rows)), k, rows, cols] = 1.0 / np.sqrt(2.0)
        algebra[k, np.arange(len(rows)), k, cols, rows] = -1.0 / np.sqrt(2.0)
    algebra = algebra.reshape((-1, depth - 1, dim, dim))
    return gauge_vector(algebra, parameters[None])


def _unitary_algebra_basis(dim: int) -> np.ndarray:
    """Basis of ``u(d)`` orthonormal for ``Re tr(A^* B)``, ``[d^2, d, d]``:
    ``(E_ij - E_ji)/sqrt 2``, ``i (E_ij + E_ji)/sqrt 2`` (i < j), ``i E_ii``."""
    rows, cols = np.triu_indices(dim, 1)
    pairs = len(rows)
    basis = np.zeros((2 * pairs + dim, dim, dim), dtype=complex)
    index = np.arange(pairs)
    basis[index, rows, cols] = 1.0 / np.sqrt(2.0)
    basis[index, cols, rows] = -1.0 / np.sqrt(2.0)
    basis[pairs + index, rows, cols] = 1j / np.sqrt(2.0)
    basis[pairs + index, cols, rows] = 1j / np.sqrt(2.0)
    diagonal = np.arange(dim)
    basis[2 * pairs + diagonal, diagonal, diagonal] = 1j
    return basis


def _orbit_vectors(algebra, parameters):
    """``(w_a)_k = a_k W_k - W_k a_{k-1}``, ``a_0 = a_N = 0``, any dtype."""
    zeros = np.zeros(algebra.shape[:-3] + (1,) + algebra.shape[-2:], algebra.dtype)
    padded = np.concatenate([zeros, algebra, zeros], axis=-3)
    return padded[..., 1:, :, :] @ parameters - parameters @ padded[..., :-1, :, :]


def balanced_frame(parameters):
    """Gauges and singular values of a balanced point (MATH §4 parametrization).

    Returns ``(frames, lam)`` with ``frames[..., k] = Q_k`` for ``k = 0..N``
    (``Q_0 = V``, ``Q_N = U`` from ``X = U S V^T``) and ``lam = s^{1/N}``, so that
    ``W_k = Q_k diag(lam) Q_{k-1}^T``. Built by ``Q_k = W_k Q_{k-1} Lam^{-1}``.
    Over C: unitary ``Q_k`` (complex), ``W_k = Q_k diag(lam) Q_{k-1}^*``.
    """
    # finite before the SVD below (LAPACK loops forever on inf)
    if is_complex(parameters):
        parameters = np.asarray(
            _as_field_parameters(parameters, function="balanced_frame")
        )
    else:
        parameters = np.asarray(as_parameters(parameters, function="balanced_frame"))
    depth, dim = check_parameters(parameters)
    check_balanced(parameters)
    # The SVD of W_1 = Q_1 Lam Q_0^T gives the frame without forming X: on a
    # balanced point W_k^T W_k = W_{k-1} W_{k-1}^T, so each W_k Q_{k-1} Lam^{-1}
    # is orthonormal, whatever the multiplicities of lam.
    if np.iscomplexobj(parameters):  # _full_svd calls the real LAPACK routine
        left, lam, right_t = np.linalg.svd(parameters[..., 0, :, :])
    else:
        left, lam, right_t = _full_svd(parameters[..., 0, :, :])
    ratio = lam[..., -1] / lam[..., 0]
    if not np.all(ratio**depth > dim * np.finfo(float).eps):
        _check_full_rank(end_to_end(parameters))  # raises, naming the smallest s
    frames = np.empty(parameters.shape[:-3] + (depth + 1, dim, dim), parameters.dtype)
    frames[..., 0, :, :] = np.asarray(_adjoint(right_t))
    frames[..., 1, :, :] = left
    inverse_lam = (1.0 / lam)[..., None, :]
    for k in range(1, depth):
        np.matmul(
            parameters[..., k, :, :], frames[..., k, :, :], out=frames[..., k + 1, :, :]
        )
        frames[..., k + 1, :, :] *= inverse_lam
    return frames, lam


def _rotate_layers(frames, vectors):
    """``Q_k^T V_k Q_{k-1}`` for ``k = 1..N`` (``Q_k^*`` over C)."""
    if np.iscomplexobj(frames):
        return frames[..., 1:, :, :].mT.conj() @ vectors @ frames[..., :-1, :, :]
    return frames[..., 1:, :, :].mT @ vectors @ frames[..., :-1, :, :]


@functools.cache
def _sine_basis(size: int) -> np.ndarray:
    """Orthonormal DST-I basis: eigenvectors of every ``size x size`` symmetric
    Toeplitz tridiagonal matrix, ``S_jk = sqrt(2/(K+1)) sin(pi j k / (K+1))``."""
    index = np.arange(1, size + 1)
    return np.sqrt(2.0 / (size + 1)) * np.sin(
        np.pi * np.outer(index, index) / (size + 1)
    )


def _solve_toeplitz_tridiagonal(diagonal, off, rhs):
    """Solve ``off x_{k-1} + diagonal x_k + off x_{k+1} = rhs_k`` along axis -3.

    Such matrices share the sine eigenvectors, with eigenvalues
    ``diagonal + 2 off cos(pi j / (K+1))``: two products with the DST-I basis and
    one division, no loop. ``diagonal``, ``off``: [..., d, d]; ``rhs``:
    [..., K, d, d], one system per trailing entry.
    """
    size = rhs.shape[-3]
    basis = _sine_basis(size)
    angles = np.cos(np.pi * np.arange(1, size + 1) / (size + 1))
    flat = rhs.reshape(rhs.shape[:-2] + (-1,))  # [..., K, d*d]
    eigenvalues = (
        diagonal.reshape(diagonal.shape[:-2] + (1, -1))
        + 2.0 * off.reshape(off.shape[:-2] + (1, -1)) * angles[:, None]
    )
    return (basis @ ((basis @ flat) / eigenvalues)).reshape(rhs.shape)


def vertical_projection(tangent_vec, parameters):
    r"""Orthogonal projection onto the gauge-orbit directions ``V_W`` (MATH §4).

    ``V_W = {w_a : a_k skew}``, ``(w_a)_k = a_k W_k - W_k a_{k-1}``. In the frame
    ``W_k = Q_k Lam Q_{k-1}^T`` the normal equations decouple into one
    ``(N-1) x (N-1)`` Toeplitz tridiagonal system per pair ``i < j``, with
    diagonal ``2 (lam_i^2 + lam_j^2)`` and off-diagonal ``-2 lam_i lam_j`` (twice
    the Gram matrix of survey Lemma 2). All these matrices are diagonal in the
    same sine basis, so the solves are two products with it: ``O(N d^3)`` for
    the rotations plus ``O(N^2 d^2)``.

    Over C the directions are ``a_k`` skew-Hermitian (``u(d)``) and the rotated
    vector is ``Q_k^* V_k Q_{k-1}``; the least-squares problem of a pair
    ``i < j`` has the same matrix, with right-hand side
    ``lam_j (V_k,ij + conj V_{k+1},ji) - lam_i (conj V_k,ji + V_{k+1},ij)``
    (the real one with conjugates on the transposed entries), and on the
    diagonal ``i = j`` the same formula gives the imaginary phases ``a_k,ii``
    (matrix ``lam_i^2 (2, -1)`` halved consistently with the right-hand side
    ``2 i lam_i (Im V_k,ii - Im V_{k+1},ii)``).

    Parameters
    ----------
    tangent_vec : array-like, shape=[..., N, d, d]
    parameters : array-like, shape=[..., N, d, d]
        A balanced full-rank point.

    Returns
    -------
    vertical : ndarray, shape=[..., N, d, d]
    """
    tangent_vec = _check_vector(tangent_vec, parameters)
    frames, lam = balanced_frame(parameters)
    depth = frames.shape[-3] - 1
    if depth == 1:
        return np.zeros(
            np.broadcast_shapes(np.shape(tangent_vec), frames[..., 1:, :, :].shape),
            np.result_type(tangent_vec, frames),
        )
    rotated = _rotate_layers(frames, tangent_vec)
    lam_i, lam_j = lam[..., :, None], lam[..., None, :]
    transposed = rotated.mT  # entries (k, j, i) at (i, j)
    if np.iscomplexobj(rotated):
        transposed = transposed.conj()
    # r_k = lam_j (V_k,ij + V_{k+1},ji) - lam_i (V_k,ji + V_{k+1},ij). The
    # right-hand sides are exactly antisymmetric (same float operations with
    # the roles swapped) and the systems symmetric in (i, j), so the solution
    # is exactly skew with a zero diagonal: no masking needed.
    rhs = lam_j[..., None, :, :] * (
        rotated[..., :-1, :, :] + transposed[..., 1:, :, :]
    ) - lam_i[..., None, :, :] * (transposed[..., :-1, :, :] + rotated[..., 1:, :, :])
    diagonal = 2.0 * (lam_i**2 + lam_j**2)
    off = -2.0 * lam_i * lam_j
    skew = _solve_toeplitz_tridiagonal(diagonal, off, rhs)  # b_1..b_{N-1}
    # rotated orbit vector b_k Lam - Lam b_{k-1}, with b_0 = b_N = 0
    orbit = np.zeros(rotated.shape, rotated.dtype)
    orbit[..., :-1, :, :] = skew * lam[..., None, None, :]
    orbit[..., 1:, :, :] -= lam[..., None, :, None] * skew
    if np.iscomplexobj(orbit):
        return frames[..., 1:, :, :] @ orbit @ frames[..., :-1, :, :].mT.conj()
    return frames[..., 1:, :, :] @ orbit @ frames[..., :-1, :, :].mT


def horizontal_projection(tangent_vec, parameters):
    """Orthogonal projection onto ``H_W = (ker dphi_W)^perp``: ``lift(dphi_W(V))``.

    No linear solve (MATH §4): the horizontal lift of the image.
    """
    _check_vector(tangent_vec, parameters)
    return horizontal_lift(differential(tangent_vec, parameters), parameters)


def to_tangent(tangent_vec, parameters):
    """Orthogonal projection onto ``T_W M = V_W (+) H_W`` (MATH §4)."""
    return vertical_projection(tangent_vec, parameters) + horizontal_projection(
        tangent_vec, parameters
    )


class GaugeAction(GroupAction):
    """The gauge group ``O(d)^{N-1}`` acting on parameters (MATH §4).

    ``group_elem`` has shape ``[..., N-1, d, d]`` (``Q_1, ..., Q_{N-1}``); see
    :func:`gauge_action`.
    """

    def __call__(self, group_elem, point):
        return gauge_action(group_elem, point)


def random_gauges(depth: int, dim: int, n_samples: int = 1, field: str = "real"):
    """Haar-distributed ``O(d)^{N-1}`` elements, shape ``[n, N-1, d, d]``.

    QR of Gaussian matrices with the signs of ``diag(R)`` moved into ``Q``.
    With ``field="complex"``, Haar ``U(d)^{N-1}``: QR of complex Gaussian
    matrices with the phases ``diag(R) / |diag(R)|`` moved into ``Q``
    (Mezzadri, Notices AMS 54, 2007).
    """
    depth = as_size(depth, "depth", "random_gauges")
    dim = as_size(dim, "dim", "random_gauges")
    n_samples = as_size(n_samples, "n_samples", "random_gauges")
    _check_field(field, "random_gauges")
    size = (n_samples, depth - 1, dim, dim)
    if field == "complex":
        real, imag = np.asarray(gs.random.normal(size=(2,) + size))
        q, r = np.linalg.qr(real + 1j * imag)
        diagonal = np.diagonal(r, axis1=-2, axis2=-1)
        gauges = q * (diagonal / np.abs(diagonal))[..., None, :]
        return gauges if n_samples != 1 else gauges[0]
    q, r = np.linalg.qr(np.asarray(gs.random.normal(size=size)))
    gauges = q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]
    return gs.array(gauges if n_samples != 1 else gauges[0])


def _check_field(field, function):
    if field not in ("real", "complex"):
        raise ValueError(
            f"{function}: field must be 'real' or 'complex', got {field!r}"
        )


def _flat_pairs(first, second, what, names=("point", "base_point")):
    """Broadcast two batches of parameters [..., N, d, d]; flat [k, N, d, d].

    Real only (the geodesic machinery of ``M``): complex input is a
    ``TypeError``, not a silent cast.
    """
    first = np.asarray(as_float_array(first, names[0], what))
    second = np.asarray(as_float_array(second, names[1], what))
    try:
        batch = np.broadcast_shapes(first.shape[:-3], second.shape[:-3])
    except ValueError as error:
        raise ValueError(
            f"{what}: batch shapes {first.shape[:-3]} and {second.shape[:-3]} do "
            "not broadcast"
        ) from error
    shape = batch + first.shape[-3:]
    flat = (-1,) + first.shape[-3:]
    return (
        np.broadcast_to(first, shape).reshape(flat),
        np.broadcast_to(second, batch + second.shape[-3:]).reshape(flat),
        batch,
    )


class BalancedMetric(FrobeniusMetric):
    """Frobenius metric induced on the balanced manifold (MATH §4).

    Inner products are those of parameter space; ``exp`` follows the geodesics
    of the submanifold (:func:`balanced_exp`, RATTLE), not straight lines;
    ``log`` shoots on it (:func:`balanced_log`). Batches ``[..., N, d, d]``
    broadcast (problems solved one after the other).
    """

    def exp(self, tangent_vec, base_point):
        """Geodesic of ``M`` at time 1 (:func:`balanced_exp`); batched by a loop."""
        vectors, points, batch = _flat_pairs(
            tangent_vec, base_point, "BalancedMetric.exp", ("tangent_vec", "base_point")
        )
        ends = [balanced_exp(v, p) for v, p in zip(vectors, points, strict=True)]
        return np.stack(ends).reshape(batch + points.shape[-3:])

    def log(self, point, base_point):
        """Logarithm of ``M`` by shooting (:func:`balanced_log`); batched by a loop."""
        targets, points, batch = _flat_pairs(point, base_point, "BalancedMetric.log")
        logs = [balanced_log(y, w) for y, w in zip(targets, points, strict=True)]
        return np.stack(logs).reshape(batch + points.shape[-3:])

    def geodesic(self, initial_point, end_point=None, initial_tangent_vec=None):
        """Geodesic of ``M``: ``t -> balanced_exp(t V, W)`` (``V = log`` given an
        end point). Returns ``path(t) -> [..., len(t), N, d, d]``."""
        if (end_point is None) == (initial_tangent_vec is None):
            raise ValueError("give exactly one of end_point and initial_tangent_vec")
        if end_point is not None:
            initial_tangent_vec = self.log(end_point, initial_point)
        vectors, points, batch = _flat_pairs(
            initial_tangent_vec,
            initial_point,
            "BalancedMetric.geodesic",
            ("initial_tangent_vec", "initial_point"),
        )

        def path(t):
            times = np.atleast_1d(np.asarray(t, dtype=float))
            if times.ndim != 1:
                raise ValueError(f"t must be a scalar or 1-D array, got {times.shape}")
            curves = np.stack(
                [
                    np.stack([balanced_exp(s * v, w) for s in times])
                    for v, w in zip(vectors, points, strict=True)
                ]
            )
            return curves.reshape(batch + curves.shape[1:])

        return path

    def _not_provided(self, *args, **kwargs):
        raise NotImplementedError(
            "BalancedMetric provides inner products, exp, log and geodesics of the "
            "balanced manifold; this method would be that of the ambient space"
        )

    metric_matrix = christoffels = parallel_transport = _not_provided
    injectivity_radius = _not_provided


class BalancedQuotientMetric(QuotientMetric):
    """The quotient of :class:`BalancedMetric` by the gauge group: ``g^N``.

    Inner products come from the bundle (horizontal lifts, geomstats'
    ``QuotientMetric``); ``exp``, ``log``, ``squared_dist``, ``dist`` and
    ``geodesic`` are those of :class:`~geomstats_dln.end_to_end.DLNMetric`,
    which the Riemannian submersion theorem identifies with the quotient's
    (survey Thm 13), computed downstairs in closed form instead of through
    geodesics of ``M`` and an alignment.
    """

    def __init__(self, space, total_space, signature=None):
        super().__init__(space, total_space, signature=signature)
        self._downstairs = EndToEndMatrices(
            space.n, space.m, depth=total_space.depth
        ).metric

    def exp(self, tangent_vec, base_point):
        return self._downstairs.exp(tangent_vec, base_point)

    def log(self, point, base_point, errors: str = "raise"):
        return self._downstairs.log(point, base_point, errors=errors)

    def squared_dist(self, point_a, point_b, errors: str = "raise"):
        return self._downstairs.squared_dist(point_a, point_b, errors=errors)

    def dist(self, point_a, point_b, errors: str = "raise"):
        return self._downstairs.dist(point_a, point_b, errors=errors)

    def geodesic(self, initial_point, end_point=None, initial_tangent_vec=None):
        return self._downstairs.geodesic(
            initial_point, end_point=end_point, initial_tangent_vec=initial_tangent_vec
        )


def horizontal_geodesic_end(tangent_vec, base_point, rtol: float = 1e-11):
    r"""End ``W(1)`` of the horizontal lift through ``W`` of the g^N geodesic
    ``exp_X(tV)``, ``X = phi(W)`` (MATH §4; O'Neill: a geodesic of ``M``).

    Along the downstairs geodesic with momentum ``P(t)`` (``X' = A_X(P)``,
    ``P' = -dH/dX``) the horizontal lift of ``X'`` is
    ``W_k' = above_k^T P below_k^T`` (the lift formula with ``A^{-1}(X') = P``),
    which keeps ``G(W) = 0`` and ``phi(W(t)) = X(t)`` (Thm 1a, 1b). The pair
    ``(W, P)`` is integrated with DOP853.

    Parameters
    ----------
    tangent_vec : ndarray, shape=[n, n]
    base_point : ndarray, shape=[N, n, n]
        A balanced full-rank network.
    """
    from scipy.integrate import solve_ivp

    from geomstats_dln._spectral import hamiltonian_gradient, lower_index

    # real only: the g^N geodesic equation is integrated over R
    tangent_vec = np.asarray(
        as_float_array(tangent_vec, "tangent_vec", "horizontal_geodesic_end")
    )
    base_point = np.asarray(
        as_float_array(base_point, "base_point", "horizontal_geodesic_end")
    )
    depth = base_point.shape[-3]
    point = np.asarray(end_to_end(base_point))
    momentum = lower_index(point, tangent_vec, depth)
    size = base_point.size

    def field(_, y):
        layers = y[:size].reshape(base_point.shape)
        p = y[size:].reshape(momentum.shape)
        x = np.asarray(end_to_end(layers))
        return np.concatenate(
            [
                np.asarray(lifted_gradient(p, layers)).ravel(),
                -hamiltonian_gradient(x, p, depth).ravel(),
            ]
        )

    scale = max(float(np.abs(base_point).max()), 1e-300)
    solution = solve_ivp(
        field,
        (0.0, 1.0),
        np.concatenate([base_point.ravel(), momentum.ravel()]),
        method="DOP853",
        rtol=rtol,
        atol=1e-3 * rtol * scale,
    )
    if not solution.success:
        raise ValueError(f"horizontal lift: integration failed: {solution.message}")
    return solution.y[:size, -1].reshape(base_point.shape)


class BalancedManifold(Manifold):
    r"""Full-rank balanced networks ``{W : G_k(W) = 0}`` (MATH §2, §4).

    An embedded submanifold of :class:`~geomstats_dln.parameters.DLNParameterSpace`
    with the induced Frobenius metric, of dimension
    ``d^2 + (N-1) d (d-1) / 2``. Equipped with the gauge action
    (:class:`GaugeAction`); :meth:`equip_with_quotient` makes ``(M_d, g^N)``
    the quotient by the gauge group through :class:`BalancedBundle`.

    With ``field="complex"`` the complex balanced manifold (balancedness §2):
    ``W_k = Q_k Lam Q_{k-1}^*`` with ``Q_k in U(d)``. It fibres over the
    full-rank ``X in GL(d; C)`` (real dimension ``2 d^2``) with fibre the free
    ``U(d)^{N-1}`` orbit (``Q.W = W`` forces ``Q_1 = I`` from ``Q_1 W_1 = W_1``,
    then each next ``Q_k = I``), of real dimension ``(N-1) d^2``, so its real
    dimension is ``2 d^2 + (N-1) d^2`` (over R: ``d^2 + (N-1) d (d-1)/2``,
    ``dim O(d) = d (d-1)/2``). Checked against the rank of the Jacobian of the
    moments in the tests.

    Parameters
    ----------
    dim : int
        Width ``d``.
    depth : int
        Depth ``N``.
    field : {"real", "complex"}
        The field of the layers (:meth:`random_point`, :attr:`dim`; the
        functions take complex points whatever the field).
    """

    def __init__(self, dim: int, depth: int, equip: bool = True, field: str = "real"):
        _check_field(field, "BalancedManifold")
        self.field = field
        self.ambient = DLNParameterSpace(dim, depth, equip=False, field=field)
        self.width, self.depth = self.ambient.width, self.ambient.depth
        if field == "complex":
            manifold_dim = 2 * dim**2 + (depth - 1) * dim**2
        else:
            manifold_dim = dim**2 + (depth - 1) * dim * (dim - 1) // 2
        super().__init__(
            dim=manifold_dim,
            shape=(depth, dim, dim),
            equip=equip,
        )
        self.equip_with_group_action(GaugeAction())

    @staticmethod
    def default_metric():
        """The induced Frobenius metric, with RATTLE geodesics."""
        return BalancedMetric

    def belongs(self, point, atol: float = 1e-8, rank_rtol: float | None = None):
        """Balanced (``|G| <= atol |W|^2``), of full rank (``s_min > rank_rtol
        s_max`` for ``X = phi(W)``, default ``d eps``) and of the right shape."""
        point = np.asarray(as_field_array(point, "point", "BalancedManifold.belongs"))
        if tuple(point.shape[-3:]) != self.shape:
            return np.zeros(point.shape[:-3], dtype=bool)
        defect, size = balance_defect(point)
        s = np.linalg.svd(end_to_end(point), compute_uv=False)
        if rank_rtol is None:
            rank_rtol = self.width * np.finfo(float).eps
        return (defect <= atol * size) & (s[..., -1] > rank_rtol * s[..., 0])

    def is_tangent(self, vector, base_point, atol: float = 1e-8):
        """``dG_W(V) = 0`` (relative to ``|V| |W|``)."""
        differential_g = np.asarray(moment_differential(vector, base_point))
        scale = np.sqrt(
            np.sum(_abs2(np.asarray(vector)), axis=(-3, -2, -1))
            * np.sum(_abs2(np.asarray(base_point)), axis=(-3, -2, -1))
        )
        gap = np.sqrt(np.sum(_abs2(differential_g), axis=(-3, -2, -1)))
        return gap <= atol * scale

    def to_tangent(self, vector, base_point):
        """Orthogonal projection onto ``T_W M`` (:func:`to_tangent`)."""
        return to_tangent(vector, base_point)

    def random_point(self, n_samples: int = 1, bound: float = 1.0):
        """Gaussian end-to-end matrix (entries of std ``bound``; complex: real
        and imaginary parts of std ``bound / sqrt 2``), Haar gauges."""
        size = (self.width,) * 2 if n_samples == 1 else (n_samples,) + (self.width,) * 2
        if self.field == "complex":
            real, imag = np.asarray(gs.random.normal(size=(2,) + size))
            matrices = bound / np.sqrt(2.0) * (real + 1j * imag)
        else:
            matrices = bound * gs.random.normal(size=size)
        if self.depth == 1:
            return center(matrices, 1)
        return gauge_action(
            random_gauges(self.depth, self.width, n_samples, field=self.field),
            center(matrices, self.depth),
        )

    def center(self, end_to_end_matrix):
        """Canonical balanced lift (:func:`center`)."""
        return center(end_to_end_matrix, self.depth)

    def projection(self, point):
        """The balanced point with the same end-to-end matrix and the closest
        gauge: ``Q.center(phi(W))`` with ``Q`` from :func:`best_gauge` (alternating
        Procrustes, a local minimum of ``|W - Q.center|``). Points of ``M`` are
        returned unchanged (up to rounding).
        """
        point = np.asarray(
            _as_field_parameters(point, "point", "BalancedManifold.projection")
        )
        if point.ndim > 3:
            return np.stack([self.projection(p) for p in point])
        lift = center(end_to_end(point), self.depth)
        if self.depth == 1:
            return lift
        return gauge_action(best_gauge(point, lift), lift)

    def equip_with_quotient(self):
        """Quotient by the gauge group: ``EndToEndMatrices(d, depth=N)`` with the
        quotient metric of :class:`BalancedBundle` (:class:`BalancedQuotientMetric`):
        inner products through horizontal lifts, and exp, log, dist and
        geodesics those of g^N, which equal geomstats' generic route through
        the exact :meth:`BalancedBundle.align` and the geodesics of ``M``
        (tested).

        The bundle comes from geomstats' quotient registry (``register_quotient``
        below); the quotient space is built here because geomstats would make it
        a copy of the total space.
        """
        super().equip_with_quotient()  # sets self.fiber_bundle from the registry
        quotient = EndToEndMatrices(self.width, depth=self.depth, equip=False)
        quotient.equip_with_metric(BalancedQuotientMetric, total_space=self)
        self.quotient = quotient
        return quotient


class BalancedBundle(FiberBundle):
    """The Riemannian submersion ``phi: M -> (M_d, g^N)`` as a geomstats bundle.

    Fibers are gauge orbits (MATH §4); ``lift`` is the :func:`center`, the
    horizontal lift is ``above_k^T A^{-1}(Z) below_k^T``.
    """

    def __init__(self, total_space):
        super().__init__(total_space=total_space)

    @staticmethod
    def riemannian_submersion(point):
        """The end-to-end map."""
        return end_to_end(point)

    def lift(self, point):
        """The center of the fiber over ``point``."""
        return center(point, self._total_space.depth)

    def tangent_riemannian_submersion(self, tangent_vec, base_point):
        """``dphi_W(V) = sum_k above_k V_k below_k``."""
        return differential(tangent_vec, base_point)

    def horizontal_lift(self, tangent_vec, base_point=None, fiber_point=None):
        """Horizontal lift at ``fiber_point`` (default: the center over
        ``base_point``)."""
        if fiber_point is None:
            if base_point is None:
                raise ValueError("give base_point or fiber_point")
            fiber_point = self.lift(base_point)
        return horizontal_lift(tangent_vec, fiber_point)

    def horizontal_projection(self, tangent_vec, base_point):
        """Projection onto ``(ker dphi)^perp`` (:func:`horizontal_projection`)."""
        return horizontal_projection(tangent_vec, base_point)

    def vertical_projection(self, tangent_vec, base_point):
        """Projection onto the gauge-orbit directions (:func:`vertical_projection`).

        For a vector tangent to ``M``; for a general vector of parameter space the
        complement of the horizontal projection also contains normal directions.
        """
        return vertical_projection(tangent_vec, base_point)

    def align(self, point, base_point):
        """The point of the gauge orbit of ``point`` joined to ``base_point`` by
        a horizontal geodesic of ``M`` (MATH §4), batched ``[..., N, d, d]``.

        Exact, not a straight-line (Frobenius) alignment: ``V = log_X(Y)`` of
        ``g^N`` downstairs (``X = phi(base_point)``, ``Y = phi(point)``), the
        horizontal lift of ``exp_X(tV)`` through ``base_point`` integrated to
        ``t = 1`` (:func:`horizontal_geodesic_end`, a point over ``Y``), then the
        gauge of ``point`` nearest to it (:func:`best_gauge`, which removes the
        integration error from the orbit). Hence geomstats' ``QuotientMetric``
        log and dist built on it equal :class:`DLNMetric`'s.
        """
        points, bases, batch = _flat_pairs(point, base_point, "BalancedBundle.align")
        depth = self._total_space.depth
        if depth == 1:
            return np.broadcast_to(points, batch + points.shape[-3:]).copy()
        metric = EndToEndMatrices(points.shape[-1], depth=depth).metric
        targets = np.asarray(end_to_end(points))
        sources = np.asarray(end_to_end(bases))
        velocities = np.asarray(metric.log(targets, sources))
        aligned = []
        for vec, base, pt in zip(velocities, bases, points, strict=True):
            end = horizontal_geodesic_end(vec, base)
            aligned.append(gauge_action(best_gauge(end, pt), pt))
        return np.stack(aligned).reshape(batch + points.shape[-3:])

    def is_horizontal(self, tangent_vec, base_point, atol: float = 1e-8):
        """``|V - horizontal_projection(V)| <= atol |V|``."""
        vec = _check_vector(tangent_vec, base_point)
        gap = vec - self.horizontal_projection(vec, base_point)
        norm = np.sqrt(np.sum(_abs2(vec), axis=(-3, -2, -1)))
        return np.sqrt(np.sum(_abs2(gap), axis=(-3, -2, -1))) <= atol * norm

    def is_vertical(self, tangent_vec, base_point, atol: float = 1e-8):
        """``|V - vertical_projection(V)| <= atol |V|``: tangent to the gauge orbit.

        (Not merely ``dphi V = 0``: the normal directions ``w_a``, ``a``
        symmetric, are in ``ker dphi`` but not tangent to ``M``.)
        """
        vec = _check_vector(tangent_vec, base_point)
        gap = vec - self.vertical_projection(vec, base_point)
        norm = np.sqrt(np.sum(_abs2(vec), axis=(-3, -2, -1)))
        return np.sqrt(np.sum(_abs2(gap), axis=(-3, -2, -1))) <= atol * norm


def _rattle_step(point, velocity, step, basis, tol):
    """One RATTLE step for the geodesic of ``M = {G = 0}`` (constrained motion).

    Position: ``W+ = W + h V - h^2 w_mu(W)`` with symmetric ``mu`` (a normal
    vector, MATH §4) solved by Newton so that ``G(W+) = 0``; velocity: the
    orthogonal projection of ``(W+ - W) / h`` onto ``T_{W+} M``.
    """
    rows, cols = np.triu_indices(point.shape[-1])
    normals = np.stack([gauge_vector(b, point) for b in basis])
    free = point + step * velocity
    multiplier = np.zeros(len(basis))
    scale = np.sum(point**2)
    for _ in range(20):
        new = free - step**2 * np.tensordot(multiplier, normals, axes=1)
        residual = np.asarray(moments(new))[..., rows, cols].ravel()
        if np.linalg.norm(residual) <= tol * scale:
            break
        # all normal directions at once: one batched moment differential
        jacobian = np.asarray(moment_differential(-(step**2) * normals, new[None]))
        jacobian = jacobian[..., rows, cols].reshape(len(normals), -1).T
        multiplier = multiplier - np.linalg.solve(jacobian, residual)
    else:
        raise RuntimeError(
            "RATTLE: the balance constraint was not met in 20 Newton steps; the "
            "time step is too coarse for this velocity (raise n_steps)"
        )
    return new, to_tangent((new - point) / step, new)


def _check_rattle_size(depth: int, dim: int, function: str) -> None:
    """Refuse up front the sizes where the dense constraint solves take minutes."""
    n_constraints = (depth - 1) * dim * (dim + 1) // 2
    if n_constraints > MAX_RATTLE_CONSTRAINTS:
        raise ValueError(
            f"{function}: depth {depth} and width {dim} give {n_constraints} "
            f"balance constraints (more than {MAX_RATTLE_CONSTRAINTS}); the RATTLE "
            "integrator solves a dense system of that size at every step, which "
            "would take minutes. For a horizontal velocity use DLNMetric.exp on "
            "X = end_to_end(W) (the submersion maps horizontal geodesics onto "
            "g^N geodesics)"
        )


def balanced_exp(tangent_vec, base_point, n_steps: int = 64, tol: float = 1e-13):
    """Exponential map of the balanced manifold with the induced Frobenius metric.

    Geodesics of ``M = {G = 0}`` are constrained free motion, ``W'' in N_W M``
    (MATH §4). Integrated with RATTLE (symmetric, second order, constraint kept
    to ``tol |W|^2`` at every step) with ``n_steps`` and ``2 n_steps`` steps,
    combined by Richardson extrapolation to fourth order; the result is pulled
    back onto ``M`` by one more constraint solve.

    Parameters
    ----------
    tangent_vec : array-like, shape=[N, d, d]
        Tangent vector at ``base_point`` (projected with :func:`to_tangent`).
    base_point : array-like, shape=[N, d, d]
        A balanced full-rank point.

    Both real (the balanced manifold of F = R): complex input is a
    ``TypeError`` naming the argument.
    """
    point = np.asarray(as_parameters(base_point, "base_point", "balanced_exp"))
    depth, dim = check_parameters(point)
    _check_single(point, "balanced_exp")
    tangent_vec = as_float_array(tangent_vec, "tangent_vec", "balanced_exp")
    tangent_vec = _check_vector(tangent_vec, point)
    _check_single(tangent_vec, "balanced_exp (tangent_vec)")
    # n_steps = 0 would return the base point as if it were the geodesic's end
    n_steps = as_size(n_steps, "n_steps", "balanced_exp")
    tol = as_positive_float(tol, "tol", "balanced_exp")
    _check_rattle_size(depth, dim, "balanced_exp")
    velocity = to_tangent(tangent_vec, point)
    if depth == 1:
        return point + velocity
    basis = symmetric_basis(depth, dim)
    ends = []
    for steps in (n_steps, 2 * n_steps):
        current, current_velocity = point, velocity
        for _ in range(steps):
            current, current_velocity = _rattle_step(
                current, current_velocity, 1.0 / steps, basis, tol
            )
        ends.append(current)
    extrapolated = (4.0 * ends[1] - ends[0]) / 3.0
    # Back onto M: the closest point along the normal directions at ends[1].
    return _rattle_step(ends[1], (extrapolated - ends[1]), 1.0, basis, tol)[0]


def _polar(matrix):
    """Orthogonal polar factor ``U V^T`` (the orthogonal Procrustes solution;
    unitary ``U V^*`` over C)."""
    left, _, right_t = np.linalg.svd(matrix)
    return left @ right_t


def best_gauge(target, source, max_sweeps: int = 100, tol: float = 1e-13):
    """Gauge ``Q in O(d)^{N-1}`` (locally) minimizing ``|target - Q.source|``.

    Alternating (block-coordinate) Procrustes: with the other gauges fixed,
    ``Q_k = polar(W_k Q_{k-1} S_k^T + W_{k+1}^T Q_{k+1} S_{k+1})`` (``W`` the
    target, ``S`` the source, ``Q_0 = Q_N = I``) is optimal, so the objective
    decreases monotonically; the sweeps start from the forward solution
    ``Q_k = polar(W_k Q_{k-1} S_k^T)``, exact when the target is on the orbit.
    Converges to a local minimum. Over C (complex target or source), ``Q`` in
    ``U(d)^{N-1}`` with ``S_k^*`` for ``S_k^T`` (the unitary Procrustes
    solution is the unitary polar factor).

    Parameters
    ----------
    target, source : array-like, shape=[N, d, d]

    Returns
    -------
    gauges : ndarray, shape=[N-1, d, d]
    """
    # finite first: the polar factors are SVDs (LAPACK loops forever on inf)
    target = np.asarray(_as_field_parameters(target, "target", "best_gauge"))
    source = np.asarray(_as_field_parameters(source, "source", "best_gauge"))
    if np.iscomplexobj(target) or np.iscomplexobj(source):
        target, source = target + 0j, source + 0j
    max_sweeps = as_size(max_sweeps, "max_sweeps", "best_gauge", minimum=0)
    _check_single(target, "best_gauge (target)")
    _check_single(source, "best_gauge (source)")
    _check_vector(target, source, "target")
    depth, dim = check_parameters(source)
    gauges = [np.eye(dim, dtype=source.dtype)]
    for k in range(depth - 1):
        gauges.append(_polar(target[k] @ gauges[-1] @ source[k].conj().T))
    gauges.append(np.eye(dim, dtype=source.dtype))

    def distance():
        acted = gauge_action(np.stack(gauges[1:-1]), source)
        return float(np.sum(_abs2(target - acted)))

    previous = distance()
    for _ in range(max_sweeps):
        for k in range(1, depth):
            gauges[k] = _polar(
                target[k - 1] @ gauges[k - 1] @ source[k - 1].conj().T
                + target[k].conj().T @ gauges[k + 1] @ source[k]
            )
        current = distance()
        if previous - current <= tol * max(current, np.sum(_abs2(target))):
            break
        previous = current
    return np.stack(gauges[1:-1]) if depth > 1 else np.zeros((0, dim, dim))


def tangent_basis(parameters):
    """Orthonormal basis of ``T_W M = ker dG_W``, shape ``[dim M, N, d, d]``.

    Dense (SVD of the Jacobian of the moments): for shooting on small networks.
    """
    parameters = np.asarray(as_parameters(parameters, function="tangent_basis"))
    _check_single(parameters, "tangent_basis")
    size = parameters.size
    if size > 40 * MAX_SHOOTING_UNKNOWNS:
        raise ValueError(
            f"tangent_basis: the dense Jacobian of a point with {size} entries is "
            "too large (meant for shooting on small networks)"
        )
    directions = np.eye(size).reshape((size,) + parameters.shape)
    jacobian = np.asarray(moment_differential(directions, parameters[None]))
    jacobian = jacobian.reshape(size, -1).T
    _, singular_values, vt = np.linalg.svd(jacobian)
    rank = int(np.sum(singular_values > 1e-10 * singular_values[0]))
    return vt[rank:].reshape((-1,) + parameters.shape)


def balanced_log(
    point, base_point, tol: float = 1e-9, max_iter: int = 30, n_steps: int = 32
):
    """Logarithm of the balanced manifold by Gauss-Newton shooting on
    :func:`balanced_exp` (MATH §4).

    Unknowns: coordinates of ``V`` in an orthonormal basis of ``T_W M``
    (:func:`tangent_basis`); the Jacobian of ``V -> exp_W(V)`` by forward
    differences (the fixed-step integrator makes them consistent); steps halved
    until the residual decreases. Starts from ``to_tangent(Y - W)``.

    Raises
    ------
    GeodesicError
        When the residual does not fall below ``tol max(1, |Y|)``.
    """
    from geomstats_dln.end_to_end import GeodesicError

    target = np.asarray(as_parameters(point, "point", "balanced_log"))
    base = np.asarray(as_parameters(base_point, "base_point", "balanced_log"))
    _check_single(target, "balanced_log (point)")
    _check_single(base, "balanced_log (base_point)")
    _check_vector(target, base, "point")
    depth, dim = check_parameters(base)
    _check_rattle_size(depth, dim, "balanced_log")
    n_unknowns = dim * dim + (depth - 1) * dim * (dim - 1) // 2  # dim M
    if n_unknowns > MAX_SHOOTING_UNKNOWNS:
        raise ValueError(
            f"balanced_log: shooting on {n_unknowns} unknowns (depth {depth}, width "
            f"{dim}; at most {MAX_SHOOTING_UNKNOWNS}) needs that many geodesic "
            "solves per Gauss-Newton iteration and would take minutes; use "
            "DLNMetric.log on the end-to-end matrices for the horizontal part"
        )
    check_balanced(target)
    basis = tangent_basis(base)
    flat_basis = basis.reshape(len(basis), -1)

    def shoot(coordinates):
        vec = np.tensordot(coordinates, basis, axes=1)
        return balanced_exp(vec, base, n_steps=n_steps) - target

    coordinates = flat_basis @ (target - base).ravel()
    residual = shoot(coordinates)
    tolerance = tol * max(1.0, float(np.linalg.norm(target)))
    for _ in range(max_iter):
        norm = float(np.linalg.norm(residual))
        if norm <= tolerance:
            return np.tensordot(coordinates, basis, axes=1)
        step = 1e-7 * max(1.0, float(np.linalg.norm(coordinates)))
        jacobian = np.stack(
            [
                (shoot(coordinates + step * e) - residual).ravel() / step
                for e in np.eye(len(basis))
            ],
            axis=1,
        )
        delta = np.linalg.lstsq(jacobian, -residual.ravel(), rcond=None)[0]
        for _ in range(12):
            candidate = shoot(coordinates + delta)
            if np.linalg.norm(candidate) < norm:
                coordinates, residual = coordinates + delta, candidate
                break
            delta = 0.5 * delta
        else:
            raise GeodesicError(
                f"balanced log: shooting stalled at residual {norm:.2e}"
            )
    raise GeodesicError(
        f"balanced log: no convergence in {max_iter} iterations "
        f"(residual {float(np.linalg.norm(residual)):.2e})"
    )


register_quotient(
    Space=BalancedManifold,
    Metric=BalancedMetric,
    GroupAction=GaugeAction,
    FiberBundle=BalancedBundle,
)
