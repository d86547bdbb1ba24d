"""Environment checks run when :mod:`geomstats_dln` is imported.

geomstats 2.8.0 has two sharp edges that otherwise surface as confusing
tracebacks deep inside its backend loader:

* its numpy and autograd backends import ``numpy.trapz``, which numpy 2.4
  removed, so ``import geomstats`` fails under numpy >= 2.4;
* the backend is chosen once, from the ``GEOMSTATS_BACKEND`` environment
  variable, at the first import of geomstats. geomstats-dln supports the
  ``numpy`` and ``autograd`` backends only.

:func:`check_environment` turns both situations into an :class:`ImportError`
that says what is wrong and how to fix it.
"""

from __future__ import annotations

import os
from importlib import metadata

SUPPORTED_BACKENDS: tuple[str, ...] = ("numpy", "autograd")
"""geomstats backends geomstats-dln works with."""

NUMPY_FIX = 'pip install "numpy<2.4"'
"""Command that repairs an environment whose numpy is too new for geomstats."""


def _installed_version(distribution: str) -> str:
    """Return the installed version of ``distribution``, or ``"unknown"``."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


def _numpy_version() -> str:
    """Return the version of the numpy that Python imports, or ``"unknown"``."""
    try:
        import numpy
    except ImportError:  # pragma: no cover - numpy is a hard dependency
        return _installed_version("numpy")
    return str(numpy.__version__)


def _numpy_too_new(version: str) -> bool:
    """Whether numpy ``version`` is >= 2.4 (no longer has ``numpy.trapz``)."""
    try:
        major, minor = (int(part) for part in version.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= (2, 4)


def check_backend(backend: str | None = None) -> str:
    """Check that the requested geomstats backend is supported.

    Parameters
    ----------
    backend : str, optional
        Backend name to check. Defaults to the ``GEOMSTATS_BACKEND``
        environment variable, read as geomstats reads it: ``"numpy"`` when
        unset (an empty value is not a backend).

    Returns
    -------
    backend : str
        The backend name that geomstats will use.

    Raises
    ------
    ImportError
        If the backend is not one of :data:`SUPPORTED_BACKENDS`.
    """
    if backend is None:
        backend = os.environ.get("GEOMSTATS_BACKEND", "numpy")
    if backend not in SUPPORTED_BACKENDS:
        supported = " or ".join(SUPPORTED_BACKENDS)
        raise ImportError(
            f"geomstats-dln supports the geomstats backends {supported}, but "
            f"GEOMSTATS_BACKEND={backend!r}. Set GEOMSTATS_BACKEND=numpy (the "
            "default) or GEOMSTATS_BACKEND=autograd before importing geomstats_dln."
        )
    return backend


def check_environment() -> None:
    """Check that geomstats can be imported with a supported backend.

    Called once when :mod:`geomstats_dln` is imported.

    Raises
    ------
    ImportError
        If ``GEOMSTATS_BACKEND`` names a backend other than ``numpy`` or
        ``autograd``, or if geomstats cannot be imported because the installed
        numpy is too new for geomstats 2.8.0 (numpy >= 2.4 removed
        ``numpy.trapz``). The message names the installed versions and the fix.
    """
    check_backend()
    try:
        import geomstats.backend  # noqa: F401  (loads the backend module)
    except (ImportError, AttributeError, RuntimeError) as exc:
        numpy_version = _numpy_version()
        if "trapz" in str(exc) or _numpy_too_new(numpy_version):
            geomstats_version = _installed_version("geomstats")
            raise ImportError(
                f"geomstats {geomstats_version} cannot be imported with numpy "
                f"{numpy_version}: geomstats uses numpy.trapz, which numpy 2.4 "
                f"removed. Fix: {NUMPY_FIX}  (original error: "
                f"{type(exc).__name__}: {exc})"
            ) from exc
        raise
