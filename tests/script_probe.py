"""Run a PPO script's own `main()` in this process on a small config and record what it does.

`probe(script, monkeypatch, run_dir, *flags)` returns a `Probe` with, for the whole run:
  resets        the obs of every `envs.reset` the script calls
  steps         one `Step` per env step: the actions the env got, and what it returned
  kernel_calls  one `KernelCall` per iteration: copies of the advantage kernel's arguments and outputs,
                and the agent's weights at that moment (the weights the rollout was collected with)
  updates       one `Update` per optimizer step: the learning rate it used, and (snapshots=True) the
                agent's weights before it (the weights the minibatch's loss was computed with)
  tensors       ((kernel calls, env steps) made before, array) for every numpy array the script turns
                into a tensor with torch.as_tensor; `update_tensors(k, shape)` picks those handed to
                iteration k's update (made after its kernel call, before the next env step)
  metrics       the rows of metrics.jsonl
Nothing in the scripts changes: the kernel, the env, the Agent class, the optimizer and torch.as_tensor
are wrapped for the run, and every wrapper hands back what the real one returns. `rewards(step, reward) -> reward` replaces the
env's rewards by the test's own (after the env, before the script sees them).
"""

import copy
import importlib
import json
import sys
from dataclasses import dataclass, field

import numpy as np
import torch

KERNEL = {"ppo_gae": "gae", "ppo_reward_horizon": "reward_bins", "ppo_avg_reward": "avg_reward_gae"}
SCRIPTS = list(KERNEL)
REAL_ADAM = torch.optim.Adam
REAL_AS_TENSOR = torch.as_tensor


@dataclass
class Step:
    actions: np.ndarray
    obs: np.ndarray
    reward: np.ndarray
    term: np.ndarray
    trunc: np.ndarray
    final_obs: dict  # env index -> pre-reset obs, for the envs whose episode ended at this step


@dataclass
class KernelCall:
    args: tuple
    out: tuple
    weights: dict
    steps_before: int


@dataclass
class Update:
    lr: float
    weights: list | None


@dataclass
class Probe:
    module: object
    agent: object = None
    resets: list = field(default_factory=list)
    steps: list = field(default_factory=list)
    kernel_calls: list = field(default_factory=list)
    updates: list = field(default_factory=list)
    tensors: list = field(default_factory=list)
    metrics: list = field(default_factory=list)

    def kernel(self, k):
        """The named arguments and outputs of iteration k's kernel call (k from 0)."""
        call = self.kernel_calls[k]
        if self.module.__name__ == "ppo_reward_horizon":
            names = ["rewards", "term", "trunc", "values", "bootstrap", "final", "edges"]
            out = dict(zip(["targets", "mask", "advantages"], call.out))
        else:
            names = ["rewards", "values", "term", "trunc", "bootstrap", "final"]
            names += ["gamma", "gae_lambda"] if self.module.__name__ == "ppo_gae" else \
                ["rho", "gae_lambda", "terminal_mode", "reset_cost"]
            out = dict(zip(["advantages", "returns"], call.out))
        return {**dict(zip(names, call.args)), **out}

    def agent_with(self, weights):
        """A copy of the run's agent holding `weights` (a state dict, or a list in parameter order)."""
        agent = copy.deepcopy(self.agent)
        if isinstance(weights, dict):
            agent.load_state_dict(weights)
        else:
            with torch.no_grad():
                for p, w in zip(agent.parameters(), weights):
                    p.copy_(w)
        return agent

    def update_tensors(self, k, shape):
        tag = (k + 1, self.kernel_calls[k].steps_before)
        return [a for when, a in self.tensors if when == tag and a.shape == tuple(shape)]

    def rollout_obs(self, k, T):
        """Iteration k's stored obs [T, N, ...] as the env returned them (before any normalisation)."""
        before = [self.resets[-1]] + [s.obs for s in self.steps]
        return np.stack(before[k * T:(k + 1) * T])


def _copy(x):
    return np.array(x) if isinstance(x, np.ndarray) else x


def probe(script, monkeypatch, run_dir, *flags, snapshots=False, rewards=None):
    mod = importlib.import_module(script)
    rec = Probe(mod)
    real_make_env = mod.make_env

    def make_env(*a, **k):
        envs = real_make_env(*a, **k)
        real_reset, real_step = envs.reset, envs.step

        def reset(**kw):
            obs, infos = real_reset(**kw)
            rec.resets.append(np.array(obs, dtype=np.float32))
            return obs, infos

        def step(actions):
            obs, r, term, trunc, infos = real_step(actions)
            if rewards is not None:
                r = rewards(len(rec.steps), np.array(r))
            final = {}
            if "final_obs" in infos:
                final = {int(i): np.array(infos["final_obs"][i], dtype=np.float32) for i in np.flatnonzero(term | trunc)}
            rec.steps.append(Step(np.array(actions), np.array(obs, dtype=np.float32), np.array(r), np.array(term),
                                  np.array(trunc), final))
            return obs, r, term, trunc, infos

        envs.reset, envs.step = reset, step
        return envs

    class Agent(mod.Agent):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            rec.agent = self

    real_kernel = getattr(mod.kernels, KERNEL[script])

    def kernel(*args):
        weights = {k: v.detach().clone() for k, v in rec.agent.state_dict().items()}
        out = real_kernel(*args)
        rec.kernel_calls.append(KernelCall(tuple(_copy(a) for a in args), tuple(_copy(o) for o in out), weights,
                                           len(rec.steps)))
        return out

    class Adam(REAL_ADAM):
        def step(self, *a, **k):
            params = self.param_groups[0]["params"]
            rec.updates.append(Update(self.param_groups[0]["lr"], [p.detach().clone() for p in params] if snapshots else None))
            return super().step(*a, **k)

    def as_tensor(data, *a, **k):
        if isinstance(data, np.ndarray):
            rec.tensors.append(((len(rec.kernel_calls), len(rec.steps)), np.array(data)))
        return REAL_AS_TENSOR(data, *a, **k)

    with monkeypatch.context() as mp:  # undone when main() returns, so that probes never stack
        mp.setattr(mod, "make_env", make_env)
        mp.setattr(mod, "Agent", Agent)
        mp.setattr(mod.kernels, KERNEL[script], kernel)
        mp.setattr(mod.optim, "Adam", Adam)
        mp.setattr(torch, "as_tensor", as_tensor)
        mp.setattr(sys, "argv", [script, "--no-cuda", "--threads", "1", "--run-dir", str(run_dir), *flags])
        mod.main()
    with open(run_dir / "metrics.jsonl") as f:
        rec.metrics = [json.loads(line) for line in f]
    return rec


def critic(agent, obs):
    with torch.no_grad():
        return agent.get_value(torch.as_tensor(np.asarray(obs), dtype=torch.float32)).numpy()


def running_norm(seen):
    """The normalisation the scripts' RunningMeanStd applies after seeing the arrays `seen` (each [n, ...]),
    computed here in one go: a prior of mean 0, variance 1 and weight 1e-4 pooled with all the data.
    -> (normalise function, mean, var)."""
    x = np.concatenate([np.asarray(s, dtype=np.float64).reshape(len(s), *np.shape(s)[1:]) for s in seen])
    c, n = 1e-4, len(x)
    m = x.mean(0)
    mean = m * n / (c + n)
    var = (c * 1.0 + ((x - m) ** 2).sum(0) + m ** 2 * c * n / (c + n)) / (c + n)
    return (lambda y: np.clip((np.asarray(y, dtype=np.float64) - mean) / np.sqrt(var + 1e-8), -10, 10).astype(np.float32)), mean, var
