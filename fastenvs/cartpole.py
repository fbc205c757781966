"""CartPole: the classic pole-balancing task with Gymnasium CartPole-v1's dynamics, vectorized.

Constants, the explicit Euler step, the termination test, the reward and the 500-step limit follow
CartPole-v1 exactly; the state is kept in float64 (as CartPole-v1 keeps it) and emitted as float32.
Only the random numbers differ: each env draws its initial state from its own xorshift stream.
"""

from __future__ import annotations

import math

import numpy as np
from gymnasium import spaces
from numba import njit, prange

from fastenvs._core import STATS_KEY, FastVectorEnv, end_of_step, rand_float, skip_step

GRAVITY = 9.8
MASS_CART = 1.0
MASS_POLE = 0.1
TOTAL_MASS = MASS_POLE + MASS_CART
HALF_LENGTH = 0.5  # half the pole's length
POLEMASS_LENGTH = MASS_POLE * HALF_LENGTH
FORCE_MAG = 10.0
TAU = 0.02  # seconds per step
THETA_LIMIT = 12 * 2 * math.pi / 360  # |theta| beyond this ends the episode (12 degrees)
X_LIMIT = 2.4  # |x| beyond this ends the episode
INIT_HALF_RANGE = 0.05  # initial state ~ U(-0.05, 0.05) in each of the 4 coordinates


@njit(cache=True, inline="always")
def _new_episode(i, state, rng, obs):
    for k in range(4):
        state[i, k] = -INIT_HALF_RANGE + 2.0 * INIT_HALF_RANGE * np.float64(rand_float(rng, i))
        obs[i, k] = np.float32(state[i, k])


@njit(cache=True, parallel=True)
def _reset_kernel(mask, state, rng, obs):
    for i in prange(mask.shape[0]):
        if mask[i]:
            _new_episode(i, state, rng, obs)


@njit(cache=True, parallel=True)
def _step_kernel(actions, skip, state, rng, obs, final_obs, rewards, terms, truncs, ep, max_steps):
    for i in prange(actions.shape[0]):
        if skip_step(i, skip, rewards, terms, truncs):
            continue
        x, x_dot, theta, theta_dot = state[i, 0], state[i, 1], state[i, 2], state[i, 3]
        force = FORCE_MAG if actions[i] == 1 else -FORCE_MAG
        cos_t = math.cos(theta)
        sin_t = math.sin(theta)
        temp = (force + POLEMASS_LENGTH * (theta_dot * theta_dot) * sin_t) / TOTAL_MASS
        theta_acc = (GRAVITY * sin_t - cos_t * temp) / (
            HALF_LENGTH * (4.0 / 3.0 - MASS_POLE * (cos_t * cos_t) / TOTAL_MASS))
        x_acc = temp - POLEMASS_LENGTH * theta_acc * cos_t / TOTAL_MASS
        # explicit Euler: positions advance with the old velocities
        x = x + TAU * x_dot
        x_dot = x_dot + TAU * x_acc
        theta = theta + TAU * theta_dot
        theta_dot = theta_dot + TAU * theta_acc
        state[i, 0], state[i, 1], state[i, 2], state[i, 3] = x, x_dot, theta, theta_dot
        terminated = x < -X_LIMIT or x > X_LIMIT or theta < -THETA_LIMIT or theta > THETA_LIMIT
        for k in range(4):
            obs[i, k] = np.float32(state[i, k])
        if end_of_step(i, np.float32(1.0), 1.0, terminated, ep, max_steps, rewards, terms, truncs):
            for k in range(4):
                final_obs[i, k] = obs[i, k]
            _new_episode(i, state, rng, obs)


class CartPole(FastVectorEnv):
    """N CartPole-v1 systems stepped together.

    Observation (float32, 4): cart position x, cart velocity, pole angle theta (rad, 0 = upright),
    pole angular velocity -- unscaled, as in CartPole-v1.
    Actions: 0 push the cart left, 1 push it right (force 10 N).
    Reward 1 every step, the terminating one included; the score is the same as the return.
    The episode terminates once |x| > 2.4 or |theta| > 12 degrees, and is truncated after `max_steps`
    steps (500, CartPole-v1's limit; a step that terminates is never also reported truncated).

    `self.state` is the (num_envs, 4) float64 state (x, x_dot, theta, theta_dot) the dynamics run
    on; `set_state(i, s)` overwrites env i's state (and its current obs) for tests and demos.
    """

    def __init__(self, num_envs: int, seed: int = 0, max_steps: int = 500, copy: bool = False,
                 autoreset_mode: str = "same_step", stats_key: str = STATS_KEY):
        high = np.array([X_LIMIT * 2, np.inf, THETA_LIMIT * 2, np.inf], dtype=np.float32)
        super().__init__(num_envs, seed, spaces.Box(-high, high, dtype=np.float32), spaces.Discrete(2),
                         max_steps, copy,
                         autoreset_mode, stats_key)
        self.state = np.zeros((self.num_envs, 4), dtype=np.float64)

    def _reset_envs(self, mask: np.ndarray) -> None:
        _reset_kernel(mask, self.state, self._rng, self._obs)

    def _step_kernel(self, actions: np.ndarray) -> None:
        _step_kernel(actions, self._pending, self.state, self._rng, self._obs, self._final_obs,
                     self._rewards, self._terms, self._truncs, self._ep, self.max_steps)

    def set_state(self, i: int, state) -> None:
        """Put env i in state (x, x_dot, theta, theta_dot); its episode counters are left as they are."""
        if not 0 <= i < self.num_envs:
            raise ValueError(f"env index {i} is not allowed: use 0..{self.num_envs - 1}")
        s = np.asarray(state, dtype=np.float64)
        if s.shape != (4,):
            raise ValueError(f"state of shape {s.shape} is not allowed: use 4 floats (x, x_dot, theta, theta_dot)")
        self.state[i] = s
        self._obs[i] = s.astype(np.float32)

    def render(self, height: int = 400, width: int = 600):
        """RGB frame (height, width, 3) uint8 of env 0: track, cart (black) and pole (brown)."""
        frame = np.full((height, width, 3), 255, dtype=np.uint8)
        scale = width / (2 * X_LIMIT)  # pixels per metre; the track spans the terminating range
        x, theta = float(self.state[0, 0]), float(self.state[0, 2])
        track_y = int(height * 0.75)
        frame[track_y, :] = 0
        cart_w, cart_h = 50, 30
        cx = x * scale + width / 2
        top = track_y - cart_h
        x0, x1 = int(round(cx - cart_w / 2)), int(round(cx + cart_w / 2))
        frame[max(top, 0):track_y, max(x0, 0):max(min(x1, width), 0)] = 0
        # the pole: every pixel within half its width of the segment from the axle to its tip
        axle_x, axle_y = cx, top + cart_h / 4
        pole_len, pole_half_w = scale * 2 * HALF_LENGTH, 5.0
        dx, dy = math.sin(theta), -math.cos(theta)  # image y grows downwards
        yy, xx = np.mgrid[0:height, 0:width]
        rx, ry = xx - axle_x, yy - axle_y
        along = rx * dx + ry * dy
        across = np.abs(rx * dy - ry * dx)
        frame[(along >= 0) & (along <= pole_len) & (across <= pole_half_w)] = (202, 152, 101)
        frame[(rx * rx + ry * ry) <= 16] = (129, 132, 203)  # axle
        return frame
