r"""Multiple shooting for the logarithm of ``(M_d, g^N)`` near rank deficiency.

Single shooting (:mod:`geomstats_dln._shooting`) asks one geodesic from ``X``
to land on ``Y``. When the geodesic runs close to rank-deficient matrices (on
trained networks: ``s_min / s_max`` down to ``1e-6`` along the path) the end
point depends so strongly on the initial velocity that every guess shoots
across the boundary, where the geodesic equation stops. Multiple shooting
splits the path at the nodes ``X_1, ..., X_{K-1}`` of a discrete geodesic and
solves for the states at the nodes together:

    unknowns   V_0, (X_1, V_1), ..., (X_{K-1}, V_{K-1})
    equations  F(X_j, V_j) = (X_{j+1}, V_{j+1})   (j = 0, ..., K - 2)
               F_X(X_{K-1}, V_{K-1}) = Y

with ``F`` the unit-time geodesic flow in position and velocity (``V = A_X
P``) and ``X_0 = X``. Each segment spans ``1/K`` of the geodesic, so its flow
is tame, and the Jacobian (block bidiagonal; each block the derivative of a
short flow, by forward differences of geodesics integrated together) is well
conditioned. The starting states come from the discrete geodesic: its nodes,
and its discrete Legendre velocities (accurate to ``O(1/K^2)``). The solution
is one geodesic: ``log_X(Y) = K V_0``. This is the classical method for
boundary value problems whose single-shooting map is ill-conditioned (Stoer
and Bulirsch, *Introduction to Numerical Analysis*, section 7.3.5).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
from scipy.integrate import DOP853, RK45

from geomstats_dln._spectral import (
    apply_operator,
    squared_norm_and_gradient,
    svd_frame,
)

__all__ = ["backtracking", "node_velocities", "multiple_shooting"]

_JACOBIAN_RTOL = 1e-6  # integrator tolerance of the Jacobian's flows (RK45)
# relative residual below which an unconverged solution is still returned, as a
# starting velocity for single shooting (which checks and polishes it)
_GUESS_RESIDUAL = 1e-4


def backtracking(evaluate, start, step, res_norm, max_halvings):
    """Damped step on a residual norm (shared by single and multiple shooting).

    Tries ``alpha = 1, 1/2, ...`` (``max_halvings`` trials) until
    ``|evaluate(start + alpha step)| < (1 - 1e-4 alpha) res_norm``;
    ``evaluate`` returns ``None`` for a trial whose flow leaves M_d (then the
    step is shortened). Returns ``(alpha, candidate, residual, norm)``, or
    ``None`` when no trial decreases the norm.
    """
    alpha = 1.0
    for _ in range(max_halvings):
        candidate = start + alpha * step
        residual = evaluate(candidate)
        if residual is not None:
            norm = float(np.linalg.norm(residual))
            if norm < (1.0 - 1e-4 * alpha) * res_norm:
                return alpha, candidate, residual, norm
        alpha *= 0.5
    return None


class MultipleShootingFailure(Exception):
    """Multiple shooting could not solve the problem; ``reason`` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def node_velocities(points, depth):
    r"""Segment velocities ``V_j`` at the nodes ``j = 0, ..., K - 1`` [K, n, m].

    From the discrete Legendre transform of ``E = K sum_j g_{M_j}(D_j, D_j)``
    (``D_j = X_{j+1} - X_j``, ``M_j`` the midpoints), the momentum at the start
    of segment ``j`` is ``P_j = K (A_{M_j}^{-1} D_j - 1/4 d/dX g_{M_j}(D_j,
    D_j))`` and ``X'(t_j) = A_{X_j}(P_j)``; a segment traversed in unit time
    has velocity ``X'(t_j) / K``.
    """
    n_segments = len(points) - 1
    deltas = np.diff(points, axis=0)
    mids = 0.5 * (points[1:] + points[:-1])
    _, momenta, gradients = squared_norm_and_gradient(mids, deltas, depth)
    momenta = n_segments * (momenta - 0.25 * gradients)
    return apply_operator(svd_frame(points[:-1], depth), momenta, 1.0) / n_segments


def _flow(metric, points, velocities, rtol, low_order=False):
    """Unit-time geodesic flow ``(X, V) -> (X(1), V(1))`` of a flat batch."""
    momenta = metric._momenta(velocities, points)
    ends, end_momenta = metric._integrate(
        points,
        momenta,
        np.array([1.0]),
        rtol,
        None,
        None,
        RK45 if low_order else DOP853,
        return_momenta=True,
    )
    ends, end_momenta = ends[-1], end_momenta[-1]
    return ends, apply_operator(svd_frame(ends, metric.depth), end_momenta, 1.0)


class _Segments:
    """The multiple-shooting system of one scaled problem."""

    def __init__(self, metric, point, target, n_segments):
        self.metric = metric
        self.point = point
        self.target = target
        self.n_segments = n_segments
        self.shape = point.shape
        self.k = point.size
        self.size = self.k * (2 * n_segments - 1)

    def pack(self, nodes, velocities):
        parts = [velocities[0].ravel()]
        for j in range(1, self.n_segments):
            parts += [nodes[j - 1].ravel(), velocities[j].ravel()]
        return np.concatenate(parts)

    def unpack(self, unknowns):
        k, shape = self.k, self.shape
        velocities = [unknowns[:k].reshape(shape)]
        nodes = []
        for j in range(1, self.n_segments):
            offset = k + 2 * k * (j - 1)
            nodes.append(unknowns[offset : offset + k].reshape(shape))
            velocities.append(unknowns[offset + k : offset + 2 * k].reshape(shape))
        return np.array(nodes).reshape((-1,) + shape), np.array(velocities)

    def starts(self, nodes):
        return np.concatenate([self.point[None], nodes])

    def residual(self, unknowns, rtol):
        """The equations' residual [size], or ``None`` when a flow leaves M_d."""
        from geomstats_dln.end_to_end import GeodesicError

        nodes, velocities = self.unpack(unknowns)
        try:
            ends, end_velocities = _flow(
                self.metric, self.starts(nodes), velocities, rtol
            )
        except (GeodesicError, ValueError):
            return None
        parts = []
        for j in range(self.n_segments - 1):
            parts += [
                (ends[j] - nodes[j]).ravel(),
                (end_velocities[j] - velocities[j + 1]).ravel(),
            ]
        parts.append((ends[-1] - self.target).ravel())
        return np.concatenate(parts)

    def whitening(self, nodes):
        """``A_{X_j}^{1/2}`` as matrices [K, k, k] in the entry basis."""
        starts = self.starts(nodes)
        k = self.k
        basis = np.eye(k).reshape((k,) + self.shape)
        # one frame per node, broadcast over the k basis matrices
        frame = svd_frame(starts, self.metric.depth)
        columns = apply_operator(frame, basis[:, None], 0.5)  # [k, K, n, m]
        return np.transpose(columns.reshape(k, len(starts), k), (1, 2, 0))

    def jacobian(self, unknowns):
        """Jacobian [size, size] in whitened coordinates, and the whitenings.

        Unknowns are perturbed along ``A_{X_j}^{1/2} e_i`` (unit g-length
        directions at the node), so that the forward-difference steps follow
        the geometry: near a rank-deficient node a step of fixed Euclidean
        size would be large against the small singular values and the flow,
        very nonlinear there, would spoil the quotient. A Newton step ``dw``
        in these coordinates is ``du_j = A_{X_j}^{1/2} dw_j`` in entries.
        Returns ``None`` when a flow leaves M_d.
        """
        from geomstats_dln.end_to_end import GeodesicError

        k, shape, n_segments = self.k, self.shape, self.n_segments
        nodes, velocities = self.unpack(unknowns)
        starts = self.starts(nodes)
        whitening = self.whitening(nodes)
        step = 1e-7
        batch_points, batch_velocities = [], []
        for j in range(n_segments):
            x_j, v_j = starts[j], velocities[j]
            directions = step * whitening[j].T.reshape((k,) + shape)
            batch_points += [x_j[None], np.broadcast_to(x_j, directions.shape)]
            batch_velocities += [v_j[None], v_j + directions]
            if j > 0:
                batch_points.append(x_j + directions)
                batch_velocities.append(np.broadcast_to(v_j, directions.shape))
        points = np.concatenate(batch_points)
        vectors = np.concatenate(batch_velocities)
        try:
            ends, end_velocities = _flow(
                self.metric, points, vectors, _JACOBIAN_RTOL, low_order=True
            )
        except (GeodesicError, ValueError):
            return None
        states = np.concatenate(
            [ends.reshape(len(ends), k), end_velocities.reshape(len(ends), k)], axis=1
        )
        jacobian = np.zeros((self.size, self.size))
        row, cursor = 0, 0
        for j in range(n_segments):
            base = states[cursor]
            by_v = (states[cursor + 1 : cursor + 1 + k] - base).T / step
            cursor += 1 + k
            by_x = None
            if j > 0:
                by_x = (states[cursor : cursor + k] - base).T / step
                cursor += k
            rows = 2 * k if j < n_segments - 1 else k
            column_v = 0 if j == 0 else k + 2 * k * (j - 1) + k
            jacobian[row : row + rows, column_v : column_v + k] = by_v[:rows]
            if by_x is not None:
                column_x = k + 2 * k * (j - 1)
                jacobian[row : row + rows, column_x : column_x + k] = by_x[:rows]
            if j < n_segments - 1:
                # minus the next segment's unknowns (X_{j+1}, V_{j+1}), whitened
                column_next = k + 2 * k * j
                block = whitening[j + 1]
                rows_x, rows_v = slice(row, row + k), slice(row + k, row + 2 * k)
                jacobian[rows_x, column_next : column_next + k] -= block
                jacobian[rows_v, column_next + k : column_next + 2 * k] -= block
            row += rows
        return jacobian, whitening

    def unwhiten(self, step, whitening):
        """Entry-coordinate step from a whitened one (:meth:`jacobian`)."""
        k = self.k
        out = np.empty_like(step)
        out[:k] = whitening[0] @ step[:k]
        for j in range(1, self.n_segments):
            offset = k + 2 * k * (j - 1)
            out[offset : offset + k] = whitening[j] @ step[offset : offset + k]
            out[offset + k : offset + 2 * k] = (
                whitening[j] @ step[offset + k : offset + 2 * k]
            )
        return out


def multiple_shooting(metric, points, tol, final_rtol, max_iter=40, max_jacobians=2):
    """``log_X(Y)`` by multiple shooting from a discrete geodesic (scaled problem).

    Parameters
    ----------
    metric : DLNMetric
    points : ndarray, shape=[K + 1, n, m]
        A discrete geodesic from ``X = points[0]`` to ``Y = points[-1]``.
    tol : float
        Relative residual of the equations to reach (against ``|Y|``).
    final_rtol : float
        Integrator tolerance of the last residual.
    max_iter : int
        Newton and chord steps.
    max_jacobians : int
        Jacobians allowed (each costs ``(2 nm + 1) K`` short flows): where the
        residual is so nonlinear that a fresh Newton step gains less than a
        factor 10 (seen on trained pairs whose path dips to ``s_min / s_max
        = 1e-6``), continuation is the cheaper route, and the caller takes it.

    Returns
    -------
    velocity : ndarray, shape=[n, m]
        ``K V_0``, the initial velocity of the geodesic through the nodes:
        converged to ``tol``, or, when the Jacobians are spent, the current
        iterate if its relative residual is below ``1e-4`` (then a starting
        guess; the caller checks it by single shooting).

    Raises
    ------
    MultipleShootingFailure
    """
    n_segments = len(points) - 1
    system = _Segments(metric, points[0], points[-1], n_segments)
    target_norm = max(float(np.linalg.norm(points[-1])), 1e-300)
    try:
        velocities = node_velocities(points, metric.depth)
    except ValueError as error:  # a node or midpoint is not full rank
        raise MultipleShootingFailure(f"the starting path: {error}") from error
    unknowns = system.pack(points[1:-1], velocities)

    def rtol_for(res_norm):
        return float(np.clip(1e-4 * res_norm / target_norm, final_rtol, 1e-6))

    rtol = 1e-6
    residual = system.residual(unknowns, rtol)
    if residual is None:
        raise MultipleShootingFailure("a segment of the starting path leaves M_d")
    res_norm = float(np.linalg.norm(residual))
    factors, whitening, jacobians = None, None, 0
    for _ in range(max_iter):
        if res_norm <= tol * target_norm:
            if rtol <= final_rtol:
                return n_segments * system.unpack(unknowns)[1][0]
            rtol = final_rtol
            residual = system.residual(unknowns, rtol)
            if residual is None:
                raise MultipleShootingFailure("a converged segment leaves M_d")
            res_norm = float(np.linalg.norm(residual))
            continue
        fresh = factors is None
        if fresh:
            if jacobians >= max_jacobians:
                if res_norm <= _GUESS_RESIDUAL * target_norm:
                    # not converged, but close: a guess for single shooting
                    return n_segments * system.unpack(unknowns)[1][0]
                raise MultipleShootingFailure(
                    f"slow convergence: relative residual {res_norm / target_norm:.2e}"
                    f" after {jacobians} Jacobians"
                )
            jacobians += 1
            # A Jacobian costs about 2k + 1 flows per segment, a residual one:
            # it is kept (chord steps) while the steps contract well.
            result = system.jacobian(unknowns)
            if result is None:
                raise MultipleShootingFailure("a Jacobian flow leaves M_d")
            jacobian, whitening = result
            try:
                factors = scipy.linalg.lu_factor(jacobian, check_finite=False)
            except (ValueError, np.linalg.LinAlgError) as error:
                raise MultipleShootingFailure("singular Jacobian") from error
        delta = system.unwhiten(
            -scipy.linalg.lu_solve(factors, residual, check_finite=False), whitening
        )
        new_rtol = rtol_for(res_norm)
        trial = backtracking(
            lambda candidate, rtol=new_rtol: system.residual(candidate, rtol),
            unknowns,
            delta,
            res_norm,
            8 if fresh else 1,
        )
        if trial is None:
            if fresh:
                raise MultipleShootingFailure(
                    f"stalled at relative residual {res_norm / target_norm:.2e}"
                )
            factors = None  # the kept Jacobian no longer serves: recompute
            continue
        alpha, candidate, new_residual, new_norm = trial
        if alpha < 1.0 or new_norm > 0.5 * res_norm:
            factors = None  # poor contraction: a fresh Jacobian next
        unknowns, residual, res_norm, rtol = candidate, new_residual, new_norm, new_rtol
    raise MultipleShootingFailure(
        f"no convergence in {max_iter} iterations (relative residual "
        f"{res_norm / target_norm:.2e})"
    )
