"""Score over seeds: named variants (a script and its flags) x seeds 1..k on one env, resumable, summarised.

    python benchmarks/seeds.py --grid value-clip --seeds 3 --parallel 2           # run what is missing, then report
    python benchmarks/seeds.py --grid value-clip --seeds 3 --report-only          # report what is there
    python benchmarks/seeds.py --grid breakout-20m --seeds 5 --report-only --plot docs/results/breakout_20m.png --summary docs/results/seeds_breakout-20m.json
    python benchmarks/seeds.py --grid cleanrl-hopper --seeds 3 --parallel 2  # CleanRL's MuJoCo settings (also -halfcheetah, -walker2d)
    python benchmarks/seeds.py --grid base-hopper --seeds 3 --parallel 2     # a MuJoCo base set the three scripts share
    python benchmarks/seeds.py --grid procgen-starpilot --seeds 3 --parallel 3  # Procgen, early training (also -bigfish, -coinrun)

A grid is declared in GRIDS: an env, a budget, checkpoints and named variants. Its runs go through
benchmarks/runner.py (one thread each, resumable, `--summary` to keep and restore them; `--dry-run`
prints the commands) into runs/seeds/<grid>/<variant>/seed<k>/. The report (benchmarks/report.py's
seed_table) gives, per variant, the score at each checkpoint for every run (report.score_at: the
episodes that ended in the last 10% of the steps up to it), the mean and the IQM over seeds
with 95% percentile-bootstrap CIs, and the fraction of runs above `--wall` points; `--plot` draws
each variant's mean curve over seeds with a band from the lowest to the highest run.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import plot_seed_curves, seed_table  # noqa: E402
from suites import MUJOCO_BASE, VARIANTS, suite_flags  # noqa: E402
from runner import (BATCH, ROOT, Parser, Run, UserError, add_run_flags, check_run_flags, command_line,  # noqa: E402
                    execute, fail, metrics_rows, read_metrics, read_summary, rel)

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
# The study's MuJoCo base set (suites.SUITE_FLAGS: CleanRL's batch as 8 envs x 256 steps, the same for the three
# scripts, GAE's rewards scaled by its discounted return), one task at a time: the same commands as
# `study.py --suite mujoco` runs (same args; the summary keys differ: base-hopper/gae/seed1 is ppo_gae/Hopper-v5/seed1)
for _task in ("Hopper-v5", "HalfCheetah-v5", "Walker2d-v5"):
    GRIDS[f"base-{_task.split('-')[0].lower()}"] = (_task, 1_000_000, (250_000, 500_000, 488 * 2048), {
        name: (f"{VARIANTS[key].script}.py", [*suite_flags("mujoco", VARIANTS[key].script), *VARIANTS[key].flags])
        for name, key in (("gae", "ppo_gae"), ("reward horizon", "ppo_reward_horizon"),
                          ("avg reward", "ppo_avg_reward"), ("gae, lambda 1", "ppo_gae_lambda1"),
                          ("reward horizon, bins + cut", "ppo_reward_horizon_bins"))
    } | {  # the evidence for the γ-free scripts' scaling: the std of a 0.99-discounted return, as GAE's
        f"{name}, return scaling": (script, [*MUJOCO_BASE, "--reward-scale", "return"])
        for name, script in (("reward horizon", "ppo_reward_horizon.py"), ("avg reward", "ppo_avg_reward.py"))
    }, 2048)

# Procgen, easy mode, unlimited levels: the three scripts at their defaults, early training (the standard budget
# is 25M steps); the backend steps on one thread (fastenvs/procgen.py)
for _game in ("starpilot", "bigfish", "coinrun"):
    GRIDS[f"procgen-{_game}"] = (f"procgen/{_game}", 10 * BATCH, (5 * BATCH, 10 * BATCH), {
        "gae": ("ppo_gae.py", []), "reward horizon": ("ppo_reward_horizon.py", []), "avg reward": ("ppo_avg_reward.py", []),
    })


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name).strip("_")


def grid_runs(grid: str, seeds: int, out: str) -> list[Run]:
    """Every run of `grid`, seeds 1..k, named in a summary as <grid>/<variant slug>/seed<k>."""
    env, budget, _, variants, *_ = GRIDS[grid]
    return [Run(script.removesuffix(".py"), env, s, budget, os.path.join(out, grid, slug(v), f"seed{s}"), tuple(flags),
                variant=v, summary_name=f"{grid}/{slug(v)}/seed{s}")
            for v, (script, flags) in variants.items() for s in range(1, seeds + 1)]


def summary_table(path: str, grid: str, seeds: int, wall: float = 400.0) -> tuple[list[str], list[str]]:
    """The report's table from a committed summary alone (no run directory needed), and one line per variant
    with a run: its command."""
    env, _, checkpoints, variants, *_ = GRIDS[grid]
    entries = read_summary(path)["runs"]

    def rows_of(variant, seed):
        entry = entries.get(f"{grid}/{slug(variant)}/seed{seed}")
        return metrics_rows(entry["rows"]) if entry else []

    ran = [v for v in variants if any(rows_of(v, s) for s in range(1, seeds + 1))]
    commands = [f"{v}: `{' '.join([variants[v][0], '--env', env, *variants[v][1]])}`" for v in ran]
    return seed_table(ran, checkpoints, seeds, rows_of, wall), commands


def parser() -> Parser:
    p = Parser(description=__doc__.splitlines()[0])
    p.add_argument("--grid", choices=sorted(GRIDS), required=True)
    p.add_argument("--seeds", type=int, default=3, help="seeds 1..k")
    p.add_argument("--variant", action="append", default=[], metavar="NAME",
                   help="run only this variant of the grid (repeatable, run in this order; the report shows all)")
    p.add_argument("--wall", type=float, default=400.0, help="report the fraction of runs above this score")
    p.add_argument("--plot", help="also save the curves (mean over seeds, band = min to max) to this PNG")
    add_run_flags(p, "results directory (default: runs/seeds)", parallel=2)
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    env, budget, checkpoints, variants, *_ = GRIDS[args.grid]
    try:
        check_run_flags(args)
        if args.seeds < 1:
            raise UserError(f"--seeds={args.seeds} is not allowed: use an integer >= 1 (the seeds are 1..N)")
        bad = [v for v in args.variant if v not in variants]
        if bad:
            raise UserError(f"--variant {bad[0]!r} is not a variant of grid {args.grid}: use one of "
                            f"{' | '.join(repr(v) for v in variants)}")
    except UserError as e:
        fail(str(e))
    out = os.path.abspath(args.out or os.path.join(ROOT, "runs", "seeds"))
    runs = grid_runs(args.grid, args.seeds, out)
    chosen = [r for v in args.variant for r in runs if r.variant == v] if args.variant else runs
    try:
        failed = execute(chosen, args, out, command_line("seeds.py", argv), runs)
    except UserError as e:
        fail(str(e))
    if args.dry_run:
        return
    print(f"\n{args.grid}: {env}, {budget:,d} steps, seeds 1..{args.seeds}; score = mean raw score of the episodes "
          f"that ended in the last 10% of the steps up to each checkpoint\n")
    by_run = {(r.variant, r.seed): r.run_dir for r in runs}
    print("\n".join(seed_table(variants, checkpoints, args.seeds, lambda v, s: read_metrics(by_run[v, s]), args.wall)))
    if args.plot:
        curves = {v: [read_metrics(r.run_dir) for r in runs if r.variant == v] for v in variants}
        plot_seed_curves(curves, f"{env} score", args.plot)
        print(f"\ncurves: {rel(args.plot)}")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
