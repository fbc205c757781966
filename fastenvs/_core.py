"""Shared machinery of the fastenvs: per-env random numbers, episode bookkeeping, the vector-env shell.

Every env keeps its state as struct-of-arrays over N envs and advances all of them in one
`@njit(cache=True)` call. Each env owns one xorshift32 word, seeded from (seed, env index), so env i
replays the same trajectory whatever N is and whatever the other envs do.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from numba import njit

# Columns of the per-env episode accumulator `ep` (float64 so long episodes sum exactly enough).
EP_RETURN, EP_LENGTH, EP_SCORE = 0, 1, 2


def seed_rng(seed: int, num_envs: int) -> np.ndarray:
    """One non-zero xorshift32 word per env, a splitmix64 hash of (seed, env index)."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ValueError(f"seed={seed!r} is not allowed: use an integer")
    mask = (1 << 64) - 1
    words = np.empty(num_envs, dtype=np.uint32)
    for i in range(num_envs):
        z = ((int(seed) & mask) * 0x9E3779B97F4A7C15 + (i + 1) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        z ^= z >> 31
        words[i] = (z & 0xFFFFFFFF) or 0x6D2B79F5  # xorshift must never hold 0
    return words


@njit(cache=True, inline="always")
def rand_u32(rng, i):
    """Advance env i's xorshift32 word and return it."""
    x = rng[i]  # every step re-cast: Numba widens uint32 shifts to 64 bits
    x = np.uint32(x ^ (x << np.uint32(13)))
    x = np.uint32(x ^ (x >> np.uint32(17)))
    x = np.uint32(x ^ (x << np.uint32(5)))
    rng[i] = x
    return x


@njit(cache=True, inline="always")
def rand_float(rng, i):
    """Uniform float in [0, 1) from env i's stream (24 random bits)."""
    return np.float32(rand_u32(rng, i) >> np.uint32(8)) * np.float32(1.0 / 16777216.0)


@njit(cache=True, inline="always")
def rand_int(rng, i, n):
    """Uniform integer in [0, n) from env i's stream."""
    return np.int32(rand_u32(rng, i) % np.uint32(n))


@njit(cache=True, inline="always")
def end_of_step(i, reward, score_gain, terminated, ep, max_steps, rewards, terms, truncs):
    """Record env i's step in the outputs and its episode accumulator; return whether it ended.

    A time limit (`max_steps` agent steps, 0 = none) truncates unless the step also terminated.
    """
    rewards[i] = reward
    ep[i, EP_RETURN] += reward
    ep[i, EP_LENGTH] += 1.0
    ep[i, EP_SCORE] += score_gain
    truncated = (not terminated) and max_steps > 0 and ep[i, EP_LENGTH] >= max_steps
    terms[i] = terminated
    truncs[i] = truncated
    return terminated or truncated


class FastVectorEnv(VectorEnv):
    """Gymnasium VectorEnv shell around an env's Numba kernels.

    Subclasses set `single_observation_space`, `single_action_space` and implement
    `_reset_envs(mask)` (start new episodes where mask is True, writing `self._obs`) and
    `_step_kernel(actions)` (advance all envs, fill rewards/terms/truncs/ep, copy the obs of each
    ended env into `self._final_obs` and start its next episode). Autoreset is same-step: an env that
    ended returns the first obs of its next episode, and `infos["final_obs"]` holds the last one.
    """

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": ["rgb_array"]}
    render_mode = "rgb_array"

    def __init__(self, num_envs: int, seed: int, obs_space: spaces.Box, action_space: spaces.Discrete,
                 max_steps: int, copy: bool = True):
        if not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise ValueError(f"num_envs={num_envs!r} is not allowed: use an integer >= 1")
        if not isinstance(max_steps, (int, np.integer)) or max_steps < 0:
            raise ValueError(f"max_steps={max_steps!r} is not allowed: use an integer >= 0 (0 = no limit)")
        self.num_envs = int(num_envs)
        self.max_steps = int(max_steps)
        self.copy = copy
        self.single_observation_space = obs_space
        self.single_action_space = action_space
        self.observation_space = batch_space(obs_space, self.num_envs)
        self.action_space = batch_space(action_space, self.num_envs)
        n, d = self.num_envs, obs_space.shape[0]
        self._obs = np.zeros((n, d), dtype=np.float32)
        self._final_obs = np.zeros((n, d), dtype=np.float32)
        self._rewards = np.zeros(n, dtype=np.float32)
        self._terms = np.zeros(n, dtype=np.bool_)
        self._truncs = np.zeros(n, dtype=np.bool_)
        self._ep = np.zeros((n, 3), dtype=np.float64)
        self._rng = seed_rng(seed, n)
        self._all = np.ones(n, dtype=np.bool_)

    # --- subclass hooks -------------------------------------------------------------------------
    def _reset_envs(self, mask: np.ndarray) -> None:
        raise NotImplementedError

    def _step_kernel(self, actions: np.ndarray) -> None:
        raise NotImplementedError

    # --- gymnasium API --------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Start a new episode in every env; a seed restarts every env's random stream."""
        if seed is not None:
            self._rng = seed_rng(seed, self.num_envs)
        self._ep[:] = 0.0
        self._reset_envs(self._all)
        return (self._obs.copy() if self.copy else self._obs), {}

    def step(self, actions):
        actions = np.asarray(actions)
        n_actions = self.single_action_space.n
        if actions.shape != (self.num_envs,) or not np.issubdtype(actions.dtype, np.integer):
            raise ValueError(f"actions of shape {actions.shape} and dtype {actions.dtype} are not allowed: "
                             f"use integers of shape ({self.num_envs},)")
        if actions.size and (actions.min() < 0 or actions.max() >= n_actions):
            raise ValueError(f"action {int(actions.min() if actions.min() < 0 else actions.max())} is not "
                             f"allowed: use 0..{n_actions - 1}")
        self._step_kernel(actions.astype(np.int32, copy=False))
        done = self._terms | self._truncs
        infos = {}
        if done.any():
            infos = self._episode_infos(done)
        if self.copy:
            return self._obs.copy(), self._rewards.copy(), self._terms.copy(), self._truncs.copy(), infos
        return self._obs, self._rewards, self._terms, self._truncs, infos

    def _episode_infos(self, done: np.ndarray) -> dict:
        """Pre-reset obs and statistics of the episodes that ended this step (dense, masked by done)."""
        infos = {
            "final_obs": self._final_obs.copy(), "_final_obs": done,
            "episode": {"r": self._ep[:, EP_RETURN].astype(np.float32),
                        "l": self._ep[:, EP_LENGTH].astype(np.int64),
                        "score": self._ep[:, EP_SCORE].astype(np.float32)},
            "_episode": done,
        }
        self._ep[done] = 0.0
        return infos

    def render(self):
        """RGB frame (H, W, 3) uint8 of env 0."""
        raise NotImplementedError(f"{type(self).__name__} has no render()")

    def close_extras(self, **kwargs):
        pass
