"""geomstats-dln: the geometry of the deep linear network as geomstats objects.

See ``../shared/MATH.md`` for every formula and its source. Public names:

- :class:`EndToEndMatrices`, :class:`DLNMetric` -- the space ``(M_d, g^N)`` (§3);
- :class:`DLNBuresWassersteinMetric` -- its restriction to SPD matrices (§3).
"""

from geomstats_dln._compat import check_environment

check_environment()

from geomstats_dln.bures_wasserstein import DLNBuresWassersteinMetric  # noqa: E402
from geomstats_dln.end_to_end import (  # noqa: E402
    DLNMetric,
    EndToEndMatrices,
    GeodesicError,
)

__version__ = "0.1.0"

__all__ = [
    "DLNBuresWassersteinMetric",
    "DLNMetric",
    "EndToEndMatrices",
    "GeodesicError",
    "__version__",
]
