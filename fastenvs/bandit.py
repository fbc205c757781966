"""Bandit: one-step episodes, the reward-horizon-1 end of the suite.

Each episode one of `arms` arms is drawn uniformly at random (from the env's own stream) as the
paying arm and shown in the observation as a one-hot vector. Pulling it gives reward 1, any other
arm 0; with `noise` > 0 a Gaussian of that standard deviation is added to every reward. Every episode
is exactly one step long (terminated), so the next episode's arm is drawn in the same call.

Score: 1 if the shown arm was pulled, else 0 -- the noiseless part of the reward, so that the
random-policy score stays 1/arms and the maximum 1 whatever the noise (score == return when
noise == 0, the default).
"""

from __future__ import annotations

import math

import numpy as np
from gymnasium import spaces
from numba import njit, prange

from fastenvs._core import STATS_KEY, FastVectorEnv, end_of_step, rand_float, rand_int, skip_step

f32 = np.float32


@njit(cache=True, inline="always")
def _new_episode(i, best, rng, obs):
    b = rand_int(rng, i, obs.shape[1])
    best[i] = b
    for k in range(obs.shape[1]):
        obs[i, k] = f32(0.0)
    obs[i, b] = f32(1.0)


@njit(cache=True, inline="always")
def _gauss(rng, i):
    """Standard normal draw from env i's stream (Box-Muller on two 24-bit uniforms; |z| < 5.8)."""
    u1 = 1.0 - np.float64(rand_float(rng, i))  # in (0, 1], so the log is finite
    u2 = np.float64(rand_float(rng, i))
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


@njit(cache=True, parallel=True)
def _reset_kernel(mask, best, rng, obs):
    for i in prange(mask.shape[0]):
        if mask[i]:
            _new_episode(i, best, rng, obs)


@njit(cache=True, parallel=True)
def _step_all(actions, skip, best, rng, obs, final_obs, rewards, terms, truncs, ep, max_steps, noise):
    for i in prange(actions.shape[0]):
        if skip_step(i, skip, rewards, terms, truncs):
            continue
        hit = 1.0 if actions[i] == best[i] else 0.0
        reward = hit
        if noise > 0.0:
            reward += noise * _gauss(rng, i)
        end_of_step(i, f32(reward), hit, True, ep, max_steps, rewards, terms, truncs)
        for k in range(obs.shape[1]):
            final_obs[i, k] = obs[i, k]
        _new_episode(i, best, rng, obs)


class Bandit(FastVectorEnv):
    """N contextual bandits with one-step episodes.

    Observation (float32, `arms`): one-hot of this episode's paying arm.
    Actions: `Discrete(arms)`, the arm to pull.
    Reward: 1 for the shown arm, 0 otherwise, plus `noise` * N(0, 1) when noise > 0.
    Every step terminates its episode (length 1). `max_steps` (default 0 = none) never matters here.
    `self.best` (int32, num_envs) holds each env's paying arm for the current episode.
    """

    def __init__(self, num_envs: int, seed: int = 0, arms: int = 4, noise: float = 0.0,
                 max_steps: int = 0, copy: bool = False,
                 autoreset_mode: str = "same_step", stats_key: str = STATS_KEY):
        if not isinstance(arms, (int, np.integer)) or isinstance(arms, bool) or arms < 2:
            raise ValueError(f"arms={arms!r} is not allowed: use an integer >= 2")
        if (not isinstance(noise, (int, float, np.integer, np.floating)) or isinstance(noise, bool)
                or not math.isfinite(noise) or noise < 0):
            raise ValueError(f"noise={noise!r} is not allowed: use a finite number >= 0 (reward noise std)")
        self.arms = int(arms)
        self.noise = float(noise)
        obs_space = spaces.Box(0.0, 1.0, shape=(self.arms,), dtype=np.float32)
        super().__init__(num_envs, seed, obs_space, spaces.Discrete(self.arms), max_steps, copy,
                         autoreset_mode, stats_key)
        self.best = np.zeros(self.num_envs, dtype=np.int32)

    def _reset_envs(self, mask: np.ndarray) -> None:
        _reset_kernel(mask, self.best, self._rng, self._obs)

    def _step_kernel(self, actions: np.ndarray) -> None:
        _step_all(actions, self._pending, self.best, self._rng, self._obs, self._final_obs, self._rewards,
                  self._terms, self._truncs, self._ep, self.max_steps, self.noise)
