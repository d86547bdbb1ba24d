"""Parameter space, balanced lifts and the submersion identity (MATH §1, §2, §4)."""

import math

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.stats import ortho_group

from geomstats_dln import EndToEndMatrices
from geomstats_dln.balanced import (
    center,
    gauge_action,
    horizontal_lift,
    moment_differential,
)
from geomstats_dln.parameters import (
    DLNParameterSpace,
    differential,
    end_to_end,
    end_to_end_and_lifted_gradient,
    lifted_gradient,
    moments,
)


def _loss(matrix, target):
    return 0.5 * anp.sum((matrix - target) ** 2)


def _product(parameters):
    # Independent end-to-end map: a Python loop over layers, last layer leftmost.
    product = parameters[0]
    for layer in parameters[1:]:
        product = anp.dot(layer, product)
    return product


@pytest.mark.parametrize("depth", [1, 2, 3, 5])
def test_end_to_end_and_lifted_gradient_match_autodiff(depth):
    rng = np.random.default_rng(0)
    parameters = rng.normal(size=(depth, 3, 3))
    target = rng.normal(size=(3, 3))
    np.testing.assert_allclose(end_to_end(parameters), _product(parameters), rtol=1e-13)
    expected = autograd.grad(lambda w: _loss(_product(w), target))(parameters)
    result = lifted_gradient(end_to_end(parameters) - target, parameters)
    np.testing.assert_allclose(result, expected, rtol=1e-12, atol=1e-12)
    matrix, shared = end_to_end_and_lifted_gradient(lambda x: x - target, parameters)
    np.testing.assert_allclose(matrix, _product(parameters), rtol=1e-13)
    np.testing.assert_allclose(shared, expected, rtol=1e-12, atol=1e-12)


def test_differential_is_directional_derivative_and_batches():
    rng = np.random.default_rng(1)
    parameters = rng.normal(size=(2, 4, 3, 3))
    vec = rng.normal(size=(2, 4, 3, 3))
    for k in range(2):
        expected = autograd.jacobian(
            lambda e, k=k: _product(parameters[k] + e * vec[k])
        )(0.0)
        np.testing.assert_allclose(
            differential(vec, parameters)[k], expected, atol=1e-12
        )


def test_moments_definition_and_shape():
    rng = np.random.default_rng(2)
    w = rng.normal(size=(3, 2, 2))
    g = moments(w)
    assert g.shape == (2, 2, 2)
    np.testing.assert_allclose(g[0], w[0] @ w[0].T - w[1].T @ w[1], atol=1e-15)
    np.testing.assert_allclose(g[1], w[1] @ w[1].T - w[2].T @ w[2], atol=1e-15)


def test_gradient_flow_conserves_moments_and_obeys_theorem_1b():
    # Thm 1a: G(W(t)) is constant along W' = -grad L; Thm 1b: the end-to-end
    # velocity is -sum_k (above_k above_k^T) E' (below_k^T below_k).
    rng = np.random.default_rng(3)
    depth, dim = 3, 3
    start = rng.normal(size=(depth, dim, dim))
    target = rng.normal(size=(dim, dim))

    def field(_, y):
        w = y.reshape(depth, dim, dim)
        return -lifted_gradient(end_to_end(w) - target, w).ravel()

    solution = solve_ivp(
        field,
        (0, 1),
        start.ravel(),
        method="DOP853",
        rtol=1e-12,
        atol=1e-12,
        t_eval=np.linspace(0, 1, 6),
    )
    initial = moments(start)
    for y in solution.y.T:
        w = y.reshape(depth, dim, dim)
        drift = np.abs(moments(w) - initial).max() / np.abs(initial).max()
        assert drift < 1e-8
    w = solution.y[:, -1].reshape(depth, dim, dim)
    euclidean = end_to_end(w) - target
    # the end-to-end velocity along the flow, by central differences in time
    dense = solve_ivp(
        field,
        (0, 1.01),
        start.ravel(),
        method="DOP853",
        rtol=1e-13,
        atol=1e-13,
        dense_output=True,
    ).sol
    step = 1e-4
    velocity = (
        end_to_end(dense(1.0 + step).reshape(depth, dim, dim))
        - end_to_end(dense(1.0 - step).reshape(depth, dim, dim))
    ) / (2 * step)
    formula = 0
    for k in range(depth):
        above = _product(w[k + 1 :]) if k + 1 < depth else np.eye(dim)
        below = _product(w[:k]) if k > 0 else np.eye(dim)
        formula = formula - above @ above.T @ euclidean @ below.T @ below
    np.testing.assert_allclose(velocity, formula, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("depth", [1, 2, 3, 5])
def test_center_is_balanced_lift(depth):
    rng = np.random.default_rng(4)
    matrices = rng.normal(size=(2, 3, 3))
    parameters = center(matrices, depth)
    assert parameters.shape == (2, depth, 3, 3)
    np.testing.assert_allclose(end_to_end(parameters), matrices, atol=1e-12)
    if depth > 1:
        assert np.abs(moments(parameters)).max() < 1e-12


def test_gauge_action_preserves_end_to_end_balance_and_norm():
    rng = np.random.default_rng(5)
    depth = 4
    parameters = center(rng.normal(size=(3, 3)), depth)
    gauges = ortho_group.rvs(3, size=depth - 1, random_state=6)
    acted = gauge_action(gauges, parameters)
    np.testing.assert_allclose(end_to_end(acted), end_to_end(parameters), atol=1e-12)
    assert np.abs(moments(acted)).max() < 1e-12
    np.testing.assert_allclose(np.sum(acted**2), np.sum(parameters**2), rtol=1e-13)
    assert np.abs(acted - parameters).max() > 0.1
    with pytest.raises(ValueError, match="gauges must have shape"):
        gauge_action(gauges[:-1], parameters)


@pytest.mark.parametrize("depth", [2, 3, 5])
def test_horizontal_lift_is_riemannian_submersion(depth):
    # Survey Thm 13: dphi(h) = Z, h orthogonal to the orbit, |h|^2 = g^N_X(Z, Z);
    # at a random gauge, not only at the center.
    rng = np.random.default_rng(7)
    matrix = rng.normal(size=(3, 3)) + np.eye(3)
    gauges = ortho_group.rvs(3, size=depth - 1, random_state=8).reshape(depth - 1, 3, 3)
    parameters = gauge_action(gauges, center(matrix, depth))
    vec = rng.normal(size=(3, 3))
    lift = horizontal_lift(vec, parameters)
    np.testing.assert_allclose(differential(lift, parameters), vec, atol=1e-11)
    metric = EndToEndMatrices(3, depth=depth).metric
    np.testing.assert_allclose(
        np.sum(lift**2), metric.squared_norm(vec, matrix), rtol=1e-11
    )
    # Orbit directions w_a with a_k skew: (w_a)_k = a_k W_k - W_k a_{k-1}.
    for _ in range(3):
        skew = rng.normal(size=(depth - 1, 3, 3))
        skew = skew - np.swapaxes(skew, -1, -2)
        padded = np.concatenate([np.zeros((1, 3, 3)), skew, np.zeros((1, 3, 3))])
        orbit = padded[1:] @ parameters - parameters @ padded[:-1]
        assert abs(np.sum(orbit * lift)) < 1e-11 * np.sqrt(np.sum(lift**2))
        # and orbit directions are tangent to the balanced manifold
        assert np.abs(moment_differential(orbit, parameters)).max() < 1e-11
    assert np.abs(moment_differential(lift, parameters)).max() < 1e-10


def test_parameter_space_metric_and_shapes():
    space = DLNParameterSpace(3, 4)
    assert space.dim == 36
    points = space.random_point(2)
    assert points.shape == (2, 4, 3, 3)
    np.testing.assert_allclose(
        space.metric.squared_dist(points[0], points[1]),
        np.sum((points[0] - points[1]) ** 2),
        rtol=1e-13,
    )
    assert math.isclose(space.metric.norm(points[0]), np.linalg.norm(points[0]))
    with pytest.raises(ValueError, match="depth"):
        DLNParameterSpace(3, 0)
    with pytest.raises(ValueError, match=r"\[\.\.\., depth, dim, dim\]"):
        end_to_end(np.ones((3, 2)))


def test_center_rejects_rank_deficient():
    with pytest.raises(ValueError, match="smallest singular value"):
        center(np.array([[1.0, 2.0], [2.0, 4.0]]), 3)
