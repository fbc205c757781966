"""Episode return of a uniformly random policy on Gymnasium ids (MuJoCo, MinAtar, Atari).

    python benchmarks/random_score_gym.py Hopper-v5 HalfCheetah-v5 Walker2d-v5 Ant-v5 Swimmer-v5 --episodes 100 --seed 0
    python benchmarks/random_score_gym.py MinAtar/Asterix-v1 MinAtar/Breakout-v1 --episodes 100 --seed 0

One env per id, built as benchmarks/gym_sps.py builds it (`make_env`: MinAtar registered, Atari
preprocessed with no-op starts, frame skip 4, 84x84 grayscale, 4 stacked frames and no reward
clipping, so the return of an Atari episode is the raw score of a whole game). Episode i is
started with `reset(seed=seed + i)`; the actions come from the env's action space seeded with
`seed` (uniform over a Discrete space, uniform in [low, high] for a Box). The episode ends at
termination or at the id's time limit (MuJoCo: 1000 steps; MinAtar ids have no time limit).
Prints a markdown table: episodes, mean return +- standard deviation (ddof=1), standard error, min,
max, mean length.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gym_sps import machine, make_env, versions  # noqa: E402


def random_returns(env_id: str, episodes: int = 100, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Returns and lengths of `episodes` episodes of uniformly random actions on `env_id`."""
    env = make_env(env_id)
    env.action_space.seed(seed)
    returns = np.empty(episodes)
    lengths = np.empty(episodes, dtype=np.int64)
    try:
        for i in range(episodes):
            env.reset(seed=seed + i)
            total, n, done = 0.0, 0, False
            while not done:
                _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
                total += float(reward)
                n += 1
                done = terminated or truncated
            returns[i], lengths[i] = total, n
    finally:
        env.close()
    return returns, lengths


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("env_ids", nargs="+", help="Gymnasium ids, e.g. Hopper-v5 MinAtar/Breakout-v1 ALE/Breakout-v5")
    p.add_argument("--episodes", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    print(f"Machine: {machine()}")
    print(f"Versions: {versions()}")
    print(f"Uniformly random policy, {args.episodes} episodes per id, seed {args.seed}\n")
    print("| env | episodes | mean return ± std | std. error | min | max | mean length |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for env_id in args.env_ids:
        t0 = time.perf_counter()
        r, l = random_returns(env_id, args.episodes, args.seed)
        std = r.std(ddof=1) if len(r) > 1 else 0.0
        print(f"| {env_id} | {len(r)} | {r.mean():.2f} ± {std:.2f} | {std / np.sqrt(len(r)):.2f} | {r.min():.2f} "
              f"| {r.max():.2f} | {l.mean():.1f} |", flush=True)
        print(f"  ({env_id}: {l.sum()} steps in {time.perf_counter() - t0:.1f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
