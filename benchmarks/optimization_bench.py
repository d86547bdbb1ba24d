"""Benchmarks of the closed-form connection and of Riemannian optimization.

Usage (from the repository root)::

    GEOMSTATS_BACKEND=autograd .venv/bin/python benchmarks/optimization_bench.py

Prints one line per measurement with its baseline, timed in the same run
(medians over repeats, subject and baseline interleaved):

1. Christoffel contraction ``Gamma_X(V, W)`` at ``d = 64, N = 3`` against one
   64 x 64 SVD and against the geodesic acceleration (the same frame work); and
   the whole Christoffel array at ``d = 3`` against geomstats' generic route
   (autodiff of the metric matrix, :mod:`generic_metric`). Target: one SVD plus
   ``O(N)`` products, i.e. a small multiple of the SVD.
2. One parallel-transport step (one evaluation of the transport equation with
   the geodesic) at ``d = 64``: total transport time over the number of
   evaluations, against one SVD.
3. Sectional curvature at ``d = 10, N = 3``. Target under 10 ms.
4. Trust regions (Pymanopt) on ``(M_10, g^3)``, regression on the digits task
   (left half predicts right half, PCA(10)) from ``X_0 = mean(s) I``, to
   Riemannian gradient norm 1e-8. Target under 1 s. Baseline: SciPy L-BFGS on
   the Euclidean problem to Euclidean gradient norm 1e-8.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("GEOMSTATS_BACKEND", "autograd")
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")  # tiny matrices: threads only add noise

import numpy as np  # noqa: E402
from scipy.optimize import minimize  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from geomstats_dln import EndToEndMatrices, connection  # noqa: E402
from geomstats_dln._spectral import geodesic_acceleration  # noqa: E402
from geomstats_dln.datasets import digits_regression  # noqa: E402

TARGET_CURVATURE_S = 10e-3
TARGET_TRUST_REGIONS_S = 1.0


def interleaved(functions, repeats):
    """Median wall times of ``functions`` called in alternation, after warm-up."""
    for function in functions:
        function()
    times = [[] for _ in functions]
    for _ in range(repeats):
        for k, function in enumerate(functions):
            start = time.perf_counter()
            function()
            times[k].append(time.perf_counter() - start)
    return [float(np.median(t)) for t in times]


def fmt(seconds):
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1.0:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def bench_contraction(rng, repeats):
    d, depth = 64, 3
    metric = EndToEndMatrices(d, depth=depth).metric
    point = rng.normal(size=(d, d)) / np.sqrt(d) + np.eye(d)
    v, w = rng.normal(size=(2, d, d))
    t_gamma, t_svd, t_acc = interleaved(
        [
            lambda: metric.christoffel_contraction(v, w, point),
            lambda: np.linalg.svd(point),
            lambda: geodesic_acceleration(point, v, depth),
        ],
        repeats,
    )
    print(
        f"1. Christoffel contraction d={d}, N={depth}: {fmt(t_gamma)} "
        f"= {t_gamma / t_svd:.1f} x one SVD ({fmt(t_svd)}); geodesic acceleration "
        f"{fmt(t_acc)}"
    )
    try:
        from generic_metric import generic_space
    except Exception as error:  # pragma: no cover - needs the autograd backend
        print(f"   generic Christoffel route unavailable: {error}")
        return
    import geomstats.backend as gs

    if not gs.__name__.endswith("autograd"):
        print("   generic Christoffel route skipped (needs GEOMSTATS_BACKEND=autograd)")
        return
    small = EndToEndMatrices(3, depth=depth).metric
    generic = generic_space(3, depth).metric
    x3 = np.eye(3) + 0.3 * rng.normal(size=(3, 3)) / np.sqrt(3)
    ours, theirs = interleaved(
        [lambda: small.christoffels(x3), lambda: generic.christoffels(x3.ravel())],
        max(3, repeats // 4),
    )
    error = np.abs(small.christoffels(x3) - generic.christoffels(x3.ravel())).max()
    print(
        f"   christoffels d=3: {fmt(ours)} vs generic autodiff {fmt(theirs)} "
        f"({theirs / ours:.0f}x), max difference {error:.1e}"
    )


def bench_transport(rng, repeats):
    d, depth = 64, 3
    metric = EndToEndMatrices(d, depth=depth).metric
    point = rng.normal(size=(d, d)) / np.sqrt(d) + np.eye(d)
    direction = 0.1 * rng.normal(size=(d, d)) / np.sqrt(d)
    vector = rng.normal(size=(d, d))
    calls = 0
    original = connection._frame_contraction

    def counting(*args):
        nonlocal calls
        calls += 1
        return original(*args)

    connection._frame_contraction = counting
    try:
        start = time.perf_counter()
        transported = metric.parallel_transport(vector, point, direction=direction)
        total = time.perf_counter() - start
    finally:
        connection._frame_contraction = original
    evaluations = calls // 2  # Gamma(U, U) and Gamma(U, Y) per evaluation
    (t_svd,) = interleaved([lambda: np.linalg.svd(point)], repeats)
    end = metric.exp(direction, point)
    drift = abs(
        float(metric.norm(transported, end)) / float(metric.norm(vector, point)) - 1
    )
    per_step = total / evaluations
    print(
        f"2. parallel transport d={d}: {fmt(total)} for {evaluations} evaluations, "
        f"{fmt(per_step)} per step = {per_step / t_svd:.1f} x one SVD; "
        f"relative norm drift {drift:.1e}"
    )


def bench_curvature(rng, repeats):
    d, depth = 10, 3
    metric = EndToEndMatrices(d, depth=depth).metric
    point = rng.normal(size=(d, d)) / np.sqrt(d) + np.eye(d)
    a, b = rng.normal(size=(2, d, d))
    t_k, t_gamma = interleaved(
        [
            lambda: metric.sectional_curvature(a, b, point),
            lambda: metric.christoffel_contraction(a, b, point),
        ],
        repeats,
    )
    verdict = "PASS" if t_k < TARGET_CURVATURE_S else "FAIL"
    print(
        f"3. sectional curvature d={d}, N={depth}: {fmt(t_k)} "
        f"(target < {fmt(TARGET_CURVATURE_S)}: {verdict}); "
        f"{t_k / t_gamma:.1f} x one contraction"
    )


def bench_trust_regions():
    from pymanopt.optimizers import TrustRegions

    from geomstats_dln.optimization import DLNManifold, pymanopt_problem

    task = digits_regression(10)
    loss = task.loss
    minimizer = task.least_squares()
    start_point = np.mean(np.linalg.svd(minimizer, compute_uv=False)) * np.eye(10)
    manifold = DLNManifold(10, depth=3)
    problem = pymanopt_problem(manifold, loss)
    solver = TrustRegions(verbosity=0, min_gradient_norm=1e-8)
    solver.run(problem, initial_point=start_point)  # warm-up
    start = time.perf_counter()
    result = solver.run(problem, initial_point=start_point)
    t_tr = time.perf_counter() - start

    def lbfgs():
        return minimize(
            lambda x: float(loss.value(x.reshape(10, 10))),
            start_point.ravel(),
            jac=lambda x: np.asarray(loss.gradient(x.reshape(10, 10))).ravel(),
            method="L-BFGS-B",
            options={"gtol": 1e-8, "maxiter": 10_000},
        )

    lbfgs()
    start = time.perf_counter()
    euclidean = lbfgs()
    t_lbfgs = time.perf_counter() - start
    verdict = "PASS" if t_tr < TARGET_TRUST_REGIONS_S else "FAIL"
    excess = float(loss.value(result.point) - loss.value(minimizer))
    euclidean_gradient = float(np.linalg.norm(loss.gradient(result.point)))
    print(
        f"4. TrustRegions on (M_10, g^3), digits regression: {fmt(t_tr)} "
        f"(target < 1 s: {verdict}), {result.iterations} iterations, Riemannian "
        f"gradient norm {result.gradient_norm:.1e} (Euclidean "
        f"{euclidean_gradient:.1e}), loss - min {excess:.1e}; Euclidean L-BFGS "
        f"{fmt(t_lbfgs)}, {euclidean.nit} iterations, loss - min "
        f"{euclidean.fun - float(loss.value(minimizer)):.1e}"
    )


def main(repeats: int = 20) -> None:
    rng = np.random.default_rng(0)
    bench_contraction(rng, repeats)
    bench_transport(rng, repeats)
    bench_curvature(rng, repeats)
    bench_trust_regions()


if __name__ == "__main__":
    main(5 if "--quick" in sys.argv else 20)
