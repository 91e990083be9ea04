//! One worker's intervals in the form the engine and a day's job figures read them: each
//! platform and currency named once (a worker has a few), times in milliseconds, the kind
//! as [`Kind`], and beside each piece what its job adds to a day. Filled row by row without
//! an allocation per row, so the full recompute decodes its `COPY` stream straight into it.

use rust_decimal::Decimal;

use crate::engine::{Kind, Ms, Piece};
use crate::job_column;
use crate::recompute::EarningsSum;
use crate::store::StoredInterval;

/// What an engagement adds to the day it started on (sessions add nothing).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Job {
    pub distance_km: Decimal,
    /// An index into [`WorkerIntervals::currencies`]; `None` for a job without earnings.
    pub currency: Option<usize>,
    pub earnings: EarningsSum,
}

impl Job {
    /// From a stored interval's optional columns (a missing figure counts as zero).
    pub fn new(
        distance_km: Option<Decimal>,
        currency: Option<usize>,
        [pay, tips, bonus, fees]: [Option<Decimal>; 4],
    ) -> Self {
        let earnings = EarningsSum {
            pay: pay.unwrap_or_default(),
            tips: tips.unwrap_or_default(),
            bonus: bonus.unwrap_or_default(),
            fees: fees.unwrap_or_default(),
        };
        Self { distance_km: distance_km.unwrap_or_default(), currency, earnings }
    }
}

/// A worker's intervals; once [`WorkerIntervals::sorted`], platforms and currencies are in
/// name order and pieces in start order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkerIntervals {
    pub platforms: Vec<String>,
    pub currencies: Vec<String>,
    pub pieces: Vec<Piece>,
    /// `jobs[i]` belongs to `pieces[i]`.
    pub jobs: Vec<Job>,
}

/// The kind an interval's stored text names.
pub fn kind(text: &str) -> Kind {
    if text == "session" { Kind::Session } else { Kind::Engagement }
}

/// The index of `name` in `names`, added at the end if new.
fn index_of(names: &mut Vec<String>, name: &str) -> usize {
    match names.iter().position(|n| n == name) {
        Some(i) => i,
        None => {
            names.push(name.to_owned());
            names.len() - 1
        }
    }
}

/// Sorts `names` and returns, for each old index, the new one; `None` if they were in
/// order already.
fn sort_names(names: &mut [String]) -> Option<Vec<usize>> {
    if names.is_sorted() {
        return None;
    }
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_unstable_by(|&a, &b| names[a].cmp(&names[b]));
    let mut new_index = vec![0; names.len()];
    for (new, &old) in order.iter().enumerate() {
        new_index[old] = new;
    }
    names.sort_unstable();
    Some(new_index)
}

impl WorkerIntervals {
    /// The index of a currency code, for [`Job::currency`].
    pub fn currency(&mut self, code: &str) -> usize {
        index_of(&mut self.currencies, code)
    }

    /// The job of a stored `job` column's value ([`job_column`]), its currency named here.
    pub fn stored_job(&mut self, column: Option<&str>) -> anyhow::Result<Job> {
        let Some(text) = column else { return Ok(Job::default()) };
        let figures = job_column::parse(text)?;
        let currency = figures.currency.map(|code| self.currency(code));
        Ok(Job::new(figures.distance_km, currency, figures.earnings))
    }

    pub fn push(&mut self, platform: &str, kind: Kind, (start, end): (Ms, Ms), job: Job) {
        let platform = index_of(&mut self.platforms, platform);
        self.pieces.push(Piece { platform, kind, start, end });
        self.jobs.push(job);
    }

    /// Names in order and pieces by start (the order among equal starts changes no figure).
    pub fn sorted(mut self) -> Self {
        if let Some(platforms) = sort_names(&mut self.platforms) {
            self.pieces.iter_mut().for_each(|p| p.platform = platforms[p.platform]);
        }
        if let Some(currencies) = sort_names(&mut self.currencies) {
            self.jobs.iter_mut().filter_map(|j| j.currency.as_mut()).for_each(|c| *c = currencies[*c]);
        }
        if !self.pieces.is_sorted_by_key(|p| p.start) {
            let mut both: Vec<(Piece, Job)> = self.pieces.into_iter().zip(self.jobs).collect();
            both.sort_by_key(|(p, _)| p.start);
            (self.pieces, self.jobs) = both.into_iter().unzip();
        }
        self
    }
}

impl From<&[StoredInterval]> for WorkerIntervals {
    fn from(rows: &[StoredInterval]) -> Self {
        let mut out = WorkerIntervals::default();
        for r in rows {
            let currency = r.currency.as_deref().map(|c| out.currency(c));
            let job = Job::new(r.distance_km, currency, [r.pay, r.tips, r.bonus, r.fees]);
            out.push(&r.platform, kind(&r.kind), (r.start.timestamp_millis(), r.end.timestamp_millis()), job);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_and_pieces_follow_their_platform_currency_and_job() {
        let mut w = WorkerIntervals::default();
        let eur = w.currency("EUR");
        let job = |km: i64, currency| Job { distance_km: Decimal::from(km), currency, ..Job::default() };
        w.push("rides", Kind::Engagement, (30, 40), job(1, Some(eur)));
        let chf = w.currency("CHF");
        w.push("eats", Kind::Session, (10, 50), job(2, None));
        w.push("eats", Kind::Engagement, (20, 25), job(3, Some(chf)));
        let w = w.sorted();
        assert_eq!(w.platforms, ["eats", "rides"]);
        assert_eq!(w.currencies, ["CHF", "EUR"]);
        let seen: Vec<(usize, Kind, Ms, i64, Option<&str>)> = w
            .pieces
            .iter()
            .zip(&w.jobs)
            .map(|(p, j)| {
                let km = i64::try_from(j.distance_km.mantissa()).unwrap();
                (p.platform, p.kind, p.start, km, j.currency.map(|c| w.currencies[c].as_str()))
            })
            .collect();
        assert_eq!(
            seen,
            [
                (0, Kind::Session, 10, 2, None),
                (0, Kind::Engagement, 20, 3, Some("CHF")),
                (1, Kind::Engagement, 30, 1, Some("EUR"))
            ]
        );
    }
}
