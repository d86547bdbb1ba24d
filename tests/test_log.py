"""The logarithm and distance of ``(M_d, g^N)`` (issue: log/dist on trained
networks): closed forms, inverse-map identities, invariances, scale law, depth
limit, determinant components, batch error modes and the exact quotient route.
"""

import math

import numpy as np
import pytest
import scipy.linalg
from scipy.stats import ortho_group

from geomstats.geometry.quotient_metric import QuotientMetric
from geomstats.geometry.spd_matrices import SPDBuresWassersteinMetric, SPDMatrices

from geomstats_dln import (
    BalancedManifold,
    EndToEndMatrices,
    GeodesicError,
    center,
    end_to_end,
    gauge_action,
)
from geomstats_dln._shooting import discrete_geodesic, discrete_initial_velocity
from geomstats_dln.balanced import random_gauges
from geomstats_dln.datasets import digits_regression, train_ensemble


def _rel(a, b):
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(b))


def _near_identity(rng, n, m=None, spread=0.3):
    m = n if m is None else m
    return np.eye(n, m) + spread * rng.normal(size=(n, m)) / np.sqrt(n)


@pytest.mark.parametrize("depth", [2, 3, 5, 40, math.inf])
def test_frame_diagonal_closed_form(depth):
    """Shared singular vectors: w = s^{1/N} (log s at N = inf) moves affinely,
    so log is known and dist^2 = N sum (dw)^2 (sum (d log s)^2 s... at inf)."""
    rng = np.random.default_rng(1)
    n = 3
    u, v = ortho_group.rvs(n, random_state=2), ortho_group.rvs(n, random_state=3)
    s_x = np.array([2.0, 0.7, 1e-3])
    s_y = np.array([1.5, 1.1, 4e-3])
    x, y = (u * s_x) @ v.T, (u * s_y) @ v.T
    metric = EndToEndMatrices(n, depth=depth).metric
    if depth == math.inf:
        rate = s_x * np.log(s_y / s_x)
        # a_ii = s_i^2 at infinite depth: g = sum (ds/s)^2
        expected_dist = np.sqrt(np.sum(np.log(s_y / s_x) ** 2))
    else:
        w_x, w_y = s_x ** (1 / depth), s_y ** (1 / depth)
        rate = depth * w_x ** (depth - 1) * (w_y - w_x)
        expected_dist = np.sqrt(depth * np.sum((w_y - w_x) ** 2))
    expected = (u * rate) @ v.T
    log = np.asarray(metric.log(y, x))
    assert _rel(log, expected) < 1e-8
    assert abs(float(metric.dist(x, y)) - expected_dist) < 1e-8 * expected_dist
    del rng


def test_bures_wasserstein_at_depth_two():
    """N = 2 on SPD matrices: the g^2 log is geomstats' Bures-Wasserstein log,
    and dist = sqrt(2) dist_BW (g^2 = 2 BW)."""
    rng = np.random.default_rng(4)
    spd = SPDMatrices(3, equip=False)
    bw = SPDBuresWassersteinMetric(spd)
    metric = EndToEndMatrices(3, depth=2).metric
    for _ in range(3):
        a, b = rng.normal(size=(2, 3, 3))
        x, y = a @ a.T + 0.3 * np.eye(3), b @ b.T + 0.3 * np.eye(3)
        assert _rel(metric.log(y, x), bw.log(y, x)) < 1e-8
        np.testing.assert_allclose(
            float(metric.dist(x, y)), np.sqrt(2) * float(bw.dist(x, y)), rtol=1e-8
        )


@pytest.mark.parametrize(
    "shape, depth", [((3, 3), 2), ((3, 3), 3), ((2, 4), 3), ((4, 2), 8), ((3, 3), 400)]
)
def test_exp_log_inverse_identities(shape, depth):
    rng = np.random.default_rng(5)
    metric = EndToEndMatrices(*shape, depth=depth).metric
    x = _near_identity(rng, *shape)
    y = _near_identity(rng, *shape)
    log = metric.log(y, x)
    assert _rel(metric.exp(log, x), y) < 1e-8  # exp(log(Y)) = Y
    vector = 0.3 * rng.normal(size=shape)
    assert _rel(metric.log(metric.exp(vector, x), x), vector) < 1e-7  # log(exp(V))


def test_symmetry_and_triangle_inequality():
    rng = np.random.default_rng(6)
    metric = EndToEndMatrices(3, depth=3, component=1).metric
    points = np.stack([_near_identity(rng, 3, spread=0.6) for _ in range(4)])
    points[np.linalg.det(points) < 0, :, 0] *= -1.0
    rows, cols = np.triu_indices(4, 1)
    forward = np.asarray(metric.dist(points[rows], points[cols]))
    backward = np.asarray(metric.dist(points[cols], points[rows]))
    np.testing.assert_allclose(forward, backward, rtol=1e-8)
    table = np.zeros((4, 4))
    table[rows, cols] = table[cols, rows] = forward
    for i in range(4):
        for j in range(4):
            for k in range(4):
                assert table[i, k] <= table[i, j] + table[j, k] + 1e-10


@pytest.mark.parametrize("depth", [2, 3, math.inf])
def test_scale_law(depth):
    """log_{cX}(cY) = c log_X(Y) and dist(cX, cY) = c^{1/N} dist (homothety)."""
    rng = np.random.default_rng(7)
    metric = EndToEndMatrices(3, depth=depth).metric
    x, y = _near_identity(rng, 3), _near_identity(rng, 3)
    log = np.asarray(metric.log(y, x))
    dist = float(metric.dist(x, y))
    for c in [1e-12, 1e-8, 1e-3, 1e3, 1e12]:
        assert _rel(np.asarray(metric.log(c * y, c * x)) / c, log) < 1e-8
        power = 0.0 if depth == math.inf else 1.0 / depth
        np.testing.assert_allclose(
            float(metric.dist(c * x, c * y)), c**power * dist, rtol=1e-8
        )


def test_transpose_and_orthogonal_invariance():
    rng = np.random.default_rng(8)
    metric = EndToEndMatrices(2, 4, depth=3).metric
    metric_t = EndToEndMatrices(4, 2, depth=3).metric
    x, y = _near_identity(rng, 2, 4), _near_identity(rng, 2, 4)
    dist = float(metric.dist(x, y))
    np.testing.assert_allclose(float(metric_t.dist(x.T, y.T)), dist, rtol=1e-8)
    left, right = ortho_group.rvs(2, random_state=1), ortho_group.rvs(4, random_state=2)
    moved = float(metric.dist(left @ x @ right.T, left @ y @ right.T))
    np.testing.assert_allclose(moved, dist, rtol=1e-8)
    log = np.asarray(metric.log(y, x))
    assert (
        _rel(metric.log(left @ y @ right.T, left @ x @ right.T), left @ log @ right.T)
        < 1e-8
    )


def test_depth_400_approaches_infinite_depth():
    """A_N / N -> A_inf with error O(1/N): sqrt(N) dist_N -> dist_inf, and the
    error falls by about 4 from N = 100 to N = 400."""
    rng = np.random.default_rng(9)
    x, y = _near_identity(rng, 3), _near_identity(rng, 3)
    limit = float(EndToEndMatrices(3, depth=math.inf).metric.dist(x, y))
    errors = []
    for depth in (100, 400):
        scaled = np.sqrt(depth) * float(
            EndToEndMatrices(3, depth=depth).metric.dist(x, y)
        )
        errors.append(abs(scaled - limit) / limit)
    assert errors[1] < 1e-2
    assert 3.0 < errors[0] / errors[1] < 5.0


def test_components_distance_inf_and_log_refused():
    metric = EndToEndMatrices(2, depth=3).metric
    x = np.eye(2)
    y = np.diag([1.0, -2.0])
    assert float(metric.dist(x, y)) == math.inf
    with pytest.raises(GeodesicError, match="components"):
        metric.log(y, x)
    # the isometry X -> X D exchanges the components and keeps distances
    z = np.array([[1.2, 0.3], [-0.2, 0.9]])
    flip = np.diag([-1.0, 1.0])
    np.testing.assert_allclose(
        float(metric.dist(x @ flip, z @ flip)), float(metric.dist(x, z)), rtol=1e-8
    )


def test_component_space():
    space = EndToEndMatrices(3, depth=2, component=-1)
    points = space.random_point(20)
    assert np.all(np.linalg.det(points) < 0)
    assert np.all(space.belongs(points))
    assert not np.any(space.belongs(-points))
    projected = space.projection(-points)
    assert np.all(space.belongs(projected))
    # the nearest sign change: only the smallest singular value flips
    np.testing.assert_allclose(
        np.linalg.svd(projected, compute_uv=False),
        np.linalg.svd(points, compute_uv=False),
        rtol=1e-12,
    )
    with pytest.raises(ValueError, match="square"):
        EndToEndMatrices(2, 3, component=1)
    with pytest.raises(ValueError, match="component"):
        EndToEndMatrices(2, component=0)


def test_batch_error_modes():
    metric = EndToEndMatrices(2, depth=3).metric
    base = np.stack([np.eye(2)] * 3)
    targets = np.stack([np.diag([1.1, 0.9]), np.diag([1.0, -1.0]), np.diag([0.8, 1.2])])
    with pytest.raises(GeodesicError, match="batch index 1.*components"):
        metric.log(targets, base)
    logs = np.asarray(metric.log(targets, base, errors="nan"))
    assert np.all(np.isnan(logs[1]))
    for i in (0, 2):
        np.testing.assert_allclose(logs[i], metric.log(targets[i], base[i]), rtol=1e-12)
    dists = np.asarray(metric.dist(targets, base, errors="nan"))
    assert dists[1] == math.inf and np.all(np.isfinite(dists[[0, 2]]))
    # a failed solve in the same component: NaN distance, the others computed
    flat_dists = np.asarray(
        EndToEndMatrices(2, depth=1).metric.dist(
            np.stack([-np.eye(2), 2 * np.eye(2)]), np.eye(2), errors="nan"
        )
    )
    assert np.isnan(flat_dists[0]) and np.isclose(flat_dists[1], np.sqrt(2))
    with pytest.raises(ValueError, match="errors"):
        metric.log(targets, base, errors="ignore")
    # a failure other than components: depth 1, a segment through 0
    flat = EndToEndMatrices(2, depth=1).metric
    values = np.asarray(
        flat.log(np.stack([-np.eye(2), 2 * np.eye(2)]), np.eye(2), errors="nan")
    )
    assert np.all(np.isnan(values[0])) and np.allclose(values[1], np.eye(2))


def test_trained_networks_all_same_component_pairs():
    """Small digits ensemble (d = 4, depth 3): every same-component log
    succeeds, and exp(log) = Y to 1e-8."""
    task = digits_regression(4, seed=0)
    layers = train_ensemble(task, 6, 3, init="gaussian", n_steps=300, seed=2)
    points = np.asarray(end_to_end(layers))
    signs = np.sign(np.linalg.det(points))
    metric = EndToEndMatrices(4, depth=3).metric
    pairs = [(i, j) for i in range(6) for j in range(i + 1, 6) if signs[i] == signs[j]]
    assert pairs
    for i, j in pairs:
        log = metric.log(points[j], points[i])
        assert _rel(metric.exp(log, points[i]), points[j]) < 1e-8


@pytest.mark.parametrize("depth", [2, 3])
def test_quotient_route_is_exact(depth):
    """geomstats' generic QuotientMetric log (align + log of M + dphi) equals
    DLNMetric.log; the aligned log is horizontal; align takes batches."""
    rng = np.random.default_rng(10)
    total = BalancedManifold(2, depth)
    quotient = total.equip_with_quotient()
    bundle = total.fiber_bundle
    x, y = _near_identity(rng, 2), _near_identity(rng, 2)
    w = gauge_action(random_gauges(depth, 2), center(x, depth))
    w_y = gauge_action(random_gauges(depth, 2), center(y, depth))
    down = EndToEndMatrices(2, depth=depth).metric
    generic = QuotientMetric.log(quotient.metric, y, x)
    assert _rel(generic, down.log(y, x)) < 1e-8
    aligned = bundle.align(w_y, w)
    up = total.metric.log(aligned, w)
    assert _rel(bundle.horizontal_projection(up, w), up) < 1e-8
    np.testing.assert_allclose(
        np.sqrt(np.sum(up**2)), float(down.dist(x, y)), rtol=1e-8
    )
    batch = bundle.align(np.stack([w_y, w]), np.stack([w, w]))
    np.testing.assert_allclose(batch[0], aligned, atol=1e-12)
    logs = total.metric.log(batch, np.stack([w, w]))
    assert logs.shape == (2, depth, 2, 2)
    np.testing.assert_allclose(logs[1], 0.0, atol=1e-9)
    np.testing.assert_allclose(
        float(quotient.metric.dist(x, y)), float(down.dist(x, y))
    )


def test_metric_input_validation():
    """Lists are accepted; complex input to the geodesic maps is a TypeError
    (never a silent cast; the metric itself is complex-aware, see
    tests/test_complex_downstairs.py); inf in geodesic_equation is refused
    before LAPACK (which loops on inf)."""
    metric = EndToEndMatrices(2, depth=3).metric
    listed = metric.exp([[0.1, 0.0], [0.0, 0.1]], [[1, 0], [0, 1]])
    np.testing.assert_allclose(listed, metric.exp(0.1 * np.eye(2), np.eye(2)))
    with pytest.raises(TypeError, match="complex"):
        metric.exp(0.1 * np.eye(2), np.eye(2) + 0.5j)
    with pytest.raises(TypeError, match="complex"):
        metric.log(np.eye(2) + 0.5j, np.eye(2))
    state = np.stack([np.array([[np.inf, 0.0], [0.0, 1.0]]), np.eye(2)])
    with pytest.raises(ValueError, match="non-finite"):
        metric.geodesic_equation(state)
    with pytest.raises(ValueError, match="nearly rank-deficient"):
        metric.log(np.diag([1.0, 1e-9]), np.eye(2))


@pytest.mark.parametrize("depth", [3, 8])
def test_discrete_legendre_velocity_converges_at_second_order(depth):
    """The discrete geodesic's Legendre velocity tends to log_X(Y) at rate
    1/K^2 (the midpoint discretization is second order): halving the segments
    divides the error by 4, against the velocity of the shot that made Y."""
    rng = np.random.default_rng(0 if depth == 3 else 1)
    x = np.eye(3) + 0.3 * rng.normal(size=(3, 3))
    v = 0.6 * rng.normal(size=(3, 3))
    y = np.asarray(EndToEndMatrices(3, depth=depth).metric.exp(v, x))
    errors = []
    for segments in (4, 8, 16):
        points = discrete_geodesic(x, y, depth, segments, max_iter=5000)
        guess = discrete_initial_velocity(points, depth)
        errors.append(_rel(guess, v))
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all((ratios > 3.5) & (ratios < 4.5)), (errors, ratios)


def test_discrete_legendre_velocity_beats_a_stencil_near_the_boundary():
    """Near a small singular value (s_min 1e-4) the entries of the path are far
    from linear in t: the Legendre velocity is several times closer to the log
    (solved to 1e-11 and checked by exp) than a second-order stencil."""
    depth = 3
    u, w = ortho_group.rvs(3, random_state=1), ortho_group.rvs(3, random_state=2)
    generator = np.array([[0.0, 0.1, -0.2], [-0.1, 0.0, 0.15], [0.2, -0.15, 0.0]])
    rotation = scipy.linalg.expm(generator)
    x = (u * [1.0, 0.5, 1e-4]) @ w.T
    y = (u @ rotation * [1.2, 0.3, 1e-2]) @ (w @ rotation.T).T
    metric = EndToEndMatrices(3, depth=depth).metric
    v = np.asarray(metric.log(y, x))
    assert _rel(np.asarray(metric.exp(v, x)), y) < 1e-8
    points = discrete_geodesic(x, y, depth, 8, max_iter=5000)
    legendre = _rel(discrete_initial_velocity(points, depth), v)
    stencil = _rel(8 * (-3 * points[0] + 4 * points[1] - points[2]) / 2, v)
    assert legendre < 0.25 * stencil, (legendre, stencil)
