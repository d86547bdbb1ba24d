"""Report section: Riemannian optimization on ``(M_d, g^N)`` (MATH §3, §9).

Matrix sensing and matrix completion, both underdetermined (fewer measurements
than entries), so that the minimizers form an affine subspace and *which*
minimizer a method reaches is the question. From one small start
``X_0 = scale Q`` (``Q`` orthogonal) we run

- Pymanopt's steepest descent (RGD), conjugate gradients (RCG) and trust regions
  (RTR) on :class:`~geomstats_dln.optimization.DLNManifold` for several depths
  ``N`` (``N = 1`` is the Euclidean metric);
- the DLN gradient flow ``X' = -A_{N,X}(E'(X))`` (LSODA), which is what
  training a balanced network does (survey Thm 3);
- SciPy's L-BFGS on the Euclidean problem.

Checks: Pymanopt's gradient and Hessian diagnostics on the problem (slopes 2
and 3); convergence of each solver; the Euclidean solvers' limit is predicted
exactly (iterates stay in ``X_0 + range(A^*)``, so the limit is
``X_0 + A^+(y - A X_0)``, computed here by ``lstsq``); and the implicit-bias
prediction (Arora, Cohen, Hu, Luo 2019): the depth-3 gradient flow from a small
start recovers the low-rank truth better than the Euclidean limit.
"""

from __future__ import annotations

import contextlib
import io
import math
import time

import numpy as np
from scipy.optimize import minimize

from geomstats_dln.dynamics import integrate, riemannian_gradient_field
from geomstats_dln.losses import (
    MatrixCompletionLoss,
    MatrixSensingLoss,
    completion_problem,
    sensing_problem,
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

TITLE = "Riemannian optimization on (M_d, g^N)"
FIGURE = "optimization_comparison.png"
START_SCALE = 1e-2  # X_0 = START_SCALE * Q: small, as for implicit bias
GRADIENT_TOL = 1e-9  # Pymanopt solvers stop at this Riemannian gradient norm
TOL_TR_GRADIENT = 1e-8  # check: RTR's final Riemannian gradient norm
TOL_LOSS = 1e-8  # check: final loss / initial loss of L-BFGS and RTR
TOL_FLOW_LOSS = 1e-3  # check: the flow's final loss / initial loss at t_final
TOL_SLOPE = 0.1  # check: |slope - 2| and |slope - 3| of Pymanopt's diagnostics
TOL_PREDICTED_LIMIT = 1e-6  # check: Euclidean limit vs X_0 + A^+(y - A X_0)
RANK_RTOL = 1e-2  # numerical rank: singular values above this times s_max


def benchmark_problems(dim: int, seed: int):
    """Underdetermined sensing (rank 2) and completion (rank 1) of ``dim x dim``."""
    sensing, sensing_truth = sensing_problem(
        dim, rank=2, n_measurements=int(0.6 * dim * dim), seed=seed
    )
    completion, completion_truth = completion_problem(
        dim, rank=1, fraction=0.45, seed=seed
    )
    return {
        "sensing": (sensing, np.asarray(sensing_truth)),
        "completion": (completion, np.asarray(completion_truth)),
    }


def _measurement_matrix(loss) -> tuple[np.ndarray, np.ndarray]:
    """``(A, y)`` with ``E(X) = 1/2 |A vec(X) - y|^2`` (row-major vec)."""
    if isinstance(loss, MatrixSensingLoss):
        measurements = np.asarray(loss.measurements)
        return measurements.reshape(len(measurements), -1), np.asarray(loss.observed)
    if isinstance(loss, MatrixCompletionLoss):
        mask = np.asarray(loss.mask).ravel()
        rows = np.eye(mask.size)[mask]
        return rows, np.asarray(loss.observed).ravel()[mask]
    raise TypeError(f"no measurement matrix for {type(loss).__name__}")


def predicted_euclidean_limit(loss, start: np.ndarray) -> np.ndarray:
    """``X_0 + A^+(y - A X_0)``: the limit of gradient-type Euclidean solvers.

    Their iterates move along gradients ``A^T r``, so they stay in
    ``X_0 + range(A^T)``; the only minimizer there is this one (lstsq).
    """
    operator, observed = _measurement_matrix(loss)
    correction = np.linalg.lstsq(
        operator, observed - operator @ start.ravel(), rcond=None
    )[0]
    return start + correction.reshape(start.shape)


def _limit_summary(point: np.ndarray, truth: np.ndarray) -> dict:
    s = np.linalg.svd(point, compute_uv=False)
    return {
        "rank": int(np.sum(s > RANK_RTOL * s[0])),
        "nuclear": float(np.sum(s)),
        "recovery": float(np.linalg.norm(point - truth) / np.linalg.norm(truth)),
        "singular_values": s,
    }


def _run_pymanopt(kind, loss, depth, start, max_iterations):
    """One Pymanopt solver on ``(M_d, g^depth)``; loss/time per iteration."""
    from pymanopt.optimizers import ConjugateGradient, SteepestDescent, TrustRegions

    from geomstats_dln.optimization import DLNManifold, pymanopt_problem

    evaluations: list[tuple[float, float]] = []

    def record(_, value):
        evaluations.append((time.time(), value))

    manifold = DLNManifold(*loss.shape, depth=depth)
    # Pymanopt's TrustRegions keeps no per-iteration log; it evaluates the cost
    # once per outer iteration (at the candidate), so the running minimum of
    # the recorded evaluations is the accepted-iterate curve.
    problem = pymanopt_problem(
        manifold,
        loss,
        hessian=kind == "RTR",
        cost_callback=record if kind == "RTR" else None,
    )
    options = dict(
        verbosity=0,
        log_verbosity=1,
        min_gradient_norm=GRADIENT_TOL,
        max_iterations=max_iterations,
    )
    solver = {
        "RGD": SteepestDescent,
        "RCG": ConjugateGradient,
        "RTR": TrustRegions,
    }[kind](**options)
    started = time.time()
    if kind == "RTR":
        # mininner=0: with Pymanopt's default 1 the inner CG takes a second step
        # after an exact first one (the Euclidean completion Hessian is a
        # projection) and divides 0 by 0.
        result = solver.run(problem, initial_point=start, mininner=0)
    else:
        result = solver.run(problem, initial_point=start)
    if kind == "RTR":
        times, values = (np.array(column) for column in zip(*evaluations, strict=True))
        losses, times = np.minimum.accumulate(values), times - started
    else:
        log = result.log["iterations"]
        losses = np.array(log["cost"], dtype=float)
        times = np.array(log["time"], dtype=float) - started
    return {
        "losses": losses,
        "times": times,
        "point": np.asarray(result.point),
        "gradient_norm": float(result.gradient_norm),
        "iterations": int(result.iterations),
        "wall": float(result.time),
    }


def _run_flow(loss, depth, start, t_final, rtol):
    """The DLN gradient flow; wall time spread evenly over the accepted steps.

    LSODA: from a small start the flow is stiff near its limit (the small
    singular values relax slowly while the large ones are fast); explicit
    DOP853 needed about 4x more steps and time here.
    """
    started = time.perf_counter()
    trajectory = integrate(
        riemannian_gradient_field(loss, depth),
        start,
        t_final,
        rtol=rtol,
        method="LSODA",
    )
    wall = time.perf_counter() - started
    steps = len(trajectory.times)
    return {
        "losses": np.asarray(trajectory["loss"], dtype=float),
        "times": np.linspace(0.0, wall, steps),
        "point": np.asarray(trajectory.final_state),
        "gradient_norm": math.nan,
        "iterations": steps - 1,
        "wall": wall,
    }


def _run_lbfgs(loss, start):
    shape = start.shape
    losses, times = [float(loss.value(start))], [0.0]
    started = time.perf_counter()

    def record(flat):
        losses.append(float(loss.value(flat.reshape(shape))))
        times.append(time.perf_counter() - started)

    result = minimize(
        lambda x: float(loss.value(x.reshape(shape))),
        start.ravel(),
        jac=lambda x: np.asarray(loss.gradient(x.reshape(shape))).ravel(),
        method="L-BFGS-B",
        callback=record,
        options={"gtol": 1e-12, "ftol": 1e-30, "maxiter": 20_000},
    )
    return {
        "losses": np.array(losses),
        "times": np.array(times),
        "point": result.x.reshape(shape),
        "gradient_norm": float(np.linalg.norm(result.jac)),
        "iterations": int(result.nit),
        "wall": times[-1],
    }


def compare_optimizers(
    loss,
    truth: np.ndarray,
    depths=(1, 2, 3),
    flow_depths=(2, 3),
    quick: bool = False,
    seed: int = 0,
    progress=None,
) -> dict:
    """Run every method of the section on one problem.

    Parameters
    ----------
    loss : MatrixSensingLoss or MatrixCompletionLoss
    truth : ndarray, shape=[n, m]
        The low-rank ground truth (for the recovery error only).
    depths : sequence of int
        Depths of the Pymanopt runs.
    flow_depths : sequence of int
        Depths of the gradient flows.
    quick : bool
        Fewer iterations and a shorter flow.
    seed : int
        Seed of the orthogonal factor of the start.
    progress : callable, optional
        Called with a short description before each run.

    Returns
    -------
    runs : dict
        ``label -> run`` (losses, times, point, ...) or ``label -> {"error": str}``;
        ``"start"`` holds ``X_0``.
    """
    n, m = loss.shape
    rng = np.random.default_rng(seed)
    orthogonal = np.linalg.qr(rng.normal(size=(max(n, m), max(n, m))))[0]
    start = START_SCALE * orthogonal[:n, :m]
    runs: dict = {"start": start}
    max_iterations = 200 if quick else 3000
    jobs = [
        (
            f"{kind} g^{depth}",
            lambda k=kind, d=depth: _run_pymanopt(k, loss, d, start, max_iterations),
        )
        for depth in depths
        for kind in ("RGD", "RCG", "RTR")
    ]
    t_final, rtol = (300.0, 1e-6) if quick else (300.0, 1e-8)
    jobs += [
        (f"flow g^{depth}", lambda d=depth: _run_flow(loss, d, start, t_final, rtol))
        for depth in flow_depths
    ]
    jobs.append(("L-BFGS (Euclidean)", lambda: _run_lbfgs(loss, start)))
    for label, job in jobs:
        if progress is not None:
            progress(label)
        try:
            run = job()
            run.update(_limit_summary(run["point"], truth))
            runs[label] = run
        except Exception as error:  # a failed run becomes a FAIL row, not a crash
            runs[label] = {"error": f"{type(error).__name__}: {error}"}
    return runs


def plot_comparison(results: dict, truths: dict, fig) -> None:
    """Loss vs iterations, vs wall time, and limit spectra; one row per problem."""
    colors = {"RGD": "tab:blue", "RCG": "tab:orange", "RTR": "tab:green"}
    styles = {"1": ":", "2": "--", "3": "-", "inf": "-."}
    axes = fig.subplots(len(results), 3, squeeze=False)
    for row, (name, runs) in enumerate(results.items()):
        ax_iter, ax_time, ax_spec = axes[row]
        for label, run in runs.items():
            if label == "start" or "error" in run:
                continue
            kind, _, depth = label.partition(" g^")
            if label.startswith("flow"):
                color = "tab:red"
            elif label.startswith("L-BFGS"):
                color, depth = "black", "1"
            else:
                color = colors[kind]
            style = styles.get(depth, "-")
            relative = np.maximum(run["losses"] / run["losses"][0], 1e-32)
            ax_iter.semilogy(relative, style, color=color, label=label, lw=1.2)
            ax_time.semilogy(
                np.maximum(run["times"], 1e-4), relative, style, color=color, lw=1.2
            )
            ax_spec.semilogy(
                np.arange(1, len(run["singular_values"]) + 1),
                np.maximum(run["singular_values"], 1e-12),
                style,
                color=color,
                marker=".",
                lw=1.0,
            )
        truth_s = np.linalg.svd(truths[name], compute_uv=False)
        ax_spec.semilogy(
            np.arange(1, len(truth_s) + 1),
            np.maximum(truth_s, 1e-12),
            "s",
            color="gray",
            mfc="none",
            label="truth",
        )
        ax_iter.set_xscale("symlog", linthresh=10)
        ax_time.set_xscale("log")
        ax_iter.set_title(f"{name}: loss / loss(X_0) vs iterations")
        ax_time.set_title(f"{name}: vs wall time [s]")
        ax_spec.set_title(f"{name}: singular values of the limit")
        ax_spec.set_ylim(1e-6, None)
        for ax in axes[row]:
            ax.grid(alpha=0.3, which="both")
        if row == 0:
            ax_iter.legend(fontsize=6, ncol=2)
            ax_spec.legend(fontsize=6)
    fig.suptitle(
        "Riemannian GD/CG/TR on g^N (line style: N = 1 dotted, 2 dashed, 3 solid), "
        "the DLN gradient flow (red) and Euclidean L-BFGS (black)",
        fontsize=9,
    )


def _pymanopt_slopes(loss, depth):
    """Slopes of Pymanopt's first- and second-order model errors (2 and 3)."""
    from pymanopt.tools.diagnostics import check_directional_derivative

    from geomstats_dln.optimization import DLNManifold, pymanopt_problem

    rng = np.random.default_rng(0)
    n, m = loss.shape
    problem = pymanopt_problem(DLNManifold(n, m, depth=depth), loss)
    point = np.eye(n, m) + 0.1 * rng.normal(size=(n, m))
    direction = 0.3 * rng.normal(size=(n, m)) / math.sqrt(n * m)
    slopes = []
    for quadratic in (False, True):
        # Pymanopt prints a sentence per check; the report's stdout is its path.
        with contextlib.redirect_stdout(io.StringIO()):
            steps, errors, _, _ = check_directional_derivative(
                problem, point, direction, use_quadratic_model=quadratic
            )
        slopes.append(_taylor_slope(np.asarray(steps), np.asarray(errors)))
    return slopes


FLOOR_STEPS, FLOOR_FACTOR, FIT_POINTS = 10, 1e3, 10


def _taylor_slope(steps, errors):
    """Slope of log(error) against log(h) over the ``FIT_POINTS`` smallest steps
    whose error is ``FLOOR_FACTOR`` above the rounding floor (the largest error
    of the ``FLOOR_STEPS`` smallest steps, pure rounding of f, and at least
    the smallest nonzero error).

    Pymanopt's own choice of the linear piece can pick the floor itself when
    its errors repeat one value exactly (seed 30: a run of 3.55e-15 fitted
    with slope 0); the leading Taylor term dominates just above the floor.
    """
    # a floor of exact zeros (seed 99) is the smallest nonzero rounding error
    positive = errors[errors > 0]
    floor = float(np.max(errors[:FLOOR_STEPS]))
    if positive.size:
        floor = max(floor, float(np.min(positive)))
    above = np.flatnonzero(errors > FLOOR_FACTOR * max(floor, np.finfo(float).tiny))
    # the first run above the floor, from the smallest such step
    chosen = above[:FIT_POINTS]
    if len(chosen) < 3:
        return math.nan
    return float(np.polyfit(np.log10(steps[chosen]), np.log10(errors[chosen]), 1)[0])


def _run_all(ctx: ReportContext):
    dim = 8  # smaller completion problems leave rows or columns unobserved
    depths = (3,) if ctx.quick else (1, 2, 3)
    flow_depths = (3,) if ctx.quick else (2, 3)
    problems = benchmark_problems(dim, ctx.seed)
    results, truths = {}, {}
    for name, (loss, truth) in problems.items():
        truths[name] = truth
        results[name] = compare_optimizers(
            loss,
            truth,
            depths=depths,
            flow_depths=flow_depths,
            quick=ctx.quick,
            seed=ctx.seed + 1,
            progress=lambda label, name=name: ctx.substep(f"{name}: {label}"),
        )
    return problems, results, truths, dim


def _recovery(runs, label):
    run = runs.get(label, {})
    return math.nan if "error" in run or not run else run["recovery"]


def _conclusions(results) -> str:
    """What the DLN geometry buys and what it does not, with this run's numbers."""
    numbers = []
    for name, runs in results.items():
        best = min(
            (
                label
                for label in runs
                if label != "start" and "error" not in runs[label]
            ),
            key=lambda label: runs[label]["recovery"],
            default="none",
        )
        numbers.append(
            f"{name}: recovery error {_recovery(runs, 'flow g^3'):.3g} for the g^3 "
            f"flow, {_recovery(runs, 'RTR g^3'):.3g} for RTR on g^3, "
            f"{_recovery(runs, 'L-BFGS (Euclidean)'):.3g} for L-BFGS (best: {best})"
        )
    return (
        "What the DLN geometry buys, and what it does not. The losses are convex "
        "quadratics: on them the Euclidean solvers (N = 1 and L-BFGS) converge "
        "in the fewest iterations, to the minimizer "
        "nearest to X_0 in the Frobenius norm, X_0 + A^+(y - A X_0) (checked), "
        "which is not low-rank. The metric g^N (N >= 2) slows every solver down "
        "near a small X_0 (its cometric A_{N,X} vanishes at X = 0 like "
        "s^{2(N-1)/N}), so the small start costs iterations and time. What it "
        "buys is the implicit bias of small-step gradient dynamics: the DLN "
        "gradient flow (balanced training) from a small start selects a "
        "minimizer of low effective rank and nuclear norm, close to the "
        "low-rank truth. Riemannian CG and trust regions on g^N reach a "
        "minimizer in far fewer iterations than the flow, but their long steps "
        "leave the flow's path, and the minimizer they select is in general "
        "less low-rank: second-order speed and the implicit bias do not come "
        "together. In this run: " + "; ".join(numbers) + "."
    )


def _part_comparison(ctx: ReportContext):
    problems, results, truths, dim = _run_all(ctx)
    checks: list[Check] = []
    rows = []
    for name, runs in results.items():
        loss, truth = problems[name]
        start = runs["start"]
        initial = float(loss.value(start))
        s_truth = np.linalg.svd(truth, compute_uv=False)
        rows.append(
            [
                name,
                "truth",
                "",
                "",
                "",
                int(np.sum(s_truth > RANK_RTOL * s_truth[0])),
                float(np.sum(s_truth)),
                0.0,
            ]
        )
        for label, run in runs.items():
            if label == "start":
                continue
            if "error" in run:
                rows.append([name, label, "error", "", "", "", "", run["error"][:60]])
                continue
            rows.append(
                [
                    name,
                    label,
                    run["iterations"],
                    run["wall"],
                    float(run["losses"][-1] / initial),
                    run["rank"],
                    run["nuclear"],
                    run["recovery"],
                ]
            )

        def relative_loss(label, runs=runs, initial=initial, loss=loss):
            run = runs.get(label, {})
            if "error" in run or not run:
                return math.nan
            return float(loss.value(run["point"]) / initial)

        for label in [key for key in runs if key.startswith("RTR")]:
            run = runs[label]
            value = math.nan if "error" in run else run["gradient_norm"]
            reason = f" ({run['error'][:50]})" if "error" in run else ""
            checks.append(
                Check(
                    f"{name}: {label} final Riemannian gradient norm{reason}",
                    value,
                    TOL_TR_GRADIENT,
                )
            )
        checks.append(
            Check(
                f"{name}: L-BFGS final loss / initial loss",
                relative_loss("L-BFGS (Euclidean)"),
                TOL_LOSS,
            )
        )
        for label in [key for key in runs if key.startswith("flow")]:
            checks.append(
                Check(
                    f"{name}: {label} loss / initial loss at t_final",
                    relative_loss(label),
                    TOL_FLOW_LOSS,
                )
            )
        predicted = predicted_euclidean_limit(loss, start)
        for label in ["L-BFGS (Euclidean)"] + [
            key for key in runs if key.endswith("g^1") and not key.startswith("RGD")
        ]:
            run = runs.get(label, {})
            value = (
                math.nan
                if "error" in run or not run
                else float(
                    np.linalg.norm(run["point"] - predicted) / np.linalg.norm(predicted)
                )
            )
            checks.append(
                Check(
                    f"{name}: {label} limit vs X_0 + A^+(y - A X_0) (lstsq), relative",
                    value,
                    TOL_PREDICTED_LIMIT,
                )
            )
        flow, euclidean = runs.get("flow g^3", {}), runs.get("L-BFGS (Euclidean)", {})
        ratio = (
            math.nan
            if "error" in flow or "error" in euclidean or not flow or not euclidean
            else flow["recovery"] / euclidean["recovery"]
        )
        checks.append(
            Check(
                f"{name}: recovery error, flow g^3 / L-BFGS (implicit bias: < 1)",
                ratio,
                1.0,
            )
        )
    fig = new_figure(figsize=(15, 8.5))
    plot_comparison(results, truths, fig)
    figure = save_figure(ctx, fig, FIGURE)
    table = markdown_table(
        [
            "problem",
            "method",
            "iterations",
            "wall time [s]",
            "final loss / E(X_0)",
            f"rank (s > {RANK_RTOL:g} s_max)",
            "nuclear norm",
            "|X - truth| / |truth|",
        ],
        rows,
    )
    text = (
        f"**(a) Sensing and completion, d = {dim}.** Sensing: rank-2 truth, "
        f"{int(0.6 * dim * dim)} Gaussian measurements; completion: rank-1 "
        f"truth, 45% of the entries. Start X_0 = {START_SCALE:g} Q (Q orthogonal). "
        f"Pymanopt solvers stop at Riemannian gradient norm {GRADIENT_TOL:g}; the "
        "gradient flow runs to t = 300 (LSODA; its 'iterations' are the "
        "integrator's accepted steps; its wall time is spread evenly over them). "
        "TrustRegions runs with mininner=0: with Pymanopt's default 1 its inner "
        "CG takes a second step after an exact first one (the Euclidean "
        "completion Hessian is a projection) and divides 0 by 0. A failed run "
        "is a row with its error: Riemannian CG on g^2 can stop on a "
        "rank-deficient matrix, because along g^2 a singular value moves as "
        "s(t) = (sqrt(s) + t c)^2 and touches 0 (g^N is incomplete); the "
        "second-order retraction reproduces this exactly."
        f"\n\n{table}\n\n![optimization comparison]({figure})\n\n"
        + _conclusions(results)
    )
    return text, checks, figure


def _part_diagnostics(ctx: ReportContext):
    dim = 4 if ctx.quick else 6
    loss, _ = sensing_problem(dim, rank=2, seed=ctx.seed)
    checks, rows = [], []
    for depth in (3,) if ctx.quick else (2, 3):
        try:
            first, second = _pymanopt_slopes(loss, depth)
        except Exception as error:  # reported as FAIL rows with the reason
            reason = f"{type(error).__name__}: {error}"[:60]
            checks += [
                Check(f"g^{depth}: gradient check ({reason})", math.nan, TOL_SLOPE),
                Check(f"g^{depth}: Hessian check ({reason})", math.nan, TOL_SLOPE),
            ]
            continue
        rows.append([depth, first, second])
        checks.append(
            Check(f"g^{depth}: |gradient-check slope - 2|", abs(first - 2), TOL_SLOPE)
        )
        checks.append(
            Check(f"g^{depth}: |Hessian-check slope - 3|", abs(second - 3), TOL_SLOPE)
        )
    table = markdown_table(
        ["N", "first-order model error slope", "second-order model error slope"],
        rows,
    )
    text = (
        f"**(b) Pymanopt's diagnostics** on a {dim} x {dim} sensing loss: the "
        "error of the Taylor model along the exponential map (the geodesic "
        "integrator) falls like h^2 with the Riemannian gradient A_X(E') and like "
        "h^3 with the Hessian through the closed-form connection, "
        "dA_X[xi](E') + A_X(E''[xi]) + Gamma_X(xi, A_X(E')). Slopes are fitted "
        f"on the {FIT_POINTS} smallest steps whose error is {FLOOR_FACTOR:g} "
        "times above the rounding floor (Pymanopt's own segment choice can "
        "land on the floor).\n\n" + table
    )
    return text, checks


PARTS = [_part_diagnostics, _part_comparison]


def section(ctx: ReportContext) -> SectionResult:
    """Riemannian optimization on g^N against the gradient flow and L-BFGS."""
    intro = (
        "Riemannian optimization with the Pymanopt adapter "
        "geomstats_dln.optimization.DLNManifold (gradient A_{N,X}(E'), Hessian "
        "through the closed-form Levi-Civita connection of "
        "geomstats_dln.connection, second-order retraction X + V - Gamma(V, V)/2) "
        "on the matrix sensing and completion problems of MATH.md section 9, "
        "against the DLN gradient flow and Euclidean L-BFGS."
    )
    try:
        return assemble_section(ctx, TITLE, intro, PARTS)
    except ImportError as error:  # pymanopt missing: one FAIL row, no crash
        return SectionResult(
            title=TITLE,
            body=f"{intro}\n\nNot run: {error}",
            checks=[Check(f"section not run ({error})", math.nan, 0.0)],
        )
