r"""The Riemannian Langevin equation on end-to-end matrices (downstairs).

docs/mathematics.md §7 (survey (12.12)).
Notation of docs/mathematics.md §3: ``X = U S V^T``, ``a_ij`` the
coefficients of ``A_{N,X}``, power coordinates ``x = s^{2/N}``, ``f(x) = x^N``
(``f = exp``, ``x = log s^2`` for ``N = inf``).
"""

from __future__ import annotations

import numpy as np

from geomstats_dln._spectral import (
    check_depth,
)
from geomstats_dln._validation import as_float_array
from geomstats_dln.dynamics._sde import (
    _as_matrix,
    _check_strength,
    _Frame,
    _noise_scale,
    _noise_weights,
    _square,
)
from geomstats_dln.dynamics.flows import _check_loss
from geomstats_dln.dynamics.free_energy import _check_beta


# ----------------------------------------------------------------- RLE downstairs
def noise_induced_drift(
    point,
    depth: int | float,
    beta: float,
    gauge_noise: float = 1.0,
    observable_noise: float = 1.0,
):
    r"""The drift that the noise adds to ``-A(E')`` in the downstairs RLE.

    ``beta^{-1} [gamma_o^2 b(X) + gamma_g^2 grad_g S(X)]`` with ``b`` the
    Brownian drift (:func:`brownian_drift` at ``beta = 1``) and
    ``grad_g S = A_X(S') = U diag(a_ii dS/ds_i) V^T`` (MATH §5, from
    :func:`geomstats_dln.orbit_entropy.entropy_gradient_from_singular_values`).
    Diagonal in the SVD frame. Square ``X`` only.

    Returns
    -------
    drift : ndarray, shape=[..., d, d]
    """
    depth = check_depth(depth)
    beta = _check_beta(beta)
    gauge_noise = _check_strength(gauge_noise, "gauge_noise")
    observable_noise = _check_strength(observable_noise, "observable_noise")
    point = _as_matrix(point)
    _square(point, "the RLE")
    left, s, right_t = np.linalg.svd(point)
    weights = _noise_weights(s, depth, beta, gauge_noise, observable_noise)
    return (left * weights[..., None, :]) @ right_t


def rle_drift(
    loss,
    point,
    depth: int | float,
    beta: float,
    gauge_noise: float = 1.0,
    observable_noise: float = 1.0,
):
    r"""Ito drift of the downstairs RLE (survey (12.12), MATH §7).

    ``-A_X(E'(X)) + beta^{-1} [gamma_o^2 b(X) + gamma_g^2 A_X(S'(X))]``; for
    ``gamma_g = gamma_o = 1`` this is ``-grad_g(E - S / beta)`` plus the drift of
    Brownian motion. ``loss=None`` drops ``E``.

    Parameters
    ----------
    loss : Loss or None
        Anything with ``gradient(X)`` (see :mod:`geomstats_dln.losses`).
    point : array-like, shape=[..., d, d]
    depth : int or math.inf
    beta : float or math.inf
    gauge_noise, observable_noise : float
        ``gamma_g``, ``gamma_o``.

    Returns
    -------
    drift : ndarray, shape=[..., d, d]
    """
    depth = check_depth(depth)
    beta = _check_beta(beta)
    gauge_noise = _check_strength(gauge_noise, "gauge_noise")
    observable_noise = _check_strength(observable_noise, "observable_noise")
    point = _as_matrix(point)
    _square(point, "the RLE")
    if loss is not None:
        _check_loss(loss)
    frame = _Frame(point, depth)
    return frame.unrotate(
        _downstairs_drift(
            loss, frame, point, depth, beta, gauge_noise, observable_noise
        )
    )


def _downstairs_drift(loss, frame, point, depth, beta, gauge_noise, observable_noise):
    """The RLE drift in the frame of ``point`` (``U^T drift V``)."""
    rotated = frame.diagonal(
        _noise_weights(frame.s, depth, beta, gauge_noise, observable_noise)
    )
    if loss is not None:
        gradient = frame.rotate(
            np.asarray(as_float_array(loss.gradient(point), "loss.gradient(X)", "RLE"))
        )
        rotated = rotated - frame.coefficients * gradient
    return rotated


def _downstairs_step(loss, point, depth, beta, dt, rng, gauge, observable, scheme):
    """Euler-Maruyama (or Heun on the drift) step of the downstairs RLE."""
    if not np.all(np.isfinite(point)):
        raise FloatingPointError(
            "the downstairs RLE produced non-finite matrices; the time step is "
            "probably too large"
        )
    frame = _Frame(point, depth)
    rotated = dt * _downstairs_drift(loss, frame, point, depth, beta, gauge, observable)
    scale = _noise_scale(beta, dt, observable)
    if scale != 0.0:
        noise = scale * np.sqrt(frame.coefficients) * rng.standard_normal(rotated.shape)
    else:
        noise = 0.0
    if scheme == "euler_maruyama":
        return point + frame.unrotate(rotated + noise)
    noise = frame.unrotate(noise) if scale != 0.0 else 0.0
    drift = frame.unrotate(rotated)
    predictor = point + drift + noise
    frame = _Frame(predictor, depth)
    corrected = frame.unrotate(
        dt * _downstairs_drift(loss, frame, predictor, depth, beta, gauge, observable)
    )
    return point + 0.5 * (drift + corrected) + noise
