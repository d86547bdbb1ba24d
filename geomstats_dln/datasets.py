"""Real data for the DLN: scikit-learn's bundled digits as a regression task.

The task used by the statistics, optimization and log/distance benchmarks: the
PCA coordinates of the left half of each 8 x 8 digit image predict the PCA
coordinates of its right half. Both PCAs are fitted on the training split, and
both coordinate sets are divided by one common scale (the root-mean-square
input coordinate) so that the least-squares end-to-end matrix is of order one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geomstats_dln._validation import as_float_array, as_real_number
from geomstats_dln.dynamics import (
    euclidean_gradient_field,
    gradient_descent,
    initialize,
)
from geomstats_dln.losses import RegressionLoss

__all__ = ["DigitsTask", "digits_regression", "train_ensemble"]


@dataclass(frozen=True)
class DigitsTask:
    """A regression task ``targets ~ X inputs`` with a train/test split.

    Attributes
    ----------
    inputs, targets : ndarray, shape=[d_in, n_train], [d_out, n_train]
        Training pairs as columns.
    test_inputs, test_targets : ndarray, shape=[d_in, n_test], [d_out, n_test]
    loss : RegressionLoss
        ``E(X) = |X inputs - targets|^2 / (2 n_train)``.
    test_loss : RegressionLoss
        The same on the test split.
    """

    inputs: np.ndarray
    targets: np.ndarray
    test_inputs: np.ndarray
    test_targets: np.ndarray
    loss: RegressionLoss
    test_loss: RegressionLoss

    def __post_init__(self):
        """Refuse complex or non-numeric arrays (``TypeError``): the task is real."""
        for name in ("inputs", "targets", "test_inputs", "test_targets"):
            as_float_array(getattr(self, name), name, "DigitsTask")

    def least_squares(self) -> np.ndarray:
        """The minimizer of :attr:`loss`, ``targets inputs^+``."""
        return self.targets @ np.linalg.pinv(self.inputs)


def digits_regression(
    n_components: int = 10, test_fraction: float = 0.25, seed: int = 0
) -> DigitsTask:
    """Left half of a digit image -> right half, in PCA coordinates.

    Parameters
    ----------
    n_components : int
        PCA components kept on each side (``d_in = d_out = n_components``).
    test_fraction : float
        Fraction of the 1,797 images held out, drawn with ``seed``.
    seed : int
    """
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA

    if not isinstance(n_components, (int, np.integer)) or not 1 <= n_components <= 32:
        raise ValueError(
            f"n_components must be an integer in 1..32, got {n_components!r}"
        )
    if not 0.0 < float(test_fraction) < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    images = load_digits().images  # [1797, 8, 8], bundled with scikit-learn
    left = images[:, :, :4].reshape(len(images), -1)
    right = images[:, :, 4:].reshape(len(images), -1)
    order = np.random.default_rng(seed).permutation(len(images))
    n_test = int(round(test_fraction * len(images)))
    test, train = order[:n_test], order[n_test:]
    pca_in = PCA(n_components, random_state=seed).fit(left[train])
    pca_out = PCA(n_components, random_state=seed).fit(right[train])
    x_train, x_test = pca_in.transform(left[train]), pca_in.transform(left[test])
    y_train, y_test = pca_out.transform(right[train]), pca_out.transform(right[test])
    scale = np.sqrt(np.mean(x_train**2))
    inputs, targets = x_train.T / scale, y_train.T / scale
    test_inputs, test_targets = x_test.T / scale, y_test.T / scale
    return DigitsTask(
        inputs,
        targets,
        test_inputs,
        test_targets,
        RegressionLoss(inputs, targets),
        RegressionLoss(test_inputs, test_targets),
    )


def train_ensemble(
    task: DigitsTask,
    n_networks: int = 20,
    depth: int = 3,
    init: str = "balanced",
    scale: float = 0.5,
    step_size: float = 0.05,
    n_steps: int = 1500,
    seed: int = 0,
) -> np.ndarray:
    """Train ``n_networks`` DLNs on ``task`` by gradient descent, all at once.

    Parameters
    ----------
    task : DigitsTask
    n_networks, depth : int
    init : str
        Initialization scheme of :func:`geomstats_dln.dynamics.initialize`
        (``"balanced"``, ``"gaussian"``, ``"orthogonal"``, ...).
    scale : float
        Initialization scale (layer singular values of order ``scale``).
    step_size : float
        Gradient-descent step ``eta``.
    n_steps : int
    seed : int

    Returns
    -------
    layers : ndarray, shape=[n_networks, depth, d, d]
        Trained layers, input layer first (``layers[:, k-1] = W_k``).
    """
    scale = as_real_number(scale, "scale", "train_ensemble")
    step_size = as_real_number(step_size, "step_size", "train_ensemble")
    width = task.inputs.shape[0]
    if task.targets.shape[0] != width:
        raise ValueError("train_ensemble needs a square task (d_in = d_out)")
    start = initialize(init, width, depth, scale=scale, n_samples=n_networks, seed=seed)
    field = euclidean_gradient_field(task.loss)
    trajectory = gradient_descent(
        field, start, step_size, n_steps, record_defaults=False, record_every=n_steps
    )
    return np.asarray(trajectory.states[-1])
