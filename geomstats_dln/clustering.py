r"""Clustering and embedding of an ensemble on ``(M, g^N)``, modulo the gauge.

:class:`KMedoids` works on any precomputed distance matrix (from
:func:`geomstats_dln.statistics.pairwise_distances`: ``g^N`` distances of the
end-to-end matrices, ``inf`` across determinant components);
:class:`KMeans` is Riemannian k-means (Lloyd iterations whose centers are
Frechet means of ``(M, g^N)``); :func:`mds_embedding` places the ensemble in
the plane for figures.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, ClusterMixin

from geomstats_dln._validation import as_float_array, as_size, check_seed
from geomstats_dln.statistics import (
    FrechetMean,
    _resolve,
    cross_distances,
    group_by_component,
    pairwise_distances,
)

__all__ = ["KMeans", "KMedoids", "check_distance_matrix", "mds_embedding"]


def check_distance_matrix(distances: ArrayLike) -> np.ndarray:
    """A square, symmetric, non-negative matrix without NaN, else ``ValueError``.

    ``inf`` entries are allowed (points in different determinant components).
    Complex or non-numeric input is a ``TypeError`` (distances are real).
    """
    distances = as_float_array(distances, "distances", "check_distance_matrix")
    if distances.ndim != 2 or distances.shape[0] != distances.shape[1]:
        raise ValueError(
            f"distances must be a square matrix, got shape {distances.shape}"
        )
    if np.any(np.isnan(distances)):
        raise ValueError(
            "distances contain NaN (failed pairs): recompute them or drop the points"
        )
    if np.any(distances < 0) or not np.allclose(
        distances, distances.T, rtol=1e-10, atol=0, equal_nan=False
    ):
        raise ValueError("distances must be symmetric and non-negative")
    return distances


class KMedoids(BaseEstimator, ClusterMixin):
    """k-medoids on a precomputed distance matrix (alternating Voronoi iteration).

    Minimizes the inertia ``sum_i min_k d(X_i, X_{m_k})`` over medoid indices
    ``m_k``, from ``n_init`` k-medoids++ starts (seeding by squared distances).
    Infinite distances (other components) are allowed: no cluster then mixes
    components as long as each component has a medoid.

    As in scikit-learn, the parameters are stored as given and validated in
    :meth:`fit`: ``n_clusters``, ``max_iter`` and ``n_init`` must be
    integer-like (``3``, ``np.int64(3)``, ``3.0``; not ``2.5``, ``True`` or
    ``"3"``), ``random_state`` a seed or generator.

    Attributes
    ----------
    medoid_indices_ : ndarray, shape=[n_clusters]
    labels_ : ndarray, shape=[n]
    inertia_ : float
    """

    def __init__(self, n_clusters=2, max_iter=100, n_init=10, random_state=None):
        self.n_clusters = n_clusters
        self.max_iter = max_iter
        self.n_init = n_init
        self.random_state = random_state

    def fit(self, X: ArrayLike, y: Any = None) -> KMedoids:
        """``X``: the precomputed distance matrix ``[n, n]``."""
        where = "KMedoids.fit"
        k = as_size(self.n_clusters, "n_clusters", where)
        max_iter = as_size(self.max_iter, "max_iter", where)
        n_init = as_size(self.n_init, "n_init", where)
        rng = np.random.default_rng(check_seed(self.random_state, where))
        distances = check_distance_matrix(X)
        n_points = len(distances)
        if not 1 <= k <= n_points:
            raise ValueError(
                f"n_clusters must be in 1..{n_points}, got {self.n_clusters}"
            )
        best = None
        for _ in range(n_init):
            medoids = self._seed(distances, k, rng)
            for _ in range(max_iter):
                labels = np.argmin(distances[:, medoids], axis=1)
                updated = medoids.copy()
                for c in range(k):
                    members = np.flatnonzero(labels == c)
                    if len(members):
                        within = distances[np.ix_(members, members)].sum(axis=1)
                        updated[c] = members[np.argmin(within)]
                if np.array_equal(np.sort(updated), np.sort(medoids)):
                    break
                medoids = updated
            inertia = float(np.sum(np.min(distances[:, medoids], axis=1)))
            if best is None or inertia < best[0]:
                best = (inertia, medoids)
        self.inertia_, medoids = best
        self.medoid_indices_ = np.sort(medoids)
        self.labels_ = np.argmin(distances[:, self.medoid_indices_], axis=1)
        return self

    @staticmethod
    def _seed(distances, k, rng):
        medoids = [int(rng.integers(len(distances)))]
        for _ in range(1, k):
            nearest = np.min(distances[:, medoids], axis=1)
            weights = np.where(np.isinf(nearest), 1e300, nearest**2)
            weights[medoids] = 0.0
            if weights.sum() == 0:
                candidates = np.setdiff1d(np.arange(len(distances)), medoids)
                medoids.append(int(rng.choice(candidates)))
            else:
                medoids.append(
                    int(rng.choice(len(distances), p=weights / weights.sum()))
                )
        return np.array(medoids)


class KMeans(BaseEstimator, ClusterMixin):
    r"""Riemannian k-means on ``(M, g^N)``: Lloyd iterations with Frechet means.

    Starts from :class:`KMedoids` on the distance matrix, then alternates
    assigning each point to its nearest center and replacing each center by
    the Frechet mean of its cluster (geomstats' ``FrechetMean`` started from
    the previous center). Needs at least one cluster per determinant
    component, since clusters never mix components.

    Attributes
    ----------
    cluster_centers_ : ndarray, shape=[n_clusters, d_N, d_0]
    labels_ : ndarray, shape=[n]
    inertia_ : float
        ``sum_i d(X_i, center)^2``.
    n_iter_ : int
    n_failed_ : int
        Point-center distances that failed in the last assignment
        (``errors="nan"``); such a pair counts as infinitely far, and a point
        with no computable distance keeps its cluster.

    Parameters
    ----------
    n_clusters, max_iter, mean_max_iter : int
        Integer-like (validated in :meth:`fit`, as in scikit-learn).
    errors : {"raise", "nan"}
        What a failing logarithm does (:func:`pairwise_distances`).
    """

    def __init__(
        self,
        n_clusters=2,
        depth=None,
        max_iter=20,
        random_state=None,
        metric=None,
        n_jobs=None,
        mean_max_iter=32,
        mean_tol=1e-8,
        errors="raise",
    ):
        self.n_clusters = n_clusters
        self.depth = depth
        self.max_iter = max_iter
        self.random_state = random_state
        self.metric = metric
        self.n_jobs = n_jobs
        self.mean_max_iter = mean_max_iter
        self.mean_tol = mean_tol
        self.errors = errors

    def fit(self, X: Any, y: Any = None, distances: ArrayLike | None = None) -> KMeans:
        """Fit; ``distances`` (from :func:`pairwise_distances`) saves recomputing."""
        n_clusters = as_size(self.n_clusters, "n_clusters", "KMeans.fit")
        max_iter = as_size(self.max_iter, "max_iter", "KMeans.fit")
        mean_max_iter = as_size(self.mean_max_iter, "mean_max_iter", "KMeans.fit")
        check_seed(self.random_state, "KMeans.fit")
        _, points, metric = _resolve(X, self.depth, self.metric, "KMeans.fit", "X")
        n_components = len(group_by_component(points))
        if n_clusters < n_components:
            raise ValueError(
                f"the points span {n_components} determinant components, joined by "
                f"no geodesic: n_clusters={self.n_clusters} must be >= {n_components}"
            )
        if distances is None:
            distances = pairwise_distances(
                points,
                metric=metric,
                n_jobs=self.n_jobs,
                progress=False,
                errors=self.errors,
            )
        distances = np.where(np.isnan(distances), np.inf, distances)
        medoids = KMedoids(n_clusters, random_state=self.random_state).fit(distances)
        centers = points[medoids.medoid_indices_].copy()
        labels = medoids.labels_
        for iteration in range(1, max_iter + 1):
            for c in range(len(centers)):
                members = points[labels == c]
                if len(members) > 1:
                    centers[c] = (
                        FrechetMean(
                            metric=metric,
                            init=centers[c],
                            max_iter=mean_max_iter,
                            tol=self.mean_tol,
                        )
                        .fit(members)
                        .mean_
                    )
                elif len(members) == 1:
                    centers[c] = members[0]
            to_centers = cross_distances(
                points,
                centers,
                metric=metric,
                n_jobs=self.n_jobs,
                progress=False,
                errors=self.errors,
            )
            self.n_failed_ = int(np.sum(np.isnan(to_centers)))
            safe = np.where(np.isnan(to_centers), np.inf, to_centers)
            updated = np.argmin(safe, axis=1)
            stranded = np.all(np.isinf(safe), axis=1)
            updated[stranded] = labels[stranded]
            self.n_iter_ = iteration
            if np.array_equal(updated, labels):
                break
            labels = updated
        self.cluster_centers_ = centers
        self.labels_ = labels
        assigned = to_centers[np.arange(len(points)), labels]
        self.inertia_ = float(np.sum(assigned[np.isfinite(assigned)] ** 2))
        return self


def mds_embedding(
    distances: ArrayLike, n_components: int = 2, random_state: int | None = 0
) -> np.ndarray:
    """Metric MDS (scikit-learn's SMACOF from classical MDS) of a distance matrix.

    Raises ``ValueError`` on infinite distances: embed each group of
    :func:`group_by_component` separately, and for an ``n_components`` that
    is not a positive integer (``TypeError`` for ``True`` or a string).
    """
    from sklearn.manifold import MDS

    n_components = as_size(n_components, "n_components", "mds_embedding")
    check_seed(random_state, "mds_embedding")
    distances = check_distance_matrix(distances)
    if np.any(np.isinf(distances)):
        raise ValueError(
            "infinite distances (points in different determinant components): "
            "embed each group of group_by_component separately"
        )
    if len(distances) <= n_components:
        raise ValueError(
            f"MDS needs more than {n_components} points, got {len(distances)}"
        )
    return MDS(
        n_components=n_components,
        metric="precomputed",
        init="classical_mds",
        random_state=random_state,
        n_init=1,
    ).fit_transform(distances)
