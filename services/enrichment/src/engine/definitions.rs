//! Insured-time definitions as data. What counts as an insured hour differs by product and
//! insurer; each definition is a small spec evaluated by this one function, so the same
//! data and the same definition version always give the same insured time.
//!
//! Evaluation: take the basis (engaged or online time, all platforms counted once), widen
//! each interval by `extend_before_secs`/`extend_after_secs`, join intervals whose gap is at
//! most `merge_gap_secs`, stretch every block shorter than `min_block_secs` to that length
//! from its start, and take the union.

use gigcover_domain::FieldProblem;
use serde::{Deserialize, Serialize};

use super::spans::union;
use super::timeline::Timeline;
use super::{Ms, Span};

/// The longest widening, gap or minimum a definition may use (context is one day).
pub const MAX_SECS: u32 = 12 * 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// Time on a job, on any platform.
    Engaged,
    /// Time logged in and available (or on a job), on any platform.
    Online,
}

/// One version of an insured-time definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DefinitionSpec {
    pub basis: Basis,
    /// Insured time starts this long before each basis interval.
    #[serde(default)]
    pub extend_before_secs: u32,
    /// Insured time continues this long after each basis interval.
    #[serde(default)]
    pub extend_after_secs: u32,
    /// Blocks separated by at most this gap are one block.
    #[serde(default)]
    pub merge_gap_secs: u32,
    /// Every block lasts at least this long from its start.
    #[serde(default)]
    pub min_block_secs: u32,
}

impl DefinitionSpec {
    /// Every problem with the spec, each naming its field.
    pub fn problems(&self) -> Vec<FieldProblem> {
        [
            ("extend_before_secs", self.extend_before_secs),
            ("extend_after_secs", self.extend_after_secs),
            ("merge_gap_secs", self.merge_gap_secs),
            ("min_block_secs", self.min_block_secs),
        ]
        .into_iter()
        .filter(|(_, v)| *v > MAX_SECS)
        .map(|(field, _)| FieldProblem::new(field, format!("must be at most {MAX_SECS} seconds (12 hours)")))
        .collect()
    }

    /// The insured intervals of a timeline.
    pub fn insured(&self, timeline: &Timeline) -> Vec<Span> {
        let basis = match self.basis {
            Basis::Engaged => &timeline.engaged,
            Basis::Online => &timeline.online,
        };
        let ms = |secs: u32| Ms::from(secs) * 1000;
        let (before, after, gap, min) =
            (ms(self.extend_before_secs), ms(self.extend_after_secs), ms(self.merge_gap_secs), ms(self.min_block_secs));
        let widened = union(basis.iter().map(|&(s, e)| (s - before, e + after)).collect());
        let mut blocks: Vec<Span> = Vec::with_capacity(widened.len());
        for (s, e) in widened {
            match blocks.last_mut() {
                Some(last) if s - last.1 <= gap => last.1 = last.1.max(e),
                _ => blocks.push((s, e)),
            }
        }
        union(blocks.into_iter().map(|(s, e)| (s, e.max(s + min))).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::super::spans::total;
    use super::super::{Kind, Piece};
    use super::*;

    const MIN: Ms = 60_000;

    fn engaged(spans: &[(Ms, Ms)]) -> Timeline {
        let pieces: Vec<Piece> = spans
            .iter()
            .map(|&(s, e)| Piece { platform: 0, kind: Kind::Engagement, start: s * MIN, end: e * MIN })
            .collect();
        Timeline::build(&pieces, 1, 0)
    }

    fn spec(basis: Basis, after: u32, gap: u32, min: u32) -> DefinitionSpec {
        DefinitionSpec {
            basis,
            extend_before_secs: 0,
            extend_after_secs: after,
            merge_gap_secs: gap,
            min_block_secs: min,
        }
    }

    #[test]
    fn fifteen_minutes_after_each_job() {
        let t = engaged(&[(0, 20), (30, 40), (100, 110)]);
        // 0-35 and 30-55 join; 100-125.
        assert_eq!(spec(Basis::Engaged, 900, 0, 0).insured(&t), vec![(0, 55 * MIN), (100 * MIN, 125 * MIN)]);
    }

    #[test]
    fn one_hour_minimum_ending_after_a_gap_over_ten_minutes() {
        let t = engaged(&[(0, 20), (25, 30), (45, 50), (200, 205)]);
        // 0-30 is one block (gap 5); 45 starts a new one (gap 15). Each lasts at least an
        // hour: 0-60 and 45-105 overlap into 0-105; 200-260.
        assert_eq!(spec(Basis::Engaged, 0, 600, 3600).insured(&t), vec![(0, 105 * MIN), (200 * MIN, 260 * MIN)]);
    }

    #[test]
    fn any_online_time_is_the_online_union() {
        let t = engaged(&[(0, 20), (10, 30)]);
        assert_eq!(total(&spec(Basis::Online, 0, 0, 0).insured(&t)), 30 * MIN);
    }

    #[test]
    fn limits_are_checked_field_by_field() {
        let p = spec(Basis::Online, MAX_SECS + 1, 0, MAX_SECS + 1).problems();
        assert_eq!(p.len(), 2);
    }
}
