r"""The Levi-Civita connection of ``g^N`` in closed form: Christoffel contraction,
covariant derivative, parallel transport and curvature.

:class:`DLNConnectionMixin` is mixed into :class:`geomstats_dln.DLNMetric`; its
methods override geomstats' generic (coordinate) versions.

The connection in matrix form
-----------------------------
The tangent space at a full-rank ``X`` is all of ``Matrices(n, m)``, so a
connection is a symmetric bilinear map ``Gamma_X(V, W)`` with
``nabla_V Y = DY[V] + Gamma_X(V, Y)``. For the metric
``g_X(V, W) = <A_X^{-1}(V), W>`` (cometric ``A_X = A_{N,X}``, MATH §3) the Koszul
formula with ``dg[U] = -A^{-1} dA[U] A^{-1}`` gives, with ``P = A_X^{-1}(V)`` and
``Q = A_X^{-1}(W)``,

.. math::
    \Gamma_X(V, W) = -\tfrac12 \big(dA_X[V](Q) + dA_X[W](P)\big)
                     + A_X\big(G_X(P, Q)\big),
    \qquad \langle G_X(P, Q), Z \rangle = \tfrac12 \langle P, dA_X[Z](Q) \rangle,

where ``G_X(P, P) = dH/dX`` is the gradient of the Hamiltonian
``H = 1/2 <P, A_X(P)>``. Its diagonal is minus the geodesic acceleration of the
Hamiltonian form ``X' = A_X(P)``, ``P' = -dH/dX``:
``X'' = dA_X[X'](P) - A_X(dH/dX) = -Gamma_X(X', X')``. Everything is evaluated in
the SVD frame of ``X`` with the Daleckii-Krein formulas of
:mod:`geomstats_dln._spectral` (``dA`` through divided differences of
``lam -> lam^{q/N}``, ``G`` by polarization of ``dH/dX`` inside one frame): one
SVD and ``O(N)`` matrix products per contraction.

Curvature
---------
With constant (in the matrix coordinates) fields, geomstats' convention
``R(U, V)W = nabla_U nabla_V W - nabla_V nabla_U W - nabla_[U,V] W`` reads

.. math::
    R(U, V)W = (D_U\Gamma)(V, W) - (D_V\Gamma)(U, W)
               + \Gamma(U, \Gamma(V, W)) - \Gamma(V, \Gamma(U, W)),

``(D_U Gamma)(V, W) = d/dt Gamma_{X + tU}(V, W)`` at ``t = 0``. That derivative
is taken by a Richardson-extrapolated central difference of the closed-form
contraction (steps ``t`` and ``2t``, truncation error ``O(t^4)``, with
``t = 1e-3 s_min(X) / |U|``): the Daleckii-Krein formulas for the derivative of
``Gamma`` would need third divided differences of ``lam^{q/N}``; the difference
quotient costs one batched SVD of eight perturbed points and is accurate to about
``1e-10`` relative (tested against autodiff of the metric matrix). The sectional
curvature is ``K(U, V) = g(R(U, V)V, U) / (|U|^2 |V|^2 - g(U, V)^2)``.

Source: Koszul formula; the operator ``A_{N,X}`` and its derivatives, MATH §3.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.integrate import solve_ivp

import geomstats.backend as gs

from geomstats_dln._spectral import (
    _full_frame,
    _hamiltonian_gradient_rotated,
    _operator_derivative_rotated,
    _rotate,
    _unrotate,
    check_depth,
    check_full_rank,
)
from geomstats_dln._validation import as_finite_array, as_float_array

__all__ = [
    "DLNConnectionMixin",
    "christoffel_contraction",
    "riemannian_hessian_in_frame",
]

# Largest n * m for which christoffels() builds the dense [dim, dim, dim] array.
_MAX_CHRISTOFFEL_DIM = 144

# Relative step of the central difference of Gamma (in units of s_min / |U|).
_CURVATURE_STEP = 1e-3


def _as_matrices(array, name, function=""):
    """Real float ndarray of shape [..., n, m] with finite entries (the
    validation layer: ``TypeError`` for complex or non-numeric input,
    ``ValueError`` for fewer than two axes or non-finite entries)."""
    return np.asarray(as_finite_array(array, name, function, min_ndim=2))


def _broadcast(arrays, names):
    """Broadcast matrices [..., n, m] to one shape, naming the culprits on failure."""
    try:
        return np.broadcast_arrays(*arrays)
    except ValueError as error:
        shapes = ", ".join(
            f"{name} {array.shape}" for name, array in zip(names, arrays, strict=True)
        )
        raise ValueError(f"shapes do not broadcast: {shapes}") from error


def _frame_contraction(frame, v, w):
    """``U^T Gamma_X(V, W) V`` from rotated ``v = U^T V V``, ``w`` (module doc)."""
    coefficients = frame.coefficients
    p, q = v / coefficients, w / coefficients
    derivative_terms = _operator_derivative_rotated(
        frame, v, q
    ) + _operator_derivative_rotated(frame, w, p)
    # G(P, Q) by polarization of the quadratic dH/dX, inside the same frame.
    force = 0.25 * (
        _hamiltonian_gradient_rotated(frame, p + q)
        - _hamiltonian_gradient_rotated(frame, p - q)
    )
    return coefficients * force - 0.5 * derivative_terms


def _frame_operator_derivative(frame, direction, covector):
    """``U^T dA_X[D](C) V`` from rotated ``direction``, ``covector``."""
    return _operator_derivative_rotated(frame, direction, covector)


def riemannian_hessian_in_frame(frame, gradient, hessian_vec, tangent_vec):
    """``dA_X[xi](E') + A_X(E''[xi]) + Gamma_X(xi, A_X(E'))`` in a given frame.

    ``frame`` is the SVD frame of ``X`` (``_spectral._full_frame``), so that
    callers evaluating many Hessian-vector products at one point (a trust-region
    inner solver) pay for one SVD. Complex arrays are a ``TypeError`` (the
    frame and the connection are real).
    """
    where = "riemannian_hessian_in_frame"
    g, h, xi = (
        _rotate(frame, np.asarray(as_float_array(array, name, where)))
        for array, name in (
            (gradient, "gradient"),
            (hessian_vec, "hessian_vec"),
            (tangent_vec, "tangent_vec"),
        )
    )
    a = frame.coefficients
    rotated = (
        _frame_operator_derivative(frame, xi, g)
        + a * h
        + _frame_contraction(frame, xi, a * g)
    )
    return _unrotate(frame, rotated)


def christoffel_contraction(
    point: ArrayLike,
    tangent_vec_a: ArrayLike,
    tangent_vec_b: ArrayLike,
    depth: int | float,
) -> np.ndarray:
    r"""``Gamma_X(V, W)`` of ``g^N`` as a matrix, from one SVD (module docstring).

    NumPy function behind :meth:`DLNConnectionMixin.christoffel_contraction`;
    the arrays broadcast over leading batch axes. Depth 1 (the Euclidean metric)
    gives zero.

    Parameters
    ----------
    point : array-like, shape=[..., n, m]
        Full-rank base point ``X``.
    tangent_vec_a, tangent_vec_b : array-like, shape=[..., n, m]
    depth : int or math.inf
        An integer-like value ``>= 1`` or ``inf`` (``0``, ``2.5``, ``True``
        are refused).

    Returns
    -------
    contraction : ndarray, shape=[..., n, m]
        Symmetric in the two vectors; ``-Gamma_X(V, V)`` is the geodesic
        acceleration.
    """
    where = "christoffel_contraction"
    depth = check_depth(depth)
    point = _as_matrices(point, "base_point", where)
    vec_a = _as_matrices(tangent_vec_a, "tangent_vec_a", where)
    vec_b = _as_matrices(tangent_vec_b, "tangent_vec_b", where)
    for name, vec in (("tangent_vec_a", vec_a), ("tangent_vec_b", vec_b)):
        if vec.shape[-2:] != point.shape[-2:]:
            raise ValueError(
                f"{name} must have shape [..., {point.shape[-2]}, "
                f"{point.shape[-1]}], got {vec.shape}"
            )
    point, vec_a, vec_b = _broadcast(
        [point, vec_a, vec_b], ["base_point", "tangent_vec_a", "tangent_vec_b"]
    )
    if depth == 1:
        check_full_rank(point)
        return np.zeros(point.shape)
    frame = _full_frame(point, depth)
    return _unrotate(
        frame,
        _frame_contraction(frame, _rotate(frame, vec_a), _rotate(frame, vec_b)),
    )


class DLNConnectionMixin:
    """Closed-form connection methods of :class:`geomstats_dln.DLNMetric`.

    Relies on ``self.depth``, ``self._space`` (``n``, ``m``), ``self.log``,
    ``self.inner_product`` and ``self.inverse_operator`` of the metric.
    """

    # ------------------------------------------------------------ validation
    def _connection_arrays(self, base_point, **vectors):
        """Validated float arrays broadcast to a common shape [..., n, m]."""
        n, m = self._space.n, self._space.m
        arrays, names = [], []
        for name, value in [("base_point", base_point), *vectors.items()]:
            array = _as_matrices(value, name)
            if array.shape[-2:] != (n, m):
                raise ValueError(
                    f"{name} must have shape [..., {n}, {m}], got {array.shape}"
                )
            arrays.append(array)
            names.append(name)
        return _broadcast(arrays, names)

    # ------------------------------------------------------------ Christoffel
    def christoffel_contraction(
        self, tangent_vec_a: ArrayLike, tangent_vec_b: ArrayLike, base_point: ArrayLike
    ) -> ArrayLike:
        r"""Christoffel contraction ``Gamma_X(V, W)`` of ``g^N`` as a matrix.

        .. math::
            \Gamma_X(V, W) = -\tfrac12 (dA_X[V](A_X^{-1}W) + dA_X[W](A_X^{-1}V))
                             + A_X(G_X(A_X^{-1}V, A_X^{-1}W))

        (Koszul formula, module docstring; MATH §3): one SVD and ``O(N)`` matrix
        products. Symmetric in ``V, W``; ``-Gamma_X(V, V)`` is the geodesic
        acceleration of :meth:`geodesic_equation`. In entries,
        ``Gamma_X(V, W)_k = Gamma^k_ij V_i W_j`` with :meth:`christoffels`.

        Parameters
        ----------
        tangent_vec_a, tangent_vec_b : array-like, shape=[..., n, m]
        base_point : array-like, shape=[..., n, m]

        Returns
        -------
        contraction : array-like, shape=[..., n, m]
        """
        point, vec_a, vec_b = self._connection_arrays(
            base_point, tangent_vec_a=tangent_vec_a, tangent_vec_b=tangent_vec_b
        )
        return gs.array(christoffel_contraction(point, vec_a, vec_b, self.depth))

    def christoffels(self, base_point: ArrayLike) -> ArrayLike:
        r"""Christoffel symbols ``Gamma^k_ij`` in the row-major entry basis.

        ``christoffels[..., k, i, j] = Gamma_X(E_i, E_j)_k`` with ``E_i`` the
        matrix units in row-major order (geomstats' layout: contravariant index
        first), from :meth:`christoffel_contraction` on all pairs of basis
        matrices (one SVD per base point). Dense ``(nm)^3`` arrays, so only for
        ``n m <= 144``.

        Parameters
        ----------
        base_point : array-like, shape=[..., n, m]

        Returns
        -------
        christoffels : array-like, shape=[..., n*m, n*m, n*m]
        """
        (point,) = self._connection_arrays(base_point)
        n, m = self._space.n, self._space.m
        dim = n * m
        if dim > _MAX_CHRISTOFFEL_DIM:
            raise ValueError(
                f"christoffels builds a dense [{dim}, {dim}, {dim}] array; n * m = "
                f"{dim} exceeds {_MAX_CHRISTOFFEL_DIM}: use christoffel_contraction"
            )
        basis = np.eye(dim).reshape(dim, n, m)
        batch = point.shape[:-2]
        if self.depth == 1:
            check_full_rank(point)
            return gs.zeros(batch + (dim, dim, dim))
        # One frame per base point, broadcast over the dim x dim pairs.
        frame = _full_frame(point[..., None, None, :, :], self.depth)
        pairs = (dim, dim, n, m)
        vec_a = _rotate(frame, np.broadcast_to(basis[:, None], pairs))  # E_i
        vec_b = _rotate(frame, np.broadcast_to(basis[None, :], pairs))  # E_j
        images = _unrotate(frame, _frame_contraction(frame, vec_a, vec_b))
        images = images.reshape(batch + (dim, dim, dim))  # [..., i, j, k]
        return gs.array(np.moveaxis(images, -1, -3))

    def covariant_derivative(
        self,
        direction: ArrayLike,
        vector_field: ArrayLike,
        vector_field_derivative: ArrayLike,
        base_point: ArrayLike,
    ) -> ArrayLike:
        r"""Covariant derivative ``nabla_U Y = DY[U] + Gamma_X(U, Y)``.

        The tangent bundle is trivial (tangent spaces are ``Matrices(n, m)``), so
        a vector field is a matrix-valued function ``Y``; this takes its value
        ``Y(X)`` and its directional derivative ``DY(X)[U]`` in the matrix
        coordinates.

        Parameters
        ----------
        direction : array-like, shape=[..., n, m]
            ``U``.
        vector_field : array-like, shape=[..., n, m]
            ``Y(X)``.
        vector_field_derivative : array-like, shape=[..., n, m]
            ``DY(X)[U] = d/dt Y(X + tU)`` at ``t = 0``.
        base_point : array-like, shape=[..., n, m]

        Returns
        -------
        covariant_derivative : array-like, shape=[..., n, m]
        """
        point, direction, field, derivative = self._connection_arrays(
            base_point,
            direction=direction,
            vector_field=vector_field,
            vector_field_derivative=vector_field_derivative,
        )
        return gs.array(
            derivative + christoffel_contraction(point, direction, field, self.depth)
        )

    def riemannian_hessian(
        self,
        euclidean_gradient: ArrayLike,
        euclidean_hessian_vec: ArrayLike,
        tangent_vec: ArrayLike,
        base_point: ArrayLike,
    ) -> ArrayLike:
        r"""Riemannian Hessian ``Hess f[xi] = nabla_xi grad f`` from Euclidean data.

        With ``grad f = A_X(E')`` (survey Thm 3),

        .. math::
            \mathrm{Hess} f[\xi] = dA_X[\xi](E') + A_X(E''[\xi])
                                   + \Gamma_X(\xi, A_X(E')),

        in one SVD frame.

        Parameters
        ----------
        euclidean_gradient : array-like, shape=[..., n, m]
            ``E'(X)``.
        euclidean_hessian_vec : array-like, shape=[..., n, m]
            ``E''(X)[xi]``, the Euclidean Hessian applied to ``xi``.
        tangent_vec : array-like, shape=[..., n, m]
            ``xi``.
        base_point : array-like, shape=[..., n, m]

        Returns
        -------
        hessian_vec : array-like, shape=[..., n, m]
        """
        point, gradient, hessian_vec, vec = self._connection_arrays(
            base_point,
            euclidean_gradient=euclidean_gradient,
            euclidean_hessian_vec=euclidean_hessian_vec,
            tangent_vec=tangent_vec,
        )
        if self.depth == 1:
            check_full_rank(point)
            return gs.array(hessian_vec)
        frame = _full_frame(point, self.depth)
        return gs.array(riemannian_hessian_in_frame(frame, gradient, hessian_vec, vec))

    # ------------------------------------------------------ parallel transport
    def parallel_transport(
        self,
        tangent_vec: ArrayLike,
        base_point: ArrayLike,
        direction: ArrayLike | None = None,
        end_point: ArrayLike | None = None,
        rtol: float = 1e-11,
    ) -> ArrayLike:
        r"""Parallel transport along the geodesic ``t -> exp_X(t U)``, t in [0, 1].

        Integrates the geodesic and the transport equation together (DOP853):

        .. math::
            X' = U, \quad U' = -\Gamma_X(U, U), \quad Y' = -\Gamma_X(U, Y),

        one SVD per evaluation for both. With ``end_point``, ``U = log_X(end)``
        (shooting). The norm ``g(Y, Y)`` and the inner products of transported
        vectors are conserved (tested); depth 1 is flat (``Y`` unchanged).

        Parameters
        ----------
        tangent_vec : array-like, shape=[..., n, m]
            Vector ``Y`` at ``base_point`` to transport.
        base_point : array-like, shape=[..., n, m]
        direction : array-like, shape=[..., n, m], optional
            Initial velocity ``U`` of the geodesic.
        end_point : array-like, shape=[..., n, m], optional
            End of the geodesic (give exactly one of ``direction``, ``end_point``).
        rtol : float
            Relative tolerance of the integrator.

        Returns
        -------
        transported : array-like, shape=[..., n, m]
            Tangent vector at ``exp_X(U)``.
        """
        if (direction is None) == (end_point is None):
            raise ValueError("give exactly one of direction and end_point")
        if end_point is not None:
            direction = self.log(end_point, base_point)
        point, velocity, vector = self._connection_arrays(
            base_point, direction=direction, tangent_vec=tangent_vec
        )
        check_full_rank(point)
        if self.depth == 1:
            return gs.array(np.array(vector))
        return gs.array(self._transport_path(point, velocity, vector, [1.0], rtol)[-1])

    def _transport_path(self, point, velocity, vector, times, rtol=1e-11):
        """Transported vectors at ``times`` ([T, ..., n, m]); NumPy arrays in."""
        shape = point.shape
        depth = self.depth
        boundary = getattr(self, "boundary_rtol", 1e-7)
        evaluations = 0
        max_evaluations = getattr(self, "max_evaluations", 100_000)

        def field(_, state):
            nonlocal evaluations
            evaluations += 1
            if evaluations > max_evaluations:
                raise ValueError(
                    f"more than {max_evaluations} evaluations of the transport "
                    "equation (is the geodesic approaching rank-deficient matrices?)"
                )
            x, u, y = state.reshape((3,) + shape)
            frame = _full_frame(x, depth, boundary)
            u_r, y_r = _rotate(frame, u), _rotate(frame, y)
            accelerations = _unrotate(
                frame,
                np.stack(
                    [
                        _frame_contraction(frame, u_r, u_r),
                        _frame_contraction(frame, u_r, y_r),
                    ]
                ),
            )
            return np.concatenate((u, -accelerations), axis=None)

        scale = max(
            float(np.max(np.abs(point))),
            float(np.max(np.abs(velocity))),
            float(np.max(np.abs(vector))),
            1e-300,
        )
        state = np.concatenate((point, velocity, vector), axis=None)
        times = np.asarray(times, dtype=float)
        try:
            solution = solve_ivp(
                field,
                (0.0, float(times[-1])),
                state,
                method="DOP853",
                t_eval=times,
                rtol=rtol,
                atol=1e-3 * rtol * scale,
            )
        except ValueError as error:
            from geomstats_dln.end_to_end import GeodesicError

            raise GeodesicError(
                f"parallel transport along the g^{depth} geodesic was stopped: {error}"
            ) from error
        if not solution.success:
            from geomstats_dln.end_to_end import GeodesicError

            raise GeodesicError(f"parallel transport failed: {solution.message}")
        states = solution.y.T.reshape((len(times), 3) + shape)
        return states[:, 2]

    # ---------------------------------------------------------------- curvature
    def _curvature_in_frame(self, vec_a, vec_b, vec_c, point):
        """``R(a, b)c`` and the SVD frame at ``point`` (NumPy, broadcast inputs)."""
        depth = self.depth
        frame = _full_frame(point, depth)
        norms = [np.linalg.norm(v, axis=(-2, -1)) for v in (vec_a, vec_b)]
        s_min = frame.singular_values[..., -1]
        # Steps proportional to the distance to the rank-deficient matrices.
        steps = [
            _CURVATURE_STEP * s_min / np.where(norm > 0, norm, 1.0) for norm in norms
        ]
        offsets = np.array([1.0, -1.0, 2.0, -2.0]).reshape((4,) + (1,) * s_min.ndim)
        perturbed = np.concatenate(
            [
                point[None] + (offsets * step[None])[..., None, None] * vec[None]
                for step, vec in zip(steps, (vec_a, vec_b), strict=True)
            ]
        )  # [8, ..., n, m]: X +- t a, X +- 2t a, X +- t b, X +- 2t b
        # D_a Gamma(b, c) on the first four points, D_b Gamma(a, c) on the last.
        first = np.stack([vec_b] * 4 + [vec_a] * 4)
        second = np.broadcast_to(vec_c, perturbed.shape)
        values = christoffel_contraction(perturbed, first, second, depth)
        # Richardson: (8 (f(t) - f(-t)) - (f(2t) - f(-2t))) / (12 t).
        derivatives = []
        for k, step in enumerate(steps):
            f = values[4 * k : 4 * k + 4]
            derivatives.append(
                (8.0 * (f[0] - f[1]) - (f[2] - f[3])) / (12.0 * step[..., None, None])
            )
        a_r, b_r, c_r = (_rotate(frame, v) for v in (vec_a, vec_b, vec_c))
        gamma_bc = _frame_contraction(frame, b_r, c_r)
        gamma_ac = _frame_contraction(frame, a_r, c_r)
        quadratic = _frame_contraction(frame, a_r, gamma_bc) - _frame_contraction(
            frame, b_r, gamma_ac
        )
        curvature = derivatives[0] - derivatives[1] + _unrotate(frame, quadratic)
        return curvature, frame

    def curvature(
        self,
        tangent_vec_a: ArrayLike,
        tangent_vec_b: ArrayLike,
        tangent_vec_c: ArrayLike,
        base_point: ArrayLike,
    ) -> ArrayLike:
        r"""Riemann curvature ``R(a, b)c`` in geomstats' convention.

        ``R(a, b)c = nabla_a nabla_b c - nabla_b nabla_a c - nabla_[a,b] c``
        (geomstats' ``Connection.curvature``), from the closed-form contraction:
        ``(D_a Gamma)(b, c) - (D_b Gamma)(a, c) + Gamma(a, Gamma(b, c)) -
        Gamma(b, Gamma(a, c))``, the derivatives of ``Gamma`` by
        Richardson-extrapolated central differences (module docstring).

        Parameters
        ----------
        tangent_vec_a, tangent_vec_b, tangent_vec_c : array-like, shape=[..., n, m]
        base_point : array-like, shape=[..., n, m]

        Returns
        -------
        curvature : array-like, shape=[..., n, m]
        """
        point, vec_a, vec_b, vec_c = self._connection_arrays(
            base_point,
            tangent_vec_a=tangent_vec_a,
            tangent_vec_b=tangent_vec_b,
            tangent_vec_c=tangent_vec_c,
        )
        if self.depth == 1:
            check_full_rank(point)
            return gs.zeros(point.shape)
        return gs.array(self._curvature_in_frame(vec_a, vec_b, vec_c, point)[0])

    def sectional_curvature(
        self, tangent_vec_a: ArrayLike, tangent_vec_b: ArrayLike, base_point: ArrayLike
    ) -> ArrayLike:
        r"""Sectional curvature of the plane spanned by ``a, b``.

        .. math::
            K(a, b) = \frac{g(R(a, b)b, a)}{g(a, a) g(b, b) - g(a, b)^2}

        (geomstats' definition) with :meth:`curvature`; the metric values are
        taken in the same SVD frame.

        Parameters
        ----------
        tangent_vec_a, tangent_vec_b : array-like, shape=[..., n, m]
        base_point : array-like, shape=[..., n, m]

        Returns
        -------
        sectional_curvature : array-like, shape=[...]

        Raises
        ------
        ValueError
            If ``a`` and ``b`` are linearly dependent (no plane).
        """
        point, vec_a, vec_b = self._connection_arrays(
            base_point, tangent_vec_a=tangent_vec_a, tangent_vec_b=tangent_vec_b
        )
        if self.depth == 1:
            check_full_rank(point)
            lowered = [vec_a, vec_b]  # the Euclidean metric
            curvature = np.zeros(point.shape)
        else:
            curvature, frame = self._curvature_in_frame(vec_a, vec_b, vec_b, point)
            lowered = [
                _unrotate(frame, _rotate(frame, v) / frame.coefficients)
                for v in (vec_a, vec_b)
            ]
        gram_aa = np.sum(lowered[0] * vec_a, axis=(-2, -1))
        gram_bb = np.sum(lowered[1] * vec_b, axis=(-2, -1))
        gram_ab = np.sum(lowered[0] * vec_b, axis=(-2, -1))
        area = gram_aa * gram_bb - gram_ab**2
        if np.any(~(area > 1e-12 * gram_aa * gram_bb)):
            raise ValueError(
                "sectional_curvature: tangent_vec_a and tangent_vec_b are linearly "
                "dependent (they span no plane)"
            )
        return gs.array(np.sum(lowered[0] * curvature, axis=(-2, -1)) / area)
