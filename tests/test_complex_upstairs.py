"""The complex deep linear network, upstairs (issue 14; balancedness paper §1-2).

Parameters, fibers, regularizing flows and the balanced manifold over F = C,
against independent computations written here from the definitions with
conjugate transposes: complex matrices as real vectors (``C^n = R^{2n}`` with
the inner product ``Re tr(A^* B)``), dense Jacobians of the end-to-end map and
of the moments by central differences along the two real directions ``E_ij``
and ``i E_ij`` of every entry, dense projectors and Gram matrices, theorem
predictions (Kempf-Ness, Thm 2), C2's complex ``DLNMetric.inner_product``; and
the real case embedded in the complex one (real layers passed as complex
arrays give the real answers).
"""

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.linalg import expm

from geomstats_dln import EndToEndMatrices, QuadraticLoss
from geomstats_dln.balanced import (
    BalancedManifold,
    balanced_exp,
    best_gauge,
    center,
    gauge_action,
    horizontal_lift,
    horizontal_projection,
    moment_differential,
    orbit_basis,
    random_gauges,
    to_tangent,
    vertical_projection,
)
from geomstats_dln.dynamics.regularizing import (
    integrate_complex,
    kirwan_ness_field,
    l2_regularizing_field,
    regularized_langevin,
    regularized_training_field,
)
from geomstats_dln.fibers import (
    Fiber,
    FrobeniusRegularizer,
    MomentRegularizer,
    SchattenRegularizer,
    fiber_adjoint,
    fiber_operator,
    fiber_projection,
    fiber_tangent_vector,
    gl_action,
    solve_fiber_operator,
)
from geomstats_dln.parameters import (
    DLNParameterSpace,
    FrobeniusMetric,
    differential,
    end_to_end,
    lifted_gradient,
    moments,
    partial_products,
)

DEPTH, DIM = 3, 2
STEP = 1e-6  # central differences: error ~ STEP^2 |third derivative|


def complex_gaussian(rng, *shape):
    return (rng.normal(size=shape) + 1j * rng.normal(size=shape)) / np.sqrt(2.0)


def realify(array):
    """``C^n -> R^{2n}``: real parts, then imaginary parts."""
    array = np.asarray(array)
    return np.concatenate([array.real.ravel(), array.imag.ravel()])


def complexify(vector, shape):
    half = len(vector) // 2
    return (vector[:half] + 1j * vector[half:]).reshape(shape)


def real_inner(a, b):
    """``Re tr(A^* B)`` summed over all entries, written out."""
    return float(np.sum(np.real(a) * np.real(b) + np.imag(a) * np.imag(b)))


def dense_jacobian(function, point):
    """Real Jacobian [2 out, 2 in] of ``function`` at complex ``point`` by
    central differences along ``E_ij`` and ``i E_ij``."""
    columns = []
    for unit in (1.0, 1j):
        for index in np.ndindex(point.shape):
            shift = np.zeros(point.shape, dtype=complex)
            shift[index] = unit * STEP
            difference = np.asarray(function(point + shift)) - np.asarray(
                function(point - shift)
            )
            columns.append(realify(difference) / (2 * STEP))
    return np.stack(columns, axis=1)


def product(layers):
    """Independent end-to-end map: a loop, last layer leftmost."""
    matrix = layers[0]
    for layer in layers[1:]:
        matrix = layer @ matrix
    return matrix


def hermitian_moments(layers):
    """``G_k = W_k W_k^* - W_{k+1}^* W_{k+1}``, written out."""
    return np.stack(
        [
            layers[k] @ layers[k].conj().T - layers[k + 1].conj().T @ layers[k + 1]
            for k in range(len(layers) - 1)
        ]
    )


def balanced_point(rng, depth=DEPTH, dim=DIM):
    """``W_k = Q_k Lam Q_{k-1}^*`` built here from a complex SVD and Haar-like
    unitary ``Q_k`` (QR of complex Gaussians)."""
    matrix = complex_gaussian(rng, dim, dim)
    left, s, right_h = np.linalg.svd(matrix)
    lam = np.diag(s ** (1.0 / depth))
    frames = [right_h.conj().T]
    for _ in range(depth - 1):
        frames.append(np.linalg.qr(complex_gaussian(rng, dim, dim))[0])
    frames.append(left)
    layers = np.stack(
        [frames[k + 1] @ lam @ frames[k].conj().T for k in range(depth)]
    )
    return matrix, layers


def unitary_algebra(dim):
    """A basis over R of skew-Hermitian d x d matrices (not normalized)."""
    basis = []
    for i in range(dim):
        for j in range(dim):
            unit = np.zeros((dim, dim), dtype=complex)
            if i < j:
                unit[i, j], unit[j, i] = 1.0, -1.0
            elif i > j:
                unit[i, j], unit[j, i] = 1j, 1j
            else:
                unit[i, i] = 1j
            basis.append(unit)
    return basis


def orbit_matrix(layers):
    """Columns ``realify(w_a)`` for ``a`` over a basis of ``u(d)^{N-1}``,
    ``(w_a)_k = a_k W_k - W_k a_{k-1}`` written out."""
    depth, dim = layers.shape[0], layers.shape[-1]
    columns = []
    for k in range(depth - 1):
        for generator in unitary_algebra(dim):
            vec = np.zeros(layers.shape, dtype=complex)
            vec[k] += generator @ layers[k]
            vec[k + 1] -= layers[k + 1] @ generator
            columns.append(realify(vec))
    return np.stack(columns, axis=1)


def projector(columns):
    """Orthogonal projector onto the span of ``columns`` (real)."""
    basis, s, _ = np.linalg.svd(columns, full_matrices=False)
    basis = basis[:, s > 1e-10 * s[0]]
    return basis @ basis.T


# ----------------------------------------------------------------- parameters
def test_real_case_embedded_in_the_complex_one():
    rng = np.random.default_rng(0)
    layers = rng.normal(size=(DEPTH, 3, 3))
    vector = rng.normal(size=(DEPTH, 3, 3))
    covector = rng.normal(size=(3, 3))
    algebra = rng.normal(size=(DEPTH - 1, 3, 3))
    cases = [
        (end_to_end, (layers,)),
        (moments, (layers,)),
        (differential, (vector, layers)),
        (lifted_gradient, (covector, layers)),
        (lambda w: partial_products(w)[0], (layers,)),
        (fiber_adjoint, (vector, layers)),
        (fiber_operator, (algebra, layers)),
        (fiber_projection, (vector, layers)),
        (lambda v, w: fiber_projection(v, w, method="operator"), (vector, layers)),
        (lambda x: center(x, DEPTH), (covector,)),
    ]
    for function, arguments in cases:
        real = np.asarray(function(*arguments))
        embedded = np.asarray(function(*(a + 0j for a in arguments)))
        assert embedded.dtype == np.complex128
        np.testing.assert_allclose(embedded.real, real, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(embedded.imag, 0.0, atol=1e-12)
    # the balanced maps at a real balanced point, given as complex arrays
    balanced = gauge_action(random_gauges(DEPTH, 3), center(covector, DEPTH))
    for function, arguments in [
        (horizontal_lift, (covector, balanced)),
        (vertical_projection, (vector, balanced)),
        (horizontal_projection, (vector, balanced)),
    ]:
        real = np.asarray(function(*arguments))
        embedded = np.asarray(function(*(a + 0j for a in arguments)))
        np.testing.assert_allclose(embedded.real, real, rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(embedded.imag, 0.0, atol=1e-11)


def test_end_to_end_differential_and_adjoint_against_dense_jacobian():
    rng = np.random.default_rng(1)
    layers = complex_gaussian(rng, DEPTH, DIM, DIM)
    np.testing.assert_allclose(end_to_end(layers), product(layers), rtol=1e-13)
    jacobian = dense_jacobian(product, layers)  # [2 d^2, 2 N d^2]
    vector = complex_gaussian(rng, DEPTH, DIM, DIM)
    np.testing.assert_allclose(
        realify(differential(vector, layers)), jacobian @ realify(vector), atol=1e-8
    )
    # lifted gradient = adjoint of dphi for Re tr: the transposed real Jacobian
    covector = complex_gaussian(rng, DIM, DIM)
    np.testing.assert_allclose(
        realify(lifted_gradient(covector, layers)),
        jacobian.T @ realify(covector),
        atol=1e-8,
    )
    # batches, and a complex covector at real layers
    batch = complex_gaussian(rng, 2, DEPTH, DIM, DIM)
    np.testing.assert_allclose(
        differential(vector, batch)[1], differential(vector, batch[1]), rtol=1e-13
    )
    real_layers = rng.normal(size=(DEPTH, DIM, DIM))
    np.testing.assert_allclose(
        realify(lifted_gradient(covector, real_layers)),
        dense_jacobian(product, real_layers + 0j).T @ realify(covector),
        atol=1e-8,
    )


def test_moments_hermitian_and_their_differential():
    rng = np.random.default_rng(2)
    layers = complex_gaussian(rng, DEPTH, DIM, DIM)
    gram = np.asarray(moments(layers))
    np.testing.assert_allclose(gram, hermitian_moments(layers), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(gram, np.conj(np.swapaxes(gram, -1, -2)), atol=1e-14)
    vector = complex_gaussian(rng, DEPTH, DIM, DIM)
    jacobian = dense_jacobian(hermitian_moments, layers)
    np.testing.assert_allclose(
        realify(moment_differential(vector, layers)),
        jacobian @ realify(vector),
        atol=1e-8,
    )


def test_moments_conserved_along_the_gradient_flow():
    """Survey Thm 1a over C: W' = -grad E(phi(W)) keeps every G_k."""
    rng = np.random.default_rng(3)
    start = complex_gaussian(rng, DEPTH, DIM, DIM)
    target = complex_gaussian(rng, DIM, DIM)

    def field(_, y):
        w = y.reshape(start.shape)
        return -np.asarray(lifted_gradient(end_to_end(w) - target, w)).ravel()

    solution = solve_ivp(
        field, (0, 1), start.ravel(), method="DOP853", rtol=1e-11, atol=1e-13
    )
    end = solution.y[:, -1].reshape(start.shape)
    loss = [np.sum(np.abs(product(w) - target) ** 2) for w in (start, end)]
    assert loss[1] < 0.5 * loss[0]  # the flow does train
    np.testing.assert_allclose(
        hermitian_moments(end), hermitian_moments(start), atol=1e-9
    )


def test_parameter_space_over_c():
    rng = np.random.default_rng(4)
    space = DLNParameterSpace(DIM, DEPTH, field="complex")
    assert space.dim == 2 * DEPTH * DIM**2
    basis = np.asarray(space.basis)
    gram = np.array([[real_inner(a, b) for b in basis] for a in basis])
    np.testing.assert_allclose(gram, np.eye(space.dim), atol=0)
    point = space.random_point(n_samples=3)
    assert point.shape == (3, DEPTH, DIM, DIM) and np.iscomplexobj(point)
    assert np.all(space.belongs(point))
    assert not DLNParameterSpace(DIM, DEPTH).belongs(point[0])
    a, b = complex_gaussian(rng, 2, DEPTH, DIM, DIM)
    metric = FrobeniusMetric(space)
    assert metric.inner_product(a, b) == pytest.approx(real_inner(a, b), rel=1e-13)
    with pytest.raises(ValueError, match="field"):
        DLNParameterSpace(DIM, DEPTH, field="quaternion")


# --------------------------------------------------------------------- fibers
def test_gl_action_and_fiber_maps_against_definitions():
    rng = np.random.default_rng(5)
    layers = complex_gaussian(rng, DEPTH, DIM, DIM)
    first = complex_gaussian(rng, DEPTH - 1, DIM, DIM) + 2 * np.eye(DIM)
    second = complex_gaussian(rng, DEPTH - 1, DIM, DIM) + 2 * np.eye(DIM)
    acted = gl_action(first, layers)
    np.testing.assert_allclose(product(acted), product(layers), rtol=1e-12)
    # an action: (A B).W = A.(B.W)
    np.testing.assert_allclose(
        gl_action(first @ second, layers),
        gl_action(first, gl_action(second, layers)),
        rtol=1e-12,
    )
    # w_a is the velocity of t -> exp(t a).W (central differences)
    algebra = complex_gaussian(rng, DEPTH - 1, DIM, DIM)
    velocity = (
        gl_action(expm(STEP * algebra), layers)
        - gl_action(expm(-STEP * algebra), layers)
    ) / (2 * STEP)
    np.testing.assert_allclose(
        fiber_tangent_vector(algebra, layers), velocity, atol=1e-8
    )
    # adjoint for Re tr, and w^*(W) = G
    vector = complex_gaussian(rng, DEPTH, DIM, DIM)
    assert real_inner(vector, fiber_tangent_vector(algebra, layers)) == pytest.approx(
        real_inner(fiber_adjoint(vector, layers), algebra), rel=1e-12
    )
    np.testing.assert_allclose(
        fiber_adjoint(layers, layers), hermitian_moments(layers), atol=1e-13
    )
    dense_h = dense_fiber_operator(layers)
    assert np.linalg.eigvalsh(dense_h)[0] > 0  # definite for full-rank X
    np.testing.assert_allclose(
        realify(fiber_operator(algebra, layers)),
        dense_h @ realify(algebra),
        rtol=1e-11,
        atol=1e-12,
    )
    rhs = complex_gaussian(rng, DEPTH - 1, DIM, DIM)
    expected = complexify(np.linalg.solve(dense_h, realify(rhs)), rhs.shape)
    for solver in ("cg", "banded"):
        np.testing.assert_allclose(
            solve_fiber_operator(rhs, layers, solver=solver),
            expected,
            rtol=1e-9,
            atol=1e-10,
        )


def dense_fiber_operator(layers):
    """``H = w^* w`` as a dense real matrix: columns ``realify(w_a)`` for ``a``
    over the real basis ``E_ij``, ``i E_ij`` of ``gl(d; C)^{N-1}``, with
    ``(w_a)_k = a_k W_k - W_k a_{k-1}`` written out."""
    depth, dim = layers.shape[0], layers.shape[-1]
    columns = []
    for unit in (1.0, 1j):
        for index in np.ndindex((depth - 1, dim, dim)):
            a = np.zeros((depth - 1, dim, dim), dtype=complex)
            a[index] = unit
            vec = np.zeros(layers.shape, dtype=complex)
            for k in range(depth - 1):
                vec[k] += a[k] @ layers[k]
                vec[k + 1] -= layers[k + 1] @ a[k]
            columns.append(realify(vec))
    orbit = np.stack(columns, axis=1)
    return orbit.T @ orbit


def test_banded_fiber_solve_over_c_on_a_deep_chain():
    """``auto`` picks the complex Hermitian banded Cholesky at N - 1 >= d^3."""
    rng = np.random.default_rng(15)
    depth = 12
    layers = np.eye(DIM) + 0.3 * complex_gaussian(rng, depth, DIM, DIM)
    rhs = complex_gaussian(rng, depth - 1, DIM, DIM)
    expected = complexify(
        np.linalg.solve(dense_fiber_operator(layers), realify(rhs)), rhs.shape
    )
    solution, info = solve_fiber_operator(rhs, layers, return_info=True)
    assert info["iterations"] == 0  # the banded route, no iteration
    np.testing.assert_allclose(solution, expected, rtol=1e-9, atol=1e-10)
    # a real right-hand side at complex layers is solved over C
    real_rhs = rhs.real
    np.testing.assert_allclose(
        solve_fiber_operator(real_rhs, layers, solver="banded"),
        complexify(
            np.linalg.solve(dense_fiber_operator(layers), realify(real_rhs + 0j)),
            rhs.shape,
        ),
        rtol=1e-9,
        atol=1e-10,
    )


@pytest.mark.parametrize(
    "options",
    [
        {"method": "normal", "solver": "direct"},
        {"method": "normal", "solver": "cg"},
        {"method": "operator"},
    ],
)
def test_fiber_projection_is_the_projector_onto_ker_dphi(options):
    rng = np.random.default_rng(6)
    layers = complex_gaussian(rng, DEPTH, DIM, DIM)
    jacobian = dense_jacobian(product, layers)
    # orthogonal projector onto ker dphi: I - D^T (D D^T)^{-1} D
    kernel = np.eye(jacobian.shape[1]) - jacobian.T @ np.linalg.solve(
        jacobian @ jacobian.T, jacobian
    )
    vectors = complex_gaussian(rng, 2, DEPTH, DIM, DIM)
    projected = fiber_projection(vectors, layers, **options)
    for vector, result in zip(vectors, projected, strict=True):
        np.testing.assert_allclose(
            realify(result), kernel @ realify(vector), atol=1e-7
        )


def test_fiber_of_a_complex_matrix():
    rng = np.random.default_rng(7)
    matrix = complex_gaussian(rng, DIM, DIM)
    fiber = Fiber(matrix, DEPTH)
    jacobian = dense_jacobian(product, fiber.center())
    kernel_dim = jacobian.shape[1] - np.linalg.matrix_rank(jacobian, tol=1e-6)
    assert fiber.dim == kernel_dim == 2 * (DEPTH - 1) * DIM**2
    point = fiber.random_point()
    assert np.iscomplexobj(point) and fiber.belongs(point)
    tangent = fiber.random_tangent_vec(point)
    assert fiber.is_tangent(tangent, point)
    assert not fiber.is_tangent(complex_gaussian(rng, DEPTH, DIM, DIM), point)
    # the fiber gradient of 1/2 |W|^2 is the projection of W (Lemma 5 over C)
    jacobian = dense_jacobian(product, point)
    kernel = np.eye(jacobian.shape[1]) - projector(jacobian.T)
    np.testing.assert_allclose(
        realify(fiber.riemannian_gradient(point, point)),
        kernel @ realify(point),
        atol=1e-7,
    )
    s = np.linalg.svd(matrix, compute_uv=False)
    assert fiber.minimum_squared_norm == pytest.approx(
        DEPTH * np.sum(s ** (2 / DEPTH)), rel=1e-13
    )


def test_regularizer_gradients_against_finite_differences():
    rng = np.random.default_rng(8)
    layers = complex_gaussian(rng, DEPTH, DIM, DIM)
    regularizers = (FrobeniusRegularizer(), MomentRegularizer(), SchattenRegularizer(3))
    for regularizer in regularizers:
        numeric = dense_jacobian(
            lambda w, r=regularizer: np.array([r.value(w)]), layers
        )[0]  # the real row: the gradient for Re tr
        np.testing.assert_allclose(
            realify(regularizer.gradient(layers)), numeric, rtol=1e-7, atol=1e-7
        )


# ------------------------------------------------------ flows and Kempf-Ness
def _fiber_start(rng):
    matrix = complex_gaussian(rng, DIM, DIM)
    gauges = np.eye(DIM) + 0.4 * complex_gaussian(rng, DEPTH - 1, DIM, DIM)
    return matrix, gl_action(gauges, center(matrix, DEPTH))


def test_l2_flow_thm2_and_kempf_ness_over_c():
    """Thm 2: G(t) = G(0) e^{-2t} on F_X; Thm 1: |W|^2 -> N sum s^{2/N}, the
    minimum of the fiber, at a balanced point of the U(d)^{N-1}-orbit of the
    center."""
    rng = np.random.default_rng(9)
    matrix, start = _fiber_start(rng)
    times = np.array([0.0, 1.0, 4.0, 9.0])
    trajectory = integrate_complex(
        l2_regularizing_field(), start, 9.0, rtol=1e-11, t_eval=times
    )
    assert np.iscomplexobj(trajectory.states)
    initial = hermitian_moments(start)
    for t, state in zip(trajectory.times, trajectory.states, strict=True):
        np.testing.assert_allclose(
            hermitian_moments(state), initial * np.exp(-2 * t), atol=1e-9
        )
        np.testing.assert_allclose(product(state), matrix, atol=1e-9)
    s = np.linalg.svd(matrix, compute_uv=False)
    minimum = DEPTH * np.sum(s ** (2 / DEPTH))
    norms = trajectory["frobenius_norm_squared"]
    assert np.all(np.diff(norms) < 0)
    assert norms[-1] == pytest.approx(minimum, rel=1e-7)
    limit = trajectory.final_state
    reference = center(matrix, DEPTH)
    gauges = best_gauge(limit, reference)
    np.testing.assert_allclose(
        gauges.conj().transpose(0, 2, 1) @ gauges,
        np.broadcast_to(np.eye(DIM), gauges.shape),
        atol=1e-12,
    )
    np.testing.assert_allclose(gauge_action(gauges, reference), limit, atol=1e-6)


def test_kirwan_ness_flow_over_c():
    """Thm 10: the flow of -grad 1/2 |G|^2 keeps X, decreases |G| to 0 and ends
    at a Kempf-Ness minimum (the same orbit as the L2 flow's limit)."""
    rng = np.random.default_rng(10)
    matrix, start = _fiber_start(rng)
    trajectory = integrate_complex(kirwan_ness_field(), start, 30.0, rtol=1e-11)
    moment_norms = trajectory["moment_norm"]
    np.testing.assert_allclose(
        moment_norms,
        [np.linalg.norm(hermitian_moments(w)) for w in trajectory.states],
        rtol=1e-12,
    )
    assert np.all(np.diff(moment_norms) <= 1e-12)
    assert moment_norms[-1] < 1e-8 * moment_norms[0]
    limit = trajectory.final_state
    np.testing.assert_allclose(product(limit), matrix, atol=1e-9)
    s = np.linalg.svd(matrix, compute_uv=False)
    assert np.sum(np.abs(limit) ** 2) == pytest.approx(
        DEPTH * np.sum(s ** (2 / DEPTH)), rel=1e-8
    )
    reference = center(matrix, DEPTH)
    np.testing.assert_allclose(
        gauge_action(best_gauge(limit, reference), reference), limit, atol=1e-7
    )


# ----------------------------------------------------------------- balanced
def test_center_gauges_and_dimension_over_c():
    rng = np.random.default_rng(11)
    matrix, layers = balanced_point(rng)
    lift = np.asarray(center(matrix, DEPTH))
    np.testing.assert_allclose(product(lift), matrix, rtol=1e-12)
    np.testing.assert_allclose(hermitian_moments(lift), 0.0, atol=1e-13)
    gauges = random_gauges(DEPTH, DIM, field="complex")
    np.testing.assert_allclose(
        gauges.conj().transpose(0, 2, 1) @ gauges,
        np.broadcast_to(np.eye(DIM), gauges.shape),
        atol=1e-13,
    )
    acted = gauge_action(gauges, layers)
    np.testing.assert_allclose(product(acted), matrix, rtol=1e-12)
    np.testing.assert_allclose(hermitian_moments(acted), 0.0, atol=1e-13)
    not_unitary = np.stack([np.diag([1.0, 1.5j])] * (DEPTH - 1))
    with pytest.raises(ValueError, match="unitary"):
        gauge_action(not_unitary, layers)
    # dim M = 2 N d^2 - rank dG (the moments take values in Herm(d)^{N-1})
    manifold = BalancedManifold(DIM, DEPTH, field="complex")
    jacobian = dense_jacobian(hermitian_moments, layers)
    rank = np.linalg.matrix_rank(jacobian, tol=1e-6)
    assert rank == (DEPTH - 1) * DIM**2
    expected_dim = 2 * DIM**2 + (DEPTH - 1) * DIM**2
    assert manifold.dim == 2 * DEPTH * DIM**2 - rank == expected_dim
    point = manifold.random_point(n_samples=2)
    assert np.iscomplexobj(point) and np.all(manifold.belongs(point))
    # the orbit of U(d)^{N-1} is free: d^2 real directions per factor
    assert np.linalg.matrix_rank(orbit_matrix(layers), tol=1e-8) == (DEPTH - 1) * DIM**2
    assert orbit_basis(layers).shape == ((DEPTH - 1) * DIM**2, DEPTH, DIM, DIM)


def test_random_unitary_gauges_have_haar_moments():
    """Haar U(d): E tr U = 0, E (tr U)^2 = 0, E |tr U|^2 = 1 and E |tr U|^4 = 2
    (E |tr U|^{2k} = k! for k <= d; Diaconis-Shahshahani 1994); tolerances of
    5-6 standard errors for 4000 draws (the QR without the phase correction
    gives 0.97, 0.70, 1.62, 4.16)."""
    n_samples, dim = 4000, 3
    gauges = random_gauges(2, dim, n_samples, field="complex")[:, 0]
    traces = np.trace(gauges, axis1=-2, axis2=-1)
    assert abs(np.mean(traces)) < 0.08
    assert abs(np.mean(traces**2)) < 0.08
    assert np.mean(np.abs(traces) ** 2) == pytest.approx(1.0, abs=0.08)
    assert np.mean(np.abs(traces) ** 4) == pytest.approx(2.0, abs=0.4)


def test_tangent_spaces_and_projections_over_c():
    rng = np.random.default_rng(12)
    _, layers = balanced_point(rng)
    vector = complex_gaussian(rng, DEPTH, DIM, DIM)
    # T_W M = ker dG, projector from the dense Jacobian of the moments
    tangent = np.eye(2 * layers.size) - projector(
        dense_jacobian(hermitian_moments, layers).T
    )
    np.testing.assert_allclose(
        realify(to_tangent(vector, layers)), tangent @ realify(vector), atol=1e-7
    )
    # vertical: projector onto the u(d)^{N-1} orbit directions written out here
    vertical = projector(orbit_matrix(layers))
    tangent_vec = to_tangent(vector, layers)
    np.testing.assert_allclose(
        realify(vertical_projection(tangent_vec, layers)),
        vertical @ realify(tangent_vec),
        atol=1e-10,
    )
    # horizontal: (ker dphi)^perp, the range of the transposed Jacobian
    horizontal = projector(dense_jacobian(product, layers).T)
    np.testing.assert_allclose(
        realify(horizontal_projection(vector, layers)),
        horizontal @ realify(vector),
        atol=1e-7,
    )
    manifold = BalancedManifold(DIM, DEPTH, field="complex")
    assert manifold.is_tangent(tangent_vec, layers)
    assert not manifold.is_tangent(vector, layers)
    manifold.equip_with_quotient()
    bundle = manifold.fiber_bundle
    vertical_vec = vertical_projection(tangent_vec, layers)
    horizontal_vec = horizontal_projection(vector, layers)
    assert bundle.is_vertical(vertical_vec, layers)
    assert not bundle.is_vertical(horizontal_vec, layers)
    assert bundle.is_horizontal(horizontal_vec, layers)
    assert not bundle.is_horizontal(vertical_vec, layers)
    # the projection onto M keeps X and lands on M
    near_identity = np.eye(DIM) + 0.2 * complex_gaussian(rng, DEPTH - 1, DIM, DIM)
    moved = gl_action(near_identity, layers)
    projected = manifold.projection(moved)
    np.testing.assert_allclose(product(projected), product(layers), atol=1e-12)
    assert manifold.belongs(projected)


def test_riemannian_submersion_onto_complex_end_to_end_matrices():
    """|lift(Z)|^2 = g^N_X(Z, Z): against z^T (D D^T)^{-1} z with the dense real
    Jacobian D (at a balanced point D D^T is the operator A_{N,X} as a 2 d^2 x
    2 d^2 real matrix) and against the complex DLNMetric.inner_product."""
    rng = np.random.default_rng(13)
    matrix, layers = balanced_point(rng)
    tangent = complex_gaussian(rng, DIM, DIM)
    lift = np.asarray(horizontal_lift(tangent, layers))
    np.testing.assert_allclose(differential(lift, layers), tangent, atol=1e-12)
    orbit = orbit_matrix(layers)
    np.testing.assert_allclose(orbit.T @ realify(lift), 0.0, atol=1e-12)
    jacobian = dense_jacobian(product, layers)
    operator = jacobian @ jacobian.T
    z = realify(tangent)
    dense_metric = z @ np.linalg.solve(operator, z)
    squared_norm = real_inner(lift, lift)
    assert squared_norm == pytest.approx(dense_metric, rel=1e-8)
    metric = EndToEndMatrices(DIM, depth=DEPTH).metric
    assert squared_norm == pytest.approx(
        float(metric.inner_product(tangent, tangent, matrix)), rel=1e-11
    )
    # geomstats' QuotientMetric route through the bundle of the complex manifold
    manifold = BalancedManifold(DIM, DEPTH, field="complex")
    manifold.equip_with_quotient()
    quotient = manifold.quotient.metric.inner_product(tangent, tangent, matrix)
    assert float(quotient) == pytest.approx(dense_metric, rel=1e-8)


def test_real_only_geometry_refuses_complex():
    rng = np.random.default_rng(14)
    _, layers = balanced_point(rng)
    with pytest.raises(TypeError, match="complex"):
        balanced_exp(to_tangent(layers, layers), layers)
    with pytest.raises(TypeError, match="complex"):
        BalancedManifold(DIM, DEPTH, field="complex").metric.exp(layers, layers)
    with pytest.raises(TypeError, match="complex"):
        regularized_langevin(None, 1.0, 1.0, layers, 1.0, 2)
    # the losses are real functions: regularized training stays over R
    with pytest.raises(TypeError, match="regularized_training_field.*complex"):
        regularized_training_field(QuadraticLoss(np.eye(DIM)), 0.5)(layers)
