"""fastenvs.pong: API, autoreset bookkeeping, game invariants, swept paddle collisions,
and a scripted tracker beating the random policy."""

import numpy as np
import pytest

from fastenvs.pong import AGENT_FACE, BALL_R, H, MAX_SPEED, OPP_FACE, PADDLE_HALF, W, Pong

AY, OY, BX, BY, VX, VY = range(6)

pytestmark = pytest.mark.usefixtures("one_thread")


def random_actions(rng, n):
    return rng.integers(0, 3, size=n)


def tracker(obs, deadband=0.08):
    """Scripted policy: move the paddle centre toward the ball's height."""
    gap = obs[:, 3] - obs[:, 0]
    return np.where(gap > deadband, 2, np.where(gap < -deadband, 1, 0))


def points(obs, win=21):
    """(agent, opponent) points read back from observations."""
    return np.rint(obs[:, 6] * win).astype(np.int64), np.rint(obs[:, 7] * win).astype(np.int64)


def test_spaces_and_dtypes():
    env = Pong(6, seed=1)
    assert env.single_observation_space.shape == (8,)
    assert env.single_observation_space.dtype == np.float32
    assert env.single_action_space.n == 3
    assert env.observation_space.shape == (6, 8) and env.action_space.shape == (6,)
    obs, infos = env.reset()
    assert obs.shape == (6, 8) and obs.dtype == np.float32 and infos == {}
    assert env.observation_space.contains(obs)
    np.testing.assert_array_equal(obs[:, 6:], 0.0)
    obs, rew, term, trunc, infos = env.step(np.full(6, 2))
    assert rew.shape == (6,) and rew.dtype == np.float32
    assert term.dtype == np.bool_ and trunc.dtype == np.bool_
    assert env.observation_space.contains(obs)


@pytest.mark.parametrize("kwargs", [dict(frameskip=0), dict(frameskip=2.5), dict(win_score=0),
                                    dict(max_steps=-5), dict(num_envs=0)])
def test_bad_kwargs(kwargs):
    args = dict(num_envs=2) | kwargs
    with pytest.raises(ValueError, match="not allowed"):
        Pong(**args)


def check_step(prev, obs, rew, term, trunc, infos, win=21):
    """Invariants of one step from obs `prev`; returns (score gain, number of agent returns)."""
    done = term | trunc
    assert not np.any(term & trunc)
    last = obs.copy()
    if done.any():
        np.testing.assert_array_equal(infos["_final_obs"], done)
        np.testing.assert_array_equal(infos["_env_episode"], done)
        last[done] = infos["final_obs"][done]
        # the returned obs of an ended env starts a new game: 0-0, paddles centred, ball on the centre line
        np.testing.assert_array_equal(obs[done][:, [0, 1, 2, 6, 7]], 0.0)
    else:
        assert infos == {}
    for o in (obs, last):
        # the ball is inside the field, every entry in its documented range
        assert np.all(np.abs(o[:, :6]) <= 1.0)
        assert np.all(np.abs(o[:, 3]) <= 1.0 - BALL_R / (H / 2) + 1e-6)
        assert np.all(np.abs(o[:, 0]) <= 1.0 - PADDLE_HALF / (H / 2) + 1e-6)
        assert np.all(np.abs(o[:, 1]) <= 1.0 - PADDLE_HALF / (H / 2) + 1e-6)
    a0, o0 = points(prev, win)
    a1, o1 = points(last, win)
    assert np.all((0 <= a1) & (a1 <= win) & (0 <= o1) & (o1 <= win))
    # points only go up, by at most one a step, and a game ends exactly when a side reaches `win`
    da, do = a1 - a0, o1 - o0
    assert np.all((da >= 0) & (da <= 1) & (do >= 0) & (do <= 1) & (da + do <= 1))
    np.testing.assert_array_equal(term, (a1 == win) | (o1 == win))
    gain = (da - do).astype(np.float64)
    # the reward is the point gain plus 0.1 per agent return
    bonus = (rew.astype(np.float64) - gain) / 0.1
    returns = np.rint(bonus)
    np.testing.assert_allclose(bonus, returns, atol=1e-4)
    assert np.all(returns >= 0) and np.all(returns <= 1)
    return gain, returns, done


def test_autoreset_and_episode_stats():
    """Episode statistics against sums kept here; the previous obs is a copy because the step
    overwrites the returned obs buffer in place."""
    n, steps = 64, 1500
    env = Pong(n, seed=7, win_score=5, max_steps=400)
    obs, _ = env.reset()
    rng = np.random.default_rng(2)
    ret = np.zeros(n)
    score = np.zeros(n)
    length = np.zeros(n, dtype=np.int64)
    terms = truncs = 0
    good = np.arange(n) % 2 == 0  # half the envs track the ball, so rallies get long and games time out
    for _ in range(steps):
        actions = np.where(good, tracker(obs), random_actions(rng, n))
        prev = obs.copy()  # the step overwrites the returned obs buffer in place
        obs, rew, term, trunc, infos = env.step(actions)
        gain, _, done = check_step(prev, obs, rew, term, trunc, infos, win=5)
        ret += rew
        score += gain
        length += 1
        if done.any():
            ep = infos["env_episode"]
            np.testing.assert_allclose(ep["r"][done], ret[done], rtol=1e-5, atol=1e-5)
            np.testing.assert_array_equal(ep["l"][done], length[done])
            np.testing.assert_array_equal(ep["score"][done], score[done])
            assert np.all(length[trunc] == 400)
            terms += term.sum()
            truncs += trunc.sum()
            ret[done] = score[done] = length[done] = 0
    assert terms > 50 and truncs > 5


def test_fuzz_invariants(all_threads):
    """1024 envs x 1000 steps (4M frames): field, points, episode ends and reward composition."""
    n, steps = 1024, 1000
    env = Pong(n, seed=99, copy=False)
    obs, _ = env.reset()
    rng = np.random.default_rng(3)
    mix = np.arange(n) % 3  # 0 random, 1 tracker, 2 random with a sticky direction
    sticky = random_actions(rng, n)
    ended = returned = 0
    for _ in range(steps):
        flip = rng.random(n) < 0.1
        sticky = np.where(flip, random_actions(rng, n), sticky)
        actions = np.where(mix == 0, random_actions(rng, n), np.where(mix == 1, tracker(obs), sticky))
        prev = obs.copy()
        obs, rew, term, trunc, infos = env.step(actions)
        _, returns, done = check_step(prev, obs, rew, term, trunc, infos)
        ended += term.sum()
        returned += returns.sum()
        assert not trunc.any()
    assert ended > 1000 and returned > 10000


def swept_case(env, rng, side):
    """Put every env's ball less than one frame (at MAX_SPEED) from crossing `side`'s paddle face, at
    a random height and slope; return which cases meet no wall first and the ball's y at the face line."""
    n = env.num_envs
    paddle = rng.uniform(PADDLE_HALF, H - PADDLE_HALF, n)
    vx = MAX_SPEED if side == "agent" else -MAX_SPEED
    face_x = AGENT_FACE - BALL_R if side == "agent" else OPP_FACE + BALL_R
    dist = rng.uniform(0.0, MAX_SPEED, n)  # the ball's centre is this far in front of the contact line
    dist[:8] = [0.0, 1e-9, 1e-3, 0.5, MAX_SPEED - 1e-3, MAX_SPEED - 1e-9, 3.0, 5.999]
    x0 = face_x - dist if side == "agent" else face_x + dist
    vy = rng.uniform(-MAX_SPEED, MAX_SPEED, n) * rng.integers(0, 2, n)
    yc = paddle + rng.uniform(-1.5, 1.5, n) * (PADDLE_HALF + BALL_R)
    yc = np.clip(yc, BALL_R, H - BALL_R)
    y0 = np.clip(yc - dist / MAX_SPEED * vy, BALL_R + 1e-6, H - BALL_R - 1e-6)
    yc = y0 + dist / MAX_SPEED * vy
    ok = (yc >= BALL_R) & (yc <= H - BALL_R)  # no wall bounce before the face
    for i in range(n):
        if side == "agent":
            env.set_state(i, [paddle[i], H / 2, x0[i], y0[i], vx, vy[i]])
        else:  # the opponent's paddle then moves toward the ball before the ball moves
            env.set_state(i, [H / 2, paddle[i], x0[i], y0[i], vx, vy[i]])
    return ok, yc


@pytest.mark.parametrize("side", ["agent", "opponent"])
def test_no_tunnelling_at_max_speed(side):
    """A ball at full speed crossing a paddle face within a frame bounces off it exactly when its
    path meets the paddle, however close to or far from the face the frame starts."""
    n = 4096
    env = Pong(n, seed=0, frameskip=1)
    env.reset()
    rng = np.random.default_rng(5 if side == "agent" else 6)
    ok, yc = swept_case(env, rng, side)
    before = env.state.copy()
    obs, rew, term, trunc, infos = env.step(np.zeros(n, dtype=np.int64))
    after = env.state
    paddle = after[:, AY] if side == "agent" else after[:, OY]
    hit = np.abs(yc - paddle) <= PADDLE_HALF + BALL_R
    face_x = AGENT_FACE - BALL_R if side == "agent" else OPP_FACE + BALL_R
    sign = 1.0 if side == "agent" else -1.0
    # a ball that touches the paddle turns around at the face; one that misses goes past it
    bounced = np.sign(after[:, VX]) == -sign
    sel = ok & hit
    assert sel.sum() > 1000 and (ok & ~hit).sum() > 500
    assert np.all(bounced[sel])
    np.testing.assert_allclose(after[sel, BX], face_x)
    np.testing.assert_allclose(after[sel, BY], yc[sel], atol=1e-9)
    assert np.all(np.abs(after[sel, VX]) == MAX_SPEED)
    miss = ok & ~hit
    assert not np.any(bounced[miss])
    assert np.all(sign * (after[miss, BX] - face_x) > 0)
    np.testing.assert_allclose(after[miss, BX], before[miss, BX] + before[miss, VX])
    expected_bonus = np.float32(0.1) if side == "agent" else np.float32(0.0)
    np.testing.assert_array_equal(rew[sel], expected_bonus)
    np.testing.assert_array_equal(rew[miss], 0.0)


@pytest.mark.parametrize("side", ["agent", "opponent"])
def test_fast_ball_never_passes_a_paddle(side):
    """Four frames a step at MAX_SPEED, from every sub-frame phase, straight at a still paddle
    centre (opponent: its tracking keeps it centred): always returned, never through."""
    n = 2048
    env = Pong(n, seed=0)
    env.reset()
    face_x = AGENT_FACE - BALL_R if side == "agent" else OPP_FACE + BALL_R
    dist = np.linspace(0.0, 4 * MAX_SPEED, n, endpoint=False)
    y = np.linspace(PADDLE_HALF, H - PADDLE_HALF, n)
    for i in range(n):
        if side == "agent":
            env.set_state(i, [y[i], H / 2, face_x - dist[i], y[i], MAX_SPEED, 0.0])
        else:
            env.set_state(i, [H / 2, y[i], face_x + dist[i], y[i], -MAX_SPEED, 0.0])
    obs, rew, term, trunc, infos = env.step(np.zeros(n, dtype=np.int64))
    x = env.state[:, BX]
    if side == "agent":
        assert np.all(env.state[:, VX] < 0) and np.all(x <= face_x)
        np.testing.assert_array_equal(rew, np.float32(0.1))
    else:
        assert np.all(env.state[:, VX] > 0) and np.all(x >= face_x)
        np.testing.assert_array_equal(rew, 0.0)
    assert not (term | trunc).any()


def test_bounce_angle_follows_hit_position():
    env = Pong(3, seed=0, frameskip=1)
    env.reset()
    face_x = AGENT_FACE - BALL_R
    for i, offset in enumerate([-1.0, 0.0, 0.5]):  # top end, centre, half way down
        env.set_state(i, [96.0, 96.0, face_x - 1.0, 96.0 + offset * (PADDLE_HALF + BALL_R), 4.0, 0.0])
    env.step(np.zeros(3, dtype=np.int64))
    speed = 4.0 + 0.25
    np.testing.assert_allclose(env.state[:, VX], -speed)
    np.testing.assert_allclose(env.state[:, VY], [-speed, 0.0, 0.5 * speed])


def test_point_and_game_end():
    env = Pong(2, seed=0, frameskip=1)
    env.reset()
    # env 0: the agent misses at 20-20 -> the opponent wins the game; env 1: the opponent misses at 3-0
    env.set_state(0, [20.0, 96.0, W - 1.0, 150.0, 3.0, 0.0], scores=[20, 20])
    env.set_state(1, [96.0, 20.0, 1.0, 150.0, -3.0, 0.0], scores=[3, 0])
    obs, rew, term, trunc, infos = env.step(np.zeros(2, dtype=np.int64))
    np.testing.assert_array_equal(rew, [-1.0, 1.0])
    np.testing.assert_array_equal(term, [True, False])
    np.testing.assert_allclose(infos["final_obs"][0, 6:], [20 / 21, 1.0])
    np.testing.assert_allclose(infos["final_obs"][0, 2], 1.0)  # the ball stopped on the back line
    np.testing.assert_allclose(obs[1, 6:], [4 / 21, 0.0], rtol=1e-6)
    assert obs[1, 2] == 0.0  # served from the centre line
    np.testing.assert_array_equal(obs[0, 6:], 0.0)  # env 0 already started its next game


def test_tracker_beats_random():
    """Following the ball wins most points; random play loses most."""
    n, steps = 256, 1500
    won = {}
    for name in ("random", "tracker"):
        env = Pong(n, seed=21, copy=False)
        obs, _ = env.reset()
        rng = np.random.default_rng(8)
        gained = lost = 0
        for _ in range(steps):
            actions = tracker(obs) if name == "tracker" else random_actions(rng, n)
            obs, rew, term, trunc, infos = env.step(actions)
            point = np.rint(rew)  # the shaping bonus is 0.1 at most, a point +-1
            gained += (point > 0).sum()
            lost += (point < 0).sum()
        won[name] = gained / (gained + lost)
    assert won["random"] < 0.2 and won["tracker"] > 0.55, won


def test_render():
    env = Pong(1)
    env.reset()
    env.set_state(0, [50.0, 120.0, 80.0, 60.0, 3.0, 1.0], scores=[3, 5])
    frame = env.render()
    assert frame.shape == (384, 320, 3) and frame.dtype == np.uint8
    green = np.all(frame == (92, 186, 92), axis=-1)
    assert green.sum() > (2 * PADDLE_HALF * 4) * 4  # the agent's paddle, scaled 2x, plus score ticks
    assert np.all(frame[120, 160] == (236, 236, 236))  # the ball, at (80, 60) in field units
