"""Delay: the first action decides the reward, paid on the last of the episode's `delay` steps.

Each episode a target action (0 or 1) is drawn from the env's own stream and shown as a bit
(-1 for action 0, +1 for action 1). The action taken on the episode's first step is stored; every
later action is ignored. The episode lasts exactly L = `delay` steps and terminates on the L-th,
which pays 1 if the stored action equals the target and 0 otherwise; every other step pays 0. So the
reward arrives L - 1 steps after the one action that earned it (with L = 1 on that very step).
Score == return: 0 or 1 per episode.

Observation, float32[5] (Markov: the reward depends only on what it shows):
  0  target bit, -1 (action 0 pays) or +1 (action 1 pays)
  1  1 if the stored first action is 0, else 0
  2  1 if the stored first action is 1, else 0
  3  1 while no action is stored yet (the episode's first step), else 0
  4  steps left / L: 1 at the episode's start, then (L - k) / L after k steps (0 in a final obs)
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces
from numba import njit, prange

from fastenvs._core import STATS_KEY, FastVectorEnv, end_of_step, rand_u32, skip_step

f32 = np.float32


@njit(cache=True, inline="always")
def _new_episode(i, target, stored, t, rng, obs):
    target[i] = np.int32(rand_u32(rng, i) >> np.uint32(31))  # the top bit
    stored[i] = -1
    t[i] = 0
    obs[i, 0] = f32(2 * target[i] - 1)
    obs[i, 1] = f32(0.0)
    obs[i, 2] = f32(0.0)
    obs[i, 3] = f32(1.0)
    obs[i, 4] = f32(1.0)


@njit(cache=True, parallel=True)
def _reset_kernel(mask, target, stored, t, rng, obs):
    for i in prange(mask.shape[0]):
        if mask[i]:
            _new_episode(i, target, stored, t, rng, obs)


@njit(cache=True, parallel=True)
def _step_all(actions, skip, target, stored, t, rng, delay, obs, final_obs, rewards, terms, truncs, ep,
              max_steps):
    for i in prange(actions.shape[0]):
        if skip_step(i, skip, rewards, terms, truncs):
            continue
        if t[i] == 0:
            stored[i] = actions[i]
            obs[i, 1 + actions[i]] = f32(1.0)
            obs[i, 3] = f32(0.0)
        t[i] += 1
        obs[i, 4] = f32(delay - t[i]) / f32(delay)
        terminated = t[i] >= delay
        reward = f32(1.0) if terminated and stored[i] == target[i] else f32(0.0)
        if end_of_step(i, reward, reward, terminated, ep, max_steps, rewards, terms, truncs):
            for k in range(5):
                final_obs[i, k] = obs[i, k]
            _new_episode(i, target, stored, t, rng, obs)


class Delay(FastVectorEnv):
    """N delayed-credit tasks (see the module docstring for the rules and observation).

    `delay` = L (default 50, >= 1) is the episode length. `max_steps` (default 0 = none) is the base
    class's truncation limit; a value below L would cut episodes before their reward.
    State, int32 per env: `self.target` (0/1), `self.stored` (the first action, -1 before it),
    `self.t` (steps taken this episode).
    """

    def __init__(self, num_envs: int, seed: int = 0, delay: int = 50, max_steps: int = 0,
                 copy: bool = False,
                 autoreset_mode: str = "same_step", stats_key: str = STATS_KEY):
        if not isinstance(delay, (int, np.integer)) or isinstance(delay, bool) or delay < 1:
            raise ValueError(f"delay={delay!r} is not allowed: use an integer >= 1 (the episode length)")
        self.delay = int(delay)
        low = np.array([-1.0, 0.0, 0.0, 0.0, 0.0], dtype=np.float32)
        obs_space = spaces.Box(low, np.ones(5, dtype=np.float32), dtype=np.float32)
        super().__init__(num_envs, seed, obs_space, spaces.Discrete(2), max_steps, copy,
                         autoreset_mode, stats_key)
        n = self.num_envs
        self.target = np.zeros(n, dtype=np.int32)
        self.stored = np.full(n, -1, dtype=np.int32)
        self.t = np.zeros(n, dtype=np.int32)

    def _reset_envs(self, mask: np.ndarray) -> None:
        _reset_kernel(mask, self.target, self.stored, self.t, self._rng, self._obs)

    def _step_kernel(self, actions: np.ndarray) -> None:
        _step_all(actions, self._pending, self.target, self.stored, self.t, self._rng, self.delay,
                  self._obs, self._final_obs, self._rewards, self._terms, self._truncs, self._ep,
                  self.max_steps)
