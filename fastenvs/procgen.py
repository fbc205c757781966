"""Procgen's 16 games (Cobbe et al. 2020) behind Gymnasium's vector-env API, as ids `procgen/<game>`.

    pip install -e ".[procgen]"
    python ppo_gae.py --env procgen/starpilot
    python ppo_gae.py --env procgen/coinrun --env-kwargs num_levels=200 distribution_mode=hard

Importing this module registers `procgen/<game>` for every game in GAMES with a vector entry point only:
the backend (`procgen`'s ProcgenGym3Env) steps all N games in C++, so `gymnasium.make_vec(id, num_envs=N)`
returns one ProcgenVecEnv, with no Python loop per env in its step. Options (`--env-kwargs`): num_levels
(0: unlimited), start_level, distribution_mode (easy, hard; extreme and memory for the games that have them),
and the backend's options in OPTIONS (num_threads=4 for more worker threads, use_backgrounds=False, ...).
Procgen's exploration mode is not offered.

How an episode ends, and what the step returns:
- Procgen resets a game inside its own step, so the observation returned with an end is already the next
  episode's first (Gymnasium's same-step autoreset).
- A level completed (info `prev_level_complete`) or lost (the agent died) is a termination.
- The game's time-out is signalled by nothing but the step count: the backend ends every episode after a
  fixed number of steps (TIMEOUTS; 1000 in most games). An episode that ends without completing its level
  exactly at that length is a truncation: the game would have gone on. (A death on exactly that step is
  counted as a time-out too; the backend cannot tell them apart.)
- The backend never shows the state an episode ended in. `infos["final_obs"]` (for the envs in
  `infos["_final_obs"]`) holds the last observation the agent saw, one step before the end: a truncated
  episode is bootstrapped from its value, one step early.
- Rewards are the game's own, unscaled; an episode's score is its return.
"""

from __future__ import annotations

import contextlib
import functools
import io

import gymnasium
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

with contextlib.redirect_stderr(io.StringIO()):  # procgen imports the old gym to register its own ids; its notice is not ours
    from procgen import ProcgenGym3Env

GAMES = ("bigfish", "bossfight", "caveflyer", "chaser", "climber", "coinrun", "dodgeball", "fruitbot", "heist",
         "jumper", "leaper", "maze", "miner", "ninja", "plunder", "starpilot")
# Steps after which the backend ends an episode (its Game::timeout, set per game in procgen's C++ sources)
TIMEOUTS = {"bigfish": 6000, "bossfight": 4000, "plunder": 4000, "leaper": 500, "maze": 500}
DEFAULT_TIMEOUT = 1000
# The games each distribution mode exists for (procgen's game.cpp aborts the process on any other pair)
MODES = {"easy": GAMES, "hard": GAMES, "extreme": ("chaser", "dodgeball", "leaper", "starpilot"),
         "memory": ("caveflyer", "dodgeball", "heist", "jumper", "maze", "miner")}
# The backend's other options (an unknown one also aborts it). num_threads, its worker threads, is 1 here, not
# procgen's 4: 64 games step at about 20k steps/s on one thread, a few % of a training run's time, and runs
# side by side on few cores must not each start four
OPTIONS = ("center_agent", "use_backgrounds", "use_monochrome_assets", "restrict_themes", "use_generated_assets",
           "paint_vel_info", "use_sequential_levels", "num_threads")


class ProcgenVecEnv(VectorEnv):
    """N copies of one Procgen game, stepped together; see the module docstring for the episode semantics."""

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": ["rgb_array"]}

    def __init__(self, game: str, num_envs: int = 64, num_levels: int = 0, start_level: int = 0,
                 distribution_mode: str = "easy", render_mode: str | None = None, num_threads: int = 1, **options):
        if game not in GAMES:
            raise ValueError(f"unknown Procgen game {game!r}: one of {', '.join(GAMES)}")
        if game not in MODES.get(distribution_mode, ()):
            modes = [m for m, games in MODES.items() if game in games]
            raise ValueError(f"distribution_mode={distribution_mode!r} for {game}: one of {', '.join(modes)}")
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise ValueError(f"unknown Procgen option(s) {', '.join(unknown)}: allowed are num_levels, start_level, "
                             f"distribution_mode, render_mode, {', '.join(OPTIONS)}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode={render_mode!r}: None or 'rgb_array'")
        if int(num_envs) < 1 or int(num_threads) < 1 or int(num_levels) < 0 or int(start_level) < 0:
            raise ValueError(f"num_envs={num_envs}, num_threads={num_threads}, num_levels={num_levels}, "
                             f"start_level={start_level}: the first two >= 1, the others >= 0")
        self.game, self.num_envs, self.render_mode = game, int(num_envs), render_mode
        self._kwargs = dict(num_levels=int(num_levels), start_level=int(start_level),
                            distribution_mode=distribution_mode, render_mode=render_mode, num_threads=int(num_threads),
                            **options)
        self.timeout = 2000 if game == "jumper" and distribution_mode == "memory" else TIMEOUTS.get(game, DEFAULT_TIMEOUT)
        self.single_observation_space = gymnasium.spaces.Box(0, 255, (64, 64, 3), np.uint8)
        self.single_action_space = gymnasium.spaces.Discrete(15)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._backend, self._backend_seed, self._stepped = None, None, False
        self._seeds = np.random.default_rng()
        self._obs = np.zeros((self.num_envs, 64, 64, 3), np.uint8)
        self._length = np.zeros(self.num_envs, np.int64)

    def _make(self, rand_seed: int):
        self._backend = ProcgenGym3Env(num=self.num_envs, env_name=self.game, rand_seed=rand_seed, **self._kwargs)
        self._backend_seed, self._stepped = rand_seed, False

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Every env starts a new episode. The backend cannot be reset in place, so this makes a new one (a
        few seconds for 64 envs), seeded from `seed`, or from the last seed's sequence when None."""
        super().reset(seed=seed)
        if seed is not None:
            self._seeds = np.random.default_rng(seed)
        rand_seed = int(self._seeds.integers(2 ** 31 - 1))
        if self._backend is None or self._stepped or rand_seed != self._backend_seed:  # an unused one of that seed is kept
            if self._backend is not None:
                self._backend.close()
            self._make(rand_seed)
        _, ob, _ = self._backend.observe()
        self._obs = ob["rgb"]
        self._length[:] = 0
        return self._obs, {}

    def step(self, actions):
        if self._backend is None:
            raise RuntimeError("call reset() before step()")
        self._backend.act(np.asarray(actions, dtype=np.int32).reshape(self.num_envs))
        reward, ob, ended = self._backend.observe()
        self._stepped = True
        ended = ended.astype(bool)
        self._length += 1
        complete = self._backend._info["prev_level_complete"].astype(bool)  # the info arrays, without gym3's per-env dicts
        truncated = ended & ~complete & (self._length >= self.timeout)
        terminated = ended & ~truncated
        infos = {}
        if ended.any():
            infos = {"final_obs": self._obs, "_final_obs": ended, "level_complete": complete, "_level_complete": ended}
            self._length[ended] = 0
        self._obs = ob["rgb"]
        return self._obs, reward.astype(np.float32), terminated, truncated, infos

    def render(self):
        """The N games' frames at 512 x 512, (N, 512, 512, 3) uint8, with render_mode='rgb_array'; else None."""
        if self.render_mode != "rgb_array" or self._backend is None:
            return None
        self._backend.observe()
        return self._backend._info["rgb"].copy()

    def close_extras(self, **kwargs):
        if self._backend is not None:
            self._backend.close()
            self._backend = None


def _register() -> None:
    for game in GAMES:
        if f"procgen/{game}" not in gymnasium.registry:  # importing twice (a reload) must not warn
            gymnasium.register(f"procgen/{game}", vector_entry_point=functools.partial(ProcgenVecEnv, game))


_register()
