"""Tests of fastenvs.breakout: API, rules on hand-set states, and invariants under fuzzing."""

import math

import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.vector import AutoresetMode

import fastenvs
from fastenvs import breakout as B

POINTS = np.repeat([7, 7, 4, 4, 1, 1], 18)  # per brick index
TOL = 0.02  # px of overlap allowed between the ball and a brick (the kernel's contact tolerance is 0.01)


def make(n, seed=0, **kw):
    return fastenvs.make("breakout", num_envs=n, seed=seed, **kw)


def ball_overlaps(o, tol=TOL):
    """[N, 108] bool: present bricks that the ball's box overlaps by more than tol in both axes."""
    bx, by = o[:, 2] * B.WIDTH, o[:, 3] * B.HEIGHT
    left = np.arange(B.COLS) * B.BRICK_W
    top = B.BRICK_TOP + np.arange(B.ROWS) * B.BRICK_H
    ox = np.minimum(bx[:, None] + B.BALL, left + B.BRICK_W) - np.maximum(bx[:, None], left)
    oy = np.minimum(by[:, None] + B.BALL, top + B.BRICK_H) - np.maximum(by[:, None], top)
    deep = (oy[:, :, None] > tol) & (ox[:, None, :] > tol)
    return deep.reshape(len(o), -1) & (o[:, 10:] > 0.5)


def score_of(o):
    return np.rint(o[..., 7] * B.MAX_SCORE).astype(np.int64)


def balls_of(o):
    return np.rint(o[..., 8] * B.SPARE_BALLS).astype(np.int64)


def put_ball(env, i, x, y, vx, vy, speed=None):
    """Place env i's ball (top-left x, y) in flight with velocity (vx, vy) in px/s."""
    env._fs[i, B.F_BX], env._fs[i, B.F_BY] = x, y
    env._fs[i, B.F_VX], env._fs[i, B.F_VY] = vx / B.FPS, vy / B.FPS
    env._fs[i, B.F_SPEED] = math.hypot(vx, vy) if speed is None else speed
    env._st[i, B.S_FIRED] = 1


def set_bricks(env, i, present):
    env._obs[i, 10:] = present
    env._st[i, B.S_BRICKS] = int(np.count_nonzero(present))


# --- API ---------------------------------------------------------------------------------------
def test_api_spaces_and_dtypes():
    env = make(8)
    assert env.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    assert env.single_observation_space.shape == (118,) and env.single_observation_space.dtype == np.float32
    assert env.single_action_space == spaces.Discrete(3)
    assert env.observation_space.shape == (8, 118) and env.action_space.shape == (8,)
    obs, infos = env.reset(seed=1)
    assert obs.dtype == np.float32 and obs.shape == (8, 118) and infos == {}
    assert env.single_observation_space.contains(obs[0])
    np.testing.assert_array_equal(obs[:, 10:], 1.0)
    np.testing.assert_allclose(obs[:, [1, 6, 7, 8, 9]], [[312 / 330, 0, 0, 1, 1]] * 8, rtol=1e-6)
    obs, rew, term, trunc, infos = env.step(np.zeros(8, dtype=np.int64))
    assert obs.dtype == np.float32 and rew.dtype == np.float32 and rew.shape == (8,)
    assert term.dtype == np.bool_ and trunc.dtype == np.bool_ and term.shape == trunc.shape == (8,)
    img = env.render()
    assert img.shape == (330, 576, 3) and img.dtype == np.uint8
    with pytest.raises(ValueError):
        env.step(np.full(8, 3))
    with pytest.raises(ValueError):
        env.step(np.zeros(7, dtype=np.int64))
    with pytest.raises(ValueError):
        make(0)
    with pytest.raises(ValueError):
        make(2, max_steps=-1)


def test_launch():
    env = make(512, seed=5)
    obs, _ = env.reset()
    assert np.all(obs[:, 4:7] == 0.0)
    obs, *_ = env.step(np.zeros(512, dtype=np.int64))
    assert np.all(obs[:, 6] == 1.0) and np.all(obs[:, 5] > 0)
    np.testing.assert_allclose(np.abs(obs[:, 4] / obs[:, 5]), math.tan(math.pi / 3.25), rtol=1e-5)
    np.testing.assert_allclose(np.hypot(obs[:, 4], obs[:, 5]), 256 / 448, rtol=1e-5)
    assert 0.4 < np.mean(obs[:, 4] > 0) < 0.6


# --- seeding -----------------------------------------------------------------------------------
# --- rules on hand-set states --------------------------------------------------------------------
def test_no_tunnelling_into_the_wall_at_max_speed():
    """Balls at 448 px/s aimed up at the full wall from many sub-pixel phases and angles."""
    n = 64
    env = make(n, max_steps=0)
    env.reset()
    env._frameskip = 1
    k = np.arange(n)
    angle = np.radians(-40 + 80 * k / (n - 1))
    for i in range(n):
        put_ball(env, i, 150 + 3.37 * i, 123 + 0.173 * i, 448 * math.sin(angle[i]), -448 * math.cos(angle[i]))
    first_hit = np.full(n, -1)
    for _ in range(40):
        obs, r, term, trunc, _ = env.step(np.zeros(n, dtype=np.int64))
        assert not ball_overlaps(obs).any()
        new = (r > 0) & (first_hit < 0)
        first_hit[new] = np.argmin(obs[new, 10:], axis=1)
        assert np.all(obs[new, 5] > 0)  # it bounced back down
    assert np.all(first_hit >= 5 * 18)  # every ball met the bottom row first


def test_no_tunnelling_through_the_paddle_at_max_speed():
    n = 64
    env = make(n, max_steps=0)
    env.reset()
    env._frameskip = 1
    for i in range(n):
        put_ball(env, i, 272 + 0.5 * i - 16, 240 + 0.173 * i, 0.0, 448.0)
    bounced = np.zeros(n, dtype=bool)
    for _ in range(20):
        obs, *_ = env.step(np.zeros(n, dtype=np.int64))
        assert np.all(obs[:, 3] * 330 <= 280 + 1e-3)
        assert np.all(balls_of(obs) == 5)
        bounced |= obs[:, 5] < 0
    assert bounced.all()


@pytest.mark.parametrize("x, angle", [(241.0, -45.0), (272.0, 0.0), (303.0, 45.0), (318.0, 45.0), (226.0, -45.0)])
def test_paddle_bounce_angle(x, angle):
    env = make(1, max_steps=0)
    env.reset()
    env._frameskip = 1
    put_ball(env, 0, x, 275.0, 0.0, 256.0)
    for _ in range(3):
        obs, *_ = env.step(np.zeros(1, dtype=np.int64))
    assert obs[0, 5] < 0
    assert math.degrees(math.atan2(obs[0, 4], -obs[0, 5])) == pytest.approx(angle, abs=1e-3)
    assert math.hypot(obs[0, 4], obs[0, 5]) == pytest.approx(256 / 448, rel=1e-5)


def test_every_fourth_paddle_hit_speeds_up():
    env = make(2, max_steps=0)
    env.reset()
    env._frameskip = 1
    env._st[:, B.S_HITS] = [2, 3]
    for i in range(2):
        put_ball(env, i, 272.0, 275.0, 0.0, 256.0)
    for _ in range(3):
        obs, *_ = env.step(np.zeros(2, dtype=np.int64))
    np.testing.assert_allclose(np.hypot(obs[:, 4], obs[:, 5]), [256 / 448, 320 / 448], rtol=1e-5)
    env._fs[:, B.F_SPEED] = 448.0
    env._st[:, B.S_HITS] = 3
    for i in range(2):
        put_ball(env, i, 272.0, 275.0, 0.0, 448.0)
    for _ in range(3):
        obs, *_ = env.step(np.zeros(2, dtype=np.int64))
    np.testing.assert_allclose(np.hypot(obs[:, 4], obs[:, 5]), 1.0, rtol=1e-5)  # capped at 448


def test_top_rows_jump_to_max_speed():
    env = make(2, max_steps=0)
    env.reset()
    bricks = np.ones(108, dtype=np.float32)
    bricks[[3 * 18 + 5, 4 * 18 + 5, 5 * 18 + 5]] = 0  # column 5 open up to row 2
    bricks[[4 * 18 + 9, 5 * 18 + 9]] = 0  # column 9 open up to row 3
    for i, x in enumerate([160.0, 288.0]):
        set_bricks(env, i, bricks)
        put_ball(env, i, x, 150.0, 0.0, -256.0)
    rewards = np.zeros(2)
    for _ in range(30):
        obs, r, *_ = env.step(np.zeros(2, dtype=np.int64))
        rewards += r
        if np.all(rewards > 0):
            break
    np.testing.assert_array_equal(rewards, [4, 4])
    assert obs[0, 10 + 2 * 18 + 5] == 0 and obs[1, 10 + 3 * 18 + 9] == 0
    np.testing.assert_allclose(np.hypot(obs[:, 4], obs[:, 5]), [1.0, 256 / 448], rtol=1e-5)
    assert np.all(obs[:, 5] > 0)


def test_top_wall_halves_paddle_until_the_next_round():
    env = make(1, max_steps=0)
    env.reset()
    bricks = np.ones(108, dtype=np.float32)
    bricks[5::18] = 0  # column 5 fully open
    set_bricks(env, 0, bricks)
    put_ball(env, 0, 160.0, 200.0, 0.0, -256.0)
    widths, balls = [], []
    for _ in range(80):
        obs, r, *_ = env.step(np.zeros(1, dtype=np.int64))
        assert r[0] == 0
        widths.append(obs[0, 9])
        balls.append(balls_of(obs)[0])
        if balls[-1] < 5:
            break
    assert 0.5 in widths and widths[0] == 1.0
    assert balls[-1] == 4 and widths[-1] == 1.0  # missed (paddle far away), new round, full paddle


def test_second_wall_then_max_score_terminates():
    env = make(1, max_steps=0)
    env.reset()
    last = np.zeros(108, dtype=np.float32)
    last[5 * 18 + 5] = 1
    set_bricks(env, 0, last)
    env._st[0, B.S_SCORE] = 431
    put_ball(env, 0, 160.0, 140.0, 0.0, -256.0)
    total = 0.0
    for _ in range(20):
        obs, r, term, *_ = env.step(np.zeros(1, dtype=np.int64))
        total += r[0]
        assert not term[0]
        if total:
            break
    assert total == 1 and score_of(obs)[0] == 432 and np.all(obs[0, 10:] == 0)
    # the fresh wall appears at the next paddle hit
    put_ball(env, 0, 272.0, 260.0, 0.0, 256.0)
    env._fs[0, B.F_PX] = 257.0
    obs, r, *_ = env.step(np.zeros(1, dtype=np.int64))
    obs, r, *_ = env.step(np.zeros(1, dtype=np.int64))
    assert np.all(obs[0, 10:] == 1) and score_of(obs)[0] == 432 and obs[0, 5] < 0
    assert env._st[0, B.S_WALL] == 1
    # clearing the second wall ends the episode
    set_bricks(env, 0, last)
    env._st[0, B.S_SCORE] = 863
    put_ball(env, 0, 160.0, 140.0, 0.0, -256.0)
    for _ in range(20):
        obs, r, term, trunc, infos = env.step(np.zeros(1, dtype=np.int64))
        if term[0]:
            break
    assert term[0] and not trunc[0] and r[0] == 1
    fin = infos["final_obs"][0]
    assert score_of(fin) == 864 and np.all(fin[10:] == 0) and balls_of(fin) == 5
    assert score_of(obs)[0] == 0 and np.all(obs[0, 10:] == 1)  # next episode already started


def test_final_obs_shows_the_last_ball_lost():
    env = make(1, max_steps=0)
    env.reset()
    env._st[0, B.S_BALLS] = 0
    put_ball(env, 0, 10.0, 250.0, 0.0, 256.0)
    for step in range(1, 30):
        obs, r, term, trunc, infos = env.step(np.zeros(1, dtype=np.int64))
        if term[0]:
            break
        assert "env_episode" not in infos
    assert term[0] and not trunc[0] and infos["_final_obs"][0] and infos["_env_episode"][0]
    fin = infos["final_obs"][0]
    assert fin[8] == pytest.approx(-0.2) and fin[3] * 330 >= 320 and fin[3] < 1.0
    assert env.single_observation_space.contains(fin)
    assert infos["env_episode"]["l"][0] == step
    assert obs[0, 8] == 1.0 and obs[0, 6] == 0.0 and score_of(obs)[0] == 0


# --- invariants --------------------------------------------------------------------------------
def test_truncation_at_max_steps():
    n, limit = 32, 25
    env = make(n, seed=2, max_steps=limit)
    env.reset()
    rng = np.random.default_rng(2)
    length = np.zeros(n, dtype=np.int64)
    truncated = 0
    for _ in range(200):
        obs, r, term, trunc, infos = env.step(rng.integers(0, 3, size=n))
        length += 1
        assert np.all(length <= limit)
        assert not np.any(term & trunc)
        np.testing.assert_array_equal(trunc, (length == limit) & ~term)
        done = term | trunc
        if done.any():
            np.testing.assert_array_equal(infos["env_episode"]["l"][done], length[done])
            fin = infos["final_obs"][trunc]
            assert np.all(obs[trunc, 10:] == 1) and np.all(obs[trunc, 7] == 0)
            assert not np.array_equal(fin, obs[trunc])
        truncated += trunc.sum()
        length[done] = 0
    assert truncated >= 6 * n


def test_fuzz_invariants_and_random_score():
    """1024 envs x 1000 random steps: bounds, score and bricks against the previous obs (a copy: the
    step overwrites the returned obs buffer), episode bookkeeping, the random-policy score."""
    n, steps = 1024, 1000
    env = make(n, seed=11, max_steps=0)
    space = env.single_observation_space
    low, high = space.low, space.high
    obs, _ = env.reset()
    rng = np.random.default_rng(11)
    actions = rng.integers(0, 3, size=(steps, n))
    ret = np.zeros(n)
    length = np.zeros(n, dtype=np.int64)
    ep_scores, ep_lengths = [], []
    for t in range(steps):
        prev = obs.copy()  # the step overwrites the returned obs buffer in place
        obs, r, term, trunc, infos = env.step(actions[t])
        done = term | trunc
        assert not trunc.any()
        end = obs
        if done.any():
            assert infos["_final_obs"].dtype == np.bool_
            np.testing.assert_array_equal(infos["_final_obs"], done)
            end = np.where(done[:, None], infos["final_obs"], obs)
        else:
            assert "final_obs" not in infos and "env_episode" not in infos
        for o in (obs, end):
            assert np.all(o >= low) and np.all(o <= high)
            assert np.all(o[:, 2] * 576 <= 544 + 1e-3) and np.all(o[:, 3] >= 0) and np.all(o[:, 3] < 1)
            assert not ball_overlaps(o).any()
        assert np.all(obs[:, 3] * 330 < 320)  # a ball at the miss line never shows outside a final obs
        # score, rewards and bricks of the same episode
        s0, s1 = score_of(prev), score_of(end)
        np.testing.assert_array_equal(s1 - s0, r)
        assert np.all(r >= 0) and np.all(s1 <= 864)
        b0, b1 = prev[:, 10:] > 0.5, end[:, 10:] > 0.5
        refill = (b1 & ~b0).any(axis=1)
        assert np.all(~b0[refill].any(axis=1)) and np.all(s0[refill] == 432) and np.all(b1[refill].all(axis=1))
        np.testing.assert_array_equal(((b0 & ~b1) * POINTS).sum(axis=1)[~refill], r[~refill])
        assert np.all(balls_of(end) <= balls_of(prev))
        # episode bookkeeping
        ret += r
        length += 1
        if done.any():
            fin = infos["final_obs"][done]
            assert np.all((balls_of(fin) == -1) | (score_of(fin) == 864))
            ep = infos["env_episode"]
            np.testing.assert_allclose(ep["r"][done], ret[done])
            np.testing.assert_array_equal(ep["l"][done], length[done])
            np.testing.assert_array_equal(ep["score"][done], score_of(fin))
            new = obs[done]
            assert np.all(new[:, 10:] == 1) and np.all(new[:, [6, 7]] == 0) and np.all(new[:, [8, 9]] == 1)
            ep_scores.append(score_of(fin))
            ep_lengths.append(length[done].copy())
            ret[done] = 0
            length[done] = 0
    ep_scores, ep_lengths = np.concatenate(ep_scores), np.concatenate(ep_lengths)
    assert len(ep_scores) > 5000
    # a uniformly random policy scores about 0.9 per episode (benchmarks/random_scores.py); loose bounds
    assert 0.5 < ep_scores.mean() < 1.5
    assert 100 < ep_lengths.mean() < 180


def test_no_tunnelling_fuzz_at_max_speed():
    """Frame by frame, balls at 448 px/s in random directions among random bricks never enter one.
    The previous obs is copied: the step overwrites the returned obs buffer in place."""
    n, frames = 1024, 300
    env = make(n, seed=4, max_steps=0)
    env.reset()
    env._frameskip = 1
    rng = np.random.default_rng(4)
    o = env._obs
    o[:, 10:] = rng.random((n, 108)) < 0.5
    angle = rng.uniform(0, 2 * np.pi, n)
    for i in range(n):
        put_ball(env, i, rng.uniform(0, 544), rng.uniform(0, 270), 448 * math.cos(angle[i]),
                 448 * math.sin(angle[i]))
    o[:, 2], o[:, 3] = env._fs[:, B.F_BX] / 576, env._fs[:, B.F_BY] / 330
    o[:, 10:][ball_overlaps(o, tol=0.0)] = 0  # no ball starts inside a brick
    env._st[:, B.S_BRICKS] = np.count_nonzero(o[:, 10:], axis=1)
    env._st[:, B.S_WALL] = 1
    obs = o.copy()
    hits = 0
    for _ in range(frames):
        prev = obs.copy()  # the step overwrites the returned obs buffer in place
        obs, r, term, trunc, infos = env.step(rng.integers(0, 3, size=n))
        done = term | trunc
        end = np.where(done[:, None], infos["final_obs"], obs) if done.any() else obs
        assert not ball_overlaps(end).any() and not ball_overlaps(obs).any()
        assert np.all(end[:, 2] * 576 <= 544 + 1e-3) and np.all(end[:, 3] >= 0)
        b0, b1 = prev[:, 10:] > 0.5, end[:, 10:] > 0.5
        assert not (b1 & ~b0).any()
        assert np.all((b0 & ~b1).sum(axis=1) <= 1)  # one brick per frame at most
        np.testing.assert_array_equal(((b0 & ~b1) * POINTS).sum(axis=1), r)
        hits += np.count_nonzero(r)
    assert hits > n  # the walls were really hit, many times
