"""Env-only throughput: agent steps per second under uniformly random actions.

    python benchmarks/env_sps.py                      # every fastenvs env, 1024 envs
    python benchmarks/env_sps.py --envs breakout --num-envs 1024 --steps 2000 --repeats 5
    python benchmarks/env_sps.py --envs breakout --paths default,copy,kernel

For each row the actions are drawn before timing (one [steps, num_envs] array; int64 for the
fastenvs rows, as the scripts pass them, int32 for the others), the env is stepped
once to compile and warm up, then `steps` steps are timed `repeats` times and the median is
reported, once with Numba limited to one thread and once with all of them. Output is a markdown
table; steps/s counts agent steps summed over envs (frames/s = steps/s x the env's frameskip).

Each fastenvs env gets one row per `--paths` entry:
  default  `fastenvs.make(name, num_envs, seed)` then `step`: the path the PPO scripts use
  copy     the same with copy=True (fresh arrays every step, infos included)
  nocopy   the same with copy=False spelled out (today the default; differs on older checkouts)
  kernel   the compiled calls of a step only (step kernel + episode bookkeeping): no action
           checks, no infos, the bound the Python shell can approach
References, unless --no-reference: Gymnasium's CartPole-v1 (with cartpole) and PufferLib's Ocean
Breakout (with breakout, where `import pufferlib` works; otherwise the table says why not).

Rows are `Row` objects: a label and a `setup(num_envs, seed)` returning (step_fn, action space).
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


def sample_actions(space, steps: int, num_envs: int, rng: np.random.Generator, dtype=np.int32) -> np.ndarray:
    """[steps, num_envs, ...] uniformly random actions of a single-env action space (`dtype` if discrete)."""
    if hasattr(space, "n"):  # Discrete
        return (space.start + rng.integers(0, space.n, size=(steps, num_envs))).astype(dtype)
    low, high = np.broadcast_to(space.low, space.shape), np.broadcast_to(space.high, space.shape)
    return rng.uniform(low, high, size=(steps, num_envs) + space.shape).astype(space.dtype)


@dataclass
class Row:
    label: str
    # setup(num_envs, seed) -> (step_fn taking one [num_envs, ...] action batch, single action space)
    setup: Callable
    threaded: bool = True  # False: the row does not use Numba threads, "all cores" is not measured
    # for rows that spread over cores by other means than Numba threads (processes): the setup of
    # the "all cores" column, measured instead of re-running `setup` with more threads
    setup_all_cores: Callable | None = None
    action_dtype: type = np.int32  # of discrete actions


PATHS = {
    "default": "default path, as the PPO scripts (`make(name, n, seed)`, `step`)",
    "copy": "copy=True (fresh arrays every step)",
    "nocopy": "copy=False",
    "kernel": "compiled calls only (step kernel + episode bookkeeping; no checks, no infos)",
}


def fastenv_row(name: str, path: str = "default") -> Row:
    """Row of fastenvs env `name` stepped through `path` (a key of PATHS)."""
    options = {"default": {}, "copy": {"copy": True}, "nocopy": {"copy": False}, "kernel": {}}[path]

    def setup(num_envs, seed):
        envs = fastenvs.make(name, num_envs=num_envs, seed=seed, **options)
        envs.reset(seed=seed)
        if path != "kernel":
            return envs.step, envs.single_action_space
        from fastenvs._core import close_episodes

        def step(actions):  # int32, or float32 in bounds for a Box, already (sample_actions): the buffer's type
            envs._step_kernel(actions)
            close_episodes(envs._terms, envs._truncs, envs._ep, envs._done, envs._ep_r, envs._ep_l,
                           envs._ep_score)
        return step, envs.single_action_space
    # the scripts pass `action.cpu().numpy()` of a torch long tensor: int64; the kernel takes int32
    return Row(f"fastenvs `{name}`: {PATHS[path]}", setup, action_dtype=np.int32 if path == "kernel" else np.int64)


def gymnasium_cartpole_row() -> Row:
    """Gymnasium's own numpy-vectorized CartPole-v1, the reference for fastenvs' cartpole."""
    def setup(num_envs, seed):
        import gymnasium as gym

        envs = gym.make_vec("CartPole-v1", num_envs=num_envs, vectorization_mode="vector_entry_point")
        envs.reset(seed=seed)
        return envs.step, envs.single_action_space
    return Row("gymnasium CartPole-v1 (numpy vector env)", setup, threaded=False)


def pufferlib_breakout_row() -> Row | str:
    """PufferLib's Ocean Breakout (C), the reference for fastenvs' breakout; a string says why it is
    absent. 1 core: one native PufferEnv holding all envs, stepped in one C call, which is how PufferLib
    runs Ocean envs in a process. All cores: pufferlib.vector.Multiprocessing, one worker process per
    core, each with num_envs / cores envs, stepped in sync."""
    had_resources = os.path.lexists("resources")
    try:
        import pufferlib.vector
        from pufferlib.ocean.breakout.breakout import Breakout
    except Exception as e:  # not installed, or its C extension did not build
        return f"{type(e).__name__}: {e}"
    finally:  # importing pufferlib symlinks its resources folder into the working directory: undo it
        if not had_resources and os.path.islink("resources"):
            os.remove("resources")
    cores = os.cpu_count() or 1

    def setup(num_envs, seed):
        envs = pufferlib.vector.make(Breakout, env_kwargs={"num_envs": num_envs}, seed=seed)
        envs.reset(seed=seed)
        return envs.step, envs.single_action_space

    def setup_all_cores(num_envs, seed):
        if cores < 2 or num_envs % cores:
            return None
        envs = pufferlib.vector.make(Breakout, env_kwargs={"num_envs": num_envs // cores}, seed=seed,
                                     backend=pufferlib.vector.Multiprocessing, num_envs=cores,
                                     num_workers=cores)
        envs.reset(seed=seed)
        return envs.step, envs.single_action_space

    return Row(f"PufferLib {pufferlib.__version__} Ocean `Breakout` (C; 1 core: native vectorization in "
               f"one process; all cores: Multiprocessing, {cores} workers)", setup, threaded=False,
               setup_all_cores=setup_all_cores)


def rows_for(args) -> list[Row | str]:
    """The rows to measure; a string is a row that could not be set up (printed as a note)."""
    names = args.envs.split(",") if args.envs else fastenvs.names()
    unknown = [n for n in names if n not in fastenvs.names()]
    if unknown:
        sys.exit(f"error: unknown env {unknown[0]!r}: use names from {', '.join(fastenvs.names())}")
    paths = args.paths.split(",")
    bad = [p for p in paths if p not in PATHS]
    if bad:
        sys.exit(f"error: unknown path {bad[0]!r}: use names from {', '.join(PATHS)}")
    rows = [fastenv_row(n, p) for n in names for p in paths]
    if "cartpole" in names and not args.no_reference:
        rows.append(gymnasium_cartpole_row())
    if "breakout" in names and not args.no_reference:
        puffer = pufferlib_breakout_row()
        rows.append(puffer if isinstance(puffer, Row) else f"PufferLib Ocean Breakout not measured: {puffer}")
    return rows


def time_steps(step_fn, actions: np.ndarray, repeats: int) -> float:
    """Median agent steps/s over `repeats` passes through the pre-drawn actions."""
    rates, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        for a in actions:
            # keep each step's result until the next one returns, as a training loop does: with
            # fresh arrays, whether they reuse memory or fault in new pages depends on such details
            out = step_fn(a)  # noqa: F841
        rates.append(actions.shape[0] * actions.shape[1] / (time.perf_counter() - t0))
        out = None
    return statistics.median(rates)


def measure(row: Row, num_envs: int, steps: int, repeats: int, seed: int = 0) -> tuple[float, float | None]:
    step_fn, space = row.setup(num_envs, seed)
    actions = sample_actions(space, steps, num_envs, np.random.default_rng(seed), row.action_dtype)
    all_threads = numba.config.NUMBA_NUM_THREADS
    step_fn(actions[0])  # compile / warm up
    results = []
    for threads in (1, all_threads) if row.threaded else (1,):
        numba.set_num_threads(threads)
        for a in actions[: min(steps, 50)]:  # warm the thread pool and caches
            step_fn(a)
        results.append(time_steps(step_fn, actions, repeats))
    numba.set_num_threads(all_threads)
    many = results[1] if row.threaded else None
    if row.setup_all_cores is not None:
        made = row.setup_all_cores(num_envs, seed)
        if made is not None:
            step_fn = made[0]
            for a in actions[: min(steps, 50)]:
                step_fn(a)
            many = time_steps(step_fn, actions, repeats)
            getattr(getattr(step_fn, "__self__", None), "close", lambda: None)()  # stop worker processes
    return results[0], many


def fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:,.0f}"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--envs", default="", help=f"comma-separated names (default: all of {','.join(fastenvs.names())})")
    p.add_argument("--num-envs", type=int, default=1024)
    p.add_argument("--steps", type=int, default=2000, help="agent steps (per env) in one timed pass")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--paths", default="default,kernel",
                   help=f"comma-separated ways to step each fastenvs env, of {','.join(PATHS)} (see the docstring)")
    p.add_argument("--no-reference", action="store_true",
                   help="skip the reference rows (Gymnasium's CartPole-v1, PufferLib's Breakout)")
    args = p.parse_args(argv)
    cores = numba.config.NUMBA_NUM_THREADS
    print(f"{args.num_envs} envs, uniformly random actions, {args.steps} steps per pass, "
          f"median of {args.repeats} passes, {cores} cores\n")
    print(f"| env | 1 core steps/s | all cores ({cores}) steps/s |")
    print("|---|---:|---:|")
    notes = []
    for row in rows_for(args):
        if isinstance(row, str):
            notes.append(row)
            continue
        one, many = measure(row, args.num_envs, args.steps, args.repeats, args.seed)
        print(f"| {row.label} | {fmt(one)} | {fmt(many)} |", flush=True)
    for note in notes:
        print(f"\n{note}")
    try:
        print(f"\nnumba threading layer: {numba.threading_layer()}")
    except ValueError:
        pass


if __name__ == "__main__":
    main()
