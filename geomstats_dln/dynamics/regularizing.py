r"""Regularizing flows on fibers, and regularized training (MATH §6).

Vector fields on parameter points ``W`` [..., N, d, d] (``W[k-1] = W_k``) for
:func:`~geomstats_dln.dynamics.integrate` (balancedness paper §1.5, §2.4-2.5,
§4):

- :func:`l2_regularizing_field` -- ``W' = -grad_{F_X} 1/2 |W|^2 = -w_b`` with
  ``H(b) = G`` (Lemma 5). Stays on the fiber ``F_X`` and contracts the moments
  exactly, ``G(t) = G(0) e^{-2t}`` (Thm 2), towards the orbit ``O_X`` of
  minimizers of ``|W|^2`` (Kempf-Ness, Thm 1);
- :func:`kirwan_ness_field` -- ``W_k' = 2 (W_k G_{k-1} - G_k W_k)``: the
  gradient flow of ``1/2 |G|^2`` on ``F_X`` (Thm 10), explicit and cubic;
- :func:`regularized_training_field` -- ``W' = -grad (E(phi(W)) + kappa/2
  |W|^2)`` (4.1), recording its split into the part tangent to ``F_X``
  (``-kappa w_b``, regularizing) and the normal part (learning);
- :func:`regularized_langevin` -- Euler-Maruyama for
  ``dW = -(grad L + kappa W) dt + sqrt(2/beta) dB`` (4.2)-(4.4).

Over F = C (complex states; balancedness §1.1, §2, Thms 1, 2, 10 are stated
over C) the fields are the same with conjugate transposes: the L2 and
Kirwan-Ness flows take complex parameters and keep them complex.
:func:`integrate` takes real states, so complex ones are integrated by
:func:`integrate_complex` (the state as its real and imaginary parts, which is
the real vector space ``C^n = R^{2n}`` with the inner product ``Re tr``).

Conventions checked numerically in ``tests/test_fibers.py``: the Kirwan-Ness
field is ``-w_{2G}``, minus the Euclidean gradient of ``1/2 |G|^2``, which is
already tangent to ``F_X`` (so it *is* the fiber gradient, factor 1); along it
``d/dt 1/2 |G|^2 = -|w_{2G}|^2 = -4 |w_G|^2`` (the paper's (2.31) has
``-2 |w_G|^2``). Every lifted gradient ``grad E(phi(W))`` is normal to
``F_X`` and conserves ``G``, and ``dG(W) = 2G``, so under (4.1)
``G(t) = G(0) e^{-2 kappa t}`` exactly.
"""

from __future__ import annotations

import numpy as np

from geomstats_dln._validation import (
    as_field_array,
    as_float_array,
    as_parameters,
    as_real_number,
    check_parameters,
    check_seed,
)
from geomstats_dln.dynamics.flows import VectorField, _check_loss
from geomstats_dln.dynamics.integrators import (
    Trajectory,
    _evaluate_observables,
    integrate,
)
from geomstats_dln.dynamics.observables import moment_norm
from geomstats_dln.fibers import (
    DEFAULT_TOL,
    MomentRegularizer,
    _check_projection_options,
    _check_solver_options,
    fiber_projection,
)
from geomstats_dln.parameters import end_to_end, lifted_gradient

__all__ = [
    "integrate_complex",
    "kirwan_ness_field",
    "l2_regularizing_field",
    "regularized_langevin",
    "regularized_training_field",
    "regularized_training_split",
]


def _as_parameters(state):
    # real or complex by the dtype (F = R or C)
    state = np.asarray(as_field_array(state, "state"))
    check_parameters(state)
    return state


def _as_real_parameters(state, function):
    """Real parameters: the losses of ``geomstats_dln.losses`` are real
    functions, so regularized training stays over R (``TypeError`` on complex
    states rather than a silent cast)."""
    state = np.asarray(as_float_array(state, "parameters", function))
    check_parameters(state)
    return state


def _squared_norm(parameters):
    parameters = _as_parameters(parameters)
    if np.iscomplexobj(parameters):
        return np.sum(np.abs(parameters) ** 2, axis=(-3, -2, -1))
    return np.sum(parameters**2, axis=(-3, -2, -1))


def _moment_norm(parameters):
    """``|G|`` over R or C (Hermitian ``G``): ``observables.moment_norm``."""
    return moment_norm(_as_parameters(parameters))


def _fiber_observables():
    return {
        "moment_norm": _moment_norm,
        "end_to_end": lambda w: np.asarray(end_to_end(_as_parameters(w))),
        "frobenius_norm_squared": _squared_norm,
    }


def integrate_complex(vector_field, initial_state, t_final: float, **options):
    r""":func:`~geomstats_dln.dynamics.integrate` for complex states.

    The state ``W`` in ``C^n`` is integrated as ``(Re W, Im W)`` in ``R^{2n}``
    (the same vector space, with the inner product ``Re tr(A^* B)``), the
    velocity split the same way; the vector field and its observables see the
    complex state. Real initial states are passed to ``integrate`` unchanged.

    Parameters
    ----------
    vector_field : callable
        ``W -> W'`` on complex states, e.g. :func:`l2_regularizing_field` or
        :func:`kirwan_ness_field`.
    initial_state : array-like
        Complex (or real) state.
    t_final : float
    **options
        Passed to ``integrate`` (``rtol``, ``n_steps``, ``method``, ``atol``,
        ``t_eval``, ``observables``, ...).

    Returns
    -------
    trajectory : Trajectory
        With complex ``states``; observables evaluated on them.
    """
    state = np.asarray(as_field_array(initial_state, "initial_state"))
    if not np.iscomplexobj(state):
        return integrate(vector_field, state, t_final, **options)
    shape = state.shape

    def to_complex(pair):
        pair = np.asarray(pair)
        return pair[0] + 1j * pair[1]

    def velocity(pair):
        value = np.asarray(vector_field(to_complex(pair)))
        if value.shape != shape:
            raise ValueError(
                f"the vector field returned shape {value.shape} for a state of "
                f"shape {shape}"
            )
        return np.stack([value.real, value.imag])

    extra = dict(options.pop("observables", None) or {})
    record_defaults = options.pop("record_defaults", True)
    chosen = dict(getattr(vector_field, "observables", {})) if record_defaults else {}
    chosen.update(extra)
    observables = {
        name: (lambda observable: lambda pair: observable(to_complex(pair)))(function)
        for name, function in chosen.items()
    }
    realified = VectorField(velocity, observables, getattr(vector_field, "name", None))
    trajectory = integrate(
        realified, np.stack([state.real, state.imag]), t_final, **options
    )
    states = trajectory.states[:, 0] + 1j * trajectory.states[:, 1]
    return Trajectory(
        trajectory.times, states, trajectory.observables, dict(trajectory.info)
    )


def _check_kappa(kappa):
    kappa = as_real_number(kappa, "kappa")
    if not (np.isfinite(kappa) and kappa >= 0):
        raise ValueError(f"kappa must be finite and >= 0, got {kappa}")
    return kappa


def _check_method(method, solver, tol, maxiter):
    """Validate the projection options when a field is built, not mid-run."""
    _check_projection_options(method, solver, 1)
    _check_solver_options(tol, maxiter, 1)


def l2_regularizing_field(
    method: str = "normal",
    solver: str = "auto",
    tol: float = DEFAULT_TOL,
    maxiter: int | None = None,
) -> VectorField:
    r"""L2 regularizing flow ``W' = -grad_{F_X} 1/2 |W|^2`` (MATH §6, (1.17)).

    The velocity is ``-w_b`` with ``H(b) = G`` (Lemma 5), the orthogonal
    projection of ``-W`` onto ``T_W F_X``, by
    :func:`~geomstats_dln.fibers.fiber_projection` (``method``, ``solver``,
    ``tol``, ``maxiter`` are passed on). With ``method="normal"`` (default)
    it is ``-W + dphi^*(Z)``, ``A_W(Z) = dphi(W) = N X``: ``G' = -2G`` holds
    exactly and ``X`` drifts only by the solve's residual; with
    ``method="operator"`` (CG on ``H``) ``X`` is kept to rounding and
    ``G' = -2G`` to ``tol``.

    Thm 2: ``G(t) = G(0) e^{-2t}``; the flow converges to a point of ``O_X``,
    the minimizers of ``|W|^2`` on ``F_X`` (Thm 1). States must have a
    full-rank end-to-end matrix.

    Records ``moment_norm`` ``|G|``, ``end_to_end`` ``X`` (its drift measures the
    integration error), ``frobenius_norm_squared`` ``|W|^2`` and
    ``cg_iterations`` (one more solve per recorded state; 0 for a direct
    solve).
    """
    _check_method(method, solver, tol, maxiter)
    options = {"method": method, "solver": solver, "tol": tol, "maxiter": maxiter}

    def velocity(parameters):
        parameters = _as_parameters(parameters)
        return -fiber_projection(parameters, parameters, **options)

    def iterations(parameters):
        parameters = _as_parameters(parameters)
        _, info = fiber_projection(parameters, parameters, return_info=True, **options)
        return info["iterations"]

    observables = _fiber_observables()
    observables["cg_iterations"] = iterations
    return VectorField(velocity, observables, f"l2_regularizing({method})")


def kirwan_ness_field() -> VectorField:
    r"""Kirwan-Ness flow ``W_k' = 2 (W_k G_{k-1} - G_k W_k)``, ``G_0 = G_N = 0``.

    The gradient flow of ``1/2 |G|^2`` on ``F_X`` (MATH §6, balancedness
    (1.21)-(1.22), Thm 10): the velocity is ``-w_{2G}``, minus the Euclidean
    gradient of :class:`~geomstats_dln.fibers.MomentRegularizer`, which is
    tangent to the fiber, so no projection is needed (factor 1, tested).
    Explicit and cubic, defined on all of parameter space; it keeps ``X``
    fixed, decreases ``|G|`` (``d/dt 1/2 |G|^2 = -|w_{2G}|^2``) and every
    trajectory converges to one balanced point (Corollary 1).

    Records ``moment_norm``, ``end_to_end`` and ``frobenius_norm_squared``.
    """
    regularizer = MomentRegularizer()

    def velocity(parameters):
        return -regularizer.gradient(_as_parameters(parameters))

    return VectorField(velocity, _fiber_observables(), "kirwan_ness")


def regularized_training_split(
    loss,
    kappa: float,
    parameters,
    method: str = "normal",
    solver: str = "auto",
    tol: float = DEFAULT_TOL,
):
    r"""Split ``-grad(E(phi(W)) + kappa/2 |W|^2)`` at ``W`` (balancedness §4.1).

    Returns ``(regularizing, learning)``: the orthogonal projections of the
    velocity onto ``T_W F_X`` and onto its normal space. Since the lifted
    gradient ``dphi^*(E'(X))`` is normal, ``regularizing = -kappa w_b`` with
    ``H(b) = G`` (``kappa`` times the L2 regularizing velocity), which
    contracts ``G`` at rate ``2 kappa``; ``learning`` moves ``X``.

    Parameters
    ----------
    loss : object with ``value(X)`` and ``gradient(X)``
    kappa : float
    parameters : array-like, shape=[..., N, d, d]
    method, solver, tol
        As in :func:`~geomstats_dln.fibers.fiber_projection`.

    Returns
    -------
    regularizing, learning : ndarray, shape=[..., N, d, d]
    """
    _check_loss(loss)
    kappa = _check_kappa(kappa)
    parameters = _as_real_parameters(parameters, "regularized_training_split")
    gradient = np.asarray(
        lifted_gradient(loss.gradient(end_to_end(parameters)), parameters)
    )
    regularizing = -kappa * fiber_projection(
        parameters, parameters, method=method, solver=solver, tol=tol
    )
    learning = -gradient - kappa * parameters - regularizing
    return regularizing, learning


def regularized_training_field(
    loss,
    kappa: float,
    method: str = "normal",
    solver: str = "auto",
    tol: float = DEFAULT_TOL,
) -> VectorField:
    r"""``W' = -grad( E(phi(W)) + kappa/2 |W|^2 )`` (MATH §6, balancedness (4.1)).

    The velocity ``-dphi^*(E'(X)) - kappa W`` needs no solve; the recorded
    observables split it (:func:`regularized_training_split`) into the part
    tangent to ``F_X`` (``regularizing_norm``) and the normal part
    (``learning_norm``). ``G(t) = G(0) e^{-2 kappa t}`` exactly. Also records
    ``loss``, ``moment_norm`` and ``frobenius_norm_squared``.

    Parameters
    ----------
    loss : object with ``value(X)`` and ``gradient(X)``
        E.g. :class:`~geomstats_dln.losses.QuadraticLoss`.
    kappa : float
        Regularization strength, ``>= 0``.
    method, solver, tol
        Used only by the split observables.
    """
    _check_loss(loss)
    kappa = _check_kappa(kappa)
    _check_method(method, solver, tol, None)

    def velocity(parameters):
        parameters = _as_real_parameters(parameters, "regularized_training_field")
        gradient = lifted_gradient(loss.gradient(end_to_end(parameters)), parameters)
        return -np.asarray(gradient) - kappa * parameters

    def split_norms(parameters):
        regularizing, learning = regularized_training_split(
            loss, kappa, parameters, method, solver, tol
        )
        return np.sqrt(_squared_norm(regularizing)), np.sqrt(_squared_norm(learning))

    observables = {
        "loss": lambda w: loss.value(
            end_to_end(_as_real_parameters(w, "regularized_training_field"))
        ),
        "moment_norm": _moment_norm,
        "frobenius_norm_squared": _squared_norm,
        "regularizing_norm": lambda w: split_norms(w)[0],
        "learning_norm": lambda w: split_norms(w)[1],
    }
    return VectorField(velocity, observables, f"regularized_training(kappa={kappa:g})")


def regularized_langevin(
    loss,
    kappa: float,
    beta: float,
    initial_state,
    t_final: float,
    n_steps: int,
    seed: int | None = None,
    record_every: int = 1,
) -> Trajectory:
    r"""Euler-Maruyama for ``dW = -(grad L(W) + kappa W) dt + sqrt(2/beta) dB``.

    Balancedness (4.4) (``loss=None``: the Ornstein-Uhlenbeck background noise
    (4.2), whose equilibrium density is proportional to
    ``exp(-beta kappa |W|^2 / 2)``). Step ``h = t_final / n_steps``:
    ``W <- W - h (grad L(W) + kappa W) + sqrt(2 h / beta) xi``, ``xi``
    standard Gaussian from ``numpy.random.default_rng(seed)``; any batch of
    states ``[..., N, d, d]`` is advanced together (independent noises).

    Returns
    -------
    trajectory : Trajectory
        Recorded every ``record_every`` steps (and at the end), with
        ``moment_norm``, ``frobenius_norm_squared`` (and ``loss``) observables;
        ``info`` holds ``method="euler_maruyama"``, ``seed``, ``kappa``,
        ``beta``, ``n_steps``.
    """
    if loss is not None:
        _check_loss(loss)
    kappa = _check_kappa(kappa)
    beta = as_real_number(beta, "beta", "regularized_langevin")
    if not (beta > 0):
        raise ValueError(f"beta must be positive, got {beta}")
    t_final = as_real_number(t_final, "t_final", "regularized_langevin")
    if not (np.isfinite(t_final) and t_final > 0):
        raise ValueError(f"t_final must be positive and finite, got {t_final}")
    for name, value in (("n_steps", n_steps), ("record_every", record_every)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value}")
    state = np.array(
        as_parameters(initial_state, "initial_state", "regularized_langevin")
    )
    rng = np.random.default_rng(check_seed(seed, "regularized_langevin"))
    step = t_final / n_steps
    noise = np.sqrt(2.0 * step / beta) if np.isfinite(beta) else 0.0
    times, states = [0.0], [state]
    for index in range(1, int(n_steps) + 1):
        drift = -kappa * state
        if loss is not None:
            drift = drift - np.asarray(
                lifted_gradient(loss.gradient(end_to_end(state)), state)
            )
        state = state + step * drift + noise * rng.standard_normal(state.shape)
        finite = np.all(np.isfinite(state), axis=(-3, -2, -1))
        if not np.all(finite):
            # why: a diverging path used to come back as NaN without a word
            bad = np.argwhere(~np.atleast_1d(finite))
            paths = [tuple(int(i) for i in row) for row in bad[:5]]
            named = str(paths) if state.ndim > 3 else "(the only path)"
            raise FloatingPointError(
                f"regularized_langevin: path(s) {named} became non-finite at step "
                f"{index} (t = {index * step:g}); the step {step:g} is too large "
                f"for kappa = {kappa:g} and this loss (raise n_steps)"
            )
        if index % record_every == 0 or index == n_steps:
            times.append(index * step)
            states.append(state)
    states = np.stack(states)
    observables = {
        "moment_norm": moment_norm,
        "frobenius_norm_squared": _squared_norm,
    }
    if loss is not None:
        observables["loss"] = lambda w: loss.value(end_to_end(w))
    return Trajectory(
        np.asarray(times),
        states,
        _evaluate_observables(observables, states),
        {
            "method": "euler_maruyama",
            "n_steps": int(n_steps),
            "n_evaluations": int(n_steps),
            "seed": seed,
            "kappa": kappa,
            "beta": beta,
        },
    )
