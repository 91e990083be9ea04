//! Gig events: starts and ends out of order, duplicates, late completion, stale tasks.

use serde_json::{Value, json};

use crate::harness::Harness;

fn event(id: &str, kind: &str, task: &str, at: &str) -> Value {
    json!({"event_id": id, "event_type": kind, "worker_id": "cachet-7", "task_id": task, "timestamp": at})
}

#[tokio::test]
async fn a_task_whose_end_arrives_before_its_start_becomes_one_activity() {
    let h = Harness::start().await;
    let p = h.platform("cachet", "gig_events", "Europe/Amsterdam", "EUR").await;
    let worker = h.link_new_worker("cachet", "cachet-7").await;

    let outcomes = || async { h.status("cachet").await["outcomes"].clone() };
    h.webhook(&p, &event("e2", "TASK_END", "t1", "2026-11-04T10:45:00Z")).await;
    assert_eq!(outcomes().await["pending"], 1, "an end alone waits");
    assert!(h.activities(&worker).await.is_empty());
    h.webhook(&p, &event("e1", "TASK_START", "t1", "2026-11-04T10:00:00Z")).await;
    assert_eq!(outcomes().await["inserted"], 1);
    // The start delivered again is a replay.
    h.webhook(&p, &event("e1", "TASK_START", "t1", "2026-11-04T10:00:00Z")).await;
    assert_eq!(outcomes().await["duplicates"], 1);
    let acts = h.activities(&worker).await;
    assert_eq!(acts.len(), 1);
    assert_eq!(
        (acts[0]["start"].clone(), acts[0]["end"].clone()),
        (json!("2026-11-04T10:00:00Z"), json!("2026-11-04T10:45:00Z"))
    );

    // COMPLETED_TASK days later adds the pay: a new version of the same activity.
    let done = json!({"event_id": "e3", "event_type": "COMPLETED_TASK", "worker_id": "cachet-7", "task_id": "t1",
                      "start": "2026-11-04T10:00:00Z", "end": "2026-11-04T10:45:00Z", "distance_km": 6.2,
                      "earnings": {"pay": "11.00", "tips": "2.00"}});
    h.webhook(&p, &done).await;
    assert_eq!(outcomes().await["updated"], 1);
    let acts = h.activities(&worker).await;
    assert_eq!((acts[0]["pay"].clone(), acts[0]["version"].clone()), (json!("11.00"), json!(2)));
}

#[tokio::test]
async fn an_end_before_the_stored_start_is_refused_when_applied_and_the_task_stays_as_it_was() {
    let h = Harness::start().await;
    let p = h.platform("cachet", "gig_events", "Europe/Amsterdam", "EUR").await;
    h.webhook(&p, &event("e1", "TASK_START", "t1", "2026-11-04T10:00:00Z")).await;
    // Valid in itself, so stored; refused when applied, against the stored start.
    let res = h.webhook(&p, &event("e2", "TASK_END", "t1", "2026-11-04T09:00:00Z")).await;
    assert_eq!(res.status(), 202);
    let status = h.status("cachet").await;
    assert_eq!((status["rejected_total"].clone(), status["open"].clone()), (json!(1), json!(1)), "{status}");
    assert_eq!(h.count("SELECT count(*) FROM aggregation.activities").await, 0);
    h.webhook(&p, &event("e3", "TASK_END", "t1", "2026-11-04T10:20:00Z")).await;
    assert_eq!(h.status("cachet").await["outcomes"]["inserted"], 1);
}

#[tokio::test]
async fn a_task_started_long_ago_and_never_ended_is_reported_stale() {
    let h = Harness::start().await;
    let p = h.platform("cachet", "gig_events", "Europe/Amsterdam", "EUR").await;
    let two_days_ago = (chrono::Utc::now() - chrono::Duration::days(2)).to_rfc3339();
    let recent = (chrono::Utc::now() - chrono::Duration::minutes(5)).to_rfc3339();
    h.webhook(&p, &event("e1", "TASK_START", "old", &two_days_ago)).await;
    h.webhook(&p, &event("e2", "TASK_START", "new", &recent)).await;
    let status: Value =
        h.as_platform("cachet", h.get("/v1/platforms/cachet/ingestion")).send().await.unwrap().json().await.unwrap();
    assert_eq!((status["open"].clone(), status["stale_open"].clone()), (json!(2), json!(1)), "{status}");
    assert_eq!(status["accepted_total"], 2);
}
