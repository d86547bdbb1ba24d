"""Tests of :mod:`geomstats_dln.bures_wasserstein` (the DLN metric g^2 on SPD).

Every quantity is checked against an independent computation: geomstats'
``SPDBuresWassersteinMetric`` (its own implementation, with a factor 1/2 in the
inner product), SciPy's Lyapunov solver and non-symmetric matrix square roots, the
depth-2 balanced network of MATH.md §4, finite differences and quadrature.
Run under both ``GEOMSTATS_BACKEND=numpy`` and ``GEOMSTATS_BACKEND=autograd``.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

import geomstats.backend as gs
from geomstats.geometry.spd_matrices import SPDBuresWassersteinMetric, SPDMatrices

from geomstats_dln.bures_wasserstein import DLNBuresWassersteinMetric, lyapunov

SIZES = [2, 3, 4]
BATCHES = [(), (5,), (2, 3)]
AUTOGRAD = gs.__name__.endswith("autograd")


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def random_spd(rng, n, batch=(), shift=0.2):
    """Random SPD matrices ``A A^T / n + shift I`` of shape ``batch + (n, n)``."""
    a = rng.normal(size=tuple(batch) + (n, n))
    return gs.array(a @ np.swapaxes(a, -1, -2) / n + shift * np.eye(n))


def random_sym(rng, n, batch=()):
    a = rng.normal(size=tuple(batch) + (n, n))
    return gs.array((a + np.swapaxes(a, -1, -2)) / 2)


def metrics(n):
    space = SPDMatrices(n, equip=False)
    return DLNBuresWassersteinMetric(space), SPDBuresWassersteinMetric(space)


def flat(x, n):
    return np.asarray(x).reshape((-1, n, n))


def g2_scipy(base_point, vec_a, vec_b):
    """``<A^{-1}(V_a), V_b>`` with ``A(Z) = X Z + Z X`` solved by SciPy (one matrix)."""
    solution = scipy.linalg.solve_continuous_lyapunov(
        np.asarray(base_point), np.asarray(vec_a)
    )
    return float(np.sum(solution * np.asarray(vec_b)))


def sqrtm_real(mat):
    root = scipy.linalg.sqrtm(np.asarray(mat))
    assert np.max(np.abs(np.imag(root))) < 1e-10
    return np.real(root)


# ---------------------------------------------------------------------------
# inner product
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("batch", BATCHES)
def test_inner_product_is_twice_geomstats_bw(n, batch):
    rng = np.random.default_rng(10 + n)
    metric, bw = metrics(n)
    x = random_spd(rng, n, batch)
    va, vb = random_sym(rng, n, batch), random_sym(rng, n, batch)
    ours = metric.inner_product(va, vb, x)
    assert ours.shape == batch
    np.testing.assert_allclose(ours, 2 * bw.inner_product(va, vb, x), rtol=1e-12)
    np.testing.assert_allclose(
        metric.squared_norm(va, x), 2 * bw.squared_norm(va, x), rtol=1e-12
    )
    # not identically equal to the BW value itself
    assert np.all(np.abs(ours - bw.inner_product(va, vb, x)) > 1e-8 * np.abs(ours))


@pytest.mark.parametrize("n", SIZES)
def test_inner_product_is_dln_metric_via_lyapunov_and_lift(n):
    """g^2_X(Z, Z) = <A^{-1} Z, Z> and = |h|^2 for the horizontal lift of Z."""
    rng = np.random.default_rng(20 + n)
    metric, _ = metrics(n)
    x = np.asarray(random_spd(rng, n))
    z1 = rng.normal(size=(n, n))  # general, non-symmetric directions of M_n
    z2 = rng.normal(size=(n, n))
    ours = metric.inner_product(gs.array(z1), gs.array(z2), gs.array(x))
    np.testing.assert_allclose(ours, g2_scipy(x, z1, z2), rtol=1e-11)

    # balanced tied depth-2 network: W_1 = Q X^{1/2}, W_2 = W_1^T, X = W_2 W_1
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    w1 = q @ sqrtm_real(x)
    w2 = w1.T
    np.testing.assert_allclose(w2 @ w1, x, atol=1e-12)
    np.testing.assert_allclose(w1 @ w1.T - w2.T @ w2, 0.0, atol=1e-12)
    v = np.asarray(random_sym(rng, n))
    inv_a = scipy.linalg.solve_continuous_lyapunov(x, v)
    h2, h1 = inv_a @ w1.T, w2.T @ inv_a  # above^T A^{-1}(Z) below^T
    np.testing.assert_allclose(h2 @ w1 + w2 @ h1, v, atol=1e-11)  # dphi(h) = Z
    skew = rng.normal(size=(n, n))
    skew = skew - skew.T  # vertical vector w_a = (-W_2 a, a W_1)
    assert abs(np.sum(h2 * (-w2 @ skew)) + np.sum(h1 * (skew @ w1))) < 1e-11
    lift_norm2 = np.sum(h2**2) + np.sum(h1**2)
    np.testing.assert_allclose(
        metric.squared_norm(gs.array(v), gs.array(x)), lift_norm2, rtol=1e-11
    )


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("batch", [(), (4,)])
def test_lyapunov_solves_equation(n, batch):
    rng = np.random.default_rng(30 + n)
    metric, _ = metrics(n)
    x = random_spd(rng, n, batch)
    v = gs.array(rng.normal(size=tuple(batch) + (n, n)))
    sol = lyapunov(x, v)
    np.testing.assert_allclose(x @ sol + sol @ x, v, atol=1e-11)
    for xi, vi, si in zip(flat(x, n), flat(v, n), flat(sol, n), strict=True):
        expected = scipy.linalg.solve_continuous_lyapunov(xi, vi)
        np.testing.assert_allclose(si, expected, atol=1e-11)
    np.testing.assert_allclose(metric.lyapunov(v, x), sol, atol=1e-14)


# ---------------------------------------------------------------------------
# exp / log
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("batch", BATCHES)
def test_exp_equals_geomstats_bw(n, batch):
    rng = np.random.default_rng(40 + n)
    metric, bw = metrics(n)
    x = random_spd(rng, n, batch)
    v = random_sym(rng, n, batch)
    ours = metric.exp(v, x)
    assert ours.shape == tuple(batch) + (n, n)
    np.testing.assert_allclose(ours, bw.exp(v, x), atol=1e-11)
    # independent closed form (I + L) X (I + L), L from SciPy
    for xi, vi, yi in zip(flat(x, n), flat(v, n), flat(ours, n), strict=True):
        lap = scipy.linalg.solve_continuous_lyapunov(xi, vi)
        eye = np.eye(n)
        np.testing.assert_allclose(yi, (eye + lap) @ xi @ (eye + lap), atol=1e-11)


@pytest.mark.parametrize("n", SIZES)
def test_exp_broadcasts_single_point_over_vectors(n):
    rng = np.random.default_rng(50 + n)
    metric, bw = metrics(n)
    x = random_spd(rng, n)
    v = random_sym(rng, n, (6,))
    ours = metric.exp(v, x)
    assert ours.shape == (6, n, n)
    np.testing.assert_allclose(ours, bw.exp(v, x), atol=1e-11)
    np.testing.assert_allclose(ours[2], metric.exp(v[2], x), atol=1e-14)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("batch", BATCHES)
def test_log_equals_geomstats_bw_and_inverts_exp(n, batch):
    rng = np.random.default_rng(60 + n)
    metric, bw = metrics(n)
    x, y = random_spd(rng, n, batch), random_spd(rng, n, batch)
    log = metric.log(y, x)
    assert log.shape == tuple(batch) + (n, n)
    np.testing.assert_allclose(log, np.swapaxes(log, -1, -2), atol=0.0)
    np.testing.assert_allclose(log, bw.log(y, x), atol=1e-10)
    np.testing.assert_allclose(metric.exp(log, x), y, atol=1e-10)
    # log(exp(V)) = V inside the injectivity radius
    v = random_sym(rng, n, batch)
    scale = 0.5 * metric.injectivity_radius(x) / metric.norm(v, x)
    v = v * scale[..., None, None]
    np.testing.assert_allclose(metric.log(metric.exp(v, x), x), v, atol=1e-10)


@pytest.mark.parametrize("n", SIZES)
def test_log_closed_form_with_scipy_sqrtm(n):
    """log_X(Y) = (XY)^{1/2} + (YX)^{1/2} - 2X with SciPy's general sqrtm."""
    rng = np.random.default_rng(70 + n)
    metric, _ = metrics(n)
    x, y = np.asarray(random_spd(rng, n)), np.asarray(random_spd(rng, n))
    expected = sqrtm_real(x @ y) + sqrtm_real(y @ x) - 2 * x
    np.testing.assert_allclose(
        metric.log(gs.array(y), gs.array(x)), expected, atol=1e-10
    )


# ---------------------------------------------------------------------------
# distance
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("batch", BATCHES)
def test_squared_dist_is_twice_bw_and_norm_of_log(n, batch):
    rng = np.random.default_rng(80 + n)
    metric, bw = metrics(n)
    x, y = random_spd(rng, n, batch), random_spd(rng, n, batch)
    sq = metric.squared_dist(x, y)
    assert sq.shape == batch
    np.testing.assert_allclose(sq, 2 * bw.squared_dist(x, y), rtol=1e-10)
    np.testing.assert_allclose(sq, metric.squared_norm(metric.log(y, x), x), rtol=1e-10)
    np.testing.assert_allclose(sq, metric.squared_dist(y, x), rtol=1e-10)
    np.testing.assert_allclose(
        metric.dist(x, y), np.sqrt(2) * bw.dist(x, y), rtol=1e-10
    )
    np.testing.assert_allclose(metric.squared_dist(x, x), 0.0, atol=1e-12)
    for xi, yi, si in zip(flat(x, n), flat(y, n), np.reshape(sq, -1), strict=True):
        root = sqrtm_real(xi)
        cross = np.trace(sqrtm_real(root @ yi @ root))
        np.testing.assert_allclose(
            si, 2 * (np.trace(xi) + np.trace(yi) - 2 * cross), rtol=1e-10
        )


@pytest.mark.parametrize("n", SIZES)
def test_first_variation_of_squared_dist(n):
    """d/de d^2(X, Y + e H) = -2 g^2_Y(log_Y X, H) (Gauss lemma), by finite diffs."""
    rng = np.random.default_rng(90 + n)
    metric, _ = metrics(n)
    x, y = random_spd(rng, n), random_spd(rng, n)
    h = random_sym(rng, n)
    eps = 1e-5
    fd = (metric.squared_dist(x, y + eps * h) - metric.squared_dist(x, y - eps * h)) / (
        2 * eps
    )
    expected = -2 * metric.inner_product(metric.log(x, y), h, y)
    np.testing.assert_allclose(fd, expected, rtol=1e-6, atol=1e-8)


@pytest.mark.skipif(not AUTOGRAD, reason="needs GEOMSTATS_BACKEND=autograd")
@pytest.mark.parametrize("n", SIZES)
def test_autograd_gradient_of_squared_dist(n):
    """Riemannian gradient A_Y(dE) = Y G + G Y of d^2(X, .) equals -2 log_Y(X)."""
    import autograd

    rng = np.random.default_rng(100 + n)
    metric, _ = metrics(n)
    x, y = random_spd(rng, n), random_spd(rng, n)
    euclid = autograd.grad(lambda p: metric.squared_dist(x, p))(y)
    riemannian = y @ euclid + euclid @ y
    np.testing.assert_allclose(riemannian, -2 * metric.log(x, y), atol=1e-9)


# ---------------------------------------------------------------------------
# geodesics
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n", SIZES)
def test_geodesic_matches_geomstats(n):
    rng = np.random.default_rng(110 + n)
    metric, bw = metrics(n)
    times = gs.array([0.0, 0.5, 1.0])
    # single
    x, y = random_spd(rng, n), random_spd(rng, n)
    path = metric.geodesic(x, end_point=y)(times)
    assert path.shape == (3, n, n)
    np.testing.assert_allclose(path[0], x, atol=1e-12)
    np.testing.assert_allclose(path[2], y, atol=1e-10)
    np.testing.assert_allclose(path, bw.geodesic(x, end_point=y)(times), atol=1e-10)
    # midpoint: equidistant, half the distance
    mid = path[1]
    np.testing.assert_allclose(metric.dist(x, mid), metric.dist(x, y) / 2, rtol=1e-8)
    np.testing.assert_allclose(metric.dist(mid, y), metric.dist(x, y) / 2, rtol=1e-8)
    # batched, initial point + end point and initial point + tangent vector
    xb, yb = random_spd(rng, n, (4,)), random_spd(rng, n, (4,))
    path_b = metric.geodesic(xb, end_point=yb)(times)
    assert path_b.shape == (4, 3, n, n)
    np.testing.assert_allclose(path_b, bw.geodesic(xb, end_point=yb)(times), atol=1e-10)
    vb = random_sym(rng, n, (4,))
    path_v = metric.geodesic(xb, initial_tangent_vec=vb)(times)
    np.testing.assert_allclose(
        path_v, bw.geodesic(xb, initial_tangent_vec=vb)(times), atol=1e-10
    )
    np.testing.assert_allclose(path_v[:, 2], metric.exp(vb, xb), atol=1e-12)
    # scalar time and multi-axis batch
    assert metric.geodesic(x, end_point=y)(0.25).shape == (1, n, n)
    x23, v23 = random_spd(rng, n, (2, 3)), random_sym(rng, n, (2, 3))
    path23 = metric.geodesic(x23, initial_tangent_vec=v23)(times)
    assert path23.shape == (2, 3, 3, n, n)
    np.testing.assert_allclose(
        path23[1, 2], metric.geodesic(x23[1, 2], initial_tangent_vec=v23[1, 2])(times)
    )


def curve_length(metric_n, points, times):
    """Length of a sampled curve: FD velocity, g^2 speed via SciPy, trapezoid rule."""
    points = np.asarray(points)
    velocity = np.gradient(points, times, axis=0, edge_order=2)
    speed = np.array(
        [np.sqrt(g2_scipy(p, v, v)) for p, v in zip(points, velocity, strict=True)]
    )
    return float(np.sum((speed[1:] + speed[:-1]) / 2 * np.diff(times))), speed


@pytest.mark.parametrize("n", SIZES)
def test_geodesic_length_equals_dist(n):
    rng = np.random.default_rng(120 + n)
    metric, _ = metrics(n)
    x, y = random_spd(rng, n), random_spd(rng, n, shift=1.0)
    times = np.linspace(0.0, 1.0, 2001)
    dist = float(metric.dist(x, y))
    length, speed = curve_length(
        n, metric.geodesic(x, end_point=y)(gs.array(times)), times
    )
    np.testing.assert_allclose(length, dist, rtol=1e-7)
    np.testing.assert_allclose(speed, dist, rtol=1e-5)  # constant speed
    # control: the Euclidean segment between the same points is strictly longer
    segment = (1 - times)[:, None, None] * np.asarray(x) + times[
        :, None, None
    ] * np.asarray(y)
    segment_length, _ = curve_length(n, segment, times)
    assert segment_length > dist * (1 + 1e-4)


# ---------------------------------------------------------------------------
# injectivity radius
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n", SIZES)
def test_injectivity_radius(n):
    rng = np.random.default_rng(130 + n)
    metric, bw = metrics(n)
    xb = random_spd(rng, n, (3,))
    radius = metric.injectivity_radius(xb)
    np.testing.assert_allclose(
        radius, np.sqrt(2) * bw.injectivity_radius(xb), rtol=1e-12
    )
    # the geodesic with L = -u u^T hits the boundary of the cone at length radius
    x = np.asarray(xb[0])
    eigvals, eigvecs = np.linalg.eigh(x)
    u = eigvecs[:, :1]
    v = -(u @ u.T @ x + x @ u @ u.T)
    np.testing.assert_allclose(
        metric.norm(gs.array(v), gs.array(x)), radius[0], rtol=1e-12
    )
    np.testing.assert_allclose(radius[0], np.sqrt(2 * eigvals[0]), rtol=1e-12)
    end = np.asarray(metric.exp(gs.array(v), gs.array(x)))
    assert abs(np.linalg.eigvalsh(end)[0]) < 1e-12 * eigvals[-1]
    inside = np.asarray(metric.exp(gs.array(0.9 * v), gs.array(x)))
    np.testing.assert_allclose(
        np.linalg.eigvalsh(inside)[0], 0.01 * eigvals[0], rtol=1e-8
    )


# ---------------------------------------------------------------------------
# geomstats integration
# ---------------------------------------------------------------------------


def test_equip_with_metric():
    rng = np.random.default_rng(140)
    space = SPDMatrices(3, equip=False)
    space.equip_with_metric(DLNBuresWassersteinMetric)
    assert isinstance(space.metric, DLNBuresWassersteinMetric)
    x, y = random_spd(rng, 3), random_spd(rng, 3)
    bw = SPDBuresWassersteinMetric(SPDMatrices(3, equip=False))
    np.testing.assert_allclose(
        space.metric.dist(x, y), np.sqrt(2) * bw.dist(x, y), rtol=1e-10
    )
    v = space.to_tangent(gs.array(rng.normal(size=(3, 3))), x)
    unit = space.metric.normalize(v, x)
    np.testing.assert_allclose(space.metric.norm(unit, x), 1.0, rtol=1e-12)


# ---------------------------------------------------------------------------
# bad inputs
# ---------------------------------------------------------------------------


def _bad_point_calls(metric, point, good, vec):
    return {
        "inner_product": lambda: metric.inner_product(vec, vec, point),
        "exp": lambda: metric.exp(vec, point),
        "log_base": lambda: metric.log(good, point),
        "log_point": lambda: metric.log(point, good),
        "squared_dist": lambda: metric.squared_dist(good, point),
        "dist": lambda: metric.dist(point, good),
        "geodesic": lambda: metric.geodesic(point, end_point=good),
        "geodesic_end": lambda: metric.geodesic(good, end_point=point),
        "injectivity_radius": lambda: metric.injectivity_radius(point),
        "lyapunov": lambda: lyapunov(point, vec),
    }


CALLS = list(_bad_point_calls(None, None, None, None))


@pytest.mark.parametrize("call", CALLS)
def test_non_positive_definite_point_raises(call):
    metric, _ = metrics(3)
    good = random_spd(np.random.default_rng(150), 3)
    vec = random_sym(np.random.default_rng(151), 3)
    point = gs.array(np.diag([1.0, 2.0, -0.5]))
    with pytest.raises(
        ValueError, match=r"not positive definite.*smallest eigenvalue -5\.0+e-01"
    ):
        _bad_point_calls(metric, point, good, vec)[call]()
    singular = gs.array(np.diag([1.0, 2.0, 0.0]))
    with pytest.raises(ValueError, match="smallest eigenvalue"):
        _bad_point_calls(metric, singular, good, vec)[call]()


@pytest.mark.parametrize("call", CALLS)
def test_non_symmetric_point_raises(call):
    metric, _ = metrics(3)
    good = random_spd(np.random.default_rng(152), 3)
    vec = random_sym(np.random.default_rng(153), 3)
    point = np.array(good)
    point[0, 1] += 1e-3
    with pytest.raises(ValueError, match="not symmetric"):
        _bad_point_calls(metric, gs.array(point), good, vec)[call]()


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("shape", [(4, 4), (3,), (2, 3, 4), (3, 3, 2)])
def test_wrong_shape_raises(call, shape):
    metric, _ = metrics(3)
    good = random_spd(np.random.default_rng(154), 3)
    vec = random_sym(np.random.default_rng(155), 3)
    point = gs.ones(shape)
    # the metric knows n = 3; the standalone lyapunov infers n from base_point
    expected = r"shape \[\.\.\., n, n\]|tangent_vec must have shape \[\.\.\., 4, 4\]"
    if call != "lyapunov":
        expected = r"shape \[\.\.\., 3, 3\]"
    with pytest.raises(ValueError, match=expected):
        _bad_point_calls(metric, point, good, vec)[call]()


@pytest.mark.parametrize("call", CALLS)
def test_nan_point_raises(call):
    metric, _ = metrics(3)
    good = random_spd(np.random.default_rng(156), 3)
    vec = random_sym(np.random.default_rng(157), 3)
    point = np.array(good)
    point[1, 1] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        _bad_point_calls(metric, gs.array(point), good, vec)[call]()


def test_bad_tangent_vectors_and_batches_raise():
    rng = np.random.default_rng(158)
    metric, _ = metrics(3)
    x = random_spd(rng, 3)
    nonsym = gs.array(rng.normal(size=(3, 3)))
    with pytest.raises(ValueError, match="tangent_vec is not symmetric"):
        metric.exp(nonsym, x)
    with pytest.raises(ValueError, match="initial_tangent_vec is not symmetric"):
        metric.geodesic(x, initial_tangent_vec=nonsym)
    with pytest.raises(
        ValueError, match=r"tangent_vec_b must have shape \[\.\.\., 3, 3\]"
    ):
        metric.inner_product(nonsym, gs.ones((2, 2)), x)
    with pytest.raises(ValueError, match="non-finite"):
        metric.exp(gs.array(np.full((3, 3), np.inf)), x)
    with pytest.raises(ValueError, match="Incompatible batch shapes"):
        metric.exp(random_sym(rng, 3, (4,)), random_spd(rng, 3, (3,)))
    with pytest.raises(ValueError, match="Incompatible batch shapes"):
        metric.squared_dist(random_spd(rng, 3, (2,)), random_spd(rng, 3, (5,)))
    with pytest.raises(ValueError, match="exactly one"):
        metric.geodesic(x)
    with pytest.raises(ValueError, match="exactly one"):
        metric.geodesic(x, end_point=x, initial_tangent_vec=random_sym(rng, 3))
    with pytest.raises(ValueError, match="1-D"):
        metric.geodesic(x, end_point=random_spd(rng, 3))(gs.ones((2, 2)))
    with pytest.raises(TypeError, match="SPDMatrices"):
        DLNBuresWassersteinMetric(object())


def test_ill_conditioned_but_valid_points_give_finite_results():
    """Tiny but positive eigenvalues: results are finite and still consistent."""
    metric, bw = metrics(3)
    rng = np.random.default_rng(159)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    x = gs.array(q @ np.diag([1e-10, 1.0, 2.0]) @ q.T)
    y = random_spd(rng, 3)
    log = metric.log(y, x)
    assert np.all(np.isfinite(log))
    np.testing.assert_allclose(metric.exp(log, x), y, atol=1e-6)
    np.testing.assert_allclose(
        metric.squared_dist(x, y), 2 * bw.squared_dist(x, y), rtol=1e-8
    )
