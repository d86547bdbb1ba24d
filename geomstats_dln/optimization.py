r"""Riemannian optimization on ``(M_d, g^N)`` with Pymanopt.

:class:`DLNManifold` is a Pymanopt ``Manifold`` for the full-rank ``n x m``
matrices with the DLN metric ``g^N`` of any depth (MATH §3), so that Pymanopt's
solvers (``SteepestDescent``, ``ConjugateGradient``, ``TrustRegions``, ...) run
unchanged on a loss ``E(X)`` given by its value and Euclidean gradient:

- the tangent space at ``X`` is all of ``Matrices(n, m)``: the projection is the
  identity and so is the default vector transport (a valid vector transport in
  the sense of Absil-Mahony-Sepulchre §8.1, associated with every retraction);
  ``transport="parallel"`` uses parallel transport along the geodesic
  (``log`` by shooting, then the transport equation: far more expensive);
- Riemannian gradient: ``grad E = A_{N,X}(E'(X))`` (survey Thm 3);
- Riemannian Hessian through the Levi-Civita connection
  (:mod:`geomstats_dln.connection`):
  ``Hess E[xi] = nabla_xi grad E = dA_X[xi](E') + A_X(E''[xi]) +
  Gamma_X(xi, A_X(E'))``;
- retraction: by default the second-order retraction
  ``R_X(V) = X + V - 1/2 Gamma_X(V, V)``, which agrees with ``exp_X(V)`` up to
  ``O(|V|^3)`` at the cost of one SVD (Pymanopt's Hessian check needs a
  second-order retraction); ``"exp"`` (the geodesic integrator) and
  ``"euclidean"`` (``X + V``, first order) are the alternatives. None of
  these stays on the full-rank matrices for every step: a long trial step of
  a line search from a nearly singular point can land on (numerically)
  rank-deficient matrices, and the metric then raises; a rank-preserving
  ``X expm(X^+ W)`` variant was tried and overflowed on such steps;
- ``exp``, ``log`` and ``dist`` are those of :class:`~geomstats_dln.DLNMetric`.

``g^N`` is incomplete (geodesics reach rank-deficient matrices in finite time):
a retraction can land close to the boundary, where the metric degenerates; the
metric then raises a clear ``ValueError`` naming the smallest singular value.

Pymanopt is an optional dependency (extra ``[optim]``) and slow to import
(it loads its autodiff backends): it is imported only when :class:`DLNManifold`
or :func:`pymanopt_problem` is first used.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from geomstats_dln._spectral import _full_frame, _rotate, _unrotate
from geomstats_dln._validation import as_float_array
from geomstats_dln.connection import (
    christoffel_contraction,
    riemannian_hessian_in_frame,
)
from geomstats_dln.losses import (
    Loss,
    MatrixCompletionLoss,
    MatrixSensingLoss,
    QuadraticLoss,
    RegressionLoss,
)

if TYPE_CHECKING:  # pragma: no cover
    import pymanopt

__all__ = [  # noqa: F822 (the manifolds are built lazily by __getattr__)
    "BalancedDLNManifold",
    "DLNManifold",
    "balanced_pymanopt_problem",
    "euclidean_hessian_vector",
    "pymanopt_problem",
    "second_order_retraction",
]

RETRACTIONS = ("second_order", "exp", "euclidean")
TRANSPORTS = ("identity", "parallel")


def second_order_retraction(
    point: ArrayLike, tangent_vec: ArrayLike, depth: int | float
) -> np.ndarray:
    r"""``R_X(V) = X + V - 1/2 Gamma_X(V, V)``: the geodesic to second order.

    The geodesic ``gamma(t) = exp_X(tV)`` has ``gamma'' (0) = -Gamma_X(V, V)``
    (:mod:`geomstats_dln.connection`), so ``R_X(tV) - exp_X(tV) = O(t^3)``: a
    second-order retraction (Absil-Mahony-Sepulchre Prop. 5.5.5) for one SVD.

    Parameters
    ----------
    point : array-like, shape=[..., n, m]
    tangent_vec : array-like, shape=[..., n, m]
    depth : int or math.inf

    Returns
    -------
    retracted : ndarray, shape=[..., n, m]

    Raises
    ------
    TypeError
        For complex input (the connection is real only).
    """
    point = np.asarray(as_float_array(point, "point", "second_order_retraction"))
    tangent_vec = np.asarray(
        as_float_array(tangent_vec, "tangent_vec", "second_order_retraction")
    )
    return (
        point
        + tangent_vec
        - 0.5 * christoffel_contraction(point, tangent_vec, tangent_vec, depth)
    )


def euclidean_hessian_vector(
    loss: Loss, point: ArrayLike, tangent_vec: ArrayLike
) -> np.ndarray:
    r"""Euclidean Hessian-vector product ``E''(X)[V]`` of a loss.

    Closed forms for the quadratic losses of :mod:`geomstats_dln.losses` (the
    linear part of their affine gradients): ``V`` (quadratic), ``V S S^T / s``
    (regression, inputs ``S``), ``mask * V`` (completion),
    ``sum_l <A_l, V> A_l`` (sensing). Any other loss: the symmetric difference
    ``(E'(X + tV) - E'(X - tV)) / (2t)`` with ``t |V| = 1e-4 max(|X|, 1)``
    (second-order accurate).

    Parameters
    ----------
    loss : Loss
    point : array-like, shape=[n, m]
    tangent_vec : array-like, shape=[n, m]

    Returns
    -------
    hessian_vec : ndarray, shape=[n, m]

    Raises
    ------
    TypeError
        For complex ``point`` or ``tangent_vec`` (the losses are real).
    """
    vec = np.asarray(
        as_float_array(tangent_vec, "tangent_vec", "euclidean_hessian_vector")
    )
    point = np.asarray(as_float_array(point, "point", "euclidean_hessian_vector"))
    if isinstance(loss, QuadraticLoss):
        return vec
    if isinstance(loss, RegressionLoss):
        inputs = np.asarray(loss.inputs)
        return (vec @ inputs) @ inputs.T / loss.n_samples
    if isinstance(loss, MatrixCompletionLoss):
        return np.asarray(loss.mask, dtype=float) * vec
    if isinstance(loss, MatrixSensingLoss):
        measurements = np.asarray(loss.measurements)
        return np.einsum(
            "l,lij->ij", np.einsum("lij,ij->l", measurements, vec), measurements
        )
    norm = float(np.linalg.norm(vec))
    if norm == 0.0:
        return np.zeros_like(vec)
    step = 1e-4 * max(float(np.linalg.norm(point)), 1.0) / norm
    return (
        np.asarray(loss.gradient(point + step * vec))
        - np.asarray(loss.gradient(point - step * vec))
    ) / (2 * step)


@functools.cache
def _pymanopt_manifold_base():
    try:
        from pymanopt.manifolds.manifold import Manifold
    except ImportError as error:  # pragma: no cover - exercised in a subprocess
        raise ImportError(
            "geomstats_dln.optimization needs pymanopt (pip install "
            "'geomstats-dln[optim]' or pip install pymanopt)"
        ) from error
    return Manifold


@functools.cache
def _manifold_class():
    """Build :class:`DLNManifold` on first use (imports pymanopt)."""
    base = _pymanopt_manifold_base()

    class DLNManifold(base):
        r"""Pymanopt manifold of full-rank ``n x m`` matrices with ``g^N``.

        See the module docstring for the choices made (identity projection and
        default transport, second-order retraction, Hessian through the
        connection). Points and tangent vectors are ``n x m`` NumPy arrays.

        Parameters
        ----------
        n : int
            Rows.
        m : int, optional
            Columns; defaults to ``n``.
        depth : int or math.inf
            Depth ``N`` of the metric.
        retraction : {"second_order", "exp", "euclidean"}
            ``X + V - Gamma(V, V)/2``, the exponential map, or ``X + V``.
        transport : {"identity", "parallel"}
            Vector transport between tangent spaces.
        typical_dist : float, optional
            Scale used by ``TrustRegions`` for its trust-region radii; defaults
            to ``sqrt(n m)``.
        point_scale : float
            Entry scale of :meth:`random_point` (Gaussian matrices).
        """

        def __init__(
            self,
            n: int,
            m: int | None = None,
            depth: int | float = 2,
            *,
            retraction: str = "second_order",
            transport: str = "identity",
            typical_dist: float | None = None,
            point_scale: float = 1.0,
        ):
            from geomstats_dln.end_to_end import EndToEndMatrices

            if retraction not in RETRACTIONS:
                raise ValueError(
                    f"retraction must be one of {RETRACTIONS}, got {retraction!r}"
                )
            if transport not in TRANSPORTS:
                raise ValueError(
                    f"transport must be one of {TRANSPORTS}, got {transport!r}"
                )
            self.space = EndToEndMatrices(n, m, depth=depth)
            self.metric = self.space.metric
            self.depth = self.metric.depth
            self.shape = (self.space.n, self.space.m)
            self.retraction_name = retraction
            self.transport_name = transport
            self.point_scale = float(point_scale)
            self._cached_key, self._cached_frame = None, None
            dim = self.space.n * self.space.m
            self._typical_dist = (
                math.sqrt(dim) if typical_dist is None else float(typical_dist)
            )
            super().__init__(
                f"DLN end-to-end matrices {self.shape[0]}x{self.shape[1]} with "
                f"g^{self.depth} ({retraction} retraction, {transport} transport)",
                dim,
            )

        # -- geometry of the tangent spaces -----------------------------------
        @property
        def typical_dist(self) -> float:
            return self._typical_dist

        def _frame(self, point):
            """SVD frame of ``point``, cached for the last point seen.

            Solvers evaluate many inner products and Hessian-vector products at
            one point (the trust-region inner iteration): one SVD serves them.
            """
            point = np.asarray(as_float_array(point, "point", "DLNManifold"))
            if point.shape != self.shape:
                raise ValueError(
                    f"point must have shape {self.shape}, got {point.shape}"
                )
            key = point.tobytes()
            if self._cached_key != key:
                # depth 1 only needs the rank check and a rotation: any frame
                self._cached_frame = _full_frame(
                    point, self.depth if self.depth != 1 else 2
                )
                self._cached_key = key
            return self._cached_frame

        def _lowered(self, point, vector):
            """``A_X^{-1}(V)`` rotated into the frame of ``X``, and the frame."""
            vector = np.asarray(as_float_array(vector, "tangent vector", "DLNManifold"))
            if vector.shape != self.shape:
                raise ValueError(
                    f"tangent vector must have shape {self.shape}, got {vector.shape}"
                )
            if not np.all(np.isfinite(vector)):
                raise ValueError("tangent vector has non-finite entries")
            frame = self._frame(point)
            rotated = _rotate(frame, vector)
            if self.depth == 1:
                return rotated, rotated, frame
            return rotated / frame.coefficients, rotated, frame

        def inner_product(self, point, tangent_vector_a, tangent_vector_b) -> float:
            """``g^N_X(V, W) = <A_X^{-1}(V), W>`` (in the cached SVD frame)."""
            lowered, _, frame = self._lowered(point, tangent_vector_a)
            return float(np.sum(lowered * _rotate(frame, tangent_vector_b)))

        def norm(self, point, tangent_vector) -> float:
            return math.sqrt(
                max(self.inner_product(point, tangent_vector, tangent_vector), 0.0)
            )

        def projection(self, point, vector):
            """Identity: the tangent space is all of ``Matrices(n, m)``."""
            return np.array(as_float_array(vector, "vector", "DLNManifold.projection"))

        to_tangent_space = projection

        def embedding(self, point, tangent_vector):
            return as_float_array(
                tangent_vector, "tangent_vector", "DLNManifold.embedding"
            )

        def zero_vector(self, point):
            return np.zeros(self.shape)

        # -- first and second order -------------------------------------------
        def euclidean_to_riemannian_gradient(self, point, euclidean_gradient):
            """``A_{N,X}(E'(X))`` (survey Thm 3)."""
            euclidean_gradient = as_float_array(
                euclidean_gradient,
                "euclidean_gradient",
                "DLNManifold.euclidean_to_riemannian_gradient",
            )
            if self.depth == 1:
                return np.array(euclidean_gradient)
            frame = self._frame(point)
            rotated = _rotate(frame, np.asarray(euclidean_gradient))
            return _unrotate(frame, frame.coefficients * rotated)

        def euclidean_to_riemannian_hessian(
            self, point, euclidean_gradient, euclidean_hessian, tangent_vector
        ):
            """``dA_X[xi](E') + A_X(E''[xi]) + Gamma_X(xi, A_X(E'))``."""
            where = "DLNManifold.euclidean_to_riemannian_hessian"
            euclidean_gradient, euclidean_hessian, tangent_vector = (
                np.asarray(as_float_array(value, name, where))
                for value, name in (
                    (euclidean_gradient, "euclidean_gradient"),
                    (euclidean_hessian, "euclidean_hessian"),
                    (tangent_vector, "tangent_vector"),
                )
            )
            if self.depth == 1:
                return np.array(euclidean_hessian)
            return riemannian_hessian_in_frame(
                self._frame(point),
                euclidean_gradient,
                euclidean_hessian,
                tangent_vector,
            )

        # -- maps between points ----------------------------------------------
        def retraction(self, point, tangent_vector):
            point = as_float_array(point, "point", "DLNManifold.retraction")
            tangent_vector = as_float_array(
                tangent_vector, "tangent_vector", "DLNManifold.retraction"
            )
            if self.retraction_name == "second_order":
                return second_order_retraction(point, tangent_vector, self.depth)
            if self.retraction_name == "exp":
                return self.exp(point, tangent_vector)
            return np.asarray(point) + tangent_vector

        def exp(self, point, tangent_vector):
            """The g^N geodesic at time 1 (DOP853 integration)."""
            return np.asarray(self.metric.exp(tangent_vector, point))

        def log(self, point_a, point_b):
            """``log_{point_a}(point_b)`` by shooting."""
            return np.asarray(self.metric.log(point_b, point_a))

        def dist(self, point_a, point_b) -> float:
            return float(self.metric.dist(point_a, point_b))

        def transport(self, point_a, point_b, tangent_vector_a):
            if self.transport_name == "identity":
                return np.array(
                    as_float_array(
                        tangent_vector_a, "tangent_vector_a", "DLNManifold.transport"
                    )
                )
            return np.asarray(
                self.metric.parallel_transport(
                    tangent_vector_a, point_a, end_point=point_b
                )
            )

        # -- sampling ----------------------------------------------------------
        def random_point(self):
            """Gaussian matrix with entries of standard deviation ``point_scale``."""
            return np.asarray(self.space.random_point(bound=self.point_scale))

        def random_tangent_vector(self, point):
            """Gaussian direction normalized to unit ``g^N`` norm."""
            vector = np.random.normal(size=self.shape)
            return vector / self.norm(point, vector)

    DLNManifold.__module__ = __name__
    DLNManifold.__qualname__ = "DLNManifold"
    return DLNManifold


@functools.cache
def _balanced_manifold_class():
    """Build :class:`BalancedDLNManifold` on first use (imports pymanopt)."""
    base = _pymanopt_manifold_base()

    class BalancedDLNManifold(base):
        r"""Pymanopt manifold of balanced networks with the Frobenius metric.

        Points are layer stacks ``W`` of shape ``(N, d, d)`` with
        ``W_k W_k^T = W_{k+1}^T W_{k+1}`` and full-rank ``phi(W) = W_N ... W_1``
        (:class:`geomstats_dln.BalancedManifold`, MATH §4), an embedded
        submanifold of the parameter space with the induced metric. First-order
        solvers only (``SteepestDescent``, ``ConjugateGradient``): no Hessian.

        - projection: the orthogonal projection onto ``T_W M``
          (:func:`geomstats_dln.to_tangent`), also the vector transport;
        - gradient of ``L = E o phi``: ``P_W(lifted gradient)``; at a balanced
          point the lifted gradient is already tangent and horizontal, and
          ``dphi_W`` maps it to ``A_{N,X}(E'(X))``, the ``g^N`` gradient (tested);
        - retraction ``"projection"`` (default): the balanced point over
          ``phi(W + V)`` in the gauge closest to ``W + V``
          (:meth:`geomstats_dln.BalancedManifold.projection`; first order);
          ``"exp"``: RATTLE geodesics (:func:`geomstats_dln.balanced_exp`).

        Parameters
        ----------
        dim : int
            Width ``d``.
        depth : int
            Depth ``N``.
        retraction : {"projection", "exp"}
        """

        def __init__(self, dim: int, depth: int, *, retraction: str = "projection"):
            from geomstats_dln.balanced import BalancedManifold

            if retraction not in ("projection", "exp"):
                raise ValueError(
                    f"retraction must be 'projection' or 'exp', got {retraction!r}"
                )
            self.space = BalancedManifold(dim, depth)
            self.depth, self.width = self.space.depth, self.space.width
            self.shape = (self.depth, self.width, self.width)
            self.retraction_name = retraction
            super().__init__(
                f"balanced depth-{self.depth} networks of width {self.width}",
                int(self.space.dim),
            )

        @property
        def typical_dist(self) -> float:
            return math.sqrt(self.dim)

        def _vector(self, vector, name="tangent vector"):
            vector = np.asarray(as_float_array(vector, name, "BalancedDLNManifold"))
            if vector.shape != self.shape:
                raise ValueError(
                    f"{name} must have shape {self.shape}, got {vector.shape}"
                )
            if not np.all(np.isfinite(vector)):
                raise ValueError(f"{name} has non-finite entries")
            return vector

        def inner_product(self, point, tangent_vector_a, tangent_vector_b) -> float:
            """Frobenius inner product of layer stacks."""
            return float(
                np.sum(self._vector(tangent_vector_a) * self._vector(tangent_vector_b))
            )

        def norm(self, point, tangent_vector) -> float:
            return float(np.linalg.norm(self._vector(tangent_vector)))

        def projection(self, point, vector):
            """Orthogonal projection onto ``T_W M``."""
            from geomstats_dln.balanced import to_tangent

            return np.asarray(
                to_tangent(self._vector(vector, "vector"), self._vector(point, "point"))
            )

        to_tangent_space = projection

        def euclidean_to_riemannian_gradient(self, point, euclidean_gradient):
            return self.projection(point, euclidean_gradient)

        def zero_vector(self, point):
            return np.zeros(self.shape)

        def retraction(self, point, tangent_vector):
            if self.retraction_name == "exp":
                return self.exp(point, tangent_vector)
            moved = self._vector(point, "point") + self._vector(tangent_vector)
            return np.asarray(self.space.projection(moved))

        def exp(self, point, tangent_vector):
            from geomstats_dln.balanced import balanced_exp

            return np.asarray(
                balanced_exp(self._vector(tangent_vector), self._vector(point, "point"))
            )

        def transport(self, point_a, point_b, tangent_vector_a):
            """Projection onto the tangent space at ``point_b``."""
            return self.projection(point_b, tangent_vector_a)

        def random_point(self):
            return np.asarray(self.space.random_point())

        def random_tangent_vector(self, point):
            vector = self.projection(point, np.random.normal(size=self.shape))
            return vector / np.linalg.norm(vector)

    BalancedDLNManifold.__module__ = __name__
    BalancedDLNManifold.__qualname__ = "BalancedDLNManifold"
    return BalancedDLNManifold


def balanced_pymanopt_problem(manifold: Any, loss: Loss) -> pymanopt.Problem:
    """A ``pymanopt.Problem`` for ``L(W) = E(phi(W))`` on a balanced manifold.

    Cost ``E(phi(W))`` and Euclidean gradient
    :func:`geomstats_dln.lifted_gradient` (first-order solvers only).

    Parameters
    ----------
    manifold : BalancedDLNManifold
    loss : Loss
        Of shape ``(d, d)``.

    Returns
    -------
    problem : pymanopt.Problem
    """
    import pymanopt

    from geomstats_dln.parameters import end_to_end, lifted_gradient

    if not isinstance(loss, Loss):
        raise TypeError(f"loss must be a geomstats_dln Loss, got {type(loss).__name__}")
    if tuple(loss.shape) != (manifold.width, manifold.width):
        raise ValueError(
            f"loss of shape {loss.shape} does not match the width {manifold.width}"
        )

    @pymanopt.function.numpy(manifold)
    def cost(point):
        return float(loss.value(end_to_end(point)))

    @pymanopt.function.numpy(manifold)
    def euclidean_gradient(point):
        return np.asarray(lifted_gradient(loss.gradient(end_to_end(point)), point))

    return pymanopt.Problem(manifold, cost, euclidean_gradient=euclidean_gradient)


def pymanopt_problem(
    manifold: Any,
    loss: Loss,
    hessian: bool = True,
    cost_callback: Any = None,
) -> pymanopt.Problem:
    """A ``pymanopt.Problem`` for a :class:`~geomstats_dln.losses.Loss`.

    Cost ``loss.value``, Euclidean gradient ``loss.gradient`` and (with
    ``hessian``) the Euclidean Hessian-vector product
    :func:`euclidean_hessian_vector`; the manifold converts them (Riemannian
    gradient ``A_X(E')``, Hessian through the connection).

    Parameters
    ----------
    manifold : DLNManifold
    loss : Loss
        Of shape ``manifold.shape``.
    hessian : bool
        Provide the Hessian (needed by ``TrustRegions``).
    cost_callback : callable, optional
        Called as ``cost_callback(point, value)`` after every cost evaluation
        (``TrustRegions`` keeps no per-iteration log; this records one).

    Returns
    -------
    problem : pymanopt.Problem
    """
    import pymanopt

    if not isinstance(loss, Loss):
        raise TypeError(f"loss must be a geomstats_dln Loss, got {type(loss).__name__}")
    if tuple(loss.shape) != tuple(manifold.shape):
        raise ValueError(
            f"loss of shape {loss.shape} does not match the manifold's {manifold.shape}"
        )

    @pymanopt.function.numpy(manifold)
    def cost(point):
        value = float(loss.value(point))
        if cost_callback is not None:
            cost_callback(point, value)
        return value

    @pymanopt.function.numpy(manifold)
    def euclidean_gradient(point):
        return np.asarray(loss.gradient(point))

    kwargs = {}
    if hessian:

        @pymanopt.function.numpy(manifold)
        def euclidean_hessian(point, tangent_vector):
            return euclidean_hessian_vector(loss, point, tangent_vector)

        kwargs["euclidean_hessian"] = euclidean_hessian
    return pymanopt.Problem(
        manifold, cost, euclidean_gradient=euclidean_gradient, **kwargs
    )


def __getattr__(name: str):
    # DLNManifold subclasses pymanopt's Manifold: built on first access so that
    # importing this module does not import pymanopt.
    if name == "DLNManifold":
        return _manifold_class()
    if name == "BalancedDLNManifold":
        return _balanced_manifold_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
