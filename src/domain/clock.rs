//! The processing clock of a case (Bearbeitungsdauer): it runs from submission to the decision
//! while the case is `submitted` or `in_review`, and stops while the competence centre waits
//! for the applicant (`info_requested`). Kept per case as accumulated seconds plus the moment
//! it last started, so that a report reads it without replaying the history.

use chrono::NaiveDateTime;

use super::Status;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Clock {
    /// Seconds counted in earlier running periods.
    pub accumulated_secs: i64,
    /// When the current running period began; `None` while the clock stands.
    pub running_since: Option<NaiveDateTime>,
}

impl Clock {
    /// Whether the clock runs while a case is in this status.
    pub fn runs_in(status: Status) -> bool {
        matches!(status, Status::Submitted | Status::InReview)
    }

    /// The clock after the case enters `status` at `now`.
    pub fn enter(self, status: Status, now: NaiveDateTime) -> Clock {
        match (Clock::runs_in(status), self.running_since) {
            (true, None) => Clock {
                accumulated_secs: self.accumulated_secs,
                running_since: Some(now),
            },
            (false, Some(since)) => Clock {
                accumulated_secs: self.accumulated_secs + (now - since).num_seconds().max(0),
                running_since: None,
            },
            _ => self,
        }
    }

    /// Seconds counted up to `now`.
    pub fn seconds_at(self, now: NaiveDateTime) -> i64 {
        self.accumulated_secs
            + self
                .running_since
                .map_or(0, |since| (now - since).num_seconds().max(0))
    }

    /// Whole days counted up to `now`.
    pub fn days_at(self, now: NaiveDateTime) -> i64 {
        self.seconds_at(now) / 86_400
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn day(d: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 3, d)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap()
    }

    #[test]
    fn time_waiting_for_information_is_not_counted() {
        let c = Clock::default()
            .enter(Status::Submitted, day(1))
            .enter(Status::InReview, day(3))
            .enter(Status::InfoRequested, day(5))
            .enter(Status::InReview, day(25))
            .enter(Status::Approved, day(30));
        // 1 → 5 runs (4 days), 5 → 25 stands, 25 → 30 runs (5 days)
        assert_eq!(c.days_at(day(31)), 9);
        assert_eq!(c.running_since, None);
    }

    #[test]
    fn a_running_clock_counts_up_to_now() {
        let c = Clock::default().enter(Status::Submitted, day(1));
        assert_eq!(c.days_at(day(11)), 10);
        assert_eq!(Clock::default().days_at(day(11)), 0);
    }

    #[test]
    fn entering_a_status_twice_does_not_restart_the_clock() {
        let c = Clock::default()
            .enter(Status::Submitted, day(1))
            .enter(Status::InReview, day(2));
        assert_eq!(c.running_since, Some(day(1)));
    }
}
