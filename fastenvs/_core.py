"""Shared machinery of the fastenvs: per-env random numbers, episode bookkeeping, the vector-env shell.

Every env keeps its state as struct-of-arrays over N envs and advances all of them in one
`@njit(cache=True)` call. Each env owns one xorshift32 word, seeded from (seed, env index), so env i
replays the same trajectory whatever N is and whatever the other envs do.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from numba import njit

# Columns of the per-env episode accumulator `ep` (float64 so long episodes sum exactly enough).
EP_RETURN, EP_LENGTH, EP_SCORE = 0, 1, 2
# The infos key of the env's own episode statistics, by default: not Gymnasium's "episode", which
# RecordEpisodeStatistics writes and refuses to find already there.
STATS_KEY = "env_episode"
AUTORESET_MODES = (AutoresetMode.SAME_STEP, AutoresetMode.NEXT_STEP)


def seed_rng(seed: int, num_envs: int) -> np.ndarray:
    """One non-zero xorshift32 word per env, a splitmix64 hash of (seed, env index)."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ValueError(f"seed={seed!r} is not allowed: use an integer")
    mask = (1 << 64) - 1
    words = np.empty(num_envs, dtype=np.uint32)
    for i in range(num_envs):
        z = ((int(seed) & mask) * 0x9E3779B97F4A7C15 + (i + 1) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        z ^= z >> 31
        words[i] = (z & 0xFFFFFFFF) or 0x6D2B79F5  # xorshift must never hold 0
    return words


@njit(cache=True, inline="always")
def rand_u32(rng, i):
    """Advance env i's xorshift32 word and return it."""
    x = rng[i]  # every step re-cast: Numba widens uint32 shifts to 64 bits
    x = np.uint32(x ^ (x << np.uint32(13)))
    x = np.uint32(x ^ (x >> np.uint32(17)))
    x = np.uint32(x ^ (x << np.uint32(5)))
    rng[i] = x
    return x


@njit(cache=True, inline="always")
def rand_float(rng, i):
    """Uniform float in [0, 1) from env i's stream (24 random bits)."""
    return np.float32(rand_u32(rng, i) >> np.uint32(8)) * np.float32(1.0 / 16777216.0)


@njit(cache=True, inline="always")
def rand_int(rng, i, n):
    """Uniform integer in [0, n) from env i's stream."""
    return np.int32(rand_u32(rng, i) % np.uint32(n))


@njit(cache=True, inline="always")
def skip_step(i, skip, rewards, terms, truncs):
    """Next-step autoreset: env i ended its episode on the previous step, so this step only shows the
    first obs of its next episode (already in place): no move, no reward, no flags. Returns skip[i];
    every step kernel starts its loop body with `if skip_step(...): continue`."""
    if skip[i]:
        rewards[i] = 0.0
        terms[i] = False
        truncs[i] = False
        return True
    return False


@njit(cache=True, inline="always")
def end_of_step(i, reward, score_gain, terminated, ep, max_steps, rewards, terms, truncs):
    """Record env i's step in the outputs and its episode accumulator; return whether it ended.

    A time limit (`max_steps` agent steps, 0 = none) truncates unless the step also terminated.
    """
    rewards[i] = reward
    ep[i, EP_RETURN] += reward
    ep[i, EP_LENGTH] += 1.0
    ep[i, EP_SCORE] += score_gain
    truncated = (not terminated) and max_steps > 0 and ep[i, EP_LENGTH] >= max_steps
    terms[i] = terminated
    truncs[i] = truncated
    return terminated or truncated


@njit(cache=True)
def take_actions(actions, n_actions, out):
    """Copy actions into the int32 buffer `out`; return the index of the first one outside
    0..n_actions-1, or -1. One pass instead of numpy's min, max and astype (each a call and the last a
    fresh array)."""
    for i in range(actions.shape[0]):
        a = actions[i]
        if a < 0 or a >= n_actions:
            return i
        out[i] = a
    return -1


@njit(cache=True)
def take_box_actions(actions, low, high, out):
    """Copy (N, dim) float actions into the float32 buffer `out`, clipped to [low, high] per dimension;
    return the flat index (row * dim + column) of the first non-finite one, or -1. Clipping happens
    before the float32 cast, so a finite float64 beyond float32's range still lands on a bound."""
    dim = actions.shape[1]
    for i in range(actions.shape[0]):
        for k in range(dim):
            a = actions[i, k]
            if not np.isfinite(a):
                return i * dim + k
            if a < low[k]:
                a = low[k]
            elif a > high[k]:
                a = high[k]
            out[i, k] = a
    return -1


@njit(cache=True)
def close_episodes(terms, truncs, ep, done, ep_r, ep_l, ep_score):
    """After a step: done = terms | truncs; the return, length and score of each episode that ended
    go to ep_r / ep_l / ep_score (0 in the rows of envs that did not end) and its accumulator
    restarts. Returns how many ended. Written in place so a step allocates no arrays."""
    ended = 0
    for i in range(terms.shape[0]):
        d = terms[i] or truncs[i]
        done[i] = d
        if d:
            ep_r[i] = ep[i, EP_RETURN]
            ep_l[i] = np.int64(ep[i, EP_LENGTH])
            ep_score[i] = ep[i, EP_SCORE]
            ep[i, EP_RETURN] = 0.0
            ep[i, EP_LENGTH] = 0.0
            ep[i, EP_SCORE] = 0.0
            ended += 1
        else:
            ep_r[i] = 0.0
            ep_l[i] = 0
            ep_score[i] = 0.0
    return ended


@njit(cache=True)
def swap_rows(mask, a, b):
    """Swap rows a[i] and b[i] wherever mask[i]; return how many. Next-step autoreset parks the first
    obs of an ended env's next episode in `final_obs` while `obs` shows its last one, and back."""
    count = 0
    for i in range(mask.shape[0]):
        if mask[i]:
            for k in range(a.shape[1]):
                a[i, k], b[i, k] = b[i, k], a[i, k]
            count += 1
    return count


@njit(cache=True)
def park(done, pending, obs, final_obs):
    """After a next-step step: pending = done, and the rows of the envs that ended swap, so `obs` shows
    each one's last obs and `final_obs` keeps the first obs of its next episode. Returns how many."""
    for i in range(done.shape[0]):
        pending[i] = done[i]
    return swap_rows(done, obs, final_obs)


def autoreset_mode_of(value) -> AutoresetMode:
    """AutoresetMode.SAME_STEP or NEXT_STEP from the enum, its value ("SameStep") or its name in any case."""
    for mode in AUTORESET_MODES:
        if isinstance(value, (str, AutoresetMode)) and value in (mode, mode.value, mode.name, mode.name.lower()):
            return mode
    raise ValueError(f"autoreset_mode={value!r} is not allowed: use 'same_step' (the default) or 'next_step' "
                     "(or AutoresetMode.SAME_STEP / NEXT_STEP)")


class FastVectorEnv(VectorEnv):
    """Gymnasium VectorEnv shell around an env's Numba kernels.

    Subclasses set `single_observation_space`, `single_action_space` and implement
    `_reset_envs(mask)` (start new episodes where mask is True, writing `self._obs`) and
    `_step_kernel(actions)` (advance every env not in `self._pending` -- each kernel starts its loop
    with `skip_step` -- fill rewards/terms/truncs/ep, copy the obs of each ended env into
    `self._final_obs` and start its next episode).

    Autoreset (`autoreset_mode`): same-step by default, as the scripts and the advantage kernels need:
    an env that ended returns the first obs of its next episode, and `infos["final_obs"]` holds the
    last one. With "next_step" (Gymnasium's default, which its observation wrappers require) an env
    that ended returns its last obs, and its next step ignores the action and returns the first obs of
    the next episode with reward 0 and both flags False; no `final_obs` in infos. The kernels run the
    same way in both modes (the next episode starts in the step that ended the last one, and waits in
    `final_obs`), so a seed gives the same episodes in either mode.

    Episode statistics: each step where episodes ended, `infos[stats_key]` (default "env_episode")
    holds `{"r": return, "l": length, "score": score}` of every env (0 in the rows of envs that did not
    end) and `infos["_" + stats_key]` says which ended. Not under Gymnasium's "episode", so that
    `gymnasium.wrappers.vector.RecordEpisodeStatistics` can add its own; `stats_key="episode"` puts
    them where the PPO scripts read a Gymnasium env's.

    Actions: with a `Discrete(n)` single action space, `step` takes integers of shape (num_envs,) in
    0..n-1; with a 1-D `Box(low, high, (dim,))`, floats of shape (num_envs, dim), finite, and the env
    clips values outside [low, high] to the nearest bound (per dimension) before its kernel sees them.
    Anything else raises a one-line ValueError. Either way the actions are copied into one
    preallocated buffer (int32 (num_envs,) or float32 (num_envs, dim)) that `_step_kernel` receives.

    What `reset` and `step` return (`copy=False`, the default): the env's own preallocated buffers,
    no new arrays. obs, rewards, terminations, truncations and every array in `infos` (`final_obs`,
    `_final_obs`, `_env_episode`, `env_episode["r" | "l" | "score"]`) stay valid until the next `step` or
    `reset` of this env, which overwrites them in place; copy what you keep longer (e.g.
    `torch.as_tensor(obs)` on the CPU shares the memory, `rollout[t] = obs` copies). Treat them as
    read-only: Breakout keeps its brick state in the obs buffer, so writing into obs changes the game.
    The `infos` dict itself is new each step and is `{}` when no episode ended. Only the rows where
    `infos["_final_obs"]` is True are meaningful in `final_obs` (the others hold an older episode's
    last obs, or zeros); episode statistics rows of envs that did not end are 0.

    `copy=True`: every array returned, infos included, is a fresh copy that stays valid for good
    (slower: about two obs-sized copies a step when some episode ended).
    """

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": ["rgb_array"]}
    render_mode = "rgb_array"

    def __init__(self, num_envs: int, seed: int, obs_space: spaces.Box, action_space: spaces.Discrete | spaces.Box,
                 max_steps: int, copy: bool = False, autoreset_mode: AutoresetMode | str = AutoresetMode.SAME_STEP,
                 stats_key: str = STATS_KEY):
        if not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise ValueError(f"num_envs={num_envs!r} is not allowed: use an integer >= 1")
        if not isinstance(max_steps, (int, np.integer)) or max_steps < 0:
            raise ValueError(f"max_steps={max_steps!r} is not allowed: use an integer >= 0 (0 = no limit)")
        self._box = isinstance(action_space, spaces.Box)
        if not (isinstance(action_space, spaces.Discrete) or (self._box and len(action_space.shape) == 1
                                                              and action_space.shape[0] >= 1)):
            raise TypeError(f"action space {action_space} is not supported: use Discrete or a 1-D Box")
        self.num_envs = int(num_envs)
        self.max_steps = int(max_steps)
        self.copy = bool(copy)
        self.autoreset_mode = autoreset_mode_of(autoreset_mode)
        self._next_step = self.autoreset_mode == AutoresetMode.NEXT_STEP
        self.metadata = {**type(self).metadata, "autoreset_mode": self.autoreset_mode}  # what wrappers read
        if not isinstance(stats_key, str) or stats_key in ("", "final_obs") or stats_key.startswith("_"):
            raise ValueError(f"stats_key={stats_key!r} is not allowed: use a non-empty string other than "
                             f"'final_obs' that does not start with '_' (default {STATS_KEY!r})")
        self.stats_key, self._mask_key = stats_key, "_" + stats_key
        self.single_observation_space = obs_space
        self.single_action_space = action_space
        self.observation_space = batch_space(obs_space, self.num_envs)
        self.action_space = batch_space(action_space, self.num_envs)
        n, d = self.num_envs, obs_space.shape[0]
        self._obs = np.zeros((n, d), dtype=np.float32)
        self._final_obs = np.zeros((n, d), dtype=np.float32)
        self._rewards = np.zeros(n, dtype=np.float32)
        self._terms = np.zeros(n, dtype=np.bool_)
        self._truncs = np.zeros(n, dtype=np.bool_)
        self._ep = np.zeros((n, 3), dtype=np.float64)
        self._rng = seed_rng(seed, n)
        self._all = np.ones(n, dtype=np.bool_)
        # outputs of step() that the default path hands out (and overwrites) instead of new arrays
        if self._box:
            self._actions = np.zeros((n, action_space.shape[0]), dtype=np.float32)
            # the bounds as contiguous float32 arrays once, so the per-step check passes them as they are
            self._act_low = np.ascontiguousarray(action_space.low, dtype=np.float32)
            self._act_high = np.ascontiguousarray(action_space.high, dtype=np.float32)
            lo, hi = self._act_low.tolist(), self._act_high.tolist()
            self._bounds_text = f"[{lo[0]:g}, {hi[0]:g}]" if len(set(lo)) == len(set(hi)) == 1 else f"{lo} .. {hi}"
        else:
            self._actions = np.zeros(n, dtype=np.int32)
        self._done = np.zeros(n, dtype=np.bool_)
        self._ep_r = np.zeros(n, dtype=np.float32)
        self._ep_l = np.zeros(n, dtype=np.int64)
        self._ep_score = np.zeros(n, dtype=np.float32)
        # envs whose episode ended on the last step and whose next one waits in `_final_obs` (next-step
        # autoreset only; all False in same-step mode), and how many there are
        self._pending = np.zeros(n, dtype=np.bool_)
        self._parked = 0

    # --- subclass hooks -------------------------------------------------------------------------
    def _reset_envs(self, mask: np.ndarray) -> None:
        raise NotImplementedError

    def _step_kernel(self, actions: np.ndarray) -> None:
        raise NotImplementedError

    # --- gymnasium API --------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Start a new episode in every env; a seed restarts every env's random stream."""
        if seed is not None:
            self._rng = seed_rng(seed, self.num_envs)
        self._ep[:] = 0.0
        self._pending[:] = False
        self._parked = 0
        self._reset_envs(self._all)
        return (self._obs.copy() if self.copy else self._obs), {}

    def step(self, actions):
        """Advance every env one step; see the class docstring for the actions allowed and how long the
        returned arrays live."""
        actions = np.asarray(actions)
        if self._box:
            self._take_box(actions)
        else:
            self._take_discrete(actions)
        if self._parked:  # next-step autoreset: envs that ended last step get their new episode's obs back
            swap_rows(self._pending, self._obs, self._final_obs)
        self._step_kernel(self._actions)
        ended = close_episodes(self._terms, self._truncs, self._ep, self._done, self._ep_r, self._ep_l,
                               self._ep_score)
        if self._next_step:
            self._parked = park(self._done, self._pending, self._obs, self._final_obs)
        infos = self._episode_infos() if ended else {}
        if self.copy:
            return self._obs.copy(), self._rewards.copy(), self._terms.copy(), self._truncs.copy(), infos
        return self._obs, self._rewards, self._terms, self._truncs, infos

    def _take_discrete(self, actions: np.ndarray) -> None:
        """Check integer actions and copy them into the int32 buffer `self._actions`."""
        if actions.shape != (self.num_envs,) or not np.issubdtype(actions.dtype, np.integer):
            raise ValueError(f"actions of shape {actions.shape} and dtype {actions.dtype} are not allowed: "
                             f"use integers of shape ({self.num_envs},)")
        if not actions.dtype.isnative:  # Numba takes native byte order only
            actions = actions.astype(actions.dtype.newbyteorder("="))
        n_actions = int(self.single_action_space.n)
        bad = take_actions(actions, n_actions, self._actions)
        if bad >= 0:
            raise ValueError(f"action {int(actions[bad])} is not allowed: use 0..{n_actions - 1}")

    def _take_box(self, actions: np.ndarray) -> None:
        """Check float actions and copy them, clipped to the bounds, into the float32 buffer `self._actions`."""
        shape = self._actions.shape
        if actions.shape != shape or not np.issubdtype(actions.dtype, np.floating):
            raise ValueError(f"actions of shape {actions.shape} and dtype {actions.dtype} are not allowed: "
                             f"use floats of shape {shape}")
        if actions.dtype not in (np.float32, np.float64) or not actions.dtype.isnative:
            actions = actions.astype(np.float64)  # float16, longdouble, non-native order: Numba takes neither
        bad = take_box_actions(actions, self._act_low, self._act_high, self._actions)
        if bad >= 0:
            i, k = divmod(bad, shape[1])
            raise ValueError(f"action {float(actions[i, k])} (env {i}, dimension {k}) is not allowed: use finite "
                             f"floats (values outside {self._bounds_text} are clipped to the bounds)")

    def _episode_infos(self) -> dict:
        """Statistics of the episodes that ended this step (dense, masked by done), and in same-step mode
        their last obs."""
        done, stats = self._done, {"r": self._ep_r, "l": self._ep_l, "score": self._ep_score}
        if self.copy:
            done, stats = done.copy(), {k: v.copy() for k, v in stats.items()}
        if self._next_step:
            return {self.stats_key: stats, self._mask_key: done}
        final_obs = self._final_obs.copy() if self.copy else self._final_obs
        return {"final_obs": final_obs, "_final_obs": done, self.stats_key: stats, self._mask_key: done}

    def render(self):
        """RGB frame (H, W, 3) uint8 of env 0."""
        raise NotImplementedError(f"{type(self).__name__} has no render()")

    def close_extras(self, **kwargs):
        pass
