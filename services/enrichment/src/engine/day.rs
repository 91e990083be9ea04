//! The figures of one local day, by a sweep over every platform's online and engaged time.
//!
//! Each elementary segment (between two consecutive boundaries) is online if any platform
//! is online, engaged if any is engaged, multi-apping if two or more are online. Its length
//! is attributed to platforms: to the engaged ones if any (an engagement wins over idle
//! availability), else to the online ones, split evenly, the indivisible milliseconds going
//! to the first platforms in order; so per-platform figures add up to the totals exactly.

use std::cell::RefCell;

use super::calendar::DayWindow;
use super::spans::{clip_sorted, overlap};
use super::timeline::Timeline;
use super::{Ms, Span};

/// One platform's share of a day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Share {
    /// Online time attributed to the platform (shares add up to the day's online time).
    pub online_ms: Ms,
    /// Engaged time attributed to the platform (shares add up to the day's engaged time).
    pub engaged_ms: Ms,
}

/// What a worker did on one local day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayFigures {
    pub online_ms: Ms,
    pub engaged_ms: Ms,
    /// Online on two or more platforms at once (counted once in `online_ms`).
    pub multi_app_ms: Ms,
    /// Engaged time between 22:00 and 06:00 local.
    pub night_engaged_ms: Ms,
    /// Engaged time on a Saturday or Sunday.
    pub weekend_engaged_ms: Ms,
    /// Some of the day's online time was inferred from engagements.
    pub online_inferred: bool,
    /// Per platform (indexes as in the timeline).
    pub shares: Vec<Share>,
}

/// Splits `len` evenly among the `n` platforms `members`, the remainder one millisecond
/// each to the first, giving each its part with `add`.
fn split(len: Ms, members: impl Iterator<Item = usize>, n: usize, mut add: impl FnMut(usize, Ms)) {
    let n = n as Ms;
    let (each, rest) = (len / n, len % n);
    for (i, p) in members.enumerate() {
        add(p, each + Ms::from((i as Ms) < rest));
    }
}

/// What a boundary changes: a platform's online (`ONLINE`) or engaged (`ENGAGED`) count.
const ONLINE: usize = 0;
const ENGAGED: usize = 1;

/// A boundary: when, which platform, what changes (`ONLINE` or `ENGAGED`), by how much.
type Edge = (Ms, usize, usize, i32);

thread_local! {
    /// The sweep's working space, kept from one day to the next: a full recompute computes
    /// millions of days.
    static SCRATCH: RefCell<(Vec<Edge>, Vec<[i32; 2]>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

pub fn figures(timeline: &Timeline, day: &DayWindow) -> DayFigures {
    SCRATCH.with(|scratch| {
        let (edges, counts) = &mut *scratch.borrow_mut();
        sweep(timeline, day, edges, counts)
    })
}

fn sweep(timeline: &Timeline, day: &DayWindow, edges: &mut Vec<Edge>, counts: &mut Vec<[i32; 2]>) -> DayFigures {
    let window = day.span();
    let platforms = timeline.platforms();
    // Boundaries: +1 where a platform's online or engaged time starts, -1 where it ends.
    edges.clear();
    let mut inferred = false;
    for p in 0..platforms {
        let mut online = clip_sorted(&timeline.online_by[p], window).peekable();
        if online.peek().is_some() && timeline.inferred(p, window) {
            inferred = true;
        }
        for (s, e) in online {
            edges.extend([(s, p, ONLINE, 1), (e, p, ONLINE, -1)]);
        }
        for (s, e) in clip_sorted(&timeline.engaged_by[p], window) {
            edges.extend([(s, p, ENGAGED, 1), (e, p, ENGAGED, -1)]);
        }
    }
    // By time only: the sweep applies every boundary at an instant before it measures.
    edges.sort_unstable_by_key(|&(t, ..)| t);
    let mut out =
        DayFigures { online_inferred: inferred, shares: vec![Share::default(); platforms], ..DayFigures::default() };
    // Per platform: how many of its online and engaged spans cover the segment.
    counts.clear();
    counts.resize(platforms, [0; 2]);
    let mut i = 0;
    while i < edges.len() {
        let t = edges[i].0;
        while i < edges.len() && edges[i].0 == t {
            let (_, p, what, delta) = edges[i];
            counts[p][what] += delta;
            i += 1;
        }
        let Some(&(next, ..)) = edges.get(i) else { break };
        let len = next - t;
        let on = counts.iter().filter(|c| c[ONLINE] > 0).count();
        if on == 0 || len == 0 {
            continue;
        }
        let members = |what: usize| counts.iter().enumerate().filter(move |(_, c)| c[what] > 0).map(|(p, _)| p);
        out.online_ms += len;
        if on >= 2 {
            out.multi_app_ms += len;
        }
        let busy = counts.iter().filter(|c| c[ENGAGED] > 0).count();
        let shares = &mut out.shares;
        if busy == 0 {
            split(len, members(ONLINE), on, |p, part| shares[p].online_ms += part);
        } else {
            out.engaged_ms += len;
            let night: Ms = day.nights.iter().map(|&n| overlap((t, next), n)).sum();
            out.night_engaged_ms += night;
            if day.weekend {
                out.weekend_engaged_ms += len;
            }
            // An engaged minute is an online minute of the same platforms.
            split(len, members(ENGAGED), busy, |p, part| {
                shares[p].online_ms += part;
                shares[p].engaged_ms += part;
            });
        }
    }
    out
}

/// The part of `spans` (sorted, disjoint) inside the day.
pub fn within(spans: &[Span], day: &DayWindow) -> Ms {
    clip_sorted(spans, day.span()).map(|(s, e)| e - s).sum()
}

#[cfg(test)]
mod tests {
    use super::super::spans::total;
    use super::super::{Kind, Piece};
    use super::*;
    use chrono::NaiveDate;
    use chrono_tz::Tz;
    use proptest::prelude::*;

    const MIN: Ms = 60_000;

    fn berlin(y: i32, m: u32, d: u32) -> DayWindow {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        DayWindow::new(tz, NaiveDate::from_ymd_opt(y, m, d).unwrap())
    }

    /// Local Berlin wall time on the day of `w` (hours, minutes) as milliseconds, for
    /// winter time (UTC+1).
    fn at(w: &DayWindow, h: i64, m: i64) -> Ms {
        w.start + (h * 60 + m) * MIN
    }

    fn piece(platform: usize, kind: Kind, start: Ms, end: Ms) -> Piece {
        Piece { platform, kind, start, end }
    }

    /// Three platforms on a winter Tuesday, computed by hand:
    /// A session 08:00-12:00, engaged 09:00-10:00;
    /// B session 09:30-11:00, engaged 09:30-10:30;
    /// C engaged 10:15-10:45, 23:00-23:30 (no sessions: inferred, gap too long to join).
    #[test]
    fn three_platforms_overlapping_hand_computed() {
        let d = berlin(2026, 11, 24);
        let pieces = [
            piece(0, Kind::Session, at(&d, 8, 0), at(&d, 12, 0)),
            piece(0, Kind::Engagement, at(&d, 9, 0), at(&d, 10, 0)),
            piece(1, Kind::Session, at(&d, 9, 30), at(&d, 11, 0)),
            piece(1, Kind::Engagement, at(&d, 9, 30), at(&d, 10, 30)),
            piece(2, Kind::Engagement, at(&d, 10, 15), at(&d, 10, 45)),
            piece(2, Kind::Engagement, at(&d, 23, 0), at(&d, 23, 30)),
        ];
        let t = Timeline::build(&pieces, 3, 15 * MIN);
        let f = figures(&t, &d);
        // Online: 08:00-12:00 and 23:00-23:30.
        assert_eq!(f.online_ms, 270 * MIN);
        // Engaged: 09:00-10:45 and 23:00-23:30.
        assert_eq!(f.engaged_ms, 135 * MIN);
        // Two or more online: 09:30-11:00 (A+B, plus C 10:15-10:45).
        assert_eq!(f.multi_app_ms, 90 * MIN);
        assert_eq!(f.night_engaged_ms, 30 * MIN);
        assert_eq!(f.weekend_engaged_ms, 0);
        assert!(f.online_inferred);
        // Engaged attribution: A 09:00-09:30 (30) + half of 09:30-10:00 (15) = 45;
        // B: 15 + 10:00-10:15 (15) + half 10:15-10:30 (7.5) = 37.5; C: 7.5 + 10:30-10:45 (15) + 30 = 52.5.
        assert_eq!(f.shares[0].engaged_ms, 45 * MIN);
        assert_eq!(f.shares[1].engaged_ms, 37 * MIN + 30_000);
        assert_eq!(f.shares[2].engaged_ms, 52 * MIN + 30_000);
        // Online attribution adds idle time: A idle 08:00-09:00 and 10:45-12:00 except B's
        // idle 10:45-11:00 shared: A 45 + 60 + 7.5 + 60 = 172.5, B 37.5 + 7.5 = 45, C 52.5.
        assert_eq!(f.shares[0].online_ms, 172 * MIN + 30_000);
        assert_eq!(f.shares[1].online_ms, 45 * MIN);
        assert_eq!(f.shares[2].online_ms, 52 * MIN + 30_000);
        let sum: Ms = f.shares.iter().map(|s| s.online_ms).sum();
        assert_eq!(sum, f.online_ms);
    }

    /// The night of the spring change in Berlin (2026-03-29, 02:00 -> 03:00): a session of
    /// two local "hours" 01:30-03:30 is one real hour, split at local midnight correctly.
    #[test]
    fn a_daylight_saving_day_counts_real_time() {
        let d = berlin(2026, 3, 29);
        let start = d.start + 90 * MIN; // 01:30 CET
        let end = start + 60 * MIN; // 03:30 CEST
        let before = berlin(2026, 3, 28);
        let pieces = [
            piece(0, Kind::Engagement, start, end),
            piece(1, Kind::Session, before.end - 30 * MIN, d.start + 30 * MIN),
        ];
        let t = Timeline::build(&pieces, 2, 15 * MIN);
        let f = figures(&t, &d);
        assert_eq!(f.engaged_ms, 60 * MIN);
        assert_eq!(f.night_engaged_ms, 60 * MIN);
        assert_eq!(f.online_ms, 90 * MIN);
        assert_eq!(f.weekend_engaged_ms, 60 * MIN);
        let prev = figures(&t, &before);
        assert_eq!(prev.online_ms + f.online_ms, total(&t.online));
    }

    fn pieces() -> impl Strategy<Value = Vec<Piece>> {
        proptest::collection::vec((0usize..3, any::<bool>(), 0i64..(3 * 24 * 60), 1i64..300), 0..40).prop_map(|v| {
            v.into_iter()
                .map(|(p, s, start, len)| Piece {
                    platform: p,
                    kind: if s { Kind::Session } else { Kind::Engagement },
                    start: start * MIN,
                    end: (start + len) * MIN,
                })
                .collect()
        })
    }

    proptest! {
        /// What makes an incremental recompute equal a full one: a day's figures from the
        /// timeline of everything equal those from the timeline of its context only.
        #[test]
        fn a_day_depends_only_on_activity_within_a_day_of_it(p in pieces()) {
            let tz: Tz = "Europe/Berlin".parse().unwrap();
            let whole = Timeline::build(&p, 3, 15 * MIN);
            let first = super::super::calendar::local_date(tz, 0) - chrono::Duration::days(1);
            for k in 0..6 {
                let d = DayWindow::new(tz, first + chrono::Duration::days(k));
                let near: Vec<Piece> = p
                    .iter()
                    .copied()
                    .filter(|x| x.start < d.end + 24 * 60 * MIN && x.end > d.start - 24 * 60 * MIN)
                    .collect();
                prop_assert_eq!(figures(&whole, &d), figures(&Timeline::build(&near, 3, 15 * MIN), &d));
            }
        }

        #[test]
        fn shares_add_up_and_days_add_up_to_the_whole(p in pieces(), seed in any::<u64>()) {
            let tz: Tz = "America/New_York".parse().unwrap();
            let t = Timeline::build(&p, 3, 15 * MIN);
            let first = super::super::calendar::local_date(tz, 0) - chrono::Duration::days(1);
            let (mut online, mut engaged) = (0, 0);
            for k in 0..6 {
                let d = DayWindow::new(tz, first + chrono::Duration::days(k));
                let f = figures(&t, &d);
                prop_assert_eq!(f.shares.iter().map(|s| s.online_ms).sum::<Ms>(), f.online_ms);
                prop_assert_eq!(f.shares.iter().map(|s| s.engaged_ms).sum::<Ms>(), f.engaged_ms);
                prop_assert!(f.multi_app_ms <= f.online_ms && f.engaged_ms <= f.online_ms);
                prop_assert_eq!(f.online_ms, within(&t.online, &d));
                online += f.online_ms;
                engaged += f.engaged_ms;
            }
            prop_assert_eq!(online, total(&t.online));
            prop_assert_eq!(engaged, total(&t.engaged));
            // Input order does not matter.
            let mut shuffled = p.clone();
            let n = shuffled.len();
            for i in (1..n).rev() {
                shuffled.swap(i, (seed.wrapping_mul(i as u64 + 3) % (i as u64 + 1)) as usize);
            }
            prop_assert_eq!(Timeline::build(&shuffled, 3, 15 * MIN), t);
        }
    }
}
