//! Cross-platform identity: activity held until the link arrives, codes used once,
//! unlinking stops new attribution without rewriting the past.

use serde_json::{Value, json};

use crate::harness::{Harness, gig};

#[tokio::test]
async fn activity_of_an_unlinked_account_is_held_then_attributed_when_the_link_arrives() {
    let h = Harness::start().await;
    let p = h.platform("eats", "gig_records", "Europe/Berlin", "EUR").await;
    h.webhook(&p, &gig("g1", "w1", "2026-11-02T08:00:00Z", "2026-11-02T08:30:00Z", "5")).await;
    h.webhook(&p, &gig("g2", "w1", "2026-11-06T08:00:00Z", "2026-11-06T08:30:00Z", "5")).await;
    assert!(h.changes().await.is_empty(), "held activity is announced to no one");
    let status: Value = h.ops(h.get("/v1/platforms/eats/ingestion")).send().await.unwrap().json().await.unwrap();
    assert_eq!(status["held"], 2);

    let worker = h.link_new_worker("eats", "w1").await;
    assert_eq!(h.activities(&worker).await.len(), 2);
    let changes = h.changes().await;
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0]["days"], json!(["2026-11-02", "2026-11-06"]));
}

#[tokio::test]
async fn all_platform_accounts_of_a_worker_resolve_to_them() {
    let h = Harness::start().await;
    let eats = h.platform("eats", "gig_records", "Europe/Berlin", "EUR").await;
    let rides = h.platform("rides", "gig_records", "Europe/Berlin", "EUR").await;
    let worker = uuid::Uuid::now_v7().to_string();
    h.link("eats", "e-77", &worker).await;
    h.link("rides", "r-12", &worker).await;
    h.webhook(&eats, &gig("g1", "e-77", "2026-11-02T08:00:00Z", "2026-11-02T08:30:00Z", "5")).await;
    h.webhook(&rides, &gig("g1", "r-12", "2026-11-02T08:10:00Z", "2026-11-02T08:50:00Z", "9")).await;
    let acts = h.activities(&worker).await;
    let platforms: Vec<&str> = acts.iter().map(|a| a["platform"].as_str().unwrap()).collect();
    assert_eq!(platforms, ["eats", "rides"]);
    let accounts: Value = h
        .as_worker(&worker, h.get(&format!("/v1/workers/{worker}/platform-accounts")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(accounts.as_array().unwrap().len(), 2);
}

async fn redeem(h: &Harness, worker: &str, code: String) -> reqwest::Response {
    h.as_worker(worker, h.post(&format!("/v1/workers/{worker}/platform-accounts")))
        .json(&json!({"code": code}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn wrong_expired_and_reused_codes_are_refused() {
    let h = Harness::start().await;
    h.platform("eats", "gig_records", "Europe/Berlin", "EUR").await;
    let worker = uuid::Uuid::now_v7().to_string();
    let redeem = |code: String| redeem(&h, &worker, code);
    assert_eq!(redeem("AAAA-BBBB-CCCC".into()).await.status(), 422);
    let code = h.link_code("eats", "w1").await;
    assert_eq!(redeem(code.clone()).await.status(), 201);
    let reused = redeem(code).await;
    assert_eq!(reused.status(), 422);
    assert_eq!(reused.json::<Value>().await.unwrap()["code"], "invalid_link_code");
    let late = h.link_code("eats", "w2").await;
    sqlx::query("UPDATE aggregation.link_codes SET expires_at = now() - interval '1 minute' WHERE redeemed_at IS NULL")
        .execute(&h.pool)
        .await
        .unwrap();
    assert_eq!(redeem(late).await.status(), 422);
    // An account linked to one worker cannot be claimed by another.
    let code = h.link_code("eats", "w1").await;
    let other = uuid::Uuid::now_v7().to_string();
    let res = h
        .as_worker(&other, h.post(&format!("/v1/workers/{other}/platform-accounts")))
        .json(&json!({"code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
}

#[tokio::test]
async fn unlinking_holds_new_activity_and_keeps_what_was_attributed() {
    let h = Harness::start().await;
    let p = h.platform("eats", "gig_records", "Europe/Berlin", "EUR").await;
    let worker = h.link_new_worker("eats", "w1").await;
    h.webhook(&p, &gig("g1", "w1", "2026-11-02T08:00:00Z", "2026-11-02T08:30:00Z", "5")).await;
    assert_eq!(h.unlink(&worker, "eats", "w1").await.status(), 204);
    h.webhook(&p, &gig("g2", "w1", "2026-11-03T08:00:00Z", "2026-11-03T08:30:00Z", "5")).await;
    let acts = h.activities(&worker).await;
    assert_eq!(acts.len(), 1, "the past stays, new activity is held");
    assert_eq!(acts[0]["external_id"], "g1");
    assert_eq!(h.count("SELECT count(*) FROM aggregation.activities WHERE worker_id IS NULL").await, 1);
}

#[tokio::test]
async fn a_worker_sees_only_their_own_activity() {
    let h = Harness::start().await;
    let p = h.platform("eats", "gig_records", "Europe/Berlin", "EUR").await;
    let worker = h.link_new_worker("eats", "w1").await;
    h.webhook(&p, &gig("g1", "w1", "2026-11-02T08:00:00Z", "2026-11-02T08:30:00Z", "5")).await;
    let snoop = uuid::Uuid::now_v7().to_string();
    let res = h
        .as_worker(
            &snoop,
            h.get(&format!("/v1/workers/{worker}/activities?from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z")),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404, "another worker's id is not confirmed");
    let res = h
        .as_platform(
            "eats",
            h.get(&format!("/v1/workers/{worker}/activities?from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z")),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let ops = h
        .ops(h.get(&format!("/v1/workers/{worker}/activities?from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z")))
        .send()
        .await
        .unwrap();
    assert_eq!(ops.status(), 200);
}

#[tokio::test]
async fn activities_page_with_a_cursor() {
    let h = Harness::start().await;
    let p = h.platform("eats", "gig_records", "Europe/Berlin", "EUR").await;
    let worker = h.link_new_worker("eats", "w1").await;
    let events: Vec<Value> = (0..5)
        .map(|i| {
            gig(
                &format!("g{i}"),
                "w1",
                &format!("2026-11-0{}T08:00:00Z", i + 1),
                &format!("2026-11-0{}T08:30:00Z", i + 1),
                "5",
            )
        })
        .collect();
    h.webhook(&p, &json!({"events": events})).await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url =
            format!("/v1/workers/{worker}/activities?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z&limit=2");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: Value = h.as_worker(&worker, h.get(&url)).send().await.unwrap().json().await.unwrap();
        seen.extend(
            page["activities"].as_array().unwrap().iter().map(|a| a["external_id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ["g0", "g1", "g2", "g3", "g4"]);
}

#[tokio::test]
async fn activity_written_while_its_account_is_being_linked_is_attributed_all_the_same() {
    // The race: a write reads the account unlinked and stores its activity held; the link
    // commits before that write does, so the link's own attribution cannot see the row.
    // The sweep of linked accounts' held activity attributes it (every second here).
    let h = Harness::start_with(|c| c.with("aggregation.held_sweep_secs", 1)).await;
    let p = h.platform("eats", "gig_records", "Europe/Berlin", "EUR").await;
    // The platform's status row exists once something was written; the test holds it below
    // to keep the next write from committing.
    h.webhook(&p, &gig("g0", "w0", "2026-11-01T08:00:00Z", "2026-11-01T08:30:00Z", "5")).await;
    let code = h.link_code("eats", "w1").await;
    let worker = uuid::Uuid::now_v7().to_string();

    let mut blocker = h.pool.begin().await.unwrap();
    let blocker_pid: i32 = sqlx::query_scalar(
        "SELECT pg_backend_pid() FROM aggregation.ingestion_status WHERE platform_id = 'eats' FOR UPDATE",
    )
    .fetch_one(&mut *blocker)
    .await
    .unwrap();
    let mut event = gig("g1", "w1", "2026-11-02T08:00:00Z", "2026-11-02T08:30:00Z", "5");
    event["event_id"] = json!("event-g1");
    let write = h.webhook(&p, &event);
    let link_meanwhile = async {
        // The write has read the account (unlinked) and waits for the status row.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let waiting = format!("SELECT count(*) FROM pg_stat_activity WHERE {blocker_pid} = ANY(pg_blocking_pids(pid))");
        while h.count(&waiting).await == 0 {
            assert!(std::time::Instant::now() < deadline, "the write never waited for the status row");
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert_eq!(redeem(&h, &worker, code).await.status(), 201);
        blocker.commit().await.unwrap();
    };
    let (written, ()) = tokio::join!(write, link_meanwhile);
    assert_eq!(written.status(), 202);

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while h.activities(&worker).await.is_empty() {
        assert!(std::time::Instant::now() < deadline, "the activity stayed held though its account is linked");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Later sweeps find nothing more to attribute: announced once.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let changes = h.changes().await;
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!((changes[0]["worker_id"].clone(), changes[0]["days"].clone()), (json!(worker), json!(["2026-11-02"])));
    assert_eq!(
        h.count("SELECT count(*) FROM aggregation.activities WHERE worker_id IS NULL").await,
        1,
        "w0 stays held"
    );
}
