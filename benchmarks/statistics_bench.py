"""Benchmark of the ensemble-statistics pipeline (issue: statistics modulo the gauge).

Usage (from the repository root)::

    .venv/bin/python benchmarks/statistics_bench.py [--quick] [--output FILE]

1. The whole pipeline on 20 networks (depth 3, width 10) trained on the digits
   task: import (npz, and PyTorch when installed), balance, distance matrix
   (inside each determinant component), Frechet mean, tangent PCA, k-means and
   three interpolations. Requirement: under 60 s. The distance matrix runs
   with ``n_jobs=2`` (this machine has 2 cores).
2. The distance matrix of 100 networks with ``n_jobs=2`` against ``n_jobs=1``
   (the same pairs, timed in the same run): the speed-up is reported. Width 3,
   where one logarithm costs milliseconds, so that the ratio measures the
   parallel overhead rather than a single slow pair.

Training time is excluded (the ensemble is the input). Timings are single wall
times (``time.perf_counter``); the load average at start and end is printed.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")  # tiny matrices: BLAS threads only wait

import numpy as np  # noqa: E402

from geomstats_dln.clustering import KMeans  # noqa: E402
from geomstats_dln.datasets import digits_regression, train_ensemble  # noqa: E402
from geomstats_dln.interpolation import interpolate  # noqa: E402
from geomstats_dln.networks import NetworkEnsemble  # noqa: E402
from geomstats_dln.statistics import (  # noqa: E402
    FrechetMean,
    TangentPCA,
    group_by_component,
    pairwise_distances,
)

PIPELINE_LIMIT_S = 60.0


def _ensemble(width: int, n_networks: int, seed: int = 0) -> tuple:
    task = digits_regression(n_components=width, seed=seed)
    half = n_networks // 2
    layers = np.concatenate(
        [
            train_ensemble(task, n_networks=count, depth=3, init=init, seed=seed + k)
            for k, (init, count) in enumerate(
                (("balanced", half), ("gaussian", n_networks - half))
            )
        ]
    )
    return task, layers


def bench_pipeline(width: int, n_networks: int) -> tuple[list, bool]:
    task, layers = _ensemble(width, n_networks)
    steps = []

    def step(name, function):
        start = time.perf_counter()
        value = function()
        steps.append((name, time.perf_counter() - start))
        print(f"  {name}: {steps[-1][1]:.2f} s", flush=True)
        return value

    def load():
        ensemble = NetworkEnsemble.from_array(layers)
        try:
            ensemble = NetworkEnsemble.from_torch(ensemble.to_torch())
        except ImportError:
            pass
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "ensemble.npz"
            ensemble.to_npz(path)
            return NetworkEnsemble.from_npz(path)

    ensemble = step("import (torch + npz round trip)", load)
    step(
        "balance (minimum-norm representatives)",
        lambda: [n.balanced() for n in ensemble],
    )
    groups = step("components", lambda: group_by_component(ensemble.end_to_end()))
    blocks = step(
        "distance matrices (per component)",
        lambda: {
            label: pairwise_distances(
                ensemble[index], n_jobs=2, errors="nan", progress=False
            )
            for label, index in groups.items()
        },
    )
    label, index = max(groups.items(), key=lambda item: len(item[1]))
    part = ensemble[index]
    mean = step("Frechet mean (largest component)", lambda: FrechetMean().fit(part))
    step("tangent PCA", lambda: TangentPCA(base_point=mean.mean_).fit(part))
    step(
        "k-means (k = 2, from k-medoids)",
        lambda: KMeans(2, random_state=0, max_iter=3, errors="nan").fit(
            part, distances=blocks[label]
        ),
    )
    step(
        "three interpolations (11 points)",
        lambda: [
            interpolate(part[0], part[k], n_points=11, loss=task.loss)
            for k in (1, 2, 3)
        ],
    )
    total = sum(seconds for _, seconds in steps)
    failed = sum(int(np.sum(np.isnan(b)) // 2) for b in blocks.values())
    steps.append((f"total ({failed} failed pairs)", total))
    return steps, total < PIPELINE_LIMIT_S


def bench_parallel(n_networks: int) -> list:
    _, layers = _ensemble(3, n_networks, seed=1)
    ensemble = NetworkEnsemble.from_array(layers)
    times = {}
    results = {}
    for n_jobs in (1, 2, 1, 2):  # interleaved: both see the same load
        start = time.perf_counter()
        results[n_jobs] = pairwise_distances(ensemble, n_jobs=n_jobs, progress=False)
        times.setdefault(n_jobs, []).append(time.perf_counter() - start)
    finite = np.isfinite(results[1])
    agree = float(np.max(np.abs(results[1][finite] - results[2][finite])))
    best = {n_jobs: min(values) for n_jobs, values in times.items()}
    pairs = int(np.sum(np.isfinite(results[1])) - n_networks) // 2
    return [
        (f"{n_networks} networks, {pairs} pairs in components, n_jobs=1", best[1]),
        (f"{n_networks} networks, n_jobs=2", best[2]),
        ("speed-up n_jobs=2 / n_jobs=1", best[1] / best[2]),
        ("max abs difference between the two", agree),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--output", type=Path, default=None, help="markdown file")
    args = parser.parse_args()
    width, n_networks, n_parallel = (4, 10, 30) if args.quick else (10, 20, 100)
    lines = [
        "# Statistics benchmark",
        f"load average at start: {os.getloadavg()}, cpus: {os.cpu_count()}",
        "",
        f"## 1. Pipeline: {n_networks} networks, depth 3, width {width} (digits)",
        "",
        "| step | seconds |",
        "| --- | --- |",
    ]
    steps, passed = bench_pipeline(width, n_networks)
    lines += [f"| {name} | {seconds:.2f} |" for name, seconds in steps]
    lines += [
        "",
        f"requirement: total < {PIPELINE_LIMIT_S:.0f} s: "
        f"{'PASS' if passed else 'FAIL'}",
        "",
        "## 2. Distance matrix, n_jobs=2 vs n_jobs=1 (width 3)",
        "",
        "| measure | value |",
        "| --- | --- |",
    ]
    lines += [f"| {name} | {value:.3g} |" for name, value in bench_parallel(n_parallel)]
    lines += ["", f"load average at end: {os.getloadavg()}"]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
