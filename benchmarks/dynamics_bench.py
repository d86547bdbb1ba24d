"""Benchmarks of training dynamics and fibers (items 5-7 of ``run.py``).

5. Integrating downstairs (``X' = -A_{N,X}(E'(X))``, one SVD per evaluation)
   against upstairs (``W' = -grad L(W)``, ``O(N)`` matrix products) at equal
   accuracy of ``X(t)``: 64 x 64 completion, N = 2 ... 64. Target: downstairs
   at least 5x faster at N = 64.
6. 100 gradient-descent steps at d = 256, N = 4. Target: under 2 s.
7. One L2 regularizing-flow velocity at d = 32, N = 8 (target under 50 ms), and
   against the dense solve of ``H(b) = G`` at d = 12, N = 6 (target >= 20x).
8. One Brownian step on (M_3, g^3) against geomstats' ``BrownianMotion`` step on
   the generic flat-coordinate metric (target >= 100x), and 10,000 paths of
   d = 4 advanced one step (target under 0.1 s).
"""

from __future__ import annotations

import time

import numpy as np
from scipy.linalg import cho_factor, cho_solve

from geomstats_dln import center, end_to_end
from geomstats_dln.dynamics import (
    brownian_step,
    euclidean_gradient_field,
    gradient_descent,
    initialize,
    integrate,
    l2_regularizing_field,
    riemannian_gradient_field,
)
from geomstats_dln.fibers import (
    _dense_fiber_operator_matrix,
    fiber_tangent_vector,
)
from geomstats_dln.losses import MatrixCompletionLoss, completion_problem
from geomstats_dln.parameters import moments

ACCURACY = 1e-6  # max |X(T) - X_ref(T)| / max |X_ref(T)|
RTOLS = (1e-4, 3e-5, 1e-5, 3e-6, 1e-6, 3e-7, 1e-7, 3e-8, 1e-8, 1e-9)
FIGURE = "dynamics_speed.png"


def _median_time(function, repeats):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), result


def _completion_setup(dim, seed):
    """64 x 64 rank-3 completion, 30% observed, truth of spectral norm 2 and a
    well-conditioned start X_0 = Q diag(linspace(0.5, 1)): X stays full rank
    and the loss falls by orders of magnitude by T = 1 at every depth."""
    problem, truth = completion_problem(dim, rank=3, fraction=0.3, seed=seed)
    truth = 2.0 * truth / np.linalg.norm(truth, 2)
    loss = MatrixCompletionLoss(problem.mask, truth)
    rng = np.random.default_rng(seed + 1)
    orthogonal, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    return loss, orthogonal * np.linspace(0.5, 1.0, dim)


def _loosest_accurate(field, state, t_final, reference, to_matrix, repeats):
    """The loosest rtol of RTOLS whose X(T) meets ACCURACY, and its timing."""
    for rtol in RTOLS:
        run = integrate(field, state, t_final, rtol=rtol, record_defaults=False)
        matrix = to_matrix(run.final_state)
        error = float(np.max(np.abs(matrix - reference)) / np.max(np.abs(reference)))
        if error <= ACCURACY:
            elapsed, _ = _median_time(
                lambda r=rtol: integrate(
                    field, state, t_final, rtol=r, record_defaults=False
                ),
                repeats,
            )
            return rtol, run.info["n_evaluations"], elapsed, error
    raise RuntimeError(f"no rtol in {RTOLS} reaches accuracy {ACCURACY:g}")


def bench_up_down(table, notes, quick, figure_dir):
    depths = (2, 8, 64) if quick else (2, 4, 8, 16, 32, 64)
    repeats = 1 if quick else 3
    dim, t_final = 64, 1.0
    loss, start = _completion_setup(dim, seed=0)
    rows = []
    for depth in depths:
        down_field = riemannian_gradient_field(loss, depth)
        up_field = euclidean_gradient_field(loss)
        balanced = center(start, depth)
        reference = integrate(
            down_field, start, t_final, rtol=1e-12, record_defaults=False
        ).final_state
        up_reference = integrate(
            up_field, balanced, t_final, rtol=1e-12, record_defaults=False
        ).final_state
        thm_2 = float(
            np.max(np.abs(end_to_end(up_reference) - reference))
            / np.max(np.abs(reference))
        )
        down = _loosest_accurate(
            down_field, start, t_final, reference, lambda x: x, repeats
        )
        up = _loosest_accurate(
            up_field, balanced, t_final, reference, end_to_end, repeats
        )
        ratio = up[2] / down[2]
        rows.append((depth, down, up, ratio, thm_2))
        table.add(
            "5",
            f"downstairs vs upstairs d=64, N={depth}",
            f"rtol {down[0]:g} / {up[0]:g}; fev {down[1]} / {up[1]}",
            f"{down[2] * 1e3:.0f} ms",
            f"X(T) err {down[3]:.1e} / {up[3]:.1e}; up-vs-down refs {thm_2:.1e}",
            f"upstairs {up[2] * 1e3:.0f} ms",
            f"{ratio:.1f}x",
        )
        print(f"  N={depth}: down {down}, up {up}, ratio {ratio:.1f}", flush=True)
    _plot_up_down(rows, figure_dir / FIGURE)
    notes.append(
        "5. downstairs vs upstairs: 64 x 64 rank-3 completion (30% observed), "
        "balanced start, DOP853 to T = 1; each level uses the loosest rtol of "
        f"{RTOLS[0]:g}..{RTOLS[-1]:g} whose X(T) is within {ACCURACY:g} (relative "
        "max norm) of a downstairs reference at rtol 1e-12; the upstairs "
        "reference (rtol 1e-12) agrees with it (Thm 2) to the stated error. "
        f"Plot: {FIGURE}."
    )
    final = rows[-1]
    passed = final[0] == 64 and final[3] >= 5.0
    return (
        f"{'PASS' if passed else 'FAIL'}  5. downstairs {final[3]:.1f}x faster than "
        f"upstairs at N = {final[0]} (d = 64, equal accuracy {ACCURACY:g}; >= 5x)"
    )


def _plot_up_down(rows, path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    depths = [row[0] for row in rows]
    figure = Figure(figsize=(10, 4))
    FigureCanvasAgg(figure)
    left, right = figure.subplots(1, 2)
    left.loglog(depths, [row[1][2] for row in rows], "o-", label="downstairs (X)")
    left.loglog(depths, [row[2][2] for row in rows], "s-", label="upstairs (W)")
    left.set(
        xlabel="depth N",
        ylabel="time to T = 1 at equal accuracy [s]",
        title="64 x 64 completion, DOP853",
    )
    left.legend()
    right.semilogx(depths, [row[3] for row in rows], "o-", color="C2")
    right.axhline(5.0, color="C3", ls="--", label="target 5x at N = 64")
    right.axhline(1.0, color="0.6", lw=0.8)
    right.set(
        xlabel="depth N", ylabel="upstairs time / downstairs time", title="speed ratio"
    )
    right.legend()
    for axis in (left, right):
        axis.minorticks_off()
        axis.set_xticks(depths, [str(n) for n in depths])
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def bench_descent(table, notes, quick):
    repeats = 1 if quick else 3
    loss, _ = completion_problem(256, rank=5, fraction=0.3, seed=0)
    start = initialize("balanced", 256, 4, scale=1.0, seed=1)
    field = euclidean_gradient_field(loss)
    elapsed, run = _median_time(
        lambda: gradient_descent(
            field, start, 1e-3, 100, record_defaults=False, record_every=100
        ),
        repeats,
    )
    before = float(loss.value(end_to_end(start)))
    after = float(loss.value(end_to_end(run.final_state)))
    table.add(
        "6",
        "100 GD steps d=256, N=4",
        "eta 1e-3, completion",
        f"{elapsed:.2f} s",
        f"loss {before:.3g} -> {after:.3g}",
        "",
        "",
    )
    notes.append(
        "6. gradient descent: 256 x 256 rank-5 completion (30% observed), "
        "balanced start (layers of scale 1), eta = 1e-3, 100 steps, keeping the "
        "first and last states only (record_every=100, no observables)."
    )
    passed = elapsed < 2.0
    return (
        f"{'PASS' if passed else 'FAIL'}  6. 100 gradient-descent steps at d = 256, "
        f"N = 4: {elapsed:.2f} s (< 2 s)"
    )


def _dense_velocity(parameters):
    """L2 regularizing velocity by the dense route: build H, Cholesky, -w_b."""
    depth, dim = parameters.shape[0], parameters.shape[-1]
    operator = _dense_fiber_operator_matrix(parameters)
    rhs = np.asarray(moments(parameters)).ravel()
    algebra = cho_solve(cho_factor(operator), rhs).reshape(depth - 1, dim, dim)
    return -np.asarray(fiber_tangent_vector(algebra, parameters))


def bench_fibers(table, notes, quick):
    repeats = 5 if quick else 15
    field = l2_regularizing_field()
    large = initialize("gaussian", 32, 8, scale=1.0, seed=2)
    large_time, _ = _median_time(lambda: field(large), repeats)
    small = initialize("gaussian", 12, 6, scale=1.0, seed=3)
    # interleaved rounds (20 structured calls, then 2 dense ones) so that both
    # see the same machine load; one structured call is ~0.4 ms
    structured_samples, dense_samples = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(20):
            structured = field(small)
        structured_samples.append((time.perf_counter() - start) / 20)
        start = time.perf_counter()
        for _ in range(2):
            dense = _dense_velocity(small)
        dense_samples.append((time.perf_counter() - start) / 2)
    structured_time = float(np.median(structured_samples))
    dense_time = float(np.median(dense_samples))
    error = float(np.max(np.abs(structured - dense)) / np.max(np.abs(dense)))
    ratio = dense_time / structured_time
    table.add(
        "7",
        "L2 regularizing velocity d=32, N=8",
        "normal equations (d^2 unknowns)",
        f"{large_time * 1e3:.1f} ms",
        "",
        "",
        "",
    )
    table.add(
        "7",
        "L2 regularizing velocity d=12, N=6",
        "normal equations (d^2 unknowns)",
        f"{structured_time * 1e3:.2f} ms",
        f"vs dense: {error:.1e}",
        f"dense H ((N-1) d^2 = 720) build + Cholesky: {dense_time * 1e3:.1f} ms",
        f"{ratio:.0f}x",
    )
    notes.append(
        "7. fibers: one velocity of the L2 regularizing flow W' = -w_b, H(b) = G, "
        "at Gaussian points (layers N(0, 1/d)); the dense baseline assembles the "
        "(N-1) d^2 matrix of H and solves by Cholesky."
    )
    passed = large_time < 0.05 and ratio >= 20
    return (
        f"{'PASS' if passed else 'FAIL'}  7. L2 regularizing velocity: "
        f"{large_time * 1e3:.1f} ms at d = 32, N = 8 (< 50 ms); {ratio:.0f}x the "
        "dense solve at d = 12, N = 6 (>= 20x)"
    )


def bench_brownian(table, notes, quick):
    """Item 8: Brownian steps (MATH §7)."""
    from generic_metric import generic_space

    import geomstats.backend as gs
    from geomstats.distributions.brownian_motion import BrownianMotion

    repeats = 3 if quick else 7
    rng = np.random.default_rng(4)
    point = np.eye(3) + 0.3 * rng.normal(size=(3, 3)) / np.sqrt(3)
    step = 1e-3
    motion = BrownianMotion(generic_space(3, depth=3))
    flat = gs.array(point.reshape(-1))
    generic_time, _ = _median_time(lambda: motion._step(step, flat), repeats)
    # geomstats' process is beta = 2 (generator Delta_g / 2)
    calls = 200
    library_time, _ = _median_time(
        lambda: [brownian_step(point, 3, 2.0, step, rng) for _ in range(calls)],
        repeats,
    )
    library_time /= calls
    ratio = generic_time / library_time
    batch = np.eye(4) + 0.3 * rng.normal(size=(10_000, 4, 4)) / 2.0
    batch_time, moved = _median_time(
        lambda: brownian_step(batch, 4, 1.0, step, rng), repeats
    )
    table.add(
        "8",
        "Brownian step (M_3, g^3)",
        "closed-form drift, A^{1/2} noise",
        f"{library_time * 1e6:.0f} us",
        "",
        f"geomstats BrownianMotion, autodiff Christoffels: {generic_time * 1e3:.1f} ms",
        f"{ratio:.0f}x",
    )
    table.add(
        "8",
        "Brownian step, 10,000 paths d=4",
        "batched",
        f"{batch_time * 1e3:.1f} ms",
        "finite" if np.all(np.isfinite(moved)) else "NON-FINITE",
        "",
        "",
    )
    notes.append(
        "8. Brownian motion: one Euler-Maruyama step of the library "
        "(drift (N-1) X (X^T X)^{-1/N} / beta, noise sqrt(2/beta) A^{1/2}(dB), one "
        "SVD) at beta = 2, against geomstats' BrownianMotion._step on the generic "
        "flat-coordinate metric of item 1 (drift -1/2 g^{ij} Gamma^k_ij from "
        "autodiff Christoffels; geomstats' process is beta = 2)."
    )
    passed = ratio >= 100 and batch_time < 0.1
    return (
        f"{'PASS' if passed else 'FAIL'}  8. Brownian step {ratio:.0f}x geomstats' "
        f"BrownianMotion on the generic metric (>= 100x); 10,000 paths of d = 4 in "
        f"{batch_time * 1e3:.1f} ms (< 0.1 s)"
    )
