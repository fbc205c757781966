"""The code between the envs and the kernels, in each script: what one rollout feeds the advantage kernel.

Each test runs a script's own `main()` in this process on a small config, records every env step and
the agent it builds, and keeps the arguments of the first advantage-kernel call.
Then it checks them against what the recorded steps say they must be: V(obs t) for every step,
V(obs T) for the bootstrap, V(final_obs) for every truncated row, the env's own flags.
"""

import importlib

import numpy as np
import pytest

import kernels
from script_probe import KERNEL as SCRIPTS, critic, probe


def first_rollout(script: str, monkeypatch, tmp_path, *flags):
    """Run `script`'s main() through tests/script_probe.py and keep its first rollout: the steps (obs, reward,
    term, trunc, final obs), the reset obs, the agent with the weights the rollout ran with, and the arguments
    of the first advantage-kernel call."""
    rec = probe(script, monkeypatch, tmp_path, *flags)
    call = rec.kernel_calls[0]
    return {"steps": [(s.obs, s.reward, s.term, s.trunc, s.final_obs) for s in rec.steps[:call.steps_before]],
            "reset_obs": rec.resets[0], "agent": rec.agent_with(call.weights), "kernel_args": call.args,
            "kernel": getattr(kernels, SCRIPTS[script])}


# cartpole cut at 5 steps: a random policy rarely falls that fast, so most episodes are truncated
FLAGS = ["--env", "cartpole", "--env-kwargs", "max_steps=5", "--num-envs", "8", "--num-steps", "16",
         "--num-minibatches", "2", "--total-timesteps", "256"]


@pytest.mark.parametrize("script", list(SCRIPTS))
def test_kernel_gets_values_of_the_right_observations(script, monkeypatch, tmp_path):
    rec = first_rollout(script, monkeypatch, tmp_path, *FLAGS)
    agent, steps, args = rec["agent"], rec["steps"], rec["kernel_args"]
    T = len(steps)
    assert T == 16
    term = np.stack([s[2] for s in steps])
    trunc = np.stack([s[3] for s in steps])
    assert trunc.sum() >= 8, "the config should truncate many episodes"
    obs_before = [rec["reset_obs"]] + [s[0] for s in steps[:-1]]
    expected_values = np.stack([critic(agent, o) for o in obs_before])  # [T, N, W]
    expected_bootstrap = critic(agent, steps[-1][0])
    if script == "ppo_reward_horizon":
        rewards, k_term, k_trunc, values, bootstrap, final = args[:6]  # then the bin edges
    else:
        rewards, values, k_term, k_trunc, bootstrap, final = args[:6]
        expected_values, expected_bootstrap = expected_values[..., 0], expected_bootstrap[..., 0]
    np.testing.assert_array_equal(k_term, term)
    np.testing.assert_array_equal(k_trunc, trunc)
    np.testing.assert_allclose(rewards, np.stack([s[1] for s in steps]), atol=0)
    np.testing.assert_allclose(values, expected_values, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(bootstrap, expected_bootstrap, rtol=1e-5, atol=1e-5)
    # every truncated row bootstraps from the critic at that episode's own last obs (not the next episode's first)
    for t in range(T):
        for n in np.flatnonzero(trunc[t] & ~term[t]):
            want = critic(agent, steps[t][4][n][None])[0]
            got = final[t, n] if script == "ppo_reward_horizon" else final[t, n:n + 1]
            np.testing.assert_allclose(got, want if script == "ppo_reward_horizon" else want[:1], rtol=1e-5, atol=1e-5)
            next_first = critic(agent, steps[t][0][n][None])[0]
            assert not np.allclose(got, next_first[: np.size(got)]), "final obs and the next episode's first obs agree"

    # ... and it enters the advantage: with the truncations read as terminations the advantages differ
    real = rec["kernel"]
    as_term = list(args)
    if script == "ppo_reward_horizon":
        as_term[1] = term | trunc
    else:
        as_term[2] = term | trunc
    adv = real(*args)[2 if script == "ppo_reward_horizon" else 0]
    adv_wrong = real(*as_term)[2 if script == "ppo_reward_horizon" else 0]
    assert np.abs(adv - adv_wrong)[trunc].max() > 1e-3


def test_reset_mode_rate_includes_the_reset_cost(monkeypatch, tmp_path):
    """--rho-estimator batch in reset mode: the rewards the kernel centres (costs included) sum to zero."""
    rec = first_rollout("ppo_avg_reward", monkeypatch, tmp_path, "--env", "cartpole", "--num-envs", "16",
                        "--num-steps", "64", "--num-minibatches", "2", "--total-timesteps", "1024",
                        "--terminal-mode", "reset", "--reset-cost", "5", "--rho-estimator", "batch")
    rewards, _, term, _, _, _, rho, _, mode, cost = rec["kernel_args"]
    assert mode == "reset" and cost == 5.0 and term.sum() > 10
    centred = rewards.astype(np.float64) - rho - cost * term
    assert abs(centred.sum()) < 1e-6 * centred.size, (centred.sum(), rho)


def test_absorb_mode_targets_settle_on_the_true_differential_values():
    """A 10-step deterministic episodic toy, tabular h, exact regression onto the script's targets.

    In absorb mode h = 0 after the termination, so the true differential value is
    h*(s) = sum_{k >= s} (r_k - rho) over the rest of the episode, rho = the mean reward per step.
    """
    mod = importlib.import_module("ppo_avg_reward")
    args = mod.Args(terminal_mode="absorb", value_constraint=1.0, gae_lambda=0.95)
    r_of_state = np.array([0, 1, 0, 0, 2, 0, 1, 0, 0, 3], dtype=np.float32)
    L, T, N = 10, 20, 10
    states = (np.arange(T + 1)[:, None] + np.arange(N)[None, :]) % L  # env n starts at state n
    rewards = r_of_state[states[:T]]
    term = states[:T] == L - 1
    trunc = np.zeros_like(term)
    h, value_mean = np.zeros(L), None
    for _ in range(300):
        values = h[states[:T]].astype(np.float32)
        rho = mod.centred_rate(rewards, term, args)
        batch_value = float(values.mean())
        value_mean = batch_value if value_mean is None else value_mean + args.rho_step_size * (batch_value - value_mean)
        _, returns = kernels.avg_reward_gae(rewards, values, term, trunc, h[states[T]].astype(np.float32),
                                            np.zeros((T, N), np.float32), rho, args.gae_lambda, "absorb", 0.0)
        targets = mod.value_targets(returns, value_mean, args)
        h = np.array([targets[states[:T] == s].mean() for s in range(L)])
    rho = r_of_state.mean()
    true_h = np.array([(r_of_state[s:] - rho).sum() for s in range(L)])
    np.testing.assert_allclose(h, true_h, atol=1e-3)
    # in reset mode the constraint does act: nothing else fixes h's level there
    reset = mod.Args(terminal_mode="reset", value_constraint=1.0)
    assert np.allclose(mod.value_targets(np.ones(3, np.float32), 0.5, reset), 0.5)


def test_precision_weights_converge_to_inverse_noise_ratios():
    mod = importlib.import_module("ppo_reward_horizon")
    rng = np.random.default_rng(0)
    sigma = np.array([0.5, 1.0, 2.0, 1.0])
    head_var = None
    for _ in range(200):
        preds = rng.normal(size=(64, 32, 4)).astype(np.float32)
        targets = (preds + sigma * rng.normal(size=preds.shape)).astype(np.float32)
        mask = np.ones_like(preds)
        mask[:, :4, 3] = 0.0  # masked entries must not count (their residual is huge)
        targets[:, :4, 3] = 100.0
        head_var = mod.update_head_var(head_var, targets, preds, mask, 0.1)
    np.testing.assert_allclose(np.sqrt(head_var), sigma, rtol=0.05)
    w = mod.precision_weights(head_var, floor=0.01)
    assert abs(w.mean() - 1) < 1e-5
    np.testing.assert_allclose(w / w[1], 1.0 / sigma ** 2, rtol=0.1)


def test_a_noiseless_head_cannot_zero_the_others():
    mod = importlib.import_module("ppo_reward_horizon")
    H, floor = 32, 0.1
    head_var = np.ones(H)
    head_var[0] = 0.0  # CartPole's head 0 always sees reward 1: it can become exact
    w = mod.precision_weights(head_var, floor)
    assert np.all(np.isfinite(w)) and abs(w.mean() - 1) < 1e-5
    assert w[0] / w[1] <= 1 / floor * 1.05
    assert w[1:].min() > 0.7  # 32 / (1/floor + 31) = 0.78 of a uniform weight
    np.testing.assert_allclose(mod.precision_weights(np.full(H, 3.0), floor), 1.0, rtol=1e-6)


def test_geometric_bins_reach_the_kernel(monkeypatch, tmp_path):
    """--bins geometric: one critic output per bin, and the kernel gets those bins' edges."""
    rec = first_rollout("ppo_reward_horizon", monkeypatch, tmp_path, *FLAGS, "--bins", "geometric", "--horizon", "100")
    edges = rec["kernel_args"][6]
    np.testing.assert_array_equal(edges, [0, 1, 2, 4, 8, 16, 32, 64, 100])
    assert rec["agent"].critic_outputs == 8 and rec["kernel_args"][3].shape[-1] == 8


def synthetic_head_var(edges, ratio, reward_std, batches=60, seed=0):
    """Moving residual variances of bins whose residual std is ratio[i] x reward_std x sqrt(width_i),
    measured by the script's own update_head_var on synthetic rollouts, and the rewards' variance."""
    mod = importlib.import_module("ppo_reward_horizon")
    rng = np.random.default_rng(seed)
    sd = np.asarray(ratio) * reward_std * np.sqrt(np.diff(edges))
    head_var, reward_var = None, None
    for _ in range(batches):
        rewards = rng.normal(0.3, reward_std, size=(64, 16))
        preds = rng.normal(size=(64, 16, len(sd))).astype(np.float32)
        targets = (preds + sd * rng.normal(size=preds.shape)).astype(np.float32)
        head_var = mod.update_head_var(head_var, targets, preds, np.ones_like(preds), 0.1)
        batch = rewards.var()
        reward_var = batch if reward_var is None else reward_var + 0.1 * (batch - reward_var)
    return head_var, reward_var


def test_adaptive_cut_stops_at_the_first_noisy_bin_past_the_minimum():
    mod = importlib.import_module("ppo_reward_horizon")
    edges = kernels.geometric_edges(1024)  # 0 1 2 4 8 16 32 64 128 256 512 1024
    # bin 2 (steps 2-3) is noisy but lies inside the minimum window; bin 6 (steps 32-63) is the first
    # noisy one past it; bin 7 is quiet again but the window has stopped; bins 8.. are very noisy
    ratio = [0.3, 0.3, 5.0, 0.3, 0.5, 0.8, 1.5, 0.5, 3.0, 3.0, 3.0]
    head_var, reward_var = synthetic_head_var(edges, ratio, reward_std=0.5)
    np.testing.assert_allclose(np.sqrt(reward_var), 0.5, rtol=0.05)
    cut = mod.adaptive_cut(head_var, reward_var, edges, 1.0)
    np.testing.assert_array_equal(cut, [1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
    assert edges[np.flatnonzero(cut)[-1] + 1] == 32  # the effective window the script logs
    # a looser fraction lets bin 6 (1.5) through and stops at bin 8 (3.0); an even looser one cuts nothing
    np.testing.assert_array_equal(mod.adaptive_cut(head_var, reward_var, edges, 2.0), [1] * 8 + [0] * 3)
    np.testing.assert_array_equal(mod.adaptive_cut(head_var, reward_var, edges, 4.0), [1] * 11)
    # the same per-step noise in wide and narrow bins: no cut at c = 1.2, all bins past the minimum cut at c = 0.8
    even = [1.0] * 11
    head_var, reward_var = synthetic_head_var(edges, even, reward_std=0.5, seed=1)
    np.testing.assert_array_equal(mod.adaptive_cut(head_var, reward_var, edges, 1.2), [1] * 11)
    np.testing.assert_array_equal(mod.adaptive_cut(head_var, reward_var, edges, 0.8), [1] * 4 + [0] * 7)


def test_adaptive_cut_on_unit_heads_and_short_windows():
    mod = importlib.import_module("ppo_reward_horizon")
    edges = kernels.unit_edges(32)
    ratio = np.full(32, 0.5)
    ratio[3] = ratio[20:] = 2.0  # head 3 lies inside the minimum of 8 steps; head 20 is the first past it
    head_var, reward_var = synthetic_head_var(edges, ratio, reward_std=0.1)
    cut = mod.adaptive_cut(head_var, reward_var, edges, 1.0)
    assert cut.sum() == 20 and cut[:20].all()
    # H below the minimum: nothing is ever cut, however noisy
    assert mod.adaptive_cut(np.full(4, 100.0), 0.01, kernels.unit_edges(4), 0.5).tolist() == [1, 1, 1, 1]
    # a reward that never varies (std 0, CartPole's +1): no noise to compare with, nothing is cut
    assert mod.adaptive_cut(np.full(5, 1e-3), 0.0, kernels.geometric_edges(16), 1.0).tolist() == [1, 1, 1, 1, 1]


@pytest.mark.parametrize("scale", ["std", "return"])
@pytest.mark.parametrize("script", list(SCRIPTS))
def test_rewards_reach_the_kernel_divided_by_the_chosen_std(script, scale, monkeypatch, tmp_path):
    """--reward-scale std divides by the running std of the rewards; return by that of a 0.99-discounted
    running return, reset where an episode ends (CleanRL's MuJoCo scaling); both with the clip off."""
    rec = first_rollout(script, monkeypatch, tmp_path, "--env", "Pendulum-v1", "--env-kwargs", "max_episode_steps=20",
                        "--num-envs", "4", "--num-steps", "50", "--num-minibatches", "2", "--total-timesteps", "200",
                        "--reward-scale", scale, "--reward-clip", "0")
    rms = importlib.import_module(script).RunningMeanStd()
    running, expected, ends = np.zeros(4), [], 0
    for _, r, term, trunc, _ in rec["steps"]:
        running = running * 0.99 + r
        rms.update(running if scale == "return" else r)
        expected.append(r / np.sqrt(rms.var + 1e-8))
        running[term | trunc] = 0.0
        ends += int((term | trunc).sum())
    assert ends >= 8  # every env crossed an episode end at least twice
    np.testing.assert_allclose(rec["kernel_args"][0], np.array(expected), rtol=1e-5, atol=1e-6)
