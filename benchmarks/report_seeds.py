"""Run ``report --quick`` for many seeds and count the seeds that pass.

Usage (from the repository root)::

    .venv/bin/python benchmarks/report_seeds.py [--first 0] [--last 99]
        [--sections end_to_end_section,balanced_section,...] [--jobs 1]
        [--keep DIR]

Each seed runs the chosen report sections (default: all of
:data:`geomstats_dln.report.SECTIONS`) the way ``geomstats-dln report --quick
--seed S`` does (generators re-seeded before each section), in a temporary
folder. A seed passes when no section raises and every check passes; a part
that cannot be computed is a FAIL row (the report never crashes), so both are
counted here. Prints one line per failing seed and the totals.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

from joblib import Parallel, delayed  # noqa: E402


def run_seed(
    seed: int, names: list[str] | None, keep: str | None = None
) -> tuple[int, list[str], float]:
    """``(seed, failed check names, seconds)`` for one quick report; with
    ``keep`` (a folder) the report text is also saved as ``keep/seed-S.md``."""
    from geomstats_dln.report import SECTIONS, _section_name, run_report

    sections = [s for s in SECTIONS if names is None or _section_name(s) in names]
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        path = run_report(
            Path(folder) / "report",
            seed=seed,
            quick=True,
            sections=sections,
            progress=False,
        )
        text = path.read_text(encoding="utf-8")
    if keep is not None:
        Path(keep).mkdir(parents=True, exist_ok=True)
        (Path(keep) / f"seed-{seed}.md").write_text(text, encoding="utf-8")
    failed = []
    for line in text.splitlines():
        if not (line.startswith("|") and line.rstrip().endswith("| FAIL |")):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells[0].isdigit() and len(cells) == 4:
            # a row of the summary table (#, section, checks passed, result):
            # names the section even when it does not print its check rows
            failed.append(f"section {cells[0]} {cells[1]!r} ({cells[2]} checks)")
        else:
            failed.append(cells[0])
    return seed, failed, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--last", type=int, default=99)
    parser.add_argument("--sections", default=None)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument(
        "--keep", default=None, help="folder to keep each seed's report.md in"
    )
    args = parser.parse_args()
    names = None if args.sections is None else args.sections.split(",")
    seeds = range(args.first, args.last + 1)
    results, passed = [], 0
    outputs = Parallel(n_jobs=args.jobs, return_as="generator_unordered")(
        delayed(run_seed)(seed, names, args.keep) for seed in seeds
    )
    for seed, failed, seconds in outputs:  # one line per seed as it finishes
        results.append((seed, failed, seconds))
        if failed:
            print(f"seed {seed}: FAIL ({seconds:.0f} s): {'; '.join(failed)[:300]}")
        else:
            passed += 1
            print(f"seed {seed}: pass ({seconds:.0f} s)")
        print(f"  so far {passed} of {len(results)} pass", flush=True)
    total = sum(result[2] for result in results)
    print(
        f"{passed} of {len(results)} seeds pass (sections: {args.sections or 'all'}; "
        f"{total:.0f} s of section time)"
    )


if __name__ == "__main__":
    main()
