"""Initial networks: the menu of Arora, Cohen, Hu and Luo (2019), plus balanced ones.

Every initializer returns parameters ``W`` of shape ``[N, d, d]`` (or
``[n_samples, N, d, d]``) whose layers have singular values of order ``scale``,
so that ``X = phi(W)`` has singular values of order ``scale^N``.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import ortho_group

from geomstats_dln.balanced import center, gauge_action

__all__ = ["INITIALIZERS", "initialize"]

INITIALIZERS = (
    "balanced",
    "balanced_random_gauge",
    "gaussian",
    "orthogonal",
    "identity",
)


def _orthogonal(rng, dim, size):
    if dim == 1:  # ortho_group needs dim >= 2
        return rng.choice([-1.0, 1.0], size=size + (1, 1))
    flat = ortho_group.rvs(dim, size=int(np.prod(size, dtype=int)), random_state=rng)
    return np.reshape(flat, size + (dim, dim))


def initialize(
    kind: str,
    dim: int,
    depth: int,
    scale: float = 1.0,
    seed=None,
    n_samples: int | None = None,
) -> np.ndarray:
    """A random initial network.

    Parameters
    ----------
    kind : str
        - ``"gaussian"``: i.i.d. entries ``N(0, scale^2 / d)``;
        - ``"orthogonal"``: ``scale`` times Haar-random orthogonal layers;
        - ``"identity"``: ``W_k = scale * I`` (deterministic, balanced);
        - ``"balanced"``: :func:`~geomstats_dln.center` of
          ``X_0 = scale^N G``, ``G`` with entries ``N(0, 1/d)`` (balanced, all
          gauges ``I``; MATH §4);
        - ``"balanced_random_gauge"``: the same ``X_0``, lifted with Haar-random
          gauges ``O(d)^{N-1}`` (a uniform point of the orbit over ``X_0``).
    dim, depth : int
        Width ``d`` and depth ``N``.
    scale : float
        Order of the layers' singular values.
    seed : int or numpy Generator, optional
    n_samples : int, optional
        Number of networks; ``None`` returns one ``[N, d, d]`` array.

    Returns
    -------
    parameters : ndarray, shape=[N, d, d] or [n_samples, N, d, d]
    """
    if kind not in INITIALIZERS:
        raise ValueError(f"unknown initializer {kind!r}; choose one of {INITIALIZERS}")
    for name, value in (("dim", dim), ("depth", depth)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an integer, got {value!r}")
        if value < 1:
            raise ValueError(f"{name} must be positive, got {value}")
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be positive and finite, got {scale}")
    rng = np.random.default_rng(seed)
    batch = () if n_samples is None else (int(n_samples),)
    if kind == "gaussian":
        return rng.normal(scale=scale / np.sqrt(dim), size=batch + (depth, dim, dim))
    if kind == "orthogonal":
        return scale * _orthogonal(rng, dim, batch + (depth,))
    if kind == "identity":
        return np.broadcast_to(scale * np.eye(dim), batch + (depth, dim, dim)).copy()
    matrix = rng.normal(scale=1.0 / np.sqrt(dim), size=batch + (dim, dim))
    # lift G, then scale every layer: X_0 = scale^N G without forming scale^N,
    # which under- or overflows at large depth
    parameters = scale * np.asarray(center(matrix, depth))
    if kind == "balanced_random_gauge" and depth > 1:
        gauges = _orthogonal(rng, dim, batch + (depth - 1,))
        parameters = np.asarray(gauge_action(gauges, parameters))
    return parameters
