"""geomstats-dln: the geometry of the deep linear network as geomstats objects.

See ``docs/mathematics.md`` for every formula and its source. Public names:

- :class:`EndToEndMatrices`, :class:`DLNMetric` -- the space ``(M_d, g^N)`` (§3);
- :class:`DLNBuresWassersteinMetric` -- its restriction to SPD matrices (§3);
- :class:`DLNParameterSpace` and the maps of §1-2 (:func:`end_to_end`,
  :func:`moments`, :func:`lifted_gradient`, :func:`differential`);
- :class:`BalancedManifold`, :class:`BalancedBundle` (quotient = ``(M_d, g^N)``)
  and :class:`GaugeAction`; balanced lifts and tangent spaces (§4):
  :func:`center`, :func:`gauge_action`, :func:`horizontal_lift`,
  :func:`vertical_projection`,
  :func:`horizontal_projection`, :func:`to_tangent`;
- :class:`Fiber` ``F_X = phi^{-1}(X)``, the ``GL(d)^{N-1}`` action and the
  regularizers of §6 (Kempf-Ness);
- :func:`entropy` ``S(X) = log vol(O_X)``, its gradients and
  :func:`volume_density` (§5);
- :mod:`geomstats_dln.losses` -- losses ``E(X)`` (quadratic, regression,
  completion, sensing) and problem generators (§9);
- :mod:`geomstats_dln.optimization` -- Pymanopt manifold of ``(M_d, g^N)``
  (gradient, Hessian through the closed-form connection of
  :mod:`geomstats_dln.connection`), imported lazily;
- :mod:`geomstats_dln.dynamics` -- vector fields (gradient flows up and down,
  adapted descent), generic integrators and the :class:`Trajectory` they return;
- :class:`LinearNetwork`, :class:`NetworkEnsemble` -- trained networks of any
  widths (lists, ``.npz``, PyTorch); :mod:`geomstats_dln.statistics`,
  :mod:`geomstats_dln.clustering`, :mod:`geomstats_dln.interpolation` --
  ensemble statistics modulo the gauge.
"""

from geomstats_dln._compat import check_environment

check_environment()

from geomstats_dln import dynamics, losses, optimization  # noqa: E402
from geomstats_dln.balanced import (  # noqa: E402
    BalancedBundle,
    BalancedManifold,
    BalancedMetric,
    BalancedQuotientMetric,
    GaugeAction,
    balanced_exp,
    balanced_frame,
    balanced_log,
    best_gauge,
    center,
    gauge_action,
    horizontal_geodesic_end,
    horizontal_lift,
    horizontal_projection,
    moment_differential,
    orbit_basis,
    random_gauges,
    to_tangent,
    vertical_projection,
)
from geomstats_dln.bures_wasserstein import DLNBuresWassersteinMetric  # noqa: E402
from geomstats_dln.dynamics import Trajectory, integrate  # noqa: E402
from geomstats_dln.dynamics.regularizing import integrate_complex  # noqa: E402
from geomstats_dln.end_to_end import (  # noqa: E402
    DLNMetric,
    EndToEndMatrices,
    GeodesicError,
)
from geomstats_dln.fibers import (  # noqa: E402
    Fiber,
    FrobeniusRegularizer,
    GLAction,
    MomentRegularizer,
    SchattenRegularizer,
    fiber_operator,
    fiber_projection,
    fiber_tangent_vector,
    gl_action,
    solve_fiber_operator,
)
from geomstats_dln.losses import (  # noqa: E402
    MatrixCompletionLoss,
    MatrixSensingLoss,
    QuadraticLoss,
    RegressionLoss,
)
from geomstats_dln.low_rank import (  # noqa: E402
    FixedRankDLNMetric,
    FixedRankEndToEndMatrices,
)
from geomstats_dln.low_rank_balanced import (  # noqa: E402
    LowRankBalancedManifold,
    LowRankBalancedMetric,
    low_rank_center,
)
from geomstats_dln.networks import LinearNetwork, NetworkEnsemble  # noqa: E402
from geomstats_dln.orbit_entropy import (  # noqa: E402
    entropy,
    entropy_gradient,
    entropy_riemannian_gradient,
    log_volume_density,
    orthogonal_group_volume,
    unitary_group_volume,
    volume_density,
)
from geomstats_dln.parameters import (  # noqa: E402
    DLNParameterSpace,
    differential,
    end_to_end,
    lifted_gradient,
    moments,
)

__version__ = "0.1.0"

__all__ = [
    "BalancedBundle",
    "BalancedManifold",
    "BalancedMetric",
    "BalancedQuotientMetric",
    "DLNBuresWassersteinMetric",
    "DLNMetric",
    "DLNParameterSpace",
    "EndToEndMatrices",
    "Fiber",
    "FixedRankDLNMetric",
    "FixedRankEndToEndMatrices",
    "FrobeniusRegularizer",
    "GLAction",
    "GaugeAction",
    "GeodesicError",
    "LinearNetwork",
    "LowRankBalancedManifold",
    "LowRankBalancedMetric",
    "MatrixCompletionLoss",
    "MatrixSensingLoss",
    "MomentRegularizer",
    "NetworkEnsemble",
    "QuadraticLoss",
    "RegressionLoss",
    "SchattenRegularizer",
    "Trajectory",
    "__version__",
    "balanced_exp",
    "balanced_frame",
    "balanced_log",
    "best_gauge",
    "center",
    "differential",
    "dynamics",
    "end_to_end",
    "entropy",
    "entropy_gradient",
    "entropy_riemannian_gradient",
    "fiber_operator",
    "fiber_projection",
    "fiber_tangent_vector",
    "gauge_action",
    "gl_action",
    "horizontal_geodesic_end",
    "horizontal_lift",
    "horizontal_projection",
    "integrate",
    "integrate_complex",
    "lifted_gradient",
    "log_volume_density",
    "losses",
    "low_rank_center",
    "moment_differential",
    "moments",
    "optimization",
    "orbit_basis",
    "orthogonal_group_volume",
    "random_gauges",
    "solve_fiber_operator",
    "to_tangent",
    "unitary_group_volume",
    "vertical_projection",
    "volume_density",
]
