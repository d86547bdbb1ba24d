"""A report folder on a user's own ensemble: ``geomstats-dln analyze ENSEMBLE.npz``.

:func:`analyze_ensemble` loads an ensemble ``.npz`` (the format of
:mod:`geomstats_dln.networks`), computes its statistics modulo the gauge on
``(M, g^N)`` (:mod:`geomstats_dln.statistics`, :mod:`geomstats_dln.clustering`)
and writes ``analysis.md`` with figures: invariants of every network, the
determinant components, the distance matrix (heat map), an MDS embedding per
component, the Frechet mean of each component and its balanced lift (saved as
an ensemble ``.npz`` of one network), tangent PCA and k-medoids clusters.
Parts that cannot be computed say why instead of stopping the analysis.
"""

from __future__ import annotations

import math
from os import PathLike
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from geomstats_dln.clustering import KMedoids, mds_embedding
from geomstats_dln.networks import NetworkEnsemble
from geomstats_dln.statistics import (
    FrechetMean,
    TangentPCA,
    dln_metric,
    group_by_component,
    pairwise_distances,
)

__all__ = ["ANALYSIS_FILE", "analyze_ensemble"]

ANALYSIS_FILE = "analysis.md"


def _table(headers, rows) -> str:
    def cell(value):
        if isinstance(value, float):
            value = f"{value:.4g}" if math.isfinite(value) else str(value)
        return str(value).replace("|", "\\|")

    lines = [
        "| " + " | ".join(map(cell, headers)) + " |",
        "|" + " --- |" * len(headers),
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _figure(**kwargs) -> Figure:
    figure = Figure(**kwargs)
    FigureCanvasAgg(figure)
    return figure


def _component_name(label: int) -> str:
    return {1: "det > 0", -1: "det < 0", 0: "rectangular"}[int(label)]


def analyze_ensemble(
    ensemble: NetworkEnsemble | str | PathLike,
    output_dir: str | PathLike,
    depth_metric: int | None = None,
    n_clusters: int = 2,
    n_jobs: int | None = None,
    seed: int = 0,
    progress: bool | None = None,
) -> Path:
    """Analyze an ensemble and write ``output_dir/analysis.md`` with figures.

    Parameters
    ----------
    ensemble : NetworkEnsemble or path
        The networks, or an ensemble ``.npz``.
    output_dir : path
        Created if absent.
    depth_metric : int, optional
        ``N`` of ``g^N``; defaults to the networks' depth.
    n_clusters : int
        k-medoids clusters per component (at most the component's size).
    n_jobs : int, optional
        joblib workers for the distance matrix.
    seed : int
    progress : bool, optional

    Returns
    -------
    path : pathlib.Path
        The written ``analysis.md``.

    Raises
    ------
    ValueError
        On an unreadable file, networks whose end-to-end matrices are not full
        rank, or bad options (one line each).
    TypeError
        When ``ensemble`` is neither a :class:`NetworkEnsemble` nor a path
        (an array, complex or real, is named with its dtype).
    """
    source = ensemble
    if not isinstance(ensemble, (NetworkEnsemble, str, PathLike)):
        dtype = getattr(ensemble, "dtype", None)
        raise TypeError(
            "analyze_ensemble: ensemble must be a NetworkEnsemble or the path of an "
            f"ensemble .npz, got {type(ensemble).__name__}"
            + ("" if dtype is None else f" of dtype {dtype}")
        )
    if not isinstance(ensemble, NetworkEnsemble):
        ensemble = NetworkEnsemble.from_npz(ensemble)
    depth = ensemble.depth if depth_metric is None else depth_metric
    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 1:
        raise ValueError(f"--depth-metric must be a positive integer, got {depth!r}")
    if isinstance(n_clusters, bool) or int(n_clusters) < 1:
        raise ValueError(f"n_clusters must be a positive integer, got {n_clusters!r}")
    points = ensemble.end_to_end()
    invariants = [network.invariants() for network in ensemble]
    deficient = [
        i for i, inv in enumerate(invariants) if inv["rank"] < min(points.shape[1:])
    ]
    if deficient:
        raise ValueError(
            f"networks {deficient[:5]} have rank-deficient end-to-end matrices: "
            "g^N is defined on full-rank matrices only"
        )
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    metric = dln_metric(points, depth)
    groups = group_by_component(points)
    label_of_source = "ensemble" if isinstance(source, NetworkEnsemble) else source
    blocks = [
        "# Ensemble analysis, modulo the gauge",
        f"Source: `{label_of_source}`; "
        f"{len(ensemble)} networks of widths {' -> '.join(map(str, ensemble.widths))}; "
        f"statistics of the end-to-end matrices on (M, g^{depth}).",
    ]

    # invariants
    rows = []
    for index, inv in enumerate(invariants):
        s = inv["singular_values"]
        rows.append(
            (
                index,
                _component_name(inv["determinant_sign"] or 0),
                inv["rank"],
                float(s[0]),
                float(s[-1]),
                inv["relative_balance_defect"],
                " ".join(f"{v:.3g}" for v in inv["layer_norms"]),
            )
        )
    blocks += [
        "## Invariants",
        "Rank, component and singular values are gauge invariant; the balance "
        "defect |G|/|W|^2 is zero for balanced networks.",
        _table(
            (
                "network",
                "component",
                "rank",
                "s_max",
                "s_min",
                "|G|/|W|^2",
                "layer norms",
            ),
            rows,
        ),
        "## Determinant components",
        "No path of invertible matrices changes the sign of det X: the signs are "
        "the components of M, at infinite distance from each other. Each "
        "component is analyzed separately.",
        _table(
            ("component", "networks"),
            [(_component_name(label), len(index)) for label, index in groups.items()],
        ),
    ]

    # distances
    distances = pairwise_distances(
        points, metric=metric, n_jobs=n_jobs, errors="nan", progress=progress
    )
    failed = int(np.sum(np.isnan(distances)) // 2)
    figure = _figure(figsize=(5.5, 4.5))
    axes = figure.add_subplot()
    order = np.concatenate(list(groups.values()))
    shown = np.where(np.isfinite(distances), distances, np.nan)[np.ix_(order, order)]
    image = axes.imshow(shown, cmap="viridis")
    figure.colorbar(image, ax=axes, label=f"$g^{{{depth}}}$ distance")
    axes.set_title("distance matrix (blank: other component / failed)")
    axes.set_xlabel("network (grouped by component)")
    if len(order) <= 30:  # tick labels are the networks' indices in the file
        axes.set_xticks(range(len(order)), labels=[str(i) for i in order], fontsize=7)
        axes.set_yticks(range(len(order)), labels=[str(i) for i in order], fontsize=7)
    figure.savefig(output / "distances.png", dpi=110, bbox_inches="tight")
    np.savetxt(output / "distances.csv", distances, delimiter=",")
    blocks += [
        "## Distances",
        f"g^{depth} geodesic distances (`distances.csv`); {failed} pair(s) failed "
        "(NaN). Between components the distance is infinite.",
        "![distances](distances.png)",
    ]

    # per component: embedding, mean, PCA, clusters
    figure = _figure(figsize=(5 * len(groups), 4.2))
    mean_rows, pca_rows, cluster_rows = [], [], []
    for panel, (label, index) in enumerate(groups.items(), start=1):
        name = _component_name(label)
        block = distances[np.ix_(index, index)]
        axes = figure.add_subplot(1, len(groups), panel)
        axes.set_title(f"MDS embedding, {name}")
        usable = not np.any(np.isnan(block))
        if len(index) > 2 and usable:
            embedding = mds_embedding(block, random_state=seed)
            k = min(int(n_clusters), len(index))
            medoids = KMedoids(k, random_state=seed).fit(block)
            scatter = axes.scatter(*embedding.T, c=medoids.labels_, cmap="tab10")
            for i, (u, v) in zip(index, embedding, strict=True):
                axes.annotate(str(i), (u, v), fontsize=7)
            axes.legend(*scatter.legend_elements(), title="cluster", fontsize=7)
            for c in range(k):
                members = index[medoids.labels_ == c]
                cluster_rows.append(
                    (
                        name,
                        c,
                        int(index[medoids.medoid_indices_[c]]),
                        " ".join(map(str, members)),
                    )
                )
        else:
            axes.text(
                0.5,
                0.5,
                "not embedded: "
                + ("fewer than 3 networks" if usable else "failed distances"),
                ha="center",
                transform=axes.transAxes,
            )
        if len(index) < 2:
            mean_rows.append((name, "not computed: one network", "", "", ""))
            continue
        try:
            mean = FrechetMean(metric=metric).fit(ensemble[index])
            lift = mean.lift()
            lift.to_npz(output / f"mean_network_{'pos' if label >= 0 else 'neg'}.npz")
            start = math.sqrt(float(metric.squared_dist(mean.mean_, mean.init_point_)))
            mean_rows.append(
                (
                    name,
                    f"{mean.gradient_norm_:.2e}",
                    f"{math.sqrt(mean.variance_):.4g}",
                    f"{start:.2e}",
                    f"mean_network_{'pos' if label >= 0 else 'neg'}.npz",
                )
            )
            pca = TangentPCA(metric=metric, base_point=mean.mean_).fit(ensemble[index])
            ratios = pca.explained_variance_ratio_[: min(5, pca.n_components_)]
            entry = pca.entry_explained_variance_ratio_[: len(ratios)]
            pca_rows.append(
                (
                    name,
                    " ".join(f"{r:.3f}" for r in ratios),
                    " ".join(f"{r:.3f}" for r in entry),
                )
            )
        except (ValueError, RuntimeError, np.linalg.LinAlgError) as exc:
            # GeodesicError is a RuntimeError: reported, the analysis goes on
            mean_rows.append(
                (name, f"not computed: {type(exc).__name__}: {exc}"[:200], "", "", "")
            )
    figure.savefig(output / "embedding.png", dpi=110, bbox_inches="tight")
    blocks += [
        "## Embedding and clusters",
        "Metric MDS of the g^N distances in each component, coloured by k-medoids "
        "cluster (on the same distances).",
        "![embedding](embedding.png)",
        _table(("component", "cluster", "medoid", "networks"), cluster_rows)
        if cluster_rows
        else "No clusters computed.",
        "## Frechet mean",
        "Frechet mean of each component (geomstats FrechetMean on g^N, started "
        "from the balanced gauge-aligned weight average), its first-order "
        "residual |mean log|, the root-mean-square distance to it, the distance "
        "from the starting point, and its balanced lift.",
        _table(
            ("component", "|mean log|_g", "rms distance", "d(start, mean)", "lift"),
            mean_rows,
        ),
        "## Tangent PCA",
        "Explained variance ratios of the logarithms at the mean, in "
        "g^N-orthonormal coordinates, and (for comparison) in entry coordinates "
        "as geomstats' TangentPCA computes them.",
        _table(("component", "g^N ratios", "entry ratios"), pca_rows)
        if pca_rows
        else "No PCA computed.",
    ]
    path = output / ANALYSIS_FILE
    path.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")
    return path
