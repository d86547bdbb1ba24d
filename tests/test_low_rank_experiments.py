"""Qualitative claims of the low-rank experiments, on instances that run in seconds.

Each claim is checked against an independent prediction: the ground truth of the
completion problem, nuclear-norm minimization (cvxpy), the scalar ODE of one
singular mode, the dense g^N flow, the sign of det (invariant of the flow).
"""

from __future__ import annotations

import numpy as np
import pytest

from geomstats_dln.dynamics import integrate, riemannian_gradient_field
from geomstats_dln.dynamics.low_rank_flows import (
    from_svd_coordinates_2x2,
    svd_coordinates_field_2x2,
    to_svd_coordinates_2x2,
)
from geomstats_dln.report.low_rank_section import (
    completion_experiment,
    completion_instance,
    crossing_time,
    deep_completion_run,
    incremental_learning_run,
    razin_cohen_loss,
    razin_cohen_run,
    scalar_mode_time,
    two_by_two_limits,
)


def test_deeper_completes_from_fewer_entries():
    """30 x 30 rank 2 from 200 entries: depth 3 recovers the truth, depth 2 and
    nuclear-norm minimization do not (Arora et al. 2019, reduced)."""
    pytest.importorskip("cvxpy")
    result = completion_experiment(
        30, 2, (200,), depths=(2, 3), n_steps=20000, init_scale=1e-4
    )
    errors = result["errors"]
    assert errors[3][0] < 0.05
    assert errors[3][0] < 0.3 * errors[2][0]
    assert errors[3][0] < 0.3 * result["nuclear"][0]
    assert abs(result["effective_ranks"][3][0] - 2.0) < 0.1
    # training fitted the observed entries in both cases
    assert max(result["losses"][2][0], result["losses"][3][0]) < 1e-4


@pytest.mark.parametrize("depth", [2, 3])
def test_incremental_learning_times_match_the_scalar_mode_ode(depth):
    targets = np.array([3.0, 1.0])
    run = incremental_learning_run(targets, depth, 1e-4, 200.0, aligned=True)
    for i, target in enumerate(targets):
        measured = crossing_time(run, i, target / 2)
        np.testing.assert_allclose(
            measured, scalar_mode_time(1e-4, target / 2, target, depth), rtol=2e-3
        )


def test_singular_values_are_learned_one_at_a_time():
    targets = np.array([4.0, 2.0, 1.0])
    for depth, scale in ((2, 1e-6), (3, 1e-4)):
        t_final = 3 * scalar_mode_time(scale, 0.9 * targets[-1], targets[-1], depth)
        run = incremental_learning_run(targets, depth, scale, t_final, aligned=False)
        times = [crossing_time(run, i, 0.9 * y) for i, y in enumerate(targets)]
        assert times[0] < times[1] < times[2]  # largest first
        k = int(np.searchsorted(run.times, times[0]))
        assert run["singular_values"][k, 1] < 0.1 * targets[1]  # a plateau between
        np.testing.assert_allclose(run["singular_values"][-1], targets, rtol=1e-3)


def test_svd_coordinates_reproduce_the_dense_flow():
    loss = razin_cohen_loss()
    start = np.array([[0.1, 0.02], [0.0, 0.08]])
    times = [0.0, 0.5, 2.0]
    for depth in (2, 3):
        dense = integrate(
            riemannian_gradient_field(loss, depth), start, 2.0, rtol=1e-11, t_eval=times
        )
        polar = integrate(
            svd_coordinates_field_2x2(loss, depth),
            to_svd_coordinates_2x2(start),
            2.0,
            rtol=1e-11,
            t_eval=times,
        )
        np.testing.assert_allclose(
            from_svd_coordinates_2x2(polar.states), dense.states, atol=1e-8
        )


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_razin_cohen_norm_diverges_and_rank_tends_to_one(depth):
    run = razin_cohen_run(depth, t_final=1e4)
    late = len(run.times) // 2
    # det = exp(log s_1 + log s_2) > 0: the component det > 0 is kept
    assert np.all(np.isfinite(run["log_det"]))
    assert np.all(np.diff(run["log_det"][late:]) < 0)  # towards the boundary
    assert np.all(np.diff(run["norm"][late:]) > 0)
    assert run["norm"][-1] > 10 * run["norm"][late // 2]
    assert run["effective_rank"][-1] < 1.01
    assert run["loss"][-1] < 1e-2 * run["loss"][late // 2]
    # every zero of the loss [[x, 1], [1, 0]] has det = -1: none is reachable
    matrix = from_svd_coordinates_2x2(run.final_state)
    assert abs(matrix[0, 0]) > 10
    # depth 1 (plain gradient flow) crosses det = 0 and converges to det = -1
    euclid = integrate(
        riemannian_gradient_field(razin_cohen_loss(), 1),
        np.array([[0.1, 0.02], [0.0, 0.08]]),
        60.0,
        rtol=1e-10,
    )
    np.testing.assert_allclose(np.linalg.det(euclid.final_state), -1.0, atol=1e-8)


def test_two_by_two_limits_concentrate_with_depth():
    """Survey §14.1: N = 1 keeps the start's off-diagonal (limit near I), N = 3
    concentrates near [[1, +-1], [+-1, 1]] on the rank-one zeros."""
    shallow = two_by_two_limits(1, 20, t_final=100.0)
    deep = two_by_two_limits(3, 30, t_final=400.0)
    assert np.all(shallow["converged"])
    np.testing.assert_allclose(
        shallow["limits"], np.broadcast_to(np.eye(2), (20, 2, 2)), atol=1e-2
    )
    ok = deep["converged"]
    assert np.mean(ok) > 0.9
    assert np.mean(deep["distance"][ok] < 0.1) > 0.8
    assert np.median(deep["ratio"][ok]) < 1e-2


def test_completion_effective_rank_moves_in_steps():
    """The rank jumps of deep matrix completion (survey §13.3, Arora et al.):
    from a small start the effective rank falls from about n to a plateau at 1
    (one mode learned, the second still at the scale of the start), then rises to
    r = 2 once the second mode is learned, to the truth's singular values."""
    loss, truth = completion_instance(30, 2, 200, seed=0)
    run, _ = deep_completion_run(
        loss, 3, init_scale=1e-4, n_steps=2000, record_every=5, seed=0
    )
    truth_values = np.linalg.svd(truth, compute_uv=False)[:2]
    ranks, values = run["effective_rank"], run["singular_values"]
    assert ranks[1] > 10  # the small start: no direction preferred
    plateau = np.abs(ranks - 1.0) < 0.1
    assert np.any(plateau)
    first, last = np.nonzero(plateau)[0][[0, -1]]
    assert run.times[last] > 1.5 * run.times[first]  # a plateau, not a crossing
    assert np.all(values[first : last + 1, 1] < 0.1 * values[first : last + 1, 0])
    assert np.all(ranks[last + 1 :] > 1.0)  # then the rank rises, for good
    np.testing.assert_allclose(ranks[-1], 2.0, atol=0.1)
    np.testing.assert_allclose(values[-1, :2], truth_values, rtol=0.05)


def test_two_by_two_concentration_grows_from_depth_two_to_four():
    """Survey §14.1 across depths: every start converges to a zero of the loss
    for N = 2 and N = 4, but the share of limits within 0.1 of the named
    cluster [[1, +-1], [+-1, 1]] grows from N = 2 (about 0.6) to N = 4 (all)."""
    shares = {}
    for depth in (2, 4):
        result = two_by_two_limits(depth, 30, t_final=400.0)
        assert np.all(result["converged"])
        shares[depth] = np.mean(result["distance"] < 0.1)
    assert shares[2] < 0.8
    assert shares[4] > 0.95
