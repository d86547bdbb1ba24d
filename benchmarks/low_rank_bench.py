"""Benchmarks of the rank-r strata (M_r, g^N) (issue 13).

1. The 100 x 100 rank-5 completion (3,000 observed entries, largest singular
   value 1), depth 3, from a small rank-5 start X_0 = 1e-3 L R^T: the factored
   downstairs flow on M_5 (DOP853, rtol 1e-8) to training loss 1e-6 (time and
   steps), then the same time span upstairs (full-width 100 x 100 layers from the
   balanced rank-5 lift, same integrator and tolerance); the two final matrices
   are compared (equal accuracy). Both are timed three times in alternation
   (best wall time and best CPU time of this process: on the shared machine the
   wall time also counts other people's load), and the cost of one evaluation
   is split into the field alone (replayed on the states the integrator
   visited) and the rest (scipy's DOP853 and the package's wrappers).
2. Operations on M_r at n = m = 256, r = 5 after one rank-r factorization:
   inner product, Riemannian gradient and tangent projection in the frame
   components (O((n + m) r^2), O(n m r) for dense inputs) against the dense
   full-SVD route (O(n^3)), medians of repeated timings, interleaved.
3. Geodesics of (M_2, g^3) on 4 x 3 matrices: exp with the closed-form force
   (``rank_hamiltonian_gradient``) against the same integrator with the force
   by autograd of H in the graph chart of M_r (the previous implementation),
   interleaved medians, and the end points compared.

BLAS runs on one thread (threadpoolctl) unless ``--blas-threads`` says
otherwise: on the loaded 2-core machine multi-threaded OpenBLAS made the
100 x 100 upstairs products 16x slower (26.6 s instead of 1.7 s), which
inflated the downstairs/upstairs ratio to 24x.

    python benchmarks/low_rank_bench.py [--quick] [--blas-threads K]
"""

from __future__ import annotations

import argparse
import os
import time

import autograd
import autograd.numpy as anp
import numpy as np
from threadpoolctl import threadpool_limits

import geomstats_dln.low_rank as low_rank
from geomstats_dln._spectral import dln_coefficients
from geomstats_dln.dynamics import euclidean_gradient_field, integrate
from geomstats_dln.dynamics.low_rank_flows import (
    factored_end_to_end,
    factored_gradient_field,
    factorize,
)
from geomstats_dln.low_rank import (
    FixedRankEndToEndMatrices,
    apply_rank_operator,
    low_rank_frame,
    tangent_components,
    tangent_inner_product,
    tangent_matrix,
)
from geomstats_dln.low_rank_balanced import low_rank_center
from geomstats_dln.parameters import end_to_end
from geomstats_dln.report.low_rank_section import completion_instance


def _timed(function):
    """``(result, wall seconds, CPU seconds of this process)``."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def _field_share(field, initial_state, t_target):
    """Seconds per evaluation of ``field`` alone, replayed on the states the
    integrator evaluated it at (best of 3), and the number of evaluations."""
    states = []

    def recording(state):
        states.append(np.array(state))
        return field(state)

    integrate(recording, initial_state, t_target, rtol=1e-8, t_eval=[t_target])
    best = np.inf
    for _ in range(3):
        clock = time.process_time()
        for state in states:
            field(state)
        best = min(best, time.process_time() - clock)
    return best / len(states), len(states)


def completion_benchmark(n: int, rank: int, n_observed: int, depth: int = 3, repeats=3):
    """Part 1: the downstairs (factored, M_r) and upstairs (full-width layers)
    flows to the time at which the downstairs loss reaches 1e-6, both DOP853 at
    rtol 1e-8 from the same X_0 (the factorization and the balanced lift inside
    the clock), timed ``repeats`` times in alternation; best wall and CPU times.
    """
    loss, truth = completion_instance(n, rank, n_observed, seed=0)
    rng = np.random.default_rng(1)
    start = 1e-3 * rng.normal(size=(n, rank)) @ rng.normal(size=(rank, n)) / n
    field = factored_gradient_field(loss, depth, rank)
    upstairs_field = euclidean_gradient_field(loss)
    grid = np.geomspace(1.0, 2e4, 400)
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

    def downstairs():
        return integrate(
            field,
            factorize(start, rank),
            t_target,
            rtol=1e-8,
            record_defaults=False,
            t_eval=[t_target],
        )

    def upstairs():
        return integrate(
            upstairs_field,
            low_rank_center(start, depth, rank),
            t_target,
            rtol=1e-8,
            record_defaults=False,
            t_eval=[t_target],
        )

    times = {"down": [], "up": []}
    for _ in range(repeats):  # interleaved: both see the same machine load
        down, wall, cpu = _timed(downstairs)
        times["down"].append((wall, cpu))
        up, wall, cpu = _timed(upstairs)
        times["up"].append((wall, cpu))
    down_final = factored_end_to_end(down.final_state, n, n, rank)
    up_final = np.asarray(end_to_end(up.final_state))
    down_field, _ = _field_share(field, factorize(start, rank), t_target)
    up_field, _ = _field_share(
        upstairs_field, np.asarray(low_rank_center(start, depth, rank)), t_target
    )
    return {
        "t_target": t_target,
        "down_time": min(wall for wall, _ in times["down"]),
        "down_cpu": min(cpu for _, cpu in times["down"]),
        "down_steps": down.info["n_evaluations"],
        "down_field": down_field,
        "down_loss": float(loss.value(down_final)),
        "up_time": min(wall for wall, _ in times["up"]),
        "up_cpu": min(cpu for _, cpu in times["up"]),
        "up_steps": up.info["n_evaluations"],
        "up_field": up_field,
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


def _chart_member_force(left, s, right, momentum, depth):
    """dH/dX at one point by autograd of H in the graph chart
    ``(M, K, L) -> Q_U R_U^T (S + M) R_V Q_V^T`` of M_r, then the chart
    differential ``(dM, dK, dL) -> U dM V^T + K S V^T + U S L^T``."""

    def hamiltonian(params):
        core_shift, left_shift, right_shift = params
        left_t = left + left_shift - left @ (left.T @ left_shift)
        right_t = right + right_shift - right @ (right.T @ right_shift)
        chol_left = anp.linalg.cholesky(left_t.T @ left_t)
        chol_right = anp.linalg.cholesky(right_t.T @ right_t)
        q_left = anp.linalg.solve(chol_left, left_t.T).T
        q_right = anp.linalg.solve(chol_right, right_t.T).T
        core = chol_left.T @ (anp.diag(s) + core_shift) @ chol_right
        p_core, sigma, q_core_t = anp.linalg.svd(core, full_matrices=False)
        frame_left, frame_right = q_left @ p_core, q_right @ q_core_t.T
        a = dln_coefficients(sigma, sigma, depth, anp)
        c = sigma ** (2.0 * (depth - 1) / depth)
        times_right = momentum @ frame_right
        rotated = frame_left.T @ times_right
        left_normal = times_right - frame_left @ rotated
        right_normal = momentum.T @ frame_left - frame_right @ rotated.T
        return 0.5 * (
            anp.sum(a * rotated**2)
            + anp.sum(c * left_normal**2)
            + anp.sum(c * right_normal**2)
        )

    zero = (np.zeros((len(s), len(s))), np.zeros_like(left), np.zeros_like(right))
    core, left_part, right_part = autograd.grad(hamiltonian)(zero)
    return left @ core @ right.T + (left_part / s) @ right.T + left @ (right_part / s).T


def _chart_force(frame, momenta):
    """``(A_X(P), dH/dX)`` for a batch, the force by :func:`_chart_member_force`
    one member at a time: the implementation before the closed form (the
    baseline of part 3)."""
    velocities, forces = [], []
    for k in range(momenta.shape[0]):
        member = low_rank.LowRankFrame(
            np.asarray(frame.left[k]),
            np.asarray(frame.singular_values[k]),
            np.asarray(frame.right[k]),
            frame.coefficients[k],
            frame.null_coefficients[k],
            frame.depth,
        )
        forces.append(
            _chart_member_force(
                member.left,
                member.singular_values,
                member.right,
                momenta[k],
                frame.depth,
            )
        )
        velocities.append(
            tangent_matrix(
                member,
                apply_rank_operator(member, tangent_components(member, momenta[k])),
            )
        )
    return np.stack(velocities), np.stack(forces)


def geodesic_benchmark(repeats=5):
    """exp on (M_2, g^3), 4 x 3: closed-form force against the autograd chart."""
    rng = np.random.default_rng(3)
    space = FixedRankEndToEndMatrices(4, 3, rank=2, depth=3)
    left = np.linalg.qr(rng.normal(size=(4, 2)))[0]
    right = np.linalg.qr(rng.normal(size=(3, 2)))[0]
    point = (left * [2.0, 1.0]) @ right.T
    vector = 0.5 * np.asarray(space.to_tangent(rng.normal(size=(4, 3)), point))
    closed_form = low_rank.rank_hamiltonian_gradient

    def with_chart():
        low_rank.rank_hamiltonian_gradient = _chart_force
        try:
            return np.asarray(space.metric.exp(vector, point))
        finally:
            low_rank.rank_hamiltonian_gradient = closed_form

    def with_closed_form():
        return np.asarray(space.metric.exp(vector, point))

    difference = float(np.max(np.abs(with_chart() - with_closed_form())))
    fast, slow = [], []
    for _ in range(3):
        fast.append(_median_time(with_closed_form, repeats))
        slow.append(_median_time(with_chart, max(2, repeats // 2)))
    return min(fast), min(slow), difference


def main():
    parser = argparse.ArgumentParser(description="rank-r benchmarks")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--blas-threads", type=int, default=1)
    args = parser.parse_args()
    with threadpool_limits(limits=args.blas_threads, user_api="blas"):
        _run(args)


def _run(args):
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; BLAS threads: "
        f"{args.blas_threads}; CPUs {os.cpu_count()}; load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    n, rank, count = (40, 3, 600) if args.quick else (100, 5, 3000)
    result = completion_benchmark(n, rank, count, repeats=2 if args.quick else 3)
    print(
        f"1. {n} x {n} rank {rank}, {count} entries, depth 3, loss 1e-6 at "
        f"t = {result['t_target']:.4g} (best of interleaved runs; wall / CPU)"
    )
    for side, label in (
        ("down", f"downstairs (factored, M_{rank})"),
        ("up", f"upstairs (layers {n} x {n})"),
    ):
        steps = result[f"{side}_steps"]
        print(
            f"   {label:32s} {result[f'{side}_time']:.3f} s / "
            f"{result[f'{side}_cpu']:.3f} s, {steps} evaluations, "
            f"loss {result[f'{side}_loss']:.2e}; per evaluation "
            f"{1e6 * result[f'{side}_cpu'] / steps:.0f} us: field "
            f"{1e6 * result[f'{side}_field']:.0f} us, integrator and wrappers "
            f"{1e6 * (result[f'{side}_cpu'] / steps - result[f'{side}_field']):.0f} us"
        )
    ratio = result["up_time"] / result["down_time"]
    print(
        f"   speed-up {ratio:.1f}x wall, {result['up_cpu'] / result['down_cpu']:.1f}x "
        f"CPU (target >= 5x: {'PASS' if ratio >= 5 else 'FAIL'}); "
        f"|X_up - X_down| / |X| = {result['difference']:.1e}, recovery error "
        f"{result['error']:.2e}"
    )
    print("2. operations on M_5 at n = m = 256 (seconds, best of 3 medians)")
    for name, fast, slow in operations_benchmark(repeats=10 if args.quick else 30):
        print(f"   {name:45s} {fast:.2e} vs {slow:.2e}  ({slow / fast:.0f}x)")
    fast, slow, difference = geodesic_benchmark(3 if args.quick else 7)
    print("3. exp on (M_2, g^3), 4 x 3 (seconds, best of 3 medians)")
    print(
        f"   closed-form force {fast:.2e} vs autograd chart {slow:.2e}  "
        f"({slow / fast:.0f}x); end points differ by {difference:.1e}"
    )
    print(f"load average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
