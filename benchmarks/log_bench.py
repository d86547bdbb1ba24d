"""Benchmarks of the logarithm and distance of ``(M_d, g^N)`` on real data.

Usage (from the repository root)::

    .venv/bin/python benchmarks/log_bench.py [--quick] [--output FILE]

1. Trained networks: two ensembles of 20 depth-3 networks of width 10 trained on
   scikit-learn's digits (left half -> right half, PCA(10); 1,500 gradient
   steps from balanced and from Gaussian starts, seeded). The 190-pair g^3
   distance matrix of each, pairs spread over 2 processes with joblib:
   requirement 100% of the same-component pairs solved, under 30 s.
2. Frechet mean (geomstats ``FrechetMean``) of the largest determinant
   component of the balanced ensemble: under 20 s.
3. Random pairs ``Y = exp_X(V)`` on ``d = 4, 16, 64`` at ``N = 2, 3, 8, 32, inf``:
   log time over exp time at the same accuracy; requirement median <= 30x and
   worst <= 300x, and ``log`` recovers ``V``.
4. Depth: exp and log on ``3 x 3`` at ``N = 400`` against ``N = 4`` (the same
   velocity in matrix coordinates): requirement within a factor 2.

Timings are wall-clock medians on this machine; ratios are taken within the
same run. The exit status is 0 when every requirement passes.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402
from joblib import Parallel, delayed  # noqa: E402

from geomstats.learning.frechet_mean import FrechetMean  # noqa: E402

from geomstats_dln import EndToEndMatrices, end_to_end  # noqa: E402
from geomstats_dln.datasets import digits_regression, train_ensemble  # noqa: E402


def _pair_distance(points, depth, i, j):
    metric = EndToEndMatrices(points.shape[-1], depth=depth).metric
    start = time.perf_counter()
    value = float(metric.dist(points[i], points[j], errors="nan"))
    return i, j, value, time.perf_counter() - start


def distance_matrix(points, depth=3, n_jobs=2):
    """All pairs; cross-component pairs are inf without a solve."""
    signs = np.sign(np.linalg.det(points))
    n = len(points)
    table = np.zeros((n, n))
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    same = [(i, j) for i, j in pairs if signs[i] == signs[j]]
    for i, j in pairs:
        if signs[i] != signs[j]:
            table[i, j] = table[j, i] = math.inf
    start = time.perf_counter()
    results = Parallel(n_jobs=n_jobs)(
        delayed(_pair_distance)(points, depth, i, j) for i, j in same
    )
    elapsed = time.perf_counter() - start
    times = []
    for i, j, value, seconds in results:
        table[i, j] = table[j, i] = value
        times.append(seconds)
    solved = sum(np.isfinite(table[i, j]) for i, j in same)
    return table, len(same), solved, elapsed, times


def bench_trained(rows, quick):
    task = digits_regression(10, seed=0)
    n_networks = 10 if quick else 20
    ensembles = {}
    for init in ("balanced", "gaussian"):
        layers = train_ensemble(task, n_networks, 3, init=init, n_steps=1500, seed=1)
        points = np.asarray(end_to_end(layers))
        ensembles[init] = points
        s = np.linalg.svd(points, compute_uv=False)
        ratio = s[:, -1] / s[:, 0]
        table, n_same, solved, elapsed, times = distance_matrix(points)
        rows.append(
            (
                f"1. {init} ensemble: {n_networks * (n_networks - 1) // 2} pairs, "
                f"{n_same} same-component (s_min/s_max {ratio.min():.1e}.."
                f"{ratio.max():.1e})",
                f"{solved}/{n_same} solved, {elapsed:.1f} s (n_jobs=2); per pair "
                f"median {statistics.median(times):.2f} s, max {max(times):.2f} s",
                solved == n_same and (quick or elapsed < 30.0),
            )
        )
    return ensembles


def bench_frechet(rows, ensembles):
    points = ensembles["balanced"]
    signs = np.sign(np.linalg.det(points))
    sign = 1.0 if np.sum(signs > 0) >= np.sum(signs < 0) else -1.0
    group = points[signs == sign]
    space = EndToEndMatrices(10, depth=3, component=int(sign))
    estimator = FrechetMean(space)
    # geomstats stops when g(mean log, mean log) <= epsilon * dim
    estimator.set(max_iter=100, epsilon=1e-10, init_point=group.mean(axis=0))
    start = time.perf_counter()
    estimator.fit(group)
    elapsed = time.perf_counter() - start
    metric = space.metric
    logs = np.asarray(metric.log(group, estimator.estimate_))
    mean_log = logs.mean(axis=0)
    gradient = float(
        np.sqrt(metric.inner_product(mean_log, mean_log, estimator.estimate_))
    )
    spread = float(np.mean(np.sqrt(metric.squared_norm(logs, estimator.estimate_))))
    rows.append(
        (
            f"2. Frechet mean of {len(group)} trained networks (one component)",
            f"{elapsed:.1f} s; |mean log|_g = {gradient:.1e} (mean distance "
            f"{spread:.2f})",
            elapsed < 20.0 and gradient < 1e-4 * spread,
        )
    )


def bench_random(rows, quick):
    rng = np.random.default_rng(0)
    ratios, recovered = [], True
    sizes = (4, 16) if quick else (4, 16, 64)
    depths = (2, 3, 8, 32, math.inf)
    detail = []
    for d in sizes:
        for depth in depths:
            metric = EndToEndMatrices(d, depth=depth).metric
            for _ in range(1 if (quick or d == 64) else 2):
                x = np.eye(d) + 0.3 * rng.normal(size=(d, d)) / np.sqrt(d)
                v = 0.5 * rng.normal(size=(d, d)) / np.sqrt(d)
                start = time.perf_counter()
                y = metric.exp(v, x)
                exp_time = time.perf_counter() - start
                start = time.perf_counter()
                w = np.asarray(metric.log(y, x))
                log_time = time.perf_counter() - start
                recovered &= bool(np.linalg.norm(w - v) <= 1e-6 * np.linalg.norm(v))
                ratios.append(log_time / exp_time)
                detail.append(f"d={d} N={depth}: {log_time / exp_time:.0f}x")
    median, worst = statistics.median(ratios), max(ratios)
    rows.append(
        (
            "3. random pairs, log time / exp time",
            f"median {median:.1f}x, worst {worst:.1f}x; log recovers V: {recovered}"
            f" ({', '.join(detail)})",
            median <= 30.0 and worst <= 300.0 and recovered,
        )
    )


def bench_depth(rows):
    rng = np.random.default_rng(1)
    x = np.eye(3) + 0.3 * rng.normal(size=(3, 3))
    v = 0.3 * rng.normal(size=(3, 3))
    timings = {}
    for depth in (4, 400):
        metric = EndToEndMatrices(3, depth=depth).metric
        y = metric.exp(v, x)
        exp_times, log_times = [], []
        for _ in range(3):
            start = time.perf_counter()
            metric.exp(v, x)
            exp_times.append(time.perf_counter() - start)
            fresh = EndToEndMatrices(3, depth=depth).metric  # no warm start
            start = time.perf_counter()
            fresh.log(y, x)
            log_times.append(time.perf_counter() - start)
        timings[depth] = (statistics.median(exp_times), statistics.median(log_times))
    exp_ratio = timings[400][0] / timings[4][0]
    log_ratio = timings[400][1] / timings[4][1]
    rows.append(
        (
            "4. depth 400 vs depth 4 (3 x 3)",
            f"exp {timings[4][0] * 1e3:.1f} -> {timings[400][0] * 1e3:.1f} ms "
            f"({exp_ratio:.2f}x); log {timings[4][1] * 1e3:.1f} -> "
            f"{timings[400][1] * 1e3:.1f} ms ({log_ratio:.2f}x)",
            exp_ratio <= 2.0 and log_ratio <= 2.0,
        )
    )


class _PrintingList(list):
    """Rows printed as they are measured (the whole run takes minutes)."""

    def append(self, row):
        print(f"{row[0]}: {row[1]} [{'PASS' if row[2] else 'FAIL'}]", flush=True)
        super().append(row)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller ensembles")
    parser.add_argument(
        "--output", default=str(Path(__file__).with_name("log_results.md"))
    )
    args = parser.parse_args(argv)
    rows = _PrintingList()
    start = time.perf_counter()
    ensembles = bench_trained(rows, args.quick)
    bench_frechet(rows, ensembles)
    bench_depth(rows)
    bench_random(rows, args.quick)
    lines = [
        "# log / dist benchmarks",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, cpus "
        f"{os.cpu_count()}, load {os.getloadavg()[0]:.1f}, total "
        f"{time.perf_counter() - start:.0f} s{' (quick)' if args.quick else ''}",
        "",
        "| item | measured | requirement |",
        "| --- | --- | --- |",
    ]
    lines += [
        f"| {item} | {value} | {'PASS' if ok else 'FAIL'} |" for item, value, ok in rows
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.output).write_text(text)
    return 0 if all(ok for _, _, ok in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
