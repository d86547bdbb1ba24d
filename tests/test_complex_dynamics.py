"""The dynamics observables and the end-to-end velocity over F = C (issue 14).

``layer_norms``, ``moment_norm`` and ``end_to_end_velocity`` take complex
parameters by their dtype (balancedness paper §1.1, Thm 1 over C). Checked here
against computations written from the definitions with conjugate transposes and
``|A|^2 = Re tr(A^* A)``: loops over the layers, the gradient of
``L(W) = E(phi(W))`` by central differences along the real directions ``E_ij``
and ``i E_ij`` of every entry (``C^n = R^{2n}``), the time derivative of
``phi(W(t))`` along the complex upstairs flow integrated by
``integrate_complex``, and the real case embedded in the complex one. The flows
that take a loss stay real: their refusals are asserted in
``tests/test_complex_sweep.py``.
"""

import numpy as np
import pytest

from geomstats_dln import integrate_complex
from geomstats_dln.dynamics import (
    VectorField,
    end_to_end_velocity,
    layer_norms,
    moment_norm,
)
from geomstats_dln.parameters import end_to_end, lifted_gradient

DEPTH, DIM = 3, 3
STEP = 1e-6


def complex_gaussian(rng, *shape):
    return rng.normal(size=shape) + 1j * rng.normal(size=shape)


def adjoint(matrix):
    return np.conj(np.swapaxes(matrix, -1, -2))


def re_inner(a, b):
    """``Re tr(A^* B)`` summed over all entries, written out."""
    return float(np.sum(np.real(a) * np.real(b) + np.imag(a) * np.imag(b)))


def product(layers):
    """``W_N ... W_1``, a loop (the identity for no layers)."""
    matrix = np.eye(DIM, dtype=complex)
    for layer in layers:
        matrix = layer @ matrix
    return matrix


def hermitian_moments(layers):
    """``G_k = W_k W_k^* - W_{k+1}^* W_{k+1}``."""
    return [
        layers[k] @ adjoint(layers[k]) - adjoint(layers[k + 1]) @ layers[k + 1]
        for k in range(len(layers) - 1)
    ]


class ComplexQuadratic:
    """``E(X) = 1/2 |X - T|^2`` on complex ``X``; ``E'(X) = X - T`` for Re tr."""

    def __init__(self, target):
        self.target = target

    def value(self, point):
        difference = np.asarray(point) - self.target
        return 0.5 * re_inner(difference, difference)

    def gradient(self, point):
        return np.asarray(point) - self.target


def numerical_gradient(function, point):
    """The gradient for ``Re tr`` of a real ``function`` of complex ``point``:
    central differences along ``E_ij`` and ``i E_ij``."""
    gradient = np.zeros(point.shape, dtype=complex)
    for unit in (1.0, 1j):
        for index in np.ndindex(point.shape):
            shift = np.zeros(point.shape, dtype=complex)
            shift[index] = unit * STEP
            slope = (function(point + shift) - function(point - shift)) / (2 * STEP)
            gradient[index] += unit * slope
    return gradient


@pytest.fixture
def rng():
    return np.random.default_rng(14)


def test_layer_norms_and_moment_norm_are_the_definitions(rng):
    layers = complex_gaussian(rng, 2, DEPTH, DIM, DIM)  # a batch of two networks
    norms = layer_norms(layers)
    moment = moment_norm(layers)
    assert norms.shape == (2, DEPTH) and moment.shape == (2,)
    for batch in range(2):
        expected = [np.sqrt(re_inner(w, w)) for w in layers[batch]]
        np.testing.assert_allclose(norms[batch], expected, rtol=1e-13)
        gram = hermitian_moments(layers[batch])
        np.testing.assert_allclose(
            moment[batch], np.sqrt(sum(re_inner(g, g) for g in gram)), rtol=1e-13
        )
    # the imaginary parts count: the complex norms exceed those of the real parts
    assert np.all(layer_norms(layers) > layer_norms(layers.real))


def test_real_layers_as_complex_arrays_give_the_real_answers(rng):
    layers = rng.normal(size=(DEPTH, DIM, DIM))
    as_complex = layers.astype(complex)
    np.testing.assert_allclose(layer_norms(as_complex), layer_norms(layers), rtol=1e-14)
    np.testing.assert_allclose(moment_norm(as_complex), moment_norm(layers), rtol=1e-14)
    loss = ComplexQuadratic(rng.normal(size=(DIM, DIM)))
    np.testing.assert_allclose(
        end_to_end_velocity(loss, as_complex),
        end_to_end_velocity(loss, layers),
        rtol=1e-13,
        atol=1e-13,
    )
    assert np.isrealobj(layer_norms(layers)) and np.isrealobj(moment_norm(layers))


def test_end_to_end_velocity_is_dphi_of_the_numerical_gradient(rng):
    """``X' = dphi_W(-grad L(W))`` with ``grad L`` of ``L = E o phi`` by central
    differences (Re tr), and the closed form of Thm 1b with ``^*``."""
    layers = 0.7 * complex_gaussian(rng, DEPTH, DIM, DIM)  # not balanced
    loss = ComplexQuadratic(complex_gaussian(rng, DIM, DIM))
    velocity = end_to_end_velocity(loss, layers)

    gradient = numerical_gradient(lambda w: loss.value(product(w)), layers)
    moved = (product(layers - STEP * gradient) - product(layers + STEP * gradient)) / (
        2 * STEP
    )
    np.testing.assert_allclose(velocity, moved, rtol=1e-6, atol=1e-6)

    derivative = loss.gradient(product(layers))
    closed_form = -sum(
        product(layers[k + 1 :])
        @ adjoint(product(layers[k + 1 :]))
        @ derivative
        @ adjoint(product(layers[:k]))
        @ product(layers[:k])
        for k in range(DEPTH)
    )
    np.testing.assert_allclose(velocity, closed_form, rtol=1e-12)
    # the conjugations matter: plain transposes give another matrix
    transposed = -sum(
        product(layers[k + 1 :])
        @ product(layers[k + 1 :]).T
        @ derivative
        @ product(layers[:k]).T
        @ product(layers[:k])
        for k in range(DEPTH)
    )
    assert np.abs(transposed - velocity).max() > 0.1 * np.abs(velocity).max()


def test_complex_upstairs_flow_conserves_moments_and_moves_x_at_the_velocity(rng):
    """Thm 1a/1b over C along ``W' = -grad L(W)`` integrated as real and
    imaginary parts: ``|G|`` is constant and ``d/dt phi(W(t))`` (central
    differences of the recorded end-to-end matrices) is ``end_to_end_velocity``."""
    layers = 0.6 * complex_gaussian(rng, DEPTH, DIM, DIM)
    loss = ComplexQuadratic(complex_gaussian(rng, DIM, DIM))

    def minus_gradient(w):
        return -np.asarray(lifted_gradient(loss.gradient(end_to_end(w)), w))

    step = 1e-4  # central differences: error 6e-7 here, falling as step^2
    times = np.array([0.2 - step, 0.2, 0.2 + step, 0.5])
    trajectory = integrate_complex(
        VectorField(minus_gradient, {"moment_norm": moment_norm}),
        layers,
        0.5,
        rtol=1e-12,
        t_eval=times,
    )
    start = np.sqrt(sum(re_inner(g, g) for g in hermitian_moments(layers)))
    assert start > 0.1  # an unbalanced start: the conservation is not trivial
    np.testing.assert_allclose(trajectory["moment_norm"], start, rtol=1e-8)

    ends = np.array([product(w) for w in trajectory.states])
    rate = (ends[2] - ends[0]) / (2 * step)
    velocity = end_to_end_velocity(loss, trajectory.states[1])
    np.testing.assert_allclose(velocity, rate, rtol=1e-5, atol=1e-5)
    # the loss decreases along the flow
    assert loss.value(ends[-1]) < loss.value(product(layers))
