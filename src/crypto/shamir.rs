//! k-of-n secret sharing of a 256-bit key: Shamir's scheme over GF(2^8),
//! byte-wise (as in SLIP-0039's and HashiCorp Vault's shares).
//!
//! A share is `(x, y)` with x in 1..=255 and y 32 bytes; any k distinct shares
//! recover the secret by Lagrange interpolation at 0, fewer reveal nothing
//! about it (information-theoretic). Field arithmetic uses the AES polynomial
//! x^8 + x^4 + x^3 + x + 1 and is written without tables or secret-dependent
//! branches.
//!
//! Re-sharing draws a new polynomial with the same constant term: old shares
//! and new shares do not combine (different polynomials).

use crate::crypto::secret::{KEY_LEN, Key256};
use crate::error::{Error, Result};

/// Multiplication in GF(2^8), constant time.
pub fn gf_mul(mut a: u8, mut b: u8) -> u8 {
    let mut p = 0u8;
    for _ in 0..8 {
        p ^= a & 0u8.wrapping_sub(b & 1);
        let hi = 0u8.wrapping_sub(a >> 7);
        a = (a << 1) ^ (0x1b & hi);
        b >>= 1;
    }
    p
}

/// Inverse in GF(2^8) (a^254); the inverse of 0 is 0.
pub fn gf_inv(a: u8) -> u8 {
    let mut r = 1u8;
    let mut base = a;
    let mut e = 254u8;
    while e > 0 {
        if e & 1 == 1 {
            r = gf_mul(r, base);
        }
        base = gf_mul(base, base);
        e >>= 1;
    }
    r
}

/// Share `x` (1..=255) of `secret` under the polynomial whose non-constant
/// coefficients are `coeffs` (k − 1 of them, 32 bytes each).
pub fn share(secret: &Key256, coeffs: &[Key256], x: u8) -> Key256 {
    let mut y = Key256::default();
    for i in 0..KEY_LEN {
        // Horner: ((c_{k-1} x + c_{k-2}) x + ...) x + s
        let mut acc = 0u8;
        for c in coeffs.iter().rev() {
            acc = gf_mul(acc, x) ^ c.expose()[i];
        }
        acc = gf_mul(acc, x) ^ secret.expose()[i];
        y.expose_mut()[i] = acc;
    }
    y
}

/// Recovers the secret from exactly k shares with distinct nonzero x.
pub fn combine(shares: &[(u8, &Key256)]) -> Result<Key256> {
    if shares.is_empty() {
        return Err(Error::Shares("no shares"));
    }
    for (i, (xi, _)) in shares.iter().enumerate() {
        if *xi == 0 {
            return Err(Error::Shares("share index 0"));
        }
        if shares[..i].iter().any(|(xj, _)| xj == xi) {
            return Err(Error::Shares("duplicate share index"));
        }
    }
    // Lagrange basis at 0: l_i = prod_{j != i} x_j / (x_j - x_i); in GF(2^8) minus is xor.
    let mut out = Key256::default();
    for (i, (xi, yi)) in shares.iter().enumerate() {
        let mut num = 1u8;
        let mut den = 1u8;
        for (j, (xj, _)) in shares.iter().enumerate() {
            if i != j {
                num = gf_mul(num, *xj);
                den = gf_mul(den, xj ^ xi);
            }
        }
        let li = gf_mul(num, gf_inv(den));
        for b in 0..KEY_LEN {
            out.expose_mut()[b] ^= gf_mul(li, yi.expose()[b]);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_laws() {
        for a in 0..=255u8 {
            assert_eq!(gf_mul(a, 1), a);
            assert_eq!(gf_mul(a, 0), 0);
            if a != 0 {
                assert_eq!(gf_mul(a, gf_inv(a)), 1, "a={a}");
            }
        }
        // FIPS-197 §4.2 example: {57} • {83} = {c1}
        assert_eq!(gf_mul(0x57, 0x83), 0xc1);
    }

    #[test]
    fn any_two_of_three_recover_and_one_does_not() {
        let secret = Key256::from_bytes([0x42; 32]);
        let coeff = [Key256::from_bytes(core::array::from_fn(|i| {
            i as u8 * 7 + 1
        }))];
        let s: Vec<Key256> = (1..=3).map(|x| share(&secret, &coeff, x)).collect();
        for (a, b) in [(0, 1), (0, 2), (1, 2)] {
            let got = combine(&[(a as u8 + 1, &s[a]), (b as u8 + 1, &s[b])]).unwrap();
            assert_eq!(got, secret);
        }
        // one share alone interpolates a constant polynomial: it is the share, not the secret
        assert_ne!(combine(&[(1, &s[0])]).unwrap(), secret);
        // shares of a re-shared secret do not mix with old ones
        let coeff2 = [Key256::from_bytes([9; 32])];
        let t2 = share(&secret, &coeff2, 2);
        assert_ne!(combine(&[(1, &s[0]), (2, &t2)]).unwrap(), secret);
        assert!(combine(&[(1, &s[0]), (1, &s[1])]).is_err());
    }
}
