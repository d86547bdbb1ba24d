r"""Derivatives through the geometry of ``(M_d, g^N)`` under geomstats' autograd
backend: ``exp``, ``log`` and ``squared_dist`` as autograd primitives.

The integrator and the shooting solver are NumPy code that autograd cannot
trace, so each map gets its vector-Jacobian product from the geometry:

- ``squared_dist(X, Y)``: the first variation of energy (Gauss lemma),
  ``d/dX dist^2 = -2 g_X(log_X Y, .)``, i.e. the Euclidean gradient
  ``-2 A_X^{-1}(log_X Y)``, and symmetrically in ``Y``. No Jacobian needed.
- ``exp_X(V)``: the Jacobians ``d exp / dV`` and ``d exp / dX`` (values of Jacobi
  fields at ``t = 1``), by forward differences of geodesics integrated in one
  system with the unperturbed one (shared steps: consistent quotients).
- ``log_X(Y)``: the implicit function theorem on ``exp_X(log_X Y) = Y``:
  ``d log = J_V^{-1} (dY - J_X dX)``.

The exp and log products form dense ``nm x nm`` Jacobians: meant for small
matrices (geodesic regression, optimization through the geometry).
"""

from __future__ import annotations

import numpy as np
from autograd.extend import defvjp, defvjp_argnums, primitive

__all__ = ["exp_primitive", "log_primitive", "squared_dist_primitive"]

_FD_STEP = 1e-6
_JACOBIAN_RTOL = 1e-12


def _flat(array, shape):
    return np.broadcast_to(np.asarray(array, dtype=float), shape).reshape(
        (-1,) + shape[-2:]
    )


def exp_jacobians(metric, vector, point):
    """``(J_V, J_X)`` of ``exp_X(V)`` at one pair [n, m], each [nm, nm]."""
    k = vector.size
    basis = np.eye(k).reshape((k,) + vector.shape)
    step_v = _FD_STEP * max(1.0, float(np.linalg.norm(vector)))
    step_x = _FD_STEP * max(1.0, float(np.linalg.norm(point)))
    vectors = np.concatenate(
        [vector[None], vector + step_v * basis, np.broadcast_to(vector, basis.shape)]
    )
    points = np.concatenate(
        [point[None], np.broadcast_to(point, basis.shape), point + step_x * basis]
    )
    ends = metric._exp_flat(vectors, points, _JACOBIAN_RTOL)
    jac_v = (ends[1 : k + 1] - ends[0]).reshape(k, k).T / step_v
    jac_x = (ends[k + 1 :] - ends[0]).reshape(k, k).T / step_x
    return jac_v, jac_x


@primitive
def exp_primitive(tangent_vec, base_point, metric):
    """``metric.exp`` on plain arrays (autograd sees a primitive)."""
    return np.asarray(metric._exp_numpy(tangent_vec, base_point))


@primitive
def log_primitive(point, base_point, metric):
    """``metric.log`` on plain arrays (autograd sees a primitive)."""
    return np.asarray(metric._log_numpy(point, base_point))


def _defvjp_from_exp_jacobians(function, velocity_of, cotangents):
    """VJPs of ``function(first, base_point, metric)`` from the Jacobians of exp
    at ``(velocity_of(ans, first), base_point)``, formed once for all the
    arguments autograd asks about; ``cotangents(J_V, J_X, g)`` gives the pair
    of gradients for one problem."""

    def vjpmaker(argnums, ans, args, kwargs):
        first, base_point, metric = args
        shape = np.broadcast_shapes(np.shape(first), np.shape(base_point))
        velocities = _flat(velocity_of(ans, first), shape)
        bases = _flat(base_point, shape)
        jacobians = [
            exp_jacobians(metric, v, x) for v, x in zip(velocities, bases, strict=True)
        ]

        def vjp(g):
            g = np.asarray(g).reshape((len(jacobians), -1))
            pairs = [
                cotangents(jac_v, jac_x, row)
                for (jac_v, jac_x), row in zip(jacobians, g, strict=True)
            ]
            return tuple(
                _unbroadcast(
                    np.stack([pair[argnum] for pair in pairs]).reshape(shape),
                    np.shape(args[argnum]),
                )
                for argnum in argnums
            )

        return vjp

    defvjp_argnums(function, vjpmaker)


def _exp_cotangents(jac_v, jac_x, g):
    return jac_v.T @ g, jac_x.T @ g


def _log_cotangents(jac_v, jac_x, g):
    w = np.linalg.solve(jac_v.T, g)  # d log / dY = J_V^{-1}
    return w, -jac_x.T @ w


_defvjp_from_exp_jacobians(exp_primitive, lambda ans, first: first, _exp_cotangents)
_defvjp_from_exp_jacobians(log_primitive, lambda ans, first: ans, _log_cotangents)


@primitive
def squared_dist_primitive(point_a, point_b, metric):
    """``metric.squared_dist`` on plain arrays (autograd sees a primitive)."""
    return np.asarray(metric._squared_dist_numpy(point_a, point_b))


def _squared_dist_vjp(argnum):
    def make(ans, point_a, point_b, metric):
        base, other = (point_a, point_b) if argnum == 0 else (point_b, point_a)
        log = np.asarray(metric._log_numpy(other, base))
        # Gauss lemma: the Euclidean gradient of dist^2(., other) at base.
        gradient = -2.0 * np.asarray(metric.inverse_operator(log, base))

        def vjp(g):
            out = np.asarray(g)[..., None, None] * gradient
            return _unbroadcast(out, np.shape(base))

        return vjp

    return make


defvjp(squared_dist_primitive, _squared_dist_vjp(0), _squared_dist_vjp(1))


def _unbroadcast(array, shape):
    """Sum ``array`` down to ``shape`` (the adjoint of broadcasting)."""
    while array.ndim > len(shape):
        array = array.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and array.shape[axis] != 1:
            array = array.sum(axis=axis, keepdims=True)
    return array
