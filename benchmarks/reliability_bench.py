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
import math
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


def _time_in_child(function, queue) -> None:
    start = time.perf_counter()
    try:
        function()
        queue.put(("time", time.perf_counter() - start, ""))
    except (ValueError, TypeError) as error:
        queue.put(("refused", time.perf_counter() - start, str(error)))
    except Exception as error:  # noqa: BLE001 - reported
        queue.put(("error", time.perf_counter() - start, repr(error)))


def _timed(label: str, function, limit: float = 120.0) -> tuple:
    """Time ``function()`` in a forked child, killed after ``limit`` seconds
    (a hang or a minutes-long loop is reported, not waited for)."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    process = context.Process(target=_time_in_child, args=(function, queue))
    start = time.perf_counter()
    process.start()
    process.join(limit)
    if process.is_alive():
        process.kill()
        process.join()
        outcome = ("over the limit", time.perf_counter() - start, "")
    else:
        outcome = queue.get() if not queue.empty() else ("crash", math.nan, "")
    kind, seconds, message = outcome
    text = f"{seconds:.3f} s" if kind == "time" else f"{kind} after {seconds:.3f} s"
    print(f"| {label} | {text} | {message[:160]} |", flush=True)
    return outcome


def depth_1000(depth: int = 1000, limit: float = 120.0) -> None:
    """Item 2: every layer-looping entry point at depth ``depth``, ``d = 2``."""
    from geomstats_dln import DLNMetric, EndToEndMatrices  # noqa: F401
    from geomstats_dln.balanced import (
        BalancedManifold,
        balanced_exp,
        balanced_frame,
        balanced_log,
        best_gauge,
        center,
        gauge_action,
        horizontal_geodesic_end,
        horizontal_lift,
        horizontal_projection,
        orbit_basis,
        random_gauges,
        tangent_basis,
        to_tangent,
        vertical_projection,
    )
    from geomstats_dln.dynamics import (
        balanced_gradient_field,
        euclidean_gradient_field,
        gradient_descent,
        integrate,
        kirwan_ness_field,
        l2_regularizing_field,
        simulate_brownian,
        simulate_rle,
    )
    from geomstats_dln.fibers import (
        MomentRegularizer,
        SchattenRegularizer,
        fiber_operator,
        fiber_projection,
        solve_fiber_operator,
    )
    from geomstats_dln.losses import QuadraticLoss
    from geomstats_dln.orbit_entropy import entropy
    from geomstats_dln.parameters import end_to_end, end_to_end_and_lifted_gradient

    print(f"== depth {depth}, d = 2 (limit {limit:g} s each) ==")
    print("| entry point | time | message |\n| --- | --- | --- |")
    rng = np.random.default_rng(0)
    matrix = np.array([[2.0, 0.3], [0.1, 1.0]])
    loss = QuadraticLoss(np.diag([3.0, 2.0]))
    point = center(matrix, depth)
    vector = rng.normal(size=point.shape)
    tangent = np.asarray(to_tangent(vector, point))
    moved = gauge_action(random_gauges(depth, 2), point)
    # an unbalanced point of the same fiber: layers rescaled by a gl(2) gauge
    scales = np.diag([1.5, 0.7])
    unbalanced = point.copy()
    unbalanced[0] = scales @ point[0]
    unbalanced[1] = point[1] @ np.linalg.inv(scales)
    rhs = rng.normal(size=(depth - 1, 2, 2))
    space = EndToEndMatrices(2, depth=depth)
    entries = [
        ("center", lambda: center(matrix, depth)),
        ("random_gauges", lambda: random_gauges(depth, 2)),
        ("gauge_action", lambda: gauge_action(random_gauges(depth, 2), point)),
        ("end_to_end", lambda: end_to_end(point)),
        (
            "end_to_end_and_lifted_gradient",
            lambda: end_to_end_and_lifted_gradient(loss.gradient, point),
        ),
        ("balanced_frame", lambda: balanced_frame(point)),
        ("vertical_projection", lambda: vertical_projection(vector, point)),
        ("horizontal_projection", lambda: horizontal_projection(vector, point)),
        ("to_tangent", lambda: to_tangent(vector, point)),
        ("horizontal_lift", lambda: horizontal_lift(matrix, point)),
        ("orbit_basis", lambda: orbit_basis(point)),
        ("tangent_basis", lambda: tangent_basis(point)),
        (
            "BalancedManifold.projection",
            lambda: BalancedManifold(2, depth, equip=False).projection(moved),
        ),
        (
            "horizontal_geodesic_end",
            lambda: horizontal_geodesic_end(0.1 * matrix, point),
        ),
        ("balanced_exp", lambda: balanced_exp(tangent, point)),
        ("balanced_log", lambda: balanced_log(point, point)),
        ("best_gauge", lambda: best_gauge(moved, point)),
        ("fiber_operator", lambda: fiber_operator(rhs, point)),
        ("solve_fiber_operator", lambda: solve_fiber_operator(rhs, point)),
        (
            "fiber_projection (normal)",
            lambda: fiber_projection(vector, point, method="normal"),
        ),
        (
            "fiber_projection (operator)",
            lambda: fiber_projection(vector, point, method="operator"),
        ),
        (
            "SchattenRegularizer(2).gradient",
            lambda: SchattenRegularizer(2.0).gradient(point),
        ),
        ("MomentRegularizer.gradient", lambda: MomentRegularizer().gradient(point)),
        (
            "l2_regularizing_field, 10 RK4 steps",
            lambda: integrate(l2_regularizing_field(), unbalanced, 0.1, 10),
        ),
        (
            "kirwan_ness_field, 10 RK4 steps",
            lambda: integrate(kirwan_ness_field(), unbalanced, 1e-3, 10),
        ),
        (
            "euclidean_gradient_field, 10 RK4 steps",
            lambda: integrate(euclidean_gradient_field(loss), point, 1e-3, 10),
        ),
        (
            "balanced_gradient_field, 10 RK4 steps",
            lambda: integrate(balanced_gradient_field(loss), point, 1e-3, 10),
        ),
        (
            "gradient_descent, 100 steps",
            lambda: gradient_descent(euclidean_gradient_field(loss), point, 1e-4, 100),
        ),
        (
            "simulate_rle downstairs, 1000 paths x 100 steps of 1e-5",
            # the drift A_{N,X}(E') grows like N: dt = 0.01 (fine at N = 3)
            # diverges at N = 1000, which the integrator reports
            lambda: simulate_rle(
                loss, np.broadcast_to(matrix, (1000, 2, 2)), depth, 4.0, 1e-3, 100
            ),
        ),
        (
            "simulate_rle upstairs",
            lambda: simulate_rle(None, point, depth, 1.0, 0.1, 10, level="upstairs"),
        ),
        (
            "simulate_brownian, 1000 paths x 100 steps",
            lambda: simulate_brownian(
                np.broadcast_to(matrix, (1000, 2, 2)), depth, 4.0, 0.1, 100
            ),
        ),
        ("orbit_entropy.entropy", lambda: entropy(matrix, depth)),
        ("DLNMetric.exp", lambda: space.metric.exp(0.1 * matrix, matrix)),
        (
            "DLNMetric.log",
            lambda: space.metric.log(matrix + 0.1 * np.eye(2), matrix),
        ),
    ]
    for label, function in entries:
        _timed(label, function, limit)


# ------------------------------------------------------------------ sweep
def _sweep_cases():
    """``(entry point, input label, expected, thunk)``: ``expected`` is
    ``"result"`` for valid array-likes and sizes, ``"error"`` otherwise."""
    import math  # noqa: F401

    from geomstats_dln import balanced, fibers, losses, orbit_entropy, parameters
    from geomstats_dln.dynamics import effective_rank, simulate_brownian, simulate_rle

    good = np.array([[2.0, 0.3], [0.1, 1.0]])
    layers = balanced.center(good, 3)
    matrices = {
        "list": ("result", good.tolist()),
        "tuple": ("result", tuple(map(tuple, good))),
        "float32": ("result", good.astype(np.float32)),
        "int": ("result", np.array([[2, 0], [1, 1]])),
        "inf": ("error", np.array([[np.inf, 0.3], [0.1, 1.0]])),
        "nan": ("error", np.array([[np.nan, 0.3], [0.1, 1.0]])),
        "complex": ("real-only", good + 1j),
        "vector": ("error", np.ones(3)),
        "singular": ("error", np.array([[1.0, 1.0], [1.0, 1.0]])),
        "strings": ("error", np.array([["a", "b"], ["c", "d"]])),
    }
    matrix_functions = {
        "center": lambda x: balanced.center(x, 3),
        "entropy": lambda x: orbit_entropy.entropy(x, 3),
        "entropy_gradient": lambda x: orbit_entropy.entropy_gradient(x, 3),
        "volume_density": lambda x: orbit_entropy.volume_density(x, 3),
        "effective_rank": effective_rank,
        "simulate_rle": lambda x: simulate_rle(None, x, 3, 1.0, 0.1, 2, seed=0),
        "simulate_brownian": lambda x: simulate_brownian(x, 3, 1.0, 0.1, 2, seed=0),
    }
    cases = []
    for fname, function in matrix_functions.items():
        for label, (expected, value) in matrices.items():
            if label == "singular" and fname == "effective_rank":
                expected = "result"
            cases.append((fname, label, expected, lambda f=function, v=value: f(v)))
    bad_layers = {
        "list": ("result", layers.tolist()),
        "inf": ("error", np.where(np.arange(12).reshape(3, 2, 2) == 0, np.inf, layers)),
        "nan": ("error", np.where(np.arange(12).reshape(3, 2, 2) == 0, np.nan, layers)),
        "complex": ("real-only", layers + 1j),
        "not square": ("error", np.ones((3, 2, 3))),
    }
    vec = np.ones((3, 2, 2))
    layer_functions = {
        "end_to_end": parameters.end_to_end,
        "moments": parameters.moments,
        "balanced_frame": balanced.balanced_frame,
        "vertical_projection": lambda w: balanced.vertical_projection(vec, w),
        "to_tangent": lambda w: balanced.to_tangent(vec, w),
        "balanced_exp": lambda w: balanced.balanced_exp(0.01 * vec, w),
        "best_gauge": lambda w: balanced.best_gauge(w, layers),
        "fiber_projection": lambda w: fibers.fiber_projection(vec, w),
        "solve_fiber_operator": lambda w: fibers.solve_fiber_operator(
            np.ones((2, 2, 2)), w
        ),
        "SchattenRegularizer.gradient": fibers.SchattenRegularizer(2.0).gradient,
    }
    for fname, function in layer_functions.items():
        for label, (expected, value) in bad_layers.items():
            if fname in ("end_to_end", "moments") and label in ("inf", "nan"):
                expected = "NaN/inf result"  # algebraic maps propagate (documented)
            cases.append((fname, label, expected, lambda f=function, v=value: f(v)))
    sizes = {"2.5": 2.5, "-1": -1, "True": True, "'3'": "3"}
    for label, size in sizes.items():
        cases += [
            (
                "completion_problem",
                f"n={label}",
                "error",
                lambda v=size: losses.completion_problem(v, 3, seed=0),
            ),
            (
                "random_gauges",
                f"depth={label}",
                "error",
                lambda v=size: balanced.random_gauges(v, 2),
            ),
            (
                "center",
                f"depth={label}",
                "error",
                lambda v=size: balanced.center(good, v),
            ),
        ]
    for label, size in {"np.int64(3)": np.int64(3), "3.0": 3.0}.items():
        cases += [
            (
                "completion_problem",
                f"n={label}",
                "result",
                lambda v=size: losses.completion_problem(v, 3, seed=0),
            ),
            (
                "center",
                f"depth={label}",
                "result",
                lambda v=size: balanced.center(good, v),
            ),
        ]
    for label, seed in {"1.5": 1.5, "'a'": "a", "-1": -1}.items():
        cases += [
            (
                "completion_problem",
                f"seed={label}",
                "error",
                lambda v=seed: losses.completion_problem(3, seed=v),
            ),
            (
                "simulate_rle",
                f"seed={label}",
                "error",
                lambda v=seed: simulate_rle(None, good, 3, 1.0, 0.1, 2, seed=v),
            ),
        ]
    cases += [
        (
            "gauge_action",
            "non-orthogonal",
            "error",
            lambda: balanced.gauge_action(2.0 * balanced.random_gauges(3, 2), layers),
        ),
        (
            "balanced_exp",
            "n_steps=0",
            "error",
            lambda: balanced.balanced_exp(0.01 * vec, layers, n_steps=0),
        ),
        (
            "solve_fiber_operator",
            "NaN rhs",
            "error",
            lambda: fibers.solve_fiber_operator(np.full((2, 2, 2), np.nan), layers),
        ),
        (
            "solve_fiber_operator",
            "batch mismatch",
            "error",
            lambda: fibers.solve_fiber_operator(
                np.ones((2, 2, 2, 2)), np.stack([layers] * 3)
            ),
        ),
    ]
    return cases


def _sweep_cases_added():
    """The same outcome classes for the modules added after the first sweep:
    networks, statistics, clustering, interpolation, low_rank, optimization,
    connection. ``"no hang"``: a clear error or a finite result are both
    right (rank-deficient inputs, where either is documented)."""
    from geomstats_dln import (
        clustering,
        connection,
        interpolation,
        low_rank,
        networks,
        optimization,
        statistics,
    )

    good = np.array([[2.0, 0.3], [0.1, 1.0]])
    other = np.array([[1.5, -0.2], [0.4, 0.8]])
    vec = np.array([[0.1, -0.2], [0.3, 0.05]])
    matrices = {
        "list": ("result", good.tolist()),
        "tuple": ("result", tuple(map(tuple, good))),
        "float32": ("result", good.astype(np.float32)),
        "int": ("result", np.array([[2, 0], [1, 1]])),
        "inf": ("error", np.array([[np.inf, 0.3], [0.1, 1.0]])),
        "nan": ("error", np.array([[np.nan, 0.3], [0.1, 1.0]])),
        "complex": ("real-only", good + 1j),
        "vector": ("error", np.ones(3)),
        "singular": ("no hang", np.array([[1.0, 1.0], [1.0, 1.0]])),
        "strings": ("error", np.array([["a", "b"], ["c", "d"]])),
    }

    def net(x):
        return networks.LinearNetwork(networks.balanced_layers(x, [2, 2, 2, 2]))

    matrix_functions = {
        "balanced_layers": lambda x: networks.balanced_layers(x, [2, 2, 2, 2]),
        # one point (the form interpolate uses): a stack of two vectors of
        # length 3 would be a valid 2 x 3 matrix, not a bad input
        "dln_metric": lambda x: statistics.dln_metric(x, 3),
        "determinant_components": lambda x: statistics.determinant_components(
            np.stack([x, x])
        ),
        "pairwise_distances": lambda x: statistics.pairwise_distances(
            np.stack([np.asarray(x, dtype=float), other]), depth=3, progress=False
        ),
        "whiten (point)": lambda x: statistics.whiten(vec, x, 3),
        "whiten (vector)": lambda x: statistics.whiten(x, good, 3),
        "truncated_svd": lambda x: low_rank.truncated_svd(x, 1),
        "low_rank_frame": lambda x: low_rank.low_rank_frame(x, 1, 3),
        "second_order_retraction (point)": lambda x: (
            optimization.second_order_retraction(x, vec, 3)
        ),
        "second_order_retraction (vector)": lambda x: (
            optimization.second_order_retraction(good, x, 3)
        ),
        "christoffel_contraction (point)": lambda x: connection.christoffel_contraction(
            x, vec, vec, 3
        ),
        "christoffel_contraction (vector)": lambda x: (
            connection.christoffel_contraction(good, x, vec, 3)
        ),
        "interpolate": lambda x: interpolation.interpolate(
            net(x), net(other), n_points=3
        ),
    }
    cases = []
    for fname, function in matrix_functions.items():
        for label, (expected, value) in matrices.items():
            if label == "singular" and fname == "truncated_svd":
                expected = "result"  # rank 1 = the requested rank
            cases.append((fname, label, expected, lambda f=function, v=value: f(v)))
    distances = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 1.5], [2.0, 1.5, 0.0]])
    bad_distances = {
        "list": ("result", distances.tolist()),
        "nan": ("error", np.where(distances == 1.0, np.nan, distances)),
        "negative": ("error", -distances),
        "not symmetric": ("error", distances + np.triu(np.ones((3, 3)), 1)),
        "not square": ("error", np.ones((3, 2))),
        "complex": ("real-only", distances + 1j),
    }
    distance_functions = {
        "check_distance_matrix": clustering.check_distance_matrix,
        "mds_embedding": clustering.mds_embedding,
        "KMedoids.fit": lambda d: clustering.KMedoids(2).fit(d),
    }
    for fname, function in distance_functions.items():
        for label, (expected, value) in bad_distances.items():
            cases.append((fname, label, expected, lambda f=function, v=value: f(v)))
    sizes = {"2.5": 2.5, "-1": -1, "True": True, "'3'": "3", "0": 0}
    for label, size in sizes.items():
        cases += [
            (
                "dln_metric",
                f"depth={label}",
                "error",
                lambda v=size: statistics.dln_metric(np.stack([good, other]), v),
            ),
            (
                "christoffel_contraction",
                f"depth={label}",
                "error",
                lambda v=size: connection.christoffel_contraction(good, vec, vec, v),
            ),
            (
                "truncated_svd",
                f"rank={label}",
                "error",
                lambda v=size: low_rank.truncated_svd(good, v),
            ),
            (
                "KMedoids",
                f"n_clusters={label}",
                "error",
                lambda v=size: clustering.KMedoids(v).fit(distances),
            ),
            (
                "mds_embedding",
                f"n_components={label}",
                "error",
                lambda v=size: clustering.mds_embedding(distances, v),
            ),
            (
                "interpolate",
                f"n_points={label}",
                "error",
                lambda v=size: interpolation.interpolate(net(good), net(other), 3, v),
            ),
        ]
    cases += [
        (
            "LinearNetwork",
            "layers with inf",
            "error",
            lambda: networks.LinearNetwork([np.full((2, 2), np.inf), good]),
        ),
        (
            "LinearNetwork",
            "widths that do not chain",
            "error",
            lambda: networks.LinearNetwork([np.ones((3, 2)), np.ones((2, 2))]),
        ),
        (
            "LinearNetwork",
            "a string",
            "error",
            lambda: networks.LinearNetwork("layers"),
        ),
        (
            "NetworkEnsemble",
            "networks of different depths",
            "error",
            lambda: networks.NetworkEnsemble([net(good), [good, good]]),
        ),
        (
            "align_layers",
            "different widths",
            "error",
            lambda: networks.align_layers([good, good], [np.ones((3, 2)), good]),
        ),
        (
            "pairwise_distances",
            "different components",
            "NaN/inf result",  # inf between components, documented
            lambda: statistics.pairwise_distances(
                np.stack([good, np.diag([1.0, -1.0])]), depth=3, progress=False
            ),
        ),
    ]
    return cases


def _classify(expected, thunk, queue):
    try:
        value = thunk()
    except (ValueError, TypeError) as error:
        obscure = isinstance(error, np.linalg.LinAlgError)
        queue.put("obscure exception" if obscure else "clear error")
        return
    except Exception:  # noqa: BLE001 - counted
        queue.put("obscure exception")
        return
    arrays = value if isinstance(value, tuple | list) else (value,)

    def finite(item) -> bool:
        item = getattr(item, "states", item)
        try:
            return bool(np.all(np.isfinite(np.asarray(item, dtype=complex))))
        except (TypeError, ValueError):  # an object (estimator, metric, paths)
            return True

    ok = all(finite(a) for a in arrays if not hasattr(a, "mask"))
    queue.put("result" if ok else "NaN/inf result")


def sweep(timeout: float = 10.0, added: bool = False) -> None:
    """Item 3: the bad-input sweep; counts per outcome class. ``added``: the
    cases of the modules added after the first sweep instead."""
    import multiprocessing
    from collections import Counter

    context = multiprocessing.get_context("fork")
    counts, wrong, complex_results = Counter(), [], []
    cases = _sweep_cases_added() if added else _sweep_cases()
    for fname, label, expected, thunk in cases:
        queue = context.Queue()
        process = context.Process(target=_classify, args=(expected, thunk, queue))
        process.start()
        process.join(timeout)
        if process.is_alive():
            process.kill()
            process.join()
            outcome = "hang"
        else:
            outcome = queue.get() if not queue.empty() else "crash"
        counts[outcome] += 1
        if expected == "real-only":
            # complex input: a TypeError unless the function is complex-aware
            # (the complex-DLN issue decides per function); tallied apart
            counts[f"complex input: {outcome}"] += 1
            if outcome == "result":
                complex_results.append(fname)
            if outcome in ("clear error", "result"):
                continue
            good = False
        elif expected == "no hang":
            good = outcome in ("clear error", "result")
        else:
            good = outcome == {"error": "clear error"}.get(expected, expected)
        counts["as expected" if good else "not as expected"] += 1
        if not good:
            wrong.append(f"{fname} [{label}]: {outcome} (expected {expected})")
    import geomstats_dln

    print(
        f"== sweep{' (added modules)' if added else ''} ({geomstats_dln.__file__}) =="
    )
    print(f"  cases: {len(cases)}")
    for name in sorted(counts):
        print(f"  {name}: {counts[name]}")
    for line in wrong:
        print(f"  - {line}")
    print(f"  complex input accepted by: {', '.join(complex_results) or 'none'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--paths", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--beta", type=float, default=4.0)
    parser.add_argument("--skip-depth", action="store_true")
    parser.add_argument("--sweep-only", action="store_true")
    parser.add_argument(
        "--sweep-added",
        action="store_true",
        help="the sweep of the modules added after the first one",
    )
    parser.add_argument(
        "--depth-only", action="store_true", help="only the depth-1000 timings"
    )
    parser.add_argument("--depth", type=int, default=1000)
    args = parser.parse_args()
    if args.depth_only:
        depth_1000(args.depth)
        return
    if args.sweep_only:
        sweep()
        return
    if args.sweep_added:
        sweep(added=True)
        return
    if not args.skip_depth:
        depth_1000(args.depth)
    long_run(args.paths, args.steps, args.jobs, args.beta)


if __name__ == "__main__":
    main()
