//! Shifts: a worker's availability sessions, reported as login and logout events (in the
//! style of Zego's `shift/login` and `shift/logout`): online time, as opposed to engaged
//! time. A login without a logout stays open until the logout arrives or it goes stale.
//!
//! ```json
//! {"event_id": "s-1", "type": "shift.login", "worker_id": "drv-9", "shift_id": "sh-1",
//!  "timestamp": "2026-11-02T07:55:00Z"}
//! ```

use chrono::{DateTime, Utc};
use gigcover_domain::ActivityKind;
use serde::{Deserialize, Serialize};

use super::{Accepted, Change, ParseContext, Partial, Problems, RawRecord, Rejected, typed};

#[derive(Debug, Deserialize, Serialize)]
struct ShiftEvent {
    event_id: Option<String>,
    #[serde(rename = "type")]
    event_type: Option<String>,
    worker_id: Option<String>,
    shift_id: Option<String>,
    timestamp: Option<DateTime<Utc>>,
}

pub fn parse(json: &str, _ctx: &ParseContext<'_>) -> Result<Accepted, Rejected> {
    let event: ShiftEvent = typed(json)?;
    let mut p = Problems::default();
    let event_id = p.require("event_id", event.event_id.clone());
    let worker_ref = p.reference("worker_id", event.worker_id.clone());
    let shift = p.reference("shift_id", event.shift_id.clone());
    let at = p.require("timestamp", event.timestamp);
    let login = match event.event_type.as_deref() {
        Some("shift.login") => true,
        Some("shift.logout") => false,
        Some(other) => {
            p.push("type", format!("unknown event type {other:?} (shift.login or shift.logout)"));
            false
        }
        None => {
            p.push("type", "is required");
            false
        }
    };
    p.into_result()?;
    let (Some(external_id), Some(worker_ref)) = (shift, worker_ref) else {
        return Err(Rejected::one("invalid_record", "shift_id", "is required"));
    };
    let change = Change::Partial(Partial {
        external_id,
        worker_ref,
        kind: ActivityKind::Session,
        started_at: if login { at } else { None },
        ended_at: if login { None } else { at },
        status: None,
        distance: None,
        earnings: None,
    });
    Ok(Accepted { event_id, change, raw: RawRecord::of(&event) })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The adapter on a record given as a JSON value.
    fn parse(record: serde_json::Value, ctx: &ParseContext<'_>) -> Result<Accepted, Rejected> {
        super::parse(&record.to_string(), ctx)
    }
    use crate::adapters::testing::{ctx, platform};
    use crate::platforms::model::Adapter;
    use serde_json::json;

    #[test]
    fn login_and_logout_are_the_two_ends_of_a_session() {
        let p = platform(Adapter::Shifts);
        let login = parse(json!({"event_id": "a", "type": "shift.login", "worker_id": "w", "shift_id": "s", "timestamp": "2026-11-02T07:00:00Z"}), &ctx(&p)).unwrap();
        let logout = parse(json!({"event_id": "b", "type": "shift.logout", "worker_id": "w", "shift_id": "s", "timestamp": "2026-11-02T09:00:00Z"}), &ctx(&p)).unwrap();
        let (Change::Partial(a), Change::Partial(b)) = (login.change, logout.change) else { panic!("partials") };
        assert_eq!(a.kind, ActivityKind::Session);
        assert!(a.started_at.is_some() && a.ended_at.is_none());
        assert!(b.started_at.is_none() && b.ended_at.is_some());
    }

    #[test]
    fn an_unknown_type_is_refused() {
        let p = platform(Adapter::Shifts);
        let err = parse(json!({"event_id": "a", "type": "shift.pause", "worker_id": "w", "shift_id": "s", "timestamp": "2026-11-02T07:00:00Z"}), &ctx(&p)).unwrap_err();
        assert_eq!(err.problems[0].field, "type");
    }
}
