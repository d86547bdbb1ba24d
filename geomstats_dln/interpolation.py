r"""Paths between two trained networks, and the loss along them (mode connectivity).

Four paths from network ``a`` to network ``b``, ``t in [0, 1]``:

- ``"geodesic"``: the ``g^N`` geodesic ``exp_{X_a}(t log_{X_a} X_b)`` of the
  end-to-end matrices (MATH §3); it exists only inside one determinant
  component;
- ``"end_to_end_line"``: ``(1 - t) X_a + t X_b``, which may cross the
  rank-deficient matrices;
- ``"naive_weights"``: ``(1 - t) W^a_k + t W^b_k`` layer by layer, which depends
  on the gauges of both networks;
- ``"aligned_weights"``: the same after moving ``b`` by the orthogonal gauge
  that brings it nearest ``a`` (:func:`~geomstats_dln.networks.align_layers`);
  its end-to-end matrices depend on the networks' functions only up to the
  choice of the aligning local minimum.

Each point lifts to a network: the weight paths are networks, the others lift
to the minimum-norm balanced network over their ``X``
(:meth:`InterpolationPaths.network`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from geomstats_dln._validation import as_size
from geomstats_dln.end_to_end import DLNMetric, GeodesicError
from geomstats_dln.networks import LinearNetwork, align_layers
from geomstats_dln.statistics import ERRORS, dln_metric

__all__ = ["PATHS", "InterpolationPaths", "interpolate"]

PATHS = ("geodesic", "end_to_end_line", "naive_weights", "aligned_weights")
"""Names of the four paths, in the order of :func:`interpolate`."""


@dataclass
class InterpolationPaths:
    """The four paths of :func:`interpolate`.

    Attributes
    ----------
    times : ndarray, shape=[T]
    end_to_end : dict of str to ndarray, shape=[T, d_N, d_0]
        ``X`` along each path (NaN where the path could not be computed).
    weights : dict of str to list of LinearNetwork
        The networks along the two weight paths.
    losses : dict of str to ndarray, shape=[T]
        The loss of ``X`` along each path (empty without a loss).
    failures : dict of str to str
        Why a path is missing (``errors="nan"``).
    widths : tuple of int
    """

    times: np.ndarray
    end_to_end: dict[str, np.ndarray]
    weights: dict[str, list[LinearNetwork]]
    widths: tuple[int, ...]
    losses: dict[str, np.ndarray] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)

    def network(self, path: str, index: int) -> LinearNetwork:
        """The network at ``times[index]`` of ``path``: itself for the weight
        paths, the minimum-norm balanced lift of ``X`` for the others."""
        if path not in PATHS:
            raise ValueError(f"path must be one of {PATHS}, got {path!r}")
        if path in self.weights:
            return self.weights[path][index]
        matrix = self.end_to_end[path][index]
        if not np.all(np.isfinite(matrix)):
            raise ValueError(f"the {path} path is missing: {self.failures.get(path)}")
        return LinearNetwork.balanced_from_end_to_end(matrix, widths=self.widths)


def _loss_values(loss: Any, matrices: np.ndarray) -> np.ndarray:
    evaluate: Callable = loss.value if hasattr(loss, "value") else loss
    values = np.full(len(matrices), np.nan)
    for k, matrix in enumerate(matrices):
        if np.all(np.isfinite(matrix)):
            values[k] = float(evaluate(matrix))
    return values


def interpolate(
    network_a: LinearNetwork,
    network_b: LinearNetwork,
    depth: int | float | None = None,
    n_points: int = 11,
    loss: Any = None,
    *,
    metric: DLNMetric | None = None,
    errors: str = "raise",
) -> InterpolationPaths:
    """The four paths from ``network_a`` to ``network_b`` (module docstring).

    Parameters
    ----------
    network_a, network_b : LinearNetwork
        Networks of the same widths.
    depth : int, optional
        ``N`` of ``g^N`` for the geodesic; defaults to the networks' depth.
    n_points : int
        Number of times ``t = 0, ..., 1``: an integer-like value ``>= 2``
        (``2.5``, ``True`` and ``"3"`` are refused).
    loss : object with ``value(X)``, or callable, optional
        E.g. a :class:`~geomstats_dln.losses.RegressionLoss`.
    metric : DLNMetric, optional
    errors : {"raise", "nan"}
        The geodesic between two determinant components does not exist (and
        shooting may fail): raise :class:`GeodesicError`, or record the reason
        in ``failures`` and fill the path with NaN.
    """
    if errors not in ERRORS:
        raise ValueError(f"errors must be one of {ERRORS}, got {errors!r}")
    for name, network in (("network_a", network_a), ("network_b", network_b)):
        if not isinstance(network, LinearNetwork):
            raise TypeError(
                f"{name} must be a LinearNetwork, got {type(network).__name__}"
            )
    if network_a.widths != network_b.widths:
        raise ValueError(
            f"the networks have widths {network_a.widths} and {network_b.widths}"
        )
    n_points = as_size(n_points, "n_points", "interpolate", minimum=2)
    if metric is not None and not isinstance(metric, DLNMetric):
        raise TypeError(
            f"interpolate: metric must be a DLNMetric, got {type(metric).__name__}"
        )
    times = np.linspace(0.0, 1.0, n_points)
    x_a, x_b = network_a.end_to_end(), network_b.end_to_end()
    if metric is None:
        metric = dln_metric(x_a, network_a.depth if depth is None else depth)
    paths: dict[str, np.ndarray] = {}
    failures: dict[str, str] = {}
    try:
        paths["geodesic"] = np.asarray(metric.geodesic(x_a, end_point=x_b)(times))
    except GeodesicError as exc:
        if errors == "raise":
            raise
        failures["geodesic"] = str(exc)
        paths["geodesic"] = np.full((len(times),) + x_a.shape, np.nan)
    paths["end_to_end_line"] = (1 - times)[:, None, None] * x_a + times[
        :, None, None
    ] * x_b
    gauges = align_layers(network_a.layers, network_b.layers)
    aligned_b = network_b.act(gauges) if gauges else network_b
    weights = {}
    for name, end in (("naive_weights", network_b), ("aligned_weights", aligned_b)):
        weights[name] = [
            LinearNetwork(
                [
                    (1 - t) * wa + t * wb
                    for wa, wb in zip(network_a.layers, end.layers, strict=True)
                ]
            )
            for t in times
        ]
        paths[name] = np.stack([network.end_to_end() for network in weights[name]])
    result = InterpolationPaths(
        times, paths, weights, network_a.widths, failures=failures
    )
    if loss is not None:
        result.losses = {name: _loss_values(loss, paths[name]) for name in PATHS}
    return result
