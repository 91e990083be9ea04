//! Claims end to end (the claims issue's full flow) on the real binary, a real PostgreSQL
//! and a real OTLP receiver: activity in, hours enriched, policies bound; an accident
//! during a delivery is verified as covered, one while offline is flagged; an income-loss
//! claim's benefit is computed to the cent from the worker's real average earnings; a
//! claim with work during the sick period is flagged; a duplicate is flagged; bad input is
//! refused; a late delivery record turns the offline claim's verification around; the
//! insurer reviews, approves and reports the payment; a missed deadline is a breach; and
//! the path from the platform's upload to the insurer's decision is one trace (the test
//! plays a client that propagates one W3C trace context; the services continue it across
//! HTTP calls and event feeds).
//!
//! Time passing is stood in for twice: the policies are moved to have started 60 days ago,
//! and one claim's decision deadline is moved into the past.

use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeZone as _, Utc};
use chrono_tz::Europe::Berlin;
use gigcover_e2e::{Gigcover, Scenario, WebhookReceiver, gig};
use gigcover_kit::ServiceName;
use gigcover_testkit::OtlpReceiver;
use serde_json::{Value, json};

fn at(day: NaiveDate, hour: u32, minute: u32) -> chrono::DateTime<Utc> {
    day.and_hms_opt(hour, minute, 0).unwrap().and_utc()
}

fn berlin_midnight(day: NaiveDate) -> chrono::DateTime<Utc> {
    Berlin.from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap()).unwrap().with_timezone(&Utc)
}

fn codes(claim: &Value) -> Vec<String> {
    claim["reasons"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn claims_are_verified_against_work_history_decided_and_paid_in_one_trace() {
    if gigcover_e2e::skip_without_postgres() {
        return;
    }
    let otlp = OtlpReceiver::start().await;
    let attachments = tempfile::tempdir().unwrap();
    let mut gc = Gigcover::serve(
        "all",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.endpoint()),
            ("OTEL_BSP_SCHEDULE_DELAY", "200".into()),
            ("GIGCOVER_CLAIMS__ATTACHMENT_LIMIT_BYTES", "4096".into()),
            ("GIGCOVER_CLAIMS__ATTACHMENTS_DIR", attachments.path().display().to_string()),
            ("GIGCOVER_CLAIMS__SLA_CHECK_SECS", "1".into()),
        ],
    );
    gc.wait_for_readyz(&ServiceName::ALL, 200, Duration::from_secs(120)).await;
    let s = Scenario::new(&gc).await;
    let claims = |p: &str| s.url(ServiceName::Claims, p);
    let worker = uuid::Uuid::now_v7().to_string();
    let me = s.worker_token(&worker);
    let acme = s.insurer_token("acme");
    s.platform("eats").await;
    s.link("eats", "e-1", &worker).await;

    // Two evening deliveries a day (6.00 pay + 1.50 tips each: 15.00 a day) from 40 to 12
    // days ago, and 2 and 3 days ago; nothing from 11 to 4 days ago.
    let today = Utc::now().with_timezone(&Berlin).date_naive();
    let ago = |d: i64| today - chrono::Duration::days(d);
    let mut records = Vec::new();
    for d in (12..=40).chain(2..=3) {
        for hour in [17, 18] {
            records.push(gig(&format!("g-{d}-{hour}"), "e-1", at(ago(d), hour, 0), 40, "6.00", "1.50"));
        }
    }
    s.records("eats", &records, None).await;

    // Accident cover and income protection from acme, bound and (time passing) started
    // 60 days ago.
    s.product(
        "acme",
        "accident",
        json!({"currency": "EUR",
        "basis": {"per_insured_hour": {"rate": "0.40", "definition": "job-plus-15m"}},
        "min_premium": "1", "max_premium": "100"}),
    )
    .await;
    s.product(
        "acme",
        "income_protection",
        json!({"currency": "EUR",
        "basis": {"income_protection": {"premium": "19.90", "benefit": {"percent": "60", "floor": "5", "cap": "80",
            "reference_weeks": 12, "min_insured_hours": "10", "min_jobs": 20, "waiting_days": 1, "max_days": 30}}},
        "min_premium": "5", "max_premium": "100", "claim_decision_hours": 48}),
    )
    .await;
    // acme takes its claim events by webhook; its receiver fails the first delivery.
    let receiver = WebhookReceiver::start(1);
    let res = s
        .http
        .post(claims("/v1/webhooks"))
        .bearer_auth(&acme)
        .json(&json!({"url": receiver.url()}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
    let hook: Value = res.json().await.unwrap();
    let secret = hook["secret"].as_str().unwrap().to_owned();
    let res = s
        .http
        .post(claims("/v1/webhooks"))
        .bearer_auth(&acme)
        .json(&json!({"url": "file:///etc/passwd"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let accident = s.bind(&worker, &s.quotes(&worker, "accident", Some("acme")).await[0]).await;
    let income = s.bind(&worker, &s.quotes(&worker, "income_protection", Some("acme")).await[0]).await;
    let started = Utc::now() - chrono::Duration::days(60);
    s.backdate_policy(&accident, started).await;
    s.backdate_policy(&income, started).await;

    let file = |key: String, body: Value| {
        s.http.post(claims("/v1/claims")).bearer_auth(&me).header("idempotency-key", key).json(&body).send()
    };
    let filed = |key: &'static str, body: Value| {
        let f = file(key.to_owned(), body);
        async move {
            let res = f.await.unwrap();
            assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
            res.json::<Value>().await.unwrap()
        }
    };
    let accident_at = |t: chrono::DateTime<Utc>| json!({"policy_id": accident["id"], "claim_type": "accident", "incident_at": t, "description": "Fell off the bike"});
    let sick = |from: i64, to: i64| {
        json!({"policy_id": income["id"], "claim_type": "income_loss", "period_start": berlin_midnight(ago(from)),
               "period_end": berlin_midnight(ago(to)), "description": "Flu", "bank_reference": "Claim flu November"})
    };

    // An accident during a delivery is covered, naming the platform.
    let covered = filed("a-1", accident_at(at(ago(2), 17, 20))).await;
    assert_eq!(covered["status"], "verified", "{covered}");
    assert_eq!(codes(&covered), ["policy_active", "type_covered", "insured_at_incident"]);
    assert!(covered["reasons"][2]["detail"].as_str().unwrap().contains("eats"));
    // One while offline is flagged.
    let offline = filed("a-2", accident_at(at(ago(3), 3, 0))).await;
    assert_eq!((offline["status"].as_str(), offline["recommendation"].as_str()), (Some("flagged"), Some("refer")));
    assert!(codes(&offline).contains(&"not_working_at_incident".to_owned()));

    // Sick from 10 to 7 days ago: eligible (58 jobs in the 8 weeks before), nothing worked
    // during it; 29 active days of 15.00 in the 12 weeks before: 60 % = 9.00 a day, for 4
    // days less 1 waiting day: 27.00.
    let flu = filed("i-1", sick(10, 6)).await;
    assert_eq!(flu["status"], "verified", "{flu}");
    let b = &flu["benefit"];
    let dec = |v: &Value| v.as_str().unwrap().parse::<rust_decimal::Decimal>().unwrap();
    assert_eq!((dec(&b["avg_daily_net"]), dec(&b["daily_benefit"])), (15.into(), 9.into()), "{b}");
    assert_eq!((b["incapacity_days"].as_u64(), b["payable_days"].as_u64()), (Some(4), Some(3)));
    assert_eq!(b["amount"], json!({"amount": "27.00", "currency": "EUR"}));
    // Sick while delivering: flagged, the days named.
    let worked = filed("i-2", sick(20, 16)).await;
    assert_eq!(worked["status"], "flagged");
    let conflict =
        worked["reasons"].as_array().unwrap().iter().find(|r| r["code"] == "activity_during_incapacity").unwrap();
    assert!(conflict["detail"].as_str().unwrap().contains(&ago(20).to_string()), "{conflict}");
    // The same sickness again: a possible duplicate.
    let again = filed("i-3", sick(10, 6)).await;
    assert!(codes(&again).contains(&"possible_duplicate".to_owned()), "{again}");
    assert_eq!(again["status"], "flagged");

    // Bad input: each refused, naming what is wrong.
    let refused = |key: &'static str, body: Value, status: u16, field: &'static str| {
        let f = file(key.to_owned(), body);
        async move {
            let res = f.await.unwrap();
            assert_eq!(res.status(), status, "{key}");
            let problem: Value = res.json().await.unwrap();
            if !field.is_empty() {
                assert_eq!(problem["errors"][0]["field"], field, "{key}: {problem}");
            }
        }
    };
    refused("b-1", accident_at(Utc::now() + chrono::Duration::hours(2)), 422, "incident_at").await;
    refused("b-2", sick(6, 10), 422, "period_end").await;
    refused("b-3", accident_at(Utc::now() - chrono::Duration::days(70)), 422, "policy_id").await;
    refused(
        "b-4",
        json!({"policy_id": income["id"], "claim_type": "accident", "incident_at": at(ago(2), 17, 20),
                          "description": "x"}),
        422,
        "claim_type",
    )
    .await;
    refused(
        "b-5",
        json!({"policy_id": accident["id"], "claim_type": "accident", "incident_at": at(ago(2), 17, 20),
                          "description": "x", "bank_reference": "DE89370400440532013000"}),
        422,
        "bank_reference",
    )
    .await;
    refused("a-1", accident_at(at(ago(3), 17, 20)), 409, "").await; // the key with another body
    let replay = file("a-1".into(), accident_at(at(ago(2), 17, 20))).await.unwrap();
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    let stranger = s.worker_token(&uuid::Uuid::now_v7().to_string());
    let res = s
        .http
        .post(claims("/v1/claims"))
        .bearer_auth(&stranger)
        .json(&accident_at(at(ago(2), 17, 20)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404, "another worker's policy is not confirmed");

    // Attachments: a PDF is kept (and the claim verified again); other types and
    // oversized files are refused.
    let offline_url = claims(&format!("/v1/claims/{}", offline["id"].as_str().unwrap()));
    let upload = |ct: &'static str, body: Vec<u8>| {
        s.http.post(format!("{offline_url}/attachments")).bearer_auth(&me).header("content-type", ct).body(body).send()
    };
    let res = upload("application/pdf", b"%PDF-1.7 police report".to_vec()).await.unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
    let attachment: Value = res.json().await.unwrap();
    assert_eq!(upload("text/html", b"<script>".to_vec()).await.unwrap().status(), 415);
    assert_eq!(upload("image/png", vec![0u8; 5000]).await.unwrap().status(), 413);
    let content = s
        .http
        .get(format!("{offline_url}/attachments/{}", attachment["id"].as_str().unwrap()))
        .bearer_auth(&acme)
        .send()
        .await
        .unwrap();
    assert_eq!(content.status(), 200);
    assert_eq!(content.bytes().await.unwrap().as_ref(), b"%PDF-1.7 police report");

    // One trace from here: the platform's late upload, enrichment, claims' re-verification
    // and the insurer's decision.
    let trace_id = format!("{:032x}", uuid::Uuid::now_v7().as_u128());
    let traceparent = format!("00-{trace_id}-{:016x}-01", rand::random::<u64>() | 1);
    // A late delivery record: the worker was on a job at the "offline" incident after all.
    s.records("eats", &[gig("g-late", "e-1", at(ago(3), 2, 40), 40, "8.00", "0")], Some(&traceparent)).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let reverified = loop {
        let c: Value = s.http.get(&offline_url).bearer_auth(&me).send().await.unwrap().json().await.unwrap();
        if c["status"] == "verified" {
            break c;
        }
        assert!(Instant::now() < deadline, "not re-verified: {c}\n{}", gc.logs());
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(codes(&reverified).contains(&"insured_at_incident".to_owned()));
    assert!(
        reverified["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["reason"].as_str().unwrap_or("").contains("late activity"))
    );

    // The insurer decides: another insurer cannot; an invalid move names the allowed ones;
    // a body cannot set the status.
    let act = |token: &str, body: Value| {
        s.http
            .post(format!("{offline_url}/actions"))
            .bearer_auth(token)
            .header("traceparent", &traceparent)
            .json(&body)
            .send()
    };
    assert_eq!(act(&s.insurer_token("zurich"), json!({"action": "start_review"})).await.unwrap().status(), 404);
    let res = act(&acme, json!({"action": "approve", "amount": "250.00"})).await.unwrap();
    assert_eq!(res.status(), 409);
    let problem: Value = res.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("allowed next: flagged, under_review"), "{problem}");
    let res = act(&acme, json!({"action": "start_review", "status": "paid"})).await.unwrap();
    assert!(matches!(res.status().as_u16(), 400 | 422), "{}", res.status());
    assert_eq!(act(&me, json!({"action": "start_review"})).await.unwrap().status(), 409, "the worker does not review");
    for step in
        [json!({"action": "start_review"}), json!({"action": "request_info", "note": "Please send the police report"})]
    {
        let res = act(&acme, step).await.unwrap();
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());
    }
    let res = act(&me, json!({"action": "provide_info", "note": "Attached as PDF"})).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(act(&acme, json!({"action": "approve", "amount": "250.001"})).await.unwrap().status(), 422);
    assert_eq!(
        act(&acme, json!({"action": "approve", "amount": "250.00", "note": "Covered"})).await.unwrap().status(),
        200
    );
    assert_eq!(
        act(&acme, json!({"action": "report_payment", "amount": "300.00", "payment_reference": "x"}))
            .await
            .unwrap()
            .status(),
        422
    );
    let res =
        act(&acme, json!({"action": "report_payment", "amount": "250.00", "payment_reference": "SEPA-2026-11-0042"}))
            .await
            .unwrap();
    assert_eq!(res.status(), 200);
    let paid: Value = res.json().await.unwrap();
    assert_eq!(paid["paid_amount"], json!({"amount": "250.00", "currency": "EUR"}));
    let history: Vec<(String, String)> = paid["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["status"].as_str().unwrap().to_owned(), h["actor"].as_str().unwrap().to_owned()))
        .collect();
    let expected = [
        ("submitted", "worker"),
        ("flagged", "system"),
        ("verified", "system"),
        ("under_review", "insurer"),
        ("needs_info", "insurer"),
        ("under_review", "worker"),
        ("approved", "insurer"),
        ("paid", "insurer"),
    ];
    assert_eq!(history, expected.map(|(a, b)| (a.to_owned(), b.to_owned())));
    let res = act(&acme, json!({"action": "close"})).await.unwrap();
    assert_eq!(res.status(), 200);

    // Workers see their own claims; another insurer sees none.
    let list = |token: String| {
        let url = claims("/v1/claims");
        let http = s.http.clone();
        async move { http.get(url).bearer_auth(token).send().await.unwrap().json::<Vec<Value>>().await.unwrap() }
    };
    assert_eq!(list(me.clone()).await.len(), 5);
    assert!(list(s.insurer_token("zurich")).await.is_empty());
    assert!(list(stranger.clone()).await.is_empty());

    // The worker's export holds their policies and claims (GDPR 15/20); an insurer cannot
    // read the cross-insurer view.
    let export: Value = s
        .http
        .get(s.url(ServiceName::Identity, &format!("/v1/workers/{worker}/export")))
        .bearer_auth(&me)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(export["insurance"]["policies"].as_array().map(Vec::len), Some(2), "{export}");
    assert_eq!(export["claims"].as_array().map(Vec::len), Some(5));
    let res = s
        .http
        .get(s.url(ServiceName::Claims, &format!("/v1/workers/{worker}/claims")))
        .bearer_auth(&acme)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    // A cancelled policy covers nothing after its cancellation.
    let res = s
        .http
        .post(s.url(ServiceName::Pricing, &format!("/v1/policies/{}/cancel", income["id"].as_str().unwrap())))
        .bearer_auth(&me)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let after_cancel = json!({"policy_id": income["id"], "claim_type": "income_loss",
        "period_start": Utc::now() + chrono::Duration::minutes(1), "period_end": Utc::now() + chrono::Duration::days(3),
        "description": "Back pain"});
    refused("b-6", after_cancel, 422, "policy_id").await;

    // A missed decision deadline is a breach, once, on the feed.
    sqlx::query("UPDATE claims.claims SET decision_due = now() - interval '1 second' WHERE id = $1")
        .bind(uuid::Uuid::parse_str(flu["id"].as_str().unwrap()).unwrap())
        .execute(&s.pool)
        .await
        .unwrap();
    let flu_url = claims(&format!("/v1/claims/{}", flu["id"].as_str().unwrap()));
    let deadline = Instant::now() + Duration::from_secs(20);
    while s.http.get(&flu_url).bearer_auth(&me).send().await.unwrap().json::<Value>().await.unwrap()["sla_breached"]
        != true
    {
        assert!(Instant::now() < deadline, "no breach marked");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let events: Vec<String> =
        sqlx::query_scalar("SELECT event_type FROM claims.outbox ORDER BY position").fetch_all(&s.pool).await.unwrap();
    for kind in ["claim.filed", "claim.verified", "claim.decided", "claim.paid", "claim.sla_breached"] {
        assert!(events.iter().any(|e| e == kind), "no {kind} in {events:?}");
    }
    assert_eq!(events.iter().filter(|e| *e == "claim.sla_breached").count(), 1);

    // acme's webhook got its events in feed order, signed, the first one retried after the
    // receiver's 500; no claim text in them; a replay delivers them again.
    let wanted = events.len();
    let deadline = Instant::now() + Duration::from_secs(30);
    let delivered = loop {
        let got: Vec<_> = receiver.received().into_iter().filter(|r| r.status == 200).collect();
        if got.len() >= wanted {
            break got;
        }
        assert!(Instant::now() < deadline, "{} of {wanted} delivered", got.len());
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let all = receiver.received();
    assert_eq!((all[0].status, all[1].status), (500, 200));
    assert_eq!(all[0].event_id, all[1].event_id, "the failed delivery is retried first");
    let now = Utc::now().timestamp();
    let mut last = 0;
    for r in &delivered {
        gigcover_kit::signature::verify(Some(&r.signature), &r.body, &[secret.as_bytes().to_vec()], now, 300).unwrap();
        let event: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(event["data"]["insurer_id"], "acme");
        assert!(event["position"].as_i64().unwrap() > last, "in feed order");
        last = event["position"].as_i64().unwrap();
        let text = String::from_utf8_lossy(&r.body);
        assert!(!text.contains("Flu") && !text.contains("Fell off"), "{text}");
    }
    let kinds: Vec<String> = delivered
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap()["type"].as_str().unwrap().to_owned())
        .collect();
    assert!(kinds.contains(&"claim.paid".to_owned()) && kinds.contains(&"claim.sla_breached".to_owned()), "{kinds:?}");
    let hook_url = claims(&format!("/v1/webhooks/{}", hook["id"].as_str().unwrap()));
    let res =
        s.http.post(format!("{hook_url}/replay")).bearer_auth(&acme).json(&json!({"after": 0})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = s
        .http
        .post(format!("{hook_url}/replay"))
        .bearer_auth(s.insurer_token("zurich"))
        .json(&json!({"after": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404, "another insurer's webhook is not confirmed");
    let deadline = Instant::now() + Duration::from_secs(30);
    while receiver.received().iter().filter(|r| r.status == 200).count() < delivered.len() * 2 {
        assert!(Instant::now() < deadline, "the replay did not deliver everything again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let attempts: Vec<Value> =
        s.http.get(format!("{hook_url}/attempts")).bearer_auth(&acme).send().await.unwrap().json().await.unwrap();
    assert!(attempts.iter().any(|a| a["status"] == 500));

    // The trace: the platform upload (aggregation), enrichment applying it, claims
    // re-verifying (reading the policy from pricing) and the insurer's decision.
    let spans = otlp
        .wait_for_spans(Duration::from_secs(20), |spans| {
            let in_trace = |svc: &str| spans.iter().any(|s| s.trace_id == trace_id && s.service == svc);
            ["aggregation", "enrichment", "claims", "pricing"].iter().all(|svc| in_trace(svc))
                && spans.iter().any(|s| {
                    s.trace_id == trace_id
                        && s.attributes.get("http.route").map(String::as_str) == Some("/v1/claims/{id}/actions")
                })
        })
        .await;
    let services: std::collections::BTreeSet<&str> =
        spans.iter().filter(|s| s.trace_id == trace_id).map(|s| s.service.as_str()).collect();
    assert!(services.is_superset(&["aggregation", "enrichment", "claims", "pricing"].into()), "{services:?}");
    // The insurer's decision is a server span of claims, cut by its tenant.
    let decision = spans
        .iter()
        .find(|s| {
            s.attributes.get("http.route").map(String::as_str) == Some("/v1/claims/{id}/actions")
                && s.attributes.get("http.response.status_code").map(String::as_str) == Some("200")
        })
        .unwrap();
    assert_eq!(decision.kind, 2, "a server span: {decision:?}");
    assert_eq!(decision.attributes.get("gigcover.tenant").map(String::as_str), Some("acme"), "{decision:?}");
    assert_eq!(decision.attributes.get("enduser.role").map(String::as_str), Some("insurer"), "{decision:?}");
    // No claim description or bank reference in any span.
    for span in &spans {
        for value in span.attributes.values() {
            assert!(!value.contains("Claim flu November") && !value.contains("Fell off the bike"), "{span:?}");
        }
    }
}
