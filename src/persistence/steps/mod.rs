//! The write path's pure steps: for each state change (create, edit and move a case;
//! prepare and sign a notice; request, prepare, release and reject a payment), one function
//! that takes the records as loaded and the facts the write read, and returns the records
//! after the change with their audit entries, or the refusal. The transactions in
//! `persistence::{applications, notices, payments}` load, call the step, and write what it
//! returns behind their conditional updates; the seed's bulk load (`seed::sim`) keeps the
//! records in memory and calls the same steps. So every derived value (grant, allocation,
//! budget commitments, history, audit entry) is computed in one place.

pub mod case;
pub mod notice;
pub mod payment;
pub mod repayment;

use crate::domain::Money;
use crate::persistence::applications::WriteError;

/// `a + b` for amounts the step has already bounded (a payout within its grant, a grant
/// within its programme): beyond `MAX_CENTS` only if stored data is corrupt, which is then a
/// 500, never a wrapped or clamped amount.
pub(crate) fn add(a: Money, b: Money) -> Result<Money, WriteError> {
    a.checked_add(b).ok_or_else(|| {
        WriteError::Db(crate::persistence::applications::corrupt(format!(
            "{a} + {b} exceeds the largest amount"
        )))
    })
}
