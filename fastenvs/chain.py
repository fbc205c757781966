"""Chain: a long corridor with a tiny reward next to the start and the real one far away.

States 0 .. N - 1 (N = `length`). Each episode starts in state 1, next to the left end. Actions:
0 moves one state left, 1 one state right. Entering state 0 pays `small_reward` (default 0.01) and
terminates; entering state N - 1 pays 1 and terminates; every other step pays 0. The episode is
truncated after `max_steps` steps (default N + 9): the right end is N - 2 steps away, so the optimal
policy (always right) has 11 steps to spare, while a random walk almost never gets there and almost
always falls into the left end first. Score == return: 1, `small_reward` or 0 per episode.

Observation, float32[9] (Markov; the step count is not shown because the time limit truncates):
  0     position / (N - 1), in [0, 1] (0 or 1 only in a final obs)
  1..8  one-hot of the position's eighth of the chain, bin = position * 8 // N
"""

from __future__ import annotations

import math

import numpy as np
from gymnasium import spaces
from numba import njit, prange

from fastenvs._core import STATS_KEY, FastVectorEnv, end_of_step, skip_step

f32 = np.float32
BINS = 8
START = 1


@njit(cache=True, inline="always")
def _write_obs(i, pos, length, obs):
    p = pos[i]
    obs[i, 0] = f32(p) / f32(length - 1)
    b = (p * BINS) // length
    for k in range(BINS):
        obs[i, 1 + k] = f32(1.0) if k == b else f32(0.0)


@njit(cache=True, parallel=True)
def _reset_kernel(mask, pos, length, obs):
    for i in prange(mask.shape[0]):
        if mask[i]:
            pos[i] = START
            _write_obs(i, pos, length, obs)


@njit(cache=True, parallel=True)
def _step_all(actions, skip, pos, length, small_reward, obs, final_obs, rewards, terms, truncs, ep, max_steps):
    for i in prange(actions.shape[0]):
        if skip_step(i, skip, rewards, terms, truncs):
            continue
        p = pos[i] + (1 if actions[i] == 1 else -1)
        pos[i] = p
        reward = 0.0  # float64, so the episode sums hold small_reward exactly
        terminated = False
        if p == 0:
            reward = small_reward
            terminated = True
        elif p == length - 1:
            reward = 1.0
            terminated = True
        _write_obs(i, pos, length, obs)
        if end_of_step(i, reward, reward, terminated, ep, max_steps, rewards, terms, truncs):
            for k in range(1 + BINS):
                final_obs[i, k] = obs[i, k]
            pos[i] = START
            _write_obs(i, pos, length, obs)


class Chain(FastVectorEnv):
    """N chains of `length` states (see the module docstring for the rules and observation).

    `length` N (default 64, >= 3); `small_reward` in [0, 1) (default 0.01) for the left end;
    `max_steps` (default None = N + 9; 0 = no limit) truncates. The chain is deterministic, so the
    seed only names the run. `self.pos` (int32, num_envs) is each env's state.
    """

    def __init__(self, num_envs: int, seed: int = 0, length: int = 64, small_reward: float = 0.01,
                 max_steps: int | None = None, copy: bool = False,
                 autoreset_mode: str = "same_step", stats_key: str = STATS_KEY):
        if not isinstance(length, (int, np.integer)) or isinstance(length, bool) or length < 3:
            raise ValueError(f"length={length!r} is not allowed: use an integer >= 3 (states 0 .. length - 1)")
        if (not isinstance(small_reward, (int, float, np.integer, np.floating)) or isinstance(small_reward, bool)
                or not math.isfinite(small_reward) or not 0 <= small_reward < 1):
            raise ValueError(f"small_reward={small_reward!r} is not allowed: use a number in [0, 1)")
        self.length = int(length)
        self.small_reward = float(small_reward)
        if max_steps is None:
            max_steps = self.length + 9
        obs_space = spaces.Box(0.0, 1.0, shape=(1 + BINS,), dtype=np.float32)
        super().__init__(num_envs, seed, obs_space, spaces.Discrete(2), max_steps, copy,
                         autoreset_mode, stats_key)
        self.pos = np.full(self.num_envs, START, dtype=np.int32)

    def _reset_envs(self, mask: np.ndarray) -> None:
        _reset_kernel(mask, self.pos, self.length, self._obs)

    def _step_kernel(self, actions: np.ndarray) -> None:
        _step_all(actions, self._pending, self.pos, self.length, self.small_reward, self._obs,
                  self._final_obs, self._rewards, self._terms, self._truncs, self._ep, self.max_steps)

    def render(self):
        """RGB frame (64, N * w, 3) uint8 of env 0, w = max(4, ceil(512 / N)) px a state: the left
        end dull orange, the right end gold, the agent blue, other states dark with one-pixel gaps."""
        n = self.length
        w = max(4, -(-512 // n))
        img = np.full((64, n * w, 3), 10, dtype=np.uint8)
        for k in range(n):
            img[16:48, k * w + 1:(k + 1) * w] = 50
        img[16:48, 1:w] = (150, 90, 40)
        img[16:48, (n - 1) * w + 1:n * w] = (240, 200, 40)
        p = int(self.pos[0])
        img[8:56, p * w + 1:(p + 1) * w] = (60, 120, 240)
        return img
