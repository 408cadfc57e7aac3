"""BN254 arithmetic on plain Python ints: what decoding Sui's compressed points needs, fast.

No pairing here (that is py_ecc's in the reference verifier and arkworks' through groth16py in
the fast one). Elements are ints (Fq) and (c0, c1) tuples (Fq2 = Fq[u]/(u^2 + 1)); points are
affine tuples, None for the point at infinity; G2 lies on the D-type twist y^2 = x^3 + 3/(9+u).

* `fq_sqrt`, `fq2_sqrt`: square roots (q = 3 mod 4), None when there is none.
* `g1_from_x`, `g2_from_x`: the point with that x and the larger (or smaller) y, None when x is
  not on the curve; "larger" is arkworks' order (Fq as integers; Fq2 by c1, then c0).
* `g2_in_subgroup`: arkworks' test for the prime-order subgroup of the twist,
  psi(P) == [6 x^2] P (El Housni, Guillevic, Piellard, eprint 2022/352, sec. 4.3), with psi the
  untwist-Frobenius-twist endomorphism: a 128-bit scalar multiple instead of a 254-bit one.
  (BN254 G1 has cofactor 1: every point of the curve is in G1.)
"""

from __future__ import annotations

from typing import Optional, Tuple

Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583  # base field
R = 21888242871839275222246405745257275088548364400416034343698204186575808495617  # group order
BN_X = 4965661367192848881  # the BN parameter x (q and r are polynomials in x)
SIX_X_SQUARED = 6 * BN_X * BN_X  # = q - r

Fq2 = Tuple[int, int]
G1Point = Optional[Tuple[int, int]]
G2Point = Optional[Tuple[Fq2, Fq2]]

_HALF = (Q + 1) // 2  # 1/2 mod q
_SQRT_EXP = (Q + 1) // 4
_QR_EXP = (Q - 1) // 2


# --------------------------------------------------------------------------- Fq
def fq_sqrt(a: int) -> Optional[int]:
    """A square root of a mod q, or None."""
    a %= Q
    s = pow(a, _SQRT_EXP, Q)
    return s if s * s % Q == a else None


def fq_is_larger(y: int) -> bool:
    """y > -y as integers in [0, q): arkworks' 'y is the larger of (y, -y)'."""
    return y > (Q - y) % Q


# --------------------------------------------------------------------------- Fq2
def fq2_mul(a: Fq2, b: Fq2) -> Fq2:
    a0, a1 = a
    b0, b1 = b
    t0, t1 = a0 * b0, a1 * b1
    return ((t0 - t1) % Q, ((a0 + a1) * (b0 + b1) - t0 - t1) % Q)


def fq2_sqr(a: Fq2) -> Fq2:
    a0, a1 = a
    return ((a0 + a1) * (a0 - a1) % Q, 2 * a0 * a1 % Q)


def fq2_add(a: Fq2, b: Fq2) -> Fq2:
    return ((a[0] + b[0]) % Q, (a[1] + b[1]) % Q)


def fq2_sub(a: Fq2, b: Fq2) -> Fq2:
    return ((a[0] - b[0]) % Q, (a[1] - b[1]) % Q)


def fq2_neg(a: Fq2) -> Fq2:
    return ((-a[0]) % Q, (-a[1]) % Q)


def fq2_conj(a: Fq2) -> Fq2:
    """The Frobenius map of Fq2 (a^q)."""
    return (a[0], (-a[1]) % Q)


def fq2_inv(a: Fq2) -> Fq2:
    a0, a1 = a
    n = pow((a0 * a0 + a1 * a1) % Q, Q - 2, Q)
    return (a0 * n % Q, (-a1) * n % Q)


def fq2_pow(a: Fq2, e: int) -> Fq2:
    out = (1, 0)
    for bit in bin(e)[2:]:
        out = fq2_sqr(out)
        if bit == "1":
            out = fq2_mul(out, a)
    return out


def fq2_sqrt(a: Fq2) -> Optional[Fq2]:
    """A square root of a in Fq2, or None (via the norm: three Fq exponentiations)."""
    a0, a1 = a[0] % Q, a[1] % Q
    if a1 == 0:
        s = fq_sqrt(a0)
        if s is not None:
            return (s, 0)
        s = fq_sqrt(-a0)  # -1 is not a square in Fq (q = 3 mod 4): (s u)^2 = -s^2 = a0
        return (0, s) if s is not None else None
    n = fq_sqrt(a0 * a0 + a1 * a1)
    if n is None:
        return None
    t = (a0 + n) * _HALF % Q
    if pow(t, _QR_EXP, Q) != 1:
        t = (a0 - n) * _HALF % Q
    x0 = fq_sqrt(t)
    if x0 is None or x0 == 0:
        return None
    x1 = a1 * pow(2 * x0, Q - 2, Q) % Q
    y = (x0, x1)
    return y if fq2_sqr(y) == (a0, a1) else None


def fq2_is_larger(y: Fq2) -> bool:
    """y > -y in arkworks' order of Fq2 (c1 first, then c0)."""
    n1 = (Q - y[1]) % Q
    if y[1] != n1:
        return y[1] > n1
    return y[0] > (Q - y[0]) % Q


# --------------------------------------------------------------------------- curves
B2: Fq2 = fq2_mul((3, 0), fq2_inv((9, 1)))  # the twist's b = 3 / (9 + u)
_XI = (9, 1)
PSI_X: Fq2 = fq2_pow(_XI, (Q - 1) // 3)  # psi(x, y) = (conj(x) * PSI_X, conj(y) * PSI_Y)
PSI_Y: Fq2 = fq2_pow(_XI, (Q - 1) // 2)


def g1_from_x(x: int, larger: bool) -> G1Point:
    """The G1 point (x, y) with y the larger (or smaller) root, or None if x is not on the curve."""
    y = fq_sqrt(x * x * x + 3)
    if y is None:
        return None
    if fq_is_larger(y) != larger:
        y = (Q - y) % Q
    return (x, y)


def g2_from_x(x: Fq2, larger: bool) -> G2Point:
    """The twist point (x, y) with y the larger (or smaller) root, or None if x is not on it.
    Not checked to be in G2: see g2_in_subgroup."""
    y = fq2_sqrt(fq2_add(fq2_mul(fq2_sqr(x), x), B2))
    if y is None:
        return None
    if fq2_is_larger(y) != larger:
        y = fq2_neg(y)
    return (x, y)


def g1_is_on_curve(p: G1Point) -> bool:
    if p is None:
        return True
    x, y = p
    return (y * y - x * x * x - 3) % Q == 0


def g2_is_on_curve(p: G2Point) -> bool:
    if p is None:
        return True
    x, y = p
    return fq2_sqr(y) == fq2_add(fq2_mul(fq2_sqr(x), x), B2)


def g1_neg(p: G1Point) -> G1Point:
    return None if p is None else (p[0], (Q - p[1]) % Q)


def g2_neg(p: G2Point) -> G2Point:
    return None if p is None else (p[0], fq2_neg(p[1]))


def psi(p: G2Point) -> G2Point:
    """The untwist-Frobenius-twist endomorphism of the twist (acts as [q] on G2)."""
    if p is None:
        return None
    x, y = p
    return (fq2_mul(fq2_conj(x), PSI_X), fq2_mul(fq2_conj(y), PSI_Y))


# Jacobian coordinates (X, Y, Z) ~ (X/Z^2, Y/Z^3) over Fq2 for the twist (a = 0); Z = 0 is infinity.
def _jac_double(p):
    x, y, z = p
    a = fq2_sqr(x)
    b = fq2_sqr(y)
    c = fq2_sqr(b)
    d = fq2_sub(fq2_sqr(fq2_add(x, b)), fq2_add(a, c))
    d = fq2_add(d, d)
    e = fq2_add(fq2_add(a, a), a)
    f = fq2_sqr(e)
    x3 = fq2_sub(f, fq2_add(d, d))
    c8 = fq2_add(c, c)
    c8 = fq2_add(c8, c8)
    c8 = fq2_add(c8, c8)
    y3 = fq2_sub(fq2_mul(e, fq2_sub(d, x3)), c8)
    yz = fq2_mul(y, z)
    return (x3, y3, fq2_add(yz, yz))


def _jac_add_affine(p, q_aff):
    """p (Jacobian, not infinity) + q (affine, not infinity)."""
    x1, y1, z1 = p
    x2, y2 = q_aff
    z1z1 = fq2_sqr(z1)
    u2 = fq2_mul(x2, z1z1)
    s2 = fq2_mul(y2, fq2_mul(z1, z1z1))
    h = fq2_sub(u2, x1)
    rr = fq2_sub(s2, y1)
    if h == (0, 0):
        if rr == (0, 0):
            return _jac_double(p)
        return None  # p = -q
    hh = fq2_sqr(h)
    i = fq2_add(hh, hh)
    i = fq2_add(i, i)
    j = fq2_mul(h, i)
    rr = fq2_add(rr, rr)
    v = fq2_mul(x1, i)
    x3 = fq2_sub(fq2_sub(fq2_sqr(rr), j), fq2_add(v, v))
    y1j = fq2_mul(y1, j)
    y3 = fq2_sub(fq2_mul(rr, fq2_sub(v, x3)), fq2_add(y1j, y1j))
    z3 = fq2_sub(fq2_sqr(fq2_add(z1, h)), fq2_add(z1z1, hh))
    return (x3, y3, z3)


def g2_multiply_jacobian(p: G2Point, k: int):
    """[k] p for k >= 0 in Jacobian coordinates, None for infinity (double-and-add)."""
    if p is None or k == 0:
        return None
    acc = None
    for bit in bin(k)[2:]:
        if acc is not None:
            acc = _jac_double(acc)
        if bit == "1":
            acc = (p[0], p[1], (1, 0)) if acc is None else _jac_add_affine(acc, p)
    return acc


def _jac_equals_affine(j, a: G2Point) -> bool:
    if j is None or a is None:
        return j is None and a is None
    x, y, z = j
    z2 = fq2_sqr(z)
    return fq2_mul(a[0], z2) == x and fq2_mul(a[1], fq2_mul(z2, z)) == y


def g2_in_subgroup(p: G2Point) -> bool:
    """Is p (on the twist) in G2, the subgroup of order r? arkworks' test: psi(p) == [6x^2] p."""
    if p is None:
        return True
    return _jac_equals_affine(g2_multiply_jacobian(p, SIX_X_SQUARED), psi(p))
