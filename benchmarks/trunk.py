"""Cost of the image agent's trunk: one conv trunk shared by actor and critic, against one each.

    python benchmarks/trunk.py                  # MinAtar-sized and Atari-sized inputs, CPU
    python benchmarks/trunk.py --device cuda

Times one PPO minibatch step of the scripts' `Agent` (forward of actor and critic, a loss, backward,
Adam step) and one rollout forward pass (`--num-envs` observations), median of `--repeats`, for the
shared trunk the scripts use and for a copy with a second, separate trunk for the critic (built here
by giving the critic its own deep copy of the trunk).
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import gymnasium as gym  # noqa: E402

import ppo_gae  # noqa: E402


class SeparateTrunks(ppo_gae.Agent):
    """The same agent with the critic on a trunk of its own."""

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.critic_trunk = copy.deepcopy(self.trunk)

    def get_value(self, x):
        x = x.float() * self.scale
        return self.critic_head(self.critic_trunk(x.permute(0, 3, 1, 2) if self.channels_last else x))

    def get_action_and_value(self, x, action=None, greedy=False):
        action, logprob, entropy, _ = super().get_action_and_value(x, action, greedy)
        return action, logprob, entropy, self.get_value(x)


def timed(fn, repeats: int, device) -> float:
    times = []
    for _ in range(repeats + 1):  # the first call warms up
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return statistics.median(times[1:])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--num-envs", type=int, default=512)
    a = p.parse_args(argv)
    device = torch.device(a.device)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {device}; median of {a.repeats}")
    print("\n| input | trunk | minibatch | update step (ms) | rollout forward of %d obs (ms) |" % a.num_envs)
    print("|---|---|---:|---:|---:|")
    args = ppo_gae.Args()
    for label, shape, minibatch in [("MinAtar 10x10x4", (10, 10, 4), 4096), ("Atari 4x84x84", (4, 84, 84), 1024)]:
        obs_space = gym.spaces.Box(0, 255, shape, np.uint8)
        x = torch.randint(0, 2, (minibatch, *shape), dtype=torch.uint8, device=device)
        xr = x[: min(a.num_envs, minibatch)]
        for name, cls in [("shared (the scripts')", ppo_gae.Agent), ("separate", SeparateTrunks)]:
            torch.manual_seed(0)
            agent = cls(obs_space, gym.spaces.Discrete(6), args).to(device)
            opt = torch.optim.Adam(agent.parameters(), lr=1e-4)
            actions = torch.randint(0, 6, (minibatch,), device=device)

            def update():
                _, logprob, entropy, value = agent.get_action_and_value(x, actions)
                loss = -logprob.mean() - 0.01 * entropy.mean() + 0.5 * (value ** 2).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()

            def rollout():
                with torch.no_grad():
                    agent.get_action_and_value(xr)

            print(f"| {label} | {name} | {minibatch} | {1e3 * timed(update, a.repeats, device):.1f} | "
                  f"{1e3 * timed(rollout, a.repeats, device):.1f} |", flush=True)


if __name__ == "__main__":
    main()
