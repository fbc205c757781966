"""Score, return and SPS of finished runs at given env steps, from their metrics.jsonl.

    python benchmarks/score_at.py runs/breakout_gae runs/breakout_rh --at 5000000 20000000

Each value is the mean score of the last 100 episodes as logged at the first iteration at or past
the step; SPS is the run's overall rate at its end. Prints a markdown table.
"""

import argparse
import json
import os
import sys


def load(run_dir):
    path = os.path.join(run_dir, "metrics.jsonl")
    if not os.path.exists(path):
        sys.exit(f"error: {path} does not exist: pass run directories that hold a metrics.jsonl")
    with open(path) as f:
        return [json.loads(line) for line in f]


def at(rows, step, key):
    for row in rows:
        if row["global_step"] >= step:
            return row[key]
    return None


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", help="run directories")
    p.add_argument("--at", type=int, nargs="+", default=[5_000_000, 20_000_000], help="env steps")
    args = p.parse_args()
    fmt = lambda x: "-" if x is None else f"{x:.1f}"
    print("| run | " + " | ".join(f"score at {s / 1e6:g}M" for s in args.at) + " | steps | SPS | wall s |")
    print("|---|" + "---:|" * (len(args.at) + 3))
    for run in args.runs:
        rows = load(run)
        last = rows[-1]
        print(f"| {os.path.basename(run.rstrip('/'))} | " + " | ".join(fmt(at(rows, s, "episode_score")) for s in args.at)
              + f" | {last['global_step']:,} | {last['sps']:,.0f} | {last['time']:.0f} |")


if __name__ == "__main__":
    main()
