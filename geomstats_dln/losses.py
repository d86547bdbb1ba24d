r"""Losses ``E(X)`` of end-to-end matrices, and seeded test problems.

A deep linear network is trained on a loss of its end-to-end matrix
``X = W_N ... W_1`` (``docs/mathematics.md`` §1): the lifted loss is
``L(W) = E(phi(W))`` and every flow of the library only needs ``E(X)`` and its
Euclidean gradient ``E'(X) = dE/dX``. This module provides

- :class:`QuadraticLoss` ``E = 1/2 |X - Y|^2`` (MATH §9, last item);
- :class:`RegressionLoss` ``E = 1/(2 n) |X inputs - outputs|^2`` (MATH §8 cost);
- :class:`MatrixCompletionLoss` ``E = 1/2 sum_{(i,j) observed} (X_ij - M_ij)^2``
  and :class:`MatrixSensingLoss` ``E = 1/2 sum_l (<A_l, X> - y_l)^2`` (MATH §9);
- seeded generators of low-rank ground truths, masks and whole problems, and the
  2 x 2 completion of MATH §9 (:func:`two_by_two_completion`).

Every loss takes ``X`` of shape ``[..., n, m]`` (leading batch axes) and returns
values of shape ``[...]`` and gradients of shape ``[..., n, m]``. The formulas
are written with :mod:`geomstats.backend` operations, so that under
``GEOMSTATS_BACKEND=autograd`` :meth:`Loss.value` can be differentiated by
autograd. Frobenius convention throughout: ``<A, B> = tr(A^T B)``.
"""

from __future__ import annotations

import abc
import math

import numpy as np

import geomstats.backend as gs

from geomstats_dln._validation import as_float_array, as_size, check_seed

__all__ = [
    "Loss",
    "QuadraticLoss",
    "RegressionLoss",
    "MatrixCompletionLoss",
    "MatrixSensingLoss",
    "low_rank_matrix",
    "random_mask",
    "completion_problem",
    "sensing_problem",
    "two_by_two_completion",
]


# ----------------------------------------------------------------- validation
def _as_float_array(data, name: str, ndim: int, allow_nan: bool = False) -> np.ndarray:
    """``data`` as a float64 numpy array with ``ndim`` axes (constructor input)."""
    try:
        array = np.asarray(data)
    except ValueError as error:  # ragged nested sequences
        raise ValueError(f"{name} must be a rectangular array: {error}") from None
    if array.dtype == bool or not np.issubdtype(array.dtype, np.number):
        raise TypeError(f"{name} must be a real numeric array, got dtype {array.dtype}")
    if np.issubdtype(array.dtype, np.complexfloating):
        raise TypeError(f"{name} must be real, got dtype {array.dtype}")
    array = array.astype(float)
    if array.ndim != ndim:
        raise ValueError(
            f"{name} must have {ndim} axes, got an array of shape {array.shape}"
        )
    if not allow_nan and not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return array


def _as_mask(mask) -> np.ndarray:
    """``mask`` as a 2-D boolean numpy array; 0/1 numbers are accepted."""
    array = np.asarray(mask)
    if array.dtype != bool:
        # why: a float/int 0-1 matrix is a common way to write a mask, anything
        # else (strings, objects, 0.5) has no boolean meaning.
        if not np.issubdtype(array.dtype, np.number) or not np.all(
            (array == 0) | (array == 1)
        ):
            raise TypeError(
                f"mask must be boolean (or contain only 0 and 1), got dtype "
                f"{array.dtype}"
            )
        array = array.astype(bool)
    if array.ndim != 2:
        raise ValueError(f"mask must have shape (n, m), got shape {array.shape}")
    return array


def _as_point(point, function: str = ""):
    """Real arrays pass (autograd boxes unchanged: converting one would cut it
    off the tape); lists become arrays; complex input is a ``TypeError`` (a loss
    of a complex X would be a complex number)."""
    return as_float_array(point, "X", function)


# ----------------------------------------------------------------- base class
class Loss(abc.ABC):
    """A loss ``E(X)`` of ``n x m`` end-to-end matrices (MATH §1).

    Subclasses implement :meth:`_value` and :meth:`_gradient` on checked input;
    :meth:`value` and :meth:`gradient` check that the last two axes of ``X`` are
    :attr:`shape` and accept any leading batch axes.

    Parameters
    ----------
    shape : tuple of int
        ``(n, m)``, the shape of ``X``.
    """

    def __init__(self, shape: tuple[int, int]):
        self._shape = (int(shape[0]), int(shape[1]))

    @property
    def shape(self) -> tuple[int, int]:
        """``(n, m)``: the shape of the end-to-end matrices ``X``."""
        return self._shape

    def _check(self, point, method: str = "value"):
        point = _as_point(point, f"{type(self).__name__}.{method}")
        if tuple(point.shape[-2:]) != self._shape or point.ndim < 2:
            n, m = self._shape
            raise ValueError(
                f"{type(self).__name__} expects X of shape [..., {n}, {m}], "
                f"got shape {tuple(point.shape)}"
            )
        return point

    def value(self, point):
        """The loss ``E(X)``.

        Parameters
        ----------
        point : array-like, shape=[..., n, m]
            End-to-end matrices ``X``.

        Returns
        -------
        value : array-like, shape=[...]
        """
        return self._value(self._check(point))

    def gradient(self, point):
        """The Euclidean gradient ``E'(X) = dE/dX`` (MATH §1).

        Parameters
        ----------
        point : array-like, shape=[..., n, m]
            End-to-end matrices ``X``.

        Returns
        -------
        gradient : array-like, shape=[..., n, m]
        """
        return self._gradient(self._check(point, "gradient"))

    def __call__(self, point):
        """Same as :meth:`value`."""
        return self.value(point)

    @abc.abstractmethod
    def _value(self, point):
        """``E(X)`` for ``X`` of checked shape ``[..., n, m]``."""

    @abc.abstractmethod
    def _gradient(self, point):
        """``E'(X)`` for ``X`` of checked shape ``[..., n, m]``."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(shape={self._shape})"


def _half_squared_norm(residual):
    """``1/2 |R|_F^2`` over the last two axes."""
    return 0.5 * gs.sum(residual**2, axis=(-2, -1))


# ----------------------------------------------------------------- the losses
class QuadraticLoss(Loss):
    """``E(X) = 1/2 |X - Y|_F^2``, ``E'(X) = X - Y`` (MATH §9).

    Parameters
    ----------
    target : array-like, shape=[n, m]
        The target ``Y``, finite.
    """

    def __init__(self, target):
        target = _as_float_array(target, "target", 2)
        super().__init__(target.shape)
        self._target = gs.array(target)

    @property
    def target(self):
        """The target ``Y``, shape ``(n, m)``."""
        return self._target

    @property
    def minimizer(self):
        """The unique minimizer ``Y``."""
        return self._target

    def _value(self, point):
        return _half_squared_norm(point - self._target)

    def _gradient(self, point):
        return point - self._target


class RegressionLoss(Loss):
    """Linear regression ``E(X) = 1/(2 s) |X inputs - outputs|_F^2`` (MATH §8).

    The columns of ``inputs`` (``m x s``) and ``outputs`` (``n x s``) are the
    ``s`` training pairs; the gradient is ``(X inputs - outputs) inputs^T / s``.

    Parameters
    ----------
    inputs : array-like, shape=[m, n_samples]
    outputs : array-like, shape=[n, n_samples]
    """

    def __init__(self, inputs, outputs):
        inputs = _as_float_array(inputs, "inputs", 2)
        outputs = _as_float_array(outputs, "outputs", 2)
        if inputs.shape[1] != outputs.shape[1]:
            raise ValueError(
                "inputs (m, n_samples) and outputs (n, n_samples) must have the "
                f"same number of columns, got shapes {inputs.shape} and "
                f"{outputs.shape}"
            )
        if inputs.shape[1] == 0:
            raise ValueError("RegressionLoss needs at least one sample")
        super().__init__((outputs.shape[0], inputs.shape[0]))
        self._n_samples = inputs.shape[1]
        self._inputs = gs.array(inputs)
        self._outputs = gs.array(outputs)

    @property
    def inputs(self):
        """Inputs, shape ``(m, n_samples)``."""
        return self._inputs

    @property
    def outputs(self):
        """Outputs, shape ``(n, n_samples)``."""
        return self._outputs

    @property
    def n_samples(self) -> int:
        """Number of training pairs."""
        return self._n_samples

    @property
    def minimizer(self):
        """The minimum-norm least-squares solution of ``X inputs = outputs``.

        Unique when ``inputs`` has rank ``m``; otherwise every minimizer differs
        from this one by a matrix vanishing on the range of ``inputs``.
        """
        # why: X inputs = outputs  <=>  inputs^T X^T = outputs^T, a standard lstsq.
        solution = np.linalg.lstsq(
            np.asarray(self._inputs).T, np.asarray(self._outputs).T, rcond=None
        )[0]
        return gs.array(solution.T)

    def _residual(self, point):
        return gs.matmul(point, self._inputs) - self._outputs

    def _value(self, point):
        return _half_squared_norm(self._residual(point)) / self._n_samples

    def _gradient(self, point):
        return gs.matmul(self._residual(point), self._inputs.T) / self._n_samples


class MatrixCompletionLoss(Loss):
    """``E(X) = 1/2 sum_{(i,j) in mask} (X_ij - M_ij)^2`` (MATH §9).

    The gradient is ``mask * (X - M)``. Only the masked entries of ``observed``
    are read: the others may hold anything, NaN included, and are stored as 0.
    This is :class:`MatrixSensingLoss` with the measurements ``e_i e_j^T``,
    ``(i, j)`` in the mask (same normalization).

    Parameters
    ----------
    mask : array-like of bool, shape=[n, m]
        Which entries are observed (0/1 numbers are accepted).
    observed : array-like, shape=[n, m]
        ``M``; its masked entries must be finite.
    """

    def __init__(self, mask, observed):
        mask = _as_mask(mask)
        observed = _as_float_array(observed, "observed", 2, allow_nan=True)
        if observed.shape != mask.shape:
            raise ValueError(
                f"mask and observed must have the same shape (n, m), got shapes "
                f"{mask.shape} and {observed.shape}"
            )
        if not np.all(np.isfinite(observed[mask])):
            raise ValueError("observed must be finite on the masked entries")
        super().__init__(mask.shape)
        # why: zeroing the ignored entries keeps mask * (X - M) free of NaN.
        self._observed = gs.array(np.where(mask, observed, 0.0))
        self._mask = gs.array(mask)
        self._weights = gs.array(mask.astype(float))

    @property
    def mask(self):
        """Boolean mask of the observed entries, shape ``(n, m)``."""
        return self._mask

    @property
    def observed(self):
        """``M`` with its unobserved entries set to 0, shape ``(n, m)``."""
        return self._observed

    @property
    def n_observed(self) -> int:
        """Number of observed entries."""
        return int(np.sum(np.asarray(self._mask)))

    def _value(self, point):
        return _half_squared_norm(self._weights * (point - self._observed))

    def _gradient(self, point):
        return self._weights * (point - self._observed)


class MatrixSensingLoss(Loss):
    """``E(X) = 1/2 sum_l (<A_l, X> - y_l)^2`` (MATH §9, Frobenius ``<.,.>``).

    The gradient is ``sum_l (<A_l, X> - y_l) A_l``.

    Parameters
    ----------
    measurements : array-like, shape=[L, n, m]
        The measurement matrices ``A_l``, finite.
    observed : array-like, shape=[L]
        The measured values ``y_l``, finite.
    """

    def __init__(self, measurements, observed):
        measurements = _as_float_array(measurements, "measurements", 3)
        observed = _as_float_array(observed, "observed", 1)
        if observed.shape[0] != measurements.shape[0]:
            raise ValueError(
                "one observed value per measurement matrix: measurements of shape "
                f"{measurements.shape} (L, n, m) need observed of shape "
                f"({measurements.shape[0]},), got {observed.shape}"
            )
        if measurements.shape[0] == 0:
            raise ValueError("MatrixSensingLoss needs at least one measurement")
        super().__init__(measurements.shape[1:])
        self._measurements = gs.array(measurements)
        self._observed = gs.array(observed)

    @property
    def measurements(self):
        """The measurement matrices ``A_l``, shape ``(L, n, m)``."""
        return self._measurements

    @property
    def observed(self):
        """The measured values ``y_l``, shape ``(L,)``."""
        return self._observed

    @property
    def n_measurements(self) -> int:
        """``L``."""
        return int(self._observed.shape[0])

    def _residual(self, point):
        # <A_l, X> for every l, batched: shape [..., L]
        return gs.einsum("lij,...ij->...l", self._measurements, point) - self._observed

    def _value(self, point):
        return 0.5 * gs.sum(self._residual(point) ** 2, axis=-1)

    def _gradient(self, point):
        return gs.einsum("...l,lij->...ij", self._residual(point), self._measurements)


# ----------------------------------------------------------------- generators
def _dims(n: int, m: int | None) -> tuple[int, int]:
    # as_size refuses 2.5 (int() would silently truncate it to 2)
    m = n if m is None else m
    return as_size(n, "n"), as_size(m, "m")


def low_rank_matrix(n: int, m: int | None = None, rank: int = 1, seed=None):
    """A random ``n x m`` matrix of exact rank ``rank`` (MATH §9 ground truths).

    ``Y = U V^T`` with standard Gaussian ``U`` (``n x rank``) and ``V``
    (``m x rank``), rescaled so that ``|Y|_F = sqrt(n m)``: entries of root mean
    square 1.

    Parameters
    ----------
    n : int
    m : int, optional
        Defaults to ``n``.
    rank : int
        ``1 <= rank <= min(n, m)``.
    seed : int, numpy.random.Generator or None
        Passed to :func:`numpy.random.default_rng`.

    Returns
    -------
    matrix : array-like, shape=[n, m]
    """
    n, m = _dims(n, m)
    rank = as_size(rank, "rank", "low_rank_matrix", minimum=-(2**62))
    seed = check_seed(seed, "low_rank_matrix")
    if not 1 <= rank <= min(n, m):
        raise ValueError(
            f"rank must be in [1, min(n, m)] = [1, {min(n, m)}], got {rank}"
        )
    rng = np.random.default_rng(seed)
    matrix = rng.standard_normal((n, rank)) @ rng.standard_normal((m, rank)).T
    return gs.array(matrix * (math.sqrt(n * m) / np.linalg.norm(matrix)))


def random_mask(shape: tuple[int, int], fraction: float, seed=None):
    """A boolean ``shape`` mask with exactly ``round(fraction * n * m)`` True.

    Parameters
    ----------
    shape : tuple of int
        ``(n, m)``.
    fraction : float
        In ``(0, 1]``; Python's ``round`` (half to even) gives the count, which
        must be at least 1.
    seed : int, numpy.random.Generator or None
        Passed to :func:`numpy.random.default_rng`.

    Returns
    -------
    mask : array-like of bool, shape=[n, m]
    """
    n, m = _dims(*shape)
    seed = check_seed(seed, "random_mask")
    fraction = float(as_float_array(fraction, "fraction", "random_mask"))
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    count = round(fraction * n * m)
    if count == 0:
        raise ValueError(
            f"fraction {fraction} of a {n} x {m} matrix observes no entry; "
            "increase fraction"
        )
    rng = np.random.default_rng(seed)
    mask = np.zeros(n * m, dtype=bool)
    mask[rng.choice(n * m, size=count, replace=False)] = True
    return gs.array(mask.reshape(n, m))


def completion_problem(
    n: int, m: int | None = None, rank: int = 1, fraction: float = 0.3, seed=None
) -> tuple[MatrixCompletionLoss, object]:
    """A random completion problem (MATH §9, Arora-Cohen-Hu-Luo 2019 setting).

    Ground truth from :func:`low_rank_matrix`, observed entries from
    :func:`random_mask`, both drawn from one generator seeded with ``seed``.

    Returns
    -------
    loss : MatrixCompletionLoss
        Observing the masked entries of the ground truth (the others are not
        passed to the loss).
    ground_truth : array-like, shape=[n, m]
    """
    n, m = _dims(n, m)
    rng = np.random.default_rng(check_seed(seed, "completion_problem"))
    truth = low_rank_matrix(n, m, rank, seed=rng)
    mask = random_mask((n, m), fraction, seed=rng)
    # why: hide the unobserved entries so the loss cannot leak the ground truth.
    observed = np.where(np.asarray(mask), np.asarray(truth), np.nan)
    return MatrixCompletionLoss(mask, observed), truth


def sensing_problem(
    n: int,
    m: int | None = None,
    rank: int = 1,
    n_measurements: int | None = None,
    seed=None,
) -> tuple[MatrixSensingLoss, object]:
    """A random Gaussian matrix sensing problem (MATH §9).

    Ground truth ``Y`` from :func:`low_rank_matrix`; ``L`` measurement matrices
    with i.i.d. ``N(0, 1/(n m))`` entries, so ``E |A_l|_F^2 = 1`` like the
    indicators ``e_i e_j^T`` of completion (``L`` measurements weigh like ``L``
    observed entries) and ``y_l = <A_l, Y>`` has variance ``|Y|_F^2/(n m) = 1``.

    Parameters
    ----------
    n_measurements : int, optional
        ``L``; defaults to ``3 rank (n + m)``, a few times the
        ``rank (n + m - rank)`` degrees of freedom of rank-``rank`` matrices.

    Returns
    -------
    loss : MatrixSensingLoss
    ground_truth : array-like, shape=[n, m]
    """
    n, m = _dims(n, m)
    if n_measurements is None:
        n_measurements = 3 * rank * (n + m)
    if int(n_measurements) < 1:
        raise ValueError(f"n_measurements must be positive, got {n_measurements}")
    rng = np.random.default_rng(seed)
    truth = low_rank_matrix(n, m, rank, seed=rng)
    measurements = rng.normal(scale=1.0 / math.sqrt(n * m), size=(n_measurements, n, m))
    observed = np.einsum("lij,ij->l", measurements, np.asarray(truth))
    return MatrixSensingLoss(measurements, observed), truth


def two_by_two_completion() -> MatrixCompletionLoss:
    """The 2 x 2 completion of MATH §9 (survey §14.1): observe ``X_11 = X_22 = 1``.

    ``E = 1/2 ((X_11 - 1)^2 + (X_22 - 1)^2)``; zero set ``[[1, a], [b, 1]]``,
    rank-one zeros on ``a b = 1``.
    """
    return MatrixCompletionLoss(np.eye(2, dtype=bool), np.eye(2))
