"""Several training runs on one machine: each run's steps/s alone and side by side.

    python benchmarks/concurrency.py                          # ppo_gae.py on breakout, 2 runs side by side
    python benchmarks/concurrency.py --script ppo_reward_horizon.py --iterations 30 --repeats 3

It runs the script alone with its default threads (all cores), alone with `--threads 1`, and
`--runs` copies at once with `--threads 1` each (seeds 1..k), each for `--iterations` iterations with
the default batch, and measures each run's training rate after its warm-up iterations (steps between
the warm-up's last metrics row and the final one, over the time between them). Reported: the median
over `--repeats` of each rate, and its fraction of the default run's rate alone. (Two default runs
side by side are not timed: their spinning thread pools can slow each by two orders of magnitude,
docs/index.md.) Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BATCH = 512 * 64


def rate(run_dir: str, warmup: int) -> float:
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        rows = [json.loads(line) for line in f]
    a, b = rows[warmup - 1], rows[-1]
    return (b["global_step"] - a["global_step"]) / (b["time"] - a["time"])


def launch(args, threads: str, k: int, tmp: str) -> list[float]:
    dirs = [os.path.join(tmp, f"{threads}_{k}_{i}") for i in range(k)]
    procs = [subprocess.Popen([sys.executable, os.path.join(ROOT, args.script), "--env", args.env, "--seed", str(i + 1),
                               "--total-timesteps", str(args.iterations * BATCH), "--run-dir", d, "--no-cuda",
                               *(["--threads", threads] if threads != "all" else [])],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT) for i, d in enumerate(dirs)]
    for p in procs:
        _, err = p.communicate()
        if p.returncode:
            sys.exit(f"a run failed: {err.decode()[-500:]}")
    return [rate(d, args.warmup) for d in dirs]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--script", default="ppo_gae.py")
    p.add_argument("--env", default="breakout")
    p.add_argument("--runs", type=int, default=2, help="runs side by side")
    p.add_argument("--iterations", type=int, default=20)
    p.add_argument("--warmup", type=int, default=4, help="iterations not timed")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    print(f"{args.script} on {args.env}, {args.iterations} iterations of {BATCH} steps ({args.warmup} not timed), "
          f"{os.cpu_count()} cores, median of {args.repeats} repeats")
    print("\n| run | steps/s (each) | / a default run alone |")
    print("|---|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        alone = statistics.median(launch(args, "all", 1, tmp)[0] for _ in range(args.repeats))
        one = statistics.median(launch(args, "1", 1, tmp)[0] for _ in range(args.repeats))
        side = statistics.median(x for _ in range(args.repeats) for x in launch(args, "1", args.runs, tmp))
        for label, x in [("default (all cores), alone", alone), ("`--threads 1`, alone", one),
                         (f"`--threads 1`, {args.runs} side by side", side)]:
            print(f"| {label} | {x:,.0f} | {x / alone:.2f} |", flush=True)

if __name__ == "__main__":
    main()
