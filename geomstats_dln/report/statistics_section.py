"""Report section: statistics of trained networks modulo the gauge (digits task).

An ensemble of linear networks is trained on scikit-learn's digits (left half
of the image -> right half, PCA coordinates;
:func:`geomstats_dln.datasets.digits_regression`) from two initialization
schemes (balanced and Gaussian), and summarized on ``(M, g^N)`` of the
end-to-end matrices:

(a) the ensemble: determinant components (each analyzed separately, never
    mixed), balance of the trained networks;
(b) distances modulo the gauge against naive weight distances, with MDS
    embeddings side by side; checks: ``g^N`` distances are unchanged by random
    gauges applied to the networks (1e-10), naive weight distances are not;
(c) the Frechet mean of the largest component against the naive and aligned
    weight averages (train loss, test R^2); checks: first-order condition,
    the lift's end-to-end matrix and balance, gauge invariance of the mean;
(d) tangent PCA spectrum in ``g^N``-orthonormal and in entry coordinates;
    checks: total variance against the ``g^N`` norms of the logs, gauge
    invariance of the spectrum;
(e) loss along the four interpolation paths between two networks of the
    component; checks: the geodesic midpoint halves the distance, gauge
    invariance of the three gauge-free paths.

A check that cannot be computed is a FAIL row that says why.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from geomstats_dln.balanced import gauge_action, random_gauges
from geomstats_dln.clustering import KMedoids, mds_embedding
from geomstats_dln.datasets import digits_regression, train_ensemble
from geomstats_dln.interpolation import PATHS, interpolate
from geomstats_dln.networks import NetworkEnsemble
from geomstats_dln.report._framework import (
    Check,
    ReportContext,
    SectionResult,
    assemble_section,
    markdown_table,
    new_figure,
    save_figure,
)
from geomstats_dln.statistics import (
    FrechetMean,
    TangentPCA,
    aligned_weight_average,
    dln_metric,
    group_by_component,
    naive_weight_average,
    pairwise_distances,
)

TITLE = "Statistics of trained networks, modulo the gauge"
FIGURE_EMBEDDINGS = "statistics_embeddings.png"
FIGURE_PCA = "statistics_pca_spectrum.png"
FIGURE_PATHS = "statistics_interpolation.png"
TOL_GAUGE = 1e-10  # change of a statistic under random gauges of the inputs
TOL_FIRST_ORDER = 1e-8  # |mean_i log_mu X_i|_g / rms distance at the mean
TOL_LIFT = 1e-12  # |phi(lift) - mean| / |mean| and |G| / |W|^2 of the lift
TOL_VARIANCE = 1e-10  # relative error of the PCA total variance
TOL_MIDPOINT = 1e-6  # |d(a, mid) - d(a, b)/2| / d(a, b)
NAIVE_CHANGE = 1e-3  # naive weight statistics must move at least this much
N_GAUGED = 5  # networks whose distances are recomputed after random gauges


def _failed(name: str, exc: Exception, tolerance: float) -> Check:
    reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:160]
    return Check(f"{name} (not computed: {reason})", math.nan, tolerance)


def _guarded(name: str, tolerance: float, compute: Callable[[], float]) -> Check:
    try:
        return Check(name, float(compute()), tolerance)
    except Exception as exc:  # noqa: BLE001 - a check that fails to run is a FAIL
        return _failed(name, exc, tolerance)


class _Experiment:
    """The trained ensemble, its gauged copy and the shared statistics."""

    def __init__(self, ctx: ReportContext):
        quick = ctx.quick
        # width 4: the logarithm of g^3 costs about 0.2 s a pair there, against
        # several seconds at width 10 (small trailing singular values)
        self.width = 3 if quick else 4
        self.depth = 3
        self.per_scheme = 3 if quick else 10
        self.task = digits_regression(n_components=self.width, seed=ctx.seed)
        ctx.substep("training the ensemble")
        layers = [
            train_ensemble(
                self.task,
                n_networks=self.per_scheme,
                depth=self.depth,
                init=init,
                n_steps=600 if quick else 1500,
                seed=ctx.seed + k,
            )
            for k, init in enumerate(("balanced", "gaussian"))
        ]
        self.layers = np.concatenate(layers)
        self.schemes = np.array(
            ["balanced"] * self.per_scheme + ["gaussian"] * self.per_scheme
        )
        self.ensemble = NetworkEnsemble.from_array(self.layers)
        self.points = self.ensemble.end_to_end()
        np.random.seed(ctx.seed + 7)
        gauges = np.asarray(random_gauges(self.depth, self.width, len(self.layers)))
        self.gauged = NetworkEnsemble.from_array(
            np.asarray(gauge_action(gauges, self.layers))
        )
        self.metric = dln_metric(self.points, self.depth)
        self.groups = group_by_component(self.points)
        # the statistics that need one component use the largest one
        self.label, self.index = max(self.groups.items(), key=lambda item: len(item[1]))
        self._cache: dict[str, object] = {}

    def cached(self, key: str, compute: Callable[[], object]) -> object:
        if key not in self._cache:
            try:
                self._cache[key] = compute()
            except Exception as exc:  # noqa: BLE001 - reported by the parts
                self._cache[key] = exc
        value = self._cache[key]
        if isinstance(value, Exception):
            raise value
        return value

    def distances(self) -> np.ndarray:
        """g^N distances inside the largest component, ``[k, k]``."""
        return self.cached(
            "distances",
            lambda: pairwise_distances(
                self.ensemble[self.index],
                metric=self.metric,
                errors="nan",
                progress=False,
            ),
        )

    def gauged_distances(self) -> np.ndarray:
        """The same for the first ``N_GAUGED`` networks, re-gauged."""
        return self.cached(
            "gauged distances",
            lambda: pairwise_distances(
                self.gauged[self.index[:N_GAUGED]],
                metric=self.metric,
                errors="nan",
                progress=False,
            ),
        )

    def mean(self, gauged: bool = False) -> FrechetMean:
        ensemble = self.gauged if gauged else self.ensemble
        return self.cached(
            f"mean{gauged}",
            # tol below the default: the report checks the first-order
            # condition at 1e-8 of the rms distance
            lambda: FrechetMean(metric=self.metric, tol=1e-10).fit(
                ensemble[self.index]
            ),
        )

    def score(self, matrix: np.ndarray) -> tuple[float, float]:
        """Train loss and test R^2 of ``x -> X x``."""
        residual = matrix @ self.task.test_inputs - self.task.test_targets
        centered = self.task.test_targets - self.task.test_targets.mean(
            axis=1, keepdims=True
        )
        r2 = 1.0 - float(np.sum(residual**2) / np.sum(centered**2))
        return float(self.task.loss.value(matrix)), r2


def _naive_weight_distances(ensemble: NetworkEnsemble) -> np.ndarray:
    flat = ensemble.to_array().reshape(len(ensemble), -1)
    return np.linalg.norm(flat[:, None] - flat[None], axis=-1)


# ------------------------------------------------------------------- parts
def _part_ensemble(exp: _Experiment):
    def part(ctx: ReportContext):
        rows = []
        for scheme in ("balanced", "gaussian"):
            members = exp.schemes == scheme
            signs = np.sign(np.linalg.det(exp.points[members])).astype(int)
            defects = [
                exp.ensemble[i].balance_defect(relative=True)
                for i in np.flatnonzero(members)
            ]
            losses = [float(exp.task.loss.value(x)) for x in exp.points[members]]
            rows.append(
                (
                    scheme,
                    int(members.sum()),
                    int(np.sum(signs > 0)),
                    int(np.sum(signs < 0)),
                    float(np.max(defects)),
                    float(np.mean(losses)),
                )
            )
        least = float(exp.task.loss.value(exp.task.least_squares()))
        text = (
            f"### (a) The ensemble\n\n{len(exp.points)} networks of depth {exp.depth} "
            f"and width {exp.width}, trained by gradient descent on the digits "
            "task from two initialization schemes. Training keeps the sign of "
            "det X of the initialization, so the ensemble populates both "
            "components of the invertible matrices, which no geodesic joins: each "
            f"statistic below is computed inside one component (the largest, "
            f"det {'>' if exp.label > 0 else '<'} 0, {len(exp.index)} networks). "
            f"Least-squares loss: {least:.4g}.\n\n"
            + markdown_table(
                (
                    "init",
                    "networks",
                    "det > 0",
                    "det < 0",
                    "max |G|/|W|^2",
                    "mean loss",
                ),
                rows,
            )
        )
        return text, []

    return part


def _part_distances(exp: _Experiment):
    def part(ctx: ReportContext):
        ctx.substep("distance matrices")
        checks = [
            _guarded(
                f"g^N distances of {N_GAUGED} networks, random gauges (max change)",
                TOL_GAUGE,
                lambda: _finite_change(
                    exp.distances()[:N_GAUGED, :N_GAUGED], exp.gauged_distances()
                ),
            ),
            _guarded(
                f"naive weight distances: {NAIVE_CHANGE:g} / (max change under "
                "random gauges), < 1 when they are not invariant",
                1.0,
                lambda: (
                    NAIVE_CHANGE
                    / np.max(
                        np.abs(
                            _naive_weight_distances(exp.ensemble)
                            - _naive_weight_distances(exp.gauged)
                        )
                    )
                ),
            ),
        ]
        name = _figure_embeddings(ctx, exp, checks)
        rows = [(c.name, c.value, c.tolerance, c.verdict) for c in checks]
        text = (
            "### (b) Distances modulo the gauge vs naive weight distances\n\n"
            "Left: metric MDS of the g^N distances of the end-to-end matrices "
            "(largest component). Right: MDS of the Euclidean distances of the raw "
            "weights |W_i - W_j|, which depend on the arbitrary gauge of each "
            "network: the same functions, re-gauged, land elsewhere.\n\n"
            + markdown_table(("check", "value", "tolerance", "result"), rows)
            + f"\n\n![embeddings]({name})"
        )
        return text, checks, name

    return part


def _finite_change(a: np.ndarray, b: np.ndarray) -> float:
    if np.any(np.isnan(a)) or np.any(np.isnan(b)):
        raise ValueError(f"{int(np.sum(np.isnan(a)) // 2)} distance(s) failed (NaN)")
    if not np.array_equal(np.isinf(a), np.isinf(b)):
        raise ValueError("the component pattern changed")
    finite = np.isfinite(a)
    return float(np.max(np.abs(a[finite] - b[finite])))


def _figure_embeddings(ctx, exp, checks) -> str:
    figure = new_figure(figsize=(10, 4.2))
    left, right = figure.subplots(1, 2)
    colors = {"balanced": "tab:blue", "gaussian": "tab:orange"}
    try:
        embedding = mds_embedding(exp.distances(), random_state=ctx.seed)
        for scheme, color in colors.items():
            chosen = exp.schemes[exp.index] == scheme
            left.scatter(*embedding[chosen].T, c=color, label=scheme)
        left.legend(title="init")
    except Exception as exc:  # noqa: BLE001 - shown in the figure, counted as FAIL
        checks.append(_failed("MDS of the g^N distances", exc, 0.0))
        left.text(0.5, 0.5, "not computed", ha="center", transform=left.transAxes)
    left.set_title(f"$g^{exp.depth}$ distances of X (modulo the gauge)")
    naive = _naive_weight_distances(exp.ensemble)[np.ix_(exp.index, exp.index)]
    regauged = _naive_weight_distances(exp.gauged)[np.ix_(exp.index, exp.index)]
    for values, marker, suffix in ((naive, "o", ""), (regauged, "x", ", re-gauged")):
        embedding = mds_embedding(values, random_state=ctx.seed)
        for scheme, color in colors.items():
            chosen = exp.schemes[exp.index] == scheme
            right.scatter(
                *embedding[chosen].T, c=color, marker=marker, label=scheme + suffix
            )
    right.legend(title="init", fontsize=7)
    for axes in (left, right):
        axes.set_aspect("equal", adjustable="datalim")
    right.set_title("naive weight distances |W_i - W_j|")
    return save_figure(ctx, figure, FIGURE_EMBEDDINGS)


def _part_mean(exp: _Experiment):
    def part(ctx: ReportContext):
        ctx.substep("Frechet mean")
        component = exp.ensemble[exp.index]
        rows = []
        checks = []
        try:
            mean = exp.mean()
            lift = mean.lift()
            candidates = {
                "Frechet mean (balanced lift)": lift,
                "aligned weight average": aligned_weight_average(component),
                "aligned balanced average": aligned_weight_average(
                    component, balance=True
                ),
                "naive weight average": naive_weight_average(component),
            }
            for name, network in candidates.items():
                matrix = network.end_to_end()
                loss, r2 = exp.score(matrix)
                try:
                    distance = float(exp.metric.dist(mean.mean_, matrix))
                except Exception:  # noqa: BLE001 - e.g. another component
                    distance = math.nan
                s = np.linalg.svd(matrix, compute_uv=False)
                rows.append((name, loss, r2, float(s[-1] / s[0]), distance))
            losses = [exp.score(x)[0] for x in exp.points[exp.index]]
            rows.append(
                (
                    "ensemble members (mean)",
                    float(np.mean(losses)),
                    float(np.mean([exp.score(x)[1] for x in exp.points[exp.index]])),
                    math.nan,
                    math.sqrt(mean.variance_),
                )
            )
        except Exception as exc:  # noqa: BLE001
            checks.append(_failed("Frechet mean", exc, TOL_FIRST_ORDER))
            mean = None
        if mean is not None:
            checks += [
                _guarded(
                    "first-order condition |mean log_mu X_i|_g / rms distance",
                    TOL_FIRST_ORDER,
                    lambda: mean.gradient_norm_ / math.sqrt(mean.variance_),
                ),
                _guarded(
                    "lift: |phi(W) - mean| / |mean|",
                    TOL_LIFT,
                    lambda: (
                        np.linalg.norm(mean.lift().end_to_end() - mean.mean_)
                        / np.linalg.norm(mean.mean_)
                    ),
                ),
                _guarded(
                    "lift: |G| / |W|^2",
                    TOL_LIFT,
                    lambda: mean.lift().balance_defect(relative=True),
                ),
                _guarded(
                    "Frechet mean under random gauges (max abs change)",
                    TOL_GAUGE,
                    lambda: np.max(np.abs(exp.mean(gauged=True).mean_ - mean.mean_)),
                ),
            ]
        table = (
            markdown_table(
                (
                    "network",
                    "train loss",
                    "test R^2",
                    "s_min/s_max",
                    "g^N distance to mean",
                ),
                rows,
            )
            if rows
            else "Not computed."
        )
        text = (
            "### (c) Mean network\n\n"
            "The Frechet mean of the component on (M, g^N) (geomstats FrechetMean, "
            "started from the balanced aligned average), lifted to a balanced "
            "network, against weight averages. The naive average mixes networks "
            "at arbitrary gauges; aligning each network to a reference by "
            "orthogonal Procrustes first recovers the mean. A distance inf means "
            "the average fell into the other determinant component.\n\n"
            + table
            + "\n\n"
            + markdown_table(
                ("check", "value", "tolerance", "result"),
                [(c.name, c.value, c.tolerance, c.verdict) for c in checks],
            )
        )
        return text, checks

    return part


def _part_pca(exp: _Experiment):
    def part(ctx: ReportContext):
        ctx.substep("tangent PCA")
        checks = []
        figure = new_figure(figsize=(6, 3.6))
        axes = figure.add_subplot()
        try:
            mean = exp.mean()
            pca = TangentPCA(metric=exp.metric, base_point=mean.mean_).fit(
                exp.ensemble[exp.index]
            )
            count = min(8, pca.n_components_)
            ticks = np.arange(1, count + 1)
            axes.bar(
                ticks - 0.2,
                pca.explained_variance_ratio_[:count],
                0.4,
                label="$g^N$-orthonormal coordinates",
            )
            axes.bar(
                ticks + 0.2,
                pca.entry_explained_variance_ratio_[:count],
                0.4,
                label="entry coordinates (geomstats TangentPCA)",
            )
            axes.set_xlabel("component")
            axes.set_ylabel("explained variance ratio")
            axes.set_yscale("log")  # trained ensembles vary mostly along one mode
            axes.legend(fontsize=8)
            logs = mean.logs_
            centered = logs - logs.mean(axis=0)

            def total_variance():
                direct = float(
                    np.sum(exp.metric.squared_norm(centered, mean.mean_))
                ) / (len(logs) - 1)
                return abs(np.sum(pca.explained_variance_) - direct) / direct

            def gauged_spectrum():
                gauged_mean = exp.mean(gauged=True)
                other = TangentPCA(metric=exp.metric, base_point=gauged_mean.mean_).fit(
                    exp.gauged[exp.index]
                )
                return np.max(
                    np.abs(other.explained_variance_ - pca.explained_variance_)
                )

            checks += [
                _guarded(
                    "total variance vs sum of g^N norms of the logs (relative)",
                    TOL_VARIANCE,
                    total_variance,
                ),
                _guarded(
                    "PCA spectrum under random gauges (max abs change)",
                    TOL_GAUGE,
                    gauged_spectrum,
                ),
            ]
            ratios = (
                f"first component: {pca.explained_variance_ratio_[0]:.3f} of the "
                f"g^N variance, {pca.entry_explained_variance_ratio_[0]:.3f} in entry "
                "coordinates"
            )
        except Exception as exc:  # noqa: BLE001
            checks.append(_failed("tangent PCA", exc, TOL_VARIANCE))
            ratios = "not computed"
        name = save_figure(ctx, figure, FIGURE_PCA)
        text = (
            "### (d) Tangent PCA\n\n"
            "PCA of log_mu X_i at the Frechet mean in coordinates A^{-1/2}(V), where "
            "g^N is the Frobenius inner product; geomstats' TangentPCA uses the raw "
            f"entries, which weights directions by a_ij ({ratios}).\n\n"
            + markdown_table(
                ("check", "value", "tolerance", "result"),
                [(c.name, c.value, c.tolerance, c.verdict) for c in checks],
            )
            + f"\n\n![PCA spectrum]({name})"
        )
        return text, checks, name

    return part


def _part_interpolation(exp: _Experiment):
    def part(ctx: ReportContext):
        ctx.substep("interpolation")
        checks = []
        figure = new_figure(figsize=(6.5, 3.8))
        axes = figure.add_subplot()
        n_points = 5 if ctx.quick else 11
        # one network of each scheme when the component has both, else two
        # distinct networks of it (the same one twice made d(a, b) = 0: seed 3)
        index = exp.index
        first = index[exp.schemes[index] == "balanced"]
        second = index[exp.schemes[index] == "gaussian"]
        i = int(first[0]) if len(first) else int(index[0])
        candidates = second if len(first) and len(second) else index
        j = int(next(k for k in candidates if k != i))
        try:
            paths = interpolate(
                exp.ensemble[i],
                exp.ensemble[j],
                metric=exp.metric,
                n_points=n_points,
                loss=exp.task.loss,
            )
            floor = float(exp.task.loss.value(exp.task.least_squares()))
            for name in PATHS:
                axes.plot(
                    paths.times,
                    paths.losses[name] - floor,
                    marker=".",
                    label=name.replace("_", " "),
                )
            axes.set_xlabel("t")
            axes.set_ylabel("train loss - least-squares loss")
            axes.set_yscale("log")
            axes.legend(fontsize=8)
            axes.set_title(
                f"from network {i} ({exp.schemes[i]}) to {j} ({exp.schemes[j]})"
            )
            gauged = interpolate(
                exp.gauged[i],
                exp.gauged[j],
                metric=exp.metric,
                n_points=n_points,
                loss=exp.task.loss,
            )
            middle = paths.end_to_end["geodesic"][n_points // 2]

            def midpoint():
                total = float(
                    exp.metric.dist(
                        paths.end_to_end["geodesic"][0],
                        paths.end_to_end["geodesic"][-1],
                    )
                )
                half = float(exp.metric.dist(paths.end_to_end["geodesic"][0], middle))
                return abs(half - paths.times[n_points // 2] * total) / total

            checks.append(
                _guarded(
                    "geodesic: d(a, gamma(t)) = t d(a, b) at the midpoint",
                    TOL_MIDPOINT,
                    midpoint,
                )
            )
            for name in ("geodesic", "end_to_end_line", "aligned_weights"):
                checks.append(
                    _guarded(
                        f"{name}: loss under random gauges (max abs change)",
                        TOL_GAUGE,
                        lambda name=name: np.max(
                            np.abs(paths.losses[name] - gauged.losses[name])
                        ),
                    )
                )
            peak = {name: float(np.max(paths.losses[name])) for name in PATHS}
            summary = markdown_table(
                ("path", "max loss along the path"), list(peak.items())
            )
        except Exception as exc:  # noqa: BLE001
            checks.append(_failed("interpolation", exc, TOL_MIDPOINT))
            summary = "Not computed."
        name = save_figure(ctx, figure, FIGURE_PATHS)
        text = (
            "### (e) Interpolation between two networks\n\n"
            "Loss along the g^N geodesic, the straight line in X, and the naive and "
            "gauge-aligned straight lines in the weights (mode connectivity); the "
            "figure shows the excess over the least-squares loss.\n\n"
            + summary
            + "\n\n"
            + markdown_table(
                ("check", "value", "tolerance", "result"),
                [(c.name, c.value, c.tolerance, c.verdict) for c in checks],
            )
            + f"\n\n![interpolation]({name})"
        )
        return text, checks, name

    return part


def _part_clusters(exp: _Experiment):
    def part(ctx: ReportContext):
        try:
            labels = KMedoids(2, random_state=ctx.seed).fit(exp.distances()).labels_
            rows = [
                (
                    scheme,
                    int(np.sum((exp.schemes[exp.index] == scheme) & (labels == c))),
                    c,
                )
                for scheme in ("balanced", "gaussian")
                for c in (0, 1)
            ]
            table = markdown_table(("init", "networks", "k-medoids cluster"), rows)
        except Exception as exc:  # noqa: BLE001
            table = f"Not computed: {type(exc).__name__}: {exc}"
        return (
            "### (f) Clusters\n\nk-medoids (k = 2) on the g^N distances of the "
            "component, against the initialization scheme.\n\n" + table,
            [],
        )

    return part


def section(ctx: ReportContext) -> SectionResult:
    """Statistics of a trained ensemble on the digits task (module docstring)."""
    try:
        exp = _Experiment(ctx)
    except Exception as exc:  # noqa: BLE001 - the report goes on
        return SectionResult(
            title=TITLE,
            body="The ensemble could not be trained.",
            checks=[_failed("training the ensemble", exc, 0.0)],
        )
    intro = (
        "Statistics of an ensemble of trained linear networks on the end-to-end "
        "matrices with the metric g^N, i.e. modulo the gauge symmetry "
        "(`geomstats_dln.statistics`, `clustering`, `interpolation`). Every "
        "statistic is checked for invariance under random orthogonal gauges "
        "applied to the networks."
    )
    parts = [
        _part_ensemble(exp),
        _part_distances(exp),
        _part_mean(exp),
        _part_pca(exp),
        _part_interpolation(exp),
        _part_clusters(exp),
    ]
    return assemble_section(ctx, TITLE, intro, parts)
