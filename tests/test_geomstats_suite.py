"""geomstats' own generic test suites run on the package's spaces and metrics.

geomstats' test-case classes (``geomstats.test_cases.geometry``) state the
axioms every geomstats manifold, metric and fiber bundle must satisfy
(``exp(log(q, p), p) = q``, ``dist`` symmetric and satisfying the triangle
inequality, vectorization over batches, horizontal lifts horizontal,
``log`` after ``align`` horizontal, ...), checked on random data with
geomstats' default tolerances (``atol = 1e-6``, ``rtol = gs.rtol``). They are
paired with data by geomstats' ``DataBasedParametrizer`` exactly as in the
geomstats repository (``tests/tests_geomstats/test_geometry/test_*.py``):

- ``EndToEndMatrices`` (VectorSpaceOpenSet case), square 3 x 3 and
  rectangular 2 x 3, with ``DLNMetric`` (RiemannianMetric case) at depths 1, 2,
  3, 8 and inf (inf: square only);
- ``DLNBuresWassersteinMetric`` on geomstats' ``SPDMatrices`` (RiemannianMetric
  case, and compared with geomstats' ``SPDBuresWassersteinMetric`` scaled by 2);
- ``BalancedManifold`` (Manifold case) with ``BalancedMetric``
  (RiemannianMetric case), ``BalancedBundle`` (FiberBundle case) and the
  quotient ``BalancedManifold.equip_with_quotient()`` (QuotientMetric case,
  and compared with ``DLNMetric``).

Metric tests draw points near the identity with moderate tangent vectors
(:class:`tests._geomstats_data.NearIdentityDataGenerator`): geomstats' default
Gaussian points and vectors give DLN geodesics that leave the full-rank
matrices. Tests that cannot apply are skipped with the mathematical or API
reason; known failures are marked ``xfail(strict=True)`` with their diagnosed
cause.
"""

import math

import pytest

import geomstats.backend as gs
from geomstats.geometry.scalar_product_metric import ScalarProductMetric
from geomstats.geometry.spd_matrices import SPDBuresWassersteinMetric, SPDMatrices
from geomstats.test.random import (
    EmbeddedSpaceRandomDataGenerator,
    RandomDataGenerator,
)
from geomstats.test_cases.geometry.base import VectorSpaceOpenSetTestCase
from geomstats.test_cases.geometry.fiber_bundle import FiberBundleTestCase
from geomstats.test_cases.geometry.manifold import ManifoldTestCase
from geomstats.test_cases.geometry.mixins import ProjectionTestCaseMixins
from geomstats.test_cases.geometry.quotient_metric import QuotientMetricTestCase
from geomstats.test_cases.geometry.riemannian_metric import (
    RiemannianMetricComparisonTestCase,
    RiemannianMetricTestCase,
)

from geomstats_dln import (
    BalancedManifold,
    DLNBuresWassersteinMetric,
    EndToEndMatrices,
)
from tests import _geomstats_data as data


# ------------------------------------------------------------ the machinery
class _Uncollected:
    """A method pytest does not collect (not callable itself) that still binds.

    The unparametrized test methods are also helpers that other tests call
    (``self.test_belongs(point, expected, atol)``).
    """

    def __init__(self, function):
        self.function = function

    def __get__(self, instance, owner=None):
        return self.function.__get__(instance, owner)


class Parametrizer(data.DataBasedParametrizer):
    """geomstats' ``DataBasedParametrizer``, with its unpaired tests uncollected.

    geomstats marks the test-case methods that have no data ``ignore`` and
    deselects them in its own conftest (``geomstats.test.conf``); here they are
    kept from collection instead (:class:`_Uncollected`).
    """

    def __new__(mcs, name, bases, attrs):
        cls = super().__new__(mcs, name, bases, attrs)
        for attr, value in list(vars(cls).items()):
            marks = getattr(value, "pytestmark", [])
            if attr.startswith("test_") and any(m.name == "ignore" for m in marks):
                setattr(cls, attr, _Uncollected(value))
        return cls


class SuiteTestData:
    """Sizes fixed for every process and reasons attached to skips and xfails.

    geomstats draws its sample counts with ``random.sample`` at import, which
    would make the pytest-xdist workers collect different tests; they are fixed
    here (small, for speed). ``trials = 1``: a random test runs once on the data
    of the fixed seed (tests/conftest.py) instead of up to three times.

    ``not_applicable`` and ``known_failures`` map a test name (without
    ``test_``) to the reason; the first become ``skip`` marks, the second
    ``xfail(strict=True)`` marks. A value may also be a ready pytest mark.
    """

    N_VEC_REPS = [2]
    N_SHAPE_POINTS = [1, 2]
    N_RANDOM_POINTS = [1, 2]
    N_TIME_POINTS = [1, 3]
    trials = 1

    not_applicable: dict = {}
    known_failures: dict = {}

    def __init__(self):
        super().__init__()
        for table, make in (
            (self.not_applicable, lambda reason: pytest.mark.skip(reason=reason)),
            (
                self.known_failures,
                lambda reason: pytest.mark.xfail(reason=reason, strict=True),
            ),
        ):
            for name, reason in table.items():
                mark = make(reason) if isinstance(reason, str) else reason
                self._add_mark(name, mark)

    def _add_mark(self, name, mark):
        original = getattr(self, f"{name}_test_data")

        def marked():
            tests = original()
            for test in tests:
                test["marks"] = list(test.get("marks", ())) + [mark]
            return tests

        setattr(self, f"{name}_test_data", marked)


# ------------------------------------------------------------ EndToEndMatrices
SHAPES = [(3, 3), (2, 3)]
DEPTHS = [1, 2, 3, 8, math.inf]
RECTANGULAR_INF = (
    "g^inf is undefined on rectangular matrices: a(s, 0) = 0 makes the metric "
    "degenerate on the complement of the row space"
)


class EndToEndMatricesTestData(SuiteTestData, data.VectorSpaceOpenSetTestData):
    pass


@pytest.fixture(scope="class", params=SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def end_to_end_spaces(request):
    n, m = request.param
    space = request.cls.space = EndToEndMatrices(n, m, depth=2, equip=False)
    request.cls.data_generator = EmbeddedSpaceRandomDataGenerator(space)


@pytest.mark.usefixtures("end_to_end_spaces")
class TestEndToEndMatrices(VectorSpaceOpenSetTestCase, metaclass=Parametrizer):
    testing_data = EndToEndMatricesTestData()


MATRIX_POINTS = (
    "geomstats' Connection.riemann_tensor (and covariant_riemann_tensor, "
    "ricci_tensor, scalar_curvature built on it) takes points of ndim 1 only; "
    "points here are matrices (the package's curvature and sectional_curvature "
    "act on matrices and are tested in tests/test_connection.py)"
)
NO_CURVATURE_DERIVATIVE = (
    "the covariant derivative of the curvature tensor (nabla R) is not provided "
    "by the package"
)
GENERIC_METRIC_DERIVATIVE = (
    "DLNMetric does not provide inner_product_derivative_matrix, and geomstats' "
    "generic one (autodiff.jacobian_vec of metric_matrix) takes points of ndim 1: "
    "on matrices autograd hands metric_matrix single rows (and numpy has no "
    "autodiff); the Christoffel symbols are tested against autodiff of the "
    "flattened metric matrix in tests/test_connection.py"
)
NO_INJECTIVITY_RADIUS = (
    "the injectivity radius of g^N (N > 1) is not known in closed form; "
    "DLNMetric.injectivity_radius raises NotImplementedError for it"
)


def riemann_tensor_skips():
    """Tests built on geomstats' ``riemann_tensor`` (ndim-1 points only)."""
    names = (
        "riemann_tensor_vec",
        "covariant_riemann_tensor_vec",
        "covariant_riemann_tensor_is_skew_symmetric_1",
        "covariant_riemann_tensor_is_skew_symmetric_2",
        "covariant_riemann_tensor_bianchi_identity",
        "covariant_riemann_tensor_is_interchange_symmetric",
        "ricci_tensor_vec",
        "scalar_curvature_vec",
    )
    return {name: MATRIX_POINTS for name in names}


class DLNMetricTestData(SuiteTestData, data.RiemannianMetricTestData):
    """geomstats' RiemannianMetric data for ``DLNMetric`` of one shape and depth."""

    def __init__(self, n, m, depth):
        self.not_applicable = {
            **riemann_tensor_skips(),
            "curvature_derivative_vec": NO_CURVATURE_DERIVATIVE,
            "directional_curvature_derivative_vec": NO_CURVATURE_DERIVATIVE,
            "inner_product_derivative_matrix_vec": GENERIC_METRIC_DERIVATIVE,
        }
        if depth != 1:
            self.not_applicable["injectivity_radius_vec"] = NO_INJECTIVITY_RADIUS
        self.known_failures = dict(DLN_KNOWN_FAILURES.get((n, m, depth), {}))
        super().__init__()


# (n, m, depth) -> {test name: diagnosed cause}: failures left to the library
DLN_KNOWN_FAILURES: dict = {}


def _depth_name(depth):
    return "inf" if depth == math.inf else str(depth)


def _metric_test_class(n, m, depth, gaussian=False):
    if gaussian:
        # geomstats' default data (Gaussian points, Gaussian vectors / 2), in
        # one determinant component for square matrices: across components no
        # geodesic exists and log rightly raises.
        space = EndToEndMatrices(n, m, depth=depth, component=1 if n == m else None)
        generator = RandomDataGenerator(space)
    else:
        space = EndToEndMatrices(n, m, depth=depth)
        generator = data.NearIdentityDataGenerator(space)
    attrs = {
        "space": space,
        "data_generator": generator,
        "testing_data": DLNMetricTestData(n, m, depth),
    }
    name = f"TestDLNMetric{n}x{m}Depth{_depth_name(depth).capitalize()}"
    return Parametrizer(
        name + ("Gaussian" if gaussian else ""), (RiemannianMetricTestCase,), attrs
    )


for _n, _m in SHAPES:
    for _depth in DEPTHS:
        if _n != _m and _depth == math.inf:
            continue
        _cls = _metric_test_class(_n, _m, _depth)
        globals()[_cls.__name__] = _cls

# geomstats' default (harder) data at depths 2 and 3; depth inf is left to the
# near-identity data for time (its triangle inequality takes ~20 s on them).
for _n, _m in SHAPES:
    for _depth in (2, 3):
        _cls = _metric_test_class(_n, _m, _depth, gaussian=True)
        globals()[_cls.__name__] = _cls


# The whole suite for g^inf on 2 x 3 matrices, skipped with the reason.
TestDLNMetric2x3DepthInf = Parametrizer(
    "TestDLNMetric2x3DepthInf",
    (RiemannianMetricTestCase,),
    {
        "pytestmark": [pytest.mark.skip(reason=RECTANGULAR_INF)],
        "testing_data": DLNMetricTestData(2, 3, math.inf),
    },
)


def test_depth_inf_refuses_rectangular_matrices():
    """The reason above, as the package states it."""
    with pytest.raises(ValueError, match="degenerate on rectangular"):
        EndToEndMatrices(2, 3, depth=math.inf)


# ------------------------------------------------------ Bures-Wasserstein (N=2)
NO_METRIC_MATRIX_BW = (
    "DLNBuresWassersteinMetric (like geomstats' SPDBuresWassersteinMetric) gives "
    "its inner product in matrix form, not as a metric matrix in coordinates of "
    "a basis of Sym(n): metric_matrix/cometric_matrix (and inner_coproduct, "
    "inner_product_derivative_matrix built on them) raise NotImplementedError"
)
VECTOR_GEODESIC_EQUATION = (
    "geomstats' generic geodesic_equation is written for points of ndim 1 "
    "(NotImplementedError for matrices); the metric's exp integrates its own "
    "closed-form geodesics"
)
REFERENCE_BW_METRIC_MATRIX = (
    "the reference, geomstats' SPDBuresWassersteinMetric, has no metric_matrix "
    "(and so no generic christoffels/cometric_matrix/inner_coproduct)"
)
REFERENCE_BW_CURVATURE = (
    "the reference, geomstats' SPDBuresWassersteinMetric, computes curvature from "
    "riemann_tensor, which geomstats implements for points of ndim 1 only "
    "(K(g^2) = K_BW / 2 is checked in tests/test_connection.py)"
)


class DLNBuresWassersteinTestData(SuiteTestData, data.RiemannianMetricTestData):
    not_applicable = {
        **riemann_tensor_skips(),
        "metric_matrix_vec": NO_METRIC_MATRIX_BW,
        "metric_matrix_is_spd": NO_METRIC_MATRIX_BW,
        "cometric_matrix_vec": NO_METRIC_MATRIX_BW,
        "inner_coproduct_vec": NO_METRIC_MATRIX_BW,
        "inner_product_derivative_matrix_vec": NO_METRIC_MATRIX_BW,
        "geodesic_equation_vec": VECTOR_GEODESIC_EQUATION,
        "curvature_derivative_vec": NO_CURVATURE_DERIVATIVE,
        "directional_curvature_derivative_vec": NO_CURVATURE_DERIVATIVE,
    }


class _ScaledMetric(ScalarProductMetric):
    """geomstats' ``ScalarProductMetric`` with ``injectivity_radius`` scaled.

    The injectivity radius is a length, so it scales by ``sqrt(scale)``;
    geomstats 2.8 leaves it out of its list of rescaled methods and returns the
    unscaled radius.
    """

    def __init__(self, space, scale):
        super().__init__(space, scale)  # copies the methods onto the instance
        radius = self.underlying_metric.injectivity_radius
        self.injectivity_radius = lambda base_point: (
            gs.sqrt(self.scale) * radius(base_point)
        )


@pytest.fixture(scope="class", params=[2, 3], ids=lambda n: f"SPD{n}")
def bures_wasserstein_spaces(request):
    space = request.cls.space = SPDMatrices(n=request.param, equip=False)
    space.equip_with_metric(DLNBuresWassersteinMetric)
    other_space = request.cls.other_space = SPDMatrices(n=request.param, equip=False)
    other_space.equip_with_metric(SPDBuresWassersteinMetric)
    # g^2 on SPD is twice geomstats' Bures-Wasserstein metric (MATH §3)
    other_space.metric = _ScaledMetric(other_space, 2.0)
    # geomstats' default generator, as in geomstats' own Bures-Wasserstein tests
    request.cls.data_generator = RandomDataGenerator(space)


@pytest.mark.usefixtures("bures_wasserstein_spaces")
class TestDLNBuresWassersteinMetric(RiemannianMetricTestCase, metaclass=Parametrizer):
    testing_data = DLNBuresWassersteinTestData()


class DLNBuresWassersteinCmpTestData(
    SuiteTestData, data.RiemannianMetricComparisonTestData
):
    not_applicable = {
        "riemann_tensor_random": MATRIX_POINTS,
        "covariant_riemann_tensor_random": MATRIX_POINTS,
        "ricci_tensor_random": MATRIX_POINTS,
        "scalar_curvature_random": MATRIX_POINTS,
        "metric_matrix_random": NO_METRIC_MATRIX_BW,
        "cometric_matrix_random": NO_METRIC_MATRIX_BW,
        "inner_coproduct_random": NO_METRIC_MATRIX_BW,
        "inner_product_derivative_matrix_random": NO_METRIC_MATRIX_BW,
        "christoffels_random": REFERENCE_BW_METRIC_MATRIX,
        "curvature_random": REFERENCE_BW_CURVATURE,
        "directional_curvature_random": REFERENCE_BW_CURVATURE,
        "sectional_curvature_random": REFERENCE_BW_CURVATURE,
        "curvature_derivative_random": NO_CURVATURE_DERIVATIVE,
        "directional_curvature_derivative_random": NO_CURVATURE_DERIVATIVE,
    }


@pytest.mark.usefixtures("bures_wasserstein_spaces")
class TestDLNBuresWassersteinAgainstGeomstats(
    RiemannianMetricComparisonTestCase, metaclass=Parametrizer
):
    testing_data = DLNBuresWassersteinCmpTestData()


# ---------------------------------------------------------- balanced networks
BALANCED_CASES = [(2, 2), (2, 3)]  # (width d, depth N)
NO_CHART = (
    "BalancedMetric is the induced metric of an embedded submanifold given in "
    "ambient coordinates: it has no chart, so no metric matrix, cometric, "
    "Christoffel symbols, curvature or parallel transport (NotImplementedError)"
)


class BalancedManifoldTestData(
    SuiteTestData, data.ProjectionMixinsTestData, data.ManifoldTestData
):
    pass


class _BalancedSpaceDataGenerator(RandomDataGenerator):
    """geomstats' default generator, with Gaussian parameters to project."""

    def point_to_project(self, n_points=1):
        return self.space.ambient.random_point(n_points)


@pytest.fixture(scope="class", params=BALANCED_CASES, ids=lambda c: f"d{c[0]}N{c[1]}")
def balanced_spaces(request):
    width, depth = request.param
    space = request.cls.space = BalancedManifold(width, depth)
    request.cls.data_generator = _BalancedSpaceDataGenerator(space)


@pytest.mark.usefixtures("balanced_spaces")
class TestBalancedManifold(
    ProjectionTestCaseMixins, ManifoldTestCase, metaclass=Parametrizer
):
    testing_data = BalancedManifoldTestData()


class BalancedMetricTestData(SuiteTestData, data.RiemannianMetricTestData):
    # each log shoots RATTLE geodesics: one random point (the vec tests batch)
    # and one batch of times; the slowest class of the module even so
    N_RANDOM_POINTS = [1]
    N_TIME_POINTS = [3]
    not_applicable = {
        **riemann_tensor_skips(),
        **{
            name: NO_CHART
            for name in (
                "metric_matrix_vec",
                "metric_matrix_is_spd",
                "cometric_matrix_vec",
                "inner_coproduct_vec",
                "inner_product_derivative_matrix_vec",
                "christoffels_vec",
                "geodesic_equation_vec",
                "curvature_vec",
                "directional_curvature_vec",
                "curvature_derivative_vec",
                "directional_curvature_derivative_vec",
                "sectional_curvature_vec",
                "parallel_transport_ivp_vec",
                "parallel_transport_bvp_vec",
                "parallel_transport_ivp_norm",
                "parallel_transport_bvp_norm",
                "parallel_transport_ivp_transported_is_tangent",
                "parallel_transport_bvp_transported_is_tangent",
            )
        },
        "injectivity_radius_vec": "the injectivity radius of the balanced "
        "manifold is not known in closed form (NotImplementedError)",
    }
    known_failures = {}


@pytest.fixture(scope="class", params=[(2, 2)], ids=lambda c: f"d{c[0]}N{c[1]}")
def balanced_metric_spaces(request):
    width, depth = request.param
    space = request.cls.space = BalancedManifold(width, depth)
    request.cls.data_generator = data.BalancedDataGenerator(space)


@pytest.mark.usefixtures("balanced_metric_spaces")
class TestBalancedMetric(RiemannianMetricTestCase, metaclass=Parametrizer):
    testing_data = BalancedMetricTestData()


class BalancedBundleTestData(SuiteTestData, data.FiberBundleTestData):
    not_applicable = {
        "integrability_tensor_vec": "the O'Neill integrability tensor is not "
        "provided by BalancedBundle (geomstats' generic one needs the total "
        "space's Levi-Civita connection, which BalancedMetric does not have)",
        "integrability_tensor_derivative_vec": "the derivative of the O'Neill "
        "integrability tensor is not provided by BalancedBundle",
    }
    known_failures = {}


@pytest.fixture(scope="class", params=BALANCED_CASES, ids=lambda c: f"d{c[0]}N{c[1]}")
def balanced_bundles(request):
    width, depth = request.param
    total_space = request.cls.total_space = BalancedManifold(width, depth)
    total_space.equip_with_quotient()
    base = request.cls.base = EndToEndMatrices(width, depth=depth)
    request.cls.data_generator = data.BalancedDataGenerator(total_space)
    request.cls.base_data_generator = data.NearIdentityDataGenerator(base)


@pytest.mark.usefixtures("balanced_bundles")
class TestBalancedBundle(FiberBundleTestCase, metaclass=Parametrizer):
    testing_data = BalancedBundleTestData()


NO_METRIC_MATRIX_QUOTIENT = (
    "geomstats' QuotientMetric has no metric matrix (it computes inner products "
    "through horizontal lifts), hence no metric_matrix, cometric_matrix, "
    "inner_coproduct, inner_product_derivative_matrix or generic christoffels"
)
QUOTIENT_CURVATURE = (
    "geomstats' QuotientMetric.curvature applies O'Neill's formula to the total "
    "space's curvature, which BalancedMetric (no chart) does not provide"
)
QUOTIENT_CURVATURE_DERIVATIVE = (
    "geomstats' QuotientMetric.curvature_derivative needs the derivative of the "
    "integrability tensor, which BalancedBundle does not provide"
)
QUOTIENT_TRANSPORT = (
    "geomstats' QuotientMetric has no parallel transport (DLNMetric's is tested "
    "in tests/test_connection.py)"
)
QUOTIENT_INJECTIVITY = (
    "geomstats' QuotientMetric has no injectivity radius, nor has g^N in closed "
    "form (NotImplementedError)"
)


class BalancedQuotientMetricTestData(SuiteTestData, data.QuotientMetricTestData):
    N_RANDOM_POINTS = [1]  # each log aligns on the balanced manifold
    not_applicable = {
        **riemann_tensor_skips(),
        **{
            name: NO_METRIC_MATRIX_QUOTIENT
            for name in (
                "metric_matrix_vec",
                "metric_matrix_is_spd",
                "cometric_matrix_vec",
                "inner_coproduct_vec",
                "inner_product_derivative_matrix_vec",
                "christoffels_vec",
            )
        },
        "geodesic_equation_vec": VECTOR_GEODESIC_EQUATION,
        "curvature_vec": QUOTIENT_CURVATURE,
        "directional_curvature_vec": QUOTIENT_CURVATURE,
        "sectional_curvature_vec": QUOTIENT_CURVATURE,
        "curvature_derivative_vec": QUOTIENT_CURVATURE_DERIVATIVE,
        "directional_curvature_derivative_vec": QUOTIENT_CURVATURE_DERIVATIVE,
        **{
            name: QUOTIENT_TRANSPORT
            for name in (
                "parallel_transport_ivp_vec",
                "parallel_transport_bvp_vec",
                "parallel_transport_ivp_norm",
                "parallel_transport_bvp_norm",
                "parallel_transport_ivp_transported_is_tangent",
                "parallel_transport_bvp_transported_is_tangent",
            )
        },
        "injectivity_radius_vec": QUOTIENT_INJECTIVITY,
    }
    known_failures = {}


@pytest.fixture(scope="class", params=[(2, 2)], ids=lambda c: f"d{c[0]}N{c[1]}")
def balanced_quotients(request):
    width, depth = request.param
    total_space = BalancedManifold(width, depth)
    space = request.cls.space = total_space.equip_with_quotient()
    request.cls.other_space = EndToEndMatrices(width, depth=depth)
    request.cls.data_generator = data.NearIdentityDataGenerator(space)


@pytest.mark.usefixtures("balanced_quotients")
class TestBalancedQuotientMetric(QuotientMetricTestCase, metaclass=Parametrizer):
    testing_data = BalancedQuotientMetricTestData()


class BalancedQuotientCmpTestData(
    SuiteTestData, data.RiemannianMetricComparisonTestData
):
    N_RANDOM_POINTS = [1]
    not_applicable = {
        "riemann_tensor_random": MATRIX_POINTS,
        "covariant_riemann_tensor_random": MATRIX_POINTS,
        "ricci_tensor_random": MATRIX_POINTS,
        "scalar_curvature_random": MATRIX_POINTS,
        **{
            name: NO_METRIC_MATRIX_QUOTIENT
            for name in (
                "metric_matrix_random",
                "cometric_matrix_random",
                "inner_coproduct_random",
                "inner_product_derivative_matrix_random",
                "christoffels_random",
            )
        },
        "curvature_random": QUOTIENT_CURVATURE,
        "directional_curvature_random": QUOTIENT_CURVATURE,
        "sectional_curvature_random": QUOTIENT_CURVATURE,
        "curvature_derivative_random": QUOTIENT_CURVATURE_DERIVATIVE,
        "directional_curvature_derivative_random": QUOTIENT_CURVATURE_DERIVATIVE,
        "parallel_transport_ivp_random": QUOTIENT_TRANSPORT,
        "parallel_transport_bvp_random": QUOTIENT_TRANSPORT,
        "injectivity_radius_random": QUOTIENT_INJECTIVITY,
    }
    known_failures = {}


@pytest.mark.usefixtures("balanced_quotients")
class TestBalancedQuotientAgainstDLNMetric(
    RiemannianMetricComparisonTestCase, metaclass=Parametrizer
):
    testing_data = BalancedQuotientCmpTestData()
