"""Numerical report: checks of the library against independent computations.

The report is a list of *sections* (:data:`SECTIONS`). A section is a callable
``section(ctx) -> SectionResult`` that receives a :class:`ReportContext`
(output folder, seed, quick flag, progress bar) and returns a title, a
markdown body (text and tables of numbers with pass/fail against a stated
tolerance) and the file names of the figures it saved in the output folder.

:func:`run_report` runs every section and writes ``report.md``.
"""

from __future__ import annotations

import datetime as _dt
import platform
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

import geomstats.backend as gs

from geomstats_dln.report import (
    balanced_section,
    dynamics_section,
    end_to_end_section,
    fibers_section,
    thermodynamics_section,
)
from geomstats_dln.report._framework import (
    Check,
    ReportContext,
    Section,
    SectionResult,
    format_float,
    markdown_table,
    new_figure,
    save_figure,
)

__all__ = [
    "SECTIONS",
    "Check",
    "ReportContext",
    "Section",
    "SectionResult",
    "format_float",
    "markdown_table",
    "new_figure",
    "register_section",
    "run_report",
    "save_figure",
]

REPORT_FILE = "report.md"
"""Name of the markdown file :func:`run_report` writes."""

SECTIONS: list[Section] = [
    end_to_end_section.section,
    balanced_section.section,
    dynamics_section.section,
    fibers_section.section,
    thermodynamics_section.section,
]
"""The registry: sections run, in this order, by :func:`run_report`."""


def register_section(section: Section) -> Section:
    """Append ``section`` to :data:`SECTIONS` (usable as a decorator).

    Parameters
    ----------
    section : callable
        ``section(ctx: ReportContext) -> SectionResult``.

    Returns
    -------
    section : callable
        The same callable.
    """
    if section not in SECTIONS:
        SECTIONS.append(section)
    return section


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _package_version() -> str:
    try:
        return metadata.version("geomstats-dln")
    except metadata.PackageNotFoundError:
        import geomstats_dln

        return str(getattr(geomstats_dln, "__version__", "unknown"))


def _section_name(section: Section) -> str:
    module = getattr(section, "__module__", "") or ""
    name = module.rsplit(".", 1)[-1] if module else ""
    if not name or name == "__main__":
        name = getattr(section, "__name__", "section")
    return name


def _header(seed: int, quick: bool) -> str:
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    rows = [
        ("geomstats-dln", _package_version()),
        ("geomstats", _version("geomstats")),
        ("numpy", np.__version__),
        ("geomstats backend", gs.__name__.rsplit(".", 1)[-1]),
        ("python", platform.python_version()),
        ("date", now),
        ("seed", str(seed)),
        ("mode", "quick" if quick else "full"),
    ]
    return "# geomstats-dln numerical report\n\n" + markdown_table(
        ("item", "value"), rows
    )


def _summary(results: Sequence[SectionResult]) -> str:
    rows = []
    for index, result in enumerate(results, start=1):
        n_passed = sum(check.passed for check in result.checks)
        verdict = "PASS" if result.passed else "FAIL"
        if not result.checks:
            verdict = "n/a"
        rows.append((index, result.title, f"{n_passed}/{len(result.checks)}", verdict))
    return "## Summary\n\n" + markdown_table(
        ("#", "section", "checks passed", "result"), rows
    )


def _render_section(index: int, result: SectionResult) -> str:
    parts = [f"## {index}. {result.title}", result.body.strip()]
    # Figures the body does not already show are appended at the end.
    for name in result.figures:
        if f"]({name})" not in result.body:
            parts.append(f"![{name}]({name})")
    return "\n\n".join(parts)


def render_report(results: Sequence[SectionResult], seed: int, quick: bool) -> str:
    """Render section results as the markdown text of the report.

    Parameters
    ----------
    results : sequence of SectionResult
        Results, in order.
    seed : int
        Seed of the run (for the header).
    quick : bool
        Whether the run used the small sizes (for the header).

    Returns
    -------
    text : str
        Markdown text, ending with a newline.
    """
    blocks = [_header(seed, quick), _summary(results)]
    blocks += [
        _render_section(index, result) for index, result in enumerate(results, start=1)
    ]
    return "\n\n".join(blocks) + "\n"


def run_report(
    output_dir: str | Path,
    seed: int = 0,
    quick: bool = False,
    sections: Sequence[Section] | None = None,
    progress: bool | None = None,
) -> Path:
    """Run the report sections and write ``report.md``.

    Parameters
    ----------
    output_dir : str or pathlib.Path
        Folder to write ``report.md`` and the figures to; created if absent.
    seed : int
        Seed for the numpy and geomstats random generators, re-applied before
        each section. Must be non-negative.
    quick : bool
        Use small sizes (a fast smoke run).
    sections : sequence of callables, optional
        Sections to run; defaults to the registry :data:`SECTIONS`.
    progress : bool, optional
        Show the tqdm progress bar (on stderr). ``None``: only on a terminal.

    Returns
    -------
    path : pathlib.Path
        Path of the written ``report.md``.

    Raises
    ------
    ValueError
        If ``seed`` is negative, or if a section rejects its input.
    """
    seed = int(seed)
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    output_dir = Path(output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise ValueError(f"output path {str(output_dir)!r} exists and is not a folder")
    output_dir.mkdir(parents=True, exist_ok=True)
    sections = list(SECTIONS if sections is None else sections)

    disable = None if progress is None else not progress
    results: list[SectionResult] = []
    with tqdm(
        total=len(sections), desc="report", unit="section", disable=disable
    ) as bar:
        for section in sections:
            name = _section_name(section)
            ctx = ReportContext(
                output_dir=output_dir,
                seed=seed,
                quick=quick,
                progress=bar,
                section_name=name,
            )
            np.random.seed(seed)
            gs.random.seed(seed)
            ctx.substep("start")
            result = section(ctx)
            if not isinstance(result, SectionResult):
                raise TypeError(
                    f"report section {name!r} returned {type(result).__name__}, "
                    "expected SectionResult"
                )
            results.append(result)
            bar.update(1)
        bar.set_postfix_str("done")

    path = output_dir / REPORT_FILE
    path.write_text(render_report(results, seed, quick), encoding="utf-8")
    return path
