"""Noop: an env that does nothing, for measuring what training costs without an env.

Observations are all zeros, every reward is 0, no episode ever terminates, and with the default
`max_steps=0` none is ever truncated either. With Breakout's shapes (118 floats, 3 actions), a
training run on it times the network, the rollout bookkeeping and the advantage kernel alone: the
upper bound on training speed for an env of that size. It has no random-policy or maximum score,
so it is not part of the study.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces
from numba import njit

from fastenvs._core import FastVectorEnv, end_of_step


@njit(cache=True)
def _step_kernel(actions, final_obs, rewards, terms, truncs, ep, max_steps):
    for i in range(actions.shape[0]):
        # final_obs stays zero, as the obs does: nothing to copy when a time limit ends an episode
        end_of_step(i, np.float32(0.0), 0.0, False, ep, max_steps, rewards, terms, truncs)


class Noop(FastVectorEnv):
    """N copies of an env whose observation is always zero and whose reward is always 0.

    Observation: float32[obs_dim] of zeros. Actions: `Discrete(num_actions)`, all ignored.
    No termination; truncation after `max_steps` steps (0 = never).
    """

    def __init__(self, num_envs: int, seed: int = 0, obs_dim: int = 118, num_actions: int = 3,
                 max_steps: int = 0, copy: bool = True):
        if not isinstance(obs_dim, (int, np.integer)) or obs_dim < 1:
            raise ValueError(f"obs_dim={obs_dim!r} is not allowed: use an integer >= 1")
        if not isinstance(num_actions, (int, np.integer)) or num_actions < 1:
            raise ValueError(f"num_actions={num_actions!r} is not allowed: use an integer >= 1")
        obs_space = spaces.Box(-1.0, 1.0, shape=(int(obs_dim),), dtype=np.float32)
        super().__init__(num_envs, seed, obs_space, spaces.Discrete(int(num_actions)), max_steps, copy)

    def _reset_envs(self, mask: np.ndarray) -> None:
        self._obs[mask] = 0.0

    def _step_kernel(self, actions: np.ndarray) -> None:
        _step_kernel(actions, self._final_obs, self._rewards, self._terms, self._truncs, self._ep,
                     self.max_steps)
