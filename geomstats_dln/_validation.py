"""Input validation shared by the public entry points (internal).

Every public function of geomstats-dln passes its inputs through this module
once, at the top, before any LAPACK call or iteration:

- array-likes (lists, tuples, integers, ``float32``) become ``float64`` arrays
  (:func:`as_float_array`); complex or non-numeric input is a ``TypeError``
  naming the function and the dtype;
- finiteness is checked before any SVD (:func:`as_finite_array`): LAPACK's SVD
  loops forever on ``inf``, and a ``NaN`` reaching it gives an obscure
  ``LinAlgError`` or a silently wrong answer;
- sizes accept anything integer-like (``np.int64``, ``3.0``) and refuse the
  rest (``2.5``, ``True``) with a ``ValueError`` (:func:`as_size`);
- seeds are type-checked (:func:`check_seed`);
- batch shapes that do not broadcast are named with both shapes
  (:func:`broadcast_batch`);
- the shape and balance checks of parameter points and the gauge-algebra
  helpers that several modules need (:func:`check_parameters`,
  :func:`check_balanced`, :func:`gauge_vector`, :func:`symmetric_basis`).

Values under an autograd box (``ArrayBox``, during differentiation) are checked
through their plain value and passed on unchanged, so the checks never cut a
gradient. Pure algebraic maps may propagate ``NaN`` as numpy does; that is
documented where it applies.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

__all__ = [
    "as_field_array",
    "as_finite_array",
    "as_float_array",
    "as_positive_float",
    "as_real_number",
    "as_size",
    "balance_defect",
    "broadcast_batch",
    "check_balanced",
    "check_finite",
    "check_full_rank",
    "check_parameters",
    "check_seed",
    "gauge_vector",
    "is_complex",
    "raw",
    "symmetric_basis",
]

# Relative smallest singular value below which a point counts as nearly rank
# deficient rather than numerically singular: the boundary of the full-rank
# set is closer than the accuracy the geodesic solvers reach.
NEARLY_SINGULAR_RTOL = 1e-7


def raw(value):
    """The plain ndarray under an autograd box (for checks, not for math)."""
    while hasattr(value, "_value"):
        value = value._value
    return np.asarray(value)


def _is_boxed(value) -> bool:
    return hasattr(value, "_value")


def _where(function: str) -> str:
    return f"{function}: " if function else ""


def as_float_array(value, name: str = "input", function: str = ""):
    """``value`` as a real ``float64`` array (autograd boxes pass unchanged).

    Parameters
    ----------
    value : array-like
        Lists, tuples, scalars, integer or ``float32`` arrays, numpy arrays.
    name : str
        The argument's name, for the error message.
    function : str
        The public function's name, for the error message.

    Raises
    ------
    TypeError
        For complex, boolean-object, string or other non-numeric input.
    """
    if _is_boxed(value):
        plain = raw(value)
        if np.iscomplexobj(plain):
            raise TypeError(
                f"{_where(function)}{name} must be real, got dtype {plain.dtype}"
            )
        return value
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as exc:  # ragged lists
        raise TypeError(
            f"{_where(function)}{name} must be a real array, got "
            f"{type(value).__name__} ({exc})"
        ) from None
    if array.dtype.kind == "c":
        raise TypeError(
            f"{_where(function)}{name} must be real, got dtype {array.dtype}"
        )
    if array.dtype.kind not in "fiub":
        raise TypeError(
            f"{_where(function)}{name} must be a real numeric array, got dtype "
            f"{array.dtype} ({type(value).__name__})"
        )
    if array.dtype != np.float64:
        array = array.astype(np.float64)
    return array


def as_field_array(value, name: str = "input", function: str = ""):
    """``value`` as a ``float64`` or ``complex128`` array, by its dtype.

    The entry of the functions that hold over both fields F = R and F = C:
    real input stays real (so the real code path and its answers are
    unchanged), complex input becomes ``complex128``. Autograd boxes pass
    unchanged.

    Raises
    ------
    TypeError
        For boolean-object, string or other non-numeric input.
    """
    plain = raw(value) if _is_boxed(value) else None
    if plain is not None:
        if plain.dtype.kind not in "fiubc":
            raise TypeError(
                f"{_where(function)}{name} must be numeric, got dtype {plain.dtype}"
            )
        return value
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as exc:  # ragged lists
        raise TypeError(
            f"{_where(function)}{name} must be a numeric array, got "
            f"{type(value).__name__} ({exc})"
        ) from None
    if array.dtype.kind == "c":
        return array.astype(np.complex128, copy=False)
    return as_float_array(array, name=name, function=function)


def is_complex(value) -> bool:
    """Whether ``value`` (possibly an autograd box) has a complex dtype."""
    return np.iscomplexobj(raw(value))


def check_finite(value, name: str = "input", function: str = "") -> None:
    """Raise ``ValueError`` when ``value`` has an ``inf`` or ``NaN`` entry."""
    plain = raw(value)
    if not np.all(np.isfinite(plain)):
        n_bad = int(np.size(plain) - np.count_nonzero(np.isfinite(plain)))
        kinds = []
        if np.any(np.isnan(plain)):
            kinds.append("NaN")
        if np.any(np.isinf(plain)):
            kinds.append("inf")
        raise ValueError(
            f"{_where(function)}{name} has non-finite entries ({n_bad} "
            f"{'/'.join(kinds)}) in an array of shape {plain.shape}"
        )


def as_finite_array(
    value, name: str = "input", function: str = "", min_ndim: int = 0, square=False
):
    """:func:`as_float_array`, then finiteness and shape checks.

    Parameters
    ----------
    min_ndim : int
        Fewest axes the array must have (2 for matrices, 3 for parameters).
    square : bool
        Whether the last two axes must be equal.
    """
    array = as_float_array(value, name, function)
    plain = raw(array)
    if plain.ndim < min_ndim:
        kind = {2: "[..., n, m]", 3: "[..., N, d, d]"}.get(min_ndim, f"{min_ndim}-d")
        raise ValueError(
            f"{_where(function)}{name} must have shape {kind}, got {plain.shape}"
        )
    if square and plain.shape[-1] != plain.shape[-2]:
        raise ValueError(
            f"{_where(function)}{name} must be square in its last two axes, "
            f"got shape {plain.shape}"
        )
    check_finite(plain, name, function)
    return array


def as_size(value, name: str, function: str = "", minimum: int = 1) -> int:
    """An integer-like size as ``int``: ``3``, ``np.int64(3)`` and ``3.0`` pass,
    ``2.5``, ``True``, ``"3"`` and values below ``minimum`` are refused.

    Raises
    ------
    TypeError
        For booleans and non-numbers.
    ValueError
        For non-integers and values below ``minimum``.
    """
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{_where(function)}{name} must be an integer, got {value!r}")
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if not isinstance(value, numbers.Real):
        raise TypeError(
            f"{_where(function)}{name} must be an integer, got "
            f"{type(value).__name__} {value!r}"
        )
    if not (np.isfinite(float(value)) and float(value).is_integer()):
        raise ValueError(f"{_where(function)}{name} must be an integer, got {value!r}")
    if value < minimum:
        bound = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{_where(function)}{name} must be {bound}, got {value!r}")
    return int(value)


def as_real_number(value, name: str, function: str = "") -> float:
    """``float(value)``, refusing complex values with a ``TypeError`` naming
    ``name`` and the dtype.

    ``float`` of a numpy complex scalar drops the imaginary part with only a
    ``ComplexWarning`` (and of a Python ``complex`` raises without naming the
    argument); everything else is ``float(value)`` unchanged (its own
    ``TypeError``/``ValueError`` for non-numbers), so callers keep their range
    checks and messages.
    """
    if is_complex(value):
        raise TypeError(
            f"{_where(function)}{name} must be real, got dtype {raw(value).dtype}"
        )
    return float(value)


def as_positive_float(
    value, name: str, function: str = "", allow_zero: bool = False, allow_inf=False
) -> float:
    """A real scalar ``> 0`` (``>= 0`` with ``allow_zero``) as ``float``."""
    plain = raw(value)
    if (
        isinstance(value, (bool, np.bool_))
        or plain.ndim != 0
        or plain.dtype.kind not in "fiu"
    ):
        raise TypeError(
            f"{_where(function)}{name} must be a real number, got {value!r}"
        )
    number = float(plain)
    finite = np.isfinite(number) or (allow_inf and number == np.inf)
    positive = number >= 0.0 if allow_zero else number > 0.0
    if not (finite and positive):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(
            f"{_where(function)}{name} must be finite and {bound}, got {value!r}"
        )
    return number


def check_seed(seed, function: str = ""):
    """``seed`` unchanged when it is ``None``, a non-negative integer, a
    ``numpy.random.Generator``, ``SeedSequence`` or ``RandomState``, or an
    object with ``standard_normal`` (deterministic test noises).

    Raises
    ------
    TypeError
        For floats, strings and other objects (numpy's own message does not
        name the argument).
    ValueError
        For negative integers.
    """
    if seed is None or isinstance(
        seed, (np.random.Generator, np.random.SeedSequence, np.random.RandomState)
    ):
        return seed
    if hasattr(seed, "standard_normal"):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(
            f"{_where(function)}seed must be None, a non-negative integer or a "
            f"numpy.random.Generator, got {type(seed).__name__} {seed!r}"
        )
    if seed < 0:
        raise ValueError(
            f"{_where(function)}seed must be a non-negative integer, got {seed}"
        )
    return int(seed)


def broadcast_batch(
    shapes: Sequence[tuple[int, ...]], names: Sequence[str], function: str = ""
) -> tuple[int, ...]:
    """``np.broadcast_shapes`` of batch shapes, naming both on failure."""
    try:
        return tuple(np.broadcast_shapes(*[tuple(shape) for shape in shapes]))
    except ValueError:
        described = ", ".join(
            f"{name} {tuple(shape)}" for name, shape in zip(names, shapes, strict=True)
        )
        raise ValueError(
            f"{_where(function)}batch shapes do not broadcast: {described}"
        ) from None


def check_full_rank(
    point, singular_values=None, rtol: float | None = None, function: str = ""
) -> None:
    """Raise ``ValueError`` unless ``point`` [..., n, m] is finite and full rank.

    Three distinct messages: non-finite entries; *numerically singular*
    (``s_min <= max(n, m) eps s_max``, the rule of ``numpy.linalg.matrix_rank``);
    *nearly rank-deficient* (``s_min <= rtol s_max`` for a caller's larger
    ``rtol``, naming the relative smallest singular value). A point whose
    largest singular value overflowed is reported as such, not as singular.
    """
    plain = raw(point)
    check_finite(plain, "point", function)
    if singular_values is None:
        singular_values = np.linalg.svd(plain, compute_uv=False)
    s = raw(singular_values)
    eps_rtol = max(plain.shape[-2:]) * np.finfo(float).eps
    rtol = eps_rtol if rtol is None else max(float(rtol), eps_rtol)
    s_min, s_max = s[..., -1], s[..., 0]
    if not np.all(np.isfinite(s)):
        raise ValueError(
            f"{_where(function)}point of shape {plain.shape} has singular values "
            "that overflow (the computation blew up before reaching it)"
        )
    bad = ~(s_min > rtol * s_max)
    if not np.any(bad):
        return
    relative = s_min / np.where(s_max > 0, s_max, 1.0)
    worst = float(np.min(relative))
    if worst <= eps_rtol:
        raise ValueError(
            f"{_where(function)}point of shape {plain.shape} is not full rank: "
            f"smallest singular value {float(np.min(s_min)):.3e} (relative "
            f"{worst:.3e}); end-to-end matrices must have full rank"
        )
    raise ValueError(
        f"{_where(function)}point of shape {plain.shape} is nearly rank-deficient "
        f"(relative smallest singular value {worst:.3e} <= {rtol:.1e}; smallest "
        f"singular value {float(np.min(s_min)):.3e})"
    )


# --------------------------------------------------------------- parameters
def check_parameters(parameters, name: str = "parameters") -> tuple[int, int]:
    """``(depth, dim)`` of parameters of shape ``[..., depth, dim, dim]``."""
    shape = tuple(getattr(parameters, "shape", np.shape(parameters)))
    if len(shape) < 3 or shape[-1] != shape[-2] or shape[-3] < 1:
        raise ValueError(
            f"{name} must have shape [..., depth, dim, dim] (W[k-1] = W_k), got {shape}"
        )
    return shape[-3], shape[-1]


def as_parameters(
    parameters, name: str = "parameters", function: str = "", finite: bool = True
):
    """Parameters as a float array of shape ``[..., N, d, d]`` (finite by default)."""
    array = as_float_array(parameters, name, function)
    check_parameters(array, name)
    if finite:
        check_finite(array, name, function)
    return array


def balance_defect(parameters):
    """``(|G(W)|, |W|^2)`` per point (Frobenius norms)."""
    from geomstats_dln.parameters import moments  # parameters imports this module

    parameters = np.asarray(raw(parameters))
    if parameters.dtype.kind == "c":  # F = C: Hermitian moments, |.|^2 of entries
        gram = np.asarray(moments(parameters))
        return (
            np.sqrt(np.sum(np.abs(gram) ** 2, axis=(-3, -2, -1))),
            np.sum(np.abs(parameters) ** 2, axis=(-3, -2, -1)),
        )
    parameters = parameters.astype(float, copy=False)
    gram = np.asarray(moments(parameters))
    if parameters.ndim == 3:  # one point: dot products avoid reductions' overhead
        return np.sqrt(np.vdot(gram, gram)), np.vdot(parameters, parameters)
    return (
        np.sqrt(np.sum(gram**2, axis=(-3, -2, -1))),
        np.sum(parameters**2, axis=(-3, -2, -1)),
    )


def check_balanced(parameters, rtol: float = 1e-8, function: str = "") -> None:
    """Raise ``ValueError`` stating ``|G|`` unless ``|G| <= rtol |W|^2``."""
    check_finite(parameters, "parameters", function)
    defect, size = balance_defect(parameters)
    if np.any(defect > rtol * size):
        raise ValueError(
            f"{_where(function)}parameters are not balanced: |G| = "
            f"{float(np.max(defect)):.3e} > {rtol:g} |W|^2 = "
            f"{float(np.max(rtol * size)):.3e}"
        )


def symmetric_basis(depth: int, dim: int) -> np.ndarray:
    """Basis of ``Sym(d)^{N-1}``: [(N-1) d (d+1)/2, N-1, d, d]."""
    rows, cols = np.triu_indices(dim)
    basis = np.zeros((depth - 1, len(rows), depth - 1, dim, dim))
    for k in range(depth - 1):
        basis[k, np.arange(len(rows)), k, rows, cols] = 1.0
        basis[k, np.arange(len(rows)), k, cols, rows] = 1.0
    return basis.reshape(-1, depth - 1, dim, dim)


def gauge_vector(algebra, parameters):
    """``(w_a)_k = a_k W_k - W_k a_{k-1}`` with ``a_0 = a_N = 0`` (the orbit
    vector of a gauge-algebra element, docs/mathematics.md §4)."""
    zeros = np.zeros(algebra.shape[:-3] + (1,) + algebra.shape[-2:])
    padded = np.concatenate([zeros, algebra, zeros], axis=-3)
    return padded[..., 1:, :, :] @ parameters - parameters @ padded[..., :-1, :, :]


def check_orthogonal(matrices, name: str = "gauges", function: str = "", atol=1e-8):
    """Raise ``ValueError`` unless every ``Q`` in ``matrices`` [..., d, d] has
    ``|Q^T Q - I|_max <= atol``."""
    plain = np.asarray(raw(matrices), dtype=float)
    check_finite(plain, name, function)
    if plain.size == 0:
        return
    gram = np.swapaxes(plain, -1, -2) @ plain
    defect = float(np.max(np.abs(gram - np.eye(plain.shape[-1]))))
    if defect > atol:
        raise ValueError(
            f"{_where(function)}{name} must be orthogonal: max |Q^T Q - I| = "
            f"{defect:.3e} > {atol:g}"
        )


def sample_batch(base_point, n_samples: int) -> tuple:
    """Batch shape of ``n_samples`` random tangent vectors at ``base_point``
    [..., n, m]: the base point's batch, or ``(n_samples,)`` when it has none."""
    batch = tuple(base_point.shape[:-2])
    if n_samples != 1:
        if batch and batch != (n_samples,):
            raise ValueError("n_samples must match the batch of base_point")
        batch = (n_samples,)
    return batch
