"""Statistics of a trained ensemble modulo the gauge, on scikit-learn's digits.

Trains 16 linear networks (depth 3, width 4) from two initialization schemes,
round-trips them through PyTorch (when installed) and an ``.npz`` file, and
computes on (M, g^3) of the end-to-end matrices: the determinant components,
the distance matrix, the Frechet mean against the naive and aligned weight
averages, tangent PCA, k-medoids clusters and the loss along four paths
between two networks. Runs in well under a minute.

    python examples/ensemble_statistics.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from geomstats_dln.clustering import KMedoids
from geomstats_dln.datasets import digits_regression, train_ensemble
from geomstats_dln.interpolation import PATHS, interpolate
from geomstats_dln.networks import NetworkEnsemble
from geomstats_dln.statistics import (
    FrechetMean,
    TangentPCA,
    aligned_weight_average,
    group_by_component,
    naive_weight_average,
    pairwise_distances,
)


def main() -> None:
    task = digits_regression(n_components=4, seed=0)
    layers = np.concatenate(
        [
            train_ensemble(task, n_networks=8, depth=3, init=init, seed=seed)
            for seed, init in enumerate(("balanced", "gaussian"))
        ]
    )
    ensemble = NetworkEnsemble.from_array(layers)
    try:  # the PyTorch round trip: modules of bias-free nn.Linear layers
        ensemble = NetworkEnsemble.from_torch(ensemble.to_torch())
    except ImportError:
        print("(PyTorch not installed: skipping the torch round trip)")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ensemble.npz"
        ensemble.to_npz(path)  # the format of `geomstats-dln analyze`
        ensemble = NetworkEnsemble.from_npz(path)
    print(ensemble)

    points = ensemble.end_to_end()
    groups = group_by_component(points)
    for label, index in groups.items():
        print(f"det {'>' if label > 0 else '<'} 0: networks {[int(i) for i in index]}")
    label, index = max(groups.items(), key=lambda item: len(item[1]))
    part = ensemble[index]

    distances = pairwise_distances(part)
    print(
        f"g^3 distances in the largest component: median "
        f"{np.median(distances[np.triu_indices(len(part), 1)]):.4f}"
    )

    mean = FrechetMean().fit(part)
    print(
        f"Frechet mean: |mean log|_g = {mean.gradient_norm_:.1e}, "
        f"rms distance {np.sqrt(mean.variance_):.4f}"
    )
    lift = mean.lift()
    for name, network in (
        ("Frechet mean, balanced lift", lift),
        ("aligned weight average", aligned_weight_average(part)),
        ("naive weight average", naive_weight_average(part)),
    ):
        loss = float(task.test_loss.value(network.end_to_end()))
        print(
            f"  {name:28s} test loss {loss:.4f}  |G|/|W|^2 "
            f"{network.balance_defect(relative=True):.1e}"
        )

    pca = TangentPCA(base_point=mean.mean_).fit(part)
    np.set_printoptions(precision=3)
    print("tangent PCA (g^3 coordinates):", pca.explained_variance_ratio_[:3])
    print("tangent PCA (entry coordinates):", pca.entry_explained_variance_ratio_[:3])

    clusters = KMedoids(2, random_state=0).fit(distances)
    print("k-medoids clusters:", clusters.labels_)

    paths = interpolate(part[0], part[-1], n_points=7, loss=task.loss)
    for name in PATHS:
        print(f"  max loss along {name:16s} {np.max(paths.losses[name]):.5f}")


if __name__ == "__main__":
    main()
