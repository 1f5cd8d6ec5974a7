//! SplitMix64: a small generator with the same sequence on every machine (integer arithmetic
//! only, no floating point), good enough for demo data and never used for anything secret.

#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    #[cfg(test)]
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// An independent stream for `(seed, stream)`: one per case, so that a case's data does
    /// not depend on how many numbers the cases before it drew.
    pub(crate) fn stream(seed: u64, stream: u64) -> Rng {
        let mut r = Rng(seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
        r.next();
        Rng(r.next() ^ stream)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// `0..n` (0 for `n == 0`), by multiply-shift: no modulo bias worth speaking of.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    /// `lo..=hi` (`lo` if the range is empty).
    pub(crate) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = (i128::from(hi) - i128::from(lo) + 1) as u64;
        lo + self.below(span) as i64
    }

    /// True with `percent` % probability.
    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// True with `per_mille` ‰ probability.
    pub(crate) fn chance_pm(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    /// An index into `weights`, chosen in proportion to them.
    pub(crate) fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
        let mut x = self.below(total);
        for (i, w) in weights.iter().enumerate() {
            let w = u64::from(*w);
            if x < w {
                return i;
            }
            x -= w;
        }
        weights.len().saturating_sub(1)
    }

    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// A random (version 4) UUID from this stream.
    pub(crate) fn uuid(&mut self) -> String {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next().to_le_bytes());
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    }

    /// A time-ordered (version 7) UUID: the Unix milliseconds `millis`, then randomness.
    pub(crate) fn uuid_v7(&mut self, millis: u64) -> String {
        let mut bytes = [0u8; 10];
        bytes[..8].copy_from_slice(&self.next().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next().to_le_bytes()[..2]);
        uuid::Builder::from_unix_timestamp_millis(millis, &bytes)
            .into_uuid()
            .to_string()
    }

    /// Fisher–Yates.
    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_numbers_and_streams_differ() {
        let a: Vec<u64> = (0..5).map(|_| Rng::new(2019).next()).collect();
        let mut r = Rng::new(2019);
        let b: Vec<u64> = (0..5).map(|_| r.next()).collect();
        assert!(a.iter().all(|x| *x == a[0]));
        assert_ne!(b[0], b[1]);
        assert_ne!(Rng::stream(1, 1).next(), Rng::stream(1, 2).next());
        assert_eq!(Rng::stream(7, 3).next(), Rng::stream(7, 3).next());
    }

    #[test]
    fn ranges_are_inclusive_and_weights_are_respected() {
        let mut r = Rng::new(1);
        let mut seen = [false; 3];
        for _ in 0..200 {
            let x = r.range(5, 7);
            assert!((5..=7).contains(&x));
            seen[(x - 5) as usize] = true;
            assert_eq!(r.weighted(&[0, 3, 0]), 1);
        }
        assert!(seen.iter().all(|s| *s));
        let id = r.uuid();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        let a = r.uuid_v7(1_600_000_000_000);
        let b = r.uuid_v7(1_600_000_000_001);
        assert_eq!(&a[14..15], "7");
        assert!(a < b, "time-ordered");
    }
}
