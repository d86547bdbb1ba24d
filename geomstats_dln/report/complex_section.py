"""Report section: the complex deep linear network (F = C).

The balancedness paper works over F = R or C and does every computation over
C. Each check below runs the library on complex input and compares it with an
independent computation written from the definitions with conjugate
transposes (dense real-linear operators on ``C^n = R^{2n}``, finite
differences in the two real directions of each entry, a theorem's
prediction). One function per check; :data:`PARTS` lists them in order.

Upstairs (parameters, fibers, balanced manifold): the real case embedded in
the complex one, the lifted gradient against finite differences, Hermitian
moments conserved along a gradient flow, the Kempf-Ness minimum over C, the
Riemannian submersion identity onto complex end-to-end matrices.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from geomstats_dln.balanced import (
    BalancedManifold,
    best_gauge,
    center,
    gauge_action,
    horizontal_lift,
    random_gauges,
    vertical_projection,
)
from geomstats_dln.dynamics.regularizing import (
    integrate_complex,
    kirwan_ness_field,
    l2_regularizing_field,
)
from geomstats_dln.end_to_end import EndToEndMatrices
from geomstats_dln.fibers import fiber_projection, gl_action
from geomstats_dln.parameters import (
    differential,
    end_to_end,
    lifted_gradient,
    moments,
)
from geomstats_dln.report._framework import (
    Check,
    ReportContext,
    SectionResult,
    assemble_section,
    markdown_table,
    new_figure,
    save_figure,
)
from geomstats_dln.report.complex_downstairs_checks import (
    dyson_gue_moments,
    hpd_bures_wasserstein,
    metric_operator_dense,
    unitary_orbit_entropy,
)

TITLE = "The complex network (F = C)"
FIGURE_KEMPF_NESS = "complex_kempf_ness.png"


def _rows(heading: str, text: str, checks: list[Check]) -> tuple[str, list[Check]]:
    """Markdown of one check: heading, explanation, table of its rows."""
    table = markdown_table(
        ("check", "measured", "tolerance", "result"),
        [(c.name, float(c.value), float(c.tolerance), c.verdict) for c in checks],
    )
    return f"### {heading}\n\n{text}\n\n{table}", checks


def complex_gaussian(rng: np.random.Generator, shape, scale: float = 1.0):
    """Complex Gaussian array, real and imaginary parts of std ``scale / sqrt 2``."""
    return scale / np.sqrt(2.0) * (rng.normal(size=shape) + 1j * rng.normal(size=shape))


def _relative(error, reference) -> float:
    return float(np.linalg.norm(error) / max(np.linalg.norm(reference), 1e-300))


# ------------------------------------------------------------- upstairs checks
def real_case_embedded(ctx: ReportContext):
    """Real layers given as complex arrays (zero imaginary part) give the real
    answers: end-to-end map, moments, differential, lifted gradient, fiber
    projection, center, horizontal lift, vertical projection."""
    rng = np.random.default_rng(ctx.seed)
    depth, dim = 3, 3
    layers = rng.normal(size=(depth, dim, dim))
    vector = rng.normal(size=(depth, dim, dim))
    covector = rng.normal(size=(dim, dim))
    balanced = np.asarray(
        gauge_action(random_gauges(depth, dim), center(covector, depth))
    )
    pairs = {
        "end_to_end": (lambda w, v, e: end_to_end(w), 1e-14),
        "moments": (lambda w, v, e: moments(w), 1e-14),
        "differential": (differential_pair, 1e-14),
        "lifted_gradient": (lambda w, v, e: lifted_gradient(e, w), 1e-14),
        "fiber_projection": (lambda w, v, e: fiber_projection(v, w), 1e-10),
        "center": (lambda w, v, e: center(e, depth), 1e-12),
        "horizontal_lift": (
            lambda w, v, e: horizontal_lift(e, balanced + 0 * w),
            1e-10,
        ),
        "vertical_projection": (
            lambda w, v, e: vertical_projection(v, balanced + 0 * w),
            1e-10,
        ),
    }
    checks = []
    for name, (function, tolerance) in pairs.items():
        real = np.asarray(function(layers, vector, covector))
        embedded = np.asarray(function(layers + 0j, vector + 0j, covector + 0j))
        gap = _relative(embedded - real, real) + float(np.abs(embedded.imag).max())
        checks.append(Check(f"{name}: complex code on real input", gap, tolerance))
    return _rows(
        "The real case embedded in the complex one",
        "Real layers passed as complex128 arrays: relative gap to the real "
        "answer plus the largest imaginary part of the result.",
        checks,
    )


def differential_pair(layers, vector, _covector):
    return differential(vector, layers)


def lifted_gradient_finite_differences(ctx: ReportContext):
    """The lift ``above_k^* E' below_k^*`` is the gradient of ``E o phi`` for
    ``Re tr``: central differences along ``E_ij`` and ``i E_ij`` of each layer."""
    rng = np.random.default_rng(ctx.seed + 1)
    depth, dim = 3, 2
    layers = complex_gaussian(rng, (depth, dim, dim))
    target = complex_gaussian(rng, (dim, dim))

    def loss(w):
        return 0.5 * float(np.sum(np.abs(end_to_end(w) - target) ** 2))

    step = 1e-6
    numeric = np.zeros(layers.shape, dtype=complex)
    for index in np.ndindex(layers.shape):
        for unit in (1.0, 1j):
            shift = np.zeros(layers.shape, dtype=complex)
            shift[index] = unit * step
            slope = (loss(layers + shift) - loss(layers - shift)) / (2 * step)
            numeric[index] += unit * slope
    lifted = np.asarray(lifted_gradient(end_to_end(layers) - target, layers))
    gap = _relative(lifted - numeric, numeric)
    return _rows(
        "Lifted gradient over C",
        "Gradient of E(phi(W)) = |phi(W) - T|^2 / 2 for the inner product "
        "Re tr(A^* B): the library's above_k^* E'(X) below_k^* against central "
        "differences (step 1e-6) along the 2 N d^2 real directions.",
        [Check("relative gap to finite differences", gap, 1e-8)],
    )


def moments_conserved(ctx: ReportContext):
    """Hermitian moments, conserved along the gradient flow of a lifted loss
    (balancedness (1.7), survey Thm 1a over C)."""
    rng = np.random.default_rng(ctx.seed + 2)
    depth, dim = 3, 3
    start = complex_gaussian(rng, (depth, dim, dim))
    target = complex_gaussian(rng, (dim, dim))

    def field(_, y):
        w = y.reshape(start.shape)
        return -np.asarray(lifted_gradient(end_to_end(w) - target, w)).ravel()

    solution = solve_ivp(
        field, (0.0, 1.0), start.ravel(), method="DOP853", rtol=1e-11, atol=1e-13
    )
    end = solution.y[:, -1].reshape(start.shape)
    initial, final = np.asarray(moments(start)), np.asarray(moments(end))
    hermitian = float(np.abs(final - np.conj(np.swapaxes(final, -1, -2))).max())
    drift = _relative(final - initial, initial)
    loss_drop = float(
        np.sum(np.abs(end_to_end(end) - target) ** 2)
        / np.sum(np.abs(end_to_end(start) - target) ** 2)
    )
    return _rows(
        "Moments over C",
        "G_k = W_k W_k^* - W_{k+1}^* W_{k+1} along W' = -grad E(phi(W)) from "
        "complex Gaussian layers, t in [0, 1] (DOP853 on the complex state, "
        f"rtol 1e-11); the loss fell to {loss_drop:.3g} of its start.",
        [
            Check("max |G - G^*| at t = 1", hermitian, 1e-12),
            Check("|G(1) - G(0)| / |G(0)|", drift, 1e-8),
            Check("loss(1) / loss(0) (the flow trains)", loss_drop, 0.9),
        ],
    )


def _realify(array):
    array = np.asarray(array)
    return np.concatenate([array.real.ravel(), array.imag.ravel()])


def _dense_jacobian(function, point, step: float = 1e-6):
    """Real Jacobian of ``function`` at complex ``point``: central differences
    along ``E_ij`` and ``i E_ij`` of every entry."""
    columns = []
    for unit in (1.0, 1j):
        for index in np.ndindex(point.shape):
            shift = np.zeros(point.shape, dtype=complex)
            shift[index] = unit * step
            columns.append(
                _realify(np.asarray(function(point + shift)) - function(point - shift))
                / (2 * step)
            )
    return np.stack(columns, axis=1)


def _hermitian_moments(layers):
    return np.stack(
        [
            layers[k] @ layers[k].conj().T - layers[k + 1].conj().T @ layers[k + 1]
            for k in range(len(layers) - 1)
        ]
    )


def _product(layers):
    matrix = layers[0]
    for layer in layers[1:]:
        matrix = layer @ matrix
    return matrix


def submersion_identity(ctx: ReportContext):
    """``|lift(Z)|^2 = g^N_X(Z, Z)`` at random balanced complex points, against
    ``z^T (D D^T)^{-1} z`` (``D`` the dense real Jacobian of the end-to-end map
    by central differences) and against ``DLNMetric.inner_product``."""
    rng = np.random.default_rng(ctx.seed + 3)
    sizes = [(2, 2), (3, 3)] if ctx.quick else [(2, 2), (3, 3), (4, 3), (3, 5)]
    dense_gap = metric_gap = lift_gap = 0.0
    for depth, dim in sizes:
        matrix = complex_gaussian(rng, (dim, dim))
        layers = np.asarray(
            gauge_action(
                random_gauges(depth, dim, field="complex"), center(matrix, depth)
            )
        )
        tangent = complex_gaussian(rng, (dim, dim))
        lift = np.asarray(horizontal_lift(tangent, layers))
        squared = float(np.sum(np.abs(lift) ** 2))
        jacobian = _dense_jacobian(_product, layers)
        z = _realify(tangent)
        dense = float(z @ np.linalg.solve(jacobian @ jacobian.T, z))
        metric = EndToEndMatrices(dim, depth=depth).metric
        downstairs = float(metric.inner_product(tangent, tangent, matrix))
        dense_gap = max(dense_gap, abs(squared - dense) / dense)
        metric_gap = max(metric_gap, abs(squared - downstairs) / downstairs)
        image = np.asarray(differential(lift, layers))
        lift_gap = max(lift_gap, _relative(image - tangent, tangent))
    sizes_text = ", ".join(f"(N, d) = ({n}, {d})" for n, d in sizes)
    return _rows(
        "Riemannian submersion onto complex end-to-end matrices",
        "At balanced W = Q.center(X) with Haar U(d) gauges and complex Gaussian X, "
        f"Z ({sizes_text}): |h|^2 = Re tr(h^* h) for the horizontal lift h = "
        "above_k^* A^{-1}(Z) below_k^*, against z^T (D D^T)^{-1} z with D the "
        "2 d^2 x 2 N d^2 real Jacobian of phi by central differences (step "
        "1e-6), and against DLNMetric.inner_product(Z, Z, X) over C. Largest "
        "relative gaps.",
        [
            Check("dphi(h) = Z", lift_gap, 1e-12),
            Check("|h|^2 vs dense z^T (D D^T)^{-1} z", dense_gap, 1e-7),
            Check("|h|^2 vs DLNMetric g^N(Z, Z)", metric_gap, 1e-10),
        ],
    )


def balanced_dimension(ctx: ReportContext):
    """``dim M = 2 d^2 + (N-1) d^2`` over C against ``2 N d^2 - rank dG``."""
    rows = []
    for depth, dim in [(2, 2), (3, 2), (3, 3)]:
        manifold = BalancedManifold(dim, depth, field="complex")
        layers = np.asarray(manifold.random_point())  # geomstats' seeded state
        jacobian = _dense_jacobian(_hermitian_moments, layers)
        rank = np.linalg.matrix_rank(jacobian, tol=1e-6)
        measured = 2 * depth * dim**2 - rank
        rows.append(
            Check(
                f"(N, d) = ({depth}, {dim}): |dim - (2 N d^2 - rank dG)|",
                float(abs(manifold.dim - measured)),
                0.0,
            )
        )
    return _rows(
        "Dimension of the complex balanced manifold",
        "BalancedManifold(d, N, field='complex').dim = 2 d^2 + (N-1) d^2 "
        "(GL(d; C) has 2 d^2 real dimensions, the free U(d)^(N-1) gauge orbit "
        "(N-1) d^2) against 2 N d^2 minus the rank of the dense Jacobian of the "
        "Hermitian moments at a random balanced point.",
        rows,
    )


def kempf_ness(ctx: ReportContext):
    """Balancedness Thms 1, 2, 10 over C: both flows from a point of F_X end at
    the minimum ``N sum s^{2/N}`` of ``|W|^2`` on the fiber, balanced, in the
    ``U(d)^{N-1}``-orbit of the center; ``G(t) = G(0) e^{-2t}`` (L2)."""
    rng = np.random.default_rng(ctx.seed + 5)
    depth, dim = 3, 3
    matrix = complex_gaussian(rng, (dim, dim))
    start = gl_action(
        np.eye(dim) + 0.4 * complex_gaussian(rng, (depth - 1, dim, dim)),
        center(matrix, depth),
    )
    s = np.linalg.svd(matrix, compute_uv=False)
    minimum = depth * float(np.sum(s ** (2.0 / depth)))
    reference = np.asarray(center(matrix, depth))
    l2_time, kn_time = 12.0, 40.0
    l2 = integrate_complex(l2_regularizing_field(), start, l2_time, rtol=1e-11)
    kn = integrate_complex(kirwan_ness_field(), start, kn_time, rtol=1e-11)
    initial = _hermitian_moments(start)
    thm2 = max(
        _relative(_hermitian_moments(w) - initial * np.exp(-2 * t), initial)
        for t, w in zip(l2.times, l2.states, strict=True)
    )
    checks = [Check("L2: max_t |G(t) - G(0) e^{-2t}| / |G(0)| (Thm 2)", thm2, 1e-8)]
    for name, trajectory in (("L2", l2), ("Kirwan-Ness", kn)):
        limit = trajectory.final_state
        norm = float(np.sum(np.abs(limit) ** 2))
        orbit_gap = _relative(
            np.asarray(gauge_action(best_gauge(limit, reference), reference)) - limit,
            limit,
        )
        moment_size = float(np.linalg.norm(_hermitian_moments(limit))) / norm
        drift = _relative(_product(limit) - matrix, matrix)
        checks += [
            Check(
                f"{name}: | |W|^2 - N sum s^(2/N) | / min",
                abs(norm - minimum) / minimum,
                1e-7,
            ),
            Check(f"{name}: |G| / |W|^2 at the end", moment_size, 1e-7),
            Check(f"{name}: |phi(W) - X| / |X|", drift, 1e-9),
            Check(f"{name}: distance to the U(d)^(N-1) orbit", orbit_gap, 1e-6),
        ]
    figure = new_figure(figsize=(11, 4))
    left, right = figure.subplots(1, 2)
    fine = np.linspace(0.0, l2_time, 200)
    g0 = float(np.linalg.norm(initial))
    left.semilogy(fine, g0 * np.exp(-2 * fine), "k-", lw=1, label="|G(0)| e^{-2t}")
    for name, trajectory, style in (("L2", l2, "o"), ("Kirwan-Ness", kn, "s")):
        left.semilogy(
            trajectory.times, trajectory["moment_norm"], style, ms=4, label=name
        )
        right.plot(
            trajectory.times,
            trajectory["frobenius_norm_squared"],
            style + "-",
            ms=3,
            lw=0.8,
            label=name,
        )
    left.set(xlabel="t", ylabel="|G(W(t))|", xlim=(0, kn_time), ylim=(1e-14, None))
    left.set_title(f"moments over C, d = {dim}, N = {depth}")
    left.legend()
    right.axhline(minimum, color="k", lw=1, label="N sum s^(2/N) (Thm 1)")
    right.set(xlabel="t", ylabel="|W(t)|^2", xscale="symlog", xlim=(0, kn_time))
    right.set_title("|W|^2 decreases to the Kempf-Ness minimum")
    right.legend()
    save_figure(ctx, figure, FIGURE_KEMPF_NESS)
    text, checks = _rows(
        "Kempf-Ness over C",
        f"From A.center(X), A_k = I + 0.4 (complex Gaussian), N = {depth}, d = "
        f"{dim}: the L2 regularizing flow to t = {l2_time:g} and the Kirwan-Ness "
        f"flow to t = {kn_time:g} (DOP853 on (Re W, Im W), rtol 1e-11). "
        "Balancedness Thm 1 (over C): the minimum of |W|^2 on F_X is N sum_i "
        "s_i^(2/N), attained exactly on one U(d)^(N-1)-orbit of balanced points; "
        "the orbit distance is |W - Q.center(X)| / |W| with Q from unitary "
        "alternating Procrustes (best_gauge). In the figure the Kirwan-Ness "
        "|G| levels off near rtol |W|^2, the accuracy of the integrator.",
        checks,
    )
    figure_link = f"![Kempf-Ness over C: moments and norms]({FIGURE_KEMPF_NESS})"
    return f"{text}\n\n{figure_link}", checks, FIGURE_KEMPF_NESS


PARTS = [
    real_case_embedded,
    lifted_gradient_finite_differences,
    moments_conserved,
    balanced_dimension,
    kempf_ness,
    submersion_identity,
    # downstairs (geomstats_dln.report.complex_downstairs_checks)
    metric_operator_dense,
    hpd_bures_wasserstein,
    unitary_orbit_entropy,
    dyson_gue_moments,
]
"""The checks of the section, in order (one function per check)."""


def section(ctx: ReportContext) -> SectionResult:
    """The complex network: upstairs and downstairs checks over F = C."""
    intro = (
        "The deep linear network over F = C (docs/mathematics.md, 'The complex "
        "network'; balancedness paper §1.1): complex layers, conjugate "
        "transposes in place of transposes, the real inner product "
        "Re tr(A^* B) on M_d(C), U(d) gauges. Every check compares the library "
        "on complex input with an independent computation from the "
        "definitions."
    )
    return assemble_section(ctx, TITLE, intro, PARTS)
