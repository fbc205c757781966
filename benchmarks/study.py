"""The study: the PPO variants on every env of a suite over several seeds, one set of hyperparameters.

    pip install -e ".[bench]"                                   # rliable, matplotlib and submitit
    python benchmarks/study.py --profile quick                  # fastenvs, 3 seeds: 26 min on 2 cores (84 runs)
    python benchmarks/study.py --suite minatar --profile quick  # the five MinAtar games: about 2.6 h (.[minatar])
    python benchmarks/study.py --suite mujoco --profile quick   # five MuJoCo tasks, 1M steps: about 7.4 h (.[mujoco])
    python benchmarks/study.py --suite procgen --dry-run        # the 16 Procgen games: runs and cost (.[procgen])
    python benchmarks/study.py --suite all --profile full --dry-run      # the commands, what is done, the cost
    python benchmarks/study.py --profile quick --report-only    # aggregate the finished runs only
    python benchmarks/study.py --suite mujoco --engine submitit --slurm-partition cpu    # a Slurm job per run

What runs: the suites, variants, budgets and reference scores of benchmarks/suites.py (`--suite`:
fastenvs, minatar, mujoco, procgen or all; `--variants`: default the three scripts and GAE with λ = 1). How:
benchmarks/runner.py (`--parallel` local processes with one thread each, or `--engine submitit`;
resumable: run the same command again to go on; `--summary docs/results/study_quick_runs.json`
restores the committed runs in a fresh checkout and writes new ones back). What it reports:
docs/results.md and the plots in docs/results/, built with benchmarks/report.py: per suite the IQM
and optimality gap of the normalized final score and AUC with 95% stratified-bootstrap CIs, the
probability of improvement between each pair of variants, per-env tables and curves; a section on
Breakout over seeds from benchmarks/seeds.py's committed summary (SEEDS_SECTIONS); the reference
scores with their sources.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jobs import EVAL_EPISODES, FINAL_FRACTION, MIN_FRESH_EPISODES  # noqa: E402
from report import (BOOTSTRAP_REPS, LABELS, POI_REPS, SOURCES, aggregate_with_ci, collect,  # noqa: E402
                    fmt_ms, improvement_with_ci, mean_std, plot_aggregate, plot_curves, require_report_packages,
                    run_dates, score_matrix, steps_label)
from runner import (MARKER, ROOT, THREAD_VARS, Parser, UserError, add_run_flags, check_run_flags,  # noqa: E402
                    command_line, execute, fail, fmt_duration, is_complete, machine, read_invocations, read_metrics,
                    rel, versions)
from suites import (DEFAULT_VARIANTS, ENVS_MD_SOURCE, PAIR_NOTES, REFERENCES, SCRIPTS, SEEDS, SUITES,  # noqa: E402
                    VARIANTS, SuitePlan, all_env_scores, check_extras, plan_suite, select_suites,
                    select_variants, suite_envs, suite_flags, suite_of)


SUITE_TITLES = {
    "fastenvs": "fastenvs: the kit's Numba envs (reward delays, chains, classic control, Breakout, Pong)",
    "minatar": "MinAtar: the five v1 games (10 × 10 images, minimal action sets, sticky actions 0.1)",
    "mujoco": "MuJoCo: five v5 locomotion tasks (continuous actions)",
    "procgen": "Procgen: the 16 games, easy mode (64 × 64 images, 15 actions, unlimited levels)",
}


def variant_cell(key: str) -> str:
    v = VARIANTS.get(key)
    command = v.command() if v else f"{key}.py"
    return f"{LABELS.get(key, key)} (`{command}`)"


def which_runs(named: list, finished: list) -> str:
    """The runs in `named`, per env: "every run" where they are all of that env's finished runs, else each
    variant's seeds."""
    parts = []
    for env in dict.fromkeys(r.env for r in named):
        mine = [r for r in named if r.env == env]
        if len(mine) == sum(r.env == env for r in finished):
            parts.append(f"{env}: every run")
            continue
        per = {}
        for r in sorted(mine, key=lambda r: r.seed):
            per.setdefault(r.key, []).append(str(r.seed))
        parts.append(f"{env}: " + ", ".join(f"{LABELS.get(k, k)} seed{'s' * (len(s) > 1)} {' '.join(s)}"
                                            for k, s in per.items()))
    return "; ".join(parts)


def suite_section(plan: SuitePlan, env_scores: dict, profile: str, plots_dir: str, reps: int, poi_reps: int,
                  report_cmd: str) -> list[str]:
    """The report's section of one suite: aggregates, probabilities of improvement, per-env tables, plots."""
    suite, envs, variants, runs = plan.suite, plan.envs, plan.variants, plan.runs
    lines = [f"## {SUITE_TITLES.get(suite, suite)}", ""]
    flags = {script: " ".join(suite_flags(suite, script)) for script in SCRIPTS if suite_flags(suite, script)}
    if flags:
        common = os.path.commonprefix(list(flags.values())).strip()
        lines += [f"Every run of this suite adds the {suite} base set to its variant's flags: `{common}`"
                  + "".join(f"; {s}.py also `{f[len(common):].strip()}`" for s, f in flags.items()
                            if f[len(common):].strip()) + " (`SUITE_FLAGS` in `benchmarks/suites.py`).", ""]
    scores = collect(runs, env_scores)
    n_done, n_all = len(scores), len(runs)
    if not scores:
        return lines + [f"No finished runs yet ({n_all} planned: {len(variants)} variants × {len(envs)} "
                        f"env{'s' * (len(envs) != 1)} × {plan.seeds} seeds). Run `{report_cmd}`.", ""]
    # a variant with no finished run in this suite is named once, not shown as empty rows in every table
    unrun = [k for k in variants if not any(r.key == k for r in scores)]
    if unrun:
        variants = [k for k in variants if k not in unrun]
        runs = [r for r in runs if r.key not in unrun]
        lines += [f"Not run in this suite yet: {', '.join(LABELS.get(k, k) for k in unrun)}.", ""]
        n_all = len(runs)
    unrun = [e for e in envs if not any(r.env == e for r in scores)]  # likewise an env with no finished run
    if unrun:
        envs = [e for e in envs if e not in unrun]
        runs = [r for r in runs if r.env not in unrun]
        lines += [f"Not run under this plan yet: {', '.join(unrun)}.", ""]
        n_all = len(runs)
    if n_done < n_all:
        lines += [f"**Incomplete:** {n_done} of {n_all} runs finished; the tables use those only.", ""]
    prefix = "" if suite == "fastenvs" else f"{suite}_"
    ref_envs = [e for e in envs if env_scores[e][1] is not None]
    raw_envs = frozenset(e for e in envs if env_scores[e][1] is None)

    agg = {"IQM normalized final score": {}, "optimality gap": {}, "IQM normalized AUC": {}}
    agg_seeds = {}
    for key in variants:
        if not ref_envs:
            break
        final, common = score_matrix(scores, key, ref_envs, "final_norm", runs)
        agg_seeds[key] = common
        if len(common):
            a = aggregate_with_ci(final, reps, gap=True)
            agg["IQM normalized final score"][key] = a["IQM"]
            agg["optimality gap"][key] = a["optimality gap"]
            auc, _ = score_matrix(scores, key, ref_envs, "auc", runs)
            agg["IQM normalized AUC"][key] = aggregate_with_ci(auc, reps)["IQM"]
    lines += ["### Aggregate over envs and seeds", "",
              "| variant | IQM normalized final score (95% CI) | optimality gap (95% CI) | IQM normalized AUC (95% CI) "
              "| seeds × envs |", "|---|---|---|---|---|"]
    for key in variants:
        cells = []
        for metric in agg:
            if key in agg[metric]:
                point, lo, hi = agg[metric][key]
                cells.append(f"**{point:.3f}** [{lo:.3f}, {hi:.3f}]")
            else:
                cells.append("-")
        n_seeds = len(agg_seeds.get(key, []))
        lines.append(f"| {variant_cell(key)} | {' | '.join(cells)} | {n_seeds} × {len(ref_envs)} |")
    lines += ["", "Only seeds finished in every env enter the aggregate. The optimality gap is the mean amount by "
              "which the normalized final score falls short of 1 (scores above 1 count as 1): lower is better."
              + (f" {', '.join(sorted(raw_envs))} {'has' if len(raw_envs) == 1 else 'have'} no reference score, so "
                 "it is left out of the IQM and the optimality gap (see the reference scores below)."
                 if raw_envs else ""), ""]
    if any(agg[m] for m in agg):
        plot_aggregate(agg, variants, os.path.join(plots_dir, f"{prefix}aggregate.png"))
        lines += [f"![IQM and optimality gap with 95% CIs, {suite}](results/{prefix}aggregate.png)", ""]

    # probability of improvement on the raw final scores: ranks within an env need no normalization
    finals = {key: score_matrix(scores, key, envs, "final", runs)[0] for key in variants}
    pairs = [(a, b) for i, a in enumerate(variants) for b in variants[i + 1:]]
    lines += ["### Probability of improvement", ""]
    if not pairs:
        lines += ["One variant only: no pair to compare.", ""]
    else:
        lines += ["P(X > Y): the probability that a run of X ends with a higher final score than a run of Y on the "
                  "same env, averaged over the envs (ties count one half), with a 95% stratified-bootstrap CI "
                  f"({poi_reps:,} resamples; rliable's `probability_of_improvement`). Above 0.5 favours X; a CI "
                  "that excludes 0.5 is a difference these seeds resolve. Every env of the suite enters (ranks need "
                  "no reference score); only seeds finished in every env.", "",
                  "| X | Y | P(X > Y) (95% CI) | runs X, Y per env | what the pair isolates |", "|---|---|---|---|---|"]
        for a, b in pairs:
            x, y = finals[b], finals[a]  # the later variant against the earlier one: GAE is the Y of its pairs
            if len(x) and len(y):
                p, lo, hi = improvement_with_ci(x, y, poi_reps)
                cell = f"**{p:.2f}** [{lo:.2f}, {hi:.2f}]"
            else:
                cell = "-"
            lines.append(f"| {LABELS.get(b, b)} | {LABELS.get(a, a)} | {cell} | {len(x)}, {len(y)} | "
                         f"{PAIR_NOTES.get((a, b), '')} |")
        lines.append("")

    lines += ["### Per env", ""]
    for env in envs:
        lo, hi = env_scores[env]
        budget = next(r.budget for r in runs if r.env == env)
        if hi is None:
            ref = "no reference score"
        else:
            ref = f"{dict(fastenvs='maximum', procgen='R_max').get(suite, 'reference')} {hi:g}"
        low = "R_min (Cobbe et al. 2020)" if suite == "procgen" else "Random-policy score"
        lines += [f"#### {env}", "",
                  f"{low} {lo:g}, {ref}; {steps_label(budget)} env steps per run.", "",
                  "| variant | seeds | final score | normalized final score | normalized AUC | steps/s per run |",
                  "|---|---:|---:|---:|---:|---:|"]
        digits = 2 if hi is None or hi - lo >= 10 else 3
        for key in variants:
            s = [v for r, v in scores.items() if r.key == key and r.env == env]
            rates = [rows[-1]["sps"] for r in scores if r.key == key and r.env == env
                     for rows in [read_metrics(r.run_dir)] if rows and rows[-1].get("sps")]
            rate = f"{np.median(rates):,.0f} ({min(rates):,.0f}-{max(rates):,.0f})" if rates else "-"
            s = [x for x in s if np.isfinite(x.final)]
            lines.append(f"| {LABELS.get(key, key)} | {len(s)} | {fmt_ms(*mean_std([x.final for x in s]), digits)} | "
                         f"{fmt_ms(*mean_std([x.final_norm for x in s]), 3)} | "
                         f"{fmt_ms(*mean_std([x.auc for x in s]), 3)} | {rate} |")
        lines.append("")
    for source in ("evaluation", "none", "rolling"):  # which runs were not scored by their final window's episodes
        named = [r for r, v in scores.items() if v.source == source]
        if named:
            lines += [f"Final score from {SOURCES[source]}: {len(named)} run{'s' * (len(named) > 1)} "
                      f"({which_runs(named, list(scores))}).", ""]
    plot_curves(scores, envs, variants, os.path.join(plots_dir, f"{prefix}curves.png"), raw_envs)
    lines += ["Learning curves: mean normalized score over seeds (the band: ± one standard deviation)"
              + ("; raw score where the env has no reference score" if raw_envs else "") + ".", "",
              f"![learning curves per env, {suite}](results/{prefix}curves.png)", ""]
    return lines


def reference_table(plans: list[SuitePlan], env_scores: dict) -> list[str]:
    """The random and reference scores of every env the report covers, with their sources."""
    lines = ["## Reference scores", "",
             "Normalized score = (score − random) / (reference − random). fastenvs: the random-policy and the "
             "maximum score of [envs.md](envs.md). MinAtar and MuJoCo: REFERENCES in `benchmarks/suites.py`, random "
             "scores measured for these exact ids ([families.md](families.md)), references published for nearby "
             "settings (what each is, below): a normalized score of 1 means \"as good as that reference\", not "
             "\"solved\", and can exceed 1. Procgen: the easy-mode R_min (a policy trained blind) and R_max (the "
             "game's maximum) of Cobbe et al. 2020 in the random and reference columns.", "",
             "| suite | env | random-policy score | reference score | what the reference is | sources |",
             "|---|---|---:|---:|---|---|"]
    for plan in plans:
        for env in plan.envs:
            lo, hi = env_scores[env]
            r = REFERENCES.get(env)
            if r is None:
                lines.append(f"| {plan.suite} | {env} | {lo:g} | {hi:g} | the env's maximum score | {ENVS_MD_SOURCE} |")
            else:
                ref = "—" if r.reference is None else f"{r.reference:g}"
                lines.append(f"| {plan.suite} | {env} | {r.random:g} | {ref} | {r.reference_what} | "
                             f"random: {r.random_source}; reference: {r.reference_source} |")
    return lines + [""]


# benchmarks/seeds.py grids with a section of their own in the report, when their committed summary (relative to
# the report's directory) exists: (grid, seeds, summary, plot)
SEEDS_SECTIONS = (("breakout-20m", 5, "results/seeds_breakout-20m.json", "results/breakout_20m.png"),)


def seeds_section(report_dir: str) -> list[str]:
    """The report's section on Breakout over seeds, from seeds.py's committed summary alone; [] without it."""
    import seeds  # benchmarks/seeds.py, which imports this module for the summary format

    lines = []
    for grid, n, summary, png in SEEDS_SECTIONS:
        path = os.path.join(report_dir, summary)
        if not os.path.exists(path):
            continue
        env, budget, *_ = seeds.GRIDS[grid]
        rows, commands = seeds.summary_table(path, grid, n)
        report_cmd = (f"python benchmarks/seeds.py --grid {grid} --seeds {n} --report-only --plot docs/{png} "
                      f"--summary docs/{summary}")
        lines += [f"## {env.capitalize()} over seeds, {budget / 1e6:.0f}M steps", "",
                  f"The kit's `{env}` env at {budget:,} steps a run, each script with its defaults and the other "
                  f"variants of `benchmarks/seeds.py --grid {grid}`, seeds 1..{n} where run (\"-\": a seed not "
                  "run). Score: the mean raw score of the episodes that ended in the last 10% of the steps up to the "
                  "step (`report.score_at`; for runs logged before the scripts counted each iteration's episodes, "
                  "the mean score of the last 100 episodes at the first iteration at or past the step); mean and IQM over seeds with 95% percentile-bootstrap CIs; the last column, the fraction of "
                  "runs past 400 points (one wall). Which machine ran which runs, the commands that ran them, and "
                  "what the numbers say: "
                  "[benchmarks.md](benchmarks.md#breakout-over-seeds-20m-steps-todays-defaults).", "",
                  f"Report command: `{report_cmd}` (from the summary alone; it needs no run directory).", "",
                  *rows, "", "Variants (each with `--seed k --threads 1 --total-timesteps "
                  f"{budget}` added):", "", *(f"* {c}" for c in commands), ""]
        if os.path.exists(os.path.join(report_dir, png)):
            lines += [f"![{env} score over {budget / 1e6:.0f}M steps: mean over seeds, band from the lowest to the "
                      f"highest run]({png})", ""]
    return lines


def report(plans: list[SuitePlan], env_scores: dict, profile: str, out: str, report_dir: str, command: str,
           reps: int = BOOTSTRAP_REPS, poi_reps: int = POI_REPS) -> str:
    """Write report_dir/results.md (one section per suite) and report_dir/results/*.png from the finished runs;
    return the .md path. A suite with no finished run gets a line saying so."""
    require_report_packages()
    plots_dir = os.path.join(report_dir, "results")
    os.makedirs(plots_dir, exist_ok=True)
    all_runs = [r for p in plans for r in p.runs]
    variants = [k for k in VARIANTS if any(k in p.variants for p in plans)]

    lines = [f"# Study results ({profile} profile)", ""]
    lines += [
        "Each variant trains with its script's default hyperparameters, the same for every env; only `--env`, "
        "`--seed`, `--total-timesteps`, `--threads` and `--run-dir` change (and the variant's own flag), except on "
        "MuJoCo, where every run adds the MuJoCo base set (its section gives the flags: the kit's default batch "
        "learns no MuJoCo task in 1M steps, so it would rank nothing). Scores are "
        "normalized per env as (score - random-policy score) / (reference score - random-policy score), with the "
        "numbers of [Reference scores](#reference-scores) (fastenvs: the maximum score of [envs.md](envs.md)): 0 is "
        "the random policy. The final score of a run is the mean score of the episodes that ended in the last "
        f"{FINAL_FRACTION:.0%} of its steps; where fewer than {MIN_FRESH_EPISODES} (or fewer than one per env) ended "
        f"there, it is the final policy's mean score over {EVAL_EPISODES} whole episodes, sampled as in training with "
        "the run's own observation normalisation (`benchmarks/evaluate.py`, which the runner calls when the run "
        "ends), and each section names the runs scored so. Its AUC is the mean normalized score over the "
        "iterations, weighted by steps, where an iteration's score is the mean score of the episodes that ended in "
        "it; an iteration in which none ended takes the straight line between the nearest iterations in which some "
        "did (from the random policy's score at step 0 before the first), never an older episode's score. Runs "
        "logged before the scripts counted each iteration's episodes are scored from the rolling mean of the last "
        "100 episodes, and named. Per suite, across envs and seeds: interquartile mean (IQM) and "
        "optimality gap with 95% stratified-bootstrap confidence intervals "
        f"({reps:,} resamples of the runs within each env, [rliable](https://github.com/google-research/rliable)), "
        "and the probability of improvement between each pair of variants. Per env: mean ± standard deviation "
        "over seeds.",
        "",
        "## Variants", "",
        "| variant | command | discount γ | λ | drops from GAE(γ 0.99, λ 0.95) |", "|---|---|---|---|---|"]
    for key in variants:
        v = VARIANTS[key]
        lines.append(f"| {v.label} | `{v.command()}` | {v.gamma} | {v.lam} | {v.drops} |")
    lines += ["", "So *GAE, λ = 1* against *GAE* measures what λ's bias costs or buys with γ held; *reward horizon* "
              "and *average reward* against both measure dropping γ itself.", ""]

    for plan in plans:
        cmd = (f"python benchmarks/study.py --suite {plan.suite} --profile {profile}")
        lines += suite_section(plan, env_scores, profile, plots_dir, reps, poi_reps, cmd)

    lines += seeds_section(report_dir)
    lines += reference_table(plans, env_scores)

    invocations = [i for i in read_invocations(out) if i.get("runs_executed")]
    wall = sum(i.get("wall_s", 0.0) for i in invocations)
    scores = {r: None for r in all_runs if is_complete(r)}
    compute, sps = 0.0, []
    for run in scores:
        try:
            with open(os.path.join(run.run_dir, MARKER)) as f:
                compute += json.load(f).get("wall_s", 0.0)
        except (OSError, json.JSONDecodeError):
            pass
        rows = read_metrics(run.run_dir)
        if rows and rows[-1].get("sps"):
            sps.append(rows[-1]["sps"])
    seed_list = sorted({r.seed for r in all_runs})
    engines = sorted({i.get("engine", "local") for i in invocations})
    lines += ["## How this was made", ""]
    lines += [f"* Study command: `{invocations[-1]['command'] if invocations else command}`"
              + (f" (run in {len(invocations)} sittings)" if len(invocations) > 1 else ""),
              *([f"* Report command: `{command}`"] if invocations and invocations[-1]["command"] != command else []),
              f"* Seeds: {', '.join(map(str, seed_list))}; variants: "
              f"{', '.join(f'`{VARIANTS[k].command()}`' for k in variants)}",
              f"* Runs: {len(scores)} finished of {len(all_runs)}; "
              f"{sum(r.budget for r in all_runs) / 1e6:.1f}M env steps in all"
              + (f"; engine {', '.join(engines)}" if engines else ""),
              f"* Wall time: {fmt_duration(wall) if wall else 'not recorded'}"
              f"{f'; {fmt_duration(compute)} of run time summed over runs' if compute else ''}"
              f"{f'; median {np.median(sps):,.0f} env steps/s per run' if sps else ''}",
              f"* Machine: {machine()}; each run with one thread ({', '.join(f'{k}=1' for k in THREAD_VARS)}); "
              f"{versions()}",
              f"* Date: {run_dates(invocations)}report written {datetime.date.today().isoformat()}",
              f"* Run directories: `{rel(out)}/<variant>/<env>/seed<k>/` (metrics.jsonl, stdout.log, {MARKER})", ""]
    lines += ["Budgets (env steps per run, the same for every variant)"
              + (f", e.g. `{all_runs[0].shell()}`" if all_runs else "") + ":", "",
              "| suite | env | env steps per run | seeds |", "|---|---|---:|---:|"]
    for plan in plans:
        for env in plan.envs:
            budget = next((r.budget for r in plan.runs if r.env == env), 0)
            lines.append(f"| {plan.suite} | {env} | {budget:,} | {plan.seeds} |")
    path = os.path.join(report_dir, "results.md")
    os.makedirs(report_dir, exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path



def parser() -> Parser:
    p = Parser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
               epilog="\n".join(__doc__.splitlines()[2:11]))
    p.add_argument("--suite", default="fastenvs", help=f"{', '.join(SUITES)} or all (default fastenvs)")
    p.add_argument("--profile", default="quick", help="budget profile: quick or full (default quick)")
    p.add_argument("--envs", default=None, help="comma-separated envs of the suite(s) (default: all)")
    p.add_argument("--variants", default=None,
                   help=f"comma-separated variants (default: {','.join(DEFAULT_VARIANTS)}; also "
                        f"{','.join(k for k in VARIANTS if k not in DEFAULT_VARIANTS)}; aliases such as gae_lambda1)")
    p.add_argument("--seeds", type=int, default=None, help="seeds per variant and env: 1..N (default: 3 quick, 5 full)")
    p.add_argument("--report-dir", default=os.path.join(ROOT, "docs"), help="where results.md and its plots go")
    p.add_argument("--bootstrap-reps", type=int, default=BOOTSTRAP_REPS, help=argparse.SUPPRESS)  # smoke tests
    add_run_flags(p, "results directory, shared by the suites (default: runs/study/<profile>)")
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    command = command_line("study.py", argv)
    try:
        check_run_flags(args)
        if args.profile not in SEEDS:
            raise UserError(f"unknown profile {args.profile!r}: use {', '.join(SEEDS)}")
        args.seeds = SEEDS[args.profile] if args.seeds is None else args.seeds
        if args.seeds < 1:
            raise UserError(f"--seeds={args.seeds} is not allowed: use an integer >= 1 (the seeds are 1..N)")
        suites = select_suites(args.suite)
        env_scores = all_env_scores()
        chosen = suite_envs(suites, args.envs, args.profile, env_scores)
        variants = select_variants(args.variants, tuple(VARIANTS)) if args.variants else list(DEFAULT_VARIANTS)
        if not args.dry_run and not args.report_only:
            check_extras(chosen)
    except UserError as e:
        fail(str(e))
    if not args.dry_run:
        require_report_packages()  # before hours of runs, not after
    out = os.path.abspath(args.out or os.path.join(ROOT, "runs", "study", args.profile))
    extra = tuple(shlex.split(args.script_args))
    plans = [plan_suite(s, envs, variants, args.seeds, args.profile, out, extra, args.budget_scale)
             for s, envs in chosen.items()]
    runs = [r for plan in plans for r in plan.runs]
    # the report covers every suite: those not run now with their default plan (a line if none finished)
    others = [plan_suite(s, envs, list(DEFAULT_VARIANTS), SEEDS[args.profile], args.profile, out)
              for s, envs in suite_envs([s for s in SUITES if s not in chosen], None, args.profile, env_scores,
                                        quiet=True).items()]
    for plan in plans:
        print(f"study, {args.profile} profile, suite {plan.suite}: {len(variants)} variants x {len(plan.envs)} envs "
              f"({', '.join(plan.envs)}) x {args.seeds} seeds, results in {rel(out)}")
    try:
        failed = execute(runs, args, out, command, runs + [r for plan in others for r in plan.runs],
                         group=lambda r: suite_of(r.env) or "other")
    except UserError as e:
        fail(str(e))
    if args.dry_run:
        return
    ordered = sorted(plans + others, key=lambda pl: SUITES.index(pl.suite))
    path = report(ordered, env_scores, args.profile, out, args.report_dir, command, args.bootstrap_reps,
                  min(POI_REPS, args.bootstrap_reps))
    print(f"report: {rel(path)}")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
