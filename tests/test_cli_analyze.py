"""Tests of ``geomstats-dln analyze ENSEMBLE.npz``: the report folder and bad files.

The numbers written are checked against independent calls: ``DLNMetric.dist``
for the distance matrix, ``DLNMetric.log`` for the first-order condition at
the saved mean network, the networks' own invariants for the table.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from geomstats_dln.balanced import center, gauge_action, random_gauges
from geomstats_dln.cli import main
from geomstats_dln.end_to_end import EndToEndMatrices
from geomstats_dln.networks import LinearNetwork, NetworkEnsemble

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DEPTH = 2


def _layers(n_positive=3, n_negative=2, seed=0):
    rng = np.random.default_rng(seed)
    base = np.eye(3) + 0.2 * rng.normal(size=(3, 3))
    matrices = base + 0.05 * rng.normal(size=(n_positive + n_negative, 3, 3))
    matrices[n_positive:] *= -1.0  # det(-X) = -det X: the other component
    layers = np.stack([np.asarray(center(x, DEPTH)) for x in matrices])
    gauges = np.asarray(random_gauges(DEPTH, 3, len(layers)))
    return np.asarray(gauge_action(gauges, layers))


def _one_line_error(result) -> str:
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def test_analyze_writes_the_report(tmp_path: Path) -> None:
    layers = _layers()
    path = tmp_path / "ensemble.npz"
    np.savez(path, layers=layers)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["analyze", str(path), "-o", str(out), "--n-jobs", "1"]
    )
    assert result.exit_code == 0, result.output
    report = out / "analysis.md"
    assert result.stdout.strip() == str(report)
    text = report.read_text(encoding="utf-8")
    for heading in (
        "## Invariants",
        "## Determinant components",
        "## Distances",
        "## Embedding and clusters",
        "## Frechet mean",
        "## Tangent PCA",
    ):
        assert heading in text
    for figure in ("distances.png", "embedding.png"):
        assert (out / figure).read_bytes()[:8] == PNG_MAGIC
    # distances against DLNMetric.dist; inf across components
    ensemble = NetworkEnsemble.from_array(layers)
    points = ensemble.end_to_end()
    metric = EndToEndMatrices(3, depth=DEPTH).metric
    distances = np.loadtxt(out / "distances.csv", delimiter=",")
    assert distances[0, 1] == pytest.approx(
        float(metric.dist(points[0], points[1])), 1e-10
    )
    assert distances[3, 4] == pytest.approx(
        float(metric.dist(points[3], points[4])), 1e-10
    )
    assert np.isinf(distances[0, 4])
    # the saved mean network of the det > 0 component: balanced, first-order condition
    mean = LinearNetwork.from_npz(out / "mean_network_pos.npz")
    assert mean.balance_defect(relative=True) <= 1e-12
    logs = np.asarray(metric.log(points[:3], mean.end_to_end()))
    residual = math.sqrt(
        float(metric.squared_norm(logs.mean(axis=0), mean.end_to_end()))
    )
    assert residual <= 1e-8
    assert (out / "mean_network_neg.npz").is_file()
    # invariants table: the rank and s_min of network 0
    s_min = np.linalg.svd(points[0], compute_uv=False)[-1]
    assert "| 0 | det > 0 | 3 |" in text and f"{s_min:.4g}" in text


def test_analyze_unequal_widths_and_depth_metric(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    base = [rng.normal(size=(4, 3)), rng.normal(size=(3, 4))]
    stacked = [
        np.stack([layer + 0.02 * rng.normal(size=layer.shape) for _ in range(3)])
        for layer in base
    ]
    path = tmp_path / "wide.npz"
    np.savez(path, layer_1=stacked[0], layer_2=stacked[1])
    out = tmp_path / "wide"
    result = CliRunner().invoke(
        main,
        ["analyze", str(path), "-o", str(out), "--depth-metric", "3", "--n-jobs", "1"],
    )
    assert result.exit_code == 0, result.output
    text = (out / "analysis.md").read_text(encoding="utf-8")
    assert "3 -> 4 -> 3" in text and "g^3" in text
    lifted = LinearNetwork.from_npz(next(out.glob("mean_network_*.npz")))
    assert lifted.widths == (3, 4, 3)


def test_analyze_bad_files(tmp_path: Path) -> None:
    runner = CliRunner()
    message = _one_line_error(
        runner.invoke(main, ["analyze", str(tmp_path / "nope.npz")])
    )
    assert "no such file" in message
    text = tmp_path / "text.npz"
    text.write_text("hello")
    assert "not a readable .npz" in _one_line_error(
        runner.invoke(main, ["analyze", str(text)])
    )
    keys = tmp_path / "keys.npz"
    np.savez(keys, weights=np.ones((2, 2, 2)))
    assert "expected an array 'layers'" in _one_line_error(
        runner.invoke(main, ["analyze", str(keys)])
    )
    singular = tmp_path / "singular.npz"
    layers = np.ones((2, 2, 3, 3))
    np.savez(singular, layers=layers)
    assert "rank-deficient" in _one_line_error(
        runner.invoke(main, ["analyze", str(singular)])
    )
    good = tmp_path / "good.npz"
    np.savez(good, layers=_layers(2, 0))
    assert "--depth-metric" in _one_line_error(
        runner.invoke(main, ["analyze", str(good), "--depth-metric", "0"])
    )
