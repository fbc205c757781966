"""The runner: every grid of runs in benchmarks/ goes through it.

A run is one call of a script's own command line (`Run`): `--env`, `--seed`, `--total-timesteps`,
`--threads 1`, `--run-dir` and its own flags. An experiment (study.py, seeds.py, sensitivity.py)
declares its runs and calls `execute`, which restores finished runs from a `--summary` file, prints
the plan and its cost, runs what is not finished with the engine of benchmarks/jobs.py (a local
process pool, or submitit), writes each finished run back into the summary at once, and records the
invocation in <out>/study.json. Interrupt it (Ctrl-C, or `kill` its pid) and run the same command
again to go on. A summary keeps what a report needs of every finished run, small enough to commit: a
fresh checkout rebuilds the run directories from it.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import shlex
import signal
import sys
import time
from dataclasses import dataclass

import numpy as np

from jobs import (EVAL, FAILED, JOB, MARKER, ROOT, STARTUP_S, ASSUMED_SPS_PER_RUN, THREAD_VARS, Parser,  # noqa: F401
                  UserError, add_engine_flags, assumed_sps, check_engine, complete, cpu_count, fail, fmt_duration,
                  machine, read_metrics, reached_budget, rel, run_all, run_submitit, same_args, versions)

if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
BATCH = 512 * 64  # the scripts' default num_envs x num_steps: env steps per iteration


def env_dirname(env: str) -> str:
    """An env id as one directory name: MinAtar/Breakout-v1 -> MinAtar-Breakout-v1."""
    return env.replace("/", "-")


def parse_list(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def scaled_budget(steps: int, scale: float) -> int:
    """A budget times `scale` (smoke tests only), at least 1 step."""
    return steps if scale == 1.0 else max(1, int(steps * scale))


@dataclass(frozen=True)
class Run:
    script: str  # "ppo_gae", ...
    env: str
    seed: int
    budget: int  # --total-timesteps
    run_dir: str
    extra: tuple = ()  # flags after the five that every run has (a variant's or a grid point's)
    tag: str = ""  # what the progress lines call it besides its variant, env and seed
    variant: str = ""  # the variant it belongs to, when that is not the script's name
    summary_name: str = ""  # its key in a summary file (default: <variant>/<env dir>/seed<k>)

    @property
    def key(self) -> str:
        """The variant this run belongs to: its variant, or its script."""
        return self.variant or self.script

    @property
    def summary_key(self) -> str:
        return self.summary_name or f"{self.key}/{env_dirname(self.env)}/seed{self.seed}"

    def args(self) -> list[str]:
        return ["--env", self.env, "--seed", str(self.seed), "--total-timesteps", str(self.budget), "--threads", "1",
                "--run-dir", self.run_dir, *self.extra]

    def command(self) -> list[str]:
        """args() and --save-model, which changes nothing in training: the final policy can be played later."""
        return [sys.executable, os.path.join(ROOT, f"{self.script}.py"), *self.args(), "--save-model"]

    def shell(self) -> str:
        """The command as one shell line, paths relative to the repository root where they can be."""
        env = " ".join(f"{k}={v}" for k, v in THREAD_VARS.items())
        args = [rel(a) if a == self.run_dir else a for a in self.args()]
        return f"{env} python {self.script}.py {shlex.join(args)}"

    def name(self) -> str:
        return " ".join(x for x in (self.key, self.env, self.tag, f"seed{self.seed}") if x)

    def spec(self) -> dict:
        """What run_job needs, as plain data: the engines hand this to the process that runs it."""
        return {"command": self.command(), "args": self.args(), "run_dir": self.run_dir, "budget": self.budget,
                "shell": self.shell(), "variant": self.key, "name": self.name(), "cwd": ROOT}


def is_complete(run: Run) -> bool:
    return complete(run.run_dir, run.args(), run.budget)


def measured_sps(runs: list[Run]) -> dict[str, float]:
    """{env: median steps/s of its finished runs among `runs`} (their last logged `sps`)."""
    rates = {}
    for run in runs:
        rows = read_metrics(run.run_dir)
        if rows and reached_budget(rows, run.budget) and rows[-1].get("sps"):
            rates.setdefault(run.env, []).append(rows[-1]["sps"])
    return {env: float(np.median(r)) for env, r in rates.items()}


def estimate(runs: list[Run], parallel: int, sps_per_run: float | dict | None = None) -> tuple[float, float]:
    """(env steps, seconds) to do `runs` `parallel` at a time, each at `sps_per_run` (a number, or {env: steps/s}
    with assumed_sps for the envs it lacks; default: assumed_sps)."""
    if not runs:
        return 0.0, 0.0
    workers = max(1, min(parallel, len(runs)))
    share = min(workers, cpu_count()) / workers  # more runs than cores: each gets a share of one

    def sps(env):
        if isinstance(sps_per_run, dict):
            return sps_per_run.get(env) or assumed_sps(env)
        return sps_per_run or assumed_sps(env)

    steps = float(sum(r.budget for r in runs))
    seconds = sum(r.budget / (sps(r.env) * share) + STARTUP_S for r in runs)
    return steps, seconds / workers


def print_plan(runs: list[Run], parallel: int, group=None) -> list[Run]:
    """Print what the runs cost and what is done (per group of `group(run)` too, when there are several groups);
    return the runs left to do."""
    done = [r for r in runs if is_complete(r)]
    todo = [r for r in runs if r not in done]
    groups = {}
    for r in runs:
        groups.setdefault(group(r) if group else "", []).append(r)
    if len(groups) > 1 or next(iter(groups), "") not in ("", "fastenvs"):
        for name, mine in groups.items():
            steps, seconds = estimate(mine, parallel)
            rates = sorted({round(assumed_sps(r.env)) for r in mine})
            print(f"  {name}: {len(mine)} runs, {steps / 1e6:.0f}M env steps, about {fmt_duration(seconds)} "
                  f"with {parallel} at a time ({rates[0]:,}{f' to {rates[-1]:,}' if len(rates) > 1 else ''} steps/s "
                  f"per run assumed), {sum(r in done for r in mine)} finished")
    steps, _ = estimate(runs, parallel)
    measured = measured_sps(done)
    todo_steps, todo_s = estimate(todo, parallel, measured)
    rate = (f"steps/s per run measured on the finished runs of {len(measured)} envs, assumed for the others"
            if measured else f"steps/s per run assumed (one thread each, MEASURED_SPS or {ASSUMED_SPS_PER_RUN:,}) "
            f"and {STARTUP_S:.0f} s start-up per run")
    print(f"{len(runs)} runs, {steps / 1e6:.1f}M env steps in all; {len(done)} finished already. "
          f"Estimated cost of the other {len(todo)} ({todo_steps / 1e6:.1f}M steps), {parallel} at a time: "
          f"{fmt_duration(todo_s)} ({rate}).", flush=True)
    return todo


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


# Summaries: what a report needs of each finished run, small enough to commit
# {"runs": {<run.summary_key>: {"args", "wall_s", "host", "rows"}}, "invocations": [...]}, each row
# [global_step, episode_score, episode_length, sps] of one iteration. An older layout, {key: rows} with rows of
# [step, score, length], loads too; so does an entry with rows only.
def read_json(path: str):
    """The JSON at `path`, or None where there is none (or it is torn)."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError):
        return None


def read_summary(path: str) -> dict:
    """The summary at `path` in the current layout ({"runs": {}, "invocations": []} when there is none)."""
    try:
        with open(path) as f:
            data = json.load(f)
    except FileNotFoundError:
        return {"runs": {}, "invocations": []}
    except json.JSONDecodeError as e:
        raise UserError(f"--summary {path}: not a JSON file ({e})")
    if "runs" not in data:  # the older layout: {key: [[step, score, length], ...]}
        data = {"runs": {k: {"rows": v} for k, v in data.items()}, "invocations": []}
    data.setdefault("invocations", [])
    return data


SUMMARY_FIELDS = ("global_step", "episode_score", "episode_length", "sps", "ended_episodes", "ended_score", "num_envs")


def summary_rows(rows: list[dict]) -> list[list]:
    """metrics.jsonl rows -> the summary's rows, one list of SUMMARY_FIELDS each (shorter for older runs, which
    logged no per-iteration episodes)."""
    n = len(SUMMARY_FIELDS) if rows and "ended_episodes" in rows[-1] else 4
    return [[r.get(k) for k in SUMMARY_FIELDS[:n]] for r in rows]


def metrics_rows(rows: list[list]) -> list[dict]:
    """The summary's rows -> metrics.jsonl rows (what the reports read); iteration i logged i x batch steps."""
    batch = rows[0][0]
    return [{"iteration": round(row[0] / batch), **dict(zip(SUMMARY_FIELDS, row)),
             **({} if len(row) > 3 else {"sps": None})} for row in rows]


def write_metrics(run_dir: str, rows: list[dict]):
    os.makedirs(run_dir, exist_ok=True)
    with open(os.path.join(run_dir, "metrics.jsonl"), "w") as f:
        f.writelines(json.dumps(row) + "\n" for row in rows)


def write_summary(path: str, data: dict):
    """The summary file, one line per run, so that a diff shows which runs changed."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path + ".tmp", "w") as f:  # then renamed: a sitting stopped mid-write leaves the old file whole
        f.write('{"invocations": ' + json.dumps(data["invocations"]) + ',\n "runs": {\n')
        f.write(",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in sorted(data["runs"].items())))
        f.write("\n }\n}\n")
    os.replace(path + ".tmp", path)


def restore_from_summary(path: str, runs: list[Run], out: str) -> int:
    """Write the run directory of each run that `path` summarises and that is not complete here, and merge the
    summary's invocations into out/study.json; return how many runs were restored. An entry whose recorded
    arguments differ from the run's is left alone (the plan changed since)."""
    data = read_summary(path)
    restored = 0
    for run in runs:
        entry = data["runs"].get(run.summary_key)
        if entry is None or is_complete(run) or ("args" in entry and not same_args(entry["args"], run.args())):
            continue
        write_metrics(run.run_dir, metrics_rows(entry["rows"]))
        if "eval" in entry:
            with open(os.path.join(run.run_dir, EVAL), "w") as f:
                json.dump(entry["eval"], f)
        with open(os.path.join(run.run_dir, MARKER), "w") as f:
            json.dump({"args": run.args(), "command": run.shell(), "variant": run.key,
                       "restored_from": rel(path), **{k: entry[k] for k in ("wall_s", "host") if k in entry}}, f)
        for stale in (FAILED, JOB):
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(run.run_dir, stale))
        restored += 1
    known = {i.get("started") for i in read_invocations(out)}
    for inv in data["invocations"]:
        if inv.get("started") not in known:
            record_invocation(out, inv)
    if restored:
        print(f"restored {restored} finished runs from {rel(path)}")
    return restored


def save_summary(path: str, runs: list[Run], out: str) -> int:
    """Merge every complete run of `runs` (and out/study.json's invocations) into the summary at `path`;
    return how many runs it holds then."""
    data = read_summary(path)
    for run in runs:
        if not is_complete(run):
            continue
        marker = read_json(os.path.join(run.run_dir, MARKER)) or {}
        if "restored_from" in marker and run.summary_key in data["runs"]:
            continue  # a run restored from this summary adds nothing to it
        args = run.args()
        i = args.index("--run-dir")  # where the run lay is this machine's business
        data["runs"][run.summary_key] = {"args": args[:i] + args[i + 2:], "rows": summary_rows(read_metrics(run.run_dir)),
                                         **{k: marker[k] for k in ("wall_s", "host") if k in marker}}
        evaluation = read_json(os.path.join(run.run_dir, EVAL))
        if evaluation is not None:
            data["runs"][run.summary_key]["eval"] = evaluation
    known = {i.get("started") for i in data["invocations"]}
    data["invocations"] += [i for i in read_invocations(out) if i.get("started") not in known]
    write_summary(path, data)
    return len(data["runs"])


# What every grid's command line shares
def add_run_flags(p: argparse.ArgumentParser, out_help: str, parallel: int | None = None):
    """--parallel, --out, --dry-run, --report-only, --summary and the engine's flags; execute() reads them."""
    p.add_argument("--parallel", type=int, default=parallel or cpu_count(),
                   help=f"runs at a time, one thread each (default: {parallel or 'one per core'})")
    p.add_argument("--out", default=None, help=out_help)
    p.add_argument("--dry-run", action="store_true", help="print the runs' commands (and what is done) only")
    p.add_argument("--report-only", action="store_true", help="run nothing: report the finished runs")
    p.add_argument("--summary", default=None, metavar="JSON",
                   help="a committed summary of finished runs: those missing here are restored from it first, and "
                        "each run is written back to it as it finishes (not with --dry-run)")
    # smoke tests only: shrink every budget, pass extra flags to every script
    p.add_argument("--budget-scale", type=float, default=1.0, help=argparse.SUPPRESS)
    p.add_argument("--script-args", default="", help=argparse.SUPPRESS)
    add_engine_flags(p)


def check_run_flags(args):
    if args.parallel < 1:
        raise UserError(f"--parallel={args.parallel} is not allowed: use an integer >= 1")
    if not args.budget_scale > 0:
        raise UserError(f"--budget-scale={args.budget_scale} is not allowed: use a number > 0")
    if args.dry_run and args.report_only:
        raise UserError("--dry-run and --report-only exclude each other: use one")
    check_engine(args)


def command_line(script: str, argv) -> str:
    """The command as the user typed it, for the records."""
    return f"python benchmarks/{script}" + "".join(f" {shlex.quote(a)}" for a in (sys.argv[1:] if argv is None else argv))


def interrupt(signum, frame):
    raise KeyboardInterrupt


def execute(runs: list[Run], args, out: str, command: str, reported: list[Run] | None = None, group=None) -> int:
    """Restore from `args.summary`, then a dry run, or run what is not finished with `args.engine`, saving each
    finished run into the summary at once; return the number of failed runs. `reported`: the runs the summary
    covers (default `runs`)."""
    reported = runs if reported is None else reported
    summary = getattr(args, "summary", None)
    if summary and not args.dry_run:
        restore_from_summary(summary, reported, out)
    todo = print_plan(runs, args.parallel, group)
    if args.dry_run:
        for run in runs:
            print(("# done: " if run not in todo else "") + run.shell())
        return 0
    failed = []
    if todo and not args.report_only:
        engine = getattr(args, "engine", "local")
        todo = sorted(todo, key=lambda r: -r.budget)  # longest first, so that the workers finish together
        started = time.time()
        finished = []

        def keep(run):
            finished.append(run)
            if summary:
                save_summary(summary, reported, out)

        def record(**extra):
            record_invocation(out, {"command": command, "started": datetime.datetime.fromtimestamp(started).isoformat(
                timespec="seconds"), "wall_s": round(time.time() - started, 1), "engine": engine, **extra})

        # `kill <pid>` stops a sitting as Ctrl-C does: the runs under way end and the sitting is recorded
        previous = signal.signal(signal.SIGTERM, interrupt)
        try:
            failed = (run_submitit(todo, args, out, keep) if engine == "submitit" else run_all(todo, args.parallel, keep))
        except KeyboardInterrupt:
            print("interrupted: run the same command again to go on (finished runs are kept)", file=sys.stderr)
            record(runs_executed=len(finished), interrupted=True)
            if summary:
                save_summary(summary, reported, out)
            sys.exit(130)
        finally:
            signal.signal(signal.SIGTERM, previous)
        record(runs_executed=len(todo), failed=len(failed))
        print(f"{len(todo) - len(failed)} runs finished, {len(failed)} failed, in {fmt_duration(time.time() - started)}")
    if summary:
        print(f"summary: {save_summary(summary, reported, out)} finished runs in {rel(summary)}")
    return len(failed)
