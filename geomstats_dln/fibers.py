r"""Fibers of the end-to-end map, the ``GL(d)^{N-1}`` action and regularizers.

``docs/mathematics.md`` §6 (balancedness paper §1.2-2.5, §3). For a full-rank
``X`` the fiber ``F_X = phi^{-1}(X)`` is one orbit of ``GL(d)^{N-1}`` acting by

    ``A.W = (W_N A_{N-1}^{-1}, ..., A_k W_k A_{k-1}^{-1}, ..., A_1 W_1)``

(:func:`gl_action`), an embedded submanifold of parameter space of dimension
``(N-1) d^2`` with the induced Frobenius metric (:class:`Fiber`). Its tangent
space at ``W`` is ``{w_a : a in gl(d)^{N-1}}`` with
``(w_a)_k = a_k W_k - W_k a_{k-1}``, ``a_0 = a_N = 0``
(:func:`fiber_tangent_vector`), which equals ``ker dphi_W``.

Three linear maps carry the geometry (all checked numerically in
``tests/test_fibers.py``):

- ``w : a -> w_a`` and its Frobenius adjoint
  ``w^*(V)_k = V_k W_k^T - W_{k+1}^T V_{k+1}`` (:func:`fiber_adjoint`);
  ``w^*(W) = G``, the moments;
- the operator of balancedness Def. 8 (:func:`fiber_operator`),
  ``H_k(c) = -W_k c_{k-1} W_k^T + c_k W_k W_k^T + W_{k+1}^T W_{k+1} c_k
  - W_{k+1}^T c_{k+1} W_{k+1}``, which is ``H = w^* w`` (Lemma 3:
  ``<w_b, w_a> = sum_k <H_k(b), a_k>``), symmetric positive definite on
  ``gl(d)^{N-1}`` when ``X`` has full rank;
- ``dG(w_c) = H(c) + H(c)^T`` (Lemma 4).

The Riemannian gradient on ``F_X`` of ``F`` with Euclidean gradient ``E`` is the
orthogonal projection of ``E`` onto ``T_W F_X``: ``w_b`` with ``H(b) = w^*(E)``
(Lemma 5 for ``F = 1/2 |W|^2``, where ``w^*(W) = G``). :func:`fiber_projection`
computes it two ways:

- ``method="operator"``: ``H(b) = w^*(E)`` on ``(N-1) d^2`` unknowns by
  preconditioned conjugate gradients, ``O(N d^3)`` per iteration
  (:func:`solve_fiber_operator`, block-Jacobi Sylvester preconditioner); the
  result is exactly tangent (``dphi(w_b) = 0`` to rounding);
- ``method="normal"`` (default): ``E - dphi^*(Z)`` with
  ``A_W(Z) = sum_k above_k above_k^T Z below_k^T below_k = dphi(E)`` on only
  ``d^2`` unknowns (``T_W F_X = ker dphi_W``, whose complement is the range of
  ``dphi^*``), solved directly (dense ``d^2 x d^2`` Cholesky, ``O(N d^4 +
  d^6)``, no iteration) or by conjugate gradients preconditioned by its first
  and last terms (a Sylvester equation, exact at ``N = 2``). The removed part
  ``dphi^*(Z)`` is a lifted gradient, so it leaves every moment unchanged
  whatever the solver's accuracy (survey Thm 1a). Measured (one thread, one
  L2 velocity): 0.2-0.4 ms at ``d = 12, N = 6`` (direct; 20-30x a dense solve
  of ``H``) and 13-18 ms at ``d = 32, N = 8`` (CG), against 20-35 ms and
  120-150 ms for CG on ``H``.

Over F = C (complex input, selected by the dtype; balancedness §1.1 works over
C, docs/mathematics.md "The complex network"): ``GL(d; C)^{N-1}`` acts by the
same formula, every ``^T`` above becomes a conjugate transpose ``^*``
(``w^*(V)_k = V_k W_k^* - W_{k+1}^* V_{k+1}``, ``H`` of Def. 8 with ``^*``),
and the inner product is ``Re tr(A^* B)``. ``H`` is then C-linear, Hermitian
and positive definite, so the CG and banded solves carry over; the fiber of a
complex ``X`` has real dimension ``2 (N-1) d^2``. Measured (one thread,
``fiber_projection`` of one point): 1.1x the real time at ``d = 4, N = 4``,
4x at ``d = 12, N = 6`` (direct), 2x with CG.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

import geomstats.backend as gs
from geomstats.geometry.group_action import GroupAction
from geomstats.geometry.manifold import Manifold

from geomstats_dln._spectral import check_full_rank
from geomstats_dln._validation import (
    as_field_array,
    broadcast_batch,
    check_finite,
    check_parameters,
)
from geomstats_dln._validation import (
    check_full_rank as check_full_rank_over_field,
)
from geomstats_dln.balanced import center
from geomstats_dln.parameters import (
    DLNParameterSpace,
    FrobeniusMetric,
    end_to_end,
    moments,
    partial_products,
)

__all__ = [
    "Fiber",
    "FiberMetric",
    "FiberSolverError",
    "FrobeniusRegularizer",
    "GLAction",
    "MomentRegularizer",
    "Regularizer",
    "SchattenRegularizer",
    "fiber_adjoint",
    "fiber_operator",
    "fiber_projection",
    "fiber_tangent_vector",
    "gl_action",
    "solve_fiber_operator",
]

PROJECTION_METHODS = ("normal", "operator")
PROJECTION_SOLVERS = ("auto", "direct", "cg")
OPERATOR_SOLVERS = ("auto", "banded", "cg")
BANDED_MAX_WIDTH = 8  # "auto": banded Cholesky of H up to this width
DIRECT_MAX_WIDTH = 24  # "auto": dense normal equations up to this width
DEFAULT_TOL = 1e-12


class FiberSolverError(RuntimeError):
    """Preconditioned conjugate gradients did not reach the requested residual."""


def _adjoint(matrix):
    """``M^*``: the transpose over R (the real code path, unchanged), the
    conjugate transpose over C."""
    transposed = np.swapaxes(matrix, -1, -2)
    return np.conj(transposed) if np.iscomplexobj(transposed) else transposed


def _abs2(array):
    """``|a|^2`` entrywise (real)."""
    if np.iscomplexobj(array):
        return array.real**2 + array.imag**2
    return array**2


def _as_parameters(parameters, function: str = ""):
    # finite: every map below ends in an SVD, an eigendecomposition or a CG
    # loop, which hang or return finite garbage on inf/NaN; real or complex
    # by the dtype (F = R or C)
    parameters = np.asarray(as_field_array(parameters, "parameters", function))
    depth, dim = check_parameters(parameters)
    check_finite(parameters, "parameters", function)
    return parameters, depth, dim


def _check_algebra(algebra, depth, dim, name):
    """``algebra`` must have shape ``[..., N-1, d, d]``."""
    algebra = np.asarray(as_field_array(algebra, name))
    check_finite(algebra, name)
    if algebra.ndim < 3 or tuple(algebra.shape[-3:]) != (depth - 1, dim, dim):
        raise ValueError(
            f"{name} must have shape [..., N-1, d, d] = [..., {depth - 1}, {dim}, "
            f"{dim}] for parameters of depth N = {depth} and width d = {dim}, got "
            f"{tuple(algebra.shape)}"
        )
    return algebra


def _check_layers(vector, depth, dim, name):
    """``vector`` must have the parameter shape ``[..., N, d, d]``."""
    vector = np.asarray(as_field_array(vector, name))
    check_finite(vector, name)
    if vector.ndim < 3 or tuple(vector.shape[-3:]) != (depth, dim, dim):
        raise ValueError(
            f"{name} must have shape [..., N, d, d] = [..., {depth}, {dim}, {dim}] "
            f"like the parameters, got {tuple(vector.shape)}"
        )
    return vector


def _pad(algebra):
    """``(a_0, a_1, ..., a_{N-1}, a_N)`` with ``a_0 = a_N = 0`` along axis -3."""
    zeros = np.zeros(algebra.shape[:-3] + (1,) + algebra.shape[-2:], algebra.dtype)
    return np.concatenate([zeros, algebra, zeros], axis=-3)


def _inner(a, b, n_axes):
    """``Re sum conj(a) b`` over the trailing ``n_axes`` (``sum a b`` over R)."""
    if np.iscomplexobj(a) or np.iscomplexobj(b):
        return np.sum((np.conj(a) * b).real, axis=tuple(range(-n_axes, 0)))
    return np.sum(a * b, axis=tuple(range(-n_axes, 0)))


# --------------------------------------------------------------------- action
def gl_action(matrices, parameters):
    """Action of ``GL(d)^{N-1}`` on parameters (MATH §6, balancedness (1.6)).

    ``A.W = (W_N A_{N-1}^{-1}, ..., A_k W_k A_{k-1}^{-1}, ..., A_1 W_1)``
    (``A_0 = A_N = I``); preserves the end-to-end matrix, and for full-rank
    ``X`` its orbits are exactly the fibers ``F_X`` (balancedness Lemma 1).
    Complex ``A_k`` or ``W``: the action of ``GL(d; C)^{N-1}``.

    Parameters
    ----------
    matrices : array-like, shape=[..., N-1, d, d]
        ``matrices[k-1] = A_k``, invertible.
    parameters : array-like, shape=[..., N, d, d]

    Returns
    -------
    acted : ndarray, shape=[..., N, d, d]

    Raises
    ------
    ValueError
        On wrong shapes, or naming the first singular ``A_k`` (smallest
        singular value ``<= d eps`` times the largest, or non-finite entries).
    """
    parameters, depth, dim = _as_parameters(parameters)
    matrices = _check_algebra(matrices, depth, dim, "matrices")
    if depth == 1:
        return np.broadcast_to(parameters, matrices.shape[:-3] + parameters.shape[-3:])
    finite = np.all(np.isfinite(matrices), axis=(-2, -1))
    singular_values = np.linalg.svd(
        np.where(finite[..., None, None], matrices, 0.0), compute_uv=False
    )
    bad = ~finite | ~(
        singular_values[..., -1] > dim * np.finfo(float).eps * singular_values[..., 0]
    )
    if np.any(bad):
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        layer = index[-1] + 1
        raise ValueError(
            f"matrices{list(index)} = A_{layer} is singular or not finite "
            f"(smallest singular value {float(singular_values[index][-1]):.3e}, "
            f"largest {float(singular_values[index][0]):.3e}): the GL(d)^(N-1) "
            "action needs invertible matrices"
        )
    eye = np.broadcast_to(np.eye(dim), matrices.shape[:-3] + (1, dim, dim))
    left = np.concatenate([matrices, eye], axis=-3)  # A_k, k = 1..N
    right = np.concatenate([eye, np.linalg.inv(matrices)], axis=-3)  # A_{k-1}^-1
    return left @ parameters @ right


class GLAction(GroupAction):
    """The group ``GL(d)^{N-1}`` acting on parameters (MATH §6).

    ``group_elem`` has shape ``[..., N-1, d, d]`` (``A_1, ..., A_{N-1}``); see
    :func:`gl_action`. Its orbits through full-rank points are the fibers of
    the end-to-end map; :class:`~geomstats_dln.balanced.GaugeAction` is its
    restriction to ``O(d)^{N-1}``.
    """

    def __call__(self, group_elem, point):
        return gl_action(group_elem, point)


# ------------------------------------------------------------- linear maps
def fiber_tangent_vector(algebra, parameters):
    """``(w_a)_k = a_k W_k - W_k a_{k-1}``, ``a_0 = a_N = 0`` (MATH §6).

    The velocity at ``t = 0`` of ``t -> exp(t a).W`` (balancedness (2.2)); for
    full-rank ``X`` these vectors span ``T_W F_X = ker dphi_W``.

    Parameters
    ----------
    algebra : array-like, shape=[..., N-1, d, d]
        ``a`` in ``gl(d)^{N-1}``, ``algebra[k-1] = a_k`` (any matrices).
    parameters : array-like, shape=[..., N, d, d]

    Returns
    -------
    tangent_vec : ndarray, shape=[..., N, d, d]
    """
    parameters, depth, dim = _as_parameters(parameters)
    padded = _pad(_check_algebra(algebra, depth, dim, "algebra"))
    return padded[..., 1:, :, :] @ parameters - parameters @ padded[..., :-1, :, :]


def fiber_adjoint(vector, parameters):
    """Adjoint of ``a -> w_a``: ``w^*(V)_k = V_k W_k^T - W_{k+1}^T V_{k+1}``.

    ``<V, w_a> = sum_k <w^*(V)_k, a_k>`` (MATH §6); ``w^*(W) = G`` (the moments)
    and ``w^*`` vanishes on the normal space ``(T_W F_X)^perp``.

    Parameters
    ----------
    vector : array-like, shape=[..., N, d, d]
    parameters : array-like, shape=[..., N, d, d]

    Returns
    -------
    covector : ndarray, shape=[..., N-1, d, d]
    """
    parameters, depth, dim = _as_parameters(parameters)
    vector = _check_layers(vector, depth, dim, "vector")
    return vector[..., :-1, :, :] @ _adjoint(parameters[..., :-1, :, :]) - (
        _adjoint(parameters[..., 1:, :, :]) @ vector[..., 1:, :, :]
    )


def fiber_operator(algebra, parameters):
    r"""The operator ``H`` of balancedness Def. 8 (MATH §6).

    ``H_k(c) = -W_k c_{k-1} W_k^T + c_k W_k W_k^T + W_{k+1}^T W_{k+1} c_k
    - W_{k+1}^T c_{k+1} W_{k+1}``, ``c_0 = c_N = 0``, ``k = 1..N-1``. It is
    ``w^* w`` (Lemma 3: ``<w_b, w_a> = sum_k <H_k(b), a_k>``), hence symmetric
    positive semi-definite on ``gl(d)^{N-1}`` with the Frobenius inner product,
    and definite when ``X = phi(W)`` has full rank; ``dG(w_c) = H(c) + H(c)^T``
    (Lemma 4).

    Parameters
    ----------
    algebra : array-like, shape=[..., N-1, d, d]
        ``c``, ``algebra[k-1] = c_k``.
    parameters : array-like, shape=[..., N, d, d]

    Returns
    -------
    image : ndarray, shape=[..., N-1, d, d]
        ``image[k-1] = H_k(c)``.
    """
    parameters, depth, dim = _as_parameters(parameters)
    algebra = _check_algebra(algebra, depth, dim, "algebra")
    padded = _pad(algebra)
    lower, upper = parameters[..., :-1, :, :], parameters[..., 1:, :, :]
    return (
        -lower @ padded[..., :-2, :, :] @ _adjoint(lower)
        + algebra @ lower @ _adjoint(lower)
        + _adjoint(upper) @ upper @ algebra
        - _adjoint(upper) @ padded[..., 2:, :, :] @ upper
    )


def _dense_fiber_operator_matrix(parameters):
    """Dense matrix of ``H`` (MATH §6) for tests and benchmarks, one point.

    Row-major vectorization of ``c`` (``c[k-1, i, j]`` at index
    ``((k-1) d + i) d + j``), built block by block from Kronecker products
    (``vec(A c B) = (A kron B^T) vec(c)``): diagonal blocks
    ``I kron W_k W_k^T + W_{k+1}^T W_{k+1} kron I``, off-diagonal
    ``-(W_k kron W_k)`` at ``(k, k-1)`` and ``-(W_{k+1}^T kron W_{k+1}^T)`` at
    ``(k, k+1)``.

    Returns
    -------
    matrix : ndarray, shape=[(N-1) d^2, (N-1) d^2]
    """
    parameters, depth, dim = _as_parameters(parameters)
    if parameters.ndim != 3:
        raise ValueError(
            f"the dense operator takes one point [N, d, d], got {parameters.shape}"
        )
    size = dim * dim
    eye = np.eye(dim)
    matrix = np.zeros(((depth - 1) * size, (depth - 1) * size))
    for k in range(1, depth):  # block row of c_k
        w_k, w_next = parameters[k - 1], parameters[k]
        rows = slice((k - 1) * size, k * size)
        matrix[rows, rows] = np.kron(eye, w_k @ w_k.T) + np.kron(w_next.T @ w_next, eye)
        if k > 1:
            matrix[rows, (k - 2) * size : (k - 1) * size] = -np.kron(w_k, w_k)
        if k < depth - 1:
            matrix[rows, k * size : (k + 1) * size] = -np.kron(w_next.T, w_next.T)
    return matrix


# ---------------------------------------------------------- conjugate gradients
def _pcg(apply, precondition, rhs, n_axes, tol, maxiter, what):
    """Batched preconditioned conjugate gradients for ``apply(x) = rhs``.

    Each problem (the leading axes; the trailing ``n_axes`` hold one unknown)
    stops when its recursively updated residual satisfies
    ``|r| <= tol |rhs|``; converged problems are frozen. Returns the solution,
    the iterations used and the true relative residuals ``|apply(x) - rhs| /
    |rhs|``. Raises :class:`FiberSolverError` after ``maxiter`` iterations.
    """
    axes = tuple(range(-n_axes, 0))
    rhs_norm = np.sqrt(np.sum(_abs2(rhs), axis=axes))
    solution = np.zeros(rhs.shape, rhs.dtype)
    residual = rhs.copy()
    active = rhs_norm > 0
    iterations = 0
    if np.any(active):
        precond = precondition(residual)
        direction = precond
        rz = _inner(residual, precond, n_axes)
        while True:
            image = apply(direction)
            curvature = _inner(direction, image, n_axes)
            if np.any(active & ~(curvature > 0)):
                raise FiberSolverError(
                    f"{what}: the operator is not positive definite along a search "
                    f"direction (curvature {float(np.min(curvature)):.3e}); is "
                    "X = phi(W) rank-deficient?"
                )
            step = np.where(active, rz / np.where(active, curvature, 1.0), 0.0)
            expand = (Ellipsis,) + (None,) * n_axes
            solution = solution + step[expand] * direction
            residual = residual - step[expand] * image
            iterations += 1
            residual_norm = np.sqrt(np.sum(_abs2(residual), axis=axes))
            active = active & (residual_norm > tol * rhs_norm)
            if not np.any(active):
                break
            if iterations >= maxiter:
                worst = float(np.max(residual_norm / np.where(active, rhs_norm, 1)))
                raise FiberSolverError(
                    f"{what}: conjugate gradients did not converge in {maxiter} "
                    f"iterations (relative residual {worst:.3e} > tol = {tol:g}); "
                    "X = phi(W) may be (nearly) rank-deficient: raise maxiter or tol"
                )
            precond = precondition(residual)
            rz_new = _inner(residual, precond, n_axes)
            ratio = np.where(active, rz_new / np.where(active, rz, 1.0), 0.0)
            direction = precond + ratio[expand] * direction
            rz = rz_new
    true_residual = np.sqrt(np.sum(_abs2(apply(solution) - rhs), axis=axes))
    return solution, iterations, true_residual / np.where(rhs_norm > 0, rhs_norm, 1)


def _check_solver_options(tol, maxiter, size):
    tol = float(tol)
    if not 0 < tol < 1:
        raise ValueError(f"tol must lie in (0, 1), got {tol}")
    if maxiter is None:
        maxiter = 4 * size + 100
    if int(maxiter) != maxiter or maxiter < 1:
        raise ValueError(f"maxiter must be a positive integer, got {maxiter}")
    return tol, int(maxiter)


def _sylvester_solver(left, right):
    """``y -> x`` solving ``left x + x right = y`` (symmetric PSD ``left``,
    ``right`` with ``left_i + right_j > 0``), by two eigendecompositions."""
    left_values, left_vectors = np.linalg.eigh(left)
    right_values, right_vectors = np.linalg.eigh(right)
    denominator = left_values[..., :, None] + right_values[..., None, :]
    floor = np.finfo(float).tiny
    denominator = np.maximum(denominator, floor)

    def solve(rhs):
        rotated = _adjoint(left_vectors) @ rhs @ right_vectors
        return left_vectors @ (rotated / denominator) @ _adjoint(right_vectors)

    return solve


def solve_fiber_operator(
    rhs,
    parameters,
    tol: float = DEFAULT_TOL,
    maxiter: int | None = None,
    preconditioner: str | None = "block_jacobi",
    return_info: bool = False,
    solver: str = "auto",
):
    r"""Solve ``H(b) = C`` for ``b`` in ``gl(d)^{N-1}`` (MATH §6, Def. 8, Lemma 5).

    ``H = w^* w`` is symmetric positive definite when ``X = phi(W)`` has full
    rank, and block tridiagonal in the layer index (``H_k`` involves
    ``c_{k-1}, c_k, c_{k+1}`` only). Two solvers:

    - ``"cg"``: preconditioned conjugate gradients; each application is
      ``w^*(w_c)``, four batched products of ``d x d`` matrices per layer,
      ``O(N d^3)``; no ``(N-1) d^2`` matrix is formed. The condition number of
      ``H`` grows like ``N^2`` (a discrete Laplacian along the chain), so the
      iteration count grows like ``N``: ``O(N^2 d^3)`` in all.
    - ``"banded"``: Cholesky of ``H`` stored as a band of half-width
      ``2 d^2 - 1`` (``scipy.linalg.solveh_banded``), ``O(N d^6)``, no
      iteration; at ``N = 1000`` it takes milliseconds where CG takes minutes.
    - ``"auto"`` (default): banded when ``d <= 8`` and ``N - 1 >= d^3``
      (where its ``N d^6`` undercuts CG's ``N^2 d^3``), CG otherwise.

    Over C (complex parameters or right-hand side) ``H`` has conjugate
    transposes, is C-linear and Hermitian: CG runs with the inner product
    ``Re tr(A^* B)`` and the banded Cholesky factors the complex Hermitian band.

    Convergence criterion: the recursively updated residual ``r`` of each
    system satisfies ``|r|_F <= tol |C|_F`` (relative residual). The number of
    iterations grows with the condition number of ``H``, i.e. with that of
    the layers and of ``X``.

    Parameters
    ----------
    rhs : array-like, shape=[..., N-1, d, d]
        ``C``.
    parameters : array-like, shape=[..., N, d, d]
    tol : float
        Relative residual, in ``(0, 1)``.
    maxiter : int, optional
        Default ``4 (N-1) d^2 + 100``.
    preconditioner : {"block_jacobi", None}
        ``"block_jacobi"``: the inverse of the diagonal blocks of ``H``,
        ``c_k -> W_{k+1}^T W_{k+1} c_k + c_k W_k W_k^T``, Sylvester equations
        solved with one eigendecomposition of each Gram matrix (symmetric
        positive definite, so the iteration stays a CG); it typically divides
        the iteration count by 2 to 6. ``None``: plain CG.
    return_info : bool
        Also return ``{"iterations", "relative_residual"}`` (the true residual
        ``|H(b) - C| / |C|`` of each system).

    Returns
    -------
    solution : ndarray, shape=[..., N-1, d, d]
    info : dict, optional

    Raises
    ------
    FiberSolverError
        When a system does not converge in ``maxiter`` iterations.
    """
    parameters, depth, dim = _as_parameters(parameters, "solve_fiber_operator")
    rhs = _check_algebra(rhs, depth, dim, "rhs")
    tol, maxiter = _check_solver_options(tol, maxiter, (depth - 1) * dim * dim)
    if preconditioner not in ("block_jacobi", None):
        raise ValueError(
            f"preconditioner must be 'block_jacobi' or None, got {preconditioner!r}"
        )
    if solver not in OPERATOR_SOLVERS:
        raise ValueError(f"solver must be one of {OPERATOR_SOLVERS}, got {solver!r}")
    if np.iscomplexobj(parameters) != np.iscomplexobj(rhs):
        # one field for both: the banded factorization takes the points' dtype
        parameters, rhs = parameters + 0j, rhs + 0j
    if solver == "auto":
        banded = dim <= BANDED_MAX_WIDTH and depth - 1 >= dim**3
        solver = "banded" if banded else "cg"
    batch = broadcast_batch(
        (rhs.shape[:-3], parameters.shape[:-3]),
        ("rhs", "parameters"),
        "solve_fiber_operator",
    )
    rhs = np.broadcast_to(rhs, batch + rhs.shape[-3:])
    if rhs.size == 0:
        solution = np.zeros(rhs.shape, rhs.dtype)
        info = {"iterations": 0, "relative_residual": np.zeros(batch)}
        return (solution, info) if return_info else solution
    lower, upper = parameters[..., :-1, :, :], parameters[..., 1:, :, :]
    lower_t, upper_t = _adjoint(lower), _adjoint(upper)

    def apply(algebra):
        padded = _pad(algebra)
        vec = padded[..., 1:, :, :] @ parameters - parameters @ padded[..., :-1, :, :]
        return vec[..., :-1, :, :] @ lower_t - upper_t @ vec[..., 1:, :, :]

    if solver == "banded":
        solution = _banded_solve(
            np.broadcast_to(parameters, batch + parameters.shape[-3:]), rhs
        )
        axes = (-3, -2, -1)
        norm = np.sqrt(np.sum(_abs2(rhs), axis=axes))
        gap = np.sqrt(np.sum(_abs2(apply(solution) - rhs), axis=axes))
        residual = gap / np.where(norm > 0, norm, 1.0)
        if return_info:
            return solution, {"iterations": 0, "relative_residual": residual}
        return solution
    if preconditioner is None:

        def precondition(residual):
            return residual

    else:
        precondition = _sylvester_solver(upper_t @ upper, lower @ lower_t)
    solution, iterations, residual = _pcg(
        apply, precondition, rhs, 3, tol, maxiter, "solve_fiber_operator"
    )
    if return_info:
        return solution, {"iterations": iterations, "relative_residual": residual}
    return solution


def _banded_operator(parameters):
    """``H`` at one point in the upper band storage of ``solveh_banded``.

    Row-major ``vec`` as in :func:`_dense_fiber_operator_matrix`: diagonal
    blocks ``I kron W_k W_k^T + W_{k+1}^T W_{k+1} kron I``, upper blocks
    ``-(W_{k+1}^T kron W_{k+1}^T)`` at ``(k, k+1)``; ``ab[u + i - j, j] =
    H[i, j]`` for ``i <= j`` with half-width ``u = 2 d^2 - 1``. Over C, ``H`` is
    C-linear and Hermitian: diagonal blocks ``I kron (W_k W_k^*)^T +
    W_{k+1}^* W_{k+1} kron I``, upper blocks ``-(W_{k+1}^* kron W_{k+1}^T)``.
    """
    depth, dim = parameters.shape[-3], parameters.shape[-1]
    size, blocks = dim * dim, depth - 1
    eye = np.eye(dim)
    lower, upper = parameters[:-1], parameters[1:]
    gram_lower = lower @ _adjoint(lower)  # W_k W_k^T
    gram_upper = _adjoint(upper) @ upper  # W_{k+1}^T W_{k+1}
    complex_field = np.iscomplexobj(parameters)
    if complex_field:  # (W_k W_k^*)^T and W_{k+1}^* in the Kronecker factors
        gram_lower, left_factor = np.conj(gram_lower), np.conj(upper[:-1])
    else:
        left_factor = upper[:-1]
    diagonal = np.einsum("ab,kcd->kacbd", eye, gram_lower).reshape(blocks, size, size)
    diagonal += np.einsum("kab,cd->kacbd", gram_upper, eye).reshape(blocks, size, size)
    coupling = -np.einsum("kba,kdc->kacbd", left_factor, upper[:-1]).reshape(
        blocks - 1, size, size
    )
    width = 2 * size - 1
    band = np.zeros((width + 1, blocks * size), diagonal.dtype)
    rows, cols = np.indices((size, size))
    keep = rows <= cols
    offsets = np.arange(blocks)[:, None] * size
    band[(width + rows - cols)[keep][None, :], (offsets + cols[keep][None, :])] = (
        diagonal[:, keep]
    )
    if blocks > 1:
        band[
            (width + rows - cols - size).ravel()[None, :],
            (offsets[1:] + cols.ravel()[None, :]),
        ] = coupling.reshape(blocks - 1, -1)
    return band


def _banded_solve(parameters, rhs):
    """Solve ``H(b) = C`` by banded Cholesky, one point of the batch at a time."""
    flat_points = parameters.reshape((-1,) + parameters.shape[-3:])
    flat_rhs = rhs.reshape((-1,) + rhs.shape[-3:])
    solutions = np.empty(flat_rhs.shape, np.result_type(flat_points, flat_rhs))
    for index, (point, right) in enumerate(zip(flat_points, flat_rhs, strict=True)):
        try:
            solution = scipy.linalg.solveh_banded(
                _banded_operator(point), right.ravel(), check_finite=False
            )
        except np.linalg.LinAlgError as error:
            raise FiberSolverError(
                "solve_fiber_operator: H is not positive definite; is "
                f"X = phi(W) rank-deficient? ({error})"
            ) from None
        solutions[index] = solution.reshape(right.shape)
    return solutions.reshape(rhs.shape)


def _normal_matrix(left, right):
    """Dense ``sum_k left_k kron right_k`` (row-major ``vec``; symmetric
    ``right_k``), [..., d^2, d^2], by one product of ``[d^2, N] x [N, d^2]``."""
    depth, dim = left.shape[-3], left.shape[-1]
    flat_left = left.reshape(left.shape[:-3] + (depth, dim * dim))
    flat_right = right.reshape(right.shape[:-3] + (depth, dim * dim))
    product = np.swapaxes(flat_left, -1, -2) @ flat_right  # [(i, j), (l, m)]
    product = product.reshape(product.shape[:-2] + (dim,) * 4)
    product = np.swapaxes(product, -3, -2)  # [(i, l), (j, m)]
    return product.reshape(product.shape[:-4] + (dim * dim, dim * dim))


def _direct_solve(matrix, rhs):
    """Solve the symmetric positive definite ``matrix x = rhs`` (batched):
    Cholesky for one system, LU (``numpy.linalg.solve``) for batches or when
    rounding made the factorization fail."""
    if matrix.ndim == 2:
        try:
            factor = scipy.linalg.cho_factor(matrix, check_finite=False)
            return scipy.linalg.cho_solve(factor, rhs, check_finite=False)
        except np.linalg.LinAlgError:
            pass
    try:
        return np.linalg.solve(matrix, rhs[..., None])[..., 0]
    except np.linalg.LinAlgError as error:
        raise FiberSolverError(
            "fiber_projection: the normal equations are singular; is "
            f"X = phi(W) rank-deficient? ({error})"
        ) from None


def _normal_solve(vector, parameters, solver, tol, maxiter, residual=True):
    """``Z`` with ``A_W(Z) = sum_k above_k above_k^T Z below_k^T below_k =
    dphi(V)`` (MATH §1 Thm 1b operator), directly or by PCG."""
    above, below = (np.asarray(p) for p in partial_products(parameters))
    left = above @ _adjoint(above)  # above_k above_k^T
    right = _adjoint(below) @ below  # below_k^T below_k
    rhs = np.sum(above @ vector @ below, axis=-3)  # dphi_W(V)
    rhs = np.broadcast_to(rhs, np.broadcast_shapes(rhs.shape, left.shape[:-3] + (1, 1)))

    def apply(matrix):
        return np.sum(left @ matrix[..., None, :, :] @ right, axis=-3)

    if solver == "direct":
        # vec(L Z R) = (L kron R^T) vec(Z): R^T = conj(R) for Hermitian R
        transposed_right = np.conj(right) if np.iscomplexobj(right) else right
        matrix = _normal_matrix(left, transposed_right)
        flat = rhs.reshape(rhs.shape[:-2] + (-1,))
        solution = _direct_solve(
            np.broadcast_to(matrix, flat.shape[:-1] + matrix.shape[-2:]), flat
        ).reshape(rhs.shape)
        if residual:
            norm = np.sqrt(np.sum(_abs2(rhs), axis=(-2, -1)))
            gap = np.sqrt(np.sum(_abs2(apply(solution) - rhs), axis=(-2, -1)))
            residual = gap / np.where(norm > 0, norm, 1.0)
        return solution, above, below, 0, residual
    # first (k = 1: above_1 above_1^T Z) and last (k = N: Z below_N^T below_N)
    precondition = _sylvester_solver(left[..., 0, :, :], right[..., -1, :, :])
    solution, iterations, residual = _pcg(
        apply, precondition, rhs, 2, tol, maxiter, "fiber_projection"
    )
    return solution, above, below, iterations, residual


def _check_projection_options(method, solver, dim):
    """Validated ``(method, solver)`` with ``solver="auto"`` resolved."""
    if method not in PROJECTION_METHODS:
        raise ValueError(f"method must be one of {PROJECTION_METHODS}, got {method!r}")
    if solver not in PROJECTION_SOLVERS:
        raise ValueError(f"solver must be one of {PROJECTION_SOLVERS}, got {solver!r}")
    if method == "operator":
        if solver == "direct":
            raise ValueError(
                "method='operator' is solved by conjugate gradients only; the "
                "dense operator is _dense_fiber_operator_matrix (tests, benchmarks)"
            )
        return method, "cg"
    if solver == "auto":
        solver = "direct" if dim <= DIRECT_MAX_WIDTH else "cg"
    return method, solver


def fiber_projection(
    vector,
    parameters,
    method: str = "normal",
    solver: str = "auto",
    tol: float = DEFAULT_TOL,
    maxiter: int | None = None,
    return_info: bool = False,
):
    r"""Orthogonal projection onto ``T_W F_X = {w_a} = ker dphi_W`` (MATH §6).

    Also the Riemannian gradient on ``(F_X, iota)`` of a function with
    Euclidean gradient ``vector`` (balancedness (2.15)-(2.17)): ``w_b`` with
    ``H(b) = w^*(V)``.

    Parameters
    ----------
    vector : array-like, shape=[..., N, d, d]
    parameters : array-like, shape=[..., N, d, d]
        A point ``W`` with full-rank ``X = phi(W)``.
    method : {"normal", "operator"}
        ``"operator"``: ``w_b`` with ``H(b) = w^*(V)`` by
        :func:`solve_fiber_operator` (conjugate gradients on ``(N-1) d^2``
        unknowns; the result is tangent to rounding and ``w^*`` of it matches
        ``w^*(V)`` to ``tol``).
        ``"normal"`` (default): ``V - dphi^*(Z)`` (``dphi^*(Z)_k = above_k^T Z
        below_k^T``) with ``A_W(Z) = sum_k above_k above_k^T Z below_k^T
        below_k = dphi(V)``, on ``d^2`` unknowns. ``dphi^*(Z)`` is a lifted
        gradient, so ``dG`` of the result is ``dG(V)`` exactly, whatever the
        solver's accuracy (survey Thm 1a); ``dphi`` of the result is the
        solve's residual.
    solver : {"auto", "direct", "cg"}
        For ``method="normal"``: ``"direct"`` assembles the ``d^2 x d^2``
        matrix of ``A_W`` (``O(N d^4)``) and factors it (``O(d^6)``);
        ``"cg"``: conjugate gradients, ``O(N d^3)`` per iteration,
        preconditioned by the Sylvester operator of the terms ``k = 1`` and
        ``k = N`` (exact at ``N = 2``; at balanced points the preconditioned
        spectrum lies in ``[1, N/2]``); ``"auto"``: direct for
        ``d <= 24``, where it is the faster. ``method="operator"`` uses CG.
    tol : float
        Relative residual of a CG solve, in ``(0, 1)``.
    maxiter : int, optional
        CG iteration cap (default ``4 n + 100`` for ``n`` unknowns).
    return_info : bool
        Also return ``{"method", "solver", "iterations",
        "relative_residual"}`` (the true residual of the linear system).

    Returns
    -------
    tangent_vec : ndarray, shape=[..., N, d, d]
    info : dict, optional

    Raises
    ------
    FiberSolverError
        When CG does not converge, or the normal equations are singular.
    """
    parameters, depth, dim = _as_parameters(parameters)
    vector = _check_layers(vector, depth, dim, "vector")
    for name, array in (("parameters", parameters), ("vector", vector)):
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} has non-finite entries (NaN or inf)")
    method, solver = _check_projection_options(method, solver, dim)
    batch = broadcast_batch(
        (vector.shape[:-3], parameters.shape[:-3]),
        ("vector", "parameters"),
        "fiber_projection",
    )
    if depth == 1:  # the fiber is the point itself
        projected = np.zeros(
            batch + vector.shape[-3:], np.result_type(vector, parameters)
        )
        info = {"iterations": 0, "relative_residual": np.zeros(batch)}
    elif method == "operator":
        algebra, info = solve_fiber_operator(
            fiber_adjoint(vector, parameters),
            parameters,
            tol=tol,
            maxiter=maxiter,
            return_info=True,
        )
        projected = fiber_tangent_vector(algebra, parameters)
    else:
        tol, maxiter = _check_solver_options(tol, maxiter, dim * dim)
        normal, above, below, iterations, residual = _normal_solve(
            vector, parameters, solver, tol, maxiter, residual=return_info
        )
        lifted = _adjoint(above) @ normal[..., None, :, :] @ _adjoint(below)
        projected = vector - lifted
        info = {"iterations": iterations, "relative_residual": residual}
    if return_info:
        return projected, {"method": method, "solver": solver, **info}
    return projected


# ---------------------------------------------------------------- manifold
class FiberMetric(FrobeniusMetric):
    """Frobenius metric induced on a fiber ``F_X`` (MATH §6).

    Provides inner products (those of parameter space, for tangent vectors
    ``w_a``); geodesics of the fiber are not implemented, and the straight-line
    ``exp`` of the ambient Euclidean metric would leave the fiber.
    """

    def _not_provided(self, *args, **kwargs):
        raise NotImplementedError(
            "FiberMetric provides the inner products of the fiber; its geodesics "
            "(exp, log, dist) are not implemented"
        )

    exp = log = geodesic = squared_dist = dist = _not_provided
    christoffels = parallel_transport = injectivity_radius = _not_provided


class Fiber(Manifold):
    r"""The fiber ``F_X = {W : W_N ... W_1 = X}`` of a full-rank ``X`` (MATH §6).

    An embedded submanifold of
    :class:`~geomstats_dln.parameters.DLNParameterSpace` of dimension
    ``(N-1) d^2``, the ``GL(d)^{N-1}``-orbit (:class:`GLAction`) of the
    balanced point :func:`~geomstats_dln.balanced.center` ``(X, N)``, with the
    induced Frobenius metric (balancedness §1.5, §2.3). Its minimizers of
    ``|W|^2`` form the orbit ``O_X = F_X cap {G = 0}`` and the minimum is
    ``N sum_i s_i^{2/N}`` (Kempf-Ness, balancedness Thm 1;
    :attr:`minimum_squared_norm`). For a complex ``X`` the fiber is the
    ``GL(d; C)^{N-1}`` orbit, of real dimension ``2 (N-1) d^2``, with the
    metric ``Re tr``; the minimizers form one ``U(d)^{N-1}`` orbit.

    Parameters
    ----------
    end_to_end_matrix : array-like, shape=[d, d]
        ``X``, full rank.
    depth : int
        ``N >= 2`` (at ``N = 1`` the fiber is a single point, of dimension 0,
        which geomstats' manifolds do not allow).

    Raises
    ------
    ValueError
        If ``X`` is not a finite full-rank square matrix (the message names its
        smallest singular value) or ``depth`` is not a positive integer.
    """

    def __init__(self, end_to_end_matrix, depth: int, equip: bool = True):
        matrix = np.asarray(
            as_field_array(end_to_end_matrix, "end_to_end_matrix", "Fiber")
        )
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
            raise ValueError(
                "the end-to-end matrix of a fiber must be one square matrix "
                f"[d, d], got shape {matrix.shape}"
            )
        if (
            isinstance(depth, bool)
            or not isinstance(depth, (int, np.integer))
            or depth < 2
        ):
            raise ValueError(
                f"a fiber needs an integer depth >= 2 (at depth 1 it is a point), "
                f"got {depth!r}"
            )
        if np.iscomplexobj(matrix):
            check_full_rank_over_field(matrix, function="Fiber")
        else:
            check_full_rank(matrix)
        self.end_to_end_matrix = matrix
        self.field = "complex" if np.iscomplexobj(matrix) else "real"
        self.ambient = DLNParameterSpace(
            matrix.shape[0], int(depth), equip=False, field=self.field
        )
        self.width, self.depth = self.ambient.width, self.ambient.depth
        # real dimension: GL(d; C) has 2 d^2 real dimensions
        factor = 2 if self.field == "complex" else 1
        super().__init__(
            dim=factor * (self.depth - 1) * self.width**2,
            shape=(self.depth, self.width, self.width),
            equip=equip,
        )
        self.equip_with_group_action(GLAction())

    @staticmethod
    def default_metric():
        """The induced Frobenius metric (inner products only)."""
        return FiberMetric

    @property
    def minimum_squared_norm(self) -> float:
        """``min_{F_X} |W|^2 = N sum_i s_i^{2/N}`` (Kempf-Ness, Thm 1)."""
        s = np.linalg.svd(self.end_to_end_matrix, compute_uv=False)
        return float(self.depth * np.sum(s ** (2.0 / self.depth)))

    def center(self):
        """The balanced point :func:`~geomstats_dln.balanced.center` of ``F_X``."""
        return np.asarray(center(gs.array(self.end_to_end_matrix), self.depth))

    def belongs(self, point, atol: float = 1e-8):
        """Shape ``[..., N, d, d]`` and ``|phi(W) - X|_F <= atol |X|_F``."""
        point = np.asarray(as_field_array(point, "point", "Fiber.belongs"))
        if point.ndim < 3 or tuple(point.shape[-3:]) != self.shape:
            return np.zeros(point.shape[:-3] if point.ndim >= 3 else (), dtype=bool)
        gap = np.asarray(end_to_end(point)) - self.end_to_end_matrix
        scale = np.linalg.norm(self.end_to_end_matrix)
        return np.sqrt(np.sum(_abs2(gap), axis=(-2, -1))) <= atol * scale

    def is_tangent(self, vector, base_point, atol: float = 1e-8):
        """``V in ker dphi_W``: ``|dphi_W(V)| <= atol sum_k |above_k| |V_k|
        |below_k|`` (Frobenius norms; the right side bounds ``|dphi_W(V)|``)."""
        base_point, depth, dim = _as_parameters(base_point)
        vector = _check_layers(vector, depth, dim, "vector")
        above, below = (np.asarray(p) for p in partial_products(base_point))
        image = np.sum(above @ vector @ below, axis=-3)
        bound = np.sum(
            np.linalg.norm(above, axis=(-2, -1))
            * np.linalg.norm(vector, axis=(-2, -1))
            * np.linalg.norm(below, axis=(-2, -1)),
            axis=-1,
        )
        return np.sqrt(np.sum(_abs2(image), axis=(-2, -1))) <= atol * bound

    def to_tangent(
        self, vector, base_point, method: str = "normal", solver: str = "auto"
    ):
        """Orthogonal projection onto ``T_W F_X`` (:func:`fiber_projection`)."""
        return fiber_projection(vector, base_point, method=method, solver=solver)

    def tangent_vector(self, algebra, base_point):
        """``w_a`` (:func:`fiber_tangent_vector`)."""
        return fiber_tangent_vector(algebra, base_point)

    def riemannian_gradient(
        self,
        euclidean_gradient,
        base_point,
        method: str = "normal",
        solver: str = "auto",
    ):
        """Gradient on ``(F_X, iota)``: ``w_b`` with ``H(b) = w^*(euclidean
        gradient)`` (balancedness (2.16)-(2.17)), i.e. the orthogonal projection
        of the Euclidean gradient (:func:`fiber_projection`)."""
        return fiber_projection(
            euclidean_gradient, base_point, method=method, solver=solver
        )

    def random_point(self, n_samples: int = 1, scale: float = 0.5):
        """``A.center(X)`` with ``A_k = expm(scale Z_k / sqrt d)``, ``Z_k``
        standard Gaussian (geomstats' random state; over C, real and
        imaginary parts each of variance 1/2).

        Returns
        -------
        points : ndarray, shape=[N, d, d] or [n_samples, N, d, d]
        """
        shape = (self.depth - 1, self.width, self.width)
        size = shape if n_samples == 1 else (n_samples,) + shape
        generators = float(scale) / np.sqrt(self.width) * self._gaussian(size)
        matrices = scipy.linalg.expm(generators)
        return gl_action(matrices, self.center())

    def _gaussian(self, size):
        """Standard Gaussian array of the fiber's field (geomstats' state)."""
        if self.field == "complex":
            real, imag = np.asarray(gs.random.normal(size=(2,) + tuple(size)))
            return (real + 1j * imag) / np.sqrt(2.0)
        return np.asarray(gs.random.normal(size=size), dtype=float)

    def random_tangent_vec(self, base_point, n_samples: int = 1):
        """``w_a`` for a standard Gaussian ``a``."""
        shape = (self.depth - 1, self.width, self.width)
        size = shape if n_samples == 1 else (n_samples,) + shape
        return fiber_tangent_vector(self._gaussian(size), base_point)


# -------------------------------------------------------------- regularizers
class Regularizer:
    """A function ``R(W)`` on parameter space with its Euclidean gradient.

    ``value`` and ``gradient`` are batched over leading axes; the gradient on a
    fiber is ``Fiber.riemannian_gradient(R.gradient(W), W)`` (MATH §6).
    """

    def value(self, parameters):
        raise NotImplementedError

    def gradient(self, parameters):
        raise NotImplementedError

    def __call__(self, parameters):
        return self.value(parameters)


class FrobeniusRegularizer(Regularizer):
    """``R(W) = 1/2 |W|^2 = 1/2 sum_k |W_k|_F^2``, gradient ``W`` (MATH §6).

    Its gradient flow on ``F_X`` is the L2 regularizing flow (balancedness
    (1.17), Thm 2); minimizers on ``F_X`` are ``O_X`` (Thm 1).
    """

    def value(self, parameters):
        parameters, _, _ = _as_parameters(parameters)
        return 0.5 * np.sum(_abs2(parameters), axis=(-3, -2, -1))

    def gradient(self, parameters):
        parameters, _, _ = _as_parameters(parameters)
        return parameters.copy()


class MomentRegularizer(Regularizer):
    """``R(W) = 1/2 |G|^2``, the squared moment map (balancedness (2.24)).

    Euclidean gradient ``dR/dW_k = 2 (G_k W_k - W_k G_{k-1})``
    (``G_0 = G_N = 0``), i.e. ``w_{2G}``: already tangent to the fiber, so it
    is also the gradient on ``F_X`` (Thm 10; the Kirwan-Ness flow is minus it).
    """

    def value(self, parameters):
        parameters, depth, _ = _as_parameters(parameters)
        if depth == 1:
            return np.zeros(parameters.shape[:-3])
        return 0.5 * np.sum(_abs2(np.asarray(moments(parameters))), axis=(-3, -2, -1))

    def gradient(self, parameters):
        parameters, depth, _ = _as_parameters(parameters)
        if depth == 1:
            return np.zeros(parameters.shape)
        return fiber_tangent_vector(2.0 * np.asarray(moments(parameters)), parameters)


class SchattenRegularizer(Regularizer):
    r"""``R(W) = sum_k |W_k|_p``, Schatten ``p``-norms (balancedness (3.8)).

    The sum of the norms, not of their ``p``-th powers, as in Thm 20: for
    ``1 < p < inf`` and full-rank ``X`` its minimizers on ``F_X`` are the
    balanced points ``F_X cap M_0``, where every layer has singular values
    ``s^{1/N}``, so ``min = N (sum_i s_i^{p/N})^{1/p}``. (``p = 1`` is
    accepted; the paper leaves its minimizing set open.)

    Euclidean gradient, from the SVD ``W_k = U diag(sigma) V^T``:
    ``dR/dW_k = U diag(sigma^{p-1}) V^T / |W_k|_p^{p-1}`` (zero for
    ``W_k = 0``).

    Parameters
    ----------
    p : float
        ``1 <= p < inf``.
    """

    def __init__(self, p: float):
        p = float(p)
        if not (np.isfinite(p) and p >= 1.0):
            raise ValueError(
                f"the Schatten exponent p must satisfy 1 <= p < inf, got {p}"
            )
        self.p = p

    def value(self, parameters):
        parameters, _, _ = _as_parameters(parameters)
        sigma = np.linalg.svd(parameters, compute_uv=False)
        return np.sum(np.sum(sigma**self.p, axis=-1) ** (1.0 / self.p), axis=-1)

    def gradient(self, parameters):
        parameters, _, _ = _as_parameters(parameters)
        left, sigma, right_t = np.linalg.svd(parameters)
        norm = np.sum(sigma**self.p, axis=-1) ** (1.0 / self.p)
        weights = sigma ** (self.p - 1.0)
        scale = np.where(norm > 0, norm, 1.0) ** (self.p - 1.0)
        weights = np.where(norm[..., None] > 0, weights / scale[..., None], 0.0)
        return (left * weights[..., None, :]) @ right_t
