"""Generic integrators for vector fields, and the one trajectory type they return.

A *vector field* is any callable ``field(state) -> velocity`` with the shape of
``state`` (an autonomous ODE ``y' = f(y)``); the fields of this package (gradient
flows up and down the submersion, adapted descent) also carry an ``observables``
dict, recorded by default. Integrators know nothing about the geometry (the
diffrax split: vector fields separate from solvers):

- ``"rk4"`` (classical fixed-step Runge-Kutta) and ``"euler"`` (forward Euler,
  which with step ``eta`` *is* gradient descent) take ``n_steps``;
- ``"DOP853"``, ``"RK45"``, ``"RK23"``, ``"Radau"``, ``"BDF"``, ``"LSODA"``
  (adaptive, :func:`scipy.integrate.solve_ivp`) take ``rtol`` (and ``atol``).

Every run returns a :class:`Trajectory`: times, states and the observables
evaluated on the recorded states.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

import numpy as np
from scipy.integrate import solve_ivp
from tqdm.auto import tqdm

from geomstats_dln._validation import as_float_array, as_real_number, is_complex

__all__ = [
    "StepSizeError",
    "Trajectory",
    "gradient_descent",
    "integrate",
]

FIXED_STEP_METHODS = ("rk4", "euler")
ADAPTIVE_METHODS = ("DOP853", "RK45", "RK23", "Radau", "BDF", "LSODA")
DEFAULT_RTOL = 1e-8


@dataclasses.dataclass(frozen=True)
class Trajectory:
    """One run of an integrator.

    Attributes
    ----------
    times : ndarray, shape=[T]
        Recorded times, increasing, ``times[0] = 0``.
    states : ndarray, shape=[T, *state_shape]
        States at ``times``.
    observables : dict of str to ndarray, each shape=[T, ...]
        Observables evaluated on ``states`` (loss, singular values, ...).
    info : dict
        ``method``, ``n_steps`` (accepted steps), ``n_evaluations`` (of the
        vector field) and whatever the vector field or driver adds (for example
        the a-priori stopping time of adapted descent).
    """

    times: np.ndarray
    states: np.ndarray
    observables: dict[str, np.ndarray]
    info: dict = dataclasses.field(default_factory=dict)

    @property
    def final_state(self) -> np.ndarray:
        """The state at the last recorded time."""
        return self.states[-1]

    @property
    def final_time(self) -> float:
        return float(self.times[-1])

    def __len__(self) -> int:
        return len(self.times)

    def __getitem__(self, name: str) -> np.ndarray:
        """``trajectory["loss"]``: a recorded observable."""
        try:
            return self.observables[name]
        except KeyError:
            raise KeyError(
                f"no observable {name!r}; recorded: {sorted(self.observables)}"
            ) from None


def _evaluate_observables(observables, states):
    """Each observable on each state (observables need not be batched)."""
    recorded = {}
    for name, observable in observables.items():
        values = [np.asarray(observable(state)) for state in states]
        recorded[name] = np.stack(values) if values else np.empty((0,))
    return recorded


def _merged_observables(vector_field, observables, record_defaults):
    merged = dict(getattr(vector_field, "observables", {})) if record_defaults else {}
    if observables is not None:
        if not isinstance(observables, Mapping):
            raise TypeError(
                "observables must be a mapping of names to functions of a state, "
                f"got {type(observables).__name__}"
            )
        merged.update(observables)
    for name, observable in merged.items():
        if not callable(observable):
            raise TypeError(f"observable {name!r} is not callable")
    return merged


def _rk4_step(field, state, step):
    k1 = field(state)
    k2 = field(state + 0.5 * step * k1)
    k3 = field(state + 0.5 * step * k2)
    k4 = field(state + step * k3)
    return state + step / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


def _euler_step(field, state, step):
    return state + step * field(state)


class StepSizeError(FloatingPointError, ValueError):
    """An integration failed because its time step was too large: the state blew
    up, or drifted off the set the vector field is defined on (a balanced flow
    whose balance defect grew). A ``ValueError`` too, for callers that catch
    the field's own errors."""


# A stage state this many times larger than the initial one has blown up: a
# rank or balance error raised there is the integrator's, not the field's.
BLOW_UP_FACTOR = 1e6


class _GuardedField:
    """The vector field, remembering the size of the last state it was given,
    so that an error raised at a stage point can be blamed on the step."""

    def __init__(self, field, initial_state):
        self.field = field
        self.initial_size = max(float(np.max(np.abs(initial_state))), 1e-300)
        self.last_size = self.initial_size

    def __call__(self, state):
        self.last_size = float(np.max(np.abs(state)))
        return self.field(state)

    def explain(self, error, method, index, time, step):
        """The error to raise for ``error`` raised during step ``index``."""
        growth = self.last_size / self.initial_size
        where = f"{method} step {index} (t = {time:g}, step {step:g})"
        if not np.isfinite(growth) or growth > BLOW_UP_FACTOR:
            return StepSizeError(
                f"{where} blew up: a stage state reached max |y| = "
                f"{self.last_size:.3e}, {growth:.1e} times the initial state; the "
                "time step is too large (raise n_steps or use an adaptive method, "
                f"rtol=...). The vector field said: {error}"
            )
        if "not balanced" in str(error):
            return StepSizeError(
                f"{where}: the balance defect of a stage state exceeded the "
                "field's tolerance; the step is too coarse for the balanced flow "
                f"(raise n_steps or use rtol=...). The vector field said: {error}"
            )
        return None


def _as_real_state(initial_state, function):
    """A real ``float64`` copy of ``initial_state``; complex states are a
    ``TypeError`` naming ``function`` and pointing to ``integrate_complex``."""
    try:
        state = as_float_array(initial_state, "initial_state", function)
    except TypeError as error:
        if not is_complex(initial_state):
            raise
        raise TypeError(
            f"{error}; integrate complex states with "
            "geomstats_dln.integrate_complex (as their real and imaginary parts)"
        ) from None
    return np.array(state, dtype=float)


def _as_velocity(field, shape):
    def velocity(state):
        value = np.asarray(
            as_float_array(field(state), "the vector field's velocity", "integrate")
        )
        if value.shape != shape:
            raise ValueError(
                f"the vector field returned shape {value.shape} for a state of "
                f"shape {shape}"
            )
        return value

    return velocity


def integrate(
    vector_field: Callable,
    initial_state,
    t_final: float,
    n_steps: int | None = None,
    rtol: float | None = None,
    *,
    method: str | None = None,
    atol: float | None = None,
    observables: Mapping[str, Callable] | None = None,
    record_defaults: bool = True,
    record_every: int = 1,
    t_eval=None,
    progress: bool = False,
) -> Trajectory:
    """Integrate ``y' = vector_field(y)`` from ``initial_state`` on ``[0, t_final]``.

    Parameters
    ----------
    vector_field : callable
        ``vector_field(state) -> velocity`` of the state's shape. Its
        ``observables`` attribute (a dict), if any, is recorded.
    initial_state : array-like
        Any shape: one parameter point ``[N, d, d]``, an end-to-end matrix
        ``[n, m]``, a batch of them, a flat parameter vector.
    t_final : float
        Final time, positive.
    n_steps : int, optional
        Number of fixed steps (``method`` defaults to ``"rk4"``).
    rtol : float, optional
        Relative tolerance of an adaptive method (``method`` defaults to
        ``"DOP853"``); the default when neither ``n_steps`` nor ``rtol`` is
        given is ``1e-8``.
    method : str, optional
        ``"rk4"``, ``"euler"`` or a :func:`scipy.integrate.solve_ivp` method.
    atol : float, optional
        Absolute tolerance of an adaptive method; default ``rtol * 1e-3``
        times the size of the initial state.
    observables : dict of str to callable, optional
        Extra functions of a state to record (added to the field's own).
    record_defaults : bool
        Record the vector field's ``observables`` too.
    record_every : int
        Fixed-step methods: record every ``record_every``-th step (the last
        step is always recorded).
    t_eval : array-like, optional
        Adaptive methods: record at these times (dense output) instead of at
        every accepted step.
    progress : bool
        Show a progress bar.

    Returns
    -------
    trajectory : Trajectory

    Raises
    ------
    TypeError
        For a complex ``initial_state`` (real states only: complex ones are
        integrated by :func:`~geomstats_dln.integrate_complex`) and for a
        vector field that returns complex velocities on real states.
    """
    state = _as_real_state(initial_state, "integrate")
    if not np.all(np.isfinite(state)):
        raise ValueError("initial_state contains NaN or infinite entries")
    t_final = as_real_number(t_final, "t_final", "integrate")
    if not (np.isfinite(t_final) and t_final > 0):
        raise ValueError(f"t_final must be positive and finite, got {t_final}")
    if method is None:
        method = "rk4" if n_steps is not None else "DOP853"
    chosen = _merged_observables(vector_field, observables, record_defaults)
    field = _as_velocity(vector_field, state.shape)
    if method in FIXED_STEP_METHODS:
        if n_steps is None or int(n_steps) != n_steps or n_steps < 1:
            raise ValueError(
                f"method {method!r} needs a positive integer n_steps, got {n_steps}"
            )
        if rtol is not None or atol is not None or t_eval is not None:
            raise ValueError(
                f"rtol, atol and t_eval are for adaptive methods, not {method!r}"
            )
        return _integrate_fixed(
            field,
            state,
            t_final,
            int(n_steps),
            method,
            chosen,
            record_every,
            progress,
        )
    if method not in ADAPTIVE_METHODS:
        raise ValueError(
            f"unknown method {method!r}; choose one of "
            f"{FIXED_STEP_METHODS + ADAPTIVE_METHODS}"
        )
    if n_steps is not None:
        raise ValueError(f"n_steps is for fixed-step methods, not {method!r}")
    return _integrate_adaptive(
        field, state, t_final, method, rtol, atol, chosen, t_eval, progress
    )


def _integrate_fixed(
    field, state, t_final, n_steps, method, observables, record_every, progress
):
    if int(record_every) != record_every or record_every < 1:
        raise ValueError(f"record_every must be a positive integer, got {record_every}")
    step_function = _rk4_step if method == "rk4" else _euler_step
    step = t_final / n_steps
    times, states = [0.0], [state]
    guarded = _GuardedField(field, state)
    for index in tqdm(range(1, n_steps + 1), disable=not progress, desc=method):
        try:
            with np.errstate(over="ignore", invalid="ignore"):  # reported below
                state = step_function(guarded, state, step)
        except ValueError as error:
            if index == 1 and guarded.last_size == guarded.initial_size:
                raise  # the initial state itself was refused
            explained = guarded.explain(error, method, index, index * step, step)
            if explained is None:
                raise
            raise explained from error
        if not np.all(np.isfinite(state)):
            raise StepSizeError(
                f"{method} produced non-finite values at step {index} "
                f"(t = {index * step:g}): it blew up; reduce the step size"
            )
        if index % record_every == 0 or index == n_steps:
            times.append(index * step)
            states.append(state)
    states = np.stack(states)
    evaluations = n_steps * (4 if method == "rk4" else 1)
    return Trajectory(
        np.asarray(times),
        states,
        _evaluate_observables(observables, states),
        {"method": method, "n_steps": n_steps, "n_evaluations": evaluations},
    )


def _integrate_adaptive(
    field, state, t_final, method, rtol, atol, observables, t_eval, progress
):
    rtol = DEFAULT_RTOL if rtol is None else as_real_number(rtol, "rtol", "integrate")
    if not 0 < rtol < 1:
        raise ValueError(f"rtol must lie in (0, 1), got {rtol}")
    if atol is not None:
        atol = as_real_number(atol, "atol", "integrate")
    if atol is not None and not (np.isfinite(atol) and atol > 0):
        raise ValueError(f"atol must be positive and finite, got {atol}")
    if t_eval is not None:
        t_eval = np.asarray(as_float_array(t_eval, "t_eval", "integrate"))
        if t_eval.ndim != 1 or t_eval.size == 0 or not np.all(np.isfinite(t_eval)):
            raise ValueError("t_eval must be a non-empty 1-D array of finite times")
    if atol is None:
        # scale-aware default: a fixed absolute floor would be meaningless for
        # both tiny (small initialization) and large states
        atol = rtol * 1e-3 * max(float(np.max(np.abs(state))), 1e-300)
    shape = state.shape
    bar = tqdm(total=t_final, disable=not progress, desc=method)
    evaluations = 0

    def flat_field(time, flat_state):
        nonlocal evaluations
        evaluations += 1
        if progress and time > bar.n:
            bar.update(time - bar.n)
        velocity = field(flat_state.reshape(shape)).ravel()
        if not np.all(np.isfinite(velocity)):
            # scipy's step control would shrink the step forever on NaN
            raise FloatingPointError(
                f"{method}: the vector field returned non-finite values at t = {time:g}"
            )
        return velocity

    try:
        solution = solve_ivp(
            flat_field,
            (0.0, t_final),
            state.ravel(),
            method=method,
            rtol=rtol,
            atol=atol,
            t_eval=t_eval,
        )
    finally:
        bar.close()
    if solution.status != 0:
        raise RuntimeError(f"{method} failed: {solution.message}")
    states = np.moveaxis(solution.y, -1, 0).reshape((-1,) + shape)
    return Trajectory(
        solution.t,
        states,
        _evaluate_observables(observables, states),
        {
            "method": method,
            "n_steps": int(len(solution.t) - 1) if t_eval is None else None,
            "n_evaluations": evaluations,
            "rtol": rtol,
            "atol": atol,
        },
    )


def gradient_descent(
    vector_field: Callable,
    initial_state,
    step_size: float,
    n_steps: int,
    *,
    observables: Mapping[str, Callable] | None = None,
    record_defaults: bool = True,
    record_every: int = 1,
    progress: bool = False,
) -> Trajectory:
    """Gradient descent ``y_{t+1} = y_t + eta * vector_field(y_t)``.

    With ``vector_field = -grad L`` this is gradient descent with step ``eta``:
    the forward-Euler discretization of the gradient flow, so that the recorded
    ``times`` are ``iteration * eta`` and compare directly with the flow's.
    Real states only (``TypeError`` for a complex ``initial_state``).
    """
    initial_state = _as_real_state(initial_state, "gradient_descent")
    step_size = as_real_number(step_size, "step_size", "gradient_descent")
    if not (np.isfinite(step_size) and step_size > 0):
        raise ValueError(f"step_size must be positive and finite, got {step_size}")
    trajectory = integrate(
        vector_field,
        initial_state,
        step_size * n_steps,
        n_steps=n_steps,
        method="euler",
        observables=observables,
        record_defaults=record_defaults,
        record_every=record_every,
        progress=progress,
    )
    trajectory.info["step_size"] = step_size
    return trajectory
