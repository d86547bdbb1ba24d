r"""The logarithm of ``(M_d, g^N)``: globalized Newton shooting on ``V -> exp_X(V)``.

One boundary problem ``exp_X(V) = Y`` at a time (:func:`solve_log`), in four
moves, each there for a failure mode seen on trained networks:

1. **Rescaling.** ``g^N`` is homogeneous: ``X -> cX`` maps geodesics to
   geodesics with the same parameter (``g_{cX}(cZ, cZ) = c^{2/N} g_X(Z, Z)``), so
   ``log_{cX}(cY) = c log_X(Y)``. The problem is solved for ``X / c``, ``Y / c``
   with ``c = s_max(X)``, and every tolerance is relative.
2. **Starting guesses.** The *SVD path*: with ``X = U_X S_X V_X^T`` and
   ``Y = U_Y S_Y V_Y^T`` (singular vectors paired in order, their signs chosen so
   that the rotations ``U_X^T U_Y`` and ``V_X^T V_Y`` are proper and close to the
   identity), the curve ``U(t) S(t) V(t)^T`` with ``U(t) = U_X e^{t log(U_X^T
   U_Y)}`` (the same for ``V``) and ``S(t)^{1/N}`` affine in ``t`` joins ``X`` to
   ``Y`` through full-rank matrices; it *is* the geodesic when ``X`` and ``Y``
   share their singular vectors (the frame-diagonal closed form: in the
   coordinates ``w = s^{1/N}`` the metric restricted to ``diag(s)`` is
   ``N |dw|^2``). Its velocity starts Newton when its shot already lands within
   ``1e-3`` of ``Y``. Otherwise the *discrete geodesic* (:func:`discrete_geodesic`,
   the path energy minimized with its closed-form gradient, started from the
   SVD path or the straight line, whichever has the lower discrete energy:
   :func:`initial_path`) does, through its discrete Legendre momentum
   (:func:`discrete_initial_velocity`), accurate to ``O(1/K^2)`` also where the
   path runs near rank-deficient matrices.
3. **Guarded Newton with a line search.** Every shot that leaves the full-rank
   set (the geodesic equation's integrator stops, :class:`GeodesicError`)
   counts as an infinite residual, so the step is shortened instead of the
   whole log failing. The Jacobian of ``exp_X`` is a forward difference of
   geodesics integrated *together* with the unperturbed one (shared step sizes
   make the quotient consistent), at a loose tolerance first and a tight one
   once Newton makes poor progress; Broyden updates keep it between
   recomputations. The shots' tolerance follows the residual (inexact Newton),
   and the last one is at the metric's full ``rtol``. When Newton stalls, it
   restarts from discrete geodesics twice and four times as fine (each the
   lower-energy of two minimizations), then, for dense problems, from the
   answer of *multiple shooting* through the finest path's nodes
   (:func:`geomstats_dln._multiple_shooting.multiple_shooting`: each segment's
   flow is tame where the whole geodesic's end point is too sensitive to its
   initial velocity), then from the SVD path.
4. **Continuation** along the fine discrete geodesic, then along the SVD path,
   when Newton from every guess stalls: the targets ``Y(tau)`` move from ``X``
   to ``Y`` along the path, each solved from the previous solution, with the
   step in ``tau`` halved on failure and grown on success.

Large matrices (``n m > _DENSE_MAX``) solve the Newton systems matrix-free
(GMRES on directional derivatives) instead of forming the Jacobian.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg
import scipy.optimize
import scipy.sparse.linalg

from geomstats_dln._multiple_shooting import (
    MultipleShootingFailure,
    backtracking,
    multiple_shooting,
)
from geomstats_dln._spectral import (
    apply_operator,
    squared_norm_and_gradient,
    svd_frame,
)

__all__ = ["LogFailure", "initial_path", "path_energy", "svd_path", "solve_log"]

_DENSE_MAX = 100  # unknowns n * m up to which the Jacobian is formed
_DISCRETE_SEGMENTS = 8  # segments of the discrete geodesic (starting guess)
# Integrator tolerances of the Jacobian's geodesics (RK45): loose first (a
# Jacobian costs ~20 shots; Newton needs it only to a few digits), tight once
# Newton makes poor progress with a loose one (near rank-deficient matrices).
_JACOBIAN_RTOL = 1e-4
_JACOBIAN_RTOL_ACCURATE = 1e-6
_JACOBIAN_CHUNK = 128  # perturbed geodesics integrated in one system
_COND_MAX = 1e12  # differential of exp treated as singular beyond this


class LogFailure(Exception):
    """Shooting could not solve one problem; ``reason`` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# --------------------------------------------------------------------- SVD path
def _proper_rotation_log(rotation):
    """Real skew ``log`` of a rotation (``scipy.linalg.logm``, symmetrized)."""
    generator = scipy.linalg.logm(rotation)
    generator = np.real(generator)
    return 0.5 * (generator - generator.T)


def svd_path(point, end_point, depth):
    """The SVD path from ``point`` to ``end_point`` (module docstring, item 2).

    Parameters
    ----------
    point, end_point : ndarray, shape=[n, m]
        Full-rank matrices (for square ones, with determinants of one sign).
    depth : int or math.inf

    Returns
    -------
    path : callable
        ``path(t)`` for a scalar ``t`` in ``[0, 1]``: the matrix ``X(t)``.
    velocity : ndarray, shape=[n, m]
        ``X'(0)``.
    """
    transposed = point.shape[0] > point.shape[1]
    x, y = (point.T, end_point.T) if transposed else (point, end_point)
    n, m = x.shape
    u_x, s_x, vt_x = np.linalg.svd(x)
    u_y, s_y, vt_y = np.linalg.svd(y)
    v_x, v_y = vt_x.T, vt_y.T
    # Pair singular vectors in order; flip (u_i, v_i) of Y together (Y unchanged)
    # so that each pair points the way of X's.
    overlap = np.einsum("ij,ij->j", u_x, u_y) + np.einsum(
        "ij,ij->j", v_x[:, :n], v_y[:, :n]
    )
    signs = np.where(overlap < 0, -1.0, 1.0)
    u_y = u_y * signs
    v_y[:, :n] = v_y[:, :n] * signs
    if m > n:
        # Complete V_Y's row space by the orthonormal basis closest to V_X's
        # complement (polar factor of the projection).
        complement = v_x[:, n:] - v_y[:, :n] @ (v_y[:, :n].T @ v_x[:, n:])
        left, _, right_t = np.linalg.svd(complement, full_matrices=False)
        v_y[:, n:] = left @ right_t
    rot_u, rot_v = u_x.T @ u_y, v_x.T @ v_y
    if np.linalg.det(rot_u) < 0:
        # Flip the least-aligned pair (same component: then det(rot_v) < 0 too).
        worst = int(np.argmin(overlap * signs))
        u_y[:, worst] *= -1.0
        v_y[:, worst] *= -1.0
        rot_u = u_x.T @ u_y
        rot_v = v_x.T @ v_y
    if np.linalg.det(rot_v) < 0:
        if m > n:
            v_y[:, -1] *= -1.0  # a complement direction: Y unchanged
            rot_v = v_x.T @ v_y
        else:
            raise LogFailure(
                "the points lie in different components (det of opposite signs)"
            )
    omega_u = _proper_rotation_log(rot_u)
    omega_v = _proper_rotation_log(rot_v)
    if depth == math.inf:
        w_x, w_y = np.log(s_x), np.log(s_y)

        def singular_values(t):
            return np.exp((1 - t) * w_x + t * w_y)

        rate = s_x * (w_y - w_x)
    else:
        w_x, w_y = s_x ** (1.0 / depth), s_y ** (1.0 / depth)

        def singular_values(t):
            return ((1 - t) * w_x + t * w_y) ** depth

        rate = depth * w_x ** (depth - 1) * (w_y - w_x)

    def path(t):
        u = u_x @ scipy.linalg.expm(t * omega_u)
        v = v_x @ scipy.linalg.expm(t * omega_v)
        matrix = (u[:, :n] * singular_values(t)) @ v[:, :n].T
        return matrix.T if transposed else matrix

    sigma = np.zeros((n, m))
    sigma[:, :n] = np.diag(s_x)
    rate_matrix = np.zeros((n, m))
    rate_matrix[:, :n] = np.diag(rate)
    rotated = omega_u @ sigma + rate_matrix - sigma @ omega_v
    velocity = u_x @ rotated @ v_x.T
    return path, (velocity.T if transposed else velocity)


# ------------------------------------------------------------ discrete geodesic
def discrete_geodesic(
    point, end_point, depth, n_segments=8, max_iter=500, initial=None
):
    r"""Minimize the discrete path energy from the SVD path (module item 3).

    ``E(X_1, ..., X_{K-1}) = K sum_k g_{M_k}(X_{k+1} - X_k, X_{k+1} - X_k)`` with
    the midpoints ``M_k = (X_k + X_{k+1}) / 2`` (a consistent discretization of
    the geodesic energy; its minimizers converge to the geodesic as ``K`` grows)
    and the closed-form gradient ``d/dX g_X(Z, Z) = -2 dH/dX(X, A_X^{-1} Z)``
    (:func:`geomstats_dln._spectral.squared_norm_and_gradient`). The unknowns
    are whitened by ``A^{1/2}`` at the starting path, so that L-BFGS sees a
    well-conditioned problem even when singular values span many decades.

    Parameters
    ----------
    initial : ndarray, shape=[K + 1, n, m], optional
        A starting path (default: the SVD path).

    Returns
    -------
    points : ndarray, shape=[K + 1, n, m]
        The discrete geodesic, ``points[0] = point``, ``points[-1] = end_point``.
    """
    if initial is None:
        path, _ = svd_path(point, end_point, depth)
        taus = np.linspace(0.0, 1.0, n_segments + 1)
        initial = np.stack([point] + [path(t) for t in taus[1:-1]] + [end_point])
    interior = np.asarray(initial)[1:-1]
    shape = interior.shape

    frame = svd_frame(interior, depth)  # fixed preconditioner: one SVD each

    def whiten(vectors):
        return apply_operator(frame, vectors, 0.5)

    def points_of(z):
        return np.concatenate(
            [point[None], interior + whiten(z.reshape(shape)), end_point[None]]
        )

    worst = [np.inf]

    def energy(z):
        points = points_of(z)
        deltas = np.diff(points, axis=0)
        mids = 0.5 * (points[1:] + points[:-1])
        try:
            squared, momenta, gradients = squared_norm_and_gradient(mids, deltas, depth)
        except ValueError:  # a midpoint left the full-rank matrices
            return worst[0], np.zeros(z.shape)
        value = n_segments * float(np.sum(squared))
        worst[0] = min(worst[0], 10.0 * value + 1.0)
        grad = n_segments * (
            (2.0 * momenta[:-1] + 0.5 * gradients[:-1])
            + (-2.0 * momenta[1:] + 0.5 * gradients[1:])
        )
        return value, whiten(grad).ravel()

    result = scipy.optimize.minimize(
        energy,
        np.zeros(interior.size),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": max_iter, "gtol": 1e-10, "ftol": 1e-14},
    )
    return points_of(result.x)


def path_energy(points, depth) -> float:
    """The discrete energy ``K sum_k g_{M_k}(D_k, D_k)`` of a path [K + 1, n, m].

    ``inf`` when a midpoint is not full rank.
    """
    deltas = np.diff(points, axis=0)
    mids = 0.5 * (points[1:] + points[:-1])
    try:
        squared, _, _ = squared_norm_and_gradient(mids, deltas, depth)
    except ValueError:
        return math.inf
    return (len(points) - 1) * float(np.sum(squared))


def initial_path(point, end_point, depth, n_segments, svd_curve=None):
    """The starting path of the discrete geodesic: the SVD path or the line.

    Of the SVD path (:func:`svd_path`; exact for shared singular vectors, and
    good when the singular values change by decades) and the straight line
    ``(1 - t) X + t Y`` (good when the singular vectors of ``X`` and ``Y`` are
    far from paired: on random ``64 x 64`` pairs the SVD path's rotations are
    large and L-BFGS did not converge from it in 500 iterations, against 36
    from the line), the one of lower discrete energy (:func:`path_energy`).
    """
    if svd_curve is None:
        svd_curve, _ = svd_path(point, end_point, depth)
    taus = np.linspace(0.0, 1.0, n_segments + 1)
    svd_points = np.stack([point] + [svd_curve(t) for t in taus[1:-1]] + [end_point])
    line = (1.0 - taus)[:, None, None] * point + taus[:, None, None] * end_point
    if path_energy(line, depth) < path_energy(svd_points, depth):
        return line
    return svd_points


def _refine(points):
    """Insert the midpoints of a discrete path (``K -> 2K`` segments)."""
    mids = 0.5 * (points[1:] + points[:-1])
    refined = np.empty((2 * len(points) - 1,) + points.shape[1:])
    refined[0::2], refined[1::2] = points, mids
    return refined


def discrete_initial_velocity(points, depth):
    r"""``X'(0)`` of a discrete geodesic by the discrete Legendre transform.

    With ``E = K sum_k g_{M_k}(D_k, D_k)`` (``D_k = X_{k+1} - X_k``, midpoints
    ``M_k``), the continuous energy's boundary variation ``dE = -2 <P(0), dX_0>``
    gives the discrete momentum ``P_0 = -1/2 dE/dX_0 = K (A_{M_0}^{-1} D_0 -
    1/4 d/dX g_{M_0}(D_0, D_0))`` and the velocity ``A_{X_0}(P_0)``. Unlike a
    difference stencil on the points, this is exact for the discrete mechanics
    and stays accurate where the path's singular values change by decades (near
    rank-deficient matrices, where the entries are far from linear in ``t``).
    """
    n_segments = len(points) - 1
    delta = points[1] - points[0]
    mid = 0.5 * (points[0] + points[1])
    _, momenta, gradients = squared_norm_and_gradient(mid[None], delta[None], depth)
    momentum = n_segments * (momenta[0] - 0.25 * gradients[0])
    return apply_operator(svd_frame(points[:1], depth), momentum[None], 1.0)[0]


# ---------------------------------------------------------------------- solver
class _Shooter:
    """``exp_x`` and its derivatives for one scaled problem (guarded)."""

    def __init__(self, metric, point):
        self.metric = metric
        self.point = point
        self.shape = point.shape
        self.size = point.size
        # evaluations allowed to a trial shot (then 6x the last good shot): a
        # shot creeping toward the rank-deficient boundary is abandoned
        self.budget = 4000
        self.jacobian_rtol = _JACOBIAN_RTOL

    def tighten(self) -> bool:
        """Switch to accurate Jacobians; ``False`` when they already are."""
        if self.jacobian_rtol <= _JACOBIAN_RTOL_ACCURATE:
            return False
        self.jacobian_rtol = _JACOBIAN_RTOL_ACCURATE
        return True

    def residual(self, velocity, target, rtol):
        """``exp_x(v) - target``, or ``None`` when the geodesic leaves M_d."""
        from geomstats_dln.end_to_end import GeodesicError

        info = {}
        try:
            end = self.metric._exp_flat(
                velocity[None], self.point[None], rtol, self.budget, info
            )[0]
        except GeodesicError:
            return None
        # A trial shot may cost a few times the last good one: beyond that it is
        # creeping toward the rank-deficient boundary, and is abandoned.
        self.budget = max(6 * info["evaluations"], 600)
        return end - target

    def jacobian(self, velocity):
        """Dense ``d exp_x / d v`` [k, k] (columns: entry basis), or ``None``."""
        jacobian = self._jacobian(velocity)
        if jacobian is None and self.tighten():
            jacobian = self._jacobian(velocity)  # a loose shot crossed the boundary
        return jacobian

    def _jacobian(self, velocity):
        from geomstats_dln.end_to_end import GeodesicError

        k = self.size
        step = 1e-6 * max(1.0, float(np.linalg.norm(velocity)))
        basis = np.eye(k).reshape((k,) + self.shape)
        columns = []
        for start in range(0, k, _JACOBIAN_CHUNK):
            chunk = basis[start : start + _JACOBIAN_CHUNK]
            batch = np.concatenate([velocity[None], velocity[None] + step * chunk])
            try:
                ends = self.metric._exp_flat(
                    batch,
                    np.broadcast_to(self.point, batch.shape),
                    self.jacobian_rtol,
                    low_order=True,
                )
            except GeodesicError:
                return None
            columns.append((ends[1:] - ends[:1]).reshape(len(chunk), k))
        return np.concatenate(columns).T / step

    def directional(self, velocity, direction):
        """``d exp_x(v)[direction]`` by one forward difference (matrix-free)."""
        from geomstats_dln.end_to_end import GeodesicError

        norm = float(np.linalg.norm(direction))
        if norm == 0.0:
            return np.zeros_like(direction)
        step = 1e-6 * max(1.0, float(np.linalg.norm(velocity))) / norm
        batch = np.stack([velocity, velocity + step * direction])
        try:
            # matrix-free Newton has no Jacobian to tighten: always accurate
            ends = self.metric._exp_flat(
                batch, np.broadcast_to(self.point, batch.shape), _JACOBIAN_RTOL_ACCURATE
            )
        except GeodesicError as error:
            raise LogFailure("a directional derivative left M_d") from error
        return (ends[1] - ends[0]) / step


def _newton(
    shooter,
    velocity,
    target,
    tol,
    max_iter,
    final_rtol,
    max_halvings=10,
    max_jacobians=None,
    jacobian=None,
    residual=None,
):
    """Guarded damped Newton on ``exp_x(v) = target`` from ``velocity``.

    ``jacobian`` (optional) is a previous estimate of ``d exp_x``, refined by
    Broyden updates; ``residual`` (optional) is ``exp_x(velocity) - target``
    when the caller has shot it already (at ``rtol = 1e-6``). Returns
    ``(velocity, relative_residual, jacobian)`` on success; raises
    :class:`LogFailure`.
    """
    target_norm = max(float(np.linalg.norm(target)), 1e-300)
    dense = shooter.size <= _DENSE_MAX

    def loose_rtol(res_norm):
        # Inexact Newton: integrate only as accurately as the residual needs.
        return float(np.clip(1e-5 * res_norm / target_norm, final_rtol, 1e-6))

    rtol = 1e-6
    if residual is None:  # the caller may have shot the guess already
        residual = shooter.residual(velocity, target, rtol)
    if residual is None:
        raise LogFailure("the first shot leaves the full-rank matrices")
    res_norm = float(np.linalg.norm(residual))
    fresh = False
    jacobians = 0
    res_at_jacobian = res_norm
    for _ in range(max_iter):
        if res_norm <= tol * target_norm:
            if rtol <= final_rtol:
                if dense and jacobian is not None:
                    # One polishing step with the Jacobian at hand (one shot):
                    # Newton from a loose Jacobian converges linearly, and stops
                    # just past tol; this takes the answer toward the
                    # integrator's accuracy.
                    try:
                        delta = np.linalg.solve(jacobian, residual.ravel())
                    except np.linalg.LinAlgError:
                        delta = np.zeros(residual.size)
                    candidate = velocity - delta.reshape(shooter.shape)
                    polished = shooter.residual(candidate, target, final_rtol)
                    if polished is not None and (
                        float(np.linalg.norm(polished)) < res_norm
                    ):
                        velocity = candidate
                        res_norm = float(np.linalg.norm(polished))
                return velocity, res_norm / target_norm, jacobian
            rtol = final_rtol  # confirm at full accuracy
            residual = shooter.residual(velocity, target, rtol)
            if residual is None:
                raise LogFailure("the converged shot leaves the full-rank matrices")
            res_norm = float(np.linalg.norm(residual))
            continue
        if dense:
            if jacobian is None:
                # A capped attempt may recompute while each Jacobian still buys
                # a tenfold smaller residual.
                if (
                    max_jacobians is not None
                    and jacobians >= max_jacobians
                    and res_norm > 0.1 * res_at_jacobian
                ):
                    raise LogFailure(
                        f"Newton needs a new Jacobian at relative residual "
                        f"{res_norm / target_norm:.2e}"
                    )
                jacobians += 1
                res_at_jacobian = res_norm
                jacobian = shooter.jacobian(velocity)
                fresh = True
                if jacobian is None:
                    raise LogFailure("a Jacobian shot leaves the full-rank matrices")
                if np.linalg.cond(jacobian) > _COND_MAX:
                    raise LogFailure(
                        "the differential of exp is singular along the shooting "
                        "path (conjugate point)"
                    )
            delta = -np.linalg.solve(jacobian, residual.ravel()).reshape(shooter.shape)
        else:
            operator = scipy.sparse.linalg.LinearOperator(
                (shooter.size, shooter.size),
                matvec=lambda u, v=velocity: shooter.directional(
                    v, u.reshape(shooter.shape)
                ).ravel(),
            )
            solution, info = scipy.sparse.linalg.gmres(
                operator, -residual.ravel(), rtol=1e-3, restart=40, maxiter=3
            )
            delta = solution.reshape(shooter.shape)
            fresh = True
        new_rtol = loose_rtol(res_norm)
        trial = backtracking(
            lambda candidate, rtol=new_rtol: shooter.residual(candidate, target, rtol),
            velocity,
            delta,
            res_norm,
            max_halvings,
        )
        if trial is None:
            if dense and (not fresh or shooter.tighten()):
                # a stale Broyden Jacobian or a loose one: recompute and retry
                jacobian = None
                continue
            raise LogFailure(
                f"damped Newton shooting stalled at relative residual "
                f"{res_norm / target_norm:.2e}"
            )
        alpha, candidate, new_residual, new_norm = trial
        if dense:
            if fresh and not (alpha == 1.0 and new_norm < 0.1 * res_norm):
                shooter.tighten()  # poor progress: the next Jacobian accurate
            step = alpha * delta.ravel()
            change = (new_residual - residual).ravel()
            if alpha == 1.0 and new_norm < 0.5 * res_norm:
                # Good Broyden update: keep the Jacobian between recomputations.
                jacobian = jacobian + np.outer(change - jacobian @ step, step) / (
                    step @ step
                )
                fresh = False
            else:
                jacobian = None
        velocity, residual, res_norm, rtol = candidate, new_residual, new_norm, new_rtol
    raise LogFailure(
        f"shooting did not converge in {max_iter} Newton iterations "
        f"(relative residual {res_norm / target_norm:.2e})"
    )


# A warm start is tried when the base point moved by at most this fraction of
# the solved velocity (a Frechet mean's iterates; not another network of a
# distance matrix, whose first-order guess failed in 40% of the time there).
_WARM_START_SHIFT = 0.25


def _near(warm_start, point) -> bool:
    base, old_velocity, _ = warm_start
    return bool(
        np.linalg.norm(point - base) <= _WARM_START_SHIFT * np.linalg.norm(old_velocity)
    )


def solve_log(
    metric, target, point, tol, max_iter, warm_start=None, base_jacobian=None
):
    """``log_point(target)`` for one pair of full-rank matrices [n, m].

    Parameters
    ----------
    metric : DLNMetric
        Supplies ``_exp_flat(vectors, points, rtol)``, ``depth`` and ``rtol``.
    target, point : ndarray, shape=[n, m]
    tol : float
        Relative residual ``|exp(V) - Y| / |Y|`` to reach.
    max_iter : int
        Newton iterations per solve (each continuation step is one solve).
    warm_start : tuple, optional
        ``(base_point, velocity, jacobian)`` of a solved problem with the same
        target and a nearby base point (a Frechet mean's previous iterate):
        ``velocity - J^{-1}(point - base_point)`` starts Newton, and the
        Jacobian (dimensionless: ``d exp`` is invariant under the rescaling)
        is reused.
    base_jacobian : ndarray, optional
        A Jacobian of ``exp`` at this base point from another target's solve
        (the previous pair of a distance-matrix row): Newton from the first
        guess starts with it, refined by Broyden updates and recomputed as soon
        as it makes poor progress. It stands in for a first Jacobian, which is
        half the cost of a typical solve.

    Returns
    -------
    velocity : ndarray, shape=[n, m]
    jacobian : ndarray or None
        The last Jacobian estimate (for a later warm start).

    Raises
    ------
    LogFailure
        With the reason (boundary, stall, conjugate point).
    """
    if np.array_equal(target, point):
        return np.zeros_like(point), None
    scale = float(np.linalg.norm(point, 2))
    x, y = point / scale, target / scale
    shooter = _Shooter(metric, x)
    final_rtol = metric.rtol
    reasons = []

    def attempt(
        name, guess, jacobian=None, max_jacobians=2, max_halvings=4, residual=None
    ):
        """Newton from ``guess``: ``(velocity, jacobian)``, or ``None``."""
        try:
            velocity, _, jacobian = _newton(
                shooter,
                guess,
                y,
                tol,
                max_iter,
                final_rtol,
                max_halvings=max_halvings,
                max_jacobians=max_jacobians,
                jacobian=jacobian,
                residual=residual,
            )
        except LogFailure as failure:
            reasons.append(f"from {name}: {failure.reason}")
            return None
        return scale * velocity, jacobian

    # Guesses are built only when needed: a warm start usually converges
    # without a Jacobian, and then neither path is computed.
    if warm_start is not None and _near(warm_start, point):
        base, old_velocity, old_jacobian = warm_start
        shift = (point - base).ravel()
        if old_jacobian is not None:
            try:
                shift = np.linalg.solve(old_jacobian, shift)
            except np.linalg.LinAlgError:
                pass
        guess = (old_velocity - shift.reshape(point.shape)) / scale
        result = attempt("warm start", guess, old_jacobian, max_jacobians=1)
        if result is not None:
            return result
    # The SVD path first when its shot already lands close (it is exact for
    # shared singular vectors); otherwise the discrete geodesic, whose discrete
    # Legendre momentum is a starting velocity accurate to O(1/K^2) even where
    # the path runs near rank-deficient matrices (there the SVD path is poor
    # and a stencil on the points worse).
    path, path_velocity = svd_path(x, y, metric.depth)
    svd_residual = shooter.residual(path_velocity, y, 1e-6)
    svd_first = svd_residual is not None and float(
        np.linalg.norm(svd_residual)
    ) <= 1e-3 * float(np.linalg.norm(y))
    if svd_first:
        result = attempt(
            "the SVD path", path_velocity, base_jacobian, residual=svd_residual
        )
        if result is not None:
            return result
    segments = _DISCRETE_SEGMENTS
    points = discrete_geodesic(
        x,
        y,
        metric.depth,
        segments,
        initial=initial_path(x, y, metric.depth, segments, path),
    )
    result = attempt(
        "the discrete geodesic",
        discrete_initial_velocity(points, metric.depth),
        None if svd_first else base_jacobian,
    )
    if result is not None:
        return result
    # Finer paths (2K, then 4K segments), each from the coarser one refined and
    # afresh from the SVD path or the line: L-BFGS may stop at different paths
    # (energies 0.192 and 0.170 on a trained pair near rank deficiency; at 16
    # segments another pair's path dipped to s_min = 2e-7 where the 32-segment
    # one stays above 5e-6), and the lower-energy one is kept.
    fine = points
    for level in (2, 4):
        fine = min(
            (
                discrete_geodesic(x, y, metric.depth, level * segments, initial=start)
                for start in (
                    _refine(fine),
                    initial_path(x, y, metric.depth, level * segments, path),
                )
            ),
            key=lambda candidate: path_energy(candidate, metric.depth),
        )
        result = attempt(
            f"the discrete geodesic of {level * segments} segments",
            discrete_initial_velocity(fine, metric.depth),
            max_jacobians=3,
            max_halvings=10,
        )
        if result is not None:
            return result
    if shooter.size <= _DENSE_MAX:
        # Multiple shooting through the fine path's nodes: each segment's flow
        # is tame where the whole geodesic's end point is too sensitive to its
        # initial velocity (near rank-deficient matrices); its answer is then
        # checked (and polished) by single shooting.
        try:
            guess = multiple_shooting(metric, fine, 0.1 * tol, final_rtol)
        except MultipleShootingFailure as failure:
            reasons.append(f"multiple shooting: {failure.reason}")
        else:
            result = attempt("multiple shooting", guess, max_jacobians=2)
            if result is not None:
                return result
    if not svd_first:
        result = attempt(
            "the SVD path", path_velocity, max_jacobians=3, max_halvings=10
        )
        if result is not None:
            return result
    guess = discrete_initial_velocity(fine, metric.depth)
    points, segments = fine, len(fine) - 1

    def discrete_path(t):
        position = t * segments
        k = min(int(position), segments - 1)
        weight = position - k
        return (1.0 - weight) * points[k] + weight * points[k + 1]

    for name, target_path in (("discrete geodesic", discrete_path), ("SVD path", path)):
        try:
            velocity = _continuation(
                shooter, target_path, guess, tol, max_iter, final_rtol
            )
            return scale * velocity, None
        except LogFailure as failure:
            reasons.append(f"continuation along the {name}: {failure.reason}")
    raise LogFailure("shooting failed (" + "; ".join(reasons) + ")")


def _continuation(shooter, path, initial_velocity, tol, max_iter, final_rtol):
    """Solve ``exp_x(v) = path(tau)`` for tau from 0 to 1 (module item 4).

    ``initial_velocity`` approximates ``log_x(path(1))``: ``tau *
    initial_velocity`` predicts the first step, secants the later ones.
    """
    tau, velocity, h = 0.0, np.zeros_like(shooter.point), 0.25
    previous = None
    while tau < 1.0:
        if h < 1.0 / 256:
            raise LogFailure(f"stopped at t = {tau:.3g}")
        new_tau = min(1.0, tau + h)
        if tau == 0.0:
            guess = new_tau * initial_velocity
        elif previous is None:
            guess = velocity * new_tau / tau
        else:  # secant predictor
            prev_tau, prev_velocity = previous
            guess = velocity + (velocity - prev_velocity) * (new_tau - tau) / (
                tau - prev_tau
            )
        goal = path(new_tau)
        rtol = final_rtol if new_tau == 1.0 else max(final_rtol, 1e-9)
        try:
            # A continuation step is a short solve: fail fast and shorten it.
            new_velocity, _, _ = _newton(
                shooter,
                guess,
                goal,
                tol if new_tau == 1.0 else 1e-7,
                max_iter if new_tau == 1.0 else 6,
                rtol,
                max_halvings=3,
            )
        except LogFailure:
            h *= 0.5
            continue
        previous = (tau, velocity) if tau > 0.0 else None
        tau, velocity = new_tau, new_velocity
        h = min(2.0 * h, 0.5)
    return velocity
