r"""Statistics of an ensemble of linear networks, modulo the gauge.

Two networks with the same end-to-end matrix ``X = W_N ... W_1`` compute the
same function; the gauge group moves a network along its fiber without
changing ``X``. Statistics "modulo the gauge" are therefore statistics of the
end-to-end matrices, and the geometry that training sees is ``(M, g^N)``: for
balanced networks, gradient descent on the layers is the Riemannian gradient
flow of ``g^N`` (survey Thm 3), and the end-to-end map is a Riemannian
submersion from the balanced manifold (survey Thm 13). Every statistic below
is computed on ``(M, g^N)`` with :class:`~geomstats_dln.DLNMetric`:

- :func:`pairwise_distances` / :func:`cross_distances`: geodesic distances,
  parallel over pairs with joblib (any joblib backend, Dask included) and a
  progress bar;
- :class:`FrechetMean`: the Frechet mean (geomstats' ``FrechetMean`` on the DLN
  metric), started from the gauge-aligned weight average, and its lift to a
  balanced network (:meth:`FrechetMean.lift`);
- :class:`TangentPCA`: principal components of the logarithms at the mean in
  ``g^N``-orthonormal coordinates ``A_{N,X}^{-1/2}(log_X Y)``;
- :class:`SklearnAdapter`: flattened points and precomputed distances for
  scikit-learn estimators.

Clustering and embedding (k-medoids, Riemannian k-means, MDS) are in
:mod:`geomstats_dln.clustering`, paths between two networks (mode
connectivity) in :mod:`geomstats_dln.interpolation`.

Determinant components. A path of invertible square matrices keeps the sign
of its determinant, so the two signs are two connected components of ``M``:
no geodesic joins them and their distance is infinite. Trained ensembles
often populate both (training from a random start fixes the sign at
initialization). Distances between components are ``inf``; the mean, PCA and
k-means need points of one component and raise otherwise, naming the counts;
:func:`determinant_components` and :func:`group_by_component` do the
grouping. Rectangular full-rank matrices form one component (label 0).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import joblib
import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator
from tqdm.auto import tqdm

from geomstats.learning.frechet_mean import FrechetMean as GeomstatsFrechetMean

from geomstats_dln._spectral import operator_power
from geomstats_dln._validation import as_finite_array, as_float_array, broadcast_batch
from geomstats_dln.end_to_end import DLNMetric, EndToEndMatrices, GeodesicError
from geomstats_dln.networks import LinearNetwork, NetworkEnsemble

__all__ = [
    "FrechetMean",
    "SklearnAdapter",
    "TangentPCA",
    "aligned_weight_average",
    "as_end_to_end",
    "cross_distances",
    "determinant_components",
    "dln_metric",
    "group_by_component",
    "naive_weight_average",
    "pairwise_distances",
    "whiten",
]

ERRORS = ("raise", "nan")
DEFAULT_CHUNK_SIZE = 16  # pairs per joblib task


# ------------------------------------------------------------------ inputs
def _split_input(
    data: Any, function: str = "", name: str = "data"
) -> tuple[NetworkEnsemble | None, np.ndarray]:
    """``(ensemble or None, end-to-end matrices [n, d_N, d_0])``.

    Accepts a :class:`NetworkEnsemble`, a sequence of :class:`LinearNetwork`,
    stacked layers ``[n, N, d, d]`` or end-to-end matrices ``[n, d_N, d_0]``.
    Complex arrays are refused with a ``TypeError`` naming ``function`` (the
    statistics are real-only), never cast.
    """
    if isinstance(data, LinearNetwork):
        raise TypeError("expected an ensemble of networks, got a single LinearNetwork")
    if isinstance(data, NetworkEnsemble):
        return data, data.end_to_end()
    if isinstance(data, Sequence) and data and isinstance(data[0], LinearNetwork):
        ensemble = NetworkEnsemble(data)
        return ensemble, ensemble.end_to_end()
    array = np.asarray(as_float_array(data, name, function))
    if array.ndim == 4:
        ensemble = NetworkEnsemble.from_array(array)
        return ensemble, ensemble.end_to_end()
    if array.ndim != 3 or 0 in array.shape:
        raise ValueError(
            "expected networks (NetworkEnsemble, list of LinearNetwork, stacked "
            "layers [n, N, d, d]) or end-to-end matrices [n, d_N, d_0], got shape "
            f"{array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError("the end-to-end matrices have non-finite entries")
    return None, array


def as_end_to_end(data: Any) -> np.ndarray:
    """End-to-end matrices ``[n, d_N, d_0]`` of networks or matrices (see
    :func:`_split_input` for the accepted inputs)."""
    return _split_input(data, "as_end_to_end")[1]


def dln_metric(points: ArrayLike, depth: int | float) -> DLNMetric:
    """``DLNMetric`` of depth ``depth`` on ``EndToEndMatrices`` of the points' shape.

    Parameters
    ----------
    points : array-like, shape=[..., n, m]
        One point or a batch; only the shape of the last two axes is used,
        but the entries are checked (real, finite) since the metric is meant
        for them.
    depth : int or float
        The ``N`` of ``g^N`` (``inf`` allowed), validated by ``EndToEndMatrices``.

    Raises
    ------
    TypeError
        For complex (the statistics are real-only), string or ragged input.
    ValueError
        For fewer than two axes or non-finite entries.
    """
    points = as_finite_array(points, "points", "dln_metric", min_ndim=2)
    return EndToEndMatrices(points.shape[-2], points.shape[-1], depth=depth).metric


def _resolve(
    data: Any,
    depth: int | float | None,
    metric: DLNMetric | None,
    function: str = "",
    name: str = "data",
):
    ensemble, points = _split_input(data, function, name)
    if metric is None:
        if depth is None:
            if ensemble is None:
                raise ValueError(
                    "depth (the N of g^N) is required when the input is end-to-end "
                    "matrices"
                )
            depth = ensemble.depth
        metric = dln_metric(points, depth)
    elif not isinstance(metric, DLNMetric):
        raise TypeError(f"metric must be a DLNMetric, got {type(metric).__name__}")
    elif depth is not None and depth != metric.depth:
        raise ValueError(f"depth={depth} contradicts metric.depth={metric.depth}")
    if (metric._space.n, metric._space.m) != points.shape[-2:]:
        raise ValueError(
            f"metric is on {metric._space.n} x {metric._space.m} matrices, the "
            f"points are {points.shape[-2]} x {points.shape[-1]}"
        )
    return ensemble, points, metric


def _check_errors(errors: str) -> None:
    if errors not in ERRORS:
        raise ValueError(f"errors must be one of {ERRORS}, got {errors!r}")


# -------------------------------------------------------------- components
def determinant_components(points: ArrayLike, rtol: float | None = None) -> np.ndarray:
    """Component labels: ``sign det X`` (``+1``/``-1``) for square, ``0`` otherwise.

    Raises ``ValueError`` naming the first rank-deficient point (it lies on
    the boundary of ``M``, where ``g^N`` is not defined).
    """
    points = _split_input(points, "determinant_components", "points")[1]
    singular_values = np.linalg.svd(points, compute_uv=False)
    tolerance = (
        max(points.shape[-2:]) * np.finfo(float).eps if rtol is None else float(rtol)
    )
    deficient = ~(singular_values[:, -1] > tolerance * singular_values[:, 0])
    if np.any(deficient):
        index = int(np.flatnonzero(deficient)[0])
        raise ValueError(
            f"point {index} is rank-deficient (s_min/s_max = "
            f"{singular_values[index, -1] / singular_values[index, 0]:.2e}): it is "
            "not in the full-rank manifold where g^N lives"
        )
    if points.shape[-1] != points.shape[-2]:
        return np.zeros(len(points), dtype=int)
    return np.sign(np.linalg.det(points)).astype(int)


def group_by_component(points: ArrayLike) -> dict[int, np.ndarray]:
    """``{label: indices}`` for the labels of :func:`determinant_components`."""
    labels = determinant_components(
        _split_input(points, "group_by_component", "points")[1]
    )
    return {int(label): np.flatnonzero(labels == label) for label in np.unique(labels)}


def _single_component(points: np.ndarray, what: str) -> int:
    groups = group_by_component(points)
    if len(groups) > 1:
        counts = ", ".join(
            f"{len(index)} with det {'>' if label > 0 else '<'} 0"
            for label, index in sorted(groups.items(), reverse=True)
        )
        raise ValueError(
            f"{what}: the points lie in two components of the invertible matrices "
            f"({counts}), joined by no geodesic; fit each group of "
            "group_by_component separately"
        )
    return next(iter(groups))


# --------------------------------------------------------------- distances
def _distance_chunk(metric, points_a, points_b, pairs, errors):
    """Distances of one chunk of pairs; a failing pair is isolated and named."""
    # always errors="raise" on the metric: failing pairs are isolated here and
    # named (or made NaN), the same way for every metric
    try:
        return np.asarray(metric.dist(points_a, points_b), dtype=float)
    except GeodesicError as exc:
        if len(points_a) > 1:
            return np.concatenate(
                [
                    _distance_chunk(
                        metric,
                        points_a[k : k + 1],
                        points_b[k : k + 1],
                        pairs[k : k + 1],
                        errors,
                    )
                    for k in range(len(points_a))
                ]
            )
        if errors == "nan":
            return np.array([np.nan])
        i, j = pairs[0]
        raise GeodesicError(f"distance of pair ({i}, {j}): {exc}") from exc


def _distances(
    metric, points_a, points_b, pairs, n_jobs, errors, chunk_size, progress, description
):
    """``dist(a_k, b_k)`` for all k, in chunks over joblib."""
    count = len(pairs)
    if count == 0:
        return np.zeros(0)
    if chunk_size is None:
        # fixed, not derived from n_jobs: the batched logarithm's result depends
        # (at its tolerance) on the batch, so equal chunks give equal answers
        # for every n_jobs and backend
        chunk_size = DEFAULT_CHUNK_SIZE
    starts = range(0, count, chunk_size)
    tasks = (
        joblib.delayed(_distance_chunk)(
            metric,
            points_a[s : s + chunk_size],
            points_b[s : s + chunk_size],
            pairs[s : s + chunk_size],
            errors,
        )
        for s in starts
    )
    results = joblib.Parallel(n_jobs=n_jobs, return_as="generator")(tasks)
    parts = []
    with tqdm(
        total=count,
        desc=description,
        unit="pair",
        disable=progress is False if progress is not None else None,
    ) as bar:
        for part in results:
            parts.append(part)
            bar.update(len(part))
    values = np.concatenate(parts)
    if errors == "nan" and np.any(np.isnan(values)):
        warnings.warn(
            f"{int(np.sum(np.isnan(values)))} of {count} distances failed "
            "(GeodesicError) and are NaN",
            RuntimeWarning,
            stacklevel=3,
        )
    return values


def pairwise_distances(
    data: Any,
    depth: int | float | None = None,
    *,
    metric: DLNMetric | None = None,
    n_jobs: int | None = None,
    errors: str = "raise",
    chunk_size: int | None = None,
    progress: bool | None = None,
) -> np.ndarray:
    r"""Matrix of ``g^N`` geodesic distances ``d(X_i, X_j)`` (MATH §3).

    Pairs in different determinant components get ``inf`` without any
    computation; the others are split into chunks evaluated by
    ``joblib.Parallel(n_jobs)`` -- inside ``joblib.parallel_config(backend=
    "dask")`` the chunks run on a Dask cluster.

    Parameters
    ----------
    data : networks or end-to-end matrices
        A :class:`NetworkEnsemble`, a list of :class:`LinearNetwork`, stacked
        layers ``[n, N, d, d]`` or end-to-end matrices ``[n, d_N, d_0]``.
    depth : int, optional
        ``N`` of the metric; defaults to the networks' depth.
    metric : DLNMetric, optional
        A configured metric (tolerances), instead of ``depth``.
    n_jobs : int, optional
        joblib's ``n_jobs`` (``None``: the active ``parallel_config``).
    errors : {"raise", "nan"}
        A pair whose logarithm fails raises :class:`GeodesicError` naming the
        pair, or gets ``NaN`` (with a ``RuntimeWarning`` counting them).
    chunk_size : int, optional
        Pairs per task.
    progress : bool, optional
        tqdm bar (``None``: on a terminal only).

    Returns
    -------
    distances : ndarray, shape=[n, n]
        Symmetric, zero diagonal, ``inf`` across components.
    """
    _check_errors(errors)
    _, points, metric = _resolve(data, depth, metric, "pairwise_distances")
    labels = determinant_components(points)
    n_points = len(points)
    rows, cols = np.triu_indices(n_points, 1)
    same = labels[rows] == labels[cols]
    distances = np.zeros((n_points, n_points))
    distances[rows[~same], cols[~same]] = np.inf
    pairs = np.stack([rows[same], cols[same]], axis=1)
    distances[rows[same], cols[same]] = _distances(
        metric,
        points[pairs[:, 0]],
        points[pairs[:, 1]],
        pairs,
        n_jobs,
        errors,
        chunk_size,
        progress,
        "distances",
    )
    return distances + distances.T


def cross_distances(
    queries: Any,
    points: Any,
    depth: int | float | None = None,
    *,
    metric: DLNMetric | None = None,
    n_jobs: int | None = None,
    errors: str = "raise",
    chunk_size: int | None = None,
    progress: bool | None = None,
) -> np.ndarray:
    """``d(Q_i, X_j)`` for all queries and points, shape ``[n_queries, n_points]``.

    See :func:`pairwise_distances`; this is the ``[n_queries, n_train]``
    matrix scikit-learn's ``predict`` expects with ``metric="precomputed"``.
    """
    _check_errors(errors)
    ensemble_q, queries = _split_input(queries, "cross_distances", "queries")
    _, points, metric = _resolve(points, depth, metric, "cross_distances", "points")
    if queries.shape[-2:] != points.shape[-2:]:
        raise ValueError(
            f"queries are {queries.shape[-2:]} matrices, points {points.shape[-2:]}"
        )
    labels_q = determinant_components(queries)
    labels_p = determinant_components(points)
    rows, cols = np.meshgrid(
        np.arange(len(queries)), np.arange(len(points)), indexing="ij"
    )
    rows, cols = rows.ravel(), cols.ravel()
    same = labels_q[rows] == labels_p[cols]
    distances = np.full((len(queries), len(points)), np.inf)
    pairs = np.stack([rows[same], cols[same]], axis=1)
    distances[rows[same], cols[same]] = _distances(
        metric,
        queries[pairs[:, 0]],
        points[pairs[:, 1]],
        pairs,
        n_jobs,
        errors,
        chunk_size,
        progress,
        "cross distances",
    )
    return distances


# ------------------------------------------------------------------- means
def _reference_index(points: np.ndarray) -> int:
    """The point nearest the entrywise mean of ``X``: a gauge-invariant choice."""
    center = points.mean(axis=0)
    return int(np.argmin(np.sum((points - center) ** 2, axis=(-2, -1))))


def aligned_weight_average(
    ensemble: Any, reference: int | LinearNetwork | None = None, balance: bool = False
) -> LinearNetwork:
    r"""Average of the weights after aligning every network to a reference.

    Each network ``W^{(i)}`` is moved by the orthogonal gauge that brings it
    nearest the reference (:func:`~geomstats_dln.networks.align_layers`, the
    block-coordinate Procrustes of :func:`~geomstats_dln.balanced.best_gauge`),
    then the layers are averaged. The naive average ``mean_i W^{(i)}`` mixes
    networks at arbitrary gauges and collapses towards zero; aligned, it
    approximates the Frechet mean of ``(M, g^N)``.

    Parameters
    ----------
    ensemble : NetworkEnsemble or networks
    reference : int or LinearNetwork, optional
        Defaults to the network whose ``X`` is nearest the mean of the ``X``
        (a choice that does not depend on the gauges).
    balance : bool
        Replace each network by its balanced representative
        (:meth:`LinearNetwork.balanced`) first: the average then depends on
        the end-to-end matrices only.

    Returns
    -------
    average : LinearNetwork
    """
    ensemble, points = _split_input(ensemble, "aligned_weight_average", "ensemble")
    if ensemble is None:
        raise ValueError(
            "aligned_weight_average needs networks, not end-to-end matrices"
        )
    networks = [n.balanced() for n in ensemble] if balance else list(ensemble)
    if reference is None:
        reference = _reference_index(points)
    if isinstance(reference, (int, np.integer)):
        reference = networks[int(reference)]
    elif balance:
        reference = reference.balanced()
    aligned = [network.aligned_to(reference) for network in networks]
    return LinearNetwork(
        [
            np.mean([n.layers[k] for n in aligned], axis=0)
            for k in range(len(aligned[0].layers))
        ]
    )


def naive_weight_average(ensemble: Any) -> LinearNetwork:
    """Entrywise average of the layers, ignoring the gauge (for comparison)."""
    ensemble, _ = _split_input(ensemble, "naive_weight_average", "ensemble")
    if ensemble is None:
        raise ValueError("naive_weight_average needs networks, not end-to-end matrices")
    return LinearNetwork([layers.mean(axis=0) for layers in ensemble.stacked_layers()])


def _karcher_residual(metric, points, mean):
    """``|mean_i log_mu(X_i)|_g`` and the variance ``mean_i d(mu, X_i)^2``."""
    logs = np.asarray(metric.log(points, mean))
    tangent_mean = logs.mean(axis=0)
    gradient = float(np.sqrt(metric.squared_norm(tangent_mean, mean)))
    variance = float(np.mean(metric.squared_norm(logs, mean)))
    return gradient, variance, logs


class FrechetMean(BaseEstimator):
    r"""Frechet mean ``argmin_mu sum_i d_{g^N}(mu, X_i)^2`` of end-to-end matrices.

    Runs geomstats' ``FrechetMean`` (gradient descent
    ``mu <- exp_mu(mean_i log_mu X_i)``) on the DLN metric, started from the
    ``X`` of the balanced, gauge-aligned weight average
    (:func:`aligned_weight_average` with ``balance=True``). At a minimum the
    first-order condition ``sum_i log_mu X_i = 0`` holds; its residual is
    :attr:`gradient_norm_`.

    Parameters
    ----------
    depth : int, optional
        ``N`` of ``g^N``; defaults to the networks' depth.
    init : {"aligned", "euclidean"} or array-like
        Start: the aligned average (needs networks; falls back to
        ``"euclidean"`` for matrices), the entrywise mean of ``X``, or a point.
    max_iter : int
    tol : float
        Stop when ``|mean_i log_mu X_i|_g <= tol``. The default ``1e-8`` sits
        just above the logarithm's own accuracy (about ``1e-10`` relative to
        ``|log|``, times the spread of the points): iterations below it change
        the mean by less than they can resolve (on 11 trained networks of
        width 10, ``1e-10`` took 11 iterations and 1.8x the time of ``1e-8``'s
        8, and the two means agree to ``7e-10`` relative).
    metric : DLNMetric, optional

    Attributes
    ----------
    mean_ : ndarray, shape=[d_N, d_0]
    init_point_ : ndarray, shape=[d_N, d_0]
    component_ : int
        Determinant label of the points (:func:`determinant_components`).
    gradient_norm_ : float
        ``|mean_i log_{mean_} X_i|_g`` at the returned mean.
    variance_ : float
        ``mean_i d(mean_, X_i)^2``.
    logs_ : ndarray, shape=[n, d_N, d_0]
        ``log_{mean_} X_i``.
    aligned_average_ : LinearNetwork or None
        The balanced aligned weight average the descent started from.
    widths_ : tuple of int or None
        The networks' widths (for :meth:`lift`).
    """

    def __init__(self, depth=None, init="aligned", max_iter=64, tol=1e-8, metric=None):
        self.depth = depth
        self.init = init
        self.max_iter = max_iter
        self.tol = tol
        self.metric = metric

    def fit(self, X: Any, y: Any = None) -> FrechetMean:
        """Fit on networks or end-to-end matrices of one component."""
        ensemble, points, metric = _resolve(
            X, self.depth, self.metric, "FrechetMean.fit", "X"
        )
        self.component_ = _single_component(points, "FrechetMean")
        self.metric_ = metric
        self.widths_ = None if ensemble is None else ensemble.widths
        self.aligned_average_ = None
        init = self.init
        if isinstance(init, str):
            if init not in ("aligned", "euclidean"):
                raise ValueError(
                    f"init must be 'aligned', 'euclidean' or a point, got {init!r}"
                )
            if init == "aligned" and ensemble is not None:
                self.aligned_average_ = aligned_weight_average(ensemble, balance=True)
                start = self.aligned_average_.end_to_end()
            else:
                start = points.mean(axis=0)
        else:
            start = np.asarray(as_float_array(init, "init", "FrechetMean.fit"))
            if start.shape != points.shape[1:]:
                raise ValueError(
                    f"init must have shape {points.shape[1:]}, got {start.shape}"
                )
        if not bool(metric._space.belongs(start)) or (
            self.component_ != 0
            and int(np.sign(np.linalg.det(start))) != self.component_
        ):
            # the average left the component (or M): start from the medoid-like
            # point nearest the entrywise mean instead
            start = points[_reference_index(points)]
        self.init_point_ = start
        estimator = GeomstatsFrechetMean(metric._space)
        estimator.set(
            init_point=start,
            max_iter=int(self.max_iter),
            epsilon=float(self.tol) ** 2 / metric._space.dim,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # we report the residual ourselves
            estimator.fit(points)
        self.mean_ = np.asarray(estimator.estimate_, dtype=float)
        self.gradient_norm_, self.variance_, self.logs_ = _karcher_residual(
            metric, points, self.mean_
        )
        if not self.gradient_norm_ <= max(self.tol, 1e-6 * np.sqrt(self.variance_)):
            warnings.warn(
                f"FrechetMean: |mean log| = {self.gradient_norm_:.2e} after "
                f"{self.max_iter} iterations (tol {self.tol:g})",
                RuntimeWarning,
                stacklevel=2,
            )
        return self

    def lift(self, widths: Sequence[int] | None = None) -> LinearNetwork:
        """A balanced network over :attr:`mean_`, exportable like any network.

        The minimum-norm network (:meth:`LinearNetwork.balanced_from_end_to_end`)
        with the networks' widths (or ``widths``), aligned by an orthogonal
        gauge to :attr:`aligned_average_` when there is one.
        """
        widths = self.widths_ if widths is None else widths
        if widths is None:
            widths = (
                [self.mean_.shape[1]]
                + [min(self.mean_.shape)] * (int(self.metric_.depth) - 1)
                + [self.mean_.shape[0]]
            )
        network = LinearNetwork.balanced_from_end_to_end(self.mean_, widths=widths)
        if self.aligned_average_ is not None and tuple(widths) == self.widths_:
            network = network.aligned_to(self.aligned_average_)
        return network


# --------------------------------------------------------------------- PCA
def whiten(
    tangent_vecs: ArrayLike,
    base_point: ArrayLike,
    depth: int | float,
    inverse: bool = False,
) -> np.ndarray:
    r"""``A_{N,X}^{-1/2}(V)``: coordinates in which ``g^N_X`` is Frobenius.

    ``g^N_X(V, W) = <A^{-1} V, W> = <A^{-1/2} V, A^{-1/2} W>`` since ``A`` is
    self-adjoint and positive (MATH §3). ``inverse=True`` maps back with
    ``A^{1/2}``.

    Raises
    ------
    TypeError
        For complex or non-numeric input (real field only).
    ValueError
        For non-finite entries, arrays with fewer than two axes, matrix shapes
        that differ, and batch shapes that do not broadcast.
    """
    vectors = as_finite_array(tangent_vecs, "tangent_vecs", "whiten", min_ndim=2)
    point = as_finite_array(base_point, "base_point", "whiten", min_ndim=2)
    if vectors.shape[-2:] != point.shape[-2:]:
        raise ValueError(
            f"whiten: tangent_vecs {vectors.shape} and base_point {point.shape} "
            "must have the same matrix shape"
        )
    broadcast_batch(
        [vectors.shape[:-2], point.shape[:-2]], ["tangent_vecs", "base_point"], "whiten"
    )
    return np.asarray(operator_power(vectors, point, depth, 0.5 if inverse else -0.5))


class TangentPCA(BaseEstimator):
    r"""Principal components of ``log_mu X_i`` in ``g^N``-orthonormal coordinates.

    With ``c_i = A_{N,mu}^{-1/2}(log_mu X_i)`` (:func:`whiten`), Euclidean PCA of
    the ``c_i`` is PCA for the inner product ``g^N_mu``: variances are
    ``g^N``-variances and the components ``A^{1/2}(e_k)`` are
    ``g^N``-orthonormal. geomstats' ``TangentPCA`` runs PCA on the raw entries
    of ``log_mu X_i`` instead, i.e. for the Frobenius inner product, which
    weights directions by ``a_ij`` and distorts the explained variance;
    :attr:`entry_explained_variance_ratio_` holds that distorted spectrum for
    comparison.

    Parameters
    ----------
    depth : int, optional
    n_components : int, optional
    base_point : array-like, optional
        Defaults to the :class:`FrechetMean` of the data.
    metric : DLNMetric, optional
    mean_options : dict, optional
        Passed to :class:`FrechetMean`.

    Attributes
    ----------
    base_point_ : ndarray, shape=[d_N, d_0]
    components_ : ndarray, shape=[k, d_N, d_0]
        ``g^N``-orthonormal principal directions (tangent vectors at the base).
    explained_variance_, explained_variance_ratio_ : ndarray, shape=[k]
    entry_explained_variance_ratio_ : ndarray
        The same from PCA on the entries of the logs (geomstats' convention).
    mean_coordinates_ : ndarray, shape=[d_N * d_0]
        Average whitened coordinate (about 0 at the Frechet mean).
    """

    def __init__(
        self,
        depth=None,
        n_components=None,
        base_point=None,
        metric=None,
        mean_options=None,
    ):
        self.depth = depth
        self.n_components = n_components
        self.base_point = base_point
        self.metric = metric
        self.mean_options = mean_options

    def fit(self, X: Any, y: Any = None) -> TangentPCA:
        """Fit on networks or end-to-end matrices of one component."""
        _, points, metric = _resolve(X, self.depth, self.metric, "TangentPCA.fit", "X")
        _single_component(points, "TangentPCA")
        self.metric_ = metric
        if self.base_point is None:
            mean = FrechetMean(metric=metric, **(self.mean_options or {})).fit(X)
            self.base_point_, logs = mean.mean_, mean.logs_
        else:
            self.base_point_ = np.asarray(
                as_float_array(self.base_point, "base_point", "TangentPCA.fit")
            )
            logs = np.asarray(metric.log(points, self.base_point_))
        coordinates = self._flat(whiten(logs, self.base_point_, metric.depth))
        n_max = min(coordinates.shape)
        k = n_max if self.n_components is None else int(self.n_components)
        if not 1 <= k <= n_max:
            raise ValueError(
                f"n_components must be in 1..{n_max}, got {self.n_components}"
            )
        self.mean_coordinates_ = coordinates.mean(axis=0)
        centered = coordinates - self.mean_coordinates_
        _, singular_values, axes = np.linalg.svd(centered, full_matrices=False)
        variance = singular_values**2 / max(len(points) - 1, 1)
        total = float(np.sum(centered**2)) / max(len(points) - 1, 1)
        self.axes_ = axes[:k]
        self.singular_values_ = singular_values[:k]
        self.explained_variance_ = variance[:k]
        self.explained_variance_ratio_ = variance[:k] / total
        self.components_ = whiten(
            self.axes_.reshape((k,) + points.shape[1:]),
            self.base_point_,
            metric.depth,
            inverse=True,
        )
        entries = self._flat(logs) - self._flat(logs).mean(axis=0)
        entry_variance = np.linalg.svd(entries, compute_uv=False) ** 2
        self.entry_explained_variance_ratio_ = (entry_variance / entry_variance.sum())[
            :k
        ]
        self.n_components_ = k
        return self

    @staticmethod
    def _flat(matrices):
        return matrices.reshape(len(matrices), -1)

    def transform(self, X: Any) -> np.ndarray:
        """Coordinates ``<c(X) - mean, axis_k>``, shape ``[n, k]``."""
        points = _split_input(X, "TangentPCA.transform", "X")[1]
        logs = np.asarray(self.metric_.log(points, self.base_point_))
        coordinates = self._flat(whiten(logs, self.base_point_, self.metric_.depth))
        return (coordinates - self.mean_coordinates_) @ self.axes_.T

    def inverse_transform(self, coordinates: ArrayLike) -> np.ndarray:
        """``exp_mu(A^{1/2}(mean + sum_k y_k axis_k))``, shape ``[n, d_N, d_0]``."""
        coordinates = as_float_array(
            coordinates, "coordinates", "TangentPCA.inverse_transform"
        )
        flat = np.atleast_2d(coordinates) @ self.axes_ + self.mean_coordinates_
        vectors = whiten(
            flat.reshape((-1,) + self.base_point_.shape),
            self.base_point_,
            self.metric_.depth,
            inverse=True,
        )
        return np.asarray(self.metric_.exp(vectors, self.base_point_))


# ----------------------------------------------------------- scikit-learn
class SklearnAdapter:
    """Flattened points and ``g^N`` distances in the shapes scikit-learn expects.

    scikit-learn estimators take 2-D arrays ``[n_samples, n_features]``; an
    ensemble of end-to-end matrices is 3-D. Two routes:

    - precomputed: ``estimator(metric="precomputed")`` fitted on
      :meth:`distances` and, for ``predict``, given :meth:`cross_distances`
      (KNeighborsClassifier, DBSCAN, AgglomerativeClustering, Isomap, MDS);
    - flattened: :meth:`flatten` points with ``metric=adapter.metric``, a
      callable on two flattened points (one distance per call: simple, slow).

    Parameters
    ----------
    shape : tuple of int
        ``(d_N, d_0)`` of the end-to-end matrices.
    depth : int
        ``N`` of ``g^N``.
    n_jobs, errors, metric
        As in :func:`pairwise_distances`.
    """

    def __init__(
        self,
        shape: tuple[int, int],
        depth: int | float,
        n_jobs=None,
        errors: str = "raise",
        metric: DLNMetric | None = None,
    ):
        _check_errors(errors)
        self.shape = (int(shape[0]), int(shape[1]))
        self.metric_ = (
            metric
            if metric is not None
            else EndToEndMatrices(*self.shape, depth=depth).metric
        )
        self.depth = self.metric_.depth
        self.n_jobs = n_jobs
        self.errors = errors

    def flatten(self, data: Any) -> np.ndarray:
        """``[n, d_N * d_0]`` from networks or matrices."""
        points = _split_input(data, "SklearnAdapter.flatten")[1]
        self._check(points)
        return points.reshape(len(points), -1)

    def unflatten(self, flat: ArrayLike) -> np.ndarray:
        """``[n, d_N, d_0]`` from ``[n, d_N * d_0]``."""
        return self._unflatten(flat, "SklearnAdapter.unflatten")

    def _unflatten(
        self, flat: ArrayLike, function: str, name: str = "flat"
    ) -> np.ndarray:
        flat = np.atleast_2d(np.asarray(as_float_array(flat, name, function)))
        if flat.shape[-1] != self.shape[0] * self.shape[1]:
            raise ValueError(
                f"flattened points must have {self.shape[0] * self.shape[1]} "
                f"features, got shape {flat.shape}"
            )
        return flat.reshape((-1,) + self.shape)

    def _points(self, data, function, name="data"):
        array = (
            np.asarray(data) if not isinstance(data, (NetworkEnsemble, list)) else None
        )
        if array is not None and array.ndim == 2:
            return self._unflatten(array, function, name)
        points = _split_input(data, function, name)[1]
        self._check(points)
        return points

    def _check(self, points):
        if points.shape[1:] != self.shape:
            raise ValueError(
                f"points must be {self.shape} matrices, got {points.shape[1:]}"
            )

    def distances(self, data: Any, progress: bool | None = False) -> np.ndarray:
        """Square distance matrix (flattened or matrix points)."""
        return pairwise_distances(
            self._points(data, "SklearnAdapter.distances"),
            metric=self.metric_,
            n_jobs=self.n_jobs,
            errors=self.errors,
            progress=progress,
        )

    def cross_distances(
        self, queries: Any, points: Any, progress: bool | None = False
    ) -> np.ndarray:
        """``[n_queries, n_points]`` distances, for ``predict`` on precomputed input."""
        return cross_distances(
            self._points(queries, "SklearnAdapter.cross_distances", "queries"),
            self._points(points, "SklearnAdapter.cross_distances", "points"),
            metric=self.metric_,
            n_jobs=self.n_jobs,
            errors=self.errors,
            progress=progress,
        )

    def metric(self, flat_a: ArrayLike, flat_b: ArrayLike) -> float:
        """``d(a, b)`` for two flattened points (``inf`` across components)."""
        a = self._unflatten(flat_a, "SklearnAdapter.metric", "flat_a")[0]
        b = self._unflatten(flat_b, "SklearnAdapter.metric", "flat_b")[0]
        if a.shape[0] == a.shape[1] and np.sign(np.linalg.det(a)) != np.sign(
            np.linalg.det(b)
        ):
            return math.inf
        if np.array_equal(a, b):
            return 0.0
        return float(
            _distance_chunk(self.metric_, a[None], b[None], [(0, 1)], self.errors)[0]
        )
