//! Splitting an amount over joint partners by their shares so that the parts add up
//! **exactly** to the whole: each part is first rounded down to the cent, then the cents left
//! over go, one each, to the parts with the largest remainders (largest-remainder method;
//! ties go to the earlier partner, so the result is deterministic).

use super::Money;

/// Splits `amount` by `shares_bp` (basis points; they need not add up to 10000, the split is
/// proportional to their sum). Returns one part per share, in order; the parts add up to
/// `amount` exactly. An empty or all-zero share list gets `None`.
pub fn split_by_shares(amount: Money, shares_bp: &[i32]) -> Option<Vec<Money>> {
    let total: i128 = shares_bp.iter().map(|s| i128::from((*s).max(0))).sum();
    if total == 0 {
        return None;
    }
    let cents = i128::from(amount.cents());
    // Work on the magnitude so that a negative amount (a difference) splits symmetrically.
    let sign: i128 = if cents < 0 { -1 } else { 1 };
    let magnitude = cents.abs();
    let mut parts: Vec<i128> = Vec::with_capacity(shares_bp.len());
    let mut remainders: Vec<(i128, usize)> = Vec::with_capacity(shares_bp.len());
    for (i, s) in shares_bp.iter().enumerate() {
        let num = magnitude * i128::from((*s).max(0));
        parts.push(num / total);
        remainders.push((num % total, i));
    }
    let assigned: i128 = parts.iter().sum();
    let left = magnitude - assigned;
    // Largest remainder first; on a tie the earlier partner.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders.iter().take(usize::try_from(left).unwrap_or(0)) {
        parts[*i] += 1;
    }
    parts
        .into_iter()
        .map(|p| Money::from_cents(i64::try_from(sign * p).ok()?).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(s: &str) -> Money {
        s.parse().unwrap()
    }

    #[test]
    fn thirds_of_a_hundred_euros_add_up_to_a_hundred_euros() {
        let parts = split_by_shares(m("100.00"), &[3334, 3333, 3333]).unwrap();
        assert_eq!(parts, [m("33.34"), m("33.33"), m("33.33")]);
        let parts = split_by_shares(m("0.02"), &[3333, 3333, 3334]).unwrap();
        // remainders: 0.6666, 0.6666, 0.6668 → the third gets a cent first, then the first
        assert_eq!(parts, [m("0.01"), m("0.00"), m("0.01")]);
    }

    #[test]
    fn a_single_share_gets_everything_and_no_share_is_refused() {
        assert_eq!(
            split_by_shares(m("310620.00"), &[10_000]).unwrap(),
            [m("310620.00")]
        );
        assert_eq!(split_by_shares(m("1.00"), &[]), None);
        assert_eq!(split_by_shares(m("1.00"), &[0, 0]), None);
    }

    #[test]
    fn a_negative_difference_splits_symmetrically() {
        let parts = split_by_shares(m("-100.00"), &[3334, 3333, 3333]).unwrap();
        assert_eq!(parts, [m("-33.34"), m("-33.33"), m("-33.33")]);
    }

    proptest! {
        #[test]
        fn the_parts_always_add_up_to_the_whole_and_stay_within_a_cent_of_the_exact_share(
            cents in -10_000_000_000_000i64..10_000_000_000_000,
            shares in proptest::collection::vec(1i32..=10_000, 1..12)
        ) {
            let amount = Money::from_cents(cents).unwrap();
            let parts = split_by_shares(amount, &shares).unwrap();
            prop_assert_eq!(parts.len(), shares.len());
            let sum: i64 = parts.iter().map(|p| p.cents()).sum();
            prop_assert_eq!(sum, cents);
            let total: i128 = shares.iter().map(|s| i128::from(*s)).sum();
            for (p, s) in parts.iter().zip(&shares) {
                // |part·total − amount·share| < total, i.e. less than one cent off
                let diff = i128::from(p.cents()) * total - i128::from(cents) * i128::from(*s);
                prop_assert!(diff.abs() < total);
            }
        }
    }
}
