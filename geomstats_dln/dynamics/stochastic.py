r"""Brownian motion and Riemannian Langevin dynamics (RLE) of the DLN.

``../shared/MATH.md`` §7 (survey §10-12). Notation of MATH §3: ``X = U S V^T``,
``a_ij`` the coefficients of ``A_{N,X}``, power coordinates ``x = s^{2/N}``,
``f(x) = x^N`` (``f = exp``, ``x = log s^2`` for ``N = inf``).

Brownian motion on ``(M_d, g^N)``
---------------------------------
At inverse temperature ``beta`` (generator ``beta^{-1} Delta_g``) the Ito SDE in
the entry coordinates of ``X`` is

.. math::
    dX = \beta^{-1} b(X)\, dt + \sqrt{2/\beta}\, A_X^{1/2}(dB),
    \qquad b^a = \frac{1}{\sqrt g} \partial_b (\sqrt g\, g^{ab})
         = \mathrm{div}(A_X) - \tfrac12 A_X(\partial_X \log\det A_X).

Closed form (derived here, tested against geomstats' Christoffel symbols and
against autodiff). Both terms are diagonal in the SVD frame. Summing
``dA_X[E](E)`` over the orthonormal basis ``E = u_a v_b^T`` with the
Daleckii-Krein derivative of :func:`~geomstats_dln._spectral.operator_derivative`
(``D[i,k,j] = f[x_i, x_k, x_j] / a_ik``, second divided differences) gives
``div(A)_ii = 2 s_i (sum_k D[i,k,i] + D[i,i,i])``; and
``log det A = sum_ij log a_ij`` gives
``1/2 A(d log det A)_ii = 2 s_i sum_j f[x_i, x_i, x_j] / a_ij``. Since
``f[x_i, x_k, x_i] = f[x_i, x_i, x_k]``, ``sum_k D[i,k,i]`` is that same sum, and
only ``2 s_i D[i,i,i] = 2 s_i f[x_i, x_i, x_i] / f'(x_i) = s_i f''(x_i) / f'(x_i)``
survives:

.. math::
    b(X) = U \,\mathrm{diag}\Big(s_i \frac{f''(x_i)}{f'(x_i)}\Big) V^T
         = (N - 1)\, X (X^\top X)^{-1/N},
    \qquad b(X) = X \text{ for } A_\infty.

No pair interaction at all: the Coulomb-like repulsion of the singular values
lives entirely in the entropy (MATH §5), not in the Brownian motion. ``N = 1``
is flat (``b = 0``); ``N = 2`` gives the orthogonal polar factor of ``X``. The
same formula holds for full-rank rectangular ``X`` (checked numerically). The
noise is ``A^{1/2}(dB) = U (sqrt(a) * (U^T dB V)) V^T``; since ``U^T dB V`` is
again a matrix of independent Brownian increments, :func:`brownian_step` draws it
in the frame directly (two matrix products fewer), unless a noise in entry
coordinates is passed.

RLE downstairs and upstairs
---------------------------
Upstairs, on the balanced manifold ``M`` (survey (12.3)/(12.11)):

.. math::
    dW = -\nabla L(W)\, dt + \sqrt{2/\beta}\,
         (\gamma_g P_{V_W} + \gamma_o P_{H_W})\, dB

(``gamma_g = gauge_noise``, ``gamma_o = observable_noise``; on ``M`` the
Euclidean gradient of a lifted loss is tangent), read as Brownian motion on the
embedded ``M``: the Ito form carries a mean-curvature drift normal to ``M``. It is
produced by the Euler step followed by a retraction that moves along the normal
space ``N_W M = {w_a : a symmetric}`` (a constrained Euler-Maruyama step in the
sense of Lelievre-Rousset-Stoltz): weak order one, as for the sphere example
(:func:`sphere_brownian_motion`, MATH §7 / survey (11.10)-(11.11)).

Projecting (Ito's formula for ``phi``; the normal drift is in ``ker dphi``): with
an orthonormal basis ``e`` of ``H_W``, ``sum d^2 phi(e, e) = b(X)`` (the
horizontal Laplacian is ``Delta_g``, O'Neill), and of ``V_W``,
``sum d^2 phi(e, e) = A_X(S'(X)) = grad_g S`` (the mean curvature of the fiber).
Both identities are tested to 1e-10. Hence the law of ``X = phi(W)`` solves

.. math::
    dX = \Big(-A_X(E') + \beta^{-1}\big[\gamma_o^2\, b(X)
         + \gamma_g^2\, A_X(S')\big]\Big) dt
         + \gamma_o \sqrt{2/\beta}\, A_X^{1/2}(dB),

which for ``gamma_g = gamma_o = 1`` is survey (12.12):
``dX = -grad_g(E - S/beta) dt + `` Brownian motion on ``(M_d, g^N)`` at ``beta``.
Its Gibbs density w.r.t. Lebesgue measure is
``exp(-beta E) exp(S) sqrt(det g)`` (MATH §7; tested by quadrature).

Geomstats' own Brownian motion
------------------------------
geomstats' :class:`~geomstats.distributions.brownian_motion.BrownianMotion` needs
intrinsic coordinates and Christoffel symbols; :func:`entry_coordinates_space`
is ``Euclidean(n m)`` (row-major entries of ``X``) with
:class:`EntryCoordinatesDLNMetric` (metric matrix ``A^{-1}`` and its derivative
``-g dA g`` in closed form, so it runs under every backend)::

    from geomstats.distributions.brownian_motion import BrownianMotion
    space = entry_coordinates_space(d, depth=N)
    path = BrownianMotion(space).sample_path(
        end_time=2 * t / beta, n_steps=n, initial_point=X.reshape(-1))

geomstats' step is ``x + (-1/2 g^{ij} Gamma^k_ij) h + sqrt(g^{-1}) xi sqrt(h)``:
generator ``1/2 Delta_g``, i.e. ``beta = 2``; Brownian motion at ``beta`` over time
``t`` is geomstats' over time ``2 t / beta``. (``sample_path`` returns
``n_steps`` points, the last one at ``(n_steps - 1) end_time / n_steps``.)
"""

from __future__ import annotations

import math

import numpy as np
from tqdm.auto import tqdm

from geomstats.geometry.euclidean import Euclidean
from geomstats.geometry.riemannian_metric import RiemannianMetric

from geomstats_dln._spectral import (
    apply_operator,
    check_depth,
    check_finite_matrix,
    check_full_rank,
    dln_coefficients,
    operator_derivative,
    svd_frame,
)
from geomstats_dln._validation import (
    check_balanced,
    check_parameters,
    gauge_vector,
    symmetric_basis,
)
from geomstats_dln.balanced import (
    BalancedManifold,
    horizontal_projection,
    moment_differential,
    vertical_projection,
)
from geomstats_dln.dynamics.flows import _check_loss
from geomstats_dln.dynamics.free_energy import _check_beta
from geomstats_dln.dynamics.integrators import Trajectory
from geomstats_dln.orbit_entropy import entropy_gradient_from_singular_values
from geomstats_dln.parameters import (
    end_to_end,
    end_to_end_and_lifted_gradient,
    moments,
)

__all__ = [
    "EntryCoordinatesDLNMetric",
    "brownian_drift",
    "brownian_step",
    "dyson_brownian_motion",
    "dyson_eigenvalue_sde",
    "entry_coordinates_space",
    "geomstats_brownian_motion",
    "gibbs_singular_values",
    "noise_induced_drift",
    "rle_drift",
    "rle_step",
    "simulate_brownian",
    "simulate_rle",
    "sphere_brownian_motion",
]

SCHEMES = ("euler_maruyama", "heun")
LEVELS = ("downstairs", "upstairs")
RETRACTIONS = ("normal", "procrustes")


# ----------------------------------------------------------------- validation
def _check_positive(value, name) -> float:
    value = float(value)
    if not (np.isfinite(value) and value > 0.0):
        raise ValueError(f"{name} must be positive and finite, got {value}")
    return value


def _check_count(value, name) -> int:
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_strength(value, name) -> float:
    value = float(value)
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
    point = np.asarray(point, dtype=float)
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


# ------------------------------------------------------------ Brownian motion
def brownian_drift(point, depth: int | float, beta: float = 1.0):
    r"""Ito drift of Brownian motion on ``(M_d, g^N)`` at inverse temperature beta.

    .. math::
        \beta^{-1} \frac{1}{\sqrt g} \partial_b(\sqrt g\, g^{ab})
        = \beta^{-1} [\mathrm{div}(A_X) - \tfrac12 A_X(\partial_X \log\det A_X)]
        = \beta^{-1} (N - 1)\, X (X^\top X)^{-1/N}

    in the entry coordinates of ``X`` (module docstring; ``X / beta`` for
    ``depth = math.inf``, where ``A_inf = lim A_N / N``; ``0`` for ``N = 1``).
    Equals geomstats' ``-1/2 g^{ij} Gamma^k_ij`` times ``2 / beta``. One SVD.

    Parameters
    ----------
    point : array-like, shape=[..., n, m]
        Full-rank end-to-end matrices.
    depth : int or math.inf
    beta : float or math.inf
        Inverse temperature (generator ``beta^{-1} Delta_g``).

    Returns
    -------
    drift : ndarray, shape=[..., n, m]
    """
    depth = check_depth(depth)
    beta = _check_beta(beta)
    point = _as_matrix(point)
    if depth == math.inf:
        _square(point, "the infinite-depth metric")
        return point / beta
    if depth == 1 or not math.isfinite(beta):
        return np.zeros(point.shape)
    left, s, right_t = np.linalg.svd(point, full_matrices=False)
    check_full_rank(point, s)  # (X^T X)^{-1/N} needs full rank
    return (left * (_brownian_weights(s, depth) / beta)[..., None, :]) @ right_t


def brownian_step(
    point,
    depth: int | float,
    beta: float,
    dt: float,
    rng=None,
    noise=None,
):
    r"""One Euler-Maruyama step of Brownian motion on ``(M_d, g^N)``.

    ``X + b(X) dt / beta + sqrt(2 dt / beta) A_X^{1/2}(xi)`` with the drift of
    :func:`brownian_drift`; one SVD. Batched over leading axes (independent
    paths).

    Parameters
    ----------
    point : array-like, shape=[..., n, m]
    depth : int or math.inf
    beta : float
    dt : float
        Time step.
    rng : numpy.random.Generator or int or None
        Source of the noise (ignored when ``noise`` is given). The standard
        normal matrix is drawn directly in the SVD frame (same law).
    noise : array-like, shape=[..., n, m], optional
        A standard normal ``xi`` in entry coordinates (rotated into the frame):
        makes the step comparable with another implementation.

    Returns
    -------
    next_point : ndarray, shape=[..., n, m]
    """
    depth = check_depth(depth)
    beta = _check_beta(beta)
    dt = _check_positive(dt, "dt")
    point = _as_matrix(point)
    frame = _Frame(point, depth)
    scale = _noise_scale(beta, dt)
    if noise is None:
        rotated = _rng(rng).standard_normal(point.shape[:-2] + frame.shape)
    else:
        rotated = frame.rotate(np.asarray(noise, dtype=float))
    weights = _brownian_weights(frame.s, depth) * (dt / beta)
    step = frame.diagonal(weights) + scale * np.sqrt(frame.coefficients) * rotated
    return point + frame.unrotate(step)


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


def simulate_brownian(
    initial_points,
    depth: int | float,
    beta: float,
    t_final: float,
    n_steps: int,
    seed=None,
    progress: bool = False,
    record_every: int | None = None,
):
    r"""Brownian motion on ``(M_d, g^N)`` by Euler-Maruyama (:func:`brownian_step`).

    Parameters
    ----------
    initial_points : array-like, shape=[..., n, m]
        One starting point per path (leading axes are paths).
    depth : int or math.inf
    beta : float
    t_final : float
    n_steps : int
    seed : int or numpy.random.Generator, optional
    progress : bool
        Show a tqdm progress bar.
    record_every : int, optional
        ``None``: return the final points. Otherwise a
        :class:`~geomstats_dln.dynamics.integrators.Trajectory` recorded every
        ``record_every`` steps (and at the end) with a ``singular_values``
        observable.

    Returns
    -------
    final_points : ndarray, shape=[..., n, m] (or a Trajectory)
    """
    depth = check_depth(depth)
    beta = _check_beta(beta)
    t_final = _check_positive(t_final, "t_final")
    n_steps = _check_count(n_steps, "n_steps")
    record_every = _recorder(record_every)
    rng = _rng(seed)
    state = _as_matrix(initial_points).copy()
    dt = t_final / n_steps
    states, times = [state], [0.0]
    for index in _progress(n_steps, progress, "brownian motion"):
        state = brownian_step(state, depth, beta, dt, rng)
        if record_every is not None and (
            (index + 1) % record_every == 0 or index + 1 == n_steps
        ):
            states.append(state)
            times.append((index + 1) * dt)
    if record_every is None:
        return state
    info = {"method": "euler_maruyama", "n_steps": n_steps, "beta": beta, "seed": seed}
    return _finish(
        states, times, record_every, {"singular_values": _singular_values}, info
    )


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
        gradient = frame.rotate(np.asarray(loss.gradient(point), dtype=float))
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


# ------------------------------------------------------------------ drivers
def rle_step(
    loss,
    state,
    depth: int | float,
    beta: float,
    dt: float,
    rng=None,
    level: str = "downstairs",
    gauge_noise: float = 1.0,
    observable_noise: float = 1.0,
    scheme: str = "euler_maruyama",
    retraction: str = "normal",
):
    """One step of :func:`simulate_rle` (same arguments; ``state`` is ``X``
    [..., d, d] downstairs and a balanced ``W`` [..., N, d, d] upstairs)."""
    _check_choice(level, "level", LEVELS)
    _check_choice(scheme, "scheme", SCHEMES)
    _check_choice(retraction, "retraction", RETRACTIONS)
    depth = check_depth(depth)
    beta = _check_beta(beta)
    dt = _check_positive(dt, "dt")
    gauge_noise = _check_strength(gauge_noise, "gauge_noise")
    observable_noise = _check_strength(observable_noise, "observable_noise")
    if loss is not None:
        _check_loss(loss)
    rng = _rng(rng)
    state = np.asarray(state, dtype=float)
    if level == "downstairs":
        return _downstairs_step(
            loss, state, depth, beta, dt, rng, gauge_noise, observable_noise, scheme
        )
    return _upstairs_step(
        loss, state, beta, dt, rng, gauge_noise, observable_noise, scheme, retraction
    )


def simulate_rle(
    loss,
    initial_points,
    depth: int | float,
    beta: float,
    t_final: float,
    n_steps: int,
    level: str = "downstairs",
    seed=None,
    gauge_noise: float = 1.0,
    observable_noise: float = 1.0,
    scheme: str = "euler_maruyama",
    retraction: str = "normal",
    progress: bool = False,
    record_every: int | None = None,
):
    r"""Riemannian Langevin equation of the DLN, downstairs or upstairs (MATH §7).

    - ``level="downstairs"``: ``X`` [..., d, d] follows
      ``dX = (-A(E') + beta^{-1}[gamma_o^2 b + gamma_g^2 A(S')]) dt
      + gamma_o sqrt(2/beta) A^{1/2}(dB)`` (:func:`rle_drift`; survey (12.12)
      for ``gamma_g = gamma_o = 1``). One SVD per step (two for Heun).
    - ``level="upstairs"``: balanced ``W`` [..., N, d, d] follows
      ``dW = -grad L dt + sqrt(2/beta)(gamma_g P_V + gamma_o P_H) dB`` as
      Brownian motion on the balanced manifold: Euler step, then a retraction
      onto ``M`` (``"normal"``: along the normal space at the previous point,
      the constrained Euler-Maruyama scheme; ``"procrustes"``:
      :meth:`~geomstats_dln.balanced.BalancedManifold.projection`, same
      end-to-end matrix, closest gauge; one point at a time, slow). Start on
      the fiber of ``X_0`` with :func:`~geomstats_dln.balanced.center`.

    Both levels give the same law of ``X`` (tested with a two-sample KS test).

    Parameters
    ----------
    loss : Loss or None
        ``E`` (``gradient(X)`` is used); ``None`` for pure noise.
    initial_points : array-like
        ``[..., d, d]`` downstairs, balanced ``[..., N, d, d]`` upstairs;
        leading axes are independent paths.
    depth : int or math.inf
        ``N`` (finite upstairs, equal to ``initial_points.shape[-3]``).
    beta : float or math.inf
        Inverse temperature; ``math.inf`` gives the gradient flow.
    t_final : float
    n_steps : int
    level : {"downstairs", "upstairs"}
    seed : int or numpy.random.Generator, optional
    gauge_noise, observable_noise : float
        ``gamma_g`` (noise along the gauge orbits, which downstairs becomes the
        entropic force ``gamma_g^2 grad_g S / beta``) and ``gamma_o`` (noise in
        the observable ``X``).
    scheme : {"euler_maruyama", "heun"}
        ``"heun"``: predictor-corrector on the drift with the noise of the
        predictor (weak order one, smaller bias for stiff drifts).
    retraction : {"normal", "procrustes"}
        Upstairs only.
    progress : bool
        tqdm progress bar.
    record_every : int, optional
        ``None``: return the final points; otherwise a
        :class:`~geomstats_dln.dynamics.integrators.Trajectory` with the
        ``singular_values`` of ``X`` (and ``moment_norm`` upstairs).

    Returns
    -------
    final_points : ndarray
        End-to-end matrices [..., d, d] downstairs, parameters [..., N, d, d]
        upstairs (or a Trajectory).
    """
    _check_choice(level, "level", LEVELS)
    _check_choice(scheme, "scheme", SCHEMES)
    _check_choice(retraction, "retraction", RETRACTIONS)
    depth = check_depth(depth)
    beta = _check_beta(beta)
    t_final = _check_positive(t_final, "t_final")
    n_steps = _check_count(n_steps, "n_steps")
    record_every = _recorder(record_every)
    gauge_noise = _check_strength(gauge_noise, "gauge_noise")
    observable_noise = _check_strength(observable_noise, "observable_noise")
    if loss is not None:
        _check_loss(loss)
    state = np.asarray(initial_points, dtype=float).copy()
    if level == "downstairs":
        check_finite_matrix(state)
        _square(state, "the RLE")
        svd_frame(state, depth)  # full rank, finite: raises early otherwise
    else:
        if depth == math.inf:
            raise ValueError("the upstairs RLE needs a finite depth")
        network_depth, _ = check_parameters(state)
        if network_depth != depth:
            raise ValueError(
                f"initial_points have {network_depth} layers but depth={depth}"
            )
        check_balanced(state)
    if loss is not None and tuple(loss.shape) != state.shape[-2:]:
        raise ValueError(
            f"loss expects {loss.shape} matrices, the state has {state.shape[-2:]}"
        )
    rng = _rng(seed)
    dt = t_final / n_steps
    states, times = [state], [0.0]
    for index in _progress(n_steps, progress, f"RLE {level}"):
        if level == "downstairs":
            state = _downstairs_step(
                loss, state, depth, beta, dt, rng, gauge_noise, observable_noise, scheme
            )
        else:
            state = _upstairs_step(
                loss,
                state,
                beta,
                dt,
                rng,
                gauge_noise,
                observable_noise,
                scheme,
                retraction,
            )
        if record_every is not None and (
            (index + 1) % record_every == 0 or index + 1 == n_steps
        ):
            states.append(state)
            times.append((index + 1) * dt)
    if record_every is None:
        return state
    if level == "downstairs":
        observables = {"singular_values": _singular_values}
    else:
        observables = {
            "singular_values": lambda w: _singular_values(end_to_end(w)),
            "moment_norm": lambda w: np.sqrt(
                np.sum(np.asarray(moments(w)) ** 2, axis=(-3, -2, -1))
            ),
        }
    info = {
        "method": scheme,
        "level": level,
        "n_steps": n_steps,
        "beta": beta,
        "seed": seed,
        "gauge_noise": gauge_noise,
        "observable_noise": observable_noise,
    }
    return _finish(states, times, record_every, observables, info)


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
    initial_point = np.asarray(initial_point, dtype=float)
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
    initial = np.asarray(initial_eigenvalues, dtype=float)
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
    initial = np.sort(np.asarray(initial_eigenvalues, dtype=float))
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


# ------------------------------------------------ geomstats' Brownian motion
class EntryCoordinatesDLNMetric(RiemannianMetric):
    r"""``g^N`` in the row-major entry coordinates of ``n x m`` matrices.

    A metric on ``Euclidean(n m)`` (intrinsic coordinates) so that geomstats'
    generic machinery, :class:`~geomstats.distributions.brownian_motion.BrownianMotion`
    included, runs on ``(M_d, g^N)``: ``metric_matrix = A^{-1}``,
    ``cometric_matrix = A`` (no inversion) and
    ``inner_product_derivative_matrix``: ``d_k g = -g (d_k A) g`` with ``d_k A``
    from :func:`~geomstats_dln._spectral.operator_derivative` (closed form, any
    backend, no autodiff); the Christoffel symbols are geomstats' Koszul formula
    on these. ``O(d^6)`` per point: a bridge to geomstats, not a fast path
    (use :func:`brownian_step`).

    Parameters
    ----------
    space : Euclidean
        ``Euclidean(n * m)``.
    depth : int or math.inf
    shape : tuple of int, optional
        ``(n, m)``; default square.
    """

    def __init__(self, space, depth=3, shape=None):
        super().__init__(space=space)
        self.depth = check_depth(depth)
        if shape is None:
            n = int(round(math.sqrt(space.dim)))
            shape = (n, n)
        if shape[0] * shape[1] != space.dim:
            raise ValueError(f"shape {shape} does not match dim {space.dim}")
        self.matrix_shape = (int(shape[0]), int(shape[1]))

    def _matrices(self, base_point):
        base_point = np.asarray(base_point, dtype=float)
        return base_point.reshape(base_point.shape[:-1] + self.matrix_shape)

    def _basis(self):
        size = self.matrix_shape[0] * self.matrix_shape[1]
        return np.eye(size).reshape((size,) + self.matrix_shape)

    def _operator_matrix(self, base_point, power):
        points = self._matrices(base_point)
        frame = svd_frame(points[..., None, :, :], self.depth)
        images = np.asarray(apply_operator(frame, self._basis(), power))
        return np.swapaxes(images.reshape(images.shape[:-2] + (-1,)), -1, -2)

    def cometric_matrix(self, base_point=None):
        """``A_{N,X}`` in the entry basis, [..., nm, nm]."""
        return self._operator_matrix(base_point, 1.0)

    def metric_matrix(self, base_point=None):
        """``A_{N,X}^{-1}`` in the entry basis, [..., nm, nm]."""
        return self._operator_matrix(base_point, -1.0)

    def inner_product_derivative_matrix(self, base_point=None):
        """``d_k g_ij`` with the derivation index last, [..., nm, nm, nm]."""
        points = self._matrices(base_point)
        basis = self._basis()
        size = basis.shape[0]
        images = operator_derivative(
            points[..., None, None, :, :], basis[:, None], basis[None, :], self.depth
        )  # [..., k, l, n, m]: d_k A (E_l)
        derivative = images.reshape(images.shape[:-2] + (size,))  # [..., k, l, i]
        derivative = np.moveaxis(derivative, -3, -1)  # [..., l, i, k]
        derivative = np.swapaxes(derivative, -3, -2)  # [..., i, l, k]
        metric = self.metric_matrix(base_point)
        return -np.einsum("...ip,...pqk,...qj->...ijk", metric, derivative, metric)


def entry_coordinates_space(n: int, depth: int | float = 3, m: int | None = None):
    """``Euclidean(n m)`` equipped with :class:`EntryCoordinatesDLNMetric`."""
    m = n if m is None else m
    space = Euclidean(n * m, equip=False)
    space.equip_with_metric(EntryCoordinatesDLNMetric, depth=depth, shape=(n, m))
    return space


def geomstats_brownian_motion(n: int, depth: int | float = 3, m: int | None = None):
    """geomstats' ``BrownianMotion`` on :func:`entry_coordinates_space`.

    Its paths are Brownian motion on ``(M_d, g^N)`` at ``beta = 2`` in the
    flattened entry coordinates; see the module docstring for the time change
    to other temperatures.
    """
    from geomstats.distributions.brownian_motion import BrownianMotion

    return BrownianMotion(entry_coordinates_space(n, depth, m))


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
    y1, y2 = (float(value) for value in target_singular_values)
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
