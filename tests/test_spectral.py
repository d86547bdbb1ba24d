"""The spectral calculus against mpmath, the definition and autodiff."""

import math

import autograd
import mpmath
import numpy as np
import pytest

from geomstats_dln import _spectral as spectral
from tests import _reference as reference

DEPTHS = [1, 2, 3, 5, math.inf]
FINITE_DEPTHS = [1, 2, 3, 5]


def _coefficient_mpmath(s_i, s_j, depth):
    s_i, s_j = mpmath.mpf(s_i), mpmath.mpf(s_j)
    if depth == math.inf:
        if s_i == s_j:
            return s_i**2
        return (s_i**2 - s_j**2) / (mpmath.log(s_i**2) - mpmath.log(s_j**2))
    return mpmath.fsum(
        s_i ** (mpmath.mpf(2 * (depth - p)) / depth)
        * s_j ** (mpmath.mpf(2 * (p - 1)) / depth)
        for p in range(1, depth + 1)
    )


@pytest.mark.parametrize("depth", [1, 2, 3, 7, 16, math.inf])
def test_coefficients_match_sum_form_with_colliding_values(depth):
    mpmath.mp.dps = 40
    # Pairs that agree to 1e-12 and 3e-9, one exact repeat, one wide gap.
    s = np.array([4.0, 1.3, 1.3 * (1 + 1e-12), 1.3, 0.4, 0.4 * (1 + 3e-9), 1e-3])
    coefficients = spectral.dln_coefficients(s, s, depth)
    for i in range(len(s)):
        for j in range(len(s)):
            exact = _coefficient_mpmath(s[i], s[j], depth)
            assert abs(float((coefficients[i, j] - exact) / exact)) < 1e-13


def test_coefficients_are_symmetric_and_diagonal_limit():
    s = np.array([2.0, 1.5, 0.3])
    for depth in [2, 3, 6]:
        a = spectral.dln_coefficients(s, s, depth)
        np.testing.assert_allclose(a, a.T, rtol=1e-15)
        np.testing.assert_allclose(
            np.diag(a), depth * s ** (2 * (depth - 1) / depth), rtol=1e-14
        )


def test_coefficients_with_zero_singular_value():
    s = np.array([1.7, 0.6])
    a = spectral.dln_coefficients(s, np.array([1.7, 0.6, 0.0]), 3)
    np.testing.assert_allclose(a[:, 2], s ** (4 / 3), rtol=1e-14)


def test_infinite_depth_is_limit_of_rescaled_operator():
    s = np.array([2.0, 1.1, 0.5])
    limit = spectral.dln_coefficients(s, s, math.inf)
    errors = [
        np.abs(spectral.dln_coefficients(s, s, depth) / depth - limit).max()
        for depth in (100, 1000, 10000)
    ]
    # A_N / N -> A_inf at rate 1/N (survey Lemma 3).
    assert errors[2] < 1e-3
    assert 8 < errors[0] / errors[1] < 12 and 8 < errors[1] / errors[2] < 12


def _second_dd_mpmath(nodes, depth):
    f = mpmath.exp if depth == math.inf else (lambda t: t**depth)
    lo, mid, hi = sorted(mpmath.mpf(x) for x in nodes)

    def first(a, b):
        return mpmath.diff(f, a) if a == b else (f(b) - f(a)) / (b - a)

    if lo == hi:
        return mpmath.diff(f, lo, 2) / 2
    return (first(mid, hi) - first(lo, mid)) / (hi - lo)


@pytest.mark.parametrize("depth", [2, 3, 7, 40, math.inf])
def test_second_divided_difference_against_mpmath(depth):
    mpmath.mp.dps = 50
    s = np.array([1.3, 1.3 * (1 + 1e-12), 1.3 * (1 + 2e-6), 0.9, 0.4])
    x = spectral.power_coordinates(s, depth)
    values = spectral.second_divided_difference(
        x[:, None, None], x[None, :, None], x[None, None, :], depth
    )
    for i in range(len(s)):
        for k in range(len(s)):
            for j in range(len(s)):
                exact = _second_dd_mpmath((x[i], x[k], x[j]), depth)
                assert abs(float((values[i, k, j] - exact) / exact)) < 1e-11


def _frame_case(rng, shape):
    point = rng.normal(size=shape) + 0.5 * np.eye(*shape)
    return point, rng.normal(size=shape), rng.normal(size=shape)


SHAPES = [(3, 3), (2, 4), (4, 2)]


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("shape", SHAPES)
def test_operator_matches_definition(depth, shape):
    if depth == math.inf and shape[0] != shape[1]:
        pytest.skip("the infinite-depth metric is only defined on square matrices")
    rng = np.random.default_rng(1)
    point, tangent_vec, _ = _frame_case(rng, shape)
    frame = spectral.svd_frame(point, depth)
    expected = reference.operator(point, tangent_vec, depth)
    result = spectral.apply_operator(frame, tangent_vec, 1.0)
    np.testing.assert_allclose(result, expected, rtol=1e-11, atol=1e-11)
    inverse = spectral.apply_operator(frame, result, -1.0)
    np.testing.assert_allclose(inverse, tangent_vec, rtol=1e-11, atol=1e-11)
    half = spectral.apply_operator(
        frame, spectral.apply_operator(frame, tangent_vec, 0.5), 0.5
    )
    np.testing.assert_allclose(half, result, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("shape", SHAPES)
def test_hamiltonian_gradient_matches_autodiff(depth, shape):
    if depth == math.inf and shape[0] != shape[1]:
        pytest.skip("square only")
    rng = np.random.default_rng(2)
    point, momentum, _ = _frame_case(rng, shape)
    expected = autograd.grad(reference.hamiltonian)(point, momentum, depth)
    velocity, gradient = spectral.operator_and_hamiltonian_gradient(
        point, momentum, depth
    )
    scale = np.abs(expected).max() + 1.0
    np.testing.assert_allclose(gradient, expected, atol=1e-10 * scale)
    np.testing.assert_allclose(
        velocity, reference.operator(point, momentum, depth), rtol=1e-11, atol=1e-11
    )


def test_hamiltonian_gradient_with_colliding_singular_values():
    # Exact repeated singular values: the divided differences take their limits.
    rng = np.random.default_rng(3)
    left, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    right, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    s = np.array([1.5, 0.8 * (1 + 1e-9), 0.8])
    point = (left * s) @ right.T
    momentum = rng.normal(size=(3, 3))
    for depth in [3, math.inf]:
        gradient = spectral.hamiltonian_gradient(point, momentum, depth)
        step = 1e-5
        fd = np.zeros((3, 3))
        for idx in np.ndindex(3, 3):
            e = np.zeros((3, 3))
            e[idx] = step
            fd[idx] = (
                reference.hamiltonian(point + e, momentum, depth)
                - reference.hamiltonian(point - e, momentum, depth)
            ) / (2 * step)
        assert np.all(np.isfinite(gradient))
        np.testing.assert_allclose(gradient, fd, atol=1e-6 * np.abs(fd).max())


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("shape", SHAPES)
def test_operator_derivative_matches_autodiff(depth, shape):
    if depth == math.inf and shape[0] != shape[1]:
        pytest.skip("square only")
    rng = np.random.default_rng(4)
    point, direction, momentum = _frame_case(rng, shape)

    def along(epsilon):
        return reference.operator(point + epsilon * direction, momentum, depth)

    expected = autograd.jacobian(along)(0.0)
    result = spectral.operator_derivative(point, direction, momentum, depth)
    np.testing.assert_allclose(
        result, expected, atol=1e-10 * (np.abs(expected).max() + 1.0)
    )


@pytest.mark.parametrize("depth", [1, 2, 3, math.inf])
def test_geodesic_acceleration_is_christoffel_contraction(depth):
    # -Gamma^k_ij v^i v^j with Gamma from central differences of the metric matrix
    # of the reference operator (Koszul formula), an independent route.
    rng = np.random.default_rng(5)
    point, velocity, _ = _frame_case(rng, (2, 2))
    flat_v = velocity.ravel()

    def metric_matrix(flat_point):
        return np.linalg.inv(reference.operator_matrix(flat_point.reshape(2, 2), depth))

    step = 1e-5
    flat = point.ravel()
    derivative = np.zeros((4, 4, 4))  # [i, j, l] = d_l g_ij
    for k in range(4):
        e = np.zeros(4)
        e[k] = step
        derivative[:, :, k] = (metric_matrix(flat + e) - metric_matrix(flat - e)) / (
            2 * step
        )
    inverse = np.linalg.inv(metric_matrix(flat))
    # Gamma^k_ij = 1/2 g^kl (d_i g_jl + d_j g_il - d_l g_ij)
    christoffel = 0.5 * (
        np.einsum("kl,jli->kij", inverse, derivative)
        + np.einsum("kl,ilj->kij", inverse, derivative)
        - np.einsum("kl,ijl->kij", inverse, derivative)
    )
    expected = -np.einsum("kij,i,j->k", christoffel, flat_v, flat_v)
    result = spectral.geodesic_acceleration(point, velocity, depth).ravel()
    np.testing.assert_allclose(
        result, expected, atol=1e-7 * (np.abs(expected).max() + 1)
    )


def test_rank_deficient_point_is_rejected_with_shape_and_singular_value():
    point = np.array([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(ValueError, match=r"\(2, 2\).*smallest singular value"):
        spectral.svd_frame(point, 3)
    with pytest.raises(ValueError, match="not full rank"):
        spectral.hamiltonian_gradient(point, np.eye(2), 3)
    with pytest.raises(ValueError, match="non-finite"):
        spectral.svd_frame(np.array([[1.0, np.nan], [0.0, 1.0]]), 2)


def test_infinite_depth_rejects_rectangular():
    with pytest.raises(ValueError, match="rectangular"):
        spectral.svd_frame(np.ones((2, 3)) + np.eye(2, 3), math.inf)


@pytest.mark.parametrize("bad", [0, -1, 2.5, "3", True])
def test_depth_validation(bad):
    with pytest.raises((ValueError, TypeError), match="depth"):
        spectral.check_depth(bad)


@pytest.mark.parametrize("depth", [1, 2, 3, 6])
def test_single_matrix_fast_path_matches_batched_path(depth):
    # One square matrix takes a leaner code path than a batch; both must agree.
    rng = np.random.default_rng(6)
    points = rng.normal(size=(2, 4, 4)) + np.eye(4)
    momenta = rng.normal(size=(2, 4, 4))
    velocity, gradient = spectral.operator_and_hamiltonian_gradient(
        points, momenta, depth
    )
    for k in range(2):
        single = spectral.operator_and_hamiltonian_gradient(
            points[k], momenta[k], depth
        )
        np.testing.assert_allclose(single[0], velocity[k], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(single[1], gradient[k], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("depth", [1, 2, 3, 6])
def test_single_matrix_acceleration_matches_batched_path(depth):
    rng = np.random.default_rng(7)
    points = rng.normal(size=(2, 4, 4)) + np.eye(4)
    velocities = rng.normal(size=(2, 4, 4))
    batched = spectral.geodesic_acceleration(points, velocities, depth)
    for k in range(2):
        single = spectral.geodesic_acceleration(points[k], velocities[k], depth)
        np.testing.assert_allclose(single, batched[k], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(3, 3), (2, 3), (3, 2)])
def test_lower_index_inverts_the_operator(shape):
    rng = np.random.default_rng(8)
    point = rng.normal(size=shape) + np.eye(*shape)
    vec = rng.normal(size=shape)
    for depth in [2, 3]:
        lowered = spectral.lower_index(point, vec, depth)
        np.testing.assert_allclose(
            reference.operator(point, lowered, depth), vec, atol=1e-11
        )
        batched = spectral.lower_index(point[None], vec[None], depth)[0]
        np.testing.assert_allclose(batched, lowered, atol=1e-12)


@pytest.mark.parametrize("shape", [(3, 3), (2, 4), (4, 2)])
@pytest.mark.parametrize("depth", [17, 30])
def test_deep_kernel_route_equals_layer_sums(monkeypatch, shape, depth):
    """The depth-independent route (tensors of second divided differences)
    against the sums over the N layers, for the force, dA and the acceleration
    (general and lean paths)."""
    rng = np.random.default_rng(3)
    point, momentum, direction = rng.normal(size=(3,) + shape)

    def evaluate():
        values = (
            spectral.operator_and_hamiltonian_gradient(point, momentum, depth)[1],
            spectral.operator_derivative(point, direction, momentum, depth),
            spectral.geodesic_acceleration(point, direction, depth),
        )
        if shape[0] == shape[1]:  # the integrator's lean path for one square X
            values += spectral.square_operator_and_hamiltonian_gradient(
                point, momentum, depth, None
            )
        return values

    monkeypatch.setattr(spectral, "uses_kernel", lambda depth, shape: True)
    kernel = evaluate()
    monkeypatch.setattr(spectral, "uses_kernel", lambda depth, shape: False)
    sums = evaluate()
    for a, b in zip(kernel, sums, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-12 * np.abs(b).max())


@pytest.mark.parametrize("depth", [40, 400, math.inf])
def test_square_kernel_matches_a_60_digit_reference(depth):
    """The square kernel D[i,k,j] = f[x_i, x_k, x_j] / f[x_i, x_k] (gaps taken
    from log s^2) against 60-digit divided differences, with a tie and a near
    tie among the singular values: relative error within 10 N eps (the
    rounding of x = s^{2/N} itself), 1e-14 at N = inf."""
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 60
    rng = np.random.default_rng(5)
    if depth == math.inf:
        f = mpmath.exp
    else:

        def f(t):
            return t**depth

    def first(a, b):
        return mpmath.diff(f, a) if a == b else (f(a) - f(b)) / (a - b)

    def second(a, b, c):
        a, b, c = sorted([a, b, c])
        return (
            mpmath.diff(f, a, 2) / 2
            if a == c
            else (first(c, b) - first(b, a)) / (c - a)
        )

    for case in range(3):
        s = np.sort(np.exp(2.0 * rng.normal(size=4)))[::-1].copy()
        if case == 1:
            s[1] = s[2]
        elif case == 2:
            s[2] = s[1] * (1 - 1e-5)
        if depth == math.inf:
            nodes = [2 * mpmath.log(mpmath.mpf(v)) for v in s]
        else:
            nodes = [mpmath.mpf(v) ** (mpmath.mpf(2) / depth) for v in s]
        expected = np.array(
            [
                [[float(second(a, b, c) / first(a, b)) for c in nodes] for b in nodes]
                for a in nodes
            ]
        )
        x = spectral.power_coordinates(s, depth, np)
        a = spectral.dln_coefficients(s, s, depth, np)
        kernel = spectral._kernel(x, a, depth, singular_values=s)
        bound = 1e-14 if depth == math.inf else 10 * depth * np.finfo(float).eps
        assert np.max(np.abs(kernel - expected) / np.abs(expected)) < bound
