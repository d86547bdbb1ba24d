"""Tests of :mod:`geomstats_dln.losses` (``docs/mathematics.md`` §1, §8, §9).

Values are checked against references written here with plain loops over
entries, samples and measurements (``autograd.numpy``, so that ``autograd.grad``
of a reference gives an independent gradient); gradients against that autograd
gradient and against central finite differences.

Run under both ``GEOMSTATS_BACKEND=numpy`` and ``GEOMSTATS_BACKEND=autograd``.
"""

from __future__ import annotations

import re

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import geomstats.backend as gs

from geomstats_dln.losses import (
    Loss,
    MatrixCompletionLoss,
    MatrixSensingLoss,
    QuadraticLoss,
    RegressionLoss,
    completion_problem,
    low_rank_matrix,
    random_mask,
    sensing_problem,
    two_by_two_completion,
)

AUTOGRAD = gs.__name__.endswith("autograd")
SHAPES = [(3, 3), (2, 4), (4, 2)]


# ------------------------------------------------------ independent references
def reference_quadratic(point, target):
    total = 0.0
    for i in range(target.shape[0]):
        for j in range(target.shape[1]):
            total = total + (point[i, j] - target[i, j]) ** 2
    return 0.5 * total


def reference_regression(point, inputs, outputs):
    n_samples = inputs.shape[1]
    total = 0.0
    for k in range(n_samples):
        residual = anp.dot(point, inputs[:, k]) - outputs[:, k]
        total = total + anp.sum(residual**2)
    return total / (2 * n_samples)


def reference_completion(point, mask, observed):
    total = 0.0
    for i in range(mask.shape[0]):
        for j in range(mask.shape[1]):
            if mask[i, j]:
                total = total + (point[i, j] - observed[i, j]) ** 2
    return 0.5 * total


def reference_sensing(point, measurements, observed):
    total = 0.0
    for a_l, y_l in zip(measurements, observed, strict=True):
        total = total + (anp.sum(a_l * point) - y_l) ** 2
    return 0.5 * total


def _case(kind, shape, rng):
    """``(loss, reference)``: a random loss of ``kind`` and its reference E(X)."""
    n, m = shape
    if kind == "quadratic":
        target = rng.normal(size=shape)
        return QuadraticLoss(target), lambda x: reference_quadratic(x, target)
    if kind == "regression":
        inputs, outputs = rng.normal(size=(m, 7)), rng.normal(size=(n, 7))
        return RegressionLoss(inputs, outputs), lambda x: reference_regression(
            x, inputs, outputs
        )
    if kind == "completion":
        mask = rng.random(shape) < 0.5
        observed = np.where(mask, rng.normal(size=shape), np.nan)
        return MatrixCompletionLoss(mask, observed), lambda x: reference_completion(
            x, mask, observed
        )
    measurements, observed = rng.normal(size=(5, n, m)), rng.normal(size=5)
    return MatrixSensingLoss(measurements, observed), lambda x: reference_sensing(
        x, measurements, observed
    )


KINDS = ["quadratic", "regression", "completion", "sensing"]


def finite_difference_gradient(function, point, step=1e-4):
    gradient = np.zeros_like(point)
    for index in np.ndindex(point.shape):
        direction = np.zeros_like(point)
        direction[index] = step
        gradient[index] = (
            function(point + direction) - function(point - direction)
        ) / (2 * step)
    return gradient


# ------------------------------------------------------ values and gradients
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", KINDS)
def test_value_and_gradient_match_references(kind, shape):
    rng = np.random.default_rng(sum(map(ord, kind)) + 10 * shape[0] + shape[1])
    loss, reference = _case(kind, shape, rng)
    assert isinstance(loss, Loss) and loss.shape == shape
    point = rng.normal(size=shape)
    value = float(loss.value(point))
    np.testing.assert_allclose(value, reference(point), rtol=1e-12)
    assert float(loss(point)) == value
    gradient = np.asarray(loss.gradient(point))
    assert gradient.shape == shape
    np.testing.assert_allclose(
        gradient, autograd.grad(reference)(point), rtol=1e-10, atol=1e-12
    )
    # E is quadratic: central differences are exact up to rounding.
    np.testing.assert_allclose(
        gradient,
        finite_difference_gradient(lambda x: float(loss.value(x)), point),
        atol=1e-8,
    )


@pytest.mark.skipif(not AUTOGRAD, reason="needs GEOMSTATS_BACKEND=autograd")
@pytest.mark.parametrize("kind", KINDS)
def test_value_is_differentiable_by_autograd(kind):
    rng = np.random.default_rng(1)
    loss, _ = _case(kind, (3, 2), rng)
    point = rng.normal(size=(2, 3, 2))
    gradient = autograd.grad(lambda x: anp.sum(loss.value(x)))(point)
    np.testing.assert_allclose(gradient, loss.gradient(point), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", KINDS)
def test_batched_equals_per_item_loop(kind):
    rng = np.random.default_rng(2)
    loss, reference = _case(kind, (3, 4), rng)
    points = rng.normal(size=(2, 3, 3, 4))
    values, gradients = (
        np.asarray(loss.value(points)),
        np.asarray(loss.gradient(points)),
    )
    assert values.shape == (2, 3) and gradients.shape == points.shape
    for index in np.ndindex(2, 3):
        np.testing.assert_allclose(values[index], loss.value(points[index]), rtol=1e-14)
        np.testing.assert_allclose(values[index], reference(points[index]), rtol=1e-12)
        np.testing.assert_allclose(
            gradients[index], loss.gradient(points[index]), rtol=1e-14
        )


def test_completion_is_sensing_with_indicator_measurements():
    rng = np.random.default_rng(3)
    shape = (3, 5)
    mask = rng.random(shape) < 0.4
    observed = rng.normal(size=shape)
    rows, cols = np.nonzero(mask)
    indicators = np.zeros((rows.size, *shape))
    indicators[np.arange(rows.size), rows, cols] = 1.0
    completion = MatrixCompletionLoss(mask, observed)
    sensing = MatrixSensingLoss(indicators, observed[rows, cols])
    points = rng.normal(size=(4, *shape))
    np.testing.assert_allclose(completion.value(points), sensing.value(points))
    np.testing.assert_allclose(completion.gradient(points), sensing.gradient(points))


def test_completion_ignores_unobserved_entries():
    rng = np.random.default_rng(4)
    mask = rng.random((4, 4)) < 0.5
    observed = rng.normal(size=(4, 4))
    changed = np.where(mask, observed, rng.normal(size=(4, 4)))
    hidden = np.where(mask, observed, np.nan)
    point = rng.normal(size=(4, 4))
    losses = [MatrixCompletionLoss(mask, m) for m in (observed, changed, hidden)]
    for loss in losses[1:]:
        np.testing.assert_allclose(loss.value(point), losses[0].value(point))
        np.testing.assert_allclose(loss.gradient(point), losses[0].gradient(point))
    assert np.all(np.isfinite(losses[2].gradient(point)))
    # 0/1 numbers are a valid mask
    integer = MatrixCompletionLoss(mask.astype(int), observed)
    np.testing.assert_allclose(integer.value(point), losses[0].value(point))


# ------------------------------------------------------ minimizers
def test_quadratic_minimizer_is_the_stationary_zero():
    target = np.random.default_rng(5).normal(size=(2, 3))
    loss = QuadraticLoss(target)
    np.testing.assert_array_equal(loss.minimizer, target)
    assert float(loss.value(loss.minimizer)) == 0.0
    np.testing.assert_array_equal(loss.gradient(loss.minimizer), 0.0)


@pytest.mark.parametrize("n_samples", [2, 10])  # underdetermined and overdetermined
def test_regression_minimizer_is_lstsq_and_stationary(n_samples):
    rng = np.random.default_rng(n_samples)
    inputs, outputs = rng.normal(size=(4, n_samples)), rng.normal(size=(3, n_samples))
    loss = RegressionLoss(inputs, outputs)
    minimizer = np.asarray(loss.minimizer)
    # reference: solve min |A x - b| row by row, x = (row of X)^T
    expected = np.stack(
        [np.linalg.lstsq(inputs.T, row, rcond=None)[0] for row in outputs]
    )
    np.testing.assert_allclose(minimizer, expected, atol=1e-12)
    np.testing.assert_allclose(loss.gradient(minimizer), 0.0, atol=1e-12)
    perturbed = minimizer + 1e-3 * rng.normal(size=minimizer.shape)
    assert float(loss.value(perturbed)) >= float(loss.value(minimizer))


def test_problem_ground_truths_are_zeros_of_their_losses():
    loss, truth = completion_problem(6, 5, rank=2, fraction=0.5, seed=0)
    assert float(loss.value(truth)) == 0.0
    np.testing.assert_array_equal(loss.gradient(truth), 0.0)
    loss, truth = sensing_problem(5, 4, rank=2, seed=0)
    np.testing.assert_allclose(loss.value(truth), 0.0, atol=1e-24)
    np.testing.assert_allclose(loss.gradient(truth), 0.0, atol=1e-12)
    assert float(loss.value(truth + 0.1)) > 0.0


# ------------------------------------------------------ generators
@pytest.mark.parametrize(("n", "m", "rank"), [(5, 5, 1), (6, 4, 3), (3, 7, 3)])
def test_low_rank_matrix_rank_and_norm(n, m, rank):
    matrix = np.asarray(low_rank_matrix(n, m, rank=rank, seed=0))
    assert matrix.shape == (n, m)
    assert np.linalg.matrix_rank(matrix) == rank
    np.testing.assert_allclose(np.linalg.norm(matrix), np.sqrt(n * m), rtol=1e-12)
    assert low_rank_matrix(4, seed=0).shape == (4, 4)


def test_generators_are_reproducible_and_depend_on_the_seed():
    same = [np.asarray(low_rank_matrix(4, 3, rank=2, seed=7)) for _ in range(2)]
    other = np.asarray(low_rank_matrix(4, 3, rank=2, seed=8))
    np.testing.assert_array_equal(same[0], same[1])
    assert not np.allclose(same[0], other)
    masks = [np.asarray(random_mask((6, 6), 0.5, seed=s)) for s in (1, 1, 2)]
    np.testing.assert_array_equal(masks[0], masks[1])
    assert not np.array_equal(masks[0], masks[2])
    problems = [completion_problem(5, rank=2, seed=s) for s in (3, 3, 4)]
    np.testing.assert_array_equal(problems[0][1], problems[1][1])
    np.testing.assert_array_equal(problems[0][0].mask, problems[1][0].mask)
    assert not np.allclose(problems[0][1], problems[2][1])
    sensing = [sensing_problem(3, 4, seed=s) for s in (5, 5, 6)]
    np.testing.assert_array_equal(
        sensing[0][0].measurements, sensing[1][0].measurements
    )
    np.testing.assert_array_equal(sensing[0][0].observed, sensing[1][0].observed)
    assert not np.allclose(sensing[0][0].observed, sensing[2][0].observed)


@pytest.mark.parametrize(
    ("shape", "fraction"), [((5, 4), 0.3), ((3, 3), 0.3), ((7, 3), 0.5), ((2, 2), 1.0)]
)
def test_random_mask_count(shape, fraction):
    mask = np.asarray(random_mask(shape, fraction, seed=0))
    assert mask.dtype == bool and mask.shape == shape
    assert np.sum(mask) == round(fraction * shape[0] * shape[1])


def test_completion_problem_observes_the_ground_truth_on_the_mask():
    loss, truth = completion_problem(8, 6, rank=2, fraction=0.25, seed=1)
    mask = np.asarray(loss.mask)
    assert loss.shape == (8, 6) and loss.n_observed == round(0.25 * 48) == mask.sum()
    assert np.linalg.matrix_rank(np.asarray(truth)) == 2
    np.testing.assert_array_equal(
        np.asarray(loss.observed)[mask], np.asarray(truth)[mask]
    )
    # the unobserved entries of the truth are not stored in the loss
    np.testing.assert_array_equal(np.asarray(loss.observed)[~mask], 0.0)


def test_sensing_problem_measurements():
    n, m, rank = 4, 5, 2
    loss, truth = sensing_problem(n, m, rank=rank, seed=2)
    assert loss.shape == (n, m) and loss.n_measurements == 3 * rank * (n + m)
    measurements = np.asarray(loss.measurements)
    # y_l = <A_l, Y> with the Frobenius product, computed by loops
    for a_l, y_l in zip(measurements, np.asarray(loss.observed), strict=True):
        expected = sum(a_l[i, j] * truth[i, j] for i in range(n) for j in range(m))
        np.testing.assert_allclose(y_l, expected, rtol=1e-10, atol=1e-14)
    # documented scaling: entries N(0, 1/(n m)), so E |A_l|_F^2 = 1
    big, _ = sensing_problem(10, 10, rank=1, n_measurements=400, seed=3)
    squared_norms = np.sum(np.asarray(big.measurements) ** 2, axis=(1, 2))
    np.testing.assert_allclose(np.mean(squared_norms), 1.0, rtol=0.02)
    assert sensing_problem(3, rank=1, n_measurements=4, seed=0)[0].n_measurements == 4


# ------------------------------------------------------ MATH §9, 2 x 2
def test_two_by_two_completion_formula_and_zero_set():
    loss = two_by_two_completion()
    rng = np.random.default_rng(9)
    a, b = rng.normal(size=2)
    assert float(loss.value(np.array([[1.0, a], [b, 1.0]]))) == 0.0
    # E = 1/2 ((X_11 - 1)^2 + (X_22 - 1)^2), E' = diag(X_11 - 1, X_22 - 1)
    points = rng.normal(size=(5, 2, 2))
    expected = 0.5 * ((points[:, 0, 0] - 1) ** 2 + (points[:, 1, 1] - 1) ** 2)
    np.testing.assert_allclose(loss.value(points), expected, rtol=1e-14)
    gradients = np.asarray(loss.gradient(points))
    np.testing.assert_allclose(gradients[:, 0, 0], points[:, 0, 0] - 1, rtol=1e-14)
    np.testing.assert_allclose(gradients[:, 1, 1], points[:, 1, 1] - 1, rtol=1e-14)
    np.testing.assert_array_equal(gradients[:, 0, 1], 0.0)
    np.testing.assert_array_equal(gradients[:, 1, 0], 0.0)


# ------------------------------------------------------ bad input
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("bad", [(3, 3), (4, 3), (2, 3, 3), (4,)])
def test_wrong_point_shape_names_both_shapes(kind, bad):
    loss, _ = _case(kind, (3, 4), np.random.default_rng(0))
    pattern = rf"\[\.\.\., 3, 4\].*{re.escape(str(bad))}"
    for method in (loss.value, loss.gradient, loss):
        with pytest.raises(ValueError, match=pattern):
            method(np.zeros(bad))


def test_constructors_reject_bad_input():
    with pytest.raises(ValueError, match=r"target.*\(3,\)"):
        QuadraticLoss(np.zeros(3))
    with pytest.raises(ValueError, match="finite"):
        QuadraticLoss([[0.0, np.inf]])
    with pytest.raises(TypeError, match="numeric"):
        QuadraticLoss([["a", "b"]])
    with pytest.raises(ValueError, match=r"\(4, 5\) and \(3, 6\)"):
        RegressionLoss(np.zeros((4, 5)), np.zeros((3, 6)))
    with pytest.raises(ValueError, match="finite"):
        RegressionLoss(np.zeros((4, 5)), np.full((3, 5), np.nan))
    with pytest.raises(TypeError, match="mask"):
        MatrixCompletionLoss(np.full((2, 2), 0.5), np.eye(2))
    with pytest.raises(TypeError, match="mask"):
        MatrixCompletionLoss(np.array([["x", "y"]]), np.eye(2))
    with pytest.raises(ValueError, match=r"\(2, 2\) and \(2, 3\)"):
        MatrixCompletionLoss(np.eye(2, dtype=bool), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"mask.*\(4,\)"):
        MatrixCompletionLoss(np.ones(4, dtype=bool), np.zeros(4))
    with pytest.raises(ValueError, match="finite on the masked"):
        MatrixCompletionLoss(np.eye(2, dtype=bool), [[np.nan, 0.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match=r"measurements.*\(4, 2\)"):
        MatrixSensingLoss(np.zeros((4, 2)), np.zeros(4))
    with pytest.raises(ValueError, match=r"\(4, 2, 3\).*\(4,\).*\(5,\)"):
        MatrixSensingLoss(np.zeros((4, 2, 3)), np.zeros(5))
    with pytest.raises(ValueError, match="rectangular"):
        MatrixSensingLoss([[[0.0, 1.0]], [[0.0]]], np.zeros(2))
    with pytest.raises(ValueError, match="finite"):
        MatrixSensingLoss(np.zeros((4, 2, 3)), [0.0, 0.0, np.inf, 0.0])


def test_generators_reject_bad_input():
    for fraction in (0.0, -0.1, 1.5):
        with pytest.raises(ValueError, match=r"\(0, 1\]"):
            random_mask((3, 3), fraction)
    with pytest.raises(ValueError, match="no entry"):
        random_mask((3, 3), 0.01)
    with pytest.raises(ValueError, match=r"\[1, 3\]"):
        low_rank_matrix(3, 5, rank=4)
    with pytest.raises(ValueError, match=r"\[1, 3\]"):
        low_rank_matrix(3, rank=0)
    with pytest.raises(ValueError, match="positive"):
        sensing_problem(3, n_measurements=0)
