"""The 2 x 2 matrix completion of docs/mathematics.md §9 from 100 small random starts.

Observe X_11 = X_22 = 1. The g^3 gradient flow from small balanced
initializations is attracted to rank one: the limits [[1, a], [b, 1]] cluster
near a = b = 1 and, by the symmetry X -> D X D (D = diag(1, -1)), near
a = b = -1. All 100 paths are integrated as one batch. Writes
``completion_2x2.png``. Runs in a few seconds.

    python examples/completion_2x2.py
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
from geomstats_dln.losses import two_by_two_completion  # noqa: E402

loss = two_by_two_completion()
starts = end_to_end(initialize("balanced", 2, 3, scale=0.1, seed=0, n_samples=100))
run = integrate(
    riemannian_gradient_field(loss, 3), starts, 50.0, rtol=1e-8, record_defaults=False
)
limits = run.final_state
s = np.linalg.svd(limits, compute_uv=False)
ratio = s[:, 1] / s[:, 0]
print(f"fraction with s2/s1 < 1e-2: {np.mean(ratio < 1e-2):.2f}")
print(f"max final loss: {np.max(loss.value(limits)):.1e}")

a = np.linspace(0.2, 3.0, 200)
plt.plot(a, 1 / a, "0.5", -a, -1 / a, "0.5")
plt.scatter(limits[:, 0, 1], limits[:, 1, 0], c=np.log10(ratio), s=15)
plt.colorbar(label="log10 s2/s1")
plt.xlim(-3, 3)
plt.ylim(-3, 3)
plt.xlabel("a = X_12")
plt.ylabel("b = X_21")
plt.title("limits of the N = 3 flow; grey: rank one (ab = 1)")
plt.gca().set_aspect("equal")
plt.savefig("completion_2x2.png", dpi=110)
print("wrote completion_2x2.png")
