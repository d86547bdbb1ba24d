"""Tests of the ensemble statistics on (M, g^N): statistics, clustering, interpolation.

Independent references: ``DLNMetric.dist``/``log``/``inner_product`` called
directly, closed forms (depth 1 is Euclidean: the mean is the average and
tangent PCA is PCA; distances along one geodesic are ``|t_i - t_j| |V|``),
geomstats' own ``TangentPCA`` and ``FrechetMean``, brute force over medoid
sets, and the gauge invariance that the theory predicts (statistics of ``X``
are unchanged by ``O(d)^{N-1}`` gauges applied to the networks).
"""

import math

import joblib
import numpy as np
import pytest

from geomstats.learning.pca import TangentPCA as GeomstatsTangentPCA

from geomstats_dln.balanced import center, gauge_action, random_gauges
from geomstats_dln.clustering import KMeans, KMedoids, mds_embedding
from geomstats_dln.end_to_end import DLNMetric, EndToEndMatrices, GeodesicError
from geomstats_dln.interpolation import PATHS, interpolate
from geomstats_dln.losses import QuadraticLoss
from geomstats_dln.networks import LinearNetwork, NetworkEnsemble
from geomstats_dln.statistics import (
    FrechetMean,
    SklearnAdapter,
    TangentPCA,
    aligned_weight_average,
    cross_distances,
    determinant_components,
    group_by_component,
    naive_weight_average,
    pairwise_distances,
)

DEPTH = 3
GAUGE_TOL = 1e-10


def _ensemble(n_networks=5, spread=0.08, seed=0, dim=3):
    """Balanced networks over nearby X, each at a random gauge."""
    rng = np.random.default_rng(seed)
    base = np.eye(dim) + 0.2 * rng.normal(size=(dim, dim))
    matrices = base + spread * rng.normal(size=(n_networks, dim, dim))
    layers = np.stack([np.asarray(center(x, DEPTH)) for x in matrices])
    gauges = np.asarray(random_gauges(DEPTH, dim, n_networks))
    return np.asarray(gauge_action(gauges, layers))


def _regauge(layers, seed):
    np.random.seed(seed)
    gauges = np.asarray(random_gauges(DEPTH, layers.shape[-1], len(layers)))
    return np.asarray(gauge_action(gauges, layers))


class _Statistics:
    """Every statistic of one ensemble (computed once per module)."""

    def __init__(self, layers):
        self.ensemble = NetworkEnsemble.from_array(layers)
        self.distances = pairwise_distances(self.ensemble, n_jobs=1, progress=False)
        # a tolerance below the default, to test the first-order condition tightly
        self.mean = FrechetMean(tol=1e-10).fit(self.ensemble)
        self.pca = TangentPCA(base_point=self.mean.mean_).fit(self.ensemble)
        self.medoids = KMedoids(2, random_state=0).fit(self.distances)
        self.kmeans = KMeans(2, random_state=0, max_iter=1).fit(
            self.ensemble, distances=self.distances
        )
        self.embedding = mds_embedding(self.distances)
        self.paths = interpolate(
            self.ensemble[0],
            self.ensemble[1],
            n_points=3,
            loss=QuadraticLoss(np.eye(3)),
        )


@pytest.fixture(scope="module")
def stats():
    layers = _ensemble(4)
    return _Statistics(layers), _Statistics(_regauge(layers, 1))


# -------------------------------------------------------------- distances
def test_distances_match_metric_dist(stats):
    original, _ = stats
    points = original.ensemble.end_to_end()
    metric = EndToEndMatrices(3, depth=DEPTH).metric
    for i in range(len(points)):
        assert original.distances[i, i] == 0.0
        for j in range(i + 1, len(points)):
            direct = float(metric.dist(points[i], points[j]))
            assert abs(original.distances[i, j] - direct) <= 1e-10 * direct
            assert original.distances[j, i] == original.distances[i, j]


def test_cross_distances_and_threads_agree(stats):
    original, _ = stats
    points = original.ensemble.end_to_end()
    with joblib.parallel_config(backend="threading"):
        threaded = pairwise_distances(points, DEPTH, n_jobs=2)
    assert np.max(np.abs(threaded - original.distances)) <= 1e-12
    cross = cross_distances(points[:2], points, DEPTH, n_jobs=1)
    assert np.max(np.abs(cross - original.distances[:2])) <= 1e-10


def test_dask_backend_on_a_local_cluster(stats):
    distributed = pytest.importorskip("dask.distributed")
    original, _ = stats
    points = original.ensemble.end_to_end()[:4]
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        with joblib.parallel_config(backend="dask"):
            on_dask = pairwise_distances(points, DEPTH)
    assert np.max(np.abs(on_dask - original.distances[:4, :4])) <= 1e-12


def test_components_are_separated_and_reported():
    layers = _ensemble(4)
    flipped = layers.copy()
    flipped[2:, -1] *= -1.0  # det(-X) = -det X for d = 3
    points = NetworkEnsemble.from_array(flipped).end_to_end()
    labels = determinant_components(points)
    assert list(labels) == list(np.sign(np.linalg.det(points)).astype(int))
    groups = group_by_component(points)
    assert sorted(len(g) for g in groups.values()) == [2, 2]
    distances = pairwise_distances(flipped, n_jobs=1)
    same = labels[:, None] == labels[None, :]
    assert np.all(np.isinf(distances[~same])) and np.all(np.isfinite(distances[same]))
    metric = EndToEndMatrices(3, depth=DEPTH).metric
    assert distances[2, 3] == pytest.approx(
        float(metric.dist(points[2], points[3])), 1e-10
    )
    with pytest.raises(ValueError, match="2 with det > 0, 2 with det < 0"):
        FrechetMean().fit(flipped)
    with pytest.raises(ValueError, match="n_clusters=1 must be >= 2"):
        KMeans(1).fit(flipped, distances=distances)
    with pytest.raises(ValueError, match="embed each group"):
        mds_embedding(distances)
    with pytest.raises(ValueError, match="point 1 is rank-deficient"):
        determinant_components(np.stack([np.eye(3), np.diag([1.0, 1.0, 0.0])]))


class _FailingMetric(DLNMetric):
    """A DLN metric whose logarithm fails for points with X[0, 0] > 10."""

    def dist(self, point_a, point_b):
        if np.any(np.asarray(point_b)[..., 0, 0] > 10):
            raise GeodesicError("forced failure")
        return super().dist(point_a, point_b)


def test_failed_pairs_raise_named_or_become_nan():
    points = NetworkEnsemble.from_array(_ensemble(3)).end_to_end()
    points[2] *= 20.0
    metric = _FailingMetric(EndToEndMatrices(3, depth=DEPTH))
    with pytest.raises(GeodesicError, match=r"pair \(0, 2\): forced failure"):
        pairwise_distances(points, metric=metric, n_jobs=1, chunk_size=3)
    with pytest.warns(RuntimeWarning, match="2 of 3 distances failed"):
        distances = pairwise_distances(points, metric=metric, errors="nan", n_jobs=1)
    assert np.isnan(distances[0, 2]) and np.isnan(distances[1, 2])
    assert distances[0, 1] == pytest.approx(float(metric.dist(points[0], points[1])))
    with pytest.raises(ValueError, match="contain NaN"):
        KMedoids(2).fit(distances)


# ----------------------------------------------------------------- means
def test_frechet_mean_first_order_condition_and_minimality(stats):
    original, _ = stats
    points = original.ensemble.end_to_end()
    mean = original.mean.mean_
    metric = EndToEndMatrices(3, depth=DEPTH).metric
    logs = np.asarray(metric.log(points, mean))  # independent of the estimator
    residual = math.sqrt(float(metric.squared_norm(logs.mean(axis=0), mean)))
    spread = math.sqrt(float(np.mean(metric.squared_norm(logs, mean))))
    assert residual <= 1e-9 * spread
    # the estimator's own residual: the same quantity through other log calls,
    # equal to the logarithm's accuracy
    assert abs(original.mean.gradient_norm_ - residual) <= 1e-10 * spread
    variance = float(np.mean(metric.squared_norm(logs, mean)))
    rng = np.random.default_rng(0)
    for _ in range(2):  # a local minimum of the Frechet function
        moved = metric.exp(0.02 * rng.normal(size=(3, 3)), mean)
        moved_variance = float(np.mean(metric.squared_dist(points, moved)))
        assert moved_variance > variance
    # the aligned average starts close; the naive one is far (collapsed)
    aligned = aligned_weight_average(original.ensemble, balance=True).end_to_end()
    naive = naive_weight_average(original.ensemble).end_to_end()
    assert np.linalg.norm(aligned - mean) < 0.1 * np.linalg.norm(naive - mean)


def test_frechet_mean_at_depth_one_is_the_average():
    points = NetworkEnsemble.from_array(_ensemble(4)).end_to_end()
    mean = FrechetMean(depth=1, init="euclidean").fit(points)
    assert np.max(np.abs(mean.mean_ - points.mean(axis=0))) <= 1e-12


def test_lift_is_balanced_over_the_mean(stats):
    original, _ = stats
    network = original.mean.lift()
    assert network.widths == (3, 3, 3, 3)
    assert network.balance_defect(relative=True) <= 1e-13
    assert np.max(np.abs(network.end_to_end() - original.mean.mean_)) <= 1e-13
    s = np.linalg.svd(original.mean.mean_, compute_uv=False)
    assert network.squared_norm() == pytest.approx(DEPTH * np.sum(s ** (2 / DEPTH)))
    wide = original.mean.lift(widths=(3, 5, 4, 3))
    assert np.max(np.abs(wide.end_to_end() - original.mean.mean_)) <= 1e-13


# ------------------------------------------------------------------- PCA
def test_tangent_pca_is_pca_for_the_metric(stats):
    original, _ = stats
    pca = original.pca
    metric = EndToEndMatrices(3, depth=DEPTH).metric
    points = original.ensemble.end_to_end()
    logs = np.asarray(metric.log(points, pca.base_point_))
    centered = logs - logs.mean(axis=0)
    gram = np.array(
        [
            [float(metric.inner_product(a, b, pca.base_point_)) for b in centered]
            for a in centered
        ]
    )
    total = np.trace(gram) / (len(points) - 1)
    assert np.sum(pca.explained_variance_) == pytest.approx(total, rel=1e-10)
    coordinates = pca.transform(points)
    assert np.max(np.abs(coordinates @ coordinates.T - gram)) <= 1e-10 * total
    components = pca.components_
    inner = np.array(
        [
            [float(metric.inner_product(a, b, pca.base_point_)) for b in components]
            for a in components
        ]
    )
    rank = len(points) - 1
    assert np.max(np.abs(inner[:rank, :rank] - np.eye(rank))) <= 1e-10
    # geomstats' TangentPCA works on the entries: that is our entry spectrum
    space = EndToEndMatrices(3, depth=DEPTH)
    theirs = GeomstatsTangentPCA(space).fit(points, base_point=pca.base_point_)
    k = rank
    assert np.allclose(
        pca.entry_explained_variance_ratio_[:k],
        theirs.explained_variance_ratio_[:k],
        atol=1e-10,
    )
    assert (
        abs(pca.explained_variance_ratio_[0] - theirs.explained_variance_ratio_[0])
        > 1e-4
    )
    back = pca.inverse_transform(coordinates)
    assert np.max(np.abs(back - points)) <= 1e-7


def test_tangent_pca_depth_one_is_pca():
    from sklearn.decomposition import PCA

    points = NetworkEnsemble.from_array(_ensemble(6)).end_to_end()
    ours = TangentPCA(depth=1, mean_options={"init": "euclidean"}).fit(points)
    theirs = PCA().fit(points.reshape(6, -1))
    assert np.allclose(
        ours.explained_variance_[:5], theirs.explained_variance_[:5], rtol=1e-10
    )


# ------------------------------------------------------ gauge invariance
def test_every_statistic_is_gauge_invariant(stats):
    a, b = stats
    assert np.max(np.abs(a.ensemble.to_array() - b.ensemble.to_array())) > 0.1
    assert np.max(np.abs(a.distances - b.distances)) <= GAUGE_TOL
    assert np.max(np.abs(a.mean.init_point_ - b.mean.init_point_)) <= GAUGE_TOL
    assert np.max(np.abs(a.mean.mean_ - b.mean.mean_)) <= GAUGE_TOL
    assert (
        np.max(np.abs(a.mean.lift().end_to_end() - b.mean.lift().end_to_end()))
        <= GAUGE_TOL
    )
    assert (
        np.max(np.abs(a.pca.explained_variance_ - b.pca.explained_variance_))
        <= GAUGE_TOL
    )
    coordinates_a = a.pca.transform(a.ensemble)
    coordinates_b = b.pca.transform(b.ensemble)
    rank = len(a.ensemble) - 1  # components are defined up to sign
    assert (
        np.max(
            np.abs(np.abs(coordinates_a[:, :rank]) - np.abs(coordinates_b[:, :rank]))
        )
        <= GAUGE_TOL
    )
    assert list(a.medoids.labels_) == list(b.medoids.labels_)
    assert a.medoids.inertia_ == pytest.approx(b.medoids.inertia_, abs=GAUGE_TOL)
    assert (
        np.max(np.abs(a.kmeans.cluster_centers_ - b.kmeans.cluster_centers_))
        <= GAUGE_TOL
    )

    def embedded_distances(points):
        return np.linalg.norm(points[:, None] - points[None], axis=-1)

    assert (
        np.max(
            np.abs(embedded_distances(a.embedding) - embedded_distances(b.embedding))
        )
        <= 1e-8
    )
    for name in ("geodesic", "end_to_end_line", "aligned_weights"):
        assert np.max(np.abs(a.paths.losses[name] - b.paths.losses[name])) <= GAUGE_TOL
    # the naive weight line is not gauge invariant (the point of aligning)
    assert (
        np.max(
            np.abs(a.paths.losses["naive_weights"] - b.paths.losses["naive_weights"])
        )
        > 1e-3
    )


# ------------------------------------------------------------ clustering
def test_kmedoids_finds_the_brute_force_optimum():
    from itertools import combinations

    rng = np.random.default_rng(1)
    centers = np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]])
    cloud = np.concatenate([c + rng.normal(size=(3, 2)) for c in centers])
    distances = np.linalg.norm(cloud[:, None] - cloud[None], axis=-1)
    best = min(
        np.sum(np.min(distances[:, list(m)], axis=1)) for m in combinations(range(9), 3)
    )
    fitted = KMedoids(3, random_state=0).fit(distances)
    assert fitted.inertia_ == pytest.approx(best, rel=1e-12)
    assert len(set(fitted.labels_[:3])) == 1 and len(set(fitted.labels_)) == 3


def test_kmeans_centers_are_frechet_means_of_the_clusters():
    one = _ensemble(3, spread=0.03, seed=2)
    two = np.stack(
        [
            np.asarray(center(x, DEPTH))
            for x in 1.6 * NetworkEnsemble.from_array(one).end_to_end()
        ]
    )
    layers = np.concatenate([one, two])
    fitted = KMeans(2, random_state=0, max_iter=2).fit(layers)
    assert len(set(fitted.labels_[:3])) == 1 and len(set(fitted.labels_[3:])) == 1
    assert fitted.labels_[0] != fitted.labels_[3]
    for c in range(2):
        members = NetworkEnsemble.from_array(layers).end_to_end()[fitted.labels_ == c]
        mean = FrechetMean(depth=DEPTH, init="euclidean").fit(members).mean_
        assert np.max(np.abs(fitted.cluster_centers_[c] - mean)) <= 1e-7


def test_mds_of_points_on_one_geodesic_is_a_line():
    space = EndToEndMatrices(3, depth=DEPTH)
    rng = np.random.default_rng(3)
    base = np.eye(3) + 0.2 * rng.normal(size=(3, 3))
    velocity = 0.3 * rng.normal(size=(3, 3))
    times = np.array([0.0, 0.3, 0.5, 0.9, 1.0])
    points = np.asarray(space.metric.exp(times[:, None, None] * velocity, base))
    speed = math.sqrt(float(space.metric.squared_norm(velocity, base)))
    distances = pairwise_distances(points, DEPTH, n_jobs=1)
    closed_form = speed * np.abs(times[:, None] - times[None])
    assert np.max(np.abs(distances - closed_form)) <= 1e-7 * speed
    line = mds_embedding(distances, n_components=1)[:, 0]
    assert (
        np.max(np.abs(np.abs(line[:, None] - line[None]) - closed_form)) <= 1e-5 * speed
    )


# ---------------------------------------------------------- interpolation
def test_interpolation_paths(stats):
    original, _ = stats
    paths = original.paths
    net_a, net_b = original.ensemble[0], original.ensemble[1]
    x_a, x_b = net_a.end_to_end(), net_b.end_to_end()
    metric = EndToEndMatrices(3, depth=DEPTH).metric
    for name in PATHS:
        assert np.max(np.abs(paths.end_to_end[name][0] - x_a)) <= 1e-9
        assert np.max(np.abs(paths.end_to_end[name][-1] - x_b)) <= 1e-9
        loss = QuadraticLoss(np.eye(3))
        direct = [float(loss.value(x)) for x in paths.end_to_end[name]]
        assert np.allclose(paths.losses[name], direct, rtol=1e-14)
        lifted = paths.network(name, 1)
        assert np.max(np.abs(lifted.end_to_end() - paths.end_to_end[name][1])) <= 1e-12
    middle = paths.end_to_end["geodesic"][1]
    total = float(metric.dist(x_a, x_b))
    halves = float(metric.dist(x_a, middle)) + float(metric.dist(middle, x_b))
    assert halves == pytest.approx(total, rel=1e-8)  # the midpoint is on a geodesic
    assert float(metric.dist(x_a, middle)) == pytest.approx(total / 2, rel=1e-8)
    assert (
        np.max(np.abs(paths.end_to_end["end_to_end_line"][1] - (x_a + x_b) / 2))
        <= 1e-15
    )
    for a_layer, b_layer, mid in zip(
        net_a.layers,
        net_b.layers,
        paths.weights["naive_weights"][1].layers,
        strict=True,
    ):
        assert np.max(np.abs(mid - (a_layer + b_layer) / 2)) <= 1e-15
    end = paths.weights["aligned_weights"][-1]
    assert end.balance_defect() == pytest.approx(net_b.balance_defect(), abs=1e-12)
    assert np.sum((end.to_array() - net_a.to_array()) ** 2) <= np.sum(
        (net_b.to_array() - net_a.to_array()) ** 2
    )


def test_interpolation_across_components():
    layers = _ensemble(2)
    layers[1, -1] *= -1.0
    a, b = LinearNetwork.from_array(layers[0]), LinearNetwork.from_array(layers[1])
    with pytest.raises(GeodesicError, match="different components"):
        interpolate(a, b)
    paths = interpolate(
        a, b, n_points=3, errors="nan", loss=lambda x: float(np.sum(x**2))
    )
    assert "geodesic" in paths.failures and np.all(np.isnan(paths.losses["geodesic"]))
    assert np.all(np.isfinite(paths.losses["end_to_end_line"]))
    with pytest.raises(ValueError, match="geodesic path is missing"):
        paths.network("geodesic", 1)


# ----------------------------------------------------------- scikit-learn
def test_sklearn_estimators_run_on_the_adapter():
    from sklearn.cluster import DBSCAN, AgglomerativeClustering
    from sklearn.manifold import MDS, Isomap
    from sklearn.neighbors import KNeighborsClassifier

    one = NetworkEnsemble.from_array(_ensemble(3, spread=0.03, seed=4)).end_to_end()
    points = np.concatenate([one, 1.8 * one])
    labels = np.array([0] * 3 + [1] * 3)
    adapter = SklearnAdapter((3, 3), depth=DEPTH, n_jobs=1)
    flat = adapter.flatten(points)
    assert flat.shape == (6, 9) and np.array_equal(adapter.unflatten(flat), points)
    full = adapter.distances(flat)
    metric = EndToEndMatrices(3, depth=DEPTH).metric
    assert full[0, 4] == pytest.approx(float(metric.dist(points[0], points[4])), 1e-10)
    train, query = [0, 1, 3, 4], [2, 5]
    cross = adapter.cross_distances(flat[query], flat[train])
    assert np.max(np.abs(cross - full[np.ix_(query, train)])) <= 1e-10
    knn = KNeighborsClassifier(n_neighbors=3, metric="precomputed")
    knn.fit(full[np.ix_(train, train)], labels[train])
    assert list(knn.predict(cross)) == [0, 1]
    callable_knn = KNeighborsClassifier(
        n_neighbors=3, metric=adapter.metric, algorithm="brute"
    )
    callable_knn.fit(flat[train], labels[train])
    assert list(callable_knn.predict(flat[query])) == [0, 1]
    gap = full[:3, 3:].min()
    dbscan = DBSCAN(eps=0.9 * gap, min_samples=2, metric="precomputed")
    clusters = dbscan.fit_predict(full)
    assert len(set(clusters[:3])) == 1 and clusters[0] != clusters[3]
    assert -1 not in clusters
    agglomerative = AgglomerativeClustering(2, metric="precomputed", linkage="average")
    groups = agglomerative.fit_predict(full)
    assert len(set(groups[:3])) == 1 and groups[0] != groups[3]
    isomap = Isomap(n_neighbors=3, n_components=2, metric="precomputed")
    assert isomap.fit_transform(full).shape == (6, 2)
    embedding = MDS(2, metric="precomputed", init="classical_mds").fit_transform(full)
    assert embedding.shape == (6, 2)


def test_bad_inputs():
    points = NetworkEnsemble.from_array(_ensemble(3)).end_to_end()
    with pytest.raises(ValueError, match="depth .* is required"):
        pairwise_distances(points)
    with pytest.raises(ValueError, match="errors must be one of"):
        pairwise_distances(points, DEPTH, errors="ignore")
    with pytest.raises(ValueError, match="got shape \\(3, 3\\)"):
        pairwise_distances(points[0], DEPTH)
    with pytest.raises(TypeError, match="single LinearNetwork"):
        FrechetMean().fit(LinearNetwork([np.eye(2)]))
    with pytest.raises(ValueError, match="n_components must be in 1..3"):
        TangentPCA(DEPTH, n_components=7, base_point=points[0]).fit(points)
    with pytest.raises(ValueError, match="square matrix"):
        KMedoids(2).fit(np.ones((2, 3)))
    with pytest.raises(ValueError, match="non-finite"):
        pairwise_distances(np.full((2, 3, 3), np.nan), DEPTH)
    with pytest.raises(ValueError, match="needs networks"):
        aligned_weight_average(points)


def test_kmeans_errors_nan_counts_failed_distances_and_computes_the_rest(monkeypatch):
    # Two clusters of X (near I and near 2 I, one component). A point-center
    # distance that fails (NaN under errors="nan") counts as infinitely far: a
    # point that loses only its distance to the far center keeps the labels of
    # the complete run, and a point with no computable distance keeps its
    # cluster; n_failed_ counts the failures.
    import geomstats_dln.clustering as clustering

    rng = np.random.default_rng(7)
    near = np.eye(3) + 0.05 * rng.normal(size=(4, 3, 3))
    far = 2.0 * np.eye(3) + 0.05 * rng.normal(size=(4, 3, 3))
    points = np.concatenate([near, far])
    reference = KMeans(2, depth=DEPTH, random_state=0, max_iter=5).fit(points)
    real = clustering.cross_distances

    def failing(which):
        def cross(queries, centers, **kwargs):
            table = np.array(real(queries, centers, **kwargs))
            own = reference.labels_[0]
            table[0, which(own)] = np.nan
            return table

        return cross

    monkeypatch.setattr(clustering, "cross_distances", failing(lambda own: 1 - own))
    fitted = KMeans(2, depth=DEPTH, random_state=0, max_iter=5, errors="nan").fit(
        points
    )
    assert fitted.n_failed_ == 1
    np.testing.assert_array_equal(fitted.labels_, reference.labels_)
    np.testing.assert_allclose(fitted.inertia_, reference.inertia_, rtol=1e-6)

    monkeypatch.setattr(clustering, "cross_distances", failing(lambda own: [0, 1]))
    stranded = KMeans(2, depth=DEPTH, random_state=0, max_iter=5, errors="nan").fit(
        points
    )
    assert stranded.n_failed_ == 2
    np.testing.assert_array_equal(stranded.labels_, reference.labels_)
