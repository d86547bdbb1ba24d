"""Reliability benchmarks (issue 15): long upstairs Langevin runs and depth 1000.

Usage (from the repository root)::

    .venv/bin/python benchmarks/reliability_bench.py [--paths 1000]
        [--steps 100000] [--jobs 2] [--beta 4] [--skip-depth]

1. The upstairs RLE (``simulate_rle(level="upstairs")``) for ``--paths``
   independent paths of ``--steps`` Euler-Maruyama steps on ``d = 2, N = 3``,
   ``E = 1/2 |X - diag(3, 2)|^2``, ``dt = 0.01``, ``--beta`` (default 4, the
   law test's temperature; at ``beta = 1`` the unrefined integrator died after
   a few hundred steps), split over
   ``--jobs`` processes (independent seeds from one ``SeedSequence``). Prints
   the wall time, the integrator's report (paths that needed substeps,
   retraction failures, frozen paths) and the two-sample KS p-values of the
   final singular values against the downstairs chain run with the same
   settings (a baseline measured in the same run: its wall time is printed
   too).
2. Depth 1000 (``d = 2``): the time of each layer-looping entry point, or the
   reason it refuses up front.
"""

from __future__ import annotations

import argparse
import os
import time

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402
from joblib import Parallel, delayed  # noqa: E402
from scipy import stats  # noqa: E402

TARGET = np.diag([3.0, 2.0])
DEPTH, DT = 3, 0.01


def _run_chunk(level: str, n_paths: int, n_steps: int, beta: float, seed) -> tuple:
    from geomstats_dln.balanced import center
    from geomstats_dln.dynamics import simulate_rle
    from geomstats_dln.losses import QuadraticLoss
    from geomstats_dln.parameters import end_to_end

    loss = QuadraticLoss(TARGET)
    if level == "upstairs":
        starts = np.broadcast_to(center(TARGET, DEPTH), (n_paths, DEPTH, 2, 2))
    else:
        starts = np.broadcast_to(TARGET, (n_paths, 2, 2))
    start = time.perf_counter()
    trajectory = simulate_rle(
        loss,
        starts,
        DEPTH,
        beta,
        DT * n_steps,
        n_steps,
        level=level,
        seed=np.random.default_rng(seed),
        record_every=n_steps,
    )
    elapsed = time.perf_counter() - start
    final = trajectory.states[-1]
    points = end_to_end(final) if level == "upstairs" else final
    return np.linalg.svd(points, compute_uv=False), trajectory.info, elapsed


def long_run(n_paths: int, n_steps: int, jobs: int, beta: float) -> None:
    """Item 1: upstairs vs downstairs, same settings, chunks over processes."""
    print(
        f"== upstairs RLE: {n_paths} paths x {n_steps} steps "
        f"(dt = {DT}, beta = {beta}) =="
    )
    chunks = np.array_split(np.arange(n_paths), max(jobs, 1))
    results = {}
    for level in ("downstairs", "upstairs"):
        seeds = np.random.SeedSequence(15 if level == "upstairs" else 51).spawn(
            len(chunks)
        )
        start = time.perf_counter()
        outs = Parallel(n_jobs=jobs)(
            delayed(_run_chunk)(level, len(chunk), n_steps, beta, seed)
            for chunk, seed in zip(chunks, seeds, strict=True)
        )
        wall = time.perf_counter() - start
        singular = np.concatenate([out[0] for out in outs])
        results[level] = singular
        print(f"{level}: wall {wall:.1f} s")
        if level == "upstairs":
            refined = sum(out[1]["n_refined_paths"] for out in outs)
            steps = sum(out[1]["refined_steps"] for out in outs)
            failures = sum(out[1]["retraction_failures"] for out in outs)
            frozen = sum(len(out[1]["failed_paths"]) for out in outs)
            most = max(out[1]["max_substeps_used"] for out in outs)
            print(
                f"  paths that needed substeps: {refined} of {n_paths} "
                f"({steps} steps refined, at most {most} substeps); retraction "
                f"failures {failures}; frozen paths {frozen}"
            )
    for i in range(2):
        p_value = stats.ks_2samp(results["downstairs"][:, i], results["upstairs"][:, i])
        print(f"  KS s_{i + 1}: p = {p_value.pvalue:.3f}")


def _timed(label: str, function) -> None:
    start = time.perf_counter()
    try:
        function()
        print(f"{label}: {time.perf_counter() - start:.3f} s")
    except ValueError as error:
        print(f"{label}: refused in {time.perf_counter() - start:.3f} s: {error}")


def depth_1000() -> None:
    """Item 2: every layer-looping entry point at N = 1000."""
    from geomstats_dln.balanced import (
        balanced_exp,
        balanced_log,
        best_gauge,
        center,
        gauge_action,
        random_gauges,
        to_tangent,
    )
    from geomstats_dln.dynamics import simulate_rle
    from geomstats_dln.fibers import fiber_projection, solve_fiber_operator

    depth = 1000
    print(f"== depth {depth}, d = 2 ==")
    rng = np.random.default_rng(0)
    point = center(np.array([[2.0, 0.3], [0.1, 1.0]]), depth)
    vector = rng.normal(size=point.shape)
    _timed("to_tangent", lambda: to_tangent(vector, point))
    _timed("balanced_exp", lambda: balanced_exp(to_tangent(vector, point), point))
    _timed("balanced_log", lambda: balanced_log(point, point))
    moved = gauge_action(random_gauges(depth, 2), point)
    _timed("best_gauge", lambda: best_gauge(moved, point))
    rhs = rng.normal(size=(depth - 1, 2, 2))
    _timed("solve_fiber_operator (banded)", lambda: solve_fiber_operator(rhs, point))
    _timed(
        "fiber_projection (operator)",
        lambda: fiber_projection(vector, point, method="operator"),
    )
    _timed(
        "upstairs RLE",
        lambda: simulate_rle(None, point, depth, 1.0, 0.1, 10, level="upstairs"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--paths", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--beta", type=float, default=4.0)
    parser.add_argument("--skip-depth", action="store_true")
    args = parser.parse_args()
    if not args.skip_depth:
        depth_1000()
    long_run(args.paths, args.steps, args.jobs, args.beta)


if __name__ == "__main__":
    main()
