"""Validation and closed forms in the eigenbasis of an SPD (or HPD) point.

The shared layer of :mod:`geomstats_dln.bures_wasserstein` (the metric ``g^2`` on
positive definite matrices) and :mod:`geomstats_dln.bures_wasserstein_connection`
(its Levi-Civita connection): with ``X = P diag(s) P^*``, the depth-2 operator
``A_{2,X}(Z) = X Z + Z X`` has ``a_ij = s_i + s_j`` in the eigenbasis
(``docs/mathematics.md`` §3), so the Lyapunov solve, the transport map and the
geodesics are elementwise operations there.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import geomstats.backend as gs
from geomstats.geometry.matrices import Matrices

Array = Any
"""A geomstats backend array (``numpy.ndarray``, possibly an autograd box)."""

SYMMETRY_RTOL = 1e-8
"""Largest accepted ``max |A - A^T| / max |A|`` for inputs that must be symmetric."""

SINGULAR_RTOL = 1e-12
"""Largest ``lambda_min / lambda_max`` refused as numerically singular: there
``1 / (s_i + s_j)`` has lost all accuracy and the metric's values (1e15 for an
eigenvalue 1e-16) mean nothing."""


def _adjoint(x: Array) -> Array:
    """``x^*``: the transpose, conjugated for complex (Hermitian) input."""
    if np.iscomplexobj(_values(x)):
        return gs.conj(Matrices.transpose(x))
    return Matrices.transpose(x)


# ---------------------------------------------------------------------------
# input validation (done on plain values, so it also works on autograd boxes)
# ---------------------------------------------------------------------------


def _values(x: Array) -> np.ndarray:
    """Return the plain NumPy values of ``x`` (unboxing autograd tracers)."""
    while hasattr(x, "_value"):
        x = x._value
    return np.asarray(x)


def _as_array(x: Array) -> Array:
    """Turn array-likes (lists, scalars) into backend arrays, keep arrays as is."""
    if hasattr(x, "shape") and hasattr(x, "ndim"):
        return x
    return gs.array(x)


def _check_matrices(x: Array, n: int, name: str, hermitian: bool = False) -> Array:
    """Check that ``x`` is a finite array of shape ``[..., n, n]``, real unless
    ``hermitian`` (the HPD space) allows complex entries."""
    x = _as_array(x)
    if not hermitian and np.iscomplexobj(_values(x)):
        raise TypeError(
            f"{name} must be real on SPD matrices, got dtype {_values(x).dtype}; "
            "equip geomstats' HPDMatrices for Hermitian positive definite ones."
        )
    shape = tuple(x.shape)
    if len(shape) < 2 or shape[-2:] != (n, n):
        raise ValueError(f"{name} must have shape [..., {n}, {n}], got shape {shape}.")
    values = _values(x)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} contains non-finite entries (NaN or inf).")
    return x


def _symmetrized(x: Array, name: str) -> Array:
    """Check that ``x`` is symmetric (Hermitian when complex) to ``SYMMETRY_RTOL``;
    return ``(x + x^*)/2``."""
    values = _values(x)
    mirrored = np.swapaxes(values, -1, -2)
    if np.iscomplexobj(values):
        mirrored = np.conj(mirrored)
    asym = np.max(np.abs(values - mirrored), axis=(-2, -1))
    scale = np.max(np.abs(values), axis=(-2, -1))
    bad = asym > SYMMETRY_RTOL * np.maximum(scale, np.finfo(values.dtype).tiny)
    if np.any(bad):
        worst = float(np.max(asym / np.maximum(scale, np.finfo(values.dtype).tiny)))
        what = "Hermitian" if np.iscomplexobj(values) else "symmetric"
        raise ValueError(
            f"{name} is not {what}: max |A - A^*| / max |A| = {worst:.3e} "
            f"exceeds {SYMMETRY_RTOL:.0e}."
        )
    return (x + _adjoint(x)) / 2


def _spd_eigh(
    point: Array, n: int, name: str, hermitian: bool = False
) -> tuple[Array, Array, Array]:
    """Validate an SPD (``hermitian``: HPD) point; ``(point_sym, eigvals, eigvecs)``.

    Raises
    ------
    ValueError
        If ``point`` has the wrong shape, non-finite entries, is not symmetric
        (Hermitian), not positive definite (the message gives the smallest
        eigenvalue) or numerically singular (``lambda_min / lambda_max <=
        SINGULAR_RTOL``).
    TypeError
        Complex input on SPD matrices.
    """
    point = _symmetrized(_check_matrices(point, n, name, hermitian), name)
    eigvals, eigvecs = gs.linalg.eigh(point)
    smallest = _values(eigvals)[..., 0]
    if np.any(smallest <= 0.0):
        raise ValueError(
            f"{name} is not positive definite: smallest eigenvalue "
            f"{float(np.min(smallest)):.6e} <= 0."
        )
    ratio = smallest / _values(eigvals)[..., -1]
    if np.any(ratio <= SINGULAR_RTOL):
        raise ValueError(
            f"{name} is numerically singular: smallest eigenvalue "
            f"{float(np.min(smallest)):.3e}, ratio to the largest "
            f"{float(np.min(ratio)):.3e} <= {SINGULAR_RTOL:.0e}; the metric "
            "1 / (s_i + s_j) is meaningless there."
        )
    return point, eigvals, eigvecs


def _check_broadcast(*arrays_and_names: tuple[Array, str]) -> None:
    """Check that the batch shapes (all axes but the last two) broadcast."""
    shapes = [tuple(a.shape[:-2]) for a, _ in arrays_and_names]
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        described = ", ".join(
            f"{name} {tuple(a.shape)}" for a, name in arrays_and_names
        )
        raise ValueError(
            f"Incompatible batch shapes (leading axes do not broadcast): {described}."
        ) from None


def _check_finite_output(result: Array, what: str, eigvals: Array) -> Array:
    """Raise instead of returning NaN/inf (e.g. for extremely ill-conditioned X)."""
    if not np.all(np.isfinite(_values(result))):
        raise ValueError(
            f"{what} produced non-finite values; the base point is too "
            f"ill-conditioned (smallest eigenvalue "
            f"{float(np.min(_values(eigvals)[..., 0])):.3e})."
        )
    return result


# ---------------------------------------------------------------------------
# closed forms in the eigenbasis of the base point X = P diag(s) P^T
# ---------------------------------------------------------------------------


def _rotate(mat: Array, eigvecs: Array) -> Array:
    """``P^* mat P``."""
    return Matrices.mul(_adjoint(eigvecs), mat, eigvecs)


def _unrotate(mat: Array, eigvecs: Array) -> Array:
    """``P mat P^*``."""
    return Matrices.mul(eigvecs, mat, _adjoint(eigvecs))


def _pair_sums(eigvals: Array) -> Array:
    """``s_i + s_j`` (the DLN coefficients ``a_ij`` for N = 2 on SPD matrices)."""
    return eigvals[..., :, None] + eigvals[..., None, :]


def _rotated_lyapunov(eigvals: Array, eigvecs: Array, tangent_vec: Array) -> Array:
    """``P^T L_X(V) P = (P^T V P)_ij / (s_i + s_j)``."""
    return _rotate(tangent_vec, eigvecs) / _pair_sums(eigvals)


def _rotated_transport_map(eigvals: Array, eigvecs: Array, point: Array) -> Array:
    r"""``P^T T P`` for the optimal transport map ``T`` from ``X`` to ``Y``.

    With ``Y~ = P^T Y P`` and ``C~ = diag(sqrt s) Y~ diag(sqrt s)`` (the matrix
    ``X^{1/2} Y X^{1/2}`` in the eigenbasis of X),
    ``P^T T P = diag(s^{-1/2}) C~^{1/2} diag(s^{-1/2})``.
    """
    sqrt_s = gs.sqrt(eigvals)
    outer = sqrt_s[..., :, None] * sqrt_s[..., None, :]
    cross = _rotate(point, eigvecs) * outer
    cross = (cross + _adjoint(cross)) / 2
    cross_vals, cross_vecs = gs.linalg.eigh(cross)
    cross_vals = gs.where(cross_vals > 0.0, cross_vals, 0.0 * cross_vals)
    sqrt_cross = Matrices.mul(
        cross_vecs * gs.sqrt(cross_vals)[..., None, :], _adjoint(cross_vecs)
    )
    sqrt_cross = (sqrt_cross + _adjoint(sqrt_cross)) / 2
    return sqrt_cross / outer


def _congruence_square(eigvals: Array, eigvecs: Array, rotated_map: Array) -> Array:
    r"""``P (R diag(s) R^T) P^T`` computed as ``B B^T`` with ``B = P R diag(sqrt s)``.

    With ``R = I + t L~`` this is ``(I + t L) X (I + t L)``: the result is exactly
    symmetric and positive semidefinite.
    """
    factor = Matrices.mul(eigvecs, rotated_map * gs.sqrt(eigvals)[..., None, :])
    return Matrices.mul(factor, _adjoint(factor))
