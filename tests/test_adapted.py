"""Geometrically adapted gradient descent (MATH §8; adapted paper Thms 2.1, 2.3,
4.1, 5.1): exponential law, stopping time, least squares, rank loss, and the
horizontal lift of the balanced DLN (MATH §4)."""

import math

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from scipy.optimize import least_squares

from geomstats_dln import center, differential, end_to_end, horizontal_lift
from geomstats_dln.dynamics.adapted import (
    adapted_descent,
    adapted_gradient_descent,
    adapted_gradient_field,
    dln_model,
    n_parameters,
    relu_network_model,
    standard_gradient_field,
    stopping_time,
)


# ------------------------------------------------------------------ helpers
def _dln_outputs(theta, inputs, depth, dim):
    """Independent forward pass: ``inputs @ (W_N ... W_1)^T``."""
    return inputs @ end_to_end(np.reshape(theta, (depth, dim, dim))).T


def _dln_jacobian(theta, inputs, depth, dim):
    """``D`` column by column from ``dphi_W`` (MATH §1), no autodiff."""
    weights = np.reshape(theta, (depth, dim, dim))
    columns = []
    for index in range(theta.size):
        basis = np.zeros(theta.size)
        basis[index] = 1.0
        image = differential(basis.reshape(weights.shape), weights)
        columns.append((inputs @ image.T).ravel())
    return np.stack(columns, axis=1)


def _relu_outputs(theta, inputs, widths):
    """Independent numpy forward pass of a ``[d_in, h, d_out]`` ReLU network."""
    d_in, hidden, d_out = widths
    w1 = theta[: hidden * d_in].reshape(hidden, d_in)
    b1 = theta[hidden * d_in : hidden * (d_in + 1)]
    start = hidden * (d_in + 1)
    w2 = theta[start : start + d_out * hidden].reshape(d_out, hidden)
    b2 = theta[start + d_out * hidden :]
    pre = inputs @ w1.T + b1
    return np.maximum(pre, 0.0) @ w2.T + b2, pre


def _linear_model(matrix):
    return lambda theta, inputs: anp.dot(matrix, theta)


def _tanh_model(theta, inputs):
    """Smooth 4-parameter model ``a tanh(b u + c) + d``."""
    return theta[0] * anp.tanh(theta[1] * inputs + theta[2]) + theta[3]


def _tanh_jacobian(theta, inputs):
    a, b, c, _ = theta
    t = np.tanh(b * inputs + c)
    s = a * (1 - t**2)
    return np.stack([t, s * inputs, s, np.ones_like(inputs)], axis=1)


def _relative_deviation_from_exponential(trajectory):
    cost = trajectory["cost"]
    return np.max(np.abs(cost / (cost[0] * np.exp(-2.0 * trajectory.times)) - 1.0))


def _operator_a(tangent, matrix, depth):
    """``A_{N,X}(Z) = sum_p (XX^T)^{(N-p)/N} Z (X^TX)^{(p-1)/N}`` (MATH §3), eigh."""

    def power(symmetric, exponent):
        values, vectors = np.linalg.eigh(symmetric)
        return (vectors * np.clip(values, 0, None) ** exponent) @ vectors.T

    left, right = matrix @ matrix.T, matrix.T @ matrix
    return sum(
        power(left, (depth - p) / depth) @ tangent @ power(right, (p - 1) / depth)
        for p in range(1, depth + 1)
    )


# ------------------------------------------------------- overparametrized
def test_overparametrized_dln_decays_at_the_uniform_rate_and_stops_on_time():
    depth, dim = 3, 3
    rng = np.random.default_rng(1)
    inputs, targets = rng.normal(size=(2, dim)), rng.normal(size=(2, dim))
    theta0 = rng.normal(size=depth * dim * dim)
    model = dln_model(depth, dim)
    eps = 1e-6
    trajectory = adapted_descent(model, theta0, inputs, targets, eps, rtol=1e-11)

    x0 = _dln_outputs(theta0, inputs, depth, dim)
    cost0 = np.sum((x0 - targets) ** 2) / (2 * 2)
    assert trajectory["cost"][0] == pytest.approx(cost0, rel=1e-13)
    assert _relative_deviation_from_exponential(trajectory) < 1e-6
    # x(t) = y + e^{-t} (x(0) - y), relative to the size of the residual
    for time, theta in zip(trajectory.times, trajectory.states, strict=True):
        predicted = targets + np.exp(-time) * (x0 - targets)
        error = np.linalg.norm(_dln_outputs(theta, inputs, depth, dim) - predicted)
        assert error < 1e-6 * np.exp(-time) * np.linalg.norm(x0 - targets)
    # Thm 2.3: T = 1/2 log(C(0)/eps), and C(T) = eps (the bound is sharp)
    time = 0.5 * math.log(cost0 / eps)
    assert trajectory.final_time == pytest.approx(time, rel=1e-12)
    assert trajectory.info["stopping_time"] == pytest.approx(time, rel=1e-12)
    final = _dln_outputs(trajectory.final_state, inputs, depth, dim)
    assert np.sum((final - targets) ** 2) / 4 == pytest.approx(eps, rel=1e-6)
    assert trajectory.info["final_cost"] == pytest.approx(eps, rel=1e-6)
    assert trajectory.info["reached_tolerance"] is True
    assert trajectory.info["rank_loss"] is False
    np.testing.assert_array_equal(trajectory["jacobian_rank"], 6.0)
    np.testing.assert_array_equal(trajectory["rank_deficient"], 0.0)


def test_rk4_adapted_descent_follows_the_same_law():
    depth, dim = 2, 2
    rng = np.random.default_rng(2)
    inputs, targets = rng.normal(size=(1, dim)), rng.normal(size=(1, dim))
    theta0 = rng.normal(size=depth * dim * dim)
    trajectory = adapted_descent(
        dln_model(depth, dim), theta0, inputs, targets, t_final=5.0, n_steps=400
    )
    assert trajectory.info["method"] == "rk4"
    assert trajectory.final_time == pytest.approx(5.0)
    assert trajectory.info["stopping_time"] is None
    assert trajectory.info["reached_tolerance"] is None
    assert _relative_deviation_from_exponential(trajectory) < 1e-6


def test_relu_network_decays_at_the_uniform_rate_with_full_rank():
    widths = [2, 16, 1]
    model = relu_network_model(widths)
    assert model.n_parameters == n_parameters(widths) == 16 * 3 + 17
    rng = np.random.default_rng(5)
    inputs, targets = rng.normal(size=(4, 2)), rng.normal(size=(4, 1))
    theta0 = rng.normal(size=model.n_parameters)
    # a wide first layer and a small last layer: D^+ then moves mostly the last
    # layer, so no hidden pre-activation crosses the ReLU kink (checked below)
    theta0[:48] *= 4.0
    theta0[48:64] *= 0.1
    x0, pre0 = _relu_outputs(theta0, inputs, widths)
    np.testing.assert_allclose(model(theta0, inputs), x0, rtol=1e-14)

    trajectory = adapted_descent(model, theta0, inputs, targets, 1e-8, rtol=1e-11)
    for time, theta in zip(trajectory.times, trajectory.states, strict=True):
        outputs, pre = _relu_outputs(theta, inputs, widths)
        np.testing.assert_array_equal(pre > 0, pre0 > 0)
        predicted = targets + np.exp(-time) * (x0 - targets)
        error = np.linalg.norm(outputs - predicted)
        assert error < 1e-6 * np.exp(-time) * np.linalg.norm(x0 - targets)
    assert _relative_deviation_from_exponential(trajectory) < 1e-6
    np.testing.assert_array_equal(trajectory["jacobian_rank"], 4.0)
    assert trajectory.info["reached_tolerance"] is True
    assert trajectory.info["rank_loss"] is False


# ------------------------------------------------------ underparametrized
def test_underparametrized_linear_model_converges_to_least_squares():
    rng = np.random.default_rng(3)
    matrix = rng.normal(size=(8, 3))
    targets = rng.normal(size=8)
    theta0 = rng.normal(size=3)
    best = np.linalg.lstsq(matrix, targets, rcond=None)[0]
    trajectory = adapted_descent(
        _linear_model(matrix), theta0, None, targets, t_final=20.0, n_samples=8
    )
    # theta' = -(theta - theta*) exactly, since D^+ D = I
    for time, theta in zip(trajectory.times, trajectory.states, strict=True):
        expected = best + np.exp(-time) * (theta0 - best)
        np.testing.assert_allclose(theta, expected, atol=1e-7)
    np.testing.assert_allclose(trajectory.final_state, best, atol=1e-8)
    floor = np.sum((matrix @ best - targets) ** 2) / 16
    assert trajectory.info["final_cost"] == pytest.approx(floor, rel=1e-8)
    assert trajectory.info["rank_loss"] is False


def test_underparametrized_output_velocity_is_the_projected_residual():
    # Thm 5.1: x' = -P_range(D)(x - y), here with K = 4 < m = 10
    rng = np.random.default_rng(4)
    inputs = np.linspace(-2.0, 2.0, 10)
    # a noisy tanh: the constrained minimum is near [1.3, 0.8, -0.1, 0.2]
    targets = 1.3 * np.tanh(0.8 * inputs - 0.1) + 0.2 + 0.1 * rng.normal(size=10)
    theta = np.array([1.0, 1.0, 0.2, 0.0]) + 0.1 * rng.normal(size=4)
    field = adapted_gradient_field(_tanh_model, inputs, targets)
    velocity = field(theta)
    step = 1e-6 / np.linalg.norm(velocity)
    output_velocity = (
        _tanh_model(theta + step * velocity, inputs)
        - _tanh_model(theta - step * velocity, inputs)
    ) / (2 * step)
    basis, _ = np.linalg.qr(_tanh_jacobian(theta, inputs))
    residual = _tanh_model(theta, inputs) - targets
    np.testing.assert_allclose(
        output_velocity, -basis @ (basis.T @ residual), atol=1e-7
    )
    # the flow decreases C monotonically (Remark 5.2) to a critical point,
    # D^T (x - y) = 0 (5.6), with a positive cost (no exact fit)
    trajectory = adapted_descent(_tanh_model, theta, inputs, targets, t_final=25.0)
    assert np.all(np.diff(trajectory["cost"]) <= 1e-15)
    final = trajectory.final_state
    gradient = _tanh_jacobian(final, inputs).T @ (_tanh_model(final, inputs) - targets)
    assert np.linalg.norm(gradient) < 1e-8
    assert trajectory.info["final_cost"] > 1e-4
    # the same local minimum as an independent least-squares solver
    reference = least_squares(
        lambda t: _tanh_model(t, inputs) - targets,
        theta,
        xtol=1e-15,
        ftol=1e-15,
        gtol=1e-15,
    )
    np.testing.assert_allclose(final, reference.x, atol=1e-7)


# ------------------------------------------------------ pseudo-inverse
@pytest.mark.parametrize(("depth", "n_samples"), [(3, 1), (3, 2), (1, 5), (3, 5)])
def test_adapted_field_is_the_pseudo_inverse_and_standard_field_the_gradient(
    depth, n_samples
):
    # DLN of width 2: K = 4 depth, m = 2 n_samples; overparametrized (K > m),
    # underparametrized (K = 4 < m = 10) and, for (3, 5), K = 12 > m = 10 with
    # rank D <= d^2 = 4 (outputs are linear in X). D from dphi_W, not autodiff.
    dim = 2
    rng = np.random.default_rng(n_samples)
    inputs = rng.normal(size=(n_samples, dim))
    targets = rng.normal(size=(n_samples, dim))
    model = dln_model(depth, dim)
    adapted = adapted_gradient_field(model, inputs, targets)
    standard = standard_gradient_field(model, inputs, targets)

    def cost(theta):
        return anp.sum((model(theta, inputs) - targets) ** 2) / (2 * n_samples)

    for _ in range(3):
        theta = rng.normal(size=depth * dim * dim)
        jacobian = _dln_jacobian(theta, inputs, depth, dim)
        residual = (_dln_outputs(theta, inputs, depth, dim) - targets).ravel()
        np.testing.assert_allclose(
            adapted(theta), -np.linalg.pinv(jacobian) @ residual, atol=1e-10
        )
        np.testing.assert_allclose(
            standard(theta), -autograd.grad(cost)(theta), atol=1e-12
        )
        np.testing.assert_allclose(
            standard(theta), -jacobian.T @ residual / n_samples, atol=1e-12
        )
        rank = np.linalg.matrix_rank(jacobian)
        assert rank == min(jacobian.shape + (dim * dim,))
        assert adapted.observables["jacobian_rank"](theta) == rank
        deficient = adapted.observables["rank_deficient"](theta)
        assert deficient == float(rank < min(jacobian.shape))


def test_borderline_case_is_the_inverse_jacobian():
    # paper §6: K = m, D^+ = D^{-1}
    rng = np.random.default_rng(6)
    inputs, targets = rng.normal(size=(2, 2)), rng.normal(size=(2, 2))
    theta = rng.normal(size=4)
    jacobian = _dln_jacobian(theta, inputs, 1, 2)
    residual = (_dln_outputs(theta, inputs, 1, 2) - targets).ravel()
    field = adapted_gradient_field(dln_model(1, 2), inputs, targets)
    np.testing.assert_allclose(
        field(theta), -np.linalg.solve(jacobian, residual), atol=1e-10
    )


# ------------------------------------------------------------ rank loss
def test_rank_loss_is_flagged_and_the_flow_follows_least_squares():
    # x = (t0 + t1) u + (t2 + t3) v: K = 4 >= m = 3 but rank D = 2 (Thm 4.1)
    rng = np.random.default_rng(7)
    u, v, targets = rng.normal(size=(3, 3))

    def model(theta, inputs):
        return (theta[0] + theta[1]) * u + (theta[2] + theta[3]) * v

    theta0 = rng.normal(size=4)
    x0 = model(theta0, None)
    basis, _ = np.linalg.qr(np.stack([u, v], axis=1))
    projected = basis @ (basis.T @ targets)
    eps = 1e-6
    trajectory = adapted_descent(model, theta0, None, targets, eps, n_samples=3)
    np.testing.assert_array_equal(trajectory["rank_deficient"], 1.0)
    np.testing.assert_array_equal(trajectory["jacobian_rank"], 2.0)
    assert trajectory.info["rank_loss"] is True
    # x' = -P(x - y) with x in range(P): x(t) = Py + e^{-t}(x(0) - Py)
    for time, theta in zip(trajectory.times, trajectory.states, strict=True):
        expected = projected + np.exp(-time) * (x0 - projected)
        np.testing.assert_allclose(model(theta, None), expected, atol=1e-8)
        # minimum-norm velocity: t0 - t1 and t2 - t3 never move
        np.testing.assert_allclose(theta[0] - theta[1], theta0[0] - theta0[1])
        np.testing.assert_allclose(theta[2] - theta[3], theta0[2] - theta0[3])
    floor = np.sum((targets - projected) ** 2) / 6
    time = trajectory.info["stopping_time"]
    expected_cost = floor + np.sum((x0 - projected) ** 2) * np.exp(-2 * time) / 6
    assert trajectory.info["final_cost"] == pytest.approx(expected_cost, rel=1e-7)
    assert floor > eps
    assert trajectory.info["reached_tolerance"] is False


def test_duplicated_parameter_is_rank_deficient():
    inputs = np.array([1.0, -2.0, 0.5])
    targets = np.array([0.3, 1.0, -0.7])
    field = adapted_gradient_field(
        lambda theta, u: (theta[0] + theta[1]) * u, inputs, targets
    )
    theta = np.array([0.4, -1.1])
    assert field.observables["rank_deficient"](theta) == 1.0
    assert field.observables["jacobian_rank"](theta) == 1.0
    # least squares: a' = b' = -(u.(x - y)) / (2 |u|^2)
    residual = (theta[0] + theta[1]) * inputs - targets
    expected = -(inputs @ residual) / (2 * inputs @ inputs)
    np.testing.assert_allclose(field(theta), [expected, expected], rtol=1e-12)


# ------------------------------------------- balanced DLN (MATH §8 last line)
def test_balanced_dln_pseudo_inverse_is_the_horizontal_lift():
    depth, dim = 3, 3
    rng = np.random.default_rng(8)
    matrix = rng.normal(size=(dim, dim))
    target = rng.normal(size=(dim, dim))
    weights = center(matrix, depth)
    # inputs = I: outputs = X^T, so targets T^T give residual (X - T)^T
    field = adapted_gradient_field(dln_model(depth, dim), np.eye(dim), target.T)
    lift = horizontal_lift(matrix - target, weights)
    np.testing.assert_allclose(field(weights.ravel()), -lift.ravel(), atol=1e-10)


def test_balanced_dln_with_samples_lifts_the_least_squares_solution():
    depth, dim = 3, 3
    rng = np.random.default_rng(9)
    weights = center(rng.normal(size=(dim, dim)), depth)
    matrix = end_to_end(weights)
    model = dln_model(depth, dim)
    # n >= d samples: the output least-squares solution Z (B Z^T ~ R) is unique
    # and D^+ r is its horizontal lift
    inputs, targets = rng.normal(size=(5, dim)), rng.normal(size=(5, dim))
    residual = inputs @ matrix.T - targets
    solution = np.linalg.lstsq(inputs, residual, rcond=None)[0].T
    field = adapted_gradient_field(model, inputs, targets)
    lift = horizontal_lift(solution, weights)
    np.testing.assert_allclose(field(weights.ravel()), -lift.ravel(), atol=1e-10)
    # n < d: the solutions Z of B Z^T = R form an affine space; D^+ r lifts the
    # one of least g^N norm, Z = A(L B) with A(L B) B^T = R^T (Lagrange), not
    # the Frobenius minimum-norm one
    inputs, targets = rng.normal(size=(2, dim)), rng.normal(size=(2, dim))
    residual = inputs @ matrix.T - targets
    system = np.stack(
        [
            (
                _operator_a(basis.reshape(dim, 2) @ inputs, matrix, depth) @ inputs.T
            ).ravel()
            for basis in np.eye(2 * dim)
        ],
        axis=1,
    )
    multiplier = np.linalg.solve(system, residual.T.ravel()).reshape(dim, 2)
    weighted = _operator_a(multiplier @ inputs, matrix, depth)
    np.testing.assert_allclose(weighted @ inputs.T, residual.T, atol=1e-10)
    field = adapted_gradient_field(model, inputs, targets)
    velocity = field(weights.ravel())
    lift = horizontal_lift(weighted, weights)
    np.testing.assert_allclose(velocity, -lift.ravel(), atol=1e-10)
    frobenius = np.linalg.pinv(inputs) @ residual
    naive = horizontal_lift(frobenius.T, weights).ravel()
    assert np.linalg.norm(velocity + naive) > 0.05 * np.linalg.norm(velocity)


# ------------------------------------------------------ discrete descent
def test_discrete_adapted_descent_contracts_linear_residuals():
    rng = np.random.default_rng(10)
    matrix = rng.normal(size=(3, 5))  # overparametrized, full rank 3
    targets = rng.normal(size=3)
    theta0 = rng.normal(size=5)
    model = _linear_model(matrix)
    trajectory = adapted_gradient_descent(
        model, theta0, None, targets, step_size=0.5, n_steps=6, n_samples=3
    )
    for k, theta in enumerate(trajectory.states):
        expected = targets + 0.5**k * (matrix @ theta0 - targets)
        np.testing.assert_allclose(matrix @ theta, expected, atol=1e-12)
    # eta = 1 (Gauss-Newton): one step lands on the minimum-norm interpolant
    # and, underparametrized, on the least-squares solution
    one = adapted_gradient_descent(model, theta0, None, targets, 1.0, 1, n_samples=3)
    np.testing.assert_allclose(matrix @ one.final_state, targets, atol=1e-12)
    tall = rng.normal(size=(6, 2))
    tall_targets = rng.normal(size=6)
    one = adapted_gradient_descent(
        _linear_model(tall), np.zeros(2), None, tall_targets, 1.0, 1, n_samples=6
    )
    best = np.linalg.lstsq(tall, tall_targets, rcond=None)[0]
    np.testing.assert_allclose(one.final_state, best, atol=1e-12)


# ------------------------------------------------------- stopping time, input
def test_stopping_time_values_and_errors():
    assert stopping_time(2.0, 2e-6) == pytest.approx(3 * math.log(10), rel=1e-14)
    assert stopping_time(1e-9, 1e-6) == 0.0
    for bad in [(0.0, 1e-6), (-1.0, 1e-6), (1.0, 0.0), (1.0, -1e-3)]:
        with pytest.raises(ValueError, match="positive"):
            stopping_time(*bad)


def test_already_converged_start_is_returned_without_integrating():
    matrix = np.eye(2)
    targets = np.array([1.0, 2.0])
    trajectory = adapted_descent(
        _linear_model(matrix), targets + 1e-6, None, targets, 1e-3, n_samples=2
    )
    assert len(trajectory) == 1
    assert trajectory.info["stopping_time"] == 0.0
    assert trajectory.info["reached_tolerance"] is True
    assert trajectory["cost"][0] == pytest.approx(1e-12 / 2, rel=1e-6)


def test_bad_inputs_raise_clear_errors():
    model = dln_model(2, 2)
    inputs = np.ones((3, 2))
    theta = np.ones(8)
    with pytest.raises(ValueError, match=r"outputs have shape \(3, 2\).*\(3, 3\)"):
        adapted_descent(model, theta, inputs, np.zeros((3, 3)), 1e-6)
    field = adapted_gradient_field(model, inputs, np.zeros(6))
    with pytest.raises(ValueError, match="must match"):
        field(theta)
    for tolerance in (0.0, -1.0):
        with pytest.raises(ValueError, match="tolerance must be positive"):
            adapted_descent(model, theta, inputs, np.zeros((3, 2)), tolerance)
    with pytest.raises(ValueError, match="tolerance .* or a t_final"):
        adapted_descent(model, theta, inputs, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="flat parameter vector"):
        adapted_descent(model, theta.reshape(2, 2, 2), inputs, np.zeros((3, 2)), 1e-6)
    with pytest.raises(ValueError, match="n_samples"):
        adapted_gradient_field(model, 1.0, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="widths"):
        relu_network_model([3])
    with pytest.raises(ValueError, match="depth"):
        dln_model(0, 2)
