"""What reaches the advantage kernel from the env, checked on each script's own main() (tests/script_probe.py):
observations normalised the same way for every value the kernel gets, the final obs of a truncated
episode included; the seed reaching the envs (and torch); the default reward clip and scaling.
"""

import importlib

import numpy as np
import pytest
import torch

from script_probe import SCRIPTS, critic, probe, running_norm

pytestmark = pytest.mark.usefixtures("one_thread")


def per_head(x, script):
    return x if script == "ppo_reward_horizon" else x[..., 0]


# Pendulum: flat obs, continuous actions, so --norm-obs auto normalises; cut at 5 steps, so many rows
# truncate. CartPole with --norm-obs on: flat obs, discrete actions, normalised on request.
NORM_CASES = {
    "auto": ["--env", "Pendulum-v1", "--env-kwargs", "max_episode_steps=5"],
    "on": ["--env", "cartpole", "--env-kwargs", "max_steps=5", "--norm-obs", "on"],
}


@pytest.mark.parametrize("norm", list(NORM_CASES))
@pytest.mark.parametrize("script", SCRIPTS)
def test_values_and_final_values_see_normalised_obs(script, norm, monkeypatch, tmp_path):
    """With observation normalisation in effect, over two iterations: V(obs t), V(obs T) and, for every
    truncated row, V(final obs) are the critic at the obs normalised by the running statistics of every
    obs seen up to that step (final obs are normalised, not counted)."""
    T, N = 12, 4
    rec = probe(script, monkeypatch, tmp_path, *NORM_CASES[norm], "--num-envs", str(N), "--num-steps", str(T),
                "--num-minibatches", "2", "--total-timesteps", str(2 * T * N))
    assert len(rec.kernel_calls) == 2 and len(rec.steps) == 2 * T
    seen = [rec.resets[-1]] + [s.obs for s in rec.steps]  # what the statistics are updated with, in order
    truncated_rows = 0
    for k in range(2):
        b, agent = rec.kernel(k), rec.agent_with(rec.kernel_calls[k].weights)
        for t in range(T):
            i = k * T + t  # the step's index in the run; obs i (seen[i]) is the obs it acts in
            norm_before, _, _ = running_norm(seen[:i + 1])
            np.testing.assert_allclose(b["values"][t], per_head(critic(agent, norm_before(seen[i])), script),
                                       rtol=1e-5, atol=1e-5)
            norm_after, _, _ = running_norm(seen[:i + 2])
            step = rec.steps[i]
            for n in np.flatnonzero(step.trunc & ~step.term):
                want = per_head(critic(agent, norm_after(step.final_obs[n][None]))[0], script)
                np.testing.assert_allclose(b["final"][t, n], want, rtol=1e-5, atol=1e-5)
                raw = per_head(critic(agent, step.final_obs[n][None])[0], script)
                assert np.abs(raw - want).max() > 1e-3, "normalising should change the value here"
                truncated_rows += 1
        norm_end, _, _ = running_norm(seen[:(k + 1) * T + 1])
        np.testing.assert_allclose(b["bootstrap"], per_head(critic(agent, norm_end(seen[(k + 1) * T])), script),
                                   rtol=1e-5, atol=1e-5)
    assert truncated_rows >= 8


SEED_ENVS = {"fastenvs": ["--env", "cartpole"], "gymnasium": ["--env", "CartPole-v1"]}
SMALL = ["--num-envs", "4", "--num-steps", "16", "--num-minibatches", "2", "--total-timesteps", "128"]


def trajectories(rec):
    return [rec.resets[-1]] + [x for s in rec.steps for x in (s.obs, s.reward, s.term, s.trunc)]


def same(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("kind", list(SEED_ENVS))
@pytest.mark.parametrize("script", SCRIPTS)
def test_seed_reaches_the_envs(script, kind, monkeypatch, tmp_path):
    """Torch seeded alike whatever --seed (so the policy samples the same way): the same --seed gives the
    same env trajectories over two iterations, another --seed other ones from the first reset on."""
    real_seed = torch.manual_seed
    monkeypatch.setattr(torch, "manual_seed", lambda seed: real_seed(0))
    runs = [trajectories(probe(script, monkeypatch, tmp_path / name, *SEED_ENVS[kind], *SMALL, "--seed", seed))
            for name, seed in [("a", "3"), ("b", "3"), ("c", "4")]]
    assert same(runs[0], runs[1])
    assert not np.array_equal(runs[0][0], runs[2][0]), "another seed should start the envs elsewhere"
    assert not same(runs[0], runs[2])


@pytest.mark.parametrize("script", SCRIPTS)
def test_seed_reaches_the_policy_and_the_minibatch_order(script, monkeypatch, tmp_path):
    """The envs seeded alike whatever --seed: the same --seed gives the same actions and minibatch order,
    another --seed other ones."""
    mod = importlib.import_module(script)
    real_make_env, real_randperm = mod.make_env, torch.randperm
    perms = []

    def make_env(env_id, num_envs, seed, *a, **k):
        envs = real_make_env(env_id, num_envs, 0, *a, **k)
        real_reset = envs.reset
        envs.reset = lambda seed=None, **kw: real_reset(seed=None if seed is None else 0, **kw)
        return envs

    def randperm(*a, **k):
        perms[-1].append(real_randperm(*a, **k).clone())
        return perms[-1][-1]

    monkeypatch.setattr(mod, "make_env", make_env)
    monkeypatch.setattr(torch, "randperm", randperm)
    runs = []
    for name, seed in [("a", "3"), ("b", "3"), ("c", "4")]:
        perms.append([])
        rec = probe(script, monkeypatch, tmp_path / name, *SEED_ENVS["fastenvs"], *SMALL, "--seed", seed)
        runs.append(([s.actions for s in rec.steps], perms[-1]))
    assert same(runs[0][0], runs[1][0]) and len(runs[0][1]) == 2 * 4
    assert all(torch.equal(p, q) for p, q in zip(runs[0][1], runs[1][1]))
    assert not same(runs[0][0], runs[2][0])
    assert not torch.equal(runs[0][1][0], runs[2][1][0])


REWARD_ENVS = {"discrete": ["--env", "cartpole"], "continuous": ["--env", "Pendulum-v1"]}


@pytest.mark.parametrize("kind", list(REWARD_ENVS))
@pytest.mark.parametrize("script", SCRIPTS)
def test_default_reward_preprocessing(script, kind, monkeypatch, tmp_path):
    """No reward flags: discrete actions, the rewards clipped to [-1, 1] and not scaled; continuous actions,
    divided by the running std of all rewards so far (--reward-scale auto) and clipped to [-10, 10].
    The env's rewards are replaced by the test's own: normal with std 3, and two outliers of +-10^4."""
    T, N = 32, 8
    rng = np.random.default_rng(0)
    injected = rng.normal(0.0, 3.0, size=(T, N))
    injected[T - 2, 0], injected[T - 1, 1] = 1e4, -1e4

    rec = probe(script, monkeypatch, tmp_path, *REWARD_ENVS[kind], "--num-envs", str(N), "--num-steps", str(T),
                "--num-minibatches", "2", "--update-epochs", "1", "--total-timesteps", str(T * N),
                rewards=lambda t, r: injected[t].astype(r.dtype))
    got = rec.kernel(0)["rewards"]
    if kind == "discrete":
        want, c = np.clip(injected, -1, 1), 1.0
    else:
        scaled = np.stack([injected[t] / np.sqrt(running_norm(list(injected[:t + 1]))[2] + 1e-8)
                           for t in range(T)])
        want, c = np.clip(scaled, -10, 10), 10.0
        assert ((np.abs(scaled) > 1) & (np.abs(scaled) < 10)).any() and (np.abs(scaled) > 10).sum() == 2
    assert (np.abs(injected) > c).any() and (np.abs(want) < c).sum() > T * N // 8
    np.testing.assert_allclose(got, want.astype(np.float32), rtol=1e-6, atol=1e-7)
