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
of the parametrization).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from geomstats.geometry.manifold import Manifold

from geomstats_dln.low_rank import (
    FixedRankEndToEndMatrices,
    apply_rank_operator,
    low_rank_frame,
    tangent_components,
    tangent_matrix,
)
from geomstats_dln.parameters import (
    FrobeniusMetric,
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
    parameters = np.asarray(parameters, dtype=float)
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
    matrix = np.asarray(end_to_end_matrix, dtype=float)
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


class LowRankBalancedMetric(FrobeniusMetric):
    """Frobenius metric induced on the balanced manifold of rank ``r``.

    Inner products are those of parameter space; geodesics of the leaf are not
    implemented (``exp``/``log`` raise ``NotImplementedError``).
    """

    def exp(self, tangent_vec, base_point):
        raise NotImplementedError(
            "geodesics of the rank-r balanced manifold are not implemented; "
            "horizontal geodesics project to FixedRankDLNMetric.exp downstairs"
        )

    def log(self, point, base_point):
        raise NotImplementedError(
            "the logarithm of the rank-r balanced manifold is not implemented"
        )


class LowRankBalancedManifold(Manifold):
    r"""The balanced manifold of rank ``r``: ``G(W) = 0``, ``rank phi(W) = r``.

    Points ``W`` of shape ``[N, d, d]`` (``W[k-1] = W_k``); dimension
    ``r (2d - r) + (N - 1)(d r - r (r + 1)/2)`` (module docstring). Its image
    under ``phi`` is :class:`~geomstats_dln.low_rank.FixedRankEndToEndMatrices`
    ``(d, d, r, N)``, available as :attr:`base`, and ``phi`` is a Riemannian
    submersion onto it. Single points (no batches) for the linear-algebra
    methods, which use dense bases of size ``N d^2``: meant for small widths.

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

    def belongs(self, point: ArrayLike, atol: float = 1e-8) -> bool:
        """``|G| <= atol |W|^2`` and ``phi(W)`` of rank ``r`` (relative ``atol``)."""
        point = np.asarray(point, dtype=float)
        if point.shape[-3:] != self.shape or not np.all(np.isfinite(point)):
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

    def _check(self, point):
        point = _as_single_parameters(point, self.depth, self.width)
        if not self.belongs(point, atol=1e-6):
            raise ValueError(
                "point is not on the balanced manifold of rank "
                f"{self.rank} (|G| or the rank of phi(W) is off)"
            )
        return point

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
        point = self._check(point)
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

        ``Z`` is projected onto ``T_X M_r`` first.
        """
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
        point = self._check(point)
        vector = _as_single_parameters(vector, self.depth, self.width)
        return self.horizontal_lift(np.asarray(differential(vector, point)), point)

    def vertical_projection(self, vector, point) -> np.ndarray:
        """Orthogonal projection onto the vertical space (dense basis)."""
        basis = self.vertical_basis(point)
        vector = _as_single_parameters(vector, self.depth, self.width)
        return np.tensordot(np.tensordot(basis, vector, 3), basis, 1)

    def to_tangent(self, vector, base_point) -> np.ndarray:
        """Orthogonal projection onto ``T_W = V_W (+) H_W``."""
        return self.vertical_projection(
            vector, base_point
        ) + self.horizontal_projection(vector, base_point)

    def is_tangent(self, vector, base_point, atol: float = 1e-8) -> bool:
        vector = _as_single_parameters(vector, self.depth, self.width)
        residual = vector - self.to_tangent(vector, base_point)
        return bool(np.linalg.norm(residual) <= atol * max(1.0, np.linalg.norm(vector)))

    def tangent_basis(self, point) -> np.ndarray:
        """Orthonormal basis of ``T_W``: the vertical basis and the horizontal lifts
        of a ``g^N``-orthonormal basis of ``T_X M_r`` (orthonormal by the
        submersion identity). Shape ``[dim, N, d, d]``."""
        point = self._check(point)
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
