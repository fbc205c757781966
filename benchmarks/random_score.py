"""Mean score and length of episodes played by a uniformly random policy, for any fastenvs env.

Uniformly random: each action of a Discrete space equally likely; for a Box, each dimension uniform
between its bounds.

    python benchmarks/random_score.py breakout --episodes 5000 --num-envs 1024 --seed 0

Each env's first ceil(episodes / num_envs) episodes are counted (and only those), so long episodes
are not under-represented the way they would be by stopping at the first `episodes` endings.
Prints episodes, mean score (with its standard error), mean return and mean length in agent steps.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import fastenvs  # noqa: E402


def random_policy_stats(name: str, episodes: int = 5000, num_envs: int = 1024, seed: int = 0,
                        max_agent_steps: int = 10_000_000, **env_kwargs) -> dict:
    """Play uniformly random actions until each env has ended ceil(episodes / num_envs) episodes."""
    envs = fastenvs.make(name, num_envs=num_envs, seed=seed, copy=False, **env_kwargs)
    space = envs.single_action_space
    per_env = -(-episodes // num_envs)
    rng = np.random.default_rng(seed)
    envs.reset()
    counted = np.zeros(num_envs, dtype=np.int64)
    scores, returns, lengths = [], [], []
    steps = 0
    while counted.min() < per_env:
        if steps * num_envs >= max_agent_steps:
            raise RuntimeError(f"fewer than {per_env} episodes per env after {steps} steps")
        if hasattr(space, "n"):  # Discrete
            actions = rng.integers(0, space.n, size=num_envs)
        else:  # 1-D Box: uniform between the bounds, float32 as the env's buffer
            actions = rng.uniform(space.low, space.high, size=(num_envs, *space.shape)).astype(np.float32)
        _, _, _, _, infos = envs.step(actions)
        steps += 1
        if "episode" in infos:
            keep = infos["_episode"] & (counted < per_env)
            counted += keep
            ep = infos["episode"]
            scores.append(ep["score"][keep].astype(np.float64))
            returns.append(ep["r"][keep].astype(np.float64))
            lengths.append(ep["l"][keep].astype(np.float64))
    envs.close()
    scores, returns, lengths = (np.concatenate(x) for x in (scores, returns, lengths))
    return {"episodes": len(scores), "score": scores.mean(), "score_se": scores.std(ddof=1) / np.sqrt(len(scores)),
            "return": returns.mean(), "length": lengths.mean(), "length_median": float(np.median(lengths)),
            "agent_steps": steps * num_envs}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("env", help=f"one of: {', '.join(fastenvs.names())}")
    p.add_argument("--episodes", type=int, default=5000)
    p.add_argument("--num-envs", type=int, default=1024)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    s = random_policy_stats(args.env, args.episodes, args.num_envs, args.seed)
    print(f"{args.env}: {s['episodes']} episodes of a uniformly random policy "
          f"({s['agent_steps']} agent steps, seed {args.seed}, {time.perf_counter() - t0:.1f} s)")
    print(f"  mean score  {s['score']:.4f} +- {s['score_se']:.4f} (standard error)")
    print(f"  mean return {s['return']:.4f}")
    print(f"  mean length {s['length']:.1f} agent steps (median {s['length_median']:.0f})")


if __name__ == "__main__":
    main()
