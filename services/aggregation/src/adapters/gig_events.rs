//! Gig events: a stream of `TASK_START`, `TASK_END` and `COMPLETED_TASK` events per
//! worker and task (in the style of Cachet's Gig-Events API). Start and end arrive
//! separately, possibly out of order or days late; a task is an activity once both are
//! known. `COMPLETED_TASK` may carry the whole task (start, end, distance, earnings).
//!
//! ```json
//! {"event_id": "e-1", "event_type": "TASK_START", "worker_id": "drv-9", "task_id": "t-1",
//!  "timestamp": "2026-11-02T08:00:00Z"}
//! {"event_id": "e-3", "event_type": "COMPLETED_TASK", "worker_id": "drv-9", "task_id": "t-1",
//!  "start": "2026-11-02T08:00:00Z", "end": "2026-11-02T08:25:00Z", "distance_km": 4.1,
//!  "earnings": {"pay": "6.00", "tips": "1.50"}}
//! ```

use chrono::{DateTime, Utc};
use gigcover_domain::{ActivityKind, ActivityStatus};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{Accepted, Change, EarningsParts, ParseContext, Partial, Problems, RawRecord, Rejected, distance, typed};

#[derive(Debug, Deserialize, Serialize)]
struct GigEvent {
    event_id: Option<String>,
    event_type: Option<String>,
    worker_id: Option<String>,
    task_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    start: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    distance_km: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    earnings: Option<EarningsParts>,
}

pub fn parse(json: &str, ctx: &ParseContext<'_>) -> Result<Accepted, Rejected> {
    let event: GigEvent = typed(json)?;
    let mut p = Problems::default();
    let event_id = p.require("event_id", event.event_id.clone());
    let worker_ref = p.reference("worker_id", event.worker_id.clone());
    let task = p.reference("task_id", event.task_id.clone());
    let (started_at, ended_at, completed) = match event.event_type.as_deref() {
        Some("TASK_START") => (p.require("timestamp", event.timestamp), None, false),
        Some("TASK_END") => (None, p.require("timestamp", event.timestamp), false),
        Some("COMPLETED_TASK") => (event.start, event.end.or(event.timestamp), true),
        Some(other) => {
            p.push("event_type", format!("unknown event type {other:?} (TASK_START, TASK_END, COMPLETED_TASK)"));
            (None, None, false)
        }
        None => {
            p.push("event_type", "is required");
            (None, None, false)
        }
    };
    let dist = distance(event.distance_km, None, "distance_km", &mut p);
    let earnings = event.earnings.as_ref().and_then(|e| e.build("earnings", ctx.platform.currency, &mut p));
    p.into_result()?;
    let (Some(external_id), Some(worker_ref)) = (task, worker_ref) else {
        return Err(Rejected::one("invalid_record", "task_id", "is required"));
    };
    let change = Change::Partial(Partial {
        external_id,
        worker_ref,
        kind: ActivityKind::Engagement,
        started_at,
        ended_at,
        status: completed.then_some(ActivityStatus::Completed),
        distance: dist,
        earnings,
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
    fn a_start_event_is_half_a_task() {
        let p = platform(Adapter::GigEvents);
        let a = parse(
            json!({"event_id": "e1", "event_type": "TASK_START", "worker_id": "w", "task_id": "t", "timestamp": "2026-11-02T08:00:00Z", "rider_phone": "+49..."}),
            &ctx(&p),
        )
        .unwrap();
        let Change::Partial(part) = a.change else { panic!("partial") };
        assert!(part.started_at.is_some() && part.ended_at.is_none());
        assert_eq!(a.event_id.as_deref(), Some("e1"));
        assert!(!a.raw.json().contains("rider_phone"));
    }

    #[test]
    fn a_completed_task_carries_everything() {
        let p = platform(Adapter::GigEvents);
        let a = parse(
            json!({"event_id": "e3", "event_type": "COMPLETED_TASK", "worker_id": "w", "task_id": "t",
                   "start": "2026-11-02T08:00:00Z", "end": "2026-11-02T08:25:00Z", "distance_km": 4.1,
                   "earnings": {"pay": "6.00", "tips": "1.50"}}),
            &ctx(&p),
        )
        .unwrap();
        let Change::Partial(part) = a.change else { panic!("partial") };
        assert!(part.started_at.is_some() && part.ended_at.is_some() && part.earnings.is_some());
    }

    #[test]
    fn missing_fields_and_unknown_types_are_named() {
        let p = platform(Adapter::GigEvents);
        let err = parse(json!({"event_type": "TASK_PAUSE", "task_id": "t"}), &ctx(&p)).unwrap_err();
        let fields: Vec<_> = err.problems.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["event_id", "worker_id", "event_type"]);
    }
}
