//! The working-time axis of the demo history: every event happens on a German working day
//! (Monday to Friday, no Thuringian public holiday) between 07:00 and 16:00 UTC, so that no
//! event lies near midnight in Berlin and the calendar year of every instant is the same in
//! UTC and in German time. A point on the axis is a number of microseconds: the index of the
//! working day times the length of the window, plus the offset into the window. Ordered
//! points are ordered instants.

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};

use crate::domain::calendar::is_working_day;

/// A point on the axis (microseconds of working time).
pub(crate) type W = i64;

/// The length of one working day's window, 07:00–16:00 UTC.
pub(crate) const DAY: W = 9 * 3600 * 1_000_000;
const OPENS_AT_HOUR: u32 = 7;

#[derive(Debug, Clone)]
pub(crate) struct WorkTime {
    days: Vec<NaiveDate>,
}

impl WorkTime {
    /// Working days from `first` to `last`.
    pub(crate) fn new(first: NaiveDate, last: NaiveDate) -> WorkTime {
        let days = first
            .iter_days()
            .take_while(|d| *d <= last)
            .filter(|d| is_working_day(*d))
            .collect();
        WorkTime { days }
    }

    fn index(&self, w: W) -> usize {
        usize::try_from(w.max(0) / DAY)
            .unwrap_or(0)
            .min(self.days.len().saturating_sub(1))
    }

    /// The instant of a point (UTC).
    pub(crate) fn at(&self, w: W) -> NaiveDateTime {
        let day = self.days[self.index(w)];
        let offset = w.max(0) % DAY;
        day.and_hms_opt(OPENS_AT_HOUR, 0, 0).unwrap_or_default() + TimeDelta::microseconds(offset)
    }

    pub(crate) fn date(&self, w: W) -> NaiveDate {
        self.days[self.index(w)]
    }

    /// The first working day on or after `d`, at the opening of its window.
    pub(crate) fn start_of(&self, d: NaiveDate) -> W {
        let i = self.days.partition_point(|x| *x < d);
        i64::try_from(i.min(self.days.len().saturating_sub(1))).unwrap_or(0) * DAY
    }

    /// The last microsecond of the window of the last working day on or before `d`.
    pub(crate) fn end_of(&self, d: NaiveDate) -> W {
        let i = self.days.partition_point(|x| *x <= d);
        i64::try_from(i.max(1)).unwrap_or(1) * DAY - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, Timelike};

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn points_are_instants_on_working_days_inside_the_window() {
        let wt = WorkTime::new(d("2019-01-01"), d("2019-12-31"));
        // 1 January is a holiday: the axis starts on Wednesday 2 January.
        assert_eq!(wt.date(0), d("2019-01-02"));
        assert_eq!(wt.at(0).hour(), 7);
        assert_eq!(wt.at(DAY - 1).hour(), 15);
        assert_eq!(wt.date(DAY), d("2019-01-03"));
        // Friday 4 January → Monday 7 January.
        assert_eq!(wt.date(3 * DAY), d("2019-01-07"));
        assert_eq!(wt.start_of(d("2019-01-05")), 3 * DAY);
        assert_eq!(wt.date(wt.end_of(d("2019-01-06"))), d("2019-01-04"));
        // Weltkindertag (since 2019) and Reformationstag are not working days.
        for w in (0..240).map(|i| i * DAY) {
            let day = wt.date(w);
            assert!(day.weekday().num_days_from_monday() < 5);
            assert_ne!((day.month(), day.day()), (9, 20));
            assert_ne!((day.month(), day.day()), (10, 31));
        }
    }
}
