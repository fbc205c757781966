"""Env-only throughput: agent steps per second under uniformly random actions.

    python benchmarks/env_sps.py                      # every fastenvs env, 1024 envs
    python benchmarks/env_sps.py --envs breakout --num-envs 1024 --steps 2000 --repeats 5

For each row the actions are drawn before timing (one [steps, num_envs] array), the env is stepped
once to compile and warm up, then `steps` steps are timed `repeats` times and the median is
reported, once with Numba limited to one thread and once with all of them. Output is a markdown
table; steps/s counts agent steps summed over envs (frames/s = steps/s x the env's frameskip).

Rows are `Row` objects: a label and a `setup(num_envs, seed)` returning (step_fn, action sampler).
`rows_for(args)` builds the list, so a new kind of row (another library, a reference env) is one
more entry there.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import numba  # noqa: E402

import fastenvs  # noqa: E402


def sample_actions(space, steps: int, num_envs: int, rng: np.random.Generator) -> np.ndarray:
    """[steps, num_envs, ...] uniformly random actions of a single-env action space."""
    if hasattr(space, "n"):  # Discrete
        return (space.start + rng.integers(0, space.n, size=(steps, num_envs))).astype(np.int32)
    low, high = np.broadcast_to(space.low, space.shape), np.broadcast_to(space.high, space.shape)
    return rng.uniform(low, high, size=(steps, num_envs) + space.shape).astype(space.dtype)


@dataclass
class Row:
    label: str
    # setup(num_envs, seed) -> (step_fn taking one [num_envs, ...] action batch, single action space)
    setup: Callable
    threaded: bool = True  # False: the row does not use Numba threads, "all cores" is not measured


def fastenv_row(name: str) -> Row:
    def setup(num_envs, seed):
        envs = fastenvs.make(name, num_envs=num_envs, seed=seed, copy=False)
        envs.reset(seed=seed)
        return envs.step, envs.single_action_space
    return Row(name, setup)


def gymnasium_cartpole_row() -> Row:
    """Gymnasium's own numpy-vectorized CartPole-v1, the reference for fastenvs' cartpole."""
    def setup(num_envs, seed):
        import gymnasium as gym

        envs = gym.make_vec("CartPole-v1", num_envs=num_envs, vectorization_mode="vector_entry_point")
        envs.reset(seed=seed)
        return envs.step, envs.single_action_space
    return Row("gymnasium CartPole-v1 (numpy vector env)", setup, threaded=False)


def rows_for(args) -> list[Row]:
    names = args.envs.split(",") if args.envs else fastenvs.names()
    unknown = [n for n in names if n not in fastenvs.names()]
    if unknown:
        sys.exit(f"error: unknown env {unknown[0]!r}: use names from {', '.join(fastenvs.names())}")
    rows = [fastenv_row(n) for n in names]
    if "cartpole" in names and not args.no_reference:
        rows.append(gymnasium_cartpole_row())
    return rows


def time_steps(step_fn, actions: np.ndarray, repeats: int) -> float:
    """Median agent steps/s over `repeats` passes through the pre-drawn actions."""
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for a in actions:
            step_fn(a)
        rates.append(actions.shape[0] * actions.shape[1] / (time.perf_counter() - t0))
    return statistics.median(rates)


def measure(row: Row, num_envs: int, steps: int, repeats: int, seed: int = 0) -> tuple[float, float | None]:
    step_fn, space = row.setup(num_envs, seed)
    actions = sample_actions(space, steps, num_envs, np.random.default_rng(seed))
    all_threads = numba.config.NUMBA_NUM_THREADS
    step_fn(actions[0])  # compile / warm up
    results = []
    for threads in (1, all_threads) if row.threaded else (1,):
        numba.set_num_threads(threads)
        for a in actions[: min(steps, 50)]:  # warm the thread pool and caches
            step_fn(a)
        results.append(time_steps(step_fn, actions, repeats))
    numba.set_num_threads(all_threads)
    return results[0], (results[1] if row.threaded else None)


def fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:,.0f}"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--envs", default="", help=f"comma-separated names (default: all of {','.join(fastenvs.names())})")
    p.add_argument("--num-envs", type=int, default=1024)
    p.add_argument("--steps", type=int, default=2000, help="agent steps (per env) in one timed pass")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-reference", action="store_true", help="skip Gymnasium's CartPole-v1 reference row")
    args = p.parse_args(argv)
    cores = numba.config.NUMBA_NUM_THREADS
    print(f"{args.num_envs} envs, uniformly random actions, {args.steps} steps per pass, "
          f"median of {args.repeats} passes, {cores} cores\n")
    print(f"| env | 1 core steps/s | all cores ({cores}) steps/s |")
    print("|---|---:|---:|")
    for row in rows_for(args):
        one, many = measure(row, args.num_envs, args.steps, args.repeats, args.seed)
        print(f"| {row.label} | {fmt(one)} | {fmt(many)} |", flush=True)
    try:
        print(f"\nnumba threading layer: {numba.threading_layer()}")
    except ValueError:
        pass


if __name__ == "__main__":
    main()
