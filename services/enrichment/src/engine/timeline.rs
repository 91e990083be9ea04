//! One worker's activity of all platforms, as per-platform unions.
//!
//! Online time is inferred locally: a gap between two jobs of a platform, shorter than the
//! inference gap, counts as online when that platform has no session within
//! [`SESSION_WINDOW`] of the gap (it sends only jobs around then). Every decision depends
//! only on activity near it, so a timeline built from any stretch of activity that covers
//! a day and [`super::MS_PER_HOUR`]`* 12` plus the gap either side agrees on that day.

use super::spans::{contains, overlaps_any, union, union_of_sorted};
use super::{Kind, MS_PER_HOUR, Ms, Piece, Span};

/// How near a session must be for a platform's online time to count as reported rather
/// than inferred.
pub const SESSION_WINDOW: Ms = 12 * MS_PER_HOUR;

/// A worker's time, per platform and in total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    /// Per platform: online time (sessions, engagements, and inferred gaps).
    pub online_by: Vec<Vec<Span>>,
    /// Per platform: engaged time.
    pub engaged_by: Vec<Vec<Span>>,
    /// Per platform: its sessions (union), to tell reported from inferred online time.
    pub sessions_by: Vec<Vec<Span>>,
    /// Online time of all platforms, counted once.
    pub online: Vec<Span>,
    /// Engaged time of all platforms, counted once.
    pub engaged: Vec<Span>,
}

impl Timeline {
    /// `pieces` refer to platforms `0..platforms`. Where a platform sent no session near a
    /// gap between its engagements shorter than `infer_gap`, the gap counts as online.
    pub fn build(pieces: &[Piece], platforms: usize, infer_gap: Ms) -> Self {
        let mut sessions: Vec<Vec<Span>> = vec![Vec::new(); platforms];
        let mut engagements: Vec<Vec<Span>> = vec![Vec::new(); platforms];
        for p in pieces.iter().filter(|p| p.platform < platforms) {
            match p.kind {
                Kind::Session => sessions[p.platform].push((p.start, p.end)),
                Kind::Engagement => engagements[p.platform].push((p.start, p.end)),
            }
        }
        let mut timeline = Timeline {
            online_by: Vec::with_capacity(platforms),
            engaged_by: Vec::with_capacity(platforms),
            sessions_by: Vec::with_capacity(platforms),
            online: Vec::new(),
            engaged: Vec::new(),
        };
        for (sessions, engagements) in sessions.into_iter().zip(engagements) {
            let engaged = union(engagements);
            let sessions = union(sessions);
            // The engagements and the gaps between them counted as online, in order.
            let mut worked = Vec::with_capacity(2 * engaged.len());
            for (i, &job) in engaged.iter().enumerate() {
                worked.push(job);
                if let Some(&(next, _)) = engaged.get(i + 1) {
                    let gap = (job.1, next);
                    let session_near = overlaps_any(&sessions, (gap.0 - SESSION_WINDOW, gap.1 + SESSION_WINDOW));
                    if gap.1 - gap.0 < infer_gap && !session_near {
                        worked.push(gap);
                    }
                }
            }
            timeline.online_by.push(union_of_sorted(&[&sessions, &worked]));
            timeline.engaged_by.push(engaged);
            timeline.sessions_by.push(sessions);
        }
        let lists =
            |by: &[Vec<Span>]| -> Vec<Span> { union_of_sorted(&by.iter().map(Vec::as_slice).collect::<Vec<_>>()) };
        timeline.online = lists(&timeline.online_by);
        timeline.engaged = lists(&timeline.engaged_by);
        timeline
    }

    pub fn platforms(&self) -> usize {
        self.online_by.len()
    }

    /// Whether platform `p`'s online time in `window` is inferred: it sent no session
    /// within [`SESSION_WINDOW`] of the window.
    pub fn inferred(&self, p: usize, window: Span) -> bool {
        !overlaps_any(&self.sessions_by[p], (window.0 - SESSION_WINDOW, window.1 + SESSION_WINDOW))
    }

    /// The platforms a worker was online on, and engaged on, at instant `t`.
    pub fn at(&self, t: Ms) -> (Vec<usize>, Vec<usize>) {
        let on = (0..self.platforms()).filter(|&p| contains(&self.online_by[p], t)).collect();
        let engaged = (0..self.platforms()).filter(|&p| contains(&self.engaged_by[p], t)).collect();
        (on, engaged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Ms = 60_000;

    fn piece(platform: usize, kind: Kind, start_min: Ms, end_min: Ms) -> Piece {
        Piece { platform, kind, start: start_min * MIN, end: end_min * MIN }
    }

    #[test]
    fn an_engagement_counts_as_online_also_outside_any_session() {
        let t = Timeline::build(&[piece(0, Kind::Session, 0, 60), piece(0, Kind::Engagement, 50, 90)], 1, 15 * MIN);
        assert_eq!(t.online, vec![(0, 90 * MIN)]);
        assert_eq!(t.engaged, vec![(50 * MIN, 90 * MIN)]);
        assert!(!t.inferred(0, (0, 90 * MIN)));
    }

    #[test]
    fn without_sessions_short_gaps_between_engagements_are_inferred_online_time() {
        let t = Timeline::build(
            &[
                piece(0, Kind::Engagement, 0, 20),
                piece(0, Kind::Engagement, 30, 40),
                piece(0, Kind::Engagement, 70, 80),
            ],
            1,
            15 * MIN,
        );
        // The 10-minute gap is inferred online; the 30-minute one is not.
        assert_eq!(t.online, vec![(0, 40 * MIN), (70 * MIN, 80 * MIN)]);
        assert!(t.inferred(0, (0, 80 * MIN)));
    }
}
