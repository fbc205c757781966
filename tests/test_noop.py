"""The noop env: zero observations, zero rewards, no episode end unless a time limit is asked for."""

import numpy as np
import pytest

import fastenvs
from fastenvs._core import FastVectorEnv


def test_noop_is_registered_with_breakouts_shapes():
    env = fastenvs.make("noop", 8, seed=3)
    assert "noop" in fastenvs.names() and isinstance(env, FastVectorEnv)
    assert env.single_observation_space.shape == (118,) and env.single_action_space.n == 3
    assert fastenvs.make("noop", 2, obs_dim=5, num_actions=7).single_observation_space.shape == (5,)


def test_noop_is_all_zeros_and_never_ends():
    env = fastenvs.make("noop", 16, seed=0)
    obs, infos = env.reset(seed=1)
    assert obs.dtype == np.float32 and not obs.any() and infos == {}
    assert env.single_observation_space.contains(obs[0])
    rng = np.random.default_rng(0)
    for _ in range(3000):
        obs, rewards, terms, truncs, infos = env.step(rng.integers(0, 3, size=16))
        assert not obs.any() and not rewards.any() and not terms.any() and not truncs.any() and infos == {}
    assert rewards.dtype == np.float32


def test_noop_time_limit_truncates():
    env = fastenvs.make("noop", 4, max_steps=5, copy=False)
    env.reset()
    for step in range(1, 11):
        obs, rewards, terms, truncs, infos = env.step(np.zeros(4, dtype=np.int64))
        assert not terms.any() and truncs.all() == (step % 5 == 0)
        if step % 5 == 0:
            assert infos["env_episode"]["l"].tolist() == [5] * 4 and not infos["env_episode"]["r"].any()
            assert not infos["final_obs"].any()


def test_noop_rejects_bad_sizes():
    with pytest.raises(ValueError, match="obs_dim=0"):
        fastenvs.make("noop", 2, obs_dim=0)
    with pytest.raises(ValueError, match="num_actions=0"):
        fastenvs.make("noop", 2, num_actions=0)
    with pytest.raises(ValueError, match="action 3"):
        fastenvs.make("noop", 2).step(np.array([0, 3]))
