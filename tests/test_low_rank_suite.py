"""geomstats' generic test cases run on the rank-r spaces and metrics.

As in ``tests/test_geomstats_suite.py`` (same parametrizer, same fixed sample
counts, geomstats' default tolerances), for

- ``FixedRankEndToEndMatrices`` (Manifold case with the projection mixins):
  square and rectangular shapes, ranks 1 and 2;
- ``FixedRankDLNMetric`` (RiemannianMetric case) at depths 1, 2, 3 on 3 x 2
  matrices of rank 1 and at depth 2 on 3 x 3 matrices of rank 2, with points of
  condition number at most 2 and moderate tangent vectors
  (:class:`tests._low_rank_data.FixedRankDataGenerator`); depth inf is refused
  on M_r and its whole suite is skipped with the reason;
- ``LowRankBalancedManifold`` (Manifold case) and its induced metric
  ``LowRankBalancedMetric`` (RiemannianMetric case on horizontal tangent
  vectors: inner products, norms and exp, which is the horizontal geodesic).

Tests that cannot apply are skipped with the mathematical or API reason
(:mod:`tests._low_rank_data`).
"""

import math

import pytest

from geomstats.test.random import EmbeddedSpaceRandomDataGenerator
from geomstats.test_cases.geometry.manifold import ManifoldTestCase
from geomstats.test_cases.geometry.mixins import ProjectionTestCaseMixins
from geomstats.test_cases.geometry.riemannian_metric import RiemannianMetricTestCase

from geomstats_dln.low_rank import FixedRankEndToEndMatrices
from geomstats_dln.low_rank_balanced import LowRankBalancedManifold
from tests import _geomstats_data as data
from tests import _low_rank_data as low_rank_data
from tests.test_geomstats_suite import Parametrizer, SuiteTestData

# ---------------------------------------------------------------- M_r itself
SPACE_CASES = [(3, 3, 1, 2), (4, 3, 2, 3), (2, 4, 1, 1)]  # (n, m, r, N)


class FixedRankEndToEndMatricesTestData(
    SuiteTestData, data.ProjectionMixinsTestData, data.ManifoldTestData
):
    pass


@pytest.fixture(
    scope="class", params=SPACE_CASES, ids=lambda c: f"{c[0]}x{c[1]}r{c[2]}N{c[3]}"
)
def fixed_rank_spaces(request):
    n, m, rank, depth = request.param
    space = request.cls.space = FixedRankEndToEndMatrices(n, m, rank=rank, depth=depth)
    # geomstats' generator for embedded spaces: the space's own random_point and
    # random_tangent_vec, Gaussian matrices of Matrices(n, m) to project
    request.cls.data_generator = EmbeddedSpaceRandomDataGenerator(space)


@pytest.mark.usefixtures("fixed_rank_spaces")
class TestFixedRankEndToEndMatrices(
    ProjectionTestCaseMixins, ManifoldTestCase, metaclass=Parametrizer
):
    testing_data = FixedRankEndToEndMatricesTestData()


# ------------------------------------------------------------- (M_r, g^N)
METRIC_CASES = [(3, 2, 1, 1), (3, 2, 1, 2), (3, 2, 1, 3), (3, 3, 2, 2)]


class FixedRankDLNMetricTestData(SuiteTestData, data.RiemannianMetricTestData):
    # each log is a Newton shooting with dim + 1 geodesics per iteration
    N_RANDOM_POINTS = [1, 2]
    not_applicable = low_rank_data.fixed_rank_metric_skips()


def _metric_test_class(n, m, rank, depth):
    space = FixedRankEndToEndMatrices(n, m, rank=rank, depth=depth)
    attrs = {
        "space": space,
        "data_generator": low_rank_data.FixedRankDataGenerator(space),
        "testing_data": FixedRankDLNMetricTestData(),
    }
    name = f"TestFixedRankDLNMetric{n}x{m}Rank{rank}Depth{depth}"
    return Parametrizer(name, (RiemannianMetricTestCase,), attrs)


for _case in METRIC_CASES:
    _cls = _metric_test_class(*_case)
    globals()[_cls.__name__] = _cls


TestFixedRankDLNMetric3x2Rank1DepthInf = Parametrizer(
    "TestFixedRankDLNMetric3x2Rank1DepthInf",
    (RiemannianMetricTestCase,),
    {
        "pytestmark": [pytest.mark.skip(reason=low_rank_data.DEPTH_INF)],
        "testing_data": FixedRankDLNMetricTestData(),
    },
)


def test_depth_inf_is_refused_on_m_r():
    """The reason above, as the package states it."""
    with pytest.raises(ValueError, match="not defined on rank-deficient"):
        FixedRankEndToEndMatrices(3, 2, rank=1, depth=math.inf)


# ------------------------------------------------ balanced manifolds of rank r
BALANCED_CASES = [(3, 2, 1), (3, 3, 2)]  # (width d, depth N, rank r)


class LowRankBalancedManifoldTestData(SuiteTestData, data.ManifoldTestData):
    pass


@pytest.fixture(
    scope="class", params=BALANCED_CASES, ids=lambda c: f"d{c[0]}N{c[1]}r{c[2]}"
)
def low_rank_balanced_spaces(request):
    width, depth, rank = request.param
    space = request.cls.space = LowRankBalancedManifold(width, depth, rank)
    request.cls.data_generator = low_rank_data.LowRankBalancedDataGenerator(space)


@pytest.mark.usefixtures("low_rank_balanced_spaces")
class TestLowRankBalancedManifold(ManifoldTestCase, metaclass=Parametrizer):
    testing_data = LowRankBalancedManifoldTestData()


class LowRankBalancedMetricTestData(SuiteTestData, data.RiemannianMetricTestData):
    not_applicable = low_rank_data.low_rank_balanced_metric_skips()


@pytest.fixture(
    scope="class", params=BALANCED_CASES[:1], ids=lambda c: f"d{c[0]}N{c[1]}r{c[2]}"
)
def low_rank_balanced_metrics(request):
    width, depth, rank = request.param
    space = request.cls.space = LowRankBalancedManifold(width, depth, rank)
    request.cls.data_generator = low_rank_data.HorizontalDataGenerator(space)


@pytest.mark.usefixtures("low_rank_balanced_metrics")
class TestLowRankBalancedMetric(RiemannianMetricTestCase, metaclass=Parametrizer):
    testing_data = LowRankBalancedMetricTestData()
