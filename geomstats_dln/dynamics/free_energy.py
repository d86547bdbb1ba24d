r"""Free energy ``F = E - S / beta`` and its Riemannian gradient flow.

``docs/mathematics.md`` §5 (survey §6.3, Definition 12, (6.6)-(6.7)): at inverse
temperature ``beta`` the free energy of a full-rank square end-to-end matrix is

.. math::
    F(X) = E(X) - \frac{1}{\beta} S(X),

with the entropy ``S`` of :mod:`geomstats_dln.orbit_entropy`, and its gradient flow on
``(M_d, g^N)`` is

.. math::
    X' = -\mathrm{grad}_{g^N} F(X) = -A_{N,X}\big(E'(X) - S'(X) / \beta\big).

Along it ``dF/dt = -g^N_X(grad F, grad F) = -<F'(X), A_{N,X}(F'(X))> <= 0``.
``beta = math.inf`` is the plain Riemannian gradient flow of ``E``
(:func:`~geomstats_dln.dynamics.riemannian_gradient_field`). ``depth = math.inf``
uses ``A_inf`` and ``S_inf`` (MATH §3, §5): ``S_N - S_inf`` tends to a constant,
so the entropic force converges, and time runs ``N`` times slower than for
``A_N`` at large ``N``.
"""

from __future__ import annotations

import math

import numpy as np

from geomstats_dln._spectral import apply_operator, check_depth, svd_frame
from geomstats_dln._validation import as_float_array, as_real_number, is_complex
from geomstats_dln.dynamics.flows import VectorField, _check_loss
from geomstats_dln.dynamics.observables import singular_values
from geomstats_dln.orbit_entropy import _check_square, _gradient_in_frame, entropy

__all__ = [
    "FreeEnergy",
    "free_energy",
    "free_energy_gradient_field",
]


def _check_beta(beta) -> float:
    """``beta > 0`` or ``math.inf`` as a float (TypeError for bool or non-numbers)."""
    if isinstance(beta, bool):
        raise TypeError(f"beta must be a positive number or math.inf, got {beta!r}")
    if is_complex(beta):
        as_real_number(beta, "beta")  # raises a TypeError naming the dtype
    try:
        value = float(beta)
    except (TypeError, ValueError):
        raise TypeError(
            f"beta must be a positive number or math.inf, got {beta!r}"
        ) from None
    if not value > 0.0:
        raise ValueError(f"beta must be a positive number or math.inf, got {beta!r}")
    return value


class FreeEnergy:
    r"""``F(X) = E(X) - S(X) / beta`` on full-rank square matrices (MATH §5).

    Has ``value`` and ``gradient`` like the losses of
    :mod:`geomstats_dln.losses`, so it can be used wherever a loss is.

    Parameters
    ----------
    loss : object with ``value(X)`` and ``gradient(X)``
        The energy ``E`` and its Euclidean gradient ``E'``.
    depth : int or math.inf
        Depth ``N`` of the entropy and of the metric.
    beta : float
        Inverse temperature, positive; ``math.inf`` gives ``F = E``.
    """

    def __init__(self, loss, depth: int | float, beta: float):
        _check_loss(loss)
        self.loss = loss
        self.depth = check_depth(depth)
        self.beta = _check_beta(beta)

    @property
    def temperature(self) -> float:
        """``1 / beta`` (``0`` for ``beta = inf``)."""
        return 0.0 if self.beta == math.inf else 1.0 / self.beta

    def entropy(self, point):
        """``S(X)``, see :func:`geomstats_dln.orbit_entropy.entropy`; shape [...]."""
        return entropy(point, self.depth)

    def value(self, point):
        """``F(X) = E(X) - S(X) / beta``, shape [...].

        Real ``X`` only, as :meth:`gradient` (``TypeError`` for complex input).
        """
        point = _check_square(point, "FreeEnergy.value")
        energy = self.loss.value(point)
        if self.temperature == 0.0:
            return energy
        return energy - self.temperature * entropy(point, self.depth)

    def __call__(self, point):
        """Same as :meth:`value`."""
        return self.value(point)

    def _gradient_and_frame(self, point):
        _check_square(point, "the free energy")
        frame = svd_frame(point, self.depth)
        gradient = self.loss.gradient(point)
        if self.temperature != 0.0:
            gradient = gradient - self.temperature * _gradient_in_frame(frame)
        return gradient, frame

    def gradient(self, point):
        """Euclidean ``F'(X) = E'(X) - S'(X) / beta``, shape [..., d, d]."""
        return self._gradient_and_frame(point)[0]

    def riemannian_gradient(self, point):
        """``grad_{g^N} F = A_{N,X}(F'(X))`` (MATH §3, §5), one SVD."""
        gradient, frame = self._gradient_and_frame(point)
        return apply_operator(frame, gradient, 1.0)

    def __repr__(self) -> str:
        depth = "inf" if self.depth == math.inf else self.depth
        return f"FreeEnergy({self.loss!r}, depth={depth}, beta={self.beta:g})"


def free_energy(loss, depth: int | float, beta: float) -> FreeEnergy:
    """The free energy ``F = E - S / beta`` of ``loss`` (MATH §5).

    See :class:`FreeEnergy`.
    """
    return FreeEnergy(loss, depth, beta)


def free_energy_gradient_field(loss, depth: int | float, beta: float) -> VectorField:
    r"""``X' = -A_{N,X}(E'(X) - S'(X) / beta)``: gradient flow of ``F`` (MATH §5).

    State: full-rank square end-to-end matrices ``X`` [..., d, d]. Records
    ``loss`` (``E``), ``entropy`` (``S``), ``free_energy`` (``F``) and
    ``singular_values``. A state that loses rank raises ``ValueError`` naming
    its smallest singular value. ``beta = math.inf`` is
    :func:`~geomstats_dln.dynamics.riemannian_gradient_field`.

    Parameters
    ----------
    loss : object with ``value(X)`` and ``gradient(X)``
    depth : int or math.inf
    beta : float
        Inverse temperature, positive or ``math.inf``.

    Returns
    -------
    field : VectorField
    """
    energy = FreeEnergy(loss, depth, beta)

    def minus_gradient(matrix):
        matrix = np.asarray(
            as_float_array(matrix, "point", "free_energy_gradient_field")
        )
        return -np.asarray(energy.riemannian_gradient(matrix))

    depth_label = "inf" if energy.depth == math.inf else str(energy.depth)
    return VectorField(
        minus_gradient,
        {
            "loss": loss.value,
            "entropy": energy.entropy,
            "free_energy": energy.value,
            "singular_values": singular_values,
        },
        f"free_energy_gradient(N={depth_label}, beta={energy.beta:g})",
    )
