//! Signed webhooks: stored before the 202 and applied once, in order, replays harmless,
//! corrections versioned, retractions withdrawn, a webhook that cannot be applied kept
//! aside, and every kind of bad input refused precisely with nothing written.

use serde_json::{Value, json};

use gigcover_aggregation::webhooks::apply::{APPLIER_LOCK, WRITERS_LOCK};

use crate::harness::{Harness, gig};

#[tokio::test]
async fn a_gig_is_stored_once_and_a_replayed_event_changes_nothing() {
    let h = Harness::start().await;
    let p = h.platform("eats", "gig_records", "Europe/Berlin", "EUR").await;
    let worker = h.link_new_worker("eats", "w1").await;
    let mut event = gig("g1", "w1", "2026-11-02T08:00:00Z", "2026-11-02T08:30:00Z", "7.50");
    event["event_id"] = json!("delivery-1");

    let res = h.webhook(&p, &event).await;
    assert_eq!(res.status(), 202);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"received": 1}));
    assert_eq!(h.status("eats").await["outcomes"]["inserted"], 1);
    assert_eq!(h.webhook(&p, &event).await.status(), 202);
    let status = h.status("eats").await;
    assert_eq!(
        (status["outcomes"]["inserted"].clone(), status["outcomes"]["duplicates"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(status["accepted_total"], 1, "a replay is not taken in again: {status}");
    assert_eq!(h.count("SELECT count(*) FROM aggregation.activities").await, 1);

    let acts = h.activities(&worker).await;
    assert_eq!(acts.len(), 1);
    assert_eq!(acts[0]["pay"], "7.50");
    assert_eq!(acts[0]["kind"], "engagement");
    let changes = h.changes().await;
    assert_eq!(changes.len(), 1, "one activity.changed for the one change");
    assert_eq!(changes[0]["worker_id"], worker);
    assert_eq!(changes[0]["days"], json!(["2026-11-02"]));
    assert_eq!(h.count("SELECT count(*) FROM aggregation.raw_archive").await, 1, "the raw record is archived");
}

#[tokio::test]
async fn a_webhook_is_stored_after_the_database_closed_every_connection_of_the_service() {
    // One writer (as by default), so the second webhook meets the connection the first one left it.
    let h = Harness::start_with(|c| c.with("aggregation.committers", 1)).await;
    let p = h.platform("eats", "gig_records", "Europe/Berlin", "EUR").await;
    h.link_new_worker("eats", "w1").await;
    let first = h.webhook(&p, &gig("g1", "w1", "2026-11-02T08:00:00Z", "2026-11-02T08:30:00Z", "7.50")).await;
    assert_eq!(first.status(), 202);
    // The writer keeps its connection between groups; the server now closes it (as on a
    // failover or an administrator's restart), with every other connection of the service.
    let mut admin = h.pool.acquire().await.unwrap();
    let others = "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()";
    let terminated: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) {others}"
    )))
    .fetch_one(&mut *admin)
    .await
    .unwrap();
    assert!(terminated > 0, "the service had connections to close");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!("SELECT count(*) {others}")))
        .fetch_one(&mut *admin)
        .await
        .unwrap()
        > 0
    {
        assert!(std::time::Instant::now() < deadline, "the closed connections did not go away");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    drop(admin);

    let second = h.webhook(&p, &gig("g2", "w1", "2026-11-02T09:00:00Z", "2026-11-02T09:30:00Z", "6.00")).await;
    let status = second.status();
    assert_eq!(status, 202, "{}", second.text().await.unwrap());
    assert_eq!(h.count("SELECT count(*) FROM aggregation.activities").await, 2, "stored, and applied");
}

#[tokio::test]
async fn new_events_and_records_without_event_ids_are_stored_alike() {
    let h = Harness::start().await;
    let p = h.platform("eats", "gig_records", "Europe/Berlin", "EUR").await;
    let worker = h.link_new_worker("eats", "w1").await;
    let mut fresh = gig("g1", "w1", "2026-11-02T08:00:00Z", "2026-11-02T08:30:00Z", "7.50");
    fresh["event_id"] = json!("delivery-1");
    let plain = gig("g2", "w1", "2026-11-02T08:00:00Z", "2026-11-02T08:30:00Z", "7.50");
    for event in [&fresh, &plain] {
        assert_eq!(h.webhook(&p, event).await.status(), 202);
    }
    let rows: Vec<Value> = sqlx::query_scalar(
        "SELECT to_jsonb(a) - 'external_id' - 'recorded_at' FROM aggregation.activities a ORDER BY external_id",
    )
    .fetch_all(&h.pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0], rows[1]);
    assert_eq!(rows[0]["worker_id"], worker);
    let archived: Vec<(String, i32, String)> =
        sqlx::query_as("SELECT source, records, convert_from(body, 'UTF8') FROM aggregation.raw_archive ORDER BY id")
            .fetch_all(&h.pool)
            .await
            .unwrap();
    let bodies: Vec<Value> = archived.iter().map(|(_, _, b)| serde_json::from_str(b.trim_end()).unwrap()).collect();
    assert_eq!(archived.iter().map(|(s, n, _)| (s.as_str(), *n)).collect::<Vec<_>>(), [("webhook", 1), ("webhook", 1)]);
    assert_eq!((bodies[0]["id"].clone(), bodies[1]["id"].clone()), (json!("g1"), json!("g2")));
    let changes = h.changes().await;
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[0], changes[1], "the same activity.changed");
    let status: (i64, i64) = sqlx::query_as("SELECT accepted_total, rejected_total FROM aggregation.ingestion_status")
        .fetch_one(&h.pool)
        .await
        .unwrap();
    assert_eq!(status, (2, 0));
}

#[tokio::test]
async fn the_same_event_delivered_many_times_at_once_is_stored_once() {
    // Concurrent deliveries are all stored; applying them takes the event in once and
    // skips every other as a replay.
    let h = Harness::start().await;
    let p = h.platform("eats", "gig_records", "Europe/Berlin", "EUR").await;
    let worker = h.link_new_worker("eats", "w1").await;
    let mut event = gig("g1", "w1", "2026-11-02T08:00:00Z", "2026-11-02T08:30:00Z", "7.50");
    event["event_id"] = json!("delivery-1");
    futures::future::join_all((0..24).map(|_| async {
        assert_eq!(h.webhook(&p, &event).await.status(), 202);
    }))
    .await;
    let outcomes = h.status("eats").await["outcomes"].clone();
    assert_eq!((outcomes["inserted"].clone(), outcomes["duplicates"].clone()), (json!(1), json!(23)), "{outcomes}");
    assert_eq!(h.activities(&worker).await.len(), 1);
    assert_eq!(h.changes().await.len(), 1);
    assert_eq!(h.count("SELECT count(*) FROM aggregation.raw_archive").await, 1);
    assert_eq!(h.count("SELECT accepted_total FROM aggregation.ingestion_status").await, 1);
}

#[tokio::test]
async fn large_groups_of_new_events_and_of_events_mixed_with_replays_are_each_taken_in_once() {
    // A group of many new event ids is stored with a plain INSERT; one that meets a known id
    // falls back to the conflict-aware path. Both must take every new event in once and
    // skip every replay.
    let h = Harness::start().await;
    let p = h.platform("eats", "gig_records", "Europe/Berlin", "EUR").await;
    let worker = h.link_new_worker("eats", "w1").await;
    let event = |i: usize| {
        let (day, minute) = (1 + i / 100, (i % 100) * 10);
        let start = format!("2026-10-{day:02}T{:02}:{:02}:00Z", minute / 60, minute % 60);
        let end = format!("2026-10-{day:02}T{:02}:{:02}:00Z", minute / 60, minute % 60 + 5);
        let mut e = gig(&format!("g{i}"), "w1", &start, &end, "5.00");
        e["event_id"] = json!(format!("e{i}"));
        e
    };
    // Stored in one transaction under the writers' lock, as a writer stores a group: the
    // applier's horizon cannot fall among them, so they are applied as one group.
    let stored_as_one_group = async |events: std::ops::Range<usize>| {
        let mut tx = begin_as_a_writer(&h).await;
        for i in events {
            store_directly(&mut tx, "eats", &event(i)).await;
        }
        tx.commit().await.unwrap();
        h.applied().await;
    };
    // Ten events applied alone, then 300 new ones in one group.
    for i in 0..10 {
        assert_eq!(h.webhook(&p, &event(i)).await.status(), 202);
    }
    stored_as_one_group(10..310).await;
    let outcomes = h.status("eats").await["outcomes"].clone();
    assert_eq!((outcomes["inserted"].clone(), outcomes["duplicates"].clone()), (json!(310), json!(0)), "{outcomes}");
    // 300 more in one group, the first 20 of them replays of events taken in.
    stored_as_one_group(290..590).await;
    let outcomes = h.status("eats").await["outcomes"].clone();
    assert_eq!((outcomes["inserted"].clone(), outcomes["duplicates"].clone()), (json!(590), json!(20)), "{outcomes}");
    assert_eq!(h.count("SELECT count(*) FROM aggregation.webhook_events").await, 590);
    assert_eq!(h.activities(&worker).await.len(), 590);
    assert_eq!(h.count("SELECT count(*) FROM aggregation.activities WHERE version > 1").await, 0);
}

#[tokio::test]
async fn linking_and_unlinking_between_webhooks_attributes_each_record_to_the_link_of_its_time() {
    let h = Harness::start().await;
    let p = h.platform("eats", "gig_records", "Europe/Berlin", "EUR").await;
    let send = |id: &'static str, day: u32| {
        let mut event =
            gig(id, "w1", &format!("2026-11-{day:02}T08:00:00Z"), &format!("2026-11-{day:02}T08:30:00Z"), "5");
        event["event_id"] = json!(format!("event-{id}"));
        let (h, p) = (&h, &p);
        async move {
            let res = h.webhook(p, &event).await;
            assert_eq!(res.status(), 202, "{}", res.text().await.unwrap());
        }
    };
    send("g1", 2).await; // not linked yet: held
    let worker = h.link_new_worker("eats", "w1").await; // attributes g1
    send("g2", 3).await;
    send("g3", 4).await;
    assert_eq!(h.unlink(&worker, "eats", "w1").await.status(), 204);
    send("g4", 5).await; // unlinked again: held

    let attributed: Vec<String> =
        h.activities(&worker).await.iter().map(|a| a["external_id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(attributed, ["g1", "g2", "g3"]);
    let held: Vec<String> =
        sqlx::query_scalar("SELECT external_id FROM aggregation.activities WHERE worker_id IS NULL")
            .fetch_all(&h.pool)
            .await
            .unwrap();
    assert_eq!(held, ["g4"]);
    let days: Vec<Value> = h.changes().await.iter().map(|c| c["days"].clone()).collect();
    assert_eq!(
        days,
        [json!(["2026-11-02"]), json!(["2026-11-03"]), json!(["2026-11-04"])],
        "g4 is announced to no one"
    );
}

#[tokio::test]
async fn a_correction_is_a_new_version_and_a_retraction_withdraws_it() {
    let h = Harness::start().await;
    let p = h.platform("eats", "gig_records", "Europe/Berlin", "EUR").await;
    let worker = h.link_new_worker("eats", "w1").await;
    h.webhook(&p, &gig("g1", "w1", "2026-11-02T08:00:00Z", "2026-11-02T08:30:00Z", "7.50")).await;
    // The same content again (as a fresh delivery without an event id) changes nothing.
    h.webhook(&p, &gig("g1", "w1", "2026-11-02T08:00:00Z", "2026-11-02T08:30:00Z", "7.5")).await;
    assert_eq!(h.status("eats").await["outcomes"]["unchanged"], 1);
    assert_eq!(h.changes().await.len(), 1, "nothing to announce");
    // A corrected fare and time: a new version, the old kept; both days announced.
    h.webhook(&p, &gig("g1", "w1", "2026-11-03T08:00:00Z", "2026-11-03T08:40:00Z", "9.00")).await;
    assert_eq!(h.status("eats").await["outcomes"]["updated"], 1);
    let acts = h.activities(&worker).await;
    assert_eq!((acts[0]["pay"].clone(), acts[0]["version"].clone()), (json!("9.00"), json!(2)));
    assert_eq!(h.count("SELECT count(*) FROM aggregation.activity_history WHERE version = 1").await, 1);
    let last = h.changes().await.pop().unwrap();
    assert_eq!(last["days"], json!(["2026-11-02", "2026-11-03"]));

    h.webhook(&p, &json!({"id": "g1", "retracted": true})).await;
    assert_eq!(h.status("eats").await["outcomes"]["retracted"], 1);
    assert!(h.activities(&worker).await.is_empty(), "a retracted activity leaves the worker's hours");
    assert_eq!(h.changes().await.pop().unwrap()["days"], json!(["2026-11-03"]));
    // A retraction of an activity never sent is valid in itself: stored, then refused when
    // applied (nothing to withdraw), which the platform's status counts.
    let unknown = h.webhook(&p, &json!({"id": "never-sent", "retracted": true})).await;
    assert_eq!(unknown.status(), 202);
    assert_eq!(h.status("eats").await["rejected_total"], 1);
    assert_eq!(h.changes().await.len(), 3, "nothing announced for it");
}

#[tokio::test]
async fn bad_signatures_are_refused_and_nothing_is_written() {
    let h = Harness::start().await;
    let p = h.platform("eats", "gig_records", "Europe/Berlin", "EUR").await;
    let other = h.platform("other", "gig_records", "Europe/Berlin", "EUR").await;
    let event = gig("g1", "w1", "2026-11-02T08:00:00Z", "2026-11-02T08:30:00Z", "7.50");
    let now = chrono::Utc::now().timestamp();
    let cases = [
        ("wrong secret", h.webhook_signed("eats", "whsec_guess", &event, now).await, "bad_signature"),
        ("stale timestamp", h.webhook_signed("eats", &p.secret, &event, now - 330).await, "stale_signature"),
        ("future timestamp", h.webhook_signed("eats", &p.secret, &event, now + 330).await, "stale_signature"),
        ("another platform's secret", h.webhook_signed("eats", &other.secret, &event, now).await, "bad_signature"),
    ];
    for (case, res, code) in cases {
        assert_eq!(res.status(), 401, "{case}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], code, "{case}");
    }
    let unsigned = h
        .post("/v1/platforms/eats/events")
        .header("content-type", "application/json")
        .body(event.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);
    assert_eq!(unsigned.json::<Value>().await.unwrap()["code"], "missing_signature");
    let nowhere = h.webhook_signed("no-such-platform", &p.secret, &event, now).await;
    assert_eq!(nowhere.status(), 404);
    assert_eq!(h.count("SELECT count(*) FROM aggregation.activities").await, 0);
    assert_eq!(h.count("SELECT count(*) FROM aggregation.webhook_inbox").await, 0, "nothing stored");
}

#[tokio::test]
async fn invalid_events_are_refused_precisely_and_none_is_written() {
    let h = Harness::start().await;
    let p = h.platform("eats", "gig_records", "Europe/Berlin", "EUR").await;
    let base = || gig("g1", "w1", "2026-11-02T08:00:00Z", "2026-11-02T08:30:00Z", "7.50");
    let with = |k: &str, v: Value| {
        let mut e = base();
        e[k] = v;
        e
    };
    let future_start = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
    let future_end = (chrono::Utc::now() + chrono::Duration::hours(3)).to_rfc3339();
    let mut future = base();
    future["start_datetime"] = json!(future_start);
    future["end_datetime"] = json!(future_end);
    let mut usd = base();
    usd["income"]["currency"] = json!("XXY");
    let mut negative_pay = base();
    negative_pay["income"]["pay"] = json!("-1");
    let cases = [
        ("end before start", with("end_datetime", json!("2026-11-02T07:00:00Z")), "end"),
        ("over 24 h", with("end_datetime", json!("2026-11-03T09:00:00Z")), "end"),
        ("in the future", future, "end"),
        ("negative distance", with("distance", json!("-2")), "distance"),
        ("negative earnings", negative_pay, "income"),
        ("unknown currency", usd, "income.currency"),
        ("missing worker", with("worker", Value::Null), "worker"),
        ("wrong type", with("start_datetime", json!(true)), "start_datetime"),
    ];
    for (case, event, field) in cases {
        let res = h.webhook(&p, &event).await;
        assert_eq!(res.status(), 422, "{case}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["errors"][0]["field"], field, "{case}: {body}");
    }
    // In a list, the faulty event is located, and the valid one is not written either.
    let res = h.webhook(&p, &json!({"events": [base(), with("distance", json!("-2"))]})).await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.json::<Value>().await.unwrap()["errors"][0]["field"], "events[1].distance");
    let malformed = h.webhook_signed_raw(&p, b"{\"id\": ").await;
    assert_eq!(malformed.status(), 400);
    let huge = json!({"id": "g1", "padding": "x".repeat(1_100_000)});
    assert_eq!(h.webhook(&p, &huge).await.status(), 413);
    assert_eq!(h.count("SELECT count(*) FROM aggregation.activities").await, 0);
    assert_eq!(h.count("SELECT count(*) FROM aggregation.webhook_inbox").await, 0, "nothing stored");
}

/// Holds the applier's lock, as an applier does, so stored webhooks wait.
async fn hold_the_inbox(h: &Harness) -> sqlx::pool::PoolConnection<sqlx::Postgres> {
    let mut conn = h.pool.acquire().await.unwrap();
    sqlx::query("SELECT pg_advisory_lock(hashtext($1))").bind(APPLIER_LOCK).execute(&mut *conn).await.unwrap();
    conn
}

async fn release_the_inbox(mut conn: sqlx::pool::PoolConnection<sqlx::Postgres>) {
    sqlx::query("SELECT pg_advisory_unlock(hashtext($1))").bind(APPLIER_LOCK).execute(&mut *conn).await.unwrap();
}

/// A transaction holding the writers' lock (shared), as a writer holds it while it stores a
/// group: the applier's horizon waits for its commit.
async fn begin_as_a_writer(h: &Harness) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut tx = h.pool.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock_shared(hashtext($1))")
        .bind(WRITERS_LOCK)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx
}

/// Stores `event` for `platform` in the inbox as a writer would (one NDJSON line), on `conn`.
async fn store_directly(conn: &mut sqlx::PgConnection, platform: &str, event: &Value) {
    let mut records = serde_json::to_vec(event).unwrap();
    records.push(b'\n');
    sqlx::query("INSERT INTO aggregation.webhook_inbox (platform_id, received_at, records) VALUES ($1, now(), $2)")
        .bind(platform)
        .bind(records)
        .execute(conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_webhook_numbered_earlier_but_stored_later_is_applied_before_those_after_it() {
    let h = Harness::start().await;
    h.platform("eats", "gig_records", "Europe/Berlin", "EUR").await;
    let worker = h.link_new_worker("eats", "w1").await;
    let fare = |pay: &str| gig("g1", "w1", "2026-11-02T08:00:00Z", "2026-11-02T08:30:00Z", pay);
    // A writer numbers its row, then takes a while to commit, holding the writers' lock as
    // writers do; meanwhile a correction is numbered after it and committed.
    let mut slow = begin_as_a_writer(&h).await;
    store_directly(&mut slow, "eats", &fare("5.00")).await;
    store_directly(&mut h.pool.acquire().await.unwrap(), "eats", &fare("6.00")).await;
    // The applier (woken every second) waits for the slow writer instead of applying the
    // correction first.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(h.activities(&worker).await.is_empty(), "nothing applied past a row not yet committed");
    slow.commit().await.unwrap();
    h.applied().await;
    // Applied in the order numbered (together here, so the later one replaces the earlier
    // within the write): the correction wins.
    let acts = h.activities(&worker).await;
    assert_eq!((acts.len(), acts[0]["pay"].clone()), (1, json!("6.00")), "{acts:?}");
}

#[tokio::test]
async fn a_stored_webhook_is_pending_in_the_status_until_applied_and_webhooks_apply_in_the_order_received() {
    let h = Harness::start().await;
    let p = h.platform("eats", "gig_records", "Europe/Berlin", "EUR").await;
    let worker = h.link_new_worker("eats", "w1").await;
    let lock = hold_the_inbox(&h).await;
    let now = chrono::Utc::now().timestamp();
    // The same gig three times, corrected twice: the last one received must win.
    for pay in ["5.00", "6.00", "7.00"] {
        let mut event = gig("g1", "w1", "2026-11-02T08:00:00Z", "2026-11-02T08:30:00Z", pay);
        event["customer"] = json!({"name": "Erika Mustermann", "phone": "+49 170 1234567"});
        let res = h.webhook_signed(&p.id, &p.secret, &event, now).await;
        assert_eq!(res.status(), 202);
    }
    let stored: Vec<String> = sqlx::query_scalar("SELECT convert_from(records, 'UTF8') FROM aggregation.webhook_inbox")
        .fetch_all(&h.pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 3);
    assert!(
        stored.iter().all(|r| r.contains("\"g1\"") && !r.contains("Erika") && !r.contains("1234567")),
        "{stored:?}"
    );
    let status = h.status("eats").await;
    assert_eq!(status["pending_webhooks"], 3, "{status}");
    assert!(status["oldest_pending_received_at"].is_string(), "{status}");
    assert_eq!(status["outcomes"]["inserted"], 0);
    assert!(h.activities(&worker).await.is_empty(), "not applied while the inbox is held");

    release_the_inbox(lock).await;
    h.applied().await;
    let acts = h.activities(&worker).await;
    assert_eq!((acts.len(), acts[0]["pay"].clone()), (1, json!("7.00")), "{acts:?}");
    let status = h.status("eats").await;
    assert_eq!(
        (status["pending_webhooks"].clone(), status["oldest_pending_received_at"].clone()),
        (json!(0), Value::Null)
    );
    assert_eq!((status["outcomes"]["inserted"].clone(), status["outcomes"]["updated"].clone()), (json!(1), json!(2)));
}

#[tokio::test]
async fn a_webhook_stored_by_another_instance_or_before_a_crash_is_applied_once() {
    let h = Harness::start().await;
    h.platform("eats", "gig_records", "Europe/Berlin", "EUR").await;
    let worker = h.link_new_worker("eats", "w1").await;
    // Stored and answered, then the process died before applying it: only the row is left.
    let event = gig("g1", "w1", "2026-11-02T08:00:00Z", "2026-11-02T08:30:00Z", "7.50");
    store_directly(&mut h.pool.acquire().await.unwrap(), "eats", &event).await;
    // No wake-up came with it: the applier finds it on its own.
    h.applied().await;
    assert_eq!(h.activities(&worker).await.len(), 1);
    assert_eq!(h.count("SELECT count(*) FROM aggregation.webhook_inbox").await, 0);
    assert_eq!(h.changes().await.len(), 1);
    assert_eq!(h.status("eats").await["outcomes"]["inserted"], 1);
}

#[tokio::test]
async fn a_webhook_that_cannot_be_applied_is_kept_with_its_failure_and_the_others_are_applied() {
    let h = Harness::start().await;
    let p = h.platform("eats", "gig_records", "Europe/Berlin", "EUR").await;
    let worker = h.link_new_worker("eats", "w1").await;
    // A fault of our own that no retry mends: the database refuses one record.
    refuse_activities(&h, "NEW.external_id = 'poison'", "poisoned record").await;
    // Stored together, so they are applied together first.
    let lock = hold_the_inbox(&h).await;
    let now = chrono::Utc::now().timestamp();
    for id in ["before", "poison", "after"] {
        let event = gig(id, "w1", "2026-11-02T08:00:00Z", "2026-11-02T08:30:00Z", "5");
        assert_eq!(h.webhook_signed(&p.id, &p.secret, &event, now).await.status(), 202);
    }
    release_the_inbox(lock).await;
    h.applied().await;

    let applied: Vec<Value> = h.activities(&worker).await.iter().map(|a| a["external_id"].clone()).collect();
    assert_eq!(applied, [json!("after"), json!("before")]);
    let kept: Vec<(Vec<u8>, String)> =
        sqlx::query_as("SELECT records, failure FROM aggregation.webhook_inbox WHERE failed_at IS NOT NULL")
            .fetch_all(&h.pool)
            .await
            .unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(serde_json::from_slice::<Value>(&kept[0].0).unwrap()["id"], "poison");
    assert!(kept[0].1.contains("poisoned record"), "{}", kept[0].1);
    let status = h.status("eats").await;
    assert_eq!((status["pending_webhooks"].clone(), status["failed_webhooks"].clone()), (json!(0), json!(1)));
    assert_eq!(status["outcomes"]["inserted"], 2);

    // When nothing at all can be applied, and not for its data (an internal error here), the
    // fault is not the webhook's: it waits, and is applied once the database accepts it again.
    sqlx::query(
        "CREATE OR REPLACE FUNCTION aggregation.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION 'every record refused' USING ERRCODE = 'XX000'; END $$",
    )
    .execute(&h.pool)
    .await
    .unwrap();
    let event = gig("later", "w1", "2026-11-03T08:00:00Z", "2026-11-03T08:30:00Z", "5");
    assert_eq!(h.webhook_signed(&p.id, &p.secret, &event, chrono::Utc::now().timestamp()).await.status(), 202);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let status = h.status("eats").await;
    assert_eq!((status["pending_webhooks"].clone(), status["failed_webhooks"].clone()), (json!(1), json!(1)));
    sqlx::query("DROP TRIGGER refuse ON aggregation.activities").execute(&h.pool).await.unwrap();
    h.applied().await;
    assert_eq!(h.activities(&worker).await.len(), 3);
}

impl Harness {
    async fn webhook_signed_raw(&self, p: &crate::harness::Platform, bytes: &[u8]) -> reqwest::Response {
        let t = chrono::Utc::now().timestamp();
        let header = gigcover_kit::signature::sign(p.secret.as_bytes(), t, bytes);
        self.post(&format!("/v1/platforms/{}/events", p.id))
            .header("content-type", "application/json")
            .header("gigcover-signature", header)
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn webhooks_of_a_platform_that_cannot_be_read_are_kept_aside_and_the_others_applied() {
    let h = Harness::start().await;
    let p = h.platform("eats", "gig_records", "Europe/Berlin", "EUR").await;
    let worker = h.link_new_worker("eats", "w1").await;
    let lock = hold_the_inbox(&h).await;
    // A row whose platform the directory cannot give (there is no way to delete one; a
    // directory failure looks the same to the applier).
    store_directly(&mut h.pool.acquire().await.unwrap(), "ghost", &json!({"id": "x"})).await;
    let event = gig("g1", "w1", "2026-11-02T08:00:00Z", "2026-11-02T08:30:00Z", "5");
    assert_eq!(h.webhook_signed(&p.id, &p.secret, &event, chrono::Utc::now().timestamp()).await.status(), 202);
    release_the_inbox(lock).await;
    h.applied().await;
    assert_eq!(h.activities(&worker).await.len(), 1);
    let kept: Vec<(String, String)> =
        sqlx::query_as("SELECT platform_id, failure FROM aggregation.webhook_inbox WHERE failed_at IS NOT NULL")
            .fetch_all(&h.pool)
            .await
            .unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].0, "ghost");
    assert!(kept[0].1.contains("platform ghost could not be read"), "{}", kept[0].1);
}

#[tokio::test]
async fn a_backlog_of_several_groups_and_platforms_is_applied_group_by_group_in_order() {
    // Groups of two webhooks: each group resolves the platforms of its own webhooks only.
    let h = Harness::start_with(|c| c.with("aggregation.apply_max_webhooks", 2)).await;
    let eats = h.platform("eats", "gig_records", "Europe/Berlin", "EUR").await;
    let rides = h.platform("rides", "gig_records", "Europe/Berlin", "EUR").await;
    let eater = h.link_new_worker("eats", "w1").await;
    let rider = h.link_new_worker("rides", "r1").await;
    let lock = hold_the_inbox(&h).await;
    let now = chrono::Utc::now().timestamp();
    // eats fills the first groups; rides, a platform that cannot be read and a correction
    // of eats's first gig come only in later ones.
    for pay in ["5", "6", "7"] {
        let event = gig(&format!("e{pay}"), "w1", "2026-11-02T08:00:00Z", "2026-11-02T08:30:00Z", pay);
        assert_eq!(h.webhook_signed(&eats.id, &eats.secret, &event, now).await.status(), 202);
    }
    let ride = gig("r", "r1", "2026-11-02T09:00:00Z", "2026-11-02T09:30:00Z", "9");
    assert_eq!(h.webhook_signed(&rides.id, &rides.secret, &ride, now).await.status(), 202);
    store_directly(&mut h.pool.acquire().await.unwrap(), "ghost", &json!({"id": "x"})).await;
    let correction = gig("e5", "w1", "2026-11-02T08:00:00Z", "2026-11-02T08:30:00Z", "5.50");
    assert_eq!(h.webhook_signed(&eats.id, &eats.secret, &correction, now).await.status(), 202);
    release_the_inbox(lock).await;
    h.applied().await;

    let pay: Vec<(Value, Value)> =
        h.activities(&eater).await.iter().map(|a| (a["external_id"].clone(), a["pay"].clone())).collect();
    assert_eq!(pay, [(json!("e5"), json!("5.50")), (json!("e6"), json!("6")), (json!("e7"), json!("7"))]);
    assert_eq!(h.activities(&rider).await.len(), 1);
    let kept: Vec<String> =
        sqlx::query_scalar("SELECT platform_id FROM aggregation.webhook_inbox WHERE failed_at IS NOT NULL")
            .fetch_all(&h.pool)
            .await
            .unwrap();
    assert_eq!(kept, ["ghost"], "only the webhook of the platform that cannot be read is kept aside");
    let status = h.status("eats").await;
    assert_eq!((status["outcomes"]["inserted"].clone(), status["outcomes"]["updated"].clone()), (json!(3), json!(1)));
}

#[tokio::test]
async fn a_failed_webhook_set_to_apply_again_while_the_applier_waits_is_applied_with_the_rest() {
    let h = Harness::start().await;
    let eats = h.platform("eats", "gig_records", "Europe/Berlin", "EUR").await;
    let rides = h.platform("rides", "gig_records", "Europe/Berlin", "EUR").await;
    let eater = h.link_new_worker("eats", "w1").await;
    let rider = h.link_new_worker("rides", "r1").await;
    // A rides webhook the database refuses is set aside.
    refuse_activities(&h, "NEW.platform_id = 'rides'", "refused").await;
    let now = chrono::Utc::now().timestamp();
    let ride = gig("r", "r1", "2026-11-02T09:00:00Z", "2026-11-02T09:30:00Z", "9");
    assert_eq!(h.webhook_signed(&rides.id, &rides.secret, &ride, now).await.status(), 202);
    h.applied().await;
    assert_eq!(h.status("rides").await["failed_webhooks"], 1);
    sqlx::query("DROP TRIGGER refuse ON aggregation.activities").execute(&h.pool).await.unwrap();

    // The applier waits for its lock with the platforms of what was pending then resolved;
    // meanwhile eats sends, and the mended rides webhook is set to apply again (the runbook),
    // ahead of everything pending and of a platform the applier did not resolve.
    let lock = hold_the_inbox(&h).await;
    while !gigcover_testkit::db::advisory_lock_awaited(&mut h.pool.acquire().await.unwrap()).await.unwrap() {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let meal = gig("e", "w1", "2026-11-02T08:00:00Z", "2026-11-02T08:30:00Z", "5");
    assert_eq!(h.webhook_signed(&eats.id, &eats.secret, &meal, now).await.status(), 202);
    sqlx::query("UPDATE aggregation.webhook_inbox SET failed_at = NULL, failure = NULL WHERE platform_id = 'rides'")
        .execute(&h.pool)
        .await
        .unwrap();
    release_the_inbox(lock).await;
    h.applied().await;

    assert_eq!(h.activities(&rider).await.len(), 1);
    assert_eq!(h.activities(&eater).await.len(), 1);
    assert_eq!(h.count("SELECT count(*) FROM aggregation.webhook_inbox").await, 0, "nothing set aside again");
}

/// A fault of our own that no retry mends: the database refuses, with `message`, every
/// activity inserted where `condition` (on `NEW`) holds, until
/// `DROP TRIGGER refuse ON aggregation.activities`.
async fn refuse_activities(h: &Harness, condition: &str, message: &str) {
    for statement in [
        format!(
            "CREATE FUNCTION aggregation.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN IF {condition} THEN RAISE EXCEPTION '{message}'; END IF; RETURN NEW; END $$"
        ),
        "CREATE TRIGGER refuse BEFORE INSERT ON aggregation.activities
         FOR EACH ROW EXECUTE FUNCTION aggregation.refuse()"
            .to_owned(),
    ] {
        // The conditions and messages are the tests' own literals.
        sqlx::query(sqlx::AssertSqlSafe(statement)).execute(&h.pool).await.unwrap();
    }
}
