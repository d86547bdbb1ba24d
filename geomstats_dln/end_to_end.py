r"""The space of end-to-end matrices ``(M_d, g^N)`` (``docs/mathematics.md`` §3).

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

import collections
import math
from collections.abc import Callable

import numpy as np
from autograd.tracer import isbox
from numpy.typing import ArrayLike
from scipy.integrate import DOP853, RK45, solve_ivp

import geomstats.backend as gs
from geomstats.geometry.base import VectorSpaceOpenSet
from geomstats.geometry.matrices import Matrices
from geomstats.geometry.riemannian_metric import RiemannianMetric

from geomstats_dln._autodiff import (
    exp_primitive,
    log_primitive,
    squared_dist_primitive,
)
from geomstats_dln._shooting import LogFailure, solve_log
from geomstats_dln._spectral import (
    apply_operator,
    check_depth,
    check_finite_matrix,
    check_full_rank,
    geodesic_acceleration,
    lower_index,
    operator_and_hamiltonian_gradient,
    operator_power,
    single_threaded_blas,
    square_operator_and_hamiltonian_gradient,
    svd_frame,
)
from geomstats_dln._validation import (
    as_field_array,
    as_float_array,
    is_complex,
    sample_batch,
)
from geomstats_dln.connection import DLNConnectionMixin

__all__ = ["EndToEndMatrices", "DLNMetric", "GeodesicError"]


class GeodesicError(RuntimeError):
    """A geodesic could not be computed (boundary reached, shooting diverged)."""


class _WarmStarts:
    """A small least-recently-used store of solved log problems, by target."""

    size = 128

    def __init__(self):
        self._entries = collections.OrderedDict()

    def __contains__(self, key):  # no reordering: a look, not a use
        return key in self._entries

    def get(self, key):
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key, entry):
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def __getstate__(self):  # pickled metrics (joblib workers) start empty
        return {}

    def __setstate__(self, state):
        self._entries = collections.OrderedDict()


def _check_errors(errors):
    if errors not in ("raise", "nan"):
        raise ValueError(f'errors must be "raise" or "nan", got {errors!r}')
    return errors


def _unravel(index, shape):
    batch = shape[:-2]
    return (
        tuple(int(i) for i in np.unravel_index(index, batch))
        if len(batch) > 1
        else index
    )


_FIELDS = ("real", "complex")


def _complex_geodesics_refused(function, name, value):
    """``TypeError`` for complex input to the geodesic methods of g^N."""
    raise TypeError(
        f"DLNMetric.{function}: complex geodesics are not implemented (the "
        "geodesic integrator and shooting are real); got "
        f"{name} of dtype {np.asarray(value).dtype}. Over C the metric itself "
        "(operator, inner_product, norm, riemannian_gradient) is available"
    )


class EndToEndMatrices(VectorSpaceOpenSet):
    r"""Full-rank ``n x m`` matrices over R or C, the end-to-end matrices of a DLN.

    An open subset of geomstats ``Matrices(n, m)``; equipped by default with
    :class:`DLNMetric` of the given depth (MATH §3). Over C (``field="complex"``)
    it is the open set of full-rank complex matrices, a real manifold of
    dimension ``2 n m`` with the real inner product ``Re tr(A^* B)`` on
    ``M_{n x m}(C)`` (balancedness paper 002, F = C).

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
    component : {None, +1, -1}
        Square matrices only: restrict to the determinant component
        ``sign(det X) = component``. The invertible matrices have two
        components that no curve of invertible matrices joins (``dist = inf``
        between them), and ``X -> X D``, ``D = diag(-1, 1, ..., 1)``, is an
        isometry of ``g^N`` exchanging them. Statistics (means, clusters,
        principal components) make sense within one component: a space with
        a component makes :meth:`belongs`, :meth:`random_point` and
        :meth:`projection` respect it. Real field only (the complex
        invertible matrices are connected).
    field : {"real", "complex"}
        The field F of the entries. ``"complex"``: :meth:`random_point` and
        :meth:`random_tangent_vec` draw complex Gaussian matrices and
        :meth:`belongs` and :meth:`projection` accept complex (and real)
        input; the real space refuses complex input with ``TypeError``.
    """

    def __init__(
        self,
        n: int,
        m: int | None = None,
        depth: int | float = 2,
        equip: bool = True,
        component: int | None = None,
        field: str = "real",
    ):
        m = n if m is None else m
        for name, value in (("n", n), ("m", m)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"{name} must be a positive integer, got {value!r}")
            if value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if field not in _FIELDS:
            raise ValueError(f'field must be "real" or "complex", got {field!r}')
        if field == "complex" and component is not None:
            raise ValueError(
                "component applies to real matrices only (the complex invertible "
                "matrices are connected)"
            )
        self.field = field
        self.n, self.m = int(n), int(m)
        self.rank = min(self.n, self.m)
        self.depth = check_depth(depth)
        if component is not None:
            if self.n != self.m:
                raise ValueError(
                    "component applies to square matrices only (rectangular "
                    f"full-rank {self.n} x {self.m} matrices form one component)"
                )
            if isinstance(component, bool) or component not in (1, -1):
                raise ValueError(f"component must be None, +1 or -1, got {component!r}")
            component = int(component)
        self.component = component
        # Real dimension: a complex entry carries two real coordinates.
        real_dim = self.n * self.m * (2 if field == "complex" else 1)
        super().__init__(
            dim=real_dim, embedding_space=Matrices(self.n, self.m), equip=equip
        )

    def default_metric(self):
        """Metric to equip the space with if equip is True: ``DLNMetric(depth)``."""
        return DLNMetric, {"depth": self.depth}

    def _as_point(self, point, what, function):
        """``point`` as float64 (or complex128 on the complex space)."""
        if self.field == "complex":
            return as_field_array(point, what, function)
        if is_complex(point):
            raise TypeError(
                f"{function}: the space is real (field='real'), got {what} of "
                f"dtype {np.asarray(point).dtype}; use EndToEndMatrices(..., "
                "field='complex') for complex end-to-end matrices"
            )
        return as_float_array(point, what, function)

    def _check_shape(self, point, what="point"):
        if not hasattr(point, "shape"):
            point = as_field_array(point, what)
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
        point = self._as_point(point, "point", "EndToEndMatrices.belongs")
        if point.ndim < 2 or tuple(point.shape[-2:]) != (self.n, self.m):
            return gs.zeros(point.shape[:-2], dtype=bool) if point.ndim > 2 else False
        finite = gs.all(
            gs.reshape(gs.abs(point) < math.inf, point.shape[:-2] + (-1,)), -1
        )
        # Non-finite points are replaced before the SVD (which would fail on them).
        safe = gs.where(finite[..., None, None], point, gs.eye(self.n, self.m))
        s = gs.linalg.svd(safe, compute_uv=False)
        belongs = gs.logical_and(s[..., -1] > atol * s[..., 0], finite)
        if self.component is not None:
            belongs = gs.logical_and(
                belongs, gs.sign(gs.linalg.det(safe)) == self.component
            )
        return belongs

    def projection(self, point: ArrayLike) -> ArrayLike:
        """Regularize to full rank: singular values floored at ``2 atol max(s_max, 1)``.

        The full-rank matrices are dense, so this is a regularization, not a
        projection; points that belong (:meth:`belongs`) are returned unchanged.
        Complex points (complex space) keep their singular vectors.
        """
        point = self._as_point(point, "point", "EndToEndMatrices.projection")
        self._check_shape(point)
        check_finite_matrix(point, allow_complex=True)
        left, s, right_t = gs.linalg.svd(point, full_matrices=False)
        # Twice the threshold of ``belongs``, so that projected points belong.
        floor = 2.0 * gs.atol * gs.maximum(s[..., :1], 1.0)
        s = gs.where(s < floor, floor, s)
        if self.component is not None:
            # The other component's nearest points: flip the smallest singular
            # value (X - 2 s_r u_r v_r^T changes the sign of det at least cost).
            wrong = gs.sign(gs.linalg.det(point)) != self.component
            flip = gs.concatenate(
                [
                    gs.ones(s.shape[:-1] + (s.shape[-1] - 1,)),
                    -gs.ones(s.shape[:-1] + (1,)),
                ],
                axis=-1,
            )
            s = gs.where(wrong[..., None], s * flip, s)
        regularized = gs.matmul(left * s[..., None, :], right_t)
        return gs.where(self.belongs(point)[..., None, None], point, regularized)

    def _gaussian(self, size, bound):
        """Real Gaussian entries, or complex ones with ``E|z|^2 = bound^2``."""
        if self.field == "complex":
            parts = gs.random.normal(size=(2,) + tuple(size))
            return (bound / math.sqrt(2.0)) * (parts[0] + 1j * parts[1])
        return bound * gs.random.normal(size=size)

    def random_point(self, n_samples: int = 1, bound: float = 1.0) -> ArrayLike:
        """Gaussian matrices with entries of standard deviation ``bound``.

        Full rank with probability one (checked; rank-deficient draws are redrawn).
        On the complex space the entries are circular complex Gaussians,
        ``Re`` and ``Im`` independent of variance ``bound^2 / 2``.
        """
        size = (self.n, self.m) if n_samples == 1 else (n_samples, self.n, self.m)
        for _ in range(100):
            sample = self._gaussian(size, bound)
            if self.component is not None:
                # X -> X D (first column negated) exchanges the components.
                wrong = gs.sign(gs.linalg.det(sample)) != self.component
                column = gs.where(
                    wrong[..., None], -sample[..., :, 0], sample[..., :, 0]
                )
                sample = gs.concatenate(
                    [column[..., None], sample[..., :, 1:]], axis=-1
                )
            if gs.all(self.belongs(sample)):
                return sample
        raise RuntimeError("could not draw full-rank matrices")  # pragma: no cover

    def to_tangent(self, vector: ArrayLike, base_point: ArrayLike = None) -> ArrayLike:
        """The tangent space is all of ``Matrices(n, m)`` (over F): ``vector``
        (broadcast against ``base_point``); complex refused on the real space."""
        vector = self._as_point(vector, "vector", "EndToEndMatrices.to_tangent")
        return super().to_tangent(vector, base_point)

    def is_tangent(
        self, vector: ArrayLike, base_point: ArrayLike = None, atol: float = gs.atol
    ) -> ArrayLike:
        """Whether ``vector`` is an ``n x m`` matrix (of the space's field:
        complex refused on the real space)."""
        vector = self._as_point(vector, "vector", "EndToEndMatrices.is_tangent")
        return super().is_tangent(vector, base_point, atol)

    def random_tangent_vec(
        self, base_point: ArrayLike, n_samples: int = 1
    ) -> ArrayLike:
        """Gaussian tangent vectors (the tangent space is all of ``Matrices(n, m)``;
        complex on the complex space, as in :meth:`random_point`)."""
        base_point = self._as_point(
            base_point, "base_point", "EndToEndMatrices.random_tangent_vec"
        )
        self._check_shape(base_point, "base_point")
        batch = sample_batch(base_point, n_samples)
        return self._gaussian(batch + (self.n, self.m), 1.0)


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

    Over C (complex input, selected by dtype): the operator, its powers, the
    inner product ``Re tr(A^{-1}(Z_1)^* Z_2)``, norms and the Riemannian
    gradient, in the complex SVD frame; geodesics (``exp``, ``log``,
    distances), the connection and the metric matrices raise ``TypeError``.

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
        # Recent log solutions by target: iterative estimators (Frechet mean,
        # k-means) ask for log_X(Y) with the same Y and a slowly moving X.
        self._warm_starts = _WarmStarts()
        self._solved = _WarmStarts()  # by (target, base point)
        self._base_jacobians = _WarmStarts()  # last Jacobian, by base point

    # ------------------------------------------------------------------ operator
    def _frame(self, base_point):
        self._space._check_shape(base_point, "base_point")
        return svd_frame(base_point, self.depth)

    def _check_vector(self, tangent_vec, name="tangent_vec"):
        """Shape ``[..., n, m]`` and finite entries, else ``ValueError``
        (complex entries pass: the metric holds over C, selected by dtype)."""
        self._space._check_shape(tangent_vec, name)
        check_finite_matrix(tangent_vec, allow_complex=True)

    def _apply(self, tangent_vec, base_point, power):
        self._check_vector(tangent_vec)
        self._space._check_shape(base_point, "base_point")
        return operator_power(
            tangent_vec, base_point, self.depth, power, allow_complex=True
        )

    def _connection_arrays(self, base_point, **vectors):
        """The connection's validation (:mod:`geomstats_dln.connection`), which
        is real only: complex input raises ``TypeError`` instead of a cast."""
        for name, value in [("base_point", base_point), *vectors.items()]:
            if is_complex(value):
                raise TypeError(
                    "DLNMetric connection (Christoffel symbols, covariant "
                    "derivative, Hessian, transport, curvature) is real only; got "
                    f"{name} of dtype {np.asarray(value).dtype}"
                )
        return super()._connection_arrays(base_point, **vectors)

    @staticmethod
    def _pairing(covector, vector):
        """``Re tr(P^* Z)``: the real inner product of ``M_{n x m}(F)``."""
        if is_complex(covector) or is_complex(vector):
            return gs.real(gs.sum(gs.conj(covector) * vector, axis=(-2, -1)))
        return gs.sum(covector * vector, axis=(-2, -1))

    def operator(self, tangent_vec: ArrayLike, base_point: ArrayLike) -> ArrayLike:
        r"""``A_{N,X}(Z) = sum_p (XX^T)^{(N-p)/N} Z (X^TX)^{(p-1)/N}`` (the cometric).

        Over C (complex ``X`` or ``Z``): ``X^*`` for ``X^T``, computed in the
        complex SVD frame ``X = U diag(s) V^*`` as ``U (a_ij (U^* Z V)_ij) V^*``
        (the coefficients ``a_ij`` are those of the real case).

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

        Over C: ``Re tr(A^{-1}(Z_1)^* Z_2)``, the real metric of the real manifold
        of complex full-rank matrices (balancedness paper 002: ``M_d(C)`` with
        ``Re tr(A^* B)``); ``A`` is self-adjoint for it, so the value is
        symmetric in ``Z_1, Z_2``.

        Returns
        -------
        inner_product : array-like, shape=[...]
        """
        self._check_vector(tangent_vec_b, "tangent_vec_b")
        lowered = self.inverse_operator(tangent_vec_a, base_point)
        return self._pairing(lowered, tangent_vec_b)

    def inner_coproduct(
        self,
        cotangent_vec_a: ArrayLike,
        cotangent_vec_b: ArrayLike,
        base_point: ArrayLike,
    ) -> ArrayLike:
        """Cometric ``<P_1, A_X(P_2)>`` on covectors (``Re tr`` over C)."""
        self._check_vector(cotangent_vec_a, "cotangent_vec_a")
        raised = self.operator(cotangent_vec_b, base_point)
        return self._pairing(cotangent_vec_a, raised)

    def riemannian_gradient(
        self, euclidean_gradient: ArrayLike, base_point: ArrayLike
    ) -> ArrayLike:
        """``grad_g E = A_{N,X}(E'(X))`` (survey Thm 3).

        Over C, ``E'(X)`` is the gradient of the real function ``E`` for
        ``Re tr(A^* B)`` (``dE = Re tr(E'(X)^* dX)``; for ``E = |X - Y|^2 / 2``
        it is ``X - Y``)."""
        return self.operator(euclidean_gradient, base_point)

    def _operator_matrix(self, base_point, power):
        """Matrix of ``A^power`` in the row-major entry basis: column k = A(E_k)."""
        if is_complex(base_point):
            raise TypeError(
                "DLNMetric.metric_matrix / cometric_matrix: the matrices are in "
                "the real entry basis; got a complex base_point (dtype "
                f"{np.asarray(base_point).dtype}); use operator or inner_product"
            )
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
        state = as_float_array(state, "state", "DLNMetric.geodesic_equation")
        check_finite_matrix(state)  # LAPACK's SVD loops forever on inf
        position, velocity = state[..., 0, :, :], state[..., 1, :, :]
        self._space._check_shape(position, "position")
        acceleration = geodesic_acceleration(position, velocity, self.depth)
        return gs.stack([velocity, gs.array(acceleration)], axis=-3)

    def hamiltonian_vector_field(
        self, point: ArrayLike, momentum: ArrayLike
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(X', P') = (A_X(P), -dH/dX)`` for ``H = 1/2 <P, A_X(P)>``."""
        for name, value in (("point", point), ("momentum", momentum)):
            if is_complex(value):
                _complex_geodesics_refused("hamiltonian_vector_field", name, value)
        velocity, gradient = operator_and_hamiltonian_gradient(
            point, momentum, self.depth
        )
        return velocity, -gradient

    def _integrate(self, *args, **kwargs):
        """:meth:`_integrate_flow` with BLAS on one thread (small matrices)."""
        with single_threaded_blas():
            return self._integrate_flow(*args, **kwargs)

    def _integrate_flow(
        self,
        points,
        momenta,
        times,
        rtol=None,
        max_evaluations=None,
        info=None,
        method=DOP853,
        return_momenta=False,
    ):
        """Integrate the Hamiltonian flow of a flat batch [k, n, m] to ``times``.

        Returns the points ``[len(times), k, n, m]``, and with
        ``return_momenta`` the momenta too (a pair).

        The first-order (X, P) form is used rather than :meth:`geodesic_equation`
        although it takes about 1.5x more steps: its momentum ``P = A_X^{-1}(X')``
        blows up where the geodesic reaches a rank-deficient matrix, so the
        adaptive integrator cannot step across the boundary of the manifold; the
        second-order form is smooth there (for even depth a singular value can
        touch zero and come back) and would silently leave ``M_d``.
        """
        rtol = self.rtol if rtol is None else rtol
        if max_evaluations is None:
            max_evaluations = self.max_evaluations
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
        if len(field_shape) == 2 and shape[-1] == shape[-2]:
            field = square_operator_and_hamiltonian_gradient  # skip the dispatch
        signs = np.concatenate([np.ones(size), -np.ones(size)])  # (X', P') = (A P, -dH)

        def vector_field(_, y):
            nonlocal evaluations
            evaluations += 1
            if evaluations > max_evaluations:
                raise ValueError(
                    f"more than {max_evaluations} evaluations of the geodesic "
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
            states = np.broadcast_to(points, (len(times),) + shape).copy()
            if return_momenta:
                return states, np.broadcast_to(momenta, states.shape).copy()
            return states
        atol = 1e-3 * rtol * scale
        try:
            if len(times) == 1:
                # exp: step the solver to t_final itself (no dense output needed).
                solver = method(vector_field, 0.0, y0, t_final, rtol=rtol, atol=atol)
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
        if info is not None:
            info["evaluations"] = evaluations
        points_out = states[:, :size].reshape((len(times),) + shape)
        if return_momenta:
            return points_out, states[:, size:].reshape((len(times),) + shape)
        return points_out

    def _prepare(self, tangent_vec, base_point, vector_name="tangent_vec"):
        """Validate and broadcast to flat batches ``[k, n, m]`` (NumPy arrays).

        Base points must be finite with ``s_min > boundary_rtol * s_max`` (the
        threshold at which geodesics are stopped); vectors must be finite.
        """
        for name, value in ((vector_name, tangent_vec), ("base_point", base_point)):
            if is_complex(value):
                _complex_geodesics_refused("exp/log/dist/geodesic", name, value)
        tangent_vec = np.asarray(as_float_array(tangent_vec, vector_name), dtype=float)
        base_point = np.asarray(as_float_array(base_point, "base_point"), dtype=float)
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
        Differentiable in both arguments under the autograd backend (Jacobi
        fields by consistent differences, :mod:`geomstats_dln._autodiff`).

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
        if rtol is None and (isbox(tangent_vec) or isbox(base_point)):
            return exp_primitive(tangent_vec, base_point, self)
        return self._exp_numpy(tangent_vec, base_point, rtol)

    def _exp_numpy(
        self, tangent_vec: ArrayLike, base_point: ArrayLike, rtol: float | None = None
    ) -> ArrayLike:
        """:meth:`exp` on arrays (no autograd tape)."""
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
        for name, value in (
            ("initial_point", initial_point),
            ("end_point", end_point),
            ("initial_tangent_vec", initial_tangent_vec),
        ):
            if value is not None and is_complex(value):
                _complex_geodesics_refused("geodesic", name, value)
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

    def log(
        self, point: ArrayLike, base_point: ArrayLike, errors: str = "raise"
    ) -> ArrayLike:
        """Riemannian logarithm; see :meth:`_log_numpy`. Differentiable in both
        arguments under the autograd backend (implicit function theorem on
        ``exp_X(log_X Y) = Y``, :mod:`geomstats_dln._autodiff`)."""
        if isbox(point) or isbox(base_point):
            return log_primitive(point, base_point, self)
        return self._log_numpy(point, base_point, errors)

    def _log_numpy(
        self, point: ArrayLike, base_point: ArrayLike, errors: str = "raise"
    ) -> ArrayLike:
        r"""Riemannian logarithm (MATH §3): globalized Newton shooting on
        ``V -> exp_X(V)`` (:mod:`geomstats_dln._shooting`).

        Each problem is rescaled (``log_{cX}(cY) = c log_X(Y)``), started from
        the SVD path between ``X`` and ``Y`` (the exact geodesic when they share
        singular vectors), solved by damped Newton whose shots may leave the
        full-rank set without failing the solve, and, if that stalls, by
        continuation along the SVD path. It stops when
        ``|exp_X(V) - Y| <= log_tol |Y|``.

        Parameters
        ----------
        point : array-like, shape=[..., n, m]
        base_point : array-like, shape=[..., n, m]
        errors : {"raise", "nan"}
            ``"raise"``: a problem that fails raises :class:`GeodesicError`
            naming its batch index and the reason. ``"nan"``: its entry is NaN
            and the others are computed.

        Raises
        ------
        GeodesicError
            Square points with determinants of opposite signs (different
            components, joined by no curve of invertible matrices: raised at
            once), or shooting that does not converge.
        """
        errors = _check_errors(errors)
        targets, points, shape = self._prepare(point, base_point, "point")
        check_full_rank(targets, rtol=max(self.boundary_rtol, 0.0) or None)
        velocities = np.full(points.shape, np.nan)
        failures = {}
        split = self._different_components(targets, points)
        for index in range(points.shape[0]):
            if split[index]:
                failures[index] = (
                    "the points lie in different components of the invertible "
                    "matrices (det of opposite signs); no geodesic joins them"
                )
                continue
            if self.depth == 1:
                try:
                    self._check_segment(
                        points[index : index + 1], (targets - points)[index : index + 1]
                    )
                except GeodesicError as error:
                    failures[index] = str(error)
                    continue
                velocities[index] = targets[index] - points[index]
                continue
            try:
                key = targets[index].tobytes()
                pair = key + points[index].tobytes()
                solved = self._solved.get(pair)
                if solved is not None:
                    # The same problem again: the same answer (a warm-started
                    # solve agrees only to the shooting tolerance).
                    velocities[index] = solved
                    continue
                cached = self._warm_starts.get(key)
                base_key = points[index].tobytes()
                with single_threaded_blas():
                    velocities[index], jacobian = solve_log(
                        self,
                        targets[index],
                        points[index],
                        self.log_tol,
                        self.log_max_iter,
                        cached,
                        self._base_jacobians.get(base_key),
                    )
                self._warm_starts.put(
                    key, (points[index].copy(), velocities[index].copy(), jacobian)
                )
                if jacobian is not None:
                    self._base_jacobians.put(base_key, jacobian)
                self._solved.put(pair, velocities[index].copy())
            except LogFailure as failure:
                failures[index] = failure.reason
        if failures and errors == "raise":
            index, reason = next(iter(failures.items()))
            where = f" at batch index {_unravel(index, shape)}" if shape[:-2] else ""
            more = (
                f" ({len(failures)} of {points.shape[0]} problems failed)"
                if len(failures) > 1
                else ""
            )
            raise GeodesicError(f"log{where}: {reason}{more}")
        return gs.array(velocities.reshape(shape))

    @staticmethod
    def _different_components(targets, points):
        """Square pairs whose determinants have opposite signs, [k] bool."""
        if targets.shape[-1] != targets.shape[-2]:
            return np.zeros(points.shape[0], dtype=bool)
        return np.sign(np.linalg.det(targets)) != np.sign(np.linalg.det(points))

    def _momenta(self, vectors, points):
        """``P(0) = A_X^{-1}(V)`` for flat batches [k, n, m] (NumPy)."""
        if len(points) == 1:  # one matrix: the lean single-matrix path
            return lower_index(points[0], vectors[0], self.depth)[None]
        return lower_index(points, vectors, self.depth)

    def _exp_flat(
        self,
        vectors,
        points,
        rtol=None,
        max_evaluations=None,
        info=None,
        low_order=False,
    ):
        """``exp`` of flat NumPy batches [k, n, m], integrated as one system."""
        if self.depth == 1:
            self._check_segment(points, vectors)
            return points + vectors
        momenta = self._momenta(vectors, points)
        return self._integrate(
            points,
            momenta,
            np.array([1.0]),
            rtol,
            max_evaluations,
            info,
            RK45 if low_order else DOP853,
        )[-1]

    def squared_dist(
        self, point_a: ArrayLike, point_b: ArrayLike, errors: str = "raise"
    ) -> ArrayLike:
        """Squared geodesic distance; see :meth:`_squared_dist_numpy`.
        Differentiable under the autograd backend: ``d/dX dist^2(X, Y) =
        -2 A_X^{-1}(log_X Y)`` (Gauss lemma), the same in ``Y``."""
        if isbox(point_a) or isbox(point_b):
            return squared_dist_primitive(point_a, point_b, self)
        return self._squared_dist_numpy(point_a, point_b, errors)

    def _squared_dist_numpy(
        self, point_a: ArrayLike, point_b: ArrayLike, errors: str = "raise"
    ) -> ArrayLike:
        """``g^N_X(log_X Y, log_X Y)`` with ``log`` from shooting (MATH §3).

        Square points in different determinant components are at distance
        ``inf``: no curve of invertible matrices joins them.

        Parameters
        ----------
        point_a, point_b : array-like, shape=[..., n, m]
        errors : {"raise", "nan"}
            As in :meth:`log`; with ``"nan"`` a failed problem gives NaN.

        Returns
        -------
        squared_dist : array-like, shape=[...]
        """
        errors = _check_errors(errors)
        targets, points, shape = self._prepare(point_b, point_a, "point_b")
        # d(X, Y) = d(Y, X): a pair is solved the way round that has a warm start
        # (or an answer) at hand, e.g. point-to-center distances after a Frechet
        # mean that computed log_center(X_i) (k-means).
        swap = np.array(
            [
                self._prefers_reversed(targets[index], points[index])
                for index in range(len(points))
            ],
            dtype=bool,
        )
        if np.any(swap):
            targets, points = (
                np.where(swap[:, None, None], points, targets),
                np.where(swap[:, None, None], targets, points),
            )
        split = self._different_components(targets, points)
        result = np.full(points.shape[0], np.inf)
        keep = np.flatnonzero(~split)
        if len(keep):
            try:
                logs = np.asarray(self.log(targets[keep], points[keep], errors=errors))
            except GeodesicError as error:
                raise GeodesicError(
                    f"{error} (batch indices refer to the pairs in the same component)"
                    if len(keep) < len(points)
                    else str(error)
                ) from error
            solved = np.all(np.isfinite(logs), axis=(-2, -1))
            result[keep] = np.nan  # failed problems (errors="nan")
            if np.any(solved):
                result[keep[solved]] = np.asarray(
                    self.squared_norm(logs[solved], points[keep][solved])
                )
        return gs.array(result.reshape(shape[:-2]) if shape[:-2] else result[0])

    def _prefers_reversed(self, target, point) -> bool:
        """Whether ``log_target(point)`` has a warm start or answer, and
        ``log_point(target)`` none."""
        if self.depth == 1:
            return False
        forward, backward = target.tobytes(), point.tobytes()
        if forward + backward in self._solved or forward in self._warm_starts:
            return False
        return backward + forward in self._solved or backward in self._warm_starts

    def dist(
        self, point_a: ArrayLike, point_b: ArrayLike, errors: str = "raise"
    ) -> ArrayLike:
        """Geodesic distance of g^N, ``sqrt(squared_dist)`` (MATH §3); ``inf``
        between determinant components."""
        return gs.sqrt(self.squared_dist(point_a, point_b, errors=errors))

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
