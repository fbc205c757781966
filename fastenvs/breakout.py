"""Breakout: a paddle, a ball and two walls of bricks, all N envs stepped in one Numba call.

Rules (pixels, frames at 60 per second; every agent step runs 4 frames):
  * Field 576 x 330. Bricks: 6 rows x 18 columns of 32 x 12, row 0 at y = 50 and column 0 at x = 0.
    A brick is worth 7 points in rows 0-1 (top), 4 in rows 2-3 and 1 in rows 4-5: 432 per wall.
  * Paddle 62 x 8 with its top edge at y = 312, moving 620/60 px per frame, kept inside the field.
  * Ball 32 x 32. Each round it starts with its top-left corner at (272, 135) and is launched on the
    round's first frame at 256 px/s, pi/3.25 (about 55 degrees) from vertical, downward, to the left
    or right with equal odds (from the env's own random stream).
  * The ball bounces off the left, right and top walls, off bricks (destroying them) and off the
    top edge of the paddle. Collision is swept: each frame the ball's path is tested against the
    walls, the paddle top and the bricks of every grid cell its swept box touches, and the ball
    stops at the earliest contact with its velocity reflected (the rest of that frame is dropped).
    It therefore cannot pass through a brick, the paddle or a wall at any speed.
  * Paddle bounce: the ball leaves at an angle from vertical linear in where its centre meets the
    paddle, -45 degrees at the left end to +45 at the right end (clamped there). Every 4th paddle
    hit of a round raises the speed by 64 px/s, up to 448; destroying a brick in rows 0-2 sets the
    speed to 448 at once. The first touch of the top wall in a round halves the paddle to 31 px
    (left edge kept).
  * A miss is the ball's top edge passing the paddle's bottom edge (y >= 320). A new round restores
    speed 256, paddle width 62 and the start position. There are 5 spare balls: the 6th miss ends
    the episode (terminated).
  * Clearing the first wall (432 points) brings a fresh wall at the next paddle hit (so it never
    appears on top of the ball); clearing the second (864 points) ends the episode (terminated).

Actions: 0 noop, 1 left, 2 right. Reward: the points gained in the step's 4 frames (unclipped, so
reward == score gain). The frame loop stops at a termination. Time limit: `max_steps` agent steps
(default 27000 = 108000 frames; 0 = none) truncates.

Observation, float32[118] (every entry in [low, high] of the space, all O(1)):
   0  paddle left edge x / 576                          [0, 1]
   1  paddle top y / 330 (constant 312/330)             [0, 1]
   2  ball left edge x / 576                            [0, 1]   (x <= 544 always)
   3  ball top y / 330                                  [0, 1]   (< 320/330 except in a final obs)
   4  ball vx in px/s / 448  (per-frame vx * 60 / 448)  [-1, 1]
   5  ball vy in px/s / 448, positive = downward        [-1, 1]
   6  balls-fired flag (0 before the round's launch)    {0, 1}
   7  score / 864                                       [0, 1]
   8  spare balls left / 5; -1/5 in the final obs of an episode lost by the 6th miss   [-0.2, 1]
   9  paddle width / 62                                 {0.5, 1}
  10+ 108 brick states, row-major (index row * 18 + col, row 0 on top), 1 = present, 0 = destroyed

The brick states live only in the observation buffer (`self._obs[:, 10:]`) and are flipped one at a
time as bricks fall; the rest of each env's state is in `self._fs` (float32 [N, 7]) and
`self._st` (int32 [N, 6]), columns named by the F_* and S_* constants below.
"""

from __future__ import annotations

import math

import numpy as np
from gymnasium import spaces
from numba import njit, prange

from fastenvs._core import STATS_KEY, FastVectorEnv, end_of_step, rand_u32, skip_step

f32 = np.float32

# --- geometry and rules ------------------------------------------------------------------------
WIDTH, HEIGHT = 576, 330
ROWS, COLS = 6, 18
NUM_BRICKS = ROWS * COLS
BRICK_W, BRICK_H, BRICK_TOP = 32, 12, 50
BALL = 32
PADDLE_W, PADDLE_H, PADDLE_Y = 62, 8, 312
FPS = 60
FRAMESKIP = 4
START_SPEED, SPEED_STEP, MAX_SPEED = 256, 64, 448  # px/s
SPARE_BALLS = 5
WALL_SCORE = 432
MAX_SCORE = 2 * WALL_SCORE
OBS_SIZE = 10 + NUM_BRICKS

# float32 constants for the kernels (plain Python floats would be typed float64 by Numba)
_W = f32(WIDTH)
_BALL = f32(BALL)
_XMAX = f32(WIDTH - BALL)                  # largest ball x
_PADDLE_Y = f32(PADDLE_Y)
_MISS_Y = f32(PADDLE_Y + PADDLE_H)         # ball top at or below this: missed
_PADDLE_W = f32(PADDLE_W)
_HALF_PADDLE_W = f32(PADDLE_W / 2)
_PADDLE_STEP = f32(620.0 / FPS)
_START_X = f32(WIDTH / 2 - BALL / 2)       # 272
_START_Y = f32(HEIGHT / 2 - 30)            # 135
_START_PX = f32(WIDTH / 2 - PADDLE_W / 2)  # 257
_LAUNCH_VX = f32(math.sin(math.pi / 3.25) * START_SPEED / FPS)
_LAUNCH_VY = f32(math.cos(math.pi / 3.25) * START_SPEED / FPS)
_BRICK_TOP = f32(BRICK_TOP)
_BRICK_BOTTOM = f32(BRICK_TOP + ROWS * BRICK_H)
_BRICK_WF = f32(BRICK_W)
_BRICK_HF = f32(BRICK_H)
_EPS = f32(0.01)                          # contact tolerance, px
_INV_BRICK_W = f32(1.0 / BRICK_W)
_INV_BRICK_H = f32(1.0 / BRICK_H)
_QUARTER_PI = f32(math.pi / 4)
_INV_FPS = f32(1.0 / FPS)
_START_SPEED = f32(START_SPEED)
_SPEED_STEP = f32(SPEED_STEP)
_MAX_SPEED = f32(MAX_SPEED)
_ZERO, _ONE, _TWO, _HALF = f32(0.0), f32(1.0), f32(2.0), f32(0.5)
_NO_HIT = f32(2.0)
_INF = f32(np.inf)
# observation scales
_H = f32(HEIGHT)
_OBS_V = f32(FPS / MAX_SPEED)
_MAX_SCORE_F = f32(MAX_SCORE)
_SPARE_BALLS_F = f32(SPARE_BALLS)
_OBS_PADDLE_Y = f32(PADDLE_Y) / f32(HEIGHT)

# columns of the float state `_fs` [N, 7]
F_PX, F_PW, F_BX, F_BY, F_VX, F_VY, F_SPEED = range(7)
# columns of the int state `_st` [N, 6]
S_HITS, S_BALLS, S_SCORE, S_BRICKS, S_WALL, S_FIRED = range(6)

# what the ball touched in a frame
_HIT_NONE, _HIT_SIDE, _HIT_TOP, _HIT_PADDLE, _HIT_BRICK = 0, 1, 2, 3, 4


@njit(cache=True)
def _start_round(i, fs, st):
    fs[i, F_PX] = _START_PX
    fs[i, F_PW] = _PADDLE_W
    fs[i, F_BX] = _START_X
    fs[i, F_BY] = _START_Y
    fs[i, F_VX] = _ZERO
    fs[i, F_VY] = _ZERO
    fs[i, F_SPEED] = _START_SPEED
    st[i, S_HITS] = 0
    st[i, S_FIRED] = 0


@njit(cache=True)
def _write_obs(i, fs, st, obs):
    obs[i, 0] = fs[i, F_PX] / _W
    obs[i, 2] = fs[i, F_BX] / _W
    obs[i, 3] = fs[i, F_BY] / _H
    obs[i, 4] = min(max(fs[i, F_VX] * _OBS_V, -_ONE), _ONE)
    obs[i, 5] = min(max(fs[i, F_VY] * _OBS_V, -_ONE), _ONE)
    obs[i, 6] = f32(st[i, S_FIRED])
    obs[i, 7] = f32(st[i, S_SCORE]) / _MAX_SCORE_F
    obs[i, 8] = f32(st[i, S_BALLS]) / _SPARE_BALLS_F
    obs[i, 9] = fs[i, F_PW] / _PADDLE_W


@njit(cache=True)
def _start_episode(i, fs, st, obs):
    st[i, S_BALLS] = SPARE_BALLS
    st[i, S_SCORE] = 0
    st[i, S_BRICKS] = NUM_BRICKS
    st[i, S_WALL] = 0
    _start_round(i, fs, st)
    obs[i, 1] = _OBS_PADDLE_Y
    for k in range(NUM_BRICKS):
        obs[i, 10 + k] = _ONE
    _write_obs(i, fs, st, obs)


@njit(cache=True)
def _reset_kernel(mask, fs, st, obs):
    for i in range(mask.shape[0]):
        if mask[i]:
            _start_episode(i, fs, st, obs)


@njit(cache=True)
def _sweep_axis(p, v, lo, hi):
    """Times (t_in, t_out), in frames, at which a point moving p + v t is inside (lo, hi).

    A point already inside by more than the contact tolerance gets t_in = -inf (it entered earlier);
    one inside by less counts as just touching (t_in = 0), so float rounding at a contact can never
    let the ball slip into a brick unseen. A point that never gets inside gets t_in > t_out.
    """
    if v > _ZERO:
        d_in = lo - p
        t_out = (hi - p) / v
        s = v
    elif v < _ZERO:
        d_in = p - hi
        t_out = (p - lo) / -v
        s = -v
    elif lo < p and p < hi:
        return -_INF, _INF
    else:
        return _INF, -_INF
    if d_in >= _ZERO:
        return d_in / s, t_out
    if d_in >= -_EPS:
        return _ZERO, t_out
    return -_INF, t_out


@njit(cache=True)
def _brick_hit(obs, i, bx, by, vx, vy):
    """Earliest brick the ball (top-left bx, by; velocity vx, vy per frame) meets this frame.

    Returns (t, brick index or -1, flip_x, flip_y). Only the cells under the frame's swept box (a
    hair wider) are tested, each present brick by a swept box-box test: the ball's corner against
    the brick grown by the ball's size, one axis at a time. Ties in t (the ball meeting two bricks
    side by side) go to the brick it overlaps most along the face it meets.
    """
    t_best = _NO_HIT
    best = -1
    flip_x = False
    flip_y = False
    best_overlap = _ZERO
    y0 = min(by, by + vy) - _EPS
    y1 = max(by, by + vy) + _BALL + _EPS
    if y1 <= _BRICK_TOP or y0 >= _BRICK_BOTTOM:
        return t_best, best, flip_x, flip_y
    x0 = min(bx, bx + vx) - _EPS
    x1 = max(bx, bx + vx) + _BALL + _EPS
    r0 = max(int((y0 - _BRICK_TOP) * _INV_BRICK_H), 0)
    r1 = min(int((y1 - _BRICK_TOP) * _INV_BRICK_H), ROWS - 1)
    c0 = max(int(x0 * _INV_BRICK_W), 0)
    c1 = min(int(x1 * _INV_BRICK_W), COLS - 1)
    for r in range(r0, r1 + 1):
        top = _BRICK_TOP + f32(r * BRICK_H)
        ty_in, ty_out = _sweep_axis(by, vy, top - _BALL, top + _BRICK_HF)
        if ty_in > _ONE or ty_out <= _ZERO or ty_in >= ty_out:
            continue
        for c in range(c0, c1 + 1):
            k = r * COLS + c
            if obs[i, 10 + k] == _ZERO:
                continue
            left = f32(c * BRICK_W)
            tx_in, tx_out = _sweep_axis(bx, vx, left - _BALL, left + _BRICK_WF)
            t_in = max(tx_in, ty_in)
            if t_in < _ZERO or t_in > _ONE or t_in >= min(tx_out, ty_out) or t_in > t_best:
                continue
            # overlap along the face it meets, to break ties between neighbours
            fx = tx_in >= ty_in
            fy = ty_in >= tx_in
            if fy:
                cx = bx + vx * t_in
                overlap = min(cx + _BALL, left + _BRICK_WF) - max(cx, left)
            else:
                cy = by + vy * t_in
                overlap = min(cy + _BALL, top + _BRICK_HF) - max(cy, top)
            if t_in == t_best and overlap <= best_overlap:
                continue
            t_best, best, flip_x, flip_y, best_overlap = t_in, k, fx, fy, overlap
    return t_best, best, flip_x, flip_y


@njit(cache=True, parallel=True)
def _step_all(actions, skip, fs, st, obs, final_obs, rewards, terms, truncs, ep, rng, max_steps, frameskip):
    for i in prange(actions.shape[0]):
        if skip_step(i, skip, rewards, terms, truncs):
            continue
        a = actions[i]
        dx = _ZERO
        if a == 1:
            dx = -_PADDLE_STEP
        elif a == 2:
            dx = _PADDLE_STEP
        px = fs[i, F_PX]
        pw = fs[i, F_PW]
        bx = fs[i, F_BX]
        by = fs[i, F_BY]
        vx = fs[i, F_VX]
        vy = fs[i, F_VY]
        speed = fs[i, F_SPEED]
        hits = st[i, S_HITS]
        balls = st[i, S_BALLS]
        score = st[i, S_SCORE]
        bricks = st[i, S_BRICKS]
        wall = st[i, S_WALL]
        fired = st[i, S_FIRED]
        gain = 0
        terminated = False
        for _ in range(frameskip):
            if fired == 0:
                fired = 1
                vx = _LAUNCH_VX if rand_u32(rng, i) >= np.uint32(0x80000000) else -_LAUNCH_VX
                vy = _LAUNCH_VY
            px = min(max(px + dx, _ZERO), _W - pw)

            # earliest contact along this frame's path
            t = _NO_HIT
            hit = _HIT_NONE
            flip_x = False
            flip_y = False
            if vx < _ZERO:
                tw = -bx / vx
                if tw <= _ONE:
                    t, hit, flip_x = tw, _HIT_SIDE, True
            elif vx > _ZERO:
                tw = (_XMAX - bx) / vx
                if tw <= _ONE:
                    t, hit, flip_x = tw, _HIT_SIDE, True
            if vy < _ZERO:
                tw = -by / vy
                if tw <= _ONE and tw < t:
                    t, hit, flip_x, flip_y = tw, _HIT_TOP, False, True
            elif vy > _ZERO and by + _BALL <= _PADDLE_Y + _EPS and by + _BALL + vy + _EPS >= _PADDLE_Y:
                tw = max((_PADDLE_Y - _BALL - by) / vy, _ZERO)
                cx = bx + vx * tw
                if tw < t and cx + _BALL > px and cx < px + pw:
                    t, hit = tw, _HIT_PADDLE
            tb, k, fbx, fby = _brick_hit(obs, i, bx, by, vx, vy)
            if tb <= t and k >= 0:
                t, hit, flip_x, flip_y = tb, _HIT_BRICK, fbx, fby

            if hit == _HIT_NONE:
                bx += vx
                by += vy
            else:
                bx += vx * t
                by += vy * t
                if flip_x:
                    vx = -vx
                if flip_y:
                    vy = -vy
                if hit == _HIT_TOP:
                    if pw == _PADDLE_W:
                        pw = _HALF_PADDLE_W
                elif hit == _HIT_PADDLE:
                    by = _PADDLE_Y - _BALL
                    hits += 1
                    if hits % 4 == 0:
                        speed = min(speed + _SPEED_STEP, _MAX_SPEED)
                    rel = min(max((bx + _HALF * _BALL - px) / pw, _ZERO), _ONE)
                    angle = (_TWO * rel - _ONE) * _QUARTER_PI
                    v = speed * _INV_FPS
                    vx = math.sin(angle) * v
                    vy = -math.cos(angle) * v
                    if bricks == 0 and wall == 0:  # the first wall is cleared: bring the second
                        wall = 1
                        bricks = NUM_BRICKS
                        for kk in range(NUM_BRICKS):
                            obs[i, 10 + kk] = _ONE
                elif hit == _HIT_BRICK:
                    obs[i, 10 + k] = _ZERO
                    bricks -= 1
                    row = k // COLS
                    points = 7 - 3 * (row >> 1)
                    gain += points
                    score += points
                    if row < 3 and speed != _MAX_SPEED:
                        scale = _MAX_SPEED / speed
                        vx *= scale
                        vy *= scale
                        speed = _MAX_SPEED
                    if bricks == 0 and wall == 1:
                        terminated = True
            bx = min(max(bx, _ZERO), _XMAX)
            by = max(by, _ZERO)
            if terminated:
                break
            if by >= _MISS_Y:
                if balls == 0:
                    balls = -1
                    terminated = True
                    break
                balls -= 1
                hits = 0
                fired = 0
                speed = _START_SPEED
                pw = _PADDLE_W
                px = _START_PX
                bx = _START_X
                by = _START_Y
                vx = _ZERO
                vy = _ZERO

        fs[i, F_PX] = px
        fs[i, F_PW] = pw
        fs[i, F_BX] = bx
        fs[i, F_BY] = by
        fs[i, F_VX] = vx
        fs[i, F_VY] = vy
        fs[i, F_SPEED] = speed
        st[i, S_HITS] = hits
        st[i, S_BALLS] = balls
        st[i, S_SCORE] = score
        st[i, S_BRICKS] = bricks
        st[i, S_WALL] = wall
        st[i, S_FIRED] = fired
        _write_obs(i, fs, st, obs)
        if end_of_step(i, f32(gain), f32(gain), terminated, ep, max_steps, rewards, terms, truncs):
            for kk in range(OBS_SIZE):
                final_obs[i, kk] = obs[i, kk]
            _start_episode(i, fs, st, obs)


class Breakout(FastVectorEnv):
    """Vectorized Breakout (see the module docstring for rules and observation layout)."""

    def __init__(self, num_envs: int, seed: int = 0, max_steps: int = 27000, copy: bool = False,
                 autoreset_mode: str = "same_step", stats_key: str = STATS_KEY):
        low = np.zeros(OBS_SIZE, dtype=np.float32)
        high = np.ones(OBS_SIZE, dtype=np.float32)
        low[4] = low[5] = -1.0
        low[8] = -1.0 / SPARE_BALLS
        low[9] = 0.5
        obs_space = spaces.Box(low, high, dtype=np.float32)
        super().__init__(num_envs, seed, obs_space, spaces.Discrete(3), max_steps, copy,
                         autoreset_mode, stats_key)
        self._fs = np.zeros((self.num_envs, 7), dtype=np.float32)
        self._st = np.zeros((self.num_envs, 6), dtype=np.int32)
        self._frameskip = FRAMESKIP  # tests may set 1 to watch single frames
        self._reset_envs(self._all)

    def _reset_envs(self, mask: np.ndarray) -> None:
        _reset_kernel(mask, self._fs, self._st, self._obs)

    def _step_kernel(self, actions: np.ndarray) -> None:
        _step_all(actions, self._pending, self._fs, self._st, self._obs, self._final_obs, self._rewards,
                  self._terms, self._truncs, self._ep, self._rng, self.max_steps, self._frameskip)

    def render(self):
        """RGB frame (330, 576, 3) uint8 of env 0: bricks, paddle and ball."""
        img = np.empty((HEIGHT, WIDTH, 3), dtype=np.uint8)
        img[:] = (6, 24, 24)
        colors = ((220, 50, 50), (230, 130, 40), (220, 200, 50), (60, 180, 70), (70, 160, 230), (50, 80, 210))
        # the bricks of the state on show; with next-step autoreset, an env whose episode just ended shows
        # its last obs while the next episode's (the live state) waits in final_obs
        bricks = (self._final_obs if self._pending[0] else self._obs)[0, 10:]
        for k in np.flatnonzero(bricks > 0.5):
            r, c = divmod(int(k), COLS)
            y, x = BRICK_TOP + r * BRICK_H, c * BRICK_W
            img[y + 1:y + BRICK_H - 1, x + 1:x + BRICK_W - 1] = colors[r]
        px, pw, bx, by = (float(v) for v in self._fs[0, [F_PX, F_PW, F_BX, F_BY]])
        x0, x1 = int(round(px)), int(round(px + pw))
        img[PADDLE_Y:PADDLE_Y + PADDLE_H, max(x0, 0):min(x1, WIDTH)] = (0, 255, 255)
        x0, y0 = int(round(bx)), int(round(by))
        img[max(y0, 0):min(y0 + BALL, HEIGHT), max(x0, 0):min(x0 + BALL, WIDTH)] = (255, 255, 255)
        return img
