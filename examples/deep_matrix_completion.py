"""Deep matrix completion in the setting of Arora, Cohen, Hu and Luo (2019).

A 100 x 100 matrix of rank 5 (largest singular value 1), 2,000 to 5,000 observed
entries, networks of depth 2, 3, 4 of width 100 trained by gradient descent on
the layers (step 0.5) from a small balanced start (X_0 = 1e-4 G), against
nuclear-norm minimization (cvxpy, SCS). Prints the reconstruction errors and
effective ranks and writes deep_matrix_completion.png (error against the number
of observations; singular values and effective rank over time). Takes about
4 minutes (20,000 steps, measured on a loaded 2-core machine; 12 minutes for
60,000); pass --quick for a 30 x 30 rank-2 version. --init-scale sets the size
of X_0: the smaller, the closer the result to the small-initialization limit
(and the longer the plateaus, as scale^{-(N-2)/N} for depth N >= 3).

    python examples/deep_matrix_completion.py [--quick] [--steps 20000]
        [--init-scale 1e-4]
"""

import argparse

from geomstats_dln.report._framework import new_figure
from geomstats_dln.report.low_rank_section import ARORA_FINDING, completion_experiment

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true")
parser.add_argument("--steps", type=int, default=20000)
parser.add_argument("--init-scale", type=float, default=1e-4)
parser.add_argument("--output", default="deep_matrix_completion.png")
args = parser.parse_args()

if args.quick:
    n, rank, counts = 30, 2, (120, 200, 300, 450)
else:
    n, rank, counts = 100, 5, (2000, 3000, 4000, 5000)
depths = (2, 3, 4)
result = completion_experiment(
    n,
    rank,
    counts,
    depths,
    n_steps=args.steps,
    init_scale=args.init_scale,
    progress=True,
)

print(ARORA_FINDING)
print(f"\n{n} x {n}, rank {rank}: |X - M| / |M| (effective rank)")
print("observed  " + "  ".join(f"depth {d:<12}" for d in depths) + "  nuclear norm")
nuclear = result["nuclear"]
for k, count in enumerate(counts):
    cells = [
        f"{result['errors'][d][k]:.3e} ({result['effective_ranks'][d][k]:.2f})"
        for d in depths
    ]
    tail = nuclear if isinstance(nuclear, str) else f"{nuclear[k]:.3e}"
    print(f"{count:>8}  " + "  ".join(cells) + f"  {tail}")

figure = new_figure(figsize=(14, 4.2), layout="constrained")
axes = figure.subplots(1, 3)
for d in depths:
    axes[0].semilogy(counts, result["errors"][d], "o-", label=f"depth {d}")
if not isinstance(nuclear, str):
    axes[0].semilogy(counts, nuclear, "k--s", label="nuclear norm")
axes[0].set(xlabel="observed entries", ylabel="|X - M| / |M|", title="reconstruction")
axes[0].legend()
run = result["runs"][(3, counts[0])]
axes[1].loglog(run.times[1:], run["singular_values"][1:, : 2 * rank])
axes[1].set(
    xlabel="time (steps x 0.5)",
    ylabel="singular values",
    title=f"depth 3, {counts[0]} entries",
    ylim=(1e-6, 3),
)
for d in depths:
    run = result["runs"][(d, counts[0])]
    axes[2].semilogx(run.times[1:], run["effective_rank"][1:], label=f"depth {d}")
axes[2].set(xlabel="time", ylabel="effective rank", title=f"{counts[0]} entries")
axes[2].legend()
figure.savefig(args.output, dpi=110, bbox_inches="tight")
print(f"wrote {args.output}")
