"""Command-line interface: ``geomstats-dln`` (also ``python -m geomstats_dln``).

Errors are reported as a single line ``error: ...`` on stderr: exit code 2 for
bad arguments (click usage errors, and a ``ValueError`` raised while building
the report), 1 for an interrupted run.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from click.exceptions import NoArgsIsHelpError

PROG_NAME = "geomstats-dln"


def _one_line(message: str) -> str:
    """Collapse whitespace (newlines included) so ``message`` fits on one line."""
    return " ".join(str(message).split())


class ReportInputError(click.ClickException):
    """A ``ValueError`` from the report, shown as a usage error (exit code 2)."""

    exit_code = 2


class OneLineErrorGroup(click.Group):
    """A click group that prints every error as one ``error: ...`` line.

    In standalone mode click prints usage errors over several lines (usage,
    hint, message). This group keeps click's exit codes but prints
    ``error: <message>`` alone on stderr.
    """

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the group; see :meth:`click.Command.main`."""
        if not standalone_mode:
            return super().main(
                args, prog_name, complete_var, standalone_mode=False, **extra
            )
        try:
            rv = super().main(
                args,
                prog_name or PROG_NAME,
                complete_var,
                standalone_mode=False,
                **extra,
            )
        except NoArgsIsHelpError as exc:
            click.echo(
                f"error: missing command (try '{prog_name or PROG_NAME} --help')",
                err=True,
            )
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            click.echo(f"error: {_one_line(exc.format_message())}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(1)
        # In non-standalone mode click returns the exit code of ctx.exit(...)
        # (e.g. 0 after --help) or the command's return value.
        sys.exit(rv if isinstance(rv, int) else 0)


def _non_negative(ctx: click.Context, param: click.Parameter, value: int) -> int:
    """Click callback: reject negative integers."""
    if value < 0:
        raise click.BadParameter(f"must be a non-negative integer, got {value}")
    return value


@click.group(
    cls=OneLineErrorGroup, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(package_name="geomstats-dln", prog_name=PROG_NAME)
def main() -> None:
    """Geometry of the deep linear network, on top of geomstats."""


@main.command()
@click.option(
    "--output",
    "-o",
    type=click.Path(file_okay=False, dir_okay=True, writable=True, path_type=str),
    default="dln-report",
    show_default=True,
    help="Folder to write report.md and the figures to (created if absent).",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    callback=_non_negative,
    show_default=True,
    help="Seed of the numpy/geomstats random generators.",
)
@click.option("--quick", is_flag=True, help="Small sizes: a fast smoke run.")
@click.option(
    "--force",
    is_flag=True,
    help="Overwrite an OUTPUT/report.md that geomstats-dln did not write.",
)
def report(output: str, seed: int, quick: bool, force: bool) -> None:
    """Run the numerical checks and write OUTPUT/report.md with figures.

    The run is written into a temporary folder and moved into place when
    complete; a second concurrent run into the same folder is refused.
    """
    from geomstats_dln.report import run_report

    if not output.strip():  # "" would silently mean the current folder
        raise ReportInputError("--output must not be empty")
    output = Path(output)
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # an unusable --output is a bad argument
        raise ReportInputError(_one_line(f"cannot create {output}: {exc}")) from exc
    try:
        path = run_report(output, seed=seed, quick=quick, force=force)
    except ValueError as exc:
        raise ReportInputError(_one_line(str(exc))) from exc
    click.echo(str(path))


@main.command()
@click.argument("ensemble", type=click.Path(path_type=Path))
@click.option(
    "--depth-metric",
    type=click.IntRange(min=1),
    default=None,
    help="N of the metric g^N (default: the networks' depth).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("dln-analysis"),
    show_default=True,
    help="Folder for analysis.md and the figures (created if absent).",
)
@click.option(
    "--clusters",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="k-medoids clusters per determinant component.",
)
@click.option("--n-jobs", type=int, default=None, help="joblib workers for distances.")
def analyze(
    ensemble: Path,
    depth_metric: int | None,
    output: Path,
    clusters: int,
    n_jobs: int | None,
) -> None:
    """Statistics modulo the gauge of ENSEMBLE.npz: write OUTPUT/analysis.md."""
    from geomstats_dln.analysis import analyze_ensemble

    try:
        path = analyze_ensemble(
            ensemble,
            output,
            depth_metric=depth_metric,
            n_clusters=clusters,
            n_jobs=n_jobs,
        )
    except (ValueError, OSError) as exc:
        raise ReportInputError(_one_line(str(exc))) from exc
    click.echo(str(path))


if __name__ == "__main__":  # pragma: no cover
    main()
