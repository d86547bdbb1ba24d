"""Derivatives through exp, log and squared_dist (autograd backend), against
central finite differences of the maps themselves; geodesic regression."""

import autograd
import numpy as np
import pytest

import geomstats.backend as gs

from geomstats_dln import EndToEndMatrices

pytestmark = pytest.mark.skipif(
    not gs.__name__.endswith("autograd"), reason="needs GEOMSTATS_BACKEND=autograd"
)


def _points(seed, n=2):
    rng = np.random.default_rng(seed)
    x = np.eye(n) + 0.2 * rng.normal(size=(n, n))
    y = np.eye(n) + 0.2 * rng.normal(size=(n, n))
    v = 0.3 * rng.normal(size=(n, n))
    direction = rng.normal(size=(n, n))
    return x, y, v, direction


def _central(function, point, direction, step=1e-3):
    """Five-point central difference: truncation O(step^4) ~ 1e-12, and the
    maps' own errors (~1e-10) divided by the step."""
    values = [function(point + k * step * direction) for k in (-2, -1, 1, 2)]
    return (values[0] - 8 * values[1] + 8 * values[2] - values[3]) / (12 * step)


@pytest.mark.parametrize("depth", [2, 3])
def test_squared_dist_gradient_is_minus_twice_the_lowered_log(depth):
    metric = EndToEndMatrices(2, depth=depth).metric
    x, y, _, direction = _points(0)
    grad_x = autograd.grad(lambda p: metric.squared_dist(p, y))(x)
    grad_y = autograd.grad(lambda p: metric.squared_dist(x, p))(y)
    for grad, base, other in ((grad_x, x, y), (grad_y, y, x)):
        numeric = _central(
            lambda p, o=other: float(metric.squared_dist(p, o)), base, direction
        )
        np.testing.assert_allclose(np.sum(grad * direction), numeric, rtol=1e-6)
    # raised by the metric, the gradient is -2 log_X(Y)
    raised = metric.operator(grad_x, x)
    np.testing.assert_allclose(raised, -2.0 * metric.log(y, x), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("depth", [2, 3])
def test_exp_and_log_derivatives(depth):
    metric = EndToEndMatrices(2, depth=depth).metric
    x, y, v, direction = _points(1)
    weights = np.array([[1.0, -2.0], [0.5, 3.0]])
    cases = [
        (lambda a: metric.exp(a, x), v),
        (lambda a: metric.exp(v, a), x),
        (lambda a: metric.log(a, x), y),
        (lambda a: metric.log(y, a), x),
    ]
    for function, point in cases:
        grad = autograd.grad(lambda a, f=function: gs.sum(weights * f(a)))(point)
        numeric = _central(
            lambda a, f=function: float(np.sum(weights * np.asarray(f(a)))),
            point,
            direction,
        )
        np.testing.assert_allclose(np.sum(grad * direction), numeric, rtol=1e-5)


def test_geodesic_regression_recovers_a_geodesic():
    from geomstats.learning.geodesic_regression import GeodesicRegression

    space = EndToEndMatrices(2, depth=2)
    intercept = np.array([[1.0, 0.2], [-0.1, 0.9]])
    coef = np.array([[0.3, -0.2], [0.1, 0.25]])
    times = np.linspace(-0.5, 0.5, 7)
    targets = space.metric.exp(times[:, None, None] * coef, intercept)
    regression = GeodesicRegression(
        space, method="riemannian", initialization="data", regularization=0.0
    )
    regression.optimizer.max_iter = 500
    regression.optimizer.tol = 1e-10
    regression.fit(times, targets)
    np.testing.assert_allclose(regression.intercept_, intercept, atol=1e-4)
    np.testing.assert_allclose(regression.coef_, coef, atol=1e-4)
