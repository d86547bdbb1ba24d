r"""Shared pieces of the stochastic simulators (internal): argument checks,
random generators, the SVD frame of ``X`` and the Trajectory recorder.

Notation of docs/mathematics.md §3: ``X = U S V^T``, ``a_ij`` the
coefficients of ``A_{N,X}``, power coordinates ``x = s^{2/N}``, ``f(x) = x^N``
(``f = exp``, ``x = log s^2`` for ``N = inf``).
"""

from __future__ import annotations

import math

import numpy as np
from tqdm.auto import tqdm

from geomstats_dln._spectral import (
    check_finite_matrix,
    dln_coefficients,
)
from geomstats_dln._validation import as_float_array, as_real_number
from geomstats_dln.dynamics.integrators import Trajectory
from geomstats_dln.orbit_entropy import entropy_gradient_from_singular_values

SCHEMES = ("euler_maruyama", "heun")
LEVELS = ("downstairs", "upstairs")
RETRACTIONS = ("normal", "procrustes")


# ----------------------------------------------------------------- validation
def _check_positive(value, name) -> float:
    value = as_real_number(value, name)
    if not (np.isfinite(value) and value > 0.0):
        raise ValueError(f"{name} must be positive and finite, got {value}")
    return value


def _check_count(value, name) -> int:
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_strength(value, name) -> float:
    value = as_real_number(value, name)
    if not (np.isfinite(value) and value >= 0.0):
        raise ValueError(f"{name} must be finite and >= 0, got {value}")
    return value


def _check_choice(value, name, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def _rng(rng):
    """A ``numpy.random.Generator`` from a generator, a seed or ``None``.

    Any object with a ``standard_normal(shape)`` method is used as it is (tests
    pass deterministic "noises", e.g. antithetic basis vectors).
    """
    if isinstance(rng, np.random.Generator) or hasattr(rng, "standard_normal"):
        return rng
    return np.random.default_rng(rng)


def _noise_scale(beta, dt, strength=1.0):
    """``strength * sqrt(2 dt / beta)`` (0 at ``beta = inf``)."""
    return strength * math.sqrt(2.0 * dt / beta) if math.isfinite(beta) else 0.0


# ------------------------------------------------------------ spectral pieces
def _svd(point):
    """Full SVD of ``point`` [..., n, m] with ``n <= m`` (NumPy)."""
    return np.linalg.svd(point, full_matrices=True)


def _brownian_weights(singular_values, depth):
    """``s f''(x) / f'(x)``: ``(N - 1) s^{1 - 2/N}``, or ``s`` for ``N = inf``."""
    if depth == math.inf:
        return singular_values
    if depth == 1:
        return np.zeros(singular_values.shape)
    return (depth - 1) * singular_values ** (1.0 - 2.0 / depth)


def _diagonal_coefficients(singular_values, depth):
    """``a_ii``: ``N s^{2(N-1)/N}``, or ``s^2`` for ``N = inf``."""
    if depth == math.inf:
        return singular_values**2
    return depth * singular_values ** (2.0 * (depth - 1) / depth)


def _noise_weights(singular_values, depth, beta, gauge_noise, observable_noise):
    """Diagonal (in the frame) of the noise-induced drift of the downstairs RLE:
    ``beta^{-1} (gamma_o^2 s f''/f' + gamma_g^2 a_ii dS/ds_i)``."""
    if not math.isfinite(beta):
        return np.zeros(singular_values.shape)
    weights = observable_noise**2 * _brownian_weights(singular_values, depth)
    if gauge_noise != 0.0 and depth != 1 and singular_values.shape[-1] > 1:
        entropic = _diagonal_coefficients(singular_values, depth) * np.asarray(
            entropy_gradient_from_singular_values(singular_values, depth)
        )
        weights = weights + gauge_noise**2 * entropic
    return weights / beta


def _as_matrix(point):
    """Finite real matrices [..., n, m] as float64 (complex: ``TypeError``)."""
    point = np.asarray(as_float_array(point, "point"))
    check_finite_matrix(point)
    return point


def _square(point, what):
    if point.shape[-1] != point.shape[-2]:
        raise ValueError(
            f"{what} is defined for square end-to-end matrices, got shape {point.shape}"
        )


class _Frame:
    """Full SVD frame of ``X`` [..., n, m], transposed inside when ``n > m``."""

    def __init__(self, point, depth):
        self.transposed = point.shape[-2] > point.shape[-1]
        inner = np.swapaxes(point, -1, -2) if self.transposed else point
        n, m = inner.shape[-2:]
        if depth == math.inf and n != m:
            raise ValueError(
                "the infinite-depth metric is degenerate on rectangular matrices; "
                f"got shape {point.shape}"
            )
        self.left, self.s, self.right_t = _svd(inner)
        padded = self.s
        if m > n:
            padded = np.concatenate(
                [self.s, np.zeros(self.s.shape[:-1] + (m - n,))], -1
            )
        self.coefficients = dln_coefficients(self.s, padded, depth, np)  # [..., n, m]
        self.shape = (n, m)

    def rotate(self, matrix):
        """``U^T Z V`` (``Z`` in the caller's orientation)."""
        if self.transposed:
            matrix = np.swapaxes(matrix, -1, -2)
        return (
            np.swapaxes(self.left, -1, -2) @ matrix @ np.swapaxes(self.right_t, -1, -2)
        )

    def unrotate(self, matrix):
        """``U M V^T`` back in the caller's orientation."""
        result = self.left @ matrix @ self.right_t
        return np.swapaxes(result, -1, -2) if self.transposed else result

    def diagonal(self, weights):
        """``diag(weights)`` as an ``n x m`` frame matrix."""
        n, m = self.shape
        out = np.zeros(weights.shape[:-1] + (n, m))
        index = np.arange(n)
        out[..., index, index] = weights
        return out


def _progress(n_steps, progress, description):
    return tqdm(range(n_steps), disable=not progress, desc=description, leave=False)


def _recorder(record_every):
    if record_every is None:
        return None
    return _check_count(record_every, "record_every")


def _finish(states, times, record_every, observables, info):
    if record_every is None:
        return states[-1]
    stacked = np.stack(states)
    recorded = {
        name: np.asarray(function(stacked)) for name, function in observables.items()
    }
    return Trajectory(np.asarray(times), stacked, recorded, info)


def _singular_values(matrix):
    return np.linalg.svd(matrix, compute_uv=False)
