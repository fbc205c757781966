"""Env-only throughput of Gymnasium vector envs (MuJoCo, MinAtar, Atari) under uniformly random actions.

    python benchmarks/gym_sps.py                                  # the three default envs
    python benchmarks/gym_sps.py --envs Hopper-v5 --num-envs 1,8 --modes sync,async --steps 2000 --repeats 5
    python benchmarks/gym_sps.py --envs ALE/Breakout-v5 --num-envs 8 --modes sync,async,native

For each (env, num_envs) every mode's vector env is built with `make_vector(env_id, num_envs,
mode)`, reset with a fixed seed and stepped `--warmup` times; then the modes take turns timing a
pass of `--steps` vector steps, `--repeats` passes each (so a change of load on a shared machine hits
all modes alike), and each row reports the median (and the range) of agent steps per second summed
over the envs. The actions are
drawn before timing, one [steps, num_envs, ...] array. Autoreset is SAME_STEP in every mode.

Modes:
  sync    gym.make_vec(..., vectorization_mode="sync"): every env stepped in this process
  async   gym.make_vec(..., vectorization_mode="async"): one worker process per env
  native  ALE ids only: ale_py's own C++ vector env (AtariVectorEnv, make_vec's "vector_entry_point"
          mode) with the same preprocessing as the wrappers below and no reward clipping

Per family (`family(env_id)`):
  mujoco   the id as registered (raw observations, float64)
  minatar  the id as registered (10x10xC bool, HWC); needs `minatar.gym.register_envs()`, done here
  atari    gym.make(id, frameskip=1) + AtariPreprocessing(noop_max=30, frame_skip=4, screen_size=84,
           grayscale_obs=True) + FrameStackObservation(stack_size=4): (4, 84, 84) uint8.
           Frames/s = 4 x steps/s.
`--num-envs` left out uses each family's DEFAULT_NUM_ENVS. Prints a markdown table headed by the
machine (CPU, cores, load average) and the package versions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np
import gymnasium as gym

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import study  # noqa: E402

DEFAULT_ENVS = ["Hopper-v5", "MinAtar/Breakout-v1", "ALE/Breakout-v5"]
DEFAULT_NUM_ENVS = {"mujoco": [1, 8], "minatar": [8, 64], "atari": [8]}
ATARI_PREPROCESSING = dict(noop_max=30, frame_skip=4, screen_size=84, grayscale_obs=True)
FRAMES_PER_STEP = {"mujoco": 1, "minatar": 1, "atari": 4}


MUJOCO = {"Ant", "HalfCheetah", "Hopper", "HumanoidStandup", "Humanoid", "InvertedDoublePendulum",
          "InvertedPendulum", "Pusher", "Reacher", "Swimmer", "Walker2d"}


def family(env_id: str) -> str:
    if env_id.startswith("MinAtar/"):
        return "minatar"
    if env_id.startswith("ALE/"):
        return "atari"
    return "mujoco" if env_id.split("-v")[0] in MUJOCO else "gymnasium"


def register(env_id: str) -> None:
    """Make `env_id`'s namespace known to Gymnasium (Gymnasium 1.x loads no entry-point plugins)."""
    fam = family(env_id)
    if fam == "minatar":
        from minatar.gym import register_envs

        if "MinAtar/Breakout-v1" not in gym.registry:
            register_envs()
    elif fam == "atari":
        import ale_py  # registers the ALE/ ids on import

        gym.register_envs(ale_py)  # a no-op that only shows the import is used


def atari_wrappers() -> list:
    return [
        lambda env: gym.wrappers.AtariPreprocessing(env, **ATARI_PREPROCESSING),
        lambda env: gym.wrappers.FrameStackObservation(env, stack_size=4),
    ]


def make_env(env_id: str, **kwargs) -> gym.Env:
    """One env of `env_id` as the benchmarks use it (Atari: preprocessed and stacked)."""
    register(env_id)
    if family(env_id) == "atari":
        env = gym.make(env_id, frameskip=1, **kwargs)
        for wrap in atari_wrappers():
            env = wrap(env)
        return env
    return gym.make(env_id, **kwargs)


def make_vector(env_id: str, num_envs: int, mode: str) -> gym.vector.VectorEnv:
    """Vector env of `env_id` in `mode` ("sync", "async" or, for ALE ids, "native"), same-step autoreset."""
    register(env_id)
    same_step = gym.vector.AutoresetMode.SAME_STEP
    fam = family(env_id)
    if mode == "native":
        if fam != "atari":
            raise ValueError(f"mode 'native' is for ALE ids only, not {env_id}")
        p = ATARI_PREPROCESSING
        return gym.make_vec(
            env_id, num_envs=num_envs, vectorization_mode="vector_entry_point",
            frameskip=p["frame_skip"], img_height=p["screen_size"], img_width=p["screen_size"],
            grayscale=p["grayscale_obs"], stack_num=4, noop_max=p["noop_max"],
            reward_clipping=False, use_fire_reset=False, episodic_life=False,
            repeat_action_probability=0.25, autoreset_mode=same_step,
        )
    if mode not in ("sync", "async"):
        raise ValueError(f"unknown mode {mode!r}")
    extra = {}
    if fam == "atari":
        extra = dict(frameskip=1, wrappers=atari_wrappers())
    return gym.make_vec(env_id, num_envs=num_envs, vectorization_mode=mode,
                        vector_kwargs={"autoreset_mode": same_step}, **extra)


def sample_actions(space: gym.Space, steps: int, num_envs: int, rng: np.random.Generator) -> np.ndarray:
    """[steps, num_envs, ...] uniformly random actions of a single-env action space."""
    if isinstance(space, gym.spaces.Discrete):
        return (space.start + rng.integers(0, space.n, size=(steps, num_envs))).astype(np.int64)
    low, high = np.broadcast_to(space.low, space.shape), np.broadcast_to(space.high, space.shape)
    return rng.uniform(low, high, size=(steps, num_envs) + space.shape).astype(space.dtype)


class Runner:
    """One vector env of `env_id` in `mode`, reset and warmed up, timed pass by pass."""

    def __init__(self, env_id: str, num_envs: int, mode: str, steps: int, warmup: int = 50, seed: int = 0):
        self.envs = make_vector(env_id, num_envs, mode)
        self.num_envs, self.steps = num_envs, steps
        rng = np.random.default_rng(seed)
        self.actions = sample_actions(self.envs.single_action_space, steps, num_envs, rng)
        self.envs.reset(seed=seed)
        for t in range(warmup):
            self.envs.step(self.actions[t % steps])

    def timed_pass(self) -> float:
        """Agent steps per second (summed over envs) of one pass of `steps` vector steps."""
        step, actions = self.envs.step, self.actions
        t0 = time.perf_counter()
        for t in range(self.steps):
            step(actions[t])
        return self.steps * self.num_envs / (time.perf_counter() - t0)

    def close(self):
        self.envs.close()


def measure(env_id: str, num_envs: int, modes: list[str], steps: int, repeats: int, warmup: int = 50,
            seed: int = 0) -> dict[str, list[float]]:
    """Steps/s of each mode's `repeats` passes; the modes take turns pass by pass, so that a change of
    load on a shared machine hits them alike."""
    runners = {}
    try:
        for mode in modes:
            runners[mode] = Runner(env_id, num_envs, mode, steps, warmup, seed)
        rates = {mode: [] for mode in modes}
        for _ in range(repeats):
            for mode, runner in runners.items():
                rates[mode].append(runner.timed_pass())
        return rates
    finally:
        for runner in runners.values():
            runner.close()


def machine() -> str:
    """The study's machine line (CPU model, cores) and the load average when the run started."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return f"{study.machine()}, load average at start {load}"


def versions() -> str:
    return study.versions(("gymnasium", "numpy", "mujoco", "minatar", "ale-py", "opencv-python-headless", "opencv-python"))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--envs", default=",".join(DEFAULT_ENVS), help="comma-separated Gymnasium ids")
    p.add_argument("--num-envs", default=None,
                   help="comma-separated counts for every env (default: per family, "
                        + "; ".join(f"{k} {v}" for k, v in DEFAULT_NUM_ENVS.items()) + ")")
    p.add_argument("--modes", default="sync,async", help="comma-separated: sync, async, native (ALE only)")
    p.add_argument("--steps", type=int, default=1000, help="vector steps per timed pass")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    env_ids = [e for e in args.envs.split(",") if e]
    modes = [m for m in args.modes.split(",") if m]
    print(f"Machine: {machine()}")
    print(f"Versions: {versions()}")
    print(f"{args.steps} vector steps per pass, median of {args.repeats} passes after {args.warmup} warm-up steps; "
          "autoreset SAME_STEP; uniformly random actions\n")
    print("| env | family | mode | num_envs | steps/s (median) | range | frames/s (median) |")
    print("|---|---|---|---:|---:|---:|---:|")
    for env_id in env_ids:
        fam = family(env_id)
        counts = [int(n) for n in args.num_envs.split(",")] if args.num_envs else DEFAULT_NUM_ENVS[fam]
        env_modes = [m for m in modes if m != "native" or fam == "atari"]
        for n in counts:
            rates = measure(env_id, n, env_modes, args.steps, args.repeats, args.warmup, args.seed)
            for mode in env_modes:
                med = statistics.median(rates[mode])
                lo, hi = min(rates[mode]), max(rates[mode])
                print(f"| {env_id} | {fam} | {mode} | {n} | {med:,.0f} | {lo:,.0f}-{hi:,.0f} "
                      f"| {med * FRAMES_PER_STEP.get(fam, 1):,.0f} |", flush=True)

if __name__ == "__main__":
    main()
