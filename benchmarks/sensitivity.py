"""Hyperparameter sensitivity: how much each variant's score moves with its estimator's own settings.

    pip install -e ".[bench]"
    python benchmarks/sensitivity.py                          # squared, delay, breakout; 2 seeds; quick budgets
    python benchmarks/sensitivity.py --dry-run                # the commands, and what is done already
    python benchmarks/sensitivity.py --report-only            # report the finished runs only
    python benchmarks/sensitivity.py --variants gae --envs breakout --settings gamma0.99_lambda0.95
    python benchmarks/sensitivity.py --grid long              # long windows: reward bins, the adaptive cut

The grids (every other hyperparameter stays at the script's default):
  ppo_gae.py             --gamma {0.9, 0.95, 0.99, 0.995, 0.999} x --gae-lambda {0.5, 0.8, 0.95, 1.0}   20 points
  ppo_reward_horizon.py  --horizon {4, 8, 16, 32, 64, 128}                                              6 points
  ppo_avg_reward.py      --gae-lambda {0.5, 0.8, 0.95, 1.0} x episode ends {absorb (--terminal-mode
                         absorb --reset-cost 0), reset at a cost (--terminal-mode reset --reset-cost 1)}  8 points
Each grid holds the script's default (gamma 0.99 and lambda 0.95; H 32; lambda 0.95 absorbing).

Runs go to `<out>/<script>/<env>/<setting>/seed<k>/` (default out: runs/sensitivity/<profile>), with the
per-env budgets of benchmarks/suites.py, the runner of runner.py and the scoring of report.py: the score of a
run is its normalized final score. The report (docs/sensitivity.md, plots in docs/sensitivity/)
gives, per variant and env, the best grid point, the default's score and the gap between them:
what tuning that env would buy over the default, the cost a gamma/lambda-free method claims to
remove. With the quick budgets the three default envs cost 34 settings x 2 seeds x 3.7M steps,
about 250M env steps and 204 runs: roughly 2.5 hours on 2 cores.

`--grid long` asks whether long windows cure the reward horizon's blindness past H. Envs
squared and delay with L in {16, 50, 200} (`--env-kwargs delay=L`; on request: breakout, and delay200long,
L = 200 with 4x the steps), 3 seeds,
budgets in LONG_ENVS; reward horizon with fixed H in {8, 32, 64, 256}, geometric bins with H in
{64, 256, 1024, 4096}, the adaptive cut on geometric H 1024 with c in {0.5, 1, 2}; GAE with gamma in
{0.9, 0.99, 0.999} (lambda 0.95) on the delays. A window shorter than L cannot see delay's reward,
so those points are not run ("blind" in the table). Runs go to runs/sensitivity/long/<script>/<env>/
<setting>/seed<k>/; the report is the section between LONG_BEGIN and LONG_END of docs/sensitivity.md,
which the default grid's report keeps.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import shlex
import sys
from dataclasses import dataclass

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report  # noqa: E402
import runner  # noqa: E402
import suites  # noqa: E402
from report import LABELS  # noqa: E402
from runner import ROOT, Run, UserError, fail  # noqa: E402

DEFAULT_ENVS = ("squared", "delay", "breakout")  # rewards at very different delays
DEFAULT_SEEDS = 2
GAMMAS = (0.9, 0.95, 0.99, 0.995, 0.999)
GAE_LAMBDAS = (0.5, 0.8, 0.95, 1.0)
HORIZONS = (4, 8, 16, 32, 64, 128)
AVG_LAMBDAS = (0.5, 0.8, 0.95, 1.0)
AVG_ENDS = (("absorb", 0.0), ("reset", 1.0))  # (--terminal-mode, --reset-cost)
# The scripts' defaults, which every grid contains (tests/test_study.py checks them against Args).
DEFAULTS = {
    "ppo_gae": {"gamma": 0.99, "gae_lambda": 0.95},
    "ppo_reward_horizon": {"horizon": 32},
    "ppo_avg_reward": {"gae_lambda": 0.95, "terminal_mode": "absorb", "reset_cost": 0.0},
}


@dataclass(frozen=True)
class Setting:
    label: str  # directory name and table label
    values: tuple  # ((Args field, value), ...)

    def flags(self) -> tuple:
        out = []
        for name, value in self.values:
            out += [f"--{name.replace('_', '-')}", str(value)]
        return tuple(out)

    def get(self, name):
        return dict(self.values)[name]

    def is_default(self, script: str) -> bool:
        return dict(self.values) == DEFAULTS[script]


# --grid long: {name: (fastenvs env, delay L or None, budget in iterations of runner.BATCH)}
LONG_ENVS = {"squared": ("squared", None, 16), "delay16": ("delay", 16, 16), "delay50": ("delay", 50, 32),
             "delay200": ("delay", 200, 32), "delay200long": ("delay", 200, 128), "breakout": ("breakout", None, 48)}
LONG_DEFAULT_ENVS = ("squared", "delay16", "delay50", "delay200")
LONG_SEEDS = 3
LONG_BEGIN, LONG_END = "<!-- long-horizon grid: benchmarks/sensitivity.py --grid long -->", "<!-- /long-horizon grid -->"


def long_grid(script: str) -> list[Setting]:
    if script == "ppo_gae":
        return [Setting(f"gamma{g}_lambda0.95", (("gamma", g), ("gae_lambda", 0.95))) for g in (0.9, 0.99, 0.999)]
    if script == "ppo_reward_horizon":
        geo = (("bins", "geometric"),)
        return ([Setting(f"H{h}", (("horizon", h),)) for h in (8, 32, 64, 256)]
                + [Setting(f"geo_H{h}", (("horizon", h),) + geo) for h in (64, 256, 1024, 4096)]
                + [Setting(f"adaptive_c{c:g}", (("horizon", 1024),) + geo + (("head_weighting", "adaptive"),
                                                                                ("cut_fraction", c))) for c in (0.5, 1.0, 2.0)])
    return []


def blind(script: str, setting: Setting, long_env: str) -> bool:
    """A reward-horizon window shorter than delay's L never sees the reward: the point is not run."""
    L = LONG_ENVS[long_env][1]
    return script == "ppo_reward_horizon" and L is not None and setting.get("horizon") < L


def long_runs(variants, envs, seeds, out, extra=(), labels=None, scale=1.0) -> tuple[list[Run], dict]:
    """The runs of --grid long (only the points in `labels` if given) and {run: (long env, setting)};
    GAE runs on the delays only."""
    runs, where = [], {}
    for s in variants:
        for env in envs:
            base, L, iters = LONG_ENVS[env]
            if s == "ppo_gae" and L is None:
                continue
            kw = ("--env-kwargs", f"delay={L}") if L else ()
            for st in long_grid(s):
                if blind(s, st, env) or (labels and st.label not in labels):
                    continue
                for seed in range(1, seeds + 1):
                    run = Run(s, base, seed, runner.scaled_budget(iters * runner.BATCH, scale), os.path.join(out, s, env, st.label, f"seed{seed}"),
                              kw + st.flags() + extra, f"{env} {st.label}")
                    runs.append(run)
                    where[run] = (env, st)
    return runs, where


def describe_long(st: Setting) -> str:
    v = dict(st.values)
    if "gamma" in v:
        return f"GAE γ {v['gamma']:g}, λ 0.95"
    if v.get("head_weighting") == "adaptive":
        return f"adaptive cut c {v['cut_fraction']:g} (geometric, H {v['horizon']})"
    return f"{'geometric bins' if 'bins' in v else 'unit heads'}, H {v['horizon']}"


def long_report(runs, where, envs, env_scores, args, out, command) -> str:
    """Write the --grid long section into <report dir>/sensitivity.md; return the path."""
    scores = report.collect(runs, env_scores)
    cells = {}  # (script, label, env) -> [normalized final scores]; effective windows alongside
    windows = {}
    for run, sc in scores.items():
        env, st = where[run]
        cells.setdefault((run.script, st.label, env), []).append(sc.final_norm)
        w = [r["effective_window"] for r in runner.read_metrics(run.run_dir) if "effective_window" in r]
        if w and dict(st.values).get("head_weighting") == "adaptive":
            windows.setdefault((st.label, env), []).append(float(np.mean(w)))
    variants = sorted({r.script for r in runs}, key=suites.SCRIPTS.index)
    best = {(s, e): max((np.mean(v) for (s2, _, e2), v in cells.items() if s2 == s and e2 == e), default=math.nan)
            for s in variants for e in envs}
    lines = [LONG_BEGIN, "## Long windows: reward bins and the adaptive cut", "",
             "Normalized final score, mean ± std over seeds (n < 3 is marked). *blind*: H < L, the window cannot "
             "reach delay's reward, not run. *gap*: the mean over the envs of (best point of the same script on "
             "that env − this point), on the envs this point ran on; the best is picked on the seeds it is scored "
             "on, so read small gaps as none. Adaptive rows add the effective window (steps summed) averaged over "
             "iterations and seeds. -: not run. What the numbers say, and the default chosen from them: "
             "[reward_horizon.md](reward_horizon.md#measured-bins-and-the-cut).", "",
             "| setting | " + " | ".join(envs) + " | gap |", "|---|" + "---:|" * (len(envs) + 1)]
    for s in variants:
        for st in long_grid(s):
            row, gaps = [], []
            for e in envs:
                v = cells.get((s, st.label, e))
                if blind(s, st, e):
                    row.append("*blind*")
                elif s == "ppo_gae" and LONG_ENVS[e][1] is None or not v:
                    row.append("-")
                else:
                    m, sd = report.mean_std(v)
                    cell = report.fmt_ms(m, sd, 2) + (f" (n={len(v)})" if len(v) < args.seeds else "")
                    if (st.label, e) in windows:
                        cell += f", window {np.mean(windows[(st.label, e)]):.0f}"
                    row.append(cell)
                    gaps.append(best[(s, e)] - m)
            gap = f"{np.mean(gaps):.3f}" if gaps else "-"
            lines.append(f"| {describe_long(st)} | " + " | ".join(row) + f" | {gap} |")
    budgets = ", ".join(f"{e} {LONG_ENVS[e][2] * runner.BATCH:,}" for e in envs)
    invocations = [i for i in runner.read_invocations(out) if i.get("runs_executed")]
    wall = sum(i.get("wall_s", 0.0) for i in invocations)
    commands = list(dict.fromkeys(i["command"] for i in invocations)) or [command]
    lines += ["", f"* Commands: {'; '.join(f'`{c}`' for c in commands)}", f"* {len(scores)} of {len(runs)} runs "
              f"finished; seeds 1..{args.seeds}; wall time {runner.fmt_duration(wall) if wall else 'not recorded'}",
              f"* Budgets (env steps per run): {budgets}; every other hyperparameter at the script's default",
              f"* Machine: {runner.machine()}; one thread per run; report written {datetime.date.today().isoformat()}",
              f"* Run directories: `{runner.rel(out)}/<script>/<env>/<setting>/seed<k>/`", LONG_END]
    return write_long_section("\n".join(lines), os.path.join(args.report_dir, "sensitivity.md"))


def write_long_section(block: str, path: str) -> str:
    """Replace the block between LONG_BEGIN and LONG_END of `path` (or append it), keeping the rest."""
    text = open(path).read() if os.path.exists(path) else ""
    head, _, rest = text.partition(LONG_BEGIN)
    tail = rest.partition(LONG_END)[2] if rest else ""
    with open(path, "w") as f:
        f.write(head.rstrip("\n") + "\n\n" + block + "\n" + tail.lstrip("\n"))
    return path


def grid(script: str) -> list[Setting]:
    if script == "ppo_gae":
        return [Setting(f"gamma{g}_lambda{lam}", (("gamma", g), ("gae_lambda", lam)))
                for g in GAMMAS for lam in GAE_LAMBDAS]
    if script == "ppo_reward_horizon":
        return [Setting(f"H{h}", (("horizon", h),)) for h in HORIZONS]
    if script == "ppo_avg_reward":
        return [Setting(f"lambda{lam}_{mode}" + (f"{cost:g}" if cost else ""),
                        (("gae_lambda", lam), ("terminal_mode", mode), ("reset_cost", cost)))
                for lam in AVG_LAMBDAS for mode, cost in AVG_ENDS]
    raise ValueError(script)


def describe(setting: Setting) -> str:
    """A grid point for people: "γ 0.99, λ 0.95", "H 32", "λ 0.95, reset, cost 1"."""
    names = {"gamma": "γ", "gae_lambda": "λ", "horizon": "H", "reset_cost": "cost"}
    parts = []
    for name, value in setting.values:
        if name == "reset_cost" and setting.get("terminal_mode") == "absorb":
            continue  # absorbing ends ignore the reset cost
        parts.append(value if isinstance(value, str) else f"{names[name]} {value:g}")
    return ", ".join(parts)


def select_settings(text: str | None, variants: list[str]) -> dict[str, list[Setting]]:
    grids = {s: grid(s) for s in variants}
    if not text:
        return grids
    wanted = runner.parse_list(text)
    known = {st.label for s in variants for st in grids[s]}
    for label in wanted:
        if label not in known:
            raise UserError(f"unknown setting {label!r} for {', '.join(variants)}: use labels such as "
                            f"{', '.join(g[0].label for g in grids.values())}")
    return {s: [st for st in grids[s] if st.label in wanted] for s in variants}


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------
def table(scores, runs, script, env, settings):
    """{setting label: (mean, std, seeds)} of the normalized final score over the finished seeds."""
    out = {}
    for st in settings:
        vals = [s.final_norm for r, s in scores.items() if r.script == script and r.env == env and r.tag == st.label]
        m, sd = report.mean_std(vals)
        out[st.label] = (m, sd, len(vals))
    return out


def plot_gae(results, envs, settings, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    gammas = sorted({st.get("gamma") for st in settings})
    lams = sorted({st.get("gae_lambda") for st in settings})
    fig, axes = plt.subplots(1, len(envs), figsize=(3.4 * len(envs), 3.0), squeeze=False)
    for ax, env in zip(axes[0], envs):
        grid_ = np.full((len(gammas), len(lams)), np.nan)
        for st in settings:
            grid_[gammas.index(st.get("gamma")), lams.index(st.get("gae_lambda"))] = results[env][st.label][0]
        im = ax.imshow(grid_, cmap="viridis", aspect="auto")
        finite = grid_[np.isfinite(grid_)]
        mid = (finite.min() + finite.max()) / 2 if finite.size else 0
        for i in range(len(gammas)):
            for j in range(len(lams)):
                if np.isfinite(grid_[i, j]):
                    ax.text(j, i, f"{grid_[i, j]:.2f}", ha="center", va="center", fontsize=7,
                            color="black" if grid_[i, j] > mid else "white")
        d = DEFAULTS["ppo_gae"]
        if d["gamma"] in gammas and d["gae_lambda"] in lams:
            ax.add_patch(Rectangle((lams.index(d["gae_lambda"]) - 0.5, gammas.index(d["gamma"]) - 0.5), 1, 1,
                                   fill=False, ec="red", lw=2))
        ax.set_xticks(range(len(lams)), [f"{x:g}" for x in lams], fontsize=8)
        ax.set_yticks(range(len(gammas)), [f"{x:g}" for x in gammas], fontsize=8)
        ax.set_xlabel("λ (--gae-lambda)", fontsize=8)
        ax.set_ylabel("γ (--gamma)", fontsize=8)
        ax.set_title(env, fontsize=10)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04).ax.tick_params(labelsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=report.DPI)
    plt.close(fig)


def plot_lines(results, envs, settings, x_name, group, path, xlabel, log2=False):
    """Mean normalized final score (± std over seeds) against `x_name`, one line per env (and group)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 3.2))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    styles = ["-", "--", ":", "-."]
    groups = sorted({group(st) for st in settings}, key=str) if group else [None]
    for e, env in enumerate(envs):
        for g, key in enumerate(groups):
            pts = sorted((st.get(x_name), results[env][st.label]) for st in settings if not group or group(st) == key)
            pts = [(x, m, sd) for x, (m, sd, n) in pts if not math.isnan(m)]
            if not pts:
                continue
            xs, ms, sds = zip(*pts)
            sds = [0.0 if math.isnan(s) else s for s in sds]
            label = env if key is None else f"{env}, {key}"
            ax.errorbar(xs, ms, yerr=sds, color=colors[e % len(colors)], ls=styles[g % len(styles)], marker="o",
                        ms=3, capsize=2, lw=1.3, label=label)
    if log2:
        ax.set_xscale("log", base=2)
    xs = sorted({st.get(x_name) for st in settings})
    ax.set_xticks(xs, [f"{x:g}" for x in xs])
    ax.tick_params(labelsize=8)
    ax.set_xlabel(xlabel, fontsize=9)
    ax.set_ylabel("normalized final score", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=report.DPI)
    plt.close(fig)


def write_report(runs, settings, envs, env_scores, args, out, command) -> str:
    report.require_report_packages()
    scores = report.collect(runs, env_scores)
    variants = list(settings)
    results = {s: {env: table(scores, runs, s, env, settings[s]) for env in envs} for s in variants}
    plots_dir = os.path.join(args.report_dir, "sensitivity")
    os.makedirs(plots_dir, exist_ok=True)
    budgets = {env: next(r.budget for r in runs if r.env == env) for env in envs}
    fmt = report.fmt_ms

    lines = ["# Hyperparameter sensitivity", "",
             "How far does each variant's score move with the settings of its own advantage estimator, with every "
             "other hyperparameter at the script's default? The score of a run is its normalized final score "
             "(as in [results.md](results.md): 0 is the random policy, 1 the maximum score; the mean of "
             f"`episode_score` over the last {report.FINAL_FRACTION:.0%} of the steps); each cell is the mean over "
             "seeds (± standard deviation). The gap between the best grid point and the default on an env is "
             "what tuning for that env would buy: the cost of one setting for every env.", "",
             "The best of a grid is picked on the same few seeds it is scored on, so it is biased upwards, and "
             "more so for larger grids (GAE has 20 points, reward horizon 6, average reward 8): read small gaps "
             "as no gap.", ""]
    n_done = len(scores)
    if n_done < len(runs):
        lines += [f"**Incomplete:** {n_done} of {len(runs)} runs finished; the tables use those only.", ""]

    lines += ["## Summary", "",
              "| variant | env | best setting | best score | default score | gap |", "|---|---|---|---:|---:|---:|"]
    for s in variants:
        default = next((st for st in settings[s] if st.is_default(s)), None)
        for env in envs:
            res = results[s][env]
            done = [st for st in settings[s] if not math.isnan(res[st.label][0])]
            if not done:
                lines.append(f"| {LABELS[s]} | {env} | - | - | - | - |")
                continue
            best = max(done, key=lambda st: res[st.label][0])
            dm = res[default.label][0] if default else math.nan
            gap = "-" if math.isnan(dm) else f"{res[best.label][0] - dm:+.3f}"
            lines.append(f"| {LABELS[s]} | {env} | {describe(best)} | {fmt(*res[best.label][:2], 3)} | "
                         f"{fmt(*res[default.label][:2], 3) if default else '-'} | {gap} |")
        # one setting for every env: the grid point with the best mean over envs
        full = [st for st in settings[s] if all(not math.isnan(results[s][e][st.label][0]) for e in envs)]
        if len(envs) > 1 and full:
            mean = {st.label: float(np.mean([results[s][e][st.label][0] for e in envs])) for st in full}
            best = max(full, key=lambda st: mean[st.label])
            dm = mean.get(default.label, math.nan) if default else math.nan
            lines.append(f"| {LABELS[s]} | mean over envs, one setting | {describe(best)} | {mean[best.label]:.3f} | "
                         f"{'-' if math.isnan(dm) else f'{dm:.3f}'} | "
                         f"{'-' if math.isnan(dm) else f'{mean[best.label] - dm:+.3f}'} |")
    lines += ["", "Defaults: " + "; ".join(f"{LABELS[s]} {describe(st)}" for s in variants for st in settings[s]
                                           if st.is_default(s)) + ".", ""]

    sections = {
        "ppo_gae": ("GAE: γ × λ", "gae.png",
                    "heatmap per env of the mean normalized final score; red box: the default"),
        "ppo_reward_horizon": ("Reward horizon: H", "reward_horizon.png", "mean normalized final score against H"),
        "ppo_avg_reward": ("Average reward: λ × episode ends", "avg_reward.png",
                           "mean normalized final score against λ; solid: absorbing ends, dashed: reset at cost 1"),
    }
    for s in variants:
        title, png, caption = sections[s]
        lines += [f"## {title}", "", "| setting | " + " | ".join(envs) + " |", "|---|" + "---:|" * len(envs)]
        for st in settings[s]:
            mark = " (default)" if st.is_default(s) else ""
            lines.append(f"| {describe(st)}{mark} | " + " | ".join(fmt(*results[s][e][st.label][:2], 3) for e in envs)
                         + " |")
        lines.append("")
        if not any(r.script == s for r in scores):
            continue
        path = os.path.join(plots_dir, png)
        if s == "ppo_gae":
            plot_gae(results[s], envs, settings[s], path)
        elif s == "ppo_reward_horizon":
            plot_lines(results[s], envs, settings[s], "horizon", None, path, "H (--horizon)", log2=True)
        else:
            plot_lines(results[s], envs, settings[s], "gae_lambda",
                       lambda st: "absorb" if st.get("terminal_mode") == "absorb" else "reset, cost 1", path,
                       "λ (--gae-lambda)")
        lines += [f"![{title}](sensitivity/{png})", "", f"{caption[0].upper()}{caption[1:]}.", ""]

    invocations = [i for i in runner.read_invocations(out) if i.get("runs_executed")]
    wall = sum(i.get("wall_s", 0.0) for i in invocations)
    lines += ["## How this was made", "",
              f"* Command: `{invocations[-1]['command'] if invocations else command}`"
              + (f" (run in {len(invocations)} sittings)" if len(invocations) > 1 else ""),
              f"* Seeds: 1..{args.seeds}; {n_done} of {len(runs)} runs finished; "
              f"{sum(r.budget for r in runs) / 1e6:.0f}M env steps in all; wall time "
              f"{runner.fmt_duration(wall) if wall else 'not recorded'}",
              f"* Budgets ({args.profile} profile of benchmarks/suites.py, env steps per run): "
              + ", ".join(f"{env} {budgets[env]:,}" for env in envs),
              f"* Machine: {runner.machine()}; one thread per run; {runner.versions()}",
              f"* Date: {report.run_dates(invocations)}report written {datetime.date.today().isoformat()}",
              f"* Run directories: `{runner.rel(out)}/<script>/<env>/<setting>/seed<k>/`", ""]
    path = os.path.join(args.report_dir, "sensitivity.md")
    old = open(path).read() if os.path.exists(path) else ""
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    if LONG_BEGIN in old:  # the --grid long section is another command's: keep it
        write_long_section(LONG_BEGIN + old.partition(LONG_BEGIN)[2].partition(LONG_END)[0] + LONG_END, path)
    return path


def parser() -> runner.Parser:
    p = runner.Parser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                      epilog="\n".join(__doc__.splitlines()[2:18]))
    p.add_argument("--grid", choices=("default", "long"), default="default",
                   help="default: each script's own grid; long: reward bins and the adaptive cut")
    p.add_argument("--profile", default="quick", help="budget profile of benchmarks/suites.py: quick or full")
    p.add_argument("--envs", default=None, help=f"comma-separated envs (default: {','.join(DEFAULT_ENVS)}; "
                   f"--grid long: {','.join(LONG_DEFAULT_ENVS)})")
    p.add_argument("--variants", default=None, help="comma-separated scripts (default: all three)")
    p.add_argument("--settings", default=None, help="comma-separated grid points to run, by label (default: all)")
    p.add_argument("--seeds", type=int, default=None,
                   help=f"seeds per grid point: 1..N (default {DEFAULT_SEEDS}; --grid long {LONG_SEEDS})")
    p.add_argument("--report-dir", default=os.path.join(ROOT, "docs"), help="where sensitivity.md and its plots go")
    runner.add_run_flags(p, "results directory (default: runs/sensitivity/<profile>, or .../long)")
    return p


def check(args, default_seeds: int):
    runner.check_run_flags(args)
    if args.profile not in suites.BUDGETS:
        raise UserError(f"unknown profile {args.profile!r}: use {', '.join(suites.BUDGETS)}")
    args.seeds = default_seeds if args.seeds is None else args.seeds
    if args.seeds < 1:
        raise UserError(f"--seeds={args.seeds} is not allowed: use an integer >= 1 (the seeds are 1..N)")


def main(argv=None):
    args = parser().parse_args(argv)
    command = runner.command_line("sensitivity.py", argv)
    if args.grid == "long":
        return main_long(args, command)
    try:
        check(args, DEFAULT_SEEDS)
        env_scores = suites.parse_env_scores()
        envs = suites.select_envs(args.envs or ",".join(DEFAULT_ENVS), args.profile, env_scores)
        variants = suites.select_variants(args.variants)
        settings = select_settings(args.settings, variants)
        extra = tuple(shlex.split(args.script_args))
    except UserError as e:
        fail(str(e))
    if not args.dry_run:
        report.require_report_packages()
    out = os.path.abspath(args.out or os.path.join(ROOT, "runs", "sensitivity", args.profile))
    runs = [Run(s, env, seed, runner.scaled_budget(suites.BUDGETS[args.profile][env], args.budget_scale),
                os.path.join(out, s, env, st.label, f"seed{seed}"), st.flags() + extra, st.label)
            for s in variants for env in envs for st in settings[s] for seed in range(1, args.seeds + 1)]
    print(f"sensitivity, {args.profile} budgets: {', '.join(f'{s} ({len(settings[s])} points)' for s in variants)} "
          f"x {len(envs)} envs ({', '.join(envs)}) x {args.seeds} seeds, results in {runner.rel(out)}")
    failed = runner.execute(runs, args, out, command)
    if args.dry_run:
        return
    print(f"report: {runner.rel(write_report(runs, settings, envs, env_scores, args, out, command))}")
    if failed:
        sys.exit(1)


def main_long(args, command):
    try:
        check(args, LONG_SEEDS)
        env_scores = suites.parse_env_scores()
        envs = runner.parse_list(args.envs) if args.envs else list(LONG_DEFAULT_ENVS)
        for e in envs:
            if e not in LONG_ENVS:
                raise UserError(f"unknown env {e!r} for --grid long: use {', '.join(LONG_ENVS)}")
        variants = [s for s in suites.select_variants(args.variants) if long_grid(s)]
        if not variants:
            raise UserError("--grid long has points for ppo_gae and ppo_reward_horizon only")
        extra = tuple(shlex.split(args.script_args))
    except UserError as e:
        fail(str(e))
    out = os.path.abspath(args.out or os.path.join(ROOT, "runs", "sensitivity", "long"))
    labels = set(runner.parse_list(args.settings)) if args.settings else None
    runs, where = long_runs(variants, envs, args.seeds, out, extra, labels, args.budget_scale)
    print(f"sensitivity --grid long: {len(runs)} runs on {', '.join(envs)}, {args.seeds} seeds, results in {runner.rel(out)}")
    failed = runner.execute(runs, args, out, command)
    if args.dry_run:
        return
    print(f"report: {runner.rel(long_report(runs, where, envs, env_scores, args, out, command))}")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
