"""Starting paths of the log and multiple shooting.

Independent references: the frame-diagonal closed form of g^N geodesics (in
``w = s^{1/N}`` the metric restricted to diagonal matrices is ``N |dw|^2``, so
``s(t)^{1/N}`` is affine in ``t``), central differences of the shooting
residual, and the geodesic integrator (``DLNMetric.exp``) for the end point.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import scipy.linalg

from geomstats_dln import EndToEndMatrices
from geomstats_dln._multiple_shooting import (
    MultipleShootingFailure,
    _Segments,
    multiple_shooting,
    node_velocities,
)
from geomstats_dln._shooting import (
    discrete_geodesic,
    initial_path,
    path_energy,
    svd_path,
)


def _diagonal_geodesic(s_x, s_y, depth, times):
    w_x, w_y = s_x ** (1.0 / depth), s_y ** (1.0 / depth)
    points = np.array([np.diag(((1 - t) * w_x + t * w_y) ** depth) for t in times])
    velocities = np.array(
        [
            np.diag(depth * ((1 - t) * w_x + t * w_y) ** (depth - 1) * (w_y - w_x))
            for t in times
        ]
    )
    return points, velocities


@pytest.mark.parametrize("depth", [2, 3, 5])
def test_node_velocities_converge_at_second_order_on_the_closed_form(depth):
    s_x, s_y = np.array([1.0, 0.4, 0.05]), np.array([0.6, 0.9, 0.2])
    errors = []
    for n_segments in (8, 16, 32):
        times = np.linspace(0.0, 1.0, n_segments + 1)
        points, velocities = _diagonal_geodesic(s_x, s_y, depth, times)
        estimate = node_velocities(points, depth) * n_segments
        errors.append(np.abs(estimate - velocities[:-1]).max())
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all(ratios > 3.5), (errors, ratios)
    assert errors[-1] < 1e-3


def test_initial_path_takes_the_line_when_the_svd_pairing_swaps_vectors():
    # X's and Y's two largest singular values trade places: the SVD path pairs
    # them in order and rotates e_1 onto e_2 (its velocity is far from the
    # geodesic's), while the straight line is close to the frame-diagonal
    # geodesic.
    depth = 3
    x, y = np.diag([1.0, 1.02, 0.7]), np.diag([1.03, 0.99, 0.72])
    _, closed = _diagonal_geodesic(np.diag(x), np.diag(y), depth, [0.0])
    curve, svd_velocity = svd_path(x, y, depth)
    assert np.linalg.norm(svd_velocity - closed[0]) > np.linalg.norm(closed[0])
    chosen = initial_path(x, y, depth, 8, curve)
    taus = np.linspace(0.0, 1.0, 9)
    line = (1 - taus)[:, None, None] * x + taus[:, None, None] * y
    np.testing.assert_allclose(chosen, line)
    svd_points = np.array([curve(t) for t in taus])
    assert path_energy(line, depth) < path_energy(svd_points, depth)
    metric = EndToEndMatrices(3, depth=depth).metric
    np.testing.assert_allclose(metric.log(y, x), closed[0], atol=1e-10)


def test_path_energy_is_infinite_through_a_singular_midpoint():
    # the midpoint of I and diag(1, -1) is diag(1, 0)
    points = np.array([np.eye(2), np.diag([1.0, -1.0])])
    assert path_energy(points, 3) == np.inf
    assert np.isfinite(path_energy(np.array([np.eye(2), np.diag([1.0, 2.0])]), 3))


def _rotation(rng, d, angle):
    generator = rng.normal(size=(d, d))
    generator = generator - generator.T
    return scipy.linalg.expm(angle * generator / np.linalg.norm(generator))


def _near_boundary_pair(seed=0, angle=0.5):
    """``s_min / s_max = 1e-5`` and ``1e-4``, small singular directions apart."""
    rng = np.random.default_rng(seed)
    x = np.diag([1.0, 0.3, 1e-5])
    y = _rotation(rng, 3, angle) @ np.diag([1.0, 0.4, 1e-4]) @ _rotation(rng, 3, angle)
    if np.linalg.det(y) < 0:
        y = y @ np.diag([1.0, 1.0, -1.0])
    return x, y


def test_multiple_shooting_jacobian_against_central_differences():
    depth = 3
    x, y = _near_boundary_pair()
    metric = EndToEndMatrices(3, depth=depth).metric
    points = discrete_geodesic(x, y, depth, 8, initial=initial_path(x, y, depth, 8))
    system = _Segments(metric, x, y, 8)
    unknowns = system.pack(points[1:-1], node_velocities(points, depth))
    jacobian, whitening = system.jacobian(unknowns)
    rng = np.random.default_rng(1)
    for _ in range(2):
        direction = rng.normal(size=system.size)
        direction /= np.linalg.norm(direction)
        step = system.unwhiten(direction, whitening)
        eps = 1e-6
        plus = system.residual(unknowns + eps * step, 1e-12)
        minus = system.residual(unknowns - eps * step, 1e-12)
        central = (plus - minus) / (2 * eps)
        error = np.linalg.norm(central - jacobian @ direction)
        assert error <= 1e-4 * np.linalg.norm(central)


@pytest.mark.parametrize("seed", [0, 2, 3])
def test_multiple_shooting_solves_near_boundary_pairs(seed):
    depth = 3
    x, y = _near_boundary_pair(seed)
    metric = EndToEndMatrices(3, depth=depth).metric
    points = discrete_geodesic(x, y, depth, 16, initial=initial_path(x, y, depth, 16))
    velocity = multiple_shooting(metric, points, 1e-11, metric.rtol)
    # the end point by the whole geodesic, integrated independently
    end = metric.exp(velocity, x)
    assert np.linalg.norm(end - y) <= 1e-8 * np.linalg.norm(y)
    # and the same answer as the package's log (single shooting first)
    np.testing.assert_allclose(
        velocity, metric.log(y, x), atol=1e-6 * np.linalg.norm(velocity)
    )


def test_multiple_shooting_refuses_a_start_across_the_boundary():
    depth = 3
    metric = EndToEndMatrices(2, depth=depth).metric
    x, y = np.diag([1.0, 1e-3]), np.diag([1.0, 2e-3])
    # a path through det = 0 (the midpoint of its middle segment is singular)
    points = np.array([x, np.diag([1.0, -0.5]), np.diag([1.0, 0.5]), y])
    with pytest.raises(MultipleShootingFailure):
        multiple_shooting(metric, points, 1e-10, metric.rtol)


def test_squared_dist_reuses_the_reverse_solve(monkeypatch):
    # d(Y, X) after log_X(Y): solved from the cached answer (no new shooting),
    # equal to the distance a fresh metric computes the other way round.
    # the package exports a function ``end_to_end`` that hides the module name
    end_to_end_module = importlib.import_module("geomstats_dln.end_to_end")

    rng = np.random.default_rng(4)
    x = np.eye(3) + 0.3 * rng.normal(size=(3, 3))
    y = np.eye(3) + 0.3 * rng.normal(size=(3, 3))
    metric = EndToEndMatrices(3, depth=3).metric
    forward = metric.log(y, x)
    calls = []
    original = end_to_end_module.solve_log

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(end_to_end_module, "solve_log", counting)
    reused = float(metric.squared_dist(y, x))
    assert calls == []
    np.testing.assert_allclose(reused, float(metric.squared_norm(forward, x)))
    fresh = float(EndToEndMatrices(3, depth=3).metric.squared_dist(y, x))
    assert len(calls) == 1
    np.testing.assert_allclose(reused, fresh, rtol=1e-8)


def test_a_row_of_logs_reuses_the_base_points_jacobian(monkeypatch):
    # log_X(Y_2) after log_X(Y_1): Newton starts with the Jacobian of exp_X from
    # the first solve (no new one for these nearby points) and gives the answer
    # of a fresh metric, which computes its own.
    import geomstats_dln._shooting as shooting

    counted = []
    original = shooting._Shooter._jacobian

    def counting(self, velocity):
        counted.append(1)
        return original(self, velocity)

    monkeypatch.setattr(shooting._Shooter, "_jacobian", counting)
    rng = np.random.default_rng(3)
    x, y_1, y_2 = np.eye(3) + 0.2 * rng.normal(size=(3, 3, 3))
    metric = EndToEndMatrices(3, depth=3).metric
    metric.log(y_1, x)
    counted.clear()
    reused = metric.log(y_2, x)
    assert counted == []
    fresh = EndToEndMatrices(3, depth=3).metric.log(y_2, x)
    assert len(counted) >= 1
    np.testing.assert_allclose(reused, fresh, atol=1e-9 * np.abs(fresh).max())
    np.testing.assert_allclose(metric.exp(reused, x), y_2, atol=1e-9)
