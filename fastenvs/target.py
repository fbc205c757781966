"""Target: one-step episodes with a continuous action, the Box-action check of the suite's kit.

Each episode a target x is drawn uniformly in [-1, 1)^dim (from the env's own stream) and shown as the
observation; the action is a point a in [-1, 1]^dim and the reward is minus the mean squared distance,
-(1/dim) * sum_k (a_k - x_k)^2, with a clipped to [-1, 1] (by the vector-env shell, see
`FastVectorEnv`). Every episode is exactly one step long (terminated), so the next episode's target is
drawn in the same call. With dim = 1 (the default) the reward is -(a - x)^2.

Score: the reward. A uniformly random action scores -2/3 on average whatever dim (E(a - x)^2 for two
independent uniforms on [-1, 1]); a = x scores 0, the maximum.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces
from numba import njit, prange

from fastenvs._core import STATS_KEY, FastVectorEnv, end_of_step, rand_float, skip_step

f32 = np.float32


@njit(cache=True, inline="always")
def _new_episode(i, rng, obs):
    for k in range(obs.shape[1]):
        obs[i, k] = f32(2.0) * rand_float(rng, i) - f32(1.0)


@njit(cache=True, parallel=True)
def _reset_kernel(mask, rng, obs):
    for i in prange(mask.shape[0]):
        if mask[i]:
            _new_episode(i, rng, obs)


@njit(cache=True, parallel=True)
def _step_all(actions, skip, rng, obs, final_obs, rewards, terms, truncs, ep, max_steps):
    dim = obs.shape[1]
    for i in prange(actions.shape[0]):
        if skip_step(i, skip, rewards, terms, truncs):
            continue
        err = 0.0
        for k in range(dim):
            # the shell clips already; clipping here too keeps the reward in [-4, 0] for direct kernel calls
            a = min(max(np.float64(actions[i, k]), -1.0), 1.0)
            d = a - np.float64(obs[i, k])
            err += d * d
        reward = f32(-err / dim)
        # score gain = the float32 reward itself, so that the episode's score equals its return exactly
        end_of_step(i, reward, np.float64(reward), True, ep, max_steps, rewards, terms, truncs)
        for k in range(dim):
            final_obs[i, k] = obs[i, k]
        _new_episode(i, rng, obs)


class Target(FastVectorEnv):
    """N contextual continuous bandits with one-step episodes.

    Observation (float32, `dim`): this episode's target x, uniform in [-1, 1) per entry.
    Actions: `Box(-1, 1, (dim,), float32)`, the guess a; values outside [-1, 1] are clipped.
    Reward: -(1/dim) * sum_k (a_k - x_k)^2, in [-4, 0]; the score is the same.
    Every step terminates its episode (length 1). `max_steps` (default 0 = none) never matters here.
    The current targets are the observation itself (`env._obs`); there is no other state.
    """

    def __init__(self, num_envs: int, seed: int = 0, dim: int = 1, max_steps: int = 0, copy: bool = False,
                 autoreset_mode: str = "same_step", stats_key: str = STATS_KEY):
        if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool) or dim < 1:
            raise ValueError(f"dim={dim!r} is not allowed: use an integer >= 1")
        self.dim = int(dim)
        obs_space = spaces.Box(-1.0, 1.0, shape=(self.dim,), dtype=np.float32)
        action_space = spaces.Box(-1.0, 1.0, shape=(self.dim,), dtype=np.float32)
        super().__init__(num_envs, seed, obs_space, action_space, max_steps, copy,
                         autoreset_mode, stats_key)

    def _reset_envs(self, mask: np.ndarray) -> None:
        _reset_kernel(mask, self._rng, self._obs)

    def _step_kernel(self, actions: np.ndarray) -> None:
        _step_all(actions, self._pending, self._rng, self._obs, self._final_obs, self._rewards, self._terms,
                  self._truncs, self._ep, self.max_steps)
