"""Per-env tuning: what tuning its own parameters per env buys each estimator, and what one setting costs it.

    pip install -e ".[bench]"
    python benchmarks/sensitivity.py --dry-run                # the runs, what is done already, the stated cost
    python benchmarks/sensitivity.py --summary docs/results/sensitivity_runs.json    # run (resumable), then report
    python benchmarks/sensitivity.py --report-only --summary docs/results/sensitivity_runs.json
    python benchmarks/sensitivity.py --variants gae --envs delay16,delay200 --settings gamma0.999_lambda0.95
    python benchmarks/sensitivity.py --engine submitit --slurm-partition cpu --summary docs/results/sensitivity_runs.json
    python benchmarks/sensitivity.py --grid long              # long windows: reward bins, the adaptive cut

The grids, each over its estimator's own parameters and holding the script's default (every other
hyperparameter stays at the default):
  ppo_gae.py             --gamma {0.95, 0.99, 0.999} x --gae-lambda {0.8, 0.95, 1.0}                  9 points
  ppo_reward_horizon.py  --horizon {8, 32, 128} (unit heads); --bins geometric --horizon {256, 1024},
                         each with and without --head-weighting adaptive (the cut, c = 2)              7 points
  ppo_avg_reward.py      --gae-lambda {0.8, 0.95, 1.0} x episode ends {absorb (--terminal-mode absorb
                         --reset-cost 0), reset at a cost (--terminal-mode reset --reset-cost 1)}     6 points
Envs: every env of the study's fastenvs suite at the profile's budgets (suites.BUDGETS), with delay as
three envs, L = 16, 50, 200 (`--env-kwargs delay=L`; delay's budget, random and maximum score).
Seeds 1..3 select and 4..6 score (`--seeds N`: 1..N and N+1..2N). Per estimator, as the IQM and the mean
of the normalized final score (fresh episodes, report.score_run) over envs x scoring seeds, on the envs
where every estimator's runs are finished: the default; the best single setting (best mean over envs x
selection seeds); the per-env best (each env's best mean on the selection seeds); tuning gain = per-env
best - default; one-set cost = per-env best - best single setting. 95% CIs: bootstrap over the envs and,
within each, the scoring seeds. Runs go to `<out>/<script>/<env>/<setting>/seed<k>/` (default out:
runs/tuning/<profile>); the report is docs/sensitivity.md's results section and docs/sensitivity/tuning_*.png.

`--grid long` asks whether long windows cure the reward horizon's blindness past H. Envs squared and
delay with L in {16, 50, 200} (on request: breakout, and delay200long, L = 200 with 4x the steps), 3 seeds,
budgets in LONG_ENVS; reward horizon with fixed H in {8, 32, 64, 256}, geometric bins with H in
{64, 256, 1024, 4096}, the adaptive cut on geometric H 1024 with c in {0.5, 1, 2}; GAE with gamma in
{0.9, 0.99, 0.999} (lambda 0.95) on the delays. A window shorter than L cannot see delay's reward,
so those points are not run ("blind" in the table). Runs go to runs/sensitivity/long/<script>/<env>/<setting>/
seed<k>/; the report is docs/sensitivity.md's section from LONG_BEGIN to LONG_END, which the tuning report keeps.
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
from report import COLORS, LABELS  # noqa: E402
from runner import ROOT, Run, UserError, fail  # noqa: E402

# The scripts' defaults, which every grid contains (tests/test_study.py checks them against Args).
DEFAULTS = {
    "ppo_gae": {"gamma": 0.99, "gae_lambda": 0.95},
    "ppo_reward_horizon": {"horizon": 32},
    "ppo_avg_reward": {"gae_lambda": 0.95, "terminal_mode": "absorb", "reset_cost": 0.0},
}
DELAYS = (16, 50, 200)  # delay's L as three envs, delay<L>
SEEDS = 3  # seeds 1..3 select, 4..6 score
BOOTSTRAP_REPS = 10_000
# The reward delay of each env, for the tuning-gain plot: (order, label), from docs/envs.md's first table.
# None: no single delay (dense rewards, or a point decided tens of steps before it is scored).
REWARD_DELAY = {"bandit": (0, "0"), "squared": (10, "≤ 10"), "delay16": (15, "15"), "delay50": (49, "49"),
                "chain": (62, "62"), "delay200": (199, "199"), "cartpole": (None, "dense"), "pong": (None, "tens"),
                "breakout": (None, "dense")}


@dataclass(frozen=True)
class Setting:
    label: str  # directory name and table label
    values: tuple  # ((Args field, value), ...)
    row: str = ""  # its place in the heatmap
    col: str = ""

    def flags(self) -> tuple:
        return tuple(x for name, value in self.values for x in (f"--{name.replace('_', '-')}", str(value)))

    def get(self, name):
        return dict(self.values)[name]

    def is_default(self, script: str) -> bool:
        return dict(self.values) == DEFAULTS[script]


def grid(script: str) -> list[Setting]:
    if script == "ppo_gae":
        return [Setting(f"gamma{g}_lambda{lam}", (("gamma", g), ("gae_lambda", lam)), f"γ {g:g}", f"λ {lam:g}")
                for g in (0.95, 0.99, 0.999) for lam in (0.8, 0.95, 1.0)]
    if script == "ppo_reward_horizon":
        geo = (("bins", "geometric"),)
        cut = (("head_weighting", "adaptive"),)
        return ([Setting(f"H{h}", (("horizon", h),), "unit heads", f"H {h}") for h in (8, 32, 128)]
                + [Setting(f"geo_H{h}{'_adaptive' * a}", (("horizon", h),) + geo + cut * a,
                           "geometric" + " + cut" * a, f"H {h}") for a in (0, 1) for h in (256, 1024)])
    if script == "ppo_avg_reward":
        return [Setting(f"lambda{lam}_{mode}" + (f"{cost:g}" if cost else ""),
                        (("gae_lambda", lam), ("terminal_mode", mode), ("reset_cost", cost)),
                        "absorb" if mode == "absorb" else "reset, cost 1", f"λ {lam:g}")
                for mode, cost in (("absorb", 0.0), ("reset", 1.0)) for lam in (0.8, 0.95, 1.0)]
    raise ValueError(script)


def describe(setting: Setting) -> str:
    """A grid point for people: "γ 0.99, λ 0.95", "H 32", "geometric + cut, H 1024", "λ 0.95, reset, cost 1"."""
    v = dict(setting.values)
    if "horizon" in v:
        return setting.col if setting.row == "unit heads" else f"{setting.row}, {setting.col}"
    return f"{setting.row}, {setting.col}" if "gamma" in v else f"{setting.col}, {setting.row}"


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


def tuning_envs(profile: str, env_scores: dict) -> list[str]:
    """The study's fastenvs suite, with delay replaced by delay<L> for each L in DELAYS."""
    suite = suites.suite_envs(["fastenvs"], None, profile, env_scores, quiet=True)["fastenvs"]
    return [n for e in suite for n in ([f"delay{L}" for L in DELAYS] if e == "delay" else [e])]


def env_of(name: str) -> tuple[str, tuple]:
    """A tuning env's fastenvs env and the flags that make it: delay16 -> ("delay", ("--env-kwargs", "delay=16"))."""
    if name.startswith("delay") and name[5:].isdigit():
        return "delay", ("--env-kwargs", f"delay={name[5:]}")
    return name, ()


def select_tuning_envs(text: str | None, profile: str, env_scores: dict) -> list[str]:
    envs = tuning_envs(profile, env_scores)
    if not text:
        return envs
    wanted = runner.parse_list(text)
    for name in wanted:
        if name not in envs:
            raise UserError(f"unknown env {name!r}: the tuning study's envs are {', '.join(envs)}")
    return [e for e in envs if e in wanted]


def plan(variants, settings, envs, seeds, profile, out, extra=(), scale=1.0) -> list[Run]:
    """Every setting of every variant x env x seeds 1..2 seeds; a run's tag is "<env> <setting>"."""
    runs = []
    for s in variants:
        for name in envs:
            env, kw = env_of(name)
            budget = runner.scaled_budget(suites.BUDGETS[profile][env], scale)
            for st in settings[s]:
                for seed in range(1, 2 * seeds + 1):
                    runs.append(Run(s, env, seed, budget, os.path.join(out, s, name, st.label, f"seed{seed}"),
                                    kw + st.flags() + extra, f"{name} {st.label}",
                                    summary_name=f"{s}/{name}/{st.label}/seed{seed}"))
    return runs


# --------------------------------------------------------------------------------------------------
# Selection on seeds 1..N, scores on N+1..2N
# --------------------------------------------------------------------------------------------------
def cells(runs: list[Run], env_scores: dict) -> dict[tuple, float]:
    """{(script, setting label, env, seed): normalized final score} of the finished, scored runs."""
    out = {}
    for run, sc in report.collect(runs, env_scores).items():
        if np.isfinite(sc.final_norm):
            name, label = run.tag.split(" ")
            out[(run.script, label, name, run.seed)] = sc.final_norm
    return out


def complete_envs(c: dict, script: str, settings: list[Setting], envs: list[str], seeds: int) -> list[str]:
    """The envs on which every setting has a score for every seed 1..2 seeds."""
    return [e for e in envs if all((script, st.label, e, k) in c for st in settings for k in range(1, 2 * seeds + 1))]


def compared_envs(c: dict, settings: dict[str, list[Setting]], envs: list[str], seeds: int) -> list[str]:
    """The envs where every estimator has all its runs scored: the estimators are compared on one suite."""
    return [e for e in envs if all(e in complete_envs(c, s, settings[s], [e], seeds) for s in settings)]


def pick(settings: list[Setting], script: str, score) -> Setting:
    """The setting with the highest score(setting); a tie goes to the default, then to the first in the grid."""
    return max(settings, key=lambda st: (score(st), st.is_default(script)))


def suite_ci(stack: np.ndarray, stat, reps: int, seed: int = 0) -> tuple[float, float]:
    """95% CI of stat over an (envs x seeds x k) array: report.bootstrap_ci resamples the envs, and within each drawn
    env its seeds; every stat sees the same draws."""
    inner = np.random.default_rng(seed + 1)

    def resampled(x):
        idx = inner.integers(0, x.shape[1], x.shape[:2])
        return stat(x[np.arange(len(x))[:, None], idx])
    return report.bootstrap_ci(stack, resampled, reps, seed)


def numbers_of(stat) -> dict:
    """The five numbers as `stat` of an (envs x scoring seeds x [default, best single, per-env best]) array."""
    return {"default": lambda x: stat(x[..., 0].ravel()),
            "best single setting": lambda x: stat(x[..., 1].ravel()),
            "per-env best": lambda x: stat(x[..., 2].ravel()),
            "tuning gain": lambda x: stat(x[..., 2].ravel()) - stat(x[..., 0].ravel()),
            "one-set cost": lambda x: stat(x[..., 2].ravel()) - stat(x[..., 1].ravel())}


# The IQM is robust to outlying runs, but with most envs solved by every setting it trims the few envs where the
# settings differ; the mean counts every env, so the report gives both and the best single setting is picked by it.
NUMBERS = {"IQM": numbers_of(report.iqm), "mean": numbers_of(lambda v: float(np.mean(v)))}


def tuning(c: dict, script: str, settings: list[Setting], envs: list[str], seeds: int = SEEDS,
           reps: int = BOOTSTRAP_REPS) -> dict | None:
    """The numbers and the picks of one estimator on the envs where all its runs are scored (None if none is, or its
    default is not among `settings`): {"envs", "single", "per_env", "stack", "numbers": {"IQM" or "mean": {name:
    (point, lo, hi)}}}. The picks look at seeds 1..seeds only; the numbers at seeds+1..2 seeds only."""
    default = next((st for st in settings if st.is_default(script)), None)
    done = complete_envs(c, script, settings, envs, seeds)
    if default is None or not done:
        return None
    select, score = range(1, seeds + 1), range(seeds + 1, 2 * seeds + 1)
    single = pick(settings, script, lambda st: float(np.mean([c[(script, st.label, e, k)] for e in done
                                                                for k in select])))
    per_env = {e: pick(settings, script, lambda st: float(np.mean([c[(script, st.label, e, k)] for k in select])))
               for e in done}
    stack = np.array([[[c[(script, st.label, e, k)] for st in (default, single, per_env[e])] for k in score]
                      for e in done])
    numbers = {kind: {name: (stat(stack), *suite_ci(stack, stat, reps)) for name, stat in stats.items()}
               for kind, stats in NUMBERS.items()}
    return {"envs": done, "default": default, "single": single, "per_env": per_env, "stack": stack,
            "numbers": numbers}


# --grid long: {name: (fastenvs env, delay L or None, budget in iterations of runner.BATCH)}
LONG_ENVS = {"squared": ("squared", None, 16), "delay16": ("delay", 16, 16), "delay50": ("delay", 50, 32),
             "delay200": ("delay", 200, 32), "delay200long": ("delay", 200, 128), "breakout": ("breakout", None, 48)}
LONG_DEFAULT_ENVS = ("squared", "delay16", "delay50", "delay200")
LONG_SEEDS = 3
TUNING_BEGIN, TUNING_END = "<!-- tuning results: benchmarks/sensitivity.py -->", "<!-- /tuning results -->"
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
    return write_section("\n".join(lines), os.path.join(args.report_dir, "sensitivity.md"))


def write_section(block: str, path: str, begin: str = None, end: str = None) -> str:
    """Replace the block between `begin` and `end` of `path` (default: the --grid long markers), or append it, keeping
    the rest."""
    begin, end = begin or LONG_BEGIN, end or LONG_END
    text = open(path).read() if os.path.exists(path) else ""
    head, _, rest = text.partition(begin)
    tail = rest.partition(end)[2] if rest else ""
    with open(path, "w") as f:
        f.write(head.rstrip("\n") + "\n\n" + block + "\n" + tail.lstrip("\n"))
    return path



# --------------------------------------------------------------------------------------------------
# Report: docs/sensitivity.md and docs/sensitivity/*.png
# --------------------------------------------------------------------------------------------------
def mean_of(c: dict, script: str, label: str, env: str, seeds) -> float:
    v = [c[(script, label, env, k)] for k in seeds if (script, label, env, k) in c]
    return float(np.mean(v)) if v else math.nan


def plot_heatmaps(c, script, settings, envs, result, seeds, path):
    """One panel per env: each setting's mean normalized final score on the scoring seeds; red box: the default,
    white circle: the env's own pick, dashed box: the best single setting (both picked on the selection seeds)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    rows, cols = list(dict.fromkeys(st.row for st in settings)), list(dict.fromkeys(st.col for st in settings))
    ncols = min(5, len(envs))
    nrows = math.ceil(len(envs) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.5 * ncols, 2.1 * nrows), squeeze=False)
    where = {st.label: (rows.index(st.row), cols.index(st.col)) for st in settings}
    for ax, env in zip(axes.flat, envs):
        g = np.full((len(rows), len(cols)), np.nan)
        for st in settings:
            g[where[st.label]] = mean_of(c, script, st.label, env, range(seeds + 1, 2 * seeds + 1))
        ax.imshow(g, cmap="viridis", vmin=min(0.0, np.nanmin(g)) if np.isfinite(g).any() else 0, vmax=1,
                  aspect="auto")
        for (i, j), v in np.ndenumerate(g):
            if np.isfinite(v):
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=6, color="white" if v < 0.6 else "black")
        marks = [(next(st for st in settings if st.is_default(script)).label, dict(ec="red", lw=2))]
        if result and env in result["per_env"]:
            i, j = where[result["per_env"][env].label]
            ax.plot(j, i - 0.3, "o", ms=4, mfc="white", mec="black")
            marks.append((result["single"].label, dict(ec="cyan", lw=1.5, ls="--")))
        for label, style in marks:
            i, j = where[label]
            ax.add_patch(Rectangle((j - 0.45, i - 0.45), 0.9, 0.9, fill=False, **style))
        ax.set_xticks(range(len(cols)), cols, fontsize=6)
        ax.set_yticks(range(len(rows)), rows, fontsize=6)
        ax.set_title(env, fontsize=8)
    for ax in list(axes.flat)[len(envs):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=report.DPI)
    plt.close(fig)


def gain_per_env(result: dict, reps: int) -> dict[str, tuple[float, float, float]]:
    """{env: (mean over the scoring seeds of per-env best - default, 95% CI)}, the seeds paired."""
    out = {}
    for e, x in zip(result["envs"], result["stack"]):
        d = x[:, 2] - x[:, 0]
        out[e] = (float(d.mean()), *report.bootstrap_ci(d, np.mean, reps))
    return out


def plot_gain(results: dict, envs: list[str], reps: int, path: str):
    """Tuning gain per env (mean over scoring seeds, 95% CI) against the env's reward delay, per estimator."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = sorted(envs, key=lambda e: (REWARD_DELAY.get(e, (None,))[0] is None, REWARD_DELAY.get(e, (0,))[0] or 0))
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for i, (s, res) in enumerate(results.items()):
        gains = gain_per_env(res, reps)
        pts = [(order.index(e) + 0.15 * (i - 1), *gains[e]) for e in order if e in gains]
        if pts:
            x, m, lo, hi = map(np.array, zip(*pts))
            ax.errorbar(x, m, yerr=[m - lo, hi - m], fmt="o", color=COLORS.get(s), capsize=2, label=LABELS[s])
    ax.axhline(0, color="grey", lw=0.6)
    ax.set_xticks(range(len(order)), [f"{e}\n{REWARD_DELAY.get(e, (0, '?'))[1]}" for e in order], fontsize=7)
    ax.set_xlabel("env, and steps from the decisive action to its reward (docs/envs.md)", fontsize=8)
    ax.set_ylabel("tuning gain (per-env best − default)", fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=report.DPI)
    plt.close(fig)


def num(x: float, sign: str = "") -> str:
    """x to 3 decimals, a difference that rounds to zero shown as 0.000 rather than -0.000."""
    return f"{round(float(x), 3) + 0.0:{sign}.3f}"


def stated_cost(runs, settings, envs, seeds, parallel) -> str:
    steps, seconds = runner.estimate(runs, parallel)
    return (f"{len(runs)} runs ({' + '.join(str(len(v)) for v in settings.values())} settings x {len(envs)} envs x "
            f"{2 * seeds} seeds), {steps / 1e9:.2f}G env steps; about {runner.fmt_duration(seconds)} with {parallel} "
            f"at a time, one thread each, at {runner.ASSUMED_SPS_PER_RUN:,} steps/s per run")


def write_report(runs, settings, envs, seeds, env_scores, args, out, command, reps=BOOTSTRAP_REPS) -> str:
    """Write the results between TUNING_BEGIN and TUNING_END of <report dir>/sensitivity.md, and the plots; return
    the path. The rest of the page (the design, the --grid long section) is kept."""
    report.require_report_packages()
    c = cells(runs, env_scores)
    shared = compared_envs(c, settings, envs, seeds)
    results = {s: r for s in settings for r in [tuning(c, s, settings[s], shared, seeds, reps)] if r}
    plots_dir = os.path.join(args.report_dir, "sensitivity")
    lines = [TUNING_BEGIN, "## Results", "", f"Planned ({args.profile} profile; `python benchmarks/sensitivity.py "
             f"--dry-run` prints it): {stated_cost(runs, settings, envs, seeds, args.parallel)}.", ""]
    if not results:
        lines += [f"**Not run yet: no numbers.** {len(c)} of {len(runs)} runs are finished, and no env has every "
                  "run of every estimator.", ""]
    else:
        if len(c) < len(runs):
            left = [e for e in envs if e not in shared]
            lines += [f"**Incomplete:** {len(c)} of {len(runs)} runs finished; the numbers use the envs where every "
                      f"estimator's runs are all finished, so the estimators are compared on one suite"
                      f"{'; left out until then: ' + ', '.join(left) if left else ''}.", ""]
        for kind, stats in NUMBERS.items():
            lines += [f"{kind[0].upper()}{kind[1:]} of the normalized final score over envs × seeds "
                      f"{seeds + 1}..{2 * seeds} (95% CI; the picks made on seeds 1..{seeds}).", "",
                      "| estimator | " + " | ".join(stats) + " | the single setting picked | envs |", "|---|" + "---|" * 7]
            for s, r in results.items():
                row = " | ".join(f"**{num(p)}** [{num(lo)}, {num(hi)}]" for p, lo, hi in r["numbers"][kind].values())
                lines.append(f"| {LABELS[s]} | {row} | {describe(r['single'])} | {len(r['envs'])} |")
            lines.append("")
        lines += ["### Per env", "", f"Mean normalized final score over seeds {seeds + 1}..{2 * seeds}, with each "
                  "env's own pick; tuning gain with a 95% bootstrap CI over the scoring seeds (paired).", "",
                  "| estimator | env | default | best single setting | per-env best | tuning gain |",
                  "|---|---|---:|---:|---:|---|"]
        for s, r in results.items():
            gains = gain_per_env(r, reps)
            for e, x in zip(r["envs"], r["stack"]):
                m = x.mean(0)
                g = [num(v, "+") for v in gains[e]]
                lines.append(f"| {LABELS[s]} | {e} | {num(m[0])} | {num(m[1])} | {num(m[2])} ({describe(r['per_env'][e])}) "
                             f"| {g[0]} [{g[1]}, {g[2]}] |")
        os.makedirs(plots_dir, exist_ok=True)
        lines += ["", f"Heatmaps: each setting's mean over seeds {seeds + 1}..{2 * seeds}; red box the default, dashed "
                  "box the best single setting, white dot the env's own pick.", ""]
        for s, r in results.items():
            plot_heatmaps(c, s, settings[s], r["envs"], r, seeds, os.path.join(plots_dir, f"tuning_{s}.png"))
            lines += [f"![{LABELS[s]}: every setting on every env](sensitivity/tuning_{s}.png)", ""]
        plot_gain(results, shared, reps, os.path.join(plots_dir, "tuning_gain.png"))
        lines += ["![tuning gain per env against its reward delay](sensitivity/tuning_gain.png)", ""]
    invocations = [i for i in runner.read_invocations(out) if i.get("runs_executed")]
    if invocations:
        wall = sum(i.get("wall_s", 0.0) for i in invocations)
        commands = "; ".join(dict.fromkeys(f"`{i['command']}`" for i in invocations))
        lines += [f"* Commands: {commands}; wall time {runner.fmt_duration(wall) if wall else 'not recorded'}",
                  f"* Machine: {runner.machine()}; one thread per run; {runner.versions()}",
                  f"* Date: {report.run_dates(invocations)}report written {datetime.date.today().isoformat()}",
                  f"* Run directories: `{runner.rel(out)}/<script>/<env>/<setting>/seed<k>/`", ""]
    return write_section("\n".join(lines + [TUNING_END]), os.path.join(args.report_dir, "sensitivity.md"),
                         TUNING_BEGIN, TUNING_END)


def parser() -> runner.Parser:
    p = runner.Parser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                      epilog="\n".join(__doc__.splitlines()[2:26]))
    p.add_argument("--grid", choices=("tuning", "long"), default="tuning",
                   help="tuning: each estimator's own grid on every env (default); long: reward bins and the adaptive cut")
    p.add_argument("--profile", default="quick", help="budget profile of benchmarks/suites.py: quick or full")
    p.add_argument("--envs", default=None, help="comma-separated envs (default: the fastenvs suite with delay16, "
                   f"delay50, delay200 for delay; --grid long: {','.join(LONG_DEFAULT_ENVS)})")
    p.add_argument("--variants", default=None, help="comma-separated scripts (default: all three)")
    p.add_argument("--settings", default=None, help="comma-separated grid points to run, by label (default: all)")
    p.add_argument("--seeds", type=int, default=None, help=f"tuning: seeds 1..N select and N+1..2N score (default "
                   f"{SEEDS}); --grid long: seeds 1..N (default {LONG_SEEDS})")
    p.add_argument("--report-dir", default=os.path.join(ROOT, "docs"), help="where sensitivity.md and its plots go")
    p.add_argument("--bootstrap-reps", type=int, default=BOOTSTRAP_REPS, help=argparse.SUPPRESS)  # smoke tests
    runner.add_run_flags(p, "results directory (default: runs/tuning/<profile>; --grid long: runs/sensitivity/long)")
    return p


def check(args, default_seeds: int):
    runner.check_run_flags(args)
    if args.profile not in suites.BUDGETS:
        raise UserError(f"unknown profile {args.profile!r}: use {', '.join(suites.BUDGETS)}")
    args.seeds = default_seeds if args.seeds is None else args.seeds
    if args.seeds < 1:
        raise UserError(f"--seeds={args.seeds} is not allowed: use an integer >= 1")


def main(argv=None):
    args = parser().parse_args(argv)
    command = runner.command_line("sensitivity.py", argv)
    if args.grid == "long":
        return main_long(args, command)
    try:
        check(args, SEEDS)
        env_scores = suites.parse_env_scores()
        envs = select_tuning_envs(args.envs, args.profile, env_scores)
        variants = suites.select_variants(args.variants)
        settings = select_settings(args.settings, variants)
        extra = tuple(shlex.split(args.script_args))
    except UserError as e:
        fail(str(e))
    if not args.dry_run:
        report.require_report_packages()
    out = os.path.abspath(args.out or os.path.join(ROOT, "runs", "tuning", args.profile))
    runs = plan(variants, settings, envs, args.seeds, args.profile, out, extra, args.budget_scale)
    print(f"tuning, {args.profile} budgets: {' + '.join(f'{len(settings[s])} {s}' for s in variants)} settings x "
          f"{len(envs)} envs ({', '.join(envs)}) x {2 * args.seeds} seeds (1..{args.seeds} select, "
          f"{args.seeds + 1}..{2 * args.seeds} score), results in {runner.rel(out)}")
    failed = runner.execute(runs, args, out, command)
    if args.dry_run:
        return
    path = write_report(runs, settings, envs, args.seeds, env_scores, args, out, command, args.bootstrap_reps)
    print(f"report: {runner.rel(path)}")
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
