//! Dates of a notice: when a posted notice is deemed delivered (§ 41 (2) VwVfG), when the
//! appeal period ends (§§ 70, 74 VwGO: one month; without legal-remedy instructions one year,
//! § 58 (2) VwGO), and when the notice becomes final (bestandskräftig). Periods are counted
//! by §§ 187, 188 BGB (via § 31 (1) VwVfG, § 57 VwGO, § 222 ZPO) and a period ending on a
//! Saturday, Sunday or Thuringian public holiday ends on the next working day (§ 31 (3)
//! VwVfG, § 222 (2) ZPO). Public holidays are computed for any year, not listed.

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, NaiveDateTime, TimeDelta, Utc, Weekday};

/// Easter Sunday of `year` (Gregorian calendar; anonymous algorithm of Meeus/Jones/Butcher).
pub fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

/// The statewide public holidays of Thuringia in `year` (ThürFtG), with their names.
/// Fronleichnam is a holiday only in parts of the Eichsfeld and is not statewide, so it is not
/// included; Weltkindertag (20 September) is a holiday since 2019.
pub fn thuringian_holidays(year: i32) -> Vec<(NaiveDate, &'static str)> {
    let mut out = Vec::new();
    let fixed: [(u32, u32, &str); 7] = [
        (1, 1, "Neujahr"),
        (5, 1, "Tag der Arbeit"),
        (9, 20, "Weltkindertag"),
        (10, 3, "Tag der Deutschen Einheit"),
        (10, 31, "Reformationstag"),
        (12, 25, "1. Weihnachtsfeiertag"),
        (12, 26, "2. Weihnachtsfeiertag"),
    ];
    for (month, day, name) in fixed {
        if name == "Weltkindertag" && year < 2019 {
            continue;
        }
        if let Some(d) = NaiveDate::from_ymd_opt(year, month, day) {
            out.push((d, name));
        }
    }
    if let Some(easter) = easter_sunday(year) {
        let movable: [(i64, &str); 4] = [
            (-2, "Karfreitag"),
            (1, "Ostermontag"),
            (39, "Christi Himmelfahrt"),
            (50, "Pfingstmontag"),
        ];
        for (offset, name) in movable {
            if let Some(d) = easter.checked_add_signed(chrono::Duration::days(offset)) {
                out.push((d, name));
            }
        }
    }
    out.sort();
    out
}

/// The German (Europe/Berlin) calendar year of a UTC instant: the year of the instant plus one
/// hour. Exact: Germany is UTC+1 in winter and UTC+2 in summer, and a year ends in winter, so
/// the hour that decides the year is always the +1 hour. A notice signed at 23:30 UTC on
/// 31 December is dated 1 January in Erfurt and counts for the new year.
pub fn german_year(utc: NaiveDateTime) -> i32 {
    (utc + TimeDelta::hours(1)).year()
}

/// The last Sunday of `month` in `year`.
fn last_sunday(year: i32, month: u32) -> Option<NaiveDate> {
    let next_first = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)?
    };
    let last = next_first.pred_opt()?;
    let back = last.weekday().num_days_from_sunday();
    last.checked_sub_days(Days::new(u64::from(back)))
}

/// The UTC instant at which day `d` begins in Germany (00:00 Europe/Berlin): summer time
/// (UTC+2) runs from the last Sunday of March, 01:00 UTC, to the last Sunday of October,
/// 01:00 UTC (EU rule since 1996); midnight of those two Sundays still has the old offset.
pub fn german_day_start_utc(d: NaiveDate) -> NaiveDateTime {
    let summer = match (last_sunday(d.year(), 3), last_sunday(d.year(), 10)) {
        (Some(start), Some(end)) => d > start && d <= end,
        _ => false,
    };
    let offset = if summer { 2 } else { 1 };
    d.and_time(chrono::NaiveTime::MIN) - TimeDelta::hours(offset)
}

/// The German calendar day of a UTC instant.
pub fn german_date(utc: NaiveDateTime) -> NaiveDate {
    let candidate = (utc + TimeDelta::hours(2)).date();
    if utc >= german_day_start_utc(candidate) {
        candidate
    } else {
        candidate.pred_opt().unwrap_or(candidate)
    }
}

/// The UTC instant at which the German calendar year `year` begins.
pub fn german_year_start_utc(year: i32) -> Option<NaiveDateTime> {
    NaiveDate::from_ymd_opt(year, 1, 1).map(german_day_start_utc)
}

pub fn is_public_holiday(d: NaiveDate) -> bool {
    thuringian_holidays(d.year()).iter().any(|(h, _)| *h == d)
}

pub fn is_working_day(d: NaiveDate) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !is_public_holiday(d)
}

/// `d`, or the next working day if `d` is a Saturday, Sunday or public holiday.
pub fn next_working_day(mut d: NaiveDate) -> NaiveDate {
    while !is_working_day(d) {
        match d.succ_opt() {
            Some(n) => d = n,
            None => return d,
        }
    }
    d
}

/// The years a business date may lie in: a posting day, a project or grant period, a
/// deadline, an interest start. Nothing of this programme lies before 2000 or after 2100; a
/// date outside them is a typing error, and refusing it keeps every computation on it (a
/// deadline, interest, a PDF) in range.
pub const BUSINESS_YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// Why `d` is no business date (`BUSINESS_YEARS`), or `None`.
pub fn business_date_problem(d: NaiveDate) -> Option<String> {
    (!BUSINESS_YEARS.contains(&d.year())).then(|| {
        format!(
            "must lie between {}-01-01 and {}-12-31",
            BUSINESS_YEARS.start(),
            BUSINESS_YEARS.end()
        )
    })
}

/// The years an instant given to the API may lie in (a list's `updated_since`, the audit
/// log's `since`): from the Unix epoch, which clients send for "from the beginning", to the
/// end of the business years.
pub const INSTANT_YEARS: std::ops::RangeInclusive<i32> = 1970..=2100;

/// Why `t` is no instant the API accepts (`INSTANT_YEARS`, in UTC), or `None`.
pub fn instant_problem(t: DateTime<Utc>) -> Option<String> {
    (!INSTANT_YEARS.contains(&t.year())).then(|| {
        format!(
            "must lie between {}-01-01T00:00:00Z and {}-12-31T23:59:59Z",
            INSTANT_YEARS.start(),
            INSTANT_YEARS.end()
        )
    })
}

/// A date as the API writes it, and nothing else: `YYYY-MM-DD` (RFC 3339 `full-date`: a
/// four-digit year, a two-digit month and day) naming a day of the calendar. chrono's own
/// parser also takes `2027-1-1`, `+12345-01-01` and `-5000-01-01`; the last is a day before
/// PostgreSQL's earliest (4714 BC). Whether the day is in range is the caller's rule
/// (`business_date_problem`).
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    let b = s.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shaped {
        return Err(format!(
            "{s:?} is not a date YYYY-MM-DD (four-digit year, two-digit month and day)"
        ));
    }
    // Only ASCII digits at these positions: the slices and the numbers cannot fail.
    let number =
        |r: std::ops::Range<usize>| b[r].iter().fold(0u32, |n, c| n * 10 + u32::from(c - b'0'));
    NaiveDate::from_ymd_opt(number(0..4) as i32, number(5..7), number(8..10))
        .ok_or_else(|| format!("{s:?} is not a day of the calendar"))
}

/// An instant as RFC 3339 `date-time` (§ 5.6), strictly: a `full-date` as in `parse_date`,
/// `T`, a two-digit time with optional fraction, and `Z` or a numeric offset. Whether it is in
/// range is `instant_problem`'s rule.
pub fn parse_instant(s: &str) -> Result<DateTime<Utc>, String> {
    let bad = || format!("{s:?} is not an RFC 3339 timestamp like 2026-11-22T10:15:00Z");
    let (date, rest) = match (s.get(..10), s.get(10..)) {
        (Some(d), Some(r)) => (d, r),
        _ => return Err(bad()),
    };
    parse_date(date).map_err(|_| bad())?;
    if !(rest.starts_with('T') || rest.starts_with('t')) {
        return Err(bad());
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| bad())
}

/// The day a posted notice is deemed delivered: `days` days after posting (§ 41 (2) VwVfG;
/// the number of days is dated configuration, see `DeliveryRule`). The deemed day itself is
/// not moved to a working day: § 31 (3) VwVfG concerns the end of periods.
pub fn deemed_delivery(posted_on: NaiveDate, days: u32) -> Option<NaiveDate> {
    posted_on.checked_add_days(Days::new(u64::from(days)))
}

/// How many days after posting a notice is deemed delivered, from a date on (§ 41 (2)
/// VwVfG: three days, four days since 1 January 2025; the Länder follow with their own
/// dates). The rules are dated data (`delivery_rules`); `SHIPPED_DELIVERY_RULES` are those
/// of the law as this release knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryRule {
    pub valid_from: NaiveDate,
    pub days: u32,
}

/// A rule of deemed delivery as the law gives it, with its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShippedDeliveryRule {
    pub valid_from: NaiveDate,
    pub days: u32,
    /// The provision, as the rule's `source` in `delivery_rules` names it.
    pub source: &'static str,
}

const fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(d) => d,
        None => panic!("a valid date"),
    }
}

/// The rules of deemed delivery by post in Thuringia (docs/law/issue-15-sources.md, item 1
/// and 2). Until 31 December 2024 the third day after posting (§ 41 (2) sentence 1 VwVfG in
/// its earlier wording; the ThürVwVfG had the same rule). From 1 January 2025 the fourth
/// day: Art. 2 no. 2 of the Postrechtsmodernisierungsgesetz of 15 July 2024 (BGBl. 2024 I
/// no. 236) replaced "am dritten Tage" with "am vierten Tag" in § 41 (2) sentences 1 and 2
/// VwVfG, in force 1 January 2025; Thuringia applies the federal VwVfG through § 1 ThürVwVfG
/// as amended by the Thüringer Gesetz zur Änderung verwaltungsrechtlicher Vorschriften of
/// 2 July 2024 (GVBl. 2024 p. 277), in force the same day. Calendar days: the deemed day is
/// not moved off a weekend or holiday (`deemed_delivery`). The rule of a notice follows its
/// posting day; the act has no transitional provision for the VwVfG (not found: the notes).
pub const SHIPPED_DELIVERY_RULES: [ShippedDeliveryRule; 2] = [
    ShippedDeliveryRule {
        valid_from: ymd(1900, 1, 1),
        days: 3,
        source: "§ 41 Abs. 2 Satz 1 VwVfG / ThürVwVfG in der bis 31.12.2024 geltenden Fassung: \
                 am dritten Tag nach der Aufgabe zur Post",
    },
    ShippedDeliveryRule {
        valid_from: ymd(2025, 1, 1),
        days: 4,
        source: "§ 41 Abs. 2 Satz 1 VwVfG in der Fassung von Art. 2 Nr. 2 des \
                 Postrechtsmodernisierungsgesetzes vom 15.07.2024 (BGBl. 2024 I Nr. 236), in \
                 Kraft seit 01.01.2025, in Thüringen über § 1 ThürVwVfG in der Fassung des \
                 Gesetzes vom 02.07.2024 (GVBl. S. 277): am vierten Tag nach der Aufgabe zur Post",
    },
];

/// The shipped rules as `delivery_days` takes them.
pub fn shipped_delivery_rules() -> Vec<DeliveryRule> {
    SHIPPED_DELIVERY_RULES
        .iter()
        .map(|r| DeliveryRule {
            valid_from: r.valid_from,
            days: r.days,
        })
        .collect()
}

/// The rule in force on `posted_on`: the latest one whose `valid_from` is not after it.
pub fn delivery_days(rules: &[DeliveryRule], posted_on: NaiveDate) -> Option<u32> {
    rules
        .iter()
        .filter(|r| r.valid_from <= posted_on)
        .max_by_key(|r| r.valid_from)
        .map(|r| r.days)
}

/// The end of a period of `months` months that begins with an event on `event_day`
/// (§ 187 (1), § 188 (2), (3) BGB): the day of the last month with the event's day number, or
/// that month's last day if it has no such day; then moved to the next working day.
pub fn period_end(event_day: NaiveDate, months: u32) -> Option<NaiveDate> {
    // chrono clamps to the month's last day (31 Jan + 1 month = 28/29 Feb), as § 188 (3) BGB.
    let end = event_day.checked_add_months(Months::new(months))?;
    Some(next_working_day(end))
}

/// The appeal period and the day the notice becomes final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finality {
    pub delivered_on: NaiveDate,
    /// The last day an objection (Widerspruch) or action may be filed.
    pub appeal_deadline: NaiveDate,
    /// The day after the appeal deadline: the notice is bestandskräftig unless contested.
    pub final_on: NaiveDate,
}

/// Delivery, appeal deadline and finality of a notice posted on `posted_on`. With correct
/// legal-remedy instructions the appeal period is one month, without them one year.
pub fn finality(
    posted_on: NaiveDate,
    delivery_days: u32,
    with_remedy_instructions: bool,
) -> Option<Finality> {
    let delivered_on = deemed_delivery(posted_on, delivery_days)?;
    let months = if with_remedy_instructions { 1 } else { 12 };
    let appeal_deadline = period_end(delivered_on, months)?;
    Some(Finality {
        delivered_on,
        appeal_deadline,
        final_on: appeal_deadline.succ_opt()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_date_is_yyyy_mm_dd_and_nothing_looser() {
        assert_eq!(parse_date("2027-01-01"), Ok(d("2027-01-01")));
        assert_eq!(parse_date("0000-01-01").map(|x| x.year()), Ok(0));
        for bad in [
            "2027-1-1",
            "2027-01-1",
            "27-01-01",
            "+2027-01-01",
            "-5000-01-01",
            "+12345-01-01",
            "2027-02-30",
            "2027-13-01",
            "2027/01/01",
            "2027-01-01T00:00:00Z",
            " 2027-01-01",
            "２０２７-01-01",
            "",
        ] {
            assert!(parse_date(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_instant_is_rfc_3339_with_a_four_digit_year() {
        let t = parse_instant("2026-11-22T10:15:00+01:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-22T09:15:00+00:00");
        assert!(parse_instant("2026-11-22T10:15:00.123Z").is_ok());
        for bad in [
            "2026-11-22 10:15:00Z",
            "2026-11-22",
            "2026-1-22T10:15:00Z",
            "-5000-01-01T00:00:00Z",
            "+12026-11-22T10:15:00Z",
            "2026-11-22T10:15Z",
            "2026-11-22T10:15:00",
            "2026-11-22T1:15:00Z",
            "2026-11-22Tü",
        ] {
            assert!(parse_instant(bad).is_err(), "{bad:?}");
        }
        assert!(instant_problem(parse_instant("1970-01-01T00:00:00Z").unwrap()).is_none());
        assert!(instant_problem(parse_instant("1969-12-31T23:59:59Z").unwrap()).is_some());
        assert!(instant_problem(parse_instant("2101-01-01T00:00:00Z").unwrap()).is_some());
    }

    #[test]
    fn notices_posted_since_2025_are_delivered_on_the_fourth_day() {
        let rules = shipped_delivery_rules();
        // Posted on Monday 2 February 2026: delivered on Friday 6 February; the month for
        // an appeal ends on Friday 6 March 2026 (§ 188 (2) BGB), a working day.
        let days = delivery_days(&rules, d("2026-02-02")).unwrap();
        assert_eq!(days, 4);
        let f = finality(d("2026-02-02"), days, true).unwrap();
        assert_eq!(f.delivered_on, d("2026-02-06"));
        assert_eq!(f.appeal_deadline, d("2026-03-06"));
        assert_eq!(f.final_on, d("2026-03-07"));
        // Posted on Monday 2 December 2024: still the third day (Thursday 5 December).
        let days = delivery_days(&rules, d("2024-12-02")).unwrap();
        assert_eq!(days, 3);
        assert_eq!(
            finality(d("2024-12-02"), days, true).unwrap().delivered_on,
            d("2024-12-05")
        );
        // The posting day decides: 31 December 2024 keeps three days, into 2025.
        assert_eq!(delivery_days(&rules, d("2024-12-31")), Some(3));
        assert_eq!(delivery_days(&rules, d("2025-01-01")), Some(4));
    }

    #[test]
    fn easter_is_computed_for_any_year() {
        for (year, easter) in [
            (2019, "2019-04-21"),
            (2024, "2024-03-31"),
            (2025, "2025-04-20"),
            (2026, "2026-04-05"),
            (2027, "2027-03-28"),
            (2038, "2038-04-25"),
            (2285, "2285-03-22"),
        ] {
            assert_eq!(easter_sunday(year), Some(d(easter)), "{year}");
        }
    }

    #[test]
    fn thuringia_has_eleven_statewide_holidays_since_2019() {
        let h = thuringian_holidays(2026);
        assert_eq!(h.len(), 11);
        assert!(h.contains(&(d("2026-09-20"), "Weltkindertag")));
        assert!(h.contains(&(d("2026-10-31"), "Reformationstag")));
        assert!(h.contains(&(d("2026-04-03"), "Karfreitag")));
        assert!(h.contains(&(d("2026-05-14"), "Christi Himmelfahrt")));
        assert!(h.contains(&(d("2026-05-25"), "Pfingstmontag")));
        assert_eq!(thuringian_holidays(2018).len(), 10);
    }

    #[test]
    fn a_period_ending_on_a_weekend_or_holiday_ends_on_the_next_working_day() {
        // delivered Thu 2026-08-20 → one month → Sun 2026-09-20 (also Weltkindertag) → Mon 21
        assert_eq!(period_end(d("2026-08-20"), 1), Some(d("2026-09-21")));
        // delivered 2026-09-30 → 2026-10-30 is a Friday: stays
        assert_eq!(period_end(d("2026-09-30"), 1), Some(d("2026-10-30")));
        // delivered 2027-09-30 → Sat 2027-10-30 → Sun 31 (Reformationstag) → Mon 2027-11-01
        assert_eq!(period_end(d("2027-09-30"), 1), Some(d("2027-11-01")));
        // 31 January + 1 month: the last day of February (§ 188 (3) BGB), Sat 2026-02-28 → Mon
        assert_eq!(period_end(d("2026-01-31"), 1), Some(d("2026-03-02")));
        // Christmas: delivered 2026-11-25 → Fri 2026-12-25 → Sat, Sun → Mon 2026-12-28
        assert_eq!(period_end(d("2026-11-25"), 1), Some(d("2026-12-28")));
    }

    #[test]
    fn a_notice_posted_on_a_monday_is_final_after_a_month_from_the_third_day() {
        let f = finality(d("2027-02-01"), 3, true).unwrap();
        assert_eq!(f.delivered_on, d("2027-02-04"));
        assert_eq!(f.appeal_deadline, d("2027-03-04"));
        assert_eq!(f.final_on, d("2027-03-05"));
        let f = finality(d("2027-02-01"), 4, false).unwrap();
        assert_eq!(f.delivered_on, d("2027-02-05"));
        // one year: Sat 2028-02-05 → Mon 2028-02-07
        assert_eq!(f.appeal_deadline, d("2028-02-07"));
    }

    #[test]
    fn the_delivery_rule_in_force_on_the_posting_day_applies() {
        let rules = [
            DeliveryRule {
                valid_from: d("1900-01-01"),
                days: 3,
            },
            DeliveryRule {
                valid_from: d("2025-01-01"),
                days: 4,
            },
        ];
        assert_eq!(delivery_days(&rules, d("2024-12-31")), Some(3));
        assert_eq!(delivery_days(&rules, d("2025-01-01")), Some(4));
        assert_eq!(delivery_days(&rules[1..], d("2024-12-31")), None);
    }

    proptest! {
        #[test]
        fn a_period_end_is_a_working_day_at_most_four_days_after_the_plain_date(
            days in 0i64..40_000, months in 1u32..=12
        ) {
            let start = d("2000-01-01") + chrono::Duration::days(days);
            let end = period_end(start, months).unwrap();
            let plain = start.checked_add_months(Months::new(months)).unwrap();
            prop_assert!(is_working_day(end));
            prop_assert!(end >= plain && (end - plain).num_days() <= 4);
        }
    }

    #[test]
    fn the_german_year_of_an_instant_follows_berlin_time() {
        let at = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
        assert_eq!(german_year(at("2019-12-31 22:59:59")), 2019);
        assert_eq!(german_year(at("2019-12-31 23:00:00")), 2020);
        assert_eq!(german_year(at("2020-07-01 12:00:00")), 2020);
        assert_eq!(german_year_start_utc(2020), Some(at("2019-12-31 23:00:00")));
    }

    #[test]
    fn a_german_day_starts_at_22_or_23_utc_depending_on_summer_time() {
        let at = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
        // 2026: summer time from Sunday 29 March to Sunday 25 October
        for (day, start) in [
            ("2026-03-29", "2026-03-28 23:00:00"),
            ("2026-03-30", "2026-03-29 22:00:00"),
            ("2026-10-25", "2026-10-24 22:00:00"),
            ("2026-10-26", "2026-10-25 23:00:00"),
            ("2020-01-01", "2019-12-31 23:00:00"),
        ] {
            assert_eq!(german_day_start_utc(d(day)), at(start), "{day}");
        }
        assert_eq!(german_date(at("2026-07-01 21:59:59")), d("2026-07-01"));
        assert_eq!(german_date(at("2026-07-01 22:00:00")), d("2026-07-02"));
        assert_eq!(german_date(at("2026-12-01 22:59:59")), d("2026-12-01"));
        assert_eq!(german_date(at("2026-12-01 23:00:00")), d("2026-12-02"));
    }
}
