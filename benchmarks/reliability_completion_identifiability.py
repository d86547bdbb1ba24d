"""Identifiability of the quick report's matrix-completion draws (section 8 (b)).

Usage (from the repository root)::

    .venv/bin/python benchmarks/reliability_completion_identifiability.py
        [--first 0] [--last 99] [--count 200] [--n 30] [--rank 2]

For each seed, the instance ``completion_instance(n, rank, count, seed)`` of
``report --quick`` (truth ``M`` of rank ``r``, ``count`` entries observed
uniformly). ``M`` is locally identifiable from the observed set ``Omega``
exactly when the sampling map ``P_Omega`` restricted to the tangent space
``T_M M_r = {U A^T + B V^T}`` is injective, i.e. its matrix (one row per
observed entry, columns the ``2 n r`` coordinates of ``A`` and ``B``) has rank
``dim M_r = r (2 n - r)``. Prints, per seed, that rank, its smallest relevant
singular value ``sigma`` (0 when not identifiable), and the fewest entries
observed in a row or column (a row or column with fewer than ``r`` entries
makes the completion non-unique); then the counts.
"""

from __future__ import annotations

import argparse

import numpy as np


def tangent_sampling_spectrum(mask, truth, rank):
    """Singular values of ``P_Omega`` on ``T_M M_r`` (largest first)."""
    n, m = truth.shape
    left, _, right_t = np.linalg.svd(truth)
    u, v = left[:, :rank], right_t[:rank].T
    rows, cols = np.nonzero(mask)
    # Z = U A^T + B V^T: Z_ij = U_i . A_j + B_i . V_j, A [m, r], B [n, r]
    matrix = np.zeros((len(rows), (m + n) * rank))
    for k, (i, j) in enumerate(zip(rows, cols, strict=True)):
        matrix[k, j * rank : (j + 1) * rank] = u[i]
        matrix[k, (m + i) * rank : (m + i + 1) * rank] = v[j]
    return np.linalg.svd(matrix, compute_uv=False)


def main() -> None:
    from geomstats_dln.report.low_rank_section import completion_instance

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--last", type=int, default=99)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--rank", type=int, default=2)
    args = parser.parse_args()
    n, rank = args.n, args.rank
    dimension = rank * (2 * n - rank)
    identifiable, thin = 0, 0
    for seed in range(args.first, args.last + 1):
        loss, truth = completion_instance(n, rank, args.count, seed)
        mask = np.asarray(loss.mask, dtype=bool)
        spectrum = tangent_sampling_spectrum(mask, truth, rank)
        matrix_rank = int(np.sum(spectrum > 1e-10 * spectrum[0]))
        sigma = float(spectrum[dimension - 1]) if matrix_rank >= dimension else 0.0
        fewest = int(min(mask.sum(axis=0).min(), mask.sum(axis=1).min()))
        identifiable += matrix_rank >= dimension
        thin += fewest < rank
        print(
            f"seed {seed}: rank {matrix_rank} of {dimension}, sigma {sigma:.3g}, "
            f"fewest entries in a row or column {fewest}"
        )
    total = args.last - args.first + 1
    print(
        f"{identifiable} of {total} draws identifiable ({args.count} entries of "
        f"{n} x {n}, rank {rank}); {thin} have a row or column with fewer than "
        f"{rank} entries"
    )


if __name__ == "__main__":
    main()
