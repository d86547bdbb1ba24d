"""Train deep linear networks of depth N = 1..4 on a matrix-completion task.

Integrates the Riemannian gradient flow X' = -A_{N,X}(E'(X)) on (M_d, g^N)
(docs/mathematics.md §3), which is what upstairs training W' = -grad L(W) from a
balanced start does to the end-to-end matrix (Thm 2/3), and plots the loss and the
singular values of X over time: deeper networks learn one singular value at a
time. Writes ``train_dln.png``. Runs in about 10 seconds.

    python examples/train_dln.py
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from geomstats_dln import end_to_end  # noqa: E402
from geomstats_dln.dynamics import (  # noqa: E402
    initialize,
    integrate,
    riemannian_gradient_field,
)
from geomstats_dln.losses import completion_problem  # noqa: E402

loss, truth = completion_problem(10, rank=3, fraction=0.5, seed=0)
times = np.geomspace(1e-2, 150.0, 200)
figure, axes = plt.subplots(1, 2, figsize=(11, 4))
for depth in (1, 2, 3, 4):
    # small balanced start: every layer has singular values of order `scale`
    start = end_to_end(initialize("balanced", 10, depth, scale=0.25, seed=1))
    run = integrate(
        riemannian_gradient_field(loss, depth),
        start,
        150.0,
        rtol=1e-7,
        method="LSODA",
        t_eval=times,
    )
    print(
        f"N = {depth}: final loss {run['loss'][-1]:.2e}, effective rank "
        f"{run['effective_rank'][-1]:.2f}, {run.info['n_evaluations']} evaluations"
    )
    axes[0].loglog(run.times, run["loss"], label=f"N = {depth}")
    axes[1].semilogx(
        run.times, run["singular_values"][:, 0], f"C{depth - 1}", label=f"N = {depth}"
    )
    axes[1].semilogx(run.times, run["singular_values"][:, 1:4], f"C{depth - 1}")
axes[0].set(xlabel="t", ylabel="loss", title="loss")
axes[1].set(xlabel="t", ylabel="s_i(X(t))", title="top 4 singular values")
for axis in axes:
    axis.legend()
figure.tight_layout()
figure.savefig("train_dln.png", dpi=110)
print("wrote train_dln.png")
