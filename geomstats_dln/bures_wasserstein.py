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

import numpy as np

import geomstats.backend as gs
from geomstats.geometry.hpd_matrices import HPDMatrices
from geomstats.geometry.riemannian_metric import RiemannianMetric
from geomstats.geometry.spd_matrices import SPDMatrices

from geomstats_dln._spd_eigenbasis import (  # noqa: F401  (SYMMETRY_RTOL re-exported)
    SYMMETRY_RTOL,
    Array,
    _adjoint,
    _as_array,
    _check_broadcast,
    _check_finite_output,
    _check_matrices,
    _congruence_square,
    _rotate,
    _rotated_lyapunov,
    _rotated_transport_map,
    _spd_eigh,
    _symmetrized,
    _unrotate,
    _values,
)
from geomstats_dln.bures_wasserstein_connection import (
    BuresWassersteinConnectionMixin,
)

__all__ = ["DLNBuresWassersteinMetric", "lyapunov"]


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
    # Complex input: the Hermitian case, X = P diag(s) P^*, same formula.
    hermitian = np.iscomplexobj(_values(base_point)) or np.iscomplexobj(
        _values(tangent_vec)
    )
    tangent_vec = _check_matrices(tangent_vec, n, "tangent_vec", hermitian)
    _, eigvals, eigvecs = _spd_eigh(base_point, n, "base_point", hermitian)
    _check_broadcast((base_point, "base_point"), (tangent_vec, "tangent_vec"))
    return _unrotate(_rotated_lyapunov(eigvals, eigvecs, tangent_vec), eigvecs)


class DLNBuresWassersteinMetric(BuresWassersteinConnectionMixin, RiemannianMetric):
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

    Over C (paper 002, F = C): on geomstats' ``HPDMatrices`` the same formulas
    with ``P^*`` for ``P^T`` give ``g^2_X(Z_1, Z_2) = Re tr(L_X(Z_1)^* Z_2)``, the
    restriction of the complex ``DLNMetric(depth=2)`` to Hermitian positive
    definite ``X = W W^*``: twice the real part of geomstats'
    ``HPDBuresWassersteinMetric`` (itself real on Hermitian vectors), with
    ``d^2(X, Y) = 2 (tr X + tr Y - 2 tr (X^{1/2} Y X^{1/2})^{1/2})``. The
    connection methods (Christoffels, curvature, transport) are real only.

    Parameters
    ----------
    space : SPDMatrices or HPDMatrices
        ``SPDMatrices(n, equip=False)`` (real points; complex input raises
        ``TypeError``) or ``HPDMatrices(n, equip=False)`` (Hermitian points,
        real symmetric ones included); the metric can also be attached with
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

    def __init__(self, space: SPDMatrices | HPDMatrices) -> None:
        if not isinstance(space, (SPDMatrices, HPDMatrices)):
            raise TypeError(
                "DLNBuresWassersteinMetric needs a geomstats SPDMatrices or "
                f"HPDMatrices space, got {type(space).__name__}."
            )
        super().__init__(space=space)
        self.n: int = space.n
        self.hermitian: bool = isinstance(space, HPDMatrices)

    # -- helpers ------------------------------------------------------------

    def _base(self, base_point: Array, name: str = "base_point"):
        return _spd_eigh(base_point, self.n, name, self.hermitian)

    def _tangent(self, tangent_vec: Array, name: str, symmetric: bool) -> Array:
        tangent_vec = _check_matrices(tangent_vec, self.n, name, self.hermitian)
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
        if self.hermitian:
            # Re tr(L^* B): the real metric of the Hermitian case
            return gs.real(gs.sum(gs.conj(rotated_lyap) * rotated_b, axis=(-2, -1)))
        return gs.sum(rotated_lyap * rotated_b, axis=(-2, -1))

    def lyapunov(self, tangent_vec: Array, base_point: Array) -> Array:
        """Solve ``X L + L X = V``; see :func:`lyapunov` (geomstats argument order)."""
        _check_matrices(base_point, self.n, "base_point", self.hermitian)
        _check_matrices(tangent_vec, self.n, "tangent_vec", self.hermitian)
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
        rotated_log = rotated_tx + _adjoint(rotated_tx) - 2 * gs.vec_to_diag(eigvals)
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
        cross = (cross + _adjoint(cross)) / 2
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
