r"""The parameter space of a deep linear network (``docs/mathematics.md`` §1, §2).

A point is ``W = (W_N, ..., W_1)``, stored input layer first:
``W[..., k-1, :, :] = W_k``, shape ``[..., N, d, d]``. The end-to-end map is
``phi(W) = W_N ... W_1``; with the partial products ``above_k = W_N ... W_{k+1}``
and ``below_k = W_{k-1} ... W_1`` (empty products are the identity):

- Euclidean gradient of ``L = E o phi``: ``dL/dW_k = above_k^T E'(X) below_k^T``;
- differential: ``dphi_W(V) = sum_k above_k V_k below_k``;
- moments: ``G_k = W_k W_k^T - W_{k+1}^T W_{k+1}``, ``k = 1..N-1``, conserved by
  every gradient flow of a lifted loss (survey Thm 1a).

All functions take arrays (or lists) with leading batch axes. They are
algebraic maps: a ``NaN`` entry propagates to the result as numpy propagates
it, no error is raised.

The field F = R or C is that of the input (``docs/mathematics.md``, "The
complex network"; balancedness paper §1.1, which works over C): real input
follows the real code path unchanged, complex input (``complex128``) gets
conjugate transposes ``^*`` in place of ``^T``: the lifted gradient is
``above_k^* E'(X) below_k^*``, the moments are the Hermitian
``G_k = W_k W_k^* - W_{k+1}^* W_{k+1}``, and ``M_d(C)`` carries the real inner
product ``Re tr(A^* B)``, for which ``V -> above_k^* V below_k^*`` is the
adjoint of ``dphi_W``.
"""

from __future__ import annotations

import numpy as np

import geomstats.backend as gs
from geomstats.geometry.base import VectorSpace
from geomstats.geometry.euclidean import EuclideanMetric

from geomstats_dln._spectral import _XP
from geomstats_dln._validation import (
    as_field_array,
    as_size,
    check_parameters,
    is_complex,
)

__all__ = [
    "DLNParameterSpace",
    "FrobeniusMetric",
    "end_to_end",
    "partial_products",
    "moments",
    "lifted_gradient",
    "differential",
]


# kept for modules that imported the private name
_check_parameters = check_parameters

FIELDS = ("real", "complex")


def _adjoint(matrix):
    """``M^*`` over the last two axes: ``M^T`` for real ``M`` (the real code path,
    unchanged), the conjugate transpose for complex ``M``."""
    transposed = _XP.swapaxes(matrix, -1, -2)
    return _XP.conj(transposed) if is_complex(matrix) else transposed


def _chains(parameters):
    """``(above, below)`` as lists with ``None`` for the identity ends.

    ``above[k-1] = W_N ... W_{k+1}``, ``below[k-1] = W_{k-1} ... W_1``: ``2N - 4``
    matrix products, none with an identity factor.
    """
    depth = parameters.shape[-3]
    below = [None]
    if depth > 1:
        below.append(parameters[..., 0, :, :])
    for k in range(2, depth):
        below.append(gs.matmul(parameters[..., k - 1, :, :], below[-1]))
    above = [None]
    if depth > 1:
        above.append(parameters[..., depth - 1, :, :])
    for k in range(depth - 2, 0, -1):
        above.append(gs.matmul(above[-1], parameters[..., k, :, :]))
    return above[::-1], below


def partial_products(parameters):
    """``(above, below)`` with ``above[k-1] = W_N ... W_{k+1}``,
    ``below[k-1] = W_{k-1} ... W_1`` (MATH §1).

    Parameters
    ----------
    parameters : array-like, shape=[..., N, d, d]

    Returns
    -------
    above, below : array-like, shape=[..., N, d, d]
    """
    parameters = as_field_array(parameters, "parameters", "partial_products")
    _, dim = check_parameters(parameters)
    eye = gs.broadcast_to(gs.eye(dim), parameters.shape[:-3] + (dim, dim))
    above, below = _chains(parameters)
    above = [eye if product is None else product for product in above]
    below = [eye if product is None else product for product in below]
    return gs.stack(above, axis=-3), gs.stack(below, axis=-3)


def _lifted_from_chains(euclidean_gradient, above, below):
    """``above_k^* E' below_k^*`` per layer (``^T`` over R), skipping identity
    factors."""
    layers = []
    for upper, lower in zip(above, below, strict=True):
        layer = euclidean_gradient
        if upper is not None:
            if is_complex(upper):
                layer = gs.matmul(_adjoint(upper), layer)
            else:
                layer = gs.matmul(gs.moveaxis(upper, -1, -2), layer)
        if lower is not None:
            if is_complex(lower):
                layer = gs.matmul(layer, _adjoint(lower))
            else:
                layer = gs.matmul(layer, gs.moveaxis(lower, -1, -2))
        layers.append(layer)
    return gs.stack(layers, axis=-3)


def end_to_end_and_lifted_gradient(euclidean_gradient_function, parameters):
    """``(X, grad L(W))`` for ``L = E o phi``, sharing the partial products.

    ``X = W_N below_N`` reuses the chain of :func:`lifted_gradient`: ``3N - 3``
    matrix products in all (plus ``2N - 2`` for the gradient), against
    ``N - 1`` more when ``X`` is formed separately -- the cost of one step of
    training (MATH §1).

    Parameters
    ----------
    euclidean_gradient_function : callable
        ``X -> E'(X)``.
    parameters : array-like, shape=[..., N, d, d]

    Returns
    -------
    end_to_end : array-like, shape=[..., d, d]
    gradient : array-like, shape=[..., N, d, d]
    """
    parameters = as_field_array(
        parameters, "parameters", "end_to_end_and_lifted_gradient"
    )
    depth, _ = check_parameters(parameters)
    above, below = _chains(parameters)
    top = parameters[..., depth - 1, :, :]
    matrix = top if below[-1] is None else gs.matmul(top, below[-1])
    gradient = _lifted_from_chains(euclidean_gradient_function(matrix), above, below)
    return matrix, gradient


def end_to_end(parameters):
    """The end-to-end matrix ``X = W_N ... W_1`` (MATH §1).

    Parameters
    ----------
    parameters : array-like, shape=[..., N, d, d]
        Real or complex layers (the result has their field).

    Returns
    -------
    end_to_end : array-like, shape=[..., d, d]
    """
    parameters = as_field_array(parameters, "parameters", "end_to_end")
    depth, _ = check_parameters(parameters)
    product = parameters[..., 0, :, :]
    for k in range(1, depth):
        product = parameters[..., k, :, :] @ product
    return product


def moments(parameters):
    """Moments ``G_k = W_k W_k^T - W_{k+1}^T W_{k+1}`` (MATH §2).

    Over C (complex input) the Hermitian ``G_k = W_k W_k^* - W_{k+1}^* W_{k+1}``
    (balancedness (1.7)), conserved by gradient flows of lifted losses as over R.

    Returns
    -------
    moments : array-like, shape=[..., N-1, d, d]
        ``moments[k-1] = G_k``.
    """
    parameters = as_field_array(parameters, "parameters", "moments")
    check_parameters(parameters)
    lower = parameters[..., :-1, :, :]
    upper = parameters[..., 1:, :, :]
    if is_complex(parameters):
        return lower @ _adjoint(lower) - _adjoint(upper) @ upper
    # swapaxes of the backend's numpy: gs.moveaxis normalizes its axes on every
    # call, and this runs in every balance check and retraction step
    return lower @ _XP.swapaxes(lower, -1, -2) - _XP.swapaxes(upper, -1, -2) @ upper


def lifted_gradient(euclidean_gradient, parameters):
    """Euclidean gradient of ``L = E o phi``: ``above_k^T E'(X) below_k^T`` (MATH §1).

    Over C, ``above_k^* E'(X) below_k^*``: the gradient for the real inner
    product ``Re tr(A^* B)``, the adjoint of :func:`differential` applied to
    ``E'(X)`` (``E'`` the gradient of ``E`` for the same inner product).

    Parameters
    ----------
    euclidean_gradient : array-like, shape=[..., d, d]
        ``E'(X)`` at ``X = end_to_end(parameters)``.
    parameters : array-like, shape=[..., N, d, d]

    Returns
    -------
    gradient : array-like, shape=[..., N, d, d]
    """
    parameters = as_field_array(parameters, "parameters", "lifted_gradient")
    euclidean_gradient = as_field_array(
        euclidean_gradient, "euclidean_gradient", "lifted_gradient"
    )
    depth, _ = check_parameters(parameters)
    if depth == 1:  # L = E: broadcast E' against the batch of the parameters
        return gs.stack([euclidean_gradient + 0.0 * parameters[..., 0, :, :]], -3)
    if is_complex(euclidean_gradient) and not is_complex(parameters):
        # why: a complex covector at real layers lifts with the complex formula
        parameters = parameters + 0j
    above, below = _chains(parameters)
    return _lifted_from_chains(euclidean_gradient, above, below)


def differential(tangent_vec, parameters):
    """Differential of the end-to-end map: ``sum_k above_k V_k below_k`` (MATH §1).

    Parameters
    ----------
    tangent_vec : array-like, shape=[..., N, d, d]
    parameters : array-like, shape=[..., N, d, d]

    Returns
    -------
    image : array-like, shape=[..., d, d]
    """
    parameters = as_field_array(parameters, "parameters", "differential")
    tangent_vec = as_field_array(tangent_vec, "tangent_vec", "differential")
    check_parameters(parameters)
    if tuple(np.shape(tangent_vec)[-3:]) != tuple(parameters.shape[-3:]):
        layers = ", ".join(map(str, parameters.shape[-3:]))
        raise ValueError(
            f"tangent_vec must have shape [..., {layers}] like the parameters, "
            f"got {tuple(tangent_vec.shape)}"
        )
    above, below = partial_products(parameters)
    return gs.sum(gs.matmul(gs.matmul(above, tangent_vec), below), axis=-3)


class FrobeniusMetric(EuclideanMetric):
    """Frobenius inner product ``sum_k <V_k, W_k>`` on ``[..., N, d, d]`` arrays.

    Over C the real inner product ``sum_k Re tr(V_k^* W_k)`` (balancedness
    §1.1), which makes ``C^{N d^2}`` the Euclidean space ``R^{2 N d^2}``.
    """

    def metric_matrix(self, base_point=None):
        """Identity in the row-major entry basis."""
        return gs.eye(self._space.dim)

    def inner_product(self, tangent_vec_a, tangent_vec_b, base_point=None):
        """``sum_k tr(A_k^T B_k)``; ``sum_k Re tr(A_k^* B_k)`` for complex input.

        Returns
        -------
        inner_product : array-like, shape=[...]
            Real.
        """
        if is_complex(tangent_vec_a) or is_complex(tangent_vec_b):
            return gs.sum(
                _XP.real(_XP.conj(tangent_vec_a) * tangent_vec_b), axis=(-3, -2, -1)
            )
        return gs.sum(tangent_vec_a * tangent_vec_b, axis=(-3, -2, -1))


class DLNParameterSpace(VectorSpace):
    """Parameters ``W = (W_N, ..., W_1)`` of a depth-N, width-d DLN (MATH §1).

    Points have shape ``[..., depth, dim, dim]`` with ``W[k-1] = W_k``; equipped
    with the Frobenius metric (the Euclidean metric of ``R^{N d^2}``).

    With ``field="complex"`` the layers are complex (balancedness §1.1): the
    space is ``C^{N d^2}`` with the real inner product ``Re tr(A^* B)``, a real
    vector space of dimension ``2 N d^2``; :meth:`random_point` draws complex
    Gaussian layers and the basis is over R (``E_ij`` and ``i E_ij``). The
    module's maps accept complex points whatever the ``field`` of the space.

    Parameters
    ----------
    dim : int
        Width ``d``.
    depth : int
        Depth ``N >= 1``.
    field : {"real", "complex"}
        The field F of the layers.
    """

    def __init__(self, dim: int, depth: int, equip: bool = True, field: str = "real"):
        self.width = as_size(dim, "dim", "DLNParameterSpace")
        self.depth = as_size(depth, "depth", "DLNParameterSpace")
        if field not in FIELDS:
            raise ValueError(
                f"DLNParameterSpace: field must be one of {FIELDS}, got {field!r}"
            )
        self.field = field
        super().__init__(shape=(self.depth, self.width, self.width), equip=equip)
        if field == "complex":
            self.dim = 2 * self.depth * self.width**2

    @staticmethod
    def default_metric():
        """Frobenius metric."""
        return FrobeniusMetric

    def belongs(self, point, atol: float = gs.atol):
        """Whether ``point`` has shape ``[..., depth, dim, dim]`` (and, for the
        real space, real entries)."""
        belongs = tuple(point.shape[-3:]) == self.shape
        if self.field == "real" and is_complex(point):
            belongs = False
        if point.ndim > 3:
            return gs.broadcast_to(gs.array(belongs), point.shape[:-3])
        return gs.array(belongs)

    def projection(self, point):
        """Identity (the space is a vector space)."""
        return point

    def random_point(self, n_samples: int = 1, bound: float = 1.0):
        """Gaussian parameters with entries of standard deviation ``bound``
        (complex: real and imaginary parts each of standard deviation
        ``bound / sqrt 2``)."""
        size = self.shape if n_samples == 1 else (n_samples,) + self.shape
        if self.field == "complex":
            real, imag = gs.random.normal(size=(2,) + size)
            return bound / np.sqrt(2.0) * (real + 1j * imag)
        return bound * gs.random.normal(size=size)

    def random_tangent_vec(self, base_point=None, n_samples: int = 1):
        """Gaussian tangent vectors."""
        return self.random_point(n_samples)

    def _create_basis(self):
        size = self.depth * self.width * self.width
        basis = gs.reshape(gs.eye(size), (size,) + self.shape)
        if self.field == "complex":  # a basis over R: E_ij and i E_ij
            return gs.concatenate([basis + 0j, 1j * basis], axis=0)
        return basis

    end_to_end = staticmethod(end_to_end)
    moments = staticmethod(moments)
    lifted_gradient = staticmethod(lifted_gradient)
    differential = staticmethod(differential)
