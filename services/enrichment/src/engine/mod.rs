//! The interval engine: pure functions from a worker's activity to the hours they worked.
//! No I/O; times are milliseconds since the Unix epoch, half-open `[start, end)`.
//!
//! - `spans`: union, clipping and overlap of interval sets;
//! - `timeline`: one worker's activity of all platforms (online time inferred where a
//!   platform sends only engagements);
//! - `day`: the figures of one local day, with per-platform attribution by sweep;
//! - `definitions`: insured-time definitions as data, evaluated on a timeline;
//! - `calendar`: local days and their night windows, across daylight-saving changes.

pub mod calendar;
pub mod day;
pub mod definitions;
pub mod spans;
pub mod timeline;

/// Milliseconds since the Unix epoch.
pub type Ms = i64;

/// A half-open interval `[start, end)` in milliseconds.
pub type Span = (Ms, Ms);

pub const MS_PER_HOUR: Ms = 3_600_000;

/// What a worker was doing in an interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// Logged in and available.
    Session,
    /// On a job (a trip, a delivery, a task).
    Engagement,
}

/// One activity as the engine sees it: which platform (an index into the caller's sorted
/// platform list), what kind, when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    pub platform: usize,
    pub kind: Kind,
    pub start: Ms,
    pub end: Ms,
}
