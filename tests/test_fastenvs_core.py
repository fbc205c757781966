"""The shared machinery: registry, per-env random streams."""

import numpy as np
import pytest
from numba import njit

import fastenvs
from fastenvs._core import rand_float, rand_int, rand_u32, seed_rng


def xorshift32(x):
    x ^= (x << 13) & 0xFFFFFFFF
    x ^= x >> 17
    x ^= (x << 5) & 0xFFFFFFFF
    return x


@njit(cache=True)
def draw(rng, i, count):
    out = np.empty((3, count), dtype=np.float64)
    for c in range(count):
        out[0, c] = rand_u32(rng, i)
        out[1, c] = rand_float(rng, i)
        out[2, c] = rand_int(rng, i, 7)
    return out


def test_rng_is_xorshift32_and_ranges_hold():
    rng = seed_rng(123, 4)
    assert rng.dtype == np.uint32 and (rng != 0).all() and len(set(rng.tolist())) == 4
    x = int(rng[2])
    out = draw(rng, 2, 5000)
    expected = []
    for _ in range(5000):
        x = xorshift32(x)
        expected.append(x)
        x = xorshift32(x)
        x = xorshift32(x)
    np.testing.assert_array_equal(out[0], expected)
    assert 0.0 <= out[1].min() and out[1].max() < 1.0 and abs(out[1].mean() - 0.5) < 0.02
    assert set(np.unique(out[2]).tolist()) == set(range(7))


def test_seed_streams_do_not_depend_on_num_envs():
    np.testing.assert_array_equal(seed_rng(7, 3), seed_rng(7, 100)[:3])
    assert not np.array_equal(seed_rng(7, 3), seed_rng(8, 3))


def test_registry_errors_are_clear():
    with pytest.raises(ValueError, match="unknown fastenvs env 'nope': known names are .*breakout"):
        fastenvs.make("nope", 4)
    with pytest.raises(ValueError, match="num_envs=0"):
        fastenvs.make("breakout", 0)
    with pytest.raises(ValueError, match="bad option"):
        fastenvs.make("breakout", 4, no_such_option=3)
    assert fastenvs.names() == sorted(fastenvs.names()) and "breakout" in fastenvs.names()
