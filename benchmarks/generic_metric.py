r"""The *generic geomstats route* to the DLN metric: a baseline for the benchmarks.

An independent implementation of ``(M_n, g^N)`` (``docs/mathematics.md`` §3) that
uses nothing from :mod:`geomstats_dln`: the space is
``geomstats.geometry.euclidean.Euclidean(n * n)`` (flat coordinates are the
row-major entries of an ``n x n`` matrix) and the metric only defines
:meth:`GenericDLNMetric.metric_matrix`, the inverse of the matrix of

.. math::
    A_{N,X}(Z) = \sum_{p=1}^N (X X^\top)^{\frac{N-p}{N}} Z (X^\top X)^{\frac{p-1}{N}}

built from this definition, with the fractional powers taken through
``gs.linalg.eigh`` (differentiable by the autograd backend). Everything else is
geomstats' generic machinery: the Christoffel symbols are the default
``RiemannianMetric.christoffels`` (autodiff of ``metric_matrix``), the geodesic
equation is the default ``Connection.geodesic_equation`` and ``exp`` goes through
``geomstats.numerics.geodesic.ExpODESolver`` with a ``geomstats.numerics.ivp``
integrator. Needs ``GEOMSTATS_BACKEND=autograd`` (or another autodiff backend).
"""

from __future__ import annotations

import geomstats.backend as gs
from geomstats.geometry.euclidean import Euclidean
from geomstats.geometry.riemannian_metric import RiemannianMetric
from geomstats.numerics.geodesic import ExpODESolver
from geomstats.numerics.ivp import ScipySolveIVP

__all__ = ["GenericDLNMetric", "generic_space", "symmetric_power"]


def symmetric_power(matrix, exponent):
    """``S^exponent`` of symmetric positive definite ``S`` [..., n, n] via ``eigh``."""
    if exponent == 0:
        return gs.broadcast_to(gs.eye(matrix.shape[-1]), matrix.shape)
    eigenvalues, eigenvectors = gs.linalg.eigh(matrix)
    scaled = eigenvectors * (eigenvalues**exponent)[..., None, :]
    return gs.matmul(scaled, gs.moveaxis(eigenvectors, -1, -2))


class GenericDLNMetric(RiemannianMetric):
    r"""``g^N`` on ``Euclidean(n * n)`` through its metric matrix only.

    Parameters
    ----------
    space : Euclidean
        ``Euclidean(n * n)``; a point is the row-major flattening of ``X``.
    depth : int
        Depth ``N >= 1``.
    integrator : geomstats.numerics.ivp.ODEIVPIntegrator, optional
        Integrator of the ``ExpODESolver`` used by ``exp``; defaults to
        ``ScipySolveIVP(method="DOP853", rtol=1e-10, atol=1e-12)``.
    """

    def __init__(self, space, depth=3, integrator=None):
        super().__init__(space=space)
        self.depth = int(depth)
        self.n = int(round(space.dim**0.5))
        if self.n * self.n != space.dim:
            raise ValueError(f"dim must be a square, got {space.dim}")
        if integrator is None:
            integrator = ScipySolveIVP(method="DOP853", rtol=1e-10, atol=1e-12)
        self.exp_solver = ExpODESolver(space, integrator=integrator)

    def operator_matrix(self, base_point):
        r"""Matrix of ``A_{N,X}`` in the row-major entry basis, [..., n^2, n^2].

        ``vec(B Z C) = (B \otimes C^T) vec(Z)`` for row-major ``vec``.
        """
        n, depth = self.n, self.depth
        point = gs.reshape(base_point, base_point.shape[:-1] + (n, n))
        point_t = gs.moveaxis(point, -1, -2)
        left = gs.matmul(point, point_t)  # X X^T
        right = gs.matmul(point_t, point)  # X^T X
        total = 0.0
        for p in range(1, depth + 1):
            b = symmetric_power(left, (depth - p) / depth)
            c = symmetric_power(right, (p - 1) / depth)
            # M[i n + j, k n + l] = B[i, k] C[l, j]
            term = gs.einsum("...ik,...lj->...ijkl", b, c)
            total = total + term
        return gs.reshape(total, base_point.shape[:-1] + (n * n, n * n))

    def metric_matrix(self, base_point=None):
        """Inverse of :meth:`operator_matrix`: ``g^N_X`` in entry coordinates."""
        return gs.linalg.inv(self.operator_matrix(base_point))


def generic_space(n=3, depth=3, integrator=None):
    """``Euclidean(n * n)`` equipped with :class:`GenericDLNMetric`."""
    space = Euclidean(n * n, equip=False)
    space.equip_with_metric(GenericDLNMetric, depth=depth, integrator=integrator)
    return space
