"""Property-based sweep of the public API with generated bad and edge inputs.

Every generated case must end in one of two outcome classes:

- a clear ``ValueError`` / ``TypeError`` (never an ``AttributeError``,
  ``IndexError``, ``LinAlgError``, a hang or a silent ``NaN``);
- a result, checked against an independent formula (the definition evaluated
  with plain numpy: products of layers, the SVD, the moment map).

Examples are few and deadlines off so that the module stays fast.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from geomstats_dln import clustering, interpolation, low_rank, statistics
from geomstats_dln.balanced import (
    balanced_frame,
    best_gauge,
    center,
    gauge_action,
    random_gauges,
    to_tangent,
    vertical_projection,
)
from geomstats_dln.connection import christoffel_contraction
from geomstats_dln.dynamics import effective_rank, simulate_rle
from geomstats_dln.fibers import (
    SchattenRegularizer,
    fiber_operator,
    fiber_projection,
    solve_fiber_operator,
)
from geomstats_dln.losses import completion_problem, low_rank_matrix
from geomstats_dln.networks import LinearNetwork, balanced_layers
from geomstats_dln.orbit_entropy import entropy, orthogonal_group_volume
from geomstats_dln.parameters import end_to_end, moments

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
CLEAR = (ValueError, TypeError)

finite = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False)
special = st.sampled_from([np.nan, np.inf, -np.inf])


def _matrices(dim):
    return hnp.arrays(np.float64, (dim, dim), elements=finite)


@st.composite
def poisoned(draw, shape):
    """A finite array of ``shape`` with one inf or NaN entry."""
    array = draw(hnp.arrays(np.float64, shape, elements=finite))
    index = draw(st.integers(0, array.size - 1))
    array.flat[index] = draw(special)
    return array


def _well_conditioned(matrix):
    s = np.linalg.svd(matrix, compute_uv=False)
    return s[-1] > 1e-2 * s[0] and s[0] < 1e3


MATRIX_FUNCTIONS = {
    "center": lambda x: center(x, 3),
    "entropy": lambda x: entropy(x, 3),
    "effective_rank": effective_rank,
    "simulate_rle": lambda x: simulate_rle(None, x, 3, 1.0, 0.1, 2, seed=0),
    # modules added after the first sweep
    "dln_metric": lambda x: statistics.dln_metric(x, 3),
    "whiten": lambda x: statistics.whiten(x, x, 3),
    "truncated_svd": lambda x: low_rank.truncated_svd(x, 1),
    "low_rank_frame": lambda x: low_rank.low_rank_frame(x, 1, 3),
    "christoffel_contraction": lambda x: christoffel_contraction(x, x, x, 3),
}
LAYER_FUNCTIONS = {
    "balanced_frame": balanced_frame,
    "to_tangent": lambda w: to_tangent(np.ones(w.shape), w),
    "vertical_projection": lambda w: vertical_projection(np.ones(w.shape), w),
    "best_gauge": lambda w: best_gauge(w, w),
    "schatten_gradient": lambda w: SchattenRegularizer(2.0).gradient(w),
    "fiber_projection": lambda w: fiber_projection(np.ones(w.shape), w),
    "solve_fiber_operator": lambda w: solve_fiber_operator(
        np.ones((w.shape[0] - 1,) + w.shape[1:]), w
    ),
}


# ---------------------------------------------------------- bad inputs: errors
@pytest.mark.parametrize("name", sorted(MATRIX_FUNCTIONS))
@SETTINGS
@given(data=st.data())
def test_matrix_entry_points_refuse_non_finite_input(name, data):
    dim = data.draw(st.integers(1, 3))
    bad = data.draw(poisoned((dim, dim)))
    with pytest.raises(ValueError, match="non-finite"):
        MATRIX_FUNCTIONS[name](bad)


@pytest.mark.parametrize("name", sorted(LAYER_FUNCTIONS))
@SETTINGS
@given(data=st.data())
def test_layer_entry_points_refuse_non_finite_input(name, data):
    depth, dim = data.draw(st.integers(2, 4)), data.draw(st.integers(1, 3))
    layers = center(np.diag(np.arange(dim, 0, -1) + 1.0), depth)
    index = data.draw(st.integers(0, layers.size - 1))
    layers.flat[index] = data.draw(special)
    with pytest.raises(ValueError, match="non-finite"):
        LAYER_FUNCTIONS[name](layers)


@pytest.mark.parametrize("name", sorted(MATRIX_FUNCTIONS))
@SETTINGS
@given(
    bad=st.one_of(
        st.just("text"),
        st.just([[1.0, 2.0], [3.0]]),
        st.just(np.array([[1.0 + 1j, 0.0], [0.0, 1.0]])),
        st.just(np.array([["a", "b"], ["c", "d"]])),
        st.just(np.zeros(3)),
    )
)
def test_matrix_entry_points_refuse_non_matrices(name, bad):
    if isinstance(bad, np.ndarray) and np.iscomplexobj(bad) and name in COMPLEX_AWARE:
        return  # checked against its definition below
    with pytest.raises(CLEAR):
        MATRIX_FUNCTIONS[name](bad)


# made complex-aware by the complex-DLN work (balancedness over C)
COMPLEX_AWARE = ("center", "entropy")


@SETTINGS
@given(
    real=hnp.arrays(float, (2, 2), elements=st.floats(-1.0, 1.0)),
    imaginary=hnp.arrays(float, (2, 2), elements=st.floats(-1.0, 1.0)),
)
def test_center_of_a_complex_matrix_is_a_complex_balanced_lift(real, imaginary):
    """center over C: phi(W) = X and the Hermitian moments G_k vanish."""
    matrix = 2.0 * np.eye(2) + real + 1j * imaginary
    if np.linalg.svd(matrix, compute_uv=False)[-1] < 1e-2:
        return  # near the rank-deficient set, outside the lift's domain
    lifted = center(matrix, 3)
    scale = np.max(np.abs(matrix))
    assert np.max(np.abs(end_to_end(lifted) - matrix)) <= 1e-13 * scale
    assert np.max(np.abs(moments(lifted))) <= 1e-13 * scale


NETWORKS = [
    LinearNetwork(balanced_layers(np.diag([2.0, 1.0]), [2, 2, 2, 2])),
    LinearNetwork(balanced_layers(np.array([[1.5, -0.2], [0.4, 0.8]]), [2, 2, 2, 2])),
]


@SETTINGS
@given(
    size=st.one_of(
        st.floats(0.1, 9.9).filter(lambda v: not float(v).is_integer()),
        st.integers(-5, 0),
        st.booleans(),
        st.just("3"),
        st.just(None),
    )
)
def test_sizes_must_be_positive_integers(size):
    distances = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 1.5], [2.0, 1.5, 0.0]])
    for call in (
        lambda: completion_problem(size, 3, seed=0),
        lambda: low_rank_matrix(3, 3, rank=size, seed=0),
        lambda: center(np.eye(2), size),
        lambda: random_gauges(size, 2),
        lambda: orthogonal_group_volume(size),
        lambda: low_rank.truncated_svd(np.diag([2.0, 1.0]), size),
        lambda: clustering.KMedoids(size).fit(distances),
        lambda: clustering.mds_embedding(distances, size),
        lambda: interpolation.interpolate(NETWORKS[0], NETWORKS[1], 3, size),
        lambda: christoffel_contraction(np.eye(2), np.eye(2), np.eye(2), size),
    ):
        with pytest.raises(CLEAR):
            call()


@SETTINGS
@given(
    seed=st.one_of(
        st.floats(0.5, 10.5).filter(lambda v: not float(v).is_integer()),
        st.text(min_size=1, max_size=3),
        st.integers(-100, -1),
    )
)
def test_seeds_of_the_wrong_type_or_sign_are_refused(seed):
    with pytest.raises(CLEAR, match="seed"):
        completion_problem(3, seed=seed)
    with pytest.raises(CLEAR, match="seed"):
        simulate_rle(None, np.eye(2), 3, 1.0, 0.1, 2, seed=seed)


@SETTINGS
@given(scale=st.floats(0.5, 3.0), shift=st.floats(0.01, 1.0))
def test_non_orthogonal_gauges_are_refused(scale, shift):
    gauges = random_gauges(3, 2)
    bad = scale * gauges + shift
    defect = np.abs(np.swapaxes(bad, -1, -2) @ bad - np.eye(2)).max()
    if defect <= 1e-8:
        return
    with pytest.raises(ValueError, match="orthogonal"):
        gauge_action(bad, center(np.diag([2.0, 1.0]), 3))


# ------------------------------------------- good and edge inputs: the formula
@SETTINGS
@given(matrix=_matrices(2) | _matrices(3), depth=st.integers(1, 6))
def test_center_is_a_balanced_lift(matrix, depth):
    if not _well_conditioned(matrix):
        with (
            pytest.raises(ValueError)
            if np.linalg.matrix_rank(matrix) < len(matrix)
            else _nothing()
        ):
            center(matrix, depth)
        return
    layers = center(matrix.tolist(), float(depth))  # lists and 3.0 accepted
    product = layers[0]
    for layer in layers[1:]:
        product = layer @ product  # the definition, W_N ... W_1
    np.testing.assert_allclose(product, matrix, atol=1e-10 * np.abs(matrix).max())
    if depth > 1:
        gram = np.asarray(moments(layers))
        assert np.abs(gram).max() <= 1e-10 * np.sum(layers**2)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *args):
        return False


@SETTINGS
@given(matrix=_matrices(3))
def test_effective_rank_matches_its_definition(matrix):
    s = np.linalg.svd(matrix, compute_uv=False)
    total = s.sum()
    if total == 0:
        assert effective_rank(matrix) == 0.0
        return
    p = s[s > 0] / total
    expected = math.exp(-np.sum(p * np.log(p)))
    assert effective_rank(matrix.tolist()) == pytest.approx(expected, rel=1e-12)


@SETTINGS
@given(
    layers=hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 5), st.just(2), st.just(2)),
        elements=finite,
    )
)
def test_end_to_end_and_moments_match_their_definitions(layers):
    product = np.eye(2)
    for layer in layers:
        product = layer @ product
    np.testing.assert_allclose(end_to_end(layers.tolist()), product, atol=1e-12)
    if len(layers) > 1:
        expected = np.stack(
            [
                layers[k] @ layers[k].T - layers[k + 1].T @ layers[k + 1]
                for k in range(len(layers) - 1)
            ]
        )
        np.testing.assert_allclose(moments(layers), expected, atol=1e-12)


@SETTINGS
@given(matrix=_matrices(2), depth=st.integers(2, 5), data=st.data())
def test_fiber_solve_and_projection_against_the_operator(matrix, depth, data):
    if not _well_conditioned(matrix):
        return
    layers = gauge_action(random_gauges(depth, 2), center(matrix, depth))
    rhs = data.draw(hnp.arrays(np.float64, (depth - 1, 2, 2), elements=finite))
    for solver in ("cg", "banded"):
        solution = solve_fiber_operator(rhs, layers, solver=solver)
        gap = np.linalg.norm(fiber_operator(solution, layers) - rhs)
        assert gap <= 1e-8 * max(np.linalg.norm(rhs), 1e-300)
    vector = data.draw(hnp.arrays(np.float64, layers.shape, elements=finite))
    projected = fiber_projection(vector, layers)
    # tangent to the fiber: the end-to-end differential kills it
    from geomstats_dln.parameters import differential

    image = differential(projected, layers)
    assert np.abs(image).max() <= 1e-8 * max(np.abs(vector).max(), 1.0)
