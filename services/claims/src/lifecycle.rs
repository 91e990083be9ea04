//! The claim lifecycle as a state machine: which status may follow which, and who moves
//! it. Verification (the system) files a claim as `verified` or `flagged` and may switch
//! between the two when new evidence arrives; the insurer reviews, decides, asks for
//! information and reports the payment it made; the worker answers a request for
//! information. Anything else is refused, naming what is allowed.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Submitted,
    /// Every automatic check supports the claim.
    Verified,
    /// Some check does not: a person must look closely.
    Flagged,
    UnderReview,
    Approved,
    Rejected,
    NeedsInfo,
    Paid,
    Closed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Submitted => "submitted",
            Status::Verified => "verified",
            Status::Flagged => "flagged",
            Status::UnderReview => "under_review",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
            Status::NeedsInfo => "needs_info",
            Status::Paid => "paid",
            Status::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }

    /// Still waiting for the insurer's decision (the SLA runs).
    pub fn awaits_decision(self) -> bool {
        matches!(self, Status::Submitted | Status::Verified | Status::Flagged | Status::UnderReview | Status::NeedsInfo)
    }

    /// Evidence may still change the recommendation.
    pub fn open_to_evidence(self) -> bool {
        self.awaits_decision()
    }

    /// The statuses that may follow this one.
    pub fn next(self) -> &'static [Status] {
        match self {
            Status::Submitted => &[Status::Verified, Status::Flagged],
            Status::Verified => &[Status::Flagged, Status::UnderReview],
            Status::Flagged => &[Status::Verified, Status::UnderReview],
            Status::UnderReview => &[Status::Approved, Status::Rejected, Status::NeedsInfo],
            Status::NeedsInfo => &[Status::UnderReview],
            Status::Approved => &[Status::Paid],
            Status::Rejected | Status::Paid => &[Status::Closed],
            Status::Closed => &[],
        }
    }
}

/// Who moves a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// The automatic verification.
    System,
    Worker,
    Insurer,
}

impl Actor {
    pub fn as_str(self) -> &'static str {
        match self {
            Actor::System => "system",
            Actor::Worker => "worker",
            Actor::Insurer => "insurer",
        }
    }
}

/// Who may make a move into `to`.
fn mover(from: Status, to: Status) -> Actor {
    match (from, to) {
        (_, Status::Verified | Status::Flagged) => Actor::System,
        (Status::NeedsInfo, Status::UnderReview) => Actor::Worker,
        _ => Actor::Insurer,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("a {from} claim cannot become {to}; allowed next: {}", allowed(from))]
    NotAllowed { from: &'static str, to: &'static str },
    #[error("only the {mover} moves a claim from {from} to {to}")]
    WrongActor { from: &'static str, to: &'static str, mover: &'static str },
}

fn allowed(from: &str) -> String {
    let next: Vec<&str> =
        Status::parse(from).map(|s| s.next().iter().map(|n| n.as_str()).collect()).unwrap_or_default();
    if next.is_empty() { "none (the claim is closed)".into() } else { next.join(", ") }
}

/// Checks that `actor` may move a claim from `from` to `to`. The insurer may also take a
/// claim that waits for information back into review.
pub fn check(from: Status, to: Status, actor: Actor) -> Result<(), TransitionError> {
    if !from.next().contains(&to) {
        return Err(TransitionError::NotAllowed { from: from.as_str(), to: to.as_str() });
    }
    let expected = mover(from, to);
    let insurer_resumes = from == Status::NeedsInfo && to == Status::UnderReview && actor == Actor::Insurer;
    if expected != actor && !insurer_resumes {
        return Err(TransitionError::WrongActor { from: from.as_str(), to: to.as_str(), mover: expected.as_str() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_happy_path_is_allowed_step_by_step() {
        let path = [
            (Status::Submitted, Status::Flagged, Actor::System),
            (Status::Flagged, Status::UnderReview, Actor::Insurer),
            (Status::UnderReview, Status::NeedsInfo, Actor::Insurer),
            (Status::NeedsInfo, Status::UnderReview, Actor::Worker),
            (Status::UnderReview, Status::Approved, Actor::Insurer),
            (Status::Approved, Status::Paid, Actor::Insurer),
            (Status::Paid, Status::Closed, Actor::Insurer),
        ];
        for (from, to, actor) in path {
            assert_eq!(check(from, to, actor), Ok(()), "{from:?} -> {to:?}");
        }
    }

    #[test]
    fn an_invalid_transition_names_the_allowed_ones() {
        let err = check(Status::Verified, Status::Paid, Actor::Insurer).unwrap_err();
        assert_eq!(err.to_string(), "a verified claim cannot become paid; allowed next: flagged, under_review");
        let err = check(Status::Closed, Status::UnderReview, Actor::Insurer).unwrap_err();
        assert!(err.to_string().ends_with("none (the claim is closed)"));
    }

    #[test]
    fn each_move_belongs_to_its_actor() {
        assert!(matches!(
            check(Status::UnderReview, Status::Approved, Actor::Worker),
            Err(TransitionError::WrongActor { mover: "insurer", .. })
        ));
        assert!(check(Status::Verified, Status::Flagged, Actor::Insurer).is_err());
        assert_eq!(check(Status::NeedsInfo, Status::UnderReview, Actor::Insurer), Ok(()));
    }

    #[test]
    fn every_status_reads_back_from_its_name() {
        for s in [Status::Submitted, Status::NeedsInfo, Status::UnderReview, Status::Closed] {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
    }
}
