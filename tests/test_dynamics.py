"""Training dynamics (MATH §1-3, §9): integrators, gradient flows up and down the
submersion, gradient descent, and the known answers of the test problems."""

import math

import numpy as np
import pytest
from scipy.linalg import expm

from geomstats_dln import center, end_to_end, moments, to_tangent
from geomstats_dln._spectral import operator_power
from geomstats_dln.dynamics import (
    INITIALIZERS,
    Trajectory,
    VectorField,
    balanced_gradient_field,
    effective_rank,
    end_to_end_velocity,
    euclidean_gradient_field,
    gradient_descent,
    initialize,
    integrate,
    riemannian_gradient_field,
)
from geomstats_dln.losses import (
    QuadraticLoss,
    completion_problem,
    two_by_two_completion,
)
from geomstats_dln.parameters import lifted_gradient


def _linear_field(rng, size=4):
    matrix = rng.normal(size=(size, size)) - 2.0 * np.eye(size)
    return matrix, VectorField(lambda y: matrix @ y, {"norm": np.linalg.norm})


# ---------------------------------------------------------------- integrators
def test_rk4_is_fourth_order_and_euler_first_order_on_a_linear_system():
    rng = np.random.default_rng(0)
    matrix, field = _linear_field(rng)
    start = rng.normal(size=4)
    exact = expm(matrix) @ start
    errors = {}
    for method in ("rk4", "euler"):
        errors[method] = [
            np.max(
                np.abs(
                    integrate(field, start, 1.0, n_steps=n, method=method).final_state
                    - exact
                )
            )
            for n in (40, 80)
        ]
    assert errors["rk4"][0] / errors["rk4"][1] == pytest.approx(16.0, rel=0.1)
    assert errors["euler"][0] / errors["euler"][1] == pytest.approx(2.0, rel=0.1)


def test_adaptive_integration_meets_its_tolerance_and_records_at_t_eval():
    rng = np.random.default_rng(1)
    matrix, field = _linear_field(rng)
    start = rng.normal(size=4)
    times = np.linspace(0.0, 2.0, 5)
    trajectory = integrate(field, start, 2.0, rtol=1e-11, t_eval=times)
    exact = np.stack([expm(t * matrix) @ start for t in times])
    np.testing.assert_allclose(trajectory.times, times)
    np.testing.assert_allclose(trajectory.states, exact, atol=1e-9)
    np.testing.assert_allclose(
        trajectory["norm"], np.linalg.norm(exact, axis=1), atol=1e-9
    )
    assert trajectory.info["method"] == "DOP853"
    assert trajectory.info["n_evaluations"] > 0


def test_trajectory_recording_and_extra_observables():
    rng = np.random.default_rng(2)
    _, field = _linear_field(rng)
    trajectory = integrate(
        field,
        np.ones(4),
        1.0,
        n_steps=10,
        record_every=3,
        observables={"first": lambda y: y[0]},
    )
    assert isinstance(trajectory, Trajectory)
    np.testing.assert_allclose(trajectory.times, [0.0, 0.3, 0.6, 0.9, 1.0])
    assert trajectory.states.shape == (5, 4)
    np.testing.assert_allclose(trajectory["first"], trajectory.states[:, 0])
    np.testing.assert_allclose(
        trajectory["norm"], np.linalg.norm(trajectory.states, axis=1)
    )
    assert trajectory.final_time == pytest.approx(1.0)
    with pytest.raises(KeyError, match="recorded"):
        trajectory["missing"]
    bare = integrate(field, np.ones(4), 1.0, n_steps=2, record_defaults=False)
    assert bare.observables == {}


def test_integrate_rejects_bad_input():
    field = VectorField(lambda y: -y)
    with pytest.raises(ValueError, match="t_final"):
        integrate(field, np.ones(2), -1.0, n_steps=3)
    with pytest.raises(ValueError, match="n_steps"):
        integrate(field, np.ones(2), 1.0, method="rk4")
    with pytest.raises(ValueError, match="unknown method"):
        integrate(field, np.ones(2), 1.0, method="leapfrog")
    with pytest.raises(ValueError, match="n_steps is for fixed-step"):
        integrate(field, np.ones(2), 1.0, n_steps=3, method="RK45")
    with pytest.raises(ValueError, match="NaN"):
        integrate(field, np.array([1.0, np.nan]), 1.0, n_steps=3)
    with pytest.raises(ValueError, match="returned shape"):
        integrate(VectorField(lambda y: y[:1]), np.ones(2), 1.0, n_steps=3)
    with pytest.raises(TypeError, match="not callable"):
        integrate(field, np.ones(2), 1.0, n_steps=3, observables={"x": 1.0})
    with pytest.raises(ValueError, match="step_size"):
        gradient_descent(field, np.ones(2), 0.0, 3)
    with pytest.raises(FloatingPointError, match="step size"):
        integrate(
            VectorField(lambda y: y**3), np.ones(2), 10.0, n_steps=10, method="euler"
        )


# ------------------------------------------------- flows up and down (Thm 2/3)
@pytest.mark.parametrize("depth", [2, 3, 5])
def test_upstairs_flow_from_balanced_start_projects_to_downstairs_flow(depth):
    rng = np.random.default_rng(depth)
    target = rng.normal(size=(3, 3))
    loss = QuadraticLoss(target)
    start = 0.5 * rng.normal(size=(3, 3)) + np.eye(3)
    times = np.linspace(0.0, 2.0, 9)
    up = integrate(
        euclidean_gradient_field(loss),
        center(start, depth),
        2.0,
        rtol=1e-10,
        t_eval=times,
    )
    down = integrate(
        riemannian_gradient_field(loss, depth), start, 2.0, rtol=1e-10, t_eval=times
    )
    scale = np.max(np.abs(down.states))
    assert np.max(np.abs(end_to_end(up.states) - down.states)) < 1e-6 * scale
    for trajectory in (up, down):
        assert np.all(np.diff(trajectory["loss"]) < 0)
    assert trajectory["loss"][-1] < 0.1 * trajectory["loss"][0]
    # Thm 1a: the moments stay zero
    assert np.max(up["moment_norm"]) < 1e-8 * np.max(up["layer_norms"]) ** 2


def test_riemannian_flow_dissipates_loss_at_the_metric_rate():
    # dE/dt = -g(grad E, grad E) = -<E', A(E')> along X' = -A(E').
    rng = np.random.default_rng(3)
    loss = QuadraticLoss(rng.normal(size=(3, 4)))
    start = rng.normal(size=(3, 4))
    field = riemannian_gradient_field(loss, 3)
    step = 1e-5
    forward = integrate(field, start, step, n_steps=1).final_state
    backward = integrate(-field, start, step, n_steps=1).final_state
    rate = (loss.value(forward) - loss.value(backward)) / (2 * step)
    gradient = loss.gradient(start)
    expected = -np.sum(gradient * operator_power(gradient, start, 3, 1.0))
    assert rate == pytest.approx(expected, rel=1e-7)  # O(step^2) differences


def test_infinite_depth_field_is_the_limit_of_normalized_fields():
    rng = np.random.default_rng(4)
    loss = QuadraticLoss(rng.normal(size=(3, 3)))
    point = rng.normal(size=(3, 3)) + 2 * np.eye(3)
    limit = riemannian_gradient_field(loss, math.inf)(point)
    errors = [
        np.max(np.abs(riemannian_gradient_field(loss, n)(point) / n - limit))
        for n in (100, 200, 400)
    ]
    # A_N / N = A_inf + O(1/N): halving 1/N halves the error
    assert errors[0] / errors[1] == pytest.approx(2.0, rel=0.05)
    assert errors[1] / errors[2] == pytest.approx(2.0, rel=0.05)


def test_euclidean_field_is_minus_lifted_gradient_and_depth_one_is_plain():
    rng = np.random.default_rng(5)
    loss = QuadraticLoss(rng.normal(size=(3, 3)))
    parameters = rng.normal(size=(4, 3, 3))
    step = 1e-6
    direction = rng.normal(size=parameters.shape)
    derivative = (
        loss.value(end_to_end(parameters + step * direction))
        - loss.value(end_to_end(parameters - step * direction))
    ) / (2 * step)
    velocity = euclidean_gradient_field(loss)(parameters)
    assert -np.sum(velocity * direction) == pytest.approx(derivative, rel=1e-7)
    point = rng.normal(size=(3, 3))
    np.testing.assert_allclose(
        riemannian_gradient_field(loss, 1)(point), -loss.gradient(point), atol=1e-12
    )


def test_balanced_field_is_tangent_and_keeps_the_network_balanced():
    rng = np.random.default_rng(6)
    loss = QuadraticLoss(rng.normal(size=(3, 3)))
    parameters = initialize("balanced_random_gauge", 3, 4, scale=1.0, seed=6)
    velocity = balanced_gradient_field(loss)(parameters)
    # the Riemannian gradient on (M, iota) = the projection of grad L = grad L
    np.testing.assert_allclose(
        to_tangent(velocity, parameters),
        velocity,
        atol=1e-11 * np.max(np.abs(velocity)),
    )
    trajectory = integrate(balanced_gradient_field(loss), parameters, 1.0, rtol=1e-10)
    assert np.max(trajectory["balance_defect"]) < 1e-9
    with pytest.raises(ValueError, match="not balanced"):
        balanced_gradient_field(loss)(initialize("gaussian", 3, 4, seed=0))


def test_end_to_end_velocity_is_thm_1b_for_unbalanced_and_thm_2_for_balanced():
    rng = np.random.default_rng(7)
    loss = QuadraticLoss(rng.normal(size=(3, 3)))
    parameters = initialize("gaussian", 3, 3, seed=7)  # G != 0
    field = euclidean_gradient_field(loss)
    step = 1e-5
    forward = integrate(field, parameters, step, n_steps=1).final_state
    backward = integrate(-field, parameters, step, n_steps=1).final_state
    velocity = (end_to_end(forward) - end_to_end(backward)) / (2 * step)
    np.testing.assert_allclose(
        end_to_end_velocity(loss, parameters), velocity, rtol=1e-7, atol=1e-9
    )
    balanced = center(rng.normal(size=(3, 3)), 3)
    matrix = end_to_end(balanced)
    np.testing.assert_allclose(
        end_to_end_velocity(loss, balanced),
        riemannian_gradient_field(loss, 3)(matrix),
        atol=1e-11,
    )


def test_flows_reject_bad_input():
    loss = QuadraticLoss(np.eye(3))
    with pytest.raises(TypeError, match="value"):
        euclidean_gradient_field(np.eye(3))
    with pytest.raises(ValueError, match="full rank"):
        riemannian_gradient_field(loss, 2)(np.diag([1.0, 1.0, 0.0]))
    with pytest.raises(ValueError, match="shape"):
        euclidean_gradient_field(loss)(np.ones((3, 2)))


# ------------------------------------------------ gradient descent balancing
def test_gradient_descent_breaks_balance_by_exactly_eta_squared_terms():
    # G_k(W - eta g) - G_k(W) = eta^2 (g_k g_k^T - g_{k+1}^T g_{k+1}): the
    # first-order term vanishes (Thm 1a), the second is O(eta^2) (slides 004).
    rng = np.random.default_rng(8)
    loss = QuadraticLoss(rng.normal(size=(3, 3)))
    # (a seed other than the target's: the same draw would make E' proportional
    # to X, for which the eta^2 term vanishes)
    parameters = initialize("balanced_random_gauge", 3, 4, scale=1.0, seed=80)
    gradient = np.asarray(
        lifted_gradient(loss.gradient(end_to_end(parameters)), parameters)
    )
    for eta in (1e-2, 1e-3):
        after = gradient_descent(
            euclidean_gradient_field(loss), parameters, eta, 1
        ).final_state
        change = np.asarray(moments(after)) - np.asarray(moments(parameters))
        expected = eta**2 * (
            gradient[:-1] @ np.swapaxes(gradient[:-1], -1, -2)
            - np.swapaxes(gradient[1:], -1, -2) @ gradient[1:]
        )
        np.testing.assert_allclose(
            change, expected, atol=1e-12 * np.max(np.abs(expected)) / eta**2
        )
    # over a fixed number of short steps the defect grows like eta^2 ...
    field = euclidean_gradient_field(loss)
    defects = [
        gradient_descent(field, parameters, eta, 20)["moment_norm"][-1]
        for eta in (2e-4, 1e-4)
    ]
    assert defects[0] / defects[1] == pytest.approx(4.0, rel=0.02)
    # ... and up to a fixed time T, after T / eta steps, like eta
    defects = [
        gradient_descent(field, parameters, 0.2 / n, n)["moment_norm"][-1]
        for n in (100, 200)
    ]
    assert defects[0] / defects[1] == pytest.approx(2.0, rel=0.02)


# ---------------------------------------------------------------- initializers
@pytest.mark.parametrize("kind", INITIALIZERS)
def test_initializers(kind):
    parameters = initialize(kind, 4, 3, scale=0.5, seed=1, n_samples=3)
    assert parameters.shape == (3, 3, 4, 4)
    again = initialize(kind, 4, 3, scale=0.5, seed=1, n_samples=3)
    np.testing.assert_array_equal(parameters, again)
    if kind.startswith("balanced") or kind == "identity":
        assert np.max(np.abs(moments(parameters))) < 1e-12
    if kind == "orthogonal":
        gram = parameters @ np.swapaxes(parameters, -1, -2)
        np.testing.assert_allclose(
            gram, np.broadcast_to(0.25 * np.eye(4), gram.shape), atol=1e-13
        )
    if kind == "identity":
        np.testing.assert_allclose(end_to_end(parameters[0]), 0.125 * np.eye(4))
    if kind == "balanced_random_gauge":
        # same end-to-end matrix as the centered lift, different layers
        plain = initialize("balanced", 4, 3, scale=0.5, seed=1, n_samples=3)
        assert np.max(np.abs(plain - parameters)) > 1e-2
    with pytest.raises(ValueError, match="unknown initializer"):
        initialize("xavier", 4, 3)


def test_gaussian_initializer_has_the_stated_variance():
    parameters = initialize("gaussian", 50, 4, scale=2.0, seed=0)
    assert np.std(parameters) == pytest.approx(2.0 / np.sqrt(50), rel=0.02)
    assert np.mean(parameters) == pytest.approx(0.0, abs=0.01)


# ------------------------------------------------ known answers (MATH §9)
def test_two_by_two_completion_is_attracted_to_rank_one():
    # 100 small random balanced starts, N = 3, batched in one integration. The
    # loss and g^N are invariant under X -> D X D, D = diag(1, -1), so the
    # limits cluster near [[1, 1], [1, 1]] and its mirror [[1, -1], [-1, 1]].
    loss = two_by_two_completion()
    starts = end_to_end(initialize("balanced", 2, 3, scale=0.1, seed=0, n_samples=100))
    trajectory = integrate(
        riemannian_gradient_field(loss, 3),
        starts,
        50.0,
        rtol=1e-8,
        record_defaults=False,
    )
    limits = trajectory.final_state
    s = np.linalg.svd(limits, compute_uv=False)
    low_rank = s[:, 1] / s[:, 0] < 1e-2
    distance = np.minimum(
        np.max(np.abs(limits - np.ones((2, 2))), axis=(1, 2)),
        np.max(np.abs(limits - np.array([[1.0, -1.0], [-1.0, 1.0]])), axis=(1, 2)),
    )
    assert np.max(loss.value(limits)) < 1e-10  # on the zero set [[1, a], [b, 1]]
    assert np.mean(low_rank) > 0.7
    assert np.mean(distance < 0.1) > 0.8


def test_deeper_networks_complete_to_lower_effective_rank():
    # Arora-Cohen-Hu-Luo (2019): rank-2 20 x 20 ground truth, 30% observed.
    loss, _ = completion_problem(20, rank=2, fraction=0.3, seed=0)
    ranks = []
    for depth in (1, 2, 3):
        start = end_to_end(
            initialize("balanced", 20, depth, scale=1e-3 if depth == 1 else 0.3, seed=1)
        )
        trajectory = integrate(
            riemannian_gradient_field(loss, depth),
            start,
            100.0,
            rtol=1e-6,
            method="LSODA",
        )
        assert trajectory["loss"][-1] < 1e-5 * trajectory["loss"][0]
        ranks.append(float(effective_rank(trajectory.final_state)))
    assert ranks[0] > ranks[1] > ranks[2]
    assert ranks[2] < 3.0


def test_adaptive_integration_stops_on_non_finite_fields_and_bad_options():
    # scipy's step control would otherwise shrink the step forever
    with pytest.raises(FloatingPointError, match="non-finite"):
        integrate(VectorField(lambda y: y * np.nan), np.ones(2), 1.0)
    with pytest.raises(ValueError, match="atol"):
        integrate(VectorField(lambda y: -y), np.ones(2), 1.0, atol=float("nan"))
    with pytest.raises(ValueError, match="t_eval"):
        integrate(VectorField(lambda y: -y), np.ones(2), 1.0, t_eval=[])


def test_balanced_initializers_at_large_depth_have_layers_of_the_given_scale():
    # X_0 = scale^N G underflows (0.01^200) or overflows (10^400) as a number,
    # but the layers (singular values ~ scale * s(G)^{1/N}) are fine
    for scale, depth in ((0.01, 200), (10.0, 400)):
        parameters = initialize("balanced", 3, depth, scale=scale, seed=0)
        layer = np.linalg.svd(parameters[1], compute_uv=False)
        assert np.all(np.isfinite(parameters))
        assert np.all(np.abs(np.log(layer / scale)) < 0.1)
        assert np.max(np.abs(moments(parameters[:3]))) < 1e-12 * scale**2


def test_zero_layers_are_rejected():
    with pytest.raises(ValueError, match="depth"):
        end_to_end(np.ones((0, 2, 2)))
