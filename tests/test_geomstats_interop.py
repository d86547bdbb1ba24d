"""geomstats' own tools run unchanged on ``(M_3, g^3)`` (MATH.md §3).

Each test drives a generic geomstats entry point -- ``FrechetMean``,
``RiemannianMetric.geodesic``, ``dist_pairwise``, ``variance``, a geomstats
Riemannian gradient descent -- on ``EndToEndMatrices(3, depth=3)`` and checks the
numbers against sources that do not go through the library's spectral code:

- the cometric ``A_{3,X}(Z) = sum_p (XX^T)^{(3-p)/3} Z (X^TX)^{(p-1)/3}`` built
  from its definition with ``scipy.linalg.fractional_matrix_power`` and inverted
  by a dense solve (the metric matrix);
- the closed form of the geodesics through a rotation ``R`` in the direction
  ``R`` (``exp_R(cR) = (1 + c/3)^3 R``, ``dist(R, sR) = 3 |1 - s^{1/3}|``): the
  line ``{sR}`` is the fixed set of the isometries ``X -> P X R^T P^T R``
  (``P`` orthogonal; ``X -> P X Q^T`` is an isometry of g^N), hence totally
  geodesic, and on it ``g_{sR}(zR, zR) = 3 z^2 / (3 s^{4/3})``;
- the definition of a Riemannian gradient, the length of the straight segment
  (an upper bound of the distance), first-order optimality and local minimality.

Run under both ``GEOMSTATS_BACKEND=numpy`` and ``GEOMSTATS_BACKEND=autograd``.
"""

from __future__ import annotations

import itertools
import signal

import numpy as np
import pytest
import scipy.linalg

import geomstats.backend as gs
from geomstats.geometry.sasaki_metric import GradientDescent
from geomstats.learning.frechet_mean import FrechetMean, variance

from geomstats_dln import DLNMetric, EndToEndMatrices, GeodesicError

DEPTH = 3
DIM = 3


# ---------------------------------------------------------------------------
# independent references (no geomstats_dln code)
# ---------------------------------------------------------------------------


def _spd_power(matrix, exponent):
    """``matrix^exponent`` of an SPD matrix by SciPy's Schur-Pade algorithm."""
    if exponent == 0:
        return np.eye(matrix.shape[0])
    power = scipy.linalg.fractional_matrix_power(matrix, exponent)
    assert np.max(np.abs(np.imag(power))) < 1e-12 * np.max(np.abs(power))
    return np.real(power)


def ref_operator(tangent_vec, point, depth=DEPTH):
    """``A_{N,X}(Z)`` from its definition (single matrices)."""
    point = np.asarray(point)
    left, right = point @ point.T, point.T @ point
    return sum(
        _spd_power(left, (depth - p) / depth)
        @ np.asarray(tangent_vec)
        @ _spd_power(right, (p - 1) / depth)
        for p in range(1, depth + 1)
    )


def ref_cometric(point, depth=DEPTH):
    """Matrix of ``A_{N,X}`` in the row-major entry basis: column k = vec A(E_k)."""
    n, m = np.shape(point)
    columns = [
        ref_operator(np.eye(n * m)[k].reshape(n, m), point, depth).ravel()
        for k in range(n * m)
    ]
    return np.stack(columns, axis=1)


def ref_metric(point, depth=DEPTH):
    """Metric matrix ``G = C^{-1}`` by a dense linear solve."""
    cometric = ref_cometric(point, depth)
    return np.linalg.solve(cometric, np.eye(cometric.shape[0]))


def ref_inner(tangent_a, tangent_b, point):
    """``vec(Z_1)^T G vec(Z_2)`` with the reference metric matrix."""
    return np.ravel(tangent_a) @ ref_metric(point) @ np.ravel(tangent_b)


def straight_length(point_a, point_b, n_nodes=12):
    """g-length of the segment from A to B (Gauss-Legendre, reference metric)."""
    nodes, weights = np.polynomial.legendre.leggauss(n_nodes)
    direction = np.asarray(point_b) - np.asarray(point_a)
    total = 0.0
    for node, weight in zip(nodes, weights, strict=True):
        t = 0.5 * (node + 1.0)
        point = np.asarray(point_a) + t * direction
        total += 0.5 * weight * np.sqrt(ref_inner(direction, direction, point))
    return total


def rotation(rng):
    """A random rotation (det +1)."""
    q, r = np.linalg.qr(rng.normal(size=(DIM, DIM)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


class _Hung(Exception):
    """Raised by the alarm when a call exceeds its time budget."""


def call_with_budget(seconds, function, *args):
    """Run ``function(*args)``; raise :class:`_Hung` after ``seconds`` (SIGALRM)."""

    def handler(signum, frame):
        raise _Hung(f"call did not return within {seconds} s")

    previous = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return function(*args)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def space():
    return EndToEndMatrices(DIM, depth=DEPTH)


@pytest.fixture(scope="module")
def metric(space):
    return space.metric


@pytest.fixture(scope="module")
def center():
    """A well-conditioned X0 with singular values (1.6, 1.2, 0.9), det > 0."""
    rng = np.random.default_rng(20240611)
    return rotation(rng) @ np.diag([1.6, 1.2, 0.9]) @ rotation(rng).T


@pytest.fixture(scope="module")
def cloud(center):
    """Five nearby points ``X0 + 0.2 * noise``, all in the det > 0 component."""
    rng = np.random.default_rng(7)
    points = center + 0.2 * rng.normal(size=(5, DIM, DIM))
    assert np.all(np.linalg.det(points) > 0.3)
    assert np.all(np.linalg.svd(points, compute_uv=False)[:, -1] > 0.4)
    return gs.array(points)


# ---------------------------------------------------------------------------
# 1. Frechet mean
# ---------------------------------------------------------------------------


def frechet_function(metric, point, points):
    """Sum of squared distances (one batched log from ``point``)."""
    return float(gs.sum(metric.squared_dist(point, points)))


def test_frechet_mean_is_a_critical_point_and_a_local_minimum(space, metric, cloud):
    estimator = FrechetMean(space)
    # geomstats dispatches to the generic gradient descent, not a closed form
    assert type(estimator) is FrechetMean
    estimator.set(max_iter=100, epsilon=1e-18)
    mean = estimator.fit(cloud).estimate_
    assert mean.shape == (DIM, DIM)
    assert bool(space.belongs(mean))

    # first-order condition: sum_i log_mean(x_i) = 0, relative to the logs' size
    logs = metric.log(cloud, mean)  # one base point broadcast against the batch
    assert logs.shape == cloud.shape
    np.testing.assert_allclose(
        metric.exp(logs, mean), cloud, atol=1e-8
    )  # the logs are genuine
    norms = np.sqrt(np.asarray(metric.squared_norm(logs, mean)))
    total = gs.sum(logs, axis=0)
    assert float(metric.norm(total, mean)) < 1e-7 * float(np.sum(norms))
    # ... and it is a different point from the Euclidean mean
    euclidean_mean = gs.mean(cloud, axis=0)
    assert np.linalg.norm(mean - euclidean_mean) > 1e-3

    # local minimum of F = sum_i d(., x_i)^2
    value = frechet_function(metric, mean, cloud)
    np.testing.assert_allclose(
        value, len(cloud) * float(variance(space, cloud, mean)), rtol=1e-12
    )
    assert value < frechet_function(metric, euclidean_mean, cloud) - 1e-6
    rng = np.random.default_rng(11)
    directions = rng.normal(size=(4, DIM, DIM))
    directions *= 0.02 / np.linalg.norm(directions, axis=(-2, -1))[:, None, None]
    for direction in directions:
        direction = gs.array(direction)
        increase = frechet_function(metric, mean + direction, cloud) - value
        # Hess F ~ 2 n g at the mean (up to curvature terms): F grows like n |d|_g^2
        expected = len(cloud) * ref_inner(direction, direction, mean)
        assert 0.9 * expected < increase < 1.1 * expected


def test_frechet_mean_methods_agree(space, cloud):
    default = FrechetMean(space).set(max_iter=100, epsilon=1e-18).fit(cloud)
    # the adaptive method stops on |tangent mean|^2 <= epsilon^2
    adaptive = FrechetMean(space, method="adaptive").set(max_iter=40, epsilon=1e-9)
    adaptive.fit(cloud)
    np.testing.assert_allclose(adaptive.estimate_, default.estimate_, atol=1e-6)


# ---------------------------------------------------------------------------
# 2. geodesics
# ---------------------------------------------------------------------------


def test_geodesic_between_two_points(metric, cloud):
    start, end = cloud[0], cloud[1]
    path = metric.geodesic(initial_point=start, end_point=end)
    assert callable(path)
    points = path(gs.array([0.0, 0.5, 1.0]))
    assert points.shape == (3, DIM, DIM)
    np.testing.assert_allclose(points[0], start, atol=1e-12)
    np.testing.assert_allclose(points[2], end, atol=1e-8)

    middle = points[1]
    # not the Euclidean midpoint: the test below can tell the two apart
    assert np.linalg.norm(middle - (start + end) / 2) > 1e-4
    dist = float(metric.dist(start, end))
    np.testing.assert_allclose(float(metric.dist(start, middle)), dist / 2, atol=1e-6)
    np.testing.assert_allclose(float(metric.dist(middle, end)), dist / 2, atol=1e-6)


def test_geodesic_from_initial_tangent_vector(metric, center):
    rng = np.random.default_rng(3)
    start = gs.array(center)
    vector = gs.array(0.3 * rng.normal(size=(DIM, DIM)))
    path = metric.geodesic(initial_point=start, initial_tangent_vec=vector)
    times = [0.0, 0.25, 0.7, 1.0]
    points = path(gs.array(times))
    assert points.shape == (len(times), DIM, DIM)
    for t, point in zip(times, points, strict=True):
        np.testing.assert_allclose(point, metric.exp(t * vector, start), atol=1e-8)
    # constant speed: d(X, exp(tV)) = t |V|_g, |V|_g from the reference metric
    speed = np.sqrt(ref_inner(vector, vector, start))
    for t, point in zip(times[1:3], points[1:3], strict=True):
        np.testing.assert_allclose(
            float(metric.dist(start, point)), t * speed, rtol=1e-7
        )


# ---------------------------------------------------------------------------
# 3. pairwise distances
# ---------------------------------------------------------------------------


def test_dist_pairwise(metric, cloud):
    points = cloud[:4]
    table = np.asarray(metric.dist_pairwise(points))
    assert table.shape == (4, 4)
    np.testing.assert_allclose(table, table.T, atol=0)
    np.testing.assert_allclose(np.diag(table), 0.0, atol=1e-12)
    rows, cols = np.triu_indices(4, k=1)
    for i, j in zip(rows, cols, strict=True):
        np.testing.assert_allclose(
            table[i, j], float(metric.dist(points[i], points[j])), rtol=1e-10
        )
    # the reverse direction (log from the other end), batched in one call
    reverse = np.asarray(metric.dist(points[cols], points[rows]))
    np.testing.assert_allclose(reverse, table[rows, cols], rtol=1e-7)
    # the straight segment is a curve from x_i to x_j: its g-length bounds the
    # distance from above, and for nearby points it is nearly a geodesic
    for i, j in zip(rows, cols, strict=True):
        length = straight_length(points[i], points[j])
        assert table[i, j] <= length * (1 + 1e-9)
        assert table[i, j] >= 0.99 * length
    for i, j, k in itertools.permutations(range(4), 3):
        assert table[i, k] <= table[i, j] + table[j, k] + 1e-10


# ---------------------------------------------------------------------------
# 4. Riemannian gradient descent on E(X) = 1/2 |X - Y|^2
# ---------------------------------------------------------------------------


def test_riemannian_gradient_is_the_metric_gradient(metric, cloud):
    rng = np.random.default_rng(5)
    target = cloud[1]
    for point in (cloud[0], cloud[2]):
        euclidean = point - target  # E'(X)
        gradient = metric.riemannian_gradient(euclidean, point)
        np.testing.assert_allclose(
            gradient, ref_operator(euclidean, point), rtol=1e-10, atol=1e-12
        )
        for _ in range(4):
            direction = rng.normal(size=(DIM, DIM))
            expected = float(np.sum(euclidean * direction))  # dE(Z) = <E', Z>
            np.testing.assert_allclose(
                ref_inner(gradient, direction, point), expected, rtol=1e-9, atol=1e-12
            )
            np.testing.assert_allclose(
                float(metric.inner_product(gradient, gs.array(direction), point)),
                expected,
                rtol=1e-10,
                atol=1e-12,
            )


def test_riemannian_gradient_descent_converges(metric, cloud):
    start, target = cloud[0], cloud[1]
    iterates = []

    def gradient(point, _initial, end):
        iterates.append(np.array(point))
        return metric.riemannian_gradient(point - end, point)

    optimizer = GradientDescent(lrate=0.2, max_iter=300, tol=1e-9)
    result = optimizer.minimize(start, None, target, gradient, metric.exp)

    losses = np.array([0.5 * np.sum((x - np.asarray(target)) ** 2) for x in iterates])
    assert 5 < len(iterates) < 300  # stopped on the tolerance, not on max_iter
    assert np.all(np.diff(losses) < 0), losses
    np.testing.assert_allclose(result, target, atol=1e-6)
    # the first step is exp_X(-eta A_X(E')) with the reference operator ...
    first_step = metric.exp(-0.2 * ref_operator(start - target, start), start)
    np.testing.assert_allclose(iterates[1], first_step, atol=1e-9)
    # ... not the Euclidean step X - eta E'
    euclidean_step = np.asarray(start) - 0.2 * (np.asarray(start - target))
    assert np.linalg.norm(iterates[1] - euclidean_step) > 1e-3


# ---------------------------------------------------------------------------
# 5. metric and cometric matrices
# ---------------------------------------------------------------------------


def test_metric_matrix_inverts_cometric_matrix(metric, cloud):
    points = cloud[:3]
    metric_mat = np.asarray(metric.metric_matrix(points))
    cometric_mat = np.asarray(metric.cometric_matrix(points))
    assert metric_mat.shape == cometric_mat.shape == (3, DIM * DIM, DIM * DIM)
    identity = np.broadcast_to(np.eye(DIM * DIM), metric_mat.shape)
    np.testing.assert_allclose(metric_mat @ cometric_mat, identity, atol=1e-10)
    for point, g_mat, c_mat in zip(points, metric_mat, cometric_mat, strict=True):
        reference = ref_cometric(point)
        scale = np.abs(reference).max()
        np.testing.assert_allclose(c_mat, reference, atol=1e-11 * scale)
        np.testing.assert_allclose(g_mat, ref_metric(point), atol=1e-10)
        np.testing.assert_allclose(g_mat, g_mat.T, atol=1e-12)
        assert np.linalg.eigvalsh(g_mat).min() > 0


def test_inner_product_matches_reference(metric, cloud):
    rng = np.random.default_rng(9)
    points = cloud[:3]
    first = gs.array(rng.normal(size=(3, DIM, DIM)))
    second = gs.array(rng.normal(size=(3, DIM, DIM)))
    values = np.asarray(metric.inner_product(first, second, points))
    assert values.shape == (3,)
    expected = [
        ref_inner(a, b, x) for a, b, x in zip(first, second, points, strict=True)
    ]
    np.testing.assert_allclose(values, expected, rtol=1e-10)
    # one base point broadcast against a batch of vectors
    values = np.asarray(metric.inner_product(first, second, points[0]))
    expected = [ref_inner(a, b, points[0]) for a, b in zip(first, second, strict=True)]
    np.testing.assert_allclose(values, expected, rtol=1e-10)
    # not the Frobenius inner product
    assert np.abs(values - np.sum(first * second, axis=(-2, -1))).max() > 1e-2


# ---------------------------------------------------------------------------
# 6. log / exp
# ---------------------------------------------------------------------------


def test_log_inverts_exp(metric, center):
    rng = np.random.default_rng(13)
    base = gs.array(center)
    vector = gs.array(0.3 * rng.normal(size=(DIM, DIM)))
    end = metric.exp(vector, base)
    np.testing.assert_allclose(metric.log(end, base), vector, atol=1e-6)


def test_log_inverts_exp_batched(metric, center, cloud):
    rng = np.random.default_rng(17)
    base = gs.array(center)
    vectors = gs.array(0.3 * rng.normal(size=(4, DIM, DIM)))
    # a single base point against a batch of vectors / points
    ends = metric.exp(vectors, base)
    assert ends.shape == (4, DIM, DIM)
    np.testing.assert_allclose(ends[2], metric.exp(vectors[2], base), atol=1e-8)
    np.testing.assert_allclose(metric.log(ends, base), vectors, atol=1e-6)
    # a batch of base points against a batch of points
    bases = cloud[:4]
    ends = metric.exp(vectors, bases)
    np.testing.assert_allclose(metric.log(ends, bases), vectors, atol=1e-6)
    # a single point against a batch of base points
    logs = metric.log(cloud[4], bases)
    assert logs.shape == (4, DIM, DIM)
    np.testing.assert_allclose(
        metric.exp(logs, bases), np.broadcast_to(cloud[4], (4, DIM, DIM)), atol=1e-8
    )


def test_exp_log_dist_on_the_ray_through_a_rotation(metric):
    """Closed form on the totally geodesic ray ``{sR}``: ``exp_R(cR) = (1+c/3)^3 R``."""
    rot = gs.array(rotation(np.random.default_rng(19)))
    np.testing.assert_allclose(metric.exp(-2.0 * rot, rot), rot / 27.0, atol=1e-9)
    np.testing.assert_allclose(metric.exp(1.5 * rot, rot), 3.375 * rot, atol=1e-8)
    np.testing.assert_allclose(metric.log(8.0 * rot, rot), 3.0 * rot, atol=1e-7)
    # dist(R, sR) = 3 |1 - s^{1/3}|
    np.testing.assert_allclose(float(metric.dist(rot, 8.0 * rot)), 3.0, rtol=1e-8)
    np.testing.assert_allclose(float(metric.dist(rot, rot / 27.0)), 2.0, rtol=1e-7)


def test_exp_raises_past_the_rank_deficient_boundary(metric):
    # exp_R(t c R) = (1 - t c/3)^3 R reaches 0 at t = 3/c = 1/2 < 1
    rot = gs.array(rotation(np.random.default_rng(23)))
    with pytest.raises(GeodesicError):
        call_with_budget(30, metric.exp, -6.0 * rot, rot)


@pytest.mark.parametrize("case", ["diagonal", "random"])
def test_log_raises_between_the_two_components(metric, case):
    """det > 0 and det < 0 are different components: no geodesic joins them.

    ``log`` must raise :class:`GeodesicError` (not return garbage, not hang):
    shooting drives exp toward the rank-deficient set, where the integrator
    has to give up.
    """
    if case == "diagonal":
        base = np.eye(DIM)
        target = np.diag([1.0, 1.0, -0.5])
    else:
        rng = np.random.default_rng(0)
        base = np.eye(DIM) + 0.3 * rng.normal(size=(DIM, DIM))
        target = base + 0.5 * rng.normal(size=(DIM, DIM))
    assert np.linalg.det(base) > 0 > np.linalg.det(target)
    with pytest.raises(GeodesicError):
        call_with_budget(40, metric.log, gs.array(target), gs.array(base))


def test_log_raises_when_shooting_does_not_converge(space):
    # log(8I, I) = 3I needs several Newton steps from the initial guess 7I
    impatient = DLNMetric(space, log_max_iter=1)
    with pytest.raises(GeodesicError):
        call_with_budget(30, impatient.log, 8.0 * gs.eye(DIM), gs.eye(DIM))
    patient = DLNMetric(space)
    np.testing.assert_allclose(
        patient.log(8.0 * gs.eye(DIM), gs.eye(DIM)), 3.0 * gs.eye(DIM), atol=1e-7
    )
