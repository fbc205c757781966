"""Squared: walk to a target on a small grid; one sparse reward at the end of a short episode.

The grid is `size` x `size` cells, x = column (0 at the left), y = row (0 at the top). Each episode
the agent starts at the centre (size // 2, size // 2) and a target cell is drawn uniformly among the
other size * size - 1 cells (from the env's own stream). Actions: 0 noop, 1 up (y - 1), 2 down
(y + 1), 3 left (x - 1), 4 right (x + 1). After the move, in this order:
  * leaving the grid: reward -1, terminated (the final obs shows the agent one cell outside);
  * standing on the target: reward +1, terminated;
  * the `time_limit`-th step of the episode: reward -1, terminated. Running out of time is part of
    the task (the clock is in the observation), so it is a termination, not a truncation.
Every other step gives 0. Score == return: -1 or +1 per episode.

Observation, float32[5]: agent x, agent y, target x, target y, each mapped by v -> 2 v / (size - 1) - 1
onto [-1, 1] (an agent outside the grid in a final obs lies one cell beyond), and the fraction of
the time limit left, (time_limit - steps taken) / time_limit, in (0, 1] (0 in the final obs of an
episode that used its last step).
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces
from numba import njit, prange

from fastenvs._core import STATS_KEY, FastVectorEnv, end_of_step, rand_int, skip_step

f32 = np.float32

NOOP, UP, DOWN, LEFT, RIGHT = 0, 1, 2, 3, 4
_DX = np.array([0, 0, 0, -1, 1], dtype=np.int32)
_DY = np.array([0, -1, 1, 0, 0], dtype=np.int32)


@njit(cache=True, inline="always")
def _write_obs(i, ax, ay, tx, ty, t, size, time_limit, obs):
    m = size - 1  # v -> (2 v - m) / m, exact in the numerator
    obs[i, 0] = f32(2 * ax[i] - m) / f32(m)
    obs[i, 1] = f32(2 * ay[i] - m) / f32(m)
    obs[i, 2] = f32(2 * tx[i] - m) / f32(m)
    obs[i, 3] = f32(2 * ty[i] - m) / f32(m)
    obs[i, 4] = f32(time_limit - t[i]) / f32(time_limit)


@njit(cache=True, inline="always")
def _new_episode(i, ax, ay, tx, ty, t, rng, size, time_limit, obs):
    c = size // 2
    centre = c * size + c
    k = rand_int(rng, i, size * size - 1)  # cell index among all but the centre
    if k >= centre:
        k += 1
    ax[i] = c
    ay[i] = c
    tx[i] = k % size
    ty[i] = k // size
    t[i] = 0
    _write_obs(i, ax, ay, tx, ty, t, size, time_limit, obs)


@njit(cache=True, parallel=True)
def _reset_kernel(mask, ax, ay, tx, ty, t, rng, size, time_limit, obs):
    for i in prange(mask.shape[0]):
        if mask[i]:
            _new_episode(i, ax, ay, tx, ty, t, rng, size, time_limit, obs)


@njit(cache=True, parallel=True)
def _step_all(actions, skip, dxs, dys, ax, ay, tx, ty, t, rng, size, time_limit, obs, final_obs, rewards,
              terms, truncs, ep, max_steps):
    for i in prange(actions.shape[0]):
        if skip_step(i, skip, rewards, terms, truncs):
            continue
        a = actions[i]
        x = ax[i] + dxs[a]
        y = ay[i] + dys[a]
        ax[i] = x
        ay[i] = y
        t[i] += 1
        reward = f32(0.0)
        terminated = False
        if x < 0 or x >= size or y < 0 or y >= size:
            reward = f32(-1.0)
            terminated = True
        elif x == tx[i] and y == ty[i]:
            reward = f32(1.0)
            terminated = True
        elif t[i] >= time_limit:
            reward = f32(-1.0)
            terminated = True
        _write_obs(i, ax, ay, tx, ty, t, size, time_limit, obs)
        if end_of_step(i, reward, reward, terminated, ep, max_steps, rewards, terms, truncs):
            for k in range(5):
                final_obs[i, k] = obs[i, k]
            _new_episode(i, ax, ay, tx, ty, t, rng, size, time_limit, obs)


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


class Squared(FastVectorEnv):
    """N grid walks to a random target (see the module docstring for the rules and observation).

    `size` (default 11, >= 2) is the grid's side; `time_limit` (default 3 * size) the steps an episode
    may take, at least the distance to the farthest target, 2 * (size // 2), so every target can be
    reached. `max_steps` (default 0 = none) is the base class's truncation limit, unused by default.
    State, int32 per env: `self.ax`, `self.ay` (agent), `self.tx`, `self.ty` (target), `self.t`
    (steps taken this episode).
    """

    def __init__(self, num_envs: int, seed: int = 0, size: int = 11, time_limit: int | None = None,
                 max_steps: int = 0, copy: bool = False,
                 autoreset_mode: str = "same_step", stats_key: str = STATS_KEY):
        if not _is_int(size) or size < 2:
            raise ValueError(f"size={size!r} is not allowed: use an integer >= 2")
        size = int(size)
        farthest = 2 * (size // 2)
        if time_limit is None:
            time_limit = 3 * size
        if not _is_int(time_limit) or time_limit < farthest:
            raise ValueError(f"time_limit={time_limit!r} is not allowed: use an integer >= {farthest} "
                             f"(the farthest target's distance on a {size} x {size} grid), or None for 3 * size")
        self.size = size
        self.time_limit = int(time_limit)
        beyond = np.float32(size + 1) / np.float32(size - 1)  # one cell outside, rounded as the kernel does
        low = np.array([-beyond, -beyond, -1.0, -1.0, 0.0], dtype=np.float32)
        high = np.array([beyond, beyond, 1.0, 1.0, 1.0], dtype=np.float32)
        super().__init__(num_envs, seed, spaces.Box(low, high, dtype=np.float32), spaces.Discrete(5),
                         max_steps, copy,
                         autoreset_mode, stats_key)
        n = self.num_envs
        self.ax, self.ay, self.tx, self.ty, self.t = (np.zeros(n, dtype=np.int32) for _ in range(5))

    def _reset_envs(self, mask: np.ndarray) -> None:
        _reset_kernel(mask, self.ax, self.ay, self.tx, self.ty, self.t, self._rng, self.size,
                      self.time_limit, self._obs)

    def _step_kernel(self, actions: np.ndarray) -> None:
        _step_all(actions, self._pending, _DX, _DY, self.ax, self.ay, self.tx, self.ty, self.t, self._rng,
                  self.size, self.time_limit, self._obs, self._final_obs, self._rewards, self._terms,
                  self._truncs, self._ep, self.max_steps)

    def render(self):
        """RGB frame (size * c, size * c, 3) uint8 of env 0, c = max(8, ceil(96 / size)) px a cell:
        grey grid lines, the target green, the agent blue, a bar along the top for the time left."""
        s = self.size
        c = max(8, -(-96 // s))
        img = np.full((s * c, s * c, 3), 40, dtype=np.uint8)
        for k in range(s):  # cell interiors, leaving one-pixel grid lines
            for j in range(s):
                img[k * c + 1:(k + 1) * c, j * c + 1:(j + 1) * c] = 20
        tx, ty, ax, ay = int(self.tx[0]), int(self.ty[0]), int(self.ax[0]), int(self.ay[0])
        img[ty * c + 1:(ty + 1) * c, tx * c + 1:(tx + 1) * c] = (40, 200, 80)
        m = max(1, c // 4)
        img[ay * c + m:(ay + 1) * c - m + 1, ax * c + m:(ax + 1) * c - m + 1] = (60, 120, 240)
        left = (self.time_limit - int(self.t[0])) / self.time_limit
        img[0, :int(round(left * s * c))] = (230, 200, 60)
        return img
