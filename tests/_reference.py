"""Independent reference implementations of MATH.md §3, for tests only.

Nothing here calls :mod:`geomstats_dln`: fractional powers come from ``eigh`` of
``X X^T`` and ``X^T X`` and the infinite-depth operator from Gauss-Legendre
quadrature of ``A_inf(Z) = int_0^1 (XX^T)^{1-t} Z (X^TX)^t dt``. Written with
``autograd.numpy`` so that autodiff checks the library's closed forms.
"""

import math

import autograd.numpy as anp
import numpy as np

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(60)


def symmetric_power(matrix, exponent):
    """``matrix^exponent`` of a positive definite matrix, by ``eigh``."""
    eigenvalues, vectors = anp.linalg.eigh(matrix)
    return anp.dot(vectors * eigenvalues**exponent, vectors.T)


def gram_powers(point, exponent):
    """``((X X^T)^e, (X^T X)^e)``, with ``0^0 = 1`` (exponent 0 is the identity).

    The singular one of the two Gram matrices (rectangular X) is never passed to
    ``eigh``: ``(X^T X)^e = X^T (X X^T)^{e-1} X`` for ``e > 0`` when ``n <= m``.
    """
    n, m = point.shape
    if n <= m:
        left = symmetric_power(anp.dot(point, point.T), exponent)
        if exponent == 0:
            return left, anp.eye(m)
        inner = symmetric_power(anp.dot(point, point.T), exponent - 1.0)
        return left, anp.dot(anp.dot(point.T, inner), point)
    right_t, left_t = gram_powers(point.T, exponent)
    return left_t, right_t


def operator(point, tangent_vec, depth):
    """``A_{N,X}(Z)`` from its definition (single matrices)."""
    if depth == math.inf:
        total = 0.0
        for node, weight in zip(_NODES, _WEIGHTS, strict=True):
            t = 0.5 * (node + 1.0)
            left = gram_powers(point, 1.0 - t)[0]
            right = gram_powers(point, t)[1]
            total = total + 0.5 * weight * anp.dot(anp.dot(left, tangent_vec), right)
        return total
    total = 0.0
    for p in range(1, depth + 1):
        left = gram_powers(point, (depth - p) / depth)[0]
        right = gram_powers(point, (p - 1) / depth)[1]
        total = total + anp.dot(anp.dot(left, tangent_vec), right)
    return total


def operator_matrix(point, depth):
    """Matrix of ``A_{N,X}`` in the row-major entry basis."""
    n, m = point.shape
    columns = []
    for k in range(n * m):
        basis = np.zeros(n * m)
        basis[k] = 1.0
        columns.append(operator(point, basis.reshape(n, m), depth).ravel())
    return np.stack(columns, axis=-1)


def hamiltonian(point, momentum, depth):
    """``H(X, P) = 1/2 <P, A_X(P)>``."""
    return 0.5 * anp.sum(momentum * operator(point, momentum, depth))
