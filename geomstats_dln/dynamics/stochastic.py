r"""Brownian motion and Riemannian Langevin dynamics (RLE) of the DLN.

docs/mathematics.md §7 (survey §10-12).
Notation of docs/mathematics.md §3: ``X = U S V^T``, ``a_ij`` the
coefficients of ``A_{N,X}``, power coordinates ``x = s^{2/N}``, ``f(x) = x^N``
(``f = exp``, ``x = log s^2`` for ``N = inf``).

The implementation is split by concept: :mod:`~geomstats_dln.dynamics.brownian`
(Brownian motion, geomstats' route), :mod:`~geomstats_dln.dynamics.langevin_downstairs`
and :mod:`~geomstats_dln.dynamics.langevin_upstairs` (the two levels of the
RLE), :mod:`~geomstats_dln.dynamics.sde_examples` (sphere, Dyson) and
:mod:`~geomstats_dln.dynamics.gibbs` (the equilibrium law). This module holds
the drivers :func:`rle_step` and :func:`simulate_rle` and re-exports the public
names.

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

"""

from __future__ import annotations

import math
import warnings

import numpy as np

from geomstats_dln._spectral import (
    check_depth,
    check_finite_matrix,
    svd_frame,
)
from geomstats_dln._validation import (
    as_finite_array,
    as_size,
    check_balanced,
    check_parameters,
    check_seed,
)
from geomstats_dln.dynamics._sde import (
    LEVELS,
    RETRACTIONS,
    SCHEMES,
    _check_choice,
    _check_count,
    _check_positive,
    _check_strength,
    _finish,
    _progress,
    _recorder,
    _rng,
    _singular_values,
    _square,
)
from geomstats_dln.dynamics.brownian import (
    EntryCoordinatesDLNMetric,
    brownian_drift,
    brownian_step,
    entry_coordinates_space,
    geomstats_brownian_motion,
    simulate_brownian,
)
from geomstats_dln.dynamics.flows import _check_loss
from geomstats_dln.dynamics.free_energy import _check_beta
from geomstats_dln.dynamics.gibbs import gibbs_singular_values
from geomstats_dln.dynamics.langevin_downstairs import (
    _downstairs_step,
    noise_induced_drift,
    rle_drift,
)
from geomstats_dln.dynamics.langevin_upstairs import UpstairsReport, _upstairs_step
from geomstats_dln.dynamics.sde_examples import (
    dyson_brownian_motion,
    dyson_eigenvalue_sde,
    sphere_brownian_motion,
)
from geomstats_dln.parameters import (
    end_to_end,
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


# Each upstairs step inverts one dense Jacobian of the (N-1) d (d+1)/2 balance
# constraints per path: beyond this many it takes seconds per step.
MAX_UPSTAIRS_CONSTRAINTS = 300


def _check_upstairs_size(depth: int, width: int, function: str) -> None:
    n_constraints = (depth - 1) * width * (width + 1) // 2
    if n_constraints > MAX_UPSTAIRS_CONSTRAINTS:
        raise ValueError(
            f"{function}: the upstairs RLE at depth {depth} and width {width} has "
            f"{n_constraints} balance constraints (more than "
            f"{MAX_UPSTAIRS_CONSTRAINTS}); its retraction inverts a dense "
            "Jacobian of that size per path and step, seconds per step. The "
            "downstairs RLE (level='downstairs') has the same law of X and costs "
            "one SVD per step at any depth"
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
    max_substeps: int = 1024,
):
    """One step of :func:`simulate_rle` (same arguments; ``state`` is ``X``
    [..., d, d] downstairs and a balanced ``W`` [..., N, d, d] upstairs).

    Upstairs, a path whose step fails is repeated with up to ``max_substeps``
    Brownian-bridge substeps; ``RuntimeError`` if even that fails."""
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
    rng = _rng(check_seed(rng, "rle_step"))
    max_substeps = as_size(max_substeps, "max_substeps", "rle_step")
    state = np.asarray(as_finite_array(state, "state", "rle_step", min_ndim=2))
    if level == "downstairs":
        return _downstairs_step(
            loss, state, depth, beta, dt, rng, gauge_noise, observable_noise, scheme
        )
    network_depth, width = check_parameters(state, "state")
    _check_upstairs_size(network_depth, width, "rle_step")
    check_balanced(state, function="rle_step")
    return _upstairs_step(
        loss,
        state,
        beta,
        dt,
        rng,
        gauge_noise,
        observable_noise,
        scheme,
        retraction,
        max_substeps=max_substeps,
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
    max_substeps: int = 1024,
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

    Upstairs, a path whose step fails (the retraction's Newton iteration does
    not converge, typically when ``X`` nears the boundary of the full-rank
    set) repeats that step alone in up to ``max_substeps`` Brownian-bridge
    substeps (:mod:`~geomstats_dln.dynamics.langevin_upstairs`); the other paths
    are not affected. A path that fails even then is frozen at its last state.
    The Trajectory's ``info`` reports ``refined_steps``, ``refined_paths``,
    ``max_substeps_used``, ``retraction_failures`` and ``failed_paths`` (flat
    path indices); without ``record_every`` a ``RuntimeWarning`` names failed
    paths.

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
    max_substeps : int
        Upstairs: most substeps one step of one path may be split into
        (rounded down to a power of two).

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
    seed = check_seed(seed, "simulate_rle")
    max_substeps = as_size(max_substeps, "max_substeps", "simulate_rle")
    # finite before any SVD or Newton iteration (an inf hung the upstairs RLE)
    state = np.array(
        as_finite_array(initial_points, "initial_points", "simulate_rle", 2),
        dtype=float,
    )
    if level == "downstairs":
        check_finite_matrix(state)
        _square(state, "the RLE")
        svd_frame(state, depth)  # full rank, finite: raises early otherwise
    else:
        if depth == math.inf:
            raise ValueError("the upstairs RLE needs a finite depth")
        network_depth, width = check_parameters(state)
        if network_depth != depth:
            raise ValueError(
                f"initial_points have {network_depth} layers but depth={depth}"
            )
        _check_upstairs_size(depth, width, "simulate_rle")
        check_balanced(state)
    if loss is not None and tuple(loss.shape) != state.shape[-2:]:
        raise ValueError(
            f"loss expects {loss.shape} matrices, the state has {state.shape[-2:]}"
        )
    rng = _rng(seed)
    dt = t_final / n_steps
    states, times = [state], [0.0]
    report = UpstairsReport()
    frozen = np.zeros(int(np.prod(state.shape[:-3])), dtype=bool)
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
                max_substeps=max_substeps,
                report=report,
                frozen=frozen,
                step_index=index,
            )
        if record_every is not None and (
            (index + 1) % record_every == 0 or index + 1 == n_steps
        ):
            states.append(state)
            times.append((index + 1) * dt)
    if report.failed_paths:
        warnings.warn(
            f"upstairs RLE: {len(report.failed_paths)} path(s) frozen after "
            f"failing with {max_substeps} substeps: "
            f"{sorted(report.failed_paths)[:10]} (flat indices)",
            RuntimeWarning,
            stacklevel=2,
        )
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
    if level == "upstairs":
        info.update(report.as_info())
        info["max_substeps"] = max_substeps
    return _finish(states, times, record_every, observables, info)
