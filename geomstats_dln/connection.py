r"""The Levi-Civita connection of ``g^N`` in closed form: Christoffel contraction,
covariant derivative, parallel transport and curvature.

:class:`DLNConnectionMixin` is mixed into :class:`geomstats_dln.DLNMetric`; its
methods override geomstats' generic (coordinate) versions.
"""

from __future__ import annotations

__all__ = ["DLNConnectionMixin"]


class DLNConnectionMixin:
    """Closed-form connection methods of :class:`geomstats_dln.DLNMetric`."""
