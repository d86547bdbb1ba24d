"""An independent flat-coordinate ``(M_n, g^N)`` for geomstats, for tests only.

The idea of ``benchmarks/generic_metric.py`` (which tests must not import): the
space is ``Euclidean(n * n)`` (row-major entries of ``X``) and the metric only
defines its matrix, the inverse of the matrix of
``A_{N,X}(Z) = sum_p (X X^T)^{(N-p)/N} Z (X^T X)^{(p-1)/N}`` built from the
definition with ``eigh`` (:mod:`tests._reference`). Nothing comes from
:mod:`geomstats_dln`. The derivative of the metric matrix is taken by
``autograd`` directly (so that geomstats' Koszul formula for the Christoffel
symbols, and its ``BrownianMotion``, run under the numpy backend too).
"""

import autograd
import autograd.numpy as anp
import numpy as np

from geomstats.geometry.euclidean import Euclidean
from geomstats.geometry.riemannian_metric import RiemannianMetric

from tests._reference import symmetric_power


def operator_matrix(flat_point, n, depth):
    """Matrix of ``A_{N,X}`` in the row-major entry basis (autograd-friendly)."""
    point = anp.reshape(flat_point, (n, n))
    left = anp.dot(point, point.T)
    right = anp.dot(point.T, point)
    total = 0.0
    for p in range(1, depth + 1):
        b = symmetric_power(left, (depth - p) / depth) if p < depth else anp.eye(n)
        c = symmetric_power(right, (p - 1) / depth) if p > 1 else anp.eye(n)
        # vec(B Z C)[i n + j] = sum_kl B[i, k] C[l, j] Z[k, l]
        total = total + anp.reshape(anp.einsum("ik,lj->ijkl", b, c), (n * n, n * n))
    return total


def _single(function):
    """Loop a function of one flat point over leading batch axes."""

    def batched(base_point):
        base_point = np.asarray(base_point, dtype=float)
        if base_point.ndim == 1:
            return function(base_point)
        flat = base_point.reshape((-1, base_point.shape[-1]))
        values = np.stack([function(x) for x in flat])
        return values.reshape(base_point.shape[:-1] + values.shape[1:])

    return batched


class FlatDLNMetric(RiemannianMetric):
    """``g^N`` on ``Euclidean(n * n)`` through its metric matrix only."""

    def __init__(self, space, depth=3):
        super().__init__(space=space)
        self.depth = int(depth)
        self.n = int(round(space.dim**0.5))

    def _metric(self, flat_point):
        return anp.linalg.inv(operator_matrix(flat_point, self.n, self.depth))

    def metric_matrix(self, base_point=None):
        return _single(self._metric)(base_point)

    def inner_product_derivative_matrix(self, base_point=None):
        """``d_k g_ij`` (derivation index last), by autograd."""
        return _single(autograd.jacobian(self._metric))(base_point)


def flat_space(n, depth):
    """``Euclidean(n * n)`` equipped with :class:`FlatDLNMetric`."""
    space = Euclidean(n * n, equip=False)
    space.equip_with_metric(FlatDLNMetric, depth=depth)
    return space


def laplace_beltrami_drift(flat_point, n, depth):
    """``(1 / sqrt g) d_b (sqrt g g^{ab})`` by autograd (generator ``Delta_g``)."""

    def weighted_cometric(x):
        cometric = operator_matrix(x, n, depth)
        # sqrt(det g) = det(A)^{-1/2}
        return cometric * anp.linalg.det(cometric) ** -0.5

    jacobian = autograd.jacobian(weighted_cometric)(flat_point)  # [a, b, c] = d_c
    divergence = np.einsum("abb->a", jacobian)
    return divergence * np.linalg.det(operator_matrix(flat_point, n, depth)) ** 0.5
