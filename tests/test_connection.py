"""Tests of the closed-form Levi-Civita connection of ``g^N``
(:mod:`geomstats_dln.connection`, ``DLNBuresWassersteinMetric``'s connection).

Independent sources: the Christoffel symbols of the Koszul formula on the metric
matrix of the definition (:mod:`tests._reference`, differentiated by autograd),
central differences of ``metric_matrix`` and ``inner_product``, the geodesic
integrator (``exp``, ``geodesic_points``), geomstats' Bures-Wasserstein metric
(its closed-form ``exp`` and its ``parallel_transport``), and O'Neill's formula
for the submersion ``GL(n) -> SPD``, ``M -> M M^T``, written out here.
"""

from __future__ import annotations

import math

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import geomstats.backend as gs
from geomstats.geometry.spd_matrices import SPDBuresWassersteinMetric, SPDMatrices
from geomstats.test.random import RandomDataGenerator
from geomstats.test_cases.geometry.riemannian_metric import RiemannianMetricTestCase

from geomstats_dln import DLNBuresWassersteinMetric, EndToEndMatrices
from geomstats_dln.end_to_end import GeodesicError
from tests import _reference as reference

CASES = [(2, 2, 3), (2, 3, 2), (3, 2, 4)]


def metric_of(n, m, depth):
    return EndToEndMatrices(n, m, depth=depth).metric


def random_case(rng, n, m, batch=()):
    """A well-conditioned point and three vectors."""
    point = rng.normal(size=batch + (n, m)) + 1.5 * np.eye(n, m)
    vectors = rng.normal(size=(3,) + batch + (n, m))
    return point, vectors


# --------------------------------------------------------------- references
def reference_metric(n, m, depth):
    """Flat point -> matrix of g = A^{-1} from the definition (autograd-friendly)."""
    basis = np.eye(n * m).reshape(n * m, n, m)

    def metric(flat_point):
        point = anp.reshape(flat_point, (n, m))
        columns = [anp.ravel(reference.operator(point, e, depth)) for e in basis]
        return anp.linalg.inv(anp.stack(columns, axis=-1))

    return metric


def reference_christoffels(point, depth):
    """Gamma^k_ij = 1/2 g^kl (d_i g_jl + d_j g_il - d_l g_ij), autograd of g."""
    n, m = point.shape
    metric = reference_metric(n, m, depth)
    flat = point.ravel()
    derivative = autograd.jacobian(metric)(flat)  # [i, j, l] = d_l g_ij
    inverse = np.linalg.inv(metric(flat))
    return 0.5 * (
        np.einsum("kl,jli->kij", inverse, derivative)
        + np.einsum("kl,ilj->kij", inverse, derivative)
        - np.einsum("kl,ijl->kij", inverse, derivative)
    )


def reference_curvature(point, a, b, c, depth):
    """``R(a, b)c`` from reference Christoffels (geomstats' formula).

    ``R(a, b)c^l = (d_a Gamma^l_ki) b_k c_i - (d_b Gamma^l_ji) a_j c_i
    + Gamma^l_jm Gamma^m_ki a_j b_k c_i - Gamma^l_km Gamma^m_ji a_j b_k c_i``
    with the directional derivatives of the (exact) reference Christoffels by a
    Richardson-extrapolated central difference.
    """
    gamma = reference_christoffels(point, depth)
    step = 1e-3 * np.linalg.svd(point, compute_uv=False)[-1]

    def directional(u):
        t = step / np.linalg.norm(u)
        f = [reference_christoffels(point + s * t * u, depth) for s in (1, -1, 2, -2)]
        return (8 * (f[0] - f[1]) - (f[2] - f[3])) / (12 * t)

    a, b, c = a.ravel(), b.ravel(), c.ravel()
    value = (
        np.einsum("lki,k,i->l", directional(a.reshape(point.shape)), b, c)
        - np.einsum("lji,j,i->l", directional(b.reshape(point.shape)), a, c)
        + np.einsum("ljm,mki,j,k,i->l", gamma, gamma, a, b, c)
        - np.einsum("lkm,mji,j,k,i->l", gamma, gamma, a, b, c)
    )
    return value.reshape(point.shape)


def lyapunov_np(point, vec):
    values, vectors = np.linalg.eigh(point)
    rotated = vectors.T @ vec @ vectors
    return vectors @ (rotated / (values[:, None] + values[None, :])) @ vectors.T


def oneill_bw_sectional(point, a, b):
    """Bures-Wasserstein sectional curvature by O'Neill's formula.

    ``pi(M) = M M^T`` from the flat ``GL(n)`` (Frobenius metric) onto SPD with
    ``g_BW(V, V) = tr(L X L)``: horizontal fields ``L M`` (``L`` symmetric),
    bracket ``[L_b, L_a] M``, whose vertical part ``M Omega`` at ``M = X^{1/2}``
    has ``Omega_ij = 2 s_i s_j C_ij / (s_i^2 + s_j^2)`` (eigenbasis, ``C`` the
    commutator); ``K = 3/4 |M Omega|^2 / (|a|^2 |b|^2 - <a, b>^2)``.
    """
    lam, vectors = np.linalg.eigh(point)
    lyap_a, lyap_b = lyapunov_np(point, a), lyapunov_np(point, b)
    commutator = vectors.T @ (lyap_b @ lyap_a - lyap_a @ lyap_b) @ vectors
    vertical = 2 * np.sum(np.outer(lam, lam) * commutator**2 / np.add.outer(lam, lam))

    def inner(u, v):
        return 0.5 * np.trace(lyapunov_np(point, u) @ v)

    return 0.75 * vertical / (inner(a, a) * inner(b, b) - inner(a, b) ** 2)


def random_spd(rng, n, batch=()):
    a = rng.normal(size=batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) / n + 0.3 * np.eye(n)


def random_sym(rng, n, batch=()):
    a = rng.normal(size=batch + (n, n))
    return (a + np.swapaxes(a, -1, -2)) / 2


# ------------------------------------------------------------- Christoffels
@pytest.mark.parametrize("n, m, depth", CASES)
def test_christoffels_match_autodiff_of_the_metric_matrix(n, m, depth):
    rng = np.random.default_rng(n + 10 * m + depth)
    point, _ = random_case(rng, n, m)
    ours = metric_of(n, m, depth).christoffels(gs.array(point))
    expected = reference_christoffels(point, depth)
    assert ours.shape == (n * m,) * 3
    np.testing.assert_allclose(ours, expected, atol=1e-11 * np.abs(expected).max())


@pytest.mark.parametrize("depth", [2, 5, math.inf])
def test_christoffels_match_finite_differences_of_metric_matrix(depth):
    # Koszul formula on central differences of the library's metric_matrix
    # (the a_ij closed form, no connection code): also covers N = inf.
    rng = np.random.default_rng(3)
    point, _ = random_case(rng, 3, 3)
    metric = metric_of(3, 3, depth)
    dim = 9
    step = 1e-3 * np.linalg.svd(point, compute_uv=False)[-1]
    derivative = np.zeros((dim, dim, dim))
    for k in range(dim):
        e = np.zeros(dim)
        e[k] = step
        f = [
            metric.metric_matrix(gs.array((point.ravel() + c * e).reshape(3, 3)))
            for c in (1, -1, 2, -2)
        ]
        derivative[:, :, k] = (8 * (f[0] - f[1]) - (f[2] - f[3])) / (12 * step)
    inverse = np.linalg.inv(metric.metric_matrix(gs.array(point)))
    expected = 0.5 * (
        np.einsum("kl,jli->kij", inverse, derivative)
        + np.einsum("kl,ilj->kij", inverse, derivative)
        - np.einsum("kl,ijl->kij", inverse, derivative)
    )
    ours = metric.christoffels(gs.array(point))
    np.testing.assert_allclose(ours, expected, atol=1e-7 * np.abs(expected).max())


@pytest.mark.parametrize("n, m, depth", CASES + [(3, 3, math.inf)])
def test_contraction_is_symmetric_and_minus_the_geodesic_acceleration(n, m, depth):
    rng = np.random.default_rng(7)
    point, (v, w, _) = random_case(rng, n, m, batch=(4,))
    metric = metric_of(n, m, depth)
    vw = metric.christoffel_contraction(v, w, point)
    np.testing.assert_allclose(vw, metric.christoffel_contraction(w, v, point))
    # torsion-free: the Christoffel symbols are symmetric in their lower indices
    gamma = metric.christoffels(point)
    assert gamma.shape == (4,) + (n * m,) * 3
    np.testing.assert_allclose(gamma, np.swapaxes(gamma, -1, -2), atol=1e-13)
    # entries: Gamma(V, W)_k = Gamma^k_ij V_i W_j
    entries = np.einsum(
        "bkij,bi,bj->bk", gamma, v.reshape(4, -1), w.reshape(4, -1)
    ).reshape(vw.shape)
    np.testing.assert_allclose(entries, vw, atol=1e-12 * np.abs(vw).max())
    # diagonal: X'' = -Gamma(X', X') (geomstats' geodesic equation)
    state = np.stack([point, v], axis=-3)
    acceleration = metric.geodesic_equation(state)[..., 1, :, :]
    np.testing.assert_allclose(
        -metric.christoffel_contraction(v, v, point),
        acceleration,
        atol=1e-12 * np.abs(acceleration).max(),
    )
    # batch against one-by-one
    for k in range(4):
        np.testing.assert_allclose(
            metric.christoffel_contraction(v[k], w[k], point[k]), vw[k], atol=1e-14
        )


def test_depth_one_is_flat():
    rng = np.random.default_rng(0)
    point, (a, b, c) = random_case(rng, 2, 3)
    metric = metric_of(2, 3, 1)
    assert np.all(metric.christoffel_contraction(a, b, point) == 0.0)
    assert np.all(metric.christoffels(point) == 0.0)
    assert np.all(metric.curvature(a, b, c, point) == 0.0)
    assert float(metric.sectional_curvature(a, b, point)) == 0.0


# ------------------------------------------------ metric compatibility, torsion
@pytest.mark.parametrize("n, m, depth", [(2, 3, 3), (3, 3, math.inf)])
def test_metric_compatibility_and_torsion_with_nonconstant_fields(n, m, depth):
    # Fields Y(X) = X B + C, Z(X) = D X^T X: U g(Y, Z) = g(nabla_U Y, Z) +
    # g(Y, nabla_U Z) with the left side by central differences of inner_product;
    # torsion: nabla_Y Z - nabla_Z Y = DZ[Y] - DY[Z] (the Lie bracket).
    rng = np.random.default_rng(11)
    point = rng.normal(size=(n, m)) + 1.5 * np.eye(n, m)
    direction = rng.normal(size=(n, m))
    b, c = rng.normal(size=(m, m)), rng.normal(size=(n, m))
    d = rng.normal(size=(n, n)) @ np.eye(n, m)  # D X^T X is n x m

    def field_y(x):
        return x @ b + c

    def field_z(x):
        return d @ x.T @ x if n == m else (d[:, :n] @ x) @ (x.T @ x) / 3.0

    def derivative(field, x, u, step=1e-5):
        return (field(x + step * u) - field(x - step * u)) / (2 * step)

    metric = metric_of(n, m, depth)

    def g(x):
        return float(metric.inner_product(field_y(x), field_z(x), x))

    step = 1e-4
    left = (
        8 * (g(point + step * direction) - g(point - step * direction))
        - (g(point + 2 * step * direction) - g(point - 2 * step * direction))
    ) / (12 * step)
    y, z = field_y(point), field_z(point)
    nabla_y = metric.covariant_derivative(
        direction, y, point @ np.zeros((m, m)) + direction @ b, point
    )
    nabla_z = metric.covariant_derivative(
        direction, z, derivative(field_z, point, direction), point
    )
    right = metric.inner_product(nabla_y, z, point) + metric.inner_product(
        y, nabla_z, point
    )
    np.testing.assert_allclose(right, left, rtol=1e-7)
    torsion = metric.covariant_derivative(
        y, z, derivative(field_z, point, y), point
    ) - metric.covariant_derivative(z, y, z @ b, point)
    bracket = derivative(field_z, point, y) - z @ b
    np.testing.assert_allclose(torsion, bracket, atol=1e-8 * np.abs(bracket).max())


@pytest.mark.parametrize("depth", [3, math.inf])
def test_riemannian_hessian_is_the_second_derivative_along_geodesics(depth):
    # f(X) = 1/2 |X M - T|^2: d^2/dt^2 f(exp(t xi)) at 0 = g(Hess f[xi], xi),
    # with exp by the geodesic integrator; and the Hessian is g-symmetric.
    rng = np.random.default_rng(5)
    point = rng.normal(size=(3, 3)) + 2 * np.eye(3)
    weights, target = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    xi, eta = rng.normal(size=(2, 3, 3))
    metric = metric_of(3, 3, depth)

    def f(x):
        return 0.5 * np.sum((x @ weights - target) ** 2)

    gradient = (point @ weights - target) @ weights.T
    hess_xi = metric.riemannian_hessian(gradient, xi @ weights @ weights.T, xi, point)
    hess_eta = metric.riemannian_hessian(
        gradient, eta @ weights @ weights.T, eta, point
    )
    times = np.array([0.0, 1e-3, 2e-3])
    path = metric.geodesic_points(xi, point, times)
    backward = metric.geodesic_points(-xi, point, times)
    values = [f(x) for x in path]
    back = [f(x) for x in backward]
    second = (-(values[2] + back[2]) + 16 * (values[1] + back[1]) - 30 * values[0]) / (
        12 * times[1] ** 2
    )
    np.testing.assert_allclose(
        metric.inner_product(hess_xi, xi, point), second, rtol=1e-5
    )
    np.testing.assert_allclose(
        metric.inner_product(hess_xi, eta, point),
        metric.inner_product(xi, hess_eta, point),
        rtol=1e-11,
    )


# -------------------------------------------------------- parallel transport
@pytest.mark.parametrize("n, m, depth", [(3, 3, 3), (2, 3, 2), (3, 3, math.inf)])
def test_parallel_transport_conserves_inner_products(n, m, depth):
    rng = np.random.default_rng(13)
    point, (direction, y, z) = random_case(rng, n, m)
    direction = 0.3 * direction
    metric = metric_of(n, m, depth)
    transported = metric.parallel_transport(
        np.stack([y, z]), point, direction=direction
    )
    end = metric.exp(direction, point)
    before = [metric.inner_product(u, v, point) for u, v in ((y, y), (y, z), (z, z))]
    after = [
        metric.inner_product(u, v, end)
        for u, v in (
            (transported[0], transported[0]),
            (transported[0], transported[1]),
            (transported[1], transported[1]),
        )
    ]
    np.testing.assert_allclose(after, before, rtol=1e-8, atol=1e-9)
    # the same transport when the geodesic is given by its end point (log)
    np.testing.assert_allclose(
        metric.parallel_transport(y, point, end_point=end), transported[0], atol=1e-7
    )


@pytest.mark.parametrize("depth", [3, math.inf])
def test_transported_velocity_is_the_geodesic_velocity(depth):
    # gamma' is parallel along gamma: its transport equals the derivative of
    # the integrator's geodesic at t = 1 (central difference of geodesic_points).
    rng = np.random.default_rng(17)
    point, (direction, _, _) = random_case(rng, 3, 3)
    direction = 0.4 * direction
    metric = metric_of(3, 3, depth)
    h = 1e-4
    path = metric.geodesic_points(
        direction, point, np.array([1 - 2 * h, 1 - h, 1 + h, 1 + 2 * h])
    )
    velocity = (8 * (path[2] - path[1]) - (path[3] - path[0])) / (12 * h)
    transported = metric.parallel_transport(direction, point, direction=direction)
    np.testing.assert_allclose(
        transported, velocity, atol=1e-7 * np.abs(velocity).max()
    )


def test_transport_around_a_closed_loop_of_the_flat_metric_is_the_identity():
    # depth 1: geodesic triangle X -> Y -> Z -> X through end points (log)
    rng = np.random.default_rng(19)
    metric = metric_of(3, 3, 1)
    x, y, z = (rng.normal(size=(3, 3)) + 4 * np.eye(3) for _ in range(3))
    vector = rng.normal(size=(3, 3))
    transported = vector
    for start, end in ((x, y), (y, z), (z, x)):
        transported = metric.parallel_transport(transported, start, end_point=end)
    np.testing.assert_allclose(transported, vector, atol=1e-14)


def test_transport_around_a_loop_of_g3_has_holonomy_but_keeps_the_norm():
    # curved case: the loop changes the vector (R != 0) but not its norm
    rng = np.random.default_rng(23)
    metric = metric_of(2, 2, 3)
    x = np.eye(2) + 0.1 * rng.normal(size=(2, 2))
    y, z = x + 0.3 * rng.normal(size=(2, 2)), x + 0.3 * rng.normal(size=(2, 2))
    vector = rng.normal(size=(2, 2))
    transported = vector
    for start, end in ((x, y), (y, z), (z, x)):
        transported = metric.parallel_transport(transported, start, end_point=end)
    np.testing.assert_allclose(
        metric.norm(transported, x), metric.norm(vector, x), rtol=1e-7
    )
    assert np.linalg.norm(transported - vector) > 1e-4 * np.linalg.norm(vector)


def test_parallel_transport_batches_broadcast_and_match_single_calls():
    rng = np.random.default_rng(29)
    metric = metric_of(2, 3, 3)
    point, (direction, vector, _) = random_case(rng, 2, 3, batch=(3,))
    direction = 0.3 * direction
    batched = metric.parallel_transport(vector, point, direction=direction)
    assert batched.shape == (3, 2, 3)
    for k in range(3):
        single = metric.parallel_transport(vector[k], point[k], direction=direction[k])
        np.testing.assert_allclose(batched[k], single, atol=1e-9)


# --------------------------------------------------------------- curvature
@pytest.mark.parametrize("n, m, depth", [(2, 2, 3), (2, 3, 2)])
def test_curvature_matches_reference_christoffels(n, m, depth):
    rng = np.random.default_rng(31 + depth)
    point, (a, b, c) = random_case(rng, n, m)
    ours = metric_of(n, m, depth).curvature(a, b, c, point)
    expected = reference_curvature(point, a, b, c, depth)
    np.testing.assert_allclose(ours, expected, atol=1e-8 * np.abs(expected).max())


@pytest.mark.parametrize("n, m, depth", [(3, 3, 3), (2, 3, 4), (3, 3, math.inf)])
def test_riemann_tensor_symmetries(n, m, depth):
    rng = np.random.default_rng(37)
    point, (a, b, c) = random_case(rng, n, m)
    d = rng.normal(size=(n, m))
    metric = metric_of(n, m, depth)

    def r(u, v, w, z):  # R(u, v, w, z) = g(R(u, v)w, z)
        return float(metric.inner_product(metric.curvature(u, v, w, point), z, point))

    scale = abs(r(a, b, b, a)) + abs(r(a, b, c, d))
    tol = 1e-8 * scale
    np.testing.assert_allclose(
        metric.curvature(a, b, c, point),
        -metric.curvature(b, a, c, point),
        atol=1e-9 * np.abs(metric.curvature(a, b, c, point)).max(),
    )
    assert abs(r(a, b, c, d) + r(a, b, d, c)) < tol  # metric skew-symmetry
    assert abs(r(a, b, c, d) - r(c, d, a, b)) < tol  # pair symmetry
    bianchi = (
        metric.curvature(a, b, c, point)
        + metric.curvature(b, c, a, point)
        + metric.curvature(c, a, b, point)
    )
    assert np.abs(bianchi).max() < 1e-8 * np.abs(metric.curvature(a, b, c, point)).max()


def test_sectional_curvature_batch_and_scaling():
    rng = np.random.default_rng(41)
    metric = metric_of(3, 3, 3)
    point, (a, b, _) = random_case(rng, 3, 3, batch=(2,))
    values = metric.sectional_curvature(a, b, point)
    assert values.shape == (2,)
    for k in range(2):
        # K depends on the plane only
        single = metric.sectional_curvature(2 * a[k] + b[k], -3 * b[k], point[k])
        np.testing.assert_allclose(single, values[k], rtol=1e-7)
        num = metric.inner_product(
            metric.curvature(a[k], b[k], b[k], point[k]), a[k], point[k]
        )
        den = (
            metric.squared_norm(a[k], point[k]) * metric.squared_norm(b[k], point[k])
            - metric.inner_product(a[k], b[k], point[k]) ** 2
        )
        np.testing.assert_allclose(values[k], num / den, rtol=1e-12)


@pytest.mark.parametrize("n", [2, 3])
def test_sectional_curvature_of_g2_on_spd_is_half_bures_wasserstein(n):
    # SPD matrices are totally geodesic in (M_n, g^2) (fixed points of the
    # isometry X -> X^T) and g^2 = 2 g_BW there: K = K_BW / 2 (O'Neill).
    rng = np.random.default_rng(43 + n)
    point = random_spd(rng, n)
    a, b = random_sym(rng, n), random_sym(rng, n)
    expected = 0.5 * oneill_bw_sectional(point, a, b)
    dln = metric_of(n, n, 2).sectional_curvature(a, b, point)
    bw = DLNBuresWassersteinMetric(SPDMatrices(n, equip=False))
    np.testing.assert_allclose(dln, expected, rtol=1e-8)
    np.testing.assert_allclose(
        bw.sectional_curvature(a, b, point), expected, rtol=1e-10
    )
    assert expected > 0


# ----------------------------------------------------------- Bures-Wasserstein
def test_bw_contraction_is_the_acceleration_of_geomstats_geodesics():
    # geomstats' closed-form BW exp: d^2/dt^2 exp(tV) at 0 = -Gamma(V, V); and
    # the DLN metric at depth 2 gives the same contraction on symmetric vectors.
    rng = np.random.default_rng(47)
    point = random_spd(rng, 3, (2,))
    v, w = random_sym(rng, 3, (2,)), random_sym(rng, 3, (2,))
    space = SPDMatrices(3, equip=False)
    ours = DLNBuresWassersteinMetric(space)
    geomstats_bw = SPDBuresWassersteinMetric(space)
    h = 1e-3
    second = (
        geomstats_bw.exp(h * v, point) + geomstats_bw.exp(-h * v, point) - 2 * point
    ) / h**2
    np.testing.assert_allclose(
        -ours.christoffel_contraction(v, v, point), second, atol=1e-8
    )
    np.testing.assert_allclose(
        ours.christoffel_contraction(v, w, point),
        metric_of(3, 3, 2).christoffel_contraction(v, w, point),
        atol=1e-12,
    )
    gamma = ours.christoffels(point)
    assert gamma.shape == (2, 6, 6, 6)
    entries = np.einsum("bkij,bi,bj->bk", gamma, gs.triu_to_vec(v), gs.triu_to_vec(w))
    np.testing.assert_allclose(
        entries, gs.triu_to_vec(ours.christoffel_contraction(v, w, point)), atol=1e-12
    )


def test_bw_curvature_is_the_g2_curvature():
    rng = np.random.default_rng(53)
    point = random_spd(rng, 3)
    a, b, c = (random_sym(rng, 3) for _ in range(3))
    bw = DLNBuresWassersteinMetric(SPDMatrices(3, equip=False))
    expected = metric_of(3, 3, 2).curvature(a, b, c, point)
    np.testing.assert_allclose(
        bw.curvature(a, b, c, point), expected, atol=1e-8 * np.abs(expected).max()
    )


def test_bw_transport_is_geomstats_and_the_dln_transport():
    rng = np.random.default_rng(59)
    n = 3
    point = random_spd(rng, n, (2,))
    direction, vector = 0.3 * random_sym(rng, n, (2,)), random_sym(rng, n, (2,))
    space = SPDMatrices(n, equip=False)
    ours = DLNBuresWassersteinMetric(space)
    geomstats_bw = SPDBuresWassersteinMetric(space)
    np.testing.assert_allclose(
        ours.parallel_transport(vector, point, direction=direction),
        geomstats_bw.parallel_transport(vector, point, direction=direction),
        atol=1e-12,
    )
    fine = ours.parallel_transport(vector, point, direction=direction, n_steps=200)
    dop853 = metric_of(n, n, 2).parallel_transport(vector, point, direction=direction)
    np.testing.assert_allclose(fine, dop853, atol=1e-9)


# geomstats' own parallel-transport test cases (RiemannianMetricTestCase) on
# DLNBuresWassersteinMetric, with geomstats' data generator and tolerance; called
# directly (geomstats' pytest parametrizer needs nbformat, not a dependency).
GEOMSTATS_TRANSPORT_TESTS = [
    ("test_parallel_transport_ivp_vec", {"n_reps": 3}),
    ("test_parallel_transport_bvp_vec", {"n_reps": 3}),
    ("test_parallel_transport_ivp_norm", {"n_points": 1}),
    ("test_parallel_transport_ivp_norm", {"n_points": 3}),
    ("test_parallel_transport_bvp_norm", {"n_points": 1}),
    ("test_parallel_transport_bvp_norm", {"n_points": 3}),
    ("test_parallel_transport_ivp_transported_is_tangent", {"n_points": 1}),
    ("test_parallel_transport_ivp_transported_is_tangent", {"n_points": 3}),
    ("test_parallel_transport_bvp_transported_is_tangent", {"n_points": 1}),
    ("test_parallel_transport_bvp_transported_is_tangent", {"n_points": 3}),
]


@pytest.mark.parametrize("n", [2, 4])
@pytest.mark.parametrize("name, arguments", GEOMSTATS_TRANSPORT_TESTS)
def test_geomstats_transport_cases(n, name, arguments):
    space = SPDMatrices(n=n, equip=False)
    space.equip_with_metric(DLNBuresWassersteinMetric)
    case = RiemannianMetricTestCase()
    case.space = space
    case.data_generator = RandomDataGenerator(space, amplitude=2.0)
    case.tangent_to_multiple = False
    getattr(case, name)(atol=1e-6, **arguments)


# ------------------------------------------------------------------- errors
def test_bad_input_raises_clear_errors():
    rng = np.random.default_rng(61)
    metric = metric_of(2, 3, 3)
    point, (a, b, _) = random_case(rng, 2, 3)
    with pytest.raises(ValueError, match="tangent_vec_a must have shape"):
        metric.christoffel_contraction(np.ones((3, 2)), b, point)
    with pytest.raises(ValueError, match="non-finite"):
        metric.christoffel_contraction(a, np.full((2, 3), np.nan), point)
    with pytest.raises(ValueError, match="do not broadcast"):
        metric.christoffel_contraction(np.ones((4, 2, 3)), b, np.ones((3, 2, 3)))
    with pytest.raises(ValueError, match="full rank"):
        metric.christoffel_contraction(a, b, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="linearly dependent"):
        metric.sectional_curvature(a, 2 * a, point)
    with pytest.raises(ValueError, match="exactly one"):
        metric.parallel_transport(a, point)
    with pytest.raises(ValueError, match="exceeds"):
        metric_of(13, 13, 2).christoffels(np.eye(13))
    with pytest.raises(GeodesicError):
        # a geodesic that leaves the full-rank matrices
        metric_of(2, 2, 3).parallel_transport(
            np.eye(2), np.eye(2), direction=np.diag([-5.0, 0.3])
        )
    bw = DLNBuresWassersteinMetric(SPDMatrices(2, equip=False))
    with pytest.raises(ValueError, match="exactly one"):
        bw.parallel_transport(np.eye(2), np.eye(2))
    with pytest.raises(ValueError, match="linearly dependent"):
        bw.sectional_curvature(np.eye(2), 3 * np.eye(2), np.eye(2))
