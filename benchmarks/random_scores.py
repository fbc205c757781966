"""Scores of a uniformly random policy, on fastenvs envs and on Gymnasium ids (MuJoCo, MinAtar, Atari, Procgen).

    python benchmarks/random_scores.py breakout --episodes 5000 --num-envs 1024 --seed 0
    python benchmarks/random_scores.py Hopper-v5 HalfCheetah-v5 Walker2d-v5 Ant-v5 Swimmer-v5 --episodes 100 --seed 0
    python benchmarks/random_scores.py MinAtar/Asterix-v1 MinAtar/Breakout-v1 --episodes 100 --seed 0

Uniformly random: each action of a Discrete space equally likely; for a Box, each dimension uniform
between its bounds. A name in `fastenvs.names()` is a fastenvs env, anything else a Gymnasium id;
one command may mix both.

fastenvs envs: `--num-envs` envs (default 1024) step together, and each env's first
ceil(episodes / num_envs) episodes are counted (and only those), so long episodes are not
under-represented the way they would be by stopping at the first `episodes` endings (default 5000).
Prints episodes, mean score (with its standard error), mean return and mean length in agent steps.

Gymnasium ids: one env per id, built as `python benchmarks/speed.py gym` builds it
(`env_speed.make_env`: MinAtar registered, Atari preprocessed with no-op starts, frame skip 4, 84x84
grayscale, 4 stacked frames and no reward clipping, so the return of an Atari episode is the raw
score of a whole game). Episode i is started with `reset(seed=seed + i)`; the actions come from the
env's action space seeded with `seed`. The episode ends at termination or at the id's time limit
(MuJoCo: 1000 steps; MinAtar ids have no time limit); `--episodes` episodes (default 100). Procgen
ids (`procgen/<game>`, vector envs only): 64 envs together, each env's first ceil(episodes / 64) counted. Prints a
markdown table headed by the machine and the versions: episodes, mean return +- standard deviation
(ddof=1), standard error, min, max, mean length.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runner  # noqa: E402  (puts the repository root on sys.path)
import env_speed  # noqa: E402
from runner import UserError, fail  # noqa: E402

import fastenvs  # noqa: E402


def random_policy_stats(name: str, episodes: int = 5000, num_envs: int = 1024, seed: int = 0,
                        max_agent_steps: int = 10_000_000, **env_kwargs) -> dict:
    """Play uniformly random actions on fastenvs env `name` until each env has ended
    ceil(episodes / num_envs) episodes."""
    envs = fastenvs.make(name, num_envs=num_envs, seed=seed, copy=False, **env_kwargs)
    space = envs.single_action_space
    per_env = -(-episodes // num_envs)
    rng = np.random.default_rng(seed)
    key = getattr(envs, "stats_key", "episode")  # where the infos hold the episode statistics
    envs.reset()
    counted = np.zeros(num_envs, dtype=np.int64)
    scores, returns, lengths = [], [], []
    steps = 0
    while counted.min() < per_env:
        if steps * num_envs >= max_agent_steps:
            raise UserError(f"{name}: fewer than {per_env} episodes per env after {steps} steps: ask for fewer "
                            "--episodes or more --num-envs")
        if hasattr(space, "n"):  # Discrete
            actions = rng.integers(0, space.n, size=num_envs)
        else:  # 1-D Box: uniform between the bounds, float32 as the env's buffer
            actions = rng.uniform(space.low, space.high, size=(num_envs, *space.shape)).astype(np.float32)
        _, _, _, _, infos = envs.step(actions)
        steps += 1
        if key in infos:
            keep = infos["_" + key] & (counted < per_env)
            counted += keep
            ep = infos[key]
            scores.append(ep["score"][keep].astype(np.float64))
            returns.append(ep["r"][keep].astype(np.float64))
            lengths.append(ep["l"][keep].astype(np.float64))
    envs.close()
    scores, returns, lengths = (np.concatenate(x) for x in (scores, returns, lengths))
    return {"episodes": len(scores), "score": scores.mean(), "score_se": scores.std(ddof=1) / np.sqrt(len(scores)),
            "return": returns.mean(), "length": lengths.mean(), "length_median": float(np.median(lengths)),
            "agent_steps": steps * num_envs}


def random_returns(env_id: str, episodes: int = 100, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Returns and lengths of `episodes` episodes of uniformly random actions on Gymnasium id `env_id`."""
    if env_speed.family(env_id) == "procgen":
        return procgen_random_returns(env_id, episodes, seed)
    env = env_speed.make_env(env_id)
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


def procgen_random_returns(env_id: str, episodes: int, seed: int, num_envs: int = 64):
    """Procgen ids exist only as vector envs: `num_envs` envs play together, each counting its first
    ceil(episodes / num_envs) episodes (as for fastenvs envs), easy mode, unlimited levels."""
    import gymnasium as gym

    env_speed.register(env_id)
    env = gym.wrappers.vector.RecordEpisodeStatistics(gym.make_vec(env_id, num_envs, num_threads=1))
    quota, rng = -(-episodes // num_envs), np.random.default_rng(seed)
    done = [[] for _ in range(num_envs)]
    env.reset(seed=seed)
    while min(len(d) for d in done) < quota:
        *_, infos = env.step(rng.integers(0, 15, num_envs))
        for i in np.flatnonzero(infos.get("_episode", ())):
            if len(done[i]) < quota:
                done[i].append((infos["episode"]["r"][i], infos["episode"]["l"][i]))
    env.close()
    pairs = np.array([p for d in done for p in d])
    return pairs[:, 0], pairs[:, 1].astype(np.int64)


def fastenvs_scores(names: list[str], episodes: int, num_envs: int, seed: int):
    for name in names:
        t0 = time.perf_counter()
        s = random_policy_stats(name, episodes, num_envs, seed)
        print(f"{name}: {s['episodes']} episodes of a uniformly random policy "
              f"({s['agent_steps']} agent steps, seed {seed}, {time.perf_counter() - t0:.1f} s)")
        print(f"  mean score  {s['score']:.4f} +- {s['score_se']:.4f} (standard error)")
        print(f"  mean return {s['return']:.4f}")
        print(f"  mean length {s['length']:.1f} agent steps (median {s['length_median']:.0f})", flush=True)


def gym_scores(env_ids: list[str], episodes: int, seed: int):
    print(f"Machine: {env_speed.machine()}\nVersions: {env_speed.gym_versions()}")
    print(f"Uniformly random policy, {episodes} episodes per id, seed {seed}\n")
    print("| env | episodes | mean return ± std | std. error | min | max | mean length |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for env_id in env_ids:
        t0 = time.perf_counter()
        r, l = random_returns(env_id, episodes, seed)
        std = r.std(ddof=1) if len(r) > 1 else 0.0
        print(f"| {env_id} | {len(r)} | {r.mean():.2f} ± {std:.2f} | {std / np.sqrt(len(r)):.2f} | {r.min():.2f} "
              f"| {r.max():.2f} | {l.mean():.1f} |", flush=True)
        print(f"  ({env_id}: {l.sum()} steps in {time.perf_counter() - t0:.1f} s)", file=sys.stderr)


def parser() -> runner.Parser:
    p = runner.Parser(prog="random_scores.py", description=__doc__.splitlines()[0])
    p.add_argument("envs", nargs="+", help=f"fastenvs names ({', '.join(fastenvs.names())}) or Gymnasium ids, "
                   "e.g. Hopper-v5 MinAtar/Breakout-v1 ALE/Breakout-v5 procgen/starpilot")
    p.add_argument("--episodes", type=env_speed.positive, default=None,
                   help="episodes per env (default: 5000 for fastenvs envs, 100 for Gymnasium ids)")
    p.add_argument("--num-envs", type=env_speed.positive, default=1024, help="fastenvs envs stepped together")
    p.add_argument("--seed", type=int, default=0)
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    ours = [e for e in args.envs if e in fastenvs.names()]
    theirs = [e for e in args.envs if e not in fastenvs.names()]
    try:
        for env_id in theirs:
            if "-v" not in env_id and env_speed.family(env_id) != "procgen":
                raise UserError(f"unknown env {env_id!r}: use a fastenvs name ({', '.join(fastenvs.names())}) "
                                "or a Gymnasium id such as Hopper-v5 or MinAtar/Breakout-v1")
            env_speed.register(env_id)
        if ours:
            fastenvs_scores(ours, args.episodes or 5000, args.num_envs, args.seed)
        if ours and theirs:
            print()
        if theirs:
            gym_scores(theirs, args.episodes or 100, args.seed)
    except UserError as e:
        fail(str(e))


if __name__ == "__main__":
    main()
