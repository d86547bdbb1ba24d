"""Part (b) of the report's low-rank section: the identifiability margin of the
sampling map, the redraw rule, the checks and their printed rows.

The margin is checked against the dense definition (the projector ``P_T`` of
the tangent space of the rank-r matrices and ``P_T P_Omega P_T``), its zero
against the rank of the coordinate map ``(A, B) -> U A^T + B V^T``, and the
effective-rank reference against the entropy formula written out here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from geomstats_dln.report._framework import Check
from geomstats_dln.report.low_rank_section import (
    COMPLETION_MIN_MARGIN,
    _guarded,
    completion_checks,
    completion_instance,
    identifiable_completion_instance,
    tangent_sampling_margin,
)


def _dense_margin(mask, truth, rank):
    """``sqrt(lambda_dim(P_T D_Omega P_T) / p)`` from the n^2 x n^2 projector
    ``P_T(Z) = U U^T Z + Z V V^T - U U^T Z V V^T``."""
    n, m = truth.shape
    left, _, right_t = np.linalg.svd(truth)
    pu = left[:, :rank] @ left[:, :rank].T
    pv = right_t[:rank].T @ right_t[:rank]
    # row-major vec: vec(A Z B) = kron(A, B^T) vec(Z)
    projector = np.kron(pu, np.eye(m)) + np.kron(np.eye(n), pv) - np.kron(pu, pv)
    operator = projector @ np.diag(mask.ravel().astype(float)) @ projector
    eigenvalues = np.sort(np.linalg.eigvalsh(operator))[::-1]
    dim = rank * (n + m - rank)
    p = mask.sum() / (n * m)
    return math.sqrt(max(eigenvalues[dim - 1], 0.0) / p)


def _coordinate_rank(mask, truth, rank):
    """Rank of ``P_Omega`` composed with ``(A, B) -> U A^T + B V^T``."""
    n, m = truth.shape
    left, _, right_t = np.linalg.svd(truth)
    u, v = left[:, :rank], right_t[:rank].T
    rows, cols = np.nonzero(mask)
    matrix = np.zeros((len(rows), (m + n) * rank))
    for k, (i, j) in enumerate(zip(rows, cols, strict=True)):
        matrix[k, j * rank : (j + 1) * rank] = u[i]
        matrix[k, (m + i) * rank : (m + i + 1) * rank] = v[j]
    return np.linalg.matrix_rank(matrix)


def _rank_two(n, m, values, seed):
    rng = np.random.default_rng(seed)
    u = np.linalg.qr(rng.normal(size=(n, 2)))[0]
    v = np.linalg.qr(rng.normal(size=(m, 2)))[0]
    return (u * values) @ v.T


@pytest.mark.parametrize("shape", [(8, 8), (9, 7)])
def test_margin_matches_the_dense_projector(shape):
    n, m = shape
    truth = _rank_two(n, m, [1.0, 0.4], seed=3)
    rng = np.random.default_rng(4)
    for count in (40, 55):
        mask = np.zeros(n * m, dtype=bool)
        mask[rng.choice(n * m, size=count, replace=False)] = True
        mask = mask.reshape(n, m)
        margin = tangent_sampling_margin(mask, truth, 2)
        expected = _dense_margin(mask, truth, 2)
        assert expected > 0.01  # a generic mask of this size is identifiable
        np.testing.assert_allclose(margin, expected, rtol=1e-8)


def test_full_mask_has_margin_one():
    """p = 1: P_T P_Omega P_T = P_T, every singular value on T_M M_r is 1."""
    truth = _rank_two(7, 6, [2.0, 0.5], seed=0)
    np.testing.assert_allclose(
        tangent_sampling_margin(np.ones((7, 6), bool), truth, 2), 1.0, rtol=1e-12
    )


def test_a_row_of_one_entry_is_not_identifiable():
    """A row with one observed entry (fewer than r = 2) leaves a direction of
    T_M M_2 unseen: the coordinate map loses rank, the margin is 0."""
    n = 8
    truth = _rank_two(n, n, [1.0, 0.6], seed=1)
    mask = np.ones((n, n), dtype=bool)
    mask[3] = False
    mask[3, 5] = True
    dim = 2 * (2 * n - 2)
    assert _coordinate_rank(mask, truth, 2) == dim - 1  # independent rank count
    assert tangent_sampling_margin(mask, truth, 2) < 1e-12
    mask[3, 0] = True  # two entries in the row: identifiable again, but
    # that row is seen through two entries only: a small margin, still refused
    assert _coordinate_rank(mask, truth, 2) == dim
    margin = tangent_sampling_margin(mask, truth, 2)
    np.testing.assert_allclose(margin, _dense_margin(mask, truth, 2), rtol=1e-8)
    assert 1e-3 < margin < COMPLETION_MIN_MARGIN


def test_identifiable_instance_redraws_a_mask_with_a_row_of_one_entry():
    """Seed 1, 200 of 30 x 30 (the quick report's low count): the first draw has
    a row or column with one entry; the rule redraws it, deterministically."""
    first_loss, first_truth = completion_instance(30, 2, 200, seed=1)
    first = np.asarray(first_loss.mask, dtype=bool)
    assert min(first.sum(0).min(), first.sum(1).min()) == 1
    assert tangent_sampling_margin(first, first_truth, 2) < 1e-12
    loss, truth, margin, draws = identifiable_completion_instance(30, 2, 200, seed=1)
    mask = np.asarray(loss.mask, dtype=bool)
    assert draws > 1
    assert mask.sum() == 200
    assert min(mask.sum(0).min(), mask.sum(1).min()) >= 2
    np.testing.assert_array_equal(truth, first_truth)
    assert margin >= COMPLETION_MIN_MARGIN
    np.testing.assert_allclose(margin, _dense_margin(mask, truth, 2), rtol=1e-8)
    again = identifiable_completion_instance(30, 2, 200, seed=1)
    np.testing.assert_array_equal(np.asarray(again[0].mask), mask)
    assert again[3] == draws
    observed = np.asarray(loss.observed)
    np.testing.assert_array_equal(observed[mask], truth[mask])


def test_identifiable_instance_keeps_an_accepted_first_draw():
    loss, truth = completion_instance(30, 2, 300, seed=1)
    margin = tangent_sampling_margin(loss.mask, truth, 2)
    assert margin >= COMPLETION_MIN_MARGIN
    out = identifiable_completion_instance(30, 2, 300, seed=1)
    assert out[3] == 1
    np.testing.assert_array_equal(np.asarray(out[0].mask), np.asarray(loss.mask))
    assert out[2] == margin


def test_identifiable_instance_refuses_bad_input_and_gives_up_with_a_reason():
    with pytest.raises(ValueError, match="min_margin"):
        identifiable_completion_instance(10, 2, 50, min_margin=1.5)
    with pytest.raises(ValueError, match="min_margin"):
        identifiable_completion_instance(10, 2, 50, min_margin=-0.1)
    with pytest.raises(ValueError, match="n_observed"):
        identifiable_completion_instance(10, 2, 101)
    with pytest.raises(TypeError, match="rank"):
        identifiable_completion_instance(10, True, 50)
    # 40 entries of 10 x 10 rank 2 (dim 36) never keep 0.9 of the expected norm
    with pytest.raises(RuntimeError, match="margin 0.9 in 5 draws"):
        identifiable_completion_instance(10, 2, 40, min_margin=0.9, max_draws=5)


def test_margin_refuses_bad_input():
    truth = _rank_two(5, 5, [1.0, 0.5], seed=0)
    with pytest.raises(ValueError, match="shape of truth"):
        tangent_sampling_margin(np.ones((5, 4), bool), truth, 2)
    with pytest.raises(ValueError, match="rank must be below"):
        tangent_sampling_margin(np.ones((5, 5), bool), truth, 5)
    with pytest.raises(ValueError, match="boolean or 0/1"):
        tangent_sampling_margin(np.full((5, 5), 2), truth, 2)
    with pytest.raises(ValueError, match="truth"):
        tangent_sampling_margin(np.ones((5, 5), bool), np.full((5, 5), np.nan), 2)


def _entropy_rank(values):
    p = np.asarray(values) / np.sum(values)
    return float(np.exp(-np.sum(p * np.log(p))))


def _result(truth_rank, deep_rank):
    """A completion result with recovering depths 3/4 and failing depth 2."""
    return {
        "counts": [200, 300],
        "errors": {2: [0.4, 0.13], 3: [0.01, 0.003], 4: [0.005, 0.0015]},
        "effective_ranks": {2: [3.5, 2.8], 3: [2.0, 1.8], 4: [1.9, deep_rank]},
        "nuclear": [0.35, 0.09],
        "truth_effective_rank": truth_rank,
    }


def test_effective_rank_is_checked_against_the_truths_own():
    """Seed 9 of the quick report: s_2 / s_1 = 0.31, truth effective rank 1.73,
    depth 4 reaches 1.77 while recovering the truth: a PASS (the reference r = 2
    made it a FAIL); a depth-4 rank of exactly r = 2 is off by 0.27: a FAIL."""
    truth = _rank_two(30, 30, [1.0, 0.31], seed=9)
    reference = _entropy_rank([1.0, 0.31])
    assert abs(reference - 1.73) < 0.01
    from geomstats_dln.dynamics import effective_rank

    np.testing.assert_allclose(effective_rank(truth), reference, rtol=1e-6)
    checks = completion_checks(_result(reference, 1.77), 300)
    by_name = {c.name.split(" at ")[0]: c for c in checks}
    rank_check = next(c for c in checks if "effective rank" in c.name)
    assert rank_check.passed
    np.testing.assert_allclose(rank_check.value, abs(1.77 - reference), rtol=1e-12)
    assert f"{reference:.3f}" in rank_check.name
    failing = next(
        c
        for c in completion_checks(_result(reference, 2.0), 300)
        if "effective rank" in c.name
    )
    assert not failing.passed
    assert by_name["(b) depth 3/4 recover from 300 entries (error)"].passed


def test_completion_checks_fail_when_depth_does_not_help():
    """The recovery checks can fail: depth 3/4 no better than depth 2 at the
    checked count (Arora et al.: deeper recovers where depth 2 does not)."""
    result = _result(1.9, 1.9)
    checks = completion_checks(result, 300)
    assert all(c.passed for c in checks)
    np.testing.assert_allclose(
        [c.value for c in checks], [0.0015, 0.0015 / 0.13, 0.0], rtol=1e-12, atol=0
    )
    result["errors"][3][1] = result["errors"][4][1] = 0.1
    checks = completion_checks(result, 300)
    verdicts = {c.name: c.passed for c in checks}
    assert not verdicts["(b) depth 3/4 recover from 300 entries (error)"]
    assert not verdicts["(b) depth 3/4 error / depth 2 error at 300 entries"]
    np.testing.assert_allclose(
        [c.value for c in checks[:2]], [0.1, 0.1 / 0.13], rtol=1e-12
    )
    # depth 3/4 recover but depth 2 does almost as well: no depth effect
    result["errors"][3][1] = result["errors"][4][1] = 0.003
    result["errors"][2][1] = 0.006
    checks = completion_checks(result, 300)
    assert checks[0].passed and not checks[1].passed
    with pytest.raises(ValueError, match="checked_count 250"):
        completion_checks(result, 250)


def test_parts_print_their_check_rows():
    def part(ctx):
        return "### (x) part", [Check("(x) good", 0.5, 1.0), Check("(x) bad", 2.0, 1.0)]

    def broken(ctx):
        raise ArithmeticError("no number")

    text, checks = _guarded("(x) part", part)(None)
    assert "| (x) good | 0.5 | 1 | PASS |" in text
    assert "| (x) bad | 2 | 1 | FAIL |" in text
    assert [c.passed for c in checks] == [True, False]
    text, checks = _guarded("(y) broken", broken)(None)
    assert "(y) broken: could not be computed (ArithmeticError: no number)" in text
    assert text.rstrip().endswith("| FAIL |")
    assert not checks[0].passed
