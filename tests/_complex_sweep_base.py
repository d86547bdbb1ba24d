"""Shared data, definitions and outcome records of the complex sweep
(``tests/test_complex_sweep.py``; issue 14): the complex test point, layers and
vectors, the definitions written out with conjugate transposes, and the two
outcomes ``aware(call, check)`` and ``refused(call, *names)``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tests.test_complex_downstairs import _balanced_layers

DIM, DEPTH = 3, 3
_RNG = np.random.default_rng(2026)


def _complex_gaussian(shape):
    return _RNG.normal(size=shape) + 1j * _RNG.normal(size=shape)


POINT = 0.3 * _complex_gaussian((DIM, DIM)) + np.eye(DIM)  # X, full rank
VECTOR = _complex_gaussian((DIM, DIM))  # Z
OTHER = _complex_gaussian((DIM, DIM))
LAYERS = np.array(_balanced_layers(POINT, DEPTH, _RNG))  # balanced W, phi(W) = X
LAYER_VECTOR = _complex_gaussian((DEPTH, DIM, DIM))  # V
ALGEBRA = _complex_gaussian((DEPTH - 1, DIM, DIM))  # a in gl(d, C)^{N-1}
HPD = POINT @ POINT.conj().T
HERMITIAN = VECTOR + VECTOR.conj().T


def _product(layers):
    result = layers[0]
    for layer in layers[1:]:
        result = layer @ result
    return result


def _adjoint(matrix):
    return np.conj(np.swapaxes(matrix, -1, -2))


def _re_inner(a, b):
    return float(np.real(np.vdot(a, b)))


def _close(a, b, tol=1e-9):
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(1.0, np.abs(b).max()))


def _differential(vector, layers):
    """``dphi_W(V) = sum_k W_N .. V_k .. W_1`` from the definition."""
    total = 0.0
    for k in range(len(layers)):
        varied = list(layers)
        varied[k] = vector[k]
        total = total + _product(varied)
    return total


def _moments(layers):
    return np.array(
        [
            layers[k] @ _adjoint(layers[k]) - _adjoint(layers[k + 1]) @ layers[k + 1]
            for k in range(len(layers) - 1)
        ]
    )


def _orbit_vector(algebra, layers):
    """``(w_a)_k = a_k W_k - W_k a_{k-1}``, ``a_0 = a_N = 0``."""
    padded = [np.zeros_like(layers[0]), *algebra, np.zeros_like(layers[0])]
    return np.array(
        [padded[k + 1] @ layers[k] - layers[k] @ padded[k] for k in range(len(layers))]
    )


def _a_coefficients(s, depth):
    """``a_ij = (s_i^2 - s_j^2) / (s_i^{2/N} - s_j^{2/N})``, ``N s^{2(N-1)/N}``."""
    x = s ** (2.0 / depth)
    same = np.equal.outer(s, s)
    difference = np.where(same, 1.0, np.subtract.outer(x, x))
    return np.where(
        same,
        depth * np.maximum.outer(x, x) ** (depth - 1),
        np.subtract.outer(s**2, s**2) / difference,
    )


# ------------------------------------------------------------------ outcomes
@dataclass
class Outcome:
    call: Callable
    check: Callable | None = None  # aware: check(result)
    names: tuple = ()  # refused: the function or argument names


def aware(call, check):
    return Outcome(call, check=check)


def refused(call, *names):
    return Outcome(call, names=names)


def _is_projector(project, vector, tangent_check=None):
    """Idempotent and self-adjoint for Re tr; ``tangent_check`` of the image."""

    def check(result):
        _close(project(result), result)
        other = project(LAYER_VECTOR[::-1].copy())
        _close(_re_inner(result, LAYER_VECTOR[::-1]), _re_inner(vector, other))
        if tangent_check is not None:
            tangent_check(result)

    return check


def _tangent_to_balanced(result):
    """``dG_W(V) = 0``: tangent to the level set ``G = 0``."""
    differential = np.array(
        [
            result[k] @ _adjoint(LAYERS[k])
            + LAYERS[k] @ _adjoint(result[k])
            - _adjoint(result[k + 1]) @ LAYERS[k + 1]
            - _adjoint(LAYERS[k + 1]) @ result[k + 1]
            for k in range(DEPTH - 1)
        ]
    )
    assert np.abs(differential).max() < 1e-9
