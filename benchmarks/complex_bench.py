"""Benchmarks of the complex network downstairs (issue 14).

Ratios against baselines measured in the same run:

1. The real path after the change: ``apply_operator`` (which now chooses
   transposes or conjugate transposes by dtype) against the same formula
   written with plain transposes, the code path before complex support.
   Target: overhead below 10% at d = 32 (none expected at the SVD's scale).
2. ``DLNMetric.inner_product`` on complex d x d matrices against real ones of
   the same size (complex SVD and products: about 2-4x expected).
3. ``DLNBuresWassersteinMetric`` on ``HPDMatrices`` against geomstats'
   ``HPDBuresWassersteinMetric`` (inner product, squared distance).

Run: ``nice -n 15 .venv/bin/python benchmarks/complex_bench.py``.
"""

from __future__ import annotations

import timeit

import numpy as np
from tqdm import tqdm

import geomstats.backend as gs
from geomstats.geometry.hpd_matrices import HPDBuresWassersteinMetric, HPDMatrices

from geomstats_dln import DLNBuresWassersteinMetric, EndToEndMatrices
from geomstats_dln._spectral import apply_operator, svd_frame


def _best(function, number: int, repeat: int = 7) -> float:
    """Best time of one call, in seconds (min over repeats of the mean)."""
    return min(timeit.repeat(function, number=number, repeat=repeat)) / number


def _transpose_only_apply(frame, tangent_vec, power=1.0):
    """``apply_operator`` as it was before complex support (real transposes)."""
    if frame.transposed:
        tangent_vec = gs.moveaxis(tangent_vec, -1, -2)
    left, right = frame.left, frame.right
    left_t = gs.moveaxis(left, -1, -2)
    right_t = gs.moveaxis(right, -1, -2)
    rotated = gs.matmul(gs.matmul(left_t, tangent_vec), right)
    result = gs.matmul(gs.matmul(left, frame.coefficients**power * rotated), right_t)
    if right.shape[-2] > right.shape[-1]:
        null_part = tangent_vec - gs.matmul(gs.matmul(tangent_vec, right), right_t)
        scale = frame.null_coefficients**power
        result = result + gs.matmul(
            left, scale[..., :, None] * gs.matmul(left_t, null_part)
        )
    if frame.transposed:
        result = gs.moveaxis(result, -1, -2)
    return result


def _complex_gaussian(rng, shape):
    return rng.normal(size=shape) + 1j * rng.normal(size=shape)


def main() -> None:
    rng = np.random.default_rng(0)
    rows = []
    for dim in tqdm((3, 32), desc="real path"):
        point = rng.normal(size=(dim, dim)) + 2 * np.eye(dim)
        vector = rng.normal(size=(dim, dim))
        frame = svd_frame(point, 3)
        np.testing.assert_allclose(
            apply_operator(frame, vector, -1.0),
            _transpose_only_apply(frame, vector, -1.0),
            atol=0,
        )
        number = 2000 if dim == 3 else 300
        new = _best(lambda f=frame, v=vector: apply_operator(f, v, -1.0), number)
        old = _best(lambda f=frame, v=vector: _transpose_only_apply(f, v, -1.0), number)
        rows.append((f"apply_operator real, d = {dim}", new, old, "transposes only"))

    for dim in tqdm((3, 32), desc="complex vs real"):
        real_metric = EndToEndMatrices(dim, depth=3).metric
        point = rng.normal(size=(dim, dim)) + 2 * np.eye(dim)
        vector = rng.normal(size=(dim, dim))
        complex_point = point + 0.3 * _complex_gaussian(rng, (dim, dim))
        complex_vector = _complex_gaussian(rng, (dim, dim))
        number = 1000 if dim == 3 else 100
        real_time = _best(
            lambda m=real_metric, v=vector, x=point: m.inner_product(v, v, x), number
        )
        complex_time = _best(
            lambda m=real_metric, v=complex_vector, x=complex_point: m.inner_product(
                v, v, x
            ),
            number,
        )
        rows.append(
            (f"inner_product complex, d = {dim}", complex_time, real_time, "real")
        )

    dim = 8
    space = HPDMatrices(dim, equip=False)
    ours, theirs = DLNBuresWassersteinMetric(space), HPDBuresWassersteinMetric(space)
    factor = _complex_gaussian(rng, (2, dim, dim))
    point_a, point_b = factor @ np.conj(np.swapaxes(factor, -1, -2)) + np.eye(dim)
    vector = _complex_gaussian(rng, (dim, dim))
    hermitian = vector + vector.conj().T
    for name, mine, reference in (
        (
            "HPD inner_product",
            lambda: ours.inner_product(hermitian, hermitian, point_a),
            lambda: theirs.inner_product(hermitian, hermitian, point_a),
        ),
        (
            "HPD squared_dist",
            lambda: ours.squared_dist(point_a, point_b),
            lambda: theirs.squared_dist(point_a, point_b),
        ),
    ):
        rows.append(
            (
                f"{name}, d = {dim}",
                _best(mine, 500),
                _best(reference, 500),
                "geomstats HPD BW",
            )
        )

    print(
        f"{'measurement':36s} {'time':>10s} {'baseline':>10s} {'ratio':>7s}  baseline"
    )
    for name, time, baseline, what in rows:
        print(
            f"{name:36s} {time * 1e6:8.1f}us {baseline * 1e6:8.1f}us "
            f"{time / baseline:7.2f}  {what}"
        )


if __name__ == "__main__":
    main()
