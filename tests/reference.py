"""Slow plain-Python references for kernels.py: one env, one step, one head at a time."""

import numpy as np


def gae_ref(rewards, values, terminated, truncated, bootstrap_value, final_values, gamma, lam):
    T, N = rewards.shape
    adv = np.zeros((T, N))
    for n in range(N):
        following = 0.0  # A_{t+1}
        for t in reversed(range(T)):
            nxt = float(bootstrap_value[n]) if t == T - 1 else float(values[t + 1, n])
            if truncated[t, n]:
                nxt = float(final_values[t, n])
            alive = 0.0 if terminated[t, n] else 1.0
            delta = float(rewards[t, n]) + gamma * alive * nxt - float(values[t, n])
            cont = 0.0 if (terminated[t, n] or truncated[t, n]) else 1.0
            following = delta + gamma * lam * cont * following
            adv[t, n] = following
    return adv, adv + values


def reward_horizon_ref(rewards, terminated, truncated, preds, bootstrap_preds, final_preds):
    T, N = rewards.shape
    H = preds.shape[2]
    y = np.zeros((T, N, H))
    m = np.zeros((T, N, H))
    for n in range(N):
        for t in range(T):
            for k in range(H):
                j = t + k
                # the first episode end e in [t, j) decides what entry (t, k) is
                end = None
                for e in range(t, min(j, T)):
                    if terminated[e, n] or truncated[e, n]:
                        end = e
                        break
                if end is not None and terminated[end, n]:
                    y[t, n, k], m[t, n, k] = 0.0, 1.0
                elif end is not None:
                    if final_preds is not None:
                        y[t, n, k], m[t, n, k] = final_preds[end, n, k - (end - t) - 1], 1.0
                elif j >= T:
                    y[t, n, k], m[t, n, k] = bootstrap_preds[n, k - (T - t)], 1.0
                else:
                    y[t, n, k], m[t, n, k] = rewards[j, n], 1.0
    adv = (m * (y - preds)).sum(axis=2)
    return y, m, adv


def spread_ref(heads, edges, d):
    """The reward d steps ahead predicted by bin heads: heads[b] / (edges[b + 1] - edges[b]) for the bin holding d."""
    for b in range(len(edges) - 1):
        if edges[b] <= d < edges[b + 1]:
            return float(heads[b]) / (edges[b + 1] - edges[b])
    raise IndexError(f"offset {d} lies outside the bins {list(edges)}")


def reward_bins_ref(rewards, terminated, truncated, preds, bootstrap_preds, final_preds, edges):
    T, N = rewards.shape
    m, H = len(edges) - 1, int(edges[-1])
    y = np.zeros((T, N, m))
    mask = np.zeros((T, N, m))
    for n in range(N):
        for t in range(T):
            # the first episode end e in [t, T), then every step k of the window one at a time
            end = None
            for e in range(t, T):
                if terminated[e, n] or truncated[e, n]:
                    end = e
                    break
            step_y = np.zeros(H)
            step_valid = np.ones(H, dtype=bool)
            for k in range(H):
                j = t + k
                if end is not None and j > end and terminated[end, n]:
                    step_y[k] = 0.0
                elif end is not None and j > end:
                    if final_preds is None:
                        step_valid[k] = False
                    else:
                        step_y[k] = spread_ref(final_preds[end, n], edges, k - (end - t) - 1)
                elif j >= T:
                    step_y[k] = spread_ref(bootstrap_preds[n], edges, k - (T - t))
                else:
                    step_y[k] = rewards[j, n]
            for b in range(m):
                lo, hi = int(edges[b]), int(edges[b + 1])
                if step_valid[lo:hi].all():
                    y[t, n, b] = step_y[lo:hi].sum()
                    mask[t, n, b] = 1.0
    adv = (mask * (y - preds)).sum(axis=2)
    return y, mask, adv


def avg_reward_gae_ref(rewards, values, terminated, truncated, bootstrap_value, final_values, rho, lam,
                       mode, reset_cost):
    T, N = rewards.shape
    adv = np.zeros((T, N))
    for n in range(N):
        following = 0.0
        for t in reversed(range(T)):
            nxt = float(bootstrap_value[n]) if t == T - 1 else float(values[t + 1, n])
            r = float(rewards[t, n]) - rho
            if mode == "absorb":
                if truncated[t, n]:
                    nxt = float(final_values[t, n])
                if terminated[t, n]:
                    nxt = 0.0
                cont = 0.0 if (terminated[t, n] or truncated[t, n]) else 1.0
            else:
                if terminated[t, n]:
                    r -= reset_cost
                cont = 1.0
            following = r + nxt - float(values[t, n]) + lam * cont * following
            adv[t, n] = following
    return adv, adv + values
