r"""The Riemannian Langevin equation on the balanced manifold (upstairs).

docs/mathematics.md §4, §7 (survey (12.3), (12.11)).

One step is an Euler(-Heun) step of
``dW = -grad L dt + sqrt(2/beta) (gamma_g P_V + gamma_o P_H) dB`` followed by a
retraction onto ``M = {G = 0}`` along its normal space.

Adaptive substeps per path
--------------------------
Near the boundary of the full-rank set (smallest singular value of ``X``
around ``1e-6`` of the largest) one Euler step can leave the neighbourhood of
``M`` in which the retraction's Newton iteration converges. Such a path, and
only it, repeats the step in ``2, 4, ..., max_substeps`` substeps whose
Brownian increments are a Brownian bridge refinement of the step's increment
(``B_1 = B/2 + sqrt(h)/2 z``, ``B_2 = B - B_1`` for a step of length ``h``), so
the noise driving the path is the same Brownian motion, only sampled more
finely: the other paths are not touched and the law is not biased by
resampling. A path that fails even at ``max_substeps`` is frozen at its last
state and reported (``failed_paths``); :class:`UpstairsReport` counts what was
done and ends up in the returned Trajectory's ``info``.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from geomstats_dln._validation import (
    as_float_array,
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
)


# ----------------------------------------------------------------- RLE upstairs
@dataclasses.dataclass
class UpstairsReport:
    """What the adaptive upstairs integrator had to do (Trajectory ``info``).

    Attributes
    ----------
    refined_steps : int
        (path, step) pairs that needed substeps.
    refined_paths : set of int
        Paths (flat batch indices) that needed substeps at least once.
    max_substeps_used : int
        Largest number of substeps one step needed.
    retraction_failures : int
        Retractions (or projections) that failed and triggered a refinement.
    failed_paths : dict of int to int
        Paths frozen because even ``max_substeps`` substeps failed, with the
        step at which it happened.
    """

    refined_steps: int = 0
    refined_paths: set = dataclasses.field(default_factory=set)
    max_substeps_used: int = 1
    retraction_failures: int = 0
    failed_paths: dict = dataclasses.field(default_factory=dict)

    def as_info(self) -> dict:
        """Plain values for ``Trajectory.info``."""
        return {
            "refined_steps": self.refined_steps,
            "refined_paths": sorted(self.refined_paths),
            "n_refined_paths": len(self.refined_paths),
            "max_substeps_used": self.max_substeps_used,
            "retraction_failures": self.retraction_failures,
            "failed_paths": sorted(self.failed_paths),
            "failed_at_step": dict(sorted(self.failed_paths.items())),
        }


class _StepFailed(RuntimeError):
    """A step of one batch could not be completed (internal)."""


def _normal_vectors(parameters):
    """The normal vectors ``w_mu`` of ``M`` at ``parameters`` [..., N, d, d] over
    the basis of :func:`~geomstats_dln._validation.symmetric_basis`:
    [..., (N-1) d (d+1)/2, N, d, d]. Each has two nonzero layers,
    ``(w)_k = E W_k`` and ``(w)_{k+1} = -W_{k+1} E``, formed directly (the
    generic :func:`gauge_vector` multiplies all ``N`` layers by zeros)."""
    depth, dim = parameters.shape[-3], parameters.shape[-1]
    sym = symmetric_basis(2, dim)[:, 0]  # [s, d, d]
    n_sym = len(sym)
    batch = parameters.shape[:-3]
    normals = np.zeros(batch + (depth - 1, n_sym, depth, dim, dim))
    layers = np.arange(depth - 1)
    lower = np.einsum("sij,...ljk->...lsik", sym, parameters[..., :-1, :, :])
    upper = -np.einsum("...lij,sjk->...lsik", parameters[..., 1:, :, :], sym)
    normals[..., layers, :, layers, :, :] = np.moveaxis(lower, -4, 0)
    normals[..., layers, :, layers + 1, :, :] = np.moveaxis(upper, -4, 0)
    return normals.reshape(batch + ((depth - 1) * n_sym, depth, dim, dim))


def _raw_moments(parameters):
    """``G_k = W_k W_k^T - W_{k+1}^T W_{k+1}`` without the input checks of
    :func:`~geomstats_dln.parameters.moments` (inside the Newton loop, on
    states this module made; the checks were a third of a step's time)."""
    lower, upper = parameters[..., :-1, :, :], parameters[..., 1:, :, :]
    return lower @ np.swapaxes(lower, -1, -2) - np.swapaxes(upper, -1, -2) @ upper


def _normal_retraction(point, base_point, tol=1e-11, max_iter=30, normals=None):
    """Back onto ``M = {G = 0}`` along the normal space at ``base_point``.

    Solves ``G(point + w_mu(base_point)) = 0`` for ``mu in Sym(d)^{N-1}``
    (``w_mu`` the normal vectors of MATH §4) by Newton's method with the
    Jacobian frozen at ``point``, to ``|G_ij| <= tol |W|^2``. The correction is
    normal to ``M`` at the base point, so its tangential part vanishes to second
    order: the constrained Euler-Maruyama scheme, weak order one for Brownian
    motion on the embedded ``M`` (the mean-curvature drift comes out of this
    step).

    Returns
    -------
    retracted : ndarray, shape=[..., N, d, d]
    converged : ndarray of bool, shape=[...]
        Per path; the entries of paths that did not converge are meaningless.
    """
    depth, dim = point.shape[-3], point.shape[-1]
    if depth == 1:
        return point, np.ones(point.shape[:-3], dtype=bool)
    if normals is None:
        normals = _normal_vectors(base_point)  # [..., m, N, d, d]
    rows, cols = np.triu_indices(dim)
    with np.errstate(all="ignore"):  # a diverging path is reported, not warned
        jacobian = np.asarray(moment_differential(normals, point[..., None, :, :, :]))
        jacobian = jacobian[..., rows, cols].reshape(jacobian.shape[:-3] + (-1,))
        transposed = np.swapaxes(jacobian, -1, -2)
        conditioned = np.all(np.isfinite(transposed), axis=(-2, -1))
        safe = np.where(
            conditioned[..., None, None], transposed, np.eye(transposed.shape[-1])
        )
        try:
            inverse = np.linalg.inv(safe)  # [..., unknown, eq]
        except np.linalg.LinAlgError:  # one singular path: the caller splits
            raise _StepFailed("singular retraction Jacobian") from None
        bound = tol * np.sum(base_point**2, axis=(-3, -2, -1))[..., None]
        current = point
        converged = np.zeros(point.shape[:-3], dtype=bool)
        for _ in range(max_iter):
            gram = _raw_moments(current)
            residual = gram[..., rows, cols].reshape(gram.shape[:-3] + (-1,))
            converged = np.all(np.abs(residual) <= bound, axis=-1) & conditioned
            if np.all(converged | ~conditioned):
                break
            delta = -(inverse @ residual[..., None])[..., 0]
            delta = np.where(converged[..., None], 0.0, delta)
            current = current + np.einsum("...m,...mkij->...kij", delta, normals)
    return current, converged


def _retract(point, base_point, retraction, normals=None):
    if retraction == "normal":
        return _normal_retraction(point, base_point, normals=normals)
    depth, dim = point.shape[-3], point.shape[-1]
    projected = BalancedManifold(dim, depth, equip=False).projection(point)
    return projected, np.ones(point.shape[:-3], dtype=bool)


def _upstairs_drift(loss, parameters):
    if loss is None:
        return np.zeros(parameters.shape)
    _, gradient = end_to_end_and_lifted_gradient(loss.gradient, parameters)
    return -np.asarray(gradient)


def _tangent_part(increments, normals):
    """``P_T(dB) = dB - P_N(dB)``: the projection onto ``T_W M`` through the
    normal vectors ``w_mu`` [..., m, N, d, d] (half the gradients of the
    entries of ``G``, a basis of the normal space at a full-rank point),
    by one ``m x m`` Gram solve per path."""
    flat = normals.reshape(normals.shape[:-3] + (-1,))  # [..., m, N d d]
    gram = flat @ np.swapaxes(flat, -1, -2)
    coefficients = np.linalg.solve(
        gram, flat @ increments.reshape(increments.shape[:-3] + (-1, 1))
    )
    normal = (np.swapaxes(coefficients, -1, -2) @ flat).reshape(increments.shape)
    return increments - normal


def _projected_noise(
    parameters, increments, beta, gauge_noise, observable_noise, normals=None
):
    """``sqrt(2/beta) (gamma_g P_V + gamma_o P_H)(dB)`` for increments ``dB``.

    With ``gamma_g = gamma_o`` this is ``gamma sqrt(2/beta) P_T(dB)``, formed
    from the normal vectors ``normals`` when given (:func:`_tangent_part`: no
    SVD, against three for ``P_V`` and ``P_H`` separately)."""
    scale = _noise_scale(beta, 1.0)
    if scale == 0.0 or (gauge_noise == 0.0 and observable_noise == 0.0):
        return 0.0
    if gauge_noise == observable_noise and normals is not None:
        if normals.shape[-4] == 0:  # depth 1: T_W M is everything
            return scale * gauge_noise * increments
        return scale * gauge_noise * _tangent_part(increments, normals)
    noise = 0.0
    if gauge_noise != 0.0:
        noise = noise + gauge_noise * np.asarray(
            vertical_projection(increments, parameters)
        )
    if observable_noise != 0.0:
        noise = noise + observable_noise * np.asarray(
            horizontal_projection(increments, parameters)
        )
    return scale * noise


def _batch_step(loss, parameters, increments, dt, options):
    """One step of every path of the flat batch ``[B, N, d, d]``: the new states
    and a per-path success mask (retraction converged, finite)."""
    beta, gauge_noise, observable_noise, scheme, retraction = options
    # the normal vectors at the step's base point serve the noise projection
    # and the retraction
    normals = _normal_vectors(parameters) if retraction == "normal" else None
    with np.errstate(all="ignore"):
        drift = _upstairs_drift(loss, parameters)
        noise = _projected_noise(
            parameters, increments, beta, gauge_noise, observable_noise, normals
        )
        predictor, ok = _retract(
            parameters + dt * drift + noise, parameters, retraction, normals
        )
        if scheme != "euler_maruyama":
            corrected = _upstairs_drift(
                loss, np.where(ok[:, None, None, None], predictor, parameters)
            )
            predictor, ok_heun = _retract(
                parameters + 0.5 * dt * (drift + corrected) + noise,
                parameters,
                retraction,
                normals,
            )
            ok = ok & ok_heun
    ok = ok & np.all(np.isfinite(predictor), axis=(-3, -2, -1))
    return predictor, ok


def _safe_step(loss, parameters, increments, dt, options):
    """:func:`_batch_step`, falling back to one path at a time when the batch
    raises (a projection that cannot be formed for one path)."""
    try:
        return _batch_step(loss, parameters, increments, dt, options)
    except (ValueError, RuntimeError, ArithmeticError, np.linalg.LinAlgError):
        if len(parameters) == 1:
            return parameters.copy(), np.zeros(1, dtype=bool)
    states, oks = [], []
    for index in range(len(parameters)):
        state, ok = _safe_step(
            loss,
            parameters[index : index + 1],
            increments[index : index + 1],
            dt,
            options,
        )
        states.append(state)
        oks.append(ok)
    return np.concatenate(states), np.concatenate(oks)


def _refine(loss, point, increment, duration, options, rng, levels):
    """Cover ``duration`` from ``point`` [1, N, d, d] with dyadic substeps whose
    increments refine ``increment`` as a Brownian bridge; ``(state, substeps)``,
    ``substeps = 0`` when even ``2^levels`` substeps fail."""
    half = 0.5 * duration
    # Var(B(h/2) | B(h) = b) = h/4: the bridge's midpoint is b/2 + sqrt(h)/2 z
    z = np.asarray(as_float_array(rng.standard_normal(increment.shape), "noise", "RLE"))
    first = 0.5 * increment + 0.5 * math.sqrt(duration) * z
    total = 0
    current = point
    for piece in (first, increment - first):
        state, ok = _safe_step(loss, current, piece, half, options)
        if ok[0]:
            current, used = state, 1
        elif levels > 1:
            current, used = _refine(
                loss, current, piece, half, options, rng, levels - 1
            )
            if used == 0:
                return point, 0
        else:
            return point, 0
        total += used
    return current, total


def _upstairs_step(
    loss,
    parameters,
    beta,
    dt,
    rng,
    gauge_noise,
    observable_noise,
    scheme,
    retraction,
    max_substeps=1024,
    report=None,
    frozen=None,
    step_index=0,
):
    """One adaptive step of every path (see the module docstring).

    ``frozen``: boolean mask of the flat batch of paths that failed earlier
    (not stepped); updated in place with new failures, recorded in ``report``.
    """
    shape = parameters.shape
    flat = parameters.reshape((-1,) + shape[-3:])
    # the step's Brownian increments: one draw of the whole batch's shape
    noise = as_float_array(rng.standard_normal(shape), "noise", "RLE")
    increments = math.sqrt(dt) * np.asarray(noise)
    increments = increments.reshape(flat.shape)
    options = (beta, gauge_noise, observable_noise, scheme, retraction)
    active = np.ones(len(flat), dtype=bool) if frozen is None else ~frozen
    new = flat.copy()
    if np.any(active):
        stepped, ok = _safe_step(loss, flat[active], increments[active], dt, options)
        indices = np.flatnonzero(active)
        new[indices[ok]] = stepped[ok]
        levels = max(int(math.log2(max_substeps)), 1)
        for index in indices[~ok]:
            state, used = _refine(
                loss,
                flat[index : index + 1],
                increments[index : index + 1],
                dt,
                options,
                rng,
                levels,
            )
            if report is not None:
                report.retraction_failures += 1
            if used == 0:
                if frozen is None:
                    raise _StepFailed(
                        f"upstairs RLE: path {index} could not be stepped even with "
                        f"{max_substeps} substeps (its end-to-end matrix is at "
                        "the boundary of the full-rank set)"
                    )
                frozen[index] = True
                if report is not None:
                    report.failed_paths[int(index)] = int(step_index)
                continue
            new[index] = state[0]
            if report is not None:
                report.refined_steps += 1
                report.refined_paths.add(int(index))
                report.max_substeps_used = max(report.max_substeps_used, used)
    return new.reshape(shape)
