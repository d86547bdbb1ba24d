r"""The Levi-Civita connection of ``g^2`` on SPD matrices, in closed form.

A constant multiple of a metric has the same Levi-Civita connection, so this is
the connection of geomstats' ``SPDBuresWassersteinMetric``; the closed forms
come from the Riemannian submersion ``M -> M M^T`` (see
:mod:`geomstats_dln.bures_wasserstein`, ``docs/mathematics.md`` §3). Mixed into
:class:`geomstats_dln.DLNBuresWassersteinMetric`.
"""

from __future__ import annotations

import numpy as np

import geomstats.backend as gs
from geomstats.geometry.matrices import Matrices
from geomstats.geometry.spd_matrices import SPDBuresWassersteinMetric

from geomstats_dln._spd_eigenbasis import (
    Array,
    _as_array,
    _check_broadcast,
    _pair_sums,
    _rotate,
    _unrotate,
    _values,
)

__all__ = ["BuresWassersteinConnectionMixin"]


class BuresWassersteinConnectionMixin:
    """Christoffel symbols, covariant derivative, curvature and parallel
    transport of ``g^2`` on SPD matrices.

    Relies on ``self.n``, ``self._space``, ``self._base``, ``self._tangent`` and
    ``self.exp`` of :class:`geomstats_dln.DLNBuresWassersteinMetric`.
    """

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

    def _real_connection(self, function: str) -> None:
        """``TypeError`` on HPD matrices: the closed forms here are real."""
        if getattr(self, "hermitian", False):
            raise TypeError(
                f"DLNBuresWassersteinMetric.{function} is implemented on SPD "
                "matrices only (real dtype float64); the space is HPDMatrices "
                "(complex128)"
            )

    def _rotated_vectors(self, base_point, **vectors):
        """Eigen-decomposition of the base point and rotated symmetric vectors."""
        self._real_connection("connection (christoffel_contraction, curvature)")
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

        self._real_connection("christoffels")
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
        self._real_connection("parallel_transport")
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
