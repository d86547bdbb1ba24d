r"""Validated examples of the stochastic machinery: Brownian motion on the
sphere (survey (11.10)-(11.11)) and Dyson Brownian motion (docs/mathematics.md §7).
"""

from __future__ import annotations

import math

import numpy as np

from geomstats_dln._validation import as_float_array
from geomstats_dln.dynamics._sde import (
    _check_choice,
    _check_count,
    _check_positive,
    _check_strength,
    _noise_scale,
    _progress,
    _rng,
)
from geomstats_dln.dynamics.free_energy import _check_beta


# ------------------------------------------------------- validated examples
def sphere_brownian_motion(
    initial_point,
    t_final: float,
    n_steps: int,
    n_paths: int = 1,
    seed=None,
    retract: bool = False,
    progress: bool = False,
):
    r"""Tangential Brownian noise on spheres (MATH §7, survey (11.10)-(11.11)).

    ``retract=False``: Euler-Maruyama for the Ito SDE ``dx = P_x dB``,
    ``P_x = I - x x^T / |x|^2``. Ito's formula gives ``d(r^2) = (n - 1) dt``
    (deterministic): the spheres move by minus one half mean curvature. Every
    Euler step adds ``|P xi|^2 h`` to ``r^2``, with mean ``(n - 1) h``.

    ``retract=True``: each step is followed by ``x -> r_0 x / |x|``: Brownian
    motion on the sphere of radius ``r_0 = |x_0|`` (generator ``1/2 Delta``); the
    retraction supplies the Ito drift ``-(n - 1) x / (2 r^2)``, so that
    ``E[x(t)] = x_0 exp(-(n - 1) t / (2 r_0^2))``.

    Parameters
    ----------
    initial_point : array-like, shape=[n]
    t_final : float
    n_steps : int
    n_paths : int
    seed : int or numpy.random.Generator, optional
    retract : bool
    progress : bool

    Returns
    -------
    points : ndarray, shape=[n_paths, n]
    """
    t_final = _check_positive(t_final, "t_final")
    n_steps = _check_count(n_steps, "n_steps")
    n_paths = _check_count(n_paths, "n_paths")
    initial_point = as_float_array(
        initial_point, "initial_point", "sphere_brownian_motion"
    )
    if initial_point.ndim != 1 or not np.all(np.isfinite(initial_point)):
        raise ValueError("initial_point must be a finite vector of shape [n]")
    radius = float(np.linalg.norm(initial_point))
    if radius == 0.0:
        raise ValueError("initial_point must be nonzero")
    rng = _rng(seed)
    dt = t_final / n_steps
    x = np.broadcast_to(initial_point, (n_paths, initial_point.size)).copy()
    for _ in _progress(n_steps, progress, "sphere"):
        xi = rng.standard_normal(x.shape)
        along = np.sum(x * xi, axis=-1, keepdims=True) / np.sum(
            x * x, -1, keepdims=True
        )
        x = x + math.sqrt(dt) * (xi - along * x)
        if retract:
            x = x * (radius / np.linalg.norm(x, axis=-1, keepdims=True))
    return x


def _field(field):
    return _check_choice(field, "field", ("real", "complex"))


def _frobenius_gaussian(rng, shape, n, field):
    """Standard Gaussian on symmetric (Hermitian) matrices for ``tr(A B^*)``."""
    if field == "real":
        z = rng.standard_normal(shape + (n, n))
        return 0.5 * (z + np.swapaxes(z, -1, -2))
    real = rng.standard_normal(shape + (n, n))
    imag = rng.standard_normal(shape + (n, n))
    upper = np.triu((real + 1j * imag) / math.sqrt(2.0), 1)
    diagonal = rng.standard_normal(shape + (n,))
    out = upper + np.conj(np.swapaxes(upper, -1, -2))
    index = np.arange(n)
    out[..., index, index] = diagonal
    return out


def dyson_brownian_motion(
    initial_eigenvalues,
    beta: float,
    t_final: float,
    n_steps: int,
    n_paths: int = 1,
    seed=None,
    field: str = "real",
    orbit_noise: float = 1.0,
    progress: bool = False,
):
    r"""Eigenvalues of the matrix process ``dM = gamma P dH + sqrt(2/beta) P^perp dH``.

    Survey (11.4) (MATH §7): ``H`` Brownian motion on symmetric (``"real"``) or
    Hermitian (``"complex"``) matrices for the Frobenius inner product
    ``tr(A B^*)``, ``P`` the orthogonal projection onto the tangent space of the
    isospectral orbit of ``M`` (off-diagonal in the eigenbasis), ``P^perp`` onto
    the matrices commuting with ``M``, ``gamma = orbit_noise``. Euler-Maruyama
    on ``M`` (the Ito correction along the orbit, minus one half its mean
    curvature, comes out of the step), started at ``diag(initial_eigenvalues)``.

    The eigenvalues follow :func:`dyson_eigenvalue_sde` with repulsion
    ``gamma^2 / 2`` (real) or ``gamma^2`` (complex, survey (11.1)): second-order
    perturbation theory gives ``dl_i = sum_{j != i} |dM_ij|^2 / (l_i - l_j)``,
    and ``E|dH_ij|^2 = dt / 2`` off the diagonal of a real symmetric Brownian
    motion, ``dt`` for a Hermitian one (checked by simulation in the tests).

    Hermitian matrices with ``beta = 2`` and ``gamma = 1`` (repulsion 1, survey
    (11.1)): then ``dM = dH`` and ``M(t) = M(0) + H(t)`` is exactly a GUE
    matrix of variance ``t`` about ``M(0)`` (the Euler steps add unitarily
    invariant Gaussian increments: no discretization error), whose eigenvalue
    density from ``M(0) = 0`` is ``prod_{i<j} |l_i - l_j|^2 exp(-|l|^2 / 2t)``;
    for ``n = 2`` the gap ``g`` makes ``g / sqrt 2`` a Bessel process of
    dimension 3 (tested against both laws). The eigenvalues are real:
    complex ``initial_eigenvalues`` raise ``TypeError``.

    Returns
    -------
    eigenvalues : ndarray, shape=[n_paths, n]
        Increasing, at ``t_final``.
    """
    field = _field(field)
    beta = _check_beta(beta)
    t_final = _check_positive(t_final, "t_final")
    n_steps = _check_count(n_steps, "n_steps")
    n_paths = _check_count(n_paths, "n_paths")
    orbit_noise = _check_strength(orbit_noise, "orbit_noise")
    initial = as_float_array(
        initial_eigenvalues, "initial_eigenvalues", "dyson_brownian_motion"
    )
    if initial.ndim != 1:
        raise ValueError("initial_eigenvalues must be a vector [n]")
    n = initial.size
    rng = _rng(seed)
    dt = t_final / n_steps
    dtype = float if field == "real" else complex
    matrix = np.zeros((n_paths, n, n), dtype=dtype)
    matrix[:, np.arange(n), np.arange(n)] = initial
    normal_scale = _noise_scale(beta, 1.0)
    off_diagonal = 1.0 - np.eye(n)
    for _ in _progress(n_steps, progress, "dyson"):
        _, vectors = np.linalg.eigh(matrix)
        g = _frobenius_gaussian(rng, (n_paths,), n, field)
        rotated = (orbit_noise * off_diagonal + normal_scale * np.eye(n)) * g
        step = vectors @ rotated @ np.conj(np.swapaxes(vectors, -1, -2))
        matrix = matrix + math.sqrt(dt) * step
        matrix = 0.5 * (matrix + np.conj(np.swapaxes(matrix, -1, -2)))
    return np.linalg.eigvalsh(matrix)


def dyson_eigenvalue_sde(
    initial_eigenvalues,
    beta: float,
    t_final: float,
    n_steps: int,
    n_paths: int = 1,
    seed=None,
    repulsion: float = 1.0,
    progress: bool = False,
):
    r"""Euler-Maruyama for the Dyson eigenvalue SDE.

    ``dl_i = c sum_{j != i} dt / (l_i - l_j) + sqrt(2/beta) dB_i``.

    Survey (11.1) has ``c = 1`` (Hermitian matrices); the real symmetric
    process of :func:`dyson_brownian_motion` has ``c = 1/2``. Eigenvalues are
    re-sorted after each step (a crossing of the discrete walk is reflected).

    Returns
    -------
    eigenvalues : ndarray, shape=[n_paths, n]
        Increasing, at ``t_final``.
    """
    beta = _check_beta(beta)
    t_final = _check_positive(t_final, "t_final")
    n_steps = _check_count(n_steps, "n_steps")
    n_paths = _check_count(n_paths, "n_paths")
    initial = np.sort(
        as_float_array(
            initial_eigenvalues, "initial_eigenvalues", "dyson_eigenvalue_sde"
        )
    )
    rng = _rng(seed)
    dt = t_final / n_steps
    scale = _noise_scale(beta, dt)
    values = np.broadcast_to(initial, (n_paths, initial.size)).copy()
    eye = np.eye(initial.size, dtype=bool)
    for _ in _progress(n_steps, progress, "dyson eigenvalues"):
        gaps = values[:, :, None] - values[:, None, :]
        inverse = np.where(eye, 0.0, 1.0 / np.where(eye, 1.0, gaps))
        values = values + repulsion * dt * inverse.sum(-1)
        values = np.sort(values + scale * rng.standard_normal(values.shape), axis=-1)
    return values
