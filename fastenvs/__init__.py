"""Small vectorized RL environments compiled with Numba, behind Gymnasium's vector-env API.

    import fastenvs
    envs = fastenvs.make("breakout", num_envs=1024, seed=0)
    obs, infos = envs.reset()
    obs, rewards, terminations, truncations, infos = envs.step(actions)
"""

from __future__ import annotations

import importlib
import inspect

# name -> "module:Class"; modules are imported on first use so `names()` never compiles anything.
_REGISTRY = {
    "bandit": "fastenvs.bandit:Bandit",
    "breakout": "fastenvs.breakout:Breakout",
    "cartpole": "fastenvs.cartpole:CartPole",
    "chain": "fastenvs.chain:Chain",
    "delay": "fastenvs.delay:Delay",
    "noop": "fastenvs.noop:Noop",
    "pong": "fastenvs.pong:Pong",
    "squared": "fastenvs.squared:Squared",
    "target": "fastenvs.target:Target",
}


def names() -> list[str]:
    """Names accepted by `make`, sorted."""
    return sorted(_REGISTRY)


def make(name: str, num_envs: int, seed: int = 0, **env_kwargs):
    """Build `num_envs` copies of env `name`, seeded with `seed` (env i gets its own stream)."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown fastenvs env {name!r}: known names are {', '.join(names())}")
    module, cls = _REGISTRY[name].split(":")
    env_cls = getattr(importlib.import_module(module), cls)
    allowed = [p for p in inspect.signature(env_cls).parameters if p not in ("num_envs", "seed")]
    unknown = sorted(set(env_kwargs) - set(allowed))
    if unknown:
        raise ValueError(f"bad option {unknown[0]!r} for fastenvs env {name!r}: allowed are {', '.join(allowed)}")
    return env_cls(num_envs=num_envs, seed=seed, **env_kwargs)
