"""What a script carries from one iteration to the next, checked on its own main() over three iterations.

Each test runs a script in this process (tests/script_probe.py records the kernel calls, the tensors
handed to the update, the optimizer steps and the logged metrics) and recomputes here, from the
recorded batches alone, the state iterations 2 and 3 must use: the learning rate, the moving variances
of the reward-horizon heads and the weights they give the advantage, the reward rate rho and the
value constraint's moving mean. Each also checks that a state restarted every iteration would be
told apart, so that the comparison can fail.
"""

import importlib

import numpy as np
import pytest

from script_probe import SCRIPTS, probe

pytestmark = pytest.mark.usefixtures("one_thread")

CARTPOLE = ["--env", "cartpole", "--num-envs", "4", "--num-steps", "8", "--num-minibatches", "2",
            "--update-epochs", "2", "--total-timesteps", "96"]  # 3 iterations of 32 steps, 4 updates each


@pytest.mark.parametrize("anneal", ["--anneal-lr", "--no-anneal-lr"])
@pytest.mark.parametrize("script", SCRIPTS)
def test_learning_rate_is_annealed_per_iteration(script, anneal, monkeypatch, tmp_path):
    """--anneal-lr: every update of iteration k (of n) uses (1 - (k - 1) / n) x the learning rate, and the
    log says so; --no-anneal-lr: the learning rate throughout."""
    rec = probe(script, monkeypatch, tmp_path, *CARTPOLE, "--learning-rate", "0.003", anneal)
    n, per_iteration = 3, 2 * 2
    assert len(rec.updates) == n * per_iteration and len(rec.metrics) == n
    for k in range(1, n + 1):
        want = 0.003 * (1 - (k - 1) / n) if anneal == "--anneal-lr" else 0.003
        used = [u.lr for u in rec.updates[(k - 1) * per_iteration:k * per_iteration]]
        np.testing.assert_allclose(used, want, rtol=1e-12)
        assert rec.metrics[k - 1]["learning_rate"] == pytest.approx(want, rel=1e-12)


def test_head_weights_and_variances_carry_across_iterations(monkeypatch, tmp_path):
    """--head-weighting adaptive-precision: each head's residual variance and the reward's variance are
    moving averages over the iterations (step --head-var-step-size); the precision weights and the cut
    they give are what multiply the per-head residuals in the advantage the update gets."""
    mod = importlib.import_module("ppo_reward_horizon")
    step_size, floor, fraction = 0.3, 0.1, 0.5
    seen = []
    real_cut = mod.adaptive_cut

    def cut(head_var, reward_var, edges, c):
        seen.append((np.array(head_var), reward_var))
        return real_cut(head_var, reward_var, edges, c)

    monkeypatch.setattr(mod, "adaptive_cut", cut)
    rec = probe("ppo_reward_horizon", monkeypatch, tmp_path, "--env", "delay", "--env-kwargs", "delay=5",
                "--horizon", "16", "--head-weighting", "adaptive-precision", "--head-var-step-size", str(step_size),
                "--precision-floor", str(floor), "--cut-fraction", str(fraction), "--num-envs", "8",
                "--num-steps", "16", "--num-minibatches", "2", "--update-epochs", "2", "--total-timesteps", "384")
    assert len(rec.kernel_calls) == 3 and len(seen) == 3
    head_var = reward_var = None
    cuts = []
    for k in range(3):
        b = rec.kernel(k)
        edges, mask, residual = b["edges"], b["mask"], b["targets"] - b["values"]
        count = mask.sum((0, 1), dtype=np.float64)
        batch_head = (mask * residual.astype(np.float64) ** 2).sum((0, 1)) / np.maximum(count, 1)
        batch_reward = float(np.var(b["rewards"].astype(np.float64)))
        if k == 0:
            head_var, reward_var = batch_head, batch_reward
        else:
            head_var = np.where(count > 0, head_var + step_size * (batch_head - head_var), head_var)
            reward_var = reward_var + step_size * (batch_reward - reward_var)
            # a state restarted each iteration would differ visibly from the moving averages
            assert np.abs(batch_head - head_var).max() > 1e-3 * head_var.max()
            assert abs(batch_reward - reward_var) > 1e-3 * reward_var
        # what the cut is computed from, and what the log reports
        np.testing.assert_allclose(seen[k][0], head_var, rtol=1e-6)
        assert seen[k][1] == pytest.approx(reward_var, rel=1e-9)
        assert rec.metrics[k]["reward_std"] == pytest.approx(np.sqrt(reward_var), rel=1e-9)
        np.testing.assert_allclose(rec.metrics[k]["head_residual_std"], np.sqrt(head_var), atol=6e-5)
        # the weights that reach the advantage handed to the update
        widths = np.diff(edges)
        keep = real_cut(head_var, reward_var, edges, fraction)
        weights = mod.precision_weights(head_var / widths, floor) * keep
        cuts.append(keep)
        want = (mask * residual * weights).sum(-1)
        (got,) = rec.update_tensors(k, want.shape)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
        if k > 0:
            fresh = mod.precision_weights(batch_head / widths, floor) * real_cut(batch_head, batch_reward, edges, fraction)
            assert np.abs((mask * residual * fresh).sum(-1) - want).max() > 1e-3
        assert rec.metrics[k]["head_weights"] == pytest.approx(np.round(weights, 4).tolist(), abs=1e-4)
    assert any(c.min() == 0 for c in cuts), "the cut should act in some iteration"


@pytest.mark.parametrize("estimator", ["ema", "batch"])
def test_rate_and_value_constraint_carry_across_iterations(estimator, monkeypatch, tmp_path):
    """Reset mode with a reset cost: rho is this batch's centred rate (batch) or a moving average of it
    from the first batch on (ema, step --rho-step-size); the value constraint's mean is a moving average
    of the batch mean value, and the update regresses onto the returns minus nu times it."""
    step_size, cost, nu = 0.3, 0.5, 0.7
    rec = probe("ppo_avg_reward", monkeypatch, tmp_path, *CARTPOLE, "--num-steps", "16", "--total-timesteps", "192",
                "--terminal-mode", "reset", "--reset-cost", str(cost), "--value-constraint", str(nu),
                "--rho-step-size", str(step_size), "--rho-estimator", estimator)
    assert len(rec.kernel_calls) == 3
    rho = value_mean = None
    for k in range(3):
        b = rec.kernel(k)
        rate = float((b["rewards"].astype(np.float64) - cost * b["term"]).mean())
        batch_value = float(b["values"].astype(np.float64).mean())
        if k == 0:
            rho, value_mean = rate, batch_value
        else:
            rho = rate if estimator == "batch" else rho + step_size * (rate - rho)
            value_mean = value_mean + step_size * (batch_value - value_mean)
            if estimator == "ema":
                assert abs(rate - rho) > 1e-3
            assert nu * abs(batch_value - value_mean) > 1e-4
        assert b["terminal_mode"] == "reset" and b["reset_cost"] == cost
        assert b["rho"] == pytest.approx(rho, rel=1e-9, abs=1e-12)
        assert rec.metrics[k]["rho"] == pytest.approx(rho, rel=1e-9, abs=1e-12)
        (targets,) = rec.update_tensors(k, (*b["returns"].shape, 1))
        np.testing.assert_allclose(targets[..., 0], b["returns"] - nu * value_mean, rtol=1e-6, atol=2e-6)
