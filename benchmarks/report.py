"""The reporter: scores, aggregates with confidence intervals, tables and plots of finished runs.

    python benchmarks/report.py runs/seeds/breakout-20m/gae/seed1 runs/seeds/breakout-20m/gae/seed2 --at 5000000 20000000

The command prints, per run directory, the score at each step (`score_at`: the mean raw score of
the episodes that ended in the last 10% of the steps up to the first iteration at or past it), the
steps done and the run's steps/s. The experiments (study.py, seeds.py, sensitivity.py) build their
pages from the functions below:
  final score  the mean score of the episodes that ended in the last 10% of a run's steps; where
               too few did (jobs.needs_evaluation), the final policy's score over 100 episodes
               (evaluate.py --json, called by the runner); SOURCES says which a run got
  AUC          mean normalized score over the iterations, weighted by the steps each one covers; an
               iteration's score is that of the episodes that ended in it, interpolated where none did
  normalized   (score - random) / (reference - random): 0 is the random policy, 1 the reference
Runs logged before the scripts counted each iteration's episodes keep the rolling mean of the last
100 episodes (source "rolling"). Across envs
and seeds: the interquartile mean (IQM) and the optimality gap with 95% stratified-bootstrap CIs
(rliable; runs resampled within each env), and the probability of improvement P(X > Y). Over the
seeds of one env: mean and IQM with 95% percentile-bootstrap CIs (`seed_table`).
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runner import (EVAL, Parser, Run, fail, is_complete, read_json, read_metrics)  # noqa: E402
from jobs import EVAL_EPISODES, FINAL_FRACTION, final_window, needs_evaluation  # noqa: E402

LABELS = {"ppo_gae": "GAE", "ppo_gae_lambda1": "GAE, λ = 1", "ppo_reward_horizon": "reward horizon",
          "ppo_avg_reward": "average reward", "ppo_reward_horizon_bins": "reward horizon, bins + cut"}
COLORS = {"ppo_gae": "#1f77b4", "ppo_gae_lambda1": "#9467bd", "ppo_reward_horizon": "#d62728",
          "ppo_avg_reward": "#2ca02c", "ppo_reward_horizon_bins": "#ff7f0e"}
BOOTSTRAP_REPS = 20_000
POI_REPS = 2_000  # probability of improvement: a Mann-Whitney U per env and resample, so fewer resamples
DPI = 80


def normalize(score, random_score: float, max_score: float):
    """(score - random) / (max - random): 0 is the random policy, 1 the maximum (or reference) score."""
    return (np.asarray(score, dtype=np.float64) - random_score) / (max_score - random_score)



@dataclass
class RunScore:
    final: float  # raw final score (nan: not scored)
    final_norm: float  # nan where the env has no reference score
    auc: float  # normalized, step-weighted (nan without a reference)
    steps: np.ndarray = field(repr=False)  # global_step of each iteration
    curve: np.ndarray = field(repr=False)  # normalized score of each iteration (raw without a reference)
    sps: float | None = None
    source: str = "episodes"  # of the final score: episodes | evaluation | none | rolling (see SOURCES)


SOURCES = {
    "episodes": "the episodes that ended in the last 10% of the steps",
    "evaluation": f"the final policy played for {EVAL_EPISODES} episodes, sampled as in training (the last 10% of the "
                  "steps ended too few episodes)",
    "none": "not scored: too few episodes ended in the last 10% of the steps and no evaluation was recorded",
    "rolling": "the rolling mean of the last 100 episodes (a run logged before the scripts counted each "
               "iteration's episodes; it may repeat episodes that ended before the window)",
}


def window_score(rows: list[dict], end: float | None = None) -> tuple[float, int]:
    """Mean score of the episodes that ended in the final window up to step `end`, and how many ended there."""
    window = final_window(rows, end)
    n = sum(r["ended_episodes"] for r in window)
    return (sum(r["ended_episodes"] * r["ended_score"] for r in window if r["ended_episodes"]) / n if n else math.nan,
            n)


def ended_curve(rows: list[dict], random_score: float) -> np.ndarray:
    """Per iteration, the mean score of the episodes that ended in it; an iteration where none ended takes the
    linear interpolation between the nearest iterations where some did (from the random policy's score at step
    0 before the first; the last one's score after the last)."""
    have = [r for r in rows if r["ended_episodes"]]
    return np.interp([r["global_step"] for r in rows], [0.0] + [r["global_step"] for r in have],
                     [random_score] + [r["ended_score"] for r in have])


def score_run(rows: list[dict], random_score: float, max_score: float | None, evaluation: dict | None = None) -> RunScore:
    """Final score, normalized final score and AUC of one run's metrics rows (see the module docstring), with the
    source of its final score. Without a reference score (max_score None) the normalized numbers are nan and the
    curve is raw. `evaluation`: what benchmarks/evaluate.py --json recorded of the final policy."""
    if not rows:
        raise ValueError("no metrics rows")
    steps = np.array([r["global_step"] for r in rows], dtype=np.float64)
    if "ended_episodes" in rows[-1]:
        raw = ended_curve(rows, random_score)
        if needs_evaluation(rows):
            final, source = (evaluation["sampled"]["mean"], "evaluation") if evaluation else (math.nan, "none")
        else:
            final, source = window_score(rows)[0], "episodes"
    else:  # logged before the per-iteration counts: the rolling mean, random before the first episode
        raw = np.array([random_score if r.get("episode_score") is None else r["episode_score"] for r in rows],
                       dtype=np.float64)
        final, source = float(raw[steps >= (1.0 - FINAL_FRACTION) * steps[-1]].mean()), "rolling"
    if max_score is None:
        return RunScore(final, math.nan, math.nan, steps, raw, rows[-1].get("sps"), source)
    curve = normalize(raw, random_score, max_score)
    weights = np.diff(np.concatenate([[0.0], steps]))
    auc = float((curve * weights).sum() / weights.sum())
    return RunScore(final, float(normalize(final, random_score, max_score)), auc, steps, curve, rows[-1].get("sps"),
                    source)


def collect(runs: list[Run], env_scores: dict) -> dict[Run, RunScore]:
    """Scores of the finished runs among `runs`."""
    out = {}
    for run in runs:
        if is_complete(run):
            rows = read_metrics(run.run_dir)
            if rows:
                out[run] = score_run(rows, *env_scores[run.env], read_json(os.path.join(run.run_dir, EVAL)))
    return out


def mean_std(values) -> tuple[float, float]:
    """Mean and sample standard deviation (nan with fewer than 2 values)."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return math.nan, math.nan
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else math.nan


def fmt_ms(mean: float, std: float, digits: int = 2) -> str:
    if math.isnan(mean):
        return "-"
    return f"{mean:.{digits}f}" if math.isnan(std) else f"{mean:.{digits}f} ± {std:.{digits}f}"


def require_report_packages():
    """rliable and matplotlib, or one line saying how to install them (exit code 2)."""
    try:
        import matplotlib  # noqa: F401
        import rliable.library  # noqa: F401
        import rliable.metrics  # noqa: F401
    except ImportError as e:
        fail(f"the report needs rliable and matplotlib ({e}): pip install -e '.[bench]'")
    except Exception as e:  # noqa: BLE001 -- e.g. rliable's arch 7 under pandas 3
        fail(f"rliable does not import ({type(e).__name__}: {e}): pip install -e '.[bench]' (it pins pandas<3)")


def aggregate_with_ci(scores: np.ndarray, reps: int = BOOTSTRAP_REPS,
                      gap: bool = False) -> dict[str, tuple[float, float, float]]:
    """{"IQM": (point, CI low, CI high)} and, with `gap`, {"optimality gap": ...} of a (runs x envs) matrix of
    normalized scores: 95% stratified-bootstrap CIs (rliable; runs resampled within each env), one set of
    resamples for both. The optimality gap is the mean shortfall below 1 (the maximum or reference score)."""
    from rliable import library as rly
    from rliable import metrics

    def func(x):
        return np.array([metrics.aggregate_iqm(x)] + ([metrics.aggregate_optimality_gap(x, 1.0)] if gap else []))

    np.random.seed(0)  # rliable draws its resamples from numpy's global generator
    point, interval = rly.get_interval_estimates({"x": scores}, func, reps=reps)
    names = ["IQM"] + (["optimality gap"] if gap else [])
    return {n: (float(point["x"][i]), float(interval["x"][0, i]), float(interval["x"][1, i]))
            for i, n in enumerate(names)}


def improvement_with_ci(x: np.ndarray, y: np.ndarray, reps: int = POI_REPS) -> tuple[float, float, float]:
    """P(X > Y): the probability that a run of X beats a run of Y on an env, averaged over envs, with a 95%
    stratified-bootstrap CI (rliable; the runs of X and of Y resampled independently within each env)."""
    from rliable import library as rly
    from rliable import metrics

    np.random.seed(0)
    point, interval = rly.get_interval_estimates({"x,y": (x, y)}, metrics.probability_of_improvement, reps=reps)
    lo, hi = np.ravel(interval["x,y"])
    return float(point["x,y"]), float(lo), float(hi)


def score_matrix(scores: dict[Run, RunScore], key: str, envs: list[str], attr: str,
                 runs: list[Run]) -> tuple[np.ndarray, list[int]]:
    """(seeds x envs) matrix of `attr` for the seeds of variant `key` finished and scored in every env, and those
    seeds."""
    by_key = {(r.env, r.seed): s for r, s in scores.items() if r.key == key}
    seeds = sorted({r.seed for r in runs if r.key == key})
    common = [s for s in seeds if all((env, s) in by_key and np.isfinite(by_key[(env, s)].final) for env in envs)]
    matrix = np.array([[getattr(by_key[(env, s)], attr) for env in envs] for s in common], dtype=np.float64)
    return matrix.reshape(len(common), len(envs)), common




def run_dates(invocations: list[dict]) -> str:
    """"runs 2025-01-01 to 2025-01-02; " from the recorded invocations ("" if none)."""
    days = sorted({i["started"][:10] for i in invocations if i.get("started")})
    if not days:
        return ""
    return f"runs {days[0]}" + (f" to {days[-1]}" if len(days) > 1 else "") + "; "


def steps_label(steps: float) -> str:
    return f"{steps / 1e6:.2f}M" if steps < 1e7 else f"{steps / 1e6:.0f}M"



def plot_curves(scores: dict[Run, RunScore], envs: list[str], variants: list[str], path: str,
                raw_envs: frozenset = frozenset()):
    """One panel per env: mean normalized score (raw for `raw_envs`) over seeds vs env steps, a band of ± one
    std, per variant."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ncols = min(4, len(envs))
    nrows = math.ceil(len(envs) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.3 * ncols, 2.6 * nrows), squeeze=False)
    for ax, env in zip(axes.flat, envs):
        for key in variants:
            runs = [s for r, s in scores.items() if r.key == key and r.env == env]
            if not runs:
                continue
            n = min(len(s.curve) for s in runs)
            curves = np.stack([s.curve[:n] for s in runs])
            x = runs[0].steps[:n] / 1e6
            mean = curves.mean(0)
            ax.plot(x, mean, color=COLORS.get(key), lw=1.4, label=f"{LABELS.get(key, key)} ({len(runs)})")
            if len(runs) > 1:
                std = curves.std(0, ddof=1)
                ax.fill_between(x, mean - std, mean + std, color=COLORS.get(key), alpha=0.2, lw=0)
        if env not in raw_envs:
            ax.axhline(0, color="grey", lw=0.6, ls=":")
        ax.set_title(env + (" (raw score)" if env in raw_envs else ""), fontsize=10)
        ax.tick_params(labelsize=8)
        ax.set_xlabel("env steps (M)", fontsize=8)
        ax.grid(alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel("normalized score", fontsize=8)
    for ax in list(axes.flat)[len(envs):]:
        ax.axis("off")
    handles, labels = [], []
    for ax in axes.flat:  # the legend of the panel with the most variants
        h, lab = ax.get_legend_handles_labels()
        if len(h) > len(handles):
            handles, labels = h, lab
    if handles:
        fig.legend(handles, [lab.split(" (")[0] for lab in labels], loc="lower center", ncol=len(handles),
                   fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.06 if nrows == 1 else 0.04, 1, 1))
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def plot_aggregate(agg: dict[str, dict[str, tuple]], variants: list[str], path: str):
    """Point estimate with 95% CI bars per variant, one panel per metric (the keys of `agg`)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    metrics = [m for m in agg if agg[m]]
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.6 * len(metrics), 0.55 * len(variants) + 1.0), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for i, key in enumerate(variants):
            if key not in agg[metric]:
                continue
            point, lo, hi = agg[metric][key]
            ax.errorbar([point], [i], xerr=[[point - lo], [hi - point]], fmt="o", color=COLORS.get(key), capsize=4,
                        lw=2)
        ax.set_yticks(range(len(variants)), [LABELS.get(k, k) for k in variants], fontsize=9)
        ax.set_ylim(-0.6, len(variants) - 0.4)
        ax.invert_yaxis()
        ax.set_title(metric, fontsize=10)
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", alpha=0.3)
    for ax in axes[0][1:]:
        ax.set_yticklabels([])
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)



# --------------------------------------------------------------------------------------------------
# Over the seeds of one env: scores at checkpoints (seeds.py and the score-at command)
# --------------------------------------------------------------------------------------------------
def score_at(rows: list[dict], step: int) -> float | None:
    """The score at the first iteration at or past `step`: the mean score of the episodes that ended in the
    last 10% of the steps up to it (None if none did, or the run did not get there); for runs logged before the
    per-iteration counts, the rolling mean of the last 100 episodes there."""
    row = next((r for r in rows if r["global_step"] >= step), None)
    if row is None or "ended_episodes" not in row:
        return None if row is None else row.get("episode_score")
    score, n = window_score(rows, row["global_step"])
    return score if n else None


def bootstrap_ci(x: np.ndarray, stat, reps: int = 10_000, seed: int = 0) -> tuple[float, float]:
    """95% percentile-bootstrap CI of stat(x), resampling x with replacement."""
    rng = np.random.default_rng(seed)
    samples = [stat(x[rng.integers(0, len(x), len(x))]) for _ in range(reps)]
    return float(np.percentile(samples, 2.5)), float(np.percentile(samples, 97.5))


def iqm(x: np.ndarray) -> float:
    """Mean of the middle half (interquartile mean), as rliable defines it."""
    x = np.sort(x)
    lo, hi = int(np.floor(0.25 * len(x))), int(np.ceil(0.75 * len(x)))
    return float(x[lo:hi].mean()) if hi > lo else float(x.mean())


def seed_table(variants, checkpoints, seeds: int, rows_of, wall: float) -> list[str]:
    """Markdown: per variant with a finished run and checkpoint, the score of seeds 1..k ("-" where a run has not
    reached it), mean and IQM with 95% bootstrap CIs, and the share of runs above `wall`. rows_of(variant, seed)
    gives a run's metrics rows ([] for none)."""
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


def plot_seed_curves(curves: dict[str, list[list[dict]]], ylabel: str, path: str):
    """Per variant, the mean score over its runs against env steps, with a band from the lowest to the highest."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=90)
    for variant, runs in curves.items():
        runs = [[(r["global_step"], y) for r in rows for y in [score_at(rows, r["global_step"])] if y is not None]
                for rows in runs if rows]
        if not runs:
            continue
        n = min(len(c) for c in runs)  # runs of one grid share the batch, so rows line up by index
        steps = np.array([x for x, _ in runs[0][:n]]) / 1e6
        scores = np.array([[y for _, y in c[:n]] for c in runs])
        line, = ax.plot(steps, scores.mean(0), label=f"{variant} ({len(runs)} seeds)")
        ax.fill_between(steps, scores.min(0), scores.max(0), color=line.get_color(), alpha=0.2)
    ax.set_xlabel("env steps (M)")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def parser() -> Parser:
    p = Parser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", help="run directories, each holding a metrics.jsonl")
    p.add_argument("--at", type=int, nargs="+", default=[5_000_000, 20_000_000], help="env steps")
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    fmt = lambda x: "-" if x is None else f"{x:.1f}"  # noqa: E731
    print("| run | " + " | ".join(f"score at {s / 1e6:g}M" for s in args.at) + " | steps | steps/s |")
    print("|---|" + "---:|" * (len(args.at) + 2))
    for run in args.runs:
        rows = read_metrics(run)
        if not rows:
            fail(f"{run} holds no metrics.jsonl rows: pass run directories of finished or running runs")
        last = rows[-1]
        print(f"| {run} | " + " | ".join(fmt(score_at(rows, s)) for s in args.at)
              + f" | {last['global_step']:,} | {fmt(last.get('sps'))} |")


if __name__ == "__main__":
    main()
