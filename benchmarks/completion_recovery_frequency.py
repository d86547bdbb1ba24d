"""How often deep matrix completion recovers the truth, per count, over seeds.

Usage (from the repository root; about 4.5 s per seed and count on one core)::

    .venv/bin/python benchmarks/completion_recovery_frequency.py
        [--first 0] [--last 99] [--counts 200,250,300] [--redraw]
        [--output results.jsonl]

For each seed and count, the instance of the report's part (b) (30 x 30 truth
of rank 2, ``s_1 = 1``): without ``--redraw`` the first mask
(:func:`completion_instance`), with it the mask the report uses
(:func:`identifiable_completion_instance`, redrawn until the margin of
``P_Omega`` on ``T_M M_2`` is at least ``COMPLETION_MIN_MARGIN``). Depths 2, 3,
4 by gradient descent (the report's settings) and nuclear-norm minimization.
Writes one JSON line per (seed, count) and prints, per count and over the draws
with margin >= ``COMPLETION_MIN_MARGIN``, how many recover (error < 0.05) by
depths 3/4, depth 2 and nuclear norm, and the largest ratio of the depth-3/4
error to the depth-2 error.
"""

from __future__ import annotations

import argparse
import json
import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402


def measure(seed: int, count: int, redraw: bool) -> dict:
    """Margin, draws, errors and effective ranks of one instance."""
    from geomstats_dln.dynamics import effective_rank
    from geomstats_dln.report.low_rank_section import (
        COMPLETION_MIN_MARGIN,
        completion_instance,
        deep_completion_run,
        identifiable_completion_instance,
        nuclear_norm_completion,
        tangent_sampling_margin,
    )

    if redraw:
        loss, truth, margin, draws = identifiable_completion_instance(
            30, 2, count, seed, COMPLETION_MIN_MARGIN
        )
    else:
        loss, truth = completion_instance(30, 2, count, seed)
        margin, draws = tangent_sampling_margin(loss.mask, truth, 2), 1
    mask = np.asarray(loss.mask, dtype=bool)
    record = {
        "seed": seed,
        "count": count,
        "margin": margin,
        "draws": draws,
        "fewest": int(min(mask.sum(0).min(), mask.sum(1).min())),
        "truth_erank": float(effective_rank(truth)),
    }
    norm = np.linalg.norm(truth)
    for depth in (2, 3, 4):
        _, final = deep_completion_run(loss, depth, 1e-4, 0.5, 20000, 1000)
        record[f"e{depth}"] = float(np.linalg.norm(final - truth) / norm)
        record[f"r{depth}"] = float(effective_rank(final))
    record["nuc"] = float(np.linalg.norm(nuclear_norm_completion(loss) - truth) / norm)
    return record


def summary(records: list[dict], min_margin: float) -> list[str]:
    """One line per count over the draws with margin >= ``min_margin``."""
    lines = []
    for count in sorted({r["count"] for r in records}):
        every = [r for r in records if r["count"] == count]
        kept = [r for r in every if r["margin"] >= min_margin]
        if not kept:
            lines.append(f"{count}: no draw with margin >= {min_margin}")
            continue
        deep = [min(r["e3"], r["e4"]) for r in kept]
        lines.append(
            f"{count} entries: {len(kept)} of {len(every)} draws with margin >= "
            f"{min_margin}; error < 0.05: depth 3/4 {sum(d < 0.05 for d in deep)}, "
            f"depth 2 {sum(r['e2'] < 0.05 for r in kept)}, nuclear norm "
            f"{sum(r['nuc'] < 0.05 for r in kept)}; largest depth-3/4 / depth-2 "
            f"error {max(d / r['e2'] for d, r in zip(deep, kept, strict=True)):.3g}"
        )
    return lines


def main() -> None:
    from geomstats_dln.report.low_rank_section import COMPLETION_MIN_MARGIN

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--last", type=int, default=99)
    parser.add_argument("--counts", default="200,250,300")
    parser.add_argument("--redraw", action="store_true")
    parser.add_argument("--output", default=None, help="JSON lines file")
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    records = []
    for seed in range(args.first, args.last + 1):
        for count in counts:
            record = measure(seed, count, args.redraw)
            records.append(record)
            line = json.dumps(record)
            print(line, flush=True)
            if args.output is not None:
                with open(args.output, "a", encoding="utf-8") as handle:
                    handle.write(line + "\n")
    print("\n".join(summary(records, COMPLETION_MIN_MARGIN)))


if __name__ == "__main__":
    main()
