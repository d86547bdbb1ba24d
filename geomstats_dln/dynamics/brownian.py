r"""Brownian motion on ``(M_d, g^N)`` and geomstats' own Brownian motion.

docs/mathematics.md §7 (survey §10-11).
Notation of docs/mathematics.md §3: ``X = U S V^T``, ``a_ij`` the
coefficients of ``A_{N,X}``, power coordinates ``x = s^{2/N}``, ``f(x) = x^N``
(``f = exp``, ``x = log s^2`` for ``N = inf``).

Brownian motion on ``(M_d, g^N)``
---------------------------------
At inverse temperature ``beta`` (generator ``beta^{-1} Delta_g``) the Ito SDE in
the entry coordinates of ``X`` is

.. math::
    dX = \beta^{-1} b(X)\, dt + \sqrt{2/\beta}\, A_X^{1/2}(dB),
    \qquad b^a = \frac{1}{\sqrt g} \partial_b (\sqrt g\, g^{ab})
         = \mathrm{div}(A_X) - \tfrac12 A_X(\partial_X \log\det A_X).

Closed form (derived here, tested against geomstats' Christoffel symbols and
against autodiff). Both terms are diagonal in the SVD frame. Summing
``dA_X[E](E)`` over the orthonormal basis ``E = u_a v_b^T`` with the
Daleckii-Krein derivative of :func:`~geomstats_dln._spectral.operator_derivative`
(``D[i,k,j] = f[x_i, x_k, x_j] / a_ik``, second divided differences) gives
``div(A)_ii = 2 s_i (sum_k D[i,k,i] + D[i,i,i])``; and
``log det A = sum_ij log a_ij`` gives
``1/2 A(d log det A)_ii = 2 s_i sum_j f[x_i, x_i, x_j] / a_ij``. Since
``f[x_i, x_k, x_i] = f[x_i, x_i, x_k]``, ``sum_k D[i,k,i]`` is that same sum, and
only ``2 s_i D[i,i,i] = 2 s_i f[x_i, x_i, x_i] / f'(x_i) = s_i f''(x_i) / f'(x_i)``
survives:

.. math::
    b(X) = U \,\mathrm{diag}\Big(s_i \frac{f''(x_i)}{f'(x_i)}\Big) V^T
         = (N - 1)\, X (X^\top X)^{-1/N},
    \qquad b(X) = X \text{ for } A_\infty.

No pair interaction at all: the Coulomb-like repulsion of the singular values
lives entirely in the entropy (MATH §5), not in the Brownian motion. ``N = 1``
is flat (``b = 0``); ``N = 2`` gives the orthogonal polar factor of ``X``. The
same formula holds for full-rank rectangular ``X`` (checked numerically). The
noise is ``A^{1/2}(dB) = U (sqrt(a) * (U^T dB V)) V^T``; since ``U^T dB V`` is
again a matrix of independent Brownian increments, :func:`brownian_step` draws it
in the frame directly (two matrix products fewer), unless a noise in entry
coordinates is passed.

------------------------------
geomstats' :class:`~geomstats.distributions.brownian_motion.BrownianMotion` needs
intrinsic coordinates and Christoffel symbols; :func:`entry_coordinates_space`
is ``Euclidean(n m)`` (row-major entries of ``X``) with
:class:`EntryCoordinatesDLNMetric` (metric matrix ``A^{-1}`` and its derivative
``-g dA g`` in closed form, so it runs under every backend)::

    from geomstats.distributions.brownian_motion import BrownianMotion
    space = entry_coordinates_space(d, depth=N)
    path = BrownianMotion(space).sample_path(
        end_time=2 * t / beta, n_steps=n, initial_point=X.reshape(-1))

geomstats' step is ``x + (-1/2 g^{ij} Gamma^k_ij) h + sqrt(g^{-1}) xi sqrt(h)``:
generator ``1/2 Delta_g``, i.e. ``beta = 2``; Brownian motion at ``beta`` over time
``t`` is geomstats' over time ``2 t / beta``. (``sample_path`` returns
``n_steps`` points, the last one at ``(n_steps - 1) end_time / n_steps``.)
"""

from __future__ import annotations

import math

import numpy as np

import geomstats.backend as gs
from geomstats.geometry.euclidean import Euclidean
from geomstats.geometry.riemannian_metric import RiemannianMetric

from geomstats_dln._spectral import (
    apply_operator,
    check_depth,
    check_full_rank,
    operator_derivative,
    svd_frame,
)
from geomstats_dln._validation import as_finite_array, as_float_array, as_size
from geomstats_dln.dynamics._sde import (
    _as_matrix,
    _brownian_weights,
    _check_count,
    _check_positive,
    _finish,
    _Frame,
    _noise_scale,
    _progress,
    _recorder,
    _rng,
    _singular_values,
    _square,
)
from geomstats_dln.dynamics.free_energy import _check_beta


# ------------------------------------------------------------ Brownian motion
def brownian_drift(point, depth: int | float, beta: float = 1.0):
    r"""Ito drift of Brownian motion on ``(M_d, g^N)`` at inverse temperature beta.

    .. math::
        \beta^{-1} \frac{1}{\sqrt g} \partial_b(\sqrt g\, g^{ab})
        = \beta^{-1} [\mathrm{div}(A_X) - \tfrac12 A_X(\partial_X \log\det A_X)]
        = \beta^{-1} (N - 1)\, X (X^\top X)^{-1/N}

    in the entry coordinates of ``X`` (module docstring; ``X / beta`` for
    ``depth = math.inf``, where ``A_inf = lim A_N / N``; ``0`` for ``N = 1``).
    Equals geomstats' ``-1/2 g^{ij} Gamma^k_ij`` times ``2 / beta``. One SVD.

    Parameters
    ----------
    point : array-like, shape=[..., n, m]
        Full-rank end-to-end matrices.
    depth : int or math.inf
    beta : float or math.inf
        Inverse temperature (generator ``beta^{-1} Delta_g``).

    Returns
    -------
    drift : ndarray, shape=[..., n, m]
    """
    depth = check_depth(depth)
    beta = _check_beta(beta)
    point = _as_matrix(point)
    if depth == math.inf:
        _square(point, "the infinite-depth metric")
        return point / beta
    if depth == 1 or not math.isfinite(beta):
        return np.zeros(point.shape)
    left, s, right_t = np.linalg.svd(point, full_matrices=False)
    check_full_rank(point, s)  # (X^T X)^{-1/N} needs full rank
    return (left * (_brownian_weights(s, depth) / beta)[..., None, :]) @ right_t


def brownian_step(
    point,
    depth: int | float,
    beta: float,
    dt: float,
    rng=None,
    noise=None,
):
    r"""One Euler-Maruyama step of Brownian motion on ``(M_d, g^N)``.

    ``X + b(X) dt / beta + sqrt(2 dt / beta) A_X^{1/2}(xi)`` with the drift of
    :func:`brownian_drift`; one SVD. Batched over leading axes (independent
    paths).

    Parameters
    ----------
    point : array-like, shape=[..., n, m]
    depth : int or math.inf
    beta : float
    dt : float
        Time step.
    rng : numpy.random.Generator or int or None
        Source of the noise (ignored when ``noise`` is given). The standard
        normal matrix is drawn directly in the SVD frame (same law).
    noise : array-like, shape=[..., n, m], optional
        A standard normal ``xi`` in entry coordinates (rotated into the frame):
        makes the step comparable with another implementation.

    Returns
    -------
    next_point : ndarray, shape=[..., n, m]
    """
    depth = check_depth(depth)
    beta = _check_beta(beta)
    dt = _check_positive(dt, "dt")
    point = _as_matrix(point)
    frame = _Frame(point, depth)
    scale = _noise_scale(beta, dt)
    if noise is None:
        rotated = _rng(rng).standard_normal(point.shape[:-2] + frame.shape)
    else:
        rotated = frame.rotate(
            np.asarray(as_float_array(noise, "noise", "brownian_step"))
        )
    weights = _brownian_weights(frame.s, depth) * (dt / beta)
    step = frame.diagonal(weights) + scale * np.sqrt(frame.coefficients) * rotated
    return point + frame.unrotate(step)


def simulate_brownian(
    initial_points,
    depth: int | float,
    beta: float,
    t_final: float,
    n_steps: int,
    seed=None,
    progress: bool = False,
    record_every: int | None = None,
):
    r"""Brownian motion on ``(M_d, g^N)`` by Euler-Maruyama (:func:`brownian_step`).

    Parameters
    ----------
    initial_points : array-like, shape=[..., n, m]
        One starting point per path (leading axes are paths).
    depth : int or math.inf
    beta : float
    t_final : float
    n_steps : int
    seed : int or numpy.random.Generator, optional
    progress : bool
        Show a tqdm progress bar.
    record_every : int, optional
        ``None``: return the final points. Otherwise a
        :class:`~geomstats_dln.dynamics.integrators.Trajectory` recorded every
        ``record_every`` steps (and at the end) with a ``singular_values``
        observable.

    Returns
    -------
    final_points : ndarray, shape=[..., n, m] (or a Trajectory)
    """
    depth = check_depth(depth)
    beta = _check_beta(beta)
    t_final = _check_positive(t_final, "t_final")
    n_steps = _check_count(n_steps, "n_steps")
    record_every = _recorder(record_every)
    rng = _rng(seed)
    state = _as_matrix(initial_points).copy()
    svd_frame(state, depth)  # full rank: the drift needs (X^T X)^{-1/N}
    dt = t_final / n_steps
    states, times = [state], [0.0]
    for index in _progress(n_steps, progress, "brownian motion"):
        state = brownian_step(state, depth, beta, dt, rng)
        if record_every is not None and (
            (index + 1) % record_every == 0 or index + 1 == n_steps
        ):
            states.append(state)
            times.append((index + 1) * dt)
    if record_every is None:
        return state
    info = {"method": "euler_maruyama", "n_steps": n_steps, "beta": beta, "seed": seed}
    return _finish(
        states, times, record_every, {"singular_values": _singular_values}, info
    )


# ------------------------------------------------ geomstats' Brownian motion
class EntryCoordinatesDLNMetric(RiemannianMetric):
    r"""``g^N`` in the row-major entry coordinates of ``n x m`` matrices.

    A metric on ``Euclidean(n m)`` (intrinsic coordinates) so that geomstats'
    generic machinery, :class:`~geomstats.distributions.brownian_motion.BrownianMotion`
    included, runs on ``(M_d, g^N)``: ``metric_matrix = A^{-1}``,
    ``cometric_matrix = A`` (no inversion) and
    ``inner_product_derivative_matrix``: ``d_k g = -g (d_k A) g`` with ``d_k A``
    from :func:`~geomstats_dln._spectral.operator_derivative` (closed form, any
    backend, no autodiff); the Christoffel symbols are geomstats' Koszul formula
    on these. ``O(d^6)`` per point: a bridge to geomstats, not a fast path
    (use :func:`brownian_step`).

    Parameters
    ----------
    space : Euclidean
        ``Euclidean(n * m)``.
    depth : int or math.inf
    shape : tuple of int, optional
        ``(n, m)``; default square.
    """

    def __init__(self, space, depth=3, shape=None):
        super().__init__(space=space)
        self.depth = check_depth(depth)
        if shape is None:
            n = int(round(math.sqrt(space.dim)))
            shape = (n, n)
        if shape[0] * shape[1] != space.dim:
            raise ValueError(f"shape {shape} does not match dim {space.dim}")
        self.matrix_shape = (int(shape[0]), int(shape[1]))

    def _matrices(self, base_point, method):
        """Real base points as matrices (``TypeError`` naming ``method`` for
        complex ones: ``g^N`` in real entry coordinates is real-only)."""
        base_point = as_float_array(
            base_point, "base_point", f"EntryCoordinatesDLNMetric.{method}"
        )
        return base_point.reshape(base_point.shape[:-1] + self.matrix_shape)

    def _basis(self):
        size = self.matrix_shape[0] * self.matrix_shape[1]
        return np.eye(size).reshape((size,) + self.matrix_shape)

    def _operator_matrix(self, base_point, power, method):
        points = self._matrices(base_point, method)
        frame = svd_frame(points[..., None, :, :], self.depth)
        images = np.asarray(apply_operator(frame, self._basis(), power))
        return np.swapaxes(images.reshape(images.shape[:-2] + (-1,)), -1, -2)

    def cometric_matrix(self, base_point=None):
        """``A_{N,X}`` in the entry basis, [..., nm, nm]."""
        return self._operator_matrix(base_point, 1.0, "cometric_matrix")

    def metric_matrix(self, base_point=None):
        """``A_{N,X}^{-1}`` in the entry basis, [..., nm, nm]."""
        return self._operator_matrix(base_point, -1.0, "metric_matrix")

    def inner_product_derivative_matrix(self, base_point=None):
        """``d_k g_ij`` with the derivation index last, [..., nm, nm, nm]."""
        points = self._matrices(base_point, "inner_product_derivative_matrix")
        basis = self._basis()
        size = basis.shape[0]
        images = operator_derivative(
            points[..., None, None, :, :], basis[:, None], basis[None, :], self.depth
        )  # [..., k, l, n, m]: d_k A (E_l)
        derivative = images.reshape(images.shape[:-2] + (size,))  # [..., k, l, i]
        derivative = np.moveaxis(derivative, -3, -1)  # [..., l, i, k]
        derivative = np.swapaxes(derivative, -3, -2)  # [..., i, l, k]
        metric = self.metric_matrix(base_point)
        return -np.einsum("...ip,...pqk,...qj->...ijk", metric, derivative, metric)


def entry_coordinates_space(n: int, depth: int | float = 3, m: int | None = None):
    """``Euclidean(n m)`` equipped with :class:`EntryCoordinatesDLNMetric`."""
    m = n if m is None else m
    space = Euclidean(n * m, equip=False)
    space.equip_with_metric(EntryCoordinatesDLNMetric, depth=depth, shape=(n, m))
    return space


class _CheckedBrownianMotion:
    """geomstats' ``BrownianMotion`` whose steps are checked: real and finite.

    geomstats takes ``sqrtm`` of the cometric ``A_X`` at every step; near a
    singular ``X`` rounding makes it indefinite and the path turns complex
    (then silently continues). Here such a step raises ``ValueError`` naming
    the step and the smallest singular value of the point it started from.
    """

    def __init__(self, space):
        from geomstats.distributions.brownian_motion import BrownianMotion

        self._motion = BrownianMotion(space)
        self.space = space
        self._shape = space.metric.matrix_shape

    def _step(self, step_size, current_point):
        return self._motion._step(step_size, current_point)

    def sample_path(self, end_time, n_steps, initial_point):
        """:meth:`BrownianMotion.sample_path`, refusing complex or non-finite
        steps (see the class docstring)."""
        end_time = _check_positive(end_time, "end_time")
        n_steps = as_size(n_steps, "n_steps", "sample_path")
        point = as_finite_array(initial_point, "initial_point", "sample_path", 1)
        step_size = end_time / n_steps
        paths = [gs.array(point)]
        for index in range(1, n_steps):
            new = self._step(step_size, paths[-1])
            plain = np.asarray(new)
            if np.iscomplexobj(plain) or not np.all(np.isfinite(plain)):
                start = np.asarray(paths[-1]).reshape(self._shape)
                s_min = float(np.linalg.svd(start, compute_uv=False)[-1])
                raise ValueError(
                    f"geomstats' BrownianMotion left the real full-rank matrices at "
                    f"step {index} (t = {index * step_size:g}): the step from a point "
                    f"with smallest singular value {s_min:.3e} came out "
                    f"{'complex' if np.iscomplexobj(plain) else 'non-finite'} "
                    "(sqrtm of a numerically indefinite cometric); use "
                    "simulate_brownian, which stays real"
                )
            paths.append(new)
        return gs.stack(paths)


def geomstats_brownian_motion(n: int, depth: int | float = 3, m: int | None = None):
    """geomstats' ``BrownianMotion`` on :func:`entry_coordinates_space`.

    Its paths are Brownian motion on ``(M_d, g^N)`` at ``beta = 2`` in the
    flattened entry coordinates; see the module docstring for the time change
    to other temperatures. ``sample_path`` refuses steps that come out
    complex or non-finite near singular matrices (``ValueError``).
    """
    return _CheckedBrownianMotion(entry_coordinates_space(n, depth, m))
