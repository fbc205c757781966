"""The study: the three PPO variants on every suite env over several seeds, one set of hyperparameters.

    pip install -e ".[bench]"                      # rliable and matplotlib, for the report
    python benchmarks/study.py --profile quick     # 3 seeds, short budgets: under an hour on 2 cores
    python benchmarks/study.py --profile full      # 5 seeds, long budgets: about 9 hours on 2 cores
    python benchmarks/study.py --profile quick --dry-run       # the commands, and what is done already
    python benchmarks/study.py --profile quick --report-only   # aggregate the finished runs only

Every run is one of ppo_gae.py, ppo_reward_horizon.py, ppo_avg_reward.py launched through its own
command line with its default hyperparameters: only --env, --seed, --total-timesteps and --run-dir
change, and the budget of an env is the same for the three variants. Runs go `--parallel` at a
time (default: one per core), each with one thread (OMP, MKL, Numba and so torch), into
`<out>/<script>/<env>/seed<k>/` (default out: runs/study/<profile>). The study is resumable: a run
whose metrics.jsonl reached its budget is not repeated, unless its `done.json` marker records other
arguments or its last attempt failed (`failed.json`); a partial run starts over. Interrupt it and run the same command again to go on.

The suite is every fastenvs env whose section in docs/envs.md gives both a random-policy score and
a maximum score, less those in NOT_IN_SUITE (`target`); scores are normalized per env as
(score - random) / (max - random). Per run:
  final score  mean of `episode_score` over the iterations logged in the last 10% of the run's steps
  AUC          mean normalized score over all iterations, weighted by the steps each one covers
An iteration logged before the first episode ended counts as the random-policy score (normalized
0): the policy is still the untrained, near-uniform one. Across envs x seeds the aggregate is the
interquartile mean (IQM) with a 95% stratified-bootstrap confidence interval (rliable; runs are
resampled within each env). The report goes to docs/results.md, the plots to docs/results/.

Budgets per profile live in BUDGETS below; `benchmarks/sensitivity.py` reuses them, the runner, the
resumability and the scoring of this file.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import math
import os
import re
import shlex
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import fastenvs  # noqa: E402

SCRIPTS = ("ppo_gae", "ppo_reward_horizon", "ppo_avg_reward")
ALIASES = {"gae": "ppo_gae", "reward_horizon": "ppo_reward_horizon", "avg_reward": "ppo_avg_reward"}
LABELS = {"ppo_gae": "GAE", "ppo_reward_horizon": "reward horizon", "ppo_avg_reward": "average reward"}
COLORS = {"ppo_gae": "#1f77b4", "ppo_reward_horizon": "#d62728", "ppo_avg_reward": "#2ca02c"}

BATCH = 512 * 64  # the scripts' default num_envs x num_steps: env steps per iteration
# Env steps per run, per profile and env, as whole iterations of the default batch. quick: 240
# iterations per variant and seed (7.9M steps), 63 runs, about 71M steps: ~45 min on 2 cores.
# full: 1924 iterations per variant and seed (63M steps), 105 runs, about 946M steps: ~9 h.
BUDGETS = {
    "quick": {"bandit": 16 * BATCH, "squared": 32 * BATCH, "delay": 32 * BATCH, "chain": 32 * BATCH,
              "cartpole": 32 * BATCH, "breakout": 48 * BATCH, "pong": 48 * BATCH},
    "full": {"bandit": 64 * BATCH, "squared": 160 * BATCH, "delay": 160 * BATCH, "chain": 160 * BATCH,
             "cartpole": 160 * BATCH, "breakout": 610 * BATCH, "pong": 610 * BATCH},
}
SEEDS = {"quick": 3, "full": 5}  # seeds 1..k
# Envs with both reference scores in docs/envs.md that the study leaves out on purpose, with the reason.
# `target` checks that the scripts' continuous-action path learns at all (tests/test_learning.py);
# it tests no reward delay, and the suite compares the variants on discrete-action envs only.
NOT_IN_SUITE = {"target": "a check of the continuous-action path, not a reward-delay test"}
# For the cost estimate before anything ran: training steps/s of one run on one thread, and the
# seconds each run spends starting (imports, Numba's cache) before its first step.
ASSUMED_SPS_PER_RUN = 15_000
STARTUP_S = 10.0
FINAL_FRACTION = 0.1  # the final score averages the iterations in the last 10% of the steps
THREAD_VARS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
MARKER = "done.json"
FAILED = "failed.json"  # written when a run exits non-zero, removed when it starts again
BOOTSTRAP_REPS = 20_000
DPI = 80


class UserError(Exception):
    """A mistake on the command line: reported as one line, exit code 2."""


def fail(message: str):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


class Parser(argparse.ArgumentParser):
    """argparse whose errors are one line on stderr and exit code 2."""

    def error(self, message):
        fail(message)


# --------------------------------------------------------------------------------------------------
# The suite: envs, their reference scores, variants, budgets
# --------------------------------------------------------------------------------------------------
def parse_env_scores(path: str = os.path.join(ROOT, "docs", "envs.md")) -> dict[str, tuple[float, float]]:
    """{env: (random-policy score, maximum score)} for each `## env` section of docs/envs.md with both rows."""
    with open(path) as f:
        text = f.read()
    number = r"\*\*\s*([-+\u2212]?\d[\d,]*(?:\.\d+)?)\s*\*\*"
    scores = {}
    parts = re.split(r"^## +(\S+)[ \t]*$", text, flags=re.MULTILINE)
    for name, body in zip(parts[1::2], parts[2::2]):
        found = []
        for row in ("random-policy score", "maximum score"):
            m = re.search(rf"^\|\s*{row}\s*\|\s*{number}", body, flags=re.MULTILINE)
            found.append(float(m.group(1).replace("\u2212", "-").replace(",", "")) if m else None)
        if None not in found:
            if not found[1] > found[0]:
                raise ValueError(f"docs/envs.md: env {name!r} has maximum score {found[1]} <= random score {found[0]}")
            scores[name] = (found[0], found[1])
    return scores


def normalize(score, random_score: float, max_score: float):
    """(score - random) / (max - random): 0 is the random policy, 1 the maximum score."""
    return (np.asarray(score, dtype=np.float64) - random_score) / (max_score - random_score)


def parse_list(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def select_variants(text: str | None) -> list[str]:
    if not text:
        return list(SCRIPTS)
    out = []
    for name in parse_list(text):
        script = ALIASES.get(name, name.removesuffix(".py"))
        if script not in SCRIPTS:
            raise UserError(f"unknown variant {name!r}: use {', '.join(SCRIPTS)} (or {', '.join(ALIASES)})")
        if script not in out:
            out.append(script)
    if not out:
        raise UserError(f"--variants={text!r} names no variant: use {', '.join(SCRIPTS)}")
    return [s for s in SCRIPTS if s in out]


def select_envs(text: str | None, profile: str, env_scores: dict) -> list[str]:
    """The requested envs (default: the whole suite), each checked to be a suite env with a budget."""
    registered = fastenvs.names()
    suite = [n for n in registered if n in env_scores and n not in NOT_IN_SUITE]
    budgets = BUDGETS[profile]
    if not text:
        outside = [n for n in registered if n not in env_scores]
        if outside:
            print(f"note: {', '.join(outside)} not in the suite: no random-policy and maximum score in docs/envs.md")
        left_out = [n for n in registered if n in env_scores and n in NOT_IN_SUITE]
        if left_out:
            print(f"note: {', '.join(left_out)} not in the suite on purpose (NOT_IN_SUITE in benchmarks/study.py)")
        missing = [n for n in suite if n not in budgets]
        if missing:
            print(f"note: {', '.join(missing)} not run: no budget in BUDGETS[{profile!r}] of benchmarks/study.py")
        envs = [n for n in suite if n in budgets]
        if not envs:
            raise UserError("no suite env: no fastenvs env has both scores in docs/envs.md and a budget")
        return envs
    envs = []
    for name in parse_list(text):
        if name not in registered:
            raise UserError(f"unknown env {name!r}: the suite is {', '.join(suite)}")
        if name in NOT_IN_SUITE:
            raise UserError(f"env {name!r} is not part of the suite ({NOT_IN_SUITE[name]}): use {', '.join(suite)}")
        if name not in env_scores:
            raise UserError(f"env {name!r} has no random-policy score and maximum score in docs/envs.md, so it is "
                            f"not part of the suite: use {', '.join(suite)}")
        if name not in budgets:
            raise UserError(f"env {name!r} has no budget in profile {profile!r}: add one to BUDGETS in "
                            "benchmarks/study.py")
        if name not in envs:
            envs.append(name)
    if not envs:
        raise UserError(f"--envs={text!r} names no env: use {', '.join(suite)}")
    return envs


def scaled_budget(steps: int, scale: float) -> int:
    """A budget times `scale` (smoke tests only), at least 1 step."""
    return steps if scale == 1.0 else max(1, int(steps * scale))


# --------------------------------------------------------------------------------------------------
# Runs: commands, completion, execution
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Run:
    script: str  # "ppo_gae", ...
    env: str
    seed: int
    budget: int  # --total-timesteps
    run_dir: str
    extra: tuple = ()  # flags after the four that every run has (a grid point; empty in the study)
    tag: str = ""  # what the progress lines call it besides script, env and seed

    def args(self) -> list[str]:
        return ["--env", self.env, "--seed", str(self.seed), "--total-timesteps", str(self.budget), "--threads", "1",
                "--run-dir", self.run_dir, *self.extra]

    def command(self) -> list[str]:
        return [sys.executable, os.path.join(ROOT, f"{self.script}.py"), *self.args()]

    def shell(self) -> str:
        """The command as one shell line, paths relative to the repository root where they can be."""
        env = " ".join(f"{k}={v}" for k, v in THREAD_VARS.items())
        args = [rel(a) if a == self.run_dir else a for a in self.args()]
        return f"{env} python {self.script}.py {shlex.join(args)}"

    def name(self) -> str:
        return " ".join(x for x in (self.script, self.env, self.tag, f"seed{self.seed}") if x)


def rel(path: str) -> str:
    path = os.path.abspath(path)
    return os.path.relpath(path, ROOT) if path.startswith(ROOT + os.sep) else path


def read_metrics(run_dir: str) -> list[dict]:
    """The rows of run_dir/metrics.jsonl ([] if absent); a torn last line (a run being written) is dropped."""
    rows = []
    try:
        with open(os.path.join(run_dir, "metrics.jsonl")) as f:
            for line in f:
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    break
    except FileNotFoundError:
        pass
    return rows


def reached_budget(rows: list[dict], budget: int) -> bool:
    """Whether the logged iterations are all that `--total-timesteps budget` runs (budget // batch of them)."""
    if not rows:
        return False
    batch = rows[0]["global_step"] / rows[0]["iteration"]
    return rows[-1]["global_step"] + batch > budget >= rows[-1]["global_step"]


def is_complete(run: Run) -> bool:
    """A finished run: its metrics reached the budget, and its marker (when there is one) records these
    exact arguments. A run whose last attempt failed is never complete."""
    if os.path.exists(os.path.join(run.run_dir, FAILED)):
        return False
    try:
        with open(os.path.join(run.run_dir, MARKER)) as f:
            if json.load(f).get("args") != run.args():
                return False
    except (FileNotFoundError, json.JSONDecodeError):
        pass
    return reached_budget(read_metrics(run.run_dir), run.budget)


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def measured_sps(runs: list[Run]) -> float | None:
    """Median steps/s of the finished runs among `runs` (their last logged `sps`), None if none finished."""
    rates = []
    for run in runs:
        rows = read_metrics(run.run_dir)
        if rows and reached_budget(rows, run.budget) and rows[-1].get("sps"):
            rates.append(rows[-1]["sps"])
    return float(np.median(rates)) if rates else None


def estimate(runs: list[Run], parallel: int, sps_per_run: float | None = None) -> tuple[float, float]:
    """(env steps, seconds) to do `runs` `parallel` at a time, each at `sps_per_run` (default: assumed)."""
    if not runs:
        return 0.0, 0.0
    workers = max(1, min(parallel, len(runs)))
    sps = (sps_per_run or ASSUMED_SPS_PER_RUN) * min(workers, cpu_count()) / workers
    steps = float(sum(r.budget for r in runs))
    return steps, (steps / sps + STARTUP_S * len(runs)) / workers


def fmt_duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def print_plan(runs: list[Run], parallel: int):
    done = [r for r in runs if is_complete(r)]
    todo = [r for r in runs if r not in done]
    steps, _ = estimate(runs, parallel)
    measured = measured_sps(done)
    todo_steps, todo_s = estimate(todo, parallel, measured)
    rate = (f"{measured:,.0f} steps/s per run, measured on the finished runs" if measured else
            f"about {ASSUMED_SPS_PER_RUN:,} steps/s per run (one thread each) and {STARTUP_S:.0f} s start-up per run")
    print(f"{len(runs)} runs, {steps / 1e6:.1f}M env steps in all; {len(done)} finished already. "
          f"Estimated cost of the other {len(todo)} ({todo_steps / 1e6:.1f}M steps), {parallel} at a time: "
          f"{fmt_duration(todo_s)} ({rate}).", flush=True)
    return todo


def run_all(runs: list[Run], parallel: int) -> list[Run]:
    """Execute the runs `parallel` at a time (one thread each), in the given order; return the failed ones.

    Each run's output goes to run_dir/stdout.log, and on success run_dir/done.json records its
    arguments and wall time. Ctrl-C stops every run under way (their partial metrics are rerun later).
    """
    env = dict(os.environ, **THREAD_VARS)
    live: dict[Run, subprocess.Popen] = {}
    lock = threading.Lock()
    stopping = threading.Event()
    counter = iter(range(1, len(runs) + 1))
    failed = []

    def one(run: Run):
        if stopping.is_set():
            return
        os.makedirs(run.run_dir, exist_ok=True)
        marker, failed_marker = os.path.join(run.run_dir, MARKER), os.path.join(run.run_dir, FAILED)
        for path in (marker, failed_marker):
            if os.path.exists(path):
                os.remove(path)
        t0 = time.time()
        with open(os.path.join(run.run_dir, "stdout.log"), "w") as log:
            proc = subprocess.Popen(run.command(), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
            with lock:
                live[run] = proc
            rc = proc.wait()
            with lock:
                live.pop(run, None)
        wall = time.time() - t0
        with lock:
            k = next(counter)
        if stopping.is_set():
            return
        if rc == 0:
            rows = read_metrics(run.run_dir)
            with open(marker, "w") as f:
                json.dump({"args": run.args(), "command": run.shell(), "wall_s": round(wall, 1),
                           "finished": datetime.datetime.now().isoformat(timespec="seconds"),
                           "global_step": rows[-1]["global_step"] if rows else None}, f)
            score = rows[-1].get("episode_score") if rows else None
            print(f"[{k}/{len(runs)}] {run.name()}: done in {fmt_duration(wall)}, score "
                  f"{'-' if score is None else f'{score:.2f}'}", flush=True)
        else:
            with lock:
                failed.append(run)
            with open(failed_marker, "w") as f:
                json.dump({"args": run.args(), "exit_code": rc}, f)
            try:
                with open(os.path.join(run.run_dir, "stdout.log")) as f:
                    tail = f.read().strip().splitlines()[-1:]
            except OSError:
                tail = []
            print(f"[{k}/{len(runs)}] {run.name()}: FAILED (exit {rc}) after {fmt_duration(wall)}: "
                  f"{tail[0] if tail else ''} (log: {rel(os.path.join(run.run_dir, 'stdout.log'))})", flush=True)

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, parallel))
    futures = [pool.submit(one, run) for run in runs]
    try:
        for fut in concurrent.futures.as_completed(futures):
            fut.result()
    except KeyboardInterrupt:
        stopping.set()
        with lock:
            for proc in live.values():
                proc.terminate()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return failed


def record_invocation(out: str, entry: dict):
    """Append this invocation (command, start, wall time, runs done) to out/study.json."""
    path = os.path.join(out, "study.json")
    try:
        with open(path) as f:
            log = json.load(f)
    except (FileNotFoundError, json.JSONDecodeError):
        log = {"invocations": []}
    log["invocations"].append(entry)
    os.makedirs(out, exist_ok=True)
    with open(path, "w") as f:
        json.dump(log, f, indent=1)


def read_invocations(out: str) -> list[dict]:
    try:
        with open(os.path.join(out, "study.json")) as f:
            return json.load(f)["invocations"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return []


# --------------------------------------------------------------------------------------------------
# Scores
# --------------------------------------------------------------------------------------------------
@dataclass
class RunScore:
    final: float  # raw final score
    final_norm: float
    auc: float  # normalized, step-weighted
    steps: np.ndarray = field(repr=False)  # global_step of each iteration
    curve: np.ndarray = field(repr=False)  # normalized score of each iteration
    sps: float | None = None


def score_run(rows: list[dict], random_score: float, max_score: float) -> RunScore:
    """Final score, normalized final score and AUC of one run's metrics rows (see the module docstring)."""
    if not rows:
        raise ValueError("no metrics rows")
    steps = np.array([r["global_step"] for r in rows], dtype=np.float64)
    raw = np.array([random_score if r.get("episode_score") is None else r["episode_score"] for r in rows],
                   dtype=np.float64)
    last = steps >= (1.0 - FINAL_FRACTION) * steps[-1]
    final = float(raw[last].mean())
    curve = normalize(raw, random_score, max_score)
    weights = np.diff(np.concatenate([[0.0], steps]))
    auc = float((curve * weights).sum() / weights.sum())
    return RunScore(final, float(normalize(final, random_score, max_score)), auc, steps, curve, rows[-1].get("sps"))


def collect(runs: list[Run], env_scores: dict) -> dict[Run, RunScore]:
    """Scores of the finished runs among `runs`."""
    out = {}
    for run in runs:
        if is_complete(run):
            rows = read_metrics(run.run_dir)
            if rows:
                out[run] = score_run(rows, *env_scores[run.env])
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


def iqm_with_ci(score_dict: dict[str, np.ndarray], reps: int = BOOTSTRAP_REPS) -> dict[str, tuple[float, float, float]]:
    """{key: (IQM, CI low, CI high)} of (runs x envs) score matrices: 95% stratified-bootstrap CIs (rliable)."""
    from rliable import library as rly
    from rliable import metrics

    def iqm(scores):
        return np.array([metrics.aggregate_iqm(scores)])

    out = {}
    for key, scores in score_dict.items():
        np.random.seed(0)  # rliable draws its resamples from numpy's global generator
        point, interval = rly.get_interval_estimates({key: scores}, iqm, reps=reps)
        out[key] = (float(point[key][0]), float(interval[key][0, 0]), float(interval[key][1, 0]))
    return out


def score_matrix(scores: dict[Run, RunScore], script: str, envs: list[str], attr: str,
                 runs: list[Run]) -> tuple[np.ndarray, list[int]]:
    """(seeds x envs) matrix of `attr` for the seeds of `script` finished in every env, and those seeds."""
    by_key = {(r.env, r.seed): s for r, s in scores.items() if r.script == script}
    seeds = sorted({r.seed for r in runs if r.script == script})
    common = [s for s in seeds if all((env, s) in by_key for env in envs)]
    matrix = np.array([[getattr(by_key[(env, s)], attr) for env in envs] for s in common], dtype=np.float64)
    return matrix.reshape(len(common), len(envs)), common


def machine() -> str:
    """CPU model and cores, from /proc/cpuinfo where there is one."""
    model = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import platform
    return f"{model or platform.processor() or platform.machine()}, {cpu_count()} cores"


def versions() -> str:
    from importlib import metadata

    parts = [f"Python {sys.version.split()[0]}"]
    for pkg in ("torch", "numba", "numpy", "rliable"):
        try:
            parts.append(f"{pkg} {metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            pass
    return ", ".join(parts)


def run_dates(invocations: list[dict]) -> str:
    """"runs 2025-01-01 to 2025-01-02; " from the recorded invocations ("" if none)."""
    days = sorted({i["started"][:10] for i in invocations if i.get("started")})
    if not days:
        return ""
    return f"runs {days[0]}" + (f" to {days[-1]}" if len(days) > 1 else "") + "; "


def steps_label(steps: float) -> str:
    return f"{steps / 1e6:.2f}M" if steps < 1e7 else f"{steps / 1e6:.0f}M"


# --------------------------------------------------------------------------------------------------
# Plots and the report
# --------------------------------------------------------------------------------------------------
def plot_curves(scores: dict[Run, RunScore], envs: list[str], variants: list[str], path: str):
    """One panel per env: mean normalized score over seeds vs env steps, a band of ± one std, per variant."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ncols = min(4, len(envs))
    nrows = math.ceil(len(envs) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.3 * ncols, 2.6 * nrows), squeeze=False)
    for ax, env in zip(axes.flat, envs):
        for script in variants:
            runs = [s for r, s in scores.items() if r.script == script and r.env == env]
            if not runs:
                continue
            n = min(len(s.curve) for s in runs)
            curves = np.stack([s.curve[:n] for s in runs])
            x = runs[0].steps[:n] / 1e6
            mean = curves.mean(0)
            ax.plot(x, mean, color=COLORS[script], lw=1.4, label=f"{LABELS[script]} ({len(runs)})")
            if len(runs) > 1:
                std = curves.std(0, ddof=1)
                ax.fill_between(x, mean - std, mean + std, color=COLORS[script], alpha=0.2, lw=0)
        ax.axhline(0, color="grey", lw=0.6, ls=":")
        ax.set_title(env, fontsize=10)
        ax.tick_params(labelsize=8)
        ax.set_xlabel("env steps (M)", fontsize=8)
        ax.grid(alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel("normalized score", fontsize=8)
    for ax in list(axes.flat)[len(envs):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, [lab.split(" (")[0] for lab in labels], loc="lower center", ncol=len(handles),
                   fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.06 if nrows == 1 else 0.04, 1, 1))
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def plot_aggregate(agg: dict[str, dict[str, tuple]], variants: list[str], path: str):
    """IQM with 95% CI bars per variant, one panel per metric."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    metrics = list(agg)
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.6 * len(metrics), 0.55 * len(variants) + 1.0), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for i, script in enumerate(variants):
            if script not in agg[metric]:
                continue
            point, lo, hi = agg[metric][script]
            ax.errorbar([point], [i], xerr=[[point - lo], [hi - point]], fmt="o", color=COLORS[script], capsize=4,
                        lw=2)
        ax.set_yticks(range(len(variants)), [LABELS[s] for s in variants], fontsize=9)
        ax.set_ylim(-0.6, len(variants) - 0.4)
        ax.invert_yaxis()
        ax.set_title(f"IQM of {metric}", fontsize=10)
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", alpha=0.3)
    for ax in axes[0][1:]:
        ax.set_yticklabels([])
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def report(runs: list[Run], envs: list[str], variants: list[str], env_scores: dict, profile: str, seeds: int,
           out: str, report_dir: str, command: str, reps: int = BOOTSTRAP_REPS) -> str:
    """Write report_dir/results.md and report_dir/results/*.png from the finished runs; return the .md path."""
    require_report_packages()
    scores = collect(runs, env_scores)
    plots_dir = os.path.join(report_dir, "results")
    os.makedirs(plots_dir, exist_ok=True)
    budgets = {env: next(r.budget for r in runs if r.env == env) for env in envs}

    agg = {"normalized final score": {}, "normalized AUC": {}}
    agg_seeds = {}
    for script in variants:
        for metric, attr in (("normalized final score", "final_norm"), ("normalized AUC", "auc")):
            matrix, common = score_matrix(scores, script, envs, attr, runs)
            if len(common):
                agg[metric].update(iqm_with_ci({script: matrix}, reps))
            agg_seeds[script] = common

    lines = [f"# Study results ({profile} profile)", ""]
    lines += [
        "Each variant trains with its script's default hyperparameters, the same for every env; only "
        "`--env`, `--seed`, `--total-timesteps` and `--run-dir` change. Scores are normalized per env as "
        "(score - random-policy score) / (maximum score - random-policy score), with the two numbers from "
        "[envs.md](envs.md): 0 is the random policy, 1 the maximum. The final score of a run is the mean of "
        "`episode_score` (the mean score of the last 100 episodes) over the iterations logged in the last "
        f"{FINAL_FRACTION:.0%} of its steps; its AUC is the mean normalized score over all iterations, weighted "
        "by steps (iterations before the first finished episode count as the random policy). Across envs and "
        "seeds: interquartile mean (IQM) with a 95% stratified-bootstrap confidence interval "
        f"({reps:,} resamples of the runs within each env, [rliable](https://github.com/google-research/rliable)). "
        "Per env: mean ± standard deviation over seeds.",
        "",
    ]
    n_done, n_all = len(scores), len(runs)
    if n_done < n_all:
        lines += [f"**Incomplete:** {n_done} of {n_all} runs finished; the tables use those only.", ""]

    lines += ["## Aggregate over envs and seeds", "",
              "| variant | IQM normalized final score (95% CI) | IQM normalized AUC (95% CI) | seeds × envs |",
              "|---|---|---|---|"]
    for script in variants:
        cells = []
        for metric in agg:
            if script in agg[metric]:
                point, lo, hi = agg[metric][script]
                cells.append(f"**{point:.3f}** [{lo:.3f}, {hi:.3f}]")
            else:
                cells.append("-")
        lines.append(f"| {LABELS[script]} (`{script}.py`) | {cells[0]} | {cells[1]} | "
                     f"{len(agg_seeds.get(script, []))} × {len(envs)} |")
    lines += ["", "Only seeds finished in every env enter the aggregate.", ""]
    if any(agg[m] for m in agg):
        plot_aggregate(agg, variants, os.path.join(plots_dir, "aggregate.png"))
        lines += ["![IQM of the normalized final score and AUC with 95% CIs](results/aggregate.png)", ""]

    lines += ["## Per env", ""]
    for env in envs:
        lo, hi = env_scores[env]
        lines += [f"### {env}", "",
                  f"Random-policy score {lo:g}, maximum {hi:g}; {steps_label(budgets[env])} env steps per run.", "",
                  "| variant | seeds | final score | normalized final score | normalized AUC |",
                  "|---|---:|---:|---:|---:|"]
        for script in variants:
            s = [v for r, v in scores.items() if r.script == script and r.env == env]
            digits = 2 if hi - lo >= 10 else 3
            lines.append(f"| {LABELS[script]} | {len(s)} | {fmt_ms(*mean_std([x.final for x in s]), digits)} | "
                         f"{fmt_ms(*mean_std([x.final_norm for x in s]), 3)} | "
                         f"{fmt_ms(*mean_std([x.auc for x in s]), 3)} |")
        lines.append("")
    if scores:
        plot_curves(scores, envs, variants, os.path.join(plots_dir, "curves.png"))
        lines += ["Learning curves: mean normalized score over seeds (the band: ± one standard deviation).", "",
                  "![learning curves per env](results/curves.png)", ""]

    invocations = [i for i in read_invocations(out) if i.get("runs_executed")]
    wall = sum(i.get("wall_s", 0.0) for i in invocations)
    compute = 0.0
    for run in scores:
        try:
            with open(os.path.join(run.run_dir, MARKER)) as f:
                compute += json.load(f).get("wall_s", 0.0)
        except (OSError, json.JSONDecodeError):
            pass
    sps = [s.sps for s in scores.values() if s.sps]
    seed_list = sorted({r.seed for r in runs})
    lines += ["## How this was made", ""]
    lines += [f"* Study command: `{invocations[-1]['command'] if invocations else command}`"
              + (f" (run in {len(invocations)} sittings)" if len(invocations) > 1 else ""),
              *([f"* Report command: `{command}`"] if invocations and invocations[-1]["command"] != command else []),
              f"* Seeds: {', '.join(map(str, seed_list))} ({seeds} per variant and env); variants: "
              f"{', '.join(f'`{s}.py`' for s in variants)}",
              f"* Runs: {n_done} finished of {n_all}; {sum(budgets[r.env] for r in runs) / 1e6:.1f}M env steps in all",
              f"* Wall time: {fmt_duration(wall) if wall else 'not recorded'}"
              f"{f'; {fmt_duration(compute)} of run time summed over runs' if compute else ''}"
              f"{f'; median {np.median(sps):,.0f} env steps/s per run' if sps else ''}",
              f"* Machine: {machine()}; each run with one thread ({', '.join(f'{k}=1' for k in THREAD_VARS)}); "
              f"{versions()}",
              f"* Date: {run_dates(invocations)}report written {datetime.date.today().isoformat()}",
              f"* Run directories: `{rel(out)}/<script>/<env>/seed<k>/` (metrics.jsonl, stdout.log, {MARKER})",
              "", "Budgets (env steps per run, the same for every variant), e.g. "
              f"`{runs[0].shell()}`:" if runs else "", "",
              "| env | random-policy score | maximum score | env steps per run |", "|---|---:|---:|---:|"]
    for env in envs:
        lines.append(f"| {env} | {env_scores[env][0]:g} | {env_scores[env][1]:g} | {budgets[env]:,} |")
    path = os.path.join(report_dir, "results.md")
    os.makedirs(report_dir, exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


# --------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------
def add_common_flags(p: argparse.ArgumentParser, seeds_help: str, envs_help: str, out_help: str):
    """Flags the study and the sensitivity study share."""
    p.add_argument("--profile", default="quick", help=f"budget profile: {', '.join(BUDGETS)} (default quick)")
    p.add_argument("--envs", default=None, help=envs_help)
    p.add_argument("--variants", default=None, help=f"comma-separated scripts (default: {','.join(SCRIPTS)})")
    p.add_argument("--seeds", type=int, default=None, help=seeds_help)
    p.add_argument("--parallel", type=int, default=cpu_count(), help="runs at a time, one thread each (default: cores)")
    p.add_argument("--out", default=None, help=out_help)
    p.add_argument("--report-dir", default=os.path.join(ROOT, "docs"), help="where the .md report and plots go")
    p.add_argument("--dry-run", action="store_true", help="print the runs' commands (and what is done) only")
    p.add_argument("--report-only", action="store_true", help="run nothing: report the finished runs")
    # smoke tests only: shrink every budget, or pass extra flags to every script
    p.add_argument("--budget-scale", type=float, default=1.0, help=argparse.SUPPRESS)
    p.add_argument("--script-args", default="", help=argparse.SUPPRESS)


def check_common(args, default_seeds: int):
    if args.profile not in BUDGETS:
        raise UserError(f"unknown profile {args.profile!r}: use {', '.join(BUDGETS)}")
    if args.seeds is None:
        args.seeds = default_seeds
    if args.seeds < 1:
        raise UserError(f"--seeds={args.seeds} is not allowed: use an integer >= 1 (the seeds are 1..N)")
    if args.parallel < 1:
        raise UserError(f"--parallel={args.parallel} is not allowed: use an integer >= 1")
    if not args.budget_scale > 0:
        raise UserError(f"--budget-scale={args.budget_scale} is not allowed: use a number > 0")
    if args.dry_run and args.report_only:
        raise UserError("--dry-run and --report-only exclude each other: use one")


def execute(runs: list[Run], args, out: str, command: str) -> int:
    """Dry run, or run what is not finished; return the number of failed runs."""
    todo = print_plan(runs, args.parallel)
    if args.dry_run:
        for run in runs:
            print(("# done: " if run not in todo else "") + run.shell())
        return 0
    if args.report_only or not todo:
        return 0
    # longest first, so that the last runs to start are short ones and the workers finish together
    todo = sorted(todo, key=lambda r: -r.budget)
    started = time.time()
    failed = []
    try:
        failed = run_all(todo, args.parallel)
    except KeyboardInterrupt:
        print("interrupted: run the same command again to go on (finished runs are kept)", file=sys.stderr)
        record_invocation(out, {"command": command, "started": datetime.datetime.fromtimestamp(started).isoformat(
            timespec="seconds"), "wall_s": round(time.time() - started, 1), "runs_executed": len(todo),
            "interrupted": True})
        sys.exit(130)
    record_invocation(out, {"command": command, "started": datetime.datetime.fromtimestamp(started).isoformat(
        timespec="seconds"), "wall_s": round(time.time() - started, 1), "runs_executed": len(todo),
        "failed": len(failed)})
    print(f"{len(todo) - len(failed)} runs finished, {len(failed)} failed, in {fmt_duration(time.time() - started)}")
    return len(failed)


def main(argv=None):
    p = Parser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
               epilog="\n".join(__doc__.splitlines()[2:8]))
    add_common_flags(p, "seeds per variant and env: 1..N (default: 3 quick, 5 full)",
                     "comma-separated suite envs (default: all)", "results directory (default: runs/study/<profile>)")
    args = p.parse_args(argv)
    command = "python benchmarks/study.py" + "".join(f" {shlex.quote(a)}"
                                                     for a in (sys.argv[1:] if argv is None else argv))
    try:
        check_common(args, SEEDS.get(args.profile, 1))
        env_scores = parse_env_scores()
        envs = select_envs(args.envs, args.profile, env_scores)
        variants = select_variants(args.variants)
        extra = tuple(shlex.split(args.script_args))
    except UserError as e:
        fail(str(e))
    if not args.dry_run:
        require_report_packages()  # before hours of runs, not after
    out = os.path.abspath(args.out or os.path.join(ROOT, "runs", "study", args.profile))
    runs = [Run(script, env, seed, scaled_budget(BUDGETS[args.profile][env], args.budget_scale),
                os.path.join(out, script, env, f"seed{seed}"), extra)
            for env in envs for script in variants for seed in range(1, args.seeds + 1)]
    print(f"study, {args.profile} profile: {len(variants)} variants x {len(envs)} envs ({', '.join(envs)}) x "
          f"{args.seeds} seeds, results in {rel(out)}")
    failed = execute(runs, args, out, command)
    if args.dry_run:
        return
    path = report(runs, envs, variants, env_scores, args.profile, args.seeds, out, args.report_dir, command)
    print(f"report: {rel(path)}")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
