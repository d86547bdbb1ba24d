"""Report section: low rank -- the strata (M_r, g^N) and implicit bias.

(a) Geometry of M_r: the rank-r metric is the limit of the full-rank g^N at
    X + eps P; dim M_r and the rank-r balanced dimension against dense Jacobians;
    the submersion identity at rank r; flows up = down at rank r (Thm 3); the
    Bures-Wasserstein closed-form geodesic (N = 2, PSD rank r).
(b) Deep matrix completion (Arora, Cohen, Hu, Luo 2019): reconstruction error
    against the number of observed entries for depths 2, 3, 4 (gradient descent
    on the layers from a small balanced start) next to nuclear-norm minimization
    (cvxpy), on masks redrawn until P_Omega is injective on T_M M_r with a
    margin; singular values and effective rank over time.
(c) Incremental learning from small initialization: singular values learned one
    at a time, for several scales and depths; learning times against the scalar
    ODE of each mode.
(d) Razin and Cohen's 2 x 2 example: X_12 = X_21 = 1, X_22 = 0 observed, det > 0:
    the norm diverges, the effective rank tends to 1.
(e) Survey §14.1: limits of the 2 x 2 completion X_11 = X_22 = 1 for N = 1..6.

The experiment functions are public so that examples/ and the tests run the
same code at other sizes.
"""

from __future__ import annotations

import math
import traceback

import numpy as np
from scipy.integrate import quad
from scipy.linalg import expm

from geomstats_dln.dynamics import (
    euclidean_gradient_field,
    integrate,
    riemannian_gradient_field,
)
from geomstats_dln.dynamics.low_rank_flows import (
    factored_end_to_end,
    factored_gradient_field,
    factorize,
    svd_coordinates_field_2x2,
    to_svd_coordinates_2x2,
)
from geomstats_dln.end_to_end import DLNMetric, EndToEndMatrices
from geomstats_dln.losses import (
    MatrixCompletionLoss,
    QuadraticLoss,
    two_by_two_completion,
)
from geomstats_dln.low_rank import FixedRankEndToEndMatrices
from geomstats_dln.low_rank_balanced import LowRankBalancedManifold, low_rank_center
from geomstats_dln.parameters import end_to_end, moments
from geomstats_dln.report._completion import (  # noqa: F401 - re-exported
    COMPLETION_CHECKED_COUNT,
    COMPLETION_MIN_MARGIN,
    completion_checks,
    completion_experiment,
    completion_instance,
    deep_completion_run,
    identifiable_completion_instance,
    nuclear_norm_completion,
    tangent_sampling_margin,
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

TITLE = "Low rank: the strata (M_r, g^N) and implicit bias"
FIGURE_COMPLETION = "low_rank_completion_error.png"
FIGURE_COMPLETION_DYNAMICS = "low_rank_completion_dynamics.png"
FIGURE_INCREMENTAL = "low_rank_incremental.png"
FIGURE_RAZIN_COHEN = "low_rank_razin_cohen.png"
FIGURE_2X2 = "low_rank_completion_2x2_depths.png"

COMPLETION_FREQUENCY = (
    "Measured on this section's own quick-mode draws for seeds 0..99 "
    "(`benchmarks/report_seeds.py`, the margin rule applied): depths 3/4 "
    "recover (error < 0.05) from 200 entries in 75 of 100 draws, depth 2 and "
    "nuclear norm in none; from 300 entries depths 3/4 in 100 of 100 (error at "
    "most 0.015, at most 0.052 of the depth-2 error), depth 2 in 1 and nuclear "
    "norm in 18. On first masks with margin >= 0.1 "
    "(`benchmarks/completion_recovery_frequency.py`, seeds 0..68), depths 3/4 "
    "recover from 250 entries in 50 of 51, depth 2 and nuclear norm in none."
)
"""What ``benchmarks/completion_recovery_frequency.py`` measured over seeds."""

ARORA_FINDING = (
    "Arora, Cohen, Hu and Luo (2019) report that gradient descent on deep matrix "
    "factorizations from small initialization recovers low-rank matrices from "
    "fewer observed entries as the depth grows: depth 2 behaves much like "
    "nuclear-norm minimization, depths 3 and 4 reconstruct accurately where both "
    "fail, and the singular values of the product are learned one at a time, the "
    "effective rank dropping in jumps (survey §13.3)."
)
RAZIN_COHEN_FINDING = (
    "Razin and Cohen (2020) observe X_12 = X_21 = 1, X_22 = 0 and start a deep "
    "factorization with det X > 0: every norm of X diverges while the loss tends "
    "to 0 and the effective rank tends to 1, so the implicit bias is towards low "
    "rank, not towards small norm."
)


# ------------------------------------------------------------------ experiments
def scalar_mode_time(x_start: float, x_end: float, target: float, depth: int) -> float:
    """Time for ``x' = N x^{2(N-1)/N} (target - x)`` to go from ``x_start`` to
    ``x_end``: one singular mode of the g^N flow of ``1/2 |X - Y|^2`` when ``X``
    and ``Y`` share singular vectors (MATH §3, ``a_ii = N s_i^{2(N-1)/N}``)."""
    power = 2.0 * (depth - 1) / depth

    def integrand(log_x):
        x = math.exp(log_x)
        return x / (depth * x**power * (target - x))

    return quad(integrand, math.log(x_start), math.log(x_end), limit=200)[0]


def incremental_learning_run(
    targets, depth: int, init_scale: float, t_final: float, aligned: bool, seed=0
):
    """Downstairs g^N flow of ``1/2 |X - diag(targets)|^2`` from ``X_0`` small.

    ``aligned``: ``X_0 = init_scale I`` (the modes decouple exactly); otherwise
    ``X_0 = init_scale expm(S)`` with ``S`` symmetric Gaussian (entries of
    standard deviation 1/2): positive definite, with eigenvectors unrelated to
    the target's. (A start with a mode of the wrong sign stalls at the
    rank-deficient boundary: the g^N flow cannot change the sign of det X.)
    Recorded on a log time grid.
    """
    targets = np.asarray(targets, dtype=float)
    d = len(targets)
    if aligned:
        start = init_scale * np.eye(d)
    else:
        gaussian = 0.5 * np.random.default_rng(seed).normal(size=(d, d))
        start = init_scale * expm(0.5 * (gaussian + gaussian.T))
    times = np.concatenate([[0.0], np.geomspace(1e-2, t_final, 1000)])
    return integrate(
        riemannian_gradient_field(QuadraticLoss(np.diag(targets)), depth),
        start,
        t_final,
        rtol=1e-9,
        method="LSODA",
        t_eval=times,
    )


def crossing_time(trajectory, index: int, level: float) -> float:
    """First recorded time (linear interpolation) at which ``s_index`` reaches
    ``level``; ``nan`` if it never does."""
    values = trajectory["singular_values"][:, index]
    above = np.nonzero(values >= level)[0]
    if len(above) == 0:
        return math.nan
    k = above[0]
    if k == 0:
        return float(trajectory.times[0])
    t0, t1 = trajectory.times[k - 1], trajectory.times[k]
    v0, v1 = values[k - 1], values[k]
    return float(t0 + (level - v0) * (t1 - t0) / (v1 - v0))


def razin_cohen_loss() -> MatrixCompletionLoss:
    """Observe ``X_12 = X_21 = 1``, ``X_22 = 0`` (Razin and Cohen 2020)."""
    mask = np.array([[False, True], [True, True]])
    return MatrixCompletionLoss(mask, np.array([[np.nan, 1.0], [1.0, 0.0]]))


def razin_cohen_run(depth: int, t_final: float = 1e5, start=None):
    """The g^N flow in SVD coordinates (``det X > 0`` kept exactly) on a log grid."""
    start = np.array([[0.1, 0.02], [0.0, 0.08]]) if start is None else start
    times = np.concatenate([[0.0], np.geomspace(1e-2, t_final, 120)])
    return integrate(
        svd_coordinates_field_2x2(razin_cohen_loss(), depth),
        to_svd_coordinates_2x2(start),
        t_final,
        rtol=1e-8,
        method="LSODA",
        t_eval=times,
    )


CLUSTER = np.array([[[1.0, 1.0], [1.0, 1.0]], [[1.0, -1.0], [-1.0, 1.0]]])


def two_by_two_limits(
    depth: int, n_starts: int, init_scale: float = 1e-3, t_final=400.0, seed=0
) -> dict:
    """Limits of the g^N flow for ``X_11 = X_22 = 1`` (MATH §9) from ``X_0 =
    init_scale G`` over ``n_starts`` Gaussian ``G`` (one batched integration).

    Returns ``limits``, ``converged`` (final loss below 1e-8), ``ratio``
    (``s_2 / s_1``) and ``distance`` (max-entry distance to the nearer of
    ``[[1, 1], [1, 1]]`` and ``[[1, -1], [-1, 1]]``).
    """
    loss = two_by_two_completion()
    starts = init_scale * np.random.default_rng(seed).normal(size=(n_starts, 2, 2))
    run = integrate(
        riemannian_gradient_field(loss, depth),
        starts / math.sqrt(2.0),
        t_final,
        rtol=1e-8,
        record_defaults=False,
        t_eval=[t_final],
    )
    limits = run.final_state
    s = np.linalg.svd(limits, compute_uv=False)
    distance = np.min(np.max(np.abs(limits[:, None] - CLUSTER[None]), axis=(2, 3)), 1)
    return {
        "limits": limits,
        "converged": np.asarray(loss.value(limits)) < 1e-8,
        "ratio": s[:, 1] / s[:, 0],
        "distance": distance,
    }


# ---------------------------------------------------------------------- parts
def check_rows(checks) -> str:
    """The markdown table of ``checks``: name, value, tolerance, PASS/FAIL."""
    return markdown_table(
        ("check", "value", "tolerance", "result"),
        [(c.name, float(c.value), float(c.tolerance), c.verdict) for c in checks],
    )


def _guarded(name, part):
    """Run ``part``; on any exception return a FAIL row stating the reason.

    Either way the part's text ends with the table of its checks.
    """

    def run(ctx):
        try:
            out = part(ctx)
        except Exception as error:  # the report never crashes
            reason = " ".join(f"{type(error).__name__}: {error}".split())
            traceback.print_exc()
            out = (
                f"### {name}\n\nNot computed: {reason}",
                [Check(f"{name}: could not be computed ({reason})", math.nan, 0.0)],
            )
        text = out[0] + "\n\nChecks:\n\n" + check_rows(out[1])
        return (text, *out[1:])

    return run


def _geometry(ctx: ReportContext):
    ctx.substep("(a) geometry of M_r")
    rng = np.random.default_rng(ctx.seed)
    rows, checks = [], []
    n, m, r, depth = 5, 4, 2, 3
    space = FixedRankEndToEndMatrices(n, m, rank=r, depth=depth)
    left = np.linalg.qr(rng.normal(size=(n, n)))[0]
    right = np.linalg.qr(rng.normal(size=(m, m)))[0]
    point = (left[:, :r] * [2.0, 0.7]) @ right[:, :r].T
    vector = np.asarray(space.random_tangent_vec(point))
    exact = float(space.metric.squared_norm(vector, point))
    full = DLNMetric(EndToEndMatrices(n, m, depth=depth))
    normal = left[:, r:m] @ np.diag([1.0, 2.0]) @ right[:, r:m].T
    values = [
        float(full.squared_norm(vector, point + eps * normal)) for eps in (1e-4, 1e-6)
    ]
    ratio = 100.0 ** (2.0 / depth)
    extrapolated = values[1] - (values[0] - values[1]) / (ratio - 1.0)
    error = abs(extrapolated - exact) / exact
    rows.append(("g_r(Z,Z) vs lim g^N_{X+eps P}(Z,Z) (Richardson, eps^{2/N})", error))
    checks.append(Check("(a) rank-r metric = limit of full-rank g^N", error, 1e-6))

    # dim M_r: rank of the Jacobian of the SVD chart
    u_full, s_full, vt_full = np.linalg.svd(point)
    nu, nv = n * (n - 1) // 2, m * (m - 1) // 2

    def skew(values, size):
        matrix = np.zeros((size, size))
        matrix[np.triu_indices(size, 1)] = values
        return matrix - matrix.T

    def chart(theta):
        u = expm(skew(theta[:nu], n)) @ u_full[:, :r]
        v = expm(skew(theta[nu : nu + nv], m)) @ vt_full.T[:, :r]
        return (u * s_full[:r] * np.exp(theta[nu + nv :])) @ v.T

    size = nu + nv + r
    jacobian = np.stack(
        [(chart(1e-6 * e) - chart(-1e-6 * e)).ravel() / 2e-6 for e in np.eye(size)], 1
    )
    singular = np.linalg.svd(jacobian, compute_uv=False)
    jacobian_rank = int(np.sum(singular > 1e-6 * singular[0]))
    rows.append((f"dim M_r = r(n+m-r) = {space.dim}, Jacobian rank", jacobian_rank))
    checks.append(
        Check(
            "(a) dim M_r = rank of the SVD-chart Jacobian",
            abs(jacobian_rank - space.dim),
            0,
        )
    )

    manifold = LowRankBalancedManifold(4, 3, 2)
    balanced = manifold.random_point()
    matrix = np.asarray(end_to_end(balanced))
    worst = 0.0
    for z in manifold.base.random_tangent_vec(matrix, 3):
        lift = manifold.horizontal_lift(z, balanced)
        g = float(manifold.base.metric.squared_norm(z, matrix))
        worst = max(worst, abs(np.sum(lift**2) - g) / g)
    rows.append(("submersion |lift Z|^2 = g^N(Z,Z), d=4 N=3 r=2 (rel.)", worst))
    checks.append(Check("(a) submersion identity at rank r", worst, 1e-10))
    basis = manifold.tangent_basis(balanced)
    rows.append(
        (f"dim balanced rank-2 manifold = {manifold.dim}, basis size", len(basis))
    )
    # horizontal geodesic upstairs: a geodesic of the balanced manifold of rank 2
    # (Riemannian submersion) lifting exp on (M_2, g^3)
    z = 0.3 * np.asarray(manifold.base.random_tangent_vec(matrix))
    path = manifold.horizontal_geodesic(z, balanced, np.linspace(0.0, 1.0, 201))
    lift_error = float(
        np.max(np.abs(end_to_end(path[-1]) - manifold.base.metric.exp(z, matrix)))
    )
    balance = float(max(np.max(np.abs(moments(layers))) for layers in path[::20]))
    length = float(np.sum(np.sqrt(np.sum(np.diff(path, axis=0) ** 2, axis=(1, 2, 3)))))
    length_error = abs(length / float(manifold.base.metric.norm(z, matrix)) - 1.0)
    rows.append(("horizontal geodesic: |phi(W(1)) - exp_X(Z)|", lift_error))
    rows.append(("horizontal geodesic: max |G(W(t))|", balance))
    rows.append(
        ("horizontal geodesic: length / |Z|_g - 1 (polygon, 200)", length_error)
    )
    checks.append(Check("(a) horizontal geodesic lifts exp on M_r", lift_error, 1e-8))
    checks.append(Check("(a) horizontal geodesic stays balanced", balance, 1e-9))
    checks.append(Check("(a) horizontal geodesic length = |Z|_g", length_error, 1e-4))

    loss_target = rng.normal(size=(6, 6))
    loss = QuadraticLoss(loss_target)
    start = 0.5 * rng.normal(size=(6, 2)) @ rng.normal(size=(2, 6))
    times = np.linspace(0.0, 1.5, 4)
    up = integrate(
        euclidean_gradient_field(loss),
        low_rank_center(start, 3, 2),
        1.5,
        rtol=1e-11,
        t_eval=times,
    )
    down = integrate(
        factored_gradient_field(loss, 3, 2),
        factorize(start, 2),
        1.5,
        rtol=1e-11,
        t_eval=times,
    )
    down_states = np.stack([factored_end_to_end(s, 6, 6, 2) for s in down.states])
    up_states = np.asarray(end_to_end(up.states))
    flow_error = float(
        np.max(np.abs(up_states - down_states)) / np.max(np.abs(up_states))
    )
    s_up = np.linalg.svd(up_states, compute_uv=False)
    rank_defect = float(np.max(s_up[:, 2] / s_up[:, 0]))
    rows.append(("flows up = down on M_2, 6 x 6, N = 3 (rel. max)", flow_error))
    rows.append(("upstairs s_3/s_1 along the flow (stays rank 2)", rank_defect))
    checks.append(Check("(a) Thm 3 at rank r: phi(W(t)) = X(t)", flow_error, 1e-6))
    checks.append(Check("(a) upstairs flow stays at rank r", rank_defect, 1e-10))

    # N = 2 on PSD rank 2: g^2 = 2 |Y'|^2, geodesics (Y + t Y')(Y + t Y')^T
    psd = FixedRankEndToEndMatrices(4, 4, rank=2, depth=2)
    y = np.linalg.qr(rng.normal(size=(4, 2)))[0] * [1.5, 1.0]
    y_dot = rng.normal(size=(4, 2))
    y_dot[:2] = 0.0
    y_dot = y_dot - y @ np.linalg.solve(y.T @ y, 0.5 * (y.T @ y_dot - y_dot.T @ y))
    # horizontal within 1e-15 only for y^T y diagonal; check and report
    velocity = y_dot @ y.T + y @ y_dot.T
    geodesic_error = float(
        np.max(
            np.abs(
                psd.metric.exp(0.5 * velocity, y @ y.T)
                - (y + 0.5 * y_dot) @ (y + 0.5 * y_dot).T
            )
        )
    )
    rows.append(("exp on PSD rank 2 (N = 2) vs (Y + tY')(Y + tY')^T", geodesic_error))
    checks.append(
        Check("(a) Bures-Wasserstein closed-form geodesic", geodesic_error, 1e-7)
    )
    text = (
        "### (a) The strata M_r with g^N\n\n"
        "In the SVD frame A_{N,X} keeps the coefficients a_ij of section 3 with the "
        "zero singular values: a(s_i, s_j) on U^T Z V, s_j^{2(N-1)/N} on the mixed "
        "blocks, 0 on the normal block, so g^N restricts to the rank-r matrices. "
        "Below, that restriction against the full-rank metric at X + eps P "
        "(eps = 1e-4, 1e-6, extrapolated with the predicted rate eps^{2/N}), the "
        "dimension against a dense Jacobian, the submersion identity for balanced "
        "networks of rank 2, the horizontal geodesic upstairs (the lift of exp on M_2, "
        "integrated as (W, P)), Thm 3 at rank 2 (full-width training from a rank-2 "
        "balanced start against the factored flow on M_2), and a geodesic against "
        "the Bures-Wasserstein closed form.\n\n"
        + markdown_table(("check", "value"), rows)
    )
    return text, checks


def _completion(ctx: ReportContext):
    ctx.substep("(b) deep matrix completion")
    n, rank, n_steps = 30, 2, 20000
    counts = (200, 300) if ctx.quick else (200, 250, 300, 450)
    result = completion_experiment(
        n,
        rank,
        counts,
        n_steps=n_steps,
        seed=ctx.seed,
        min_margin=COMPLETION_MIN_MARGIN,
    )
    depths = sorted(result["errors"])
    nuclear = result["nuclear"]
    header = (
        ["observed", "margin (draws)"]
        + [f"N={d} error (erank)" for d in depths]
        + ["nuclear norm"]
    )
    rows = []
    for k, count in enumerate(counts):
        row = [count, f"{result['margins'][k]:.3f} ({result['draws'][k]})"] + [
            f"{result['errors'][d][k]:.3g} ({result['effective_ranks'][d][k]:.2f})"
            for d in depths
        ]
        row.append(nuclear if isinstance(nuclear, str) else f"{nuclear[k]:.3g}")
        rows.append(row)
    checks = completion_checks(result, COMPLETION_CHECKED_COUNT)
    k = list(counts).index(COMPLETION_CHECKED_COUNT)
    figure = new_figure(figsize=(6.4, 4.4))
    axis = figure.subplots()
    for d in depths:
        axis.semilogy(counts, result["errors"][d], "o-", label=f"depth {d} (GD)")
    if not isinstance(nuclear, str):
        axis.semilogy(counts, nuclear, "k--s", label="nuclear norm (cvxpy)")
    axis.axvline(rank * (2 * n - rank), color="0.6", lw=1, ls=":", label="dim M_r")
    axis.set(
        xlabel="observed entries",
        ylabel="|X - M| / |M|",
        title=f"{n} x {n} rank {rank}: reconstruction error",
    )
    axis.legend()
    save_figure(ctx, figure, FIGURE_COMPLETION)

    figure = new_figure(figsize=(12, 4.2))
    axes = figure.subplots(1, 3)
    count = counts[k]
    for d in depths:
        run = result["runs"][(d, count)]
        axes[2].semilogx(run.times[1:], run["effective_rank"][1:], label=f"depth {d}")
    for axis, d in zip(axes[:2], (2, 3), strict=True):
        run = result["runs"][(d, count)]
        axis.loglog(run.times[1:], run["singular_values"][1:, : 2 * rank + 2])
        axis.set(
            xlabel="time (step x eta)",
            ylabel="singular values of X",
            title=f"depth {d}, {count} entries",
            ylim=(1e-6, 3),
        )
    axes[2].set(
        xlabel="time (step x eta)", ylabel="effective rank", title="effective rank"
    )
    axes[2].legend()
    save_figure(ctx, figure, FIGURE_COMPLETION_DYNAMICS)
    reproduced = all(c.passed for c in checks)
    text = (
        "### (b) Deep matrix completion (Arora, Cohen, Hu, Luo 2019)\n\n"
        f"> {ARORA_FINDING}\n\n"
        f"Reduced setting: {n} x {n} truth of rank {rank} (s_1 = 1), uniformly "
        "observed entries, gradient descent on the layers of a width-n network "
        f"(eta = 0.5, {n_steps} steps) from a balanced start with X_0 = 1e-4 G; "
        "nuclear-norm minimization by cvxpy (SCS). The full 100 x 100 rank-5 "
        "experiment is `examples/deep_matrix_completion.py`.\n\n"
        "Only draws where the theory applies are used. M is locally identifiable "
        "from the observed set Omega exactly when the sampling map P_Omega is "
        f"injective on the tangent space T_M M_{rank} (dim {rank * (2 * n - rank)}); "
        "a row or column with fewer than r observed entries already breaks it. "
        "Under uniform sampling E[P_T P_Omega P_T] = p P_T, p = |Omega| / n^2 "
        "(Candes and Recht 2009), so the margin sigma_min(P_Omega on T_M M_r) / "
        "sqrt(p) is about 1 for a typical direction and 0 when the completion is "
        "not unique. Each mask is redrawn (seeded, deterministic given the seed) "
        f"until its margin is at least {COMPLETION_MIN_MARGIN} (no tangent "
        "direction keeps less than a tenth of its expected share of norm); the "
        "table gives the margin used and the number of masks drawn. Error "
        "|X - M|/|M| (effective rank of X in brackets):\n\n"
        + markdown_table(header, rows)
        + f"\n\nPer draw, recovery is checked at {COMPLETION_CHECKED_COUNT} "
        "entries, where it is typical for depths 3 and 4 and depth 2 still fails. "
        "With fewer entries recovery by depths 3/4 is a frequency, not a rule, and "
        "nuclear norm recovers some draws at 300 exactly: neither is checked per "
        f"draw. {COMPLETION_FREQUENCY} The effective rank of depth 4 at the "
        "largest count is compared with the truth's own, "
        f"{result['truth_effective_rank']:.3f} (two unequal singular values have "
        "effective rank below 2)."
        + f"\n\n**Reproduced: {'yes' if reproduced else 'no'}** -- "
        + (
            f"depths 3 and 4 reconstruct from {COMPLETION_CHECKED_COUNT} entries, "
            "where depth 2 does not; the singular values grow one at a time after "
            "plateaus and the effective rank falls in steps."
            if reproduced
            else "see the failed checks."
        )
        + f"\n\n![completion error]({FIGURE_COMPLETION})\n\n"
        f"![completion dynamics]({FIGURE_COMPLETION_DYNAMICS})"
    )
    return text, checks, FIGURE_COMPLETION


def _incremental(ctx: ReportContext):
    ctx.substep("(c) incremental learning")
    targets = np.array([4.0, 2.0, 1.0, 0.5])
    scales = (1e-2, 1e-5) if ctx.quick else (1e-2, 1e-3, 1e-4)
    depths = (2, 3) if ctx.quick else (2, 3, 4)
    rows, checks = [], []
    # aligned start: exact prediction of each mode's half-time
    worst = 0.0
    for depth in depths:
        run = incremental_learning_run(targets, depth, 1e-4, 400.0, aligned=True)
        for i, target in enumerate(targets):
            measured = crossing_time(run, i, target / 2)
            predicted = scalar_mode_time(1e-4, target / 2, target, depth)
            worst = max(worst, abs(measured - predicted) / predicted)
    rows.append(("aligned start: half-times vs scalar ODE (max rel.)", worst))
    checks.append(Check("(c) half-times = scalar-mode prediction", worst, 5e-3))
    figure = new_figure(figsize=(4 * len(scales), 3.2 * len(depths)))
    axes = np.atleast_2d(figure.subplots(len(depths), len(scales)))
    separation = []
    for row, depth in enumerate(depths):
        for col, scale in enumerate(scales):
            # three times the last mode's learning time by the scalar ODE
            t_final = 3.0 * scalar_mode_time(
                scale, 0.9 * targets[-1], targets[-1], depth
            )
            run = incremental_learning_run(
                targets,
                depth,
                scale,
                t_final,
                aligned=False,
                seed=ctx.seed,
            )
            t_first = crossing_time(run, 0, 0.9 * targets[0])
            k = int(np.searchsorted(run.times, t_first))
            later = float(run["singular_values"][k, 1] / targets[1])
            separation.append((depth, scale, later))
            axis = axes[row, col]
            axis.semilogx(run.times[1:], run["singular_values"][1:])
            for target in targets:
                axis.axhline(target, color="0.8", lw=0.8)
            axis.set(title=f"N={depth}, X_0 = {scale:g} e^S", xlabel="t", ylabel="s_i")
            twin = axis.twinx()
            twin.semilogx(run.times[1:], run["loss"][1:], "k:", lw=1)
            twin.set_yscale("log")
    save_figure(ctx, figure, FIGURE_INCREMENTAL)
    smallest = [value for depth, scale, value in separation if scale == min(scales)]
    checks.append(
        Check(
            "(c) s_2/y_2 when s_1 reaches 0.9 y_1, smallest scale (max over N)",
            max(smallest),
            0.1,
        )
    )
    rows += [
        (f"N={d}, X_0 = {s:g} e^S: s_2/y_2 when s_1 = 0.9 y_1", v)
        for d, s, v in separation
    ]
    text = (
        "### (c) Incremental learning from small initialization\n\n"
        "Downstairs g^N flow of 1/2 |X - Y|^2, Y = diag(4, 2, 1, 0.5). From an "
        "aligned start X_0 = 1e-4 I each singular value follows the scalar ODE "
        "x' = N x^{2(N-1)/N} (y - x); the measured half-times agree with its "
        "quadrature. From positive definite starts X_0 = scale expm(S), S a "
        "random symmetric matrix, the singular values are "
        "learned one at a time, each after a plateau of the loss (dotted), the "
        "more so the smaller the scale; for N >= 3 the plateaus scale like "
        "scale^{-(N-2)/N} instead of log(1/scale).\n\n"
        + markdown_table(("check", "value"), rows)
        + f"\n\n![incremental learning]({FIGURE_INCREMENTAL})"
    )
    return text, checks, FIGURE_INCREMENTAL


def _razin_cohen(ctx: ReportContext):
    ctx.substep("(d) Razin-Cohen 2 x 2")
    t_final = 1e4 if ctx.quick else 1e5
    rows, checks = [], []
    figure = new_figure(figsize=(12, 3.8))
    axes = figure.subplots(1, 3)
    for depth in (2, 3, 4):
        run = razin_cohen_run(depth, t_final)
        norms, ranks, losses = run["norm"], run["effective_rank"], run["loss"]
        growing = bool(np.all(np.diff(norms[len(norms) // 2 :]) > 0))
        rows.append(
            (
                depth,
                f"{norms[-1]:.3g}",
                f"{run['log_s2'][-1]:.3g}",
                f"{ranks[-1]:.6f}",
                f"{losses[-1]:.2e}",
                "yes" if growing else "NO",
            )
        )
        checks.append(
            Check(f"(d) N={depth} effective rank - 1 at T", ranks[-1] - 1, 1e-2)
        )
        checks.append(Check(f"(d) N={depth} loss at T", losses[-1], 1e-3))
        checks.append(
            Check(
                f"(d) N={depth} |X| increasing (late half)",
                0.0 if growing else 1.0,
                0.0,
            )
        )
        axes[0].loglog(run.times[1:], norms[1:], label=f"N={depth}")
        axes[1].semilogx(run.times[1:], ranks[1:], label=f"N={depth}")
        axes[2].loglog(run.times[1:], losses[1:], label=f"N={depth}")
    # depth 1: the Euclidean flow leaves the component and converges
    euclid = integrate(
        riemannian_gradient_field(razin_cohen_loss(), 1),
        np.array([[0.1, 0.02], [0.0, 0.08]]),
        100.0,
        rtol=1e-10,
    )
    det_1 = float(np.linalg.det(euclid.final_state))
    rows.append(
        (
            1,
            f"{np.linalg.norm(euclid.final_state):.3g}",
            "-",
            "-",
            f"{euclid['loss'][-1]:.2e}",
            f"det -> {det_1:.3f}",
        )
    )
    checks.append(
        Check("(d) N=1 crosses to det = -1 (|det + 1|)", abs(det_1 + 1), 1e-6)
    )
    for axis, label in zip(axes, ("|X|_F", "effective rank", "loss"), strict=True):
        axis.set(xlabel="t", ylabel=label)
        axis.legend()
    save_figure(ctx, figure, FIGURE_RAZIN_COHEN)
    reproduced = all(c.passed for c in checks)
    text = (
        "### (d) Razin and Cohen's 2 x 2 example\n\n"
        f"> {RAZIN_COHEN_FINDING}\n\n"
        "Geometry: every zero of the loss, [[x, 1], [1, 0]], has det = -1, and for "
        "N >= 2 the velocity -A_{N,X}(E') has no normal component at rank-"
        "deficient points, so the component det > 0 is invariant and contains no "
        "zero of the loss: the infimum 0 is approached only as X_11 -> inf with "
        "X / |X| running to the rank-one boundary. Integrated in SVD coordinates "
        "(theta, phi, log s_1, log s_2), which keep det > 0 exactly (for N = 2, s_2 "
        "decays exponentially and a dense integrator of X crosses det = 0 "
        "numerically at t ~ 30), from X_0 = [[0.1, 0.02], [0, 0.08]] to "
        f"t = {t_final:g}:\n\n"
        + markdown_table(
            ("N", "|X|_F at T", "log s_2 at T", "effective rank", "loss", "|X| grows"),
            rows,
        )
        + f"\n\n**Reproduced: {'yes' if reproduced else 'no'}.** Depth 1 (plain "
        "gradient flow on X) instead crosses det = 0 and converges to a full-rank "
        "zero with det = -1.\n\n"
        f"![Razin-Cohen]({FIGURE_RAZIN_COHEN})"
    )
    return text, checks, FIGURE_RAZIN_COHEN


def _two_by_two(ctx: ReportContext):
    ctx.substep("(e) 2 x 2 limits, N = 1..6")
    n_starts = 40 if ctx.quick else 100
    depths = (1, 2, 3, 4) if ctx.quick else (1, 2, 3, 4, 5, 6)
    rows, checks, results = [], [], {}
    for depth in depths:
        t_final = 400.0 if depth <= 3 else 2000.0
        out = two_by_two_limits(depth, n_starts, t_final=t_final, seed=ctx.seed)
        results[depth] = out
        ok = out["converged"]
        near = float(np.mean(out["distance"][ok] < 0.1)) if np.any(ok) else math.nan
        rank_one = float(np.mean(out["ratio"][ok] < 1e-2)) if np.any(ok) else math.nan
        rows.append(
            (
                depth,
                f"{np.mean(ok):.2f}",
                f"{rank_one:.2f}",
                f"{near:.2f}",
                f"{np.median(out['distance'][ok]):.3g}" if np.any(ok) else "-",
            )
        )
    near = {
        d: float(np.mean(r["distance"][r["converged"]] < 0.1))
        for d, r in results.items()
    }
    checks.append(Check("(e) N=1: fraction near the cluster", near[1], 0.0))
    for depth in depths:
        if depth >= 3:
            checks.append(
                Check(
                    f"(e) N={depth}: 1 - fraction within 0.1 of the cluster",
                    1.0 - near[depth],
                    0.2,
                )
            )
    checks.append(
        Check(
            "(e) concentration grows from N=2 to N=3 (N=2 minus N=3)",
            near[2] - near[3],
            0.0,
        )
    )
    figure = new_figure(figsize=(3.2 * len(depths), 3.4))
    axes = figure.subplots(1, len(depths))
    a = np.linspace(0.3, 3.0, 200)
    for axis, depth in zip(axes, depths, strict=True):
        limits = results[depth]["limits"]
        for sign in (1.0, -1.0):
            axis.plot(sign * a, sign / a, color="0.7", lw=1)
        axis.scatter(
            limits[:, 0, 1],
            limits[:, 1, 0],
            s=8,
            c=np.log10(np.maximum(results[depth]["ratio"], 1e-12)),
            cmap="viridis",
            vmin=-8,
            vmax=0,
        )
        axis.set(xlim=(-2, 2), ylim=(-2, 2), title=f"N = {depth}", xlabel="X_12")
        axis.set_aspect("equal")
    axes[0].set_ylabel("X_21")
    save_figure(ctx, figure, FIGURE_2X2)
    text = (
        "### (e) Survey §14.1: limits of the 2 x 2 completion for N = 1..6\n\n"
        "Observe X_11 = X_22 = 1 (MATH §9); zeros [[1, a], [b, 1]], rank one on "
        f"ab = 1 (grey). {n_starts} starts X_0 = 1e-3 G per depth, downstairs "
        "flow to t = 400 (N <= 3) or 2000. The survey reports attraction to the "
        "low-rank zeros, clustered near [[1, 1], [1, 1]] (and, by X -> D X D, "
        "[[1, -1], [-1, 1]]). Fractions over converged runs (final loss < 1e-8); "
        "colour: log10 s_2/s_1 of the limit:\n\n"
        + markdown_table(
            (
                "N",
                "converged",
                "s2/s1 < 1e-2",
                "within 0.1 of cluster",
                "median distance",
            ),
            rows,
        )
        + "\n\nN = 1 keeps the off-diagonal entries of the start (limits near I); "
        "from N = 2 on the limits go to the rank-one zeros near the "
        "cluster, a larger fraction as N grows (though each a little farther from "
        "it: the median distance grows with N): the survey's observation is "
        "reproduced.\n\n"
        f"![2 x 2 limits]({FIGURE_2X2})"
    )
    return text, checks, FIGURE_2X2


def section(ctx: ReportContext) -> SectionResult:
    """Low rank: geometry of M_r and the implicit-bias experiments."""
    parts = [
        _guarded("(a) geometry of M_r", _geometry),
        _guarded("(b) deep matrix completion", _completion),
        _guarded("(c) incremental learning", _incremental),
        _guarded("(d) Razin-Cohen", _razin_cohen),
        _guarded("(e) 2 x 2 limits", _two_by_two),
    ]
    intro = (
        "Training from a balanced start of rank r keeps rank r (survey §5.4, "
        "Thm 3): the end-to-end matrix follows the g^N gradient flow on the "
        "stratum M_r of rank-r matrices (MATH §10). Part (a) checks that geometry; "
        "parts (b)-(e) reproduce the low-rank implicit bias of deep factorizations."
    )
    return assemble_section(ctx, TITLE, intro, parts)
