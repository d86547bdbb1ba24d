"""Tangent spaces of the balanced manifold against dense linear algebra (MATH §4)."""

import numpy as np
import pytest
from scipy.stats import ortho_group

from geomstats_dln.balanced import (
    balanced_frame,
    center,
    gauge_action,
    horizontal_projection,
    moment_differential,
    to_tangent,
    vertical_projection,
)
from geomstats_dln.parameters import end_to_end, moments


def _balanced(rng, dim, depth, singular_values=None):
    if singular_values is None:
        matrix = rng.normal(size=(dim, dim)) + np.eye(dim)
    else:
        left = ortho_group.rvs(dim, random_state=rng.integers(1000))
        right = ortho_group.rvs(dim, random_state=rng.integers(1000))
        matrix = (left * singular_values) @ right.T
    if depth == 1:
        return center(matrix, 1)
    gauges = ortho_group.rvs(dim, size=depth - 1, random_state=rng.integers(1000))
    return gauge_action(gauges.reshape(depth - 1, dim, dim), center(matrix, depth))


def _orbit_basis(parameters):
    """Columns w_a for a running over a basis of so(d)^{N-1} (dense)."""
    depth, dim = parameters.shape[0], parameters.shape[-1]
    columns = []
    for k in range(depth - 1):
        for i in range(dim):
            for j in range(i + 1, dim):
                a = np.zeros((depth + 1, dim, dim))
                a[k + 1, i, j], a[k + 1, j, i] = 1.0, -1.0
                columns.append((a[1:] @ parameters - parameters @ a[:-1]).ravel())
    return np.stack(columns, axis=1)


def _dense_tangent_projector(parameters):
    """Projector onto ker dG (T_W M), from the SVD of the dense Jacobian of G."""
    size = parameters.size
    jacobian = np.stack(
        [
            moment_differential(e.reshape(parameters.shape), parameters).ravel()
            for e in np.eye(size)
        ],
        axis=1,
    )
    _, singular_values, vt = np.linalg.svd(jacobian)
    rank = int(np.sum(singular_values > 1e-10 * singular_values[0]))
    null = vt[rank:].T
    return null @ null.T, null.shape[1]


CASES = [(2, 2), (3, 4), (4, 3)]


@pytest.mark.parametrize(("dim", "depth"), CASES)
def test_vertical_projection_is_least_squares_on_the_orbit(dim, depth):
    rng = np.random.default_rng(dim * 10 + depth)
    parameters = _balanced(rng, dim, depth)
    vec = rng.normal(size=parameters.shape)
    basis = _orbit_basis(parameters)
    coefficients = np.linalg.lstsq(basis, vec.ravel(), rcond=None)[0]
    expected = (basis @ coefficients).reshape(parameters.shape)
    np.testing.assert_allclose(
        vertical_projection(vec, parameters), expected, atol=1e-12
    )


@pytest.mark.parametrize(("dim", "depth"), CASES)
def test_to_tangent_is_orthogonal_projection_onto_kernel_of_dG(dim, depth):
    rng = np.random.default_rng(dim * 10 + depth + 1)
    parameters = _balanced(rng, dim, depth)
    vec = rng.normal(size=parameters.shape)
    projector, dimension = _dense_tangent_projector(parameters)
    # dim M = d^2 + (N-1) d (d-1) / 2 (MATH §4).
    assert dimension == dim**2 + (depth - 1) * dim * (dim - 1) // 2
    expected = (projector @ vec.ravel()).reshape(parameters.shape)
    np.testing.assert_allclose(to_tangent(vec, parameters), expected, atol=1e-12)
    # the split is orthogonal
    vertical = vertical_projection(vec, parameters)
    horizontal = horizontal_projection(vec, parameters)
    assert abs(np.sum(vertical * horizontal)) < 1e-11 * np.sum(vec**2)


def test_projections_with_repeated_singular_values_and_batches():
    rng = np.random.default_rng(5)
    points = np.stack(
        [_balanced(rng, 3, 3, np.array([1.5, 1.5, 0.7])) for _ in range(2)]
    )
    vecs = rng.normal(size=points.shape)
    batched = to_tangent(vecs, points)
    for k in range(2):
        projector, _ = _dense_tangent_projector(points[k])
        expected = (projector @ vecs[k].ravel()).reshape(points[k].shape)
        np.testing.assert_allclose(batched[k], expected, atol=1e-12)


def test_balanced_frame_reconstructs_layers():
    rng = np.random.default_rng(6)
    parameters = _balanced(rng, 3, 4)
    frames, lam = balanced_frame(parameters)
    for k in range(4):
        layer = frames[k + 1] @ np.diag(lam) @ frames[k].T
        np.testing.assert_allclose(layer, parameters[k], atol=1e-12)
    np.testing.assert_allclose(
        np.linalg.svd(end_to_end(parameters), compute_uv=False), lam**4, rtol=1e-12
    )


def test_unbalanced_point_is_rejected_with_defect():
    rng = np.random.default_rng(7)
    with pytest.raises(ValueError, match=r"not balanced: \|G\| = "):
        vertical_projection(np.zeros((3, 2, 2)), rng.normal(size=(3, 2, 2)))


def test_balanced_manifold_quotient_metric_is_dln_metric():
    from geomstats_dln import EndToEndMatrices
    from geomstats_dln.balanced import BalancedManifold

    space = BalancedManifold(3, 4)
    assert space.dim == 9 + 3 * 3
    points = space.random_point(3)
    assert points.shape == (3, 4, 3, 3) and np.all(space.belongs(points))
    assert not np.any(space.belongs(np.random.default_rng(0).normal(size=(3, 4, 3, 3))))
    quotient = space.equip_with_quotient()
    rng = np.random.default_rng(8)
    vecs = rng.normal(size=(3, 3, 3))
    matrices = space.fiber_bundle.riemannian_submersion(points)
    expected = EndToEndMatrices(3, depth=4).metric.inner_product(vecs, vecs, matrices)
    # geomstats' QuotientMetric: lift at the center, and at the given fiber points
    np.testing.assert_allclose(
        quotient.metric.inner_product(vecs, vecs, matrices), expected, rtol=1e-11
    )
    np.testing.assert_allclose(
        quotient.metric.inner_product(vecs, vecs, fiber_point=points),
        expected,
        rtol=1e-11,
    )


def test_bundle_projections_and_predicates():
    from geomstats_dln.balanced import BalancedManifold

    space = BalancedManifold(3, 3)
    space.equip_with_quotient()
    bundle = space.fiber_bundle
    rng = np.random.default_rng(9)
    point = space.random_point()
    vec = space.to_tangent(rng.normal(size=point.shape), point)
    assert space.is_tangent(vec, point)
    assert not space.is_tangent(rng.normal(size=point.shape), point)
    vertical = bundle.vertical_projection(vec, point)
    horizontal = bundle.horizontal_projection(vec, point)
    # orthogonal, idempotent, and the vertical part is invisible to dphi
    assert abs(np.sum(vertical * horizontal)) < 1e-12 * np.sum(vec**2)
    np.testing.assert_allclose(
        bundle.vertical_projection(vertical, point), vertical, atol=1e-12
    )
    assert np.abs(bundle.tangent_riemannian_submersion(vertical, point)).max() < 1e-12
    assert bundle.is_vertical(vertical, point) and not bundle.is_vertical(vec, point)
    assert bundle.is_horizontal(horizontal, point)
    assert not bundle.is_horizontal(vertical, point)
    # predicates are relative: tiny vectors are not accepted for free
    assert not bundle.is_vertical(1e-9 * horizontal, point)
    assert not bundle.is_horizontal(1e-9 * vertical, point)
    # a normal direction w_a (a symmetric) is in ker dphi but not vertical
    sym = rng.normal(size=(2, 3, 3))
    sym = sym + np.swapaxes(sym, -1, -2)
    padded = np.concatenate([np.zeros((1, 3, 3)), sym, np.zeros((1, 3, 3))])
    normal = padded[1:] @ point - point @ padded[:-1]
    assert np.abs(bundle.tangent_riemannian_submersion(normal, point)).max() < 1e-12
    assert not bundle.is_vertical(normal, point)
    with pytest.raises(ValueError, match=r"must have shape \[\.\.\., 3, 3, 3\]"):
        bundle.vertical_projection(np.ones((3, 3)), point)


@pytest.mark.parametrize(("dim", "depth"), [(2, 3), (3, 3), (2, 4)])
def test_horizontal_geodesics_project_to_dln_geodesics(dim, depth):
    # O'Neill: a geodesic of M with horizontal initial velocity maps under phi to
    # the g^N geodesic. Two independent solvers: RATTLE on the constraint G = 0
    # upstairs, the Hamiltonian system of DLNMetric downstairs.
    from geomstats_dln import EndToEndMatrices
    from geomstats_dln.balanced import BalancedManifold, horizontal_lift, moments

    rng = np.random.default_rng(dim * 7 + depth)
    matrix = np.eye(dim) + 0.3 * rng.normal(size=(dim, dim))
    point = gauge_action(
        ortho_group.rvs(dim, size=depth - 1, random_state=3).reshape(
            depth - 1, dim, dim
        ),
        center(matrix, depth),
    )
    vec = 0.5 * rng.normal(size=(dim, dim))
    space = BalancedManifold(dim, depth)
    end = space.metric.exp(horizontal_lift(vec, point), point)
    expected = EndToEndMatrices(dim, depth=depth).metric.exp(vec, matrix)
    np.testing.assert_allclose(end_to_end(end), expected, atol=1e-8)
    assert np.linalg.norm(moments(end)) < 1e-9 * np.sum(end**2)
    # and it is not the straight line W + h
    straight = point + horizontal_lift(vec, point)
    assert np.abs(end_to_end(straight) - expected).max() > 1e-3


@pytest.mark.parametrize(("dim", "depth"), [(2, 2), (2, 3), (3, 3), (4, 5)])
def test_orbit_volume_density_is_half_log_of_the_dln_coefficients(dim, depth):
    # MATH §4-5 (survey Lemma 2, entropy formula): the Gram matrix of the orbit
    # vectors w_a over an orthonormal basis of so(d)^{N-1} has
    # 1/2 log det = 1/2 sum_{i<j} log a_ij, the geometric part of S(X).
    from geomstats_dln._spectral import dln_coefficients

    rng = np.random.default_rng(dim + 10 * depth)
    matrix = rng.normal(size=(dim, dim)) + np.eye(dim)
    point = gauge_action(
        ortho_group.rvs(dim, size=depth - 1, random_state=4).reshape(
            depth - 1, dim, dim
        ),
        center(matrix, depth),
    )
    basis = _orbit_basis(point) / np.sqrt(2.0)  # e_ij = (E_ij - E_ji) / sqrt 2
    from geomstats_dln.balanced import orbit_basis

    np.testing.assert_allclose(
        orbit_basis(point).reshape(basis.shape[1], -1).T, basis, atol=1e-14
    )
    _, log_det = np.linalg.slogdet(basis.T @ basis)
    s = np.linalg.svd(matrix, compute_uv=False)
    a = dln_coefficients(s, s, depth)
    upper = np.triu_indices(dim, 1)
    np.testing.assert_allclose(
        0.5 * log_det, 0.5 * np.sum(np.log(a[upper])), rtol=1e-10, atol=1e-12
    )


def test_projection_and_align_by_alternating_procrustes():
    from scipy.linalg import expm

    from geomstats_dln.balanced import BalancedManifold, gauge_action

    space = BalancedManifold(3, 4)
    space.equip_with_quotient()
    rng = np.random.default_rng(11)
    point = space.random_point()
    # points of M are fixed; align recovers a point from any gauge of its orbit
    np.testing.assert_allclose(space.projection(point), point, atol=1e-12)
    gauges = ortho_group.rvs(3, size=3, random_state=12)
    np.testing.assert_allclose(
        space.fiber_bundle.align(gauge_action(gauges, point), point), point, atol=1e-12
    )
    # an unbalanced point: balanced result, same end-to-end matrix, and no small
    # gauge rotation of it comes closer (a local minimum of |W - Q.center|)
    noisy = point + 0.1 * rng.normal(size=point.shape)
    projected = space.projection(noisy)
    assert space.belongs(projected)
    np.testing.assert_allclose(end_to_end(projected), end_to_end(noisy), atol=1e-12)
    distance = np.sum((projected - noisy) ** 2)
    for _ in range(10):
        skew = rng.normal(size=(3, 3, 3))
        rotations = np.stack([expm(1e-3 * (a - a.T)) for a in skew])
        assert np.sum((gauge_action(rotations, projected) - noisy) ** 2) > distance


def test_balanced_log_inverts_exp_and_dimension_of_tangent_basis():
    from geomstats_dln.balanced import (
        BalancedManifold,
        balanced_exp,
        balanced_log,
        tangent_basis,
    )

    space = BalancedManifold(2, 3)
    rng = np.random.default_rng(13)
    point = _balanced(rng, 2, 3)
    basis = tangent_basis(point)
    assert basis.shape == (space.dim, 3, 2, 2)
    np.testing.assert_allclose(
        basis.reshape(len(basis), -1) @ basis.reshape(len(basis), -1).T,
        np.eye(space.dim),
        atol=1e-12,
    )
    vec = to_tangent(0.3 * rng.normal(size=point.shape), point)
    end = balanced_exp(vec, point)
    np.testing.assert_allclose(balanced_log(end, point), vec, atol=1e-7)
    # the metric's geodesic between the two points stays on M and ends at the end
    path = space.metric.geodesic(point, end_point=end)(np.array([0.5, 1.0]))
    np.testing.assert_allclose(path[1], end, atol=1e-7)
    assert space.belongs(path[0])
    assert np.linalg.norm(moments(path[0])) < 1e-9 * np.sum(path[0] ** 2)


def test_horizontal_lift_rejects_unbalanced_points():
    from geomstats_dln.balanced import horizontal_lift

    rng = np.random.default_rng(14)
    with pytest.raises(ValueError, match=r"not balanced: \|G\| = "):
        horizontal_lift(np.eye(2), rng.normal(size=(3, 2, 2)))


@pytest.mark.parametrize("depth", [2, 3])
def test_two_by_two_balanced_variety_and_rank_one_points(depth):
    # Survey Remark 8 (d = 2): the balanced variety G = 0 lies on the Simons cone
    # |W_1|^2 = |W_N|^2 (all layers share singular values). Its dimension
    # d^2 + (N-1) d(d-1)/2 = 4 + (N-1) is the corank of dG at full-rank points;
    # rank-one balanced points (outside M) are singular points where dG drops
    # rank.
    from geomstats_dln.balanced import BalancedManifold

    space = BalancedManifold(2, depth)
    gauges = ortho_group.rvs(2, size=depth - 1, random_state=16).reshape(
        depth - 1, 2, 2
    )
    for rank in (2, 1):
        left = ortho_group.rvs(2, random_state=17)
        right = ortho_group.rvs(2, random_state=18)
        lam = np.array([1.3, 0.8 if rank == 2 else 0.0])
        layers = np.stack([np.diag(lam)] * depth)
        layers[0], layers[-1] = np.diag(lam) @ right.T, left @ np.diag(lam)
        point = gauge_action(gauges, layers)
        assert np.abs(moments(point)).max() < 1e-14
        norms = np.sum(point**2, axis=(-2, -1))
        np.testing.assert_allclose(norms, norms[0], rtol=1e-13)  # Simons cone
        _, dimension = _dense_tangent_projector(point)
        # full rank: dim M; rank one: in the frame, the (2,2) entry of every
        # dG_k vanishes (lam_2 = 0), so dG loses N-1 ranks: singular points.
        assert dimension == 4 + (depth - 1) + (0 if rank == 2 else depth - 1)
        assert np.linalg.matrix_rank(end_to_end(point)) == rank
        assert bool(space.belongs(point)) == (rank == 2)
