"""Noop: an env that does nothing, for measuring what training costs without an env.

Observations are all zeros, every reward is `reward` (default 0), no episode ever terminates, and
with the default `max_steps=0` none is ever truncated either. With Breakout's shapes (118 floats, 3 actions), a
training run on it times the network, the rollout bookkeeping and the advantage kernel alone: the
upper bound on training speed for an env of that size. It has no random-policy or maximum score,
so it is not part of the study.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces
from numba import njit

from fastenvs._core import STATS_KEY, FastVectorEnv, end_of_step, skip_step


@njit(cache=True)
def _step_kernel(actions, skip, final_obs, rewards, terms, truncs, ep, max_steps, reward):
    for i in range(actions.shape[0]):
        if skip_step(i, skip, rewards, terms, truncs):
            continue
        # final_obs stays zero, as the obs does: nothing to copy when a time limit ends an episode
        end_of_step(i, np.float32(reward), reward, False, ep, max_steps, rewards, terms, truncs)


class Noop(FastVectorEnv):
    """N copies of an env whose observation is always zero and whose reward is always `reward`.

    With `reward=1` and a time limit it is the truncation probe: every step pays 1, no episode ever
    terminates, so a learner that handles truncation right values every state as the untruncated
    return (1 / (1 - gamma) for a discounted value), with nothing in the obs to tell time.

    Observation: float32[obs_dim] of zeros. Actions: `Discrete(num_actions)`, all ignored.
    No termination; truncation after `max_steps` steps (0 = never).
    """

    def __init__(self, num_envs: int, seed: int = 0, obs_dim: int = 118, num_actions: int = 3,
                 max_steps: int = 0, reward: float = 0.0, copy: bool = False,
                 autoreset_mode: str = "same_step", stats_key: str = STATS_KEY):
        if not isinstance(obs_dim, (int, np.integer)) or obs_dim < 1:
            raise ValueError(f"obs_dim={obs_dim!r} is not allowed: use an integer >= 1")
        if isinstance(reward, bool) or not isinstance(reward, (int, float, np.integer, np.floating)) or not np.isfinite(reward):
            raise ValueError(f"reward={reward!r} is not allowed: use a finite number")
        self.reward = float(reward)
        if not isinstance(num_actions, (int, np.integer)) or num_actions < 1:
            raise ValueError(f"num_actions={num_actions!r} is not allowed: use an integer >= 1")
        obs_space = spaces.Box(-1.0, 1.0, shape=(int(obs_dim),), dtype=np.float32)
        super().__init__(num_envs, seed, obs_space, spaces.Discrete(int(num_actions)), max_steps, copy,
                         autoreset_mode, stats_key)

    def _reset_envs(self, mask: np.ndarray) -> None:
        self._obs[mask] = 0.0

    def _step_kernel(self, actions: np.ndarray) -> None:
        _step_kernel(actions, self._pending, self._final_obs, self._rewards, self._terms, self._truncs,
                     self._ep, self.max_steps, self.reward)
