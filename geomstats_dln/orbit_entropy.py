r"""Boltzmann entropy of the DLN and the volume form of ``(M_d, g^N)``.

``docs/mathematics.md`` §5 (survey §6, Thm 10; Menon-Yu, entropy paper Thm 4)
and §3 (volume form, survey Thm 11). For a full-rank square ``X = U S V^T``
the fiber of the end-to-end map in the balanced manifold is the gauge orbit
``O_X``, a free orbit of ``O(d)^{N-1}`` (MATH §4), and the entropy is its
volume for the Frobenius metric upstairs:

.. math::
    S(X) = \log \mathrm{vol}(O_X)
         = (N-1) \log \mathrm{vol}(O(d)) + \frac12 \sum_{i<j} \log a_{ij},

with the coefficients ``a_ij`` of the operator ``A_{N,X}`` (MATH §3): the
Gram determinant of the orbit map at the identity, over an orthonormal basis
of ``so(d)^{N-1}``, is ``prod_{i<j} a_ij`` (survey Lemma 2), and the isometric
action makes it the same at every point of the orbit.

Every ``a_ij`` comes from :func:`~geomstats_dln._spectral.dln_coefficients`
(accurate when singular values collide). The derivative of ``log a_ij`` is
evaluated here in a form with no ``1 / (s_i - s_j)``; with
``delta = log(s_i / s_j)``, the Langevin function
``L(z) = coth z - 1/z`` and ``c_N = (N-1)/N``,

.. math::
    D_{ij} := s_i \frac{\partial \log a_{ij}}{\partial s_i}
    = c_N + L(\delta) - \frac{L(\delta / N)}{N}
    = \frac{2/N}{\mathrm{expm1}(w)} - \frac{2}{\mathrm{expm1}(N w)},
    \quad w = \frac{2 |\delta|}{N},

(the second form for ``delta < 0``, where the first one cancels), and
``D_ij = 1 + L(delta) = 1/|delta| - 2 / expm1(2 |delta|)`` for ``N = inf``.
Derivation: in power coordinates ``x = s^{2/N}``,
``a = x_j^{N-1} expm1(N u) / expm1(u)`` with ``u = log(x_i / x_j)``, so
``D = (2/N) (N / (1 - e^{-Nu}) - 1 / (1 - e^{-u}))``, and
``1 / (1 - e^{-y}) = 1/y + 1/2 + L(y/2)/2``: the poles cancel exactly.
``L`` is evaluated by Lambert's continued fraction
``L(z) = z / (3 + z^2 / (5 + z^2 / (7 + ...)))`` for ``|z| <= 1`` (positive
terms) and by ``1/tanh z - 1/z`` beyond. Then

.. math::
    \frac{\partial S}{\partial s_i} = \frac{1}{2 s_i} \sum_{j \ne i} D_{ij},
    \qquad \frac{\partial S}{\partial X} = U \,\mathrm{diag}(\partial S/\partial s)
    \, V^T,

valid also for repeated singular values (``S`` is a smooth symmetric function
of ``s``; at ``s_i = s_j`` the pair term is ``D_ij = c_N``).

Infinite depth. ``A_N / N -> A_inf`` (logarithmic means, MATH §3), so
``S_N - (N-1) log vol(O(d)) - (d(d-1)/4) log N -> S_inf`` with
``S_inf(X) = 1/2 sum_{i<j} log L(s_i^2, s_j^2)``, ``L`` the logarithmic mean.
Both subtracted terms diverge and neither depends on ``X``: ``depth = math.inf``
returns ``S_inf`` with this constant convention (no ``log vol(O(d))`` term), and
its gradient is the limit of the finite-depth gradients (error ``O(1/N)``).
"""

from __future__ import annotations

import math

import numpy as np

import geomstats.backend as gs

from geomstats_dln._spectral import (
    SVDFrame,
    apply_operator,
    check_depth,
    check_finite_matrix,
    dln_coefficients,
    log_coefficient_derivatives,
    svd_frame,
)
from geomstats_dln._validation import as_finite_array, as_float_array, as_size

__all__ = [
    "entropy",
    "entropy_from_singular_values",
    "entropy_gradient",
    "entropy_gradient_from_singular_values",
    "entropy_riemannian_gradient",
    "log_orthogonal_group_volume",
    "log_volume_density",
    "orthogonal_group_volume",
    "volume_density",
]


def _check_dimension(dim) -> int:
    return as_size(dim, "dim", "orthogonal_group_volume")


def log_orthogonal_group_volume(dim: int) -> float:
    r"""``log vol(O(d))`` for the Frobenius metric ``<A, B> = tr(A^T B)`` on so(d).

    .. math::
        \mathrm{vol}(O(d)) = 2^{d(d-1)/4} \, \frac{2^d \pi^{d(d+1)/4}}
        {\prod_{k=1}^d \Gamma(k/2)}

    (MATH §5): twice ``vol(SO(d)) = prod_{k=1}^{d-1} vol(S^k)`` of the metric
    ``tr(A^T B) / 2``, rescaled by ``2^{dim SO(d) / 2}``. Computed with
    ``lgamma`` so that large ``d`` neither overflows nor underflows.

    Parameters
    ----------
    dim : int
        ``d >= 1``.

    Returns
    -------
    log_volume : float
    """
    dim = _check_dimension(dim)
    return (
        dim * (dim - 1) / 4 * math.log(2.0)
        + dim * math.log(2.0)
        + dim * (dim + 1) / 4 * math.log(math.pi)
        - math.fsum(math.lgamma(k / 2) for k in range(1, dim + 1))
    )


def orthogonal_group_volume(dim: int) -> float:
    """``vol(O(d))`` for the Frobenius metric on so(d) (MATH §5).

    ``vol(O(1)) = 2`` (two points), ``vol(O(2)) = 4 pi sqrt 2`` (two circles of
    length ``2 pi sqrt 2``); see :func:`log_orthogonal_group_volume`.
    """
    return math.exp(log_orthogonal_group_volume(dim))


def _check_square(point, what: str):
    """``point`` as finite real square matrices [..., d, d] (lists accepted,
    autograd boxes kept): else ``TypeError`` / ``ValueError``."""
    point = as_float_array(point, "point", what)
    raw = check_finite_matrix(point)
    if raw.shape[-1] != raw.shape[-2]:
        raise ValueError(
            f"{what} is defined for square end-to-end matrices (balanced networks "
            f"of equal widths), got shape {raw.shape}"
        )
    return point


def _upper_mask(dim: int):
    """``1`` above the diagonal, ``0`` elsewhere: ``sum_{i<j}`` as a product."""
    return gs.array(np.triu(np.ones((dim, dim)), 1))


def _entropy_constant(dim: int, depth) -> float:
    if depth == math.inf:
        return 0.0
    return (depth - 1) * log_orthogonal_group_volume(dim)


def entropy_from_singular_values(singular_values, depth: int | float):
    r"""``S`` as a function of the singular values ``s`` [..., d] (MATH §5).

    .. math::
        S = (N-1) \log \mathrm{vol}(O(d)) + \frac12 \sum_{i<j} \log a_{ij},

    ``a_ij`` from :func:`~geomstats_dln._spectral.dln_coefficients`; for
    ``depth = math.inf`` the constant is dropped and ``a_ij`` is the
    logarithmic mean (see the module docstring). Symmetric in ``s``.

    Parameters
    ----------
    singular_values : array-like, shape=[..., d]
        Positive.
    depth : int or math.inf

    Returns
    -------
    entropy : array-like, shape=[...]
    """
    depth = check_depth(depth)
    dim = singular_values.shape[-1]
    coefficients = dln_coefficients(singular_values, singular_values, depth)
    pairs = gs.sum(gs.log(coefficients) * _upper_mask(dim), axis=(-2, -1))
    return _entropy_constant(dim, depth) + 0.5 * pairs


def entropy(point, depth: int | float):
    r"""Boltzmann entropy ``S(X) = log vol(O_X)`` (MATH §5, survey Thm 10).

    .. math::
        S(X) = (N-1) \log \mathrm{vol}(O(d))
             + \frac12 \sum_{i<j} \log \frac{s_i^2 - s_j^2}{s_i^{2/N} - s_j^{2/N}},

    the pair term being ``log a_ij`` with the limit ``a_ii = N s_i^{2(N-1)/N}``
    at ``s_i = s_j`` (evaluated without cancellation). ``d = 1`` gives
    ``(N-1) log 2``; ``depth = 1`` gives ``0``; ``depth = math.inf`` gives
    ``S_inf = 1/2 sum_{i<j} log((s_i^2 - s_j^2) / (log s_i^2 - log s_j^2))``
    (constant convention in the module docstring).

    Parameters
    ----------
    point : array-like, shape=[..., d, d]
        Full-rank square end-to-end matrices.
    depth : int or math.inf

    Returns
    -------
    entropy : array-like, shape=[...]

    Raises
    ------
    ValueError
        Non-square, non-finite or rank-deficient input (naming the smallest
        singular value).
    """
    point = _check_square(point, "the entropy")
    frame = svd_frame(point, depth)
    dim = point.shape[-1]
    pairs = gs.sum(gs.log(frame.coefficients) * _upper_mask(dim), axis=(-2, -1))
    return _entropy_constant(dim, frame.depth) + 0.5 * pairs


def entropy_gradient_from_singular_values(singular_values, depth: int | float):
    r"""``dS/ds_i = 1/(2 s_i) sum_{j != i} s_i d(log a_ij)/d s_i`` (MATH §5).

    Stable when singular values nearly or exactly coincide (the pair term
    tends to ``(N-1)/N``, no ``1/(s_i - s_j)``; see the module docstring) and
    accurate to full relative precision for widely spread ones.

    Parameters
    ----------
    singular_values : array-like, shape=[..., d]
        Positive.
    depth : int or math.inf

    Returns
    -------
    gradient : array-like, shape=[..., d]
    """
    depth = check_depth(depth)
    if depth == 1:
        return gs.zeros(singular_values.shape)
    dim = singular_values.shape[-1]
    off_diagonal = gs.array(1.0 - np.eye(dim))
    terms = log_coefficient_derivatives(singular_values, depth) * off_diagonal
    return 0.5 * gs.sum(terms, axis=-1) / singular_values


def _gradient_in_frame(frame: SVDFrame):
    """``U diag(dS/ds) V^T`` from a square frame."""
    weights = entropy_gradient_from_singular_values(frame.singular_values, frame.depth)
    return gs.matmul(
        frame.left * weights[..., None, :], gs.moveaxis(frame.right, -1, -2)
    )


def entropy_gradient(point, depth: int | float):
    r"""Euclidean gradient ``dS/dX = U diag(dS/ds) V^T`` (MATH §5).

    See :func:`entropy_gradient_from_singular_values` for ``dS/ds``; the
    formula holds at repeated singular values too (``S`` is a smooth
    symmetric function of ``s``, so the SVD's non-uniqueness does not matter).

    Parameters
    ----------
    point : array-like, shape=[..., d, d]
        Full-rank square end-to-end matrices.
    depth : int or math.inf

    Returns
    -------
    gradient : array-like, shape=[..., d, d]
    """
    point = _check_square(point, "the entropy")
    return _gradient_in_frame(svd_frame(point, depth))


def entropy_riemannian_gradient(point, depth: int | float):
    r"""``grad_{g^N} S = A_{N,X}(dS/dX) = U diag(a_ii dS/ds_i) V^T`` (MATH §3, §5).

    One SVD: :func:`~geomstats_dln._spectral.apply_operator` in the frame of
    :func:`entropy_gradient` (the same map as
    ``operator_power(dS/dX, X, depth, 1)``). For ``depth = math.inf`` this is
    ``A_inf(dS_inf/dX)``.

    Parameters
    ----------
    point : array-like, shape=[..., d, d]
    depth : int or math.inf

    Returns
    -------
    gradient : array-like, shape=[..., d, d]
    """
    point = _check_square(point, "the entropy")
    frame = svd_frame(point, depth)
    return apply_operator(frame, _gradient_in_frame(frame), 1.0)


def log_volume_density(point, depth: int | float):
    r"""``log sqrt(det g^N_X) = -1/2 sum_{i,j} log a_ij`` (MATH §3, survey Thm 11).

    The density of the Riemannian volume of ``(M_d, g^N)`` in the entry
    coordinates of ``n x m`` matrices: the metric is ``A_{N,X}^{-1}``, whose
    eigenvalues are ``1 / a_ij`` over all ``n m`` pairs of left and right
    singular directions. Square ``X``: ``i, j = 1..d`` (diagonal included).
    Rectangular full-rank ``X`` (finite depth): the ``|n - m| r`` directions
    outside the row or column space see ``a(s_i, 0) = s_i^{2(N-1)/N}``.

    Parameters
    ----------
    point : array-like, shape=[..., n, m]
    depth : int or math.inf
        Infinite depth: square ``X`` only (``a(s, 0) = 0``).

    Returns
    -------
    log_density : array-like, shape=[...]
    """
    point = as_finite_array(point, "point", "log_volume_density", min_ndim=2)
    frame = svd_frame(point, depth)
    total = gs.sum(gs.log(frame.coefficients), axis=(-2, -1))
    extra = abs(point.shape[-1] - point.shape[-2])
    if extra:
        total = total + extra * gs.sum(gs.log(frame.null_coefficients), axis=-1)
    return -0.5 * total


def volume_density(point, depth: int | float):
    r"""``sqrt(det g^N_X) = prod_{i,j} a_ij^{-1/2}`` (MATH §3, survey Thm 11).

    ``exp`` of :func:`log_volume_density`; same shapes and conventions.
    """
    return gs.exp(log_volume_density(point, depth))
