r"""Balanced networks of rank r and the Riemannian submersion onto ``(M_r, g^N)``.

The balanced variety ``{W : G_k(W) = 0}`` (MATH §2) is foliated by rank: on it
every layer has the singular values of ``X^{1/N}``, so all layers share the rank
``r`` of ``X = phi(W)``. The leaf of rank ``r`` is a manifold (survey §5.4),
parametrized by ``X = U_r S V_r^T``, ``Lam = S^{1/N}`` and frames ``Q_k`` in the
Stiefel manifold ``St(d, r)`` (d x r, orthonormal columns):

.. math::
    W_N = U_r \Lambda Q_{N-1}^T, \quad W_k = Q_k \Lambda Q_{k-1}^T, \quad
    W_1 = Q_1 \Lambda V_r^T,

so that, with ``dim St(d, r) = d r - r (r + 1) / 2``,

.. math::
    \dim M^{bal}_r = r (2 d - r) + (N - 1) \left(d r - \frac{r (r + 1)}{2}\right).

The gauge group ``O(d)^{N-1}`` acts on it transitively on the fibers of ``phi``
(the stabilizer of a point is ``O(d - r)^{N-1}``), so the vertical space is the
span of the orbit vectors ``w_a`` (``a_k`` skew, MATH §4), of dimension
``(N - 1) dim St(d, r)``. The horizontal lift of ``Z in T_X M_r`` is

.. math::
    h_k = \mathrm{above}_k^T \, Y \, \mathrm{below}_k^T, \qquad
    Y = A_{N,X}^{-1}(Z) \in T_X M_r,

the gradient of ``W -> <Y, phi(W)>``. It is orthogonal to the orbit (that function
is gauge invariant), tangent to the leaf (its flow keeps ``G = 0`` by Thm 1a and
hence the rank), and ``dphi(h) = sum_k above_k above_k^T Y below_k^T below_k =
A_{N,X}(Y) = Z`` on the balanced variety; hence the submersion identity

.. math::
    |h|^2 = \langle Y, d\phi(h) \rangle = \langle A^{-1}_{N,X}(Z), Z \rangle
          = g^N_X(Z, Z)

at rank ``r``, the rank-r form of survey Thm 13 (tested against a dense Jacobian
of the parametrization). Horizontal geodesics (the lifts of ``(M_r, g^N)``
geodesics, :meth:`LowRankBalancedManifold.horizontal_geodesic`) are therefore
geodesics of the balanced manifold of rank ``r`` (O'Neill).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.integrate import solve_ivp

import geomstats.backend as gs
from geomstats.geometry.manifold import Manifold
from geomstats.geometry.riemannian_metric import RiemannianMetric

from geomstats_dln._spectral import single_threaded_blas
from geomstats_dln._validation import as_float_array
from geomstats_dln.end_to_end import GeodesicError
from geomstats_dln.low_rank import (
    FixedRankEndToEndMatrices,
    _numpy_frame,
    apply_rank_operator,
    low_rank_frame,
    rank_hamiltonian_gradient,
    tangent_components,
    tangent_matrix,
)
from geomstats_dln.parameters import (
    differential,
    end_to_end,
    lifted_gradient,
    moments,
)

__all__ = [
    "LowRankBalancedManifold",
    "LowRankBalancedMetric",
    "low_rank_center",
]


def _as_single_parameters(parameters, depth, width):
    parameters = as_float_array(parameters, "parameters", "LowRankBalancedManifold")
    if parameters.shape != (depth, width, width):
        raise ValueError(
            f"parameters must have shape ({depth}, {width}, {width}), "
            f"got {parameters.shape}"
        )
    if not np.all(np.isfinite(parameters)):
        raise ValueError("parameters have non-finite entries")
    return parameters


def low_rank_center(end_to_end_matrix, depth: int, rank: int) -> np.ndarray:
    """The balanced lift of a rank-r matrix with all frames ``Q_k = E = [I_r; 0]``.

    ``W_N = U_r Lam E^T``, ``W_k = E Lam E^T``, ``W_1 = E Lam V_r^T`` with
    ``Lam = S_r^{1/N}``: balanced (``W_k W_k^T = E Lam^2 E^T = W_{k+1}^T W_{k+1}``),
    of rank ``r``, and ``phi(W) = U_r S_r V_r^T``.

    Parameters
    ----------
    end_to_end_matrix : array-like, shape=[..., d, d]
        A square matrix of rank ``r`` (its rank-r truncation is lifted).
    depth, rank : int

    Returns
    -------
    parameters : ndarray, shape=[..., N, d, d]
    """
    matrix = as_float_array(end_to_end_matrix, "end_to_end_matrix", "low_rank_center")
    if matrix.ndim < 2 or matrix.shape[-1] != matrix.shape[-2]:
        raise ValueError(
            f"balanced networks of equal widths need square matrices, got "
            f"{matrix.shape}"
        )
    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 1:
        raise ValueError(f"depth must be a positive integer, got {depth!r}")
    dim = matrix.shape[-1]
    frame = low_rank_frame(matrix, rank, 2)
    left, s, right = (np.asarray(x) for x in frame[:3])
    root = s ** (1.0 / depth)
    embed = np.eye(dim)[:, :rank]
    middle = embed @ (root[..., :, None] * embed.T)  # E Lam E^T
    if depth == 1:
        return (left * s[..., None, :]) @ np.swapaxes(right, -1, -2)[..., None, :, :]
    layers = [np.broadcast_to(middle, matrix.shape)] * depth
    layers[0] = embed @ (root[..., :, None] * np.swapaxes(right, -1, -2))
    layers[-1] = (left * root[..., None, :]) @ embed.T
    return np.stack(layers, axis=-3)


class LowRankBalancedMetric(RiemannianMetric):
    """Frobenius metric induced on the balanced manifold of rank ``r``.

    Inner products are those of parameter space, ``sum_k <V_k, W_k>``. ``exp``
    is the horizontal geodesic (:meth:`LowRankBalancedManifold.horizontal_geodesic`)
    for horizontal tangent vectors; geodesics in other directions, ``log``,
    distances, curvature and parallel transport are not implemented
    (``NotImplementedError``, saying why). (Not a subclass of geomstats'
    ``EuclideanMetric``: its straight-line geodesics, zero Christoffel symbols,
    identity transport and infinite injectivity radius are wrong on this curved
    submanifold.)

    Why: at rank ``r`` the package provides the dimension, the tangent spaces,
    the horizontal lift and the Riemannian submersion ``phi`` onto
    ``(M_r, g^N)`` (``|lift Z|^2 = g^N(Z, Z)``), not the geodesics of the total
    space. Horizontal geodesics come for free from the submersion (O'Neill: they
    are the horizontal lifts of ``FixedRankDLNMetric`` geodesics); a geodesic
    with a vertical part would need the geodesic equation of the balanced
    manifold inside parameter space (its second fundamental form), and ``log``
    needs geodesics in every direction: two points of one gauge orbit (the same
    end-to-end matrix) are in general joined by no horizontal geodesic.
    """

    _SCOPE = (
        "at rank r the package provides the dimension, tangent spaces, horizontal "
        "lift and the Riemannian submersion onto (M_r, g^N), not the geodesics of "
        "the total space: horizontal geodesics are the lifts of FixedRankDLNMetric "
        "geodesics (O'Neill), while other directions would need the geodesic "
        "equation of the balanced manifold in parameter space (its second "
        "fundamental form), which is not derived"
    )

    def inner_product(self, tangent_vec_a, tangent_vec_b, base_point=None):
        """``sum_k tr(A_k^T B_k)``; shape ``[...]``. Real input only
        (``TypeError`` for complex: the manifold is defined over R)."""
        where = "LowRankBalancedMetric.inner_product"
        tangent_vec_a = as_float_array(tangent_vec_a, "tangent_vec_a", where)
        tangent_vec_b = as_float_array(tangent_vec_b, "tangent_vec_b", where)
        return gs.sum(tangent_vec_a * tangent_vec_b, axis=(-3, -2, -1))

    def exp(self, tangent_vec, base_point):
        """Geodesic end point for a horizontal ``tangent_vec`` [..., N, d, d].

        A horizontal geodesic of the total space lifts the ``(M_r, g^N)``
        geodesic of ``dphi(tangent_vec)`` (the submersion is Riemannian).
        """
        space = self._space
        vector = _as_parameters(tangent_vec, space.depth, space.width, "tangent_vec")
        point = _as_parameters(base_point, space.depth, space.width, "base_point")
        vector, point = np.broadcast_arrays(vector, point)
        vertical = np.asarray(space.vertical_projection(vector, point))
        size = np.maximum(1.0, _norm(vector))
        if np.any(_norm(vertical) > 1e-8 * size):
            raise NotImplementedError(
                "LowRankBalancedMetric.exp takes horizontal tangent vectors only; "
                "this one has a vertical part of norm "
                f"{float(np.max(_norm(vertical))):.3g}. Why: {self._SCOPE}. Use "
                "LowRankBalancedManifold.horizontal_projection for the horizontal "
                "part, or FixedRankDLNMetric.exp for the end-to-end matrix"
            )
        downstairs = np.asarray(differential(vector, point))

        def end(matrix, layers):
            return space.horizontal_geodesic(matrix, layers, [0.0, 1.0])[-1]

        return gs.array(_per_point(end, (downstairs, 2), (point, 3)))

    def log(self, point, base_point):
        """Not implemented: ``NotImplementedError`` saying why (``TypeError``
        first for complex input)."""
        as_float_array(point, "point", "LowRankBalancedMetric.log")
        as_float_array(base_point, "base_point", "LowRankBalancedMetric.log")
        raise NotImplementedError(
            "LowRankBalancedMetric.log (and dist, geodesic by end point) is not "
            f"implemented: it needs geodesics in every direction, and {self._SCOPE}; "
            "two points of one gauge orbit are in general joined by no horizontal "
            "geodesic. For the end-to-end matrices use FixedRankDLNMetric.log"
        )


def _as_parameters(parameters, depth, width, name="parameters"):
    parameters = as_float_array(parameters, name, "LowRankBalancedManifold")
    if parameters.shape[-3:] != (depth, width, width):
        raise ValueError(
            f"{name} must have shape [..., {depth}, {width}, {width}], "
            f"got {parameters.shape}"
        )
    if not np.all(np.isfinite(parameters)):
        raise ValueError(f"{name} has non-finite entries")
    return parameters


def _norm(parameters):
    """Frobenius norm of ``[..., N, d, d]`` arrays."""
    return np.sqrt(np.sum(np.asarray(parameters) ** 2, axis=(-3, -2, -1)))


def _per_point(function, *arguments):
    """``function`` over the broadcast batch of ``(array, point_ndim)`` pairs."""
    arrays = [np.asarray(array) for array, _ in arguments]
    batch = np.broadcast_shapes(
        *(
            a.shape[: a.ndim - ndim]
            for a, (_, ndim) in zip(arrays, arguments, strict=True)
        )
    )
    flat = [
        np.broadcast_to(a, batch + a.shape[a.ndim - ndim :]).reshape(
            (-1,) + a.shape[a.ndim - ndim :]
        )
        for a, (_, ndim) in zip(arrays, arguments, strict=True)
    ]
    results = [function(*items) for items in zip(*flat, strict=True)]
    results = np.asarray(results)
    return results.reshape(batch + results.shape[1:])


class LowRankBalancedManifold(Manifold):
    r"""The balanced manifold of rank ``r``: ``G(W) = 0``, ``rank phi(W) = r``.

    Points ``W`` of shape ``[N, d, d]`` (``W[k-1] = W_k``); dimension
    ``r (2d - r) + (N - 1)(d r - r (r + 1)/2)`` (module docstring). Its image
    under ``phi`` is :class:`~geomstats_dln.low_rank.FixedRankEndToEndMatrices`
    ``(d, d, r, N)``, available as :attr:`base`, and ``phi`` is a Riemannian
    submersion onto it. The linear-algebra methods take batches ``[..., N, d, d]``
    point by point and use dense bases of size ``N d^2``: meant for small widths;
    ``vertical_basis``, ``tangent_basis`` and :meth:`horizontal_geodesic` take
    single points.

    Parameters
    ----------
    width : int
        ``d``.
    depth : int
        ``N >= 2``.
    rank : int
        ``1 <= r <= d``.
    """

    def __init__(self, width: int, depth: int, rank: int, equip: bool = True):
        for name, value in (("width", width), ("depth", depth), ("rank", rank)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"{name} must be an integer, got {value!r}")
        if depth < 2:
            raise ValueError(f"depth must be at least 2, got {depth}")
        if not 1 <= rank <= width:
            raise ValueError(f"rank must lie in [1, width = {width}], got {rank}")
        self.width, self.depth, self.rank = int(width), int(depth), int(rank)
        self.base = FixedRankEndToEndMatrices(width, width, rank=rank, depth=depth)
        stiefel = width * rank - rank * (rank + 1) // 2
        super().__init__(
            dim=self.base.dim + (depth - 1) * stiefel,
            shape=(depth, width, width),
            intrinsic=False,
            equip=equip,
        )

    @staticmethod
    def default_metric():
        return LowRankBalancedMetric

    # ------------------------------------------------------------------ points
    def center(self, end_to_end_matrix) -> np.ndarray:
        """:func:`low_rank_center` of a rank-r matrix."""
        return low_rank_center(end_to_end_matrix, self.depth, self.rank)

    def belongs(self, point: ArrayLike, atol: float = 1e-8) -> ArrayLike:
        """``|G| <= atol |W|^2`` and ``phi(W)`` of rank ``r`` (relative ``atol``).

        Returns
        -------
        belongs : array-like, shape=[...]
        """
        point = as_float_array(point, "point", "LowRankBalancedManifold.belongs")
        if point.ndim < 3 or point.shape[-3:] != self.shape:
            return gs.zeros(point.shape[:-3], dtype=bool) if point.ndim > 3 else False
        return gs.array(_per_point(lambda w: self._belongs_single(w, atol), (point, 3)))

    def _belongs_single(self, point, atol):
        if not np.all(np.isfinite(point)):
            return False
        gram = np.asarray(moments(point))
        if np.sqrt(np.sum(gram**2)) > atol * np.sum(point**2):
            return False
        return bool(self.base.belongs(np.asarray(end_to_end(point)), atol=atol))

    def random_point(self, n_samples: int = 1, bound: float = 1.0) -> np.ndarray:
        """Lift of a random rank-r matrix with Haar-random gauges ``O(d)^{N-1}``."""
        from geomstats_dln.balanced import gauge_action, random_gauges

        points = []
        for _ in range(n_samples):
            lift = self.center(np.asarray(self.base.random_point(bound=bound)))
            gauges = np.asarray(random_gauges(self.depth, self.width))
            points.append(np.asarray(gauge_action(gauges, lift)))
        return points[0] if n_samples == 1 else np.stack(points)

    @staticmethod
    def _real(method, value, name):
        """``value`` as a real array; complex input is a ``TypeError`` naming
        ``LowRankBalancedManifold.<method>`` (the rank-r balanced manifold is
        real-only), never a silent cast."""
        return as_float_array(value, name, f"LowRankBalancedManifold.{method}")

    def _check(self, point):
        point = _as_single_parameters(point, self.depth, self.width)
        if not self._belongs_single(point, atol=1e-6):
            raise ValueError(
                "point is not on the balanced manifold of rank "
                f"{self.rank} (|G| or the rank of phi(W) is off)"
            )
        return point

    def random_tangent_vec(self, base_point, n_samples: int = 1) -> np.ndarray:
        """Gaussian arrays ``[N, d, d]`` projected by :meth:`to_tangent` onto
        ``T_W`` (geomstats' rule: not a law tied to the metric).

        ``base_point`` [N, d, d] or a batch of ``n_samples`` points; real only
        (``TypeError`` for complex input).
        """
        base_point = self._real("random_tangent_vec", base_point, "base_point")
        return super().random_tangent_vec(base_point, n_samples)

    # ---------------------------------------------------- vertical / horizontal
    def vertical_basis(self, point) -> np.ndarray:
        """Orthonormal basis of the vertical space ``{w_a : a_k skew}``.

        ``(w_a)_k = a_k W_k - W_k a_{k-1}`` (``a_0 = a_N = 0``) over a basis of
        ``so(d)^{N-1}``, orthonormalized by an SVD keeping the
        ``(N - 1)(d r - r (r + 1)/2)`` nonzero directions.

        Returns
        -------
        basis : ndarray, shape=[(N-1) dim St(d, r), N, d, d]
        """
        point = self._check(self._real("vertical_basis", point, "point"))
        d, depth = self.width, self.depth
        rows, cols = np.triu_indices(d, 1)
        generators = []
        for layer in range(1, depth):  # a_layer acts on W_{layer+1} and W_layer
            for i, j in zip(rows, cols, strict=True):
                skew = np.zeros((d, d))
                skew[i, j], skew[j, i] = 1.0, -1.0
                vector = np.zeros(point.shape)
                vector[layer - 1] = skew @ point[layer - 1]  # a_k W_k, k = layer
                vector[layer] = -point[layer] @ skew  # -W_{k+1} a_k
                generators.append(vector.ravel())
        matrix = np.stack(generators, axis=1)
        left, s, _ = np.linalg.svd(matrix, full_matrices=False)
        count = (depth - 1) * (d * self.rank - self.rank * (self.rank + 1) // 2)
        if count and s[count - 1] <= 1e-10 * s[0]:
            raise ValueError("the orbit directions are degenerate at this point")
        return left[:, :count].T.reshape((count,) + point.shape)

    def horizontal_lift(self, tangent_vec, point) -> np.ndarray:
        """``h_k = above_k^T A_{N,X}^{-1}(Z) below_k^T`` at rank ``r`` (see module).

        ``Z`` [..., d, d] is projected onto ``T_X M_r`` first; ``point``
        [..., N, d, d].
        """
        tangent_vec = self._real("horizontal_lift", tangent_vec, "tangent_vec")
        point = self._real("horizontal_lift", point, "point")
        return _per_point(self._horizontal_lift_single, (tangent_vec, 2), (point, 3))

    def _horizontal_lift_single(self, tangent_vec, point):
        point = self._check(point)
        matrix = np.asarray(end_to_end(point))
        frame = low_rank_frame(matrix, self.rank, self.depth)
        lowered = tangent_matrix(
            frame,
            apply_rank_operator(
                frame, tangent_components(frame, np.asarray(tangent_vec)), -1.0
            ),
        )
        return np.asarray(lifted_gradient(lowered, point))

    def horizontal_projection(self, vector, point) -> np.ndarray:
        """Orthogonal projection onto the horizontal space: ``lift(P_T dphi(V))``.

        The horizontal vectors are ``L(Y) = (above_k^T Y below_k^T)_k`` with
        ``Y in T_X M_r``; ``L^* L = A_{N,X}`` there, so the least-squares ``Y``
        solves ``A(Y) = P_T dphi(V)``.
        """
        vector = self._real("horizontal_projection", vector, "vector")
        point = self._real("horizontal_projection", point, "point")
        vector = _as_parameters(vector, self.depth, self.width, "vector")
        return self.horizontal_lift(np.asarray(differential(vector, point)), point)

    def vertical_projection(self, vector, point) -> np.ndarray:
        """Orthogonal projection onto the vertical space (dense basis)."""
        vector = self._real("vertical_projection", vector, "vector")
        point = self._real("vertical_projection", point, "point")
        vector = _as_parameters(vector, self.depth, self.width, "vector")

        def project(v, w):
            basis = self.vertical_basis(w)
            return np.tensordot(np.tensordot(basis, v, 3), basis, 1)

        return _per_point(project, (vector, 3), (point, 3))

    def to_tangent(self, vector, base_point) -> np.ndarray:
        """Orthogonal projection onto ``T_W = V_W (+) H_W``, ``[..., N, d, d]``."""
        vector = self._real("to_tangent", vector, "vector")
        base_point = self._real("to_tangent", base_point, "base_point")
        return self.vertical_projection(
            vector, base_point
        ) + self.horizontal_projection(vector, base_point)

    def is_tangent(self, vector, base_point, atol: float = 1e-8) -> ArrayLike:
        """``|V - P_T V| <= atol max(1, |V|)``; shape ``[...]``."""
        vector = self._real("is_tangent", vector, "vector")
        base_point = self._real("is_tangent", base_point, "base_point")
        vector = _as_parameters(vector, self.depth, self.width, "vector")
        residual = vector - self.to_tangent(vector, base_point)
        norms = _norm(vector)
        return gs.array(_norm(residual) <= atol * np.maximum(1.0, norms))

    # ------------------------------------------------------------- geodesics
    def horizontal_geodesic(self, tangent_vec, base_point, times) -> np.ndarray:
        r"""Horizontal geodesic ``W(t)`` through ``W`` lifting ``exp_X(t Z)``.

        Along the ``(M_r, g^N)`` geodesic with momentum ``P(t)`` (``X' = A_X(P)``,
        ``P' = -dH/dX``, :class:`~geomstats_dln.low_rank.FixedRankDLNMetric`) the
        horizontal lift of ``X'`` is ``W_k' = above_k^T P below_k^T`` (the lift
        with ``A^{-1}(X') = P``; the normal block of ``P`` does not enter for
        ``N >= 2``). It keeps ``G(W) = 0`` and rank ``r``, ``phi(W(t)) = X(t)``,
        and since ``phi`` is a Riemannian submersion it is a geodesic of the
        balanced manifold of rank ``r`` with speed ``|W'| = g^N(Z, Z)^{1/2}``.
        ``(W, P)`` is integrated with DOP853 (the base metric's ``rtol``); a
        further singular value reaching 0 raises
        :class:`~geomstats_dln.GeodesicError`. Single points.

        Parameters
        ----------
        tangent_vec : array-like, shape=[d, d]
            ``Z``, projected onto ``T_X M_r``.
        base_point : array-like, shape=[N, d, d]
        times : array-like, shape=[T]
            Nonnegative, nondecreasing.

        Returns
        -------
        path : ndarray, shape=[T, N, d, d]
        """
        where = "horizontal_geodesic"
        point = self._check(self._real(where, base_point, "base_point"))
        times = np.asarray(self._real(where, times, "times"))
        if times.ndim != 1 or np.any(times < 0) or np.any(np.diff(times) < 0):
            raise ValueError(
                "times must be a 1-D array of nonnegative nondecreasing values"
            )
        matrix = np.asarray(end_to_end(point))
        vector = np.asarray(self._real(where, tangent_vec, "tangent_vec"))
        if vector.shape != matrix.shape or not np.all(np.isfinite(vector)):
            raise ValueError(
                f"tangent_vec must be one finite {matrix.shape} matrix, "
                f"got shape {vector.shape}"
            )
        metric = self.base.metric
        frame = low_rank_frame(matrix, self.rank, self.depth)
        momentum = np.asarray(
            tangent_matrix(
                frame,
                apply_rank_operator(frame, tangent_components(frame, vector), -1.0),
            )
        )
        size, r = point.size, self.rank

        def field(_, state):
            layers = state[:size].reshape(point.shape)
            p = state[size:].reshape(matrix.shape)
            x = np.asarray(end_to_end(layers))
            _, force = rank_hamiltonian_gradient(_numpy_frame(x, r, self.depth), p)
            return np.concatenate(
                [np.asarray(lifted_gradient(p, layers)).ravel(), -force.ravel()]
            )

        def boundary(_, state):
            x = np.asarray(end_to_end(state[:size].reshape(point.shape)))
            s = np.linalg.svd(x, compute_uv=False)
            return s[r - 1] / s[0] - metric.boundary_rtol

        boundary.terminal = True
        boundary.direction = -1
        unique, index = np.unique(times, return_inverse=True)
        if unique[-1] == 0.0:
            return np.broadcast_to(point, (len(times),) + point.shape).copy()
        with single_threaded_blas():
            solution = solve_ivp(
                field,
                (0.0, float(unique[-1])),
                np.concatenate([point.ravel(), momentum.ravel()]),
                method="DOP853",
                t_eval=unique,
                rtol=metric.rtol,
                atol=1e-2 * metric.rtol * max(1.0, float(np.max(np.abs(point)))),
                events=boundary,
            )
        if solution.status == 1:
            raise GeodesicError(
                "the horizontal geodesic reaches phi(W) of rank below "
                f"{r} at t = {float(solution.t_events[0][0]):.6g}"
            )
        if solution.status != 0:
            raise GeodesicError(f"geodesic integration failed: {solution.message}")
        return solution.y[:size].T.reshape((len(unique),) + point.shape)[index]

    def tangent_basis(self, point) -> np.ndarray:
        """Orthonormal basis of ``T_W``: the vertical basis and the horizontal lifts
        of a ``g^N``-orthonormal basis of ``T_X M_r`` (orthonormal by the
        submersion identity). Shape ``[dim, N, d, d]``."""
        point = self._check(self._real("tangent_basis", point, "point"))
        matrix = np.asarray(end_to_end(point))
        base_basis = self.base.tangent_basis(matrix)  # Frobenius-orthonormal
        metric = self.base.metric
        gram = np.array(
            [
                [float(metric.inner_product(a, b, matrix)) for b in base_basis]
                for a in base_basis
            ]
        )
        # g-orthonormal combinations: gram = R^T R, basis R^{-T}
        whitening = np.linalg.inv(np.linalg.cholesky(gram))
        orthonormal = np.tensordot(whitening, base_basis, 1)
        lifts = np.stack([self.horizontal_lift(z, point) for z in orthonormal])
        return np.concatenate([self.vertical_basis(point), lifts])
