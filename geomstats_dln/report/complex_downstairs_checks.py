"""Report checks of the complex network downstairs (F = C, issue 14).

Parts of :mod:`geomstats_dln.report.complex_section`: the metric ``g^N`` on
complex end-to-end matrices against the dense operator ``A = D D^*`` of the
balanced complex end-to-end map, the depth-2 metric on Hermitian positive
definite matrices against geomstats' ``HPDBuresWassersteinMetric``, the
unitary gauge-orbit entropy against the Gram determinant of an orthonormal
orbit basis, and Dyson's Hermitian process against the GUE moments. Each part
returns ``(markdown, checks)`` like the other report parts.
"""

from __future__ import annotations

import numpy as np

from geomstats.geometry.hpd_matrices import HPDBuresWassersteinMetric, HPDMatrices

from geomstats_dln.bures_wasserstein import DLNBuresWassersteinMetric
from geomstats_dln.dynamics.sde_examples import dyson_brownian_motion
from geomstats_dln.end_to_end import EndToEndMatrices
from geomstats_dln.orbit_entropy import entropy, log_unitary_group_volume
from geomstats_dln.report._framework import Check, ReportContext, markdown_table

__all__ = [
    "dyson_gue_moments",
    "hpd_bures_wasserstein",
    "metric_operator_dense",
    "unitary_orbit_entropy",
]


def _complex_gaussian(rng, shape):
    return (rng.normal(size=shape) + 1j * rng.normal(size=shape)) / np.sqrt(2.0)


def _adjoint(matrix):
    return np.conj(np.swapaxes(matrix, -1, -2))


def _unitary(rng, dim):
    q, r = np.linalg.qr(_complex_gaussian(rng, (dim, dim)))
    return q * (np.diag(r) / np.abs(np.diag(r)))


def _realify(matrix):
    return np.concatenate([matrix.real.ravel(), matrix.imag.ravel()])


def _product(layers):
    result = layers[0]
    for layer in layers[1:]:
        result = layer @ result
    return result


def _balanced_layers(point, depth, rng):
    """``W_1 = Q_1 S^{1/N} V^*``, ``W_k = Q_k S^{1/N} Q_{k-1}^*``,
    ``W_N = U S^{1/N} Q_{N-1}^*`` from the thin SVD ``X = U S V^*``."""
    left, s, right_h = np.linalg.svd(point, full_matrices=False)
    root = np.diag(s ** (1.0 / depth))
    gauges = [_unitary(rng, len(s)) for _ in range(depth - 1)]
    layers = [gauges[0] @ root @ right_h]
    for k in range(1, depth - 1):
        layers.append(gauges[k] @ root @ _adjoint(gauges[k - 1]))
    layers.append(left @ root @ _adjoint(gauges[-1]))
    return layers


def _submersion_operator(layers):
    """``D D^T`` as a real matrix, ``D`` the real-linear differential of the
    end-to-end map on the real and imaginary unit directions of each entry."""
    columns = []
    for k, layer in enumerate(layers):
        for unit in (1.0, 1j):
            for index in np.ndindex(layer.shape):
                varied = list(layers)
                varied[k] = np.zeros(layer.shape, dtype=complex)
                varied[k][index] = unit
                columns.append(_realify(_product(varied)))
    differential = np.array(columns).T
    return differential @ differential.T


def _relative(error, reference) -> float:
    return float(np.linalg.norm(error) / max(np.linalg.norm(reference), 1e-300))


def _rows(heading: str, text: str, checks: list[Check]):
    table = markdown_table(
        ("check", "measured", "tolerance", "result"),
        [(c.name, float(c.value), float(c.tolerance), c.verdict) for c in checks],
    )
    return f"### {heading}\n\n{text}\n\n{table}", checks


def metric_operator_dense(ctx: ReportContext):
    """``DLNMetric`` over C against ``A = D D^*`` written from the definition."""
    rng = np.random.default_rng(ctx.seed + 21)
    checks = []
    for shape in ((3, 3), (2, 3)):
        for depth in (2, 3):
            point = 0.3 * _complex_gaussian(rng, shape) + np.eye(*shape)
            dense = _submersion_operator(_balanced_layers(point, depth, rng))
            metric = EndToEndMatrices(*shape, depth=depth, field="complex").metric
            vec_a, vec_b = _complex_gaussian(rng, (2,) + shape)
            image = np.asarray(metric.operator(vec_a, point))
            expected = dense @ _realify(vec_a)
            inner = float(metric.inner_product(vec_a, vec_b, point))
            dense_inner = float(
                np.linalg.solve(dense, _realify(vec_a)) @ _realify(vec_b)
            )
            label = f"{shape[0]}x{shape[1]}, N = {depth}"
            checks += [
                Check(
                    f"A(Z) vs D D^* Z, {label}",
                    _relative(_realify(image) - expected, expected),
                    1e-10,
                ),
                Check(
                    f"g(Z1, Z2) vs dense solve, {label}",
                    abs(inner - dense_inner) / max(abs(dense_inner), 1e-300),
                    1e-9,
                ),
            ]
    return _rows(
        "Complex metric operator against the dense definition",
        "For balanced complex layers W (unitary gauges) over a complex full-rank "
        "X, the real 2nm x 2nm matrix D D^T of the real-linear differential D of "
        "(W_N, ..., W_1) -> W_N ... W_1 is the operator A_{N,X} of g^N over C "
        "(submersion identity); DLNMetric computes it in the complex SVD frame "
        "U (a_ij (U^* Z V)_ij) V^*, and g^N = Re tr(A^{-1}(Z1)^* Z2).",
        checks,
    )


def hpd_bures_wasserstein(ctx: ReportContext):
    """``g^2`` on HPD matrices against twice geomstats' HPD Bures-Wasserstein."""
    rng = np.random.default_rng(ctx.seed + 22)
    dim = 3
    factor = _complex_gaussian(rng, (2, dim, dim))
    point_a, point_b = factor @ _adjoint(factor) + 0.3 * np.eye(dim)
    vector = _complex_gaussian(rng, (dim, dim))
    hermitian = vector + _adjoint(vector)
    space = HPDMatrices(dim, equip=False)
    ours, theirs = DLNBuresWassersteinMetric(space), HPDBuresWassersteinMetric(space)
    complex_dln = EndToEndMatrices(dim, depth=2, field="complex").metric
    inner = 2 * np.real(theirs.inner_product(hermitian, hermitian, point_a))
    squared = 2 * theirs.squared_dist(point_a, point_b)
    log = theirs.log(point_b, point_a)
    checks = [
        Check(
            "g^2 vs 2 g_BW (Hermitian vectors)",
            abs(ours.inner_product(hermitian, hermitian, point_a) - inner) / inner,
            1e-10,
        ),
        Check(
            "complex DLNMetric(N = 2) at HPD X vs 2 Re g_BW (any Z)",
            abs(
                complex_dln.inner_product(vector, vector, point_a)
                - 2 * np.real(theirs.inner_product(vector, vector, point_a))
            )
            / abs(2 * np.real(theirs.inner_product(vector, vector, point_a))),
            1e-10,
        ),
        Check(
            "d^2 vs 2 d_BW^2",
            abs(ours.squared_dist(point_a, point_b) - squared) / squared,
            1e-9,
        ),
        Check(
            "log vs geomstats' log",
            _relative(ours.log(point_b, point_a) - log, log),
            1e-9,
        ),
        Check(
            "exp(log) = Y",
            _relative(ours.exp(ours.log(point_b, point_a), point_a) - point_b, point_b),
            1e-9,
        ),
    ]
    return _rows(
        "N = 2 on Hermitian positive definite matrices",
        "At X = W W^* (tied complex depth-2 network), A_{2,X}(Z) = X Z + Z X: g^2 "
        "is twice the real part of geomstats' HPDBuresWassersteinMetric, and the "
        "closed forms carry over with conjugate transposes, "
        "d^2 = 2 (tr X + tr Y - 2 tr (X^{1/2} Y X^{1/2})^{1/2}).",
        checks,
    )


def _unitary_orbit_log_gram(layers):
    dim, depth = layers[0].shape[0], len(layers)
    algebra = []
    for i in range(dim):
        for j in range(i + 1, dim):
            real = np.zeros((dim, dim), dtype=complex)
            real[i, j], real[j, i] = 1.0, -1.0
            imaginary = np.zeros((dim, dim), dtype=complex)
            imaginary[i, j] = imaginary[j, i] = 1j
            algebra += [real / np.sqrt(2.0), imaginary / np.sqrt(2.0)]
    for j in range(dim):
        phase = np.zeros((dim, dim), dtype=complex)
        phase[j, j] = 1j
        algebra.append(phase)
    rows = []
    for k in range(1, depth):
        for xi in algebra:
            images = [np.zeros_like(layer) for layer in layers]
            images[k - 1] = xi @ layers[k - 1]
            images[k] = -layers[k] @ xi
            rows.append(np.concatenate([_realify(image) for image in images]))
    rows = np.array(rows)
    return np.linalg.slogdet(rows @ rows.T)[1]


def unitary_orbit_entropy(ctx: ReportContext):
    """``S(X) = log vol(O_X)`` over C against the Gram determinant of the orbit."""
    rng = np.random.default_rng(ctx.seed + 23)
    checks = []
    for dim in (2, 3):
        for depth in (2, 3, 4):
            point = _complex_gaussian(rng, (dim, dim))
            layers = _balanced_layers(point, depth, rng)
            expected = (depth - 1) * log_unitary_group_volume(dim) + 0.5 * (
                _unitary_orbit_log_gram(layers)
            )
            value = float(entropy(point, depth))
            checks.append(
                Check(
                    f"d = {dim}, N = {depth}: |S - log vol| / |log vol|",
                    abs(value - expected) / max(abs(expected), 1.0),
                    1e-10,
                )
            )
    return _rows(
        "Unitary gauge-orbit entropy against the Gram determinant",
        "Over C the fiber in the balanced manifold is a free U(d)^(N-1) orbit; "
        "S(X) = (N-1) log vol U(d) + 1/2 sum_{i,j} log a_ij (two real directions "
        "per off-diagonal pair, the phases give a_jj; vol U(d) = (2 pi)^{d(d+1)/2} "
        "/ prod_{k<d} k!) against (N-1) log vol U(d) + 1/2 log det of the Gram "
        "matrix of the orbit map over an orthonormal basis of u(d)^(N-1), "
        "evaluated densely at random balanced complex layers.",
        checks,
    )


def dyson_gue_moments(ctx: ReportContext):
    """Hermitian Dyson Brownian motion (beta = 2) from 0 against GUE moments."""
    n, t_final = 3, 0.7
    n_paths = 1000 if ctx.quick else 4000
    eigenvalues = dyson_brownian_motion(
        np.zeros(n),
        2.0,
        t_final,
        4,
        n_paths=n_paths,
        seed=ctx.seed + 24,
        field="complex",
    )
    checks = []
    for power, expected in ((2, n**2 * t_final), (4, (2 * n**3 + n) * t_final**2)):
        samples = np.sum(eigenvalues**power, axis=-1)
        z_score = abs(samples.mean() - expected) / (samples.std() / np.sqrt(n_paths))
        checks.append(
            Check(f"E tr M^{power}: |mean - theory| / standard error", z_score, 4.0)
        )
    return _rows(
        "Dyson Brownian motion on Hermitian matrices (repulsion 1)",
        f"{n_paths} paths of dM = dH (beta = 2, Hermitian H) from M(0) = 0 to t = "
        f"{t_final}: M(t) is GUE with E|M_ij|^2 = t, so E tr M^2 = n^2 t and "
        "E tr M^4 = (2 n^3 + n) t^2 (Wigner); the eigenvalues follow "
        "dl_i = sum_j dt / (l_i - l_j) + dB_i (survey (11.1)).",
        checks,
    )
