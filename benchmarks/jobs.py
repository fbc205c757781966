"""One run as a job: its command in a process, its markers, and the two engines that run many.

`run_job` runs one script command with one thread and leaves the same files whoever called it:
stdout.log, and done.json (its arguments, command, wall time, host) or failed.json. `run_all` runs
jobs `--parallel` at a time in local processes; `run_submitit` hands each to submitit (Slurm, or
local). A run is complete when its metrics.jsonl reached its budget, its marker (if any) records the
same arguments, and its last attempt did not fail. benchmarks/runner.py plans and resumes grids of
them; this module uses only the standard library and numpy, so a submitit job can carry it by value.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import importlib.util
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
THREAD_VARS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
MARKER = "done.json"
FAILED = "failed.json"  # written when a run exits non-zero, removed when it starts again
JOB = "job.json"  # the submitit job a run went to (engine submitit only)
EVAL = "eval.json"  # the final policy played, where the run's last 10% of steps ended too few episodes
FINAL_FRACTION = 0.1  # a run's final score: the episodes that ended in the last 10% of its steps
MIN_FRESH_EPISODES = 100  # fewer there (or fewer than one per env), and the final policy is played instead
EVAL_EPISODES = 100
# For the cost estimate before anything ran: training steps/s of one run on one thread, and the
# seconds each run spends starting (imports, Numba's cache) before its first step. fastenvs: the
# study's standing figure, on the safe side of the 34-39k steps/s that docs/benchmarks.md measures at
# one thread on breakout on a quiet machine. Gymnasium envs: measured 2026-11-25 with
# `OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python ppo_gae.py --env ENV --seed 1
# --threads 1 --total-timesteps T` (T: 3 iterations for MuJoCo, 4 for MinAtar, 5 for
# MinAtar/Breakout-v1), the last logged sps, on this project's 2-core machine while other work held it
# at a load average of ~4.2, so about what each of 2 runs side by side gets; first iterations only
# (near-random policies, short episodes), so a rough figure: runner.print_plan uses the finished runs' own
# steps/s once there are some. The other scripts are as fast:
# Hopper-v5 reward horizon 3,585 and average reward 3,700 (GAE 3,767); MinAtar/Breakout-v1 reward
# horizon 5,842, average reward 5,834 (GAE 6,054).
ASSUMED_SPS_PER_RUN = 15_000
# procgen: training steps/s of one run on one thread of the 2-core machine, ppo_gae.py on procgen/starpilot with
# its defaults, two runs side by side (median of their iterations 2 and 3: 395 to 412; docs/families.md)
PROCGEN_SPS = 406
MEASURED_SPS = {
    "MinAtar/Asterix-v1": 4_885, "MinAtar/Breakout-v1": 6_054, "MinAtar/Freeway-v1": 4_057,
    "MinAtar/Seaquest-v1": 4_923, "MinAtar/SpaceInvaders-v1": 3_962,
    # MuJoCo under the study's base set (suites.MUJOCO_BASE: 8 envs, 10 epochs of 32 minibatches, so the updates
    # cost most): the median over the base set's first 13 runs (docs/results/seeds_mujoco-base.json, 2 side by
    # side, 670 to 1,880); Ant and Swimmer not measured under it: Walker2d's and HalfCheetah's rates assumed
    "Hopper-v5": 807, "HalfCheetah-v5": 1_856, "Walker2d-v5": 1_200, "Ant-v5": 800, "Swimmer-v5": 1_850,
    **{f"procgen/{game}": PROCGEN_SPS for game in (
        "bigfish", "bossfight", "caveflyer", "chaser", "climber", "coinrun", "dodgeball", "fruitbot", "heist", "jumper",
        "leaper", "maze", "miner", "ninja", "plunder", "starpilot")},
}
STARTUP_S = 10.0


class UserError(Exception):
    """A mistake on the command line: reported as one line, exit code 2."""


def fail(message: str):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


class Parser(argparse.ArgumentParser):
    """argparse whose errors are one line on stderr and exit code 2."""

    def error(self, message):
        fail(message)


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def machine() -> str:
    """CPU model and cores, from /proc/cpuinfo where there is one."""
    model = None
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), None)
    except OSError:
        pass
    import platform
    return f"{model or platform.processor() or platform.machine()}, {cpu_count()} cores"


def versions(packages=("torch", "numba", "numpy", "rliable", "gymnasium", "MinAtar", "mujoco")) -> str:
    """Python's version and those of the given packages that are installed."""
    from importlib import metadata

    parts = [f"Python {sys.version.split()[0]}"]
    for pkg in packages:
        try:
            parts.append(f"{pkg} {metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            pass
    return ", ".join(parts)


def rel(path: str) -> str:
    path = os.path.abspath(path)
    return os.path.relpath(path, ROOT) if path.startswith(ROOT + os.sep) else path


def fmt_duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


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


def same_args(recorded, args: list[str]) -> bool:
    """Whether recorded arguments are `args`, the value of --run-dir aside (a results directory mounted at another
    path, on another machine, still matches)."""
    def strip(a):
        a = list(a)
        if "--run-dir" in a and a.index("--run-dir") + 1 < len(a):
            i = a.index("--run-dir")
            del a[i:i + 2]
        return a
    return isinstance(recorded, list) and strip(recorded) == strip(args)


def complete(run_dir: str, args: list[str], budget: int) -> bool:
    """A finished run: its metrics reached the budget, and its marker (when there is one) records these
    arguments. A run whose last attempt failed is never complete. Plain data: what a submitit job has."""
    if os.path.exists(os.path.join(run_dir, FAILED)):
        return False
    try:
        with open(os.path.join(run_dir, MARKER)) as f:
            if not same_args(json.load(f).get("args"), args):
                return False
    except (FileNotFoundError, json.JSONDecodeError):
        pass
    return reached_budget(read_metrics(run_dir), budget)


def final_window(rows: list[dict], end: float | None = None) -> list[dict]:
    """The rows logged in the last FINAL_FRACTION of the steps up to `end` (default: the run's last step)."""
    end = rows[-1]["global_step"] if end is None else end
    return [r for r in rows if (1.0 - FINAL_FRACTION) * end <= r["global_step"] <= end]


def needs_evaluation(rows: list[dict]) -> bool:
    """Whether the final window ended too few episodes to score the final policy by (False for runs logged
    before the scripts counted the episodes of each iteration)."""
    if not rows or "ended_episodes" not in rows[-1]:
        return False
    fresh = sum(r["ended_episodes"] for r in final_window(rows))
    return fresh < max(MIN_FRESH_EPISODES, rows[-1].get("num_envs", 0))


def run_job(spec: dict, engine: str = "local", on_start=None, stopping=None, skip_complete: bool = True) -> dict:
    """Run one run unless it is complete already: the one function both engines call, so that a run leaves the
    same files whoever ran it. The script runs as `spec["command"]` (one thread: THREAD_VARS) with its output in
    run_dir/stdout.log; on exit 0, run_dir/done.json records its arguments, command, wall time and host; otherwise
    run_dir/failed.json its arguments and exit code. Returns {"status": "done" | "failed" | "skipped" | "stopped",
    ...}. A submitit job may start long after it was submitted, so it checks completion again; the local pool has
    just checked and passes skip_complete=False. `on_start(proc)` and `stopping` (a threading.Event) are the
    local pool's: it stops runs on Ctrl-C and wants no marker written for them. In a submitit job this runs in
    the job's process (cloudpickle carries it there by value), so it uses only the standard library and this
    module's plain functions."""
    run_dir = spec["run_dir"]
    if skip_complete and complete(run_dir, spec["args"], spec["budget"]):
        return {"status": "skipped", "name": spec["name"]}
    os.makedirs(run_dir, exist_ok=True)
    marker, failed_marker = os.path.join(run_dir, MARKER), os.path.join(run_dir, FAILED)
    for path in (marker, failed_marker, os.path.join(run_dir, EVAL)):
        if os.path.exists(path):
            os.remove(path)
    t0 = time.time()
    with open(os.path.join(run_dir, "stdout.log"), "w") as log:
        proc = subprocess.Popen(spec["command"], stdout=log, stderr=subprocess.STDOUT, cwd=spec["cwd"],
                                env=dict(os.environ, **THREAD_VARS))
        if on_start is not None:
            on_start(proc)
        try:
            rc = proc.wait()
        except BaseException:  # a cancelled job (SIGINT) or a timeout: take the run down with it, mark nothing
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
            raise
    wall = time.time() - t0
    if stopping is not None and stopping.is_set():
        return {"status": "stopped", "name": spec["name"]}
    if rc == 0:
        rows = read_metrics(run_dir)
        if needs_evaluation(rows):  # too few fresh episodes to score it by: play the final policy
            evaluate = [sys.executable, os.path.join(ROOT, "benchmarks", "evaluate.py"),
                        os.path.join(run_dir, "agent.pt"), "--episodes", str(EVAL_EPISODES), "--json",
                        os.path.join(run_dir, EVAL)]
            with open(os.path.join(run_dir, "stdout.log"), "a") as log:
                subprocess.run(evaluate, stdout=log, stderr=subprocess.STDOUT, cwd=spec["cwd"],
                               env=dict(os.environ, **THREAD_VARS))
        with open(marker, "w") as f:
            json.dump({"args": spec["args"], "command": spec["shell"], "variant": spec["variant"],
                       "wall_s": round(wall, 1), "finished": datetime.datetime.now().isoformat(timespec="seconds"),
                       "global_step": rows[-1]["global_step"] if rows else None, "engine": engine,
                       "host": socket.gethostname()}, f)
        score = rows[-1].get("episode_score") if rows else None
        return {"status": "done", "name": spec["name"], "wall_s": wall, "score": score}
    with open(failed_marker, "w") as f:
        json.dump({"args": spec["args"], "exit_code": rc, "engine": engine, "host": socket.gethostname()}, f)
    try:
        with open(os.path.join(run_dir, "stdout.log")) as f:
            tail = f.read().strip().splitlines()[-1:]
    except OSError:
        tail = []
    return {"status": "failed", "name": spec["name"], "wall_s": wall, "exit_code": rc,
            "tail": tail[0] if tail else ""}


def report_line(k: int, n: int, run, result: dict) -> str:
    """One progress line for a finished job."""
    wall = fmt_duration(result.get("wall_s", 0.0))
    if result["status"] == "done":
        score = result.get("score")
        return f"[{k}/{n}] {run.name()}: done in {wall}, score {'-' if score is None else f'{score:.2f}'}"
    if result["status"] == "skipped":
        return f"[{k}/{n}] {run.name()}: finished already (by another job?), skipped"
    log = rel(os.path.join(run.run_dir, "stdout.log"))
    return (f"[{k}/{n}] {run.name()}: FAILED (exit {result.get('exit_code')}) after {wall}: "
            f"{result.get('tail', '')} (log: {log})")


# Engines: a local process pool, or submitit jobs (Slurm, or this machine)
def run_all(runs: list, parallel: int, on_done=None) -> list:
    """The local engine: the runs `parallel` at a time (one thread each), in the given order, each through
    run_job; `on_done(run)` after each that finished; return the failed ones. Ctrl-C stops every run under way
    (their partial metrics are rerun later)."""
    live: dict = {}
    lock = threading.Lock()
    stopping = threading.Event()
    counter = iter(range(1, len(runs) + 1))
    failed = []

    def one(run):
        if stopping.is_set():
            return

        def started(proc):
            with lock:
                live[run] = proc

        result = run_job(run.spec(), "local", started, stopping, skip_complete=False)
        with lock:
            live.pop(run, None)
            k = next(counter)
            if result["status"] == "failed":
                failed.append(run)
            elif result["status"] == "done" and on_done is not None:
                on_done(run)
        if result["status"] != "stopped":
            print(report_line(k, len(runs), run, result), flush=True)

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


# Cost and plan
def assumed_sps(env: str) -> float:
    """Steps/s of one run on one thread before any run finished: MEASURED_SPS, or the fastenvs figure."""
    return MEASURED_SPS.get(env, ASSUMED_SPS_PER_RUN)


def job_minutes(runs: list) -> int:
    """The default time limit of a job: 3x the longest run's estimate at one thread, at least 30 minutes."""
    longest = max(r.budget / assumed_sps(r.env) + STARTUP_S for r in runs)
    return max(30, math.ceil(3 * longest / 60))


def add_engine_flags(p: argparse.ArgumentParser):
    """--engine and the submitit/Slurm flags; execute() reads them."""
    g = p.add_argument_group("engine", "where the runs go: a local process pool, or submitit jobs (Slurm, or local)")
    g.add_argument("--engine", choices=("local", "submitit"), default="local",
                   help="local: --parallel processes here (default); submitit: one submitit job per run")
    g.add_argument("--submitit-cluster", choices=("auto", "slurm", "local"), default="auto",
                   help="submitit's executor: slurm, local (jobs as processes on this machine, --parallel at a "
                        "time), or auto (slurm where srun is found, else local)")
    g.add_argument("--submitit-folder", default=None, help="submitit's job files and logs (default: <out>/submitit)")
    g.add_argument("--slurm-partition", default=None, help="Slurm partition (sbatch --partition)")
    g.add_argument("--slurm-time", type=int, default=None,
                   help="minutes per job (default: 3x the longest run's estimate, at least 30)")
    g.add_argument("--slurm-mem-gb", type=float, default=4.0, help="memory per job in GB (default 4)")
    g.add_argument("--slurm-cpus-per-task", type=int, default=1, help="cores per job (default 1: runs use one thread)")
    g.add_argument("--slurm-array-parallelism", type=int, default=None,
                   help="most jobs of the array running at once (default: submitit's, 256)")
    g.add_argument("--slurm-account", default=None, help="sbatch --account")
    g.add_argument("--slurm-qos", default=None, help="sbatch --qos")
    g.add_argument("--slurm-setup", action="append", default=[], metavar="LINE",
                   help="a shell line the job runs first, e.g. 'module load ...' (repeatable)")
    g.add_argument("--slurm-extra", action="append", default=[], metavar="KEY=VALUE",
                   help="any other sbatch option, e.g. constraint=avx2 (repeatable)")


def check_engine(args):
    engine = getattr(args, "engine", "local")
    if engine == "local":
        return
    for name in ("slurm_time", "slurm_cpus_per_task", "slurm_array_parallelism"):
        v = getattr(args, name, None)
        if v is not None and v < 1:
            raise UserError(f"--{name.replace('_', '-')}={v} is not allowed: use an integer >= 1")
    if not args.slurm_mem_gb > 0:
        raise UserError(f"--slurm-mem-gb={args.slurm_mem_gb} is not allowed: use a number > 0")
    for item in args.slurm_extra:
        if "=" not in item:
            raise UserError(f"--slurm-extra={item!r} is not KEY=VALUE")
    if importlib.util.find_spec("submitit") is None:
        raise UserError("--engine submitit needs submitit: pip install submitit (or pip install -e '.[bench]')")
    import cloudpickle  # submitit's own dependency

    if not hasattr(cloudpickle, "register_pickle_by_value"):
        raise UserError(f"--engine submitit needs cloudpickle >= 2.0 (found {cloudpickle.__version__}): "
                        "pip install -U cloudpickle")
    if args.submitit_cluster == "slurm" and not (args.dry_run or args.report_only) and shutil.which("srun") is None:
        raise UserError("--submitit-cluster slurm: no srun here; run the study from a Slurm login node, or use "
                        "--submitit-cluster local")


def make_executor(args, folder: str, runs: list):
    """A submitit executor for the engine flags (the caller imports submitit)."""
    import submitit

    cluster = None if args.submitit_cluster == "auto" else args.submitit_cluster
    executor = submitit.AutoExecutor(folder=folder, cluster=cluster)
    params = {"timeout_min": args.slurm_time or job_minutes(runs), "name": "fastppo-study",
              "cpus_per_task": args.slurm_cpus_per_task, "mem_gb": args.slurm_mem_gb}
    if executor.cluster == "slurm":
        params.update(slurm_partition=args.slurm_partition, slurm_array_parallelism=args.slurm_array_parallelism,
                      slurm_account=args.slurm_account, slurm_qos=args.slurm_qos,
                      slurm_setup=list(args.slurm_setup) or None,
                      slurm_additional_parameters=dict(x.split("=", 1) for x in args.slurm_extra) or None)
    elif args.slurm_setup:
        params["local_setup"] = list(args.slurm_setup)
    executor.update_parameters(**{k: v for k, v in params.items() if v is not None})
    return executor


def run_submitit(runs: list, args, out: str, on_done=None) -> list:
    """The submitit engine: each run is one job calling run_job (the same command, markers and skip as the local
    engine) in the shared results directory; return the failed ones. On Slurm every run is submitted at once, as
    one job array; with the local executor `--parallel` jobs run at a time; `on_done(run)` after each that
    finished. Ctrl-C cancels the jobs not done."""
    import cloudpickle

    module = sys.modules[run_job.__module__]
    if module.__name__ != "__main__":  # imported (always, but in a test): carry the function by value, so
        cloudpickle.register_pickle_by_value(module)  # the job needs no import path to benchmarks/
    folder = os.path.abspath(args.submitit_folder or os.path.join(out, "submitit"))
    executor = make_executor(args, folder, runs)
    local = executor.cluster != "slurm"
    print(f"submitit: {len(runs)} jobs on {executor.cluster}"
          + (f", {args.parallel} at a time" if local else "") + f", job files in {rel(folder)}", flush=True)
    pending = list(runs)
    in_flight: dict = {}  # job -> run
    failed, k = [], 0

    def submit(batch):
        if local:
            jobs = [executor.submit(run_job, run.spec(), "submitit") for run in batch]
        else:
            with executor.batch():
                jobs = [executor.submit(run_job, run.spec(), "submitit") for run in batch]
        for job, run in zip(jobs, batch):
            in_flight[job] = run
            os.makedirs(run.run_dir, exist_ok=True)
            with open(os.path.join(run.run_dir, JOB), "w") as f:
                json.dump({"job_id": job.job_id, "cluster": executor.cluster, "folder": folder,
                           "submitted": datetime.datetime.now().isoformat(timespec="seconds")}, f)

    try:
        if not local:
            submit(pending)
            pending = []
            print(f"submitted job array {next(iter(in_flight)).job_id.split('_')[0]}", flush=True)
        while pending or in_flight:
            if local:
                room = max(1, args.parallel) - len(in_flight)
                if room > 0 and pending:
                    submit(pending[:room])
                    pending = pending[room:]
            for job in [j for j in in_flight if j.done()]:
                run = in_flight.pop(job)
                k += 1
                try:
                    result = job.result()
                except Exception as e:  # noqa: BLE001 -- the job itself failed (killed, timed out, raised)
                    lines = str(e).strip().splitlines()
                    result = {"status": "failed", "exit_code": f"job {job.job_id} {job.state}",
                              "tail": lines[-1] if lines else type(e).__name__}
                    with open(os.path.join(run.run_dir, FAILED), "w") as f:
                        json.dump({"args": run.args(), "job_id": job.job_id, "error": result["tail"]}, f)
                if result["status"] == "failed":
                    failed.append(run)
                elif result["status"] == "done" and on_done is not None:
                    on_done(run)
                print(report_line(k, len(runs), run, result), flush=True)
            time.sleep(0.5 if local else 15.0)
    except KeyboardInterrupt:
        for job in in_flight:
            job.cancel(check=False)
        raise
    return failed
