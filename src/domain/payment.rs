//! Where a payment request (Mittelabruf) is: requested by the municipality, prepared by a
//! caseworker (sachliche Richtigkeit), paid out by an approver (Anordnung), or rejected.

use super::names::string_enum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentStatus {
    Requested,
    Prepared,
    Paid,
    Rejected,
}

string_enum!(PaymentStatus, "payment status", {
    Requested => "requested",
    Prepared => "prepared",
    Paid => "paid",
    Rejected => "rejected",
});

impl PaymentStatus {
    /// Not yet paid or rejected: the money is still asked for.
    pub const OPEN: [PaymentStatus; 2] = [PaymentStatus::Requested, PaymentStatus::Prepared];

    pub fn is_open(self) -> bool {
        PaymentStatus::OPEN.contains(&self)
    }
}
