r"""Gradient flows of a loss, upstairs (parameters) and downstairs (``X``).

Vector fields for :func:`~geomstats_dln.dynamics.integrate` (MATH §1-3):

- :func:`euclidean_gradient_field` -- training ``W' = -grad L(W)`` with
  ``L = E o phi``, from any ``W`` (balanced or not);
- :func:`riemannian_gradient_field` -- ``X' = -A_{N,X}(E'(X))``, the Riemannian
  gradient flow of ``E`` on ``(M_d, g^N)``, any depth including ``inf``;
- :func:`balanced_gradient_field` -- the gradient of ``L`` on the balanced
  manifold ``(M, iota)``, for balanced states.

Which flow applies when
-----------------------
The upstairs flow conserves every moment ``G_k`` (Thm 1a), so ``W(t)`` stays on
the ``G``-balanced variety of its start.

- *Balanced start* (``G = 0``, e.g. :func:`~geomstats_dln.center` of ``X_0``):
  ``X(t) = phi(W(t))`` solves the downstairs flow from ``X_0`` (Thm 2/3), which
  costs one SVD per step instead of ``O(N)`` matrix products -- integrate
  downstairs. The balanced field gives the same ``W(t)``: on ``M`` the
  Euclidean gradient is already tangent.
- *G-balanced start with* ``G != 0`` (e.g. Gaussian initialization): ``X'``
  depends on ``W`` and not only on ``X`` (Thm 1b,
  ``X' = -sum_k above_k above_k^T E' below_k^T below_k``, see
  :func:`end_to_end_velocity`); there is no autonomous flow of ``X``.
  Integrate upstairs and map by :func:`~geomstats_dln.end_to_end`.
- ``depth = inf`` downstairs uses ``A_inf = lim A_N / N`` (MATH §3): time runs
  ``N`` times slower than for ``A_N`` at large ``N``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

from geomstats_dln._spectral import check_depth, operator_power
from geomstats_dln._validation import (
    as_field_array,
    as_float_array,
    check_balanced,
    check_parameters,
)
from geomstats_dln.dynamics.observables import (
    effective_rank,
    layer_norms,
    moment_norm,
    singular_values,
)
from geomstats_dln.parameters import (
    differential,
    end_to_end,
    end_to_end_and_lifted_gradient,
    lifted_gradient,
)

__all__ = [
    "VectorField",
    "balanced_gradient_field",
    "end_to_end_velocity",
    "euclidean_gradient_field",
    "riemannian_gradient_field",
]


class VectorField:
    """A vector field ``state -> velocity`` with the observables worth recording.

    Parameters
    ----------
    function : callable
        ``function(state) -> velocity`` (same shape).
    observables : dict of str to callable, optional
        Functions of one state, recorded by the integrators by default.
    name : str, optional
    """

    def __init__(
        self,
        function: Callable,
        observables: Mapping[str, Callable] | None = None,
        name: str | None = None,
    ):
        self.function = function
        self.observables = dict(observables or {})
        self.name = name or getattr(function, "__name__", "vector_field")

    def __call__(self, state):
        return self.function(state)

    def __neg__(self) -> VectorField:
        return VectorField(
            lambda state: -self.function(state), self.observables, f"-{self.name}"
        )

    def __repr__(self) -> str:
        return f"VectorField({self.name}, observables={sorted(self.observables)})"


def _check_loss(loss):
    if not (hasattr(loss, "value") and hasattr(loss, "gradient")):
        raise TypeError(
            "loss must have value(X) and gradient(X) methods (see "
            f"geomstats_dln.losses), got {type(loss).__name__}"
        )


def _parameter_observables(loss):
    return {
        "loss": lambda w: loss.value(end_to_end(w)),
        "singular_values": lambda w: singular_values(end_to_end(w)),
        "effective_rank": lambda w: effective_rank(end_to_end(w)),
        "moment_norm": moment_norm,
        "layer_norms": layer_norms,
    }


def _as_parameters(state, function):
    """Real parameters ``[..., N, d, d]``: the loss flows stay over R (the
    losses of :mod:`geomstats_dln.losses` are real functions and the recorded
    observables, singular values and effective rank, are real-only), so a
    complex state is a ``TypeError`` naming ``function``, not a silent cast."""
    state = np.asarray(as_float_array(state, "parameters", function))
    check_parameters(state)
    return state


def euclidean_gradient_field(loss) -> VectorField:
    """``W' = -grad L(W)``, ``dL/dW_k = above_k^T E'(X) below_k^T`` (MATH §1).

    State: parameters ``W`` [..., N, d, d] (``W[k-1] = W_k``), any point.
    Records ``loss``, ``singular_values`` and ``effective_rank`` of ``X``,
    ``moment_norm`` ``|G|`` and ``layer_norms``.
    """
    _check_loss(loss)

    def minus_gradient(parameters):
        parameters = _as_parameters(parameters, "euclidean_gradient_field")
        _, gradient = end_to_end_and_lifted_gradient(loss.gradient, parameters)
        return -np.asarray(gradient)

    return VectorField(
        minus_gradient, _parameter_observables(loss), "euclidean_gradient"
    )


def balanced_gradient_field(loss, rtol: float = 1e-4) -> VectorField:
    """Gradient of ``L`` on the balanced manifold ``(M, iota)`` (MATH §2, §4).

    On ``M`` the Euclidean gradient ``grad L`` is already tangent: the flow
    conserves every ``G_k`` (Thm 1a), so ``to_tangent(grad L) = grad L`` (a
    test checks this to rounding). Off ``M``, at an integrator's stage points,
    the field is this same gradient, tangent to the level set of ``G`` through
    the point, so ``M`` is invariant under the exact flow and ``|G|`` grows
    only by the integrator's truncation error (recorded as
    ``balance_defect = |G| / |W|^2``). Projecting stage points with
    ``to_tangent`` instead would need their balanced frame, which does not
    exist off ``M``.

    States must be nearly balanced, ``|G| <= rtol |W|^2`` (default ``1e-4``,
    which an RK4 or adaptive step easily meets while any unbalanced
    initialization fails it): otherwise ``ValueError`` stating ``|G|``. For
    unbalanced starts use :func:`euclidean_gradient_field`.
    """
    _check_loss(loss)

    def minus_gradient(parameters):
        parameters = _as_parameters(parameters, "balanced_gradient_field")
        check_balanced(parameters, rtol)
        gradient = lifted_gradient(loss.gradient(end_to_end(parameters)), parameters)
        return -np.asarray(gradient)

    observables = _parameter_observables(loss)
    observables["balance_defect"] = lambda w: (
        moment_norm(w) / np.sum(np.abs(np.asarray(w)) ** 2, axis=(-3, -2, -1))
    )
    return VectorField(minus_gradient, observables, "balanced_gradient")


def riemannian_gradient_field(loss, depth: int | float) -> VectorField:
    """``X' = -grad_{g^N} E(X) = -A_{N,X}(E'(X))`` (MATH §3, Thm 2/3).

    State: full-rank end-to-end matrices ``X`` [..., n, m]. ``depth = 1`` is
    the Euclidean gradient flow of ``E``; ``depth = math.inf`` uses the
    infinite-depth operator (logarithmic-mean coefficients). Records ``loss``,
    ``singular_values`` and ``effective_rank``. A state that loses rank raises
    ``ValueError`` naming its smallest singular value.
    """
    _check_loss(loss)
    depth = check_depth(depth)

    def minus_gradient(matrix):
        matrix = np.asarray(
            as_float_array(matrix, "point", "riemannian_gradient_field")
        )
        return -np.asarray(operator_power(loss.gradient(matrix), matrix, depth, 1.0))

    label = "inf" if depth == math.inf else str(depth)
    return VectorField(
        minus_gradient,
        {
            "loss": loss.value,
            "singular_values": singular_values,
            "effective_rank": effective_rank,
        },
        f"riemannian_gradient(N={label})",
    )


def end_to_end_velocity(loss, parameters):
    r"""Velocity of ``X = phi(W)`` under the upstairs flow, from any ``W``:
    ``X' = -sum_k (above_k above_k^*) E'(X) (below_k^* below_k)`` (Thm 1b).

    ``above_k = W_N ... W_{k+1}``, ``below_k = W_{k-1} ... W_1``, ``^*`` the
    conjugate transpose (the transpose over R): ``X' = -dphi_W(dphi_W^*(E'(X)))``
    with ``dphi^*`` the adjoint for ``Re tr`` (MATH §1; balancedness paper §1.1
    over F = R or C). Equals ``-A_{N,X}(E'(X))`` when ``W`` is balanced (Thm 2).

    Parameters
    ----------
    loss : object with ``value(X)`` and ``gradient(X)``
        ``gradient(X)`` is ``E'(X)``, the gradient for ``Re tr(A^* B)``. The
        losses of :mod:`geomstats_dln.losses` are real (they refuse complex
        ``X``); a loss whose gradient takes complex ``X`` gives the complex
        velocity.
    parameters : array-like, shape=[..., N, d, d]
        ``W[k-1] = W_k``, real or complex by the dtype.

    Returns
    -------
    velocity : ndarray, shape=[..., d, d]
    """
    _check_loss(loss)
    parameters = np.asarray(
        as_field_array(parameters, "parameters", "end_to_end_velocity")
    )
    check_parameters(parameters)
    gradient = lifted_gradient(loss.gradient(end_to_end(parameters)), parameters)
    return -np.asarray(differential(gradient, parameters))
