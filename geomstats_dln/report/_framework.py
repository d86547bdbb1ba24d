"""Building blocks of the numerical report: context, results, tables, figures."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = [
    "Check",
    "assemble_section",
    "failed_part",
    "ReportContext",
    "Section",
    "SectionResult",
    "markdown_table",
    "new_figure",
    "save_figure",
    "format_float",
]


@dataclass
class Check:
    """One numerical check: a measured error against a stated tolerance.

    Parameters
    ----------
    name : str
        What was checked.
    value : float
        The measured error (or deviation); smaller is better.
    tolerance : float
        The check passes when ``value <= tolerance``.
    """

    name: str
    value: float
    tolerance: float

    @property
    def passed(self) -> bool:
        """Whether ``value <= tolerance`` (NaN never passes)."""
        return bool(math.isfinite(self.value) and self.value <= self.tolerance)

    @property
    def verdict(self) -> str:
        """``"PASS"`` or ``"FAIL"``."""
        return "PASS" if self.passed else "FAIL"


@dataclass
class SectionResult:
    """What a report section produced.

    Parameters
    ----------
    title : str
        Section title (rendered as a level-2 markdown heading).
    body : str
        Markdown body: text and tables.
    figures : list of str
        File names of the figures the section saved in the output folder,
        relative to it. Figures the body does not already show with
        ``![...](name)`` are appended after the body in ``report.md``.
    checks : list of Check
        The pass/fail checks behind the section's tables, for the summary.
    """

    title: str
    body: str
    figures: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether every check of the section passed."""
        return all(check.passed for check in self.checks)


@dataclass
class ReportContext:
    """What a section gets to work with.

    Parameters
    ----------
    output_dir : pathlib.Path
        Folder the report is written to; figures go here.
    seed : int
        Random seed of the run. The numpy and geomstats global generators are
        re-seeded with it before each section, so sections do not depend on
        each other's consumption of random numbers.
    quick : bool
        Whether to use small sizes (fast smoke run).
    progress : Any, optional
        The run's tqdm progress bar. Sections report sub-steps through
        :meth:`substep`, not by ticking the bar: the framework ticks it once
        per section.
    """

    output_dir: Path
    seed: int
    quick: bool
    progress: Any = None
    section_name: str = ""

    def substep(self, description: str) -> None:
        """Show ``description`` as the current sub-step on the progress bar.

        Parameters
        ----------
        description : str
            Short description of the sub-step.
        """
        if self.progress is not None:
            label = description
            if self.section_name:
                label = f"{self.section_name}: {description}"
            self.progress.set_postfix_str(label, refresh=True)

    def figure_path(self, name: str) -> Path:
        """Return the path a figure called ``name`` is saved to.

        Parameters
        ----------
        name : str
            File name, e.g. ``"geodesics.png"``.

        Returns
        -------
        path : pathlib.Path
            ``output_dir / name``.
        """
        return self.output_dir / name


Section = Callable[[ReportContext], SectionResult]
"""A report section: a callable taking the context, returning its result."""


def format_float(value: float, digits: int = 2) -> str:
    """Format a number for a markdown table (scientific for small/large values).

    Parameters
    ----------
    value : float
        Number to format.
    digits : int
        Digits after the decimal point of the mantissa.

    Returns
    -------
    text : str
        Formatted number.
    """
    if isinstance(value, bool | str):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    if value == 0.0:
        return "0"
    if 1e-3 <= abs(value) < 1e4:
        return f"{value:.{digits + 3}g}"
    return f"{value:.{digits}e}"


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Render a markdown table.

    Parameters
    ----------
    headers : sequence of str
        Column headers.
    rows : iterable of sequence
        Table rows; floats are formatted with :func:`format_float`, anything
        else with ``str``.

    Returns
    -------
    table : str
        The markdown table, without a trailing newline.
    """

    def cell(value: Any) -> str:
        text = format_float(value) if isinstance(value, float) else str(value)
        return text.replace("|", "\\|")

    lines = [
        "| " + " | ".join(cell(header) for header in headers) + " |",
        "|" + "|".join(" --- " for _ in headers) + "|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(cell(value) for value in row) + " |")
    return "\n".join(lines)


def new_figure(**kwargs: Any) -> Figure:
    """Create a matplotlib figure attached to the Agg canvas.

    The figure does not go through ``pyplot``, so no GUI backend is touched and
    no global figure state is kept.

    Parameters
    ----------
    **kwargs
        Passed to :class:`matplotlib.figure.Figure` (``figsize``, ``dpi``, ...).

    Returns
    -------
    fig : matplotlib.figure.Figure
        The new figure.
    """
    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig


def save_figure(ctx: ReportContext, fig: Figure, name: str, dpi: int = 120) -> str:
    """Save ``fig`` in the output folder and return its file name.

    Parameters
    ----------
    ctx : ReportContext
        The report context.
    fig : matplotlib.figure.Figure
        Figure to save.
    name : str
        File name (e.g. ``"geodesics.png"``).
    dpi : int
        Resolution.

    Returns
    -------
    name : str
        ``name``, to list in :attr:`SectionResult.figures`.
    """
    fig.savefig(ctx.figure_path(name), dpi=dpi, bbox_inches="tight")
    return name


def _part_name(part: Callable) -> str:
    name = getattr(part, "__name__", type(part).__name__)
    return name.strip("_").replace("_", " ") or "part"


def failed_part(name: str, error: BaseException) -> tuple[str, list[Check]]:
    """The text and the FAIL check of a part (or section) that raised.

    A check that cannot be computed is a failed check, with its reason, not a
    crash of the whole report.

    Parameters
    ----------
    name : str
        What could not be computed.
    error : Exception
        What it raised.

    Returns
    -------
    markdown : str
    checks : list of Check
        One check with value NaN (never passes).
    """
    reason = " ".join(f"{type(error).__name__}: {error}".split())
    check = Check(f"{name}: could not be computed ({reason})", math.nan, 0.0)
    text = (
        f"### {name}: could not be computed\n\n"
        "This part raised an exception; it counts as a failed check.\n\n"
        + markdown_table(("check", "reason", "result"), [(name, reason, "FAIL")])
    )
    return text, [check]


Part = Callable[[ReportContext], tuple]
"""A part of a section: ``part(ctx) -> (markdown, checks[, figure name])``."""


def assemble_section(
    ctx: ReportContext, title: str, intro: str, parts: Sequence[Part]
) -> SectionResult:
    """Run ``parts`` in order and join their text, checks and figures.

    A part that raises becomes a FAIL row naming the exception
    (:func:`failed_part`); the other parts still run.

    Parameters
    ----------
    ctx : ReportContext
        Passed to each part.
    title : str
        Section title.
    intro : str
        Markdown paragraph before the parts' text.
    parts : sequence of callables
        Each returns ``(markdown, checks)`` or ``(markdown, checks, figure)``.

    Returns
    -------
    result : SectionResult
    """
    blocks, checks, figures = [intro], [], []
    for part in parts:
        try:
            out = part(ctx)
        except Exception as error:  # noqa: BLE001 - a report never crashes
            out = failed_part(_part_name(part), error)
        blocks.append(out[0])
        checks += out[1]
        if len(out) > 2:
            figures.append(out[2])
    return SectionResult(
        title=title, body="\n\n".join(blocks), figures=figures, checks=checks
    )
