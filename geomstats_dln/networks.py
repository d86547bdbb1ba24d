r"""Linear networks as objects: import, export, invariants, balanced representative.

A linear network of depth ``N`` and widths ``d_0, ..., d_N`` is its list of
layers ``(W_1, ..., W_N)``, input layer first, ``W_k`` of shape ``d_k x d_{k-1}``;
it computes ``x -> X x`` with the end-to-end matrix ``X = W_N ... W_1``
(``d_N x d_0``). Hidden widths may differ from each other and from the input
and output widths.

:class:`LinearNetwork` converts from and to a list of arrays, a ``.npz`` file
and a PyTorch module of bias-free ``nn.Linear`` layers (PyTorch is optional and
imported only by those methods). :class:`NetworkEnsemble` holds networks of
equal widths, as trained in an experiment; the ``.npz`` format of both is

- ``layers``: one array ``[n_networks, N, d, d]`` (equal widths, input layer
  first), or
- ``layer_1``, ..., ``layer_N``: arrays ``[n_networks, d_k, d_{k-1}]``.

Invariants of the gauge group (``GL(d_1) x ... x GL(d_{N-1})`` acting by
``W_k -> A_k W_k A_{k-1}^{-1}``, ``A_0 = A_N = I``) are the end-to-end matrix,
its rank and, for square ``X``, the sign of its determinant (the component of
the invertible matrices it lies in). The moments
``G_k = W_k W_k^T - W_{k+1}^T W_{k+1}`` are invariant under the orthogonal
subgroup only; they vanish exactly on balanced networks (survey §2, §4).

Canonical representative (Kempf-Ness; balancedness Thm 1, survey §6): on the
fiber ``{W : W_N ... W_1 = X}`` the squared norm ``sum_k |W_k|^2`` is at least
``N sum_i s_i^{2/N}`` (``s_i`` the singular values of ``X``: the generalized
Holder inequality for Schatten quasi-norms, equality iff all layers share the
singular values ``s_i^{1/N}`` and are balanced). With ``r = min_k d_k`` and the
thin SVD ``X = U_r diag(s) V_r^T`` (``r`` leading triplets; ``rank X <= r``),
the minimum is attained at

``W_1 = P_1 Lam V_r^T,  W_k = P_k Lam P_{k-1}^T,  W_N = U_r Lam P_{N-1}^T``,

``Lam = diag(s^{1/N})``, where ``P_k`` (``d_k x r``) is the first ``r`` columns of
the identity: hidden layers wider than ``r`` are padded with zeros. For equal
widths and full rank this is :func:`geomstats_dln.balanced.center`; every
other minimizer is its image under an orthogonal gauge.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from geomstats_dln._validation import as_float_array

__all__ = [
    "LinearNetwork",
    "NetworkEnsemble",
    "align_layers",
    "balanced_layers",
    "load_layers_npz",
]

_TORCH_HINT = "PyTorch is an optional extra: pip install 'geomstats-dln[torch]'"


# ---------------------------------------------------------------- validation
def _as_layer(layer: Any, name: str, function: str = "LinearNetwork") -> np.ndarray:
    """One layer as a finite float64 2-D array, else an error naming it."""
    # a copy: networks do not alias input; complex layers are a TypeError
    array = np.array(as_float_array(layer, name, function), dtype=float)
    if array.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array (d_k x d_(k-1)), got shape {array.shape}"
        )
    if 0 in array.shape:
        raise ValueError(f"{name} is empty (shape {array.shape})")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} has non-finite entries (NaN or inf)")
    array.setflags(write=False)
    return array


def _check_chain(layers: Sequence[np.ndarray], names: Sequence[str]) -> None:
    """Consecutive layers must compose: ``W_k`` has ``d_(k-1)`` columns."""
    for k in range(1, len(layers)):
        rows, columns = layers[k - 1].shape[0], layers[k].shape[1]
        if rows != columns:
            raise ValueError(
                f"{names[k]} has {columns} input features (shape "
                f"{layers[k].shape}) but {names[k - 1]} has {rows} outputs "
                f"(shape {layers[k - 1].shape}): the widths do not match"
            )


def _default_names(depth: int) -> list[str]:
    return [f"layer {k} (W_{k})" for k in range(1, depth + 1)]


def _polar(matrix: np.ndarray) -> np.ndarray:
    """Orthogonal polar factor ``U V^T`` of ``U S V^T``: the Procrustes optimum."""
    left, _, right_t = np.linalg.svd(matrix)
    return left @ right_t


# ---------------------------------------------------------- layer functions
def balanced_layers(
    end_to_end_matrix: ArrayLike, widths: Sequence[int]
) -> list[np.ndarray]:
    r"""The minimum-norm network over ``X`` with widths ``d_0, ..., d_N``.

    ``W_1 = P_1 Lam V_r^T``, ``W_k = P_k Lam P_{k-1}^T``, ``W_N = U_r Lam
    P_{N-1}^T`` with ``r = min_k d_k``, ``X = U_r diag(s) V_r^T`` and
    ``Lam = diag(s^{1/N})`` (module docstring; balancedness Thm 1). Its squared
    norm is ``N sum_i s_i^{2/N}``, its moments vanish.

    Parameters
    ----------
    end_to_end_matrix : array-like, shape=[d_N, d_0]
    widths : sequence of int
        ``(d_0, ..., d_N)``, ``N >= 1``.

    Returns
    -------
    layers : list of ndarray
        ``layers[k-1] = W_k`` of shape ``[d_k, d_(k-1)]``.
    """
    widths = [int(w) for w in widths]
    if len(widths) < 2 or min(widths) < 1:
        raise ValueError(f"widths must be >= 2 positive integers, got {widths}")
    matrix = _as_layer(end_to_end_matrix, "end_to_end_matrix", "balanced_layers")
    if matrix.shape != (widths[-1], widths[0]):
        raise ValueError(
            f"end_to_end_matrix must have shape (d_N, d_0) = "
            f"({widths[-1]}, {widths[0]}), got {matrix.shape}"
        )
    depth, rank = len(widths) - 1, min(widths)
    if depth == 1:
        return [matrix.copy()]
    left, singular_values, right_t = np.linalg.svd(matrix, full_matrices=False)
    # rank X <= r: the r leading triplets reproduce X (the rest are zero)
    root = singular_values[:rank] ** (1.0 / depth)
    layers = [np.zeros((widths[k], widths[k - 1])) for k in range(1, depth + 1)]
    layers[0][:rank] = root[:, None] * right_t[:rank]
    for k in range(1, depth - 1):
        layers[k][np.arange(rank), np.arange(rank)] = root
    layers[-1][:, :rank] = left[:, :rank] * root[None, :]
    return layers


def align_layers(
    target: Sequence[np.ndarray],
    source: Sequence[np.ndarray],
    max_sweeps: int = 100,
    tol: float = 1e-13,
) -> list[np.ndarray]:
    """Orthogonal gauges ``Q_k in O(d_k)`` (locally) minimizing ``|target - Q.source|``.

    The block-coordinate Procrustes iteration of
    :func:`geomstats_dln.balanced.best_gauge`, for any widths: with the others
    fixed, ``Q_k = polar(T_k Q_(k-1) S_k^T + T_(k+1)^T Q_(k+1) S_(k+1))``
    (``Q_0 = Q_N = I``) is optimal, so ``|target - Q.source|`` decreases; the
    sweeps start from the forward solution ``Q_k = polar(T_k Q_(k-1) S_k^T)``,
    exact when ``target`` is on the orbit of ``source``.

    Parameters
    ----------
    target, source : sequence of ndarray
        Layers of equal shapes, input layer first.

    Returns
    -------
    gauges : list of ndarray
        ``Q_1, ..., Q_(N-1)``, ``Q_k`` of shape ``[d_k, d_k]``.

    Raises
    ------
    TypeError
        For complex layers (the gauges here are orthogonal, real only).
    """
    target = [
        as_float_array(t, f"target[{k}]", "align_layers") for k, t in enumerate(target)
    ]
    source = [
        as_float_array(s, f"source[{k}]", "align_layers") for k, s in enumerate(source)
    ]
    if [np.shape(t) for t in target] != [np.shape(s) for s in source]:
        raise ValueError(
            "align_layers needs networks of the same widths, got layer shapes "
            f"{[np.shape(t) for t in target]} and {[np.shape(s) for s in source]}"
        )
    depth = len(source)
    gauges = [np.eye(source[0].shape[1])]
    for k in range(depth - 1):
        gauges.append(_polar(target[k] @ gauges[-1] @ source[k].T))
    gauges.append(np.eye(source[-1].shape[0]))

    def residual() -> float:
        acted = _act(gauges, source)
        return float(
            sum(np.sum((t - a) ** 2) for t, a in zip(target, acted, strict=True))
        )

    scale = float(sum(np.sum(t**2) for t in target))
    previous = residual()
    for _ in range(max_sweeps):
        for k in range(1, depth):
            gauges[k] = _polar(
                target[k - 1] @ gauges[k - 1] @ source[k - 1].T
                + target[k].T @ gauges[k + 1] @ source[k]
            )
        current = residual()
        if previous - current <= tol * max(current, scale):
            break
        previous = current
    return gauges[1:-1]


def _act(padded_gauges: Sequence[np.ndarray], layers: Sequence[np.ndarray]):
    """``A_k W_k A_(k-1)^{-1}`` for orthogonal ``A`` given with both identity ends."""
    return [
        padded_gauges[k + 1] @ layer @ padded_gauges[k].T
        for k, layer in enumerate(layers)
    ]


# ---------------------------------------------------------------------- npz
def load_layers_npz(path: str | PathLike) -> list[np.ndarray]:
    """Stacked layers ``[n_networks, d_k, d_(k-1)]`` from an ensemble ``.npz``.

    The file holds ``layers`` ``[n_networks, N, d, d]`` or ``layer_1``, ...,
    ``layer_N`` ``[n_networks, d_k, d_(k-1)]`` (module docstring). Every problem
    (missing file, not an npz, missing or extra keys, shapes, non-finite
    entries, mismatched widths) is a one-line ``ValueError``.

    Returns
    -------
    stacked : list of ndarray
        ``stacked[k-1]`` of shape ``[n_networks, d_k, d_(k-1)]``.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as archive:
            if not hasattr(archive, "files"):
                raise ValueError(f"{path}: a single .npy array, not an .npz archive")
            contents = {key: archive[key] for key in archive.files}
    except ValueError as exc:
        if str(exc).startswith(str(path)):
            raise
        raise ValueError(f"{path}: not a readable .npz archive ({exc})") from exc
    except (OSError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable .npz archive ({exc})") from exc
    if "layers" in contents:
        if len(contents) != 1:
            others = sorted(set(contents) - {"layers"})
            raise ValueError(
                f"{path}: 'layers' must be the only array, also found {others}"
            )
        stacked = contents["layers"]
        if stacked.ndim != 4 or stacked.shape[-1] != stacked.shape[-2]:
            raise ValueError(
                f"{path}: 'layers' must have shape [n_networks, N, d, d], "
                f"got {stacked.shape}"
            )
        arrays = [stacked[:, k] for k in range(stacked.shape[1])]
    else:
        depth = len(contents)
        expected = {f"layer_{k}" for k in range(1, depth + 1)}
        if depth == 0 or set(contents) != expected:
            raise ValueError(
                f"{path}: expected an array 'layers' or arrays 'layer_1' ... "
                f"'layer_N', found {sorted(contents)}"
            )
        arrays = [contents[f"layer_{k}"] for k in range(1, depth + 1)]
    stacked_layers = []
    for k, array in enumerate(arrays, start=1):
        if array.ndim != 3 or 0 in array.shape:
            raise ValueError(
                f"{path}: layer {k} must have shape [n_networks, d_{k}, "
                f"d_{k - 1}], got {array.shape}"
            )
        if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
            raise ValueError(f"{path}: layer {k} has non-real dtype {array.dtype}")
        array = array.astype(float)
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{path}: layer {k} has non-finite entries (NaN or inf)")
        if array.shape[0] != arrays[0].shape[0]:
            raise ValueError(
                f"{path}: layer {k} holds {array.shape[0]} networks, layer 1 "
                f"holds {arrays[0].shape[0]}"
            )
        stacked_layers.append(array)
    try:
        _check_chain([a[0] for a in stacked_layers], _default_names(len(arrays)))
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc
    return stacked_layers


def _save_stacked(path: str | PathLike, stacked: Sequence[np.ndarray]) -> None:
    shapes = {a.shape[1:] for a in stacked}
    square = len(shapes) == 1 and stacked[0].shape[1] == stacked[0].shape[2]
    if square:
        np.savez(path, layers=np.stack(stacked, axis=1))
    else:
        np.savez(path, **{f"layer_{k}": a for k, a in enumerate(stacked, start=1)})


# -------------------------------------------------------------------- torch
def _import_torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - torch is in the test extra
        raise ImportError(_TORCH_HINT) from exc
    return torch


def _torch_layers(module: Any) -> tuple[list[np.ndarray], list[str]]:
    """Weights of the bias-free ``nn.Linear`` leaves of ``module``, in order."""
    torch = _import_torch()
    nn = torch.nn
    if not isinstance(module, nn.Module):
        raise TypeError(f"expected a torch.nn.Module, got {type(module).__name__}")
    if isinstance(module, nn.Linear):
        leaves = [("", module)]
    else:
        leaves = [
            (name, child)
            for name, child in module.named_modules()
            if not any(True for _ in child.children())
        ]
    weights, names = [], []
    for name, leaf in leaves:
        label = (
            f"layer {name!r} ({type(leaf).__name__})"
            if name
            else (f"the module ({type(leaf).__name__})")
        )
        if isinstance(leaf, nn.Identity):
            continue
        if isinstance(leaf, nn.Linear):
            if leaf.bias is not None:
                raise ValueError(
                    f"{label} has a bias; the layers of a linear network are "
                    "bias-free (nn.Linear(..., bias=False))"
                )
            weights.append(leaf.weight.detach().cpu().to(torch.float64).numpy())
            names.append(f"{label} (W_{len(weights)})")
        elif type(leaf).__module__ == "torch.nn.modules.activation":
            raise TypeError(
                f"{label} is a nonlinearity; a linear network has only "
                "bias-free nn.Linear layers"
            )
        else:
            raise TypeError(
                f"{label} is not a linear layer; a linear network has only "
                "bias-free nn.Linear layers"
            )
    if not weights:
        raise ValueError("the module has no nn.Linear layer")
    return weights, names


# ------------------------------------------------------------------ network
class LinearNetwork:
    r"""A linear network ``x -> W_N ... W_1 x`` of any widths ``d_0, ..., d_N``.

    Parameters
    ----------
    layers : sequence of array-like
        ``W_1, ..., W_N``, input layer first, ``W_k`` of shape ``[d_k, d_(k-1)]``.
        Copied; the network is immutable.

    Raises
    ------
    ValueError, TypeError
        Naming the offending layer: not 2-D, not finite, or widths that do not
        compose.
    """

    def __init__(
        self, layers: Sequence[ArrayLike], _names: Sequence[str] | None = None
    ):
        if isinstance(layers, np.ndarray) and layers.ndim == 3:
            layers = list(layers)  # [N, d, d] stacked layers
        if isinstance(layers, (str, bytes)) or not isinstance(
            layers, (Sequence, np.ndarray)
        ):
            raise TypeError(
                "layers must be a list or tuple of 2-D arrays (input layer first), "
                f"got {type(layers).__name__}"
            )
        if len(layers) == 0:
            raise ValueError("a linear network needs at least one layer")
        names = list(_names) if _names is not None else _default_names(len(layers))
        arrays = [
            _as_layer(layer, name) for layer, name in zip(layers, names, strict=True)
        ]
        _check_chain(arrays, names)
        self._layers = tuple(arrays)

    # ------------------------------------------------------------ conversions
    @classmethod
    def from_layers(cls, layers: Sequence[ArrayLike]) -> LinearNetwork:
        """From ``W_1, ..., W_N`` (input layer first)."""
        return cls(layers)

    @classmethod
    def from_array(cls, parameters: ArrayLike) -> LinearNetwork:
        """From stacked equal-width layers ``[N, d, d]`` (``parameters[k-1] = W_k``),
        the layout of :class:`geomstats_dln.DLNParameterSpace`."""
        parameters = as_float_array(
            parameters, "parameters", "LinearNetwork.from_array"
        )
        if parameters.ndim != 3:
            raise ValueError(
                f"parameters must have shape [N, d, d], got {parameters.shape}"
            )
        return cls(list(parameters))

    @classmethod
    def from_npz(cls, path: str | PathLike, index: int | None = None) -> LinearNetwork:
        """Network ``index`` of an ensemble ``.npz`` (module docstring format).

        ``index`` may be omitted when the file holds one network.
        """
        stacked = load_layers_npz(path)
        count = stacked[0].shape[0]
        if index is None:
            if count != 1:
                raise ValueError(
                    f"{path} holds {count} networks: pass index= (or load a "
                    "NetworkEnsemble)"
                )
            index = 0
        if not -count <= int(index) < count:
            raise ValueError(f"index {index} out of range for {count} networks")
        return cls([a[int(index)] for a in stacked])

    @classmethod
    def from_torch(cls, module: Any) -> LinearNetwork:
        """From a PyTorch module whose leaves are bias-free ``nn.Linear`` layers.

        The leaves are read in registration order (``nn.Sequential``: call
        order); ``nn.Identity`` leaves are skipped. A bias, a nonlinearity,
        another kind of layer or mismatched widths raises an error naming the
        layer. The module's forward pass is then compared with
        ``x -> X x`` on random inputs, which catches functional nonlinearities
        (``F.relu`` in ``forward``) and layers called in another order.
        """
        torch = _import_torch()
        weights, names = _torch_layers(module)
        network = cls(weights, _names=names)
        parameter = next(module.parameters())
        generator = torch.Generator().manual_seed(0)
        probe = torch.randn(
            4, network.widths[0], generator=generator, dtype=torch.float64
        )
        with torch.no_grad():
            output = module(probe.to(dtype=parameter.dtype, device=parameter.device))
        output = output.detach().cpu().to(torch.float64).numpy()
        expected = network.apply(probe.numpy().T).T
        tolerance = 100 * torch.finfo(parameter.dtype).eps * network.depth
        scale = np.sqrt(np.sum(probe.numpy() ** 2)) * np.prod(
            [np.linalg.norm(w, 2) for w in network.layers]
        )
        deviation = (
            float(np.max(np.abs(output - expected)))
            if output.shape == expected.shape
            else np.inf
        )
        if not deviation <= tolerance * max(scale, 1.0):
            raise ValueError(
                "the module's forward pass is not x -> W_N ... W_1 x with its "
                f"nn.Linear layers in registration order (deviation {deviation:.2e}):"
                " a functional nonlinearity or another layer order in forward()?"
            )
        return network

    def to_list(self) -> list[np.ndarray]:
        """The layers ``[W_1, ..., W_N]`` as writable copies."""
        return [layer.copy() for layer in self._layers]

    def to_array(self) -> np.ndarray:
        """Stacked layers ``[N, d, d]`` (equal widths only)."""
        if not self.equal_widths:
            raise ValueError(
                f"to_array needs equal widths, got widths {self.widths}; use to_list"
            )
        return np.stack(self._layers)

    def to_npz(self, path: str | PathLike) -> None:
        """Save as an ensemble of one network (module docstring format)."""
        _save_stacked(path, [layer[None] for layer in self._layers])

    def to_torch(self, dtype: Any = None) -> Any:
        """``nn.Sequential`` of bias-free ``nn.Linear`` layers (default float64)."""
        torch = _import_torch()
        dtype = torch.float64 if dtype is None else dtype
        modules = []
        for layer in self._layers:
            linear = torch.nn.Linear(layer.shape[1], layer.shape[0], bias=False)
            with torch.no_grad():
                linear.weight = torch.nn.Parameter(torch.tensor(layer, dtype=dtype))
            modules.append(linear)
        return torch.nn.Sequential(*modules)

    # ------------------------------------------------------------- structure
    @property
    def layers(self) -> tuple[np.ndarray, ...]:
        """``(W_1, ..., W_N)``, read-only arrays."""
        return self._layers

    @property
    def depth(self) -> int:
        """Number of layers ``N``."""
        return len(self._layers)

    @property
    def widths(self) -> tuple[int, ...]:
        """``(d_0, ..., d_N)``."""
        return (self._layers[0].shape[1],) + tuple(w.shape[0] for w in self._layers)

    @property
    def equal_widths(self) -> bool:
        """Whether all ``d_k`` are equal (the setting of ``DLNParameterSpace``)."""
        return len(set(self.widths)) == 1

    def __repr__(self) -> str:
        widths = " -> ".join(map(str, self.widths))
        return f"LinearNetwork(depth={self.depth}, widths {widths})"

    # ------------------------------------------------------------ invariants
    def end_to_end(self) -> np.ndarray:
        """``X = W_N ... W_1``, shape ``[d_N, d_0]``."""
        product = self._layers[0]
        for layer in self._layers[1:]:
            product = layer @ product
        return np.array(product)

    def rank(self, rtol: float | None = None) -> int:
        """Numerical rank of ``X`` (``numpy.linalg.matrix_rank``)."""
        return int(np.linalg.matrix_rank(self.end_to_end(), rtol=rtol))

    def determinant_sign(self) -> int | None:
        """Sign of ``det X`` (+1, -1, or 0 when singular); ``None`` if not square.

        The two signs are the two components of the invertible matrices: no
        path of full-rank networks (training included) crosses between them.
        """
        matrix = self.end_to_end()
        if matrix.shape[0] != matrix.shape[1]:
            return None
        if self.rank() < matrix.shape[0]:
            return 0
        return int(np.sign(np.linalg.det(matrix)))

    def moments(self) -> list[np.ndarray]:
        """``G_k = W_k W_k^T - W_(k+1)^T W_(k+1)``, ``k = 1..N-1`` (``d_k x d_k``)."""
        return [
            lower @ lower.T - upper.T @ upper
            for lower, upper in zip(self._layers[:-1], self._layers[1:], strict=True)
        ]

    def balance_defect(self, relative: bool = False) -> float:
        """``|G| = (sum_k |G_k|_F^2)^{1/2}``; divided by ``|W|^2`` if ``relative``."""
        defect = float(np.sqrt(sum(np.sum(g**2) for g in self.moments())))
        if relative:
            size = self.squared_norm()
            return defect / size if size > 0 else defect
        return defect

    def is_balanced(self, rtol: float = 1e-8) -> bool:
        """Whether ``|G| <= rtol |W|^2``."""
        return self.balance_defect(relative=True) <= rtol

    def layer_norms(self) -> np.ndarray:
        """Frobenius norms ``|W_k|``, shape ``[N]``."""
        return np.array([np.linalg.norm(layer) for layer in self._layers])

    def squared_norm(self) -> float:
        """``|W|^2 = sum_k |W_k|_F^2``."""
        return float(np.sum(self.layer_norms() ** 2))

    def invariants(self) -> dict[str, Any]:
        """The gauge invariants and balance diagnostics in one dictionary."""
        singular_values = np.linalg.svd(self.end_to_end(), compute_uv=False)
        return {
            "widths": self.widths,
            "rank": self.rank(),
            "determinant_sign": self.determinant_sign(),
            "singular_values": singular_values,
            "balance_defect": self.balance_defect(),
            "relative_balance_defect": self.balance_defect(relative=True),
            "layer_norms": self.layer_norms(),
            "minimum_squared_norm": self.depth
            * float(np.sum(singular_values ** (2.0 / self.depth))),
        }

    # ---------------------------------------------------------------- gauges
    def act(self, matrices: Sequence[ArrayLike]) -> LinearNetwork:
        """``W_k -> A_k W_k A_(k-1)^{-1}`` (``A_0 = A_N = I``): same ``X``.

        Parameters
        ----------
        matrices : sequence of array-like
            ``A_1, ..., A_(N-1)``, invertible, ``A_k`` of shape ``[d_k, d_k]``.
        """
        hidden = self.widths[1:-1]
        if len(matrices) != len(hidden):
            raise ValueError(
                f"expected {len(hidden)} gauge matrices A_1..A_{len(hidden)}, "
                f"got {len(matrices)}"
            )
        padded = [np.eye(self.widths[0])]
        inverses = [np.eye(self.widths[0])]
        for k, (matrix, width) in enumerate(
            zip(matrices, hidden, strict=True), start=1
        ):
            matrix = _as_layer(matrix, f"A_{k}", "LinearNetwork.act")
            if matrix.shape != (width, width):
                raise ValueError(
                    f"A_{k} must have shape ({width}, {width}), got {matrix.shape}"
                )
            singular_values = np.linalg.svd(matrix, compute_uv=False)
            if (
                not singular_values[-1]
                > width * np.finfo(float).eps * singular_values[0]
            ):
                raise ValueError(f"A_{k} is singular (s_min {singular_values[-1]:.2e})")
            padded.append(matrix)
            inverses.append(np.linalg.inv(matrix))
        padded.append(np.eye(self.widths[-1]))
        inverses.append(np.eye(self.widths[-1]))
        return LinearNetwork(
            [
                padded[k + 1] @ layer @ inverses[k]
                for k, layer in enumerate(self._layers)
            ]
        )

    def aligned_to(self, reference: LinearNetwork) -> LinearNetwork:
        """The point of this network's orthogonal-gauge orbit nearest ``reference``.

        :func:`align_layers` (block-coordinate Procrustes; a local minimum).
        """
        if not isinstance(reference, LinearNetwork):
            raise TypeError(
                f"reference must be a LinearNetwork, got {type(reference).__name__}"
            )
        gauges = align_layers(reference.layers, self._layers)
        return self.act(gauges) if gauges else self

    def balanced(self, align: bool = False) -> LinearNetwork:
        """The canonical balanced representative of the fiber over ``X``.

        The minimum-norm network with the same widths and end-to-end matrix
        (:func:`balanced_layers`; Kempf-Ness). With ``align=True`` it is moved
        by the orthogonal gauge that brings it nearest to this network, which
        keeps it balanced, minimal and over the same ``X``.
        """
        network = LinearNetwork(balanced_layers(self.end_to_end(), self.widths))
        return network.aligned_to(self) if align else network

    @classmethod
    def balanced_from_end_to_end(
        cls,
        end_to_end_matrix: ArrayLike,
        widths: Sequence[int] | None = None,
        depth: int | None = None,
    ) -> LinearNetwork:
        """The minimum-norm network over ``X`` (:func:`balanced_layers`).

        Give ``widths`` ``(d_0, ..., d_N)``, or ``depth``: then the hidden
        widths are ``min(d_N, d_0)``, the smallest that can carry a full-rank
        ``X``.
        """
        matrix = as_float_array(
            end_to_end_matrix,
            "end_to_end_matrix",
            "LinearNetwork.balanced_from_end_to_end",
        )
        if (widths is None) == (depth is None):
            raise ValueError("give exactly one of widths and depth")
        if widths is None:
            if (
                isinstance(depth, bool)
                or not isinstance(depth, (int, np.integer))
                or depth < 1
            ):
                raise ValueError(f"depth must be a positive integer, got {depth!r}")
            if matrix.ndim != 2:
                raise ValueError(f"end_to_end_matrix must be 2-D, got {matrix.shape}")
            hidden = min(matrix.shape)
            widths = [matrix.shape[1]] + [hidden] * (depth - 1) + [matrix.shape[0]]
        return cls(balanced_layers(matrix, widths))

    # --------------------------------------------------------------- forward
    def apply(self, inputs: ArrayLike) -> np.ndarray:
        """``W_N ... W_1 x`` layer by layer, inputs as columns.

        Parameters
        ----------
        inputs : array-like, shape=[d_0] or [d_0, n_samples]
            Columns, the package's convention (as in ``RegressionLoss``); a
            PyTorch batch ``[n_samples, d_0]`` is ``inputs.T``.

        Returns
        -------
        outputs : ndarray, shape=[d_N] or [d_N, n_samples]
        """
        values = as_float_array(inputs, "inputs", "LinearNetwork.apply")
        if values.ndim not in (1, 2) or values.shape[0] != self.widths[0]:
            raise ValueError(
                f"inputs must have shape [{self.widths[0]}] or [{self.widths[0]}, "
                f"n_samples] (columns), got {values.shape}"
            )
        for layer in self._layers:
            values = layer @ values
        return values


# ----------------------------------------------------------------- ensemble
class NetworkEnsemble(Sequence[LinearNetwork]):
    """Linear networks of equal widths, e.g. an experiment's trained ensemble.

    Parameters
    ----------
    networks : sequence of LinearNetwork or of layer lists
    """

    def __init__(self, networks: Sequence[LinearNetwork | Sequence[ArrayLike]]):
        if isinstance(networks, np.ndarray):
            raise TypeError("use NetworkEnsemble.from_array for stacked layers")
        members = []
        for index, network in enumerate(networks):
            if not isinstance(network, LinearNetwork):
                try:
                    network = LinearNetwork(network)
                except (TypeError, ValueError) as exc:
                    raise type(exc)(f"network {index}: {exc}") from exc
            if members and network.widths != members[0].widths:
                raise ValueError(
                    f"network {index} has widths {network.widths}, network 0 has "
                    f"{members[0].widths}: an ensemble needs equal widths"
                )
            members.append(network)
        if not members:
            raise ValueError("an ensemble needs at least one network")
        self._networks = tuple(members)

    @classmethod
    def from_array(cls, layers: ArrayLike) -> NetworkEnsemble:
        """From stacked layers ``[n_networks, N, d, d]`` (input layer first),
        the output of :func:`geomstats_dln.datasets.train_ensemble`."""
        layers = as_float_array(layers, "layers", "NetworkEnsemble.from_array")
        if layers.ndim != 4:
            raise ValueError(
                f"layers must have shape [n_networks, N, d, d], got {layers.shape}"
            )
        return cls([LinearNetwork(list(point)) for point in layers])

    @classmethod
    def from_stacked(cls, stacked: Sequence[ArrayLike]) -> NetworkEnsemble:
        """From per-layer stacks ``[n_networks, d_k, d_(k-1)]``."""
        stacked = [
            as_float_array(a, f"stacked[{k}]", "NetworkEnsemble.from_stacked")
            for k, a in enumerate(stacked)
        ]
        count = stacked[0].shape[0]
        return cls([LinearNetwork([a[i] for a in stacked]) for i in range(count)])

    @classmethod
    def from_npz(cls, path: str | PathLike) -> NetworkEnsemble:
        """Load an ensemble ``.npz`` (module docstring format)."""
        return cls.from_stacked(load_layers_npz(path))

    @classmethod
    def from_torch(cls, modules: Sequence[Any]) -> NetworkEnsemble:
        """From PyTorch modules (:meth:`LinearNetwork.from_torch` each)."""
        networks = []
        for index, module in enumerate(modules):
            try:
                networks.append(LinearNetwork.from_torch(module))
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"module {index}: {exc}") from exc
        return cls(networks)

    def stacked_layers(self) -> list[np.ndarray]:
        """Per-layer stacks ``[n_networks, d_k, d_(k-1)]``."""
        return [
            np.stack([network.layers[k] for network in self._networks])
            for k in range(self.depth)
        ]

    def to_array(self) -> np.ndarray:
        """Stacked layers ``[n_networks, N, d, d]`` (equal widths only)."""
        if not self._networks[0].equal_widths:
            raise ValueError(f"to_array needs equal widths, got {self.widths}")
        return np.stack([network.to_array() for network in self._networks])

    def to_npz(self, path: str | PathLike) -> None:
        """Save (module docstring format): ``layers`` if all widths are equal,
        else ``layer_1`` ... ``layer_N``."""
        _save_stacked(path, self.stacked_layers())

    def to_torch(self, dtype: Any = None) -> list[Any]:
        """One ``nn.Sequential`` per network."""
        return [network.to_torch(dtype) for network in self._networks]

    def end_to_end(self) -> np.ndarray:
        """End-to-end matrices, shape ``[n_networks, d_N, d_0]``."""
        return np.stack([network.end_to_end() for network in self._networks])

    def determinant_signs(self) -> np.ndarray:
        """``sign det X`` per network (0: singular); all 0 when ``X`` is not square."""
        return np.array([network.determinant_sign() or 0 for network in self._networks])

    @property
    def widths(self) -> tuple[int, ...]:
        """``(d_0, ..., d_N)``, shared by all networks."""
        return self._networks[0].widths

    @property
    def depth(self) -> int:
        """Number of layers ``N``."""
        return self._networks[0].depth

    def __len__(self) -> int:
        return len(self._networks)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return NetworkEnsemble(self._networks[index])
        if isinstance(index, (list, np.ndarray)):
            return NetworkEnsemble([self._networks[int(i)] for i in index])
        return self._networks[index]

    def __iter__(self) -> Iterator[LinearNetwork]:
        return iter(self._networks)

    def __repr__(self) -> str:
        widths = " -> ".join(map(str, self.widths))
        return f"NetworkEnsemble({len(self)} networks, widths {widths})"
