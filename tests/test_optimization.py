"""Tests of the Pymanopt adapter :mod:`geomstats_dln.optimization`.

Independent sources: Pymanopt's own diagnostics (the numbers behind
``check_gradient`` / ``check_hessian``: slopes of the Taylor-model error along
the exponential map, which is the geodesic integrator, not the connection),
NumPy's least-squares solver for the minimizers, the metric's exp/log, and
central differences of the gradient for the Hessian-vector products.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

pymanopt = pytest.importorskip("pymanopt")

from pymanopt.optimizers import (  # noqa: E402
    ConjugateGradient,
    SteepestDescent,
    TrustRegions,
)
from pymanopt.tools.diagnostics import check_directional_derivative  # noqa: E402

from geomstats_dln.losses import (  # noqa: E402
    MatrixCompletionLoss,
    MatrixSensingLoss,
    QuadraticLoss,
    RegressionLoss,
    sensing_problem,
)
from geomstats_dln.optimization import (  # noqa: E402
    DLNManifold,
    euclidean_hessian_vector,
    pymanopt_problem,
    second_order_retraction,
)


def regression(rng, n=3, m=3, n_samples=40):
    inputs = rng.normal(size=(m, n_samples))
    outputs = rng.normal(size=(n, m)) @ inputs + 0.1 * rng.normal(size=(n, n_samples))
    return RegressionLoss(inputs, outputs)


def lstsq_minimizer(loss):
    """``argmin |X S - Y|``: lstsq of ``S^T X^T = Y^T``, computed here."""
    inputs, outputs = np.asarray(loss.inputs), np.asarray(loss.outputs)
    return np.linalg.lstsq(inputs.T, outputs.T, rcond=None)[0].T


def slope(problem, point, direction, quadratic):
    """Slope of log(model error) against log(h) (Pymanopt's diagnostic)."""
    _, _, _, poly = check_directional_derivative(
        problem, point, direction, use_quadratic_model=quadratic
    )
    return poly[0]


@pytest.mark.parametrize("n, m, depth", [(3, 3, 2), (2, 3, 3), (3, 3, math.inf)])
def test_pymanopt_gradient_and_hessian_checks(n, m, depth):
    # error of the first-order model ~ h^2, of the second-order model ~ h^3
    rng = np.random.default_rng(1)
    manifold = DLNManifold(n, m, depth=depth)
    loss = regression(rng, n, m)
    problem = pymanopt_problem(manifold, loss)
    point = np.eye(n, m) + 0.2 * rng.normal(size=(n, m))
    direction = 0.3 * rng.normal(size=(n, m))
    assert abs(slope(problem, point, direction, False) - 2.0) < 0.05
    assert abs(slope(problem, point, direction, True) - 3.0) < 0.05


def test_riemannian_gradient_is_the_metric_dual_of_the_differential():
    # g(grad E, V) = dE[V] (central difference of the loss)
    rng = np.random.default_rng(2)
    manifold = DLNManifold(3, depth=3)
    loss = regression(rng)
    point, vector = np.eye(3) + 0.2 * rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    gradient = manifold.euclidean_to_riemannian_gradient(point, loss.gradient(point))
    h = 1e-5
    differential = (loss.value(point + h * vector) - loss.value(point - h * vector)) / (
        2 * h
    )
    np.testing.assert_allclose(
        manifold.inner_product(point, gradient, vector), differential, rtol=1e-8
    )


@pytest.mark.parametrize("depth", [3, math.inf])
def test_riemannian_hessian_is_symmetric(depth):
    rng = np.random.default_rng(3)
    manifold = DLNManifold(3, depth=depth)
    loss = regression(rng)
    problem = pymanopt_problem(manifold, loss)
    point = np.eye(3) + 0.2 * rng.normal(size=(3, 3))
    xi, eta = rng.normal(size=(2, 3, 3))
    h_xi = problem.riemannian_hessian(point, xi)
    h_eta = problem.riemannian_hessian(point, eta)
    np.testing.assert_allclose(
        manifold.inner_product(point, h_xi, eta),
        manifold.inner_product(point, xi, h_eta),
        rtol=1e-11,
    )


def test_euclidean_hessian_vector_products_match_gradient_differences():
    rng = np.random.default_rng(4)
    sensing, _ = sensing_problem(3, rank=1, n_measurements=12, seed=0)
    mask = rng.random((3, 3)) < 0.6
    losses = [
        QuadraticLoss(rng.normal(size=(3, 3))),
        regression(rng),
        MatrixCompletionLoss(mask, rng.normal(size=(3, 3))),
        sensing,
    ]
    assert isinstance(losses[-1], MatrixSensingLoss)
    point, vector = rng.normal(size=(2, 3, 3))
    for loss in losses:
        h = 1e-3  # the gradients are affine: the difference is exact up to rounding
        expected = (
            loss.gradient(point + h * vector) - loss.gradient(point - h * vector)
        ) / (2 * h)
        np.testing.assert_allclose(
            euclidean_hessian_vector(loss, point, vector), expected, atol=1e-9
        )


def test_second_order_retraction_agrees_with_exp_to_third_order():
    rng = np.random.default_rng(5)
    manifold = DLNManifold(3, depth=3)
    point = np.eye(3) + 0.2 * rng.normal(size=(3, 3))
    vector = rng.normal(size=(3, 3))
    steps = np.array([0.04, 0.02, 0.01])
    errors = [
        np.linalg.norm(
            second_order_retraction(point, t * vector, 3)
            - manifold.exp(point, t * vector)
        )
        for t in steps
    ]
    rates = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(np.abs(rates - 3.0) < 0.2), rates
    np.testing.assert_allclose(
        manifold.retraction(point, vector), second_order_retraction(point, vector, 3)
    )


def test_exp_log_dist_transport_and_sampling():
    rng = np.random.default_rng(6)
    gs_seed = np.random.get_state()
    np.random.seed(0)
    manifold = DLNManifold(2, 3, depth=3, transport="parallel")
    point = manifold.random_point()
    assert np.linalg.matrix_rank(point) == 2
    vector = 0.3 * manifold.random_tangent_vector(point)
    np.testing.assert_allclose(manifold.norm(point, vector), 0.3, rtol=1e-12)
    end = manifold.exp(point, vector)
    np.testing.assert_allclose(manifold.log(point, end), vector, atol=1e-8)
    np.testing.assert_allclose(manifold.dist(point, end), 0.3, rtol=1e-8)
    other = rng.normal(size=(2, 3))
    moved = manifold.transport(point, end, other)
    np.testing.assert_allclose(
        manifold.norm(end, moved), manifold.norm(point, other), rtol=1e-7
    )
    identity = DLNManifold(2, 3, depth=3)
    np.testing.assert_array_equal(identity.transport(point, end, other), other)
    np.testing.assert_array_equal(identity.projection(point, other), other)
    assert identity.dim == 6 and identity.typical_dist == math.sqrt(6)
    np.random.set_state(gs_seed)


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_trust_regions_converges_to_the_least_squares_minimizer(depth):
    rng = np.random.default_rng(7)
    loss = regression(rng)
    expected = lstsq_minimizer(loss)
    manifold = DLNManifold(3, depth=depth)
    problem = pymanopt_problem(manifold, loss)
    start = np.eye(3) + 0.1 * rng.normal(size=(3, 3))
    result = TrustRegions(verbosity=0, min_gradient_norm=1e-10).run(
        problem, initial_point=start
    )
    np.testing.assert_allclose(result.point, expected, atol=1e-8)
    assert result.iterations < 30


@pytest.mark.parametrize("optimizer", [SteepestDescent, ConjugateGradient])
def test_first_order_solvers_run_unchanged(optimizer):
    rng = np.random.default_rng(8)
    loss = regression(rng)
    expected = lstsq_minimizer(loss)
    problem = pymanopt_problem(DLNManifold(3, depth=2), loss, hessian=False)
    start = np.eye(3) + 0.1 * rng.normal(size=(3, 3))
    result = optimizer(verbosity=0, max_iterations=2000, min_gradient_norm=1e-9).run(
        problem, initial_point=start
    )
    np.testing.assert_allclose(result.point, expected, atol=1e-6)


def test_bad_input_raises_clear_errors():
    rng = np.random.default_rng(9)
    with pytest.raises(ValueError, match="retraction must be one of"):
        DLNManifold(3, retraction="qr")
    with pytest.raises(ValueError, match="transport must be one of"):
        DLNManifold(3, transport="vector")
    manifold = DLNManifold(3, depth=3)
    with pytest.raises(ValueError, match="does not match"):
        pymanopt_problem(manifold, QuadraticLoss(np.eye(2)))
    with pytest.raises(TypeError, match="Loss"):
        pymanopt_problem(manifold, lambda x: 0.0)
    with pytest.raises(ValueError, match="point must have shape"):
        manifold.inner_product(np.eye(2), np.eye(3), np.eye(3))
    with pytest.raises(ValueError, match="full rank"):
        manifold.inner_product(np.zeros((3, 3)), np.eye(3), np.eye(3))
    with pytest.raises(ValueError, match="tangent vector must have shape"):
        manifold.norm(np.eye(3) + 0.1 * rng.normal(size=(3, 3)), np.ones(3))


def test_package_imports_without_pymanopt():
    code = (
        "import sys; sys.modules['pymanopt'] = None\n"
        "import geomstats_dln.optimization as o\n"
        "print(o.second_order_retraction([[2.0]], [[0.0]], 2)[0, 0])\n"
        "try:\n    o.DLNManifold\n"
        "except ImportError as e:\n    print('ImportError', e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.splitlines()[0] == "2.0"
    assert "ImportError" in out and "pymanopt" in out.splitlines()[1]


# ------------------------------------------------------- balanced manifold
def balanced_case(rng):
    from geomstats_dln import center

    loss = regression(rng)
    start = np.eye(3) + 0.2 * rng.normal(size=(3, 3))
    # start in the minimizer's component of the invertible matrices: paths of
    # full-rank points cannot change the sign of det
    if np.linalg.det(start) * np.linalg.det(lstsq_minimizer(loss)) < 0:
        start[0] *= -1
    point = np.asarray(center(start, 3))
    return loss, point


def test_balanced_gradient_check_and_submersion():
    # Pymanopt's slope 2; dphi maps the balanced gradient to A_{N,X}(E'), the
    # g^N gradient (Riemannian submersion, MATH section 4)
    from geomstats_dln import differential, end_to_end
    from geomstats_dln.optimization import (
        BalancedDLNManifold,
        balanced_pymanopt_problem,
    )

    rng = np.random.default_rng(10)
    loss, point = balanced_case(rng)
    manifold = BalancedDLNManifold(3, 3)
    problem = balanced_pymanopt_problem(manifold, loss)
    direction = manifold.projection(point, 0.3 * rng.normal(size=manifold.shape))
    assert abs(slope(problem, point, direction, False) - 2.0) < 0.05
    gradient = problem.riemannian_gradient(point)
    matrix = np.asarray(end_to_end(point))
    expected = DLNManifold(3, depth=3).euclidean_to_riemannian_gradient(
        matrix, loss.gradient(matrix)
    )
    np.testing.assert_allclose(
        differential(gradient, point), expected, atol=1e-12 * np.abs(expected).max()
    )
    # the projection retraction agrees with RATTLE's exp to first order
    errors = [
        np.linalg.norm(
            manifold.retraction(point, t * direction)
            - manifold.exp(point, t * direction)
        )
        for t in (0.02, 0.01)
    ]
    assert 1.7 < np.log2(errors[0] / errors[1]) < 3.3


@pytest.mark.parametrize("optimizer", [SteepestDescent, ConjugateGradient])
def test_balanced_solvers_reach_the_least_squares_minimizer(optimizer):
    from geomstats_dln import end_to_end
    from geomstats_dln.optimization import (
        BalancedDLNManifold,
        balanced_pymanopt_problem,
    )

    rng = np.random.default_rng(11)
    loss, point = balanced_case(rng)
    manifold = BalancedDLNManifold(3, 3)
    result = optimizer(verbosity=0, max_iterations=2000, min_gradient_norm=1e-9).run(
        balanced_pymanopt_problem(manifold, loss), initial_point=point
    )
    np.testing.assert_allclose(
        end_to_end(result.point), lstsq_minimizer(loss), atol=1e-7
    )
    assert manifold.space.belongs(result.point)
    with pytest.raises(ValueError, match="does not match"):
        balanced_pymanopt_problem(manifold, QuadraticLoss(np.eye(2)))
    with pytest.raises(ValueError, match="retraction must be"):
        BalancedDLNManifold(3, 3, retraction="qr")
