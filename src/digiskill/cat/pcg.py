"""Per-simulee random streams, vectorised: row ``i`` equals ``numpy.random.default_rng([seeds[i], step])``'s draws.

A live session draws exposure control's uniforms from ``default_rng([seed, step])``. A simulation of ``N`` simulees
needs those same draws for ``N`` seeds at once, and creating ``N`` generators per step costs about 50 µs each (half
a minute for 10,000 simulees over a whole test). :func:`seeded_uniforms` computes them with array arithmetic instead:

* numpy's ``SeedSequence`` hash of the entropy ``[seed, step]`` (two 32-bit words, pool of 4; its hash multipliers
  follow a fixed sequence, so the hash is a few vectorised 32-bit operations);
* ``PCG64``'s seeding from the 4 × 64-bit state words, and its 128-bit LCG jumped ahead to each of the ``size`` draws
  (``s_k = Aᵏ s_0 + (Aᵏ⁻¹ + … + 1) inc``, constants computed once per ``size``), in 64-bit limbs;
* the XSL-RR output and ``random()``'s ``(x >> 11) · 2⁻⁵³``.

The result is bit-identical to numpy's generators (tests check it); seeds of 2³² and more take the slow path.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

_M32 = np.uint64(0xFFFFFFFF)
_M64 = (1 << 64) - 1
_M128 = (1 << 128) - 1
# numpy.random.SeedSequence's hash constants (numpy/random/bit_generator.pyx)
_INIT_A, _MULT_A, _INIT_B, _MULT_B = 0x43B0D7E5, 0x931E8875, 0x8B51F9DD, 0x58F38DED
_MIX_MULT_L, _MIX_MULT_R = 0xCA01F9DD, 0x4973F715
_POOL = 4
# PCG64's multiplier (numpy/random/src/pcg64/pcg64.h)
_PCG_MULT = (2549297995355413924 << 64) + 4865540595714422341


def seeded_uniforms(seeds: np.ndarray, step: int, size: int) -> np.ndarray:
    """``(N, size)``: row ``i`` is ``numpy.random.default_rng([seeds[i], step]).random(size)``."""
    seeds = np.asarray(seeds, dtype=np.int64)
    if seeds.size == 0:
        return np.zeros((0, size))
    if seeds.min() < 0 or seeds.max() >= 1 << 32 or not 0 <= step < 1 << 32:
        return np.stack([np.random.default_rng([int(s), step]).random(size) for s in seeds])
    state_hi, state_lo, inc_hi, inc_lo = _pcg64_start(seeds.astype(np.uint64), step)
    mult_hi, mult_lo, add_hi, add_lo = _jumps(size)
    a_hi, a_lo = _mul128(state_hi[:, None], state_lo[:, None], mult_hi, mult_lo)
    b_hi, b_lo = _mul128(inc_hi[:, None], inc_lo[:, None], add_hi, add_lo)
    hi, lo = _add128(a_hi, a_lo, b_hi, b_lo)
    rot = hi >> np.uint64(58)
    x = hi ^ lo
    out = (x >> rot) | (x << ((np.uint64(64) - rot) & np.uint64(63)))
    return (out >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def _hash_constants() -> tuple[list[int], list[int]]:
    """The multipliers SeedSequence's ``hashmix`` uses, in order (they do not depend on the data): 4 to fill the
    pool and 12 to mix it; and the 8 of ``generate_state`` for 4 × 64-bit words."""
    mix, h = [], _INIT_A
    for _ in range(_POOL + _POOL * (_POOL - 1)):
        h = (h * _MULT_A) & 0xFFFFFFFF
        mix.append(h)
    state, h = [], _INIT_B
    for _ in range(2 * _POOL):
        state.append(h)  # generate_state xors with the constant before advancing it
        h = (h * _MULT_B) & 0xFFFFFFFF
    return mix, state


_MIX_CONSTS, _STATE_CONSTS = _hash_constants()


def _hashmix(value: np.ndarray, xor: int, mult: int) -> np.ndarray:
    v = ((value ^ np.uint64(xor)) * np.uint64(mult)) & _M32
    return v ^ (v >> np.uint64(16))


def _pcg64_start(seeds: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """PCG64's state and increment after seeding from ``SeedSequence([seed, step])``, as 64-bit limbs."""
    n = seeds.size
    entropy = [seeds, np.full(n, step, dtype=np.uint64), np.zeros(n, np.uint64), np.zeros(n, np.uint64)]
    consts = iter(_MIX_CONSTS)
    prev = _INIT_A
    mixer = []
    for word in entropy:  # hashmix(value) xors with the current constant, then multiplies by the next one
        c = next(consts)
        mixer.append(_hashmix(word, prev, c))
        prev = c
    for src in range(_POOL):
        for dst in range(_POOL):
            if src != dst:
                c = next(consts)
                h = _hashmix(mixer[src], prev, c)
                prev = c
                r = (np.uint64(_MIX_MULT_L) * mixer[dst] - np.uint64(_MIX_MULT_R) * h) & _M32
                mixer[dst] = r ^ (r >> np.uint64(16))
    words = []
    for i, c in enumerate(_STATE_CONSTS):
        v = ((mixer[i % _POOL] ^ np.uint64(c)) * np.uint64((c * _MULT_B) & 0xFFFFFFFF)) & _M32
        words.append(v ^ (v >> np.uint64(16)))
    val = [words[2 * i] | (words[2 * i + 1] << np.uint64(32)) for i in range(_POOL)]
    seed_hi, seed_lo = val[0], val[1]
    inc_hi = (val[2] << np.uint64(1)) | (val[3] >> np.uint64(63))
    inc_lo = (val[3] << np.uint64(1)) | np.uint64(1)
    mult_hi, mult_lo = np.uint64(_PCG_MULT >> 64), np.uint64(_PCG_MULT & _M64)
    # state = 0; step (state = inc); state += seed; step
    s_hi, s_lo = _add128(inc_hi, inc_lo, seed_hi, seed_lo)
    s_hi, s_lo = _mul128(s_hi, s_lo, mult_hi, mult_lo)
    s_hi, s_lo = _add128(s_hi, s_lo, inc_hi, inc_lo)
    return s_hi, s_lo, inc_hi, inc_lo


@lru_cache(maxsize=64)
def _jumps(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``Aᵏ`` and ``Aᵏ⁻¹ + … + 1`` (mod 2¹²⁸) for k = 1..size, as 64-bit limbs: the state after k steps."""
    mult, add, a_k, g_k = [], [], 1, 0
    for _ in range(size):
        g_k = (g_k + a_k) & _M128
        a_k = (a_k * _PCG_MULT) & _M128
        mult.append(a_k)
        add.append(g_k)
    limbs = [np.array([v >> 64 for v in xs], dtype=np.uint64) for xs in (mult, add)]
    lows = [np.array([v & _M64 for v in xs], dtype=np.uint64) for xs in (mult, add)]
    return limbs[0], lows[0], limbs[1], lows[1]


def _mul64(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The full 128-bit product of two 64-bit arrays, from 32-bit halves."""
    a0, a1, b0, b1 = a & _M32, a >> np.uint64(32), b & _M32, b >> np.uint64(32)
    p00, p01, p10, p11 = a0 * b0, a0 * b1, a1 * b0, a1 * b1
    mid = (p00 >> np.uint64(32)) + (p01 & _M32) + (p10 & _M32)
    lo = (p00 & _M32) | (mid << np.uint64(32))
    hi = p11 + (p01 >> np.uint64(32)) + (p10 >> np.uint64(32)) + (mid >> np.uint64(32))
    return hi, lo


def _mul128(
    a_hi: np.ndarray, a_lo: np.ndarray, b_hi: np.ndarray | np.uint64, b_lo: np.ndarray | np.uint64
) -> tuple[np.ndarray, np.ndarray]:
    """``a · b mod 2¹²⁸`` in 64-bit limbs (numpy's unsigned arrays wrap modulo 2⁶⁴)."""
    a_lo, b_lo = np.broadcast_arrays(a_lo, b_lo)
    hi, lo = _mul64(a_lo, b_lo)
    return hi + a_lo * b_hi + a_hi * b_lo, lo


def _add128(a_hi: np.ndarray, a_lo: np.ndarray, b_hi: np.ndarray, b_lo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lo = a_lo + b_lo
    return a_hi + b_hi + (lo < a_lo).astype(np.uint64), lo
