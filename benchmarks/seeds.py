"""Score over seeds: named variants (a script and its flags) x seeds 1..k on one env, resumable, summarised.

    python benchmarks/seeds.py --grid value-clip --seeds 3 --parallel 2           # run what is missing, then report
    python benchmarks/seeds.py --grid value-clip --seeds 3 --report-only          # report what is there
    python benchmarks/seeds.py --grid breakout-20m --seeds 5 --report-only --plot docs/results/breakout_20m.png
        --summary docs/results/seeds_breakout-20m.json   # (one line) a fresh checkout: runs from the summary
    python benchmarks/seeds.py --grid cleanrl-hopper --seeds 3 --parallel 2  # CleanRL's MuJoCo settings
                                                                             # (also -halfcheetah, -walker2d)

Each run is one call of a script's own CLI with `--threads 1` (several side by side on one machine),
writing runs/seeds/<grid>/<variant>/seed<k>/metrics.jsonl; a run whose metrics reached its budget
is not repeated. The report gives, per variant, the score at each checkpoint for every run (the mean
raw score of the last 100 episodes at the first iteration at or past the step), the mean and the
IQM over seeds with 95% percentile-bootstrap CIs, and the fraction of runs above `--wall` points;
`--plot` draws each variant's mean curve over seeds with a band from the lowest to the highest run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import study  # noqa: E402  (the summary file format)
BATCH = 512 * 64  # the scripts' default batch

# CleanRL's ppo_continuous_action.py hyperparameters, as the scripts' flags (its defaults: 1 env, 2048 steps,
# 32 minibatches, 10 epochs, lr 3e-4 annealed, no entropy bonus, value-loss clipping, 64-unit tanh MLPs,
# observation normalisation, rewards scaled by the std of a 0.99-discounted return and clipped to 10)
CLEANRL_MUJOCO = ["--num-envs", "1", "--num-steps", "2048", "--num-minibatches", "32", "--update-epochs", "10",
                  "--learning-rate", "3e-4", "--anneal-lr", "--ent-coef", "0.0", "--clip-vloss", "--hidden-size", "64",
                  "--norm-obs", "on", "--reward-clip", "10", "--gamma", "0.99", "--gae-lambda", "0.95",
                  "--max-grad-norm", "0.5", "--vf-coef", "0.5", "--clip-coef", "0.2", "--norm-adv"]

# grid -> (env, budget in steps, checkpoints, {variant: (script, flags)}[, batch when not BATCH])
GRIDS = {
    # value-loss clipping by the absolute clip_coef, on and off, for the two critics whose scales differ most
    "value-clip": ("breakout", 152 * BATCH, (1_000_000, 2_500_000, 152 * BATCH), {
        "gae, clip": ("ppo_gae.py", ["--clip-vloss"]),
        "gae, no clip": ("ppo_gae.py", ["--no-clip-vloss"]),
        "reward horizon, clip": ("ppo_reward_horizon.py", ["--clip-vloss"]),
        "reward horizon, no clip": ("ppo_reward_horizon.py", ["--no-clip-vloss"]),
    }),
    "breakout-20m": ("breakout", 610 * BATCH, (5_000_000, 10_000_000, 610 * BATCH), {
        "gae": ("ppo_gae.py", []),
        "gae, lambda 1": ("ppo_gae.py", ["--gae-lambda", "1.0"]),
        "reward horizon": ("ppo_reward_horizon.py", []),
        "reward horizon, precision": ("ppo_reward_horizon.py", ["--head-weighting", "precision"]),
        "avg reward": ("ppo_avg_reward.py", []),
        # GAE's (γ, λ) grid: λ {0.95, 1} x γ {0.99, 0.999}, the first two above
        "gae, gamma 0.999": ("ppo_gae.py", ["--gamma", "0.999"]),
        "gae, gamma 0.999, lambda 1": ("ppo_gae.py", ["--gamma", "0.999", "--gae-lambda", "1.0"]),
        # a candidate default of the reward-horizon script: 11 geometric bins up to 1024 steps, the adaptive cut
        "reward horizon, bins + cut": ("ppo_reward_horizon.py", [
            "--bins", "geometric", "--horizon", "1024", "--head-weighting", "adaptive", "--cut-fraction", "2"]),
    }),
}
for _task in ("Hopper-v5", "HalfCheetah-v5", "Walker2d-v5"):  # 488 iterations of 2048 steps: CleanRL's 1M
    GRIDS[f"cleanrl-{_task.split('-')[0].lower()}"] = (_task, 1_000_000, (250_000, 500_000, 488 * 2048), {
        "gae, CleanRL's flags": ("ppo_gae.py", CLEANRL_MUJOCO + ["--reward-scale", "return"]),
        # the same with the kit's scaling (std of the per-step reward) in place of CleanRL's
        "gae, CleanRL's flags, per-step reward std": ("ppo_gae.py", CLEANRL_MUJOCO + ["--reward-scale", "std"]),
    }, 2048)


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name).strip("_")


def summary_key(grid: str, variant: str, seed: int) -> str:
    """A run's name in a grid's summary file."""
    return f"{grid}/{slug(variant)}/seed{seed}"


read = study.read_metrics  # a run's metrics.jsonl rows (a torn last line, a run being written, dropped)


def restore(entries: dict, key: str, run_dir: str) -> bool:
    """Write run_dir/metrics.jsonl from a summary's entry `key` when run_dir holds fewer steps (a fresh
    checkout: run directories are not committed, summaries are)."""
    entry = entries.get(key)
    if entry is None or (read(run_dir) and read(run_dir)[-1]["global_step"] >= entry["rows"][-1][0]):
        return False
    study.write_metrics(run_dir, study.metrics_rows(entry["rows"]))
    return True


def save_summary(path: str, finished: dict[str, list[dict]]):
    """Merge {key: metrics rows} of finished runs into the summary at `path`."""
    data = study.read_summary(path)
    for key, rows in finished.items():
        data["runs"][key] = {"rows": study.summary_rows(rows)}
    study.write_summary(path, data)


def score_at(rows: list[dict], step: int) -> float | None:
    row = next((r for r in rows if r["global_step"] >= step), None)
    return None if row is None else row["episode_score"]


def bootstrap_ci(x: np.ndarray, stat, reps: int = 10_000, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    samples = [stat(x[rng.integers(0, len(x), len(x))]) for _ in range(reps)]
    return float(np.percentile(samples, 2.5)), float(np.percentile(samples, 97.5))


def iqm(x: np.ndarray) -> float:
    """Mean of the middle half (interquartile mean), as rliable defines it."""
    x = np.sort(x)
    n = len(x)
    lo, hi = int(np.floor(0.25 * n)), int(np.ceil(0.75 * n))
    return float(x[lo:hi].mean()) if hi > lo else float(x.mean())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--grid", choices=sorted(GRIDS), required=True)
    p.add_argument("--seeds", type=int, default=3, help="seeds 1..k")
    p.add_argument("--parallel", type=int, default=2, help="runs at once, one thread each")
    p.add_argument("--out", default=os.path.join(ROOT, "runs", "seeds"), help="results directory")
    p.add_argument("--report-only", action="store_true", help="run nothing, report what is there")
    p.add_argument("--wall", type=float, default=400.0, help="report the fraction of runs above this score")
    p.add_argument("--plot", help="also save the curves (mean over seeds, band = min to max) to this PNG")
    p.add_argument("--variant", action="append", default=[], metavar="NAME",
                   help="run only this variant of the grid (repeatable, run in this order; the report shows all)")
    p.add_argument("--summary", metavar="JSON", help="a committed summary of finished runs (e.g. docs/results/"
                   "seeds_<grid>.json): its runs missing here are restored first, finished runs are written back")
    args = p.parse_args(argv)
    env, budget, checkpoints, variants, *rest = GRIDS[args.grid]
    batch = rest[0] if rest else BATCH

    if args.parallel < 1:
        print(f"error: --parallel={args.parallel} is not allowed: use an integer >= 1", file=sys.stderr)
        sys.exit(2)
    bad = [v for v in args.variant if v not in variants]
    if bad:
        print(f"error: --variant {bad[0]!r} is not a variant of grid {args.grid}: use one of "
              f"{' | '.join(repr(v) for v in variants)}", file=sys.stderr)
        sys.exit(2)

    runs = [(v, s, os.path.join(args.out, args.grid, slug(v), f"seed{s}")) for v in variants
            for s in range(1, args.seeds + 1)]

    def finished(run_dir):
        return read(run_dir) and read(run_dir)[-1]["global_step"] >= budget // batch * batch

    def keep():  # every finished run into the summary
        save_summary(args.summary, {summary_key(args.grid, v, s): read(d) for v, s, d in runs if finished(d)})

    if args.summary:
        entries = study.read_summary(args.summary)["runs"]
        restored = sum(restore(entries, summary_key(args.grid, v, s), d) for v, s, d in runs)
        print(f"restored {restored} finished runs from {args.summary}")
    todo = [r for r in runs if not finished(r[2])]
    if args.variant:
        todo = [r for v in args.variant for r in todo if r[0] == v]
    if not args.report_only:
        live = []
        while todo or live:
            while todo and len(live) < args.parallel:
                variant, seed, run_dir = todo.pop(0)
                script, flags = variants[variant]
                cmd = [sys.executable, os.path.join(ROOT, script), "--env", env, "--seed", str(seed), "--threads", "1",
                       "--total-timesteps", str(budget), "--run-dir", run_dir, *flags]
                os.makedirs(run_dir, exist_ok=True)
                print("+", " ".join(cmd[1:]), flush=True)
                live.append(subprocess.Popen(cmd, stdout=open(os.path.join(run_dir, "log.txt"), "w"),
                                             stderr=subprocess.STDOUT, cwd=ROOT))
            time.sleep(2)
            running = [proc for proc in live if proc.poll() is None]
            if args.summary and len(running) < len(live):  # a run ended: its summary is kept at once
                keep()
            live = running
    if args.summary:
        keep()

    print(f"{args.grid}: {env}, {budget:,d} steps, seeds 1..{args.seeds}; score = mean raw score of the last 100 "
          f"episodes at the first iteration at or past each step\n")
    by_run = {(v, s): d for v, s, d in runs}
    print("\n".join(table(variants, checkpoints, args.seeds, lambda v, s: read(by_run[v, s]), args.wall)))
    if args.plot:
        plot(args, env, variants, runs)


def table(variants, checkpoints, seeds: int, rows_of, wall: float) -> list[str]:
    """The report's markdown table: per variant with a finished run and checkpoint, the score of seeds 1..k
    ("-" where a run has not reached it), mean and IQM with 95% bootstrap CIs, and the runs above `wall`.
    rows_of(variant, seed) gives a run's metrics rows ([] for none)."""
    lines = [f"| variant | step | per seed | mean [95% CI] | IQM [95% CI] | runs > {wall:g} |",
             "|---|---:|---|---|---|---:|"]
    for variant in variants:
        for step in checkpoints:
            scores = [score_at(rows_of(variant, s), step) for s in range(1, seeds + 1)]
            done = np.array([x for x in scores if x is not None], dtype=float)
            if not len(done):
                continue
            lo, hi = bootstrap_ci(done, np.mean)
            ilo, ihi = bootstrap_ci(done, iqm)
            per_seed = ", ".join("-" if x is None else f"{x:.1f}" for x in scores)
            lines.append(f"| {variant} | {step / 1e6:.2f}M | {per_seed} | {done.mean():.1f} [{lo:.1f}, {hi:.1f}] | "
                         f"{iqm(done):.1f} [{ilo:.1f}, {ihi:.1f}] | {np.mean(done > wall):.0%} |")
    return lines


def summary_table(path: str, grid: str, seeds: int, wall: float = 400.0) -> tuple[list[str], list[str]]:
    """The table of `table` from a committed summary alone (no run directory needed), and one line per variant
    with a run: its command."""
    env, _, checkpoints, variants, *_ = GRIDS[grid]
    entries = study.read_summary(path)["runs"]

    def rows_of(variant, seed):
        entry = entries.get(summary_key(grid, variant, seed))
        return study.metrics_rows(entry["rows"]) if entry else []

    ran = [v for v in variants if any(rows_of(v, s) for s in range(1, seeds + 1))]
    commands = [f"{v}: `{' '.join([variants[v][0], '--env', env, *variants[v][1]])}`" for v in ran]
    return table(ran, checkpoints, seeds, rows_of, wall), commands


def plot(args, env, variants, runs):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=90)
    for variant in variants:
        curves = [read(d) for v, _, d in runs if v == variant]
        curves = [[(r["global_step"], r["episode_score"]) for r in rows if r["episode_score"] is not None]
                  for rows in curves if rows]
        if not curves:
            continue
        n = min(len(c) for c in curves)  # runs of one grid share the batch, so rows line up by index
        steps = np.array([x for x, _ in curves[0][:n]]) / 1e6
        scores = np.array([[y for _, y in c[:n]] for c in curves])
        line, = ax.plot(steps, scores.mean(0), label=f"{variant} ({len(curves)} seeds)")
        ax.fill_between(steps, scores.min(0), scores.max(0), color=line.get_color(), alpha=0.2)
    ax.set_xlabel("env steps (M)")
    ax.set_ylabel(f"{env} score (last 100 episodes)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.plot)
    print(f"\ncurves: {args.plot}")


if __name__ == "__main__":
    main()
