"""The ``geomstats_dln.dynamics`` part of the complex sweep's table
(``tests/test_complex_sweep.py``; issue 14): keys ``dynamics.<name>``."""

from __future__ import annotations

import math

import numpy as np

import geomstats_dln as dln
from tests._complex_sweep_base import (
    ALGEBRA,
    DEPTH,
    DIM,
    LAYER_VECTOR,
    LAYERS,
    OTHER,
    POINT,
    _adjoint,
    _close,
    _differential,
    _moments,
    _orbit_vector,
    _product,
    _re_inner,
    aware,
    refused,
)
from tests.test_complex_downstairs import _definition_operator


class _ComplexQuadraticLoss:
    """``E(X) = 1/2 |X - T|^2`` (``|A|^2 = Re tr(A^* A)``) on complex ``X``:
    ``E'(X) = X - T``, the gradient for ``Re tr`` (a user's loss; the package's
    losses are real)."""

    def __init__(self, target):
        self.target = target

    def value(self, point):
        difference = np.asarray(point) - self.target
        return 0.5 * _re_inner(difference, difference)

    def gradient(self, point):
        return np.asarray(point) - self.target


def dynamics_table():
    """``geomstats_dln.dynamics``: flows, observables and stochastic dynamics."""
    from geomstats_dln import dynamics as dy

    w, x = LAYERS, POINT
    loss = dln.QuadraticLoss(np.eye(DIM))
    model = dy.dln_model(2, 2)
    inputs, targets = np.ones((3, 2)), np.ones((3, 2))
    theta = np.ones(8) * (1 + 1j)
    complex_loss = _ComplexQuadraticLoss(OTHER)
    real_point = 2.0 * np.eye(DIM)

    def complex_model(parameters, data):
        return (1 + 1j) * model(parameters, data)

    def _velocity_definition(layers):
        """``-sum_k (above_k above_k^*) E'(X) (below_k^* below_k)``, E' = X - T."""
        gradient = _product(layers) - OTHER
        identity = np.eye(DIM)
        total = 0.0
        for k in range(len(layers)):
            above = _product(layers[k + 1 :]) if k + 1 < len(layers) else identity
            below = _product(layers[:k]) if k > 0 else identity
            total = total + above @ _adjoint(above) @ gradient @ _adjoint(below) @ below
        return -total

    def in_fiber_and_normal(result, offset):
        """``result`` in ``ker dphi`` and ``offset + result`` orthogonal to it
        (the gradient on the fiber F_X of a function with gradient ``offset``)."""
        _close(_differential(result, w), 0 * x)
        for a in (ALGEBRA, 1j * ALGEBRA[::-1]):
            assert abs(_re_inner(offset + result, _orbit_vector(a, w))) < 1e-8

    def kirwan_ness(result):
        # -grad 1/2 |G|^2 = -w_{2G}, G the Hermitian moments (balancedness Thm 10)
        _close(result, -_orbit_vector(2 * _moments(w), w))

    table = {
        "kirwan_ness_field": [aware(lambda: dy.kirwan_ness_field()(w), kirwan_ness)],
        "l2_regularizing_field": [
            aware(
                lambda: dy.l2_regularizing_field()(w),
                lambda r: in_fiber_and_normal(np.asarray(r), w),
            )
        ],
        "dyson_brownian_motion": [
            refused(
                lambda: dy.dyson_brownian_motion(np.array([0, 1j]), 2.0, 0.1, 2),
                "dyson_brownian_motion",
            )
        ],
        "dyson_eigenvalue_sde": [
            refused(
                lambda: dy.dyson_eigenvalue_sde(np.array([0, 1j]), 2.0, 0.1, 2),
                "dyson_eigenvalue_sde",
            )
        ],
        "sphere_brownian_motion": [
            refused(
                lambda: dy.sphere_brownian_motion(np.array([1, 1j, 0]), 0.1, 2),
                "sphere_brownian_motion",
            )
        ],
        # complex scalars: float() of a numpy complex drops the imaginary part
        "stopping_time": [
            refused(lambda: dy.stopping_time(1 + 1j, 0.1), "initial_cost"),
            refused(lambda: dy.stopping_time(1.0, np.complex128(0.1)), "tolerance"),
        ],
        "brownian_drift": [refused(lambda: dy.brownian_drift(x, 3), "point")],
        "brownian_step": [
            refused(lambda: dy.brownian_step(x, 3, 1.0, 0.01, rng=0), "point"),
            refused(
                lambda: dy.brownian_step(real_point, 3, 1.0, 0.01, noise=1j * x),
                "noise",
            ),
            refused(
                lambda: dy.brownian_step(real_point, 3, 1.0, np.complex128(0.01)),
                "dt",
            ),
        ],
        "noise_induced_drift": [
            refused(lambda: dy.noise_induced_drift(x, 3, 1.0), "point")
        ],
        "effective_rank": [refused(lambda: dy.effective_rank(x), "matrix")],
        "singular_values": [refused(lambda: dy.singular_values(x), "matrix")],
        "rle_drift": [
            refused(lambda: dy.rle_drift(loss, x, 3, 1.0), "point"),
            # a loss whose gradient is complex at a real point
            refused(
                lambda: dy.rle_drift(complex_loss, real_point, 3, 1.0),
                "loss.gradient",
            ),
        ],
        "rle_step": [
            refused(lambda: dy.rle_step(loss, x, 3, 1.0, 0.01, rng=0), "rle_step")
        ],
        "simulate_brownian": [
            refused(lambda: dy.simulate_brownian(x, 3, 1.0, 0.01, 2, seed=0), "point")
        ],
        "simulate_rle": [
            refused(
                lambda: dy.simulate_rle(loss, x, 3, 1.0, 0.01, 2, seed=0),
                "simulate_rle",
            )
        ],
        "regularized_training_split": [
            refused(
                lambda: dy.regularized_training_split(loss, 0.1, w),
                "regularized_training_split",
            )
        ],
        "regularized_training_field": [
            refused(
                lambda: dy.regularized_training_field(loss, 0.1)(w),
                "regularized_training_field",
            )
        ],
        "regularized_langevin": [
            refused(
                lambda: dy.regularized_langevin(loss, 0.1, 1.0, w, 0.01, 2, seed=0),
                "regularized_langevin",
            )
        ],
        "FreeEnergy.gradient": [
            refused(lambda: dy.free_energy(loss, 3, 1.0).gradient(x), "point")
        ],
        "FreeEnergy.value": [
            refused(lambda: dy.free_energy(loss, 3, 1.0).value(x), "FreeEnergy.value")
        ],
        "end_to_end_velocity": [
            # Thm 1b over C: X' = -sum_k above above^* E' below^* below, any W
            aware(
                lambda: dy.end_to_end_velocity(complex_loss, w),
                lambda r: (
                    _close(r, _velocity_definition(w)),
                    # balanced W (Thm 2): X' = -A_{N,X}(E'(X))
                    _close(r, -_definition_operator(x, x - OTHER, DEPTH)),
                ),
            ),
            aware(
                lambda: dy.end_to_end_velocity(complex_loss, LAYER_VECTOR),
                lambda r: _close(r, _velocity_definition(LAYER_VECTOR)),
            ),
            # the package's losses are real: their gradient refuses complex X
            refused(lambda: dy.end_to_end_velocity(loss, w), "gradient"),
        ],
        "layer_norms": [
            aware(
                lambda: dy.layer_norms(LAYER_VECTOR),
                lambda r: _close(
                    r,
                    np.sqrt([_re_inner(layer, layer) for layer in LAYER_VECTOR]),
                ),
            )
        ],
        "moment_norm": [
            aware(
                lambda: dy.moment_norm(LAYER_VECTOR),
                lambda r: _close(
                    r,
                    math.sqrt(
                        _re_inner(_moments(LAYER_VECTOR), _moments(LAYER_VECTOR))
                    ),
                ),
            ),
            # balanced W: G = 0
            aware(
                lambda: dy.moment_norm(w),
                lambda r: _close(r, math.sqrt(_re_inner(_moments(w), _moments(w)))),
            ),
        ],
        "gradient_descent": [
            refused(
                lambda: dy.gradient_descent(dy.kirwan_ness_field(), w, 0.01, 2),
                "gradient_descent",
            ),
            refused(
                lambda: dy.gradient_descent(
                    dy.VectorField(lambda y: -y), np.ones(2), np.complex128(0.1), 2
                ),
                "step_size",
            ),
        ],
        "integrate": [
            refused(
                lambda: dy.integrate(dy.kirwan_ness_field(), w, 0.01),
                "integrate_complex",
            ),
            refused(
                lambda: dy.integrate(
                    dy.VectorField(lambda y: -y), np.ones(2), 1.0, t_eval=[0.5j, 1]
                ),
                "t_eval",
            ),
            refused(
                lambda: dy.integrate(
                    dy.VectorField(lambda y: -y), np.ones(2), 1 + 0j, n_steps=2
                ),
                "t_final",
            ),
            # a field with complex velocities on a real state
            refused(
                lambda: dy.integrate(
                    dy.VectorField(lambda y: 1j * y), np.ones(2), 1.0, n_steps=2
                ),
                "velocity",
            ),
        ],
        "ParametricModel.unflatten": [
            refused(lambda: model.unflatten(theta), "ParametricModel.unflatten"),
            refused(
                lambda: dy.relu_network_model([2, 2]).unflatten(theta[:6]),
                "ParametricModel.unflatten",
            ),
        ],
        "euclidean_gradient_field": [
            refused(
                lambda: dy.euclidean_gradient_field(complex_loss)(w),
                "euclidean_gradient_field",
            )
        ],
        "balanced_gradient_field": [
            refused(
                lambda: dy.balanced_gradient_field(complex_loss)(w),
                "balanced_gradient_field",
            )
        ],
        "riemannian_gradient_field": [
            refused(
                lambda: dy.riemannian_gradient_field(complex_loss, 3)(x),
                "riemannian_gradient_field",
            )
        ],
        "free_energy_gradient_field": [
            refused(
                lambda: dy.free_energy_gradient_field(complex_loss, 3, 1.0)(x),
                "free_energy_gradient_field",
            )
        ],
        "gibbs_singular_values": [
            refused(
                lambda: dy.gibbs_singular_values(np.array([1.0, 0.5j]), 2, 1.0),
                "gibbs_singular_values",
            ),
            refused(
                lambda: dy.gibbs_singular_values([1.0, 0.5], 2, np.complex128(1.0)),
                "beta",
            ),
        ],
        "adapted_gradient_descent": [
            refused(
                lambda: dy.adapted_gradient_descent(
                    model, theta, inputs, targets, 0.01, 2
                ),
                "adapted_gradient_descent",
            ),
            refused(
                lambda: dy.adapted_gradient_descent(
                    model, theta.real, inputs, 1j * targets, 0.01, 2
                ),
                "targets",
            ),
        ],
        "adapted_descent": [
            refused(
                lambda: dy.adapted_descent(model, theta, inputs, targets, t_final=0.01),
                "adapted_descent",
            ),
            refused(
                lambda: dy.adapted_descent(
                    model, theta.real, inputs, targets, t_final=np.complex128(0.01)
                ),
                "t_final",
            ),
        ],
        "adapted_gradient_field": [
            refused(
                lambda: dy.adapted_gradient_field(model, 1j * inputs, targets)(
                    np.ones(8)
                ),
                "adapted_gradient_field",
            ),
            # a model with complex outputs on real parameters
            refused(
                lambda: dy.adapted_gradient_field(complex_model, inputs, targets)(
                    np.ones(8)
                ),
                "outputs",
            ),
        ],
        "standard_gradient_field": [
            refused(
                lambda: dy.standard_gradient_field(model, 1j * inputs, targets)(
                    np.ones(8)
                ),
                "standard_gradient_field",
            ),
            refused(
                lambda: dy.standard_gradient_field(model, inputs, targets)(theta),
                "theta",
            ),
        ],
        "FreeEnergy.riemannian_gradient": [
            refused(
                lambda: dy.free_energy(loss, 3, 1.0).riemannian_gradient(x), "point"
            )
        ],
        "FreeEnergy.entropy": [
            aware(
                lambda: dy.free_energy(loss, 3, 1.0).entropy(x),
                lambda r: _close(r, dln.entropy(x, 3)),
            )
        ],
        "EntryCoordinatesDLNMetric.cometric_matrix": [
            refused(
                lambda: dy.entry_coordinates_space(3).metric.cometric_matrix(
                    np.ravel(x)
                ),
                "EntryCoordinatesDLNMetric.cometric_matrix",
            )
        ],
        "EntryCoordinatesDLNMetric.metric_matrix": [
            refused(
                lambda: dy.entry_coordinates_space(3).metric.metric_matrix(np.ravel(x)),
                "EntryCoordinatesDLNMetric.metric_matrix",
            )
        ],
    }
    return {f"dynamics.{name}": outcomes for name, outcomes in table.items()}
