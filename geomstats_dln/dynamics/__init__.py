"""Training dynamics on DLN geometry (MATH §1-3, §8).

Vector fields (:mod:`.flows`, :mod:`.adapted`) are separate from the generic
integrators (:mod:`.integrators`); every run returns one
:class:`~geomstats_dln.dynamics.integrators.Trajectory`.
"""

from geomstats_dln.dynamics.adapted import (
    ParametricModel,
    adapted_descent,
    adapted_gradient_descent,
    adapted_gradient_field,
    dln_model,
    n_parameters,
    relu_network_model,
    standard_gradient_field,
    stopping_time,
)
from geomstats_dln.dynamics.flows import (
    VectorField,
    balanced_gradient_field,
    end_to_end_velocity,
    euclidean_gradient_field,
    riemannian_gradient_field,
)
from geomstats_dln.dynamics.free_energy import (
    FreeEnergy,
    free_energy,
    free_energy_gradient_field,
)
from geomstats_dln.dynamics.initializers import INITIALIZERS, initialize
from geomstats_dln.dynamics.integrators import Trajectory, gradient_descent, integrate
from geomstats_dln.dynamics.low_rank_flows import (  # noqa: F401
    factored_end_to_end,
    factored_gradient_field,
    factorize,
    fixed_rank_gradient_field,
)
from geomstats_dln.dynamics.observables import (
    effective_rank,
    layer_norms,
    moment_norm,
    singular_values,
)
from geomstats_dln.dynamics.regularizing import (
    kirwan_ness_field,
    l2_regularizing_field,
    regularized_langevin,
    regularized_training_field,
    regularized_training_split,
)
from geomstats_dln.dynamics.stochastic import (
    EntryCoordinatesDLNMetric,
    brownian_drift,
    brownian_step,
    dyson_brownian_motion,
    dyson_eigenvalue_sde,
    entry_coordinates_space,
    geomstats_brownian_motion,
    gibbs_singular_values,
    noise_induced_drift,
    rle_drift,
    rle_step,
    simulate_brownian,
    simulate_rle,
    sphere_brownian_motion,
)

__all__ = [
    "EntryCoordinatesDLNMetric",
    "FreeEnergy",
    "INITIALIZERS",
    "ParametricModel",
    "Trajectory",
    "VectorField",
    "adapted_descent",
    "adapted_gradient_descent",
    "adapted_gradient_field",
    "balanced_gradient_field",
    "brownian_drift",
    "brownian_step",
    "dln_model",
    "dyson_brownian_motion",
    "dyson_eigenvalue_sde",
    "effective_rank",
    "end_to_end_velocity",
    "entry_coordinates_space",
    "euclidean_gradient_field",
    "free_energy",
    "free_energy_gradient_field",
    "geomstats_brownian_motion",
    "gibbs_singular_values",
    "gradient_descent",
    "initialize",
    "integrate",
    "kirwan_ness_field",
    "l2_regularizing_field",
    "layer_norms",
    "moment_norm",
    "n_parameters",
    "noise_induced_drift",
    "regularized_langevin",
    "regularized_training_field",
    "regularized_training_split",
    "relu_network_model",
    "riemannian_gradient_field",
    "rle_drift",
    "rle_step",
    "simulate_brownian",
    "simulate_rle",
    "singular_values",
    "sphere_brownian_motion",
    "standard_gradient_field",
    "stopping_time",
]
