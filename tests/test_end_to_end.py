"""(M_d, g^N): the space, the metric and its geodesics against independent sources."""

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import geomstats.backend as gs
from geomstats.geometry.spd_matrices import SPDBuresWassersteinMetric, SPDMatrices

from geomstats_dln import EndToEndMatrices, GeodesicError
from tests import _reference as reference


def _well_conditioned(rng, n, m=None, batch=()):
    m = n if m is None else m
    return 0.4 * rng.normal(size=batch + (n, m)) + np.eye(n, m)


# --------------------------------------------------------------------- the space
def test_space_dimension_belongs_and_shapes():
    space = EndToEndMatrices(3, 2, depth=3)
    assert space.dim == 6 and space.shape == (3, 2)
    points = space.random_point(5)
    assert points.shape == (5, 3, 2)
    assert np.all(space.belongs(points))
    singular = np.array([[1.0, 2.0], [2.0, 4.0], [0.0, 0.0]])
    assert not space.belongs(singular)
    assert not space.belongs(np.ones((2, 2)))
    vecs = space.random_tangent_vec(points[0], 4)
    assert vecs.shape == (4, 3, 2)


def test_projection_regularizes_rank_deficient_points():
    space = EndToEndMatrices(2)
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    projected = space.projection(singular)
    assert space.belongs(projected)
    assert np.abs(projected - singular).max() < 1e-5
    regular = np.array([[2.0, 1.0], [0.0, 1.0]])
    np.testing.assert_allclose(space.projection(regular), regular, atol=1e-14)


@pytest.mark.parametrize("bad", [(3, 3), (2, 3)])
def test_wrong_shape_raises(bad):
    metric = EndToEndMatrices(2, depth=2).metric
    with pytest.raises(ValueError, match=r"shape \[\.\.\., 2, 2\]"):
        metric.inner_product(np.ones(bad), np.ones(bad), np.ones(bad))


def test_rank_deficient_base_point_raises_instead_of_nan():
    metric = EndToEndMatrices(2, depth=3).metric
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    for call in (
        lambda: metric.inner_product(np.eye(2), np.eye(2), singular),
        lambda: metric.exp(np.eye(2), singular),
        lambda: metric.log(np.eye(2), singular),
        lambda: metric.log(singular, np.eye(2)),
    ):
        with pytest.raises(ValueError, match="smallest singular value"):
            call()


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="depth"):
        EndToEndMatrices(2, depth=0)
    with pytest.raises(ValueError, match="positive integer"):
        EndToEndMatrices(0)


# -------------------------------------------------------------------- the metric
@pytest.mark.parametrize("depth", [1, 2, 3, 5, math.inf])
@pytest.mark.parametrize("shape", [(3, 3), (2, 3)])
def test_inner_product_is_dense_solve_of_definition(depth, shape):
    if depth == math.inf and shape[0] != shape[1]:
        pytest.skip("square only")
    rng = np.random.default_rng(10)
    point = _well_conditioned(rng, *shape)
    vec_a, vec_b = rng.normal(size=(2,) + shape)
    metric = EndToEndMatrices(*shape, depth=depth).metric
    operator = reference.operator_matrix(point, depth)
    expected = np.linalg.solve(operator, vec_a.ravel()) @ vec_b.ravel()
    np.testing.assert_allclose(
        metric.inner_product(vec_a, vec_b, point), expected, rtol=1e-11
    )
    np.testing.assert_allclose(metric.cometric_matrix(point), operator, atol=1e-11)


def test_metric_matrix_inverts_cometric_batched():
    rng = np.random.default_rng(11)
    points = _well_conditioned(rng, 3, batch=(4,))
    metric = EndToEndMatrices(3, depth=3).metric
    product = metric.metric_matrix(points) @ metric.cometric_matrix(points)
    np.testing.assert_allclose(
        product, np.broadcast_to(np.eye(9), (4, 9, 9)), atol=1e-11
    )


def test_inner_products_of_a_batch():
    rng = np.random.default_rng(12)
    points = _well_conditioned(rng, 4, batch=(6,))
    vecs = rng.normal(size=(6, 4, 4))
    metric = EndToEndMatrices(4, depth=4).metric
    batched = metric.inner_product(vecs, vecs, points)
    single = [metric.squared_norm(v, p) for v, p in zip(vecs, points, strict=True)]
    np.testing.assert_allclose(batched, single, rtol=1e-13)
    assert np.all(batched > 0)


def test_stable_when_singular_values_nearly_collide():
    # Two singular values 1e-12 apart: the divided differences keep full accuracy
    # (the dense definition needs no division and is the reference).
    rng = np.random.default_rng(13)
    left, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    right, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    metric = EndToEndMatrices(3, depth=3).metric
    vec = rng.normal(size=(3, 3))
    point = (left * np.array([2.0, 1.0 + 1e-12, 1.0])) @ right.T
    expected = np.linalg.solve(reference.operator_matrix(point, 3), vec.ravel()) @ (
        vec.ravel()
    )
    np.testing.assert_allclose(metric.squared_norm(vec, point), expected, rtol=1e-10)


def test_riemannian_gradient_is_operator_of_euclidean_gradient():
    rng = np.random.default_rng(14)
    point = _well_conditioned(rng, 3)
    target = rng.normal(size=(3, 3))
    metric = EndToEndMatrices(3, depth=3).metric
    gradient = metric.riemannian_gradient(point - target, point)
    for vec in rng.normal(size=(3, 3, 3)):
        # Definition of the gradient: g(grad E, Z) = dE(Z).
        np.testing.assert_allclose(
            metric.inner_product(gradient, vec, point),
            np.sum((point - target) * vec),
            rtol=1e-11,
        )


def test_transpose_is_an_isometry():
    rng = np.random.default_rng(15)
    point = _well_conditioned(rng, 2, 3)
    vec = rng.normal(size=(2, 3))
    metric = EndToEndMatrices(2, 3, depth=3).metric
    metric_t = EndToEndMatrices(3, 2, depth=3).metric
    np.testing.assert_allclose(
        metric.squared_norm(vec, point),
        metric_t.squared_norm(vec.T, point.T),
        rtol=1e-12,
    )


# ------------------------------------------------------------------ geodesics
def _spd(rng, n, batch=()):
    a = rng.normal(size=batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + 0.5 * np.eye(n)


def test_depth_two_exp_on_spd_is_bures_wasserstein_exp():
    rng = np.random.default_rng(20)
    spd = SPDMatrices(3, equip=False).equip_with_metric(SPDBuresWassersteinMetric)
    points = _spd(rng, 3, (3,))
    vecs = rng.normal(size=(3, 3, 3))
    vecs = 0.3 * (vecs + np.swapaxes(vecs, -1, -2))
    metric = EndToEndMatrices(3, depth=2).metric
    np.testing.assert_allclose(
        metric.exp(vecs, points), spd.metric.exp(vecs, points), atol=1e-9
    )
    # Two inner products: g^2 = 2 x geomstats' Bures-Wasserstein on SPD.
    np.testing.assert_allclose(
        metric.inner_product(vecs, vecs, points),
        2 * spd.metric.inner_product(vecs, vecs, points),
        rtol=1e-12,
    )


@pytest.mark.parametrize("depth", [2, 3, math.inf])
def test_exp_agrees_with_lagrangian_geodesic_equation(depth):
    # Hamiltonian integration (exp) vs the second-order equation X'' = -Gamma(X', X')
    # integrated by a different scheme.
    rng = np.random.default_rng(21)
    point = _well_conditioned(rng, 3)
    vec = 0.5 * rng.normal(size=(3, 3))
    metric = EndToEndMatrices(3, depth=depth).metric

    def second_order(_, y):
        state = y.reshape(2, 3, 3)
        return np.asarray(metric.geodesic_equation(state)).ravel()

    solution = solve_ivp(
        second_order,
        (0, 1),
        np.stack([point, vec]).ravel(),
        method="DOP853",
        rtol=1e-12,
        atol=1e-13,
    )
    expected = solution.y[:, -1].reshape(2, 3, 3)[0]
    np.testing.assert_allclose(metric.exp(vec, point), expected, atol=1e-8)


def test_exp_converges_with_tolerance():
    rng = np.random.default_rng(22)
    point = _well_conditioned(rng, 4)
    vec = rng.normal(size=(4, 4))
    metric = EndToEndMatrices(4, depth=4).metric
    vec = vec / metric.norm(vec, point)
    reference_end = metric.exp(vec, point, rtol=1e-13)
    np.testing.assert_allclose(metric.exp(vec, point), reference_end, atol=1e-8)


def test_depth_one_is_euclidean():
    rng = np.random.default_rng(23)
    point, vec = _well_conditioned(rng, 3), rng.normal(size=(3, 3))
    metric = EndToEndMatrices(3, depth=1).metric
    np.testing.assert_allclose(metric.exp(vec, point), point + vec, atol=1e-14)
    np.testing.assert_allclose(metric.log(point + vec, point), vec, atol=1e-14)
    assert metric.injectivity_radius(point) == math.inf


def test_geodesic_has_constant_speed_and_stays_symmetric():
    # Energy conservation, and the symmetric matrices are totally geodesic (MATH §3).
    rng = np.random.default_rng(24)
    point = _spd(rng, 3)
    vec = rng.normal(size=(3, 3))
    vec = 0.4 * (vec + vec.T)
    metric = EndToEndMatrices(3, depth=3).metric
    times = np.linspace(0.0, 1.0, 11)
    path = metric.geodesic_points(vec, point, times)
    np.testing.assert_allclose(path, np.swapaxes(path, -1, -2), atol=1e-10)
    step = 1e-4
    ahead = metric.geodesic_points(vec, point, times + step)
    behind = metric.geodesic_points(vec, point, np.abs(times - step))
    velocity = (ahead[1:] - behind[1:]) / (2 * step)
    speeds = metric.squared_norm(velocity, path[1:])
    np.testing.assert_allclose(speeds, metric.squared_norm(vec, point), rtol=1e-6)


def test_exp_commutes_with_transpose_and_scaling():
    # X -> X^T is an isometry; X -> cX scales g^N by c^{-2(N-1)/N}, so geodesics map
    # to geodesics: exp_{cX}(cV) = c exp_X(V).
    rng = np.random.default_rng(25)
    point, vec = _well_conditioned(rng, 2, 3), 0.5 * rng.normal(size=(2, 3))
    metric = EndToEndMatrices(2, 3, depth=3).metric
    metric_t = EndToEndMatrices(3, 2, depth=3).metric
    end = metric.exp(vec, point)
    np.testing.assert_allclose(metric_t.exp(vec.T, point.T), end.T, atol=1e-9)
    np.testing.assert_allclose(metric.exp(2.5 * vec, 2.5 * point), 2.5 * end, atol=1e-8)


@pytest.mark.parametrize("depth", [2, 3, math.inf])
@pytest.mark.parametrize("shape", [(3, 3), (2, 3)])
def test_log_inverts_exp(depth, shape):
    if depth == math.inf and shape[0] != shape[1]:
        pytest.skip("square only")
    rng = np.random.default_rng(26)
    point = _well_conditioned(rng, *shape)
    vecs = 0.5 * rng.normal(size=(2,) + shape)
    metric = EndToEndMatrices(*shape, depth=depth).metric
    ends = metric.exp(vecs, point)
    np.testing.assert_allclose(metric.log(ends, point), vecs, atol=1e-7)


def test_distance_scales_as_predicted():
    # g^N_{cX}(cZ, cZ) = c^{2/N} g^N_X(Z, Z) hence dist(cX, cY) = c^{1/N} dist(X, Y).
    rng = np.random.default_rng(27)
    point_a, point_b = _well_conditioned(rng, 2, batch=(2,))
    metric = EndToEndMatrices(2, depth=3).metric
    distance = metric.dist(point_a, point_b)
    np.testing.assert_allclose(
        metric.dist(4.0 * point_a, 4.0 * point_b), 4.0 ** (1 / 3) * distance, rtol=1e-7
    )


def test_geodesic_is_shorter_than_the_straight_line():
    rng = np.random.default_rng(28)
    point_a, point_b = _well_conditioned(rng, 2, batch=(2,))
    metric = EndToEndMatrices(2, depth=3).metric
    times = np.linspace(0, 1, 401)
    line = point_a + times[:, None, None] * (point_b - point_a)
    speed = np.sqrt(
        metric.squared_norm(np.broadcast_to(point_b - point_a, line.shape), line)
    )
    line_length = np.sum(0.5 * (speed[1:] + speed[:-1]) * np.diff(times))
    distance = metric.dist(point_a, point_b)
    path = metric.geodesic_points(metric.log(point_b, point_a), point_a, times)
    velocity = np.gradient(path, times, axis=0)
    geodesic_speed = np.sqrt(metric.squared_norm(velocity, path))
    geodesic_length = np.sum(
        0.5 * (geodesic_speed[1:] + geodesic_speed[:-1]) * np.diff(times)
    )
    np.testing.assert_allclose(geodesic_length, distance, rtol=1e-4)
    assert distance < line_length - 1e-6


def test_log_reports_failure_when_geodesic_leaves_the_space():
    metric = EndToEndMatrices(2, depth=3).metric
    # exp of a large vector crosses the rank-deficient matrices: no geodesic.
    with pytest.raises(GeodesicError):
        metric.exp(np.diag([-5.0, 0.0]), np.eye(2))
    with pytest.raises(GeodesicError):
        metric.log(np.diag([-1.0, 1.0]), np.eye(2))


def test_operator_under_backend_arrays():
    metric = EndToEndMatrices(2, depth=3).metric
    point = gs.array([[2.0, 0.5], [0.0, 1.0]])
    value = metric.squared_norm(gs.array([[1.0, 0.0], [0.0, 0.0]]), point)
    expected = np.linalg.solve(
        reference.operator_matrix(np.asarray(point), 3), [1, 0, 0, 0]
    )[0]
    np.testing.assert_allclose(value, expected, rtol=1e-12)


@pytest.mark.parametrize("depth", [2, 4])
def test_exp_does_not_step_across_a_touching_boundary(depth):
    # On diagonal matrices u = s^{1/N} moves linearly, u(t) = 1 + (v / N) t from
    # X = I with V = diag(v, 0). For v = -1.5 N the singular value touches 0 at
    # t = 2/3 and, N being even, comes back up: the geodesic has left the
    # full-rank matrices and exp must refuse rather than step across.
    metric = EndToEndMatrices(2, depth=depth).metric
    with pytest.raises(GeodesicError):
        metric.exp(np.diag([-1.5 * depth, 0.0]), np.eye(2))
    # Short of the boundary (v = -0.9 N, u(1) = 0.1) the closed form holds.
    end = metric.exp(np.diag([-0.9 * depth, 0.0]), np.eye(2))
    np.testing.assert_allclose(end, np.diag([0.1**depth, 1.0]), atol=1e-9)


def test_bad_tangent_vectors_raise():
    metric = EndToEndMatrices(2, depth=3).metric
    nan = np.full((2, 2), np.nan)
    with pytest.raises(ValueError, match="non-finite"):
        metric.inner_product(nan, np.eye(2), np.eye(2))
    with pytest.raises(ValueError, match="non-finite"):
        metric.inner_product(np.eye(2), nan, np.eye(2))
    with pytest.raises(ValueError, match="non-finite"):
        metric.exp(nan, np.eye(2))
    with pytest.raises(
        ValueError, match=r"tangent_vec must have shape \[\.\.\., 2, 2\]"
    ):
        metric.operator(np.ones((3, 3)), np.eye(2))
    with pytest.raises(ValueError, match="do not broadcast"):
        metric.exp(np.zeros((3, 2, 2)), np.stack([np.eye(2)] * 2))
    assert not EndToEndMatrices(2).belongs(nan)


def test_near_singular_base_point_is_named():
    metric = EndToEndMatrices(2, depth=3).metric
    with pytest.raises(ValueError, match="smallest singular value 1.000e-09"):
        metric.exp(np.zeros((2, 2)), np.diag([1.0, 1e-9]))


def test_rectangular_error_names_the_given_shape():
    metric = EndToEndMatrices(3, 2, depth=3).metric
    singular = np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]])
    with pytest.raises(ValueError, match=r"\(3, 2\)"):
        metric.inner_product(np.ones((3, 2)), np.ones((3, 2)), singular)


def test_infinite_depth_on_rectangular_space_is_refused():
    with pytest.raises(ValueError, match="rectangular"):
        EndToEndMatrices(2, 3, depth=math.inf)


def test_depth_one_refuses_segments_through_singular_matrices():
    metric = EndToEndMatrices(2, depth=1).metric
    with pytest.raises(GeodesicError, match="singular"):
        metric.exp(-2.0 * np.eye(2), np.eye(2))
    with pytest.raises(GeodesicError, match="singular"):
        metric.log(-np.eye(2), np.eye(2))  # same component, segment through 0
    with pytest.raises(GeodesicError, match="components"):
        metric.log(np.diag([1.0, -1.0]), np.eye(2))
    np.testing.assert_allclose(metric.exp(-0.5 * np.eye(2), np.eye(2)), 0.5 * np.eye(2))


def test_geodesic_broadcasts_points_against_vectors():
    rng = np.random.default_rng(30)
    metric = EndToEndMatrices(2, depth=3).metric
    points = _well_conditioned(rng, 2, batch=(4,))
    vec = 0.1 * rng.normal(size=(1, 2, 2))
    times = np.array([0.0, 0.5, 1.0])
    path = metric.geodesic(initial_point=points, initial_tangent_vec=vec)(times)
    assert path.shape == (4, 3, 2, 2)
    np.testing.assert_allclose(path[:, 0], points, atol=1e-14)
    for k in range(4):
        np.testing.assert_allclose(
            path[k, 2], metric.exp(vec[0], points[k]), atol=1e-12
        )
    # Negative times run the geodesic backwards.
    back = metric.geodesic(initial_point=points[0], initial_tangent_vec=vec[0])(-1.0)
    np.testing.assert_allclose(back[0], metric.exp(-vec[0], points[0]), atol=1e-12)


def test_log_of_tall_matrices():
    rng = np.random.default_rng(31)
    point = _well_conditioned(rng, 3, 2)
    vec = 0.4 * rng.normal(size=(3, 2))
    metric = EndToEndMatrices(3, 2, depth=3).metric
    np.testing.assert_allclose(
        metric.log(metric.exp(vec, point), point), vec, atol=1e-7
    )


def test_large_batches_split_over_threads_agree():
    # Batches above the threading threshold are computed in chunks.
    from geomstats_dln import _spectral

    rng = np.random.default_rng(32)
    size = _spectral._PARALLEL_MIN_BATCH + 3
    points = _well_conditioned(rng, 3, batch=(size,))
    vecs = rng.normal(size=(size, 3, 3))
    metric = EndToEndMatrices(3, depth=3).metric
    batched = metric.inner_product(vecs, vecs, points)
    for k in (0, size // 2, size - 1):
        np.testing.assert_allclose(
            batched[k], metric.squared_norm(vecs[k], points[k]), rtol=1e-13
        )
    # one base point broadcast against a large batch of vectors
    lowered = metric.inverse_operator(vecs, points[0])
    np.testing.assert_allclose(
        lowered[-1], metric.inverse_operator(vecs[-1], points[0]), atol=1e-13
    )
