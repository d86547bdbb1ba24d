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

Over C (balancedness paper 002, F = C; selected by a complex dtype). The fiber
of a full-rank square complex ``X = U S V^*`` in the balanced manifold is a
free orbit of the unitary gauges ``U(d)^{N-1}``, ``W_k -> Q_k W_k Q_{k-1}^*``,
and ``u(d)`` (skew-Hermitian matrices, ``Re tr(A^* B)``) has the orthonormal
basis ``(E_ij - E_ji)/sqrt 2``, ``i (E_ij + E_ji)/sqrt 2`` (``i < j``) and
``i E_jj``. In the frame where every layer is ``Sigma = S^{1/N}``, the orbit
map is ``xi -> (xi_k Sigma - Sigma xi_{k-1})_k`` (``xi_0 = xi_N = 0``) and the
Gram matrix splits into blocks:

* an off-diagonal pair ``i < j`` now has **two** real directions per gauge
  (the real and the imaginary part of ``xi_ij``). For the imaginary one the
  entries ``(ij), (ji)`` of ``delta W_k`` are ``i (y_k sigma_j - sigma_i
  y_{k-1})`` and ``i (y_k sigma_i - sigma_j y_{k-1})``: the same Gram block as
  the real direction (whose determinant is ``a_ij``, survey Lemma 2) and
  orthogonal to it, so the pair contributes ``a_ij^2``;
* the diagonal carries the phases, a torus ``U(1)^d`` per gauge: ``xi_jj =
  i theta_k`` gives ``(delta W_k)_jj = i sigma_j (theta_k - theta_{k-1})``, a
  Gram block ``sigma_j^2 T`` with ``T`` the ``(N-1) x (N-1)`` matrix
  ``tridiag(-1, 2, -1)``, ``det T = N``: the phase of ``j`` contributes
  ``N sigma_j^{2(N-1)} = N s_j^{2(N-1)/N} = a_jj``.

Hence ``det Gram = prod_{i,j} a_ij`` over all ordered pairs, and

.. math::
    S_{\mathbb C}(X) = (N-1) \log \mathrm{vol}(U(d))
        + \frac12 \sum_{i,j=1}^d \log a_{ij},
    \qquad
    \frac{\partial S_{\mathbb C}}{\partial s_i} = \frac{1}{s_i}
        \Big(\sum_{j \ne i} D_{ij} + \frac{N-1}{N}\Big),

(the last term from ``1/2 log a_ii``; ``1`` for ``N = inf``) and
``dS/dX = U diag(dS/ds) V^*`` for ``dS = Re tr(dS/dX^* dX)``. The volume of
``U(d)`` for ``Re tr(A^* B)`` follows from ``U(d) -> S^{2d-1}``,
``g -> g e_1``, with fiber ``U(d-1)``: the ``2(d-1)`` off-diagonal directions
of the first column are shortened by ``1/sqrt 2``, so ``vol U(d) =
2^{d-1} vol(S^{2d-1}) vol U(d-1)`` and
``vol U(d) = (2 pi)^{d(d+1)/2} / prod_{k=1}^{d-1} k!``. The volume density of
the complex ``(M_d(C), g^N)`` in the ``2 n m`` real coordinates is the square
of the real one (``A`` is C-linear: each ``a_ij`` appears for the real and
the imaginary part).
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
from geomstats_dln._validation import (
    as_field_array,
    as_finite_array,
    as_float_array,
    as_size,
    check_finite,
    is_complex,
)

__all__ = [
    "entropy",
    "entropy_from_singular_values",
    "entropy_gradient",
    "entropy_gradient_from_singular_values",
    "entropy_riemannian_gradient",
    "log_orthogonal_group_volume",
    "log_unitary_group_volume",
    "log_volume_density",
    "orthogonal_group_volume",
    "unitary_group_volume",
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


def log_unitary_group_volume(dim: int) -> float:
    r"""``log vol(U(d))`` for the metric ``Re tr(A^* B)`` on u(d).

    .. math::
        \mathrm{vol}(U(d)) = \prod_{k=1}^d 2^{k-1} \mathrm{vol}(S^{2k-1})
        = \frac{(2\pi)^{d(d+1)/2}}{\prod_{k=1}^{d-1} k!}

    (fibration ``U(d) -> S^{2d-1}``, module docstring). Computed with ``lgamma``.

    Parameters
    ----------
    dim : int
        ``d >= 1``.
    """
    dim = as_size(dim, "dim", "unitary_group_volume")
    return dim * (dim + 1) / 2 * math.log(2.0 * math.pi) - math.fsum(
        math.lgamma(k + 1) for k in range(1, dim)
    )


def unitary_group_volume(dim: int) -> float:
    """``vol(U(d))`` for ``Re tr(A^* B)`` on u(d): ``vol(U(1)) = 2 pi``,
    ``vol(U(2)) = 8 pi^3``; see :func:`log_unitary_group_volume`."""
    return math.exp(log_unitary_group_volume(dim))


def _check_square(point, what: str, allow_complex: bool = False):
    """``point`` as finite real (or, ``allow_complex``, complex) square matrices
    [..., d, d] (lists accepted, autograd boxes kept): else ``TypeError`` /
    ``ValueError``."""
    if allow_complex:
        point = as_field_array(point, "point", what)
    else:
        point = as_float_array(point, "point", what)
    raw = check_finite_matrix(point, allow_complex=allow_complex)
    if raw.shape[-1] != raw.shape[-2]:
        raise ValueError(
            f"{what} is defined for square end-to-end matrices (balanced networks "
            f"of equal widths), got shape {raw.shape}"
        )
    return point


def _upper_mask(dim: int):
    """``1`` above the diagonal, ``0`` elsewhere: ``sum_{i<j}`` as a product."""
    return gs.array(np.triu(np.ones((dim, dim)), 1))


def _entropy_constant(dim: int, depth, field: str = "real") -> float:
    if depth == math.inf:
        return 0.0
    if field == "complex":
        return (depth - 1) * log_unitary_group_volume(dim)
    return (depth - 1) * log_orthogonal_group_volume(dim)


def _pair_mask(dim: int, field: str):
    """Pairs of the Gram determinant: ``i < j`` over R, all ``(i, j)`` over C."""
    if field == "complex":
        return gs.ones((dim, dim))
    return _upper_mask(dim)


def _check_field(field: str) -> str:
    if field not in ("real", "complex"):
        raise ValueError(f'field must be "real" or "complex", got {field!r}')
    return field


def entropy_from_singular_values(
    singular_values, depth: int | float, field: str = "real"
):
    r"""``S`` as a function of the singular values ``s`` [..., d] (MATH §5).

    .. math::
        S = (N-1) \log \mathrm{vol}(O(d)) + \frac12 \sum_{i<j} \log a_{ij},

    ``a_ij`` from :func:`~geomstats_dln._spectral.dln_coefficients`; for
    ``depth = math.inf`` the constant is dropped and ``a_ij`` is the
    logarithmic mean (see the module docstring). Symmetric in ``s``.
    ``field="complex"``: the unitary orbit,
    ``(N-1) log vol(U(d)) + 1/2 sum_{i,j} log a_ij`` (module docstring).

    Parameters
    ----------
    singular_values : array-like, shape=[..., d]
        Positive.
    depth : int or math.inf
    field : {"real", "complex"}

    Returns
    -------
    entropy : array-like, shape=[...]

    Raises
    ------
    TypeError
        For complex ``singular_values`` (singular values are real, also of a
        complex matrix: ``field`` selects the orbit).
    """
    singular_values = as_float_array(
        singular_values, "singular_values", "entropy_from_singular_values"
    )
    depth = check_depth(depth)
    field = _check_field(field)
    dim = singular_values.shape[-1]
    coefficients = dln_coefficients(singular_values, singular_values, depth)
    pairs = gs.sum(gs.log(coefficients) * _pair_mask(dim, field), axis=(-2, -1))
    return _entropy_constant(dim, depth, field) + 0.5 * pairs


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

    Complex ``X`` (F = C): the log-volume of the ``U(d)^{N-1}`` orbit,
    ``(N-1) log vol(U(d)) + 1/2 sum_{i,j} log a_ij`` (all ordered pairs: two
    real dimensions per off-diagonal pair, one phase per diagonal entry;
    module docstring).

    Parameters
    ----------
    point : array-like, shape=[..., d, d]
        Full-rank square end-to-end matrices, real or complex.
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
    point = _check_square(point, "the entropy", allow_complex=True)
    field = "complex" if is_complex(point) else "real"
    frame = svd_frame(point, depth, allow_complex=True)
    dim = point.shape[-1]
    mask = _pair_mask(dim, field)
    pairs = gs.sum(gs.log(frame.coefficients) * mask, axis=(-2, -1))
    return _entropy_constant(dim, frame.depth, field) + 0.5 * pairs


def entropy_gradient_from_singular_values(
    singular_values, depth: int | float, field: str = "real"
):
    r"""``dS/ds_i = 1/(2 s_i) sum_{j != i} s_i d(log a_ij)/d s_i`` (MATH §5).

    Stable when singular values nearly or exactly coincide (the pair term
    tends to ``(N-1)/N``, no ``1/(s_i - s_j)``; see the module docstring) and
    accurate to full relative precision for widely spread ones.
    ``field="complex"``: ``(sum_{j != i} D_ij + (N-1)/N) / s_i`` (every pair
    twice, plus the phase term ``1/2 log a_ii``; module docstring).

    Parameters
    ----------
    singular_values : array-like, shape=[..., d]
        Positive.
    depth : int or math.inf
    field : {"real", "complex"}

    Returns
    -------
    gradient : array-like, shape=[..., d]

    Raises
    ------
    TypeError
        For complex ``singular_values`` (singular values are real).
    """
    singular_values = as_float_array(
        singular_values, "singular_values", "entropy_gradient_from_singular_values"
    )
    depth = check_depth(depth)
    field = _check_field(field)
    if depth == 1:
        return gs.zeros(singular_values.shape)
    dim = singular_values.shape[-1]
    off_diagonal = gs.array(1.0 - np.eye(dim))
    terms = log_coefficient_derivatives(singular_values, depth) * off_diagonal
    if field == "complex":
        phase = 1.0 if depth == math.inf else (depth - 1.0) / depth
        return (gs.sum(terms, axis=-1) + phase) / singular_values
    return 0.5 * gs.sum(terms, axis=-1) / singular_values


def _gradient_in_frame(frame: SVDFrame):
    """``U diag(dS/ds) V^*`` from a square frame (real or complex)."""
    field = "complex" if is_complex(frame.left) else "real"
    weights = entropy_gradient_from_singular_values(
        frame.singular_values, frame.depth, field
    )
    right_adjoint = gs.moveaxis(frame.right, -1, -2)
    if field == "complex":
        right_adjoint = gs.conj(right_adjoint)
    return gs.matmul(frame.left * weights[..., None, :], right_adjoint)


def entropy_gradient(point, depth: int | float):
    r"""Euclidean gradient ``dS/dX = U diag(dS/ds) V^T`` (MATH §5).

    See :func:`entropy_gradient_from_singular_values` for ``dS/ds``; the
    formula holds at repeated singular values too (``S`` is a smooth
    symmetric function of ``s``, so the SVD's non-uniqueness does not matter).

    Complex ``X``: the gradient of the unitary-orbit entropy for
    ``Re tr(A^* B)``, ``U diag(dS_C/ds) V^*`` (module docstring).

    Parameters
    ----------
    point : array-like, shape=[..., d, d]
        Full-rank square end-to-end matrices, real or complex.
    depth : int or math.inf

    Returns
    -------
    gradient : array-like, shape=[..., d, d]
    """
    point = _check_square(point, "the entropy", allow_complex=True)
    return _gradient_in_frame(svd_frame(point, depth, allow_complex=True))


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
    point = _check_square(point, "the entropy", allow_complex=True)
    frame = svd_frame(point, depth, allow_complex=True)
    return apply_operator(frame, _gradient_in_frame(frame), 1.0)


def log_volume_density(point, depth: int | float):
    r"""``log sqrt(det g^N_X) = -1/2 sum_{i,j} log a_ij`` (MATH §3, survey Thm 11).

    The density of the Riemannian volume of ``(M_d, g^N)`` in the entry
    coordinates of ``n x m`` matrices: the metric is ``A_{N,X}^{-1}``, whose
    eigenvalues are ``1 / a_ij`` over all ``n m`` pairs of left and right
    singular directions. Square ``X``: ``i, j = 1..d`` (diagonal included).
    Rectangular full-rank ``X`` (finite depth): the ``|n - m| r`` directions
    outside the row or column space see ``a(s_i, 0) = s_i^{2(N-1)/N}``.

    Complex ``X``: the density in the ``2 n m`` real coordinates
    ``(Re Z, Im Z)``, twice the real value's logarithm (``A`` is C-linear).

    Parameters
    ----------
    point : array-like, shape=[..., n, m]
    depth : int or math.inf
        Infinite depth: square ``X`` only (``a(s, 0) = 0``).

    Returns
    -------
    log_density : array-like, shape=[...]
    """
    if is_complex(point):
        point = as_field_array(point, "point", "log_volume_density")
        check_finite(point, "point", "log_volume_density")
        if np.ndim(point) < 2:
            raise ValueError(
                "log_volume_density: point must have shape [..., n, m], got "
                f"{np.shape(point)}"
            )
    else:
        point = as_finite_array(point, "point", "log_volume_density", min_ndim=2)
    frame = svd_frame(point, depth, allow_complex=True)
    total = gs.sum(gs.log(frame.coefficients), axis=(-2, -1))
    extra = abs(point.shape[-1] - point.shape[-2])
    if extra:
        total = total + extra * gs.sum(gs.log(frame.null_coefficients), axis=-1)
    if is_complex(point):
        return -total  # each a_ij for the real and the imaginary part
    return -0.5 * total


def volume_density(point, depth: int | float):
    r"""``sqrt(det g^N_X) = prod_{i,j} a_ij^{-1/2}`` (MATH §3, survey Thm 11).

    ``exp`` of :func:`log_volume_density`; same shapes and conventions.
    """
    return gs.exp(log_volume_density(point, depth))
