r"""Geometrically adapted gradient descent (MATH §8; Chen, "adapted" paper).

Any model ``x(theta)`` with parameters ``theta in R^K`` and stacked training
outputs ``x in R^m``, targets ``y``, cost ``C = 1/(2n) |x - y|^2`` over ``n``
training samples and Jacobian ``D = dx/dtheta`` (``m x K``).

- Standard gradient flow (paper (1.9), (1.22)): ``theta' = -D^T (x - y) / n``,
  so that ``x' = -D D^T (x - y) / n`` -- the gradient for the metric pushed
  forward to the outputs, whose landscape traps orbits (paper §3, Prop 3.1).
- Adapted flow, all cases in one formula: ``theta' = -D^+ (x - y)`` with ``D^+``
  the Moore-Penrose pseudo-inverse. Then ``x' = -P_range(D) (x - y)``:

  * overparametrized (``K >= m``) with ``rank D = m`` along the orbit
    (paper Thm 2.1): ``D^+ = D^T (D D^T)^{-1}``, ``x' = -(x - y)``, so
    ``x(t) = y + e^{-t} (x(0) - y)`` and ``C(t) = C(0) e^{-2t}``, uniformly in
    the start; a-priori stopping time ``T = 1/2 log(C(0)/eps)`` (Thm 2.3).
    The field is the gradient of ``C`` for the pullback bundle metric, a
    section of the (generally non-holonomic) horizontal bundle (Prop 2.4);
  * rank loss (paper Thm 4.1): ``theta'`` is the minimum-norm least-squares
    solution of ``D theta' = -(x - y)``, and ``x' = -P_range(D) (x - y)``;
    equilibria are those of the standard flow (Thm 4.2);
  * underparametrized (``K < m``) with ``rank D = K`` (paper Thm 5.1):
    ``D^+ = (D^T D)^{-1} D^T``, the constrained gradient flow
    ``x' = -P_range(D)(x - y)`` on the image of ``theta -> x(theta)``, which
    converges to a (generally non-zero-cost) constrained minimum;
  * the borderline ``K = m`` (paper §6): both formulas give ``D^{-1}``.

``D^+`` is computed from one SVD of ``D`` with a relative rank cutoff (the
least-squares rule of Thm 4.1 when singular values fall below it).

Models are plain functions ``model(theta, inputs) -> outputs`` written with
:mod:`autograd.numpy` (the Jacobian comes from :func:`autograd.jacobian`,
whatever the geomstats backend); :func:`dln_model` and :func:`relu_network_model`
build two of them.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from itertools import pairwise
from typing import Any

import autograd
import autograd.numpy as anp
import numpy as np

from geomstats_dln._validation import as_float_array, as_real_number, is_complex, raw
from geomstats_dln.dynamics.flows import VectorField
from geomstats_dln.dynamics.integrators import (
    Trajectory,
    gradient_descent,
    integrate,
)

__all__ = [
    "ParametricModel",
    "adapted_descent",
    "adapted_gradient_descent",
    "adapted_gradient_field",
    "dln_model",
    "n_parameters",
    "relu_network_model",
    "standard_gradient_field",
    "stopping_time",
]

#: Number of states whose Jacobian singular values are remembered per field, so
#: that the observables of states the integrator already visited cost nothing.
_CACHE_SIZE = 4096

#: Default relative slack of ``reached_tolerance`` in :func:`adapted_descent`.
DEFAULT_SLACK = 1e-6


# ------------------------------------------------------------------ models
class ParametricModel:
    """A model ``x = model(theta, inputs)`` of a flat parameter vector.

    Parameters
    ----------
    function : callable
        ``function(theta, inputs) -> outputs``, written with
        :mod:`autograd.numpy` so that it can be differentiated in ``theta``.
    n_parameters : int
        ``K``, the length of ``theta``.
    unflatten : callable, optional
        ``theta -> structured parameters`` (the network's weights).
    name : str, optional
    """

    def __init__(
        self,
        function: Callable,
        n_parameters: int,
        unflatten: Callable | None = None,
        name: str | None = None,
    ):
        self.function = function
        self.n_parameters = int(n_parameters)
        self._unflatten = unflatten
        self.name = name or getattr(function, "__name__", "model")

    def __call__(self, theta, inputs):
        theta_shape = np.shape(theta)
        if theta_shape != (self.n_parameters,):
            raise ValueError(
                f"{self.name} takes a flat parameter vector of shape "
                f"({self.n_parameters},), got shape {theta_shape}"
            )
        return self.function(theta, inputs)

    def unflatten(self, theta):
        """The structured parameters (weights) of a flat ``theta``."""
        if self._unflatten is None:
            raise NotImplementedError(f"{self.name} has no structured parameters")
        return self._unflatten(theta)

    def __repr__(self) -> str:
        return f"ParametricModel({self.name}, n_parameters={self.n_parameters})"


def _real_theta(theta):
    """``theta`` as a real array for ``unflatten`` (a complex one is a
    ``TypeError``: the models' parameters are real)."""
    return np.asarray(as_float_array(theta, "theta", "ParametricModel.unflatten"))


def dln_model(depth: int, dim: int) -> ParametricModel:
    """Deep linear network ``x = inputs @ X^T`` with ``X = W_N ... W_1`` (MATH §1).

    ``theta`` (length ``K = N d^2``) reshapes (C order) to ``W`` of shape
    ``(N, d, d)`` with ``W[k-1] = W_k``, input layer first, as everywhere in
    this package; ``model.unflatten(theta)`` returns that array and
    ``W.ravel()`` inverts it. Inputs are samples in rows, shape
    ``(n_samples, d)``; outputs have the same shape, row ``i`` being
    ``X @ inputs[i]``. With ``inputs = I_d`` the outputs are ``X^T``: the
    entries of the end-to-end matrix, so that ``D = dphi_W`` (up to the
    transposition of the output array).

    The outputs are linear in ``X``, so ``rank D <= d^2``: with more than ``d``
    samples (``m = n d > d^2``) ``D`` is rank deficient at every point, even
    when ``K >= m``, and the adapted flow is the least-squares flow of Thm 4.1.
    At a balanced ``W`` with full-rank ``X``, ``D^+ (x - y)`` is the horizontal
    lift (MATH §4) of the output-space least-squares solution ``Z`` of
    ``inputs @ Z^T = x - y`` when that is unique (``n >= d``, ``inputs`` of rank
    ``d``); for ``n < d`` it lifts the solution of least ``g^N`` norm, not the
    Frobenius minimum-norm one.

    Parameters
    ----------
    depth : int
        ``N >= 1``.
    dim : int
        ``d >= 1``.

    Returns
    -------
    model : ParametricModel
    """
    for name, value in (("depth", depth), ("dim", dim)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    shape = (int(depth), int(dim), int(dim))

    def deep_linear_network(theta, inputs):
        weights = anp.reshape(theta, shape)
        outputs = inputs
        for k in range(shape[0]):
            outputs = anp.dot(outputs, anp.transpose(weights[k]))
        return outputs

    return ParametricModel(
        deep_linear_network,
        math.prod(shape),
        lambda theta: np.reshape(_real_theta(theta), shape),
        f"dln(N={depth}, d={dim})",
    )


def _check_widths(widths) -> tuple[int, ...]:
    widths = tuple(widths)
    if len(widths) < 2 or any(
        isinstance(w, bool) or not isinstance(w, int | np.integer) or w < 1
        for w in widths
    ):
        raise ValueError(
            "widths must be at least two positive integers "
            f"(input, hidden..., output), got {widths!r}"
        )
    return tuple(int(w) for w in widths)


def n_parameters(widths: Sequence[int]) -> int:
    """Number of weights and biases of a fully connected network.

    ``sum_l widths[l+1] * (widths[l] + 1)``, the ``K`` of
    :func:`relu_network_model`.
    """
    widths = _check_widths(widths)
    return sum(w_out * (w_in + 1) for w_in, w_out in pairwise(widths))


def relu_network_model(widths: Sequence[int]) -> ParametricModel:
    """Fully connected ReLU network, no activation on the output layer.

    Layers ``h_l = relu(h_{l-1} @ W_l^T + b_l)`` with ``h_0 = inputs`` of shape
    ``(n_samples, widths[0])`` and a linear last layer, outputs of shape
    ``(n_samples, widths[-1])`` (the paper's model (1.3)-(1.4) with ReLU).
    ``theta`` lists, layer by layer from the input, ``W_l`` (shape
    ``(widths[l], widths[l-1])``, C order) then ``b_l``; its length is
    :func:`n_parameters`. ``model.unflatten(theta)`` returns the list of
    ``(W_l, b_l)``.

    ReLU is not differentiable at 0 (autograd takes derivative 0 there), which
    is outside the paper's assumption of an activation with Lipschitz
    derivative: the flows are ODEs with piecewise smooth right-hand sides. The
    output law ``x' = -(x - y)`` holds inside each activation region and across
    transversal crossings, but an orbit can also slide along a kink (a
    Filippov sliding mode, where the velocities on both sides point into it);
    there ``C(t) = C(0) e^{-2t}`` fails by an amount that does not shrink with
    the step size (about 6% at the stopping time in one random example, with
    the Jacobian of full rank throughout), and adaptive integrators stall.
    """
    widths = _check_widths(widths)
    layout = []
    offset = 0
    for w_in, w_out in pairwise(widths):
        layout.append((offset, w_out, w_in))
        offset += w_out * (w_in + 1)
    n_layers = len(layout)

    def split(theta):
        layers = []
        for start, w_out, w_in in layout:
            stop = start + w_out * w_in
            weight = anp.reshape(theta[start:stop], (w_out, w_in))
            layers.append((weight, theta[stop : stop + w_out]))
        return layers

    def relu_network(theta, inputs):
        hidden = inputs
        for index, (weight, bias) in enumerate(split(theta)):
            hidden = anp.dot(hidden, anp.transpose(weight)) + bias
            if index < n_layers - 1:
                hidden = anp.maximum(hidden, 0.0)
        return hidden

    return ParametricModel(
        relu_network,
        offset,
        lambda theta: split(_real_theta(theta)),
        f"relu_network({list(widths)})",
    )


# ------------------------------------------------------------------ fields
def _is_complex_data(inputs) -> bool:
    """Whether ``inputs`` (passed to the model unchanged, any object) is a
    complex array; objects that are not arrays are left to the model."""
    try:
        return is_complex(inputs)
    except (TypeError, ValueError):  # ragged or not array-like
        return False


class _Problem:
    """Data of a least-squares training problem and its linearization at theta."""

    def __init__(self, model, inputs, targets, n_samples, rcond, function):
        if not callable(model):
            raise TypeError(f"model must be callable, got {type(model).__name__}")
        self.function = function
        self.model = model
        if _is_complex_data(inputs):  # the least-squares problem is real
            as_float_array(inputs, "inputs", function)  # raises, naming the dtype
        self.inputs = inputs
        self.targets = np.array(as_float_array(targets, "targets", function))
        if not np.all(np.isfinite(self.targets)):
            raise ValueError("targets contain NaN or infinite entries")
        if n_samples is None:
            if np.ndim(inputs) == 0:
                raise ValueError(
                    "cannot count samples of scalar inputs; pass n_samples"
                )
            n_samples = len(inputs)
        if isinstance(n_samples, bool) or int(n_samples) != n_samples or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples}")
        self.n_samples = int(n_samples)
        if rcond is not None:
            rcond = as_real_number(rcond, "rcond", function)
            if not (np.isfinite(rcond) and rcond >= 0):
                raise ValueError(f"rcond must be finite and >= 0, got {rcond}")
        self.rcond = rcond
        self.flat_model = lambda theta: anp.ravel(self._outputs(theta))
        self.jacobian = autograd.jacobian(self.flat_model)
        self._singular_values = OrderedDict()

    def _outputs(self, theta):
        outputs = self.model(theta, self.inputs)
        if is_complex(outputs):
            raise TypeError(
                f"{self.function}: the model's outputs must be real, got dtype "
                f"{raw(outputs).dtype} (the adapted and standard flows are real)"
            )
        if anp.shape(outputs) != self.targets.shape:
            raise ValueError(
                f"the model's outputs have shape {anp.shape(outputs)} but the "
                f"targets have shape {self.targets.shape}; they must match"
            )
        return outputs

    def _as_theta(self, theta, name="theta"):
        theta = np.asarray(as_float_array(theta, name, self.function))
        if theta.ndim != 1:
            raise ValueError(
                f"theta must be a flat parameter vector, got shape {theta.shape}"
            )
        return theta

    def residual(self, theta) -> np.ndarray:
        """``x(theta) - y``, flat."""
        theta = self._as_theta(theta)
        return np.asarray(self.flat_model(theta)) - self.targets.ravel()

    def cost(self, theta) -> float:
        """``C = 1/(2n) |x - y|^2``."""
        residual = self.residual(theta)
        return float(residual @ residual) / (2.0 * self.n_samples)

    def linearize(self, theta):
        """``(x - y, D)`` at ``theta`` (flat residual, ``m x K`` Jacobian)."""
        theta = self._as_theta(theta)
        residual = self.residual(theta)
        jacobian = np.asarray(self.jacobian(theta), dtype=float)
        return residual, jacobian.reshape(residual.size, theta.size)

    def cutoff(self, singular_values, shape) -> float:
        """Absolute rank cutoff ``rcond * s_max``."""
        rcond = max(shape) * np.finfo(float).eps if self.rcond is None else self.rcond
        largest = singular_values[0] if singular_values.size else 0.0
        return rcond * largest

    def _remember(self, theta, singular_values, shape):
        key = theta.tobytes()
        self._singular_values[key] = (singular_values, shape)
        if len(self._singular_values) > _CACHE_SIZE:
            self._singular_values.popitem(last=False)

    def singular_values(self, theta):
        """Singular values of ``D`` (decreasing) and the shape ``(m, K)``."""
        theta = self._as_theta(theta)
        key = theta.tobytes()
        if key in self._singular_values:
            return self._singular_values[key]
        _, jacobian = self.linearize(theta)
        values = np.linalg.svd(jacobian, compute_uv=False)
        self._remember(theta, values, jacobian.shape)
        return values, jacobian.shape

    def rank(self, theta) -> int:
        values, shape = self.singular_values(theta)
        return int(np.sum(values > self.cutoff(values, shape))) if values.size else 0

    def adapted_velocity(self, theta) -> np.ndarray:
        """``-D^+ (x - y)`` through one thin SVD of ``D``."""
        theta = self._as_theta(theta)
        residual, jacobian = self.linearize(theta)
        left, values, right_t = np.linalg.svd(jacobian, full_matrices=False)
        self._remember(theta, values, jacobian.shape)
        rank = int(np.sum(values > self.cutoff(values, jacobian.shape)))
        coefficients = (left[:, :rank].T @ residual) / values[:rank]
        return -(right_t[:rank].T @ coefficients)

    def standard_velocity(self, theta) -> np.ndarray:
        """``-D^T (x - y) / n = -grad C``."""
        residual, jacobian = self.linearize(theta)
        return -(jacobian.T @ residual) / self.n_samples

    def observables(self) -> dict[str, Callable]:
        def rank_deficient(theta):
            _, shape = self.singular_values(theta)
            return float(self.rank(theta) < min(shape))

        def smallest_singular_value(theta):
            values, _ = self.singular_values(theta)
            return float(values[-1]) if values.size else 0.0

        return {
            "cost": self.cost,
            "jacobian_rank": lambda theta: float(self.rank(theta)),
            "rank_deficient": rank_deficient,
            "smallest_singular_value": smallest_singular_value,
        }


def adapted_gradient_field(
    model: Callable,
    inputs: Any,
    targets: Any,
    rcond: float | None = None,
    *,
    n_samples: int | None = None,
) -> VectorField:
    r"""The geometrically adapted flow ``theta' = -D^+ (x - y)`` (MATH §8).

    One formula for every case (paper Thms 2.1, 4.1, 5.1 and §6):
    overparametrized with ``rank D = m`` it gives ``x' = -(x - y)``; with rank
    loss or underparametrized, ``theta'`` is the minimum-norm least-squares
    solution of ``D theta' = -(x - y)`` and ``x' = -P_range(D)(x - y)``.
    Unlike the standard field it does not depend on ``n``.

    Parameters
    ----------
    model : callable
        ``model(theta, inputs) -> outputs`` with flat ``theta`` [K], written
        with :mod:`autograd.numpy`; ``x = outputs.ravel()`` has ``m`` entries.
    inputs : any
        Passed to ``model`` unchanged.
    targets : array-like
        ``y``, of the outputs' shape (checked at every evaluation).
    rcond : float, optional
        Relative rank cutoff: singular values of ``D`` at most
        ``rcond * s_max`` count as zero (the least-squares rule of Thm 4.1).
        Default ``max(m, K) * eps``, the cutoff of :func:`numpy.linalg.matrix_rank`.
        Near a rank loss (singular values just above the cutoff) ``D^+`` is
        large and the flow is stiff.
    n_samples : int, optional
        ``n`` in ``C = 1/(2n)|x - y|^2``; default ``len(inputs)``, the number
        of training samples when samples are the rows of ``inputs``.

    Returns
    -------
    field : VectorField
        On flat ``theta``. Observables: ``cost`` ``C``, ``jacobian_rank``
        (numerical rank of ``D``), ``rank_deficient`` (``1.0`` when
        ``rank D < min(m, K)``, i.e. rank loss, else ``0.0``) and
        ``smallest_singular_value`` (the ``min(m, K)``-th singular value).
    """
    return _field(
        "adapted", model, inputs, targets, n_samples, rcond, "adapted_gradient_field"
    )


def _field(kind, model, inputs, targets, n_samples, rcond, function):
    """The adapted or standard field; ``function`` names the public entry in
    error messages."""
    problem = _Problem(model, inputs, targets, n_samples, rcond, function)
    velocity = (
        problem.adapted_velocity if kind == "adapted" else problem.standard_velocity
    )
    field = VectorField(velocity, problem.observables(), f"{kind}_gradient")
    field.problem = problem
    return field


def standard_gradient_field(
    model: Callable,
    inputs: Any,
    targets: Any,
    *,
    n_samples: int | None = None,
    rcond: float | None = None,
) -> VectorField:
    """The standard gradient flow ``theta' = -D^T (x - y) / n = -grad C``.

    The Euclidean gradient flow in parameter space (paper (1.9), (1.22);
    MATH §8), for comparison with :func:`adapted_gradient_field`: it moves the
    outputs by ``x' = -D D^T (x - y) / n``. Parameters and observables as in
    :func:`adapted_gradient_field` (``rcond`` only sets the rank cutoff of the
    ``jacobian_rank`` and ``rank_deficient`` observables).
    """
    return _field(
        "standard", model, inputs, targets, n_samples, rcond, "standard_gradient_field"
    )


# ------------------------------------------------------------------ drivers
def stopping_time(initial_cost: float, tolerance: float) -> float:
    """A-priori stopping time ``T = 1/2 log(C(0) / eps)`` (MATH §8, paper Thm 2.3).

    Along an orbit of the adapted flow on which ``D`` keeps rank ``m``
    (overparametrized), ``C(t) = C(0) e^{-2t}`` (Thm 2.1), so ``T`` is the
    earliest time with ``C(T) <= eps``, known before training. When
    ``C(0) <= eps`` this is ``0``.

    Parameters
    ----------
    initial_cost : float
        ``C(0) > 0``.
    tolerance : float
        ``eps > 0``.

    Returns
    -------
    time : float
    """
    initial_cost = as_real_number(initial_cost, "initial_cost", "stopping_time")
    tolerance = as_real_number(tolerance, "tolerance", "stopping_time")
    if not (np.isfinite(initial_cost) and initial_cost > 0):
        raise ValueError(
            f"initial_cost must be positive and finite, got {initial_cost}"
        )
    if not (np.isfinite(tolerance) and tolerance > 0):
        raise ValueError(f"tolerance must be positive and finite, got {tolerance}")
    return max(0.0, 0.5 * math.log(initial_cost / tolerance))


def _check_tolerance(tolerance):
    if tolerance is None:
        return None
    tolerance = as_real_number(tolerance, "tolerance")
    if not (np.isfinite(tolerance) and tolerance > 0):
        raise ValueError(f"tolerance must be positive and finite, got {tolerance}")
    return tolerance


def _add_info(trajectory, field, tolerance, time, slack):
    final_cost = float(field.problem.cost(trajectory.final_state))
    deficient = trajectory.observables.get("rank_deficient")
    trajectory.info.update(
        {
            "stopping_time": time,
            "tolerance": tolerance,
            "final_cost": final_cost,
            "reached_tolerance": (
                None if tolerance is None else final_cost <= tolerance * (1 + slack)
            ),
            "rank_loss": bool(deficient is not None and np.any(deficient > 0)),
        }
    )
    return trajectory


def adapted_descent(
    model: Callable,
    initial_theta,
    inputs: Any,
    targets: Any,
    tolerance: float | None = None,
    t_final: float | None = None,
    n_steps: int | None = None,
    rtol: float | None = None,
    *,
    method: str | None = None,
    atol: float | None = None,
    n_samples: int | None = None,
    rcond: float | None = None,
    slack: float = DEFAULT_SLACK,
    observables: Mapping[str, Callable] | None = None,
    record_every: int = 1,
    t_eval=None,
    progress: bool = False,
) -> Trajectory:
    """Integrate the adapted flow up to the a-priori stopping time (MATH §8).

    With ``tolerance = eps`` the flow runs to ``T = stopping_time(C(0), eps)``
    (paper Thm 2.3), or to ``t_final`` when that is given too; with
    ``tolerance`` omitted, ``t_final`` is required.

    Parameters
    ----------
    model, inputs, targets, rcond, n_samples
        As in :func:`adapted_gradient_field`.
    initial_theta : array-like, shape=[K]
    tolerance : float, optional
        ``eps > 0``, the target cost.
    t_final : float, optional
        Final time (overrides the stopping time).
    n_steps, rtol, method, atol, observables, record_every, t_eval, progress
        Passed to :func:`~geomstats_dln.dynamics.integrate` (RK4 with
        ``n_steps``, else adaptive ``DOP853`` with ``rtol``, default ``1e-8``).
    slack : float
        Relative slack of ``reached_tolerance``: the bound of Thm 2.3 is sharp,
        ``C(T) = eps`` exactly, so the computed cost lands on ``eps`` up to the
        integration error. Default ``1e-6``.

    Returns
    -------
    trajectory : Trajectory
        Records ``cost``, ``jacobian_rank``, ``rank_deficient`` and
        ``smallest_singular_value``; ``info`` adds ``stopping_time`` (``None``
        without tolerance), ``tolerance``, ``final_cost``, ``reached_tolerance``
        (``final_cost <= tolerance * (1 + slack)``; ``None`` without tolerance)
        and ``rank_loss`` (rank deficiency at some recorded state: the orbit
        left the setting of Thm 2.1 and the exponential law may fail).
        When ``C(0) <= eps`` (or ``C(0) = 0``) nothing is integrated and the
        trajectory holds the initial state only.
    """
    tolerance = _check_tolerance(tolerance)
    if tolerance is None and t_final is None:
        raise ValueError("give a tolerance (for the stopping time) or a t_final")
    slack = as_real_number(slack, "slack", "adapted_descent")
    if not (np.isfinite(slack) and slack >= 0):
        raise ValueError(f"slack must be finite and >= 0, got {slack}")
    field = _field(
        "adapted", model, inputs, targets, n_samples, rcond, "adapted_descent"
    )
    theta = field.problem._as_theta(initial_theta, "initial_theta")
    initial_cost = field.problem.cost(theta)
    time = None
    if tolerance is not None:
        time = 0.0 if initial_cost == 0 else stopping_time(initial_cost, tolerance)
    duration = (
        time
        if t_final is None
        else as_real_number(t_final, "t_final", "adapted_descent")
    )
    if duration == 0.0:
        recorded = dict(field.observables)
        recorded.update(observables or {})
        trajectory = Trajectory(
            np.zeros(1),
            theta[None].copy(),
            {name: np.asarray([f(theta)]) for name, f in recorded.items()},
            {"method": None, "n_steps": 0, "n_evaluations": 0},
        )
    else:
        trajectory = integrate(
            field,
            theta,
            duration,
            n_steps=n_steps,
            rtol=rtol,
            method=method,
            atol=atol,
            observables=observables,
            record_every=record_every,
            t_eval=t_eval,
            progress=progress,
        )
    return _add_info(trajectory, field, tolerance, time, slack)


def adapted_gradient_descent(
    model: Callable,
    initial_theta,
    inputs: Any,
    targets: Any,
    step_size: float,
    n_steps: int,
    *,
    n_samples: int | None = None,
    rcond: float | None = None,
    tolerance: float | None = None,
    observables: Mapping[str, Callable] | None = None,
    record_every: int = 1,
    progress: bool = False,
) -> Trajectory:
    """Discrete adapted descent ``theta_{k+1} = theta_k - eta D^+ (x - y)``.

    The forward-Euler discretization of the adapted flow (MATH §8) through
    :func:`~geomstats_dln.dynamics.gradient_descent`; ``eta = 1`` is the
    Gauss-Newton step (minimum-norm), exact in one step for a model linear in
    ``theta``. For such a model ``x_k - y`` contracts by ``1 - eta`` per step
    on ``range(D)``.

    Returns a :class:`~geomstats_dln.dynamics.Trajectory` (times ``k * eta``)
    with the observables and ``info`` entries of :func:`adapted_descent`
    (``stopping_time`` is ``None``; ``reached_tolerance`` compares the final
    cost with ``tolerance`` when given).
    """
    tolerance = _check_tolerance(tolerance)
    field = _field(
        "adapted", model, inputs, targets, n_samples, rcond, "adapted_gradient_descent"
    )
    trajectory = gradient_descent(
        field,
        field.problem._as_theta(initial_theta, "initial_theta"),
        step_size,
        n_steps,
        observables=observables,
        record_every=record_every,
        progress=progress,
    )
    return _add_info(trajectory, field, tolerance, None, 0.0)
