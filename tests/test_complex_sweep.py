"""Every public entry point called with complex input (issue 14).

The package holds over F = C where the theory does, selected by the dtype of the
input, and refuses complex input everywhere else. For each public function of
``geomstats_dln.__all__`` and each public method that the exported classes define
in this package (and the metrics' norms and distances), and the same for
``geomstats_dln.dynamics.__all__`` (keys ``dynamics.<name>``), and for the
public names that live only in a submodule (keys ``<module>.<name>``, listed by
``tests/_complex_sweep_submodules.py``), the table below says how to call it
with complex input and which of two outcomes is required:

- ``aware(check)``: it returns, and ``check(result)`` compares the result with an
  independent value (a definition evaluated densely, an identity of the
  definition, a closed form);
- ``refused(*names)``: it raises ``TypeError`` whose message names the dtype
  (``complex``) and the function or one of its arguments (``names``).

A public name missing from the table fails :func:`test_table_covers_the_public_api`,
so new entry points must be classified. The shared data, definitions and the
outcome records are in ``tests/_complex_sweep_base.py``, the
``geomstats_dln.dynamics`` part of the table in
``tests/_complex_sweep_dynamics.py``, the submodules' part in
``tests/_complex_sweep_submodules.py``. No entry is an expected failure. A
call that casts complex input silently fails either way: numpy's
``ComplexWarning`` is an error here, a refusal must raise, and an aware result
is checked.
"""

from __future__ import annotations

import inspect
import math
import warnings

import numpy as np
import pytest

from geomstats.geometry.hpd_matrices import HPDBuresWassersteinMetric, HPDMatrices
from geomstats.geometry.spd_matrices import SPDMatrices

import geomstats_dln as dln
from tests._complex_sweep_base import (
    ALGEBRA,
    DEPTH,
    DIM,
    HERMITIAN,
    HPD,
    LAYER_VECTOR,
    LAYERS,
    OTHER,
    POINT,
    VECTOR,
    Outcome,
    _a_coefficients,
    _adjoint,
    _close,
    _complex_gaussian,
    _differential,
    _is_projector,
    _moments,
    _orbit_vector,
    _product,
    _re_inner,
    _tangent_to_balanced,
    aware,
    refused,
)
from tests._complex_sweep_dynamics import dynamics_table
from tests._complex_sweep_submodules import (
    NOT_IMPLEMENTED,
    SUBMODULE_EXEMPT,
    not_implemented_calls,
    submodule_entry_points,
    submodule_table,
)
from tests.test_complex_downstairs import (
    _definition_operator,
    _realify,
    _submersion_operator,
)


# ------------------------------------------------------- the functions' table
def _functions():
    w, v, x, z = LAYERS, LAYER_VECTOR, POINT, VECTOR
    s = np.linalg.svd(x, compute_uv=False)
    a = _a_coefficients(s, DEPTH)
    entropy_value = (DEPTH - 1) * dln.orbit_entropy.log_unitary_group_volume(
        DIM
    ) + 0.5 * np.sum(np.log(a))
    dense = _submersion_operator(list(w))
    gauges = np.reshape(dln.random_gauges(DEPTH, DIM, field="complex"), (-1, DIM, DIM))
    gl = np.eye(DIM) + 0.2 * ALGEBRA

    def check_best_gauge(result):
        _close(result @ _adjoint(result), np.broadcast_to(np.eye(DIM), result.shape))
        moved = np.asarray(dln.gauge_action(result, w))
        _close(moved, _orbit_target)

    _orbit_target = np.asarray(dln.gauge_action(gauges, w))

    def check_frame(result):
        frames, lam = result
        frames = np.asarray(frames)
        # W_k = Q_k diag(lam) Q_{k-1}^*, the Q_k unitary (balancedness over C)
        for k in range(DEPTH):
            q_k = frames[..., k + 1, :, :] if frames.shape[-3] == DEPTH + 1 else None
            assert q_k is not None
            _close(q_k @ np.diag(lam) @ _adjoint(frames[..., k, :, :]), w[k])

    def check_entropy_gradient(result):
        step = 1e-6
        difference = (
            dln.entropy(x + step * OTHER, DEPTH) - dln.entropy(x - step * OTHER, DEPTH)
        ) / (2 * step)
        _close(_re_inner(result, OTHER), difference, 1e-6)

    def trajectory_check(result):
        _close(result.states[-1], np.exp(-1.0) * z, 1e-6)

    return {
        "balanced_exp": refused(lambda: dln.balanced_exp(v, w), "balanced_exp"),
        "balanced_frame": aware(lambda: dln.balanced_frame(w), check_frame),
        "balanced_log": refused(lambda: dln.balanced_log(w, w), "balanced_log"),
        "best_gauge": aware(lambda: dln.best_gauge(_orbit_target, w), check_best_gauge),
        "center": aware(
            lambda: dln.center(x, DEPTH),
            lambda r: (_close(_product(r), x), _close(_moments(r), 0 * _moments(r))),
        ),
        "differential": aware(
            lambda: dln.differential(v, w), lambda r: _close(r, _differential(v, w))
        ),
        "end_to_end": aware(
            lambda: dln.end_to_end(w), lambda r: _close(r, _product(w))
        ),
        "entropy": aware(
            lambda: dln.entropy(x, DEPTH), lambda r: _close(r, entropy_value, 1e-11)
        ),
        "entropy_gradient": aware(
            lambda: dln.entropy_gradient(x, DEPTH), check_entropy_gradient
        ),
        "entropy_riemannian_gradient": aware(
            lambda: dln.entropy_riemannian_gradient(x, DEPTH),
            lambda r: _close(
                r,
                _definition_operator(x, np.asarray(dln.entropy_gradient(x, DEPTH)), 3),
            ),
        ),
        "fiber_operator": aware(
            lambda: dln.fiber_operator(ALGEBRA, w),
            # H = w^* w: Re tr(a^* H(a)) = |w_a|^2
            lambda r: _close(
                _re_inner(ALGEBRA, r), _re_inner(*[_orbit_vector(ALGEBRA, w)] * 2)
            ),
        ),
        "fiber_projection": aware(
            lambda: dln.fiber_projection(v, w),
            _is_projector(
                lambda y: np.asarray(dln.fiber_projection(y, w)),
                v,
                lambda r: _close(_differential(r, w), 0 * x),
            ),
        ),
        "fiber_tangent_vector": aware(
            lambda: dln.fiber_tangent_vector(ALGEBRA, w),
            lambda r: _close(r, _orbit_vector(ALGEBRA, w)),
        ),
        "gauge_action": aware(
            lambda: dln.gauge_action(gauges, w),
            lambda r: _close(
                r,
                np.array(
                    [
                        (gauges[k] if k < DEPTH - 1 else np.eye(DIM))
                        @ w[k]
                        @ _adjoint(gauges[k - 1] if k > 0 else np.eye(DIM))
                        for k in range(DEPTH)
                    ]
                ),
            ),
        ),
        "gl_action": aware(
            lambda: dln.gl_action(gl, w),
            lambda r: _close(
                r,
                np.array(
                    [
                        (gl[k] if k < DEPTH - 1 else np.eye(DIM))
                        @ w[k]
                        @ np.linalg.inv(gl[k - 1] if k > 0 else np.eye(DIM))
                        for k in range(DEPTH)
                    ]
                ),
            ),
        ),
        "horizontal_geodesic_end": refused(
            lambda: dln.horizontal_geodesic_end(z, w), "horizontal_geodesic_end"
        ),
        "horizontal_lift": aware(
            lambda: dln.horizontal_lift(z, w),
            lambda r: (_close(_differential(r, w), z), _tangent_to_balanced(r)),
        ),
        "horizontal_projection": aware(
            lambda: dln.horizontal_projection(v, w),
            _is_projector(lambda y: np.asarray(dln.horizontal_projection(y, w)), v),
        ),
        "integrate": refused(
            lambda: dln.integrate(lambda y: -y, z, 1.0), "integrate_complex"
        ),
        "integrate_complex": aware(
            lambda: dln.integrate_complex(lambda y: -y, z, 1.0, rtol=1e-10),
            trajectory_check,
        ),
        "lifted_gradient": aware(
            lambda: dln.lifted_gradient(z, w),
            # the adjoint of dphi for Re tr
            lambda r: _close(_re_inner(r, v), _re_inner(z, _differential(v, w))),
        ),
        "log_volume_density": aware(
            lambda: dln.log_volume_density(x, DEPTH),
            lambda r: _close(r, -0.5 * np.linalg.slogdet(dense)[1], 1e-10),
        ),
        "low_rank_center": refused(
            lambda: dln.low_rank_center(x, DEPTH, 2), "low_rank_center", "complex"
        ),
        "moment_differential": aware(
            lambda: dln.moment_differential(v, w),
            lambda r: _close(
                r, (_moments(w + 1e-6 * v) - _moments(w - 1e-6 * v)) / 2e-6, 1e-7
            ),
        ),
        "moments": aware(lambda: dln.moments(w), lambda r: _close(r, _moments(w))),
        "orbit_basis": aware(
            lambda: dln.orbit_basis(w),
            # spans the U(d)^{N-1} orbit: (N-1) d^2 real directions in ker dphi
            lambda r: (
                _close(np.array([_differential(b, w) for b in r]), 0 * r[:, 0]),
                np.testing.assert_equal(
                    np.linalg.matrix_rank(np.array([_realify(b) for b in r])),
                    (DEPTH - 1) * DIM**2,
                ),
            ),
        ),
        "orthogonal_group_volume": refused(
            lambda: dln.orthogonal_group_volume(3 + 0j), "dim"
        ),
        "unitary_group_volume": refused(
            lambda: dln.unitary_group_volume(3 + 0j), "dim"
        ),
        "random_gauges": aware(
            lambda: dln.random_gauges(DEPTH, DIM, 2, field="complex"),
            lambda r: _close(r @ _adjoint(r), np.broadcast_to(np.eye(DIM), r.shape)),
        ),
        "solve_fiber_operator": aware(
            lambda: dln.solve_fiber_operator(ALGEBRA, w),
            lambda r: _close(np.asarray(dln.fiber_operator(r, w)), ALGEBRA, 1e-8),
        ),
        "to_tangent": aware(
            lambda: dln.to_tangent(v, w),
            _is_projector(
                lambda y: np.asarray(dln.to_tangent(y, w)), v, _tangent_to_balanced
            ),
        ),
        "vertical_projection": aware(
            lambda: dln.vertical_projection(v, w),
            _is_projector(
                lambda y: np.asarray(dln.vertical_projection(y, w)),
                v,
                lambda r: _close(_differential(r, w), 0 * x),
            ),
        ),
        "volume_density": aware(
            lambda: dln.volume_density(x, DEPTH),
            lambda r: _close(r, math.exp(-0.5 * np.linalg.slogdet(dense)[1]), 1e-9),
        ),
    }


# ---------------------------------------------------------- the classes' table
def _classes():
    w, v, x, z = LAYERS, LAYER_VECTOR, POINT, VECTOR
    real_space = dln.EndToEndMatrices(DIM, depth=DEPTH)
    complex_space = dln.EndToEndMatrices(DIM, depth=DEPTH, field="complex")
    metric = real_space.metric  # the metric is selected by the dtype
    euclidean = dln.EndToEndMatrices(DIM, depth=1).metric
    dense = _submersion_operator(list(w))

    def dense_inverse(vector):
        return np.linalg.solve(dense, _realify(vector))

    spd = dln.DLNBuresWassersteinMetric(SPDMatrices(DIM, equip=False))
    hpd = dln.DLNBuresWassersteinMetric(HPDMatrices(DIM, equip=False))
    geomstats_hpd = HPDBuresWassersteinMetric(HPDMatrices(DIM, equip=False))
    hpd_other = HPD + np.eye(DIM)
    small = 0.1 * HERMITIAN
    fixed_rank = dln.FixedRankEndToEndMatrices(DIM, rank=2, depth=DEPTH)
    rank_two = x[:, :2] @ _complex_gaussian((2, DIM))
    balanced = dln.BalancedManifold(DIM, DEPTH, field="complex")
    balanced_real = dln.BalancedManifold(DIM, DEPTH)
    bundle = dln.BalancedBundle(balanced)
    quotient = (
        balanced_real.quotient.metric if hasattr(balanced_real, "quotient") else None
    )
    parameter_space = dln.DLNParameterSpace(DIM, DEPTH, field="complex")
    fiber = dln.Fiber(x, DEPTH)
    low_rank_balanced = dln.LowRankBalancedManifold(DIM, DEPTH, 2)
    rank_two_layers = LAYERS.copy()  # any complex layers: refused before use
    geodesic_refusal = ("complex geodesics",)

    def check_belongs(expected):
        return lambda r: np.testing.assert_equal(bool(np.all(r)), expected)

    def check_lift(result):
        _close(_product(result), x)
        _close(_moments(result), 0 * _moments(result))

    table = {
        # EndToEndMatrices: refused on the real space, aware on the complex one
        "EndToEndMatrices.belongs": [
            refused(lambda: real_space.belongs(x), "belongs"),
            aware(lambda: complex_space.belongs(x), check_belongs(True)),
            aware(lambda: complex_space.belongs(x[:, [0, 0, 1]]), check_belongs(False)),
        ],
        "EndToEndMatrices.projection": [
            refused(lambda: real_space.projection(x), "projection"),
            aware(lambda: complex_space.projection(x), lambda r: _close(r, x)),
        ],
        "EndToEndMatrices.random_point": [
            aware(
                lambda: complex_space.random_point(3),
                lambda r: (
                    np.testing.assert_equal(r.dtype, np.complex128),
                    check_belongs(True)(complex_space.belongs(r)),
                ),
            )
        ],
        "EndToEndMatrices.to_tangent": [
            refused(lambda: real_space.to_tangent(z, x), "to_tangent"),
            aware(lambda: complex_space.to_tangent(z, x), lambda r: _close(r, z)),
        ],
        "EndToEndMatrices.is_tangent": [
            refused(lambda: real_space.is_tangent(z, x), "is_tangent"),
            aware(lambda: complex_space.is_tangent(z, x), check_belongs(True)),
            aware(lambda: complex_space.is_tangent(z[:, :2], x), check_belongs(False)),
        ],
        "EndToEndMatrices.random_tangent_vec": [
            refused(lambda: real_space.random_tangent_vec(x), "random_tangent_vec"),
            aware(
                lambda: complex_space.random_tangent_vec(x, 2),
                lambda r: np.testing.assert_equal(
                    (r.dtype, r.shape), (np.complex128, (2, DIM, DIM))
                ),
            ),
        ],
        # DLNMetric over C: the metric itself; geodesics and connection refused
        "DLNMetric.operator": [
            aware(
                lambda: metric.operator(z, x),
                lambda r: _close(r, _definition_operator(x, z, DEPTH)),
            )
        ],
        "DLNMetric.inverse_operator": [
            aware(
                lambda: metric.inverse_operator(z, x),
                lambda r: _close(_realify(r), dense_inverse(z)),
            )
        ],
        "DLNMetric.square_root_operator": [
            aware(
                lambda: metric.square_root_operator(z, x),
                lambda r: _close(
                    metric.square_root_operator(r, x),
                    _definition_operator(x, z, DEPTH),
                ),
            )
        ],
        "DLNMetric.inner_product": [
            aware(
                lambda: metric.inner_product(z, OTHER, x),
                lambda r: _close(r, dense_inverse(z) @ _realify(OTHER)),
            )
        ],
        "DLNMetric.squared_norm": [
            aware(
                lambda: metric.squared_norm(z, x),
                lambda r: _close(r, dense_inverse(z) @ _realify(z)),
            )
        ],
        "DLNMetric.norm": [
            aware(
                lambda: metric.norm(z, x),
                lambda r: _close(r, np.sqrt(dense_inverse(z) @ _realify(z))),
            )
        ],
        "DLNMetric.inner_coproduct": [
            aware(
                lambda: metric.inner_coproduct(z, OTHER, x),
                lambda r: _close(r, _realify(z) @ dense @ _realify(OTHER)),
            )
        ],
        "DLNMetric.riemannian_gradient": [
            aware(
                lambda: metric.riemannian_gradient(z, x),
                lambda r: _close(_realify(r), dense @ _realify(z)),
            )
        ],
        "DLNMetric.injectivity_radius": [
            aware(lambda: euclidean.injectivity_radius(x), lambda r: r == math.inf)
        ],
        "DLNMetric.metric_matrix": [
            refused(lambda: metric.metric_matrix(x), "metric_matrix")
        ],
        "DLNMetric.cometric_matrix": [
            refused(lambda: metric.cometric_matrix(x), "cometric_matrix")
        ],
        "DLNMetric.exp": [refused(lambda: metric.exp(z, x), *geodesic_refusal)],
        "DLNMetric.log": [refused(lambda: metric.log(OTHER, x), *geodesic_refusal)],
        "DLNMetric.squared_dist": [
            refused(lambda: metric.squared_dist(x, OTHER), *geodesic_refusal)
        ],
        "DLNMetric.dist": [refused(lambda: metric.dist(x, OTHER), *geodesic_refusal)],
        "DLNMetric.geodesic": [
            refused(
                lambda: metric.geodesic(x, initial_tangent_vec=z), *geodesic_refusal
            )
        ],
        "DLNMetric.geodesic_points": [
            refused(
                lambda: metric.geodesic_points(z, x, np.array([0.0, 1.0])),
                *geodesic_refusal,
            )
        ],
        "DLNMetric.hamiltonian_vector_field": [
            refused(lambda: metric.hamiltonian_vector_field(x, z), *geodesic_refusal)
        ],
        "DLNMetric.geodesic_equation": [
            refused(
                lambda: metric.geodesic_equation(np.stack([x, z])), "geodesic_equation"
            )
        ],
    }
    connection_calls = {
        "christoffel_contraction": lambda: metric.christoffel_contraction(z, z, x),
        "christoffels": lambda: metric.christoffels(x),
        "covariant_derivative": lambda: metric.covariant_derivative(z, z, z, x),
        "riemannian_hessian": lambda: metric.riemannian_hessian(z, z, z, x),
        "parallel_transport": lambda: metric.parallel_transport(z, x, direction=z),
        "curvature": lambda: metric.curvature(z, OTHER, z, x),
        "sectional_curvature": lambda: metric.sectional_curvature(z, OTHER, x),
    }
    for name, call in connection_calls.items():
        table[f"DLNMetric.{name}"] = [refused(call, "connection")]

    # N = 2 on positive definite matrices: SPD refuses, HPD is twice geomstats
    bw = {
        "inner_product": (
            lambda m, p: m.inner_product(HERMITIAN, HERMITIAN, p),
            lambda r: _close(
                r, 2 * np.real(geomstats_hpd.inner_product(HERMITIAN, HERMITIAN, HPD))
            ),
        ),
        "squared_dist": (
            lambda m, p: m.squared_dist(p, hpd_other),
            lambda r: _close(r, 2 * geomstats_hpd.squared_dist(HPD, hpd_other)),
        ),
        "dist": (
            lambda m, p: m.dist(p, hpd_other),
            lambda r: _close(
                r, np.sqrt(2 * geomstats_hpd.squared_dist(HPD, hpd_other))
            ),
        ),
        "exp": (
            lambda m, p: m.exp(small, p),
            lambda r: _close(r, geomstats_hpd.exp(small, HPD)),
        ),
        "log": (
            lambda m, p: m.log(hpd_other, p),
            lambda r: _close(r, geomstats_hpd.log(hpd_other, HPD)),
        ),
        "geodesic": (
            lambda m, p: m.geodesic(p, end_point=hpd_other)(np.array([1.0])),
            lambda r: _close(r[0], hpd_other),
        ),
        "lyapunov": (
            lambda m, p: m.lyapunov(HERMITIAN, p),
            lambda r: _close(HPD @ r + r @ HPD, HERMITIAN),
        ),
        "injectivity_radius": (
            lambda m, p: m.injectivity_radius(p),
            lambda r: _close(r, np.sqrt(2 * np.linalg.eigvalsh(HPD)[0])),
        ),
    }
    for name, (call, check) in bw.items():
        table[f"DLNBuresWassersteinMetric.{name}"] = [
            refused(lambda call=call: call(spd, HPD), "must be real on SPD"),
            aware(lambda call=call: call(hpd, HPD), check),
        ]
    for name, call in {
        "christoffel_contraction": lambda m: m.christoffel_contraction(
            HERMITIAN, HERMITIAN, HPD
        ),
        "christoffels": lambda m: m.christoffels(HPD),
        "covariant_derivative": lambda m: m.covariant_derivative(
            HERMITIAN, HERMITIAN, HERMITIAN, HPD
        ),
        "curvature": lambda m: m.curvature(HERMITIAN, small, HERMITIAN, HPD),
        "sectional_curvature": lambda m: m.sectional_curvature(HERMITIAN, small, HPD),
        "parallel_transport": lambda m: m.parallel_transport(
            HERMITIAN, HPD, direction=small
        ),
    }.items():
        table[f"DLNBuresWassersteinMetric.{name}"] = [
            refused(lambda call=call: call(spd), "must be real on SPD"),
            refused(lambda call=call: call(hpd), name, "connection"),
        ]
    # fixed-rank strata (real only: the message names the dtype)
    for name, call in {
        "belongs": lambda: fixed_rank.belongs(rank_two),
        "frame": lambda: fixed_rank.frame(rank_two),
        "is_tangent": lambda: fixed_rank.is_tangent(z, rank_two),
        "projection": lambda: fixed_rank.projection(rank_two),
        "random_tangent_vec": lambda: fixed_rank.random_tangent_vec(rank_two),
        "tangent_basis": lambda: fixed_rank.tangent_basis(rank_two),
        "to_tangent": lambda: fixed_rank.to_tangent(z, rank_two),
    }.items():
        table[f"FixedRankEndToEndMatrices.{name}"] = [refused(call)]
    fixed_metric = fixed_rank.metric
    for name, call in {
        "exp": lambda: fixed_metric.exp(z, rank_two),
        "log": lambda: fixed_metric.log(rank_two, rank_two),
        "frame": lambda: fixed_metric.frame(rank_two),
        "geodesic": lambda: fixed_metric.geodesic(rank_two, initial_tangent_vec=z),
        "geodesic_points": lambda: fixed_metric.geodesic_points(
            z, rank_two, np.array([1.0])
        ),
        "hamiltonian": lambda: fixed_metric.hamiltonian(rank_two, z),
        "hamiltonian_vector_field": lambda: fixed_metric.hamiltonian_vector_field(
            rank_two, z
        ),
        "inner_product": lambda: fixed_metric.inner_product(z, z, rank_two),
        "inverse_operator": lambda: fixed_metric.inverse_operator(z, rank_two),
        "inner_coproduct": lambda: fixed_metric.inner_coproduct(z, z, rank_two),
        "operator": lambda: fixed_metric.operator(z, rank_two),
        "riemannian_gradient": lambda: fixed_metric.riemannian_gradient(z, rank_two),
    }.items():
        table[f"FixedRankDLNMetric.{name}"] = [refused(call)]
    for name in (
        "belongs center horizontal_lift horizontal_projection is_tangent "
        "tangent_basis to_tangent vertical_basis vertical_projection "
        "horizontal_geodesic random_tangent_vec"
    ).split():
        method = getattr(low_rank_balanced, name)
        arity = len(
            [
                p
                for p in inspect.signature(method).parameters.values()
                if p.default is inspect.Parameter.empty
            ]
        )
        if name == "center":
            call = (lambda m: lambda: m(x))(method)
        elif name == "horizontal_geodesic":
            call = (lambda m: lambda: m(x, rank_two_layers, np.array([1.0])))(method)
        elif name == "random_tangent_vec":
            call = (lambda m: lambda: m(rank_two_layers, 2))(method)
        elif arity == 1:
            call = (lambda m: lambda: m(rank_two_layers))(method)
        else:
            call = (lambda m: lambda: m(LAYER_VECTOR, rank_two_layers))(method)
        table[f"LowRankBalancedManifold.{name}"] = [refused(call, name)]
    low_rank_metric = low_rank_balanced.metric  # LowRankBalancedMetric, real only
    table.update(
        {
            "LowRankBalancedMetric.exp": [
                refused(
                    lambda: low_rank_metric.exp(LAYER_VECTOR, rank_two_layers),
                    "tangent_vec",
                )
            ],
            "LowRankBalancedMetric.inner_product": [
                refused(
                    lambda: low_rank_metric.inner_product(
                        LAYER_VECTOR, LAYER_VECTOR, rank_two_layers
                    ),
                    "inner_product",
                )
            ],
            "LowRankBalancedMetric.log": [
                refused(
                    lambda: low_rank_metric.log(rank_two_layers, rank_two_layers),
                    "log",
                )
            ],
        }
    )
    table["Fiber"] = [
        aware(
            lambda: dln.Fiber(x, DEPTH).center(),
            lambda r: np.testing.assert_equal(r.dtype, np.complex128),
        )
    ]
    # upstairs (balanced manifold, bundle, parameters, fibers, regularizers)
    tangent = np.asarray(balanced.to_tangent(v, w))
    vertical = np.asarray(dln.vertical_projection(v, w))
    lift = np.asarray(dln.horizontal_lift(z, w))
    in_fiber = np.asarray(dln.fiber_projection(v, w))

    def projector(project, tangent_check=None):
        return _is_projector(lambda y: np.asarray(project(y)), v, tangent_check)

    def kernel(result):
        _close(_differential(result, w), 0 * x)

    def directional(value_function, tol=1e-6):
        def check(result):
            step = 1e-6
            difference = (
                value_function(w + step * v) - value_function(w - step * v)
            ) / (2 * step)
            _close(_re_inner(result, v), difference, tol)

        return check

    frobenius, moment = dln.FrobeniusRegularizer(), dln.MomentRegularizer()
    schatten = dln.SchattenRegularizer(1.5)
    schatten_value = sum(
        np.sum(np.linalg.svd(layer, compute_uv=False) ** 1.5) ** (1 / 1.5)
        for layer in w
    )
    balanced_real.equip_with_quotient()
    quotient = balanced_real.quotient.metric
    table.update(
        {
            "BalancedManifold.belongs": [
                aware(lambda: balanced.belongs(w), check_belongs(True)),
                aware(lambda: balanced.belongs(v), check_belongs(False)),
            ],
            "BalancedManifold.center": [aware(lambda: balanced.center(x), check_lift)],
            "BalancedManifold.is_tangent": [
                aware(lambda: balanced.is_tangent(tangent, w), check_belongs(True)),
                aware(lambda: balanced.is_tangent(v, w), check_belongs(False)),
            ],
            "BalancedManifold.projection": [
                aware(
                    lambda: balanced.projection(w + 1e-3 * v),
                    lambda r: check_belongs(True)(balanced.belongs(r)),
                )
            ],
            "BalancedManifold.random_point": [
                aware(
                    lambda: balanced.random_point(2),
                    lambda r: check_belongs(True)(balanced.belongs(r)),
                )
            ],
            "BalancedManifold.random_tangent_vec": [
                aware(lambda: balanced.random_tangent_vec(w), _tangent_to_balanced)
            ],
            "BalancedManifold.to_tangent": [
                aware(
                    lambda: balanced.to_tangent(v, w),
                    projector(
                        lambda y: balanced.to_tangent(y, w), _tangent_to_balanced
                    ),
                )
            ],
            "BalancedMetric.inner_product": [
                aware(
                    lambda: balanced.metric.inner_product(tangent, tangent, w),
                    lambda r: _close(r, _re_inner(tangent, tangent)),
                )
            ],
            "BalancedMetric.exp": [
                refused(lambda: balanced.metric.exp(tangent, w), "exp")
            ],
            "BalancedMetric.log": [refused(lambda: balanced.metric.log(w, w), "log")],
            "BalancedMetric.geodesic": [
                refused(
                    lambda: balanced.metric.geodesic(w, initial_tangent_vec=tangent)(
                        np.array([0.5])
                    ),
                    "exp",
                    "geodesic",
                )
            ],
            "BalancedBundle.align": [refused(lambda: bundle.align(w, w), "align")],
            "BalancedBundle.horizontal_lift": [
                aware(
                    lambda: bundle.horizontal_lift(z, fiber_point=w),
                    lambda r: (_close(_differential(r, w), z), _tangent_to_balanced(r)),
                )
            ],
            "BalancedBundle.horizontal_projection": [
                aware(
                    lambda: bundle.horizontal_projection(tangent, w),
                    lambda r: _close(
                        r, dln.horizontal_lift(_differential(tangent, w), w)
                    ),
                )
            ],
            "BalancedBundle.vertical_projection": [
                aware(
                    lambda: bundle.vertical_projection(tangent, w),
                    lambda r: (kernel(r), _close(_re_inner(r, lift), 0.0)),
                )
            ],
            "BalancedBundle.is_horizontal": [
                aware(lambda: bundle.is_horizontal(lift, w), check_belongs(True)),
                aware(lambda: bundle.is_horizontal(vertical, w), check_belongs(False)),
            ],
            "BalancedBundle.is_vertical": [
                aware(lambda: bundle.is_vertical(vertical, w), check_belongs(True)),
                aware(lambda: bundle.is_vertical(lift, w), check_belongs(False)),
            ],
            "BalancedBundle.lift": [aware(lambda: bundle.lift(x), check_lift)],
            "BalancedBundle.riemannian_submersion": [
                aware(
                    lambda: bundle.riemannian_submersion(w),
                    lambda r: _close(r, _product(w)),
                )
            ],
            "BalancedBundle.tangent_riemannian_submersion": [
                aware(
                    lambda: bundle.tangent_riemannian_submersion(v, w),
                    lambda r: _close(r, _differential(v, w)),
                )
            ],
            "BalancedQuotientMetric.exp": [
                refused(lambda: quotient.exp(z, x), *geodesic_refusal)
            ],
            "BalancedQuotientMetric.log": [
                refused(lambda: quotient.log(OTHER, x), *geodesic_refusal)
            ],
            "BalancedQuotientMetric.squared_dist": [
                refused(lambda: quotient.squared_dist(x, OTHER), *geodesic_refusal)
            ],
            "BalancedQuotientMetric.dist": [
                refused(lambda: quotient.dist(x, OTHER), *geodesic_refusal)
            ],
            "BalancedQuotientMetric.geodesic": [
                refused(
                    lambda: quotient.geodesic(x, initial_tangent_vec=z),
                    *geodesic_refusal,
                )
            ],
            "DLNParameterSpace.belongs": [
                aware(lambda: parameter_space.belongs(w), check_belongs(True))
            ],
            "DLNParameterSpace.differential": [
                aware(
                    lambda: parameter_space.differential(v, w),
                    lambda r: _close(r, _differential(v, w)),
                )
            ],
            "DLNParameterSpace.end_to_end": [
                aware(
                    lambda: parameter_space.end_to_end(w),
                    lambda r: _close(r, _product(w)),
                )
            ],
            "DLNParameterSpace.lifted_gradient": [
                aware(
                    lambda: parameter_space.lifted_gradient(z, w),
                    lambda r: _close(
                        _re_inner(r, v), _re_inner(z, _differential(v, w))
                    ),
                )
            ],
            "DLNParameterSpace.moments": [
                aware(
                    lambda: parameter_space.moments(w), lambda r: _close(r, _moments(w))
                )
            ],
            "DLNParameterSpace.is_tangent": [
                aware(lambda: parameter_space.is_tangent(v, w), check_belongs(True))
            ],
            "DLNParameterSpace.projection": [
                aware(lambda: parameter_space.projection(w), lambda r: _close(r, w))
            ],
            "DLNParameterSpace.to_tangent": [
                aware(lambda: parameter_space.to_tangent(v, w), lambda r: _close(r, v))
            ],
            "DLNParameterSpace.random_point": [
                aware(
                    lambda: parameter_space.random_point(2),
                    lambda r: np.testing.assert_equal(
                        (r.dtype, r.shape), (np.complex128, (2, DEPTH, DIM, DIM))
                    ),
                )
            ],
            "DLNParameterSpace.random_tangent_vec": [
                aware(
                    lambda: parameter_space.random_tangent_vec(w, 2),
                    lambda r: np.testing.assert_equal(r.dtype, np.complex128),
                )
            ],
            "Fiber.belongs": [
                aware(lambda: fiber.belongs(w), check_belongs(True)),
                aware(lambda: fiber.belongs(2 * w), check_belongs(False)),
            ],
            "Fiber.center": [aware(lambda: fiber.center(), check_lift)],
            "Fiber.is_tangent": [
                aware(lambda: fiber.is_tangent(in_fiber, w), check_belongs(True)),
                aware(lambda: fiber.is_tangent(lift, w), check_belongs(False)),
            ],
            "Fiber.random_point": [
                aware(
                    lambda: fiber.random_point(2),
                    lambda r: _close(
                        np.array([_product(p) for p in r]), np.stack([x, x])
                    ),
                )
            ],
            "Fiber.random_tangent_vec": [
                aware(lambda: fiber.random_tangent_vec(w), kernel)
            ],
            "Fiber.riemannian_gradient": [
                aware(
                    lambda: fiber.riemannian_gradient(v, w),
                    lambda r: _close(r, in_fiber),
                )
            ],
            "Fiber.tangent_vector": [
                aware(
                    lambda: fiber.tangent_vector(ALGEBRA, w),
                    lambda r: _close(r, _orbit_vector(ALGEBRA, w)),
                )
            ],
            "Fiber.to_tangent": [
                aware(lambda: fiber.to_tangent(v, w), lambda r: _close(r, in_fiber))
            ],
            "FrobeniusRegularizer.value": [
                aware(
                    lambda: frobenius.value(w),
                    lambda r: _close(r, 0.5 * np.sum(np.abs(w) ** 2)),
                )
            ],
            "FrobeniusRegularizer.gradient": [
                aware(lambda: frobenius.gradient(w), directional(frobenius.value))
            ],
            "MomentRegularizer.value": [
                aware(
                    lambda: moment.value(w + 0.1 * v),
                    lambda r: _close(
                        r, 0.5 * np.sum(np.abs(_moments(w + 0.1 * v)) ** 2)
                    ),
                )
            ],
            "MomentRegularizer.gradient": [
                aware(lambda: moment.gradient(w), directional(moment.value))
            ],
            "SchattenRegularizer.value": [
                aware(lambda: schatten.value(w), lambda r: _close(r, schatten_value))
            ],
            "SchattenRegularizer.gradient": [
                aware(lambda: schatten.gradient(w), directional(schatten.value))
            ],
        }
    )
    return table


def _losses_and_networks():
    x, z = POINT, VECTOR
    quadratic = dln.QuadraticLoss(np.eye(DIM))
    mask = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0]], dtype=bool)
    completion = dln.MatrixCompletionLoss(mask, np.ones((DIM, DIM)))
    sensing = dln.MatrixSensingLoss(np.ones((2, DIM, DIM)), np.ones(2))
    regression = dln.RegressionLoss(np.ones((DIM, 4)), np.ones((DIM, 4)))
    network = dln.LinearNetwork(list(LAYERS.real))
    return {
        "QuadraticLoss": [refused(lambda: dln.QuadraticLoss(x), "target")],
        "QuadraticLoss.value": [refused(lambda: quadratic.value(x), "value")],
        "QuadraticLoss.gradient": [refused(lambda: quadratic.gradient(x), "gradient")],
        "MatrixCompletionLoss": [
            refused(lambda: dln.MatrixCompletionLoss(mask, z), "observed")
        ],
        "MatrixCompletionLoss.value": [refused(lambda: completion.value(x), "value")],
        "MatrixCompletionLoss.gradient": [
            refused(lambda: completion.gradient(x), "gradient")
        ],
        "MatrixSensingLoss": [
            refused(
                lambda: dln.MatrixSensingLoss(np.stack([z, z]), np.ones(2)),
                "measurements",
            )
        ],
        "MatrixSensingLoss.value": [refused(lambda: sensing.value(x), "value")],
        "MatrixSensingLoss.gradient": [
            refused(lambda: sensing.gradient(x), "gradient")
        ],
        "RegressionLoss": [
            refused(
                lambda: dln.RegressionLoss(np.ones((DIM, 4)) * 1j, np.ones((DIM, 4))),
                "inputs",
            )
        ],
        "RegressionLoss.value": [refused(lambda: regression.value(x), "value")],
        "RegressionLoss.gradient": [
            refused(lambda: regression.gradient(x), "gradient")
        ],
        "LinearNetwork": [
            refused(lambda: dln.LinearNetwork(list(LAYERS)), "LinearNetwork")
        ],
        "LinearNetwork.from_layers": [
            refused(
                lambda: dln.LinearNetwork.from_layers(list(LAYERS)), "LinearNetwork"
            )
        ],
        "LinearNetwork.from_array": [
            refused(lambda: dln.LinearNetwork.from_array(LAYERS), "parameters")
        ],
        "LinearNetwork.balanced_from_end_to_end": [
            refused(
                lambda: dln.LinearNetwork.balanced_from_end_to_end(x, depth=DEPTH),
                "end_to_end_matrix",
            )
        ],
        "LinearNetwork.act": [
            refused(lambda: network.act(list(ALGEBRA)), "matrices", "act")
        ],
        "LinearNetwork.apply": [refused(lambda: network.apply(z), "inputs", "apply")],
        "NetworkEnsemble": [
            refused(lambda: dln.NetworkEnsemble([list(LAYERS)]), "LinearNetwork")
        ],
        "NetworkEnsemble.from_array": [
            refused(lambda: dln.NetworkEnsemble.from_array(LAYERS[None]), "layers")
        ],
        "NetworkEnsemble.from_stacked": [
            refused(
                lambda: dln.NetworkEnsemble.from_stacked(
                    [layer[None] for layer in LAYERS]
                ),
                "layers",
                "stacked",
            )
        ],
    }


# ------------------------------------------------------------- not swept, why
_NO_ARRAY_INPUT = "no array argument (the state is fixed at construction, swept)"
EXEMPT = {
    "__version__": "a string",
    "dynamics": "submodule, swept below as dynamics.<name>",
    "losses": "submodule; its exported loss classes are swept",
    "optimization": "submodule (Pymanopt adapter of the real metric)",
    "GeodesicError": "an exception class",
    "Trajectory": "a record of integrate's results",
    "GLAction": "calls gl_action (swept)",
    "BalancedManifold.equip_with_quotient": "no array argument",
    "GaugeAction": "calls gauge_action (swept)",
    "BalancedMetric.christoffels": "NotImplementedError over R too",
    "BalancedMetric.metric_matrix": "NotImplementedError over R too",
    "BalancedMetric.cometric_matrix": "NotImplementedError over R too",
    "BalancedMetric.injectivity_radius": "NotImplementedError over R too",
    "BalancedMetric.parallel_transport": "NotImplementedError over R too",
    "BalancedBundle.integrability_tensor": "NotImplementedError over R too",
    "BalancedBundle.integrability_tensor_derivative": "NotImplementedError over R too",
    "LowRankBalancedManifold.projection": "NotImplementedError over R too",
    "FixedRankEndToEndMatrices.random_point": _NO_ARRAY_INPUT,
    "LowRankBalancedManifold.random_point": _NO_ARRAY_INPUT,
    "LinearNetwork.aligned_to": "takes a LinearNetwork (constructors swept)",
    "LinearNetwork.from_npz": "reads a file of real arrays",
    "LinearNetwork.from_torch": "reads a torch module (real weights)",
    "NetworkEnsemble.from_npz": "reads a file of real arrays",
    "NetworkEnsemble.from_torch": "reads torch modules (real weights)",
}
for _name in (
    "BalancedBundle BalancedManifold BalancedMetric BalancedQuotientMetric "
    "DLNBuresWassersteinMetric DLNMetric DLNParameterSpace EndToEndMatrices "
    "FixedRankDLNMetric FixedRankEndToEndMatrices FrobeniusRegularizer "
    "LowRankBalancedManifold LowRankBalancedMetric MomentRegularizer "
    "SchattenRegularizer"
).split():
    EXEMPT[_name] = "the constructor takes sizes, a space or a field, no array"
for _name in (
    "balance_defect balanced determinant_sign end_to_end invariants is_balanced "
    "layer_norms moments rank squared_norm to_array to_list to_npz to_torch"
).split():
    EXEMPT[f"LinearNetwork.{_name}"] = _NO_ARRAY_INPUT
for (
    _name
) in "determinant_signs end_to_end stacked_layers to_array to_npz to_torch".split():
    EXEMPT[f"NetworkEnsemble.{_name}"] = _NO_ARRAY_INPUT

for _name in (
    "INITIALIZERS Trajectory VectorField ParametricModel EntryCoordinatesDLNMetric "
    "FreeEnergy dln_model relu_network_model n_parameters entry_coordinates_space "
    "geomstats_brownian_motion free_energy initialize"
).split():
    EXEMPT[f"dynamics.{_name}"] = "no array argument (sizes, callables, records)"
EXEMPT["dynamics.INITIALIZERS"] = "a tuple of names"
EXEMPT["dynamics.EntryCoordinatesDLNMetric.inner_product_derivative_matrix"] = (
    "autodiff of metric_matrix (swept)"
)


# ---------------------------------------------------------------- the tests
def _public_entry_points():
    """``__all__`` names, and ``Class.method`` for the public methods that the
    exported classes define in geomstats_dln (plus the metrics' norms)."""
    names = []
    for name in dln.__all__:
        names.append(name)
        obj = getattr(dln, name)
        if not inspect.isclass(obj):
            continue
        for klass in obj.__mro__:
            if not klass.__module__.startswith("geomstats_dln"):
                continue
            for method, value in vars(klass).items():
                if method.startswith("_") or method in ("default_metric",):
                    continue
                if callable(value) or isinstance(value, (staticmethod, classmethod)):
                    names.append(f"{name}.{method}")
    from geomstats_dln import dynamics

    for name in dynamics.__all__:
        obj = getattr(dynamics, name)
        names.append(f"dynamics.{name}")
        if inspect.isclass(obj) and obj.__module__.startswith("geomstats_dln"):
            for method, value in vars(obj).items():
                if not method.startswith("_") and callable(value):
                    names.append(f"dynamics.{name}.{method}")
    return sorted(set(names))


def _table():
    table = {}
    for part in (
        _functions(),
        _classes(),
        _losses_and_networks(),
        dynamics_table(),
        submodule_table(),
    ):
        for name, outcomes in part.items():
            table[name] = outcomes if isinstance(outcomes, list) else [outcomes]
    return table


_TABLE = _table()
_SWEPT_NAMES = sorted(_TABLE)


def test_table_covers_the_public_api():
    classified = set(_TABLE) | set(EXEMPT) | set(SUBMODULE_EXEMPT)
    submodule_names = submodule_entry_points()
    missing = [
        name
        for name in _public_entry_points() + submodule_names
        if name not in classified
    ]
    assert not missing, f"public entry points not in the complex sweep: {missing}"
    unknown = [
        name
        for name in _TABLE
        if name.split(".")[0] not in dln.__all__
        and name.split(".")[1] not in dln.dynamics.__all__
        and name not in submodule_names
    ]
    assert not unknown, unknown
    stale = [name for name in SUBMODULE_EXEMPT if name not in submodule_names]
    assert not stale, f"classified names that are no longer public: {stale}"


def _run(outcome: Outcome):
    with warnings.catch_warnings():
        # a cast that drops the imaginary part is the failure this sweep hunts
        warnings.simplefilter("error", np.exceptions.ComplexWarning)
        if outcome.check is None:
            with pytest.raises(TypeError) as info:
                outcome.call()
            message = str(info.value)
            assert "complex" in message, message
            if outcome.names:
                assert any(name in message for name in outcome.names), message
            return
        result = outcome.call()
    outcome.check(result)


@pytest.mark.parametrize("name", _SWEPT_NAMES)
def test_complex_input(name):
    for outcome in _TABLE[name]:
        _run(outcome)


def test_exemptions_not_implemented_over_r_are_so():
    """The entries exempted as "NotImplementedError over R too" still raise it
    on real input (an implementation must then be swept)."""
    rng = np.random.default_rng(3)
    point = rng.normal(size=(DIM, DIM)) + 2 * np.eye(DIM)
    layers = np.asarray(dln.center(point, DEPTH))
    vector = np.asarray(dln.to_tangent(rng.normal(size=layers.shape), layers))
    balanced = dln.BalancedManifold(DIM, DEPTH)
    bundle = dln.BalancedBundle(balanced)
    calls = {
        "BalancedMetric.christoffels": lambda: balanced.metric.christoffels(layers),
        "BalancedMetric.metric_matrix": lambda: balanced.metric.metric_matrix(layers),
        "BalancedMetric.cometric_matrix": lambda: balanced.metric.cometric_matrix(
            layers
        ),
        "BalancedMetric.injectivity_radius": lambda: balanced.metric.injectivity_radius(
            layers
        ),
        "BalancedMetric.parallel_transport": lambda: balanced.metric.parallel_transport(
            vector, layers, direction=vector
        ),
        "BalancedBundle.integrability_tensor": lambda: bundle.integrability_tensor(
            vector, vector, layers
        ),
        "BalancedBundle.integrability_tensor_derivative": lambda: (
            bundle.integrability_tensor_derivative(
                vector, vector, vector, vector, vector, layers
            )
        ),
        "LowRankBalancedManifold.projection": lambda: dln.LowRankBalancedManifold(
            DIM, DEPTH, 2
        ).projection(layers),
    }
    exempted = {
        name for name, why in EXEMPT.items() if why == "NotImplementedError over R too"
    }
    assert exempted == set(calls)
    for call in calls.values():
        with pytest.raises(NotImplementedError):
            call()


def test_submodule_exemptions_not_implemented_are_so():
    """The submodules' names exempted as "NotImplementedError ..." raise it on
    real input (an implementation must then be swept)."""
    calls = not_implemented_calls()
    exempted = {
        name for name, why in SUBMODULE_EXEMPT.items() if why == NOT_IMPLEMENTED
    }
    assert exempted == set(calls)
    for call in calls.values():
        with pytest.raises(NotImplementedError):
            call()


def test_complex_files_are_refused(tmp_path):
    """An ensemble ``.npz`` with complex layers is refused when read (a
    ``ValueError`` naming the dtype, like every bad file), by the loaders and by
    ``analyze_ensemble``, which writes nothing."""
    from geomstats_dln.analysis import analyze_ensemble
    from geomstats_dln.networks import load_layers_npz

    path = tmp_path / "complex.npz"
    np.savez(path, layers=np.stack([LAYERS, LAYERS]))
    output = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("error", np.exceptions.ComplexWarning)
        for call in (
            lambda: load_layers_npz(path),
            lambda: dln.LinearNetwork.from_npz(path),
            lambda: dln.NetworkEnsemble.from_npz(path),
            lambda: analyze_ensemble(path, output),
        ):
            with pytest.raises(ValueError, match="complex128"):
                call()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["complex.npz"]


def test_balanced_exp_complex_velocity_at_a_real_point():
    layers = np.asarray(dln.center(POINT.real, DEPTH))
    _run(refused(lambda: dln.balanced_exp(1e-3 * LAYER_VECTOR, layers), "tangent_vec"))


def test_real_input_passes_the_dtype_gates():
    """The complex refusals of ``low_rank``, ``orbit_entropy`` and
    ``dynamics.low_rank_flows`` let real input through unchanged: ``float64``
    on the hot path, integers, ``float32`` and lists converted to ``float64``,
    each result checked against a dense definition."""
    from geomstats_dln import low_rank as lr
    from geomstats_dln import orbit_entropy as oe
    from geomstats_dln.dynamics import low_rank_flows as lf

    rng = np.random.default_rng(5)
    point = rng.normal(size=(5, 2)) @ rng.normal(size=(2, 4))  # rank 2
    left, s, right_t = np.linalg.svd(point)
    u, v = left[:, :2], right_t[:2].T
    frame = lr.frame_from_factors(list(map(list, u)), list(s[:2]), v, DEPTH)
    assert np.asarray(frame.left).dtype == np.float64
    core = np.array([[1, 2], [3, 4]])
    left_normal = (np.eye(5) - u @ u.T) @ rng.normal(size=(5, 2))
    right_normal = (np.eye(4) - v @ v.T) @ rng.normal(size=(4, 2))
    single = right_normal.astype(np.float32)
    components = lr.TangentComponents(core, left_normal.tolist(), single)
    _close(
        np.asarray(lr.tangent_matrix(frame, components)),
        u @ core @ v.T + left_normal @ v.T + u @ single.astype(np.float64).T,
    )
    dense = u @ core @ v.T + left_normal @ v.T + u @ right_normal.T
    projected = lr.tangent_components(frame, dense.tolist())
    _close(np.asarray(projected.core), core)
    _close(np.asarray(projected.right_normal), right_normal)
    # g^N on the core block: sum A_ij^2 / a(s_i, s_j) (module docstring of low_rank)
    core_only = lr.TangentComponents(core, np.zeros((5, 2)), np.zeros((4, 2)))
    a = _a_coefficients(s[:2], DEPTH)
    _close(lr.tangent_inner_product(frame, core_only, core_only), np.sum(core**2 / a))
    square = rng.normal(size=(3, 3)) + 3 * np.eye(3)
    singular = np.linalg.svd(square, compute_uv=False)
    _close(
        oe.entropy_from_singular_values(singular.tolist(), DEPTH),
        oe.entropy(square, DEPTH),
    )
    packed = lf.factorize(np.array([[3, 1], [1, 2]]), 2)
    _close(lf.factored_end_to_end(packed.tolist(), 2, 2, 2), [[3.0, 1.0], [1.0, 2.0]])
