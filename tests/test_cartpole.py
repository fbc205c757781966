"""fastenvs.cartpole: API, autoreset bookkeeping, invariants and step-by-step agreement
with Gymnasium's CartPole-v1."""

import math

import gymnasium as gym
import numpy as np
import pytest

from fastenvs.cartpole import THETA_LIMIT, X_LIMIT, CartPole


pytestmark = pytest.mark.usefixtures("one_thread")


def in_bounds(obs, margin=1e-6):
    """|x| <= 2.4 and |theta| <= 12 degrees, give or take float32 rounding of the obs."""
    return (np.abs(obs[:, 0]) <= X_LIMIT + margin) & (np.abs(obs[:, 2]) <= THETA_LIMIT + margin)


def random_actions(rng, n):
    return rng.integers(0, 2, size=n)


def test_spaces_and_dtypes():
    env = CartPole(5, seed=1)
    assert env.single_observation_space.shape == (4,)
    assert env.single_observation_space.dtype == np.float32
    assert env.single_action_space.n == 2
    assert env.observation_space.shape == (5, 4) and env.action_space.shape == (5,)
    obs, infos = env.reset()
    assert obs.shape == (5, 4) and obs.dtype == np.float32 and infos == {}
    assert np.all(np.abs(obs) <= 0.05)
    obs, rew, term, trunc, infos = env.step(np.ones(5, dtype=np.int64))
    assert obs.shape == (5, 4) and obs.dtype == np.float32
    assert rew.shape == (5,) and rew.dtype == np.float32
    assert term.dtype == np.bool_ and trunc.dtype == np.bool_
    assert env.observation_space.contains(obs)


@pytest.mark.parametrize("kwargs", [dict(num_envs=0), dict(num_envs=2, max_steps=-1), dict(num_envs=2, seed=1.5)])
def test_bad_kwargs(kwargs):
    with pytest.raises(ValueError, match="not allowed"):
        CartPole(**kwargs)


def test_bad_actions_and_state():
    env = CartPole(3)
    env.reset()
    with pytest.raises(ValueError, match="not allowed"):
        env.step(np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="not allowed"):
        env.set_state(0, [0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="not allowed"):
        env.set_state(3, [0.0] * 4)


def test_autoreset_and_episode_stats():
    n, steps = 32, 700
    env = CartPole(n, seed=7, max_steps=100)  # a short limit so that truncations happen too
    obs, _ = env.reset()
    rng = np.random.default_rng(2)
    ret = np.zeros(n)
    length = np.zeros(n, dtype=np.int64)
    ended = truncated_seen = 0
    for _ in range(steps):
        # a balancing controller on half of the envs keeps some of them alive until the time limit
        ctrl = (obs[:, 2] + 0.5 * obs[:, 3] > 0).astype(np.int64)
        actions = np.where(np.arange(n) < n // 2, ctrl, random_actions(rng, n))
        obs, rew, term, trunc, infos = env.step(actions)
        assert np.all(rew == 1.0)
        ret += rew
        length += 1
        done = term | trunc
        assert not np.any(term & trunc)
        if not done.any():
            assert infos == {}
            continue
        np.testing.assert_array_equal(infos["_final_obs"], done)
        np.testing.assert_array_equal(infos["_env_episode"], done)
        fin = infos["final_obs"][done]
        ep = infos["env_episode"]
        np.testing.assert_allclose(ep["r"][done], ret[done])
        np.testing.assert_array_equal(ep["l"][done], length[done])
        np.testing.assert_allclose(ep["score"][done], ret[done])
        # terminal obs are out of bounds; truncated ones are not and come after exactly 100 steps
        assert np.all(in_bounds(fin[trunc[done]])) and not np.any(in_bounds(fin[term[done]], -1e-6))
        assert np.all(length[trunc] == 100)
        # the returned obs of an ended env is already the first obs of its next episode
        assert np.all(np.abs(obs[done]) <= 0.05)
        np.testing.assert_array_equal(obs[done], env.state[done].astype(np.float32))
        ended += done.sum()
        truncated_seen += trunc.sum()
        ret[done] = 0.0
        length[done] = 0
    assert ended > 100 and truncated_seen > 10


def test_fuzz_invariants(all_threads):
    """1024 envs x 1000 steps of random and controlled actions: bounds, reward, lengths."""
    n, steps = 1024, 1000
    env = CartPole(n, seed=123, copy=False)
    obs, _ = env.reset()
    rng = np.random.default_rng(3)
    mixed = np.arange(n) % 4 == 0  # a quarter balance the pole, so some reach 500 steps
    length = np.zeros(n, dtype=np.int64)
    truncations = 0
    for _ in range(steps):
        ctrl = (obs[:, 2] + 0.5 * obs[:, 3] > 0).astype(np.int64)
        actions = np.where(mixed, ctrl, random_actions(rng, n))
        obs, rew, term, trunc, infos = env.step(actions)
        length += 1
        assert np.all(rew == 1.0)
        assert np.all(length <= 500)
        assert np.all(in_bounds(obs))
        done = term | trunc
        if done.any():
            fin = infos["final_obs"]
            assert np.all(in_bounds(fin[trunc])) and not np.any(in_bounds(fin[term], -1e-6))
            assert np.all(length[trunc] == 500)
            np.testing.assert_array_equal(infos["env_episode"]["l"][done], length[done])
            truncations += trunc.sum()
            length[done] = 0
        assert np.all(np.isfinite(obs))
    assert truncations > 0


def test_matches_gymnasium_cartpole_v1():
    """From the same states with the same actions, every step agrees with CartPole-v1 for 200+
    episodes, a share of them long enough to hit the 500-step truncation."""
    n = 20
    env = CartPole(n, seed=2024)
    refs = [gym.make("CartPole-v1") for _ in range(n)]
    obs, _ = env.reset()
    for i, ref in enumerate(refs):
        ref.reset(seed=i)
        ref.unwrapped.state = env.state[i].copy()
    rng = np.random.default_rng(4)
    # per-episode share of random actions; 0 lets the controller balance for the full 500 steps
    eps_choices = np.array([0.0, 0.05, 0.2, 0.5, 1.0, 1.0])
    eps = rng.choice(eps_choices, n)
    episodes = truncations = steps = 0
    max_err = 0.0
    while episodes < 200:
        ctrl = (obs[:, 2] + 0.5 * obs[:, 3] + 0.02 * obs[:, 0] + 0.1 * obs[:, 1] > 0).astype(np.int64)
        actions = np.where(rng.random(n) < eps, random_actions(rng, n), ctrl)
        obs, rew, term, trunc, infos = env.step(actions)
        steps += 1
        for i, ref in enumerate(refs):
            r_obs, r_rew, r_term, r_trunc, _ = ref.step(int(actions[i]))
            mine = infos["final_obs"][i] if (term[i] or trunc[i]) else obs[i]
            np.testing.assert_allclose(mine, r_obs, rtol=1e-5, atol=1e-6)
            max_err = max(max_err, float(np.max(np.abs(mine - r_obs))))
            assert rew[i] == r_rew
            assert term[i] == r_term
            # CartPole-v1's time limit flags a step that terminates on step 500 as truncated too
            assert trunc[i] == (r_trunc and not r_term)
            if term[i] or trunc[i]:
                episodes += 1
                truncations += int(trunc[i])
                ref.reset()
                ref.unwrapped.state = env.state[i].copy()
                eps[i] = rng.choice(eps_choices)
    assert truncations >= 10
    print(f"{episodes} episodes, {steps * n} steps, {truncations} truncated, max |obs diff| {max_err:.2e}")


def test_set_state():
    env = CartPole(2)
    env.reset()
    env.set_state(1, [2.39, 1.0, 0.0, 0.0])  # x + 0.02 * 1.0 = 2.41 crosses the limit
    obs, rew, term, trunc, infos = env.step(np.array([0, 1]))
    assert term[1] and not term[0]
    assert math.isclose(infos["final_obs"][1][0], 2.41, rel_tol=1e-6)


def test_render():
    env = CartPole(2)
    env.reset()
    frame = env.render()
    assert frame.shape == (400, 600, 3) and frame.dtype == np.uint8
    assert (frame == 0).any() and (frame == 255).any()
    assert np.all(frame[..., 0][(frame[..., 1] == 152)] == 202)  # pole pixels are present
    assert (frame[..., 1] == 152).sum() > 100
