"""Incremental learning from small initialization (saddle-to-saddle dynamics).

The g^N gradient flow of 1/2 |X - Y|^2 with Y = diag(4, 2, 1, 0.5) from small
positive definite starts X_0 = scale * expm(S): the loss plateaus and the
singular values are learned one at a time, the largest first; the smaller the
scale, the longer the plateaus (log(1/scale) for N = 2, scale^{-(N-2)/N} for
N >= 3). Each mode's learning time is compared with the scalar ODE
x' = N x^{2(N-1)/N} (y - x). Writes incremental_learning.png. About 10 s.

    python examples/incremental_learning.py
"""

import numpy as np

from geomstats_dln.report._framework import new_figure
from geomstats_dln.report.low_rank_section import (
    crossing_time,
    incremental_learning_run,
    scalar_mode_time,
)

targets = np.array([4.0, 2.0, 1.0, 0.5])
scales, depths = (1e-2, 1e-3, 1e-4), (2, 3, 4)
figure = new_figure(figsize=(13, 10), layout="constrained")
axes = figure.subplots(len(depths), len(scales))
print("N  scale   half-times of s_1..s_4 (measured / scalar ODE)")
for row, depth in enumerate(depths):
    for col, scale in enumerate(scales):
        t_final = 3.0 * scalar_mode_time(scale, 0.9 * targets[-1], targets[-1], depth)
        run = incremental_learning_run(targets, depth, scale, t_final, aligned=False)
        halves = [crossing_time(run, i, y / 2) for i, y in enumerate(targets)]
        predicted = [scalar_mode_time(scale, y / 2, y, depth) for y in targets]
        print(
            f"{depth}  {scale:.0e}  "
            + "  ".join(
                f"{h:8.3g}/{p:<8.3g}" for h, p in zip(halves, predicted, strict=True)
            )
        )
        axis = axes[row, col]
        axis.semilogx(run.times[1:], run["singular_values"][1:])
        twin = axis.twinx()
        # below ~1e-14 the loss is the integrator's rounding (rtol 1e-9), not shown
        loss = np.where(run["loss"][1:] > 1e-14, run["loss"][1:], np.nan)
        twin.loglog(run.times[1:], loss, "k:", lw=1)
        twin.set_ylim(1e-14, 100.0)
        twin.set_yticks([1e-12, 1e-8, 1e-4, 1.0])
        axis.set(title=f"N = {depth}, scale {scale:g}", xlabel="t")
        if col == 0:
            axis.set_ylabel("singular values s_i (lines)")
        if col == len(scales) - 1:
            twin.set_ylabel("loss (dotted)")
figure.savefig("incremental_learning.png", dpi=110, bbox_inches="tight")
print("wrote incremental_learning.png")
