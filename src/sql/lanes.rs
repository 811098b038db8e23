//! Picking between two values per row, from a bitmap, without a branch per row.
//!
//! Whether a row's answer is "agree" is as good as a coin toss, so a branch on it is
//! mispredicted about half the time (some 15 cycles each). Written as a mask
//! (`(x & m) | (y & !m)` with `m` all ones or all zeros), the compiler still recognises a
//! select of the bit and, where a value is read from memory, turns it back into a
//! branch. The mask is therefore read from a table: the compiler cannot tell that it is
//! all ones or all zeros, and the select stays arithmetic.

use arrow::array::{Array, BooleanArray};
use arrow::buffer::BooleanBuffer;

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

/// The rows where `cond` is true and not NULL (a NULL condition picks the other value,
/// as `CASE` and `FILTER` do).
pub fn true_rows(cond: &BooleanArray) -> BooleanBuffer {
    match cond.nulls() {
        Some(n) => cond.values() & n.inner(),
        None => cond.values().clone(),
    }
}

/// All ones where bit `j` (< 64) of `word` is set, else zero.
#[inline(always)]
pub fn mask(word: u64, j: usize) -> u64 {
    MASKS[((word >> (j & !3)) & 15) as usize][j & 3]
}

/// `x` where bit `j` of `word` is set, else `y`.
#[inline(always)]
pub fn pick<T: Lane>(word: u64, j: usize, x: T, y: T) -> T {
    T::select(mask(word, j), x, y)
}

/// A value that can be picked through a mask of all ones or all zeros.
pub trait Lane: Copy {
    /// `x` where `m` is all ones, `y` where it is zero.
    fn select(m: u64, x: Self, y: Self) -> Self;
}

impl Lane for u64 {
    #[inline(always)]
    fn select(m: u64, x: u64, y: u64) -> u64 {
        (x & m) | (y & !m)
    }
}

impl Lane for u32 {
    #[inline(always)]
    fn select(m: u64, x: u32, y: u32) -> u32 {
        u64::select(m, x.into(), y.into()) as u32
    }
}

impl Lane for f64 {
    #[inline(always)]
    fn select(m: u64, x: f64, y: f64) -> f64 {
        f64::from_bits(u64::select(m, x.to_bits(), y.to_bits()))
    }
}

impl Lane for f32 {
    #[inline(always)]
    fn select(m: u64, x: f32, y: f32) -> f32 {
        f32::from_bits(u32::select(m, x.to_bits(), y.to_bits()))
    }
}

impl Lane for i64 {
    #[inline(always)]
    fn select(m: u64, x: i64, y: i64) -> i64 {
        u64::select(m, x as u64, y as u64) as i64
    }
}

impl Lane for i32 {
    #[inline(always)]
    fn select(m: u64, x: i32, y: i32) -> i32 {
        u32::select(m, x as u32, y as u32) as i32
    }
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
        assert_eq!(pick(word, 0, 1.5f64, -0.0).to_bits(), 1.5f64.to_bits());
        assert_eq!(pick(word, 1, 1.5f64, -0.0).to_bits(), (-0.0f64).to_bits());
        assert_eq!(pick(word, 63, -7i32, 3), -7);
        assert_eq!(pick(word, 62, -7i64, 3), 3);
        assert_eq!(pick(word, 23, f32::NAN, 0.5).to_bits(), f32::NAN.to_bits());
        assert_eq!(pick(word, 22, f32::NAN, 0.5), 0.5);
    }
}
