"""Regularizing flows on the fibers of the end-to-end map (docs/mathematics.md §6).

From one Gaussian network W (d = 3, N = 4), with X = phi(W) fixed:

- the L2 regularizing flow W' = -grad_{F_X} 1/2 |W|^2 contracts the moments
  exactly, G(t) = G(0) e^{-2t} (balancedness Thm 2), and ends at the
  Kempf-Ness minimum |W|^2 = N sum_i s_i^{2/N} (Thm 1);
- the Kirwan-Ness flow W_k' = 2 (W_k G_{k-1} - G_k W_k) is fast far from
  balance and slow near it: its tail rate is 4 lambda_min of the operator H
  (Def. 8) on symmetric tuples, at the limit.

Then regularized training W' = -grad(E + kappa/2 |W|^2), E = 1/2 |X - Y|^2:
G(t) = G(0) e^{-2 kappa t} while the loss settles much faster. Prints the
measured rates and writes ``regularizing_flows.png``. Runs in a few seconds.

    python examples/regularizing_flows.py
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import scipy.linalg  # noqa: E402

from geomstats_dln.balanced import center  # noqa: E402
from geomstats_dln.dynamics import (  # noqa: E402
    integrate,
    kirwan_ness_field,
    l2_regularizing_field,
    regularized_training_field,
)
from geomstats_dln.fibers import Fiber, fiber_operator, gl_action  # noqa: E402
from geomstats_dln.losses import QuadraticLoss  # noqa: E402
from geomstats_dln.parameters import end_to_end  # noqa: E402


def fitted_rate(times, values):
    """Minus the slope of log(values) against times."""
    return -np.polyfit(times, np.log(values), 1)[0]


def kirwan_ness_tail_rate(layers):
    """4 lambda_min of H at ``layers`` (balanced) on symmetric (N-1)-tuples."""
    depth, dim = layers.shape[0], layers.shape[-1]
    basis = []
    for k in range(depth - 1):
        for i in range(dim):
            for j in range(i, dim):
                element = np.zeros((depth - 1, dim, dim))
                element[k, i, j] = element[k, j, i] = 1.0
                basis.append(element / np.linalg.norm(element))
    basis = np.array(basis)
    matrix = np.einsum("aijk,bijk->ab", basis, fiber_operator(basis, layers))
    return 4.0 * np.linalg.eigvalsh(0.5 * (matrix + matrix.T))[0]


rng = np.random.default_rng(1)
depth, dim = 4, 3
layers = rng.normal(size=(depth, dim, dim))
matrix = np.asarray(end_to_end(layers))
fiber = Fiber(matrix, depth)

# L2 regularizing flow and Kirwan-Ness flow from the same W
l2 = integrate(
    l2_regularizing_field(), layers, 12.0, rtol=1e-12, t_eval=np.linspace(0, 12, 121)
)
kn = integrate(
    kirwan_ness_field(), layers, 60.0, rtol=1e-12, t_eval=np.linspace(0, 60, 601)
)
l2_rate = fitted_rate(l2.times[:31], l2["moment_norm"][:31])  # t <= 3
print(f"L2 flow: fitted rate of |G| = {l2_rate:.8f} (theory 2)")
print(
    f"L2 flow: |W(12)|^2 = {l2['frobenius_norm_squared'][-1]:.10f}, Kempf-Ness "
    f"minimum N sum s^(2/N) = {fiber.minimum_squared_norm:.10f}"
)
predicted = kirwan_ness_tail_rate(np.asarray(center(matrix, depth)))
size = kn["frobenius_norm_squared"]
tail = (kn["moment_norm"] < 1e-6 * size) & (kn["moment_norm"] > 1e-9 * size)
kn_rate = fitted_rate(kn.times[tail], kn["moment_norm"][tail])
print(
    f"Kirwan-Ness: fitted tail rate of |G| = {kn_rate:.6f}, "
    f"4 lambda_min(H | Sym) at the limit = {predicted:.6f}"
)

# regularized training from an unbalanced start
kappa = 0.05
target = rng.normal(size=(dim, dim)) + 2.0 * np.eye(dim)
# unbalanced start: a random GL(d)^(N-1) element acting on a balanced point
generators = 0.5 * rng.normal(size=(depth - 1, dim, dim))
start = gl_action(
    scipy.linalg.expm(generators), np.asarray(center(0.5 * np.eye(dim), depth))
)
training = integrate(
    regularized_training_field(QuadraticLoss(target), kappa),
    start,
    100.0,
    rtol=1e-11,
    t_eval=np.linspace(0, 100, 401),
)
g_rate = fitted_rate(training.times, training["moment_norm"])
loss = training["loss"]
excess = np.abs(loss - loss[-1])
t_99 = training.times[np.argmax(excess <= 0.01 * excess[0])]
print(
    f"regularized training (kappa = {kappa}): fitted rate of |G| = {g_rate:.8f} "
    f"(theory 2 kappa = {2 * kappa}); 99% of the loss decrease by t = {t_99:.2f}, "
    f"|G| halves every log(2) / (2 kappa) = {np.log(2) / (2 * kappa):.2f}"
)

figure, axes = plt.subplots(1, 3, figsize=(15, 4))
axes[0].semilogy(l2.times, l2["moment_norm"], lw=2, label="L2 regularizing flow")
axes[0].semilogy(kn.times, kn["moment_norm"], lw=2, label="Kirwan-Ness flow")
axes[0].semilogy(
    l2.times, l2["moment_norm"][0] * np.exp(-2 * l2.times), "k--", lw=1, label="e^{-2t}"
)
axes[0].set(
    xlabel="t", ylabel="|G(t)|", ylim=(1e-10, 100), title="moments along the fiber"
)
axes[0].legend()
axes[1].semilogy(training.times, training["moment_norm"], lw=2, label="|G(t)|")
shown = training.times <= 75.0  # E(T) stands in for the limit: stop well before T
axes[1].semilogy(
    training.times[shown], excess[shown], lw=2, label="|E(t) - E(T)|, T = 100"
)
axes[1].set(
    xlabel="t",
    ylabel="|G|, loss excess",
    title=f"regularized training, kappa = {kappa}",
)
axes[1].legend()
axes[2].semilogy(training.times, training["learning_norm"], lw=2, label="learning")
axes[2].semilogy(
    training.times, training["regularizing_norm"], lw=2, label="regularizing"
)
axes[2].set(xlabel="t", ylabel="norm", title="split of the training velocity")
axes[2].legend()
figure.tight_layout()
figure.savefig("regularizing_flows.png", dpi=110)
print("wrote regularizing_flows.png")
