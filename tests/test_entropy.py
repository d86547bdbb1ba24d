"""Entropy, volume density and free energy (MATH §3, §5) against independent sources:
orbit Gram determinants and orbit volumes by quadrature, mpmath, autodiff of a
plain SVD formula, finite differences, the dense operator of ``tests/_reference``.
"""

import math

import autograd
import autograd.numpy as anp
import mpmath
import numpy as np
import pytest

import geomstats.backend as gs

from geomstats_dln import orbit_entropy as ent
from geomstats_dln.balanced import center, gauge_action, orbit_basis
from geomstats_dln.dynamics.flows import riemannian_gradient_field
from geomstats_dln.dynamics.free_energy import (
    FreeEnergy,
    free_energy,
    free_energy_gradient_field,
)
from geomstats_dln.dynamics.integrators import integrate
from geomstats_dln.end_to_end import EndToEndMatrices
from geomstats_dln.losses import QuadraticLoss
from tests import _reference as reference

AUTOGRAD_BACKEND = gs.__name__.endswith("autograd")


def _orthogonal(rng, dim):
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    return q * np.sign(np.diag(r))


def _with_singular_values(rng, s):
    dim = len(s)
    return _orthogonal(rng, dim) @ np.diag(s) @ _orthogonal(rng, dim).T


def _separated(rng, dim, low=0.5, high=2.5):
    """A matrix with singular values spread over [low, high] (well separated)."""
    return _with_singular_values(rng, np.linspace(high, low, dim))


# ---------------------------------------------------------------- vol(O(d))
def test_orthogonal_group_volume_known_values_and_sphere_fibration():
    assert ent.orthogonal_group_volume(1) == pytest.approx(2.0, rel=1e-15)
    # O(2): two circles {R(t)}, |R'(t)|_F = sqrt 2, length 2 pi sqrt 2 each.
    assert ent.orthogonal_group_volume(2) == pytest.approx(
        4 * math.pi * math.sqrt(2), rel=1e-14
    )
    # vol(SO(3)) = 8 pi^2 for tr(A^T B)/2 (RP^3 of radius 2); x 2^{3/2} x 2.
    assert ent.orthogonal_group_volume(3) == pytest.approx(
        32 * math.sqrt(2) * math.pi**2, rel=1e-14
    )
    # SO(d) -> S^{d-1} with fiber SO(d-1) (Hurwitz): for tr(A^T B)/2,
    # vol(SO(d)) = prod_{k=1}^{d-1} vol(S^k); Frobenius scales by 2^{dim/2}.
    for dim in range(1, 12):
        spheres = math.prod(
            2 * math.pi ** ((k + 1) / 2) / math.gamma((k + 1) / 2)
            for k in range(1, dim)
        )
        expected = 2 * spheres * 2 ** (dim * (dim - 1) / 4)
        assert ent.orthogonal_group_volume(dim) == pytest.approx(expected, rel=1e-13)
    assert math.isfinite(ent.log_orthogonal_group_volume(200))
    with pytest.raises(ValueError, match="positive integer"):
        ent.log_orthogonal_group_volume(0)


# ------------------------------------------------------- entropy = log vol(O_X)
@pytest.mark.parametrize("dim", [2, 3, 4])
@pytest.mark.parametrize("depth", [2, 3, 4, 5])
def test_entropy_is_half_log_gram_determinant_of_the_orbit(dim, depth):
    """S(X) = (N-1) log vol(O(d)) + 1/2 log det Gram(orbit map at the identity),
    the Gram matrix over an orthonormal basis of so(d)^{N-1}; the same at any
    point of the orbit (the action is isometric)."""
    rng = np.random.default_rng(10 * dim + depth)
    point = rng.standard_normal((dim, dim))
    constant = (depth - 1) * ent.log_orthogonal_group_volume(dim)
    balanced = center(gs.array(point), depth)
    gauges = np.stack([_orthogonal(rng, dim) for _ in range(depth - 1)])
    moved = gauge_action(gs.array(gauges), balanced)
    value = float(ent.entropy(gs.array(point), depth))
    for parameters in [balanced, moved]:
        basis = np.asarray(orbit_basis(parameters)).reshape(
            (depth - 1) * dim * (dim - 1) // 2, -1
        )
        _, log_det = np.linalg.slogdet(basis @ basis.T)
        assert abs(value - (constant + 0.5 * log_det)) < 1e-10 * max(1, abs(value))


def _rotation(angle):
    c, s = anp.cos(angle), anp.sin(angle)
    return anp.array([[c, -s], [s, c]])


def _orbit_volume_by_quadrature(point, depth, n_nodes=3):
    """vol(O_X) for d = 2 from the explicit parametrization of MATH §4,
    ``W_N = U Lam Q_{N-1}^T, W_k = Q_k Lam Q_{k-1}^T, W_1 = Q_1 Lam V^T``, with
    ``Q_k = R(t_k) F^{c_k}`` (``F`` a reflection): the sum over the 2^{N-1}
    components of the integral over the torus of sqrt det(J^T J), by the
    periodic trapezoidal rule (``n_nodes`` per angle)."""
    u, s, v_t = np.linalg.svd(point)
    lam = np.diag(s ** (1.0 / depth))
    reflection = np.diag([1.0, -1.0])
    total = 0.0
    for components in np.ndindex(*(2,) * (depth - 1)):

        def layers(angles, components=components):
            gauges = [
                anp.dot(_rotation(angles[k]), np.linalg.matrix_power(reflection, c))
                for k, c in enumerate(components)
            ]
            frames = [v_t.T] + gauges + [u]  # Q_0 = V, Q_N = U
            return anp.concatenate(
                [
                    anp.dot(anp.dot(frames[k], lam), frames[k - 1].T).ravel()
                    for k in range(1, depth + 1)
                ]
            )

        jacobian = autograd.jacobian(layers)
        grid = np.linspace(0, 2 * np.pi, n_nodes, endpoint=False)
        for angles in np.stack(np.meshgrid(*[grid] * (depth - 1)), -1).reshape(
            -1, depth - 1
        ):
            j = jacobian(angles)
            total += np.sqrt(np.linalg.det(j.T @ j))
    return total * (2 * np.pi / n_nodes) ** (depth - 1)


@pytest.mark.parametrize("depth", [2, 3])
def test_entropy_is_log_orbit_volume_by_quadrature_d2(depth):
    rng = np.random.default_rng(depth)
    point = rng.standard_normal((2, 2))
    volume = _orbit_volume_by_quadrature(point, depth)
    assert float(ent.entropy(gs.array(point), depth)) == pytest.approx(
        math.log(volume), rel=1e-12
    )


def test_entropy_closed_form_d2_depth2():
    """d = 2, N = 2: a_12 = s1 + s2 and vol(O(2)) = 4 pi sqrt 2, so
    S = log(4 pi sqrt 2) + 1/2 log(s1 + s2) = log(4 pi sqrt(2 (s1 + s2)))."""
    rng = np.random.default_rng(1)
    points = rng.standard_normal((5, 2, 2))
    s = np.linalg.svd(points, compute_uv=False)
    expected = np.log(4 * np.pi * np.sqrt(2 * (s[:, 0] + s[:, 1])))
    np.testing.assert_allclose(
        ent.entropy(gs.array(points), 2), expected, rtol=1e-14, atol=0
    )


@pytest.mark.parametrize("depth", [1, 2, 3, 7, math.inf])
def test_entropy_d1_and_depth1(depth):
    points = gs.array([[[2.0]], [[-0.3]]])
    expected = 0.0 if depth == math.inf else (depth - 1) * math.log(2.0)
    np.testing.assert_allclose(ent.entropy(points, depth), [expected] * 2, atol=1e-15)
    np.testing.assert_allclose(ent.entropy_gradient(points, depth), 0.0, atol=0)
    rng = np.random.default_rng(2)
    point = gs.array(rng.standard_normal((3, 3)))
    assert float(ent.entropy(point, 1)) == 0.0
    np.testing.assert_array_equal(ent.entropy_gradient(point, 1), 0.0)


# ----------------------------------------------------------- mpmath references
def _coefficient_mp(s_i, s_j, depth):
    if depth == math.inf:
        if s_i == s_j:
            return s_i**2
        return (s_i**2 - s_j**2) / (mpmath.log(s_i**2) - mpmath.log(s_j**2))
    return mpmath.fsum(
        s_i ** (mpmath.mpf(2 * (depth - p)) / depth)
        * s_j ** (mpmath.mpf(2 * (p - 1)) / depth)
        for p in range(1, depth + 1)
    )


def _entropy_mp(s, depth):
    """S(s) from the sum form of a_ij (log-mean for N = inf), in mpmath."""
    dim = len(s)
    total = mpmath.fsum(
        mpmath.log(_coefficient_mp(s[i], s[j], depth))
        for i in range(dim)
        for j in range(i + 1, dim)
    )
    if depth != math.inf:
        volume = (
            mpmath.mpf(2) ** (mpmath.mpf(dim * (dim - 1)) / 4 + dim)
            * mpmath.pi ** (mpmath.mpf(dim * (dim + 1)) / 4)
            / mpmath.fprod(mpmath.gamma(mpmath.mpf(k) / 2) for k in range(1, dim + 1))
        )
        total += 2 * (depth - 1) * mpmath.log(volume)
    return total / 2


def _entropy_gradient_mp(s, depth):
    gradient = []
    for i in range(len(s)):

        def along(t, i=i):
            return _entropy_mp(s[:i] + [t] + s[i + 1 :], depth)

        gradient.append(mpmath.diff(along, s[i], h=mpmath.mpf(10) ** -25))
    return gradient


SPECTRA = {
    "gap 1e-10": [2.0, 1.0 + 1e-10, 1.0, 0.5],
    "gap 1e-13": [1.7, 1.7 * (1 - 1e-13), 0.3 * (1 + 1e-13), 0.3],
    "equal": [1.2, 1.2, 1.2, 0.4],
    "spread": [1e4, 3.0, 1.0, 1e-4],
}


@pytest.mark.parametrize("name", sorted(SPECTRA))
@pytest.mark.parametrize("depth", [2, 3, 16, math.inf])
def test_entropy_and_gradient_match_mpmath(name, depth):
    mpmath.mp.dps = 60
    s = np.array(SPECTRA[name])
    s_mp = [mpmath.mpf(float(x)) for x in s]
    exact = _entropy_mp(s_mp, depth)
    exact_gradient = np.array([float(g) for g in _entropy_gradient_mp(s_mp, depth)])
    # As functions of s: full relative accuracy, per component.
    value = float(ent.entropy_from_singular_values(gs.array(s), depth))
    assert abs(value - float(exact)) <= 1e-14 * max(1.0, abs(float(exact)))
    gradient = np.asarray(ent.entropy_gradient_from_singular_values(gs.array(s), depth))
    np.testing.assert_allclose(gradient, exact_gradient, rtol=1e-13, atol=0)
    if name == "spread":
        # Through X, s_min = 1e-4 moves by ~eps |X| = 1e-12 (any float SVD): the
        # condition of the problem, not of the formula, limits the accuracy.
        return
    # Through the SVD of X = U diag(s) V^T (rounding moves s by ~1e-16).
    rng = np.random.default_rng(3)
    left, right = _orthogonal(rng, len(s)), _orthogonal(rng, len(s))
    point = left @ np.diag(s) @ right.T
    assert float(ent.entropy(gs.array(point), depth)) == pytest.approx(
        float(exact), rel=1e-10
    )
    expected = left @ np.diag(exact_gradient) @ right.T
    error = np.linalg.norm(ent.entropy_gradient(gs.array(point), depth) - expected)
    assert error <= 1e-10 * np.linalg.norm(expected)


# -------------------------------------------------- gradients, autodiff, FD
def _reference_entropy(point, depth):
    """S(X) up to its constant, from anp.linalg.svd and the quotient form of a_ij
    (well-separated singular values only)."""
    s = anp.linalg.svd(point, full_matrices=False)[1]
    total = 0.0
    for i in range(len(s)):
        for j in range(i + 1, len(s)):
            if depth == math.inf:
                pair = (s[i] ** 2 - s[j] ** 2) / (
                    anp.log(s[i] ** 2) - anp.log(s[j] ** 2)
                )
            else:
                pair = (s[i] ** 2 - s[j] ** 2) / (
                    s[i] ** (2.0 / depth) - s[j] ** (2.0 / depth)
                )
            total = total + anp.log(pair)
    return 0.5 * total


@pytest.mark.parametrize("dim", [2, 4])
@pytest.mark.parametrize("depth", [2, 3, 5, 20, math.inf])
def test_gradient_matches_autograd_and_finite_differences(dim, depth):
    rng = np.random.default_rng(dim * 7)
    point = rng.standard_normal((dim, dim))
    gradient = np.asarray(ent.entropy_gradient(gs.array(point), depth))
    expected = autograd.grad(_reference_entropy)(point, depth)
    np.testing.assert_allclose(gradient, expected, rtol=1e-11, atol=1e-12)
    step = 1e-5
    finite = np.zeros_like(point)
    for index in np.ndindex(point.shape):
        bump = np.zeros_like(point)
        bump[index] = step
        finite[index] = (
            float(ent.entropy(gs.array(point + bump), depth))
            - float(ent.entropy(gs.array(point - bump), depth))
        ) / (2 * step)
    np.testing.assert_allclose(gradient, finite, rtol=1e-7, atol=1e-8)


@pytest.mark.skipif(not AUTOGRAD_BACKEND, reason="autodiff of the library needs it")
@pytest.mark.parametrize("depth", [3, math.inf])
def test_entropy_is_differentiable_under_autograd_backend(depth):
    rng = np.random.default_rng(4)
    point = rng.standard_normal((3, 3))
    gradient = autograd.grad(lambda x: ent.entropy(x, depth))(point)
    np.testing.assert_allclose(
        gradient, ent.entropy_gradient(point, depth), rtol=1e-11, atol=1e-12
    )


def test_gradient_is_batched():
    rng = np.random.default_rng(5)
    points = gs.array(rng.standard_normal((2, 3, 3, 3)))
    for depth in [3, math.inf]:
        batched = ent.entropy_gradient(points, depth)
        values = ent.entropy(points, depth)
        assert batched.shape == (2, 3, 3, 3) and values.shape == (2, 3)
        for index in np.ndindex(2, 3):
            np.testing.assert_allclose(
                batched[index], ent.entropy_gradient(points[index], depth), rtol=1e-14
            )
            assert values[index] == pytest.approx(
                float(ent.entropy(points[index], depth)), rel=1e-15
            )


@pytest.mark.parametrize("depth", [1, 2, 3, math.inf])
def test_riemannian_gradient_is_dense_operator_of_gradient(depth):
    rng = np.random.default_rng(6)
    point = _separated(rng, 3)
    gradient = np.asarray(ent.entropy_gradient(gs.array(point), depth))
    expected = reference.operator_matrix(point, depth) @ gradient.ravel()
    np.testing.assert_allclose(
        np.asarray(ent.entropy_riemannian_gradient(gs.array(point), depth)).ravel(),
        expected,
        rtol=1e-10,
        atol=1e-12,
    )


def test_infinite_depth_limit_at_rate_one_over_depth():
    """a_ij^{(N)} / N -> logarithmic mean, so
    S_N - (N-1) log vol(O(d)) - (d(d-1)/4) log N -> S_inf, error ~ c / N."""
    rng = np.random.default_rng(7)
    dim = 3
    point = gs.array(_separated(rng, dim))
    s = [mpmath.mpf(float(x)) for x in np.linalg.svd(point, compute_uv=False)]
    mpmath.mp.dps = 30
    s_inf = float(ent.entropy(point, math.inf))
    assert s_inf == pytest.approx(float(_entropy_mp(s, math.inf)), rel=1e-14)
    limit_gradient = np.asarray(ent.entropy_gradient(point, math.inf))
    errors, gradient_errors = [], []
    depths = [100, 200, 400, 800]
    for depth in depths:
        shifted = (
            float(ent.entropy(point, depth))
            - (depth - 1) * ent.log_orthogonal_group_volume(dim)
            - dim * (dim - 1) / 4 * math.log(depth)
        )
        errors.append(shifted - s_inf)
        gradient_errors.append(
            np.linalg.norm(ent.entropy_gradient(point, depth) - limit_gradient)
        )
    for sequence in [errors, gradient_errors]:
        ratios = np.array(sequence[1:]) / np.array(sequence[:-1])
        np.testing.assert_allclose(ratios, 0.5, atol=0.01)
    assert abs(errors[-1]) < 1.0 / depths[-1]


# ------------------------------------------------------------- volume density
@pytest.mark.parametrize("shape", [(2, 2), (3, 3), (2, 3), (3, 2)])
@pytest.mark.parametrize("depth", [1, 2, 3, math.inf])
def test_volume_density_is_sqrt_det_metric(shape, depth):
    if depth == math.inf and shape[0] != shape[1]:
        pytest.skip("the infinite-depth metric is degenerate on rectangular X")
    rng = np.random.default_rng(8)
    point = rng.standard_normal(shape)
    metric = EndToEndMatrices(*shape, depth=depth).metric
    metric_det = np.linalg.det(np.asarray(metric.metric_matrix(gs.array(point))))
    _, log_det_operator = np.linalg.slogdet(reference.operator_matrix(point, depth))
    density = float(ent.volume_density(gs.array(point), depth))
    assert density == pytest.approx(np.sqrt(metric_det), rel=1e-10)
    assert float(ent.log_volume_density(gs.array(point), depth)) == pytest.approx(
        -0.5 * log_det_operator, rel=1e-10, abs=1e-12
    )


def test_volume_density_batched():
    rng = np.random.default_rng(9)
    points = gs.array(rng.standard_normal((4, 3, 3)))
    values = ent.volume_density(points, 3)
    assert values.shape == (4,)
    for k in range(4):
        assert values[k] == pytest.approx(float(ent.volume_density(points[k], 3)))


# ----------------------------------------------------------------- free energy
def _quadratic_problem(seed=11, dim=3):
    rng = np.random.default_rng(seed)
    target = _with_singular_values(rng, [2.0, 1.0, 0.2])
    start = _separated(rng, dim, 0.6, 1.4)
    return QuadraticLoss(target), start


@pytest.mark.parametrize("depth", [2, 4, math.inf])
def test_free_energy_value_and_gradient(depth):
    loss, point = _quadratic_problem()
    beta = 3.0
    energy = free_energy(loss, depth, beta)
    assert isinstance(energy, FreeEnergy)
    expected = float(loss.value(point)) - float(ent.entropy(point, depth)) / beta
    assert float(energy.value(point)) == pytest.approx(expected, rel=1e-14)
    step = 1e-6
    finite = np.zeros_like(point)
    for index in np.ndindex(point.shape):
        bump = np.zeros_like(point)
        bump[index] = step
        finite[index] = (
            float(energy.value(point + bump)) - float(energy.value(point - bump))
        ) / (2 * step)
    np.testing.assert_allclose(energy.gradient(point), finite, rtol=1e-7, atol=1e-8)
    riemannian = reference.operator_matrix(point, depth) @ finite.ravel()
    np.testing.assert_allclose(
        np.asarray(energy.riemannian_gradient(point)).ravel(),
        riemannian,
        rtol=1e-6,
        atol=1e-7,
    )


@pytest.mark.parametrize("depth", [2, 4, math.inf])
def test_free_energy_decays_at_rate_metric_norm_of_gradient(depth):
    """dF/dt = -g(grad F, grad F) = -<A^{-1} X', X'> along the field."""
    loss, point = _quadratic_problem()
    beta = 2.0
    energy = free_energy(loss, depth, beta)
    field = free_energy_gradient_field(loss, depth, beta)
    velocity = field(point)
    step = 1e-5
    rate = (
        float(energy.value(point + step * velocity))
        - float(energy.value(point - step * velocity))
    ) / (2 * step)
    operator = reference.operator_matrix(point, depth)
    squared_norm = velocity.ravel() @ np.linalg.solve(operator, velocity.ravel())
    assert rate == pytest.approx(-squared_norm, rel=1e-7)


def test_free_energy_decreases_along_integrated_trajectory():
    loss, point = _quadratic_problem()
    field = free_energy_gradient_field(loss, 3, beta=1.0)
    trajectory = integrate(field, point, 2.0, n_steps=200, record_every=10)
    assert set(trajectory.observables) >= {
        "loss",
        "entropy",
        "free_energy",
        "singular_values",
    }
    values = trajectory["free_energy"]
    assert np.all(np.diff(values) < 0)
    np.testing.assert_allclose(
        values, trajectory["loss"] - trajectory["entropy"] / 1.0, rtol=1e-14
    )


def test_free_energy_flow_tends_to_riemannian_flow_as_beta_grows():
    loss, point = _quadratic_problem()
    depth = 3
    plain = integrate(
        riemannian_gradient_field(loss, depth), point, 0.5, n_steps=50
    ).final_state
    gaps = []
    for beta in [1e2, 1e3, 1e4]:
        field = free_energy_gradient_field(loss, depth, beta)
        gaps.append(
            np.linalg.norm(integrate(field, point, 0.5, n_steps=50).final_state - plain)
        )
    np.testing.assert_allclose(np.array(gaps[1:]) / np.array(gaps[:-1]), 0.1, rtol=1e-2)
    assert gaps[-1] < 1e-3
    infinite = free_energy_gradient_field(loss, depth, math.inf)
    np.testing.assert_allclose(
        infinite(point), riemannian_gradient_field(loss, depth)(point), rtol=1e-15
    )


def test_free_energy_rejects_bad_beta_and_loss():
    loss, _ = _quadratic_problem()
    for beta in [0.0, -1.0, float("nan")]:
        with pytest.raises(ValueError, match="beta"):
            free_energy(loss, 2, beta)
    with pytest.raises(TypeError, match="beta"):
        free_energy(loss, 2, "hot")
    with pytest.raises(TypeError, match="value"):
        free_energy_gradient_field(object(), 2, 1.0)


# ------------------------------------------------------------------ bad input
BAD_CALLS = [
    lambda x: ent.entropy(x, 3),
    lambda x: ent.entropy_gradient(x, 3),
    lambda x: ent.entropy_riemannian_gradient(x, math.inf),
    lambda x: ent.volume_density(x, 2),
    lambda x: free_energy_gradient_field(QuadraticLoss(np.eye(x.shape[-1])), 2, 1.0)(x),
]


@pytest.mark.parametrize("call", range(len(BAD_CALLS)))
def test_bad_input_raises_value_error(call):
    function = BAD_CALLS[call]
    singular = gs.array(np.outer([1.0, 2.0, 3.0], [1.0, -1.0, 0.5]))
    with pytest.raises(ValueError, match="smallest singular value"):
        function(singular)
    with pytest.raises(ValueError, match="non-finite"):
        function(gs.array([[1.0, np.nan], [0.0, 1.0]]))
    if call < 3:
        with pytest.raises(ValueError, match="square"):
            function(gs.array(np.arange(6.0).reshape(2, 3) + np.eye(2, 3)))
