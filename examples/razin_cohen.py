"""Razin and Cohen's 2 x 2 example: implicit regularization towards low rank,
not small norm (2020).

Observe X_12 = X_21 = 1 and X_22 = 0 and start with det X > 0. Every zero of the
loss, [[x, 1], [1, 0]], has det = -1; the g^N flow (N >= 2) cannot leave the
component det > 0 (its velocity is tangent to the rank-deficient strata), so it
runs off to infinity: X_11 and every norm diverge, the loss and the smallest
singular value tend to 0, and the effective rank tends to 1. The flow is
integrated in SVD coordinates (theta, phi, log s_1, log s_2), which keep det > 0
exactly. Writes razin_cohen.png. A few seconds.

    python examples/razin_cohen.py
"""

from geomstats_dln.report._framework import new_figure
from geomstats_dln.report.low_rank_section import RAZIN_COHEN_FINDING, razin_cohen_run

print(RAZIN_COHEN_FINDING)
figure = new_figure(figsize=(12, 3.8), layout="constrained")
axes = figure.subplots(1, 3)
for depth in (2, 3, 4):
    run = razin_cohen_run(depth, t_final=1e5)
    print(
        f"N = {depth}: at t = 1e5 |X| = {run['norm'][-1]:.3g}, "
        f"log s_2 = {run['log_s2'][-1]:.3g}, effective rank "
        f"{run['effective_rank'][-1]:.6f}, loss {run['loss'][-1]:.2e}"
    )
    axes[0].loglog(run.times[1:], run["norm"][1:], label=f"N={depth}")
    axes[1].semilogx(run.times[1:], run["effective_rank"][1:], label=f"N={depth}")
    axes[2].loglog(run.times[1:], run["loss"][1:], label=f"N={depth}")
for axis, label in zip(axes, ("|X|_F", "effective rank", "loss"), strict=True):
    axis.set(xlabel="t", ylabel=label)
    axis.legend()
figure.savefig("razin_cohen.png", dpi=110, bbox_inches="tight")
print("wrote razin_cohen.png")
