"""Data classes and data generators for geomstats' generic test cases.

geomstats 2.8.0 installs its generic test cases (``geomstats.test_cases``) and
the parametrizer that pairs them with data (``geomstats.test.parametrizers``),
but not the data classes, which live in its repository under
``tests/tests_geomstats/test_geometry/data/``. The classes below reproduce those
of geomstats 2.8.0 (``base.py``, ``manifold.py``, ``mixins.py``,
``connection.py``, ``riemannian_metric.py``, ``fiber_bundle.py``,
``quotient_metric.py``; MIT licence, the geomstats authors) verbatim in
content: each ``<name>_test_data`` method activates geomstats' ``test_<name>``
with geomstats' default sizes and tolerances. Our subclasses in
``tests/test_geomstats_suite.py`` only fix the sample counts (so that the
pytest-xdist workers collect the same tests), run each trial once, and
record which tests do not apply and why.
"""

import sys
import types

import geomstats.backend as gs
from geomstats.geometry.matrices import Matrices
from geomstats.test.data import TestData
from geomstats.test.random import RandomDataGenerator

from geomstats_dln.balanced import center, gauge_action, random_gauges


def _install_notebook_stubs() -> None:
    """Let ``geomstats.test.parametrizers`` import without Jupyter.

    That module imports ``nbformat`` and ``nbconvert`` at the top for its
    notebook/example runners, which these tests never call; when the packages
    are absent, empty stand-ins are registered so that the parametrizer (the
    part used here) can be imported.
    """
    try:
        import nbconvert.preprocessors  # noqa: F401
        import nbformat  # noqa: F401
    except ImportError:
        preprocessors = types.ModuleType("nbconvert.preprocessors")
        preprocessors.ExecutePreprocessor = None
        nbconvert = types.ModuleType("nbconvert")
        nbconvert.preprocessors = preprocessors
        sys.modules.setdefault("nbformat", types.ModuleType("nbformat"))
        sys.modules.setdefault("nbconvert", nbconvert)
        sys.modules.setdefault("nbconvert.preprocessors", preprocessors)


_install_notebook_stubs()

# re-exported for tests/test_geomstats_suite.py, importable only after the stubs
from geomstats.test.parametrizers import DataBasedParametrizer  # noqa: E402, F401


# ----------------------------------------------------------- data generators
class NearIdentityDataGenerator(RandomDataGenerator):
    """Points ``I + spread G`` and tangent vectors ``speed G'`` (``G, G'`` Gaussian).

    geomstats' default generator draws Gaussian points (condition numbers of
    10-100 at 3 x 3) and tangent vectors of the same size, whose DLN geodesics
    often leave the full-rank matrices within time 1; near the identity with
    moderate velocities the exponential, logarithm and geodesics are defined.

    ``point_to_project`` draws Gaussian matrices of the embedding space
    (geomstats' ``EmbeddedSpaceRandomDataGenerator``).
    """

    def __init__(self, space, spread: float = 0.2, speed: float = 0.3):
        super().__init__(space)
        self.spread, self.speed = spread, speed
        self.n, self.m = space.shape[-2:]

    def random_point(self, n_points: int = 1):
        batch = (n_points,) if n_points > 1 else ()
        noise = gs.random.normal(size=batch + (self.n, self.m))
        return gs.eye(self.n, self.m) + self.spread * noise

    def random_tangent_vec(self, base_point):
        batch = base_point.shape[:-2]
        return self.speed * gs.random.normal(size=batch + (self.n, self.m))

    def point_to_project(self, n_points: int = 1):
        return self.space.embedding_space.random_point(n_points)


class SymmetricNearIdentityDataGenerator(NearIdentityDataGenerator):
    """SPD points ``expm(spread S)`` and tangent vectors ``speed S'`` (``S, S'``
    symmetric parts of Gaussian matrices)."""

    def random_point(self, n_points: int = 1):
        batch = (n_points,) if n_points > 1 else ()
        noise = Matrices.to_symmetric(gs.random.normal(size=batch + (self.n, self.n)))
        return gs.linalg.expm(self.spread * noise)

    def random_tangent_vec(self, base_point):
        batch = base_point.shape[:-2]
        noise = gs.random.normal(size=batch + (self.n, self.n))
        return self.speed * Matrices.to_symmetric(noise)

    def point_to_project(self, n_points: int = 1):
        return self.space.embedding_space.random_point(n_points)


class BalancedDataGenerator(RandomDataGenerator):
    """Balanced points ``Q . center(I + spread G)`` (Haar gauges ``Q``) and
    tangent vectors ``speed P_W(G')``, ``P_W`` the projection onto ``T_W M``.

    ``point_to_project`` draws Gaussian parameters ``W`` (not balanced).
    """

    def __init__(self, space, spread: float = 0.2, speed: float = 0.3):
        super().__init__(space)
        self.spread, self.speed = spread, speed
        self.width, self.depth = space.width, space.depth

    def random_point(self, n_points: int = 1):
        batch = (n_points,) if n_points > 1 else ()
        noise = gs.random.normal(size=batch + (self.width, self.width))
        lift = center(gs.eye(self.width) + self.spread * noise, self.depth)
        if self.depth == 1:
            return lift
        return gauge_action(random_gauges(self.depth, self.width, n_points), lift)

    def random_tangent_vec(self, base_point):
        noise = gs.random.normal(size=base_point.shape)
        return self.speed * self.space.to_tangent(noise, base_point)

    def point_to_project(self, n_points: int = 1):
        return self.space.ambient.random_point(n_points)


# ------------------------------------------- geomstats 2.8.0: data/mixins.py
class ProjectionMixinsTestData:
    def projection_vec_test_data(self):
        return self.generate_vec_data()

    def projection_belongs_test_data(self):
        return self.generate_random_data()


class DistMixinsTestData:
    def dist_vec_test_data(self):
        return self.generate_vec_data()

    def dist_is_symmetric_test_data(self):
        return self.generate_random_data()

    def dist_is_positive_test_data(self):
        return self.generate_random_data()

    def dist_point_to_itself_is_zero_test_data(self):
        return self.generate_random_data()

    def dist_triangle_inequality_test_data(self):
        return self.generate_random_data()


class GeodesicBVPMixinsTestData:
    def geodesic_bvp_vec_test_data(self):
        return self.generate_vec_data_with_time()

    def geodesic_boundary_points_test_data(self):
        return self.generate_random_data()

    def geodesic_bvp_reverse_test_data(self):
        return self.generate_random_data_with_time()

    def geodesic_bvp_belongs_test_data(self):
        return self.generate_random_data_with_time()


# ----------------------------------------- geomstats 2.8.0: data/manifold.py
class _ManifoldMixinsTestData:
    def belongs_vec_test_data(self):
        return self.generate_vec_data()

    def not_belongs_test_data(self):
        return self.generate_random_data()

    def random_point_belongs_test_data(self):
        return self.generate_random_data()

    def random_point_shape_test_data(self):
        return self.generate_shape_data()

    def is_tangent_vec_test_data(self):
        return self.generate_vec_data()

    def to_tangent_vec_test_data(self):
        return self.generate_vec_data()

    def to_tangent_is_tangent_test_data(self):
        return self.generate_random_data()

    def regularize_belongs_test_data(self):
        return self.generate_random_data()

    def regularize_vec_test_data(self):
        return self.generate_vec_data()

    def random_tangent_vec_is_tangent_test_data(self):
        return self.generate_random_data()

    def random_tangent_vec_shape_test_data(self):
        return self.generate_shape_data()


class ManifoldTestData(_ManifoldMixinsTestData, TestData):
    pass


# --------------------------------------------- geomstats 2.8.0: data/base.py
class _OpenSetMixinsTestData(ProjectionMixinsTestData):
    def to_tangent_is_tangent_in_embedding_space_test_data(self):
        return self.generate_random_data()


class OpenSetTestData(_OpenSetMixinsTestData, ManifoldTestData):
    pass


class VectorSpaceOpenSetTestData(OpenSetTestData):
    pass


# --------------------------------------- geomstats 2.8.0: data/connection.py
class ConnectionTestData(GeodesicBVPMixinsTestData, TestData):
    def christoffels_vec_test_data(self):
        return self.generate_vec_data()

    def geodesic_equation_vec_test_data(self):
        return self.generate_vec_data()

    def exp_vec_test_data(self):
        return self.generate_vec_data()

    def exp_belongs_test_data(self):
        return self.generate_random_data()

    def log_vec_test_data(self):
        return self.generate_vec_data()

    def log_is_tangent_test_data(self):
        return self.generate_random_data()

    def exp_after_log_test_data(self):
        return self.generate_random_data()

    def log_after_exp_test_data(self):
        return self.generate_random_data()

    def riemann_tensor_vec_test_data(self):
        return self.generate_vec_data()

    def curvature_vec_test_data(self):
        return self.generate_vec_data()

    def ricci_tensor_vec_test_data(self):
        return self.generate_vec_data()

    def directional_curvature_vec_test_data(self):
        return self.generate_vec_data()

    def curvature_derivative_vec_test_data(self):
        return self.generate_vec_data()

    def directional_curvature_derivative_vec_test_data(self):
        return self.generate_vec_data()

    def geodesic_ivp_vec_test_data(self):
        return self.generate_vec_data_with_time()

    def geodesic_ivp_belongs_test_data(self):
        return self.generate_random_data_with_time()

    def exp_geodesic_ivp_test_data(self):
        return self.generate_random_data()

    def parallel_transport_ivp_vec_test_data(self):
        return self.generate_vec_data()

    def parallel_transport_bvp_vec_test_data(self):
        return self.generate_vec_data()

    def parallel_transport_bvp_transported_is_tangent_test_data(self):
        return self.generate_random_data()

    def parallel_transport_ivp_transported_is_tangent_test_data(self):
        return self.generate_random_data()

    def injectivity_radius_vec_test_data(self):
        return self.generate_vec_data()


class ConnectionComparisonTestData(TestData):
    def christoffels_random_test_data(self):
        return self.generate_random_data()

    def exp_random_test_data(self):
        return self.generate_random_data()

    def log_random_test_data(self):
        return self.generate_random_data()

    def riemann_tensor_random_test_data(self):
        return self.generate_random_data()

    def curvature_random_test_data(self):
        return self.generate_random_data()

    def ricci_tensor_random_test_data(self):
        return self.generate_random_data()

    def directional_curvature_random_test_data(self):
        return self.generate_random_data()

    def curvature_derivative_random_test_data(self):
        return self.generate_random_data()

    def directional_curvature_derivative_random_test_data(self):
        return self.generate_random_data()

    def geodesic_bvp_random_test_data(self):
        return self.generate_random_data_with_time()

    def geodesic_ivp_random_test_data(self):
        return self.generate_random_data_with_time()

    def parallel_transport_ivp_random_test_data(self):
        return self.generate_random_data()

    def parallel_transport_bvp_random_test_data(self):
        return self.generate_random_data()

    def injectivity_radius_random_test_data(self):
        return self.generate_random_data()


# -------------------------------- geomstats 2.8.0: data/riemannian_metric.py
class RiemannianMetricTestData(DistMixinsTestData, ConnectionTestData):
    def metric_matrix_vec_test_data(self):
        return self.generate_vec_data()

    def metric_matrix_is_spd_test_data(self):
        return self.generate_random_data()

    def cometric_matrix_vec_test_data(self):
        return self.generate_vec_data()

    def inner_product_derivative_matrix_vec_test_data(self):
        return self.generate_vec_data()

    def inner_product_vec_test_data(self):
        return self.generate_vec_data()

    def inner_product_is_symmetric_test_data(self):
        return self.generate_random_data()

    def inner_coproduct_vec_test_data(self):
        return self.generate_vec_data()

    def squared_norm_vec_test_data(self):
        return self.generate_vec_data()

    def norm_vec_test_data(self):
        return self.generate_vec_data()

    def norm_is_positive_test_data(self):
        return self.generate_random_data()

    def normalize_vec_test_data(self):
        return self.generate_vec_data()

    def normalize_is_unitary_test_data(self):
        return self.generate_random_data()

    def squared_dist_vec_test_data(self):
        return self.generate_vec_data()

    def squared_dist_is_symmetric_test_data(self):
        return self.generate_random_data()

    def squared_dist_is_positive_test_data(self):
        return self.generate_random_data()

    def dist_is_log_norm_test_data(self):
        return self.generate_random_data()

    def covariant_riemann_tensor_vec_test_data(self):
        return self.generate_vec_data()

    def covariant_riemann_tensor_is_skew_symmetric_1_test_data(self):
        return self.generate_random_data()

    def covariant_riemann_tensor_is_skew_symmetric_2_test_data(self):
        return self.generate_random_data()

    def covariant_riemann_tensor_bianchi_identity_test_data(self):
        return self.generate_random_data()

    def covariant_riemann_tensor_is_interchange_symmetric_test_data(self):
        return self.generate_random_data()

    def sectional_curvature_vec_test_data(self):
        return self.generate_vec_data()

    def scalar_curvature_vec_test_data(self):
        return self.generate_vec_data()

    def parallel_transport_ivp_norm_test_data(self):
        return self.generate_random_data()

    def parallel_transport_bvp_norm_test_data(self):
        return self.generate_random_data()


class RiemannianMetricComparisonTestData(ConnectionComparisonTestData):
    def metric_matrix_random_test_data(self):
        return self.generate_random_data()

    def cometric_matrix_random_test_data(self):
        return self.generate_random_data()

    def inner_product_derivative_matrix_random_test_data(self):
        return self.generate_random_data()

    def inner_product_random_test_data(self):
        return self.generate_random_data()

    def inner_coproduct_random_test_data(self):
        return self.generate_random_data()

    def squared_norm_random_test_data(self):
        return self.generate_random_data()

    def norm_random_test_data(self):
        return self.generate_random_data()

    def normalize_random_test_data(self):
        return self.generate_random_data()

    def squared_dist_random_test_data(self):
        return self.generate_random_data()

    def dist_random_test_data(self):
        return self.generate_random_data()

    def covariant_riemann_tensor_random_test_data(self):
        return self.generate_random_data()

    def sectional_curvature_random_test_data(self):
        return self.generate_random_data()

    def scalar_curvature_random_test_data(self):
        return self.generate_random_data()


# ------------------------------------- geomstats 2.8.0: data/fiber_bundle.py
class FiberBundleTestData(TestData):
    def riemannian_submersion_vec_test_data(self):
        return self.generate_vec_data()

    def riemannian_submersion_belongs_to_base_test_data(self):
        return self.generate_random_data()

    def lift_vec_test_data(self):
        return self.generate_vec_data()

    def lift_belongs_to_total_space_test_data(self):
        return self.generate_random_data()

    def riemannian_submersion_after_lift_test_data(self):
        return self.generate_random_data()

    def tangent_riemannian_submersion_vec_test_data(self):
        return self.generate_vec_data()

    def tangent_riemannian_submersion_is_tangent_test_data(self):
        return self.generate_random_data()

    def align_vec_test_data(self):
        return self.generate_vec_data()

    def log_after_align_is_horizontal_test_data(self):
        return self.generate_random_data()

    def horizontal_projection_vec_test_data(self):
        return self.generate_vec_data()

    def horizontal_projection_is_horizontal_test_data(self):
        return self.generate_random_data()

    def vertical_projection_vec_test_data(self):
        return self.generate_vec_data()

    def vertical_projection_is_vertical_test_data(self):
        return self.generate_random_data()

    def tangent_riemannian_submersion_after_vertical_projection_test_data(self):
        return self.generate_random_data()

    def is_horizontal_vec_test_data(self):
        return self.generate_vec_data()

    def is_vertical_vec_test_data(self):
        return self.generate_vec_data()

    def horizontal_lift_vec_test_data(self):
        return self.generate_vec_data()

    def horizontal_lift_is_horizontal_test_data(self):
        return self.generate_random_data()

    def tangent_riemannian_submersion_after_horizontal_lift_test_data(self):
        return self.generate_random_data()

    def integrability_tensor_vec_test_data(self):
        return self.generate_vec_data()

    def integrability_tensor_derivative_vec_test_data(self):
        return self.generate_vec_data()


# ---------------------------------- geomstats 2.8.0: data/quotient_metric.py
class QuotientMetricTestData(RiemannianMetricTestData):
    pass
