"""The complex DLN downstairs (F = C, balancedness paper 002): g^N on complex
end-to-end matrices, the HPD case, unitary gauge orbits and Dyson's process,
against independent computations written from the definitions."""

import math

import numpy as np
import pytest

from geomstats_dln import EndToEndMatrices


def _complex_gaussian(rng, shape):
    return rng.normal(size=shape) + 1j * rng.normal(size=shape)


def _unitary(rng, d):
    q, r = np.linalg.qr(_complex_gaussian(rng, (d, d)))
    return q * (np.diag(r) / np.abs(np.diag(r)))


def _well_conditioned(rng, n, m):
    return 0.3 * _complex_gaussian(rng, (n, m)) + np.eye(n, m)


def _balanced_layers(point, depth, rng):
    """Balanced complex layers ``W_N ... W_1 = X`` (widths ``r = min(n, m)``):
    ``W_1 = Q_1 S^{1/N} V^*``, ``W_k = Q_k S^{1/N} Q_{k-1}^*``,
    ``W_N = U S^{1/N} Q_{N-1}^*`` from ``X = U S V^*`` (thin SVD), ``Q_k``
    random unitary; then ``W_{k+1}^* W_{k+1} = W_k W_k^*``."""
    left, s, right_h = np.linalg.svd(point, full_matrices=False)
    root = np.diag(s ** (1.0 / depth))
    if depth == 1:
        return [point]
    gauges = [_unitary(rng, len(s)) for _ in range(depth - 1)]
    layers = [gauges[0] @ root @ right_h]
    for k in range(1, depth - 1):
        layers.append(gauges[k] @ root @ gauges[k - 1].conj().T)
    layers.append(left @ root @ gauges[-1].conj().T)
    return layers


def _realify(matrix):
    return np.concatenate([matrix.real.ravel(), matrix.imag.ravel()])


def _complexify(vector, shape):
    half = vector.size // 2
    return (vector[:half] + 1j * vector[half:]).reshape(shape)


def _product(layers):
    result = layers[0]
    for layer in layers[1:]:
        result = layer @ result
    return result


def _submersion_operator(layers):
    """``A = D D^T`` as a real ``2nm x 2nm`` matrix, ``D`` the real-linear
    differential of ``(W_N, ..., W_1) -> W_N ... W_1`` at the layers, column by
    column on the real and imaginary unit directions of every layer entry."""
    columns = []
    for k, layer in enumerate(layers):
        for unit in (1.0, 1j):
            for index in np.ndindex(layer.shape):
                direction = np.zeros(layer.shape, dtype=complex)
                direction[index] = unit
                varied = list(layers)
                varied[k] = direction
                columns.append(_realify(_product(varied)))
    differential = np.array(columns).T
    return differential @ differential.T


def _definition_operator(point, tangent_vec, depth):
    """``sum_p (X X^*)^{(N-p)/N} Z (X^* X)^{(p-1)/N}`` by Hermitian ``eigh``."""

    def power(gram, exponent):
        values, vectors = np.linalg.eigh(gram)
        values = np.clip(values, 0.0, None)
        with np.errstate(divide="ignore"):
            scaled = np.where(values > 1e-13 * values.max(), values**exponent, 0.0)
        if exponent == 0:
            return np.eye(len(values))
        return (vectors * scaled) @ vectors.conj().T

    left_gram, right_gram = point @ point.conj().T, point.conj().T @ point
    return sum(
        power(left_gram, (depth - p) / depth)
        @ tangent_vec
        @ power(right_gram, (p - 1) / depth)
        for p in range(1, depth + 1)
    )


# ---------------------------------------------------- g^N on complex matrices
@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("shape", [(3, 3), (2, 3), (3, 2)])
def test_complex_operator_is_the_submersion_operator(depth, shape):
    """``A_{N,X} = D D^*`` over C (the submersion identity; paper 002 over F = C)."""
    rng = np.random.default_rng(30)
    point = _well_conditioned(rng, *shape)
    layers = _balanced_layers(point, depth, rng)
    np.testing.assert_allclose(_product(layers), point, atol=1e-12)
    dense = _submersion_operator(layers)
    metric = EndToEndMatrices(*shape, depth=depth, field="complex").metric
    vec_a, vec_b = _complex_gaussian(rng, (2,) + shape)
    image = metric.operator(vec_a, point)
    np.testing.assert_allclose(
        _realify(image), dense @ _realify(vec_a), rtol=1e-11, atol=1e-11
    )
    np.testing.assert_allclose(
        image, _definition_operator(point, vec_a, depth), atol=1e-11
    )
    expected = np.linalg.solve(dense, _realify(vec_a)) @ _realify(vec_b)
    np.testing.assert_allclose(
        metric.inner_product(vec_a, vec_b, point), expected, rtol=1e-10
    )
    np.testing.assert_allclose(
        metric.inverse_operator(vec_a, point),
        _complexify(np.linalg.solve(dense, _realify(vec_a)), shape),
        atol=1e-10,
    )
    np.testing.assert_allclose(
        metric.squared_norm(vec_a, point),
        np.linalg.solve(dense, _realify(vec_a)) @ _realify(vec_a),
        rtol=1e-10,
    )


def test_complex_square_root_and_cometric_and_gradient():
    rng = np.random.default_rng(31)
    point = _well_conditioned(rng, 2, 3)
    metric = EndToEndMatrices(2, 3, depth=3, field="complex").metric
    vec_a, vec_b = _complex_gaussian(rng, (2, 2, 3))
    root = metric.square_root_operator(metric.square_root_operator(vec_a, point), point)
    np.testing.assert_allclose(root, metric.operator(vec_a, point), atol=1e-12)
    dense = _submersion_operator(_balanced_layers(point, 3, rng))
    np.testing.assert_allclose(
        metric.inner_coproduct(vec_a, vec_b, point),
        _realify(vec_a) @ dense @ _realify(vec_b),
        rtol=1e-10,
    )
    # E(X) = |X - Y|^2 / 2 has E'(X) = X - Y for Re tr; grad = A(X - Y), and the
    # directional derivative g(grad E, Z) = dE[Z] = Re tr((X - Y)^* Z).
    target = _complex_gaussian(rng, (2, 3))
    gradient = metric.riemannian_gradient(point - target, point)
    directional = metric.inner_product(gradient, vec_b, point)
    np.testing.assert_allclose(
        directional, np.real(np.vdot(point - target, vec_b)), rtol=1e-11
    )


def test_real_case_embeds_in_the_complex_one():
    """Real input gives today's real answers; a real point seen as complex too."""
    rng = np.random.default_rng(32)
    point = 0.4 * rng.normal(size=(3, 3)) + np.eye(3)
    vec_a, vec_b = rng.normal(size=(2, 3, 3))
    metric = EndToEndMatrices(3, depth=3).metric
    real_value = metric.inner_product(vec_a, vec_b, point)
    assert np.asarray(real_value).dtype == np.float64
    complex_value = metric.inner_product(vec_a + 0j, vec_b + 0j, point + 0j)
    np.testing.assert_allclose(complex_value, real_value, rtol=1e-12)
    # A is C-linear, so a purely imaginary pair has the same inner product.
    np.testing.assert_allclose(
        metric.inner_product(1j * vec_a, 1j * vec_b, point), real_value, rtol=1e-12
    )
    # ... and a real vector against an imaginary one is orthogonal.
    np.testing.assert_allclose(
        metric.inner_product(vec_a, 1j * vec_b, point + 0j), 0.0, atol=1e-13
    )


def test_complex_space_dimension_sampling_and_refusals():
    space = EndToEndMatrices(2, 3, depth=2, field="complex")
    assert space.dim == 12 and EndToEndMatrices(2, 3).dim == 6
    points = space.random_point(400)
    assert points.dtype == np.complex128 and np.all(space.belongs(points))
    # circular complex Gaussian entries: E|z|^2 = 1, E z^2 = 0
    np.testing.assert_allclose(np.mean(np.abs(points) ** 2), 1.0, atol=0.06)
    assert abs(np.mean(points**2)) < 0.06
    assert not space.belongs(np.array([[1.0, 1j, 0.0], [1j, -1.0, 0.0]]))
    singular = np.array([[1.0, 1j, 0.0], [1j, -1.0, 0.0]])
    projected = space.projection(singular)
    assert space.belongs(projected) and np.abs(projected - singular).max() < 1e-5
    assert space.random_tangent_vec(points[0], 3).dtype == np.complex128
    real_space = EndToEndMatrices(2, 3)
    with pytest.raises(TypeError, match=r"belongs.*complex128"):
        real_space.belongs(points[0])
    with pytest.raises(ValueError, match="component"):
        EndToEndMatrices(2, depth=2, component=1, field="complex")
    with pytest.raises(ValueError, match="field"):
        EndToEndMatrices(2, field="quaternion")
    metric = space.metric
    for call in (
        lambda: metric.exp(points[1], points[0]),
        lambda: metric.log(points[1], points[0]),
        lambda: metric.dist(points[1], points[0]),
        lambda: metric.geodesic(points[0], initial_tangent_vec=points[1]),
    ):
        with pytest.raises(TypeError, match=r"complex geodesics.*complex128"):
            call()
    with pytest.raises(TypeError, match=r"metric_matrix.*complex128"):
        metric.metric_matrix(points[0])
    with pytest.raises(ValueError, match="smallest singular value"):
        metric.inner_product(points[1], points[1], singular)
    with pytest.raises(ValueError, match="non-finite"):
        metric.inner_product(points[1] * np.nan, points[1], points[0])


@pytest.mark.parametrize("depth", [2, math.inf])
def test_complex_metric_is_unitarily_invariant(depth):
    """``g_{P X Q}(P Z Q, P W Q) = g_X(Z, W)`` for unitary ``P, Q`` (the SVD
    frame argument over C), compared with the value at the real diagonal
    ``S`` where ``A(E_ij) = a_ij E_ij`` by the definition."""
    rng = np.random.default_rng(33)
    s = np.array([2.0, 1.3, 0.4])
    p, q = _unitary(rng, 3), _unitary(rng, 3)
    vec_a, vec_b = _complex_gaussian(rng, (2, 3, 3))
    metric = EndToEndMatrices(3, depth=depth, field="complex").metric
    if depth == math.inf:
        # logarithmic mean of s_i^2 and s_j^2 (s^2 on the diagonal)
        lam = s**2
        gap = np.subtract.outer(np.log(lam), np.log(lam)) + np.eye(3)
        a = np.subtract.outer(lam, lam) / gap + np.diag(lam)
    else:
        a = s[:, None] + s[None, :]  # (s_i^2 - s_j^2) / (s_i - s_j), 2 s_i
    expected = np.real(np.sum(np.conj(vec_a) * vec_b / a))
    value = metric.inner_product(p @ vec_a @ q, p @ vec_b @ q, p @ np.diag(s) @ q)
    np.testing.assert_allclose(value, expected, rtol=1e-11)


# ------------------------------------------------------ N = 2 on HPD matrices
def _hpd(rng, n, batch=()):
    factor = _complex_gaussian(rng, batch + (n, n))
    return factor @ np.swapaxes(factor.conj(), -1, -2) / n + 0.3 * np.eye(n)


def _hermitian(rng, n, batch=()):
    matrix = _complex_gaussian(rng, batch + (n, n))
    return matrix + np.swapaxes(matrix.conj(), -1, -2)


def _hpd_metrics(n):
    from geomstats.geometry.hpd_matrices import (
        HPDBuresWassersteinMetric,
        HPDMatrices,
    )

    from geomstats_dln import DLNBuresWassersteinMetric

    space = HPDMatrices(n, equip=False)
    return DLNBuresWassersteinMetric(space), HPDBuresWassersteinMetric(space)


def test_hpd_depth_two_metric_is_twice_geomstats_bures_wasserstein():
    rng = np.random.default_rng(40)
    points = _hpd(rng, 3, (4,))
    vec_a, vec_b = _hermitian(rng, 3, (2, 4))
    ours, geomstats_bw = _hpd_metrics(3)
    expected = 2.0 * geomstats_bw.inner_product(vec_a, vec_b, points)
    assert np.abs(np.imag(expected)).max() < 1e-12  # real on Hermitian vectors
    value = ours.inner_product(vec_a, vec_b, points)
    assert value.dtype == np.float64
    np.testing.assert_allclose(value, np.real(expected), rtol=1e-11)
    # ... and the complex g^2 of M_3(C) at the HPD point, on any complex vectors
    # (A_{2,X}(Z) = X Z + Z X there): twice the real part of geomstats' form.
    dln = EndToEndMatrices(3, depth=2, field="complex").metric
    vec_c, vec_d = _complex_gaussian(rng, (2, 4, 3, 3))
    np.testing.assert_allclose(
        dln.inner_product(vec_c, vec_d, points),
        2.0 * np.real(geomstats_bw.inner_product(vec_c, vec_d, points)),
        rtol=1e-10,
    )
    np.testing.assert_allclose(
        dln.inner_product(vec_a, vec_b, points), value, rtol=1e-10
    )


def test_hpd_distance_exp_log_against_geomstats():
    rng = np.random.default_rng(41)
    point_a, point_b = _hpd(rng, 3, (2,))
    ours, geomstats_bw = _hpd_metrics(3)
    np.testing.assert_allclose(
        ours.squared_dist(point_a, point_b),
        2.0 * geomstats_bw.squared_dist(point_a, point_b),
        rtol=1e-10,
    )
    log = ours.log(point_b, point_a)
    np.testing.assert_allclose(log, geomstats_bw.log(point_b, point_a), atol=1e-10)
    np.testing.assert_allclose(log, log.conj().T, atol=1e-12)
    np.testing.assert_allclose(ours.exp(log, point_a), point_b, atol=1e-10)
    vector = 0.2 * _hermitian(rng, 3)
    np.testing.assert_allclose(
        ours.exp(vector, point_a), geomstats_bw.exp(vector, point_a), atol=1e-11
    )
    # the squared distance is the squared norm of the log (Gauss lemma)
    np.testing.assert_allclose(
        ours.squared_norm(log, point_a), ours.squared_dist(point_a, point_b), rtol=1e-9
    )
    path = ours.geodesic(point_a, end_point=point_b)(np.array([0.0, 1.0]))
    np.testing.assert_allclose(path[-1], point_b, atol=1e-10)


def test_real_spd_points_on_the_hpd_space_give_the_spd_answers():
    from geomstats.geometry.spd_matrices import SPDMatrices

    from geomstats_dln import DLNBuresWassersteinMetric

    rng = np.random.default_rng(42)
    factor = rng.normal(size=(3, 3))
    point = factor @ factor.T + 0.5 * np.eye(3)
    other = point + 0.3 * np.eye(3)
    vec = rng.normal(size=(3, 3))
    vec = vec + vec.T
    spd = DLNBuresWassersteinMetric(SPDMatrices(3, equip=False))
    hpd, _ = _hpd_metrics(3)
    np.testing.assert_allclose(
        hpd.inner_product(vec, vec, point + 0j), spd.inner_product(vec, vec, point)
    )
    np.testing.assert_allclose(
        hpd.squared_dist(point + 0j, other), spd.squared_dist(point, other)
    )
    with pytest.raises(TypeError, match=r"base_point must be real.*complex128"):
        spd.inner_product(vec, vec, point + 0j)
    with pytest.raises(TypeError, match=r"christoffels.*HPD"):
        hpd.christoffels(point + 0j)
    with pytest.raises(ValueError, match="not Hermitian"):
        hpd.inner_product(vec, vec, point + 1j * np.triu(np.ones((3, 3)), 1))


def test_numerically_singular_spd_point_is_refused():
    """Issue 15: an SPD matrix with eigenvalue ratio <= 1e-12 is refused (it gave
    1.4e15 for the metric, a number that means nothing)."""
    from geomstats.geometry.spd_matrices import SPDMatrices

    from geomstats_dln import DLNBuresWassersteinMetric
    from geomstats_dln.bures_wasserstein import lyapunov

    singular = np.diag([1.0, 1e-16])
    metric = DLNBuresWassersteinMetric(SPDMatrices(2, equip=False))
    vec = np.ones((2, 2))
    for call in (
        lambda: metric.inner_product(vec, vec, singular),
        lambda: metric.squared_dist(singular, np.eye(2)),
        lambda: metric.log(np.eye(2), singular),
        lambda: metric.exp(vec, singular),
        lambda: metric.injectivity_radius(singular),
        lambda: lyapunov(singular, vec),
    ):
        with pytest.raises(ValueError, match=r"numerically singular.*1\.000e-16"):
            call()
    # just above the threshold the value is the closed form 1/(2 s) + ...
    near = np.diag([1.0, 1e-10])
    unit = np.diag([0.0, 1.0])
    np.testing.assert_allclose(
        metric.inner_product(unit, unit, near), 1.0 / 2e-10, rtol=1e-12
    )


# ------------------------------------------- unitary gauge orbits: entropy
def _unitary_algebra_basis(d):
    """Orthonormal basis of u(d) for Re tr(A^* B): off-diagonal real and
    imaginary pairs, then the phases i E_jj."""
    basis = []
    for i in range(d):
        for j in range(i + 1, d):
            real = np.zeros((d, d), dtype=complex)
            real[i, j], real[j, i] = 1.0, -1.0
            imaginary = np.zeros((d, d), dtype=complex)
            imaginary[i, j] = imaginary[j, i] = 1j
            basis += [real / np.sqrt(2.0), imaginary / np.sqrt(2.0)]
    for j in range(d):
        phase = np.zeros((d, d), dtype=complex)
        phase[j, j] = 1j
        basis.append(phase)
    return basis


def _unitary_orbit_log_gram(layers):
    """``log det`` of the Gram matrix of the orbit map of ``U(d)^{N-1}``,
    ``xi -> (xi_k W_k - W_k xi_{k-1})_k``, over the orthonormal basis of
    ``u(d)^{N-1}``, in the real coordinates of the layers."""
    depth, d = len(layers), layers[0].shape[0]
    rows = []
    for k in range(1, depth):  # gauge between layer k and layer k + 1
        for xi in _unitary_algebra_basis(d):
            images = [np.zeros_like(layer) for layer in layers]
            images[k - 1] = xi @ layers[k - 1]
            images[k] = -layers[k] @ xi
            rows.append(np.concatenate([_realify(image) for image in images]))
    rows = np.array(rows)
    assert np.linalg.matrix_rank(rows) == (depth - 1) * d * d  # a free action
    return np.linalg.slogdet(rows @ rows.T)[1]


def test_unitary_group_volume_known_values_and_sphere_fibration():
    from geomstats_dln.orbit_entropy import unitary_group_volume

    # U(1): the circle e^{i t}, |d/dt| = 1
    assert unitary_group_volume(1) == pytest.approx(2 * math.pi, rel=1e-15)
    for d in range(1, 10):
        spheres = math.prod(
            2 ** (k - 1) * 2 * math.pi**k / math.gamma(k) for k in range(1, d + 1)
        )
        closed_form = (2 * math.pi) ** (d * (d + 1) / 2) / math.prod(
            math.factorial(k) for k in range(1, d)
        )
        assert unitary_group_volume(d) == pytest.approx(spheres, rel=1e-13)
        assert unitary_group_volume(d) == pytest.approx(closed_form, rel=1e-13)


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("depth", [2, 3, 4])
def test_complex_entropy_is_half_log_gram_determinant_of_the_unitary_orbit(dim, depth):
    from geomstats_dln import entropy
    from geomstats_dln.orbit_entropy import log_unitary_group_volume

    rng = np.random.default_rng(50 + 10 * dim + depth)
    point = _complex_gaussian(rng, (dim, dim))
    layers = _balanced_layers(point, depth, rng)
    expected = (depth - 1) * log_unitary_group_volume(dim) + 0.5 * (
        _unitary_orbit_log_gram(layers)
    )
    value = float(entropy(point, depth))
    assert value == pytest.approx(expected, rel=1e-10, abs=1e-10)
    # the real case embedded: a real point as complex has the unitary entropy,
    # not the orthogonal one (the orbit is larger), and the real one is unchanged
    real_point = point.real
    real_layers = _balanced_layers(real_point + 0j, depth, rng)
    expected_real_as_complex = (depth - 1) * log_unitary_group_volume(dim) + 0.5 * (
        _unitary_orbit_log_gram(real_layers)
    )
    assert float(entropy(real_point + 0j, depth)) == pytest.approx(
        expected_real_as_complex, rel=1e-10
    )


def test_complex_entropy_gradient_against_finite_differences():
    from geomstats_dln import entropy, entropy_gradient, entropy_riemannian_gradient

    rng = np.random.default_rng(60)
    point = _well_conditioned(rng, 3, 3)
    direction = _complex_gaussian(rng, (3, 3))
    for depth in (2, 3, math.inf):
        gradient = entropy_gradient(point, depth)
        step = 1e-6
        difference = (
            entropy(point + step * direction, depth)
            - entropy(point - step * direction, depth)
        ) / (2 * step)
        # dS[Z] = Re tr(grad^* Z)
        assert np.real(np.vdot(gradient, direction)) == pytest.approx(
            difference, rel=1e-7
        )
        metric = EndToEndMatrices(3, depth=depth, field="complex").metric
        np.testing.assert_allclose(
            entropy_riemannian_gradient(point, depth),
            metric.operator(gradient, point),
            atol=1e-12,
        )


@pytest.mark.parametrize("shape", [(2, 2), (2, 3), (3, 2)])
def test_complex_volume_density_is_sqrt_det_of_the_dense_metric(shape):
    from geomstats_dln import log_volume_density, volume_density

    rng = np.random.default_rng(61)
    point = _well_conditioned(rng, *shape)
    dense = _submersion_operator(_balanced_layers(point, 3, rng))
    expected = -0.5 * np.linalg.slogdet(dense)[1]
    assert float(log_volume_density(point, 3)) == pytest.approx(expected, rel=1e-10)
    assert float(volume_density(point, 3)) == pytest.approx(
        math.exp(expected), rel=1e-9
    )


# ---------------------------------------- Dyson Brownian motion, beta = 2
def test_hermitian_dyson_from_zero_has_gue_moments():
    """From ``M(0) = 0``, ``beta = 2``: ``M(t)`` is GUE with ``E|M_ij|^2 = t``, so
    ``E tr M^2 = n^2 t`` and ``E tr M^4 = (2 n^3 + n) t^2`` (Wigner's genus
    expansion); the sample means agree within 4 standard errors."""
    from geomstats_dln.dynamics import dyson_brownian_motion

    n, t_final, n_paths = 3, 0.7, 4000
    eigenvalues = dyson_brownian_motion(
        np.zeros(n), 2.0, t_final, 4, n_paths=n_paths, seed=70, field="complex"
    )
    for power, expected in ((2, n**2 * t_final), (4, (2 * n**3 + n) * t_final**2)):
        samples = np.sum(eigenvalues**power, axis=-1)
        error = abs(samples.mean() - expected) / (samples.std() / np.sqrt(n_paths))
        assert error < 4.0, (power, samples.mean(), expected)
    # the semicircle's fourth moment 2 differs from the Gaussian 3 (no
    # repulsion): the real symmetric process with the same variance does not match
    real = dyson_brownian_motion(np.zeros(n), 2.0, t_final, 4, n_paths=n_paths, seed=71)
    samples = np.sum(real**4, axis=-1)
    assert abs(samples.mean() - (2 * n**3 + n) * t_final**2) > 4 * (
        samples.std() / np.sqrt(n_paths)
    )


def test_hermitian_dyson_gap_is_a_bessel_three_process():
    """``n = 2``, repulsion 1, ``beta = 2``: the gap ``g`` solves
    ``dg = 2/g dt + sqrt 2 dW``, so ``r = g / sqrt 2`` is BES(3), the norm of a 3-d
    Brownian motion: ``r_t^2 / t`` is noncentral chi-square (3 degrees of
    freedom, noncentrality ``r_0^2 / t``); the centre is ``N(c_0, t / 2)``.
    Kolmogorov-Smirnov against both, for the matrix process and the eigenvalue
    SDE; the real symmetric process (repulsion 1/2, BES(2)) is rejected."""
    from scipy import stats

    from geomstats_dln.dynamics import dyson_brownian_motion, dyson_eigenvalue_sde

    initial, t_final, n_paths = np.array([-0.4, 0.6]), 0.5, 2000
    radius = (initial[1] - initial[0]) / np.sqrt(2.0)
    law = stats.ncx2(3, radius**2 / t_final).cdf
    centre = stats.norm(initial.mean(), np.sqrt(t_final / 2)).cdf
    matrices = dyson_brownian_motion(
        initial, 2.0, t_final, 5, n_paths=n_paths, seed=72, field="complex"
    )
    walk = dyson_eigenvalue_sde(initial, 2.0, t_final, 1000, n_paths=n_paths, seed=73)
    for eigenvalues in (matrices, walk):
        gap_squared = (eigenvalues[:, 1] - eigenvalues[:, 0]) ** 2 / 2 / t_final
        assert stats.kstest(gap_squared, law).pvalue > 1e-3
        assert stats.kstest(eigenvalues.mean(axis=-1), centre).pvalue > 1e-3
    real = dyson_brownian_motion(initial, 2.0, t_final, 5, n_paths=n_paths, seed=74)
    gap_squared = (real[:, 1] - real[:, 0]) ** 2 / 2 / t_final
    assert stats.kstest(gap_squared, law).pvalue < 1e-6


def test_dyson_refuses_complex_eigenvalues():
    from geomstats_dln.dynamics import dyson_brownian_motion, dyson_eigenvalue_sde

    for function in (dyson_brownian_motion, dyson_eigenvalue_sde):
        with pytest.raises(TypeError, match=rf"{function.__name__}.*complex128"):
            function(np.array([0.0, 1j]), 2.0, 0.1, 2)


def test_entropy_from_singular_values_by_field():
    from geomstats_dln import entropy
    from geomstats_dln.orbit_entropy import (
        entropy_from_singular_values,
        entropy_gradient_from_singular_values,
    )

    rng = np.random.default_rng(62)
    s = np.array([2.0, 1.1, 0.3])
    point = _unitary(rng, 3) @ np.diag(s) @ _unitary(rng, 3)
    for depth in (2, 5, math.inf):
        assert float(entropy_from_singular_values(s, depth, "complex")) == (
            pytest.approx(float(entropy(point, depth)), rel=1e-12)
        )
        # dS/ds by central differences of S(s) over C
        step = 1e-6
        for i in range(3):
            shift = np.zeros(3)
            shift[i] = step
            difference = (
                entropy_from_singular_values(s + shift, depth, "complex")
                - entropy_from_singular_values(s - shift, depth, "complex")
            ) / (2 * step)
            assert entropy_gradient_from_singular_values(s, depth, "complex")[
                i
            ] == pytest.approx(float(difference), rel=1e-7)
    with pytest.raises(ValueError, match="field"):
        entropy_from_singular_values(s, 2, "quaternion")
