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
import os
import platform
import shutil
import tempfile
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

import geomstats.backend as gs

from geomstats_dln.report import (
    balanced_section,
    complex_section,
    dynamics_section,
    end_to_end_section,
    fibers_section,
    low_rank_section,
    optimization_section,
    statistics_section,
    thermodynamics_section,
)
from geomstats_dln.report._framework import (
    Check,
    ReportContext,
    Section,
    SectionResult,
    failed_part,
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

LOCK_FILE = ".geomstats-dln-report.lock"
"""Lock file that keeps a second concurrent run out of the same folder."""

REPORT_MARKER = "<!-- written by geomstats-dln report -->"
"""Second line of every ``report.md`` this tool writes (what ``force`` checks)."""

SECTIONS: list[Section] = [
    end_to_end_section.section,
    balanced_section.section,
    dynamics_section.section,
    fibers_section.section,
    thermodynamics_section.section,
    optimization_section.section,
    statistics_section.section,
    low_rank_section.section,
    complex_section.section,
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
    title = "# geomstats-dln numerical report\n" + REPORT_MARKER + "\n\n"
    return title + markdown_table(("item", "value"), rows)


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


def _written_by_us(path: Path) -> bool:
    with path.open(encoding="utf-8", errors="replace") as handle:
        head = handle.read(400)
    # the marker, or the title of reports written before it existed
    return REPORT_MARKER in head or head.startswith("# geomstats-dln numerical report")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _acquire_lock(output_dir: Path) -> Path:
    """Create the lock file atomically; a lock left by a dead process is taken
    over, a live one refuses the run."""
    lock = output_dir / LOCK_FILE
    for _ in range(2):
        try:
            descriptor = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                owner = int(lock.read_text(encoding="utf-8").strip() or 0)
            except (OSError, ValueError):
                owner = 0
            if owner and _pid_alive(owner):
                raise ValueError(
                    f"another geomstats-dln report (pid {owner}) is writing into "
                    f"{str(output_dir)!r}; wait for it or choose another --output "
                    f"(lock file {lock.name})"
                ) from None
            lock.unlink(missing_ok=True)  # stale: its process is gone
            continue
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(str(os.getpid()))
        return lock
    raise ValueError(f"cannot take the lock {lock} of the output folder")


def _move_into_place(staging: Path, output_dir: Path) -> Path:
    """Move the finished run from ``staging`` into ``output_dir``: the old
    ``report.md`` goes first and the new one comes last, so no moment shows a
    complete-looking report next to another run's figures."""
    target = output_dir / REPORT_FILE
    target.unlink(missing_ok=True)
    for item in sorted(staging.iterdir()):
        if item.name != REPORT_FILE:
            destination = output_dir / item.name
            if destination.is_dir() and not destination.is_symlink():
                shutil.rmtree(destination)
            os.replace(item, destination)
    os.replace(staging / REPORT_FILE, target)
    return target


def run_report(
    output_dir: str | Path,
    seed: int = 0,
    quick: bool = False,
    sections: Sequence[Section] | None = None,
    progress: bool | None = None,
    force: bool = False,
) -> Path:
    """Run the report sections and write ``report.md``.

    The run is written into a temporary folder inside ``output_dir`` and moved
    into place only when complete; a lock file refuses a second concurrent run
    into the same folder; an existing ``report.md`` that this tool did not
    write is not overwritten unless ``force``. A section (or part of one) that
    raises is a FAIL row with its reason: the report itself does not crash.

    Parameters
    ----------
    output_dir : str or pathlib.Path
        Folder to write ``report.md`` and the figures to; created if absent.
        The empty string is refused (it would mean the current folder).
    seed : int
        Seed for the numpy and geomstats random generators, re-applied before
        each section. Must be non-negative.
    quick : bool
        Use small sizes (a fast smoke run).
    sections : sequence of callables, optional
        Sections to run; defaults to the registry :data:`SECTIONS`.
    progress : bool, optional
        Show the tqdm progress bar (on stderr). ``None``: only on a terminal.
    force : bool
        Overwrite a ``report.md`` that was not written by geomstats-dln.

    Returns
    -------
    path : pathlib.Path
        Path of the written ``report.md``.

    Raises
    ------
    ValueError
        If ``seed`` is negative, the output folder is empty, not a folder,
        locked by a running report, or holds a foreign ``report.md``.
    """
    seed = int(seed)
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    if not str(output_dir).strip():
        raise ValueError(
            "the output folder must not be empty (an empty name would write "
            "into the current folder); pass a folder name"
        )
    output_dir = Path(output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise ValueError(f"output path {str(output_dir)!r} exists and is not a folder")
    existing = output_dir / REPORT_FILE
    if existing.is_file() and not force and not _written_by_us(existing):
        raise ValueError(
            f"{str(existing)!r} exists and was not written by geomstats-dln; "
            "pass --force (force=True) to overwrite it"
        )
    output_dir.mkdir(parents=True, exist_ok=True)
    sections = list(SECTIONS if sections is None else sections)
    lock = _acquire_lock(output_dir)
    staging = Path(tempfile.mkdtemp(prefix=".report-partial-", dir=output_dir))
    try:
        results = _run_sections(sections, staging, seed, quick, progress)
        (staging / REPORT_FILE).write_text(
            render_report(results, seed, quick), encoding="utf-8"
        )
        return _move_into_place(staging, output_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        lock.unlink(missing_ok=True)


def _run_sections(sections, output_dir, seed, quick, progress):
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
            try:
                result = section(ctx)
            except Exception as error:  # noqa: BLE001 - the report never crashes
                body, checks = failed_part(f"section {name}", error)
                result = SectionResult(title=name, body=body, checks=checks)
            if not isinstance(result, SectionResult):
                raise TypeError(
                    f"report section {name!r} returned {type(result).__name__}, "
                    "expected SectionResult"
                )
            results.append(result)
            bar.update(1)
        bar.set_postfix_str("done")
    return results
