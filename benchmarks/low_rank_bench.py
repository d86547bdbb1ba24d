"""Benchmarks of the rank-r strata (M_r, g^N) (issue 13).

1. The 100 x 100 rank-5 completion (3,000 observed entries, largest singular
   value 1), depth 3, from a small rank-5 start X_0 = 1e-3 L R^T: the factored
   downstairs flow on M_5 (DOP853, rtol 1e-8) to training loss 1e-6 (time and
   steps), then the same time span upstairs (full-width 100 x 100 layers from the
   balanced rank-5 lift, same integrator and tolerance), timed in the same run;
   the two final matrices are compared (equal accuracy).
2. Operations on M_r at n = m = 256, r = 5 after one rank-r factorization:
   inner product, Riemannian gradient and tangent projection in the frame
   components (O((n + m) r^2), O(n m r) for dense inputs) against the dense
   full-SVD route (O(n^3)), medians of repeated timings, interleaved.

    python benchmarks/low_rank_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from geomstats_dln.dynamics import euclidean_gradient_field, integrate
from geomstats_dln.dynamics.low_rank_flows import (
    factored_end_to_end,
    factored_gradient_field,
    factorize,
)
from geomstats_dln.low_rank import (
    apply_rank_operator,
    low_rank_frame,
    tangent_components,
    tangent_inner_product,
    tangent_matrix,
)
from geomstats_dln.low_rank_balanced import low_rank_center
from geomstats_dln.parameters import end_to_end
from geomstats_dln.report.low_rank_section import completion_instance


def completion_benchmark(n: int, rank: int, n_observed: int, depth: int = 3):
    loss, truth = completion_instance(n, rank, n_observed, seed=0)
    rng = np.random.default_rng(1)
    start = 1e-3 * rng.normal(size=(n, rank)) @ rng.normal(size=(rank, n)) / n
    field = factored_gradient_field(loss, depth, rank)
    grid = np.geomspace(1.0, 2e4, 400)
    clock = time.perf_counter()
    scan = integrate(
        field,
        factorize(start, rank),
        grid[-1],
        rtol=1e-8,
        t_eval=grid,
        record_defaults=False,
        observables={"loss": field.observables["loss"]},
    )
    reached = np.nonzero(scan["loss"] <= 1e-6)[0]
    if len(reached) == 0:
        raise RuntimeError("the downstairs flow did not reach loss 1e-6 by t = 2e4")
    t_target = float(scan.times[reached[0]])
    clock = time.perf_counter()
    down = integrate(
        field,
        factorize(start, rank),
        t_target,
        rtol=1e-8,
        record_defaults=False,
        t_eval=[t_target],
    )
    down_time = time.perf_counter() - clock
    down_final = factored_end_to_end(down.final_state, n, n, rank)
    clock = time.perf_counter()
    up = integrate(
        euclidean_gradient_field(loss),
        low_rank_center(start, depth, rank),
        t_target,
        rtol=1e-8,
        record_defaults=False,
        t_eval=[t_target],
    )
    up_time = time.perf_counter() - clock
    up_final = np.asarray(end_to_end(up.final_state))
    return {
        "t_target": t_target,
        "down_time": down_time,
        "down_steps": down.info["n_evaluations"],
        "down_loss": float(loss.value(down_final)),
        "up_time": up_time,
        "up_steps": up.info["n_evaluations"],
        "up_loss": float(loss.value(up_final)),
        "difference": float(
            np.linalg.norm(up_final - down_final) / np.linalg.norm(down_final)
        ),
        "error": float(np.linalg.norm(down_final - truth) / np.linalg.norm(truth)),
    }


def _median_time(function, repeats):
    times = []
    for _ in range(repeats):
        clock = time.perf_counter()
        function()
        times.append(time.perf_counter() - clock)
    return float(np.median(times))


def operations_benchmark(n=256, rank=5, depth=3, repeats=30):
    rng = np.random.default_rng(0)
    point = rng.normal(size=(n, rank)) @ rng.normal(size=(rank, n))
    frame = low_rank_frame(point, rank, depth)
    euclidean = rng.normal(size=(n, n))
    vector = tangent_matrix(frame, tangent_components(frame, rng.normal(size=(n, n))))
    comps = tangent_components(frame, vector)

    def dense_frame():
        left, s, right_t = np.linalg.svd(point)  # O(n^3)
        a = np.ones((n, n))
        x = np.zeros(n)
        x[:rank] = s[:rank] ** (2.0 / depth)
        a = sum(
            x[:, None] ** (depth - p) * x[None, :] ** (p - 1)
            for p in range(1, depth + 1)
        )
        return left, right_t.T, a

    def dense_inner():
        left, right, a = dense_frame()
        rotated = left.T @ vector @ right
        return np.sum(np.where(a > 0, rotated**2 / np.where(a > 0, a, 1.0), 0.0))

    def dense_gradient():
        left, right, a = dense_frame()
        return left @ (a * (left.T @ euclidean @ right)) @ right.T

    def dense_projection():
        left, right, _ = dense_frame()
        rotated = left.T @ euclidean @ right
        rotated[rank:, rank:] = 0.0
        return left @ rotated @ right.T

    pairs = {
        "inner product (components vs dense SVD)": (
            lambda: tangent_inner_product(frame, comps, comps),
            dense_inner,
        ),
        "gradient (dense E', O(nmr) vs dense SVD)": (
            lambda: tangent_matrix(
                frame, apply_rank_operator(frame, tangent_components(frame, euclidean))
            ),
            dense_gradient,
        ),
        "tangent projection (O(nmr) vs dense SVD)": (
            lambda: tangent_matrix(frame, tangent_components(frame, euclidean)),
            dense_projection,
        ),
        "rank-r factorization itself (thin SVD)": (
            lambda: low_rank_frame(point, rank, depth),
            dense_frame,
        ),
    }
    np.testing.assert_allclose(
        tangent_inner_product(frame, comps, comps), dense_inner(), rtol=1e-8
    )
    rows = []
    for name, (fast, slow) in pairs.items():
        fast_time, slow_time = [], []
        for _ in range(3):  # interleaved
            fast_time.append(_median_time(fast, repeats))
            slow_time.append(_median_time(slow, max(3, repeats // 5)))
        rows.append((name, min(fast_time), min(slow_time)))
    return rows


def main():
    parser = argparse.ArgumentParser(description="rank-r benchmarks")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n, rank, count = (40, 3, 600) if args.quick else (100, 5, 3000)
    result = completion_benchmark(n, rank, count)
    print(
        f"1. {n} x {n} rank {rank}, {count} entries, depth 3, loss 1e-6 at "
        f"t = {result['t_target']:.4g}"
    )
    print(
        f"   downstairs (factored, M_{rank}): {result['down_time']:.3f} s, "
        f"{result['down_steps']} evaluations, loss {result['down_loss']:.2e}, "
        f"recovery error {result['error']:.2e}"
    )
    print(
        f"   upstairs (layers {n} x {n}):      {result['up_time']:.3f} s, "
        f"{result['up_steps']} evaluations, loss {result['up_loss']:.2e}"
    )
    ratio = result["up_time"] / result["down_time"]
    print(
        f"   speed-up {ratio:.1f}x (target >= 5x: "
        f"{'PASS' if ratio >= 5 else 'FAIL'}); |X_up - X_down| / |X| = "
        f"{result['difference']:.1e}"
    )
    print("2. operations on M_5 at n = m = 256 (seconds, best of 3 medians)")
    for name, fast, slow in operations_benchmark(repeats=10 if args.quick else 30):
        print(f"   {name:45s} {fast:.2e} vs {slow:.2e}  ({slow / fast:.0f}x)")


if __name__ == "__main__":
    main()
