"""Tests of the ``geomstats-dln`` command line and of the import-time checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from geomstats_dln import report as report_module
from geomstats_dln._compat import _numpy_too_new, check_backend
from geomstats_dln.cli import main
from geomstats_dln.report import Check, SectionResult, run_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _stderr_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


def _assert_one_line_error(result, code: int = 2) -> str:
    assert result.exit_code == code, (result.exit_code, result.output)
    lines = _stderr_lines(result)
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: "), lines
    return lines[0]


# ---------------------------------------------------------------------------
# report --quick
# ---------------------------------------------------------------------------


def test_report_quick_writes_report_and_figure(tmp_path: Path) -> None:
    out = tmp_path / "rep"
    result = CliRunner().invoke(main, ["report", "--quick", "-o", str(out)])
    assert result.exit_code == 0, result.output
    report_md = out / "report.md"
    assert result.stdout.strip() == str(report_md)
    text = report_md.read_text(encoding="utf-8")
    assert text.startswith("# geomstats-dln numerical report")
    for item in ("geomstats-dln", "geomstats", "numpy", "seed", "date", "quick"):
        assert f"| {item} |" in text
    assert "End-to-end matrices" in text
    assert "![end_to_end_geodesics.png](end_to_end_geodesics.png)" in text
    png = out / "end_to_end_geodesics.png"
    assert png.read_bytes()[:8] == PNG_MAGIC
    assert "Balanced networks and the Riemannian submersion" in text
    assert (out / "balanced_hyperbola.png").read_bytes()[:8] == PNG_MAGIC
    # Every numerical check of the report passes.
    assert "| FAIL |" not in text, text


def test_report_default_output_folder(tmp_path: Path, monkeypatch) -> None:
    def tiny(ctx):
        return SectionResult(title="tiny", body="body")

    monkeypatch.setattr(report_module, "SECTIONS", [tiny])
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["report", "--seed", "3"])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "dln-report" / "report.md").read_text(encoding="utf-8")
    assert "| seed | 3 |" in text
    assert "## 1. tiny" in text


def test_run_report_reseeds_each_section(tmp_path: Path) -> None:
    import numpy as np

    draws = []

    def draw(ctx):
        draws.append(np.random.rand())
        return SectionResult(title="draw", body=str(draws[-1]))

    run_report(tmp_path, seed=5, quick=True, sections=[draw, draw], progress=False)
    assert draws[0] == draws[1]


# ---------------------------------------------------------------------------
# Bad arguments: exit code 2 and one line on stderr.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["report", "--seed", "abc"],
        ["report", "--seed", "-1"],
        ["report", "--no-such-option"],
        ["no-such-command"],
        [],
    ],
)
def test_bad_arguments_exit_2_with_one_line(args: list[str]) -> None:
    result = CliRunner().invoke(main, args)
    _assert_one_line_error(result)


def test_output_is_a_file_exits_2(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("not a folder")
    result = CliRunner().invoke(main, ["report", "--quick", "-o", str(target)])
    _assert_one_line_error(result)


def test_a_raising_section_is_a_fail_row_not_a_crash(tmp_path: Path, monkeypatch):
    def broken(ctx):
        raise ValueError("bad size\n  (spread over two lines)")

    def fine(ctx):
        return SectionResult(title="fine", body="ok", checks=[Check("one", 0.0, 1.0)])

    monkeypatch.setattr(report_module, "SECTIONS", [broken, fine])
    result = CliRunner().invoke(main, ["report", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "ValueError: bad size (spread over two lines) | FAIL |" in text
    assert "| 1 | test_cli | 0/1 | FAIL |" in text  # the summary counts it (by module)
    assert "| 2 | fine | 1/1 | PASS |" in text  # the next section still ran


def test_a_raising_part_is_a_fail_row_and_the_other_parts_run(tmp_path: Path):
    from geomstats_dln.report._framework import ReportContext, assemble_section

    def first(ctx):
        return "first text", [Check("first", 0.0, 1.0)]

    def _second_part(ctx):
        raise RuntimeError("geodesic left the full-rank set")

    def third(ctx):
        return "third text", [Check("third", 2.0, 1.0)]

    ctx = ReportContext(output_dir=tmp_path, seed=0, quick=True)
    result = assemble_section(ctx, "t", "intro", (first, _second_part, third))
    assert [check.passed for check in result.checks] == [True, False, False]
    assert "second part: could not be computed" in result.body
    assert "RuntimeError: geodesic left the full-rank set" in result.checks[1].name
    assert "third text" in result.body


def test_empty_output_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["report", "--quick", "-o", ""])
    line = _assert_one_line_error(result)
    assert "must not be empty" in line
    assert not (tmp_path / "report.md").exists()
    with pytest.raises(ValueError, match="must not be empty"):
        run_report("", sections=[])


def _tiny(ctx):
    (ctx.output_dir / "tiny.png").write_bytes(PNG_MAGIC + str(ctx.seed).encode())
    return SectionResult(title="tiny", body="body", figures=["tiny.png"])


def test_a_foreign_report_md_is_not_overwritten_without_force(tmp_path, monkeypatch):
    monkeypatch.setattr(report_module, "SECTIONS", [_tiny])
    notes = tmp_path / "report.md"
    notes.write_text("# my own notes\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["report", "-o", str(tmp_path)])
    line = _assert_one_line_error(result)
    assert "not written by geomstats-dln" in line and "--force" in line
    assert notes.read_text(encoding="utf-8") == "# my own notes\n"
    result = CliRunner().invoke(main, ["report", "-o", str(tmp_path), "--force"])
    assert result.exit_code == 0, result.output
    assert notes.read_text(encoding="utf-8").startswith("# geomstats-dln numerical")
    # a report this tool wrote is replaced without --force
    result = CliRunner().invoke(main, ["report", "-o", str(tmp_path), "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert "| seed | 7 |" in notes.read_text(encoding="utf-8")
    assert (tmp_path / "tiny.png").read_bytes() == PNG_MAGIC + b"7"


def test_a_live_lock_refuses_a_second_run_and_a_stale_one_is_taken_over(tmp_path):
    lock = tmp_path / report_module.LOCK_FILE
    lock.write_text(str(os.getpid()))  # this process: alive
    with pytest.raises(ValueError, match="another geomstats-dln report"):
        run_report(tmp_path, sections=[_tiny], progress=False)
    assert not (tmp_path / "report.md").exists()
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    lock.write_text(finished.stdout.strip())  # a process that has exited
    path = run_report(tmp_path, sections=[_tiny], progress=False)
    assert path.is_file() and not lock.exists()


def test_an_interrupted_run_leaves_the_earlier_report_intact(tmp_path: Path):
    run_report(tmp_path, seed=1, sections=[_tiny], progress=False)
    before = (tmp_path / "report.md").read_text(encoding="utf-8")

    def interrupted(ctx):
        (ctx.output_dir / "tiny.png").write_bytes(b"half-written")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_report(tmp_path, seed=2, sections=[_tiny, interrupted], progress=False)
    assert (tmp_path / "report.md").read_text(encoding="utf-8") == before
    assert (tmp_path / "tiny.png").read_bytes() == PNG_MAGIC + b"1"
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert sorted(leftovers) == ["report.md", "tiny.png"], leftovers


@pytest.mark.parametrize("seed", [1, 9, 23])
def test_quick_balanced_section_passes_for_sample_seeds(tmp_path: Path, seed: int):
    """Seed 1 crashed in section 2 (d) (a geodesic leaving the full-rank set),
    seed 9 failed (a) on a stiff draw; benchmarks/report_seeds.py runs 0..99."""
    from geomstats_dln.report import balanced_section

    path = run_report(
        tmp_path,
        seed=seed,
        quick=True,
        sections=[balanced_section.section],
        progress=False,
    )
    text = path.read_text(encoding="utf-8")
    assert "| FAIL |" not in text and "could not be computed" not in text


@pytest.mark.parametrize(
    ("section_name", "seed"),
    [("statistics_section", 3), ("thermodynamics_section", 2)],
)
def test_quick_sections_pass_for_seeds_that_failed(
    tmp_path: Path, section_name: str, seed: int
):
    """Statistics seed 3 took the same network twice (d(a, b) = 0, a NaN check);
    thermodynamics seed 2 was a chance KS rejection at the uncorrected level."""
    import importlib

    section = importlib.import_module(f"geomstats_dln.report.{section_name}")
    path = run_report(
        tmp_path, seed=seed, quick=True, sections=[section.section], progress=False
    )
    text = path.read_text(encoding="utf-8")
    assert "| FAIL |" not in text and "could not be computed" not in text


def test_exp_log_case_redraws_a_geodesic_that_leaves_the_full_rank_set():
    """Report 1 (d) uses only geodesics that exist up to t = 1: a draw whose
    g^3 geodesic runs into the rank-deficient set (s = 0.02 at g-distance about
    sqrt(3) 0.02^(1/3) = 0.47 < 0.5 from it) is replaced by the next draw."""
    import numpy as np

    from geomstats_dln import EndToEndMatrices
    from geomstats_dln.report.end_to_end_section import _exp_log_case

    good = np.array([[2.0, 0.3], [0.1, 1.0]])
    draws = [
        (np.diag([1.0, 0.02]), np.diag([0.0, -1.0])),
        (good, np.array([[0.1, 0.2], [-0.3, 0.1]])),
    ]

    class Scripted(EndToEndMatrices):
        def random_point(self, n_samples=1, bound=1.0):
            self._draw = draws.pop(0)
            return self._draw[0]

        def random_tangent_vec(self, base_point, n_samples=1):
            return self._draw[1]

    space = Scripted(2, depth=3)
    point, vec, redraws = _exp_log_case(space)
    assert redraws == 1
    np.testing.assert_array_equal(point, good)
    norm = float(space.metric.inner_product(vec, vec, point))
    assert abs(np.sqrt(norm) - 0.5) <= 1e-12


def test_help_exits_0() -> None:
    result = CliRunner().invoke(main, ["report", "--help"])
    assert result.exit_code == 0
    assert "--quick" in result.output


def _run_module(*args: str, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_python_dash_m_entry_point() -> None:
    ok = _run_module("-m", "geomstats_dln", "--help")
    assert ok.returncode == 0, ok.stderr
    assert "report" in ok.stdout
    bad = _run_module("-m", "geomstats_dln", "report", "--seed", "abc")
    assert bad.returncode == 2
    lines = [line for line in bad.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), bad.stderr


# ---------------------------------------------------------------------------
# Import-time environment checks (they run before the CLI can start).
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["numpy", "autograd"])
def test_supported_backends_accepted(backend: str) -> None:
    assert check_backend(backend) == backend


def test_unsupported_backend_rejected() -> None:
    with pytest.raises(ImportError, match="GEOMSTATS_BACKEND='pytorch'"):
        check_backend("pytorch")


def test_unsupported_backend_at_import() -> None:
    proc = _run_module(
        "-c", "import geomstats_dln", env={"GEOMSTATS_BACKEND": "tensorflow"}
    )
    assert proc.returncode != 0
    assert "ImportError" in proc.stderr
    assert "supports the geomstats backends numpy or autograd" in proc.stderr


def test_numpy_without_trapz_gives_clear_error() -> None:
    # Simulate numpy >= 2.4, which removed numpy.trapz (used by geomstats 2.8.0).
    code = "import numpy\ndel numpy.trapz\nimport geomstats_dln\n"
    proc = _run_module("-c", code)
    assert proc.returncode != 0
    assert 'pip install "numpy<2.4"' in proc.stderr
    assert "trapz" in proc.stderr


@pytest.mark.parametrize(
    ("version", "too_new"),
    [("1.26.4", False), ("2.3.5", False), ("2.4.0", True), ("2.10.1", True)],
)
def test_numpy_version_comparison(version: str, too_new: bool) -> None:
    assert _numpy_too_new(version) is too_new


def test_uncreatable_output_exits_2_with_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = CliRunner().invoke(main, ["report", "--quick", "-o", str(blocker / "sub")])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "cannot create" in result.stderr


def test_taylor_slope_ignores_a_flat_rounding_floor():
    """Report 5 (b) fits the Taylor-model slope above the rounding floor: on
    errors c h^3 floored by one repeated rounding value (what seed 30 gave, and
    where Pymanopt's segment choice fitted the floor with slope 0) the fit is 3,
    and 2 for c h^2."""
    import numpy as np

    from geomstats_dln.report.optimization_section import _taylor_slope

    steps = np.logspace(-8, 0, 51)
    for order in (2, 3):
        errors = np.maximum(1e-3 * steps**order, 3.55e-15)
        errors[steps < 1e-5] = 3.55e-15  # exact repeats, as in floating point
        assert abs(_taylor_slope(steps, errors) - order) <= 1e-10
        # seed 99: a floor of exact zeros with scattered rounding values
        errors[steps < 1e-4] = np.where(
            np.arange(np.sum(steps < 1e-4)) % 11 == 10, 7.1e-15, 0.0
        )
        assert abs(_taylor_slope(steps, errors) - order) <= 1e-10
