"""Long upstairs Langevin run against the downstairs chain (issue 15), chunked.

Usage (from the repository root)::

    nice -n 15 .venv/bin/python benchmarks/langevin_long_run.py
        [--paths 1000] [--steps 100000] [--chunk 5000] [--beta 4]
        [--state langevin_long_run.npz] [--result langevin_long_run.md]

Both levels of :func:`~geomstats_dln.dynamics.simulate_rle` (Euler-Maruyama,
``d = 2``, ``N = 3``, ``E = 1/2 |X - diag(3, 2)|^2``, ``dt = 0.01``, the
setting of ``reliability_bench.py``) run ``--paths`` independent paths for
``--steps`` steps in chunks of ``--chunk`` steps. Each chunk restarts from the
previous chunk's final states with fresh Brownian increments (a generator from
``SeedSequence(15, spawn_key=(chunk, level))``): the chain is Markov, so the
chunked run has the law of an unchunked one. After every chunk the states and
the upstairs integrator's counts are saved to ``--state`` (a rerun with the
same settings resumes from it, also with a larger ``--steps``) and
``--result`` is rewritten with, per chunk boundary, the two-sample
Kolmogorov-Smirnov p-values of the singular values of ``X`` upstairs against
downstairs (both levels have the same law of ``X``), the wall time per step of
each level, the paths that needed substeps, the retraction failures and the
frozen paths.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

TARGET = np.diag([3.0, 2.0])
DEPTH, DT = 3, 0.01
LEVELS = ("downstairs", "upstairs")


def _initial_state(n_paths: int) -> dict:
    from geomstats_dln.balanced import center

    return {
        "downstairs": np.array(np.broadcast_to(TARGET, (n_paths, 2, 2))),
        "upstairs": np.array(
            np.broadcast_to(center(TARGET, DEPTH), (n_paths, DEPTH, 2, 2))
        ),
        "frozen": np.zeros(n_paths, dtype=bool),
        "chunks_done": 0,
        "seconds": {"downstairs": 0.0, "upstairs": 0.0},
        "counts": {
            "refined_steps": 0,
            "retraction_failures": 0,
            "max_substeps_used": 1,
            "refined_paths": [],
            "failed_paths": {},
        },
        "history": [],
    }


def _load(path: Path, config: dict, n_paths: int) -> dict:
    if not path.is_file():
        return _initial_state(n_paths)
    with np.load(path, allow_pickle=False) as data:
        saved = json.loads(str(data["meta"]))
        # --steps may grow: a finished run extends from its saved state
        fixed = {key: value for key, value in config.items() if key != "steps"}
        if {key: saved["config"][key] for key in fixed} != fixed:
            raise ValueError(
                f"{path} holds a run with other settings {saved['config']}; "
                "pass another --state or remove it"
            )
        state = saved["state"]
        state["downstairs"] = data["downstairs"]
        state["upstairs"] = data["upstairs"]
        state["frozen"] = data["frozen"]
    return state


def _save(path: Path, config: dict, state: dict) -> None:
    meta = {
        "config": config,
        "state": {
            key: value
            for key, value in state.items()
            if key not in ("downstairs", "upstairs", "frozen")
        },
    }
    partial = path.with_name(path.name + ".partial.npz")
    np.savez(
        partial,
        meta=json.dumps(meta),
        downstairs=state["downstairs"],
        upstairs=state["upstairs"],
        frozen=state["frozen"],
    )
    os.replace(partial, path)  # a run killed while saving keeps the last chunk


def _chunk(level: str, points: np.ndarray, n_steps: int, beta: float, rng):
    from geomstats_dln.dynamics import simulate_rle
    from geomstats_dln.losses import QuadraticLoss

    start = time.perf_counter()
    trajectory = simulate_rle(
        QuadraticLoss(TARGET),
        points,
        DEPTH,
        beta,
        DT * n_steps,
        n_steps,
        level=level,
        seed=rng,
        record_every=n_steps,
    )
    return trajectory.states[-1], trajectory.info, time.perf_counter() - start


def _singular_values(state: dict) -> dict:
    from geomstats_dln.parameters import end_to_end

    active = ~state["frozen"]
    return {
        "downstairs": np.linalg.svd(state["downstairs"], compute_uv=False),
        "upstairs": np.linalg.svd(
            np.asarray(end_to_end(state["upstairs"][active])), compute_uv=False
        ),
    }


def _write_result(path: Path, config: dict, state: dict) -> None:
    counts = state["counts"]
    steps_done = state["chunks_done"] * config["chunk"]
    n_paths = config["paths"]
    per_step = {level: state["seconds"][level] / max(steps_done, 1) for level in LEVELS}
    lines = [
        "# Long upstairs Langevin run vs the downstairs chain",
        "",
        f"d = 2, N = {DEPTH}, E = 1/2 |X - diag(3, 2)|^2, dt = {DT}, "
        f"beta = {config['beta']}, Euler-Maruyama, {n_paths} paths; "
        f"{steps_done} of {config['steps']} steps done "
        f"(T = {steps_done * DT:g}).",
        "",
        f"- wall time per step of all {n_paths} paths: upstairs "
        f"{1e3 * per_step['upstairs']:.1f} ms, downstairs "
        f"{1e3 * per_step['downstairs']:.2f} ms (same run)",
        f"- paths that needed substeps: {len(counts['refined_paths'])} of "
        f"{n_paths} ({counts['refined_steps']} (path, step) pairs refined, at most "
        f"{counts['max_substeps_used']} substeps)",
        f"- retraction failures (each triggered a refinement): "
        f"{counts['retraction_failures']}",
        f"- frozen paths (failed even at max_substeps): "
        f"{len(counts['failed_paths'])} {counts['failed_paths'] or ''}",
        "",
        "| steps | T | KS p s_1 | KS p s_2 | upstairs s / step | downstairs s / step |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in state["history"]:
        lines.append(
            f"| {row['steps']} | {row['steps'] * DT:g} | {row['p'][0]:.3f} | "
            f"{row['p'][1]:.3f} | {row['seconds']['upstairs']:.4f} | "
            f"{row['seconds']['downstairs']:.5f} |"
        )
    lines += [
        "",
        "KS p-values at successive boundaries are of one pair of chains (not "
        "independent tests); the verdict is the last row, two tests at level "
        "0.01 each.",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--paths", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=5000)
    parser.add_argument("--beta", type=float, default=4.0)
    parser.add_argument("--state", default="langevin_long_run.npz")
    parser.add_argument("--result", default="langevin_long_run.md")
    args = parser.parse_args()
    if args.steps % args.chunk:
        raise SystemExit("error: --steps must be a multiple of --chunk")
    config = {
        "paths": args.paths,
        "steps": args.steps,
        "chunk": args.chunk,
        "beta": args.beta,
    }
    state_path, result_path = Path(args.state), Path(args.result)
    state = _load(state_path, config, args.paths)
    n_chunks = args.steps // args.chunk
    bar = tqdm(total=n_chunks, initial=state["chunks_done"], unit="chunk")
    while state["chunks_done"] < n_chunks:
        index = state["chunks_done"]
        row = {"seconds": {}}
        for level_index, level in enumerate(LEVELS):
            rng = np.random.default_rng(
                np.random.SeedSequence(15, spawn_key=(index, level_index))
            )
            points = state[level]
            active = np.flatnonzero(~state["frozen"]) if level == "upstairs" else None
            if active is not None:
                points = points[active]
            final, info, seconds = _chunk(level, points, args.chunk, args.beta, rng)
            if active is not None:
                state[level][active] = final
                counts = state["counts"]
                counts["refined_steps"] += info["refined_steps"]
                counts["retraction_failures"] += info["retraction_failures"]
                counts["max_substeps_used"] = max(
                    counts["max_substeps_used"], info["max_substeps_used"]
                )
                refined = set(counts["refined_paths"])
                refined |= {int(active[i]) for i in info["refined_paths"]}
                counts["refined_paths"] = sorted(refined)
                for path_index, step in info["failed_at_step"].items():
                    original = int(active[int(path_index)])
                    state["frozen"][original] = True
                    counts["failed_paths"][str(original)] = index * args.chunk + step
            else:
                state[level] = final
            state["seconds"][level] += seconds
            row["seconds"][level] = seconds / args.chunk
        singular = _singular_values(state)
        row["p"] = [
            float(
                stats.ks_2samp(
                    singular["downstairs"][:, i], singular["upstairs"][:, i]
                ).pvalue
            )
            for i in range(2)
        ]
        state["chunks_done"] = index + 1
        row["steps"] = state["chunks_done"] * args.chunk
        state["history"].append(row)
        _save(state_path, config, state)
        _write_result(result_path, config, state)
        bar.update(1)
        bar.set_postfix_str(f"KS p {row['p'][0]:.2f}, {row['p'][1]:.2f}")
    bar.close()
    print(result_path.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
