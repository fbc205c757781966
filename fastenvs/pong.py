"""Pong: one agent paddle against a scripted opponent, vectorized.

The field is W x H = 160 x 192 units, y growing downwards, walls at the top and bottom. The agent
holds the right paddle, the opponent the left one. The opponent moves its paddle centre toward the
ball's y every frame at most OPP_SPEED units, slower than the agent's paddle and slower than the
ball's vertical speed after a return near a paddle end, so angled returns beat it.

Each paddle hit speeds the ball up and sends it back at a slope set by where it met the paddle:
the centre returns it flat, the ends at 45 degrees. The ball moves in straight segments between
frames and is tested against a paddle's face along the whole segment (swept), so no speed lets it
pass through a paddle. A ball past a paddle's back line (x < 0 or x > W) is a point; the next ball
is served at once from the centre line toward a random side.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces
from numba import njit, prange

from fastenvs._core import STATS_KEY, FastVectorEnv, end_of_step, rand_float, rand_int, skip_step

W, H = 160.0, 192.0  # field size in units
BALL_R = 2.0  # half the ball's side; the ball is a 4 x 4 square
PADDLE_HALF = 10.0  # half a paddle's height (a paddle is 20 x 4 units)
PADDLE_W = 4.0
AGENT_FACE = W - 16.0  # the agent's paddle spans x in [144, 148], facing left
OPP_FACE = 16.0  # the opponent's paddle spans x in [12, 16], facing right
AGENT_SPEED = 4.0  # units per frame
OPP_SPEED = 2.5  # units per frame
SERVE_SPEED = 3.0  # |vx| of a served ball, units per frame
SPEED_UP = 0.25  # |vx| gained at every paddle hit...
MAX_SPEED = 6.0  # ...up to this; |vy| <= |vx| always, so MAX_SPEED bounds both
SERVE_SLOPE = 0.5  # a served ball has |vy| / |vx| uniform in [0, SERVE_SLOPE)
RETURN_BONUS = np.float32(0.1)  # shaping reward per ball the agent returns
N_OBS = 8

# columns of the float64 state array
AY, OY, BX, BY, VX, VY = 0, 1, 2, 3, 4, 5


@njit(cache=True, inline="always")
def _fold(y):
    """Reflect a y that stepped past a wall back into [BALL_R, H - BALL_R] (at most one wall per frame)."""
    if y < BALL_R:
        return 2.0 * BALL_R - y
    if y > H - BALL_R:
        return 2.0 * (H - BALL_R) - y
    return y


@njit(cache=True, inline="always")
def _serve(i, st, rng):
    st[i, BX] = W / 2
    st[i, BY] = H / 2 + (rand_float(rng, i) - 0.5) * (H / 2)
    direction = 1.0 if rand_int(rng, i, 2) == 1 else -1.0
    st[i, VX] = direction * SERVE_SPEED
    st[i, VY] = (2.0 * rand_float(rng, i) - 1.0) * SERVE_SLOPE * SERVE_SPEED


@njit(cache=True, inline="always")
def _write_obs(i, st, scores, win_score, out):
    out[i, 0] = np.float32((st[i, AY] - H / 2) / (H / 2))
    out[i, 1] = np.float32((st[i, OY] - H / 2) / (H / 2))
    out[i, 2] = np.float32((st[i, BX] - W / 2) / (W / 2))
    out[i, 3] = np.float32((st[i, BY] - H / 2) / (H / 2))
    out[i, 4] = np.float32(st[i, VX] / MAX_SPEED)
    out[i, 5] = np.float32(st[i, VY] / MAX_SPEED)
    out[i, 6] = np.float32(scores[i, 0] / win_score)
    out[i, 7] = np.float32(scores[i, 1] / win_score)


@njit(cache=True, inline="always")
def _new_episode(i, st, scores, rng, win_score, obs):
    st[i, AY] = H / 2
    st[i, OY] = H / 2
    scores[i, 0] = 0
    scores[i, 1] = 0
    _serve(i, st, rng)
    _write_obs(i, st, scores, win_score, obs)


@njit(cache=True, inline="always")
def _clamp_paddle(y):
    return min(max(y, PADDLE_HALF), H - PADDLE_HALF)


@njit(cache=True, inline="always")
def _bounce(i, st, yc, paddle_y, face_x, direction):
    """Send the ball back from a paddle face: faster, at a slope set by the hit offset."""
    speed = min(abs(st[i, VX]) + SPEED_UP, MAX_SPEED)
    offset = (yc - paddle_y) / (PADDLE_HALF + BALL_R)  # -1 (top end) .. 1 (bottom end)
    st[i, BX] = face_x
    st[i, BY] = yc
    st[i, VX] = direction * speed
    st[i, VY] = offset * speed


@njit(cache=True, parallel=True)
def _reset_kernel(mask, st, scores, rng, win_score, obs):
    for i in prange(mask.shape[0]):
        if mask[i]:
            _new_episode(i, st, scores, rng, win_score, obs)


@njit(cache=True, parallel=True)
def _step_kernel(actions, skip, st, scores, rng, obs, final_obs, rewards, terms, truncs, ep, max_steps,
                 frameskip, win_score):
    for i in prange(actions.shape[0]):
        if skip_step(i, skip, rewards, terms, truncs):
            continue
        a = actions[i]
        move = -AGENT_SPEED if a == 1 else (AGENT_SPEED if a == 2 else 0.0)
        reward = np.float32(0.0)
        gain = 0.0
        terminated = False
        for _ in range(frameskip):
            ay = _clamp_paddle(st[i, AY] + move)
            st[i, AY] = ay
            chase = min(max(st[i, BY] - st[i, OY], -OPP_SPEED), OPP_SPEED)
            oy = _clamp_paddle(st[i, OY] + chase)
            st[i, OY] = oy
            x0, y0, vx, vy = st[i, BX], st[i, BY], st[i, VX], st[i, VY]
            x1 = x0 + vx
            # swept test: does the ball's leading edge cross a paddle face during this frame?
            if vx > 0.0 and x0 + BALL_R <= AGENT_FACE < x1 + BALL_R:
                yc = _fold(y0 + (AGENT_FACE - BALL_R - x0) / vx * vy)
                if abs(yc - ay) <= PADDLE_HALF + BALL_R:
                    _bounce(i, st, yc, ay, AGENT_FACE - BALL_R, -1.0)
                    reward += RETURN_BONUS
                    continue
            elif vx < 0.0 and x0 - BALL_R >= OPP_FACE > x1 - BALL_R:
                yc = _fold(y0 + (OPP_FACE + BALL_R - x0) / vx * vy)
                if abs(yc - oy) <= PADDLE_HALF + BALL_R:
                    _bounce(i, st, yc, oy, OPP_FACE + BALL_R, 1.0)
                    continue
            y1 = y0 + vy
            if y1 < BALL_R or y1 > H - BALL_R:
                y1 = _fold(y1)
                st[i, VY] = -vy
            st[i, BX] = x1
            st[i, BY] = y1
            if x1 > W or x1 < 0.0:
                side = 1 if x1 > W else 0  # who scored: 0 agent, 1 opponent
                st[i, BX] = W if side == 1 else 0.0  # the ball stops on the back line
                scores[i, side] += 1
                point = 1.0 if side == 0 else -1.0
                reward += np.float32(point)
                gain += point
                if scores[i, side] >= win_score:
                    terminated = True
                    break
                _serve(i, st, rng)
        _write_obs(i, st, scores, win_score, obs)
        if end_of_step(i, reward, gain, terminated, ep, max_steps, rewards, terms, truncs):
            for k in range(N_OBS):
                final_obs[i, k] = obs[i, k]
            _new_episode(i, st, scores, rng, win_score, obs)


class Pong(FastVectorEnv):
    """N games of Pong, the agent's right paddle against a scripted left one.

    Observation (float32, 8), every entry in [-1, 1]: agent paddle y, opponent paddle y, ball x,
    ball y (positions centred and divided by half the field size; y grows downwards, x toward the
    agent), ball vx, ball vy (divided by MAX_SPEED), agent points / win_score, opponent
    points / win_score. Together these are the whole game state (only the next serve is random).
    Actions: 0 stay, 1 up, 2 down; each is held for `frameskip` frames.
    Reward: +1 per agent point, -1 per opponent point, +0.1 per ball the agent returns (summed over
    the frames of a step). The score counts the points only: agent points - opponent points.
    The episode terminates when either side reaches `win_score` points (the ball stops there) and
    is truncated after `max_steps` agent steps.

    `self.state` is the (num_envs, 6) float64 state, columns agent y, opponent y, ball x, ball y,
    ball vx, ball vy in field units (x in [0, 160], y in [0, 192]); `self.scores` the (num_envs, 2)
    int32 points (agent, opponent). `set_state` overwrites env i's for tests and demos.
    """

    def __init__(self, num_envs: int, seed: int = 0, frameskip: int = 4, win_score: int = 21,
                 max_steps: int = 27000, copy: bool = False,
                 autoreset_mode: str = "same_step", stats_key: str = STATS_KEY):
        if not isinstance(frameskip, (int, np.integer)) or isinstance(frameskip, bool) or frameskip < 1:
            raise ValueError(f"frameskip={frameskip!r} is not allowed: use an integer >= 1")
        if not isinstance(win_score, (int, np.integer)) or isinstance(win_score, bool) or win_score < 1:
            raise ValueError(f"win_score={win_score!r} is not allowed: use an integer >= 1")
        low = np.array([-1, -1, -1, -1, -1, -1, 0, 0], dtype=np.float32)
        high = np.ones(N_OBS, dtype=np.float32)
        super().__init__(num_envs, seed, spaces.Box(low, high, dtype=np.float32), spaces.Discrete(3),
                         max_steps, copy,
                         autoreset_mode, stats_key)
        self.frameskip = int(frameskip)
        self.win_score = int(win_score)
        self.state = np.zeros((self.num_envs, 6), dtype=np.float64)
        self.scores = np.zeros((self.num_envs, 2), dtype=np.int32)

    def _reset_envs(self, mask: np.ndarray) -> None:
        _reset_kernel(mask, self.state, self.scores, self._rng, self.win_score, self._obs)

    def _step_kernel(self, actions: np.ndarray) -> None:
        _step_kernel(actions, self._pending, self.state, self.scores, self._rng, self._obs, self._final_obs,
                     self._rewards, self._terms, self._truncs, self._ep, self.max_steps, self.frameskip,
                     self.win_score)

    def set_state(self, i: int, state, scores=None) -> None:
        """Put env i in `state` (agent y, opponent y, ball x, ball y, ball vx, ball vy; field units)
        and, if given, `scores` (agent, opponent); its obs is rewritten, its episode counters kept."""
        if not 0 <= i < self.num_envs:
            raise ValueError(f"env index {i} is not allowed: use 0..{self.num_envs - 1}")
        s = np.asarray(state, dtype=np.float64)
        if s.shape != (6,):
            raise ValueError(f"state of shape {s.shape} is not allowed: use 6 floats "
                             "(agent y, opponent y, ball x, ball y, ball vx, ball vy)")
        self.state[i] = s
        if scores is not None:
            sc = np.asarray(scores)
            if sc.shape != (2,) or sc.min() < 0 or sc.max() >= self.win_score:
                raise ValueError(f"scores={scores!r} are not allowed: use 2 integers in 0..{self.win_score - 1}")
            self.scores[i] = sc
        _write_obs(i, self.state, self.scores, self.win_score, self._obs)

    def render(self, scale: int = 2):
        """RGB frame (192 * scale, 160 * scale, 3) uint8 of env 0; a tick along the top edge per point."""
        h, w = int(H) * scale, int(W) * scale
        frame = np.zeros((h, w, 3), dtype=np.uint8)
        frame[:] = (144, 72, 17)
        ay, oy, bx, by = (float(v) for v in self.state[0, :4])

        def box(x0, x1, y0, y1, color):
            r0, r1 = max(int(round(y0 * scale)), 0), min(int(round(y1 * scale)), h)
            c0, c1 = max(int(round(x0 * scale)), 0), min(int(round(x1 * scale)), w)
            if r0 < r1 and c0 < c1:
                frame[r0:r1, c0:c1] = color

        box(W / 2 - 0.5, W / 2 + 0.5, 0, H, (110, 55, 12))  # centre line
        box(AGENT_FACE, AGENT_FACE + PADDLE_W, ay - PADDLE_HALF, ay + PADDLE_HALF, (92, 186, 92))
        box(OPP_FACE - PADDLE_W, OPP_FACE, oy - PADDLE_HALF, oy + PADDLE_HALF, (213, 130, 74))
        box(bx - BALL_R, bx + BALL_R, by - BALL_R, by + BALL_R, (236, 236, 236))
        for k in range(int(self.scores[0, 0])):  # agent points: right half, from the centre out
            box(W / 2 + 2 + 3 * k, W / 2 + 4 + 3 * k, 2, 6, (92, 186, 92))
        for k in range(int(self.scores[0, 1])):  # opponent points: left half
            box(W / 2 - 4 - 3 * k, W / 2 - 2 - 3 * k, 2, 6, (213, 130, 74))
        return frame
