"""Brownian motion and Riemannian Langevin dynamics (MATH §7, survey §10-12).

- the closed-form Brownian drift ``(N-1) X (X^T X)^{-1/N} / beta`` against
  geomstats' ``-1/2 g^{ij} Gamma^k_ij`` on an independent flat-coordinate metric
  (:mod:`tests._flat_metric`), against autodiff of ``(1/sqrt g) d_b(sqrt g
  g^{ab})`` and against ``div A - 1/2 A(d log det A)``;
- geomstats' own ``BrownianMotion`` on the entry-coordinate metric;
- the noise ``A^{1/2}``, its square and sample covariance;
- upstairs -> downstairs: the generator identities and the first two moments of
  one upstairs step, deterministically (antithetic basis "noises");
- the laws: upstairs vs downstairs (two-sample KS), downstairs equilibrium vs
  the Gibbs density ``exp(-beta E) exp(S) sqrt(det g)`` by quadrature;
- the sphere (mean curvature as an Ito correction) and Dyson Brownian motion.

Run under both ``GEOMSTATS_BACKEND=numpy`` and ``GEOMSTATS_BACKEND=autograd``.
The full-size law test of the issue (2,000 paths per level) runs by default
(about 40 s); ``GEOMSTATS_DLN_FAST=1`` skips it.
"""

import math
import os

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from scipy import special, stats

import geomstats.backend as gs

from geomstats_dln._spectral import (
    dln_coefficients,
    operator_derivative,
    operator_power,
)
from geomstats_dln.balanced import (
    center,
    gauge_action,
    horizontal_lift,
    orbit_basis,
    random_gauges,
)
from geomstats_dln.dynamics.integrators import Trajectory
from geomstats_dln.dynamics.stochastic import (
    EntryCoordinatesDLNMetric,
    brownian_drift,
    brownian_step,
    dyson_brownian_motion,
    dyson_eigenvalue_sde,
    entry_coordinates_space,
    geomstats_brownian_motion,
    noise_induced_drift,
    rle_drift,
    rle_step,
    simulate_brownian,
    simulate_rle,
    sphere_brownian_motion,
)
from geomstats_dln.dynamics.stochastic import (
    gibbs_singular_values as library_gibbs_singular_values,
)
from geomstats_dln.losses import QuadraticLoss
from geomstats_dln.orbit_entropy import entropy_gradient
from geomstats_dln.parameters import end_to_end, moments
from tests._flat_metric import flat_space, laplace_beltrami_drift

SLOW = pytest.mark.skipif(
    os.environ.get("GEOMSTATS_DLN_FAST") == "1",
    reason="full-size law test skipped: GEOMSTATS_DLN_FAST=1",
)


def _random_point(rng, n, m=None):
    return rng.standard_normal((n, n if m is None else m))


def _basis(n, m):
    return np.eye(n * m).reshape(n * m, n, m)


# ------------------------------------------------------------- the drift
@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("depth", [2, 3, 5])
def test_brownian_drift_matches_geomstats_christoffels_and_autodiff(dim, depth):
    """geomstats' drift -1/2 g^{ij} Gamma^k_ij is the beta = 2 drift."""
    rng = np.random.default_rng(10 * dim + depth)
    point = _random_point(rng, dim)
    flat = point.reshape(-1)
    space = flat_space(dim, depth)
    christoffels = space.metric.christoffels(flat)
    cometric = space.metric.cometric_matrix(flat)
    geomstats_drift = -0.5 * np.einsum("kij,ij->k", christoffels, cometric)
    ours = brownian_drift(point, depth, beta=2.0).reshape(-1)
    scale = np.max(np.abs(ours))
    assert np.max(np.abs(ours - geomstats_drift)) <= 1e-6 * scale
    # generator beta^{-1} Delta_g: drift beta^{-1} (1/sqrt g) d_b(sqrt g g^{ab})
    beta = 0.7
    direct = laplace_beltrami_drift(flat, dim, depth) / beta
    ours = brownian_drift(point, depth, beta=beta).reshape(-1)
    assert np.max(np.abs(ours - direct)) <= 1e-6 * np.max(np.abs(direct))


def _divergence_form_drift(point, depth):
    """``div(A) - 1/2 A(d/dX log det A)`` (MATH §7), O(d^5) and autodiff."""
    n, m = point.shape
    basis = _basis(n, m)
    divergence = sum(operator_derivative(point, e, e, depth) for e in basis)

    def log_det(x):
        s = anp.linalg.svd(x, compute_uv=False)
        total = anp.sum(anp.log(dln_coefficients(s, s, depth, anp)))
        if m != n:  # directions outside the row/column space see a(s_i, 0)
            total = total + abs(m - n) * anp.sum(
                anp.log(s ** (2.0 * (depth - 1) / depth))
            )
        return total

    gradient = autograd.grad(log_det)(point)
    return divergence - 0.5 * np.asarray(operator_power(gradient, point, depth, 1.0))


@pytest.mark.parametrize(
    "shape, depth",
    [((2, 2), 4), ((3, 3), 3), ((2, 3), 3), ((3, 2), 2), ((3, 3), math.inf)],
)
def test_brownian_drift_is_divergence_minus_half_log_det_gradient(shape, depth):
    rng = np.random.default_rng(sum(shape))
    point = rng.standard_normal(shape)
    expected = _divergence_form_drift(point, depth)
    assert np.allclose(brownian_drift(point, depth), expected, atol=1e-10)


def test_brownian_drift_special_cases_and_batches():
    rng = np.random.default_rng(1)
    points = rng.standard_normal((4, 5, 3, 3))
    # N = 1: flat; N = 2: the orthogonal polar factor; N = inf: X itself
    assert np.all(brownian_drift(points, 1) == 0.0)
    left, _, right_t = np.linalg.svd(points)
    assert np.allclose(brownian_drift(points, 2, beta=0.5), 2.0 * left @ right_t)
    assert np.allclose(brownian_drift(points, math.inf, beta=4.0), points / 4.0)
    batched = brownian_drift(points, 3)
    assert batched.shape == points.shape
    assert np.allclose(batched[2, 1], brownian_drift(points[2, 1], 3))
    assert np.all(brownian_drift(points, 3, beta=math.inf) == 0.0)
    with pytest.raises(ValueError, match="beta"):
        brownian_drift(points, 3, beta=0.0)
    with pytest.raises(ValueError, match="depth"):
        brownian_drift(points, 0)


# --------------------------------------------- geomstats' Brownian motion
def test_entry_coordinate_metric_matches_the_flat_metric():
    rng = np.random.default_rng(2)
    point = _random_point(rng, 2).reshape(-1)
    ours = entry_coordinates_space(2, depth=3).metric
    reference = flat_space(2, 3).metric
    assert isinstance(ours, EntryCoordinatesDLNMetric)
    assert np.allclose(ours.metric_matrix(point), reference.metric_matrix(point))
    assert np.allclose(
        ours.cometric_matrix(point) @ ours.metric_matrix(point), np.eye(4)
    )
    assert np.allclose(
        ours.christoffels(point), reference.christoffels(point), atol=1e-10
    )
    batch = rng.standard_normal((3, 4))
    assert ours.christoffels(batch).shape == (3, 4, 4, 4)


def test_geomstats_brownian_motion_step_equals_brownian_step_at_beta_two():
    """geomstats' BrownianMotion on the DLN metric: shapes, and its Euler step
    is :func:`brownian_step` at ``beta = 2`` with the same normal draw."""
    rng = np.random.default_rng(3)
    point = _random_point(rng, 2) + 2.0 * np.eye(2)
    motion = geomstats_brownian_motion(2, depth=3)
    step = 1e-3
    np.random.seed(7)  # geomstats draws from numpy's global generator
    theirs = np.asarray(motion._step(step, gs.array(point.reshape(-1))))
    np.random.seed(7)
    noise = np.random.normal(size=(4,)).reshape(2, 2)
    ours = brownian_step(point, 3, beta=2.0, dt=step, noise=noise)
    assert np.allclose(theirs, ours.reshape(-1), atol=1e-12)
    path = motion.sample_path(
        end_time=0.01, n_steps=5, initial_point=gs.array(point.reshape(-1))
    )
    assert path.shape == (5, 4) and np.all(np.isfinite(path))


# ----------------------------------------------------------------- the noise
def test_square_root_noise_operator_squares_to_the_cometric():
    rng = np.random.default_rng(4)
    point = rng.standard_normal((5, 3, 3))
    tangent = rng.standard_normal((5, 3, 3))
    twice = operator_power(operator_power(tangent, point, 3, 0.5), point, 3, 0.5)
    assert np.allclose(twice, operator_power(tangent, point, 3, 1.0))


def test_brownian_step_is_euler_maruyama_with_a_given_noise():
    rng = np.random.default_rng(5)
    for shape, depth in [((3, 3), 3), ((2, 4), 2), ((3, 2), 4), ((2, 2), math.inf)]:
        point = rng.standard_normal(shape)
        noise = rng.standard_normal(shape)
        beta, dt = 3.0, 0.01
        expected = (
            point
            + dt * brownian_drift(point, depth, beta)
            + math.sqrt(2 * dt / beta) * operator_power(noise, point, depth, 0.5)
        )
        assert np.allclose(
            brownian_step(point, depth, beta, dt, noise=noise), expected, atol=1e-12
        )


def test_brownian_increments_have_covariance_two_over_beta_times_a():
    """Noise drawn in the SVD frame: ``Cov = (2 dt / beta) A`` (sample test)."""
    rng = np.random.default_rng(6)
    point = _random_point(rng, 2) + np.eye(2)
    beta, dt, n_samples = 2.0, 1.0, 40000
    points = np.broadcast_to(point, (n_samples, 2, 2))
    increments = brownian_step(points, 3, beta, dt, rng=8) - points
    increments = increments - dt * brownian_drift(point, 3, beta)
    flat = increments.reshape(n_samples, 4)
    covariance = flat.T @ flat / n_samples
    cometric = EntryCoordinatesDLNMetric(
        entry_coordinates_space(2, 3), depth=3
    ).cometric_matrix(point.reshape(-1))
    expected = 2.0 * dt / beta * cometric
    assert np.max(np.abs(covariance - expected)) <= 6.0 * math.sqrt(
        2.0 / n_samples
    ) * np.max(np.abs(expected))
    assert np.max(np.abs(flat.mean(0))) <= 6.0 * math.sqrt(
        np.max(np.diag(expected)) / n_samples
    )


def test_simulate_brownian_shapes_records_and_seeds():
    rng = np.random.default_rng(9)
    starts = rng.standard_normal((6, 2, 2)) + 3.0 * np.eye(2)
    final = simulate_brownian(starts, 3, 2.0, 0.1, 10, seed=1)
    assert final.shape == starts.shape and np.all(np.isfinite(final))
    assert np.array_equal(final, simulate_brownian(starts, 3, 2.0, 0.1, 10, seed=1))
    trajectory = simulate_brownian(starts, 3, 2.0, 0.1, 10, seed=1, record_every=4)
    assert isinstance(trajectory, Trajectory)
    assert np.allclose(trajectory.times, [0.0, 0.04, 0.08, 0.1])
    assert trajectory.states.shape == (4, 6, 2, 2)
    assert trajectory["singular_values"].shape == (4, 6, 2)
    assert np.array_equal(trajectory.final_state, final)


# ------------------------------------------------ upstairs -> downstairs
def _second_differential(parameters, vector):
    """``d^2 phi_W(V, V) = sum_{k != l}`` products with ``V`` in slots k, l."""
    depth, dim = parameters.shape[0], parameters.shape[1]
    total = np.zeros((dim, dim))
    for k in range(depth):
        for slot in range(depth):
            if slot == k:
                continue
            product = np.eye(dim)
            for layer in range(depth):
                factor = vector[layer] if layer in (k, slot) else parameters[layer]
                product = factor @ product
            total = total + product
    return total


def _vertical_and_horizontal_bases(parameters):
    """Orthonormal bases of ``V_W`` (orbit) and ``H_W`` (lifts of a g-ON basis)."""
    depth, dim = parameters.shape[0], parameters.shape[1]
    orbit = orbit_basis(parameters)
    flat = orbit.reshape(len(orbit), -1)
    q, _ = np.linalg.qr(flat.T)
    vertical = q.T.reshape((-1,) + parameters.shape)
    point = end_to_end(parameters)
    horizontal = np.stack(
        [
            horizontal_lift(operator_power(e, point, depth, 0.5), parameters)
            for e in _basis(dim, dim)
        ]
    )
    return vertical, horizontal


@pytest.mark.parametrize("dim, depth", [(2, 3), (3, 3), (2, 4), (3, 2)])
def test_projected_laplacians_are_brownian_drift_and_entropic_force(dim, depth):
    """Horizontal part: ``sum d^2 phi(e, e) = b(X)`` (Delta_g); vertical part:
    ``A(S')`` = grad_g S, the mean curvature of the gauge orbit."""
    rng = np.random.default_rng(dim + 10 * depth)
    point = _random_point(rng, dim)
    parameters = gauge_action(random_gauges(depth, dim, 1), center(point, depth))
    vertical, horizontal = _vertical_and_horizontal_bases(parameters)
    gram = np.einsum("aijk,bijk->ab", horizontal, horizontal)
    assert np.allclose(gram, np.eye(dim * dim))  # the lift is an isometry
    assert (
        len(vertical) + len(horizontal) == dim**2 + (depth - 1) * dim * (dim - 1) // 2
    )
    horizontal_sum = sum(_second_differential(parameters, e) for e in horizontal)
    vertical_sum = sum(_second_differential(parameters, e) for e in vertical)
    assert np.allclose(horizontal_sum, brownian_drift(point, depth), atol=1e-10)
    entropic = operator_power(entropy_gradient(point, depth), point, depth, 1.0)
    assert np.allclose(vertical_sum, entropic, atol=1e-10)


def test_rle_drift_is_free_energy_gradient_plus_brownian_drift():
    """Survey (12.12): ``-A(E' - S'/beta) + b / beta`` for gamma_g = gamma_o = 1."""
    rng = np.random.default_rng(11)
    point = rng.standard_normal((4, 3, 3))
    loss = QuadraticLoss(np.diag([3.0, 2.0, 1.0]))
    beta, depth = 2.5, 3
    free_gradient = (
        np.asarray(loss.gradient(point))
        - np.asarray(entropy_gradient(point, depth)) / beta
    )
    expected = -operator_power(free_gradient, point, depth, 1.0) + brownian_drift(
        point, depth, beta
    )
    assert np.allclose(rle_drift(loss, point, depth, beta), expected)
    # the strengths: gamma_o^2 on the Brownian drift, gamma_g^2 on the entropy
    entropic = operator_power(entropy_gradient(point, depth), point, depth, 1.0)
    mixed = noise_induced_drift(point, depth, beta, gauge_noise=0.5, observable_noise=2)
    assert np.allclose(
        mixed, (4.0 * brownian_drift(point, depth) + 0.25 * entropic) / beta
    )
    assert np.allclose(rle_drift(None, point, depth, beta, 0.5, 2.0), mixed)
    assert np.allclose(
        rle_drift(loss, point, depth, math.inf),
        -operator_power(np.asarray(loss.gradient(point)), point, depth, 1.0),
    )


class _BasisNoise:
    """Antithetic basis "noise": the batch is ``+-sqrt(D) e_j``, j = 1..D, whose
    first moment is 0 and second moment the identity, as for a standard normal.
    The mean of a one-step increment over it is then the drift, without any
    sampling error."""

    def standard_normal(self, shape):
        size = int(np.prod(shape[1:]))
        assert shape[0] == 2 * size
        basis = math.sqrt(size) * np.eye(size)
        return np.concatenate([basis, -basis]).reshape(shape)


@pytest.mark.parametrize("scheme", ["euler_maruyama", "heun"])
@pytest.mark.parametrize("gauge_noise, observable_noise", [(1.0, 1.0), (0.5, 2.0)])
def test_one_upstairs_step_has_the_downstairs_drift_and_covariance(
    scheme, gauge_noise, observable_noise
):
    """Ito's formula for ``X = phi(W)`` on the upstairs scheme (Euler step, then
    the normal retraction): ``E[dX] = rle_drift dt + O(dt^2)`` and
    ``E[dX dX] = (2/beta) gamma_o^2 A dt + O(dt^2)``."""
    rng = np.random.default_rng(12)
    dim, depth, beta, dt = 2, 3, 1.5, 1e-6
    point = _random_point(rng, dim) + 2.0 * np.eye(dim)
    loss = QuadraticLoss(np.diag([3.0, 2.0]))
    parameters = gauge_action(random_gauges(depth, dim, 1), center(point, depth))
    size = parameters.size
    batch = np.broadcast_to(parameters, (2 * size,) + parameters.shape)
    stepped = rle_step(
        loss,
        batch,
        depth,
        beta,
        dt,
        rng=_BasisNoise(),
        level="upstairs",
        gauge_noise=gauge_noise,
        observable_noise=observable_noise,
        scheme=scheme,
    )
    assert np.max(np.abs(np.asarray(moments(stepped)))) <= 1e-10 * np.sum(parameters**2)
    increments = end_to_end(stepped) - point
    drift = rle_drift(loss, point, depth, beta, gauge_noise, observable_noise)
    mean = increments.mean(0) / dt
    assert np.max(np.abs(mean - drift)) <= 1e-3 * np.max(np.abs(drift))
    flat = increments.reshape(len(increments), -1)
    covariance = flat.T @ flat / len(flat) / dt
    cometric = EntryCoordinatesDLNMetric(
        entry_coordinates_space(dim, depth), depth=depth
    ).cometric_matrix(point.reshape(-1))
    expected = 2.0 / beta * observable_noise**2 * cometric
    assert np.allclose(covariance, expected, rtol=0, atol=1e-3 * np.abs(expected).max())


def test_one_downstairs_step_has_the_rle_drift_and_covariance():
    rng = np.random.default_rng(13)
    dim, depth, beta, dt = 2, 3, 1.5, 1e-3
    point = _random_point(rng, dim) + 2.0 * np.eye(dim)
    loss = QuadraticLoss(np.diag([3.0, 2.0]))
    batch = np.broadcast_to(point, (8, dim, dim))
    stepped = rle_step(
        loss,
        batch,
        depth,
        beta,
        dt,
        rng=_BasisNoise(),
        gauge_noise=0.5,
        observable_noise=2.0,
    )
    increments = stepped - point
    drift = rle_drift(loss, point, depth, beta, 0.5, 2.0)
    assert np.allclose(increments.mean(0), dt * drift, atol=1e-13)
    flat = increments.reshape(8, -1) - dt * drift.reshape(-1)
    cometric = EntryCoordinatesDLNMetric(
        entry_coordinates_space(dim, depth), depth=depth
    ).cometric_matrix(point.reshape(-1))
    assert np.allclose(flat.T @ flat / 8 / dt, 2.0 / beta * 4.0 * cometric)


def test_zero_temperature_rle_is_the_gradient_flow_up_and_down():
    rng = np.random.default_rng(14)
    point = _random_point(rng, 2) + 2.0 * np.eye(2)
    loss = QuadraticLoss(np.diag([3.0, 2.0]))
    down = simulate_rle(loss, point, 3, math.inf, 0.5, 200)
    state = point
    for _ in range(200):
        state = state - 0.0025 * operator_power(
            np.asarray(loss.gradient(state)), state, 3, 1.0
        )
    assert np.allclose(down, state, atol=1e-12)
    up = simulate_rle(loss, center(point, 3), 3, math.inf, 0.5, 200, level="upstairs")
    # Euler upstairs and downstairs differ at O(dt)
    assert np.max(np.abs(end_to_end(up) - down)) <= 5e-2


@pytest.mark.parametrize(("depth", "dim"), [(1, 2), (3, 2), (4, 3)])
def test_upstairs_noise_from_the_normal_vectors_is_the_tangent_projection(depth, dim):
    """The step's noise P_T(dB) formed by one Gram solve on the normal vectors
    equals balanced.to_tangent (the SVD-frame route, P_V + P_H) and is tangent
    to M (dG(noise) = 0)."""
    from geomstats_dln.balanced import moment_differential, to_tangent
    from geomstats_dln.dynamics.langevin_upstairs import (
        _normal_vectors,
        _projected_noise,
    )

    rng = np.random.default_rng(7)
    points = [
        gauge_action(
            random_gauges(depth, dim),
            center(_random_point(rng, dim) + 2.0 * np.eye(dim), depth),
        )
        for _ in range(3)
    ]
    parameters = np.stack([np.asarray(point) for point in points])
    increments = rng.standard_normal(parameters.shape)
    normals = _normal_vectors(parameters)
    noise = _projected_noise(parameters, increments, 2.0, 1.0, 1.0, normals)
    reference = np.asarray(to_tangent(increments, parameters))
    assert np.max(np.abs(noise - reference)) <= 1e-12
    separate = _projected_noise(parameters, increments, 2.0, 1.0, 1.0)
    assert np.max(np.abs(noise - separate)) <= 1e-12
    if depth > 1:
        normal_part = np.asarray(moment_differential(noise, parameters))
        assert np.max(np.abs(normal_part)) <= 1e-12


def test_upstairs_retractions_agree_and_keep_the_balance():
    rng = np.random.default_rng(15)
    point = _random_point(rng, 2) + 2.0 * np.eye(2)
    loss = QuadraticLoss(np.diag([3.0, 2.0]))
    parameters = gauge_action(random_gauges(3, 2, 3), center(point, 3))
    results = [
        rle_step(
            loss,
            parameters,
            3,
            2.0,
            1e-4,
            rng=np.random.default_rng(0),
            level="upstairs",
            retraction=retraction,
        )
        for retraction in ("normal", "procrustes")
    ]
    for result in results:
        assert np.max(np.abs(np.asarray(moments(result)))) <= 1e-8
    # same Euler step, two retractions: they differ at second order in the step
    gap = np.max(np.abs(results[0] - results[1]))
    assert gap <= 1e-5


def test_simulate_rle_validates_its_input():
    loss = QuadraticLoss(np.diag([3.0, 2.0]))
    point = np.diag([3.0, 2.0])
    with pytest.raises(ValueError, match="level"):
        simulate_rle(loss, point, 3, 1.0, 1.0, 10, level="sideways")
    with pytest.raises(ValueError, match="scheme"):
        simulate_rle(loss, point, 3, 1.0, 1.0, 10, scheme="rk4")
    with pytest.raises(ValueError, match="beta"):
        simulate_rle(loss, point, 3, -1.0, 1.0, 10)
    with pytest.raises(ValueError, match="n_steps"):
        simulate_rle(loss, point, 3, 1.0, 1.0, 0)
    with pytest.raises(ValueError, match="gauge_noise"):
        simulate_rle(loss, point, 3, 1.0, 1.0, 10, gauge_noise=-1.0)
    with pytest.raises(ValueError, match="not full rank"):
        simulate_rle(loss, np.zeros((2, 2)), 3, 1.0, 1.0, 10)
    with pytest.raises(ValueError, match="layers"):
        simulate_rle(loss, center(point, 3), 4, 1.0, 1.0, 10, level="upstairs")
    unbalanced = center(point, 3)
    unbalanced[0, 0, 1] += 0.1
    with pytest.raises(ValueError, match="not balanced"):
        simulate_rle(loss, unbalanced, 3, 1.0, 1.0, 10, level="upstairs")
    with pytest.raises(ValueError, match="loss expects"):
        simulate_rle(loss, np.eye(3), 3, 1.0, 1.0, 10)
    with pytest.raises(TypeError, match="loss"):
        simulate_rle(object(), point, 3, 1.0, 1.0, 10)


def test_simulate_rle_records_trajectories():
    loss = QuadraticLoss(np.diag([3.0, 2.0]))
    starts = np.broadcast_to(center(np.diag([3.0, 2.0]), 3), (4, 3, 2, 2))
    trajectory = simulate_rle(
        loss,
        starts,
        3,
        4.0,
        0.05,
        10,
        level="upstairs",
        seed=0,
        record_every=5,
        progress=True,
    )
    assert trajectory.states.shape == (3, 4, 3, 2, 2)
    assert trajectory["singular_values"].shape == (3, 4, 2)
    assert np.all(trajectory["moment_norm"] <= 1e-9)
    assert trajectory.info["level"] == "upstairs"


# ----------------------------------------------------------------- the laws
TARGET = np.diag([3.0, 2.0])


def _final_singular_values(level, n_paths, n_steps, seed, scheme="euler_maruyama"):
    loss = QuadraticLoss(TARGET)
    if level == "downstairs":
        starts = np.broadcast_to(TARGET, (n_paths, 2, 2))
    else:
        starts = np.broadcast_to(center(TARGET, 3), (n_paths, 3, 2, 2))
    final = simulate_rle(
        loss, starts, 3, 4.0, 2.0, n_steps, level=level, seed=seed, scheme=scheme
    )
    points = final if level == "downstairs" else end_to_end(final)
    return np.linalg.svd(points, compute_uv=False)


def _law_p_values(n_paths, n_steps):
    down = _final_singular_values("downstairs", n_paths, n_steps, seed=101)
    up = _final_singular_values("upstairs", n_paths, n_steps, seed=202)
    return [stats.ks_2samp(down[:, i], up[:, i]).pvalue for i in range(2)]


def test_upstairs_and_downstairs_rle_have_the_same_law_small():
    """E = 1/2 |X - Y|^2, Y = diag(3, 2), X0 = Y, d = 2, N = 3, beta = 4, t = 2:
    singular values of phi(W(2)) (upstairs, from center(X0)) and X(2)."""
    p_values = _law_p_values(n_paths=400, n_steps=200)
    assert min(p_values) > 0.01, p_values


@pytest.mark.slow
@SLOW
def test_upstairs_and_downstairs_rle_have_the_same_law_full():
    """The issue's test: 2,000 paths each, dt = 0.002."""
    p_values = _law_p_values(n_paths=2000, n_steps=1000)
    print("KS p-values (s1, s2):", p_values)
    assert min(p_values) > 0.01, p_values


def _power_coefficient(x, y, depth):
    """``a(x, y)`` for nonnegative arrays (sum form, MATH §3)."""
    xi, xj = x ** (2.0 / depth), y ** (2.0 / depth)
    total, power = np.ones_like(xi), np.ones_like(xi)
    for _ in range(depth - 1):
        power = power * xj
        total = xi * total + power
    return total


def gibbs_singular_values(
    target_singular_values, depth, beta, with_entropy=True, n_s=3000, n_t=160
):
    r"""Weighted quadrature cloud of the singular values of 2 x 2 ``X`` under
    the Gibbs density ``exp(-beta E) exp(S) sqrt(det g)``, ``E = 1/2 |X - Y|^2``.

    ``X = R(theta) diag(s1, s2) R(phi)^T`` with ``s1 >= |s2|`` (``s2 < 0``: the
    component ``det X < 0``) and ``theta, phi`` uniform: Lebesgue measure is
    ``|s1^2 - s2^2| ds1 ds2 dtheta dphi`` up to a constant. With
    ``Y = diag(y1, y2)``, ``tr(Y^T X) = (s1 + s2)(y1 + y2)/2 cos(theta - phi)
    + (s1 - s2)(y1 - y2)/2 cos(theta + phi)``, whose exponential integrates
    over the angles to ``I0(beta (s1 + s2)(y1 + y2)/2) I0(beta (s1 - s2)(y1 -
    y2)/2)``. ``exp(S) sqrt(det g) = prod_{i<=j} a_ij^{-1/2}`` (MATH §3, §5).
    ``with_entropy=False`` drops ``exp(S) ~ a_12^{1/2}`` (the law without the
    entropic force). ``s2 = s1 sgn(t) |t|^N`` removes the integrable
    ``|s2|^{-(N-1)/N}`` of ``a_22^{-1/2}``; midpoint rule in ``s1``,
    Gauss-Legendre in ``t``.

    Returns ``(sigma1, sigma2, weights)``, flat arrays, weights summing to 1.
    """
    y1, y2 = target_singular_values
    s_max = y1 + 12.0 / math.sqrt(beta)
    step = s_max / n_s
    s1 = (np.arange(n_s) + 0.5) * step
    nodes, weights = np.polynomial.legendre.leggauss(n_t)
    t = np.concatenate([0.5 * (nodes - 1.0), 0.5 * (nodes + 1.0)])
    t_weights = np.concatenate([0.5 * weights, 0.5 * weights])
    u = np.sign(t) * np.abs(t) ** depth
    s1, u = np.meshgrid(s1, u, indexing="ij")
    s2 = s1 * u
    sigma2 = np.abs(s2)
    sums, differences = (
        beta * (s1 + s2) * (y1 + y2) / 2,
        beta * (s1 - s2) * (y1 - y2) / 2,
    )
    log_density = (
        np.log(s1**2 - s2**2)
        - 0.5 * np.log(_power_coefficient(s1, s1, depth))
        - (0.5 if with_entropy else 1.0) * np.log(_power_coefficient(s1, sigma2, depth))
        - beta * (s1**2 + s2**2) / 2
        + np.log(special.i0e(sums))
        + np.abs(sums)
        + np.log(special.i0e(differences))
        + np.abs(differences)
    )
    # a_22^{-1/2} ds2 = N^{-1/2} |s2|^{-(N-1)/N} s1 N |t|^{N-1} dt = sqrt(N) s1^{1/N} dt
    log_weight = log_density + math.log(math.sqrt(depth)) + np.log(s1) / depth
    log_weight = log_weight + np.log(t_weights)[None, :]
    weight = np.exp(log_weight - log_weight.max())
    return s1.ravel(), sigma2.ravel(), (weight / weight.sum()).ravel()


def test_library_gibbs_law_matches_the_independent_quadrature():
    # the library's version (a_ij from _spectral) against the one above
    for depth, beta in ((1, 4.0), (3, 4.0), (5, 1.0)):
        expected = gibbs_singular_values((3.0, 2.0), depth, beta, n_s=400, n_t=40)
        result = library_gibbs_singular_values((3.0, 2.0), depth, beta, 400, 40)
        for a, b in zip(result, expected, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-15)


def _weighted_cdf(values, weights):
    order = np.argsort(values)
    values, cumulative = values[order], np.cumsum(weights[order])
    return lambda x: np.interp(x, values, cumulative, left=0.0, right=1.0)


def test_gibbs_quadrature_reproduces_gaussian_matrices_at_depth_one():
    """N = 1: the Gibbs law is X = Y + Z / sqrt(beta), Z standard Gaussian:
    checks the SVD Jacobian, the angular Bessel integral and both components."""
    beta = 4.0
    rng = np.random.default_rng(16)
    samples = TARGET + rng.standard_normal((20000, 2, 2)) / math.sqrt(beta)
    singular = np.linalg.svd(samples, compute_uv=False)
    sigma1, sigma2, weights = gibbs_singular_values((3.0, 2.0), 1, beta)
    for i, values in enumerate((sigma1, sigma2)):
        p_value = stats.kstest(singular[:, i], _weighted_cdf(values, weights)).pvalue
        assert p_value > 0.01, (i, p_value)
        # and the test has power: a 2 % scale error is rejected
        wrong = stats.kstest(1.02 * singular[:, i], _weighted_cdf(values, weights))
        assert wrong.pvalue < 1e-3


def test_downstairs_rle_equilibrates_to_the_gibbs_density():
    """exp(-beta E) exp(S) sqrt(det g) (MATH §7), E = 1/2 |X - diag(3, 2)|^2,
    N = 3, beta = 4: KS per singular value at t = 2 (relaxation time ~0.1)."""
    singular = _final_singular_values(
        "downstairs", n_paths=3000, n_steps=300, seed=303, scheme="heun"
    )
    sigma1, sigma2, weights = gibbs_singular_values((3.0, 2.0), 3, 4.0)
    for i, values in enumerate((sigma1, sigma2)):
        p_value = stats.kstest(singular[:, i], _weighted_cdf(values, weights)).pvalue
        assert p_value > 0.01, (i, p_value)
    # the test has power: the density without exp(S) is rejected
    sigma1, sigma2, weights = gibbs_singular_values((3.0, 2.0), 3, 4.0, False)
    p_value = stats.kstest(singular[:, 1], _weighted_cdf(sigma2, weights)).pvalue
    assert p_value < 1e-3


# ------------------------------------------------------------ the examples
def test_tangential_noise_grows_the_sphere_by_n_minus_one():
    """Survey (11.10)-(11.11): dx = P_x dB gives d(r^2) = (n - 1) dt."""
    n, t_final, n_steps, n_paths = 5, 1.0, 200, 2000
    x0 = np.zeros(n)
    x0[0] = 1.5
    x = sphere_brownian_motion(x0, t_final, n_steps, n_paths=n_paths, seed=17)
    squared = np.sum(x**2, axis=-1)
    # per step r^2 gains |P xi|^2 dt: mean (n-1) dt, variance 2 (n-1) dt^2
    spread = math.sqrt(2.0 * (n - 1) * t_final * t_final / n_steps)
    assert abs(squared.mean() - (2.25 + (n - 1) * t_final)) <= 5 * spread / math.sqrt(
        n_paths
    )
    assert abs(squared.std() - spread) <= 0.1 * spread  # deterministic as dt -> 0


def test_retracted_tangential_noise_is_brownian_motion_on_the_sphere():
    """The retraction supplies the Ito drift -(n-1) x / (2 r^2):
    E[x(t)] = x0 exp(-(n-1) t / (2 r^2))."""
    n, t_final, radius = 4, 0.8, 1.3
    x0 = np.zeros(n)
    x0[0] = radius
    x = sphere_brownian_motion(x0, t_final, 200, n_paths=4000, seed=18, retract=True)
    assert np.allclose(np.linalg.norm(x, axis=-1), radius)
    expected = radius * math.exp(-(n - 1) * t_final / (2 * radius**2))
    error = x[:, 0].std() / math.sqrt(len(x))
    assert abs(x[:, 0].mean() - expected) <= 5 * error
    assert np.all(np.abs(x[:, 1:].mean(0)) <= 5 * error)


@pytest.mark.parametrize(
    "field, repulsion, wrong, n_paths, n_steps",
    [("real", 0.5, 1.0, 3000, 200), ("complex", 1.0, 0.5, 2000, 150)],
)
def test_dyson_brownian_motion_normalization(field, repulsion, wrong, n_paths, n_steps):
    """Eigenvalues of dM = P dH + sqrt(2/beta) P^perp dH follow
    dl_i = c sum_{j != i} dt / (l_i - l_j) + sqrt(2/beta) dB_i with c = 1/2 for
    real symmetric and c = 1 (survey (11.1)) for Hermitian matrices."""
    initial, beta, t_final = np.array([-1.0, 0.0, 1.0]), 4.0, 0.25
    matrices = dyson_brownian_motion(
        initial, beta, t_final, n_steps, n_paths=n_paths, seed=19, field=field
    )
    right = dyson_eigenvalue_sde(
        initial, beta, t_final, 500, n_paths=n_paths, seed=20, repulsion=repulsion
    )
    wrong_law = dyson_eigenvalue_sde(
        initial, beta, t_final, 500, n_paths=n_paths, seed=21, repulsion=wrong
    )
    for i in range(3):
        assert stats.ks_2samp(matrices[:, i], right[:, i]).pvalue > 0.01
    assert stats.ks_2samp(matrices[:, 0], wrong_law[:, 0]).pvalue < 1e-4
    assert np.all(np.diff(matrices, axis=-1) >= 0)


def test_brownian_drift_rejects_rank_deficient_points():
    with pytest.raises(ValueError, match="full rank"):
        brownian_drift(np.zeros((3, 3)), 2)


def test_downstairs_rle_reports_a_too_large_time_step():
    with (
        pytest.raises(FloatingPointError, match="time step"),
        np.errstate(all="ignore"),
    ):
        simulate_rle(QuadraticLoss(np.eye(3)), 10 * np.eye(3), 3, 1.0, 100.0, 10)
