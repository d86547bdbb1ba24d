"""Rank-r strata (M_r, g^N), balanced manifolds of rank r, flows at rank r.

Independent sources: the full-rank DLNMetric at X + eps P (the rank-r metric is
its limit on tangent vectors), dense Jacobians of the SVD parametrizations (finite
differences), the closed-form Bures-Wasserstein geodesics of rank-r PSD matrices
(N = 2, survey Remark 9), the first variation of the discretized path energy,
upstairs training of the full-width network (Thm 3), pymanopt's fixed-rank
tangent projection.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from scipy.linalg import expm, solve_sylvester

from geomstats_dln import DLNMetric, EndToEndMatrices, GeodesicError, end_to_end
from geomstats_dln.dynamics import (
    euclidean_gradient_field,
    integrate,
    riemannian_gradient_field,
)
from geomstats_dln.dynamics.low_rank_flows import (
    factored_end_to_end,
    factored_gradient_field,
    factorize,
    fixed_rank_gradient_field,
)
from geomstats_dln.losses import QuadraticLoss, completion_problem
from geomstats_dln.low_rank import (
    FixedRankDLNMetric,
    FixedRankEndToEndMatrices,
    tangent_components,
    tangent_inner_product,
)
from geomstats_dln.low_rank_balanced import (
    LowRankBalancedManifold,
    LowRankBalancedMetric,
    low_rank_center,
)
from geomstats_dln.parameters import differential, moments

SHAPES = [(5, 4, 2), (4, 4, 1), (3, 6, 2), (4, 4, 4)]


def _rank_r(rng, n, m, r, spread=True):
    left = np.linalg.qr(rng.normal(size=(n, r)))[0]
    right = np.linalg.qr(rng.normal(size=(m, r)))[0]
    s = np.sort(rng.uniform(0.5, 2.5, r))[::-1] if spread else np.ones(r)
    return (left * s) @ right.T


def _skew(vector, dim):
    skew = np.zeros((dim, dim))
    skew[np.triu_indices(dim, 1)] = vector
    return skew - skew.T


def _svd_chart_jacobian(point, rank):
    """Dense Jacobian of (Om_U, log s, Om_V) -> e^{Om_U} U diag(s) V^T e^{-Om_V}
    at 0, by central differences: its columns span T_X M_r."""
    n, m = point.shape
    left, s, right_t = np.linalg.svd(point)
    nu, nv = n * (n - 1) // 2, m * (m - 1) // 2

    def chart(theta):
        u = expm(_skew(theta[:nu], n)) @ left[:, :rank]
        v = expm(_skew(theta[nu : nu + nv], m)) @ right_t.T[:, :rank]
        return (u * (s[:rank] * np.exp(theta[nu + nv :]))) @ v.T

    size = nu + nv + rank
    step = 1e-6
    columns = [
        (chart(step * e) - chart(-step * e)).ravel() / (2 * step) for e in np.eye(size)
    ]
    return np.stack(columns, axis=1)


@pytest.mark.parametrize("n, m, r", SHAPES)
def test_dimension_and_tangent_space_match_dense_jacobian(n, m, r):
    rng = np.random.default_rng(n + 7 * m + r)
    space = FixedRankEndToEndMatrices(n, m, rank=r, depth=3)
    point = _rank_r(rng, n, m, r)
    jacobian = _svd_chart_jacobian(point, r)
    singular = np.linalg.svd(jacobian, compute_uv=False)
    assert np.sum(singular > 1e-6 * singular[0]) == space.dim == r * (n + m - r)
    # every chart direction is tangent, and the projection fixes it
    projected = np.stack(
        [
            np.asarray(space.to_tangent(column.reshape(n, m), point)).ravel()
            for column in jacobian.T
        ],
        axis=1,
    )
    np.testing.assert_allclose(projected, jacobian, atol=1e-8)
    # the basis spans the Jacobian's column space and is orthonormal
    basis = space.tangent_basis(point).reshape(space.dim, -1)
    np.testing.assert_allclose(basis @ basis.T, np.eye(space.dim), atol=1e-12)
    span = np.linalg.svd(jacobian, full_matrices=False)[0][:, : space.dim]
    np.testing.assert_allclose(span @ (span.T @ basis.T), basis.T, atol=1e-8)
    # the projection is orthogonal: the residual is orthogonal to T_X M_r
    vector = rng.normal(size=(n, m))
    residual = vector - np.asarray(space.to_tangent(vector, point))
    assert np.max(np.abs(basis @ residual.ravel())) < 1e-12
    assert bool(space.is_tangent(vector - residual, point))
    assert r == min(n, m) or not bool(space.is_tangent(vector, point))


def test_tangent_projection_matches_pymanopt():
    manifolds = pytest.importorskip("pymanopt.manifolds")
    rng = np.random.default_rng(3)
    n, m, r = 6, 5, 2
    point = _rank_r(rng, n, m, r)
    vector = rng.normal(size=(n, m))
    left, s, right_t = np.linalg.svd(point, full_matrices=False)
    factors = (left[:, :r], s[:r], right_t[:r])
    pm = manifolds.FixedRankEmbedded(n, m, r)
    tangent = pm.projection(factors, vector)
    dense = pm.embedding(factors, tangent)
    ours = FixedRankEndToEndMatrices(n, m, rank=r, depth=2).to_tangent(vector, point)
    np.testing.assert_allclose(ours, dense[0] @ dense[1] @ dense[2].T, atol=1e-12)


def test_points_belong_and_projection_is_eckart_young():
    rng = np.random.default_rng(0)
    space = FixedRankEndToEndMatrices(6, 5, rank=2, depth=3)
    points = space.random_point(4)
    assert np.all(space.belongs(points))
    full = rng.normal(size=(6, 5))
    assert not bool(space.belongs(full))
    projected = space.projection(full)
    assert bool(space.belongs(projected))
    s = np.linalg.svd(full, compute_uv=False)
    # nearest rank-2 matrix: the error is the tail of the spectrum
    np.testing.assert_allclose(
        np.linalg.norm(full - projected), np.sqrt(np.sum(s[2:] ** 2)), rtol=1e-12
    )
    assert not bool(space.belongs(projected[:, :4]))


@pytest.mark.parametrize("depth", [2, 3, 4])
@pytest.mark.parametrize("n, m, r", [(5, 4, 2), (4, 6, 1)])
def test_metric_is_limit_of_full_rank_metric(n, m, r, depth):
    """g_r(Z, Z) = lim g^N_{X + eps P}(Z, Z), with the rate eps^{2/N}."""
    rng = np.random.default_rng(depth + 10 * n)
    point = _rank_r(rng, n, m, r)
    space = FixedRankEndToEndMatrices(n, m, rank=r, depth=depth)
    full = DLNMetric(EndToEndMatrices(n, m, depth=depth))
    vectors = space.random_tangent_vec(point, 3)
    limit = np.asarray(space.metric.inner_product(vectors[0], vectors[1], point))
    # P in the normal block: X + eps P has the same singular vectors
    left, _, right_t = np.linalg.svd(point)
    k = min(n, m) - r
    normal = left[:, r : r + k] @ np.diag(1.0 + np.arange(k)) @ right_t[r : r + k]

    def full_value(eps):
        return float(full.inner_product(vectors[0], vectors[1], point + eps * normal))

    eps_1, eps_2 = 1e-4, 1e-6
    values = full_value(eps_1), full_value(eps_2)
    ratio = (eps_1 / eps_2) ** (2.0 / depth)  # the leading correction ~ eps^{2/N}
    extrapolated = values[1] - (values[0] - values[1]) / (ratio - 1.0)
    scale = abs(limit) + float(space.metric.squared_norm(vectors[0], point))
    assert abs(values[1] - limit) < 1e-1 * scale * eps_2 ** (2.0 / depth) * 1e3
    assert abs(extrapolated - limit) < 1e-6 * scale
    # a generic perturbation (rotating the frame) converges as well
    generic = rng.normal(size=(n, m))
    eps = 1e-7
    value = float(full.inner_product(vectors[2], vectors[2], point + eps * generic))
    exact = float(space.metric.squared_norm(vectors[2], point))
    assert abs(value - exact) < 30 * eps ** (2.0 / depth) * exact


@pytest.mark.parametrize("depth", [2, 3])
def test_gradient_is_limit_of_full_rank_gradient(depth):
    """grad_g E on M_r = lim A_{N, X + eps P}(E') (whose normal block vanishes)."""
    rng = np.random.default_rng(5)
    n, m, r = 5, 4, 2
    point = _rank_r(rng, n, m, r)
    space = FixedRankEndToEndMatrices(n, m, rank=r, depth=depth)
    full = DLNMetric(EndToEndMatrices(n, m, depth=depth))
    euclidean = rng.normal(size=(n, m))
    gradient = np.asarray(space.metric.riemannian_gradient(euclidean, point))
    assert bool(space.is_tangent(gradient, point))
    left, _, right_t = np.linalg.svd(point)
    normal = left[:, r:m] @ right_t[r:m]
    errors = [
        np.max(np.abs(full.operator(euclidean, point + eps * normal) - gradient))
        for eps in (1e-4, 1e-8)
    ]
    assert errors[1] < errors[0] and errors[1] < 50 * (1e-8) ** (2.0 / depth)
    # definition of the gradient: g(grad E, V) = <E', V> on tangent vectors
    for vector in space.random_tangent_vec(point, 3):
        np.testing.assert_allclose(
            float(space.metric.inner_product(gradient, vector, point)),
            np.sum(euclidean * vector),
            rtol=1e-10,
        )


def test_operator_inverse_and_components():
    rng = np.random.default_rng(8)
    space = FixedRankEndToEndMatrices(7, 5, rank=3, depth=4)
    metric = space.metric
    point = _rank_r(rng, 7, 5, 3)
    vector = space.random_tangent_vec(point)
    image = metric.operator(vector, point)
    assert bool(space.is_tangent(image, point))
    np.testing.assert_allclose(
        metric.inverse_operator(image, point), vector, atol=1e-12
    )
    # the operator annihilates the normal block (a(0, 0) = 0 for N >= 2)
    left, _, right_t = np.linalg.svd(point)
    normal = left[:, 3:] @ rng.normal(size=(4, 2)) @ right_t[3:]
    assert np.max(np.abs(metric.operator(normal, point))) < 1e-12
    # closed-form blocks: u_1 v_2^T -> a(s_1, s_2), u_perp v_1^T -> s_1^{2(N-1)/N}
    s = np.linalg.svd(point, compute_uv=False)
    core = np.outer(left[:, 0], right_t[1])
    a12 = sum(
        s[0] ** (2 * (4 - p) / 4) * s[1] ** (2 * (p - 1) / 4) for p in (1, 2, 3, 4)
    )
    np.testing.assert_allclose(metric.operator(core, point), a12 * core, atol=1e-12)
    mixed = np.outer(left[:, 5], right_t[0])
    np.testing.assert_allclose(
        metric.operator(mixed, point), s[0] ** 1.5 * mixed, atol=1e-12
    )
    frame = space.frame(point)
    components = tangent_components(frame, vector)
    np.testing.assert_allclose(
        tangent_inner_product(frame, components, components),
        np.sum(np.asarray(metric.inverse_operator(vector, point)) * vector),
        rtol=1e-12,
    )


def _bures_wasserstein_case(rng, n, r):
    """PSD X = Y Y^T of rank r with a horizontal velocity (Y^T Y' symmetric)."""
    y = rng.normal(size=(n, r))
    y_dot = rng.normal(size=(n, r))
    gram = y.T @ y
    asymmetric = y.T @ y_dot - y_dot.T @ y
    y_dot = y_dot - y @ solve_sylvester(gram, gram, asymmetric)
    return y, y_dot


def test_exp_matches_bures_wasserstein_closed_form():
    """N = 2, PSD rank r: g^2 = 2 |Y'|^2 and the geodesics are (Y + tY')(Y + tY')^T."""
    rng = np.random.default_rng(2)
    n, r = 4, 2
    space = FixedRankEndToEndMatrices(n, n, rank=r, depth=2)
    y, y_dot = _bures_wasserstein_case(rng, n, r)
    point = y @ y.T
    velocity = y_dot @ y.T + y @ y_dot.T
    np.testing.assert_allclose(
        float(space.metric.squared_norm(velocity, point)),
        2.0 * np.sum(y_dot**2),
        rtol=1e-12,
    )
    t = 0.4
    end = space.metric.exp(t * velocity, point)
    expected = (y + t * y_dot) @ (y + t * y_dot).T
    np.testing.assert_allclose(end, expected, atol=1e-8)


def test_geodesic_reports_rank_drop():
    """Y' = -Y e_1 e_1^T: the closed-form geodesic loses rank at t = 1."""
    rng = np.random.default_rng(4)
    n, r = 4, 2
    left = np.linalg.qr(rng.normal(size=(n, r)))[0]
    y = left * np.array([1.5, 1.0])
    y_dot = np.zeros_like(y)
    y_dot[:, 1] = -y[:, 1]  # shrinks the smaller singular value to 0 at t = 1
    point = y @ y.T
    velocity = y_dot @ y.T + y @ y_dot.T
    metric = FixedRankEndToEndMatrices(n, n, rank=r, depth=2).metric
    end = metric.exp(0.5 * velocity, point)
    np.testing.assert_allclose(end, (y + 0.5 * y_dot) @ (y + 0.5 * y_dot).T, atol=1e-8)
    with pytest.raises(GeodesicError, match="boundary of M_2") as info:
        metric.exp(2.0 * velocity, point)
    hit = float(re.search(r"t = ([0-9.eE+-]+)", str(info.value)).group(1))
    # s_2(t) / s_1 = (1 - t)^2 / 1.5^2 reaches boundary_rtol = 1e-6 at 1 - 1.5e-3
    assert abs(2.0 * hit - (1.0 - 1.5 * math.sqrt(metric.boundary_rtol))) < 1e-4


def test_geodesic_conserves_energy_and_is_critical_for_path_energy():
    """Rectangular N = 3: H constant along the geodesic, and the first variation
    of the discretized energy sum g(dX, dX)/dt vanishes (to O(dt^2))."""
    rng = np.random.default_rng(6)
    n, m, r = 4, 3, 2
    space = FixedRankEndToEndMatrices(n, m, rank=r, depth=3)
    metric = space.metric
    point = _rank_r(rng, n, m, r)
    velocity = 0.6 * space.random_tangent_vec(point)
    times = np.linspace(0.0, 1.0, 161)
    path = metric.geodesic_points(velocity, point, times)
    assert np.all(space.belongs(path, atol=1e-8))
    energies = [
        float(metric.squared_norm(np.gradient(path, times, axis=0)[k], path[k]))
        for k in (20, 80, 140)
    ]
    np.testing.assert_allclose(energies, energies[0], rtol=1e-3)
    momentum = metric.inverse_operator(velocity, point)
    start_energy = float(metric.hamiltonian(point, momentum))
    np.testing.assert_allclose(
        2 * start_energy, float(metric.squared_norm(velocity, point)), rtol=1e-12
    )

    def path_energy(curve):
        steps = np.diff(curve, axis=0)
        middles = space.projection(0.5 * (curve[1:] + curve[:-1]))
        return sum(
            float(metric.squared_norm(step, middle))
            for step, middle in zip(steps, middles, strict=True)
        ) / (times[1] - times[0])

    bump = np.sin(np.pi * times)[:, None, None]
    direction = space.random_tangent_vec(point)
    base = path_energy(path)

    def varied(curve, eps):
        return path_energy(space.projection(curve + eps * bump * direction))

    eps = 1e-3
    first_variation = (varied(path, eps) - varied(path, -eps)) / (2 * eps)
    # a non-geodesic curve with the same ends has a first variation of order 1
    straight = space.projection(point + times[:, None, None] * (path[-1] - point)[None])
    straight_variation = (varied(straight, eps) - varied(straight, -eps)) / (2 * eps)
    assert abs(first_variation) < 1e-3 * base
    assert abs(straight_variation) > 50 * abs(first_variation)


def test_log_inverts_exp():
    rng = np.random.default_rng(9)
    space = FixedRankEndToEndMatrices(3, 3, rank=1, depth=2)
    point = _rank_r(rng, 3, 3, 1)
    velocity = 0.3 * space.random_tangent_vec(point)
    end = space.metric.exp(velocity, point)
    np.testing.assert_allclose(space.metric.log(end, point), velocity, atol=1e-7)


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_flows_up_and_down_agree_at_rank_r(depth):
    """Thm 3 at rank r: training the full-width network from a balanced rank-r
    start stays at rank r and projects to the g^N gradient flow on M_r."""
    d, r = 6, 2
    loss, _ = completion_problem(d, rank=2, fraction=0.6, seed=depth)
    rng = np.random.default_rng(depth)
    start = 0.6 * rng.normal(size=(d, r)) @ rng.normal(size=(r, d))
    times = np.linspace(0.0, 2.0, 5)
    up = integrate(
        euclidean_gradient_field(loss),
        low_rank_center(start, depth, r),
        2.0,
        rtol=1e-11,
        t_eval=times,
    )
    down = integrate(
        fixed_rank_gradient_field(loss, depth, r), start, 2.0, rtol=1e-11, t_eval=times
    )
    factored = integrate(
        factored_gradient_field(loss, depth, r),
        factorize(start, r),
        2.0,
        rtol=1e-11,
        t_eval=times,
    )
    upstairs = np.asarray(end_to_end(up.states))
    scale = np.max(np.abs(upstairs))
    assert np.max(np.abs(upstairs - down.states)) < 1e-6 * scale
    factored_states = np.stack(
        [factored_end_to_end(s, d, d, r) for s in factored.states]
    )
    assert np.max(np.abs(factored_states - down.states)) < 1e-6 * scale
    singular = np.linalg.svd(upstairs, compute_uv=False)
    assert np.max(singular[:, r] / singular[:, 0]) < 1e-10  # still rank r
    assert np.max(np.abs(moments(up.final_state))) < 1e-8 * scale
    assert down["loss"][-1] < 0.5 * down["loss"][0]  # it did move


def test_depth_one_is_the_projected_euclidean_flow():
    """N = 1: a_ij = 1, the field is -P_T E' (M_r is then not invariant upstairs)."""
    rng = np.random.default_rng(1)
    point = _rank_r(rng, 4, 4, 2)
    loss = QuadraticLoss(rng.normal(size=(4, 4)))
    velocity = fixed_rank_gradient_field(loss, 1, 2)(point)
    space = FixedRankEndToEndMatrices(4, 4, rank=2, depth=1)
    np.testing.assert_allclose(
        velocity, -space.to_tangent(loss.gradient(point), point), atol=1e-12
    )


# ------------------------------------------------------- balanced manifold, rank r
def _balanced_chart_jacobian(point, depth, width, rank, rng):
    """Dense Jacobian of the parametrization (U_r, s, V_r, Q_1..Q_{N-1}) -> W at a
    balanced point built from it (Stiefel frames moved by e^{Om})."""
    left, s, right_t = np.linalg.svd(point)
    frames = [
        np.linalg.qr(rng.normal(size=(width, width)))[0] for _ in range(depth - 1)
    ]
    n_skew = width * (width - 1) // 2

    def layers(theta):
        parts = np.split(theta[: (depth + 1) * n_skew], depth + 1)
        u = expm(_skew(parts[0], width)) @ left[:, :rank]
        v = expm(_skew(parts[1], width)) @ right_t.T[:, :rank]
        q = [
            expm(_skew(p, width)) @ f[:, :rank]
            for p, f in zip(parts[2:], frames, strict=True)
        ]
        lam = np.diag((s[:rank] * np.exp(theta[(depth + 1) * n_skew :])) ** (1 / depth))
        stack = [q[0] @ lam @ v.T]
        stack += [q[k] @ lam @ q[k - 1].T for k in range(1, depth - 1)]
        stack += [u @ lam @ q[-1].T]
        return np.stack(stack)

    size = (depth + 1) * n_skew + rank
    step = 1e-6
    jacobian = np.stack(
        [
            (layers(step * e) - layers(-step * e)).ravel() / (2 * step)
            for e in np.eye(size)
        ],
        axis=1,
    )
    return layers(np.zeros(size)), jacobian


@pytest.mark.parametrize("width, depth, rank", [(4, 3, 2), (3, 2, 1), (4, 4, 1)])
def test_balanced_manifold_dimension_and_tangent_space(width, depth, rank):
    rng = np.random.default_rng(width * depth + rank)
    manifold = LowRankBalancedManifold(width, depth, rank)
    point, jacobian = _balanced_chart_jacobian(
        _rank_r(rng, width, width, rank), depth, width, rank, rng
    )
    assert manifold.belongs(point)
    singular = np.linalg.svd(jacobian, compute_uv=False)
    assert np.sum(singular > 1e-6 * singular[0]) == manifold.dim
    stiefel = width * rank - rank * (rank + 1) // 2
    assert manifold.dim == rank * (2 * width - rank) + (depth - 1) * stiefel
    basis = manifold.tangent_basis(point).reshape(manifold.dim, -1)
    np.testing.assert_allclose(basis @ basis.T, np.eye(manifold.dim), atol=1e-10)
    span = np.linalg.svd(jacobian, full_matrices=False)[0][:, : manifold.dim]
    np.testing.assert_allclose(span @ (span.T @ basis.T), basis.T, atol=1e-8)
    vector = rng.normal(size=point.shape)
    tangent = manifold.to_tangent(vector, point)
    np.testing.assert_allclose(
        tangent.ravel(), span @ (span.T @ vector.ravel()), atol=1e-8
    )
    assert manifold.is_tangent(tangent, point)
    assert len(manifold.vertical_basis(point)) == (depth - 1) * stiefel


@pytest.mark.parametrize("width, depth, rank", [(4, 3, 2), (5, 2, 3), (4, 5, 1)])
def test_submersion_identity_at_rank_r(width, depth, rank):
    """|lift(Z)|^2 = g^N_X(Z, Z), dphi(lift Z) = Z, lift orthogonal to the fiber."""
    manifold = LowRankBalancedManifold(width, depth, rank)
    point = manifold.random_point()
    assert manifold.belongs(point)
    matrix = np.asarray(end_to_end(point))
    base = manifold.base
    assert isinstance(base.metric, FixedRankDLNMetric)
    vertical = manifold.vertical_basis(point).reshape(-1, point.size)
    for vector in base.random_tangent_vec(matrix, 3):
        lift = manifold.horizontal_lift(vector, point)
        np.testing.assert_allclose(
            np.sum(lift**2), float(base.metric.squared_norm(vector, matrix)), rtol=1e-10
        )
        np.testing.assert_allclose(differential(lift, point), vector, atol=1e-10)
        assert np.max(np.abs(vertical @ lift.ravel())) < 1e-10 * np.linalg.norm(lift)
        np.testing.assert_allclose(
            manifold.horizontal_projection(lift, point), lift, atol=1e-10
        )
    # the moment map stays 0 to first order along a tangent vector
    tangent = manifold.to_tangent(
        np.random.default_rng(0).normal(size=point.shape), point
    )
    step = 1e-6
    moved = np.asarray(moments(point + step * tangent)) - np.asarray(
        moments(point - step * tangent)
    )
    assert np.max(np.abs(moved)) / (2 * step) < 1e-7


# ---------------------------------------------------------------------- bad input
def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="infinite-depth metric is not defined"):
        FixedRankEndToEndMatrices(4, 4, rank=2, depth=math.inf)
    with pytest.raises(ValueError, match="rank must be at most"):
        FixedRankEndToEndMatrices(3, 5, rank=4)
    with pytest.raises(ValueError, match="positive integer"):
        FixedRankEndToEndMatrices(3, 5, rank=0)
    space = FixedRankEndToEndMatrices(4, 4, rank=2, depth=3)
    rank_one = np.outer(np.arange(1.0, 5.0), np.ones(4))
    with pytest.raises(ValueError, match="rank below 2"):
        space.projection(rank_one)
    with pytest.raises(ValueError, match="rank below 2"):
        space.metric.inner_product(rank_one, rank_one, rank_one)
    with pytest.raises(ValueError, match="non-finite"):
        space.metric.operator(np.full((4, 4), np.nan), space.random_point())
    point = space.random_point()
    with pytest.raises(ValueError, match="shape"):
        space.metric.operator(np.ones((3, 4)), point)
    left, _, right_t = np.linalg.svd(point)
    normal = np.outer(left[:, 3], right_t[3])
    with pytest.raises(ValueError, match="not tangent"):
        space.metric.exp(normal, point)
    with pytest.raises(ValueError, match="depth must be at least 2"):
        LowRankBalancedManifold(3, 1, 1)
    manifold = LowRankBalancedManifold(3, 3, 1)
    with pytest.raises(ValueError, match="not on the balanced manifold"):
        # rank one but not balanced: G_1 = 3 (4 - 1) ones
        unbalanced = np.ones((3, 3, 3)) * np.array([2.0, 1.0, 1.0])[:, None, None]
        manifold.horizontal_lift(np.ones((3, 3)), unbalanced)
    balanced = manifold.random_point()
    with pytest.raises(ValueError, match="times must be"):
        manifold.horizontal_geodesic(np.eye(3), balanced, [0.5, 0.2])
    with pytest.raises(ValueError, match="tangent_vec must be one finite"):
        manifold.horizontal_geodesic(np.full((3, 3), np.inf), balanced, [0.0, 1.0])
    with pytest.raises(ValueError, match="shape"):
        manifold.to_tangent(np.ones((2, 3, 3)), balanced)
    with pytest.raises(ValueError, match="times must be"):
        space.metric.geodesic_points(np.zeros((4, 4)), point, [-1.0, 0.0])
    with pytest.raises(ValueError, match="does not have rank 2"):
        space.metric.log(rank_one, point)


def test_cometric_is_the_inverse_of_the_metric():
    """inner_coproduct(A^{-1} u, A^{-1} v) = g(u, v), and covectors act through
    their tangent part only."""
    rng = np.random.default_rng(21)
    space = FixedRankEndToEndMatrices(5, 4, rank=2, depth=3)
    metric = space.metric
    point = _rank_r(rng, 5, 4, 2)
    u, v = (space.random_tangent_vec(point) for _ in range(2))
    lowered_u, lowered_v = (metric.inverse_operator(w, point) for w in (u, v))
    np.testing.assert_allclose(
        metric.inner_coproduct(lowered_u, lowered_v, point),
        metric.inner_product(u, v, point),
        rtol=1e-12,
    )
    left, _, right_t = np.linalg.svd(point)
    normal = np.outer(left[:, 4], right_t[3])
    np.testing.assert_allclose(
        metric.inner_coproduct(lowered_u + normal, lowered_v, point),
        metric.inner_product(u, v, point),
        rtol=1e-12,
    )


@pytest.mark.parametrize("n, m, r", [(4, 3, 2), (5, 5, 3), (3, 2, 1)])
@pytest.mark.parametrize("depth", [1, 2, 3, 5])
def test_hamiltonian_force_is_the_derivative_of_h_along_m_r(n, m, r, depth):
    """<dH/dX, Z> = d/dt H(proj(X + tZ), P) by central differences, for a momentum
    with a normal block, at distinct and at equal singular values."""
    rng = np.random.default_rng(n + 10 * m + 100 * r + depth)
    space = FixedRankEndToEndMatrices(n, m, rank=r, depth=depth)
    metric = space.metric
    momentum = rng.normal(size=(n, m))
    for point in (_rank_r(rng, n, m, r), _rank_r(rng, n, m, r, spread=False)):
        velocity, force = metric.hamiltonian_vector_field(point, momentum)
        np.testing.assert_allclose(
            velocity, metric.operator(momentum, point), atol=1e-12
        )
        for _ in range(2):
            direction = space.to_tangent(rng.normal(size=(n, m)), point)
            step = 1e-5
            difference = (
                metric.hamiltonian(space.projection(point + step * direction), momentum)
                - metric.hamiltonian(
                    space.projection(point - step * direction), momentum
                )
            ) / (2 * step)
            np.testing.assert_allclose(
                -np.sum(force * direction), difference, rtol=1e-6, atol=1e-8
            )


def test_batched_exp_and_log_match_single_calls():
    rng = np.random.default_rng(12)
    space = FixedRankEndToEndMatrices(4, 3, rank=2, depth=3)
    metric = space.metric
    points = np.stack([_rank_r(rng, 4, 3, 2) for _ in range(3)])
    vectors = 0.2 * np.stack([space.random_tangent_vec(p) for p in points])
    ends = np.asarray(metric.exp(vectors, points))
    assert ends.shape == (3, 4, 3)
    for end, vector, point in zip(ends, vectors, points, strict=True):
        np.testing.assert_allclose(end, metric.exp(vector, point), atol=1e-9)
    np.testing.assert_allclose(metric.log(ends, points), vectors, atol=1e-7)
    path = metric.geodesic_points(vectors, points, [0.0, 0.5, 1.0])
    assert path.shape == (3, 3, 4, 3)
    np.testing.assert_allclose(path[:, -1], ends, atol=1e-9)
    np.testing.assert_allclose(path[:, 0], points, atol=1e-14)


@pytest.mark.parametrize("width, depth, rank", [(4, 3, 2), (3, 2, 1), (4, 4, 1)])
def test_horizontal_geodesic_lifts_the_rank_r_geodesic(width, depth, rank):
    """The horizontal geodesic upstairs: its end maps to exp on (M_r, g^N), it
    stays balanced and of rank r, its polygonal length equals |Z|_g, and it is
    horizontal at every sampled time."""
    rng = np.random.default_rng(30 + width + depth + rank)
    manifold = LowRankBalancedManifold(width, depth, rank)
    point = manifold.random_point()
    matrix = np.asarray(end_to_end(point))
    base = manifold.base
    vector = 0.3 * np.asarray(base.random_tangent_vec(matrix))
    times = np.linspace(0.0, 1.0, 401)
    path = manifold.horizontal_geodesic(vector, point, times)
    np.testing.assert_allclose(
        end_to_end(path[-1]), base.metric.exp(vector, matrix), atol=1e-8
    )
    np.testing.assert_allclose(
        end_to_end(path[::80]),
        base.metric.geodesic_points(vector, matrix, times[::80]),
        atol=1e-8,
    )
    assert all(manifold.belongs(layers, atol=1e-8) for layers in path[::40])
    length = np.sum(np.sqrt(np.sum(np.diff(path, axis=0) ** 2, axis=(-3, -2, -1))))
    expected = math.sqrt(float(base.metric.squared_norm(vector, matrix)))
    np.testing.assert_allclose(length, expected, rtol=1e-5)  # polygon: O(dt^2)
    for k in (100, 300):
        velocity = (path[k + 1] - path[k - 1]) / (times[k + 1] - times[k - 1])
        vertical = manifold.vertical_projection(velocity, path[k])
        assert np.linalg.norm(vertical) < 1e-4 * np.linalg.norm(velocity)
    # the metric's exp is this geodesic for horizontal vectors only
    lift = manifold.horizontal_lift(vector, point)
    np.testing.assert_allclose(manifold.metric.exp(lift, point), path[-1], atol=1e-9)
    with pytest.raises(NotImplementedError, match="takes horizontal tangent vectors"):
        manifold.metric.exp(
            manifold.to_tangent(rng.normal(size=point.shape), point), point
        )


def test_balanced_manifold_methods_vectorize():
    manifold = LowRankBalancedManifold(3, 3, 2)
    points = manifold.random_point(2)
    vectors = np.random.default_rng(1).normal(size=points.shape)
    tangent = manifold.to_tangent(vectors, points)
    assert tangent.shape == points.shape
    for k in range(2):
        np.testing.assert_allclose(
            tangent[k], manifold.to_tangent(vectors[k], points[k]), atol=1e-12
        )
    np.testing.assert_array_equal(manifold.belongs(points), [True, True])
    np.testing.assert_array_equal(manifold.is_tangent(tangent, points), [True, True])
    assert not np.any(manifold.is_tangent(vectors, points))


def _chart_hamiltonian_gradient(point, momentum, rank, depth):
    """Reference dH/dX on M_r: autograd of H in the graph chart
    (M, K, L) -> Q_U R_U^T (S + M) R_V Q_V^T, U~ = U + (I - U U^T) K = Q_U R_U^T
    (Cholesky of the Gram matrix), the same for V~, then the chart differential
    (dM, dK, dL) -> U dM V^T + K S V^T + U S L^T at 0."""
    import autograd
    import autograd.numpy as anp

    from geomstats_dln._spectral import dln_coefficients

    left, s, right_t = np.linalg.svd(point, full_matrices=False)
    left, s, right = left[:, :rank], s[:rank], right_t[:rank].T

    def hamiltonian(params):
        core_shift, left_shift, right_shift = params
        left_t = left + left_shift - left @ (left.T @ left_shift)
        right_tt = right + right_shift - right @ (right.T @ right_shift)
        chol_left = anp.linalg.cholesky(left_t.T @ left_t)
        chol_right = anp.linalg.cholesky(right_tt.T @ right_tt)
        q_left = anp.linalg.solve(chol_left, left_t.T).T
        q_right = anp.linalg.solve(chol_right, right_tt.T).T
        core = chol_left.T @ (anp.diag(s) + core_shift) @ chol_right
        p_core, sigma, q_core_t = anp.linalg.svd(core, full_matrices=False)
        frame_left, frame_right = q_left @ p_core, q_right @ q_core_t.T
        a = dln_coefficients(sigma, sigma, depth, anp)
        c = sigma ** (2.0 * (depth - 1) / depth)
        times_right = momentum @ frame_right
        rotated = frame_left.T @ times_right
        left_normal = times_right - frame_left @ rotated
        right_normal = momentum.T @ frame_left - frame_right @ rotated.T
        return 0.5 * (
            anp.sum(a * rotated**2)
            + anp.sum(c * left_normal**2)
            + anp.sum(c * right_normal**2)
        )

    zero = (np.zeros((rank, rank)), np.zeros_like(left), np.zeros_like(right))
    core, left_part, right_part = autograd.grad(hamiltonian)(zero)
    return left @ core @ right.T + (left_part / s) @ right.T + left @ (right_part / s).T


@pytest.mark.parametrize("n, m, r, depth", [(4, 3, 2, 3), (5, 5, 3, 2), (6, 4, 2, 4)])
def test_hamiltonian_force_matches_autodiff_in_a_chart(n, m, r, depth):
    rng = np.random.default_rng(n * m + r + depth)
    metric = FixedRankEndToEndMatrices(n, m, rank=r, depth=depth).metric
    point = _rank_r(rng, n, m, r)
    momentum = rng.normal(size=(n, m))
    _, force = metric.hamiltonian_vector_field(point, momentum)
    reference = _chart_hamiltonian_gradient(point, momentum, r, depth)
    np.testing.assert_allclose(-force, reference, atol=1e-11 * np.abs(reference).max())


@pytest.mark.parametrize(
    "n, m, r, depth",
    [(6, 4, 2, 1), (6, 4, 2, 2), (5, 7, 3, 3), (8, 8, 2, 16), (4, 4, 4, 3)],
)
def test_factored_field_reproduces_the_dense_rank_r_field(n, m, r, depth):
    """At factors that are neither orthonormal nor in SVD form, the factored
    velocity assembles to ``X' = U' S V^T + U S' V^T + U S V'^T`` equal to the
    dense field ``-A_X(P_T E')`` (truncated SVD of X, ``apply_rank_operator``;
    for N = 16 its coefficients take the expm1 route, not the sum of powers),
    with the gauge ``U^T U' = 0``, ``V^T V' = 0``."""
    rng = np.random.default_rng(n + m + r + depth)
    left = rng.normal(size=(n, r))
    core = rng.normal(size=(r, r))
    right = rng.normal(size=(m, r))
    state = np.concatenate([left.ravel(), core.ravel(), right.ravel()])
    point = (left @ core) @ right.T
    loss = QuadraticLoss(rng.normal(size=(n, m)))
    velocity = factored_gradient_field(loss, depth, r)(state)
    left_dot = velocity[: n * r].reshape(n, r)
    core_dot = velocity[n * r : (n + r) * r].reshape(r, r)
    right_dot = velocity[(n + r) * r :].reshape(m, r)
    assembled = left_dot @ core @ right.T + left @ core_dot @ right.T
    assembled = assembled + left @ core @ right_dot.T
    dense = fixed_rank_gradient_field(loss, depth, r)(point)
    np.testing.assert_allclose(assembled, dense, atol=1e-11 * np.max(np.abs(dense)))
    scale = np.max(np.abs(velocity)) * np.max(np.abs(state))
    assert np.max(np.abs(left.T @ left_dot)) < 1e-12 * scale
    assert np.max(np.abs(right.T @ right_dot)) < 1e-12 * scale


def test_factored_field_at_full_rank_and_infinite_depth():
    """``r = n = m``: depth inf is allowed (the normal blocks are empty) and the
    factored velocity is the full-rank field ``-A_{inf,X}(E')``."""
    rng = np.random.default_rng(4)
    point = np.eye(3) + 0.3 * rng.normal(size=(3, 3))
    loss = QuadraticLoss(rng.normal(size=(3, 3)))
    state = factorize(point, 3)
    velocity = factored_gradient_field(loss, math.inf, 3)(state)
    left, core, right = (
        velocity[:9].reshape(3, 3),
        velocity[9:18].reshape(3, 3),
        velocity[18:].reshape(3, 3),
    )
    u, c, v = (
        state[:9].reshape(3, 3),
        state[9:18].reshape(3, 3),
        state[18:].reshape(3, 3),
    )
    assembled = left @ c @ v.T + u @ core @ v.T + u @ c @ right.T
    dense = riemannian_gradient_field(loss, math.inf)(point)
    np.testing.assert_allclose(assembled, dense, atol=1e-11 * np.max(np.abs(dense)))


def test_factored_field_refuses_a_singular_factor():
    loss = QuadraticLoss(np.ones((4, 3)))
    field = factored_gradient_field(loss, 3, 2)
    left = np.zeros((4, 2))
    left[0] = 1.0  # rank 1: its Gram matrix is singular
    state = np.concatenate([left.ravel(), np.eye(2).ravel(), np.eye(3)[:, :2].ravel()])
    with pytest.raises(ValueError, match="factor is singular"):
        field(state)
    orthonormal = np.eye(4)[:, :2]
    state = np.concatenate(
        [orthonormal.ravel(), np.diag([1.0, 0.0]).ravel(), np.eye(3)[:, :2].ravel()]
    )
    with pytest.raises(ValueError, match="singular value reached 0"):
        field(state)


def test_low_rank_balanced_metric_is_exported_and_says_why_it_refuses():
    """``LowRankBalancedMetric`` is public; exp of a vector with a vertical part,
    log and dist raise ``NotImplementedError`` naming the vertical norm (against
    ``vertical_projection``) and the reason: the package provides the dimension,
    tangent spaces, horizontal lift and submersion, not total-space geodesics."""
    import geomstats_dln

    assert "LowRankBalancedMetric" in geomstats_dln.__all__
    assert geomstats_dln.LowRankBalancedMetric is LowRankBalancedMetric
    manifold = LowRankBalancedManifold(3, 3, 2)
    assert isinstance(manifold.metric, geomstats_dln.LowRankBalancedMetric)
    rng = np.random.default_rng(12)
    point = manifold.random_point()
    vector = manifold.to_tangent(rng.normal(size=point.shape), point)
    vertical = np.asarray(manifold.vertical_projection(vector, point))
    reason = (
        "dimension, tangent spaces, horizontal lift and the Riemannian submersion "
        "onto (M_r, g^N), not the geodesics of the total space"
    )
    with pytest.raises(NotImplementedError) as refused:
        manifold.metric.exp(vector, point)
    message = str(refused.value)
    assert reason in message and "second fundamental form" in message
    norm = float(re.search(r"vertical part of norm (\S+)\.", message).group(1))
    # printed with 3 significant digits
    np.testing.assert_allclose(norm, np.linalg.norm(vertical), rtol=5e-3)
    for call in (manifold.metric.log, manifold.metric.dist):
        with pytest.raises(NotImplementedError, match="geodesics in every direction"):
            call(point, point)
        with pytest.raises(NotImplementedError, match=re.escape(reason)):
            call(point, point)
    # complex input is a TypeError naming the argument, before any refusal
    with pytest.raises(TypeError, match="tangent_vec_a must be real"):
        manifold.metric.inner_product(vector + 0j, vector, point)
    with pytest.raises(TypeError, match="point must be real"):
        manifold.metric.log(point + 0j, point)
    # a horizontal vector is accepted: the refusal is about the vertical part
    horizontal = manifold.horizontal_projection(vector, point)
    assert np.all(np.isfinite(manifold.metric.exp(0.1 * horizontal, point)))
