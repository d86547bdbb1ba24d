r"""The space of end-to-end matrices ``(M_d, g^N)`` (``../shared/MATH.md`` §3).

A deep linear network ``W = (W_N, ..., W_1)`` computes ``X = W_N ... W_1``. When the
network is balanced, training it is the Riemannian gradient flow of the loss on the
open set of full-rank matrices with the metric

.. math::
    g^N_X(Z_1, Z_2) = \langle A_{N,X}^{-1}(Z_1), Z_2 \rangle, \qquad
    A_{N,X}(Z) = \sum_{p=1}^N (X X^\top)^{\frac{N-p}{N}} Z (X^\top X)^{\frac{p-1}{N}}

(Bah, Rauhut, Terstiege, Westdickenberg; Menon's survey Thm 3, Lemma 1). In the SVD
frame ``A(u_i v_j^T) = a_ij u_i v_j^T``, so every operation costs one SVD
(:mod:`geomstats_dln._spectral`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike
from scipy.integrate import DOP853, solve_ivp

import geomstats.backend as gs
from geomstats.geometry.base import VectorSpaceOpenSet
from geomstats.geometry.matrices import Matrices
from geomstats.geometry.riemannian_metric import RiemannianMetric

from geomstats_dln._spectral import (
    apply_operator,
    check_depth,
    check_finite_matrix,
    check_full_rank,
    geodesic_acceleration,
    lower_index,
    operator_and_hamiltonian_gradient,
    operator_power,
    square_operator_and_hamiltonian_gradient,
    svd_frame,
)
from geomstats_dln.connection import DLNConnectionMixin

__all__ = ["EndToEndMatrices", "DLNMetric", "GeodesicError"]


class GeodesicError(RuntimeError):
    """A geodesic could not be computed (boundary reached, shooting diverged)."""


class EndToEndMatrices(VectorSpaceOpenSet):
    r"""Full-rank real ``n x m`` matrices, the end-to-end matrices of a DLN.

    An open subset of geomstats ``Matrices(n, m)``; equipped by default with
    :class:`DLNMetric` of the given depth (MATH §3).

    Parameters
    ----------
    n : int
        Number of rows (output width).
    m : int, optional
        Number of columns (input width); defaults to ``n``.
    depth : int or math.inf
        Depth ``N`` of the network whose metric ``g^N`` equips the space.
    equip : bool
        Equip the space with ``DLNMetric(depth)``.
    """

    def __init__(
        self, n: int, m: int | None = None, depth: int | float = 2, equip: bool = True
    ):
        m = n if m is None else m
        for name, value in (("n", n), ("m", m)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.n, self.m = int(n), int(m)
        self.rank = min(self.n, self.m)
        self.depth = check_depth(depth)
        super().__init__(
            dim=self.n * self.m, embedding_space=Matrices(self.n, self.m), equip=equip
        )

    def default_metric(self):
        """Metric to equip the space with if equip is True: ``DLNMetric(depth)``."""
        return DLNMetric, {"depth": self.depth}

    def _check_shape(self, point, what="point"):
        if tuple(point.shape[-2:]) != (self.n, self.m):
            raise ValueError(
                f"{what} must have shape [..., {self.n}, {self.m}], "
                f"got {tuple(point.shape)}"
            )

    def belongs(self, point: ArrayLike, atol: float = gs.atol) -> ArrayLike:
        """Whether ``point`` is an ``n x m`` matrix with ``s_min > atol * s_max``.

        Parameters
        ----------
        point : array-like, shape=[..., n, m]
        atol : float
            Relative tolerance on the smallest singular value.

        Returns
        -------
        belongs : array-like, shape=[...]
        """
        if tuple(point.shape[-2:]) != (self.n, self.m):
            return gs.zeros(point.shape[:-2], dtype=bool) if point.ndim > 2 else False
        finite = gs.all(
            gs.reshape(gs.abs(point) < math.inf, point.shape[:-2] + (-1,)), -1
        )
        # Non-finite points are replaced before the SVD (which would fail on them).
        safe = gs.where(finite[..., None, None], point, gs.eye(self.n, self.m))
        s = gs.linalg.svd(safe, compute_uv=False)
        return gs.logical_and(s[..., -1] > atol * s[..., 0], finite)

    def projection(self, point: ArrayLike) -> ArrayLike:
        """Regularize to full rank: singular values floored at ``2 atol max(s_max, 1)``.

        The full-rank matrices are dense, so this is a regularization, not a
        projection; points that belong (:meth:`belongs`) are returned unchanged.
        """
        self._check_shape(point)
        check_finite_matrix(point)
        left, s, right_t = gs.linalg.svd(point, full_matrices=False)
        # Twice the threshold of ``belongs``, so that projected points belong.
        floor = 2.0 * gs.atol * gs.maximum(s[..., :1], 1.0)
        regularized = gs.matmul(
            left * gs.where(s < floor, floor, s)[..., None, :], right_t
        )
        return gs.where(self.belongs(point)[..., None, None], point, regularized)

    def random_point(self, n_samples: int = 1, bound: float = 1.0) -> ArrayLike:
        """Gaussian matrices with entries of standard deviation ``bound``.

        Full rank with probability one (checked; rank-deficient draws are redrawn).
        """
        size = (self.n, self.m) if n_samples == 1 else (n_samples, self.n, self.m)
        for _ in range(100):
            sample = bound * gs.random.normal(size=size)
            if gs.all(self.belongs(sample)):
                return sample
        raise RuntimeError("could not draw full-rank matrices")  # pragma: no cover

    def random_tangent_vec(
        self, base_point: ArrayLike, n_samples: int = 1
    ) -> ArrayLike:
        """Gaussian tangent vectors (the tangent space is all of ``Matrices(n, m)``)."""
        self._check_shape(base_point, "base_point")
        batch = base_point.shape[:-2]
        if n_samples != 1:
            if batch and batch != (n_samples,):
                raise ValueError("n_samples must match the batch of base_point")
            batch = (n_samples,)
        return gs.random.normal(size=batch + (self.n, self.m))


class DLNMetric(DLNConnectionMixin, RiemannianMetric):
    r"""The DLN metric ``g^N`` on full-rank matrices (MATH §3).

    .. math::
        g^N_X(Z_1, Z_2) = \sum_{ij} \frac{\tilde Z_{1,ij} \tilde Z_{2,ij}}{a_{ij}},
        \quad \tilde Z = U^\top Z V,
        \quad a_{ij} = \frac{s_i^2 - s_j^2}{s_i^{2/N} - s_j^{2/N}}

    with ``X = U diag(s) V^T``; ``a_ij = N s_i^{2(N-1)/N}`` on the diagonal and the
    logarithmic mean of ``s_i^2, s_j^2`` for ``depth = math.inf`` (the limit of
    ``A_N / N``, survey §14.3). ``depth = 1`` is the Euclidean metric. The cometric
    is the operator ``A_{N,X}`` itself, so the Riemannian gradient of a loss is
    ``A(E'(X))`` and Thm 3 of the survey reads ``X' = -grad_g E``.

    Geodesics integrate the Hamiltonian system ``X' = A_X(P)``, ``P' = -dH/dX``,
    ``H = 1/2 <P, A_X(P)>`` with a closed form for ``dH/dX``
    (:func:`geomstats_dln._spectral.operator_and_hamiltonian_gradient`); ``log``
    solves the boundary problem by damped Newton shooting.

    Parameters
    ----------
    space : EndToEndMatrices
    depth : int or math.inf, optional
        Defaults to ``space.depth``.
    rtol : float
        Relative tolerance of the geodesic integrator (DOP853); the default 1e-11
        gives exp to about 1e-9.
    log_tol : float
        Residual ``|exp(V) - Y| / max(1, |Y|)`` at which shooting stops.
    log_max_iter : int
        Newton iterations before ``log`` raises :class:`GeodesicError`.
    boundary_rtol : float
        Geodesics are stopped (:class:`GeodesicError`) when the relative smallest
        singular value ``s_min / s_max`` falls below this: g^N is incomplete and
        geodesics reach rank-deficient matrices in finite time.
    max_evaluations : int
        Cap on evaluations of the geodesic equation per integration.
    """

    _JACOBIAN_CHUNK = 64  # shooting directions integrated together in log

    def __init__(
        self,
        space,
        depth: int | float | None = None,
        rtol: float = 1e-11,
        log_tol: float = 1e-10,
        log_max_iter: int = 40,
        boundary_rtol: float = 1e-7,
        max_evaluations: int = 100_000,
    ):
        super().__init__(space=space)
        if depth is None:
            depth = getattr(space, "depth", 2)
        self.depth = check_depth(depth)
        if self.depth == math.inf and space.n != space.m:
            raise ValueError(
                "the infinite-depth metric is degenerate on rectangular matrices "
                f"(a(s, 0) = 0): got {space.n} x {space.m}"
            )
        self.rtol = rtol
        self.log_tol = log_tol
        self.log_max_iter = log_max_iter
        self.boundary_rtol = boundary_rtol
        self.max_evaluations = max_evaluations

    # ------------------------------------------------------------------ operator
    def _frame(self, base_point):
        self._space._check_shape(base_point, "base_point")
        return svd_frame(base_point, self.depth)

    def _check_vector(self, tangent_vec, name="tangent_vec"):
        """Shape ``[..., n, m]`` and finite entries, else ``ValueError``."""
        self._space._check_shape(tangent_vec, name)
        check_finite_matrix(tangent_vec)

    def _apply(self, tangent_vec, base_point, power):
        self._check_vector(tangent_vec)
        self._space._check_shape(base_point, "base_point")
        return operator_power(tangent_vec, base_point, self.depth, power)

    def operator(self, tangent_vec: ArrayLike, base_point: ArrayLike) -> ArrayLike:
        r"""``A_{N,X}(Z) = sum_p (XX^T)^{(N-p)/N} Z (X^TX)^{(p-1)/N}`` (the cometric).

        Parameters
        ----------
        tangent_vec : array-like, shape=[..., n, m]
        base_point : array-like, shape=[..., n, m]

        Returns
        -------
        image : array-like, shape=[..., n, m]
        """
        return self._apply(tangent_vec, base_point, 1.0)

    def inverse_operator(
        self, tangent_vec: ArrayLike, base_point: ArrayLike
    ) -> ArrayLike:
        """``A_{N,X}^{-1}(Z)`` (MATH §3): lowers an index (vector to covector)."""
        return self._apply(tangent_vec, base_point, -1.0)

    def square_root_operator(
        self, tangent_vec: ArrayLike, base_point: ArrayLike
    ) -> ArrayLike:
        """``A_{N,X}^{1/2}(Z)``: maps white noise to Brownian increments (MATH §7)."""
        return self._apply(tangent_vec, base_point, 0.5)

    def inner_product(
        self, tangent_vec_a: ArrayLike, tangent_vec_b: ArrayLike, base_point: ArrayLike
    ) -> ArrayLike:
        """``g^N_X(Z_1, Z_2) = <A^{-1}(Z_1), Z_2>``.

        Returns
        -------
        inner_product : array-like, shape=[...]
        """
        self._check_vector(tangent_vec_b, "tangent_vec_b")
        lowered = self.inverse_operator(tangent_vec_a, base_point)
        return gs.sum(lowered * tangent_vec_b, axis=(-2, -1))

    def inner_coproduct(
        self,
        cotangent_vec_a: ArrayLike,
        cotangent_vec_b: ArrayLike,
        base_point: ArrayLike,
    ) -> ArrayLike:
        """Cometric ``<P_1, A_X(P_2)>`` on covectors."""
        self._check_vector(cotangent_vec_a, "cotangent_vec_a")
        raised = self.operator(cotangent_vec_b, base_point)
        return gs.sum(cotangent_vec_a * raised, axis=(-2, -1))

    def riemannian_gradient(
        self, euclidean_gradient: ArrayLike, base_point: ArrayLike
    ) -> ArrayLike:
        """``grad_g E = A_{N,X}(E'(X))`` (survey Thm 3)."""
        return self.operator(euclidean_gradient, base_point)

    def _operator_matrix(self, base_point, power):
        """Matrix of ``A^power`` in the row-major entry basis: column k = A(E_k)."""
        self._space._check_shape(base_point, "base_point")
        n, m = self._space.n, self._space.m
        basis = gs.reshape(gs.eye(n * m), (n * m, n, m))
        basis = gs.broadcast_to(basis, base_point.shape[:-2] + (n * m, n, m))
        # One SVD per base point, broadcast over the n*m basis vectors.
        frame = svd_frame(base_point[..., None, :, :], self.depth)
        images = apply_operator(frame, basis, power)
        return gs.moveaxis(gs.reshape(images, images.shape[:-2] + (-1,)), -1, -2)

    def cometric_matrix(self, base_point: ArrayLike) -> ArrayLike:
        """Matrix of ``A_{N,X}`` (MATH §3) in the row-major entry basis of
        ``Matrices(n, m)``.

        Returns
        -------
        cometric : array-like, shape=[..., n*m, n*m]
        """
        return self._operator_matrix(base_point, 1.0)

    def metric_matrix(self, base_point: ArrayLike) -> ArrayLike:
        """Matrix of ``g^N_X``, ``A_{N,X}^{-1}`` (MATH §3), in the row-major entry
        basis of ``Matrices(n, m)``.

        Returns
        -------
        metric : array-like, shape=[..., n*m, n*m]
        """
        return self._operator_matrix(base_point, -1.0)

    # ----------------------------------------------------------------- geodesics
    def geodesic_equation(self, state: ArrayLike) -> ArrayLike:
        r"""Geodesic equation in matrix form: ``(X, X') -> (X', X'')``.

        ``X'' = dA_X[X'](P) - A_X(dH/dX)``, ``P = A_X^{-1}(X')``, the Lagrangian form
        of the Hamiltonian system of MATH §3; equal to ``-Gamma(X', X')`` with the
        Christoffel symbols of ``metric_matrix`` (tested).

        Parameters
        ----------
        state : array-like, shape=[..., 2, n, m]
            Position and velocity.

        Returns
        -------
        derivative : array-like, shape=[..., 2, n, m]
            Velocity and acceleration.
        """
        position, velocity = state[..., 0, :, :], state[..., 1, :, :]
        self._space._check_shape(position, "position")
        acceleration = geodesic_acceleration(position, velocity, self.depth)
        return gs.stack([velocity, gs.array(acceleration)], axis=-3)

    def hamiltonian_vector_field(
        self, point: ArrayLike, momentum: ArrayLike
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(X', P') = (A_X(P), -dH/dX)`` for ``H = 1/2 <P, A_X(P)>``."""
        velocity, gradient = operator_and_hamiltonian_gradient(
            point, momentum, self.depth
        )
        return velocity, -gradient

    def _integrate(self, points, momenta, times, rtol=None):
        """Integrate the Hamiltonian flow of a flat batch [k, n, m] to ``times``.

        The first-order (X, P) form is used rather than :meth:`geodesic_equation`
        although it takes about 1.5x more steps: its momentum ``P = A_X^{-1}(X')``
        blows up where the geodesic reaches a rank-deficient matrix, so the
        adaptive integrator cannot step across the boundary of the manifold; the
        second-order form is smooth there (for even depth a singular value can
        touch zero and come back) and would silently leave ``M_d``.
        """
        rtol = self.rtol if rtol is None else rtol
        shape = points.shape
        # A single problem is integrated as a 2-D matrix: the force has a lean
        # path for one square matrix.
        field_shape = shape[1:] if shape[0] == 1 else shape
        size = points.size
        y0 = np.concatenate([points.ravel(), momenta.ravel()])
        scale = np.concatenate(
            [
                np.full(size, max(np.abs(points).max(), 1e-300)),
                np.full(size, max(np.abs(momenta).max(), 1e-300)),
            ]
        )

        evaluations = 0
        field = operator_and_hamiltonian_gradient
        if len(field_shape) == 2 and shape[-1] == shape[-2] and self.depth != math.inf:
            field = square_operator_and_hamiltonian_gradient  # skip the dispatch
        signs = np.concatenate([np.ones(size), -np.ones(size)])  # (X', P') = (A P, -dH)

        def vector_field(_, y):
            nonlocal evaluations
            evaluations += 1
            if evaluations > self.max_evaluations:
                raise ValueError(
                    f"more than {self.max_evaluations} evaluations of the geodesic "
                    "equation (is the geodesic approaching rank-deficient matrices?)"
                )
            velocity, gradient = field(
                y[:size].reshape(field_shape),
                y[size:].reshape(field_shape),
                self.depth,
                self.boundary_rtol,
            )
            return np.concatenate((velocity, gradient), axis=None) * signs

        t_final = float(times[-1])
        if t_final == 0.0:
            return np.broadcast_to(points, (len(times),) + shape).copy()
        atol = 1e-3 * rtol * scale
        try:
            if len(times) == 1:
                # exp: step the solver to t_final itself (no dense output needed).
                solver = DOP853(vector_field, 0.0, y0, t_final, rtol=rtol, atol=atol)
                message = None
                while solver.status == "running":
                    message = solver.step()
                success, states = solver.status == "finished", solver.y[None]
            else:
                solution = solve_ivp(
                    vector_field,
                    (0.0, t_final),
                    y0,
                    method="DOP853",
                    t_eval=times,
                    rtol=rtol,
                    atol=atol,
                )
                success, message = solution.success, solution.message
                states = solution.y.T
        except ValueError as error:
            raise GeodesicError(
                f"the g^{self.depth} geodesic was stopped before t = {t_final} "
                f"(g^N is incomplete: it reaches rank-deficient matrices): {error}"
            ) from error
        if not success:
            raise GeodesicError(f"geodesic integration failed: {message}")
        return states[:, :size].reshape((len(times),) + shape)

    def _prepare(self, tangent_vec, base_point, vector_name="tangent_vec"):
        """Validate and broadcast to flat batches ``[k, n, m]`` (NumPy arrays).

        Base points must be finite with ``s_min > boundary_rtol * s_max`` (the
        threshold at which geodesics are stopped); vectors must be finite.
        """
        tangent_vec = np.asarray(tangent_vec, dtype=float)
        base_point = np.asarray(base_point, dtype=float)
        self._space._check_shape(base_point, "base_point")
        self._check_vector(tangent_vec, vector_name)
        check_full_rank(base_point, rtol=max(self.boundary_rtol, 0.0) or None)
        try:
            batch = np.broadcast_shapes(tangent_vec.shape[:-2], base_point.shape[:-2])
        except ValueError as error:
            raise ValueError(
                f"batch shapes do not broadcast: {vector_name} "
                f"{tangent_vec.shape[:-2]} and base_point {base_point.shape[:-2]}"
            ) from error
        shape = batch + base_point.shape[-2:]
        return (
            np.broadcast_to(tangent_vec, shape).reshape((-1,) + shape[-2:]),
            np.broadcast_to(base_point, shape).reshape((-1,) + shape[-2:]),
            shape,
        )

    @staticmethod
    def _check_segment(points, vectors):
        """Depth 1: the geodesic ``X + tV``, t in [0, 1], must stay invertible.

        For square X, ``det(X + tV) = det(X) det(I + t X^{-1} V)`` vanishes at
        ``t = -1/lam`` for the real eigenvalues ``lam`` of ``X^{-1} V``.
        """
        if points.shape[-1] != points.shape[-2]:
            return  # rectangular: not checked (documented)
        eigenvalues = np.linalg.eigvals(np.linalg.solve(points, vectors))
        real = np.abs(eigenvalues.imag) <= 1e-12 * np.abs(eigenvalues).max()
        negative = real & (eigenvalues.real <= -1.0)
        if np.any(negative):
            raise GeodesicError(
                "the straight line X + tV (depth 1) reaches a singular matrix at "
                f"t = {float(np.min(-1.0 / eigenvalues.real[negative])):.3g} <= 1"
            )

    def exp(
        self, tangent_vec: ArrayLike, base_point: ArrayLike, rtol: float | None = None
    ) -> ArrayLike:
        r"""Riemannian exponential: the g^N geodesic at time 1 (MATH §3).

        Integrates ``X' = A_X(P)``, ``P' = -dH/dX`` from ``(X, A_X^{-1}(V))`` with
        DOP853 (all batch members in one system). Raises :class:`GeodesicError`
        if the geodesic reaches a rank-deficient matrix (g^N is incomplete).

        Parameters
        ----------
        tangent_vec : array-like, shape=[..., n, m]
        base_point : array-like, shape=[..., n, m]
        rtol : float, optional
            Integrator tolerance; defaults to ``self.rtol``.

        Returns
        -------
        end_point : array-like, shape=[..., n, m]
        """
        vectors, points, shape = self._prepare(tangent_vec, base_point)
        if self.depth == 1:
            self._check_segment(points, vectors)
            return gs.array((points + vectors).reshape(shape))
        end = self._integrate(
            points, self._momenta(vectors, points), np.array([1.0]), rtol
        )[-1]
        return gs.array(end.reshape(shape))

    def geodesic_points(
        self, tangent_vec: ArrayLike, base_point: ArrayLike, times: ArrayLike
    ) -> ArrayLike:
        """Points ``exp(t V)`` of one integration, at nonnegative sorted ``times``.

        Returns
        -------
        points : array-like, shape=[..., len(times), n, m]
        """
        times = np.asarray(times, dtype=float)
        if times.ndim != 1 or np.any(times < 0) or np.any(np.diff(times) < 0):
            raise ValueError(
                "times must be a 1-D array of nonnegative nondecreasing values"
            )
        vectors, points, shape = self._prepare(tangent_vec, base_point)
        if self.depth == 1:
            if len(times):
                self._check_segment(points, times[-1] * vectors)
            path = points[None] + times[:, None, None, None] * vectors[None]
        else:
            path = self._integrate(points, self._momenta(vectors, points), times)
        path = np.moveaxis(path, 0, 1).reshape(shape[:-2] + (len(times),) + shape[-2:])
        return gs.array(path)

    def geodesic(
        self,
        initial_point: ArrayLike,
        end_point: ArrayLike | None = None,
        initial_tangent_vec: ArrayLike | None = None,
    ) -> Callable[[ArrayLike], ArrayLike]:
        """Geodesic ``t -> exp_X(t V)``, with ``V = log_X(Y)`` given an end point.

        Unlike the inherited geomstats version, batches broadcast like in
        :meth:`exp`, and all times are integrated in one batched solve.

        Returns
        -------
        path : callable
            ``path(t)`` for ``t`` of shape ``[T]`` returns ``[..., T, n, m]``.
        """
        if (end_point is None) == (initial_tangent_vec is None):
            raise ValueError("give exactly one of end_point and initial_tangent_vec")
        if end_point is not None:
            initial_tangent_vec = self.log(end_point, initial_point)
        vectors = np.asarray(initial_tangent_vec, dtype=float)
        points = np.asarray(initial_point, dtype=float)
        self._prepare(vectors, points)  # validate once, with clear errors

        def path(t):
            times = np.atleast_1d(np.asarray(t, dtype=float))
            if times.ndim != 1:
                raise ValueError(f"t must be a scalar or 1-D array, got {times.shape}")
            scaled = times[:, None, None] * vectors[..., None, :, :]
            return self.exp(scaled, points[..., None, :, :])

        return path

    def log(self, point: ArrayLike, base_point: ArrayLike) -> ArrayLike:
        r"""Riemannian logarithm (MATH §3): damped Newton shooting on ``V -> exp_X(V)``.

        Starts from ``V = Y - X``; the Jacobian of exp is taken by forward
        differences integrated in the same batched solve as exp itself (shared
        step sizes make it consistent). Stops when
        ``|exp(V) - Y| <= log_tol * max(1, |Y|)``.

        Raises
        ------
        GeodesicError
            When shooting does not converge (points too far apart, a conjugate
            point, or the geodesic leaving the full-rank set); the message says
            which and the residual reached.
        """
        targets, points, shape = self._prepare(point, base_point, "point")
        check_full_rank(targets)
        if self.depth == 1:
            self._check_segment(points, targets - points)
            return gs.array((targets - points).reshape(shape))
        if targets.shape[-1] == targets.shape[-2]:
            # det never vanishes on a path of invertible matrices: the two signs
            # are different components, joined by no geodesic.
            split = np.sign(np.linalg.det(targets)) != np.sign(np.linalg.det(points))
            if np.any(split):
                raise GeodesicError(
                    "log: the points lie in different components of the invertible "
                    "matrices (det of opposite signs); no geodesic joins them"
                )
        n_problems = points.shape[0]
        k = points.shape[-2] * points.shape[-1]
        velocity = targets - points
        tolerance = self.log_tol * np.maximum(
            1.0, np.linalg.norm(targets, axis=(-2, -1))
        )
        residual = self._exp_flat(velocity, points) - targets
        residual_norm = np.linalg.norm(residual, axis=(-2, -1))
        for _ in range(self.log_max_iter):
            active = residual_norm > tolerance
            if not np.any(active):
                return gs.array(velocity.reshape(shape))
            idx = np.flatnonzero(active)
            v, x = velocity[idx], points[idx]
            step = 1e-7 * np.maximum(1.0, np.linalg.norm(v, axis=(-2, -1)))
            basis = np.eye(k).reshape((k,) + points.shape[-2:])
            columns = []
            # Directions in chunks, each integrated with its unperturbed geodesic
            # so that the difference quotients share step sizes (memory stays
            # bounded for large matrices).
            for start in range(0, k, self._JACOBIAN_CHUNK):
                chunk = basis[start : start + self._JACOBIAN_CHUNK]
                perturbed = v[:, None] + step[:, None, None, None] * chunk[None]
                batch = np.concatenate([v[:, None], perturbed], axis=1)
                ends = self._exp_flat(
                    batch.reshape((-1,) + points.shape[-2:]),
                    np.repeat(x, len(chunk) + 1, axis=0),
                ).reshape(batch.shape)
                columns.append(ends[:, 1:] - ends[:, :1])
            jacobian = np.concatenate(columns, axis=1).reshape(len(idx), k, k)
            jacobian = np.swapaxes(jacobian, -1, -2) / step[:, None, None]
            res = (ends[:, 0] - targets[idx]).reshape(len(idx), k)
            if np.any(np.linalg.cond(jacobian) > 1e12):
                raise GeodesicError(
                    "log: the differential of exp is singular along the shooting "
                    "path (conjugate point); the points may be too far apart"
                )
            delta = -np.linalg.solve(jacobian, res[..., None])[..., 0]
            delta = delta.reshape(v.shape)
            current = np.linalg.norm(res, axis=-1)
            alpha = np.ones(len(idx))
            accepted = np.zeros(len(idx), dtype=bool)
            for _ in range(12):
                todo = ~accepted
                candidate = v[todo] + alpha[todo, None, None] * delta[todo]
                try:
                    new_res = self._exp_flat(candidate, x[todo]) - targets[idx][todo]
                    new_norm = np.linalg.norm(new_res, axis=(-2, -1))
                except GeodesicError:
                    new_norm = np.full(int(todo.sum()), np.inf)
                    new_res = None
                better = new_norm < current[todo]
                sub = np.flatnonzero(todo)[better]
                velocity[idx[sub]] = candidate[better]
                residual_norm[idx[sub]] = new_norm[better]
                accepted[sub] = True
                alpha[todo] *= 0.5
                if accepted.all():
                    break
            if not accepted.all():
                raise GeodesicError(
                    "log: damped Newton shooting stalled (no step reduces the "
                    f"residual {current[~accepted].max():.2e}); the points may be "
                    "beyond the reach of a minimizing geodesic"
                )
        raise GeodesicError(
            f"log: shooting did not converge in {self.log_max_iter} iterations "
            f"(residual {residual_norm.max():.2e}, tolerance {tolerance.max():.2e}) "
            f"for {n_problems} problem(s)"
        )

    def _momenta(self, vectors, points):
        """``P(0) = A_X^{-1}(V)`` for flat batches [k, n, m] (NumPy)."""
        if len(points) == 1:  # one matrix: the lean single-matrix path
            return lower_index(points[0], vectors[0], self.depth)[None]
        return lower_index(points, vectors, self.depth)

    def _exp_flat(self, vectors, points):
        momenta = self._momenta(vectors, points)
        return self._integrate(points, momenta, np.array([1.0]))[-1]

    def squared_dist(self, point_a: ArrayLike, point_b: ArrayLike) -> ArrayLike:
        """``g^N_X(log_X Y, log_X Y)`` with ``log`` from shooting (MATH §3).

        Returns
        -------
        squared_dist : array-like, shape=[...]
        """
        log = self.log(point_b, point_a)
        return self.squared_norm(log, point_a)

    def dist(self, point_a: ArrayLike, point_b: ArrayLike) -> ArrayLike:
        """Geodesic distance of g^N, ``sqrt(squared_dist)`` (MATH §3)."""
        return gs.sqrt(self.squared_dist(point_a, point_b))

    def injectivity_radius(self, base_point: ArrayLike | None = None) -> ArrayLike:
        """Injectivity radius: infinite for depth 1 (Euclidean); unknown otherwise.

        Raises
        ------
        NotImplementedError
            For depth >= 2, where no closed form is known (the metric is
            incomplete: geodesics can reach rank-deficient matrices).
        """
        if self.depth == 1:
            radius = gs.array(math.inf)
            if base_point is not None and base_point.ndim > 2:
                return gs.broadcast_to(radius, base_point.shape[:-2])
            return radius
        raise NotImplementedError(
            f"the injectivity radius of g^{self.depth} is not known in closed form"
        )
