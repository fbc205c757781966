"""Small vectorized RL environments compiled with Numba, behind Gymnasium's vector-env API.

    import fastenvs
    envs = fastenvs.make("breakout", num_envs=1024, seed=0)
    obs, infos = envs.reset()
    obs, rewards, terminations, truncations, infos = envs.step(actions)

Importing fastenvs also registers every env with Gymnasium under the id `fastenvs/<Class>-v0`
(`ids()`), so `gymnasium.make_vec("fastenvs/Breakout-v0", num_envs=1024)` builds the same env as
`make("breakout", 1024)`, and `gymnasium.make("fastenvs/Breakout-v0")` one copy behind the single-env
API (`fastenvs.single.SingleEnv`).
"""

from __future__ import annotations

import functools
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
# Gymnasium id -> name: the namespace "fastenvs", the class name, version 0
_NAME_OF_ID = {f"fastenvs/{path.split(':')[1]}-v0": name for name, path in _REGISTRY.items()}
_ID_OF_NAME = {name: env_id for env_id, name in _NAME_OF_ID.items()}


def names() -> list[str]:
    """Names accepted by `make`, sorted."""
    return sorted(_REGISTRY)


def ids() -> list[str]:
    """The envs' Gymnasium ids (`fastenvs/<Class>-v0`), sorted; `make` takes them too."""
    return sorted(_NAME_OF_ID)


def id_of(name: str) -> str:
    """The Gymnasium id of env `name`, e.g. id_of("breakout") == "fastenvs/Breakout-v0"."""
    return _ID_OF_NAME[_name(name)]


def _name(name_or_id: str) -> str:
    name = _NAME_OF_ID.get(name_or_id, name_or_id)
    if name not in _REGISTRY:
        raise ValueError(f"unknown fastenvs env {name_or_id!r}: known names are {', '.join(names())} "
                         f"(Gymnasium ids {', '.join(ids())})")
    return name


def _env_class(name_or_id: str):
    """The vector-env class of env `name_or_id` (a name or a Gymnasium id)."""
    module, cls = _REGISTRY[_name(name_or_id)].split(":")
    return getattr(importlib.import_module(module), cls)


def _options(name_or_id: str) -> list[str]:
    """The options env `name_or_id` takes besides num_envs and seed, in its signature's order."""
    return [p for p in inspect.signature(_env_class(name_or_id)).parameters if p not in ("num_envs", "seed")]


def make(name: str, num_envs: int, seed: int = 0, **env_kwargs):
    """Build `num_envs` copies of env `name` (a name or its Gymnasium id), seeded with `seed` (env i gets
    its own stream). Every env takes `copy`, `autoreset_mode` and `stats_key` besides its own options."""
    name = _name(name)
    allowed = _options(name)
    unknown = sorted(set(env_kwargs) - set(allowed))
    if unknown:
        raise ValueError(f"bad option {unknown[0]!r} for fastenvs env {name!r}: allowed are {', '.join(allowed)}")
    return _env_class(name)(num_envs=num_envs, seed=seed, **env_kwargs)


def make_single(name: str, **kwargs):
    """One copy of env `name` behind Gymnasium's single-env API (`gymnasium.make`'s entry point)."""
    from fastenvs.single import SingleEnv

    return SingleEnv(name, **kwargs)


def _register() -> None:
    """Register every env with Gymnasium: `make_vec` builds it through `make`, `make` through `make_single`."""
    import gymnasium

    for env_id, name in _NAME_OF_ID.items():
        if env_id not in gymnasium.registry:  # importing twice (a reload) must not warn
            gymnasium.register(env_id, entry_point=functools.partial(make_single, name),
                               vector_entry_point=functools.partial(make, name))


_register()
