//! From platform activity to hours: three platforms overlapping, a correction, a
//! retraction, a late day; incremental results equal a full recompute and a replay.

use gigcover_kit::auth::Role;
use serde_json::{Value, json};

use crate::harness::Harness;

const DAY: &str = "2026-11-10";

fn gig(id: &str, worker: &str, start: &str, end: &str, pay: &str) -> Value {
    json!({"id": id, "worker": worker, "start_datetime": start, "end_datetime": end, "distance": "5",
           "income": {"pay": pay, "tips": "2.00", "fees": "1.00"}})
}

fn shift(id: &str, kind: &str, at: &str) -> Value {
    json!({"event_id": id, "type": kind, "worker_id": "z-1", "shift_id": "s-1", "timestamp": at})
}

/// One worker on three Berlin platforms (UTC+1 in November): eats and rides send only jobs,
/// zego sends shifts.
async fn three_platforms() -> (Harness, String) {
    let h = Harness::start().await;
    let worker = uuid::Uuid::now_v7().to_string();
    for (p, adapter) in [("eats", "gig_records"), ("rides", "gig_records"), ("zego", "shifts")] {
        h.platform(p, adapter, "Europe/Berlin", "EUR").await;
    }
    h.link("eats", "e-1", &worker).await;
    h.link("rides", "r-1", &worker).await;
    h.link("zego", "z-1", &worker).await;
    // Local 10:00-11:00 on eats, 10:30-11:30 on rides, online on zego 09:00-12:00.
    h.records("eats", &[gig("g1", "e-1", "2026-11-10T09:00:00Z", "2026-11-10T10:00:00Z", "10.00")]).await;
    h.records("rides", &[gig("r1", "r-1", "2026-11-10T09:30:00Z", "2026-11-10T10:30:00Z", "8.00")]).await;
    h.records(
        "zego",
        &[shift("a", "shift.login", "2026-11-10T08:00:00Z"), shift("b", "shift.logout", "2026-11-10T11:00:00Z")],
    )
    .await;
    h.settle().await;
    (h, worker)
}

async fn day(h: &Harness, worker: &str, query: &str) -> Value {
    let token = h.worker_token(worker);
    let v = h.get_json(&token, &format!("/v1/workers/{worker}/hours?from={DAY}&to={DAY}{query}")).await;
    v["periods"][0].clone()
}

#[tokio::test]
async fn three_overlapping_platforms_count_each_hour_once_and_attribute_it() {
    let (h, worker) = three_platforms().await;
    let d = day(&h, &worker, "&definition=job-plus-15m").await;
    assert_eq!(d["start"], DAY);
    assert_eq!(d["online_hours"], "3", "{d}");
    assert_eq!(d["engaged_hours"], "1.5");
    assert_eq!(d["multi_app_hours"], "1.5");
    assert_eq!(d["online_inferred"], true);
    assert_eq!(d["jobs"], 2);
    assert_eq!(d["insured_hours"], "1.75", "10:00 to 15 minutes after 11:30");
    let platforms: Vec<(String, String)> = d["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["platform"].as_str().unwrap().to_owned(), p["online_hours"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        platforms,
        vec![("eats".into(), "0.75".into()), ("rides".into(), "0.75".into()), ("zego".into(), "1.5".into())]
    );
    let eur = &d["earnings"][0];
    assert_eq!(
        (eur["currency"].as_str(), eur["pay"].as_str(), eur["net"].as_str()),
        (Some("EUR"), Some("18.00"), Some("20.00"))
    );
    assert_eq!(eur["net_per_engaged_hour"], "13.33");

    // At an instant: 10:45 local both jobs run; 11:40 only zego, still insured (15 min
    // after 11:30); 11:50 not insured under that definition, online under any-online.
    let token = h.worker_token(&worker);
    let at = |t: &str| format!("/v1/workers/{worker}/activity-at?t={t}");
    let a = h.get_json(&token, &at("2026-11-10T09:45:00Z")).await;
    assert_eq!(a["platforms_engaged"], json!(["eats", "rides"]));
    assert_eq!(a["platforms_online"], json!(["eats", "rides", "zego"]));
    let insured = |v: &Value, def: &str| {
        v["insured"].as_array().unwrap().iter().find(|i| i["definition"] == def).unwrap()["insured"].clone()
    };
    let b = h.get_json(&token, &at("2026-11-10T10:40:00Z")).await;
    assert_eq!((b["engaged"].clone(), b["online"].clone()), (json!(false), json!(true)));
    assert_eq!(insured(&b, "job-plus-15m@1"), true);
    let c = h.get_json(&token, &at("2026-11-10T10:50:00Z")).await;
    assert_eq!(insured(&c, "job-plus-15m@1"), false);
    assert_eq!(insured(&c, "any-online@1"), true);

    // The rolling profile over 4 weeks ending that day.
    let p = h.get_json(&token, &format!("/v1/workers/{worker}/profile?as_of={DAY}")).await;
    assert_eq!(p["last_4_weeks"]["avg_weekly_engaged_hours"], "0.38", "{p}");
    assert_eq!(p["last_4_weeks"]["active_days"], 1);
    assert_eq!(p["last_4_weeks"]["platforms"], 3);
    assert_eq!(p["last_4_weeks"]["regularity"], "0.25");
    assert_eq!(p["last_12_weeks"]["weeks"], 12);
}

#[tokio::test]
async fn corrections_retractions_and_late_days_recompute_exactly_what_a_full_recompute_gives() {
    let (h, worker) = three_platforms().await;
    // A correction moves rides to 13:00-14:00 local.
    h.records("rides", &[gig("r1", "r-1", "2026-11-10T12:00:00Z", "2026-11-10T13:00:00Z", "8.00")]).await;
    h.settle().await;
    let d = day(&h, &worker, "").await;
    assert_eq!((d["online_hours"].as_str(), d["engaged_hours"].as_str()), (Some("4"), Some("2")), "{d}");
    assert_eq!(d["multi_app_hours"], "1");
    // A retraction removes eats from the worker's hours.
    h.records("eats", &[json!({"id": "g1", "retracted": true})]).await;
    h.settle().await;
    let d = day(&h, &worker, "").await;
    assert_eq!((d["online_hours"].as_str(), d["engaged_hours"].as_str()), (Some("4"), Some("1")), "{d}");
    assert_eq!(d["earnings"][0]["pay"], "8.00");

    // A job a week late touches its own days only.
    let before: String = sqlx::query_scalar("SELECT d::text FROM enrichment.worker_days d WHERE day = '2026-11-10'")
        .fetch_one(&h.pool)
        .await
        .unwrap();
    h.records("eats", &[gig("g0", "e-1", "2026-11-03T19:00:00Z", "2026-11-03T20:00:00Z", "6.00")]).await;
    h.settle().await;
    let after: String = sqlx::query_scalar("SELECT d::text FROM enrichment.worker_days d WHERE day = '2026-11-10'")
        .fetch_one(&h.pool)
        .await
        .unwrap();
    assert_eq!(before, after);
    let late = h
        .get_json(
            &h.worker_token(&worker),
            &format!("/v1/workers/{worker}/hours?from=2026-11-01&to=2026-11-30&granularity=month"),
        )
        .await;
    assert_eq!(late["periods"][0]["engaged_hours"], "2");
    assert_eq!(late["periods"][0]["active_days"], 2);

    // Everything from scratch gives the same bytes.
    let incremental = h.days_dump().await;
    let res = h
        .enrichment
        .http
        .post(h.enrichment.url("/v1/recompute"))
        .bearer_auth(h.enrichment.keys.ops_token())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(h.days_dump().await, incremental);

    // Applying every event again (cursor and inbox reset) changes nothing either, and
    // rewrites no row (the transaction that last wrote each row is still the same).
    let writers = "SELECT string_agg(xmin::text, ',' ORDER BY worker_id, day) FROM enrichment.worker_days
                   UNION ALL
                   SELECT string_agg(xmin::text, ',' ORDER BY worker_id, platform_id, external_id) FROM enrichment.intervals";
    let written: Vec<String> = sqlx::query_scalar(writers).fetch_all(&h.pool).await.unwrap();
    sqlx::query("DELETE FROM enrichment.inbox").execute(&h.pool).await.unwrap();
    sqlx::query("UPDATE enrichment.feed_cursors SET position = 0").execute(&h.pool).await.unwrap();
    h.settle().await;
    assert_eq!(h.days_dump().await, incremental);
    assert_eq!(sqlx::query_scalar::<_, String>(writers).fetch_all(&h.pool).await.unwrap(), written);
    let hours_changed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM enrichment.outbox WHERE event_type = 'hours.changed'")
            .fetch_one(&h.pool)
            .await
            .unwrap();
    assert!(hours_changed >= 6, "each applied change is announced");
}

#[tokio::test]
async fn who_may_read_and_what_bad_queries_get() {
    let (h, worker) = three_platforms().await;
    let path = format!("/v1/workers/{worker}/hours?from={DAY}&to={DAY}");
    let insurer = h.enrichment.keys.token(Role::Insurer, "client-acme", Some("acme"));
    assert_eq!(h.get(&insurer, &path).await.status(), 403, "no consent, no hours");
    let other = h.worker_token(&uuid::Uuid::now_v7().to_string());
    assert_eq!(h.get(&other, &path).await.status(), 404);
    assert_eq!(h.get(&h.enrichment.keys.ops_token(), &path).await.status(), 200);
    let res = h.enrichment.http.get(h.enrichment.url(&path)).send().await.unwrap();
    assert_eq!(res.status(), 401);

    let token = h.worker_token(&worker);
    for (query, status, needle) in [
        ("from=2026-11-10&to=2026-11-01", 400, "to must not be before from"),
        ("from=2025-01-01&to=2026-11-01", 400, "at most 400 days"),
        ("from=2026-11-10", 400, "to"),
        ("from=2026-11-10&to=2026-11-10&granularity=year", 400, "granularity"),
        ("from=2026-11-10&to=2026-11-10&definition=nope", 404, "nope"),
    ] {
        let res = h.get(&token, &format!("/v1/workers/{worker}/hours?{query}")).await;
        assert_eq!(res.status(), status, "{query}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let body = res.text().await.unwrap();
        assert!(body.contains(needle), "{query}: {body}");
    }
    let res = h.get(&token, &format!("/v1/workers/{worker}/activity-at?t=yesterday")).await;
    assert_eq!(res.status(), 400);

    // The worker's own statement as CSV.
    let res = h.get(&token, &format!("/v1/workers/{worker}/hours.csv?from={DAY}&to={DAY}")).await;
    assert_eq!(res.status(), 200);
    let csv = res.text().await.unwrap();
    assert!(csv.starts_with("period_start,time_zone,online_hours"), "{csv}");
    assert!(csv.contains("2026-11-10,Europe/Berlin,3,1.5,1.5"), "{csv}");
}

#[tokio::test]
async fn definitions_are_versioned_data_and_checked() {
    let h = Harness::start().await;
    let post = |token: String, body: Value| {
        h.enrichment.http.post(h.enrichment.url("/v1/insured-time-definitions")).bearer_auth(token).json(&body).send()
    };
    let ops = h.enrichment.keys.ops_token();
    let spec = json!({"name": "job-plus-15m", "description": "now 20 minutes", "spec": {"basis": "engaged", "extend_after_secs": 1200}});
    let res = post(ops.clone(), spec.clone()).await.unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(res.json::<Value>().await.unwrap()["version"], 2);
    let worker = h.worker_token(&uuid::Uuid::now_v7().to_string());
    assert_eq!(post(worker, spec).await.unwrap().status(), 403);
    let bad = json!({"name": "Bad Name", "description": "", "spec": {"basis": "engaged", "min_block_secs": 99999}});
    let res = post(ops.clone(), bad).await.unwrap();
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, vec!["min_block_secs", "name", "description"]);
    let unknown = json!({"name": "x", "description": "x", "spec": {"basis": "sometimes"}});
    assert_eq!(post(ops, unknown).await.unwrap().status(), 422);
    let list = h.get_json(&h.enrichment.keys.ops_token(), "/v1/insured-time-definitions").await;
    let v2 = list.as_array().unwrap().iter().find(|d| d["name"] == "job-plus-15m").unwrap();
    assert_eq!(v2["version"], 2);
}

#[tokio::test]
async fn an_insurer_reads_only_with_consent_of_the_right_scope_and_every_read_is_recorded() {
    let (h, worker) = three_platforms().await;
    let acme = h.enrichment.keys.token(Role::Insurer, "client-acme", Some("acme"));
    let other = h.enrichment.keys.token(Role::Insurer, "client-zurich", Some("zurich"));
    let hours = format!("/v1/workers/{worker}/hours?from={DAY}&to={DAY}");
    let at = format!("/v1/workers/{worker}/activity-at?t=2026-11-10T09:45:00Z");
    let statement = format!("/v1/workers/{worker}/hours.csv?from={DAY}&to={DAY}");
    let profile = format!("/v1/workers/{worker}/profile?as_of={DAY}");
    let activities = format!("/v1/workers/{worker}/activities?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z");
    let agg_get = |token: String| h.aggregation.http.get(h.aggregation.url(&activities)).bearer_auth(token).send();
    assert_eq!(h.get(&acme, &hours).await.status(), 403);

    // `hours`: hours and profiles, no earnings, no activity detail.
    h.consent(&worker, "acme", "hours").await;
    let v = h.get_json(&acme, &hours).await;
    assert_eq!(v["periods"][0]["engaged_hours"], "1.5");
    assert_eq!(v["earnings_included"], false);
    assert_eq!(v["periods"][0]["earnings"], json!([]));
    let p = h.get_json(&acme, &profile).await;
    assert_eq!(p["last_4_weeks"]["earnings"], json!([]));
    assert_eq!(h.get(&acme, &statement).await.status(), 403, "earnings need hours_and_earnings");
    assert_eq!(h.get(&acme, &at).await.status(), 403, "activity detail needs activity_detail");
    assert_eq!(agg_get(acme.clone()).await.unwrap().status(), 403, "aggregation checks the same way");
    assert_eq!(h.get(&other, &hours).await.status(), 403, "a grant is for one insurer");

    // Widened to activity_detail: everything.
    h.consent(&worker, "acme", "activity_detail").await;
    assert_eq!(h.get_json(&acme, &hours).await["periods"][0]["earnings"][0]["pay"], "18.00");
    assert_eq!(h.get(&acme, &at).await.status(), 200);
    assert_eq!(h.get(&acme, &statement).await.status(), 200);
    assert_eq!(agg_get(acme.clone()).await.unwrap().status(), 200);

    // Revoked: the very next request is refused.
    h.revoke(&worker, "acme").await;
    assert_eq!(h.get(&acme, &hours).await.status(), 403);
    assert_eq!(agg_get(acme.clone()).await.unwrap().status(), 403);

    // The worker sees every change and every read.
    let token = h.worker_token(&worker);
    let get = |path: String| h.identity.http.get(h.identity.url(&path)).bearer_auth(&token).send();
    let audit: Value = get(format!("/v1/workers/{worker}/consents/audit")).await.unwrap().json().await.unwrap();
    let actions: Vec<&str> = audit.as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["granted", "changed", "revoked"]);
    let reads: Value = get(format!("/v1/workers/{worker}/access-log")).await.unwrap().json().await.unwrap();
    let reads = reads.as_array().unwrap();
    assert_eq!(reads.len(), 6, "hours, profile, hours, activity-at, statement, activities: {reads:?}");
    assert!(reads.iter().all(|r| r["insurer_id"] == "acme"));
    assert!(reads.iter().any(|r| r["service"] == "aggregation" && r["resource"] == "GET /v1/workers/{id}/activities"));
    // Nobody else manages a worker's consent.
    let res = h
        .identity
        .http
        .put(h.identity.url(&format!("/v1/workers/{worker}/consents/acme")))
        .bearer_auth(&acme)
        .json(&json!({"scope": "activity_detail"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn a_full_recompute_that_cannot_take_the_table_gives_up_and_changes_nothing() {
    let (h, _worker) = three_platforms().await;
    let before = h.days_dump().await;
    assert!(!before.is_empty());
    // A long read of the stored days holds the table the recompute would replace.
    let mut reader = h.pool.begin().await.unwrap();
    sqlx::query("SELECT count(*) FROM enrichment.worker_days").execute(&mut *reader).await.unwrap();
    let ops = h.enrichment.keys.ops_token();
    let res = h.enrichment.http.post(h.enrichment.url("/v1/recompute")).bearer_auth(&ops).send().await.unwrap();
    assert_eq!(res.status(), 503);
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["code"], "busy", "{problem}");
    reader.rollback().await.unwrap();
    assert_eq!(h.days_dump().await, before);
    let leftover: Option<String> =
        sqlx::query_scalar("SELECT to_regclass('enrichment.worker_days_next')::text").fetch_one(&h.pool).await.unwrap();
    assert_eq!(leftover, None, "the new table is rolled back with the rest");
    // Once the reader is gone, the same request succeeds with the same days.
    let res = h.enrichment.http.post(h.enrichment.url("/v1/recompute")).bearer_auth(&ops).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(h.days_dump().await, before);
    // The new table's primary key, added after its rows, is the old one under the old name.
    let key: Vec<(String, String)> = sqlx::query_as(
        "SELECT conname::text, pg_get_constraintdef(oid) FROM pg_constraint
         WHERE conrelid = 'enrichment.worker_days'::regclass AND contype = 'p'",
    )
    .fetch_all(&h.pool)
    .await
    .unwrap();
    assert_eq!(key, [("worker_days_pkey".to_owned(), "PRIMARY KEY (worker_id, day)".to_owned())]);
}
