"""PPO's own options on each script's main() (tests/script_probe.py records the run): --target-kl,
--clip-vloss, --no-norm-adv; and every numeric flag's bad values rejected in one clear line."""

import dataclasses
import importlib
import sys
import types

import numpy as np
import pytest
import torch

from script_probe import SCRIPTS, probe
from test_cli import BAD_SHARED, BAD_VARIANT

pytestmark = pytest.mark.usefixtures("one_thread")

# one iteration of 64 steps on CartPole (no obs normalisation: the stored obs are the env's own)
ONE_BATCH = ["--env", "cartpole", "--num-envs", "4", "--num-steps", "16", "--total-timesteps", "64"]


@pytest.mark.parametrize("script", SCRIPTS)
def test_target_kl_stops_the_epochs_early(script, monkeypatch, tmp_path):
    """The approximate KL that ends epoch e is the one a run of e epochs logs (the runs agree up to there).
    With --target-kl above the KLs that end the epochs before some epoch e and below the one that ends e,
    a 4-epoch update stops after epoch e: e epochs of minibatch updates, no more; with a target above
    them all, all four epochs."""
    flags = [*ONE_BATCH, "--num-minibatches", "2"]
    kl = [None]
    for epochs in (1, 2, 3, 4):
        rec = probe(script, monkeypatch, tmp_path / f"e{epochs}", *flags, "--update-epochs", str(epochs))
        assert len(rec.updates) == 2 * epochs
        kl.append(rec.metrics[0]["approx_kl"])
    # the first epoch whose KL tops every earlier one: a target between them stops the update there
    stop = next((e for e in (2, 3, 4) if kl[e] > max(kl[1:e])), None)
    assert stop is not None and min(kl[1:]) > 0, f"the setup needs a KL that grows past epoch 1: {kl}"
    target = (max(kl[1:stop]) + kl[stop]) / 2
    rec = probe(script, monkeypatch, tmp_path / "stop", *flags, "--update-epochs", "4", "--target-kl", repr(target))
    assert len(rec.updates) == 2 * stop
    assert rec.metrics[0]["approx_kl"] == kl[stop]
    rec = probe(script, monkeypatch, tmp_path / "loose", *flags, "--update-epochs", "4", "--target-kl", repr(2 * max(kl[1:])))
    assert len(rec.updates) == 2 * 4 and rec.metrics[0]["approx_kl"] == kl[4]


def replay_losses(rec, script, k, clip_coef, clip_vloss, norm_adv):
    """The losses of update k of a one-minibatch-per-epoch run, recomputed from the weights before it,
    the rollout (obs, actions, the rollout's log-probs and values) and the kernel's advantages and targets.
    -> (policy loss, value loss, entropy)."""
    b = rec.kernel(0)
    T = b["rewards"].shape[0]
    obs = rec.rollout_obs(0, T)
    obs = torch.as_tensor(obs.reshape(-1, obs.shape[-1]))
    actions = torch.as_tensor(np.stack([s.actions for s in rec.steps[:T]]).reshape(-1))
    with torch.no_grad():
        _, old_logprob, _, old_value = rec.agent_with(rec.kernel_calls[0].weights).get_action_and_value(obs, actions)
        _, logprob, entropy, value = rec.agent_with(rec.updates[k].weights).get_action_and_value(obs, actions)
    if script == "ppo_reward_horizon":
        targets, mask = torch.as_tensor(b["targets"]), torch.as_tensor(b["mask"])
    else:  # ppo_gae, and ppo_avg_reward in absorb mode (the default): the returns themselves
        targets, mask = torch.as_tensor(b["returns"])[..., None], torch.ones(b["returns"].shape + (1,))
    W = targets.shape[-1]
    targets, mask = targets.reshape(-1, W), mask.reshape(-1, W)
    np.testing.assert_allclose(old_value.numpy(), b["values"].reshape(-1, W), rtol=1e-5, atol=1e-6)

    adv = torch.as_tensor(b["advantages"]).reshape(-1).double()
    if norm_adv:
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    ratio = (logprob - old_logprob).double().exp()
    pg_loss = torch.max(-adv * ratio, -adv * ratio.clamp(1 - clip_coef, 1 + clip_coef)).mean()
    err = (value - targets).double() ** 2
    if clip_vloss:
        clipped = old_value + (value - old_value).clamp(-clip_coef, clip_coef)
        err = torch.max(err, (clipped - targets).double() ** 2)
    v_loss = 0.5 * (err * mask).sum() / mask.sum()
    return float(pg_loss), float(v_loss), float(entropy.double().mean())


def tol(x):
    """How far a float32 loss over 64 samples may lie from the float64 one here."""
    return 1e-5 * abs(x) + 1e-6


@pytest.mark.parametrize("option", ["defaults", "--clip-vloss", "--no-norm-adv"])
@pytest.mark.parametrize("script", SCRIPTS)
def test_losses_follow_clip_vloss_and_norm_adv(script, option, monkeypatch, tmp_path):
    """One minibatch per epoch, two epochs: the losses the run logs are those of its second update, which
    sees the weights after the first. Recomputed here from the rollout: --clip-vloss takes, per entry, the
    larger of the squared errors of the new value and of the new value clipped to within --clip-coef of
    the rollout's; without it, the plain squared error. --no-norm-adv feeds the kernel's advantages to
    the policy loss as they are; by default each minibatch's are standardised."""
    clip_coef = 0.01
    rec = probe(script, monkeypatch, tmp_path, *ONE_BATCH, "--num-minibatches", "1", "--update-epochs", "2",
                "--clip-coef", str(clip_coef), "--learning-rate", "0.003", *([option] if option != "defaults" else []),
                snapshots=True)
    assert len(rec.updates) == 2
    clip_vloss, norm_adv = option == "--clip-vloss", option != "--no-norm-adv"
    pg, v, ent = replay_losses(rec, script, 1, clip_coef, clip_vloss, norm_adv)
    logged = rec.metrics[0]
    for name, want in [("policy_loss", pg), ("value_loss", v), ("entropy", ent)]:
        assert abs(logged[name] - want) <= tol(want), (name, logged[name], want)
    # the other setting of the option would give a loss at least 20 times further off than that
    if option in ("defaults", "--no-norm-adv"):
        other, _, _ = replay_losses(rec, script, 1, clip_coef, clip_vloss, not norm_adv)
        assert abs(other - pg) > 20 * tol(pg)
    if option in ("defaults", "--clip-vloss"):
        _, other, _ = replay_losses(rec, script, 1, clip_coef, not clip_vloss, norm_adv)
        assert abs(other - v) > 20 * tol(v)


# Bad values of the numeric flags that tests/test_cli.py does not try: (flags, what the line quotes, what it allows)
BAD_NUMERIC = [
    (["--seed", "-1"], "--seed=-1", "[0, 2**32 - 1]"),
    (["--seed", str(2 ** 32)], f"--seed={2 ** 32}", "[0, 2**32 - 1]"),
    (["--update-epochs", "0"], "--update-epochs=0", ">= 1"),
    (["--hidden-size", "0"], "--hidden-size=0", ">= 1"),
    (["--max-grad-norm", "0"], "--max-grad-norm=0.0", "> 0"),
    (["--clip-coef", "-0.1"], "--clip-coef=-0.1", ">= 0"),
    (["--ent-coef", "-0.01"], "--ent-coef=-0.01", ">= 0"),
    (["--vf-coef", "-1"], "--vf-coef=-1.0", ">= 0"),
    (["--reward-clip", "-1"], "--reward-clip=-1.0", ">= 0"),
    (["--target-kl", "0"], "--target-kl=0.0", "> 0"),
    (["--target-kl", "nan"], "--target-kl=nan", "> 0"),
    (["--learning-rate", "nan"], "--learning-rate=nan", "> 0"),
]
BAD_NUMERIC_VARIANT = {
    "ppo_gae": [(["--gamma", "-0.5"], "--gamma=-0.5", "[0, 1]"), (["--gae-lambda", "1.01"], "--gae-lambda=1.01", "[0, 1]")],
    "ppo_reward_horizon": [(["--head-var-step-size", "0"], "--head-var-step-size=0.0", "(0, 1]"),
                           (["--head-var-step-size", "1.5"], "--head-var-step-size=1.5", "(0, 1]"),
                           (["--precision-floor", "0"], "--precision-floor=0.0", "(0, 1]"),
                           (["--precision-floor", "2"], "--precision-floor=2.0", "(0, 1]")],
    "ppo_avg_reward": [(["--rho-step-size", "1.5"], "--rho-step-size=1.5", "(0, 1]"),
                       (["--reset-cost", "-1"], "--reset-cost=-1.0", ">= 0"),
                       (["--value-constraint", "-0.5"], "--value-constraint=-0.5", ">= 0")],
}
CASES = [(s, *case) for s in SCRIPTS for case in BAD_NUMERIC + BAD_NUMERIC_VARIANT[s]]
# if a bad value got through, main() would run this, briefly, instead of the default 20M steps of Breakout
TINY = ["--env", "cartpole", "--num-envs", "2", "--num-steps", "4", "--total-timesteps", "8", "--num-minibatches", "1",
        "--no-cuda", "--threads", "1"]


def numeric_flags(script):
    flags = []
    for f in dataclasses.fields(importlib.import_module(script).Args):
        kinds = set(f.type.__args__) - {type(None)} if isinstance(f.type, types.UnionType) else {f.type}
        if kinds <= {int, float}:
            flags.append("--" + f.name.replace("_", "-"))
    return flags


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_numeric_flag_has_a_bad_value_case(script):
    tried = {args[i] for args, _, _ in BAD_SHARED + BAD_VARIANT[script + ".py"] + BAD_NUMERIC + BAD_NUMERIC_VARIANT[script]
             for i in range(len(args)) if args[i].startswith("--")}
    flags = numeric_flags(script)
    assert "--seed" in flags and "--target-kl" in flags and len(flags) >= 15
    assert not set(flags) - tried, f"numeric flags without a bad-value case: {sorted(set(flags) - tried)}"


@pytest.mark.parametrize("script,args,bad,allowed", CASES)
def test_bad_numeric_value_is_one_clear_line(script, args, bad, allowed, monkeypatch, tmp_path, capsys):
    """Parsed and checked by the script's own main(), in this process: exit code 2, one line on stderr
    that quotes the value and says what is allowed."""
    mod = importlib.import_module(script)
    monkeypatch.setattr(sys, "argv", [script, *TINY, "--run-dir", str(tmp_path), *args])
    with pytest.raises(SystemExit) as exit_:
        mod.main()
    assert exit_.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and bad in lines[0] and allowed in lines[0], lines
