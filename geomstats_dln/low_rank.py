r"""The strata of rank-r end-to-end matrices ``(M_r, g^N)``.

Training a deep linear network from a balanced start of rank ``r`` keeps the
end-to-end matrix at rank ``r`` (survey §5.4, Thm 3; open problems §14.1, §14.4):
the balanced variety is foliated by the balanced manifolds of each rank, and on
the one of rank ``r`` the end-to-end matrix follows the Riemannian gradient flow
of ``g^N`` restricted to

.. math::
    M_r = \{X \in \mathbb R^{n \times m} : \operatorname{rank} X = r\},
    \qquad \dim M_r = r (n + m - r).

With the thin SVD ``X = U diag(s) V^T`` (``U`` n x r, ``V`` m x r, ``s > 0``) and
orthonormal complements ``U_perp``, ``V_perp``, the tangent space is

.. math::
    T_X M_r = \{U A V^T + U_\perp B V^T + U C V_\perp^T\}

(``A`` r x r, ``B`` (n-r) x r, ``C`` r x (m-r)), and the operator ``A_{N,X}`` of
MATH §3 is diagonal in this frame with the coefficients ``a_ij`` evaluated at the
zero singular values: ``a_ij = a(s_i, s_j)`` on the ``A`` block,
``a(0, s_j) = s_j^{2(N-1)/N}`` on the ``B`` block, ``a(s_i, 0) = s_i^{2(N-1)/N}`` on
the ``C`` block and ``a(0, 0) = 0`` on the normal block ``U_perp^T X' V_perp``
(for ``N >= 2``). So ``A_{N,X}`` maps ``T_X M_r`` onto itself and

.. math::
    g^N_X(Z_1, Z_2) = \sum_{i,j \le r} \frac{A_{1,ij} A_{2,ij}}{a(s_i, s_j)}
      + \sum_{j \le r} \frac{\langle B_1 e_j, B_2 e_j\rangle}{s_j^{2(N-1)/N}}
      + \sum_{i \le r} \frac{\langle C_1^T e_i, C_2^T e_i\rangle}{s_i^{2(N-1)/N}}

is a Riemannian metric on ``M_r``: the limit of the full-rank ``g^N`` at
``X + eps P`` on tangent vectors as ``eps -> 0`` (tested). The Riemannian gradient
of a loss is the tangent part of ``A_{N,X}(E'(X))``: the velocity of Thm 3 at rank
``r``. For ``N = inf`` the logarithmic mean gives ``a(s, 0) = 0``: the metric is
not defined on rank-deficient matrices, and the classes refuse that depth.

Efficient representation. A tangent vector is stored by its components in the
frame of ``X`` (:class:`TangentComponents`): ``core = U^T Z V`` (r x r),
``left_normal = (I - U U^T) Z V = U_perp B`` (n x r) and
``right_normal = (I - V V^T) Z^T U = V_perp C^T`` (m x r), so that no ``n x n``
matrix is formed; after the rank-r factorization, inner products, the operator,
its inverse and the gradient cost ``O((n + m) r^2)``, and the tangent projection
of a dense ``n x m`` matrix ``O(n m r)`` (versus ``O(n^3)`` for the full-rank SVD
route).

Geodesics integrate Hamilton's equations ``X' = A_X(P)``, ``P' = -dH/dX`` for
``H = 1/2 <P, A_X(P)>`` with ``A_X`` the rank-r operator above: ``X'`` stays tangent
to ``M_r`` and, by coisotropic reduction, the normal part of ``P`` does not affect
the projected curve, so ``dH/dX`` may be taken along ``T_X M_r``: it is the
full-rank Daleckii-Krein force with the zero singular values set to 0
(:func:`rank_hamiltonian_gradient`, closed form, checked against central
differences of ``H`` along curves in ``M_r``). Batches are integrated as one system. The
integration stops with :class:`GeodesicError` when a further
singular value reaches 0 (the geodesic leaves ``M_r`` for ``M_{r-1}``; ``g^N`` is
incomplete).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy.integrate import solve_ivp

import geomstats.backend as gs
from geomstats.geometry.manifold import Manifold
from geomstats.geometry.matrices import Matrices
from geomstats.geometry.riemannian_metric import RiemannianMetric

from geomstats_dln._spectral import (
    _raw,
    check_depth,
    check_finite_matrix,
    dln_coefficients,
    single_threaded_blas,
)
from geomstats_dln._validation import as_float_array, as_size, sample_batch
from geomstats_dln.end_to_end import GeodesicError

__all__ = [
    "FixedRankDLNMetric",
    "FixedRankEndToEndMatrices",
    "LowRankFrame",
    "TangentComponents",
    "apply_rank_operator",
    "check_low_rank_depth",
    "frame_from_factors",
    "low_rank_frame",
    "rank_hamiltonian_gradient",
    "tangent_components",
    "tangent_inner_product",
    "tangent_matrix",
    "truncated_svd",
]


# ----------------------------------------------------------------------- frames
class LowRankFrame(NamedTuple):
    """Thin rank-r SVD frame of a point of ``M_r`` with its DLN coefficients."""

    left: object  # U [..., n, r]
    singular_values: object  # s [..., r]
    right: object  # V [..., m, r]
    coefficients: object  # a(s_i, s_j) [..., r, r]
    null_coefficients: object  # a(s_i, 0) = s_i^{2(N-1)/N} [..., r]
    depth: int


class TangentComponents(NamedTuple):
    """A tangent vector ``Z = U core V^T + left_normal V^T + U right_normal^T``.

    ``left_normal = U_perp B`` is orthogonal to ``U`` and ``right_normal =
    V_perp C^T`` to ``V`` (the ``B`` and ``C`` blocks of the module docstring).
    """

    core: object  # [..., r, r]
    left_normal: object  # [..., n, r]
    right_normal: object  # [..., m, r]


def check_low_rank_depth(depth, rank: int, n: int, m: int):
    """Validate ``depth`` for ``M_r``: ``inf`` only for full-rank square matrices."""
    depth = check_depth(depth)
    if depth == math.inf and not rank == n == m:
        raise ValueError(
            "the infinite-depth metric is not defined on rank-deficient or "
            "rectangular matrices: its coefficient a(s, 0) (logarithmic mean of "
            "s^2 and 0) vanishes, so g^inf is infinite on T M_r; use a finite depth"
        )
    return depth


def _coefficients(singular_values, depth, xp=None):
    coefficients = dln_coefficients(singular_values, singular_values, depth, xp)
    null_coefficients = singular_values ** (2.0 * (depth - 1) / depth)
    return coefficients, null_coefficients


def truncated_svd(point, rank: int, rank_rtol: float | None = None):
    """``(U_r, s_r, V_r)`` of the rank-r truncation of ``point`` [..., n, m].

    Raises ``ValueError`` when ``s_r <= rank_rtol * s_1`` (default ``max(n, m) *
    eps``): the point has rank below ``r`` and no nearest point in ``M_r``, and
    for a ``rank`` that is not an integer in ``[1, min(n, m)]`` (``TypeError``
    for ``True`` or a string). Array-likes (lists, integers) are accepted.
    """
    point = as_float_array(point, "point", "truncated_svd")
    raw = check_finite_matrix(point)
    rank = as_size(rank, "rank", "truncated_svd")
    n, m = raw.shape[-2:]
    if not 1 <= rank <= min(n, m):
        raise ValueError(f"rank must lie in [1, {min(n, m)}], got {rank}")
    left, s, right_t = gs.linalg.svd(point, full_matrices=False)
    s_raw = _raw(s)
    if rank_rtol is None:
        rank_rtol = max(n, m) * np.finfo(float).eps
    bad = ~(s_raw[..., rank - 1] > rank_rtol * s_raw[..., 0])
    if np.any(bad):
        worst = float(np.min(s_raw[..., rank - 1]))
        raise ValueError(
            f"point of shape {raw.shape} has rank below {rank}: singular value "
            f"s_{rank} = {worst:.3e} (s_1 = {float(np.max(s_raw[..., 0])):.3e})"
        )
    return (
        left[..., :, :rank],
        s[..., :rank],
        gs.moveaxis(right_t[..., :rank, :], -1, -2),
    )


def low_rank_frame(point, rank: int, depth) -> LowRankFrame:
    """Frame of the rank-r truncation of ``point`` (one thin SVD, ``O(n m min(n, m))``).

    Parameters
    ----------
    point : array-like, shape=[..., n, m]
        Lists and integer arrays are accepted (converted once to float).
    rank : int
    depth : int
    """
    point = as_float_array(point, "point", "low_rank_frame")
    check_finite_matrix(point)
    rank = as_size(rank, "rank", "low_rank_frame")
    n, m = point.shape[-2:]
    depth = check_low_rank_depth(depth, rank, n, m)
    left, s, right = truncated_svd(point, rank)
    return LowRankFrame(left, s, right, *_coefficients(s, depth), depth)


# The strata are real (U^T, not U^*, throughout): complex input is refused.
# Hot path: a float64 array (or autograd box) passes on one dtype look-up;
# anything else goes through as_float_array (TypeError naming the function,
# the argument and the dtype for complex input; lists and integers converted).
# Frames are records made by low_rank_frame or frame_from_factors (real).
_FLOAT64 = np.dtype(np.float64)


def _real(value, name: str, function: str):
    if getattr(value, "dtype", None) is _FLOAT64:
        return value
    return as_float_array(value, name, function)


def _real_components(components, function: str, name: str = "components"):
    core, left_normal, right_normal = components
    if (
        getattr(core, "dtype", None) is _FLOAT64
        and getattr(left_normal, "dtype", None) is _FLOAT64
        and getattr(right_normal, "dtype", None) is _FLOAT64
    ):
        return components
    return TangentComponents(
        as_float_array(core, f"{name}.core", function),
        as_float_array(left_normal, f"{name}.left_normal", function),
        as_float_array(right_normal, f"{name}.right_normal", function),
    )


def frame_from_factors(left, singular_values, right, depth) -> LowRankFrame:
    """Frame from factors (``U``, ``V`` orthonormal columns, ``s > 0``): no SVD.

    Real factors only (``M_r`` is a real manifold): complex ones are a
    ``TypeError`` naming the factor and the dtype.
    """
    where = "frame_from_factors"
    left = _real(left, "left", where)
    singular_values = _real(singular_values, "singular_values", where)
    right = _real(right, "right", where)
    return LowRankFrame(
        left, singular_values, right, *_coefficients(singular_values, depth), depth
    )


def _t(matrix):
    return gs.moveaxis(matrix, -1, -2)


def tangent_components(frame: LowRankFrame, vector) -> TangentComponents:
    """Components of the orthogonal projection of ``vector`` [..., n, m] onto
    ``T_X M_r`` (Frobenius), ``O(n m r)``. Complex ``vector``: ``TypeError``."""
    vector = _real(vector, "vector", "tangent_components")
    left, right = frame.left, frame.right
    times_right = gs.matmul(vector, right)  # Z V, [..., n, r]
    core = gs.matmul(_t(left), times_right)
    left_normal = times_right - gs.matmul(left, core)
    right_normal = gs.matmul(_t(vector), left) - gs.matmul(right, _t(core))
    return TangentComponents(core, left_normal, right_normal)


def tangent_matrix(frame: LowRankFrame, components: TangentComponents):
    """The dense ``n x m`` tangent vector of ``components`` (real)."""
    core, left_normal, right_normal = _real_components(components, "tangent_matrix")
    return gs.matmul(
        gs.matmul(frame.left, core) + left_normal, _t(frame.right)
    ) + gs.matmul(frame.left, _t(right_normal))


def apply_rank_operator(
    frame: LowRankFrame, components: TangentComponents, power: float = 1.0
) -> TangentComponents:
    """``A_{N,X}^{power}`` on ``T_X M_r`` in the frame, ``O((n + m) r^2)``.

    ``power = 1``: the cometric (the operator A of MATH §3 restricted to
    ``T M_r``), ``power = -1``: the metric, ``power = 1/2``: its square root.
    Complex ``components``: ``TypeError``.
    """
    components = _real_components(components, "apply_rank_operator")
    return _apply_rank_operator(frame, components, power)


def _apply_rank_operator(frame, components, power):
    scale = (frame.null_coefficients**power)[..., None, :]
    return TangentComponents(
        components.core * frame.coefficients**power,
        components.left_normal * scale,
        components.right_normal * scale,
    )


def tangent_inner_product(
    frame: LowRankFrame, components_a: TangentComponents, components_b
):
    """``g^N_X(Z_1, Z_2)`` from components, ``O((n + m) r^2)`` (module docstring).

    Real components only (complex ones: ``TypeError`` naming them).
    """
    where = "tangent_inner_product"
    components_a = _real_components(components_a, where, "components_a")
    components_b = _real_components(components_b, where, "components_b")
    lowered = _apply_rank_operator(frame, components_a, -1.0)
    return (
        gs.sum(lowered.core * components_b.core, axis=(-2, -1))
        + gs.sum(lowered.left_normal * components_b.left_normal, axis=(-2, -1))
        + gs.sum(lowered.right_normal * components_b.right_normal, axis=(-2, -1))
    )


# ------------------------------------------------------------------------ space
def _check_size(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class FixedRankEndToEndMatrices(Manifold):
    r"""``M_r``: real ``n x m`` matrices of rank exactly ``r`` (survey §5.4, Thm 3).

    An embedded submanifold of ``Matrices(n, m)`` of dimension ``r (n + m - r)``,
    equipped by default with :class:`FixedRankDLNMetric` (the restriction of
    ``g^N``). ``rank = min(n, m)`` gives the full-rank matrices.

    Parameters
    ----------
    n : int
        Number of rows.
    m : int, optional
        Number of columns; defaults to ``n``.
    rank : int
        ``r``, with ``1 <= r <= min(n, m)``.
    depth : int
        Depth ``N`` of the metric ``g^N``; ``math.inf`` is refused unless
        ``r = n = m`` (``a(s, 0) = 0`` at infinite depth).
    equip : bool
        Equip the space with ``FixedRankDLNMetric(depth)``.
    """

    def __init__(
        self,
        n: int,
        m: int | None = None,
        rank: int = 1,
        depth: int | float = 2,
        equip: bool = True,
    ):
        m = n if m is None else m
        self.n, self.m = _check_size(n, "n"), _check_size(m, "m")
        self.rank = _check_size(rank, "rank")
        if self.rank > min(self.n, self.m):
            raise ValueError(
                f"rank must be at most min(n, m) = {min(self.n, self.m)}, got {rank}"
            )
        self.depth = check_low_rank_depth(depth, self.rank, self.n, self.m)
        self.embedding_space = Matrices(self.n, self.m, equip=False)
        super().__init__(
            dim=self.rank * (self.n + self.m - self.rank),
            shape=(self.n, self.m),
            intrinsic=False,
            equip=equip,
        )

    def default_metric(self):
        """``FixedRankDLNMetric`` of the space's depth."""
        return FixedRankDLNMetric, {"depth": self.depth}

    def _check_shape(self, point, what="point"):
        if tuple(point.shape[-2:]) != (self.n, self.m):
            raise ValueError(
                f"{what} must have shape [..., {self.n}, {self.m}], "
                f"got {tuple(point.shape)}"
            )

    def frame(self, point) -> LowRankFrame:
        """Rank-r SVD frame of ``point`` with the DLN coefficients."""
        self._check_shape(point)
        return low_rank_frame(point, self.rank, self.depth)

    def belongs(self, point: ArrayLike, atol: float = gs.atol) -> ArrayLike:
        """Whether ``s_r > atol s_1`` and ``s_{r+1} <= atol s_1`` (relative).

        Returns
        -------
        belongs : array-like, shape=[...]
        """
        point = as_float_array(point, "point", "FixedRankEndToEndMatrices.belongs")
        if tuple(point.shape[-2:]) != (self.n, self.m):
            return gs.zeros(point.shape[:-2], dtype=bool) if point.ndim > 2 else False
        finite = gs.all(
            gs.reshape(gs.abs(point) < math.inf, point.shape[:-2] + (-1,)), -1
        )
        safe = gs.where(finite[..., None, None], point, gs.zeros_like(point))
        s = gs.linalg.svd(safe, compute_uv=False)
        top = s[..., 0]
        has_rank = s[..., self.rank - 1] > atol * top
        if self.rank < min(self.n, self.m):
            has_rank = gs.logical_and(has_rank, s[..., self.rank] <= atol * top)
        return gs.logical_and(has_rank, finite)

    def projection(self, point: ArrayLike) -> ArrayLike:
        """Nearest point of ``M_r`` (Eckart-Young): the rank-r truncated SVD.

        Raises ``ValueError`` when ``point`` has rank below ``r`` (``M_r`` is not
        closed: no nearest point exists).
        """
        self._check_shape(point)
        left, s, right = truncated_svd(point, self.rank)
        return gs.matmul(left * s[..., None, :], _t(right))

    def is_tangent(
        self, vector: ArrayLike, base_point: ArrayLike, atol: float = gs.atol
    ) -> ArrayLike:
        """Whether the normal block ``U_perp^T Z V_perp`` vanishes (relative to |Z|)."""
        self._check_shape(vector, "vector")
        frame = self.frame(base_point)
        normal = vector - tangent_matrix(frame, tangent_components(frame, vector))
        size = gs.maximum(gs.amax(gs.abs(vector), axis=(-2, -1)), 1.0)
        return gs.amax(gs.abs(normal), axis=(-2, -1)) <= atol * size

    def to_tangent(self, vector: ArrayLike, base_point: ArrayLike) -> ArrayLike:
        """Orthogonal (Frobenius) projection onto ``T_X M_r``:
        ``Z - U_perp U_perp^T Z V_perp V_perp^T``."""
        self._check_shape(vector, "vector")
        frame = self.frame(base_point)
        return tangent_matrix(frame, tangent_components(frame, vector))

    def random_point(self, n_samples: int = 1, bound: float = 1.0) -> ArrayLike:
        """``bound * L R^T / sqrt(r)`` with Gaussian ``L`` (n x r), ``R`` (m x r)."""
        batch = () if n_samples == 1 else (n_samples,)
        left = gs.random.normal(size=batch + (self.n, self.rank))
        right = gs.random.normal(size=batch + (self.m, self.rank))
        return bound * gs.matmul(left, _t(right)) / math.sqrt(self.rank)

    def random_tangent_vec(
        self, base_point: ArrayLike, n_samples: int = 1
    ) -> ArrayLike:
        """Gaussian matrices projected onto ``T_X M_r``."""
        self._check_shape(base_point, "base_point")
        batch = sample_batch(base_point, n_samples)
        vector = gs.random.normal(size=batch + (self.n, self.m))
        return self.to_tangent(vector, base_point)

    def tangent_basis(self, base_point) -> np.ndarray:
        """Orthonormal (Frobenius) basis of ``T_X M_r``: [dim, n, m], one point.

        The matrices ``u_i v_j^T`` (i, j <= r), ``u_perp_k v_j^T`` and
        ``u_i v_perp_l^T``, with the complements from a full SVD.
        """
        point = as_float_array(
            base_point, "base_point", "FixedRankEndToEndMatrices.tangent_basis"
        )
        if point.ndim != 2:
            raise ValueError("tangent_basis takes a single point [n, m]")
        self._check_shape(point)
        left, s, right_t = np.linalg.svd(point)
        r = self.rank
        if not s[r - 1] > max(self.n, self.m) * np.finfo(float).eps * s[0]:
            raise ValueError(f"base_point has rank below {r}")
        right = right_t.T
        basis = [
            np.outer(left[:, i], right[:, j])
            for i in range(self.n)
            for j in range(self.m)
            if i < r or j < r
        ]
        return np.stack(basis)


# ----------------------------------------------------------------------- metric
class FixedRankDLNMetric(RiemannianMetric):
    r"""The DLN metric ``g^N`` restricted to ``M_r`` (module docstring).

    Tangent vectors are dense ``n x m`` matrices; arguments that are not tangent
    are first projected onto ``T_X M_r`` by the operator methods (the normal block
    is annihilated by ``A_{N,X}`` at rank ``r``). Methods with ``_components`` in
    their names work on :class:`TangentComponents` at cost ``O((n + m) r^2)``.

    Parameters
    ----------
    space : FixedRankEndToEndMatrices
    depth : int, optional
        Defaults to ``space.depth``.
    rtol : float
        Relative tolerance of the geodesic integrator (DOP853).
    boundary_rtol : float
        Geodesics stop with :class:`~geomstats_dln.GeodesicError` when
        ``s_r / s_1`` falls below this: a further singular value reaches 0.
    max_evaluations : int
        Cap on evaluations of Hamilton's equations per geodesic.
    """

    def __init__(
        self,
        space,
        depth: int | None = None,
        rtol: float = 1e-10,
        boundary_rtol: float = 1e-6,
        max_evaluations: int = 200_000,
    ):
        super().__init__(space=space)
        depth = space.depth if depth is None else depth
        self.depth = check_low_rank_depth(depth, space.rank, space.n, space.m)
        self.rtol = float(rtol)
        self.boundary_rtol = float(boundary_rtol)
        self.max_evaluations = int(max_evaluations)

    @property
    def rank(self) -> int:
        return self._space.rank

    def frame(self, base_point) -> LowRankFrame:
        self._space._check_shape(base_point, "base_point")
        return low_rank_frame(base_point, self.rank, self.depth)

    def _apply(self, tangent_vec, base_point, power):
        self._space._check_shape(tangent_vec, "tangent_vec")
        check_finite_matrix(tangent_vec)
        frame = self.frame(base_point)
        components = tangent_components(frame, tangent_vec)
        return tangent_matrix(frame, apply_rank_operator(frame, components, power))

    def operator(self, tangent_vec: ArrayLike, base_point: ArrayLike) -> ArrayLike:
        """``A_{N,X}`` on ``T_X M_r`` (the cometric): ``a_ij`` on the core,
        ``s_j^{2(N-1)/N}`` on the mixed blocks, ``0`` on the normal block."""
        return self._apply(tangent_vec, base_point, 1.0)

    def inverse_operator(
        self, tangent_vec: ArrayLike, base_point: ArrayLike
    ) -> ArrayLike:
        """``A_{N,X}^{-1}`` on ``T_X M_r`` (vector to covector, tangent form)."""
        return self._apply(tangent_vec, base_point, -1.0)

    def inner_product(
        self, tangent_vec_a: ArrayLike, tangent_vec_b: ArrayLike, base_point: ArrayLike
    ) -> ArrayLike:
        """``g^N_X(Z_1, Z_2)`` on ``T_X M_r`` (tangent parts of the arguments).

        Returns
        -------
        inner_product : array-like, shape=[...]
        """
        for name, vector in (
            ("tangent_vec_a", tangent_vec_a),
            ("tangent_vec_b", tangent_vec_b),
        ):
            self._space._check_shape(vector, name)
            check_finite_matrix(vector)
        frame = self.frame(base_point)
        return tangent_inner_product(
            frame,
            tangent_components(frame, tangent_vec_a),
            tangent_components(frame, tangent_vec_b),
        )

    def inner_coproduct(
        self,
        cotangent_vec_a: ArrayLike,
        cotangent_vec_b: ArrayLike,
        base_point: ArrayLike,
    ) -> ArrayLike:
        """Cometric ``<P_T a, A_{N,X}(P_T b)>`` of covectors given as matrices.

        A matrix acts on ``T_X M_r`` through the Frobenius pairing, so only its
        tangent part matters; ``inner_coproduct(A^{-1}(u), A^{-1}(v)) = g(u, v)``.

        Returns
        -------
        inner_coproduct : array-like, shape=[...]
        """
        for name, vector in (
            ("cotangent_vec_a", cotangent_vec_a),
            ("cotangent_vec_b", cotangent_vec_b),
        ):
            self._space._check_shape(vector, name)
            check_finite_matrix(vector)
        frame = self.frame(base_point)
        raised = apply_rank_operator(
            frame, tangent_components(frame, cotangent_vec_a), 1.0
        )
        lowered_b = tangent_components(frame, cotangent_vec_b)
        return sum(
            gs.sum(x * y, axis=(-2, -1)) for x, y in zip(raised, lowered_b, strict=True)
        )

    def riemannian_gradient(
        self, euclidean_gradient: ArrayLike, base_point: ArrayLike
    ) -> ArrayLike:
        """``grad_g E = A_{N,X}(P_T E'(X))``: the tangent part of ``A(E')``, the
        velocity ``-X'`` of Thm 3 at rank ``r``."""
        return self.operator(euclidean_gradient, base_point)

    # ------------------------------------------------------------- geodesics
    def hamiltonian(self, point, momentum):
        """``H(X, P) = 1/2 <P, A_X(P)>`` on ``M_r`` (``A_X`` annihilates the
        normal block of ``P``)."""
        frame = self.frame(point)
        components = tangent_components(frame, momentum)
        raised = apply_rank_operator(frame, components, 1.0)
        return 0.5 * tangent_inner_product(frame, raised, raised)

    def hamiltonian_vector_field(
        self, point: ArrayLike, momentum: ArrayLike
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(X', P') = (A_X(P), -dH/dX)`` on ``M_r``, batched ``[..., n, m]``.

        ``dH/dX`` is the gradient along ``T_X M_r`` of ``H`` (closed form,
        :func:`rank_hamiltonian_gradient`); ``P`` may have a normal block.
        """
        self._space._check_shape(point, "point")
        self._space._check_shape(momentum, "momentum")
        where = "FixedRankDLNMetric.hamiltonian_vector_field"
        frame = _numpy_frame(
            as_float_array(point, "point", where), self.rank, self.depth
        )
        velocity, gradient = rank_hamiltonian_gradient(
            frame, as_float_array(momentum, "momentum", where)
        )
        return velocity, -gradient

    def _integrate(self, points, momenta, times):
        """Hamilton's equations for a flat batch ``[k, n, m]`` on ``[0, times[-1]]``
        (one system), states at the sorted ``times``: ``[len(times), k, n, m]``."""
        n, m = self._space.n, self._space.m
        batch = points.shape[0]
        size = batch * n * m
        r = self.rank
        evaluations = 0

        def field(_, state):
            nonlocal evaluations
            evaluations += 1
            if evaluations > self.max_evaluations:
                raise GeodesicError(
                    f"geodesic needed more than {self.max_evaluations} evaluations"
                )
            x = state[:size].reshape(batch, n, m)
            p = state[size:].reshape(batch, n, m)
            frame = _numpy_frame(x, r, self.depth)
            velocity, gradient = rank_hamiltonian_gradient(frame, p)
            return np.concatenate([np.ravel(velocity), -np.ravel(gradient)])

        def boundary(_, state):
            s = np.linalg.svd(state[:size].reshape(batch, n, m), compute_uv=False)
            return float(np.min(s[:, r - 1] / s[:, 0])) - self.boundary_rtol

        boundary.terminal = True
        boundary.direction = -1
        start = np.concatenate([np.ravel(points), np.ravel(momenta)])
        if times[-1] == 0.0:
            return np.broadcast_to(points, (len(times),) + points.shape).copy()
        with single_threaded_blas():  # thousands of tiny products
            solution = solve_ivp(
                field,
                (0.0, float(times[-1])),
                start,
                method="DOP853",
                t_eval=times,
                rtol=self.rtol,
                atol=self.rtol * 1e-2 * max(1.0, float(np.max(np.abs(points)))),
                events=boundary,
            )
        if solution.status == 1:
            hit = float(solution.t_events[0][0])
            raise GeodesicError(
                f"the geodesic reaches the boundary of M_{r} at t = {hit:.6g}: "
                f"singular value s_{r} falls to {self.boundary_rtol:.1e} s_1 (it "
                f"leaves rank {r} for rank {r - 1}; g^N is incomplete)"
            )
        if solution.status != 0:
            raise GeodesicError(f"geodesic integration failed: {solution.message}")
        return solution.y[:size].T.reshape((len(times), batch, n, m))

    def _prepare(self, tangent_vec, base_point):
        """Broadcast, validate and flatten: ``(points, momenta, batch_shape)``."""
        space = self._space
        space._check_shape(tangent_vec, "tangent_vec")
        space._check_shape(base_point, "base_point")
        point = np.asarray(check_finite_matrix(base_point), dtype=float)
        vector = np.asarray(check_finite_matrix(tangent_vec), dtype=float)
        vector, point = np.broadcast_arrays(vector, point)
        batch_shape = point.shape[:-2]
        points = point.reshape((-1, space.n, space.m))
        vectors = vector.reshape((-1, space.n, space.m))
        if not np.all(space.belongs(points, atol=1e-9)):
            raise ValueError(f"base_point does not have rank {self.rank}")
        frame = low_rank_frame(points, self.rank, self.depth)
        tangent = np.asarray(tangent_matrix(frame, tangent_components(frame, vectors)))
        normal = np.linalg.norm(vectors - tangent, axis=(-2, -1))
        size = np.maximum(1.0, np.linalg.norm(vectors, axis=(-2, -1)))
        if np.any(normal > 1e-8 * size):
            raise ValueError(
                "tangent_vec is not tangent to M_r at base_point: its normal block "
                f"U_perp^T Z V_perp has norm {float(np.max(normal)):.3e}"
            )
        momenta = tangent_matrix(
            frame, apply_rank_operator(frame, tangent_components(frame, tangent), -1.0)
        )
        return points, np.asarray(momenta), batch_shape

    def geodesic_points(self, tangent_vec, base_point, times) -> np.ndarray:
        """Points ``exp(t V)`` of one integration at nonnegative sorted ``times``.

        Returns
        -------
        points : ndarray, shape=[..., len(times), n, m]
        """
        times = np.asarray(times, dtype=float)
        if times.ndim != 1 or np.any(times < 0) or np.any(np.diff(times) < 0):
            raise ValueError(
                "times must be a 1-D array of nonnegative nondecreasing values"
            )
        points, momenta, batch_shape = self._prepare(tangent_vec, base_point)
        unique, index = np.unique(times, return_inverse=True)
        path = self._integrate(points, momenta, unique)[index]
        path = np.moveaxis(path, 0, 1)
        return path.reshape(batch_shape + path.shape[1:])

    def exp(self, tangent_vec: ArrayLike, base_point: ArrayLike) -> ArrayLike:
        """End point at time 1 of the geodesic of ``(M_r, g^N)``.

        Parameters
        ----------
        tangent_vec : array-like, shape=[..., n, m]
            Tangent to ``M_r`` at ``base_point`` (else ``ValueError``).
        base_point : array-like, shape=[..., n, m]

        Returns
        -------
        end_point : array-like, shape=[..., n, m]
            Raises :class:`~geomstats_dln.GeodesicError` when a further singular
            value reaches 0 before time 1 (batches: any member).
        """
        points, momenta, batch_shape = self._prepare(tangent_vec, base_point)
        end = self._integrate(points, momenta, np.array([1.0]))[-1]
        return gs.array(end.reshape(batch_shape + end.shape[-2:]))

    def geodesic(
        self,
        initial_point: ArrayLike,
        end_point: ArrayLike | None = None,
        initial_tangent_vec: ArrayLike | None = None,
    ):
        """Geodesic ``t -> exp_X(t V)``, with ``V = log_X(Y)`` given an end point.

        ``path(t)`` for ``t`` of shape ``[T]`` returns ``[..., T, n, m]``; all
        times (and batch members) are integrated as one system.
        """
        if (end_point is None) == (initial_tangent_vec is None):
            raise ValueError("give exactly one of end_point and initial_tangent_vec")
        if end_point is not None:
            initial_tangent_vec = self.log(end_point, initial_point)
        vectors = as_float_array(
            initial_tangent_vec, "initial_tangent_vec", "FixedRankDLNMetric.geodesic"
        )
        points = as_float_array(
            initial_point, "initial_point", "FixedRankDLNMetric.geodesic"
        )
        self._prepare(vectors, points)  # validate once, with clear errors

        def path(t):
            times = np.atleast_1d(np.asarray(t, dtype=float))
            if times.ndim != 1:
                raise ValueError(f"t must be a scalar or 1-D array, got {times.shape}")
            scaled = times[:, None, None] * vectors[..., None, :, :]
            return self.exp(scaled, points[..., None, :, :])

        return path

    def log(
        self,
        point: ArrayLike,
        base_point: ArrayLike,
        tol: float = 1e-9,
        max_iter: int = 30,
    ) -> ArrayLike:
        """Logarithm by Newton shooting in tangent coordinates.

        For each batch member: starts from the tangent projection of
        ``point - base_point`` and solves ``exp(V) = Y`` for ``V`` in an
        orthonormal basis of ``T_X M_r``; the finite-difference Jacobian takes
        one batched integration of ``dim + 1`` geodesics per iteration (meant
        for small matrices); a step whose trial geodesics leave ``M_r`` is
        halved. Raises :class:`~geomstats_dln.GeodesicError` when it does not
        converge.

        Parameters
        ----------
        point, base_point : array-like, shape=[..., n, m]

        Returns
        -------
        tangent_vec : array-like, shape=[..., n, m]
        """
        space = self._space
        space._check_shape(point, "point")
        space._check_shape(base_point, "base_point")
        target = np.asarray(check_finite_matrix(point), dtype=float)
        base = np.asarray(check_finite_matrix(base_point), dtype=float)
        target, base = np.broadcast_arrays(target, base)
        batch_shape = target.shape[:-2]
        targets = target.reshape((-1, space.n, space.m))
        bases = base.reshape((-1, space.n, space.m))
        for name, value in (("point", targets), ("base_point", bases)):
            if not np.all(space.belongs(value, atol=1e-9)):
                raise ValueError(f"{name} does not have rank {self.rank}")
        logs = [
            self._log_single(y, x, tol, max_iter)
            for y, x in zip(targets, bases, strict=True)
        ]
        return gs.array(np.stack(logs).reshape(batch_shape + target.shape[-2:]))

    def _log_single(self, target, base, tol, max_iter):
        """Damped Newton: the full step is halved until the residual decreases."""
        basis = self._space.tangent_basis(base)
        dim = len(basis)
        coordinates = basis.reshape(dim, -1) @ (target - base).ravel()
        scale = max(1.0, float(np.linalg.norm(target)))

        def ends_at(trials):
            return np.asarray(self.exp(np.tensordot(trials, basis, 1), base[None]))

        try:
            error = ends_at(coordinates[None])[0] - target
        except GeodesicError:  # the first guess overshoots into M_{r-1}
            coordinates, error = 0.0 * coordinates, base - target
        for _ in range(max_iter):
            residual = float(np.linalg.norm(error))
            if residual <= tol * scale:
                return np.tensordot(coordinates, basis, 1)
            step = 1e-6 * max(1.0, float(np.linalg.norm(coordinates)))
            shifted = coordinates[None] + step * np.eye(dim)
            jacobian = (ends_at(shifted) - (error + target)).reshape(dim, -1).T / step
            update = np.linalg.lstsq(jacobian, -error.ravel(), rcond=None)[0]
            for _ in range(30):
                try:
                    trial_error = ends_at((coordinates + update)[None])[0] - target
                    if np.linalg.norm(trial_error) < residual:
                        break
                except GeodesicError:
                    pass
                update = 0.5 * update
            else:
                break
            coordinates, error = coordinates + update, trial_error
        raise GeodesicError(
            f"log on M_{self.rank} did not converge in {max_iter} Newton iterations"
        )


# ------------------------------------------------ Hamiltonian force in closed form
def _numpy_frame(points, rank, depth) -> LowRankFrame:
    """Rank-r frame of a NumPy batch without the rank test (integrator hot path)."""
    left, s, right_t = np.linalg.svd(points, full_matrices=False)
    s = s[..., :rank]
    coefficients, null_coefficients = _coefficients(s, depth, np)
    return LowRankFrame(
        left[..., :, :rank],
        s,
        np.swapaxes(right_t[..., :rank, :], -1, -2),
        coefficients,
        null_coefficients,
        depth,
    )


def _power_ratios(x, depth):
    """``g_q(x_k, x_l) = h_{q-1}(x_k, x_l) / h_{N-1}(x_k, x_l)``, ``q = 0..N-1``.

    ``h_q(x, y) = sum_{a+b=q} x^a y^b``; with ``lam = x^N`` (``x = s^{2/N}``),
    ``g_q`` is the divided difference of ``lam -> lam^{q/N}`` at ``lam_k, lam_l``
    (``g_0 = 0``): sums of positive terms, exact when ``x_k ~ x_l``.
    Shape ``[N, ..., r, r]``.
    """
    x_k, x_l = x[..., :, None], x[..., None, :]
    table = [np.ones(np.broadcast_shapes(x_k.shape, x_l.shape))]
    power_l = np.ones_like(x_l)
    for _ in range(1, depth):
        power_l = power_l * x_l
        table.append(x_k * table[-1] + power_l)
    table = np.stack(table)
    ratios = np.zeros_like(table)
    ratios[1:] = table[:-1] / table[-1]
    return ratios


def rank_hamiltonian_gradient(frame: LowRankFrame, momentum):
    r"""``(A_X(P), dH/dX)`` on ``M_r`` for ``H = 1/2 <P, A_X(P)>``, batched.

    With ``R = U^T P V``, ``l = (I - U U^T) P V``, ``rho = (I - V V^T) P^T U``,
    ``Nrm = (I - U U^T) P (I - V V^T)``, ``c = s^{2(N-1)/N}``, and ``D[k, l, j]``
    the divided difference of ``a(., s_j)`` in ``s^2`` at ``s_k^2, s_l^2``,
    differentiating ``H`` along ``T_X M_r`` (first-order SVD perturbation
    ``s' = diag(A)``, ``U' = U Om + B S^{-1}``, ``V' = V Th + C S^{-1}``) gives
    ``dH/dX = U G_A V^T + G_B V^T + U G_C^T`` with

    .. math::
        G_A = T_1 S + S T_2, \quad
        T_{1,kl} = \sum_j D_{klj} R_{kj} R_{lj} + (\rho^T \rho)_{kl} D^c_{kl}, \quad
        T_{2,kl} = \sum_i D_{kli} R_{ik} R_{il} + (l^T l)_{kl} D^c_{kl},

    .. math::
        G_B = \big(l\,((a - c \mathbf 1^T) \circ R^T) + Nrm\,\rho\,C\big) S^{-1},
        \qquad
        G_C = \big(\rho\,((a - c \mathbf 1^T) \circ R) + Nrm^T l\,C\big) S^{-1}

    (``D^c`` the divided difference of ``c``). This is the full-rank
    Daleckii-Krein force of MATH §3 with the zero singular values set to 0, the
    null-null block dropped. Cost ``O(n m r + (n + m) r^2 + N r^3)``; tested
    against central differences of ``H`` along curves in ``M_r``. Complex
    ``momentum``: ``TypeError``.
    """
    momentum = _real(momentum, "momentum", "rank_hamiltonian_gradient")
    left, s, right = frame.left, frame.singular_values, frame.right
    a, c, depth = frame.coefficients, frame.null_coefficients, frame.depth
    momentum_t = momentum.swapaxes(-1, -2)
    p_right = momentum @ right  # P V [..., n, r]
    p_left = momentum_t @ left  # P^T U [..., m, r]
    core = left.swapaxes(-1, -2) @ p_right  # R
    core_t = core.swapaxes(-1, -2)
    ell = p_right - left @ core
    rho = p_left - right @ core_t
    x = s ** (2.0 / depth)
    ratios = _power_ratios(x, depth)
    t_1 = (rho.swapaxes(-1, -2) @ rho) * ratios[-1]
    t_2 = (ell.swapaxes(-1, -2) @ ell) * ratios[-1]
    weight = np.ones_like(x)
    for q in range(depth - 1, 0, -1):  # weights x^{N-1-q}
        t_1 = t_1 + ratios[q] * ((core * weight[..., None, :]) @ core_t)
        t_2 = t_2 + ratios[q] * ((core_t * weight[..., None, :]) @ core)
        weight = weight * x
    shifted = a - c[..., :, None]  # a(s_j, s_k) - a(s_j, 0)
    normal_rho = momentum @ rho - left @ (p_left.swapaxes(-1, -2) @ rho)
    normal_ell = momentum_t @ ell - right @ (p_right.swapaxes(-1, -2) @ ell)
    c_row, s_row = c[..., None, :], s[..., None, :]
    # velocity A_X(P) and force dH/dX assembled together: U core V^T + B V^T + U C^T
    cores = np.stack([a * core, t_1 * s_row + s[..., :, None] * t_2])
    lefts = np.stack(
        [ell * c_row, (ell @ (shifted * core_t) + normal_rho * c_row) / s_row]
    )
    rights = np.stack(
        [rho * c_row, (rho @ (shifted * core) + normal_ell * c_row) / s_row]
    )
    dense = (left @ cores + lefts) @ right.swapaxes(-1, -2) + left @ rights.swapaxes(
        -1, -2
    )
    return dense[0], dense[1]
