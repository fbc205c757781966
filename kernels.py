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


def unit_edges(horizon):
    """Bin edges 0, 1, ..., H (int64): one head per step, with which reward_bins equals reward_horizon."""
    H = _horizon(horizon)
    return np.arange(H + 1, dtype=np.int64)


def geometric_edges(horizon):
    """Bin edges 0, 1, 2, 4, 8, ..., capped at and ending with H (int64): widths 1, 1, 2, 4, ...

    ceil(log2 H) + 1 bins: [0, 1] for H = 1, 0, 1, 2, 4, 8, 16, 32 for H = 32, 11 bins for H = 1024;
    where H is not a power of 2 the last bin is cut short at H (H = 5: 0, 1, 2, 4, 5).
    """
    H = _horizon(horizon)
    edges = [0]
    width = 1
    while width < H:
        edges.append(width)
        width *= 2
    edges.append(H)
    return np.array(edges, dtype=np.int64)


def _horizon(horizon):
    if isinstance(horizon, (bool, np.bool_)) or int(horizon) != horizon or horizon < 1:
        raise ValueError(f"horizon must be an integer >= 1, got {horizon!r}")
    return int(horizon)


def reward_bins(rewards, terminated, truncated, preds, bootstrap_preds, final_preds, edges):
    """Targets, mask and advantage of m binned reward heads -> (targets, mask, advantages), [T, N, m] and [T, N].

    reward_horizon with its H per-step heads grouped into m bins of steps, edges 0 = e_0 < ... < e_m = H
    (`edges`, int, length m + 1; see geometric_edges and unit_edges). Head i predicts the reward summed
    over the bin's steps: preds[t, n, i] = U_i(obs t) ~ r_{t+e_i} + ... + r_{t+e_(i+1)-1};
    bootstrap_preds[n, i] = U_i(obs T); final_preds[t, n, i] = U_i(pre-reset obs after a truncation at
    t), or None. From a state with heads U, the predicted reward d steps ahead (0 <= d < H) is
      u(U, d) = U_b / (e_{b+1} - e_b)   for the bin b with e_b <= d < e_{b+1}   (spread evenly in its bin).
    Per-step targets y[t, k], k = 0 .. H-1, j = t + k, are those of reward_horizon with u in place of
    its heads:
      inside the episode and the segment          y = r_j                                       valid
      after a termination at e (t <= e < j)       y = 0                                         valid
      after a truncation at e (t <= e < j)        y = u(final_preds[e, n], k - (e - t) - 1)     valid
                                                  (invalid when final_preds is None)
      past the segment (j >= T), no end on the way y = u(bootstrap_preds[n], k - (T - t))        valid
    and per bin i: mask[t, n, i] = 1 if every step k in [e_i, e_(i+1)) is valid, else 0;
    targets[t, n, i] = mask[t, n, i] * sum_{k = e_i}^{e_(i+1)-1} y[t, k];
    A_t = sum_i mask[t, n, i] (targets[t, n, i] - U_i(obs t)).
    With unit bins (edges 0, 1, ..., H) the three outputs are exactly reward_horizon's.

    A thin Python wrapper around the compiled _reward_bins: it checks `edges` (strictly increasing from
    0, one bin per head) and makes them a contiguous int64 array. The check is O(m) on a tiny array, so
    it costs microseconds next to the kernel's milliseconds; it lives here and not in the kernel because
    the kernel trusts the edges for its indexing (Numba has no bounds checks: bad edges would read
    outside the arrays or loop forever), because Numba can only raise constant messages, and because a
    plain list of edges is accepted here; _reward_bins stays a pure njit function for njit callers.
    """
    edges_arr = np.asarray(edges)
    if edges_arr.ndim != 1 or edges_arr.shape[0] < 2 or edges_arr.dtype.kind not in "iu":
        raise ValueError(f"edges must be a 1-D integer array 0 = e_0 < ... < e_m = H, got {edges!r}")
    if edges_arr[0] != 0 or np.any(edges_arr[1:] <= edges_arr[:-1]):
        raise ValueError(f"edges must increase strictly from 0, got {edges_arr.tolist()}")
    m = edges_arr.shape[0] - 1
    for name, heads in (("preds", preds), ("bootstrap_preds", bootstrap_preds), ("final_preds", final_preds)):
        if heads is not None and heads.shape[-1] != m:
            raise ValueError(f"{name} has {heads.shape[-1]} heads but edges make {m} bins")
    edges_arr = np.ascontiguousarray(edges_arr, dtype=np.int64)
    return _reward_bins(rewards, terminated, truncated, preds, bootstrap_preds, final_preds, edges_arr)


@njit(cache=True, parallel=True)
def _reward_bins(rewards, terminated, truncated, preds, bootstrap_preds, final_preds, edges):
    """The kernel of reward_bins (see there for the maths); `edges` must already be checked, int64.

    Per (t, n) it costs O(m), never O(H): with s = the steps from t up to and including the first
    episode end (or up to the segment end), step k of the window is r_{t+k} for k < s and the source's
    spread prediction at offset d = k - s for k >= s (the source: bootstrap_preds[n] with no end on the
    way, final_preds[e, n] after a truncation at e, zeros after a termination). So a bin's target is a
    sum of rewards over [t + e_i, t + min(e_(i+1), s)), read from float64 prefix sums of the env's
    rewards (a single reward is read directly), plus the source's per-step rates integrated over
    d in [max(e_i, s) - s, e_(i+1) - s), walked bin by bin of the source with a pointer that only moves
    forward as i grows (at most 2m steps for all m bins). Time runs backwards, so the source (and its
    per-step rates U_q / (e_(q+1) - e_q), float64) changes only at episode ends.
    """
    T, N = rewards.shape
    m = edges.shape[0] - 1
    targets = np.empty((T, N, m), dtype=np.float32)
    mask = np.empty((T, N, m), dtype=np.float32)
    advantages = np.empty((T, N), dtype=np.float32)
    prefix = np.empty((N, T + 1))  # prefix[n, j] = r_0 + ... + r_{j-1} of env n, float64
    rate = np.empty((N, m))  # the current source's predicted reward per step in each bin, float64
    for n in prange(N):
        acc = 0.0
        prefix[n, 0] = 0.0
        for j in range(T):
            acc += rewards[j, n]
            prefix[n, j + 1] = acc
        for q in range(m):
            rate[n, q] = bootstrap_preds[n, q] / (edges[q + 1] - edges[q])
        source = 0  # 0: bootstrap_preds, 1: termination (zeros), 2: final_preds, 3: truncation without them
        stop = T  # one past the last step of t's episode inside the segment
        for t in range(T - 1, -1, -1):
            if terminated[t, n]:
                source = 1
                stop = t + 1
            elif truncated[t, n]:
                stop = t + 1
                if final_preds is None:
                    source = 3
                else:
                    source = 2
                    for q in range(m):
                        rate[n, q] = final_preds[t, n, q] / (edges[q + 1] - edges[q])
            s = stop - t  # window steps k < s are rewards, k >= s come from the source at offset k - s
            q = 0  # the source bin holding the current offset
            adv = 0.0
            for i in range(m):
                lo = edges[i]
                hi = edges[i + 1]
                y = 0.0
                if lo < s:  # rewards r_{t+lo} .. r_{t+min(hi, s)-1}
                    kh = min(hi, s)
                    if kh - lo == 1:
                        y = rewards[t + lo, n]
                    else:
                        y = prefix[n, t + kh] - prefix[n, t + lo]
                if hi > s:
                    if source == 3:  # predictions needed and none given: the bin does not count
                        targets[t, n, i] = 0.0
                        mask[t, n, i] = 0.0
                        continue
                    if source != 1:  # offsets x .. c-1 of the source; c <= H - 1, so q stays < m
                        x = max(lo, s) - s
                        c = hi - s
                        while edges[q + 1] <= x:
                            q += 1
                        while x < c:
                            qe = min(edges[q + 1], c)
                            y += (qe - x) * rate[n, q]
                            x = qe
                            if x == edges[q + 1]:
                                q += 1
                target = np.float32(y)
                targets[t, n, i] = target
                mask[t, n, i] = 1.0
                adv += target - preds[t, n, i]  # float32 difference, as reward_horizon: unit bins match it
            advantages[t, n] = adv
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
