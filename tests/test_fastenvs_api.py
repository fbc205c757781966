"""The vector-env contract, checked on every registered env through `fastenvs.make`: spaces and
dtypes, same-step autoreset with `final_obs`, episode statistics, seeding, independence from N."""

import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv

import fastenvs

# Options that make episodes end within a few hundred random steps, so autoreset is exercised.
SHORT = {"breakout": {"max_steps": 60}, "pong": {"win_score": 1, "max_steps": 80}, "noop": {"max_steps": 7},
         "delay": {"delay": 9}, "chain": {"length": 6}}
NAMES = fastenvs.names()


def make(name, n, seed, **kwargs):
    return fastenvs.make(name, n, seed=seed, **{**SHORT.get(name, {}), **kwargs})


def rollout(env, actions_list, seed):
    """Stack obs, rewards, flags and final obs (zeros where no episode ended) over the steps."""
    obs, _ = env.reset(seed=seed)
    out = {"obs": [obs], "rew": [], "term": [], "trunc": [], "final": []}
    for a in actions_list:
        obs, rew, term, trunc, infos = env.step(a)
        for k, v in zip(["obs", "rew", "term", "trunc"], [obs, rew, term, trunc]):
            out[k].append(v)
        out["final"].append(np.where(infos["_final_obs"][:, None], infos["final_obs"], 0) if infos else 0 * obs)
    return {k: np.stack(v) for k, v in out.items()}


def random_actions(rng, env, steps):
    return [rng.integers(0, env.single_action_space.n, size=env.num_envs) for _ in range(steps)]


def test_registry_lists_every_suite_env():
    assert set(NAMES) >= {"bandit", "squared", "delay", "chain", "cartpole", "pong", "breakout"}


@pytest.mark.parametrize("name", NAMES)
def test_spaces_dtypes_and_bad_actions(name):
    env = make(name, 8, seed=3)
    assert isinstance(env, VectorEnv) and env.num_envs == 8
    assert env.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    d = env.single_observation_space.shape[0]
    assert isinstance(env.single_observation_space, spaces.Box) and env.single_observation_space.dtype == np.float32
    assert isinstance(env.single_action_space, spaces.Discrete)
    assert env.observation_space.shape == (8, d) and env.action_space.shape == (8,)
    obs, infos = env.reset(seed=1, options=None)
    assert obs.dtype == np.float32 and obs.shape == (8, d) and infos == {}
    assert all(env.single_observation_space.contains(o) for o in obs)
    obs, rew, term, trunc, infos = env.step(np.zeros(8, dtype=np.int64))
    assert obs.dtype == np.float32 and obs.shape == (8, d)
    assert rew.dtype == np.float32 and rew.shape == (8,)
    assert term.dtype == np.bool_ and trunc.dtype == np.bool_ and term.shape == trunc.shape == (8,)
    with pytest.raises(ValueError, match="not allowed"):
        env.step(np.full(8, env.single_action_space.n))
    with pytest.raises(ValueError, match="not allowed"):
        env.step(np.zeros(7, dtype=np.int64))


@pytest.mark.parametrize("name", NAMES)
def test_autoreset_final_obs_and_episode_stats(name):
    n = 32
    env = make(name, n, seed=2)
    rng = np.random.default_rng(2)
    obs, _ = env.reset()
    ret, length, ended = np.zeros(n), np.zeros(n, dtype=np.int64), 0
    for a in random_actions(rng, env, 400):
        obs, rew, term, trunc, infos = env.step(a)
        assert not (term & trunc).any()  # a termination wins over a time limit
        ret += rew
        length += 1
        done = term | trunc
        if not done.any():
            assert infos == {}
            continue
        np.testing.assert_array_equal(infos["_final_obs"], done)
        np.testing.assert_array_equal(infos["_episode"], done)
        assert infos["final_obs"].shape == obs.shape and infos["final_obs"].dtype == np.float32
        ep = infos["episode"]
        np.testing.assert_allclose(ep["r"][done], ret[done], rtol=1e-5, atol=1e-4)
        np.testing.assert_array_equal(ep["l"][done], length[done])
        assert np.isfinite(ep["score"][done]).all()
        ended += done.sum()
        ret[done], length[done] = 0.0, 0
    assert ended >= n  # every env ended at least about once: the autoreset path really ran


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_trajectory(name):
    env = make(name, 16, seed=5)
    acts = random_actions(np.random.default_rng(0), env, 300)
    a = rollout(env, acts, seed=11)
    b = rollout(env, acts, seed=11)  # the same object, re-seeded
    c = rollout(make(name, 16, seed=11), acts, seed=11)  # a fresh object
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
        np.testing.assert_array_equal(a[k], c[k])


@pytest.mark.parametrize("name", NAMES)
def test_env_i_does_not_depend_on_num_envs(name):
    rng = np.random.default_rng(1)
    one, many = make(name, 1, seed=9), make(name, 48, seed=9)
    acts = random_actions(rng, many, 300)
    a = rollout(one, [x[:1] for x in acts], seed=9)
    b = rollout(many, acts, seed=9)
    for k in a:
        np.testing.assert_array_equal(a[k][:, 0], b[k][:, 0])


@pytest.mark.parametrize("name", [n for n in NAMES if n not in ("chain", "noop")])  # these draw no random numbers
def test_different_seeds_differ(name):
    env = make(name, 16, seed=0)
    acts = random_actions(np.random.default_rng(0), env, 200)
    assert not np.array_equal(rollout(env, acts, seed=1)["obs"], rollout(env, acts, seed=2)["obs"])


@pytest.mark.parametrize("name", NAMES)
def test_copy_false_returns_the_envs_own_buffers(name):
    env = make(name, 4, seed=0, copy=False)
    o1, _ = env.reset()
    o2, *_ = env.step(np.zeros(4, dtype=np.int64))
    assert o1 is o2
