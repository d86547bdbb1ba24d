"""The submodules' part of the complex sweep (``tests/test_complex_sweep.py``;
issue 14): the public names that live only in a submodule of geomstats_dln.

:func:`submodule_entry_points` enumerates every public module of the package
(``geomstats_dln.<module>``, the submodules of ``dynamics`` and ``report``): the
names of its ``__all__`` (else the functions and classes it defines) and the
public methods of its classes, keyed ``<module>.<name>`` and
``<module>.<Class>.<method>``. A name that is the same object as one of
``geomstats_dln.__all__`` or ``geomstats_dln.dynamics.__all__`` (or a method of
their classes: mixins, inherited methods) is swept under that name and left
out here. :func:`submodule_table` says how each remaining name is called with
complex input and which outcome is required (``aware``: checked against a
definition with conjugate transposes; ``refused``: a ``TypeError`` naming the
dtype and the function or argument); :data:`SUBMODULE_EXEMPT` gives the reason
of each name not swept, :data:`SKIPPED_MODULES` that of each module not
enumerated. No name is an expected failure: the last leaks (``low_rank``,
``orbit_entropy``, ``dynamics.low_rank_flows``) refuse complex input now.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import tempfile

import numpy as np

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
    _close,
    _orbit_vector,
    _product,
    _re_inner,
    aware,
    refused,
)

# ------------------------------------------------------------- enumeration
SKIPPED_MODULES = {
    f"report.{name}": "a report section, run by run_report on its own data"
    for name in (
        "balanced_section complex_downstairs_checks complex_section dynamics_section "
        "end_to_end_section fibers_section low_rank_section optimization_section "
        "statistics_section thermodynamics_section"
    ).split()
}
SKIPPED_MODULES["dynamics"] = "its __all__ is swept as dynamics.<name>"


def _public_modules():
    """``(key, module)`` for every public module of geomstats_dln."""
    found = []
    for info in pkgutil.iter_modules(dln.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"geomstats_dln.{info.name}")
        found.append((info.name, module))
        if info.ispkg:
            for sub in pkgutil.iter_modules(module.__path__):
                if not sub.name.startswith("_"):
                    found.append(
                        (
                            f"{info.name}.{sub.name}",
                            importlib.import_module(
                                f"geomstats_dln.{info.name}.{sub.name}"
                            ),
                        )
                    )
    return found


def _module_names(module):
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isfunction(value) or inspect.isclass(value))
        and value.__module__ == module.__name__
    ]


def _methods(klass):
    """``{name: object}`` of the public methods that geomstats_dln defines
    for ``klass`` (over its MRO, nearest first)."""
    methods = {}
    for base in klass.__mro__:
        if not base.__module__.startswith("geomstats_dln"):
            continue
        for name, value in vars(base).items():
            if name.startswith("_") or name == "default_metric" or name in methods:
                continue
            if callable(value) or isinstance(value, (staticmethod, classmethod)):
                methods[name] = value
    return methods


def _top_level_objects():
    """ids of the objects swept under the top-level names (and their methods)."""
    objects = []
    for package in (dln, dln.dynamics):
        for name in package.__all__:
            value = getattr(package, name)
            objects.append(value)
            if inspect.isclass(value):
                objects.extend(_methods(value).values())
    return {id(value) for value in objects if not isinstance(value, (str, int))}


def submodule_entry_points() -> list[str]:
    """The public names of the submodules not swept at the top level."""
    covered = _top_level_objects()
    names = []
    for key, module in _public_modules():
        if key in SKIPPED_MODULES:
            continue
        for name in _module_names(module):
            value = getattr(module, name)
            if not isinstance(value, (str, int)) and id(value) in covered:
                continue
            names.append(f"{key}.{name}")
            if inspect.isclass(value):
                names.extend(
                    f"{key}.{name}.{method}"
                    for method, obj in _methods(value).items()
                    if id(obj) not in covered
                )
    return sorted(set(names))


def public_module_keys() -> list[str]:
    return sorted(key for key, _ in _public_modules())


# ------------------------------------------------------------------- data
_RNG = np.random.default_rng(14)
REAL_POINTS = np.stack(
    [np.eye(DIM) + 0.1 * _RNG.normal(size=(DIM, DIM)) for _ in range(4)]
)  # one determinant component, near I
COMPLEX_POINTS = np.stack([POINT, POINT + 0.1 * VECTOR, POINT + 0.1 * OTHER])
COMPLEX_ENSEMBLE = np.stack([LAYERS, LAYERS + 0.1 * LAYER_VECTOR])  # [n, N, d, d]
COMPLEX_DISTANCES = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 1.5], [2.0, 1.5, 0.0]]) + 0j


def _in_tmp(call):
    """Run ``call(directory)`` in a fresh temporary directory; the directory
    must stay empty (nothing is written for refused input)."""
    with tempfile.TemporaryDirectory() as directory:
        try:
            return call(directory)
        finally:
            assert os.listdir(directory) == [], os.listdir(directory)


# ------------------------------------------------------------------ table
def _statistics_and_clustering():
    from geomstats_dln import clustering as cl
    from geomstats_dln import statistics as st

    c, r = COMPLEX_POINTS, REAL_POINTS
    adapter = st.SklearnAdapter((DIM, DIM), DEPTH)
    flat = c.reshape(len(c), -1)

    def fitted_pca():
        return st.TangentPCA(depth=DEPTH).fit(r)

    return {
        "statistics.FrechetMean.fit": [
            refused(lambda: st.FrechetMean(depth=DEPTH).fit(c), "FrechetMean.fit"),
            refused(lambda: st.FrechetMean(depth=DEPTH, init=POINT).fit(r), "init"),
        ],
        "statistics.SklearnAdapter.flatten": [
            refused(lambda: adapter.flatten(c), "SklearnAdapter.flatten")
        ],
        "statistics.SklearnAdapter.unflatten": [
            refused(lambda: adapter.unflatten(flat), "SklearnAdapter.unflatten")
        ],
        "statistics.SklearnAdapter.distances": [
            refused(lambda: adapter.distances(c), "SklearnAdapter.distances"),
            refused(lambda: adapter.distances(flat), "SklearnAdapter.distances"),
        ],
        "statistics.SklearnAdapter.cross_distances": [
            refused(lambda: adapter.cross_distances(c, r), "queries"),
            refused(lambda: adapter.cross_distances(r, c), "points"),
        ],
        "statistics.SklearnAdapter.metric": [
            refused(lambda: adapter.metric(flat[0], r[0].ravel()), "flat_a"),
            refused(lambda: adapter.metric(r[0].ravel(), flat[0]), "flat_b"),
        ],
        "statistics.TangentPCA.fit": [
            refused(lambda: st.TangentPCA(depth=DEPTH).fit(c), "TangentPCA.fit"),
            refused(
                lambda: st.TangentPCA(depth=DEPTH, base_point=POINT).fit(r),
                "base_point",
            ),
        ],
        "statistics.TangentPCA.transform": [
            refused(lambda: fitted_pca().transform(c), "TangentPCA.transform")
        ],
        "statistics.TangentPCA.inverse_transform": [
            refused(
                lambda: fitted_pca().inverse_transform(1j * np.ones((1, 2))),
                "TangentPCA.inverse_transform",
            )
        ],
        "statistics.aligned_weight_average": [
            refused(
                lambda: st.aligned_weight_average(COMPLEX_ENSEMBLE),
                "aligned_weight_average",
            )
        ],
        "statistics.naive_weight_average": [
            refused(
                lambda: st.naive_weight_average(COMPLEX_ENSEMBLE),
                "naive_weight_average",
            )
        ],
        "statistics.as_end_to_end": [
            refused(lambda: st.as_end_to_end(c), "as_end_to_end"),
            refused(lambda: st.as_end_to_end(COMPLEX_ENSEMBLE), "as_end_to_end"),
        ],
        "statistics.determinant_components": [
            refused(lambda: st.determinant_components(c), "determinant_components")
        ],
        "statistics.group_by_component": [
            refused(lambda: st.group_by_component(c), "group_by_component")
        ],
        "statistics.pairwise_distances": [
            refused(lambda: st.pairwise_distances(c, DEPTH), "pairwise_distances")
        ],
        "statistics.cross_distances": [
            refused(lambda: st.cross_distances(c, r, DEPTH), "queries"),
            refused(lambda: st.cross_distances(r, c, DEPTH), "points"),
        ],
        "statistics.dln_metric": [
            refused(lambda: st.dln_metric(c, DEPTH), "dln_metric")
        ],
        "statistics.whiten": [
            refused(lambda: st.whiten(VECTOR, r[0], DEPTH), "tangent_vecs"),
            refused(lambda: st.whiten(r[0], POINT, DEPTH), "base_point"),
        ],
        "clustering.KMeans.fit": [
            refused(lambda: cl.KMeans(2, depth=DEPTH).fit(c), "KMeans.fit"),
            refused(
                lambda: cl.KMeans(2, depth=DEPTH).fit(
                    r[:3], distances=COMPLEX_DISTANCES
                ),
                "distances",
            ),
        ],
        "clustering.KMedoids.fit": [
            refused(
                lambda: cl.KMedoids(2, random_state=0).fit(COMPLEX_DISTANCES),
                "distances",
            )
        ],
        "clustering.check_distance_matrix": [
            refused(
                lambda: cl.check_distance_matrix(COMPLEX_DISTANCES),
                "check_distance_matrix",
            )
        ],
        "clustering.mds_embedding": [
            refused(lambda: cl.mds_embedding(COMPLEX_DISTANCES), "distances")
        ],
    }


def _optimization_and_connection():
    from geomstats_dln import connection as cn
    from geomstats_dln import optimization as op
    from geomstats_dln._spectral import _full_frame

    x, z, w, v = POINT, VECTOR, LAYERS, LAYER_VECTOR
    real_x, real_w = POINT.real, np.asarray(dln.center(POINT.real, DEPTH))
    manifold = op.DLNManifold(DIM, depth=DEPTH)
    euclidean = op.DLNManifold(DIM, depth=1, retraction="euclidean")
    balanced = op.BalancedDLNManifold(DIM, DEPTH)
    quadratic = dln.QuadraticLoss(np.eye(DIM))

    class _UserLoss(dln.losses.Loss):
        """``E(X) = 1/4 |X|^4``: not a closed-form loss, so the Hessian-vector
        product takes its finite-difference path."""

        def __init__(self):
            super().__init__((DIM, DIM))

        def _value(self, point):
            return 0.25 * np.sum(point**2) ** 2

        def _gradient(self, point):
            return np.sum(point**2) * point

    table = {
        "optimization.second_order_retraction": [
            refused(lambda: op.second_order_retraction(x, real_x, DEPTH), "point"),
            refused(
                lambda: op.second_order_retraction(real_x, z, DEPTH), "tangent_vec"
            ),
        ],
        "optimization.euclidean_hessian_vector": [
            refused(lambda: op.euclidean_hessian_vector(quadratic, real_x, z), "vec"),
            refused(lambda: op.euclidean_hessian_vector(quadratic, x, real_x), "point"),
            refused(
                lambda: op.euclidean_hessian_vector(_UserLoss(), real_x, z),
                "euclidean_hessian_vector",
            ),
        ],
        "connection.christoffel_contraction": [
            refused(
                lambda: cn.christoffel_contraction(x, z, z, DEPTH),
                "christoffel_contraction",
            )
        ],
        "connection.riemannian_hessian_in_frame": [
            refused(
                lambda: cn.riemannian_hessian_in_frame(
                    _full_frame(real_x, DEPTH), z, real_x, real_x
                ),
                "riemannian_hessian_in_frame",
            )
        ],
    }
    dln_manifold_calls = {
        "inner_product": [
            lambda: manifold.inner_product(x, real_x, real_x),
            lambda: manifold.inner_product(real_x, z, real_x),
        ],
        "norm": [lambda: manifold.norm(real_x, z)],
        "projection": [lambda: manifold.projection(real_x, z)],
        "to_tangent_space": [lambda: manifold.to_tangent_space(real_x, z)],
        "embedding": [lambda: manifold.embedding(real_x, z)],
        "euclidean_to_riemannian_gradient": [
            lambda: manifold.euclidean_to_riemannian_gradient(real_x, z),
            lambda: euclidean.euclidean_to_riemannian_gradient(real_x, z),
        ],
        "euclidean_to_riemannian_hessian": [
            lambda: manifold.euclidean_to_riemannian_hessian(real_x, real_x, z, real_x),
            lambda: euclidean.euclidean_to_riemannian_hessian(
                real_x, real_x, z, real_x
            ),
        ],
        "retraction": [
            lambda: manifold.retraction(real_x, 0.01 * z),
            lambda: euclidean.retraction(x, real_x),
        ],
        "exp": [lambda: manifold.exp(real_x, 0.01 * z)],
        "log": [lambda: manifold.log(real_x, x)],
        "dist": [lambda: manifold.dist(real_x, x)],
        "transport": [lambda: manifold.transport(real_x, real_x, z)],
        "random_tangent_vector": [lambda: manifold.random_tangent_vector(x)],
    }
    for name, calls in dln_manifold_calls.items():
        table[f"optimization.DLNManifold.{name}"] = [
            refused(call, "DLNManifold", "complex geodesics") for call in calls
        ]
    balanced_calls = {
        "inner_product": lambda: balanced.inner_product(real_w, v, v),
        "norm": lambda: balanced.norm(real_w, v),
        "projection": lambda: balanced.projection(real_w, v),
        "to_tangent_space": lambda: balanced.to_tangent_space(w, real_w),
        "euclidean_to_riemannian_gradient": lambda: (
            balanced.euclidean_to_riemannian_gradient(real_w, v)
        ),
        "retraction": lambda: balanced.retraction(real_w, 0.01 * v),
        "exp": lambda: balanced.exp(real_w, 0.01 * v),
        "transport": lambda: balanced.transport(real_w, real_w, v),
        "random_tangent_vector": lambda: balanced.random_tangent_vector(w),
    }
    for name, call in balanced_calls.items():
        table[f"optimization.BalancedDLNManifold.{name}"] = [
            refused(call, "BalancedDLNManifold", "balanced_exp")
        ]
    return table


def _networks_losses_datasets_analysis():
    from geomstats_dln import analysis as an
    from geomstats_dln import datasets as ds
    from geomstats_dln import losses as lo
    from geomstats_dln import networks as nw

    w = LAYERS
    real = [np.asarray(layer) for layer in dln.center(POINT.real, DEPTH)]
    real_task = (np.ones((DIM, 5)), np.ones((DIM, 5)), np.ones((DIM, 2)))

    def task(inputs):
        loss = dln.RegressionLoss(np.ones((DIM, 5)), np.ones((DIM, 5)))
        return ds.DigitsTask(inputs, *real_task, loss, loss)

    return {
        "networks.align_layers": [
            refused(lambda: nw.align_layers(list(w), real), "target"),
            refused(lambda: nw.align_layers(real, list(w)), "source"),
        ],
        "networks.balanced_layers": [
            refused(
                lambda: nw.balanced_layers(POINT, [DIM] * (DEPTH + 1)),
                "balanced_layers",
            )
        ],
        "losses.random_mask": [
            refused(lambda: lo.random_mask((DIM, DIM), 0.5 + 0j), "fraction")
        ],
        "losses.completion_problem": [
            refused(lambda: lo.completion_problem(DIM, fraction=0.5 + 0j), "fraction")
        ],
        "datasets.DigitsTask": [
            refused(lambda: task(np.ones((DIM, 5)) * 1j), "DigitsTask", "inputs")
        ],
        "datasets.train_ensemble": [
            refused(
                lambda: ds.train_ensemble(task(np.ones((DIM, 5))), scale=0.5 + 0j),
                "scale",
            ),
            refused(
                lambda: ds.train_ensemble(task(np.ones((DIM, 5))), step_size=0.1j),
                "step_size",
            ),
        ],
        "analysis.analyze_ensemble": [
            refused(
                lambda: _in_tmp(lambda d: an.analyze_ensemble(COMPLEX_ENSEMBLE, d)),
                "analyze_ensemble",
            )
        ],
    }


def _geometry_helpers():
    from geomstats_dln import bures_wasserstein as bw
    from geomstats_dln import fibers as fi
    from geomstats_dln import low_rank as lr
    from geomstats_dln import orbit_entropy as oe
    from geomstats_dln import parameters as pa
    from geomstats_dln.dynamics import low_rank_flows as lf

    w, v, x, z = LAYERS, LAYER_VECTOR, POINT, VECTOR
    complex_space = dln.DLNParameterSpace(DIM, DEPTH, field="complex")
    real_x = POINT.real
    frame = lr.low_rank_frame(real_x, 2, DEPTH)
    components = lr.tangent_components(frame, real_x)
    complex_components = lr.TangentComponents(
        1j * components.core, components.left_normal, components.right_normal
    )
    complex_right_normal = lr.TangentComponents(
        components.core, components.left_normal, 1j * components.right_normal
    )
    unitary = np.linalg.qr(x)[0][:, :2]
    quadratic = dln.QuadraticLoss(np.eye(DIM))
    complex_state = (1 + 1j) * np.ones(2 * DIM * 2)  # factors [n, r] and [m, r]

    def check_partial_products(result):
        above, below = (np.asarray(part) for part in result)
        identity = np.eye(DIM)
        for k in range(DEPTH):
            _close(above[k], _product(w[k + 1 :]) if k + 1 < DEPTH else identity)
            _close(below[k], _product(w[:k]) if k > 0 else identity)

    def check_gram(result):
        basis = np.asarray(complex_space.basis)
        gram = np.array([[_re_inner(a, b) for b in basis] for a in basis])
        _close(np.asarray(result), gram)

    return {
        "bures_wasserstein.lyapunov": [
            aware(
                lambda: bw.lyapunov(HPD, HERMITIAN),
                lambda r: (
                    _close(HPD @ r + r @ HPD, HERMITIAN),
                    _close(r, np.conj(r).T),
                ),
            )
        ],
        "parameters.partial_products": [
            aware(lambda: pa.partial_products(w), check_partial_products)
        ],
        "parameters.FrobeniusMetric.metric_matrix": [
            aware(lambda: complex_space.metric.metric_matrix(w), check_gram)
        ],
        "fibers.fiber_adjoint": [
            # the adjoint of a -> w_a for Re tr
            aware(
                lambda: fi.fiber_adjoint(v, w),
                lambda r: _close(
                    _re_inner(r, ALGEBRA), _re_inner(v, _orbit_vector(ALGEBRA, w))
                ),
            )
        ],
        "low_rank.truncated_svd": [
            refused(lambda: lr.truncated_svd(x, 2), "truncated_svd")
        ],
        "low_rank.low_rank_frame": [
            refused(lambda: lr.low_rank_frame(x, 2, DEPTH), "low_rank_frame")
        ],
        "low_rank.frame_from_factors": [
            refused(
                lambda: lr.frame_from_factors(
                    unitary, np.array([2.0, 1.0]), unitary, DEPTH
                ),
                "frame_from_factors",
            ),
            refused(
                lambda: lr.frame_from_factors(
                    frame.left, frame.singular_values + 0j, frame.right, DEPTH
                ),
                "singular_values",
            ),
            refused(
                lambda: lr.frame_from_factors(
                    frame.left, frame.singular_values, 1j * frame.right, DEPTH
                ),
                "right",
            ),
        ],
        "low_rank.tangent_components": [
            refused(lambda: lr.tangent_components(frame, z), "tangent_components")
        ],
        "low_rank.tangent_matrix": [
            refused(
                lambda: lr.tangent_matrix(frame, complex_components), "tangent_matrix"
            ),
            refused(
                lambda: lr.tangent_matrix(frame, complex_right_normal),
                "components.right_normal",
            ),
        ],
        "low_rank.tangent_inner_product": [
            refused(
                lambda: lr.tangent_inner_product(frame, complex_components, components),
                "tangent_inner_product",
            ),
            refused(
                lambda: lr.tangent_inner_product(frame, components, complex_components),
                "components_b",
            ),
        ],
        "low_rank.apply_rank_operator": [
            refused(
                lambda: lr.apply_rank_operator(frame, complex_components),
                "apply_rank_operator",
            )
        ],
        "low_rank.rank_hamiltonian_gradient": [
            refused(
                lambda: lr.rank_hamiltonian_gradient(frame, z),
                "rank_hamiltonian_gradient",
            )
        ],
        "orbit_entropy.entropy_from_singular_values": [
            refused(
                lambda: oe.entropy_from_singular_values(
                    np.array([3.0, 2.0, 1.0]) + 0.5j, DEPTH
                ),
                "singular_values",
            )
        ],
        "orbit_entropy.entropy_gradient_from_singular_values": [
            refused(
                lambda: oe.entropy_gradient_from_singular_values(
                    np.array([3.0, 2.0, 1.0]) + 0.5j, DEPTH
                ),
                "singular_values",
            )
        ],
        "orbit_entropy.log_orthogonal_group_volume": [
            refused(lambda: oe.log_orthogonal_group_volume(3 + 0j), "dim")
        ],
        "orbit_entropy.log_unitary_group_volume": [
            refused(lambda: oe.log_unitary_group_volume(3 + 0j), "dim")
        ],
        "dynamics.low_rank_flows.factorize": [
            refused(lambda: lf.factorize(x, 2), "factorize")
        ],
        "dynamics.low_rank_flows.unpack_factors": [
            refused(
                lambda: lf.unpack_factors(complex_state, DIM, DIM, 2), "unpack_factors"
            )
        ],
        "dynamics.low_rank_flows.factored_end_to_end": [
            refused(
                lambda: lf.factored_end_to_end(complex_state, DIM, DIM, 2),
                "factored_end_to_end",
            )
        ],
        "dynamics.low_rank_flows.to_svd_coordinates_2x2": [
            refused(lambda: lf.to_svd_coordinates_2x2(x[:2, :2]), "to_svd")
        ],
        "dynamics.low_rank_flows.from_svd_coordinates_2x2": [
            refused(
                lambda: lf.from_svd_coordinates_2x2(np.array([2.0, 1.0, 0.1, 0.2j])),
                "from_svd",
            )
        ],
        "dynamics.low_rank_flows.fixed_rank_gradient_field": [
            refused(
                lambda: lf.fixed_rank_gradient_field(quadratic, DEPTH, 2)(x),
                "fixed_rank_gradient_field",
                "gradient",
            )
        ],
        "dynamics.low_rank_flows.factored_gradient_field": [
            refused(
                lambda: lf.factored_gradient_field(quadratic, DEPTH, 2)(complex_state),
                "factored_gradient_field",
                "gradient",
            )
        ],
        "dynamics.low_rank_flows.svd_coordinates_field_2x2": [
            refused(
                lambda: lf.svd_coordinates_field_2x2(
                    dln.QuadraticLoss(np.eye(2)), DEPTH
                )(np.array([2.0, 1.0, 0.1, 0.2]) * (1 + 1j)),
                "gradient",
            )
        ],
    }


def submodule_table():
    table = {}
    for part in (
        _statistics_and_clustering(),
        _optimization_and_connection(),
        _networks_losses_datasets_analysis(),
        _geometry_helpers(),
    ):
        table.update(part)
    return table


# ----------------------------------------------------------- not swept, why
_OPTIONS = "the constructor stores sizes or options, no array (validated in fit)"
_NO_ARRAY = "no array argument"
_RECORD = "a record (dataclass or named tuple) of results"
_REPORT = "report framework: names, figures, directories, no array input"
NOT_IMPLEMENTED = "NotImplementedError for any input, over R too"
SUBMODULE_EXEMPT = {
    "analysis.ANALYSIS_FILE": "a file name",
    "interpolation.PATHS": "a tuple of names",
    "interpolation.InterpolationPaths": _RECORD,
    "interpolation.InterpolationPaths.network": "rebuilds a stored (real) network",
    "interpolation.interpolate": (
        "takes LinearNetworks: complex layers are refused when a network is "
        "built (LinearNetwork, swept)"
    ),
    "statistics.FrechetMean": _OPTIONS,
    "statistics.FrechetMean.lift": "no array argument (widths; the mean is real)",
    "statistics.SklearnAdapter": "the constructor takes a shape and a depth",
    "statistics.TangentPCA": _OPTIONS,
    "clustering.KMeans": _OPTIONS,
    "clustering.KMedoids": _OPTIONS,
    "networks.load_layers_npz": (
        "reads a file: complex layers are a ValueError naming the dtype "
        "(asserted by test_complex_files_are_refused)"
    ),
    "optimization.DLNManifold": "the constructor takes sizes and options",
    "optimization.BalancedDLNManifold": "the constructor takes sizes and options",
    "optimization.DLNManifold.random_point": _NO_ARRAY,
    "optimization.BalancedDLNManifold.random_point": _NO_ARRAY,
    "optimization.DLNManifold.zero_vector": (
        "ignores its point (the real zero of the manifold's shape)"
    ),
    "optimization.BalancedDLNManifold.zero_vector": (
        "ignores its point (the real zero of the manifold's shape)"
    ),
    "optimization.pymanopt_problem": (
        "takes a manifold and a Loss (the losses refuse complex data, swept)"
    ),
    "optimization.balanced_pymanopt_problem": (
        "takes a manifold and a Loss (the losses refuse complex data, swept)"
    ),
    "connection.DLNConnectionMixin": "a mixin of DLNMetric (methods swept there)",
    "bures_wasserstein_connection.BuresWassersteinConnectionMixin": (
        "a mixin of DLNBuresWassersteinMetric (methods swept there)"
    ),
    "losses.Loss": "an abstract base class (its subclasses are swept)",
    "losses.low_rank_matrix": "sizes, a rank and a seed: no array input",
    "losses.sensing_problem": "sizes, a rank and a seed: no array input",
    "losses.two_by_two_completion": "no argument",
    "datasets.DigitsTask.least_squares": (
        "no array argument (the task's arrays are refused at construction)"
    ),
    "datasets.digits_regression": "sizes, a fraction and a seed: no array input",
    "low_rank.LowRankFrame": _RECORD,
    "low_rank.TangentComponents": _RECORD,
    "low_rank.check_low_rank_depth": "validates sizes (depth, rank, n, m)",
    "fibers.FiberSolverError": "an exception class",
    "fibers.FiberMetric": "the constructor takes a space",
    "fibers.FiberMetric.metric_matrix": (
        "FrobeniusMetric.metric_matrix (swept on the complex parameter space): "
        "ignores its base point"
    ),
    "fibers.Regularizer": "an abstract base class (its subclasses are swept)",
    "parameters.FrobeniusMetric": "the constructor takes a space",
    "cli.ReportInputError": "an exception class",
    "cli.OneLineErrorGroup": "command-line parsing (strings)",
    "cli.OneLineErrorGroup.main": "command-line parsing (strings)",
    "dynamics.integrators.StepSizeError": "an exception class",
    "dynamics.langevin_upstairs.UpstairsReport": _RECORD,
    "dynamics.langevin_upstairs.UpstairsReport.as_info": _NO_ARRAY,
}
for _name in (
    "exp log geodesic squared_dist dist christoffels parallel_transport "
    "injectivity_radius"
).split():
    SUBMODULE_EXEMPT[f"fibers.FiberMetric.{_name}"] = NOT_IMPLEMENTED
for _name in ("value", "gradient"):
    SUBMODULE_EXEMPT[f"fibers.Regularizer.{_name}"] = NOT_IMPLEMENTED
for _name in (
    "Check ReportContext ReportContext.figure_path ReportContext.substep SECTIONS "
    "Section SectionResult format_float markdown_table new_figure "
    "register_section run_report save_figure"
).split():
    SUBMODULE_EXEMPT[f"report.{_name}"] = _REPORT


def not_implemented_calls():
    """The calls behind the ``NOT_IMPLEMENTED`` exemptions, on real input."""
    real_x = POINT.real + 2 * np.eye(DIM)
    layers = np.asarray(dln.center(real_x, DEPTH))
    metric = dln.Fiber(real_x, DEPTH).metric
    calls = {
        f"fibers.FiberMetric.{name}": (
            lambda name=name: getattr(metric, name)(layers, layers)
        )
        for name in (
            "exp log geodesic squared_dist dist christoffels parallel_transport "
            "injectivity_radius"
        ).split()
    }
    regularizer = dln.fibers.Regularizer()
    calls["fibers.Regularizer.value"] = lambda: regularizer.value(layers)
    calls["fibers.Regularizer.gradient"] = lambda: regularizer.gradient(layers)
    return calls
