"""kernels.py against the plain-Python references in reference.py, plus the properties each estimator promises."""

import numpy as np
import pytest

import kernels
from reference import avg_reward_gae_ref, gae_ref, reward_bins_ref, reward_horizon_ref

TOL = dict(rtol=1e-5, atol=1e-5)


def rollout(T, N, seed, p_term=0.05, p_trunc=0.05, H=None):
    """Random segment with terminations and truncations (some steps carry both flags)."""
    rng = np.random.default_rng(seed)
    f32 = lambda *shape: rng.normal(size=shape).astype(np.float32)
    d = dict(rewards=f32(T, N), terminated=rng.random((T, N)) < p_term, truncated=rng.random((T, N)) < p_trunc)
    if H is None:
        d.update(values=f32(T, N), bootstrap_value=f32(N), final_values=f32(T, N))
    else:
        d.update(preds=f32(T, N, H), bootstrap_preds=f32(N, H), final_preds=f32(T, N, H))
    return d


def call_gae(d, gamma, lam):
    return kernels.gae(d["rewards"], d["values"], d["terminated"], d["truncated"], d["bootstrap_value"],
                       d["final_values"], gamma, lam)


def call_rh(d, final=True):
    return kernels.reward_horizon(d["rewards"], d["terminated"], d["truncated"], d["preds"],
                                  d["bootstrap_preds"], d["final_preds"] if final else None)


def call_rb(d, edges, final=True):
    return kernels.reward_bins(d["rewards"], d["terminated"], d["truncated"], d["preds"], d["bootstrap_preds"],
                               d["final_preds"] if final else None, edges)


def call_avg(d, rho, lam, mode, reset_cost=0.0):
    return kernels.avg_reward_gae(d["rewards"], d["values"], d["terminated"], d["truncated"],
                                  d["bootstrap_value"], d["final_values"], rho, lam, mode, reset_cost)


# ------------------------------------------------------------------------------------------- gae
@pytest.mark.parametrize("T,N,seed", [(1, 3, 0), (17, 5, 1), (64, 8, 2)])
@pytest.mark.parametrize("gamma,lam", [(0.99, 0.95), (1.0, 1.0), (0.9, 0.0), (0.0, 0.5)])
def test_gae_matches_reference(T, N, seed, gamma, lam):
    d = rollout(T, N, seed, p_term=0.1, p_trunc=0.1)
    adv, ret = call_gae(d, gamma, lam)
    ref_adv, ref_ret = gae_ref(**d, gamma=gamma, lam=lam)
    assert adv.dtype == np.float32 and ret.dtype == np.float32 and adv.shape == (T, N)
    np.testing.assert_allclose(adv, ref_adv, **TOL)
    np.testing.assert_allclose(ret, ref_ret, **TOL)


def test_gae_is_pure():
    d = rollout(32, 4, 3)
    before = {k: v.copy() for k, v in d.items()}
    a1, _ = call_gae(d, 0.99, 0.95)
    a2, _ = call_gae(d, 0.99, 0.95)
    assert all(np.array_equal(d[k], before[k]) for k in d)
    assert np.array_equal(a1, a2) and a1 is not a2


def test_gae_gamma_lambda_one_is_monte_carlo_return_minus_value():
    d = rollout(40, 6, 4, p_term=0.1, p_trunc=0.0)
    adv, _ = call_gae(d, 1.0, 1.0)
    T, N = d["rewards"].shape
    for n in range(N):
        for t in range(T):
            g = 0.0
            for j in range(t, T):
                g += d["rewards"][j, n]
                if d["terminated"][j, n]:
                    break
            else:
                g += d["bootstrap_value"][n]
            assert adv[t, n] == pytest.approx(g - d["values"][t, n], abs=1e-4)


def test_gae_lambda_zero_is_td_error():
    d = rollout(30, 5, 5, p_term=0.1, p_trunc=0.1)
    gamma = 0.97
    adv, _ = call_gae(d, gamma, 0.0)
    nxt = np.concatenate([d["values"][1:], d["bootstrap_value"][None]], axis=0)
    nxt = np.where(d["truncated"], d["final_values"], nxt)
    delta = d["rewards"] + gamma * (1 - d["terminated"]) * nxt - d["values"]
    np.testing.assert_allclose(adv, delta, **TOL)


@pytest.mark.parametrize("flag", ["terminated", "truncated"])
def test_gae_no_advantage_crosses_an_episode_boundary(flag):
    d = rollout(20, 1, 6, p_term=0.0, p_trunc=0.0)
    d[flag][9, 0] = True
    adv, _ = call_gae(d, 0.99, 0.95)
    d2 = {k: v.copy() for k, v in d.items()}
    d2["rewards"][10:] += 5.0
    d2["values"][10:] -= 3.0
    d2["bootstrap_value"] += 7.0
    adv2, _ = call_gae(d2, 0.99, 0.95)
    np.testing.assert_array_equal(adv[:10], adv2[:10])
    assert not np.allclose(adv[10:], adv2[10:])


def test_gae_truncation_bootstraps_and_termination_does_not():
    d = rollout(12, 1, 7, p_term=0.0, p_trunc=0.0)
    for flag, should_change in [("truncated", True), ("terminated", False)]:
        e = {k: v.copy() for k, v in d.items()}
        e[flag][5, 0] = True
        a1, _ = call_gae(e, 0.9, 0.8)
        e["final_values"][5, 0] += 10.0
        a2, _ = call_gae(e, 0.9, 0.8)
        assert (a1[5, 0] != a2[5, 0]) == should_change
        np.testing.assert_array_equal(a1[6:], a2[6:])
    both = {k: v.copy() for k, v in d.items()}
    both["terminated"][5, 0] = both["truncated"][5, 0] = True  # terminated wins
    a1, _ = call_gae(both, 0.9, 0.8)
    both["final_values"][5, 0] += 10.0
    np.testing.assert_array_equal(a1, call_gae(both, 0.9, 0.8)[0])


@pytest.mark.parametrize("lam", [0.0, 0.5, 0.95, 1.0])
def test_gae_exact_values_give_zero_advantage(lam):
    d = rollout(50, 4, 8, p_term=0.05, p_trunc=0.05)
    gamma = 0.95
    T = d["rewards"].shape[0]
    v = np.zeros_like(d["values"], dtype=np.float64)
    for t in reversed(range(T)):  # the value each state really has under these rewards and ends
        nxt = d["bootstrap_value"].astype(np.float64) if t == T - 1 else v[t + 1]
        nxt = np.where(d["truncated"][t], d["final_values"][t], nxt)
        v[t] = d["rewards"][t] + gamma * (1 - d["terminated"][t]) * nxt
    d["values"] = v.astype(np.float32)
    adv, ret = call_gae(d, gamma, lam)
    np.testing.assert_allclose(adv, 0.0, atol=1e-4)
    np.testing.assert_allclose(ret, d["values"], atol=1e-4)


# -------------------------------------------------------------------------------- reward_horizon
@pytest.mark.parametrize("T,N,H,seed", [(1, 2, 4, 0), (16, 3, 4, 1), (20, 4, 32, 2), (40, 2, 8, 3)])
@pytest.mark.parametrize("final", [True, False])
def test_reward_horizon_matches_reference(T, N, H, seed, final):
    d = rollout(T, N, seed, p_term=0.08, p_trunc=0.08, H=H)
    y, m, adv = call_rh(d, final)
    ry, rm, radv = reward_horizon_ref(**{**d, "final_preds": d["final_preds"] if final else None})
    assert y.shape == m.shape == (T, N, H) and adv.shape == (T, N)
    assert y.dtype == m.dtype == adv.dtype == np.float32
    np.testing.assert_allclose(y, ry, **TOL)
    np.testing.assert_array_equal(m, rm)
    np.testing.assert_allclose(adv, radv, **TOL)


def test_reward_horizon_mask_is_zero_only_after_truncation_without_final_preds():
    d = rollout(30, 4, 9, p_term=0.1, p_trunc=0.1, H=8)
    assert call_rh(d, True)[1].min() == 1.0
    m = call_rh(d, False)[1]
    assert 0.0 < m.mean() < 1.0
    d["truncated"][:] = False
    assert call_rh(d, False)[1].min() == 1.0


def test_reward_horizon_perfect_predictions_give_zero_advantage_and_loss():
    """Deterministic chain: the heads predict exactly the rewards to come (zero after a termination)."""
    T, N, H, extra = 24, 3, 8, 9
    rng = np.random.default_rng(10)
    stream = rng.normal(size=(T + extra, N)).astype(np.float32)
    term = np.zeros((T + extra, N), dtype=bool)
    term[[5, 13], 0] = True
    term[20, 1] = True
    true = np.zeros((T + extra - H, N, H), dtype=np.float32)
    for n in range(N):
        for t in range(T + extra - H):
            for k in range(H):
                if not term[t:t + k, n].any():
                    true[t, n, k] = stream[t + k, n]
    y, m, adv = kernels.reward_horizon(stream[:T], term[:T], np.zeros((T, N), bool), true[:T], true[T],
                                       None)
    np.testing.assert_allclose(adv, 0.0, atol=1e-5)
    np.testing.assert_allclose((m * (y - true[:T]) ** 2).sum() / m.sum(), 0.0, atol=1e-10)


def test_reward_horizon_with_termination_in_window_equals_gae_one_one():
    T, H = 20, 32
    d = rollout(T, 1, 11, p_term=0.0, p_trunc=0.0, H=H)
    d["terminated"][12, 0] = True
    _, _, adv = call_rh(d)
    values = d["preds"].sum(axis=2)
    gadv, _ = kernels.gae(d["rewards"], values, d["terminated"], d["truncated"],
                          d["bootstrap_preds"].sum(axis=1), values, 1.0, 1.0)
    np.testing.assert_allclose(adv[:13], gadv[:13], rtol=1e-5, atol=1e-4)


def test_reward_horizon_reward_reaches_exactly_its_window_within_its_episode():
    T, N, H = 40, 3, 6
    d = rollout(T, N, 12, p_term=0.06, p_trunc=0.06, H=H)
    base = call_rh(d)[2]
    for n in range(N):
        ends = np.flatnonzero(d["terminated"][:, n] | d["truncated"][:, n])
        for j in range(T):
            start = max([e + 1 for e in ends if e < j], default=0)
            e2 = {k: v.copy() for k, v in d.items()}
            e2["rewards"][j, n] += 1.0
            changed = np.flatnonzero(call_rh(e2)[2][:, n] != base[:, n])
            expected = np.arange(max(j - H + 1, start), j + 1)
            np.testing.assert_array_equal(changed, expected)


def test_reward_horizon_rewards_after_a_termination_never_reach_earlier_steps():
    d = rollout(30, 1, 13, p_term=0.0, p_trunc=0.0, H=16)
    d["terminated"][10, 0] = True
    base = call_rh(d)
    d["rewards"][11:] += 3.0
    d["preds"][11:] -= 2.0
    d["bootstrap_preds"] += 5.0
    after = call_rh(d)
    np.testing.assert_array_equal(base[2][:11], after[2][:11])
    np.testing.assert_array_equal(base[0][:11], after[0][:11])



def test_reward_horizon_shift_invariance_without_episode_ends():
    d = rollout(25, 3, 14, p_term=0.0, p_trunc=0.0, H=8)
    base = call_rh(d)[2]
    c = np.float32(2.5)
    d["rewards"] += c
    d["preds"] += c
    d["bootstrap_preds"] += c
    np.testing.assert_allclose(call_rh(d)[2], base, rtol=1e-5, atol=1e-4)


def test_reward_horizon_is_pure():
    d = rollout(16, 2, 15, H=4)
    before = {k: v.copy() for k, v in d.items()}
    call_rh(d)
    assert all(np.array_equal(d[k], before[k]) for k in d)


# ----------------------------------------------------------------------------------- reward_bins
def random_edges(H, m, seed):
    """m bins of random widths covering 0 .. H."""
    inner = np.sort(np.random.default_rng(seed).choice(np.arange(1, H), size=m - 1, replace=False))
    return np.concatenate([[0], inner, [H]]).astype(np.int64)


EDGES = {"unit": kernels.unit_edges(6), "geometric": kernels.geometric_edges(32),
         "geometric_cut": kernels.geometric_edges(45), "geometric_1024": kernels.geometric_edges(1024),
         "random": random_edges(50, 7, 0), "random_wide": random_edges(300, 4, 1), "one_bin": np.array([0, 9])}
ENDS = {"terminations": (0.1, 0.0), "truncations": (0.0, 0.1), "both": (0.1, 0.1)}


def bins_rollout(T, N, edges, seed, ends):
    p_term, p_trunc = ENDS[ends]
    d = rollout(T, N, seed, p_term=p_term, p_trunc=p_trunc, H=len(edges) - 1)
    if ends == "both":  # a step with both flags: terminated wins
        d["terminated"][T // 2, 0] = d["truncated"][T // 2, 0] = True
    return d


@pytest.mark.parametrize("T,N,edges", [(1, 2, "unit"), (1, 2, "geometric_1024"), (9, 2, "geometric_1024"),
                                       (17, 3, "unit"), (20, 3, "geometric"), (33, 2, "geometric_cut"),
                                       (12, 3, "random"), (25, 2, "random_wide"), (14, 3, "one_bin")])
@pytest.mark.parametrize("ends", list(ENDS))
@pytest.mark.parametrize("final", [True, False])
def test_reward_bins_matches_reference(T, N, edges, ends, final):
    edges = EDGES[edges]
    m = len(edges) - 1
    d = bins_rollout(T, N, edges, seed=T * 100 + N + m, ends=ends)
    y, mask, adv = call_rb(d, edges, final)
    ry, rmask, radv = reward_bins_ref(**{**d, "final_preds": d["final_preds"] if final else None}, edges=edges)
    assert y.shape == mask.shape == (T, N, m) and adv.shape == (T, N)
    assert y.dtype == mask.dtype == adv.dtype == np.float32
    np.testing.assert_array_equal(mask, rmask)
    np.testing.assert_allclose(y, ry, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(ry).max()))
    np.testing.assert_allclose(adv, radv, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(radv).max()))


@pytest.mark.parametrize("T,N,H,seed", [(1, 2, 4, 0), (16, 3, 4, 1), (20, 4, 32, 2), (40, 2, 8, 3), (7, 3, 64, 4)])
@pytest.mark.parametrize("final", [True, False])
def test_reward_bins_with_unit_bins_is_exactly_reward_horizon(T, N, H, seed, final):
    d = rollout(T, N, seed, p_term=0.08, p_trunc=0.08, H=H)
    d["terminated"][0, 0] = d["truncated"][0, 0] = True
    for got, want in zip(call_rb(d, kernels.unit_edges(H), final), call_rh(d, final)):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("edges", ["geometric", "geometric_cut", "random", "one_bin"])
def test_reward_bins_are_bin_sums_of_reward_horizon_with_spread_heads(edges):
    """Per-step heads u_k = U_b / width_b (each bin's prediction spread over its steps) in reward_horizon."""
    edges = EDGES[edges]
    d = bins_rollout(30, 3, edges, seed=24, ends="both")
    widths = np.diff(edges)
    bin_of = np.repeat(np.arange(len(widths)), widths)
    spread = {k: (d[k] / widths)[..., bin_of].astype(np.float32) for k in ("preds", "bootstrap_preds", "final_preds")}
    y, mask, adv = call_rb(d, edges)
    hy, hmask, hadv = call_rh({**d, **spread})
    np.testing.assert_allclose(y, np.add.reduceat(hy, edges[:-1], axis=2), rtol=1e-5, atol=1e-4)
    assert mask.min() == hmask.min() == 1.0
    np.testing.assert_allclose(adv, hadv, rtol=1e-5, atol=1e-4)  # sum_b (Y_b - U_b) = sum_k (y_k - u_k)


def bins_example():
    """T = 4, one env, rewards 1, 2, 3, 4, bins [0, 1), [1, 3), [3, 5) (H = 5), every head predicts 0.5.

    Per-step rates: bootstrap heads (10, 20, 40) -> 10 | 10, 10 | 20, 20; final heads (-1, -2, -4) after
    a truncation at step 1 -> -1 | -1, -1 | -2, -2.
    """
    r = np.array([[1.0], [2.0], [3.0], [4.0]], dtype=np.float32)
    preds = np.full((4, 1, 3), 0.5, dtype=np.float32)
    boot = np.array([[10.0, 20.0, 40.0]], dtype=np.float32)
    final = np.zeros((4, 1, 3), dtype=np.float32)
    final[1, 0] = [-1.0, -2.0, -4.0]
    flag = np.zeros((4, 1), dtype=bool)
    flag[1, 0] = True
    return r, preds, boot, final, flag, np.zeros((4, 1), dtype=bool), np.array([0, 1, 3, 5])


def test_reward_bins_segment_end_inside_a_bin_spreads_the_bootstrap():
    r, preds, boot, final, _, none, edges = bins_example()
    y, mask, adv = kernels.reward_bins(r, none, none, preds, boot, final, edges)
    # t = 0: 1 | 2 + 3 | 4 + 10;  t = 3: 4 | 10 + 10 | 10 + 20 (offsets 2 and 3 straddle two bootstrap bins)
    np.testing.assert_array_equal(y[:, 0], [[1, 5, 14], [2, 7, 20], [3, 14, 20], [4, 20, 30]])
    assert mask.min() == 1.0
    np.testing.assert_allclose(adv[:, 0], [18.5, 27.5, 35.5, 52.5])
    # one bin of 8 steps over a segment of 3: the rewards left in the segment, then 16 / 8 per step beyond
    y, mask, adv = kernels.reward_bins(r[:3], none[:3], none[:3], preds[:3, :, :1], np.array([[16.0]], np.float32),
                                       None, [0, 8])
    np.testing.assert_array_equal(y[:, 0, 0], [1 + 2 + 3 + 5 * 2, 2 + 3 + 6 * 2, 3 + 7 * 2])
    np.testing.assert_array_equal(mask, 1.0)
    np.testing.assert_allclose(adv[:, 0], y[:, 0, 0] - 0.5)


def test_reward_bins_termination_inside_a_bin():
    r, preds, boot, final, flag, none, edges = bins_example()
    want = [[1, 2, 0], [2, 0, 0], [3, 14, 20], [4, 20, 30]]  # t = 0: bin [1, 3) holds r_1 and a zero
    for truncated in (none, flag):  # terminated wins over a truncation at the same step
        y, mask, adv = kernels.reward_bins(r, flag, truncated, preds, boot, final, edges)
        np.testing.assert_array_equal(y[:, 0], want)
        assert mask.min() == 1.0
        np.testing.assert_allclose(adv[:, 0], np.sum(want, axis=1) - 1.5)


def test_reward_bins_truncation_inside_a_bin():
    r, preds, boot, final, flag, none, edges = bins_example()
    y, mask, adv = kernels.reward_bins(r, none, flag, preds, boot, final, edges)
    # t = 0: 1 | 2 + (-1) | -1 + -1;  t = 1: 2 | -1 + -1 | -1 + -2 (offsets 0.. from the pre-reset obs)
    want = [[1, 1, -2], [2, -2, -3], [3, 14, 20], [4, 20, 30]]
    np.testing.assert_array_equal(y[:, 0], want)
    assert mask.min() == 1.0
    np.testing.assert_allclose(adv[:, 0], np.sum(want, axis=1) - 1.5)
    # without final_preds a bin holding any step after the truncation does not count, and its target is 0
    y, mask, adv = kernels.reward_bins(r, none, flag, preds, boot, None, edges)
    np.testing.assert_array_equal(mask[:, 0], [[1, 0, 0], [1, 0, 0], [1, 1, 1], [1, 1, 1]])
    np.testing.assert_array_equal(y[:, 0], [[1, 0, 0], [2, 0, 0], [3, 14, 20], [4, 20, 30]])
    np.testing.assert_allclose(adv[:, 0], [0.5, 1.5, 35.5, 52.5])


def test_reward_bins_is_pure_and_float32():
    edges = EDGES["geometric_cut"]
    d = bins_rollout(16, 2, edges, 25, "both")
    before = {k: v.copy() for k, v in d.items()}
    edges_before = edges.copy()
    out1 = call_rb(d, edges)
    out2 = call_rb(d, list(edges))  # a plain list of edges is fine too
    assert all(np.array_equal(d[k], before[k]) for k in d) and np.array_equal(edges, edges_before)
    for a, b in zip(out1, out2):
        assert a.dtype == np.float32 and np.array_equal(a, b) and a is not b


def test_bin_edges():
    np.testing.assert_array_equal(kernels.geometric_edges(1), [0, 1])
    np.testing.assert_array_equal(kernels.geometric_edges(2), [0, 1, 2])
    np.testing.assert_array_equal(kernels.geometric_edges(5), [0, 1, 2, 4, 5])
    np.testing.assert_array_equal(kernels.geometric_edges(32), [0, 1, 2, 4, 8, 16, 32])
    g = kernels.geometric_edges(1024)
    assert g.dtype == np.int64 and len(g) - 1 == 11 and g[-1] == 1024
    np.testing.assert_array_equal(np.diff(g), [1, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512])
    for H in range(1, 300):
        assert len(kernels.geometric_edges(H)) - 1 == int(np.ceil(np.log2(H))) + 1
    u = kernels.unit_edges(4)
    assert u.dtype == np.int64 and u.tolist() == [0, 1, 2, 3, 4]
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError):
            kernels.geometric_edges(bad)
        with pytest.raises(ValueError):
            kernels.unit_edges(bad)


@pytest.mark.parametrize("edges", [[1, 2, 4], [0, 2, 2, 4], [0, 3, 2], [0.0, 1.0, 3.0], [0], [[0, 1], [1, 2]]])
def test_reward_bins_rejects_bad_edges(edges):
    d = rollout(8, 2, 26, H=2)
    with pytest.raises(ValueError, match="edges must"):
        call_rb(d, edges)


def test_reward_bins_rejects_heads_that_do_not_match_the_bins():
    d = rollout(8, 2, 27, H=3)
    with pytest.raises(ValueError, match="preds has 3 heads"):
        call_rb(d, [0, 1, 4])
    d["final_preds"] = d["final_preds"][..., :2]
    with pytest.raises(ValueError, match="final_preds has 2 heads"):
        call_rb(d, [0, 1, 2, 4])


# -------------------------------------------------------------------------------- avg_reward_gae
@pytest.mark.parametrize("mode", ["absorb", "reset"])
@pytest.mark.parametrize("lam,rho,cost", [(0.95, 0.3, 0.0), (1.0, -0.2, 1.5), (0.0, 0.0, 0.7)])
def test_avg_reward_matches_reference(mode, lam, rho, cost):
    d = rollout(33, 5, 16, p_term=0.1, p_trunc=0.1)
    adv, ret = call_avg(d, rho, lam, mode, cost)
    radv, rret = avg_reward_gae_ref(**d, rho=rho, lam=lam, mode=mode, reset_cost=cost)
    assert adv.dtype == ret.dtype == np.float32
    np.testing.assert_allclose(adv, radv, **TOL)
    np.testing.assert_allclose(ret, rret, **TOL)


def test_avg_reward_rejects_unknown_mode():
    d = rollout(4, 1, 17)
    with pytest.raises(ValueError):
        call_avg(d, 0.0, 0.9, "episodic")


@pytest.mark.parametrize("mode,ends", [("absorb", False), ("reset", False), ("reset", True)])
def test_avg_reward_constant_reward_at_rate_and_constant_h_gives_zero(mode, ends):
    d = rollout(30, 3, 18, p_term=0.1 if ends else 0.0, p_trunc=0.1 if ends else 0.0)
    c, h = 0.7, -1.3
    d["rewards"][:] = c
    d["values"][:] = h
    d["bootstrap_value"][:] = h
    d["final_values"][:] = h
    adv, _ = call_avg(d, c, 0.9, mode)
    np.testing.assert_allclose(adv, 0.0, atol=1e-5)


@pytest.mark.parametrize("mode", ["absorb", "reset"])
def test_avg_reward_shift_of_rewards_and_rho(mode):
    d = rollout(30, 3, 19, p_term=0.1, p_trunc=0.1)
    base = call_avg(d, 0.2, 0.9, mode, 0.5)[0]
    d["rewards"] += np.float32(4.0)
    np.testing.assert_allclose(call_avg(d, 4.2, 0.9, mode, 0.5)[0], base, rtol=1e-5, atol=1e-4)


def test_avg_reward_value_shift_invariance_only_in_reset_mode():
    d = rollout(30, 3, 20, p_term=0.0, p_trunc=0.0)
    d["terminated"][10, :] = True
    shifted = dict(d, values=d["values"] + 3.0, bootstrap_value=d["bootstrap_value"] + 3.0,
                   final_values=d["final_values"] + 3.0)
    np.testing.assert_allclose(call_avg(shifted, 0.1, 0.9, "reset", 0.5)[0],
                               call_avg(d, 0.1, 0.9, "reset", 0.5)[0], rtol=1e-5, atol=1e-4)
    assert not np.allclose(call_avg(shifted, 0.1, 0.9, "absorb")[0], call_avg(d, 0.1, 0.9, "absorb")[0])


@pytest.mark.parametrize("mode", ["absorb", "reset"])
def test_avg_reward_lambda_one_telescopes(mode):
    d = rollout(50, 1, 21, p_term=0.0, p_trunc=0.0)
    rho = float(d["rewards"].astype(np.float64).mean())
    adv, _ = call_avg(d, rho, 1.0, mode)
    assert adv[0, 0] == pytest.approx(d["bootstrap_value"][0] - d["values"][0, 0], abs=1e-4)


@pytest.mark.parametrize("lam", [0.0, 0.8, 1.0])
def test_avg_reward_absorb_is_gae_of_centred_rewards(lam):
    d = rollout(40, 4, 22, p_term=0.1, p_trunc=0.1)
    rho = 0.35
    centred = dict(d, rewards=(d["rewards"] - np.float32(rho)).astype(np.float32))
    np.testing.assert_allclose(call_avg(d, rho, lam, "absorb")[0], call_gae(centred, 1.0, lam)[0],
                               rtol=1e-5, atol=1e-4)


def test_avg_reward_reset_cost_only_at_terminations():
    d = rollout(20, 2, 23, p_term=0.0, p_trunc=0.0)
    d["truncated"][5, :] = True
    base = call_avg(d, 0.0, 0.9, "reset", 0.0)[0]
    np.testing.assert_array_equal(call_avg(d, 0.0, 0.9, "reset", 2.0)[0], base)  # truncation: no cost
    d["terminated"][5, :] = True
    with_cost = call_avg(d, 0.0, 0.9, "reset", 2.0)[0]
    assert with_cost[5, 0] == pytest.approx(base[5, 0] - 2.0, abs=1e-5)


def test_reward_horizon_worked_example_of_the_docs():
    """docs/reward_horizon.md: H = 3, T = 4, r = (1, 2, 3, 4), an episode end at step 1."""
    b, f = [10.0, 20.0, 30.0], [-1.0, -2.0, -3.0]
    r = np.array([[1.0], [2.0], [3.0], [4.0]], dtype=np.float32)
    preds = np.zeros((4, 1, 3), dtype=np.float32)
    boot = np.array([b], dtype=np.float32)
    final = np.zeros((4, 1, 3), dtype=np.float32)
    final[1, 0] = f
    flags = np.zeros((4, 1), dtype=bool)
    flags[1, 0] = True
    none = np.zeros((4, 1), dtype=bool)
    y, m, _ = kernels.reward_horizon(r, flags, none, preds, boot, final)
    np.testing.assert_array_equal(y[:, 0], [[1, 2, 0], [2, 0, 0], [3, 4, b[0]], [4, b[0], b[1]]])
    assert m.min() == 1.0
    y, m, _ = kernels.reward_horizon(r, none, flags, preds, boot, final)
    np.testing.assert_array_equal(y[:, 0], [[1, 2, f[0]], [2, f[0], f[1]], [3, 4, b[0]], [4, b[0], b[1]]])
    y, m, _ = kernels.reward_horizon(r, none, flags, preds, boot, None)
    np.testing.assert_array_equal(m[:, 0], [[1, 1, 0], [1, 0, 0], [1, 1, 1], [1, 1, 1]])
