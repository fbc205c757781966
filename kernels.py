"""Advantage estimators shared by the three PPO scripts, compiled with Numba.

Conventions (all arrays time-major `[T, N]`, float32 in and out, flags bool):
  rewards[t]          reward for the action taken in obs t
  terminated[t]       step t reached a true terminal state (nothing more is earned)
  truncated[t]        the episode was cut after step t by a time limit (terminated wins if both)
  values[t]           V(obs t)
  bootstrap_value[n]  V of the obs after the segment (obs T)
  final_values[t]     V of the pre-reset obs of an episode truncated at t; read only where truncated
Autoreset is same-step, so obs t+1 after an episode end is already the next episode's first obs:
that is why a truncation bootstraps from `final_values` and never from `values[t + 1]`.

Every kernel is pure (new arrays out, inputs untouched) and loops over envs in parallel; each env's
time loop is sequential. Scalars are accumulated in float64 and stored as float32.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def gae(rewards, values, terminated, truncated, bootstrap_value, final_values, gamma, gae_lambda):
    """GAE(gamma, lambda) -> (advantages, returns), returns = advantages + values.

    next_t = bootstrap_value if t = T-1 else values[t+1], replaced by final_values[t] where truncated;
    delta_t = r_t + gamma (1 - terminated_t) next_t - V_t;
    A_t = delta_t + gamma lambda (1 - (terminated_t or truncated_t)) A_{t+1}.
    """
    T, N = rewards.shape
    advantages = np.empty((T, N), dtype=np.float32)
    returns = np.empty((T, N), dtype=np.float32)
    for n in prange(N):
        running = 0.0
        for t in range(T - 1, -1, -1):
            next_value = bootstrap_value[n] if t == T - 1 else values[t + 1, n]
            if truncated[t, n]:
                next_value = final_values[t, n]
            if terminated[t, n]:
                next_value = 0.0
            delta = rewards[t, n] + gamma * next_value - values[t, n]
            if terminated[t, n] or truncated[t, n]:
                running = 0.0  # the trace never crosses an episode boundary
            running = delta + gamma * gae_lambda * running
            advantages[t, n] = running
            returns[t, n] = running + values[t, n]
    return advantages, returns


@njit(cache=True, parallel=True)
def reward_horizon(rewards, terminated, truncated, preds, bootstrap_preds, final_preds):
    """Targets, mask and advantage of the H-head reward predictor -> (targets, mask, advantages).

    preds[t, n, k] = u_k(obs t), the predicted reward k steps ahead (k = 0 is the current step);
    bootstrap_preds[n, k] = u_k(obs T); final_preds[t, n, k] = u_k(pre-reset obs after a truncation
    at t), or None. For entry (t, k) with j = t + k:
      inside the episode and the segment          y = r_j                                  m = 1
      after a termination at e (t <= e < j)       y = 0                                    m = 1
      after a truncation at e (t <= e < j)        y = final_preds[e, n, k - (e - t) - 1]   m = 1
                                                  (m = 0 when final_preds is None)
      past the segment (j >= T), no end on the way y = bootstrap_preds[n, k - (T - t)]     m = 1
    A_t = sum_k m[t, k] (y[t, k] - u_k(obs t)).
    """
    T, N = rewards.shape
    H = preds.shape[2]
    targets = np.zeros((T, N, H), dtype=np.float32)
    mask = np.zeros((T, N, H), dtype=np.float32)
    advantages = np.empty((T, N), dtype=np.float32)
    for n in prange(N):
        for t in range(T):
            k = 0
            while k < H:
                j = t + k
                if j >= T:  # the rest of the window lies past the segment: bootstrap heads at obs T
                    for kk in range(k, H):
                        targets[t, n, kk] = bootstrap_preds[n, kk - (T - t)]
                        mask[t, n, kk] = 1.0
                    break
                targets[t, n, k] = rewards[j, n]
                mask[t, n, k] = 1.0
                k += 1
                if terminated[j, n]:  # nothing more is earned: zero targets stay, and they count
                    for kk in range(k, H):
                        mask[t, n, kk] = 1.0
                    break
                if truncated[j, n]:  # the episode would have gone on: heads at the pre-reset obs
                    if final_preds is not None:
                        for kk in range(k, H):
                            targets[t, n, kk] = final_preds[j, n, kk - (j - t) - 1]
                            mask[t, n, kk] = 1.0
                    break
            acc = 0.0
            for kk in range(H):
                acc += mask[t, n, kk] * (targets[t, n, kk] - preds[t, n, kk])
            advantages[t, n] = acc
    return targets, mask, advantages


@njit(cache=True, parallel=True)
def avg_reward_gae(rewards, values, terminated, truncated, bootstrap_value, final_values, rho,
                   gae_lambda, mode, reset_cost):
    """Undiscounted GAE of the differential value h on rewards centred by rho -> (advantages, returns).

    mode "absorb": GAE(gamma=1, lambda) on r - rho; a termination means h = 0 and cuts the trace, a
      truncation bootstraps from final_values (an episodic task).
    mode "reset": every episode end is an ordinary transition into the next episode's first obs
      (values[t + 1], or bootstrap_value at the segment end): nothing is cut, nothing bootstraps from
      final_values, and reset_cost is subtracted from the reward at terminations (a continuing task).
    """
    if mode != "absorb" and mode != "reset":
        raise ValueError("mode must be 'absorb' or 'reset'")
    absorb = mode == "absorb"
    T, N = rewards.shape
    advantages = np.empty((T, N), dtype=np.float32)
    returns = np.empty((T, N), dtype=np.float32)
    for n in prange(N):
        running = 0.0
        for t in range(T - 1, -1, -1):
            next_value = bootstrap_value[n] if t == T - 1 else values[t + 1, n]
            reward = rewards[t, n] - rho
            cut = False
            if absorb:
                if truncated[t, n]:
                    next_value = final_values[t, n]
                if terminated[t, n]:
                    next_value = 0.0
                cut = terminated[t, n] or truncated[t, n]
            elif terminated[t, n]:
                reward -= reset_cost
            delta = reward + next_value - values[t, n]
            if cut:
                running = 0.0
            running = delta + gae_lambda * running
            advantages[t, n] = running
            returns[t, n] = running + values[t, n]
    return advantages, returns
