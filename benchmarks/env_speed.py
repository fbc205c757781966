"""Env steps/s, what `python benchmarks/speed.py env` and `gym` measure: fastenvs envs and their
references, Gymnasium vector envs, and the timing both use.

Not a command of its own: benchmarks/speed.py is the entry point (its docstring has the usage lines,
each subcommand's -h says what it measures). random_scores.py builds Gymnasium ids with `make_env`.
Every timing goes through `timed`; env timings step through uniformly random actions drawn before
timing (`sample_actions`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Callable

import gymnasium as gym
import numba
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runner  # noqa: E402  (puts the repository root on sys.path)
from runner import UserError  # noqa: E402

import fastenvs  # noqa: E402


# --------------------------------------------------------------------------------------------------
# Shared: timing, random actions, flags
# --------------------------------------------------------------------------------------------------
def timed(fn: Callable, repeats: int = 1, warmup: int = 0, sync: Callable | None = None) -> list[float]:
    """Seconds of each of `repeats` calls of `fn` after `warmup` untimed ones; `sync` (a device's
    synchronize) is called before and after each call."""
    times = []
    for i in range(warmup + repeats):
        if sync:
            sync()
        t0 = time.perf_counter()
        fn()
        if sync:
            sync()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return times


def stepper(step_fn: Callable, actions: np.ndarray) -> Callable:
    """A pass of `step_fn` through the pre-drawn actions, keeping each step's result until the next one
    returns, as a training loop does (with fresh arrays, whether they reuse memory or fault in new pages
    depends on such details)."""
    def one_pass():
        out = None
        for a in actions:
            out = step_fn(a)  # noqa: F841
    return one_pass


def steps_per_s(step_fn: Callable, actions: np.ndarray, repeats: int) -> list[float]:
    """Agent steps/s of each of `repeats` passes through the [steps, num_envs, ...] actions."""
    return [actions.shape[0] * actions.shape[1] / t for t in timed(stepper(step_fn, actions), repeats)]


def sample_actions(space, steps: int, num_envs: int, rng: np.random.Generator, dtype=np.int64) -> np.ndarray:
    """[steps, num_envs, ...] uniformly random actions of a single-env action space (`dtype` if discrete)."""
    if hasattr(space, "n"):  # Discrete
        return (space.start + rng.integers(0, space.n, size=(steps, num_envs))).astype(dtype)
    low, high = np.broadcast_to(space.low, space.shape), np.broadcast_to(space.high, space.shape)
    return rng.uniform(low, high, size=(steps, num_envs) + space.shape).astype(space.dtype)


def at_least(minimum: int) -> Callable[[str], int]:
    """argparse type: an integer >= minimum."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} is not allowed: use an integer >= {minimum}")
        return value
    return parse


positive = at_least(1)


def counts(text: str) -> list[int]:
    """argparse type: comma-separated integers >= 1."""
    return [positive(x.strip()) for x in text.split(",") if x.strip()]


def pick(text: str, allowed, what: str) -> list[str]:
    """The comma-separated names of `text`, each one of `allowed`."""
    names = [x.strip() for x in text.split(",") if x.strip()]
    bad = [x for x in names if x not in allowed]
    if bad:
        raise UserError(f"unknown {what} {bad[0]!r}: use names from {', '.join(allowed)}")
    return names


def fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:,.0f}"


# --------------------------------------------------------------------------------------------------
# env: fastenvs envs and their references
# --------------------------------------------------------------------------------------------------
@dataclass
class Row:
    """A row of the env table: `setup(num_envs, seed)` returns (step_fn of one [num_envs, ...] action
    batch, the single action space)."""
    label: str
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
    "nextstep": "autoreset_mode=\"next_step\" (Gymnasium's default mode)",
    "kernel": "compiled calls only (step kernel + episode bookkeeping; no checks, no infos)",
}


def fastenv_row(name: str, path: str = "default") -> Row:
    """Row of fastenvs env `name` stepped through `path` (a key of PATHS)."""
    options = {"copy": {"copy": True}, "nocopy": {"copy": False}, "nextstep": {"autoreset_mode": "next_step"}}.get(path, {})

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

    def setup(num_envs, seed, workers=0):
        if workers and (workers < 2 or num_envs % workers):
            return None
        processes = {"backend": pufferlib.vector.Multiprocessing, "num_envs": workers, "num_workers": workers}
        envs = pufferlib.vector.make(Breakout, env_kwargs={"num_envs": num_envs // max(workers, 1)}, seed=seed,
                                     **(processes if workers else {}))
        envs.reset(seed=seed)
        return envs.step, envs.single_action_space

    return Row(f"PufferLib {pufferlib.__version__} Ocean `Breakout` (C; 1 core: native vectorization in "
               f"one process; all cores: Multiprocessing, {cores} workers)", setup, threaded=False,
               setup_all_cores=lambda num_envs, seed: setup(num_envs, seed, cores))


def env_rows(args) -> list[Row | str]:
    """The rows to measure; a string is a row that could not be set up (printed as a note)."""
    names = pick(args.envs, fastenvs.names(), "env") if args.envs else fastenvs.names()
    paths = pick(args.paths, PATHS, "path")
    rows = [fastenv_row(n, p) for n in names for p in paths]
    if "cartpole" in names and not args.no_reference:
        rows.append(gymnasium_cartpole_row())
    if "breakout" in names and not args.no_reference:
        puffer = pufferlib_breakout_row()
        rows.append(puffer if isinstance(puffer, Row) else f"PufferLib Ocean Breakout not measured: {puffer}")
    return rows


def measure_row(row: Row, num_envs: int, steps: int, repeats: int, seed: int = 0) -> tuple[float, float | None]:
    """Median steps/s of `row` with Numba on one thread, and on all cores (None where not measured)."""
    step_fn, space = row.setup(num_envs, seed)
    actions = sample_actions(space, steps, num_envs, np.random.default_rng(seed), row.action_dtype)
    all_threads = numba.config.NUMBA_NUM_THREADS
    step_fn(actions[0])  # compile / warm up
    results = []
    for threads in (1, all_threads) if row.threaded else (1,):
        numba.set_num_threads(threads)
        stepper(step_fn, actions[:50])()  # warm the thread pool and caches
        results.append(statistics.median(steps_per_s(step_fn, actions, repeats)))
    numba.set_num_threads(all_threads)
    many = results[1] if row.threaded else None
    made = row.setup_all_cores(num_envs, seed) if row.setup_all_cores else None
    if made is not None:
        stepper(made[0], actions[:50])()
        many = statistics.median(steps_per_s(made[0], actions, repeats))
        getattr(getattr(made[0], "__self__", None), "close", lambda: None)()  # stop worker processes
    return results[0], many


def env_command(args):
    """Env-only throughput of fastenvs envs: agent steps per second under uniformly random actions.

For each row the actions are drawn before timing (one [steps, num_envs] array; int64 for the
fastenvs rows, as the scripts pass them, int32 for the others), the env is stepped once to compile
and warm up, then `steps` steps are timed `repeats` times and the median is reported, once with
Numba limited to one thread and once with all of them (frames/s = steps/s x the env's frameskip).

Each fastenvs env gets one row per `--paths` entry:
  default  `fastenvs.make(name, num_envs, seed)` then `step`: the path the PPO scripts use
  copy     the same with copy=True (fresh arrays every step, infos included)
  nocopy   the same with copy=False spelled out (today the default; differs on older checkouts)
  nextstep the same with autoreset_mode="next_step" (the episode-ending step returns the last obs)
  kernel   the compiled calls of a step only (step kernel + episode bookkeeping): no action
           checks, no infos, the bound the Python shell can approach
References, unless --no-reference: Gymnasium's CartPole-v1 (with cartpole) and PufferLib's Ocean
Breakout (with breakout, where `import pufferlib` works; otherwise the table says why not).
A new kind of row (another library, a reference env) is one more `Row` in `env_rows`."""
    rows = env_rows(args)
    cores = numba.config.NUMBA_NUM_THREADS
    print(f"{args.num_envs} envs, uniformly random actions, {args.steps} steps per pass, "
          f"median of {args.repeats} passes, {cores} cores\n")
    print(f"| env | 1 core steps/s | all cores ({cores}) steps/s |\n|---|---:|---:|")
    for row in rows:
        if not isinstance(row, str):
            one, many = measure_row(row, args.num_envs, args.steps, args.repeats, args.seed)
            print(f"| {row.label} | {fmt(one)} | {fmt(many)} |", flush=True)
    for note in (row for row in rows if isinstance(row, str)):
        print(f"\n{note}")
    try:
        print(f"\nnumba threading layer: {numba.threading_layer()}")
    except ValueError:
        pass


# --------------------------------------------------------------------------------------------------
# gym: Gymnasium vector envs (MuJoCo, MinAtar, Atari), also how random_scores.py builds a Gymnasium id
# --------------------------------------------------------------------------------------------------
GYM_ENVS = ["Hopper-v5", "MinAtar/Breakout-v1", "ALE/Breakout-v5"]
GYM_NUM_ENVS = {"mujoco": [1, 8], "minatar": [8, 64], "atari": [8], "gymnasium": [8], "procgen": [64, 512]}
GYM_MODES = ("sync", "async", "native", "backend")
FAMILY_MODES = {"atari": ("sync", "async", "native"), "procgen": ("backend", "native")}  # others: sync, async
ATARI_PREPROCESSING = dict(noop_max=30, frame_skip=4, screen_size=84, grayscale_obs=True)
FRAMES_PER_STEP = {"atari": 4}
MUJOCO = {"Ant", "HalfCheetah", "Hopper", "HumanoidStandup", "Humanoid", "InvertedDoublePendulum",
          "InvertedPendulum", "Pusher", "Reacher", "Swimmer", "Walker2d"}


def family(env_id: str) -> str:
    if env_id.startswith("procgen/"):
        return "procgen"
    if env_id.startswith("MinAtar/"):
        return "minatar"
    if env_id.startswith("ALE/"):
        return "atari"
    return "mujoco" if env_id.split("-v")[0] in MUJOCO else "gymnasium"


def register(env_id: str) -> None:
    """Make `env_id` known to Gymnasium (1.x loads no entry-point plugins); UserError if it is not."""
    try:
        if family(env_id) == "minatar" and "MinAtar/Breakout-v1" not in gym.registry:
            from minatar.gym import register_envs

            register_envs()
        elif family(env_id) == "procgen":
            import fastenvs.procgen  # noqa: F401  (registers the procgen/ ids on import)
        elif family(env_id) == "atari":
            import ale_py  # registers the ALE/ ids on import

            gym.register_envs(ale_py)  # a no-op that only shows the import is used
        spec = gym.spec(env_id)
    except ImportError as e:
        raise UserError(f"{env_id}: {e.name or 'its package'} is not installed") from None
    except gym.error.Error as e:
        raise UserError(f"unknown Gymnasium id {env_id!r}: {e}") from None
    try:  # import the env's module now: a missing dependency is one line here, not a traceback later
        if isinstance(spec.entry_point, str):
            gym.envs.registration.load_env_creator(spec.entry_point)
    except (ImportError, gym.error.Error) as e:
        raise UserError(f"{env_id} cannot be made here: {e}") from None


def atari_wrappers() -> list:
    return [lambda env: gym.wrappers.AtariPreprocessing(env, **ATARI_PREPROCESSING),
            lambda env: gym.wrappers.FrameStackObservation(env, stack_size=4)]


def make_env(env_id: str, **kwargs) -> gym.Env:
    """One env of `env_id` as the benchmarks use it (Atari: preprocessed and stacked)."""
    register(env_id)
    if family(env_id) != "atari":
        return gym.make(env_id, **kwargs)
    env = gym.make(env_id, frameskip=1, **kwargs)
    for wrap in atari_wrappers():
        env = wrap(env)
    return env


def make_vector(env_id: str, num_envs: int, mode: str) -> gym.vector.VectorEnv:
    """Vector env of `env_id` in `mode` ("sync", "async"; for ALE ids "native"; for procgen/ ids "native", the
    kit's wrapper, or "backend", procgen's own env alone), same-step autoreset."""
    register(env_id)
    same_step = gym.vector.AutoresetMode.SAME_STEP
    if family(env_id) == "procgen":  # one backend thread, as for runs side by side
        return ProcgenBackend(env_id, num_envs) if mode == "backend" else gym.make_vec(env_id, num_envs, num_threads=1)
    if mode == "native":
        if family(env_id) != "atari":
            raise UserError(f"mode 'native' is for ALE ids only, not {env_id}")
        p = ATARI_PREPROCESSING
        return gym.make_vec(
            env_id, num_envs=num_envs, vectorization_mode="vector_entry_point",
            frameskip=p["frame_skip"], img_height=p["screen_size"], img_width=p["screen_size"],
            grayscale=p["grayscale_obs"], stack_num=4, noop_max=p["noop_max"],
            reward_clipping=False, use_fire_reset=False, episodic_life=False,
            repeat_action_probability=0.25, autoreset_mode=same_step,
        )
    extra = dict(frameskip=1, wrappers=atari_wrappers()) if family(env_id) == "atari" else {}
    return gym.make_vec(env_id, num_envs=num_envs, vectorization_mode=mode,
                        vector_kwargs={"autoreset_mode": same_step}, **extra)


class ProcgenBackend:
    """procgen's own C++ vector env alone (act, then observe), easy mode: what the kit's wrapper adds to."""

    def __init__(self, env_id: str, num_envs: int):
        from procgen import ProcgenGym3Env

        self.single_action_space = gym.spaces.Discrete(15)
        self.env = ProcgenGym3Env(num=num_envs, env_name=env_id.split("/")[1], distribution_mode="easy",
                                  num_threads=1, rand_seed=0)

    def reset(self, seed=None):
        return self.env.observe()

    def step(self, actions):
        self.env.act(actions.astype(np.int32))
        return self.env.observe()

    def close(self):
        self.env.close()


def gym_rates(env_id: str, num_envs: int, modes: list[str], steps: int, repeats: int, warmup: int = 50,
              seed: int = 0) -> dict[str, list[float]]:
    """Steps/s of each mode's `repeats` passes; the modes take turns pass by pass, so that a change of
    load on a shared machine hits them alike."""
    envs, passes = [], {}
    try:
        for mode in modes:
            envs.append(make_vector(env_id, num_envs, mode))
            actions = sample_actions(envs[-1].single_action_space, steps, num_envs, np.random.default_rng(seed))
            envs[-1].reset(seed=seed)
            stepper(envs[-1].step, actions[np.arange(warmup) % steps])()
            passes[mode] = stepper(envs[-1].step, actions)
        rates = {mode: [] for mode in modes}
        for _ in range(repeats):
            for mode, one_pass in passes.items():
                rates[mode].append(steps * num_envs / timed(one_pass)[0])
        return rates
    finally:
        for e in envs:
            e.close()


def machine() -> str:
    """The CPU and cores, and the load average when the run started."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return f"{runner.machine()}, load average at start {load}"


def gym_versions() -> str:
    return runner.versions(("gymnasium", "numpy", "mujoco", "minatar", "ale-py", "opencv-python-headless",
                            "opencv-python", "procgen-mirror"))


def gym_command(args):
    """Env-only throughput of Gymnasium vector envs (MuJoCo, MinAtar, Atari) under uniformly random actions.

For each (env, num_envs) every mode's vector env is built with `make_vector(env_id, num_envs,
mode)`, reset with a fixed seed and stepped `--warmup` times; then the modes take turns timing a
pass of `--steps` vector steps, `--repeats` passes each (so a change of load on a shared machine hits
all modes alike), and each row reports the median (and the range) of agent steps per second summed
over the envs. The actions are drawn before timing, one [steps, num_envs, ...] array. Autoreset is
SAME_STEP in every mode.

Modes:
  sync    gym.make_vec(..., vectorization_mode="sync"): every env stepped in this process
  async   gym.make_vec(..., vectorization_mode="async"): one worker process per env
  native  ALE ids: ale_py's own C++ vector env (AtariVectorEnv, make_vec's "vector_entry_point"
          mode) with the same preprocessing as the wrappers below and no reward clipping;
          procgen/ ids: the kit's ProcgenVecEnv (fastenvs/procgen.py), what the scripts step
  backend procgen/ ids only: procgen's ProcgenGym3Env alone (act + observe), both with one backend thread

Per family (`family(env_id)`):
  mujoco   the id as registered (raw observations, float64)
  minatar  the id as registered (10x10xC bool, HWC); needs `minatar.gym.register_envs()`, done here
  procgen  easy mode, unlimited levels: (64, 64, 3) uint8, Discrete(15)
  atari    gym.make(id, frameskip=1) + AtariPreprocessing(noop_max=30, frame_skip=4, screen_size=84,
           grayscale_obs=True) + FrameStackObservation(stack_size=4): (4, 84, 84) uint8.
           Frames/s = 4 x steps/s.
`--num-envs` left out uses each family's GYM_NUM_ENVS. Prints a markdown table headed by the
machine (CPU, cores, load average) and the package versions."""
    env_ids = [e.strip() for e in args.envs.split(",") if e.strip()]
    modes = pick(args.modes, GYM_MODES, "mode") if args.modes else None
    for env_id in env_ids:
        register(env_id)
    print(f"Machine: {machine()}\nVersions: {gym_versions()}")
    print(f"{args.steps} vector steps per pass, median of {args.repeats} passes after {args.warmup} warm-up steps; "
          "autoreset SAME_STEP; uniformly random actions\n")
    print("| env | family | mode | num_envs | steps/s (median) | range | frames/s (median) |")
    print("|---|---|---|---:|---:|---:|---:|")
    for env_id in env_ids:
        fam = family(env_id)
        default = ("backend", "native") if fam == "procgen" else ("sync", "async")
        env_modes = [m for m in modes or default if m in FAMILY_MODES.get(fam, ("sync", "async"))]
        for n in args.num_envs or GYM_NUM_ENVS[fam]:
            rates = gym_rates(env_id, n, env_modes, args.steps, args.repeats, args.warmup, args.seed)
            for mode in env_modes:
                med = statistics.median(rates[mode])
                print(f"| {env_id} | {fam} | {mode} | {n} | {med:,.0f} | {min(rates[mode]):,.0f}-"
                      f"{max(rates[mode]):,.0f} | {med * FRAMES_PER_STEP.get(fam, 1):,.0f} |", flush=True)
