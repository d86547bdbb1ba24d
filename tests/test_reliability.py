"""Regression tests of issue 15: no hang, no silent wrong answer, clear messages.

Every case of the issue gets a test: the inputs that hung (an ``inf`` reaching
LAPACK's SVD) now raise at once, the silently wrong results raise, depth 1000
either runs (checked against an independent route) or is refused up front with
its reason, and the misleading messages say what happened.
"""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

from geomstats_dln import _validation
from geomstats_dln.balanced import (
    balanced_exp,
    balanced_frame,
    balanced_log,
    best_gauge,
    center,
    gauge_action,
    random_gauges,
    to_tangent,
    vertical_projection,
)
from geomstats_dln.dynamics import (
    balanced_gradient_field,
    effective_rank,
    geomstats_brownian_motion,
    initialize,
    integrate,
    riemannian_gradient_field,
    simulate_rle,
)
from geomstats_dln.dynamics.integrators import StepSizeError
from geomstats_dln.dynamics.langevin_upstairs import UpstairsReport, _upstairs_step
from geomstats_dln.dynamics.regularizing import regularized_langevin
from geomstats_dln.fibers import (
    SchattenRegularizer,
    _dense_fiber_operator_matrix,
    fiber_operator,
    fiber_projection,
    solve_fiber_operator,
)
from geomstats_dln.losses import QuadraticLoss, completion_problem
from geomstats_dln.orbit_entropy import entropy
from geomstats_dln.parameters import end_to_end, moments

X_GOOD = np.array([[2.0, 0.3], [0.1, 1.0]])


def _with_inf(array):
    """A copy of ``array`` with its first entry set to inf."""
    array = np.array(array, dtype=float)
    array.flat[0] = np.inf
    return array


def _finishes(function, seconds=30.0):
    """Run ``function`` in a thread; return its exception (``None`` if it
    returned), failing the test if it is still running after ``seconds``."""
    outcome = {}

    def target():
        try:
            function()
            outcome["error"] = None
        except Exception as error:  # noqa: BLE001 - the test inspects it
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s: it hangs"
    return outcome["error"]


# ------------------------------------------------------------------ hangs
W3 = center(X_GOOD, 3)
V3 = np.random.default_rng(0).normal(size=W3.shape)
HANGING_CALLS = {
    "center": lambda: center(_with_inf(X_GOOD), 3),
    "balanced_frame": lambda: balanced_frame(_with_inf(W3)),
    "vertical_projection (point)": lambda: vertical_projection(V3, _with_inf(W3)),
    "vertical_projection (vector)": lambda: vertical_projection(_with_inf(V3), W3),
    "to_tangent": lambda: to_tangent(_with_inf(V3), W3),
    "balanced_exp": lambda: balanced_exp(V3, _with_inf(W3)),
    "best_gauge": lambda: best_gauge(_with_inf(W3), W3),
    "SchattenRegularizer.gradient": lambda: SchattenRegularizer(2.0).gradient(
        _with_inf(W3)
    ),
    "upstairs RLE": lambda: simulate_rle(
        None, _with_inf(W3), 3, 1.0, 1.0, 5, level="upstairs"
    ),
    "downstairs RLE": lambda: simulate_rle(None, _with_inf(X_GOOD), 3, 1.0, 1.0, 5),
    "effective_rank": lambda: effective_rank(_with_inf(X_GOOD)),
    "entropy": lambda: entropy(_with_inf(X_GOOD), 3),
}


@pytest.mark.parametrize("name", sorted(HANGING_CALLS))
def test_inf_is_refused_before_any_svd(name):
    error = _finishes(HANGING_CALLS[name])
    assert isinstance(error, ValueError), (name, error)
    assert "non-finite" in str(error), str(error)


# ------------------------------------------------------ silently wrong results
def test_gauge_action_refuses_non_orthogonal_gauges_and_keeps_x_for_orthogonal():
    gauges = random_gauges(3, 2)
    # orthogonal gauges keep X = W_3 W_2 W_1 (evaluated by the definition)
    acted = gauge_action(gauges, W3)
    product = acted[2] @ acted[1] @ acted[0]
    np.testing.assert_allclose(product, X_GOOD, atol=1e-13)
    with pytest.raises(ValueError, match="orthogonal"):
        gauge_action(2.0 * gauges, W3)  # changed X by 400% before


def test_balanced_exp_refuses_zero_or_fractional_steps():
    tangent = to_tangent(0.1 * V3, W3)
    for bad in (0, -1):
        with pytest.raises(ValueError, match="n_steps"):
            balanced_exp(tangent, W3, n_steps=bad)
    with pytest.raises(ValueError, match="n_steps must be an integer"):
        balanced_exp(tangent, W3, n_steps=2.5)


def test_solve_fiber_operator_refuses_nan_rhs():
    rhs = np.ones((2, 2, 2))
    rhs[1, 0, 1] = np.nan
    for solver in ("cg", "banded"):
        with pytest.raises(ValueError, match="rhs has non-finite"):
            solve_fiber_operator(rhs, W3, solver=solver)


def test_effective_rank_of_a_finite_matrix_is_its_definition():
    s = np.array([3.0, 1.0])
    p = s / s.sum()
    expected = math.exp(-np.sum(p * np.log(p)))
    point = np.diag(s)
    assert effective_rank(point) == pytest.approx(expected, rel=1e-14)


def test_completion_problem_sizes_are_integers_not_truncated():
    with pytest.raises(ValueError, match="n must be an integer"):
        completion_problem(2.5, 3)
    reference, truth = completion_problem(3, 3, seed=4)
    loss, same = completion_problem(np.int64(3), 3.0, seed=np.int64(4))
    np.testing.assert_array_equal(np.asarray(truth), np.asarray(same))
    np.testing.assert_array_equal(np.asarray(reference.mask), np.asarray(loss.mask))


def test_seeds_and_sizes_of_the_wrong_type_are_named():
    with pytest.raises(TypeError, match="seed"):
        completion_problem(3, seed="zero")
    with pytest.raises(TypeError, match="seed"):
        simulate_rle(None, X_GOOD, 3, 1.0, 1.0, 2, seed=1.5)
    with pytest.raises(TypeError, match="depth must be an integer"):
        center(X_GOOD, True)


def test_array_likes_are_converted_once_and_complex_refused():
    as_list = X_GOOD.tolist()
    np.testing.assert_allclose(center(as_list, 3), W3, atol=0)
    np.testing.assert_allclose(end_to_end(W3.tolist()), W3[2] @ W3[1] @ W3[0])
    assert entropy(as_list, 3) == pytest.approx(float(entropy(X_GOOD, 3)), rel=1e-15)
    float32 = center(X_GOOD.astype(np.float32), 3)
    assert float32.dtype == np.float64
    # center is complex-aware since the complex-DLN work: a complex X gets a
    # complex balanced lift (phi(W) = X, Hermitian moments G = 0)
    lifted = center(X_GOOD + 1j, 3)
    assert np.max(np.abs(end_to_end(lifted) - (X_GOOD + 1j))) <= 1e-14
    assert np.max(np.abs(moments(lifted))) <= 1e-14
    # real-only entry points refuse complex input with a TypeError naming it
    with pytest.raises(TypeError, match=r"simulate_rle: .*must be real"):
        simulate_rle(None, X_GOOD + 1j, 3, 1.0, 0.1, 2, seed=0)


def test_broadcast_failures_name_both_shapes():
    points = np.stack([W3] * 3)
    with pytest.raises(ValueError, match=r"rhs \(2,\), parameters \(3,\)"):
        solve_fiber_operator(np.ones((2, 2, 2, 2)), points)
    with pytest.raises(ValueError, match=r"gauges \(2,\), parameters \(3,\)"):
        gauge_action(random_gauges(3, 2, 2), points)
    with pytest.raises(ValueError, match=r"tangent_vec \(2,\), parameters \(3,\)"):
        vertical_projection(np.ones((2, 3, 2, 2)), points)
    with pytest.raises(ValueError, match=r"vector \(2,\), parameters \(3,\)"):
        fiber_projection(np.ones((2, 3, 2, 2)), points)


# ------------------------------------------------------------- depth 1000
def test_banded_fiber_solve_matches_the_dense_operator():
    rng = np.random.default_rng(3)
    for depth, dim in ((5, 2), (4, 3), (3, 1)):
        layers = rng.normal(size=(depth, dim, dim)) + 2.0 * np.eye(dim)
        rhs = rng.normal(size=(depth - 1, dim, dim))
        dense = _dense_fiber_operator_matrix(layers)
        expected = np.linalg.solve(dense, rhs.ravel()).reshape(rhs.shape)
        banded = solve_fiber_operator(rhs, layers, solver="banded")
        np.testing.assert_allclose(
            banded, expected, atol=1e-12 * np.abs(expected).max()
        )


def test_depth_1000_fiber_operator_runs_and_agrees_with_the_normal_route():
    depth = 1000
    point = center(X_GOOD, depth)
    rng = np.random.default_rng(5)
    rhs = rng.normal(size=(depth - 1, 2, 2))
    solution = solve_fiber_operator(rhs, point)  # auto: banded
    residual = np.linalg.norm(fiber_operator(solution, point) - rhs)
    assert residual <= 1e-9 * np.linalg.norm(rhs)
    vector = rng.normal(size=point.shape)
    by_operator = fiber_projection(vector, point, method="operator")
    by_normal = fiber_projection(vector, point, method="normal")
    np.testing.assert_allclose(by_operator, by_normal, atol=1e-8)


@pytest.mark.parametrize(
    "call",
    [
        lambda w: balanced_exp(np.zeros(w.shape), w),
        lambda w: balanced_log(w, w),
        lambda w: simulate_rle(None, w, 1000, 1.0, 1.0, 2, level="upstairs"),
    ],
    ids=["balanced_exp", "balanced_log", "upstairs RLE"],
)
def test_depth_1000_dense_solvers_refuse_up_front(call):
    point = center(X_GOOD, 1000)
    error = _finishes(lambda: call(point), seconds=20.0)
    assert isinstance(error, ValueError), error
    assert "balance constraints" in str(error)


# ---------------------------------------------------------------- messages
def test_rank_messages_separate_singular_from_nearly_rank_deficient():
    with pytest.raises(ValueError, match="not full rank"):
        _validation.check_full_rank(np.diag([1.0, 0.0]))
    with pytest.raises(
        ValueError,
        match=r"nearly rank-deficient \(relative smallest singular value 1\.000e-08",
    ):
        _validation.check_full_rank(np.diag([1.0, 1e-8]), rtol=1e-7)
    _validation.check_full_rank(np.diag([1.0, 1e-6]), rtol=1e-7)  # passes


def test_rk4_blow_up_is_reported_as_a_too_large_step():
    loss = QuadraticLoss(np.diag([3.0, 0.5]))
    start = np.array([[1.0, 0.2], [0.1, 0.8]])
    with pytest.raises(StepSizeError, match="blew up.*time step is too large"):
        integrate(riemannian_gradient_field(loss, 1000), start, 1.0, n_steps=10)


def test_coarse_balanced_flow_says_the_step_is_too_coarse():
    loss = QuadraticLoss(np.diag([30.0, 5.0]))
    start = initialize("balanced", 2, 5, scale=1.0, seed=0)
    with pytest.raises(StepSizeError, match="too coarse for the balanced flow"):
        integrate(balanced_gradient_field(loss), start, 1.0, n_steps=3)
    # an unbalanced start is still the field's own error, not the step's
    with pytest.raises(ValueError, match="not balanced") as info:
        integrate(balanced_gradient_field(loss), 2.0 * start + 0.3, 1.0, n_steps=3)
    assert not isinstance(info.value, StepSizeError)


def test_regularized_langevin_names_the_diverging_path():
    loss = QuadraticLoss(np.diag([3.0, 2.0]))
    starts = np.stack([center(X_GOOD, 3), 30.0 * center(X_GOOD, 3)])
    with pytest.raises(FloatingPointError, match=r"path\(s\) \[\(1,\)\]"):
        regularized_langevin(loss, 0.1, 10.0, starts, 5.0, 50, seed=0)


def test_geomstats_brownian_motion_route_refuses_complex_steps():
    motion = geomstats_brownian_motion(2, 10)
    near_singular = np.array([1.0, 0.3, 0.3, 0.09 + 1e-10])
    with pytest.raises(ValueError, match="complex"):
        motion.sample_path(0.03, 3, near_singular)
    path = motion.sample_path(0.02, 4, X_GOOD.reshape(-1))
    assert path.shape == (4, 4) and not np.iscomplexobj(path)


# ----------------------------------------------------------- upstairs RLE
class _FirstDraw:
    """A generator whose first ``standard_normal`` is a given array (the step's
    increments); later draws (bridge refinements) come from a seeded one."""

    def __init__(self, first):
        self.first, self.used = first, False
        self.rng = np.random.default_rng(0)

    def standard_normal(self, shape):
        if not self.used:
            self.used = True
            return self.first
        return self.rng.standard_normal(shape)


def test_one_failing_path_is_refined_alone_and_the_others_are_untouched():
    loss = QuadraticLoss(np.diag([3.0, 2.0]))
    healthy = np.stack([center(np.diag([3.0, 2.0]), 3), center(np.diag([2.0, 1.0]), 3)])
    fragile = center(np.diag([1.0, 1e-4]), 3)  # smallest layer value 0.046
    batch = np.concatenate([healthy, fragile[None]])
    draws = np.random.default_rng(1).normal(size=batch.shape)
    draws[2] *= 10.0  # a large increment for the fragile path only
    args = (4.0, 0.01)
    report = UpstairsReport()
    stepped = _upstairs_step(
        loss,
        batch,
        *args,
        _FirstDraw(draws),
        1.0,
        1.0,
        "euler_maruyama",
        "normal",
        report=report,
        frozen=np.zeros(3, dtype=bool),
    )
    alone = _upstairs_step(
        loss,
        healthy,
        *args,
        _FirstDraw(draws[:2]),
        1.0,
        1.0,
        "euler_maruyama",
        "normal",
    )
    np.testing.assert_array_equal(stepped[:2], alone)  # same paths, same noise
    assert report.refined_paths == {2} and report.refined_steps == 1
    assert report.max_substeps_used > 1 and not report.failed_paths
    defect = np.linalg.norm(moments(stepped[2]))
    assert defect <= 1e-10 * np.sum(stepped[2] ** 2)  # back on M
    assert not np.allclose(end_to_end(stepped[2]), end_to_end(fragile))


def test_upstairs_rle_runs_past_the_old_failure_and_reports_it():
    """beta = 1, dt = 0.01, 100 paths: the unrefined integrator died after a
    few hundred steps with 'time step is probably too large'."""
    loss = QuadraticLoss(np.diag([3.0, 2.0]))
    starts = np.broadcast_to(center(np.diag([3.0, 2.0]), 3), (100, 3, 2, 2))
    trajectory = simulate_rle(
        loss, starts, 3, 1.0, 4.0, 400, level="upstairs", seed=1, record_every=400
    )
    info = trajectory.info
    assert info["refined_steps"] > 0 and info["n_refined_paths"] > 0
    assert info["retraction_failures"] >= info["refined_steps"]
    final = trajectory.states[-1]
    live = np.setdiff1d(np.arange(100), info["failed_paths"])
    defect = np.sqrt(np.sum(np.asarray(moments(final[live])) ** 2, axis=(-3, -2, -1)))
    assert np.all(defect <= 1e-10 * np.sum(final[live] ** 2, axis=(-3, -2, -1)))
    assert np.all(np.isfinite(final))


def test_refined_upstairs_rle_has_the_law_of_the_downstairs_chain():
    """E = 1/2 |X - Y|^2, Y = diag(3, 2), X0 = Y, d = 2, N = 3, beta = 1.5,
    t = 2, dt = 0.01, 400 paths per level: 15 upstairs paths need substeps on
    the way (38 steps); the singular values of phi(W(2)) and X(2) pass a
    two-sample KS test."""
    from scipy import stats

    loss = QuadraticLoss(np.diag([3.0, 2.0]))
    target = np.diag([3.0, 2.0])
    n_paths, beta = 400, 1.5
    up = simulate_rle(
        loss,
        np.broadcast_to(center(target, 3), (n_paths, 3, 2, 2)),
        3,
        beta,
        2.0,
        200,
        level="upstairs",
        seed=202,
        record_every=200,
    )
    down = simulate_rle(
        loss, np.broadcast_to(target, (n_paths, 2, 2)), 3, beta, 2.0, 200, seed=101
    )
    assert up.info["refined_steps"] > 0 and not up.info["failed_paths"]
    s_up = np.linalg.svd(end_to_end(up.states[-1]), compute_uv=False)
    s_down = np.linalg.svd(down, compute_uv=False)
    p_values = [stats.ks_2samp(s_up[:, i], s_down[:, i]).pvalue for i in range(2)]
    assert min(p_values) > 0.01, p_values


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_report_ks_level_keeps_power_against_a_wrong_temperature(seed):
    """Report 5(d) tests at the Bonferroni-corrected level KS_LEVEL: with the
    report's 400 paths, the downstairs chain at beta = 4 is accepted against the
    Gibbs law at beta = 4 (the theorem's stationary law), and the chain at
    beta = 2 (a factor-2 error in the noise) is rejected at that level."""
    from scipy import stats

    from geomstats_dln.dynamics import gibbs_singular_values
    from geomstats_dln.report.thermodynamics_section import (
        KS_FAMILY_LEVEL,
        KS_LEVEL,
        KS_SEEDS,
        KS_TESTS_PER_REPORT,
    )

    assert KS_LEVEL == pytest.approx(KS_FAMILY_LEVEL / (KS_TESTS_PER_REPORT * KS_SEEDS))
    target = np.diag([3.0, 2.0])
    loss = QuadraticLoss(target)
    _, sigma2, weights = gibbs_singular_values((3.0, 2.0), 3, 4.0)
    order = np.argsort(sigma2)

    def gibbs_cdf(x):
        return np.interp(x, sigma2[order], np.cumsum(weights[order]), 0.0, 1.0)

    p_values = {}
    for beta in (4.0, 2.0):
        chain = simulate_rle(
            loss, np.broadcast_to(target, (400, 2, 2)), 3, beta, 2.0, 200, seed=seed
        )
        s2 = np.linalg.svd(chain, compute_uv=False)[:, 1]
        p_values[beta] = stats.kstest(s2, gibbs_cdf).pvalue
    assert p_values[4.0] > KS_LEVEL
    assert p_values[2.0] < KS_LEVEL
