"""One fastenvs env behind Gymnasium's single-env API: what `gymnasium.make("fastenvs/<Class>-v0")` builds.

It steps a 1-env vector env one Python call at a time, so it runs at Python speed, far below the vector
envs; train on those (`fastenvs.make`, `gymnasium.make_vec`). It is here for code written against one
`gymnasium.Env`: Gymnasium's `check_env`, an evaluation loop, `make_vec`'s "sync" and "async" modes.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

import fastenvs
from fastenvs._core import FastVectorEnv


class SingleEnv(gym.Env):
    """Env `name` (a fastenvs name or id) as one `gymnasium.Env`.

    Its episodes are those of env 0 of `fastenvs.make(name, 1, seed)`: `reset(seed=s)` restarts that
    stream, and a `reset()` right after an episode ended hands out the next episode's first obs, which
    the env drew when the last one ended (a `reset()` in mid-episode starts a fresh episode). With
    `seed=None`, the default, the seed is drawn at random, as Gymnasium's own envs do, so that the
    copies `make_vec(..., vectorization_mode="sync")` builds differ before any seeded reset.

    The options are the vector env's (`max_steps=...`, `stats_key=...`), but not `autoreset_mode`:
    a single env does not reset by itself. The step that ends an episode returns the episode's last
    obs and puts its return, length and score in `info[stats_key]` ("env_episode" by default) as
    plain numbers. Everything returned is a fresh copy. `render_mode="rgb_array"` for the envs that
    render (breakout, pong, squared, cartpole, chain).
    """

    def __init__(self, name: str, seed: int | None = None, render_mode: str | None = None, **options):
        if "autoreset_mode" in options:
            raise ValueError(f"autoreset_mode={options['autoreset_mode']!r} is not allowed for one env "
                             "(gymnasium.make): it never resets by itself; use fastenvs.make or "
                             "gymnasium.make_vec")
        cls = fastenvs._env_class(name)
        renders = cls.render is not FastVectorEnv.render
        self.metadata = {"render_modes": ["rgb_array"] if renders else [], "render_fps": 30}
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"render_mode={render_mode!r} is not allowed for {name!r}: use "
                             + ("None or 'rgb_array'" if renders else "None (this env does not render)"))
        self.render_mode = render_mode
        if seed is None:
            seed = int(np.random.default_rng().integers(2**63))
        self._envs = fastenvs.make(name, 1, seed=seed, **options)
        self.observation_space = self._envs.single_observation_space
        self.action_space = self._envs.single_action_space
        self._discrete = isinstance(self.action_space, spaces.Discrete)
        self._fresh = False  # an episode ended on the last step: the next one has begun, unseen

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)  # Gymnasium's np_random; the env draws from its own stream
        if seed is not None or not self._fresh:
            obs, _ = self._envs.reset(seed=seed)  # no seed: the stream goes on
            self._first = obs[0].copy()
        self._fresh = False
        return self._first.copy(), {}

    def step(self, action):
        a = np.asarray(action)
        space = self.action_space
        if a.shape != space.shape or not np.issubdtype(a.dtype, np.integer if self._discrete else np.floating):
            allowed = f"an integer in 0..{space.n - 1}" if self._discrete else f"floats of shape {space.shape}"
            raise ValueError(f"action {action!r} is not allowed: use {allowed}")
        obs, reward, term, trunc, infos = self._envs.step(a[None])
        self._fresh = bool(term[0] or trunc[0])
        info = {}
        if self._fresh:
            self._first = obs[0].copy()  # the next episode's start, for reset()
            obs = infos["final_obs"]
            key = self._envs.stats_key
            ep = infos[key]
            info[key] = {"r": float(ep["r"][0]), "l": int(ep["l"][0]), "score": float(ep["score"][0])}
        return obs[0].copy(), float(reward[0]), bool(term[0]), bool(trunc[0]), info

    def render(self):
        """RGB frame (H, W, 3) uint8 of the env's current state with render_mode="rgb_array", else None."""
        return self._envs.render() if self.render_mode == "rgb_array" else None
