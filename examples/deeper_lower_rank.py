"""Deeper is lower rank (Arora, Cohen, Hu, Luo 2019).

Complete a 20 x 20 rank-2 matrix from 30% of its entries with networks of
depth N = 1, 2, 3, 4 started small and balanced, and print the effective rank
and the recovery error of the result. Both the upstairs training of a network
(gradient descent on the layers) and the downstairs flow on (M_d, g^N) are
shown for N = 3. Runs in about 20 seconds.

    python examples/deeper_lower_rank.py
"""

import numpy as np

from geomstats_dln import end_to_end
from geomstats_dln.dynamics import (
    effective_rank,
    euclidean_gradient_field,
    gradient_descent,
    initialize,
    integrate,
    riemannian_gradient_field,
)
from geomstats_dln.losses import completion_problem

loss, truth = completion_problem(20, rank=2, fraction=0.3, seed=0)


def error(matrix):
    return np.linalg.norm(matrix - truth) / np.linalg.norm(truth)


for depth in (1, 2, 3, 4):
    start = end_to_end(
        initialize("balanced", 20, depth, scale=1e-3 if depth == 1 else 0.3, seed=1)
    )
    run = integrate(
        riemannian_gradient_field(loss, depth), start, 300.0, rtol=1e-6, method="LSODA"
    )
    print(
        f"flow  N = {depth}: effective rank {effective_rank(run.final_state):.2f}, "
        f"recovery error {error(run.final_state):.3f}"
    )

# the same experiment the way Arora et al. ran it: gradient descent on the layers
layers = initialize("balanced", 20, 3, scale=0.3, seed=1)
run = gradient_descent(
    euclidean_gradient_field(loss), layers, 0.02, 15000, record_every=500, progress=True
)
final = end_to_end(run.final_state)
print(
    f"descent N = 3 (eta 0.02, 15000 steps): loss {run['loss'][-1]:.1e}, "
    f"effective rank {effective_rank(final):.2f}, recovery error {error(final):.3f}, "
    f"|G| {run['moment_norm'][-1]:.1e}"
)
