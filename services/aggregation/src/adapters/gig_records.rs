//! Gig records: one record per gig with its times, distance and earnings split into pay,
//! tips, bonus and fees (in the style of Argyle's gigs object). A record with the same
//! `id` again is a correction; `{"id": ..., "retracted": true}` withdraws it.
//!
//! ```json
//! {"id": "gig-1", "worker": "drv-9", "status": "completed",
//!  "start_datetime": "2026-11-02T08:00:00Z", "end_datetime": "2026-11-02T08:25:00Z",
//!  "distance": "4.2", "distance_unit": "km",
//!  "income": {"currency": "EUR", "pay": "7.50", "tips": "1.00", "bonus": "0", "fees": "0.90"},
//!  "event_id": "optional id of this delivery, to drop replays"}
//! ```

use chrono::{DateTime, Utc};
use gigcover_domain::{Activity, ActivityKind, ActivityStatus};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{Accepted, Change, EarningsParts, ParseContext, Problems, RawRecord, Rejected, distance, typed};

#[derive(Debug, Deserialize, Serialize)]
struct GigRecord {
    id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    worker: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_datetime: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_datetime: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    distance: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    distance_unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    income: Option<EarningsParts>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    retracted: bool,
}

pub fn parse(json: &str, ctx: &ParseContext<'_>) -> Result<Accepted, Rejected> {
    let record: GigRecord = typed(json)?;
    let mut p = Problems::default();
    let id = p.reference("id", record.id.clone());
    if record.retracted {
        p.into_result()?;
        let id = id.ok_or_else(|| Rejected::one("invalid_record", "id", "is required"))?;
        let raw = RawRecord::of(&record);
        return Ok(Accepted { event_id: record.event_id, change: Change::Retract(id), raw });
    }
    let worker = p.reference("worker", record.worker.clone());
    let status = match record.status.as_deref() {
        None | Some("completed") => ActivityStatus::Completed,
        Some("cancelled" | "canceled") => ActivityStatus::Cancelled,
        Some(other) => {
            p.push("status", format!("unknown status {other:?} (completed or cancelled)"));
            ActivityStatus::Completed
        }
    };
    let start = p.require("start_datetime", record.start_datetime);
    let end = p.require("end_datetime", record.end_datetime);
    let dist = distance(record.distance, record.distance_unit.as_deref(), "distance", &mut p);
    let earnings = record.income.as_ref().and_then(|i| i.build("income", ctx.platform.currency, &mut p));
    p.into_result()?;
    let draft = gigcover_domain::ActivityDraft {
        platform: Some(ctx.platform.id.clone()),
        external_id: id.map(String::from),
        worker_ref: worker.map(String::from),
        kind: Some(ActivityKind::Engagement),
        start,
        end,
        status: Some(status),
        distance_km: dist.map(|d| d.km()),
        earnings: earnings.map(Ok),
    };
    let activity = Activity::try_from(draft).map_err(|e| Rejected::new("invalid_record", e.0))?;
    let raw = RawRecord::of(&record);
    Ok(Accepted { event_id: record.event_id, change: Change::Upsert(activity), raw })
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

    fn gig() -> serde_json::Value {
        json!({"id": "gig-1", "worker": "drv-9", "status": "completed",
               "start_datetime": "2026-11-02T08:00:00Z", "end_datetime": "2026-11-02T08:25:00Z",
               "distance": "2.5", "distance_unit": "miles",
               "income": {"currency": "EUR", "pay": "7.50", "tips": 1, "fees": "0.90"},
               "customer_name": "Jane Doe", "customer_address": "1 Main St"})
    }

    #[test]
    fn a_gig_becomes_an_engagement_without_the_fields_we_do_not_need() {
        let p = platform(Adapter::GigRecords);
        let accepted = parse(gig(), &ctx(&p)).unwrap();
        let Change::Upsert(a) = accepted.change else { panic!("an upsert") };
        assert_eq!(a.kind, ActivityKind::Engagement);
        assert_eq!(a.distance.unwrap().km(), Decimal::new(4023, 3));
        assert_eq!(a.earnings.unwrap().net().unwrap().amount(), Decimal::new(760, 2));
        let raw = accepted.raw.json();
        assert!(!raw.contains("Jane") && !raw.contains("Main St"), "PII not kept: {raw}");
    }

    #[test]
    fn every_problem_is_named() {
        let p = platform(Adapter::GigRecords);
        let mut bad = gig();
        bad["worker"] = json!(null);
        bad["distance"] = json!("-1");
        bad["income"]["currency"] = json!("XYZ");
        bad["status"] = json!("lost");
        let err = parse(bad, &ctx(&p)).unwrap_err();
        let fields: Vec<_> = err.problems.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["worker", "status", "distance", "income.currency"]);
    }

    #[test]
    fn wrong_types_name_the_field() {
        let p = platform(Adapter::GigRecords);
        let mut bad = gig();
        bad["start_datetime"] = json!(42);
        let err = parse(bad, &ctx(&p)).unwrap_err();
        assert_eq!(err.problems[0].field, "start_datetime");
    }

    #[test]
    fn times_are_checked_against_each_other_and_the_clock() {
        let p = platform(Adapter::GigRecords);
        let mut backwards = gig();
        backwards["end_datetime"] = json!("2026-11-02T07:00:00Z");
        assert_eq!(parse_json_err(backwards, &p).problems[0].field, "end");
        let mut long = gig();
        long["end_datetime"] = json!("2026-11-03T09:00:00Z");
        assert!(parse_json_err(long, &p).problems[0].message.contains("24 hours"));
        let mut future = gig();
        future["start_datetime"] = json!("2026-11-28T12:00:00Z");
        future["end_datetime"] = json!("2026-11-28T12:30:00Z");
        assert_eq!(parse_json_err(future, &p).code, "future_timestamp");
    }

    #[test]
    fn a_retraction_needs_only_the_id() {
        let p = platform(Adapter::GigRecords);
        let accepted = parse(json!({"id": "gig-1", "retracted": true}), &ctx(&p)).unwrap();
        assert!(matches!(accepted.change, Change::Retract(ref id) if id.as_str() == "gig-1"));
    }

    #[test]
    fn earnings_in_another_currency_than_the_platforms_are_refused() {
        let p = platform(Adapter::GigRecords);
        let mut usd = gig();
        usd["income"]["currency"] = json!("USD");
        assert!(parse_json_err(usd, &p).problems[0].message.contains("EUR"));
    }

    fn parse_json_err(v: serde_json::Value, p: &crate::platforms::directory::PlatformInfo) -> Rejected {
        crate::adapters::parse_json(&v.to_string(), &ctx(p)).unwrap_err()
    }
}
