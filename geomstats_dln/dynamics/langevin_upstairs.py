r"""The Riemannian Langevin equation on the balanced manifold (upstairs).

docs/mathematics.md §4, §7 (survey (12.3), (12.11)).
"""

from __future__ import annotations

import numpy as np

from geomstats_dln._validation import (
    gauge_vector,
    symmetric_basis,
)
from geomstats_dln.balanced import (
    BalancedManifold,
    horizontal_projection,
    moment_differential,
    vertical_projection,
)
from geomstats_dln.dynamics._sde import (
    _noise_scale,
)
from geomstats_dln.parameters import (
    end_to_end_and_lifted_gradient,
    moments,
)


# ----------------------------------------------------------------- RLE upstairs
def _normal_retraction(point, base_point, tol=1e-11, max_iter=30):
    """Back onto ``M = {G = 0}`` along the normal space at ``base_point``.

    Solves ``G(point + w_mu(base_point)) = 0`` for ``mu in Sym(d)^{N-1}``
    (``w_mu`` the normal vectors of MATH §4) by Newton's method with the
    Jacobian frozen at ``point``, to ``|G_ij| <= tol |W|^2``. The correction is
    normal to ``M`` at the base point, so its tangential part vanishes to second
    order: the constrained Euler-Maruyama scheme, weak order one for Brownian
    motion on the embedded ``M`` (the mean-curvature drift comes out of this
    step).
    """
    depth, dim = point.shape[-3], point.shape[-1]
    if depth == 1:
        return point
    basis = symmetric_basis(depth, dim)  # [m, N-1, d, d]
    normals = np.asarray(gauge_vector(basis, base_point[..., None, :, :, :]))
    rows, cols = np.triu_indices(dim)
    jacobian = np.asarray(moment_differential(normals, point[..., None, :, :, :]))
    jacobian = jacobian[..., rows, cols].reshape(jacobian.shape[:-3] + (-1,))
    inverse = np.linalg.inv(np.swapaxes(jacobian, -1, -2))  # [..., unknown, eq]
    bound = tol * np.sum(base_point**2, axis=(-3, -2, -1))[..., None]
    current = point
    for _ in range(max_iter):
        gram = np.asarray(moments(current))
        residual = gram[..., rows, cols].reshape(gram.shape[:-3] + (-1,))
        if np.all(np.abs(residual) <= bound):
            return current
        delta = -(inverse @ residual[..., None])[..., 0]
        current = current + np.einsum("...m,...mkij->...kij", delta, normals)
    raise RuntimeError(
        "normal retraction onto the balanced manifold did not converge; "
        "the time step is probably too large"
    )


def _retract(point, base_point, retraction):
    if retraction == "normal":
        return _normal_retraction(point, base_point)
    depth, dim = point.shape[-3], point.shape[-1]
    return BalancedManifold(dim, depth, equip=False).projection(point)


def _upstairs_drift(loss, parameters):
    if loss is None:
        return np.zeros(parameters.shape)
    _, gradient = end_to_end_and_lifted_gradient(loss.gradient, parameters)
    return -np.asarray(gradient)


def _upstairs_noise(parameters, beta, dt, rng, gauge_noise, observable_noise):
    scale = _noise_scale(beta, dt)
    if scale == 0.0 or (gauge_noise == 0.0 and observable_noise == 0.0):
        return 0.0
    xi = rng.standard_normal(parameters.shape)
    noise = 0.0
    if gauge_noise != 0.0:
        noise = noise + gauge_noise * np.asarray(vertical_projection(xi, parameters))
    if observable_noise != 0.0:
        noise = noise + observable_noise * np.asarray(
            horizontal_projection(xi, parameters)
        )
    return scale * noise


def _upstairs_step(
    loss, parameters, beta, dt, rng, gauge_noise, observable_noise, scheme, retraction
):
    drift = _upstairs_drift(loss, parameters)
    noise = _upstairs_noise(parameters, beta, dt, rng, gauge_noise, observable_noise)
    predictor = _retract(parameters + dt * drift + noise, parameters, retraction)
    if scheme == "euler_maruyama":
        return predictor
    corrected = _upstairs_drift(loss, predictor)
    return _retract(
        parameters + 0.5 * dt * (drift + corrected) + noise, parameters, retraction
    )
