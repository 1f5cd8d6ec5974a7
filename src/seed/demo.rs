//! The demo history: 2019 and 2020 as the programme's reports have them, then ordinary years
//! up to the end of the history.
//!
//! - 2019: 16 grant notices adding up to exactly 310,620.00 €; 37 applications still open
//!   at the end of the year, requesting between 9.15 and 9.25 million €.
//! - 2020: 163 grant notices adding up to between 7.805 and 7.815 million €.
//! - The grants of 2019 and 2020 stay as granted: no amendment, no revocation, and proofs
//!   of use that show at least the approved costs, so the final grant is the grant.
//! - One revocation with a reclaim, on a case granted in 2021.

use chrono::NaiveDate;

use super::plan::{
    Fate, Kind, Spec, World, date, draw_muni, draw_partners, draw_request, generic_spec,
};
use super::rng::Rng;
use super::worktime::W;

/// The grants of 2019, in cents.
pub(crate) const GRANTS_2019_CENTS: i64 = 31_062_000;
pub(crate) const GRANTS_2019: usize = 16;
pub(crate) const OPEN_END_2019: usize = 37;
/// Requested by the applications open at the end of 2019: between these, in cents.
pub(crate) const OPEN_END_2019_CENTS: (i64, i64) = (915_000_000, 925_000_000);
pub(crate) const GRANTS_2020: usize = 163;
/// The grants of 2020: between these, in cents.
pub(crate) const GRANTS_2020_CENTS: (i64, i64) = (780_500_000, 781_500_000);

/// Cases opened per year after 2020.
const GENERIC_YEARS: [(i32, usize); 6] = [
    (2021, 185),
    (2022, 240),
    (2023, 225),
    (2024, 215),
    (2025, 250),
    (2026, 205),
];

const EGOV_OBJECTS: [&str; 6] = ["a", "b", "c", "d", "e", "f"];

/// Amounts (whole euros, in cents) adding up to exactly `total`, shaped like `tiers` of
/// `(weight, low €, high €)`.
fn split_exact(rng: &mut Rng, total: i64, n: usize, tiers: &[(u32, i64, i64)]) -> Vec<i64> {
    let weights: Vec<u32> = tiers.iter().map(|t| t.0).collect();
    let raw: Vec<i64> = (0..n)
        .map(|_| {
            let (_, lo, hi) = tiers[rng.weighted(&weights)];
            rng.range(lo, hi)
        })
        .collect();
    let sum: i128 = raw.iter().map(|r| i128::from(*r)).sum::<i128>().max(1);
    let mut parts: Vec<i64> = raw
        .iter()
        .map(|r| i64::try_from(i128::from(total) * i128::from(*r) / sum / 100 * 100).unwrap_or(0))
        .collect();
    let mut rest = total - parts.iter().sum::<i64>();
    while rest >= 100 {
        let i = rng.below(n as u64) as usize;
        parts[i] += 100;
        rest -= 100;
    }
    parts
}

/// Whole euros of `cents * 100 / percent`, rounded up: a request that a cut to `percent` %
/// turns into the grant `cents`.
fn before_cut(cents: i64, percent: i64) -> i64 {
    (cents * 100 / percent + 99) / 100 * 100
}

struct Cohort<'a> {
    world: &'a World,
    rng: Rng,
    out: Vec<Spec>,
}

impl Cohort<'_> {
    fn between(&mut self, from: NaiveDate, to: NaiveDate) -> W {
        let wt = &self.world.wt;
        self.rng.range(wt.start_of(from), wt.end_of(to))
    }

    fn window(&self, from: NaiveDate, to: NaiveDate) -> Option<(W, W)> {
        let wt = &self.world.wt;
        Some((wt.start_of(from), wt.end_of(to)))
    }

    fn egov(&mut self, cents: i64) -> Kind {
        let object = if cents > 10_000_000 {
            self.rng.pick(&["a", "b"])
        } else {
            self.rng.pick(&EGOV_OBJECTS)
        };
        Kind::Egov(object)
    }

    /// Leads for amounts: the bigger the amount, the bigger the municipality.
    fn leads_for(&mut self, amounts: &[i64]) -> Vec<usize> {
        let mut leads: Vec<usize> = (0..amounts.len())
            .map(|_| draw_muni(self.world, &mut self.rng))
            .collect();
        leads.sort_by_key(|l| std::cmp::Reverse(self.world.munis[*l].population));
        let mut order: Vec<usize> = (0..amounts.len()).collect();
        order.sort_by_key(|i| std::cmp::Reverse(amounts[*i]));
        let mut out = vec![0; amounts.len()];
        for (rank, i) in order.into_iter().enumerate() {
            out[i] = leads[rank];
        }
        out
    }

    fn partners(&mut self, kind: Kind, lead: usize) -> Vec<usize> {
        let n = match kind {
            Kind::Koop => 2 + self.rng.weighted(&[50, 35, 15]),
            _ => return Vec::new(),
        };
        draw_partners(self.world, &mut self.rng, lead, n)
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        created: W,
        kind: Kind,
        lead: usize,
        requested: i64,
        grant: i64,
        fate: Fate,
        window: Option<(W, W)>,
        hard: bool,
    ) {
        let partners = self.partners(kind, lead);
        self.out.push(Spec {
            window,
            full_final: hard,
            changes: !hard,
            ..Spec::new(created, kind, lead, partners, requested, grant, fate)
        });
    }

    /// A case of ordinary size that is not granted (or not under a fixed figure).
    fn ordinary(&mut self, created: W, fate: Fate, window: Option<(W, W)>) {
        let kind = match self.rng.weighted(&[86, 6, 8]) {
            0 => Kind::Egov(self.rng.pick(&EGOV_OBJECTS)),
            1 => Kind::Koop,
            _ => Kind::Studie,
        };
        let lead = draw_muni(self.world, &mut self.rng);
        let cents = draw_request(&mut self.rng, kind, self.world.munis[lead].population) * 100;
        self.push(created, kind, lead, cents, cents, fate, window, false);
    }
}

/// The applications of the 2019 cohort still open at the end of 2019, per case: kind, lead,
/// request, grant if granted, and how and in which year it ends.
struct Open2019 {
    kinds: Vec<Kind>,
    leads: Vec<usize>,
    requested: Vec<i64>,
    grants: Vec<i64>,
    fates: Vec<(Fate, i32)>,
    /// What all grant notices of 2020 add up to.
    grants_2020_total: i64,
}

impl Open2019 {
    /// The cases of the cohort granted in 2020.
    fn granted_2020(&self) -> Vec<usize> {
        (0..OPEN_END_2019)
            .filter(|i| self.fates[*i] == (Fate::Granted, 2020))
            .collect()
    }
}

/// Moves the largest 2020 grants of the 2019 cohort to 2021 until the cases opened in 2020
/// have enough of the 2020 total left: an average grant of at least 14,000 €.
fn leave_room_for_2020(open: &mut Open2019) -> Result<(), String> {
    loop {
        let granted_2020 = open.granted_2020();
        let sum: i64 = granted_2020.iter().map(|i| open.grants[*i]).sum();
        let left = open.grants_2020_total - sum;
        let n_new = GRANTS_2020 - granted_2020.len();
        if left >= i64::try_from(n_new).unwrap_or(0) * 1_400_000 {
            return Ok(());
        }
        let largest = granted_2020
            .iter()
            .copied()
            .max_by_key(|i| open.grants[*i])
            .ok_or("no grant of 2020 left to move")?;
        open.fates[largest] = (Fate::Granted, 2021);
    }
}

impl Cohort<'_> {
    /// The kind of a granted case of `cents`: sometimes a study when small, with `koop` a
    /// cooperation now and then when middle-sized, else an e-government project.
    fn grant_kind(&mut self, cents: i64, koop: bool) -> Kind {
        if cents <= 2_500_000 && self.rng.chance(12) {
            Kind::Studie
        } else if koop && (8_000_000..=50_000_000).contains(&cents) && self.rng.chance(25) {
            Kind::Koop
        } else {
            self.egov(cents)
        }
    }

    /// What a case granted `cents` requested: in `percent` % of the cases more, cut to
    /// 80–95 % (within the kind's usual maximum request).
    fn request_for_grant(&mut self, cents: i64, kind: Kind, percent: u64) -> i64 {
        if !self.rng.chance(percent) {
            return cents;
        }
        let r = before_cut(cents, self.rng.range(80, 95));
        match kind {
            Kind::Studie => r.min(3_000_000),
            Kind::Koop => r.min(50_000_000),
            Kind::Egov(_) => r,
        }
    }

    /// 2019: the grants, adding up to exactly `GRANTS_2019_CENTS`.
    fn grants_2019(&mut self) {
        let grants = split_exact(
            &mut self.rng,
            GRANTS_2019_CENTS,
            GRANTS_2019,
            &[(60, 5_000, 20_000), (40, 20_000, 45_000)],
        );
        let leads = self.leads_for(&grants);
        let window = self.window(date(2019, 3, 1), date(2019, 12, 13));
        for (g, lead) in grants.into_iter().zip(leads) {
            let kind = self.grant_kind(g, false);
            let requested = self.request_for_grant(g, kind, 15);
            let created = self.between(date(2019, 1, 14), date(2019, 7, 31));
            let fate = Fate::Granted;
            self.push(created, kind, lead, requested, g, fate, window, true);
        }
    }

    /// 2019: rejected and withdrawn within the year.
    fn decided_2019(&mut self) {
        let window = self.window(date(2019, 4, 1), date(2019, 12, 13));
        for fate in [Fate::Rejected; 3].into_iter().chain([Fate::Withdrawn; 2]) {
            let created = self.between(date(2019, 2, 1), date(2019, 8, 30));
            self.ordinary(created, fate, window);
        }
    }

    /// 2019: the cases open at the end of the year, decided in 2020 or 2021.
    fn open_end_2019(&mut self) -> Result<Open2019, String> {
        let (kinds, requested) = self.open_2019_requests();
        let leads = self.leads_for(&requested);
        let fates = self.open_2019_fates();
        let grants: Vec<i64> = requested
            .iter()
            .map(|r| {
                if self.rng.chance(20) {
                    r * self.rng.range(75, 92) / 100 / 100 * 100
                } else {
                    *r
                }
            })
            .collect();
        let grants_2020_total = GRANTS_2020_CENTS.0 + self.rng.range(1_000, 9_000) * 100;
        let mut open = Open2019 {
            kinds,
            leads,
            requested,
            grants,
            fates,
            grants_2020_total,
        };
        leave_room_for_2020(&mut open)?;
        self.push_open_2019(&open);
        Ok(open)
    }

    /// The kinds and requests of the cases open at the end of 2019: three cooperations, two
    /// studies, the rest e-government projects, adding up to within `OPEN_END_2019_CENTS`.
    fn open_2019_requests(&mut self) -> (Vec<Kind>, Vec<i64>) {
        let open_total = OPEN_END_2019_CENTS.0 + self.rng.range(20_000, 80_000) * 100;
        let mut kinds: Vec<Kind> = vec![Kind::Koop; 3];
        kinds.extend([Kind::Studie; 2]);
        let mut requested: Vec<i64> = kinds
            .iter()
            .map(|k| match k {
                Kind::Koop => self.rng.range(250_000, 500_000) * 100,
                _ => self.rng.range(12_000, 30_000) * 100,
            })
            .collect();
        let egov = split_exact(
            &mut self.rng,
            open_total - requested.iter().sum::<i64>(),
            OPEN_END_2019 - kinds.len(),
            &[
                (40, 20_000, 120_000),
                (35, 120_000, 350_000),
                (25, 350_000, 900_000),
            ],
        );
        for r in &egov {
            let k = self.egov(*r);
            kinds.push(k);
        }
        requested.extend(egov);
        (kinds, requested)
    }

    /// Fates of the cases open at the end of 2019: 4 rejected and 4 withdrawn in 2020, 5
    /// granted in 2021, the rest granted in 2020.
    fn open_2019_fates(&mut self) -> Vec<(Fate, i32)> {
        let mut order: Vec<usize> = (0..OPEN_END_2019).collect();
        self.rng.shuffle(&mut order);
        let mut fates = vec![(Fate::Granted, 2020); OPEN_END_2019];
        for (k, i) in order.iter().enumerate() {
            fates[*i] = match k {
                0..=3 => (Fate::Rejected, 2020),
                4..=7 => (Fate::Withdrawn, 2020),
                8..=12 => (Fate::Granted, 2021),
                _ => (Fate::Granted, 2020),
            };
        }
        fates
    }

    /// The specifications of the cases open at the end of 2019, all submitted by 20 December.
    fn push_open_2019(&mut self, open: &Open2019) {
        let submit_by = self.world.wt.end_of(date(2019, 12, 20));
        for i in 0..OPEN_END_2019 {
            let (fate, year) = open.fates[i];
            let window = match (fate, year) {
                (Fate::Granted, 2021) => self.window(date(2021, 1, 11), date(2021, 6, 30)),
                (Fate::Granted, _) => self.window(date(2020, 1, 13), date(2020, 7, 31)),
                _ => self.window(date(2020, 1, 13), date(2020, 9, 30)),
            };
            let created = self.between(date(2019, 9, 2), date(2019, 12, 6));
            let hard = fate == Fate::Granted && year == 2020;
            let grant = if fate == Fate::Granted {
                open.grants[i]
            } else {
                open.requested[i]
            };
            let (kind, lead, requested) = (open.kinds[i], open.leads[i], open.requested[i]);
            self.push(created, kind, lead, requested, grant, fate, window, hard);
            if let Some(s) = self.out.last_mut() {
                s.submit_by = Some(submit_by);
            }
        }
    }

    /// 2020: the grants of cases opened in 2020 (two of them opened as drafts in December
    /// 2019), adding up with the 2019 cohort's 2020 grants to the year's total.
    fn grants_2020(&mut self, open: &Open2019) {
        let granted_2020 = open.granted_2020();
        let cohort_2020: i64 = granted_2020.iter().map(|i| open.grants[*i]).sum();
        let grants = split_exact(
            &mut self.rng,
            open.grants_2020_total - cohort_2020,
            GRANTS_2020 - granted_2020.len(),
            &[
                (50, 3_000, 15_000),
                (35, 15_000, 60_000),
                (15, 60_000, 250_000),
            ],
        );
        let leads = self.leads_for(&grants);
        let window = self.window(date(2020, 2, 3), date(2020, 12, 18));
        let first_working_day_2020 = self.world.wt.start_of(date(2020, 1, 6));
        for (k, (g, lead)) in grants.into_iter().zip(leads).enumerate() {
            let kind = self.grant_kind(g, true);
            let requested = self.request_for_grant(g, kind, 12);
            let created = if k < 2 {
                self.between(date(2019, 12, 2), date(2019, 12, 13))
            } else {
                self.between(date(2020, 1, 6), date(2020, 9, 30))
            };
            let fate = Fate::Granted;
            self.push(created, kind, lead, requested, g, fate, window, true);
            if k < 2
                && let Some(s) = self.out.last_mut()
            {
                s.submit_after = Some(first_working_day_2020);
            }
        }
    }

    /// 2020: rejected and withdrawn within the year; withdrawn drafts.
    fn decided_2020(&mut self) {
        let window = self.window(date(2020, 2, 3), date(2020, 12, 18));
        for fate in [Fate::Rejected; 7].into_iter().chain([Fate::Withdrawn; 5]) {
            let created = self.between(date(2020, 1, 6), date(2020, 10, 30));
            self.ordinary(created, fate, window);
        }
        for _ in 0..2 {
            let created = self.between(date(2020, 3, 2), date(2020, 11, 30));
            self.ordinary(created, Fate::DraftWithdrawn, None);
        }
    }

    /// Opened late in 2020, decided in 2021.
    fn opened_late_2020(&mut self) {
        let window = self.window(date(2021, 1, 11), date(2021, 6, 30));
        for k in 0..25 {
            let fate = match k {
                0..=2 => Fate::Rejected,
                3..=4 => Fate::Withdrawn,
                _ => Fate::Granted,
            };
            let created = self.between(date(2020, 9, 14), date(2020, 12, 11));
            self.ordinary(created, fate, window);
        }
    }

    /// The one revocation: granted in 2021, two tranches paid, then the grant is partly
    /// revoked and what was paid above the rest is reclaimed.
    fn revocation(&mut self) {
        let lead = draw_muni(self.world, &mut self.rng);
        let cents = self.rng.range(60_000, 160_000) * 100;
        let created = self.between(date(2021, 2, 1), date(2021, 3, 31));
        let window = self.window(date(2021, 4, 12), date(2021, 9, 30));
        let kind = Kind::Egov(self.rng.pick(&["a", "b"]));
        let fate = Fate::Granted;
        self.push(created, kind, lead, cents, cents, fate, window, false);
        if let Some(s) = self.out.last_mut() {
            s.revoke = true;
            s.changes = false;
        }
    }

    /// The ordinary years after 2020: `GENERIC_YEARS` cases per year, up to the end of the
    /// history.
    fn ordinary_years(&mut self) {
        let world = self.world;
        let end_date = world.wt.date(world.end);
        for (year, n) in GENERIC_YEARS {
            let from = world.wt.start_of(date(year, 1, 4));
            let to = world.wt.end_of(date(year, 12, 18).min(end_date)) - 3 * super::worktime::DAY;
            let mut created: Vec<W> = (0..n).map(|_| self.rng.range(from, to)).collect();
            created.sort_unstable();
            for w in created {
                let spec = generic_spec(world, &mut self.rng, w, false);
                self.out.push(spec);
            }
        }
    }
}

/// The specifications of the demo history, in no particular order.
pub(crate) fn specs(world: &World, seed: u64) -> Result<Vec<Spec>, String> {
    let mut c = Cohort {
        world,
        rng: Rng::stream(seed, 0xDE30_2019),
        out: Vec::new(),
    };
    c.grants_2019();
    c.decided_2019();
    let open = c.open_end_2019()?;
    c.grants_2020(&open);
    c.decided_2020();
    c.opened_late_2020();
    c.revocation();
    c.ordinary_years();
    Ok(c.out)
}
