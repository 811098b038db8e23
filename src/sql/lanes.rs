//! Picking between two values per row, from a bitmap, without a branch per row.
//!
//! Whether a row's answer is "agree" is as good as a coin toss, so a branch on it is
//! mispredicted about half the time (some 15 cycles each). Written as a mask
//! (`(x & m) | (y & !m)` with `m` all ones or all zeros), the compiler still recognises a
//! select of the bit and, where a value is read from memory, turns it back into a
//! branch. The mask is therefore read from a table: the compiler cannot tell that it is
//! all ones or all zeros, and the select stays arithmetic.

/// Row `j` of a 4-bit group: all ones where the bit is set.
static MASKS: [[u64; 4]; 16] = {
    let mut t = [[0u64; 4]; 16];
    let mut bits = 0;
    while bits < 16 {
        let mut j = 0;
        while j < 4 {
            if (bits >> j) & 1 == 1 {
                t[bits][j] = u64::MAX;
            }
            j += 1;
        }
        bits += 1;
    }
    t
};

/// All ones where bit `j` (< 64) of `word` is set, else zero.
#[inline(always)]
pub fn mask(word: u64, j: usize) -> u64 {
    MASKS[((word >> (j & !3)) & 15) as usize][j & 3]
}

/// `x` where bit `j` of `word` is set, else `y`.
#[inline(always)]
pub fn pick_f64(word: u64, j: usize, x: f64, y: f64) -> f64 {
    let m = mask(word, j);
    f64::from_bits((x.to_bits() & m) | (y.to_bits() & !m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_follow_every_bit() {
        let word = 0x8000_0000_0000_0001u64 | (0b1011 << 20);
        for j in 0..64 {
            let want = if (word >> j) & 1 == 1 { u64::MAX } else { 0 };
            assert_eq!(mask(word, j), want, "bit {j}");
        }
        assert_eq!(pick_f64(word, 0, 1.5, -0.0).to_bits(), 1.5f64.to_bits());
        assert_eq!(pick_f64(word, 1, 1.5, -0.0).to_bits(), (-0.0f64).to_bits());
    }
}
