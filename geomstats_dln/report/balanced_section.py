"""Report section: balanced networks and the Riemannian submersion (MATH §1-2, §4).

(a) Conservation of the moments G under gradient training (survey Thm 1a) and
    the end-to-end velocity formula of Thm 1b.
(b) The submersion identity on random samples: |h|^2 = g^N_X(Z, Z),
    dphi(h) = Z, h orthogonal to the gauge orbit (survey Thm 13).
(c) The tangent space of the balanced manifold against a dense computation.
(d) Horizontal geodesics of M map to geodesics of (M_d, g^N) (O'Neill).
(e) Figure: d = 1, N = 2, the hyperbola picture.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from geomstats_dln.balanced import (
    balanced_exp,
    center,
    gauge_action,
    horizontal_lift,
    moment_differential,
    random_gauges,
    tangent_basis,
    to_tangent,
)
from geomstats_dln.end_to_end import EndToEndMatrices
from geomstats_dln.parameters import differential, end_to_end, lifted_gradient, moments
from geomstats_dln.report._framework import (
    Check,
    ReportContext,
    SectionResult,
    assemble_section,
    markdown_table,
    new_figure,
    save_figure,
)

TITLE = "Balanced networks and the Riemannian submersion"
FIGURE = "balanced_hyperbola.png"
TOL_CONSERVATION = 1e-8
TOL_SUBMERSION = 1e-10
TOL_THM_1B = 1e-6  # Richardson-extrapolated central differences in time


def _gradient_flow(start, target, t_final=1.0, n_times=11):
    depth, dim = start.shape[0], start.shape[-1]

    def field(_, y):
        w = y.reshape(depth, dim, dim)
        return -lifted_gradient(end_to_end(w) - target, w).ravel()

    solution = solve_ivp(
        field,
        (0.0, t_final),
        start.ravel(),
        method="DOP853",
        rtol=1e-12,
        atol=1e-12,
        t_eval=np.linspace(0.0, t_final, n_times),
        dense_output=True,
    )
    return solution.t, solution.y.T.reshape(-1, depth, dim, dim), solution.sol


def _flow_from(start, target, duration):
    """``W(duration)`` of the gradient flow from ``start``, as the end point of
    an integration (no dense-output interpolation); negative: backwards."""
    depth, dim = start.shape[0], start.shape[-1]

    def field(_, y):
        w = y.reshape(depth, dim, dim)
        return -lifted_gradient(end_to_end(w) - target, w).ravel()

    solution = solve_ivp(
        field, (0.0, duration), start.ravel(), method="DOP853", rtol=1e-13, atol=1e-13
    )
    return solution.y[:, -1].reshape(depth, dim, dim)


def _richardson_velocity(w, target, step=2e-3):
    """``d/dt phi(W(t))`` at ``W``: central differences of integrated end
    points at steps ``h`` and ``h/2`` combined by Richardson extrapolation
    (error ``O(h^4)``; the interpolant of the dense output, differenced at a
    small step, had errors up to 1e-4 on stiff draws)."""

    def central(h):
        ahead = end_to_end(_flow_from(w, target, h))
        behind = end_to_end(_flow_from(w, target, -h))
        return (ahead - behind) / (2.0 * h)

    return (4.0 * central(0.5 * step) - central(step)) / 3.0


def _partial(w, lo, hi, dim):
    product = np.eye(dim)
    for layer in w[lo:hi]:
        product = layer @ product
    return product


def _conservation(ctx: ReportContext):
    ctx.substep("(a) conservation of G")
    rng = np.random.default_rng(ctx.seed)
    rows, checks = [], []
    for depth in (2, 3, 4):
        start = rng.normal(size=(depth, 3, 3))
        target = rng.normal(size=(3, 3))
        times, path, dense = _gradient_flow(start, target)
        initial = moments(start)
        drift = max(
            float(np.abs(moments(w) - initial).max() / np.abs(initial).max())
            for w in path
        )
        # Thm 1b at t = 1/2: the end-to-end velocity, by central differences of
        # phi(W(t)) in time, against the formula at W(1/2).
        w = _flow_from(start, target, 0.5)
        euclidean = end_to_end(w) - target
        velocity = _richardson_velocity(w, target)
        formula = -sum(
            _partial(w, k + 1, depth, 3)
            @ _partial(w, k + 1, depth, 3).T
            @ euclidean
            @ _partial(w, 0, k, 3).T
            @ _partial(w, 0, k, 3)
            for k in range(depth)
        )
        thm_1b = float(np.abs(velocity - formula).max() / np.abs(formula).max())
        loss = [0.5 * np.sum((end_to_end(x) - target) ** 2) for x in path]
        c1 = Check(f"(a) N={depth} G drift", drift, TOL_CONSERVATION)
        c2 = Check(f"(a) N={depth} Thm 1b", thm_1b, TOL_THM_1B)
        checks += [c1, c2]
        verdict = "PASS" if c1.passed and c2.passed else "FAIL"
        rows.append((depth, f"{loss[0]:.3g} -> {loss[-1]:.3g}", drift, thm_1b, verdict))
    text = (
        "### (a) Gradient training conserves the moments (Thm 1a, 1b)\n\n"
        "Gradient flow W' = -grad L(W), L = E o phi, E(X) = 1/2 |X - Y|^2, from a "
        "random unbalanced 3 x 3 network, integrated with DOP853 (rtol 1e-12) over "
        "t in [0, 1]. Columns: the loss at t = 0 and 1; max over 11 times of "
        "|G(t) - G(0)| / |G(0)| (Thm 1a predicts 0, tolerance "
        f"{TOL_CONSERVATION:g}); relative deviation of the end-to-end velocity "
        "d/dt phi(W(t)) at t = 1/2 (central differences of integrated end points, "
        "steps 2e-3 and 1e-3, Richardson-extrapolated) "
        "from -sum_k (above_k above_k^T) E' (below_k^T below_k) (Thm 1b, "
        f"tolerance {TOL_THM_1B:g}).\n\n"
    )
    table = markdown_table(
        ("N", "loss", "max G drift", "Thm 1b rel. err", "result"), rows
    )
    return text + table, checks


# (b) measures identities at rounding level; A_{N,X}^{-1} amplifies rounding by
# its condition number (s_max / s_min)^(2(N-1)/N), so X is redrawn while
# s_min / s_max < 1e-2 (seed 49 drew one near 1e-4: |dphi(h) - Z| = 4.6e-10
# at N = 5, which is rounding times a condition number of about 1e6).
MIN_SUBMERSION_RATIO = 1e-2


def _conditioned_matrix(rng, max_draws: int = 100) -> np.ndarray:
    """``G + I`` (``G`` standard Gaussian 3 x 3) with ``s_min / s_max >= 1e-2``."""
    for _ in range(max_draws):
        matrix = rng.normal(size=(3, 3)) + np.eye(3)
        singular = np.linalg.svd(matrix, compute_uv=False)
        if singular[-1] >= MIN_SUBMERSION_RATIO * singular[0]:
            return matrix
    raise RuntimeError(f"no well-conditioned draw in {max_draws}")


def _submersion(ctx: ReportContext):
    ctx.substep("(b) submersion identity")
    rng = np.random.default_rng(ctx.seed + 1)
    rows, checks = [], []
    samples = 3 if ctx.quick else 10
    for depth in (2, 3, 5):
        metric = EndToEndMatrices(3, depth=depth).metric
        norm_err = image_err = orbit_err = tangent_err = 0.0
        for _ in range(samples):
            matrix = _conditioned_matrix(rng)
            point = gauge_action(random_gauges(depth, 3), center(matrix, depth))
            vec = rng.normal(size=(3, 3))
            lift = horizontal_lift(vec, point)
            squared = float(np.sum(lift**2))
            expected = float(metric.squared_norm(vec, matrix))
            norm_err = max(norm_err, abs(squared - expected) / expected)
            image_err = max(
                image_err,
                float(
                    np.abs(differential(lift, point) - vec).max() / np.abs(vec).max()
                ),
            )
            skew = rng.normal(size=(depth - 1, 3, 3))
            skew = skew - np.swapaxes(skew, -1, -2)
            padded = np.concatenate([np.zeros((1, 3, 3)), skew, np.zeros((1, 3, 3))])
            orbit = padded[1:] @ point - point @ padded[:-1]
            orbit_err = max(
                orbit_err,
                abs(float(np.sum(orbit * lift)))
                / float(np.sqrt(np.sum(orbit**2) * squared)),
            )
            tangent_err = max(
                tangent_err,
                float(np.abs(moment_differential(lift, point)).max())
                / float(np.abs(lift).max() * np.abs(point).max()),
            )
        row_checks = [
            Check(f"(b) N={depth} |h|^2 = g(Z,Z)", norm_err, TOL_SUBMERSION),
            Check(f"(b) N={depth} dphi(h) = Z", image_err, TOL_SUBMERSION),
            Check(f"(b) N={depth} h orthogonal to orbit", orbit_err, TOL_SUBMERSION),
            Check(f"(b) N={depth} h tangent to M", tangent_err, TOL_SUBMERSION),
        ]
        checks += row_checks
        verdict = "PASS" if all(c.passed for c in row_checks) else "FAIL"
        rows.append(
            (depth, samples, norm_err, image_err, orbit_err, tangent_err, verdict)
        )
    text = (
        "### (b) The end-to-end map is a Riemannian submersion (Thm 13)\n\n"
        "Random X = G + I (G Gaussian, redrawn while s_min / s_max < "
        f"{MIN_SUBMERSION_RATIO:g}: A_{{N,X}}^-1 amplifies rounding by its "
        "condition number (s_max / s_min)^(2(N-1)/N)), random gauges Q_k (Haar), "
        "balanced W = Q.center(X), random Z. "
        "The horizontal lift h_k = above_k^T A^{-1}(Z) below_k^T is built from "
        "the parameters; g^N_X(Z, Z) from `DLNMetric` (section 1). Columns "
        "(maxima over the samples, relative): ||h|^2 - g(Z, Z)|; |dphi(h) - Z|; "
        "|<h, w_a>| / (|h| |w_a|) for a random skew gauge direction w_a; |dG(h)| "
        f"(h tangent to the balanced manifold). Tolerance {TOL_SUBMERSION:g}.\n\n"
    )
    table = markdown_table(
        ("N", "samples", "norm", "image", "orbit", "tangent", "result"), rows
    )
    return text + table, checks


def _tangent_space(ctx: ReportContext):
    ctx.substep("(c) tangent space")
    rng = np.random.default_rng(ctx.seed + 2)
    rows, checks = [], []
    for dim, depth in ((2, 3), (3, 4)):
        point = gauge_action(
            random_gauges(depth, dim), center(rng.normal(size=(dim, dim)), depth)
        )
        null = tangent_basis(point).reshape(-1, point.size).T  # dense: SVD of dG
        vec = rng.normal(size=point.shape)
        dense = (null @ (null.T @ vec.ravel())).reshape(point.shape)
        error = float(np.abs(to_tangent(vec, point) - dense).max())
        formula = dim**2 + (depth - 1) * dim * (dim - 1) // 2
        check = Check(f"(c) d={dim} N={depth} to_tangent", error, TOL_SUBMERSION)
        checks.append(check)
        dim_ok = null.shape[1] == formula
        checks.append(Check(f"(c) d={dim} N={depth} dim", 0.0 if dim_ok else 1.0, 0.0))
        rows.append(
            (
                dim,
                depth,
                null.shape[1],
                formula,
                error,
                "PASS" if check.passed and dim_ok else "FAIL",
            )
        )
    text = (
        "### (c) Tangent spaces of the balanced manifold\n\n"
        "T_W M = ker dG_W computed densely (SVD of the Jacobian of the moments), "
        "against the library's `to_tangent` (horizontal part by the explicit "
        "lift, vertical part by one tridiagonal solve per pair i < j) on a random "
        "vector, and the dimension against d^2 + (N-1) d(d-1)/2.\n\n"
    )
    table = markdown_table(
        ("d", "N", "dim ker dG", "formula", "to_tangent max err", "result"), rows
    )
    return text + table, checks


# The theory compares two geodesics that exist up to t = 1: cases whose g^N
# geodesic leaves the full-rank set (g^N is incomplete) or ends close to it are
# redrawn, at most this many times.
MAX_GEODESIC_DRAWS = 50
MIN_RELATIVE_SINGULAR_VALUE = 1e-2


def _geodesic_case(rng, dim: int, depth: int):
    """``(W, X, Z, exp_M(lift Z), exp_X(Z))`` for a draw whose geodesic stays
    in the full-rank set: ``s_min / s_max >= 1e-2`` at ``t = 0, 1/2, 1``."""
    metric = EndToEndMatrices(dim, depth=depth).metric
    last_error = None
    for _ in range(MAX_GEODESIC_DRAWS):
        matrix = np.eye(dim) + 0.3 * rng.normal(size=(dim, dim))
        vec = 0.5 * rng.normal(size=(dim, dim))
        try:
            ends = [metric.exp(t * vec, matrix) for t in (0.5, 1.0)]
            ratios = [
                s[-1] / s[0]
                for s in (np.linalg.svd(m, compute_uv=False) for m in [matrix, *ends])
            ]
            if min(ratios) < MIN_RELATIVE_SINGULAR_VALUE:
                continue
            point = gauge_action(random_gauges(depth, dim), center(matrix, depth))
            end = balanced_exp(horizontal_lift(vec, point), point)
        except (ValueError, RuntimeError) as error:  # GeodesicError included
            last_error = error
            continue
        return point, matrix, vec, end, ends[-1]
    raise RuntimeError(
        f"no draw of (X, Z) in {MAX_GEODESIC_DRAWS} has a geodesic that stays "
        f"well inside the full-rank set (last error: {last_error})"
    )


def _geodesics(ctx: ReportContext):
    ctx.substep("(d) horizontal geodesics")
    rng = np.random.default_rng(ctx.seed + 3)
    rows, checks = [], []
    for dim, depth in ((2, 3), (3, 3), (2, 5)):
        point, matrix, vec, end, expected = _geodesic_case(rng, dim, depth)
        error = float(np.abs(end_to_end(end) - expected).max())
        defect = float(np.linalg.norm(moments(end)) / np.sum(end**2))
        line = float(
            np.abs(end_to_end(point + horizontal_lift(vec, point)) - expected).max()
        )
        c1 = Check(f"(d) d={dim} N={depth} phi(exp_M) = exp_g", error, 1e-6)
        c2 = Check(f"(d) d={dim} N={depth} balance defect", defect, 1e-9)
        checks += [c1, c2]
        verdict = "PASS" if c1.passed and c2.passed else "FAIL"
        rows.append((dim, depth, error, defect, line, verdict))
    text = (
        "### (d) Horizontal geodesics project to geodesics (O'Neill)\n\n"
        "A geodesic of the balanced manifold M (constrained motion with G = 0, "
        "integrated by RATTLE, `balanced_exp`) starting horizontally, h = lift(Z), "
        "is mapped by phi to exp_X(Z) of `DLNMetric` (Hamiltonian integration "
        "downstairs): two independent geodesic solvers. The theory needs both "
        "geodesics to exist up to t = 1, and g^N is incomplete: a draw (X, Z) "
        "is redrawn when the g^N geodesic leaves the full-rank set or has "
        "s_min / s_max < 1e-2 at t = 0, 1/2 or 1. Columns: max abs "
        "difference (tolerance 1e-6); the balance defect |G| / |W|^2 at t = 1 "
        "(tolerance 1e-9); for contrast, phi of the straight line W + h.\n\n"
    )
    table = markdown_table(
        ("d", "N", "phi(exp_M) vs exp_g", "balance defect", "straight line", "result"),
        rows,
    )
    return text + table, checks


def _hyperbola(ctx: ReportContext):
    ctx.substep("(e) figure")
    fig = new_figure(figsize=(6.4, 6.0))
    ax = fig.add_subplot(1, 1, 1)
    grid = np.linspace(0.05, 3.0, 400)
    for x in (0.25, 1.0, 2.25):
        for sign in (1.0, -1.0):
            ax.plot(
                sign * grid,
                sign * x / grid,
                color="tab:blue",
                lw=1,
                label="fibers $w_2 w_1 = x$" if (x == 0.25 and sign > 0) else None,
            )
    line = np.linspace(-3, 3, 2)
    ax.plot(line, line, color="black", lw=2, label="balanced: $w_1 = w_2$")
    ax.plot(line, -line, color="black", lw=2, ls="--", label="balanced: $w_1 = -w_2$")
    target = 1.0
    starts = [(0.2, 2.4), (2.6, 0.15), (0.3, -0.4), (-1.5, -0.3), (0.6, 0.7)]
    sweep = np.linspace(-3, 3, 300)
    for k, (w1, w2) in enumerate(starts):
        # The conserved level set G = w1^2 - w2^2 through the start (its branch).
        level = w1**2 - w2**2
        if level > 0:
            curve = (np.sign(w1) * np.sqrt(level + sweep**2), sweep)
        else:
            curve = (sweep, np.sign(w2) * np.sqrt(-level + sweep**2))
        ax.plot(
            *curve,
            color="gray",
            lw=0.8,
            ls=":",
            label="level sets $G = w_1^2 - w_2^2$" if k == 0 else None,
        )
        _, path, _ = _gradient_flow(
            np.array([[[w1]], [[w2]]]), np.array([[target]]), t_final=6.0, n_times=300
        )
        ax.plot(
            path[:, 0, 0, 0],
            path[:, 1, 0, 0],
            color="tab:red",
            lw=1.6,
            label="gradient flow of $(w_2 w_1 - 1)^2/2$" if k == 0 else None,
        )
        ax.plot(w1, w2, "o", color="tab:red", ms=4)
    ax.set_xlim(-3, 3)
    ax.set_ylim(-3, 3)
    ax.set_aspect("equal")
    ax.set_xlabel("$w_1$")
    ax.set_ylabel("$w_2$")
    ax.set_title(
        "d = 1, N = 2: fibers of $\\phi(w) = w_2 w_1$ and the balanced variety\n"
        "training moves along $w_1^2 - w_2^2 = G$ = const (Thm 1a)"
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    name = save_figure(ctx, fig, FIGURE)
    text = (
        "### (e) The hyperbola picture (d = 1, N = 2)\n\n"
        "Parameters (w1, w2) of a 1 x 1 network of depth 2: the fibers of the "
        "end-to-end map w2 w1 = x are hyperbolas, the balanced variety G = w1^2 - "
        "w2^2 = 0 is the pair of diagonals, and gradient training of "
        "1/2 (w2 w1 - 1)^2 moves along the hyperbolas w1^2 - w2^2 = const (Thm "
        "1a) to the fiber over 1; only starts on the diagonals stay balanced.\n\n"
        f"![{FIGURE}]({FIGURE})"
    )
    return text, [], name


def section(ctx: ReportContext) -> SectionResult:
    """Balanced networks and the Riemannian submersion onto ``(M_d, g^N)``."""
    intro = (
        "Parameters W = (W_N, ..., W_1), end-to-end map phi(W) = W_N ... W_1, "
        "moments G_k = W_k W_k^T - W_{k+1}^T W_{k+1} "
        "(docs/mathematics.md sections 1, 2, 4). "
        "Each check compares with an independent computation or a theorem's "
        "prediction."
    )
    return assemble_section(
        ctx,
        TITLE,
        intro,
        (_conservation, _submersion, _tangent_space, _geodesics, _hyperbola),
    )
