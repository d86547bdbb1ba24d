"""Fibers, Kempf-Ness and the regularizing flows (MATH §6, balancedness paper).

Every check compares with an independent source: finite differences of the
group action and of the moments, a dense tangent basis and its SVD projector,
dense solves, autograd gradients of formulas written here, a generic optimizer
(scipy BFGS over ``GL(d)^{N-1}``) and the closed forms of Thms 1, 2 and 20.
"""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
import scipy.linalg
from scipy.optimize import minimize
from scipy.stats import ortho_group

from geomstats_dln.balanced import best_gauge, center, gauge_action
from geomstats_dln.dynamics import VectorField, integrate
from geomstats_dln.dynamics.regularizing import (
    kirwan_ness_field,
    l2_regularizing_field,
    regularized_langevin,
    regularized_training_field,
    regularized_training_split,
)
from geomstats_dln.fibers import (
    Fiber,
    FiberSolverError,
    FrobeniusRegularizer,
    GLAction,
    MomentRegularizer,
    SchattenRegularizer,
    _dense_fiber_operator_matrix,
    fiber_adjoint,
    fiber_operator,
    fiber_projection,
    fiber_tangent_vector,
    gl_action,
    solve_fiber_operator,
)
from geomstats_dln.losses import QuadraticLoss

PROJECTIONS = [("normal", "direct"), ("normal", "cg"), ("operator", "cg")]


# ------------------------------------------------------- independent references
def _product(layers):
    """W_N ... W_1 by multi_dot (layers input first)."""
    return np.linalg.multi_dot(list(layers[::-1])) if len(layers) > 1 else layers[0]


def _moments(layers):
    """G_k = W_k W_k^T - W_{k+1}^T W_{k+1}, one loop (MATH §2)."""
    return np.stack(
        [
            layers[k] @ layers[k].T - layers[k + 1].T @ layers[k + 1]
            for k in range(len(layers) - 1)
        ]
    )


def _act(matrices, layers):
    """A.W by an explicit loop over layers (MATH §6)."""
    depth, dim = layers.shape[0], layers.shape[-1]
    full = [np.eye(dim)] + list(matrices) + [np.eye(dim)]
    return np.stack(
        [full[k + 1] @ layers[k] @ np.linalg.inv(full[k]) for k in range(depth)]
    )


def _tangent_basis(layers):
    """Columns w_a for a over the unit-matrix basis of gl(d)^{N-1}, by finite
    differences of the action (exact for the linear-in-t part: central)."""
    depth, dim = layers.shape[0], layers.shape[-1]
    columns = []
    for index in range((depth - 1) * dim * dim):
        algebra = np.zeros((depth - 1) * dim * dim)
        algebra[index] = 1.0
        algebra = algebra.reshape(depth - 1, dim, dim)
        columns.append(_derivative_of_action(algebra, layers).ravel())
    return np.stack(columns, axis=1)


def _derivative_of_action(algebra, layers, step=1e-5):
    """d/dt (exp(t a)).W at t = 0, central differences with expm."""
    plus = _act(scipy.linalg.expm(step * algebra), layers)
    minus = _act(scipy.linalg.expm(-step * algebra), layers)
    return (plus - minus) / (2 * step)


def _dense_projector(layers):
    """Orthogonal projector onto span{w_a}, from the SVD of the dense basis."""
    left, singular_values, _ = np.linalg.svd(_tangent_basis(layers))
    rank = int(np.sum(singular_values > 1e-7 * singular_values[0]))
    return left[:, :rank] @ left[:, :rank].T, rank


def _gaussian(rng, depth, dim, scale=1.0):
    return scale * rng.normal(size=(depth, dim, dim))


def _relative(a, b):
    return np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(b)


# ----------------------------------------------------------- group action
def test_gl_action_preserves_end_to_end_and_composes():
    rng = np.random.default_rng(0)
    layers = _gaussian(rng, 4, 3)
    a = np.eye(3) + 0.5 * rng.normal(size=(3, 3, 3))
    b = np.eye(3) + 0.5 * rng.normal(size=(3, 3, 3))
    acted = gl_action(a, layers)
    np.testing.assert_allclose(acted, _act(a, layers), atol=1e-12)
    np.testing.assert_allclose(_product(acted), _product(layers), atol=1e-11)
    # (A B).W = A.(B.W)
    np.testing.assert_allclose(
        gl_action(a @ b, layers), gl_action(a, gl_action(b, layers)), atol=1e-10
    )
    # restricted to O(d)^{N-1} it is the gauge action of balanced.py
    gauges = ortho_group.rvs(3, size=3, random_state=1)
    np.testing.assert_allclose(
        gl_action(gauges, layers), gauge_action(gauges, layers), atol=1e-12
    )
    # batched = loop; GLAction is the same map
    batch_a = np.stack([a, b])
    batch_w = np.stack([layers, 2 * layers])
    expected = np.stack([_act(a, layers), _act(b, 2 * layers)])
    np.testing.assert_allclose(gl_action(batch_a, batch_w), expected, atol=1e-11)
    np.testing.assert_allclose(GLAction()(a, layers), acted, atol=0)


def test_tangent_vector_is_derivative_of_action():
    rng = np.random.default_rng(1)
    layers = _gaussian(rng, 4, 3)
    algebra = rng.normal(size=(3, 3, 3))
    np.testing.assert_allclose(
        fiber_tangent_vector(algebra, layers),
        _derivative_of_action(algebra, layers),
        rtol=0,
        atol=1e-8,
    )
    batch = rng.normal(size=(2, 3, 3, 3))
    expected = np.stack([_derivative_of_action(x, layers) for x in batch])
    np.testing.assert_allclose(
        fiber_tangent_vector(batch, layers), expected, rtol=0, atol=1e-8
    )


# ------------------------------------------------------------ operator H
@pytest.mark.parametrize("depth,dim", [(2, 3), (4, 3), (5, 2)])
def test_lemma_3_inner_products_and_adjoint(depth, dim):
    rng = np.random.default_rng(2)
    layers = _gaussian(rng, depth, dim)
    a, b = rng.normal(size=(2, depth - 1, dim, dim))
    vector = rng.normal(size=(depth, dim, dim))
    w_a = _derivative_of_action(a, layers)
    w_b = _derivative_of_action(b, layers)
    inner = np.sum(w_b * w_a)
    # <w_b, w_a> = sum_k <H_k(b), a_k> = sum_k <b_k, H_k(a)>   (Lemma 3)
    assert np.sum(fiber_operator(b, layers) * a) == pytest.approx(inner, rel=1e-8)
    assert np.sum(b * fiber_operator(a, layers)) == pytest.approx(inner, rel=1e-8)
    # <V, w_a> = sum_k <w^*(V)_k, a_k>, and w^*(W) = G
    assert np.sum(fiber_adjoint(vector, layers) * a) == pytest.approx(
        np.sum(vector * w_a), rel=1e-8
    )
    np.testing.assert_allclose(
        fiber_adjoint(layers, layers), _moments(layers), atol=1e-12
    )
    # H = w^* w
    np.testing.assert_allclose(
        fiber_operator(b, layers),
        fiber_adjoint(fiber_tangent_vector(b, layers), layers),
        atol=1e-11,
    )


def test_lemma_4_moment_differential():
    """dG(w_c) = H(c) + H(c)^T, by central differences of the moments."""
    rng = np.random.default_rng(3)
    layers = _gaussian(rng, 4, 3)
    c = rng.normal(size=(3, 3, 3))
    direction = _derivative_of_action(c, layers)
    step = 1e-5
    derivative = (
        _moments(layers + step * direction) - _moments(layers - step * direction)
    ) / (2 * step)
    image = fiber_operator(c, layers)
    np.testing.assert_allclose(
        image + np.swapaxes(image, -1, -2), derivative, rtol=0, atol=1e-7
    )


def test_dense_operator_is_spd_and_matches_structured():
    rng = np.random.default_rng(4)
    layers = _gaussian(rng, 4, 3)
    matrix = _dense_fiber_operator_matrix(layers)
    for c in rng.normal(size=(3, 3, 3, 3)):
        np.testing.assert_allclose(
            matrix @ c.ravel(), fiber_operator(c, layers).ravel(), atol=1e-11
        )
    # column-by-column Gram matrix of the dense basis w_{E_ij^k}
    basis = _tangent_basis(layers)
    np.testing.assert_allclose(matrix, basis.T @ basis, atol=1e-6)
    np.testing.assert_allclose(matrix, matrix.T, atol=0)
    assert np.min(np.linalg.eigvalsh(matrix)) > 1e-6 * np.max(
        np.linalg.eigvalsh(matrix)
    )


@pytest.mark.parametrize("preconditioner", ["block_jacobi", None])
def test_cg_solve_matches_dense_solve(preconditioner):
    rng = np.random.default_rng(5)
    layers = _gaussian(rng, 5, 3)
    rhs = rng.normal(size=(4, 3, 3))
    dense = np.linalg.solve(_dense_fiber_operator_matrix(layers), rhs.ravel())
    solution, info = solve_fiber_operator(
        rhs, layers, preconditioner=preconditioner, return_info=True
    )
    assert _relative(solution.ravel(), dense) < 1e-10
    assert info["relative_residual"] <= 1e-11
    assert 0 < info["iterations"] <= 4 * 36 + 100
    # batched over points and right-hand sides = one by one
    points = np.stack([layers, _gaussian(rng, 5, 3)])
    rhss = rng.normal(size=(2, 4, 3, 3))
    batch = solve_fiber_operator(rhss, points)
    for k in range(2):
        single = np.linalg.solve(
            _dense_fiber_operator_matrix(points[k]), rhss[k].ravel()
        )
        assert _relative(batch[k].ravel(), single) < 1e-10


def test_cg_non_convergence_raises():
    rng = np.random.default_rng(6)
    layers = _gaussian(rng, 4, 3)
    with pytest.raises(FiberSolverError, match="did not converge in 2 iterations"):
        solve_fiber_operator(rng.normal(size=(3, 3, 3)), layers, maxiter=2)
    with pytest.raises(FiberSolverError, match="did not converge"):
        fiber_projection(layers, layers, solver="cg", maxiter=1)


# ---------------------------------------------------------- projection
@pytest.mark.parametrize("method,solver", PROJECTIONS)
def test_projection_is_the_orthogonal_projector(method, solver):
    rng = np.random.default_rng(7)
    layers = _gaussian(rng, 4, 3)
    projector, rank = _dense_projector(layers)
    u, v = rng.normal(size=(2, 4, 3, 3))

    def project(vec):
        return fiber_projection(vec, layers, method=method, solver=solver)

    pv = project(v)
    np.testing.assert_allclose(pv.ravel(), projector @ v.ravel(), atol=1e-8)
    np.testing.assert_allclose(project(pv), pv, atol=1e-10)  # idempotent
    assert np.sum(project(u) * v) == pytest.approx(np.sum(u * pv), rel=1e-10)
    basis = _tangent_basis(layers)
    assert np.max(np.abs(basis.T @ (v - pv).ravel())) < 1e-8  # residual _|_ all w_a
    # tangent = kernel of dphi (end-to-end product along W + t PV)
    step = 1e-6
    drift = (_product(layers + step * pv) - _product(layers - step * pv)) / (2 * step)
    assert np.linalg.norm(drift) < 1e-7 * np.linalg.norm(pv)
    w_a = fiber_tangent_vector(rng.normal(size=(3, 3, 3)), layers)
    np.testing.assert_allclose(project(w_a), w_a, atol=1e-10)
    assert rank == 3 * 9


def test_projection_batched_and_at_depth_two():
    rng = np.random.default_rng(8)
    points = rng.normal(size=(3, 4, 3, 3))
    vectors = rng.normal(size=(3, 4, 3, 3))
    for method, solver in PROJECTIONS:
        batch = fiber_projection(vectors, points, method=method, solver=solver)
        for k in range(3):
            projector, _ = _dense_projector(points[k])
            np.testing.assert_allclose(
                batch[k].ravel(), projector @ vectors[k].ravel(), atol=1e-8
            )
    # N = 2: the Sylvester preconditioner of the normal equations is exact
    layers = _gaussian(rng, 2, 4)
    projected, info = fiber_projection(layers, layers, solver="cg", return_info=True)
    assert info["iterations"] == 1
    projector, _ = _dense_projector(layers)
    np.testing.assert_allclose(projected.ravel(), projector @ layers.ravel(), atol=1e-8)


def test_fiber_dimension_is_rank_of_dense_tangent_basis():
    rng = np.random.default_rng(9)
    for depth, dim in [(2, 2), (3, 3), (4, 2)]:
        layers = _gaussian(rng, depth, dim)
        fiber = Fiber(_product(layers), depth)
        _, rank = _dense_projector(layers)
        assert fiber.dim == rank == (depth - 1) * dim * dim


def test_fiber_manifold_methods():
    rng = np.random.default_rng(10)
    matrix = np.eye(3) + 0.4 * rng.normal(size=(3, 3))
    fiber = Fiber(matrix, 4)
    points = fiber.random_point(n_samples=3, scale=0.7)
    assert points.shape == (3, 4, 3, 3)
    for point in points:
        np.testing.assert_allclose(_product(point), matrix, atol=1e-10)
        assert np.linalg.norm(_moments(point)) > 1e-3  # off the balanced orbit
    assert np.all(fiber.belongs(points))
    assert not fiber.belongs(points[0] + 1e-3 * rng.normal(size=(4, 3, 3)))
    assert not fiber.belongs(np.zeros((3, 3, 3)))
    point = points[0]
    w_a = fiber.tangent_vector(rng.normal(size=(3, 3, 3)), point)
    assert fiber.is_tangent(w_a, point)
    vector = rng.normal(size=(4, 3, 3))
    assert not fiber.is_tangent(vector, point)
    assert fiber.is_tangent(fiber.to_tangent(vector, point), point)
    projector, _ = _dense_projector(point)
    np.testing.assert_allclose(
        fiber.riemannian_gradient(vector, point).ravel(),
        projector @ vector.ravel(),
        atol=1e-8,
    )
    # the balanced center minimizes |W|^2 = N sum s^(2/N)  (Kempf-Ness)
    s = np.linalg.svd(matrix, compute_uv=False)
    assert fiber.minimum_squared_norm == pytest.approx(4 * np.sum(s ** (2 / 4)))
    assert np.sum(fiber.center() ** 2) == pytest.approx(fiber.minimum_squared_norm)
    assert np.linalg.norm(_moments(fiber.center())) < 1e-12
    # induced metric: Frobenius inner products; no straight-line exp
    assert fiber.metric.inner_product(w_a, vector, point) == pytest.approx(
        np.sum(w_a * vector)
    )
    with pytest.raises(NotImplementedError):
        fiber.metric.exp(w_a, point)
    assert isinstance(fiber.group_action, GLAction)
    assert fiber.belongs(fiber.group_action(np.eye(3) + 0 * points[0, :3], point))


# --------------------------------------------------------------- regularizers
def _autograd_moment_value(flat, shape):
    layers = anp.reshape(flat, shape)
    total = 0.0
    for k in range(shape[0] - 1):
        g = anp.dot(layers[k], layers[k].T) - anp.dot(layers[k + 1].T, layers[k + 1])
        total = total + 0.5 * anp.sum(g**2)
    return total


def _autograd_schatten_value(flat, shape, p):
    layers = anp.reshape(flat, shape)
    total = 0.0
    for k in range(shape[0]):
        eigenvalues = anp.linalg.eigh(anp.dot(layers[k].T, layers[k]))[0]
        total = total + anp.sum(anp.abs(eigenvalues) ** (p / 2)) ** (1 / p)
    return total


def test_regularizer_gradients_against_autograd():
    rng = np.random.default_rng(11)
    layers = _gaussian(rng, 4, 3)
    shape = layers.shape
    frobenius = FrobeniusRegularizer()
    assert frobenius.value(layers) == pytest.approx(0.5 * np.sum(layers**2))
    np.testing.assert_allclose(frobenius.gradient(layers), layers)
    moment = MomentRegularizer()
    assert moment.value(layers) == pytest.approx(
        _autograd_moment_value(layers.ravel(), shape)
    )
    expected = autograd.grad(_autograd_moment_value)(layers.ravel(), shape)
    np.testing.assert_allclose(
        moment.gradient(layers).ravel(), expected, rtol=1e-10, atol=1e-10
    )
    for p in (1.5, 2.0, 3.0):
        schatten = SchattenRegularizer(p)
        value = _autograd_schatten_value(layers.ravel(), shape, p)
        assert schatten.value(layers) == pytest.approx(value, rel=1e-10)
        expected = autograd.grad(_autograd_schatten_value)(layers.ravel(), shape, p)
        np.testing.assert_allclose(
            schatten.gradient(layers).ravel(), expected, rtol=1e-7, atol=1e-9
        )
    assert SchattenRegularizer(2.0).value(layers) == pytest.approx(
        sum(np.linalg.norm(w) for w in layers)
    )
    assert SchattenRegularizer(1.0).value(layers) == pytest.approx(
        sum(np.linalg.norm(w, "nuc") for w in layers)
    )
    batch = np.stack([layers, 2 * layers])
    for reg in (moment, SchattenRegularizer(3.0)):
        np.testing.assert_allclose(
            reg.value(batch), [reg.value(layers), reg.value(2 * layers)]
        )
        np.testing.assert_allclose(
            reg.gradient(batch)[1], reg.gradient(2 * layers), atol=1e-12
        )


# ------------------------------------------------------------- Kirwan-Ness
def test_kirwan_ness_field_is_fiber_gradient_of_half_squared_moments():
    rng = np.random.default_rng(12)
    layers = _gaussian(rng, 4, 3)
    velocity = kirwan_ness_field()(layers)
    g = np.concatenate([np.zeros((1, 3, 3)), _moments(layers), np.zeros((1, 3, 3))])
    explicit = np.stack(
        [2 * (layers[k] @ g[k] - g[k + 1] @ layers[k]) for k in range(4)]
    )
    np.testing.assert_allclose(velocity, explicit, atol=1e-12)  # (1.22)
    gradient = autograd.grad(_autograd_moment_value)(layers.ravel(), layers.shape)
    np.testing.assert_allclose(velocity.ravel(), -gradient, atol=1e-10)
    # tangent to F_X already: the fiber gradient is the Euclidean one (factor 1)
    projector, _ = _dense_projector(layers)
    np.testing.assert_allclose(
        projector @ velocity.ravel(), velocity.ravel(), atol=1e-7
    )
    # d/dt 1/2 |G|^2 = -|w_{2G}|^2 = -4 |w_G|^2  (the paper's (2.31) says -2 |w_G|^2)
    step = 1e-6
    rate = (
        _autograd_moment_value((layers + step * velocity).ravel(), layers.shape)
        - _autograd_moment_value((layers - step * velocity).ravel(), layers.shape)
    ) / (2 * step)
    w_g = _derivative_of_action(_moments(layers), layers)
    assert rate == pytest.approx(-4 * np.sum(w_g**2), rel=1e-6)
    assert rate != pytest.approx(-2 * np.sum(w_g**2), rel=0.1)


def test_kirwan_ness_flow_converges_to_a_balanced_point():
    rng = np.random.default_rng(0)
    layers = _gaussian(rng, 4, 3)
    matrix = _product(layers)
    trajectory = integrate(
        kirwan_ness_field(), layers, 40.0, rtol=1e-12, t_eval=np.linspace(0, 40, 81)
    )
    norms = np.array([np.linalg.norm(_moments(w)) for w in trajectory.states])
    np.testing.assert_allclose(trajectory["moment_norm"], norms, rtol=1e-12)
    size = np.sum(trajectory.final_state**2)
    assert np.all(np.diff(norms) < 1e-13 * size)  # monotone
    assert norms[0] > 1.0
    assert norms[-1] < 1e-8 * size
    drift = max(_relative(_product(w), matrix) for w in trajectory.states)
    assert drift < 1e-9
    s = np.linalg.svd(matrix, compute_uv=False)
    for layer in trajectory.final_state:  # layers share singular values s^(1/N)
        np.testing.assert_allclose(
            np.linalg.svd(layer, compute_uv=False), s ** (1 / 4), rtol=1e-6
        )


# ---------------------------------------------------- L2 regularizing flow
def test_l2_velocity_is_minus_w_b_with_dense_solve():
    """Lemma 5: grad 1/2|W|^2 = w_b, H(b) = G (dense H built from w_{E_ij})."""
    rng = np.random.default_rng(13)
    layers = _gaussian(rng, 4, 3)
    basis = _tangent_basis(layers)
    b = np.linalg.solve(basis.T @ basis, _moments(layers).ravel())
    expected = -(basis @ b).reshape(layers.shape)
    for method, solver in PROJECTIONS:
        velocity = l2_regularizing_field(method, solver)(layers)
        np.testing.assert_allclose(velocity, expected, atol=1e-7)


@pytest.mark.parametrize("method,solver", [("normal", "auto"), ("operator", "cg")])
def test_theorem_2_moments_decay_exactly(method, solver):
    rng = np.random.default_rng(14)
    layers = _gaussian(rng, 4, 3)
    matrix, moments0 = _product(layers), _moments(layers)
    times = np.linspace(0.0, 3.0, 13)
    trajectory = integrate(
        l2_regularizing_field(method, solver), layers, 3.0, rtol=1e-12, t_eval=times
    )
    errors = [
        _relative(_moments(w), moments0 * np.exp(-2 * t))
        for t, w in zip(trajectory.times, trajectory.states, strict=True)
    ]
    assert max(errors) < 1e-7
    drift = max(_relative(_product(w), matrix) for w in trajectory.states)
    assert drift < 1e-9
    np.testing.assert_allclose(trajectory["end_to_end"][-1], matrix, atol=1e-9)


def test_kempf_ness_minimum_by_l2_flow():
    rng = np.random.default_rng(15)
    layers = _gaussian(rng, 4, 3)
    matrix = _product(layers)
    trajectory = integrate(l2_regularizing_field(), layers, 10.0, rtol=1e-12)
    final = trajectory.final_state
    s = np.linalg.svd(matrix, compute_uv=False)
    minimum = 4 * np.sum(s ** (2 / 4))
    assert np.sum(layers**2) > 1.1 * minimum
    assert np.sum(final**2) == pytest.approx(minimum, rel=1e-10)
    assert np.diff(trajectory["frobenius_norm_squared"]).max() < 1e-12
    assert np.linalg.norm(_moments(final)) < 1e-7 * np.sum(final**2)
    assert _relative(_product(final), matrix) < 1e-9
    # a point of O_X: center(X) up to an O(d)^{N-1} gauge
    lift = np.asarray(center(matrix, 4))
    aligned = gauge_action(best_gauge(final, lift), lift)
    assert _relative(aligned, final) < 1e-6


def _minimize_over_orbit(objective, layers):
    """Generic check: BFGS over invertible A (A = I + Z), autograd gradients."""
    depth, dim = layers.shape[0], layers.shape[-1]

    def acted(flat):
        matrices = anp.reshape(flat, (depth - 1, dim, dim)) + anp.eye(dim)
        full = [anp.eye(dim)] + [matrices[k] for k in range(depth - 1)]
        full = full + [anp.eye(dim)]
        return [
            anp.dot(anp.dot(full[k + 1], layers[k]), anp.linalg.inv(full[k]))
            for k in range(depth)
        ]

    def value(flat):
        return objective(acted(flat))

    result = minimize(
        value,
        np.zeros((depth - 1) * dim * dim),
        jac=autograd.grad(value),
        method="BFGS",
        options={"gtol": 1e-11, "maxiter": 2000},
    )
    return result.fun, np.stack([np.asarray(w) for w in acted(result.x)])


def _schatten(layer, p):
    eigenvalues = anp.linalg.eigh(anp.dot(layer.T, layer))[0]
    return anp.sum(anp.abs(eigenvalues) ** (p / 2)) ** (1 / p)


@pytest.mark.parametrize("p", [2.0, 1.5, 3.0])
def test_kempf_ness_and_schatten_minimizers_by_generic_optimizer(p):
    """Thm 1 (p = 2, |W|^2) and Thm 20 (sum_k |W_k|_p): min = balanced value."""
    rng = np.random.default_rng(16)
    layers = _gaussian(rng, 3, 3)
    matrix = _product(layers)
    s = np.linalg.svd(matrix, compute_uv=False)
    if p == 2.0:
        value, minimizer = _minimize_over_orbit(
            lambda ws: sum(anp.sum(w**2) for w in ws), layers
        )
        expected = 3 * np.sum(s ** (2 / 3))
        library = 2 * FrobeniusRegularizer().value(np.asarray(center(matrix, 3)))
    else:
        value, minimizer = _minimize_over_orbit(
            lambda ws: sum(_schatten(w, p) for w in ws), layers
        )
        expected = 3 * np.sum(s ** (p / 3)) ** (1 / p)
        library = SchattenRegularizer(p).value(np.asarray(center(matrix, 3)))
    assert library == pytest.approx(expected, rel=1e-12)
    assert value == pytest.approx(expected, rel=1e-9)
    assert np.linalg.norm(_moments(minimizer)) < 1e-6 * np.sum(minimizer**2)
    for layer in minimizer:
        np.testing.assert_allclose(
            np.linalg.svd(layer, compute_uv=False), s ** (1 / 3), rtol=1e-6
        )
    np.testing.assert_allclose(_product(minimizer), matrix, atol=1e-10)


def test_schatten_gradient_flow_on_the_fiber_reaches_the_balanced_value():
    """The library path: W' = -grad_{F_X} sum_k |W_k|_p (p = 1.5)."""
    rng = np.random.default_rng(3)
    layers = _gaussian(rng, 4, 3)
    fiber = Fiber(_product(layers), 4)
    regularizer = SchattenRegularizer(1.5)
    field = VectorField(
        lambda w: -fiber.riemannian_gradient(regularizer.gradient(w), w)
    )
    trajectory = integrate(
        field, layers, 30.0, rtol=1e-10, observables={"value": regularizer.value}
    )
    s = np.linalg.svd(fiber.end_to_end_matrix, compute_uv=False)
    expected = 4 * np.sum(s ** (1.5 / 4)) ** (1 / 1.5)
    assert trajectory["value"][0] > 1.1 * expected
    assert trajectory["value"][-1] == pytest.approx(expected, rel=1e-9)
    assert np.all(np.diff(trajectory["value"]) < 1e-12)
    assert fiber.belongs(trajectory.final_state, atol=1e-8)
    final = trajectory.final_state
    assert np.linalg.norm(_moments(final)) < 1e-4 * np.sum(final**2)


# ------------------------------------------------------- regularized training
def test_regularized_training_contracts_moments_at_rate_two_kappa():
    rng = np.random.default_rng(17)
    layers = _gaussian(rng, 3, 3)
    loss = QuadraticLoss(rng.normal(size=(3, 3)))
    kappa = 0.3
    moments0 = _moments(layers)
    times = np.linspace(0.0, 2.0, 9)
    field = regularized_training_field(loss, kappa)
    trajectory = integrate(field, layers, 2.0, rtol=1e-12, t_eval=times)
    errors = [
        _relative(_moments(w), moments0 * np.exp(-2 * kappa * t))
        for t, w in zip(trajectory.times, trajectory.states, strict=True)
    ]
    assert max(errors) < 1e-8
    assert _relative(trajectory.final_state, layers) > 0.1  # it did move
    # the split: regularizing = kappa * (L2 regularizing velocity), tangent;
    # learning is normal (w^* = 0) and carries all of dphi
    regularizing, learning = regularized_training_split(loss, kappa, layers)
    velocity = field(layers)
    np.testing.assert_allclose(regularizing + learning, velocity, atol=1e-12)
    np.testing.assert_allclose(
        regularizing, kappa * l2_regularizing_field()(layers), atol=1e-12
    )
    projector, _ = _dense_projector(layers)
    np.testing.assert_allclose(
        regularizing.ravel(), projector @ velocity.ravel(), atol=1e-7
    )
    assert np.max(np.abs(_tangent_basis(layers).T @ learning.ravel())) < 1e-7
    assert trajectory["regularizing_norm"][0] == pytest.approx(
        np.linalg.norm(regularizing)
    )
    assert trajectory["learning_norm"][0] == pytest.approx(np.linalg.norm(learning))
    assert trajectory["loss"][0] == pytest.approx(
        0.5 * np.sum((_product(layers) - loss.target) ** 2)
    )


def test_regularized_langevin():
    rng = np.random.default_rng(18)
    start = _gaussian(rng, 2, 2)
    kappa, beta, steps = 1.0, 2.0, 40
    step = 1.0 / steps
    batch = np.broadcast_to(start, (4000,) + start.shape)
    run = regularized_langevin(None, kappa, beta, batch, 1.0, steps, seed=5)
    final = run.final_state
    # Euler-Maruyama for the OU process: mean (1 - kappa h)^n W0, variance by
    # the recursion v <- (1 - kappa h)^2 v + 2 h / beta
    decay = (1 - kappa * step) ** steps
    variance = 0.0
    for _ in range(steps):
        variance = (1 - kappa * step) ** 2 * variance + 2 * step / beta
    mean_error = np.abs(final.mean(axis=0) - decay * start)
    assert np.all(mean_error < 5 * np.sqrt(variance / 4000))
    assert np.var(final, axis=0).mean() == pytest.approx(variance, rel=0.05)
    again = regularized_langevin(None, kappa, beta, batch, 1.0, steps, seed=5)
    np.testing.assert_array_equal(again.final_state, final)
    # beta = inf: plain Euler steps of the regularized training field
    loss = QuadraticLoss(rng.normal(size=(2, 2)))
    cold = regularized_langevin(loss, 0.5, np.inf, start, 0.5, 10)
    euler = integrate(
        regularized_training_field(loss, 0.5), start, 0.5, n_steps=10, method="euler"
    )
    np.testing.assert_allclose(cold.final_state, euler.final_state, atol=1e-13)
    assert cold["loss"][-1] == pytest.approx(euler["loss"][-1])


# ---------------------------------------------------------------- bad input
def test_bad_input_raises_value_errors_naming_the_problem():
    rng = np.random.default_rng(19)
    layers = _gaussian(rng, 4, 3)
    matrices = np.stack([np.eye(3)] * 3)
    matrices[1, 2] = 0.0  # A_2 singular
    with pytest.raises(ValueError, match=r"A_2 is singular"):
        gl_action(matrices, layers)
    with pytest.raises(ValueError, match=r"matrices must have shape \[\.\.\., N-1"):
        gl_action(np.stack([np.eye(3)] * 4), layers)
    with pytest.raises(ValueError, match=r"algebra must have shape"):
        fiber_tangent_vector(np.zeros((3, 2, 2)), layers)
    with pytest.raises(ValueError, match=r"algebra must have shape"):
        fiber_operator(np.zeros((4, 3, 3)), layers)
    with pytest.raises(ValueError, match=r"rhs must have shape"):
        solve_fiber_operator(np.zeros((3, 3)), layers)
    with pytest.raises(ValueError, match=r"vector must have shape"):
        fiber_projection(np.zeros((3, 3, 3)), layers)
    with pytest.raises(ValueError, match=r"depth, dim, dim"):
        fiber_adjoint(np.zeros((4, 3, 3)), np.zeros((4, 3, 2)))
    with pytest.raises(ValueError, match="not full rank"):
        Fiber(np.diag([1.0, 1.0, 0.0]), 3)
    with pytest.raises(ValueError, match="square matrix"):
        Fiber(np.ones((2, 3)), 3)
    with pytest.raises(ValueError, match="depth >= 2"):
        Fiber(np.eye(2), 0)
    with pytest.raises(ValueError, match="Schatten exponent"):
        SchattenRegularizer(0.5)
    with pytest.raises(ValueError, match="method must be one of"):
        l2_regularizing_field("dense")
    with pytest.raises(ValueError, match="conjugate gradients only"):
        fiber_projection(layers, layers, method="operator", solver="direct")
    with pytest.raises(ValueError, match="kappa"):
        regularized_training_field(QuadraticLoss(np.eye(3)), -1.0)
    with pytest.raises(ValueError, match="tol"):
        solve_fiber_operator(np.zeros((3, 3, 3)), layers, tol=0.0)


def test_fiber_projection_rejects_non_finite_input():
    parameters = center(np.diag([2.0, 1.0, 0.5]), 4)
    vector = np.ones_like(parameters)
    vector[0, 0, 0] = np.nan
    for method in ("normal", "operator"):
        with pytest.raises(ValueError, match="vector has non-finite"):
            fiber_projection(vector, parameters, method=method)
    with pytest.raises(ValueError, match="parameters has non-finite"):
        fiber_projection(np.ones_like(parameters), np.full((4, 3, 3), np.nan))


def test_fiber_needs_depth_two():
    with pytest.raises(ValueError, match="depth >= 2"):
        Fiber(np.eye(2), 1)
