r"""The Gibbs law of the Riemannian Langevin equation (docs/mathematics.md §7)."""

from __future__ import annotations

import math

import numpy as np

from geomstats_dln._spectral import (
    check_depth,
    dln_coefficients,
)
from geomstats_dln._validation import as_float_array
from geomstats_dln.dynamics.free_energy import _check_beta


def gibbs_singular_values(
    target_singular_values,
    depth: int,
    beta: float,
    n_s: int = 3000,
    n_t: int = 160,
):
    r"""Law of the singular values of ``2 x 2`` ``X`` under the Gibbs density
    ``exp(-beta E) exp(S) sqrt(det g)`` of the RLE, ``E = 1/2 |X - Y|^2`` with
    ``Y = diag(y1, y2)`` (MATH §7), as a weighted quadrature cloud.

    ``X = R(theta) diag(s1, s2) R(phi)^T`` with ``s1 >= |s2|`` (``s2 < 0`` is
    the component ``det X < 0``): Lebesgue measure is
    ``|s1^2 - s2^2| ds1 ds2 dtheta dphi`` up to a constant, the angles
    integrate ``exp(beta tr(Y^T X))`` to
    ``I0(beta (s1 + s2)(y1 + y2)/2) I0(beta (s1 - s2)(y1 - y2)/2)``, and
    ``exp(S) sqrt(det g) = prod_{i <= j} a_ij^{-1/2}`` (MATH §3, §5). The
    substitution ``s2 = s1 sgn(t) |t|^N`` removes the integrable singularity
    of ``a_22^{-1/2}`` at ``s2 = 0``; midpoint rule in ``s1``, Gauss-Legendre
    in ``t``.

    Returns
    -------
    sigma1, sigma2, weights : ndarray
        Flat arrays: the two singular values of each node and its weight
        (summing to 1).
    """
    from scipy import special

    depth = check_depth(depth)
    beta = _check_beta(beta)
    if depth == math.inf or not math.isfinite(beta):
        raise ValueError("the Gibbs law needs a finite depth and a finite beta")
    target = np.asarray(
        as_float_array(
            target_singular_values, "target_singular_values", "gibbs_singular_values"
        )
    )
    if target.shape != (2,):
        raise ValueError(
            "gibbs_singular_values: target_singular_values must be the two "
            f"singular values (y1, y2) of the 2 x 2 target, got shape {target.shape}"
        )
    y1, y2 = (float(value) for value in target)
    s_max = y1 + 12.0 / math.sqrt(beta)
    s1 = (np.arange(n_s) + 0.5) * (s_max / n_s)
    nodes, weights = np.polynomial.legendre.leggauss(n_t)
    t = np.concatenate([0.5 * (nodes - 1.0), 0.5 * (nodes + 1.0)])
    t_weights = np.concatenate([0.5 * weights, 0.5 * weights])
    s1, u = np.meshgrid(s1, np.sign(t) * np.abs(t) ** depth, indexing="ij")
    s2 = s1 * u
    sigma2 = np.abs(s2)
    pair = dln_coefficients(s1[..., None], sigma2[..., None], depth, np)[..., 0, 0]
    same = dln_coefficients(s1[..., None], s1[..., None], depth, np)[..., 0, 0]
    sums = beta * (s1 + s2) * (y1 + y2) / 2
    differences = beta * (s1 - s2) * (y1 - y2) / 2
    log_density = (
        np.log(s1**2 - s2**2)
        - 0.5 * np.log(same)
        - 0.5 * np.log(pair)
        - beta * (s1**2 + s2**2) / 2
        + np.log(special.i0e(sums))
        + np.abs(sums)
        + np.log(special.i0e(differences))
        + np.abs(differences)
    )
    # a_22^{-1/2} ds2 = sqrt(N) s1^{1/N} dt after the substitution
    log_weight = log_density + 0.5 * math.log(depth) + np.log(s1) / depth
    log_weight = log_weight + np.log(t_weights)[None, :]
    weight = np.exp(log_weight - log_weight.max())
    return s1.ravel(), sigma2.ravel(), (weight / weight.sum()).ravel()
