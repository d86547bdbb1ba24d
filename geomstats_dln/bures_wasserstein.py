r"""The DLN metric ``g^2`` on SPD matrices: twice the Bures-Wasserstein metric.

A balanced depth-2 network with tied layers ``W_2 = W_1^T = W`` has end-to-end
matrix ``X = W W^T``, a symmetric positive definite (SPD) matrix. On SPD ``X`` with
eigen-decomposition ``X = P diag(s) P^T`` the DLN operator of ``docs/mathematics.md``
§3 is ``A_{2,X}(Z) = X Z + Z X`` (``a_ij = s_i + s_j``), so the DLN metric reads

.. math::
    g^2_X(Z_1, Z_2) = \langle A_{2,X}^{-1}(Z_1), Z_2 \rangle
    = \sum_{i,j} \frac{(P^\top Z_1 P)_{ij} (P^\top Z_2 P)_{ij}}{s_i + s_j}
    = \operatorname{tr}(L_X(Z_1)^\top Z_2),

where ``L_X(Z)`` is the solution of the Lyapunov equation ``X L + L X = Z``
(:func:`lyapunov`). This is exactly **twice** geomstats'
``SPDBuresWassersteinMetric`` (whose inner product carries a factor 1/2), see
MATH.md §3 "Bures-Wasserstein special case" (survey Remark 9).

Derivation of the closed forms (Bhatia-Jain-Lim 2019, Malago-Montrucchio-Pistone
2018). The map ``pi(M) = M M^T`` from ``GL(n)`` with the metric ``2 <.,.>`` (the
Frobenius metric of the two layers ``(W_2, W_1) = (M^T, M)``) onto SPD matrices with
``g^2`` is a Riemannian submersion: the horizontal lift of ``V`` at ``M`` is
``H = L_X(V) M`` with ``L_X(V)`` symmetric, ``d pi(H) = L X + X L = V`` and
``2 |H|^2 = 2 tr(L X L) = tr(L V) = g^2_X(V, V)``. Horizontal geodesics upstairs are
straight lines ``M + t L M``, hence, with ``L = L_X(V)``,

* geodesic and exponential map:
  ``gamma(t) = (I + t L) X (I + t L) = X + t V + t^2 L X L``,
  ``exp_X(V) = (I + L) X (I + L) = X + V + L X L``;
* logarithm: ``exp_X(V) = Y`` with ``I + L`` positive definite means that
  ``T = I + L`` is the SPD solution of ``T X T = Y``, the optimal transport map
  ``T = X^{-1/2} (X^{1/2} Y X^{1/2})^{1/2} X^{-1/2}
  = Y^{1/2} (Y^{1/2} X Y^{1/2})^{-1/2} Y^{1/2}``, so
  ``log_X(Y) = T X + X T - 2 X = (Y X)^{1/2} + (X Y)^{1/2} - 2 X``;
* distance: ``g^2_X(V, V) = 2 tr((T - I) X (T - I)) = 2 (tr X + tr Y - 2 tr T X)``
  with ``tr T X = tr (X^{1/2} Y X^{1/2})^{1/2}``, i.e.
  ``d^2(X, Y) = 2 (tr X + tr Y - 2 tr (X^{1/2} Y X^{1/2})^{1/2}) = 2 d_BW^2(X, Y)``;
* injectivity radius: ``sqrt(2 lambda_min(X))`` (see
  :meth:`DLNBuresWassersteinMetric.injectivity_radius`).

A constant multiple of a metric has the same Levi-Civita connection, so geodesics,
``exp`` and ``log`` coincide with the Bures-Wasserstein ones, while lengths and
distances are multiplied by ``sqrt(2)``. All computations are done in the
eigenbasis of the base point and only use symmetric square roots.

References
----------
.. [BJL2019] Bhatia, Jain, Lim. "On the Bures-Wasserstein distance between
    positive definite matrices." Expositiones Mathematicae 37(2), 165-191, 2019.
    https://arxiv.org/abs/1712.01504
.. [MMP2018] Malago, Montrucchio, Pistone. "Wasserstein Riemannian geometry of
    Gaussian densities." Information Geometry 1, 137-179, 2018.
    https://arxiv.org/abs/1801.09269
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import geomstats.backend as gs
from geomstats.geometry.matrices import Matrices
from geomstats.geometry.riemannian_metric import RiemannianMetric
from geomstats.geometry.spd_matrices import SPDBuresWassersteinMetric, SPDMatrices

__all__ = ["DLNBuresWassersteinMetric", "lyapunov"]

Array = Any
"""A geomstats backend array (``numpy.ndarray``, possibly an autograd box)."""

SYMMETRY_RTOL = 1e-8
"""Largest accepted ``max |A - A^T| / max |A|`` for inputs that must be symmetric."""


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


def _check_matrices(x: Array, n: int, name: str) -> Array:
    """Check that ``x`` is a finite array of shape ``[..., n, n]``."""
    x = _as_array(x)
    shape = tuple(x.shape)
    if len(shape) < 2 or shape[-2:] != (n, n):
        raise ValueError(f"{name} must have shape [..., {n}, {n}], got shape {shape}.")
    values = _values(x)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} contains non-finite entries (NaN or inf).")
    return x


def _symmetrized(x: Array, name: str) -> Array:
    """Check that ``x`` is symmetric to ``SYMMETRY_RTOL``; return ``(x + x^T)/2``."""
    values = _values(x)
    asym = np.max(np.abs(values - np.swapaxes(values, -1, -2)), axis=(-2, -1))
    scale = np.max(np.abs(values), axis=(-2, -1))
    bad = asym > SYMMETRY_RTOL * np.maximum(scale, np.finfo(values.dtype).tiny)
    if np.any(bad):
        worst = float(np.max(asym / np.maximum(scale, np.finfo(values.dtype).tiny)))
        raise ValueError(
            f"{name} is not symmetric: max |A - A^T| / max |A| = {worst:.3e} "
            f"exceeds {SYMMETRY_RTOL:.0e}."
        )
    return (x + Matrices.transpose(x)) / 2


def _spd_eigh(point: Array, n: int, name: str) -> tuple[Array, Array, Array]:
    """Validate an SPD point and return ``(point_sym, eigvals, eigvecs)``.

    Raises
    ------
    ValueError
        If ``point`` has the wrong shape, non-finite entries, is not symmetric or
        not positive definite (the message gives the smallest eigenvalue).
    """
    point = _symmetrized(_check_matrices(point, n, name), name)
    eigvals, eigvecs = gs.linalg.eigh(point)
    smallest = _values(eigvals)[..., 0]
    if np.any(smallest <= 0.0):
        raise ValueError(
            f"{name} is not positive definite: smallest eigenvalue "
            f"{float(np.min(smallest)):.6e} <= 0."
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
    """``P^T mat P``."""
    return Matrices.mul(Matrices.transpose(eigvecs), mat, eigvecs)


def _unrotate(mat: Array, eigvecs: Array) -> Array:
    """``P mat P^T``."""
    return Matrices.mul(eigvecs, mat, Matrices.transpose(eigvecs))


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
    cross = (cross + Matrices.transpose(cross)) / 2
    cross_vals, cross_vecs = gs.linalg.eigh(cross)
    cross_vals = gs.where(cross_vals > 0.0, cross_vals, 0.0 * cross_vals)
    sqrt_cross = Matrices.mul(
        cross_vecs * gs.sqrt(cross_vals)[..., None, :], Matrices.transpose(cross_vecs)
    )
    sqrt_cross = (sqrt_cross + Matrices.transpose(sqrt_cross)) / 2
    return sqrt_cross / outer


def _congruence_square(eigvals: Array, eigvecs: Array, rotated_map: Array) -> Array:
    r"""``P (R diag(s) R^T) P^T`` computed as ``B B^T`` with ``B = P R diag(sqrt s)``.

    With ``R = I + t L~`` this is ``(I + t L) X (I + t L)``: the result is exactly
    symmetric and positive semidefinite.
    """
    factor = Matrices.mul(eigvecs, rotated_map * gs.sqrt(eigvals)[..., None, :])
    return Matrices.mul(factor, Matrices.transpose(factor))


def lyapunov(base_point: Array, tangent_vec: Array) -> Array:
    r"""Solve the Lyapunov equation ``X L + L X = V`` at an SPD point.

    In the eigenbasis of ``X = P diag(s) P^T``,

    .. math::
        L_X(V) = P \left[ \frac{(P^\top V P)_{ij}}{s_i + s_j} \right] P^\top
        = A_{2,X}^{-1}(V),

    the inverse of the depth-2 DLN operator ``A_{2,X}(Z) = X Z + Z X`` of
    ``docs/mathematics.md`` §3 (Bhatia-Jain-Lim 2019). ``V`` need not be
    symmetric; ``L`` is symmetric when ``V`` is.

    Parameters
    ----------
    base_point : array-like, shape=[..., n, n]
        SPD matrix ``X``.
    tangent_vec : array-like, shape=[..., n, n]
        Right-hand side ``V``.

    Returns
    -------
    solution : array-like, shape=[..., n, n]
        ``L_X(V)``.

    Raises
    ------
    ValueError
        If ``base_point`` is not SPD, if the shapes are not ``[..., n, n]`` or the
        batch shapes do not broadcast.
    """
    base_point = _as_array(base_point)
    if base_point.ndim < 2 or base_point.shape[-1] != base_point.shape[-2]:
        raise ValueError(
            "base_point must have shape [..., n, n] (square matrices), got shape "
            f"{tuple(base_point.shape)}."
        )
    n = base_point.shape[-1]
    tangent_vec = _check_matrices(tangent_vec, n, "tangent_vec")
    _, eigvals, eigvecs = _spd_eigh(base_point, n, "base_point")
    _check_broadcast((base_point, "base_point"), (tangent_vec, "tangent_vec"))
    return _unrotate(_rotated_lyapunov(eigvals, eigvecs, tangent_vec), eigvecs)


class DLNBuresWassersteinMetric(RiemannianMetric):
    r"""DLN metric ``g^2`` restricted to SPD matrices (twice Bures-Wasserstein).

    For ``X = W W^T`` (balanced depth-2 network with ``W_2 = W_1^T``) and
    ``X = P diag(s) P^T``:

    .. math::
        g^2_X(Z_1, Z_2) = \sum_{i,j}
        \frac{(P^\top Z_1 P)_{ij} (P^\top Z_2 P)_{ij}}{s_i + s_j}
        = 2\, g^{BW}_X(Z_1, Z_2).

    Geodesics, ``exp`` and ``log`` are those of Bures-Wasserstein; distances are
    ``sqrt(2)`` times the Bures-Wasserstein distances. See ``docs/mathematics.md`` §3
    and the module docstring for the derivation.

    Parameters
    ----------
    space : SPDMatrices
        ``SPDMatrices(n, equip=False)``; the metric can also be attached with
        ``space.equip_with_metric(DLNBuresWassersteinMetric)``.

    References
    ----------
    .. [BJL2019] Bhatia, Jain, Lim. "On the Bures-Wasserstein distance between
        positive definite matrices." Expositiones Mathematicae 37(2), 165-191,
        2019. https://arxiv.org/abs/1712.01504
    .. [MMP2018] Malago, Montrucchio, Pistone. "Wasserstein Riemannian geometry of
        Gaussian densities." Information Geometry 1, 137-179, 2018.
        https://arxiv.org/abs/1801.09269
    """

    def __init__(self, space: SPDMatrices) -> None:
        if not isinstance(space, SPDMatrices):
            raise TypeError(
                "DLNBuresWassersteinMetric needs a geomstats SPDMatrices space, got "
                f"{type(space).__name__}."
            )
        super().__init__(space=space)
        self.n: int = space.n

    # -- helpers ------------------------------------------------------------

    def _base(self, base_point: Array, name: str = "base_point"):
        return _spd_eigh(base_point, self.n, name)

    def _tangent(self, tangent_vec: Array, name: str, symmetric: bool) -> Array:
        tangent_vec = _check_matrices(tangent_vec, self.n, name)
        if symmetric:
            tangent_vec = _symmetrized(tangent_vec, name)
        return tangent_vec

    # -- metric -------------------------------------------------------------

    def inner_product(
        self, tangent_vec_a: Array, tangent_vec_b: Array, base_point: Array
    ) -> Array:
        r"""Inner product of the DLN metric ``g^2`` at an SPD base point.

        .. math::
            g^2_X(A, B) = \sum_{i,j}
            \frac{(P^\top A P)_{ij} (P^\top B P)_{ij}}{s_i + s_j}
            = \langle L_X(A), B \rangle, \qquad X = P \operatorname{diag}(s) P^\top,

        which is ``2 x`` geomstats' ``SPDBuresWassersteinMetric.inner_product``
        (MATH.md §3; Bhatia-Jain-Lim 2019, Malago-Montrucchio-Pistone 2018). The
        formula is the DLN metric of ``M_n`` at ``X`` for any ``n x n`` ``A, B``;
        they need not be symmetric.

        Parameters
        ----------
        tangent_vec_a : array-like, shape=[..., n, n]
            Tangent vector at base point.
        tangent_vec_b : array-like, shape=[..., n, n]
            Tangent vector at base point.
        base_point : array-like, shape=[..., n, n]
            SPD base point.

        Returns
        -------
        inner_product : array-like, shape=[...,]
            Inner product.

        Raises
        ------
        ValueError
            On non-SPD base points, wrong shapes or non-broadcastable batches.
        """
        _, eigvals, eigvecs = self._base(base_point)
        tangent_vec_a = self._tangent(tangent_vec_a, "tangent_vec_a", symmetric=False)
        tangent_vec_b = self._tangent(tangent_vec_b, "tangent_vec_b", symmetric=False)
        _check_broadcast(
            (_as_array(base_point), "base_point"),
            (tangent_vec_a, "tangent_vec_a"),
            (tangent_vec_b, "tangent_vec_b"),
        )
        rotated_lyap = _rotated_lyapunov(eigvals, eigvecs, tangent_vec_a)
        rotated_b = _rotate(tangent_vec_b, eigvecs)
        return gs.sum(rotated_lyap * rotated_b, axis=(-2, -1))

    def lyapunov(self, tangent_vec: Array, base_point: Array) -> Array:
        """Solve ``X L + L X = V``; see :func:`lyapunov` (geomstats argument order)."""
        return lyapunov(base_point, tangent_vec)

    def exp(self, tangent_vec: Array, base_point: Array) -> Array:
        r"""Riemannian exponential map (same as Bures-Wasserstein).

        With ``L = L_X(V)`` the solution of ``X L + L X = V`` (:func:`lyapunov`),

        .. math::
            \exp_X(V) = (I + L) X (I + L) = X + V + L X L,

        the image of the straight line ``M + L M`` (``X = M M^T``) under the
        Riemannian submersion ``M -> M M^T`` (MATH.md §3; Malago-Montrucchio-Pistone
        2018; Bhatia-Jain-Lim 2019). Computed as ``B B^T`` with
        ``B = (I + L) X^{1/2}``, which is exactly symmetric positive semidefinite.
        The geodesic is minimizing as long as ``I + L`` stays positive definite,
        in particular when ``|V| < injectivity_radius(X)``.

        Parameters
        ----------
        tangent_vec : array-like, shape=[..., n, n]
            Symmetric tangent vector at base point.
        base_point : array-like, shape=[..., n, n]
            SPD base point.

        Returns
        -------
        exp : array-like, shape=[..., n, n]
            Point reached at time 1.

        Raises
        ------
        ValueError
            On non-SPD base points, non-symmetric tangent vectors, wrong shapes.
        """
        _, eigvals, eigvecs = self._base(base_point)
        tangent_vec = self._tangent(tangent_vec, "tangent_vec", symmetric=True)
        _check_broadcast(
            (_as_array(base_point), "base_point"), (tangent_vec, "tangent_vec")
        )
        rotated_lyap = _rotated_lyapunov(eigvals, eigvecs, tangent_vec)
        identity = gs.eye(self.n, dtype=rotated_lyap.dtype)
        return _congruence_square(eigvals, eigvecs, identity + rotated_lyap)

    def log(self, point: Array, base_point: Array) -> Array:
        r"""Riemannian logarithm map (same as Bures-Wasserstein).

        .. math::
            \log_X(Y) = (X Y)^{1/2} + (Y X)^{1/2} - 2 X = T X + X T - 2 X,
            \qquad T = X^{-1/2} (X^{1/2} Y X^{1/2})^{1/2} X^{-1/2},

        ``T`` being the optimal transport map (the SPD solution of ``T X T = Y``,
        also ``Y^{1/2} (Y^{1/2} X Y^{1/2})^{-1/2} Y^{1/2}``), so that
        ``L_X(log_X Y) = T - I`` and ``exp_X(log_X Y) = T X T = Y`` (MATH.md §3;
        Bhatia-Jain-Lim 2019; Malago-Montrucchio-Pistone 2018). Evaluated
        in the eigenbasis of ``X`` with symmetric square roots only.

        Parameters
        ----------
        point : array-like, shape=[..., n, n]
            SPD end point ``Y``.
        base_point : array-like, shape=[..., n, n]
            SPD base point ``X``.

        Returns
        -------
        log : array-like, shape=[..., n, n]
            Symmetric tangent vector at ``base_point``.

        Raises
        ------
        ValueError
            On non-SPD points, wrong shapes or non-broadcastable batches.
        """
        _, eigvals, eigvecs = self._base(base_point)
        point, _, _ = self._base(point, "point")
        _check_broadcast((_as_array(base_point), "base_point"), (point, "point"))
        rotated_map = _rotated_transport_map(eigvals, eigvecs, point)
        # P^T (T X + X T - 2 X) P = T~ diag(s) + diag(s) T~ - 2 diag(s)
        rotated_tx = rotated_map * eigvals[..., None, :]
        rotated_log = (
            rotated_tx + Matrices.transpose(rotated_tx) - 2 * gs.vec_to_diag(eigvals)
        )
        result = _unrotate(rotated_log, eigvecs)
        return _check_finite_output(result, "log", eigvals)

    def squared_dist(self, point_a: Array, point_b: Array) -> Array:
        r"""Squared geodesic distance: twice the squared Bures-Wasserstein distance.

        .. math::
            d^2(X, Y) = 2 \left( \operatorname{tr} X + \operatorname{tr} Y
            - 2 \operatorname{tr} (X^{1/2} Y X^{1/2})^{1/2} \right)
            = g^2_X(\log_X Y, \log_X Y)

        (MATH.md §3; Bhatia-Jain-Lim 2019). The eigenvalues of
        ``X^{1/2} Y X^{1/2}`` are computed in the eigenbasis of ``X``; rounding
        errors below zero are clipped.

        Parameters
        ----------
        point_a : array-like, shape=[..., n, n]
            SPD point.
        point_b : array-like, shape=[..., n, n]
            SPD point.

        Returns
        -------
        squared_dist : array-like, shape=[...,]
            Squared distance.

        Raises
        ------
        ValueError
            On non-SPD points, wrong shapes or non-broadcastable batches.
        """
        _, eigvals, eigvecs = self._base(point_a, "point_a")
        point_b, eigvals_b, _ = self._base(point_b, "point_b")
        _check_broadcast((_as_array(point_a), "point_a"), (point_b, "point_b"))
        sqrt_s = gs.sqrt(eigvals)
        cross = _rotate(point_b, eigvecs) * (
            sqrt_s[..., :, None] * sqrt_s[..., None, :]
        )
        cross = (cross + Matrices.transpose(cross)) / 2
        # eigh, not eigvalsh: autograd has no VJP for eigvalsh
        cross_vals, _ = gs.linalg.eigh(cross)
        cross_vals = gs.where(cross_vals > 0.0, cross_vals, 0.0 * cross_vals)
        result = 2 * (
            gs.sum(eigvals, axis=-1)
            + gs.sum(eigvals_b, axis=-1)
            - 2 * gs.sum(gs.sqrt(cross_vals), axis=-1)
        )
        return gs.where(result > 0.0, result, 0.0 * result)

    def dist(self, point_a: Array, point_b: Array) -> Array:
        r"""Geodesic distance, ``sqrt(2)`` times the Bures-Wasserstein distance.

        .. math::
            d(X, Y) = \sqrt{2} \left( \operatorname{tr} X + \operatorname{tr} Y
            - 2 \operatorname{tr} (X^{1/2} Y X^{1/2})^{1/2} \right)^{1/2}

        (MATH.md §3; Bhatia-Jain-Lim 2019).

        Parameters
        ----------
        point_a : array-like, shape=[..., n, n]
            SPD point.
        point_b : array-like, shape=[..., n, n]
            SPD point.

        Returns
        -------
        dist : array-like, shape=[...,]
            Distance.
        """
        return gs.sqrt(self.squared_dist(point_a, point_b))

    def geodesic(
        self,
        initial_point: Array,
        end_point: Array | None = None,
        initial_tangent_vec: Array | None = None,
    ) -> Callable[[Array], Array]:
        r"""Closed-form geodesic (same curve as Bures-Wasserstein).

        .. math::
            \gamma(t) = (I + t L) X (I + t L) = X + t V + t^2 L X L,

        with ``L = L_X(V)`` for an initial velocity ``V``, or ``L = T - I`` for an
        end point ``Y`` (``T`` the optimal transport map of :meth:`log`), in which
        case ``gamma(t) = ((1 - t) I + t T) X ((1 - t) I + t T)``, ``gamma(1) = Y``
        (MATH.md §3; Malago-Montrucchio-Pistone 2018; Bhatia-Jain-Lim 2019). The
        speed is constant, ``g^2(gamma', gamma') = g^2_X(V, V)``.

        Parameters
        ----------
        initial_point : array-like, shape=[..., n, n]
            SPD point ``X``.
        end_point : array-like, shape=[..., n, n], optional
            SPD end point ``Y``. Exactly one of ``end_point`` and
            ``initial_tangent_vec`` must be given.
        initial_tangent_vec : array-like, shape=[..., n, n], optional
            Symmetric initial velocity ``V``.

        Returns
        -------
        path : callable
            ``path(t)`` for ``t`` a scalar or 1-D array of times returns an array
            of shape ``[..., len(t), n, n]``, ``...`` being the broadcast batch
            shape of the inputs (like geomstats).

        Raises
        ------
        ValueError
            If both or neither of ``end_point`` and ``initial_tangent_vec`` are
            given, or on invalid inputs (see :meth:`exp` and :meth:`log`).
        """
        if (end_point is None) == (initial_tangent_vec is None):
            raise ValueError(
                "Specify exactly one of end_point and initial_tangent_vec to define "
                "the geodesic."
            )
        initial_point = _as_array(initial_point)
        _, eigvals, eigvecs = self._base(initial_point, "initial_point")
        if end_point is not None:
            end_point, _, _ = self._base(end_point, "end_point")
            _check_broadcast((initial_point, "initial_point"), (end_point, "end_point"))
            rotated_map = _rotated_transport_map(eigvals, eigvecs, end_point)
            identity = gs.eye(self.n, dtype=rotated_map.dtype)
            rotated_lyap = rotated_map - identity
            _check_finite_output(rotated_lyap, "geodesic", eigvals)
        else:
            tangent_vec = self._tangent(
                initial_tangent_vec, "initial_tangent_vec", symmetric=True
            )
            _check_broadcast(
                (initial_point, "initial_point"),
                (tangent_vec, "initial_tangent_vec"),
            )
            rotated_lyap = _rotated_lyapunov(eigvals, eigvecs, tangent_vec)
        identity = gs.eye(self.n, dtype=rotated_lyap.dtype)

        def path(t: Array) -> Array:
            """Points of the geodesic at times ``t``, shape ``[..., len(t), n, n]``."""
            t = gs.cast(gs.array(t), rotated_lyap.dtype)
            if t.ndim > 1:
                raise ValueError(
                    f"t must be a scalar or a 1-D array, got shape {tuple(t.shape)}."
                )
            t = gs.reshape(t, (-1,))
            rotated_maps = identity + t[:, None, None] * rotated_lyap[..., None, :, :]
            return _congruence_square(
                eigvals[..., None, :], eigvecs[..., None, :, :], rotated_maps
            )

        return path

    def injectivity_radius(self, base_point: Array) -> Array:
        r"""Injectivity radius ``sqrt(2 lambda_min(X))``.

        Derivation (the Bures-Wasserstein value ``sqrt(lambda_min)`` of geomstats,
        scaled by ``sqrt(2)``): for ``|V| < sqrt(2 lambda_min)``,
        ``g^2_X(V, V) = 2 tr(L X L) >= 2 lambda_min |L|_F^2``, so every eigenvalue
        of ``L = L_X(V)`` lies in ``(-1, 1)``; then ``I + L`` is positive definite
        and ``log`` inverts ``exp`` on the ball. Conversely, with ``u`` a unit
        eigenvector of the smallest eigenvalue and ``L = -u u^T``, the geodesic
        ``(I + t L) X (I + t L)`` has length
        ``sqrt(2 tr(L X L)) = sqrt(2 lambda_min)`` at ``t = 1`` where it reaches
        the singular matrix ``X - lambda_min u u^T`` on the boundary of the cone
        (MATH.md §3; Bhatia-Jain-Lim 2019; Malago-Montrucchio-Pistone 2018).

        Parameters
        ----------
        base_point : array-like, shape=[..., n, n]
            SPD point.

        Returns
        -------
        radius : array-like, shape=[...,]
            Injectivity radius.
        """
        _, eigvals, _ = self._base(base_point)
        return gs.sqrt(2 * eigvals[..., 0])

    # -- connection -----------------------------------------------------------
    # A constant multiple of a metric has the same Levi-Civita connection, so
    # everything below is the connection of geomstats' SPDBuresWassersteinMetric.
    # Closed forms from the submersion M -> M M^T (module docstring): the
    # geodesic X + tV + t^2 L X L has acceleration 2 L X L at t = 0, hence
    # Gamma_X(V, V) = -2 L_V X L_V and, by polarization,
    # Gamma_X(V, W) = -(L_V X L_W + L_W X L_V).

    def _bw_metric(self) -> SPDBuresWassersteinMetric:
        """geomstats' Bures-Wasserstein metric on the same space (cached)."""
        if getattr(self, "_geomstats_bw", None) is None:
            self._geomstats_bw = SPDBuresWassersteinMetric(self._space)
        return self._geomstats_bw

    def _rotated_vectors(self, base_point, **vectors):
        """Eigen-decomposition of the base point and rotated symmetric vectors."""
        _, eigvals, eigvecs = self._base(base_point)
        arrays = {
            name: self._tangent(value, name, symmetric=True)
            for name, value in vectors.items()
        }
        _check_broadcast(
            (_as_array(base_point), "base_point"),
            *((array, name) for name, array in arrays.items()),
        )
        rotated = [_rotate(array, eigvecs) for array in arrays.values()]
        return eigvals, eigvecs, rotated

    @staticmethod
    def _rotated_contraction(eigvals: Array, rotated_a: Array, rotated_b: Array):
        """``P^T Gamma_X(V, W) P = -(L~_V S L~_W + L~_W S L~_V)``, ``S = diag(s)``."""
        sums = _pair_sums(eigvals)
        lyap_a, lyap_b = rotated_a / sums, rotated_b / sums
        product = Matrices.mul(lyap_a * eigvals[..., None, :], lyap_b)
        return -(product + Matrices.transpose(product))

    def christoffel_contraction(
        self, tangent_vec_a: Array, tangent_vec_b: Array, base_point: Array
    ) -> Array:
        r"""Christoffel contraction ``Gamma_X(V, W) = -(L_V X L_W + L_W X L_V)``.

        ``L_V = L_X(V)`` solves ``X L + L X = V`` (:func:`lyapunov`). Derivation:
        the geodesic ``X + tV + t^2 L_V X L_V`` (module docstring) has
        acceleration ``2 L_V X L_V = -Gamma_X(V, V)`` at ``t = 0``; polarize. The
        Levi-Civita connection of ``g^2`` and of geomstats' Bures-Wasserstein
        metric (a constant multiple) are the same; it equals
        :meth:`geomstats_dln.DLNMetric.christoffel_contraction` at depth 2 on
        symmetric vectors (SPD matrices are totally geodesic in ``(M_n, g^2)``:
        the fixed points of the isometry ``X -> X^T``).

        Parameters
        ----------
        tangent_vec_a, tangent_vec_b : array-like, shape=[..., n, n]
            Symmetric tangent vectors.
        base_point : array-like, shape=[..., n, n]
            SPD base point.

        Returns
        -------
        contraction : array-like, shape=[..., n, n]
            Symmetric matrix.
        """
        eigvals, eigvecs, (vec_a, vec_b) = self._rotated_vectors(
            base_point, tangent_vec_a=tangent_vec_a, tangent_vec_b=tangent_vec_b
        )
        return _unrotate(self._rotated_contraction(eigvals, vec_a, vec_b), eigvecs)

    def christoffels(self, base_point: Array) -> Array:
        r"""Christoffel symbols in the basis of geomstats' ``SymmetricMatrices``.

        The basis ``E_ii``, ``E_ij + E_ji`` (``i < j``, row-major upper
        triangle) of ``SymmetricMatrices(n).basis``, in which the coordinates of
        a symmetric matrix are ``gs.triu_to_vec``:
        ``christoffels[..., k, i, j] = triu(Gamma_X(B_i, B_j))_k``.

        Parameters
        ----------
        base_point : array-like, shape=[..., n, n]

        Returns
        -------
        christoffels : array-like, shape=[..., dim, dim, dim]
            ``dim = n (n + 1) / 2``; contravariant index first (geomstats).
        """
        from geomstats.geometry.symmetric_matrices import SymmetricMatrices

        _, eigvals, eigvecs = self._base(base_point)
        basis = SymmetricMatrices(self.n, equip=False).basis  # [dim, n, n]
        rotated = _rotate(basis, eigvecs[..., None, :, :])  # [..., dim, n, n]
        images = _unrotate(
            self._rotated_contraction(
                eigvals[..., None, None, :],
                rotated[..., :, None, :, :],
                rotated[..., None, :, :, :],
            ),
            eigvecs[..., None, None, :, :],
        )  # [..., i, j, n, n]
        coordinates = gs.triu_to_vec(images)  # [..., i, j, k]
        axes = list(range(coordinates.ndim))
        axes = axes[:-3] + [axes[-1], axes[-3], axes[-2]]
        return gs.transpose(coordinates, axes)

    def covariant_derivative(
        self,
        direction: Array,
        vector_field: Array,
        vector_field_derivative: Array,
        base_point: Array,
    ) -> Array:
        """``nabla_U Y = DY[U] + Gamma_X(U, Y)`` (matrix coordinates, symmetric)."""
        derivative = self._tangent(
            vector_field_derivative, "vector_field_derivative", symmetric=True
        )
        return derivative + self.christoffel_contraction(
            direction, vector_field, base_point
        )

    def _rotated_curvature(self, eigvals, a, b, c):
        r"""``P^T R(a, b)c P`` in the eigenbasis (rotated symmetric inputs).

        With ``L_v = L_X(v)`` and ``d/dt L_{X + ta}(v) = -L_X(a L_v + L_v a)``,
        ``(D_a Gamma)(b, c)`` is explicit; then
        ``R(a, b)c = (D_a Gamma)(b, c) - (D_b Gamma)(a, c)
        + Gamma(a, Gamma(b, c)) - Gamma(b, Gamma(a, c))`` (geomstats' sign).
        """
        sums = _pair_sums(eigvals)
        diag = eigvals[..., None, :]  # right multiplication by S = diag(s)

        def lyap(v):
            return v / sums

        def sym_product(left, middle_diag, right):
            """``left S right + right S left`` or with a full middle matrix."""
            if middle_diag:
                product = Matrices.mul(left * diag, right)
            else:
                product = Matrices.mul(left, right)
            return product + Matrices.transpose(product)

        def gamma_derivative(u, v, w):
            # d/dt -(L_v X L_w + L_w X L_v) along X + t u
            l_v, l_w = lyap(v), lyap(w)
            dl_v = -lyap(Matrices.mul(u, l_v) + Matrices.mul(l_v, u))
            dl_w = -lyap(Matrices.mul(u, l_w) + Matrices.mul(l_w, u))
            middle = Matrices.mul(Matrices.mul(l_v, u), l_w)
            return -(
                sym_product(dl_v, True, l_w)
                + sym_product(l_v, True, dl_w)
                + middle
                + Matrices.transpose(middle)
            )

        contraction = self._rotated_contraction
        return (
            gamma_derivative(a, b, c)
            - gamma_derivative(b, a, c)
            + contraction(eigvals, a, contraction(eigvals, b, c))
            - contraction(eigvals, b, contraction(eigvals, a, c))
        )

    def curvature(
        self,
        tangent_vec_a: Array,
        tangent_vec_b: Array,
        tangent_vec_c: Array,
        base_point: Array,
    ) -> Array:
        r"""Riemann curvature ``R(a, b)c`` in closed form (geomstats' convention).

        ``R(a, b)c = nabla_a nabla_b c - nabla_b nabla_a c - nabla_[a,b] c``,
        from the closed-form contraction and its exact derivative (Lyapunov
        solves in the eigenbasis of ``X``, see :meth:`christoffel_contraction`).
        The same tensor as geomstats' Bures-Wasserstein metric.

        Parameters
        ----------
        tangent_vec_a, tangent_vec_b, tangent_vec_c : array-like, shape=[..., n, n]
            Symmetric tangent vectors.
        base_point : array-like, shape=[..., n, n]

        Returns
        -------
        curvature : array-like, shape=[..., n, n]
        """
        eigvals, eigvecs, (a, b, c) = self._rotated_vectors(
            base_point,
            tangent_vec_a=tangent_vec_a,
            tangent_vec_b=tangent_vec_b,
            tangent_vec_c=tangent_vec_c,
        )
        return _unrotate(self._rotated_curvature(eigvals, a, b, c), eigvecs)

    def sectional_curvature(
        self, tangent_vec_a: Array, tangent_vec_b: Array, base_point: Array
    ) -> Array:
        r"""Sectional curvature ``g(R(a, b)b, a) / (|a|^2 |b|^2 - g(a, b)^2)``.

        Half the Bures-Wasserstein sectional curvature (``g^2 = 2 g_BW``): it is
        nonnegative, by O'Neill's formula for the submersion ``M -> M M^T`` from
        the flat ``GL(n)``.

        Raises
        ------
        ValueError
            If the two vectors are linearly dependent.
        """
        eigvals, eigvecs, (a, b) = self._rotated_vectors(
            base_point, tangent_vec_a=tangent_vec_a, tangent_vec_b=tangent_vec_b
        )
        sums = _pair_sums(eigvals)

        def inner(u, v):
            return gs.sum(u * v / sums, axis=(-2, -1))

        curvature = self._rotated_curvature(eigvals, a, b, b)
        area = inner(a, a) * inner(b, b) - inner(a, b) ** 2
        if np.any(~(_values(area) > 1e-12 * _values(inner(a, a) * inner(b, b)))):
            raise ValueError(
                "sectional_curvature: tangent_vec_a and tangent_vec_b are linearly "
                "dependent (they span no plane)"
            )
        return inner(curvature, a) / area

    def parallel_transport(
        self,
        tangent_vec: Array,
        base_point: Array,
        direction: Array | None = None,
        end_point: Array | None = None,
        n_steps: int = 10,
        step: str = "rk4",
    ) -> Array:
        r"""Parallel transport along the geodesic: geomstats' Bures-Wasserstein one.

        The Levi-Civita connection of ``g^2 = 2 g_BW`` is that of geomstats'
        ``SPDBuresWassersteinMetric``, so this delegates to its
        ``parallel_transport`` (the horizontal-lift equation of Thanwerdas and
        Pennec 2021, integrated with ``n_steps`` steps of ``step``); the
        geodesic is :meth:`exp` of ``direction`` or the one to ``end_point``.
        ``geomstats_dln.DLNMetric(depth=2).parallel_transport`` integrates the
        same transport with DOP853 (tested to agree).

        Parameters
        ----------
        tangent_vec : array-like, shape=[..., n, n]
            Symmetric vector to transport.
        base_point : array-like, shape=[..., n, n]
        direction : array-like, shape=[..., n, n], optional
        end_point : array-like, shape=[..., n, n], optional
            Exactly one of ``direction`` and ``end_point``.
        n_steps : int
        step : {"euler", "rk2", "rk4"}

        Returns
        -------
        transported : array-like, shape=[..., n, n]
        """
        if (direction is None) == (end_point is None):
            raise ValueError("give exactly one of direction and end_point")
        self._base(base_point)
        tangent_vec = self._tangent(tangent_vec, "tangent_vec", symmetric=True)
        if end_point is None:
            end_point = self.exp(direction, base_point)
        else:
            self._base(end_point, "end_point")
        return self._bw_metric().parallel_transport(
            tangent_vec, base_point, end_point=end_point, n_steps=n_steps, step=step
        )
