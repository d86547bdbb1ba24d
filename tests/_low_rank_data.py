"""Data generators and skip reasons for geomstats' test cases on the rank-r spaces.

Used by ``tests/test_low_rank_suite.py``; the data classes themselves are the
geomstats 2.8.0 ones reproduced in ``tests/_geomstats_data.py``.
"""

import math

import geomstats.backend as gs
from geomstats.test.random import RandomDataGenerator


class FixedRankDataGenerator(RandomDataGenerator):
    """Points near a reference of ``M_r`` and moderate tangent vectors.

    Points are the rank-r truncations of ``X_0 + spread G`` with
    ``X_0 = sum_{i <= r} s_i e_i e_i^T`` (``s`` from 2 down to 1) and ``G``
    Gaussian; tangent vectors are ``speed P_T(G')``. geomstats' default data
    (independent Gaussian ``L R^T`` points, Gaussian tangent vectors of the same
    size) give pairs of points far apart, whose geodesics of ``(M_r, g^N)`` may
    reach a further zero singular value (``g^N`` is incomplete) or pass
    conjugate points, where ``log`` has several solutions (the analogue of
    :class:`tests._geomstats_data.NearIdentityDataGenerator` for full rank).
    ``point_to_project`` draws Gaussian matrices of the embedding space.
    """

    def __init__(self, space, spread: float = 0.2, speed: float = 0.3):
        super().__init__(space)
        self.spread, self.speed = spread, speed
        rank = space.rank
        diagonal = gs.linspace(2.0, 1.0, rank) if rank > 1 else gs.array([1.5])
        self.reference = gs.einsum(
            "i,ni,mi->nm",
            diagonal,
            gs.eye(space.n)[:, :rank],
            gs.eye(space.m)[:, :rank],
        )

    def random_point(self, n_points: int = 1):
        batch = (n_points,) if n_points > 1 else ()
        noise = gs.random.normal(size=batch + self.space.shape)
        return self.space.projection(self.reference + self.spread * noise)

    def random_tangent_vec(self, base_point):
        noise = gs.random.normal(size=base_point.shape)
        return self.speed * self.space.to_tangent(noise, base_point)

    def point_to_project(self, n_points: int = 1):
        return self.space.embedding_space.random_point(n_points)


class LowRankBalancedDataGenerator(RandomDataGenerator):
    """geomstats' default generator for the balanced manifold of rank ``r``
    (the space's ``random_point``, its ``random_tangent_vec`` / 2)."""

    def random_tangent_vec(self, base_point):
        noise = gs.random.normal(size=base_point.shape)
        return self.space.to_tangent(noise, base_point) / self.amplitude


class HorizontalDataGenerator(LowRankBalancedDataGenerator):
    """Horizontal tangent vectors (the projection of Gaussian ``W`` / 2 onto the
    horizontal space): the directions in which ``LowRankBalancedMetric.exp``
    is defined."""

    def random_tangent_vec(self, base_point):
        noise = gs.random.normal(size=base_point.shape)
        return self.space.horizontal_projection(noise, base_point) / self.amplitude


# ---------------------------------------------------------------- skip reasons
NO_CHART = (
    "M_r is an embedded submanifold given in ambient coordinates (n x m matrices "
    "of rank r): it has no chart, so FixedRankDLNMetric has no metric matrix, "
    "cometric matrix or Christoffel symbols (its inner product, cometric "
    "inner_coproduct and operator act on matrices)"
)
NO_CURVATURE = (
    "the curvature of (M_r, g^N) is not provided by the package, and geomstats' "
    "generic curvature needs Christoffel symbols in a chart"
)
MATRIX_POINTS = (
    "geomstats' Connection.riemann_tensor (and covariant_riemann_tensor, "
    "ricci_tensor, scalar_curvature built on it) takes points of ndim 1 only; "
    "points here are matrices (M_r) or stacks of layers [N, d, d]"
)
NO_GEODESIC_EQUATION = (
    "FixedRankDLNMetric integrates Hamilton's equations on M_r (its exp); "
    "geomstats' generic geodesic_equation is written for points of ndim 1"
)
NO_TRANSPORT = "parallel transport on (M_r, g^N) is not provided by the package"
NO_INJECTIVITY = (
    "the injectivity radius of (M_r, g^N) is not known in closed form (geomstats' "
    "Connection.injectivity_radius raises NotImplementedError)"
)
DEPTH_INF = (
    "g^inf is not defined on M_r for r < min(n, m): the logarithmic mean gives "
    "a(s, 0) = 0, so the metric is infinite on the mixed blocks of T M_r"
)

BALANCED_NO_CHART = (
    "the balanced manifold of rank r is an embedded submanifold given in ambient "
    "coordinates: its induced metric has no chart, so no metric matrix, cometric, "
    "Christoffel symbols, curvature or parallel transport"
)
BALANCED_NO_LOG = (
    "LowRankBalancedMetric implements exp only for horizontal tangent vectors (the "
    "horizontal lift of a FixedRankDLNMetric geodesic; the data here are "
    "horizontal) and no log (NotImplementedError): the tests built on log, dist "
    "or geodesics between two points do not apply"
)
BALANCED_NO_INJECTIVITY = (
    "the injectivity radius of the balanced manifold of rank r is not known "
    "(NotImplementedError)"
)

_CONNECTION_TESTS_WITHOUT_CHART = (
    "metric_matrix_vec",
    "metric_matrix_is_spd",
    "cometric_matrix_vec",
    "inner_product_derivative_matrix_vec",
    "christoffels_vec",
)
_CURVATURE_TESTS = (
    "curvature_vec",
    "directional_curvature_vec",
    "sectional_curvature_vec",
    "curvature_derivative_vec",
    "directional_curvature_derivative_vec",
)
_RIEMANN_TENSOR_TESTS = (
    "riemann_tensor_vec",
    "covariant_riemann_tensor_vec",
    "covariant_riemann_tensor_is_skew_symmetric_1",
    "covariant_riemann_tensor_is_skew_symmetric_2",
    "covariant_riemann_tensor_bianchi_identity",
    "covariant_riemann_tensor_is_interchange_symmetric",
    "ricci_tensor_vec",
    "scalar_curvature_vec",
)
_TRANSPORT_TESTS = (
    "parallel_transport_ivp_vec",
    "parallel_transport_bvp_vec",
    "parallel_transport_ivp_norm",
    "parallel_transport_bvp_norm",
    "parallel_transport_ivp_transported_is_tangent",
    "parallel_transport_bvp_transported_is_tangent",
)
_LOG_TESTS = (
    "log_vec",
    "log_is_tangent",
    "exp_after_log",
    "log_after_exp",
    "geodesic_bvp_vec",
    "geodesic_boundary_points",
    "geodesic_bvp_reverse",
    "geodesic_bvp_belongs",
    "dist_vec",
    "dist_is_symmetric",
    "dist_is_positive",
    "dist_point_to_itself_is_zero",
    "dist_triangle_inequality",
    "dist_is_log_norm",
    "squared_dist_vec",
    "squared_dist_is_symmetric",
    "squared_dist_is_positive",
)


def fixed_rank_metric_skips() -> dict:
    """Test name (without ``test_``) -> reason, for ``FixedRankDLNMetric``."""
    skips = {name: NO_CHART for name in _CONNECTION_TESTS_WITHOUT_CHART}
    skips.update({name: NO_CURVATURE for name in _CURVATURE_TESTS})
    skips.update({name: MATRIX_POINTS for name in _RIEMANN_TENSOR_TESTS})
    skips.update({name: NO_TRANSPORT for name in _TRANSPORT_TESTS})
    skips["geodesic_equation_vec"] = NO_GEODESIC_EQUATION
    skips["injectivity_radius_vec"] = NO_INJECTIVITY
    return skips


def low_rank_balanced_metric_skips() -> dict:
    """Test name -> reason, for ``LowRankBalancedMetric``."""
    names = (
        _CONNECTION_TESTS_WITHOUT_CHART
        + ("inner_coproduct_vec",)
        + _CURVATURE_TESTS
        + _TRANSPORT_TESTS
        + ("geodesic_equation_vec",)
    )
    skips = {name: BALANCED_NO_CHART for name in names}
    skips.update({name: MATRIX_POINTS for name in _RIEMANN_TENSOR_TESTS})
    skips.update({name: BALANCED_NO_LOG for name in _LOG_TESTS})
    skips["injectivity_radius_vec"] = BALANCED_NO_INJECTIVITY
    return skips


def depth_name(depth) -> str:
    return "Inf" if depth == math.inf else str(depth)
