//! The marketplace end to end on the real binary: a worker's activity flows from a
//! platform through aggregation and enrichment into quotes of two insurers, side by side
//! and explained to the cent; an insurer quotes a worker only with consent; tariffs with
//! problems are refused with every problem listed; insurers see only their own; a bound
//! policy's accident claim is verified against the work history.

use std::time::Duration;

use gigcover_e2e::Gigcover;
use gigcover_kit::ServiceName;
use gigcover_kit::auth::Role;
use gigcover_localpg::LocalPostgres;
use rust_decimal::Decimal;
use serde_json::{Value, json};

fn tariff(rate: &str) -> Value {
    json!({"currency": "EUR", "basis": {"per_insured_hour": {"rate": rate, "definition": "job-plus-15m"}},
           "factors": [{"input": "night_share", "bands": [{"from": "0", "factor": "1"}, {"from": "0.2", "factor": "1.25"}]}],
           "min_premium": "2.00", "max_premium": "200.00", "rounding": "half_up"})
}

#[tokio::test(flavor = "multi_thread")]
async fn two_insurers_quote_a_worker_side_by_side_explained_and_only_with_consent() {
    if gigcover_e2e::skip_without_postgres() {
        return;
    }
    let mut gc = Gigcover::serve("all", &[]);
    gc.wait_for_readyz(&ServiceName::ALL, 200, Duration::from_secs(120)).await;
    let http = gigcover_kit::client::http();
    let keys = &gc.keys;
    let agg = |p: &str| gc.url(ServiceName::Aggregation, p);
    let pricing = |p: &str| gc.url(ServiceName::Pricing, p);
    let worker = uuid::Uuid::now_v7().to_string();
    let worker_token = keys.token(Role::Worker, &worker, None);
    let platform = keys.token(Role::Platform, "client-eats", Some("eats"));

    // A week of evening deliveries in Berlin.
    let res = http
        .post(agg("/v1/platforms"))
        .bearer_auth(keys.ops_token())
        .json(&json!({"id": "eats", "name": "Eats", "category": "food_delivery", "adapter": "gig_records",
                      "market": {"country": "DE", "time_zone": "Europe/Berlin", "currency": "EUR"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    http.post(agg("/v1/platforms/eats/workers"))
        .bearer_auth(&platform)
        .json(&json!({"worker_ref": "e-1"}))
        .send()
        .await
        .unwrap();
    let code: Value = http
        .post(agg("/v1/platforms/eats/workers/e-1/link-codes"))
        .bearer_auth(&platform)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let res = http
        .post(agg(&format!("/v1/workers/{worker}/platform-accounts")))
        .bearer_auth(&worker_token)
        .json(&json!({"code": code["code"]}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let today = chrono::Utc::now().date_naive();
    let mut lines = String::new();
    for d in 1..=6 {
        let day = today - chrono::Duration::days(d);
        for (n, hour) in [18, 19, 21].iter().enumerate() {
            let rec = json!({"id": format!("g-{day}-{n}"), "worker": "e-1",
                "start_datetime": format!("{day}T{hour}:00:00Z"), "end_datetime": format!("{day}T{hour}:40:00Z"),
                "income": {"pay": "6.00"}});
            lines.push_str(&format!("{rec}\n"));
        }
    }
    let res = http
        .post(agg("/v1/platforms/eats/batches"))
        .bearer_auth(&platform)
        .header("content-type", "application/x-ndjson")
        .body(lines)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (pg, _) = LocalPostgres::ensure_running(&gc.data_dir()).unwrap();
    let pool = sqlx::PgPool::connect(&pg.url()).await.unwrap();
    gc.wait_for_enrichment(&pool, Duration::from_secs(60)).await;

    // Two insurers, one product each; a bad tariff is refused with all its problems.
    let acme = keys.token(Role::Insurer, "client-acme", Some("acme"));
    let zurich = keys.token(Role::Insurer, "client-zurich", Some("zurich"));
    let bad = json!({"kind": "accident", "name": "Broken", "tariff": {"currency": "EUR",
        "basis": {"per_insured_hour": {"rate": "-1", "definition": "job-plus-15m"}}, "min_premium": "5", "max_premium": "1"}});
    let res = http.post(pricing("/v1/products")).bearer_auth(&acme).json(&bad).send().await.unwrap();
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["errors"].as_array().unwrap().len(), 2, "{problem}");
    let mut products = Vec::new();
    for (token, rate) in [(&acme, "0.40"), (&zurich, "0.35")] {
        let res = http
            .post(pricing("/v1/products"))
            .bearer_auth(token)
            .json(&json!({"kind": "accident", "name": "Accident cover", "tariff": tariff(rate)}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        products.push(res.json::<Value>().await.unwrap());
    }
    let foreign = http
        .get(pricing(&format!("/v1/products/{}", products[1]["id"].as_str().unwrap())))
        .bearer_auth(&acme)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 404, "another insurer's product is not confirmed");
    // A version scheduled for tomorrow does not price today's quotes; a bad one is refused.
    let acme_product = pricing(&format!("/v1/products/{}", products[0]["id"].as_str().unwrap()));
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let res = http
        .post(format!("{acme_product}/tariffs"))
        .bearer_auth(&acme)
        .json(&json!({"tariff": tariff("9.99"), "effective_from": tomorrow}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(res.json::<Value>().await.unwrap()["version"], 2);
    let res = http
        .post(format!("{acme_product}/tariffs"))
        .bearer_auth(&zurich)
        .json(&json!({"tariff": tariff("0.10")}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404, "an insurer cannot publish for another's product");
    let current: Value = http.get(&acme_product).bearer_auth(&acme).send().await.unwrap().json().await.unwrap();
    assert_eq!(current["tariff_version"], 1, "version 2 takes effect tomorrow");

    // The worker's marketplace view: both, cheapest first, each explained to the cent.
    let res = http
        .post(pricing("/v1/quotes"))
        .bearer_auth(&worker_token)
        .json(&json!({"worker_id": worker, "kind": "accident"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let market: Value = res.json().await.unwrap();
    let quotes = market["quotes"].as_array().unwrap();
    assert_eq!(quotes.len(), 2);
    assert_eq!(quotes[0]["insurer_id"], "zurich", "{market}");
    for q in quotes {
        let premium: Decimal = q["premium"].as_str().unwrap().parse().unwrap();
        let sum: Decimal = q["explanation"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["amount"].as_str().unwrap().parse::<Decimal>().unwrap())
            .sum();
        assert_eq!(sum, premium, "{q}");
        assert!(premium > Decimal::new(200, 2), "priced on real hours, above the minimum: {q}");
        assert_eq!(q["explanation"][1]["item"], "night_share");
    }
    // The same inputs give the same premium.
    let again: Value = http
        .post(pricing("/v1/quotes"))
        .bearer_auth(&worker_token)
        .json(&json!({"worker_id": worker, "kind": "accident"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["quotes"][0]["premium"], quotes[0]["premium"]);
    // Idempotency-Key: a replay answers the first answer; the key with another body is refused.
    let keyed = |kind: &'static str| {
        http.post(pricing("/v1/quotes"))
            .bearer_auth(&worker_token)
            .header("idempotency-key", "market-1")
            .json(&json!({"worker_id": worker, "kind": kind}))
            .send()
    };
    let first: Value = keyed("accident").await.unwrap().json().await.unwrap();
    let replay = keyed("accident").await.unwrap();
    assert_eq!(replay.status(), 201);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.json::<Value>().await.unwrap(), first, "the same quotes, not new ones");
    assert_eq!(keyed("liability").await.unwrap().status(), 409);

    // An insurer needs the worker's consent; then gets only its own product.
    let ask = || {
        http.post(pricing("/v1/quotes"))
            .bearer_auth(&acme)
            .json(&json!({"worker_id": worker, "kind": "accident"}))
            .send()
    };
    assert_eq!(ask().await.unwrap().status(), 403);
    let res = http
        .put(gc.url(ServiceName::Identity, &format!("/v1/workers/{worker}/consents/acme")))
        .bearer_auth(&worker_token)
        .json(&json!({"scope": "hours"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mine: Value = ask().await.unwrap().json().await.unwrap();
    let insurers: Vec<&str> =
        mine["quotes"].as_array().unwrap().iter().map(|q| q["insurer_id"].as_str().unwrap()).collect();
    assert_eq!(insurers, vec!["acme"]);
    let zurich_quote = quotes[0]["id"].as_str().unwrap();
    let res = http.get(pricing(&format!("/v1/quotes/{zurich_quote}"))).bearer_auth(&acme).send().await.unwrap();
    assert_eq!(res.status(), 404, "another insurer's quote is not confirmed");
    let res = http.get(pricing(&format!("/v1/quotes/{zurich_quote}"))).bearer_auth(&worker_token).send().await.unwrap();
    assert_eq!(res.status(), 200);

    // Binding: the worker binds the cheapest quote once (binding again is the same policy);
    // the other insurer cannot see it; cancelling accident cover refunds nothing.
    let bind = || {
        http.post(pricing("/v1/policies")).bearer_auth(&worker_token).json(&json!({"quote_id": zurich_quote})).send()
    };
    let res = bind().await.unwrap();
    let failed: Vec<String> = gc.logs().lines().filter(|l| l.contains("ERROR")).map(str::to_owned).collect();
    assert_eq!(res.status(), 201, "{failed:?}");
    let policy: Value = res.json().await.unwrap();
    assert_eq!((policy["status"].as_str(), policy["insurer_id"].as_str()), (Some("active"), Some("zurich")));
    let res = bind().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["id"], policy["id"]);
    let policy_url = pricing(&format!("/v1/policies/{}", policy["id"].as_str().unwrap()));
    assert_eq!(http.get(&policy_url).bearer_auth(&acme).send().await.unwrap().status(), 404);

    // A claim: an accident during a job under the policy is verified against the work
    // history and recommended for approval; the same again is a possible duplicate; a type
    // the policy does not cover is refused.
    let bound_at: chrono::DateTime<chrono::Utc> = policy["starts_at"].as_str().unwrap().parse().unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let job = json!({"id": "g-now", "worker": "e-1",
        "start_datetime": (bound_at - chrono::Duration::minutes(20)).to_rfc3339(),
        "end_datetime": (bound_at + chrono::Duration::seconds(1)).to_rfc3339(), "income": {"pay": "6.00"}});
    let res = http
        .post(agg("/v1/platforms/eats/batches"))
        .bearer_auth(&platform)
        .header("content-type", "application/x-ndjson")
        .body(format!("{job}\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    gc.wait_for_enrichment(&pool, Duration::from_secs(60)).await;
    let claims = |p: &str| gc.url(ServiceName::Claims, p);
    let incident = (bound_at + chrono::Duration::milliseconds(500)).to_rfc3339();
    let file = |kind: &'static str, key: &'static str| {
        http.post(claims("/v1/claims"))
            .bearer_auth(&worker_token)
            .header("idempotency-key", key)
            .json(&json!({"policy_id": policy["id"], "claim_type": kind, "incident_at": incident,
                          "description": "Fell off the bike at a crossing"}))
            .send()
    };
    let res = file("accident", "claim-1").await.unwrap();
    let failed: Vec<String> = gc.logs().lines().filter(|l| l.contains("ERROR")).map(str::to_owned).collect();
    assert_eq!(res.status(), 201, "{failed:?}");
    let claim: Value = res.json().await.unwrap();
    let codes: Vec<&str> = claim["reasons"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap()).collect();
    assert_eq!(codes, vec!["policy_active", "type_covered", "insured_at_incident"], "{claim}");
    assert_eq!(claim["recommendation"], "approve");
    assert!(claim["reasons"][2]["detail"].as_str().unwrap().contains("eats"));
    let replay = file("accident", "claim-1").await.unwrap();
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    let again: Value = file("accident", "claim-2").await.unwrap().json().await.unwrap();
    assert_eq!(again["recommendation"], "refer");
    assert!(again["reasons"].as_array().unwrap().iter().any(|r| r["code"] == "possible_duplicate"));
    let equipment = file("equipment", "claim-3").await.unwrap();
    assert_eq!(equipment.status(), 422, "an accident policy does not cover equipment");
    let problem: Value = equipment.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "claim_type");
    let claim_url = claims(&format!("/v1/claims/{}", claim["id"].as_str().unwrap()));
    assert_eq!(http.get(&claim_url).bearer_auth(&acme).send().await.unwrap().status(), 404);
    let seen: Value = http.get(&claim_url).bearer_auth(&zurich).send().await.unwrap().json().await.unwrap();
    assert_eq!(seen["history"][0]["status"], "submitted");
    let bad = http
        .post(claims("/v1/claims"))
        .bearer_auth(&worker_token)
        .json(&json!({"policy_id": policy["id"], "claim_type": "accident", "description": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let other_policy = http
        .post(claims("/v1/claims"))
        .bearer_auth(keys.token(Role::Worker, &uuid::Uuid::now_v7().to_string(), None))
        .json(
            &json!({"policy_id": policy["id"], "claim_type": "accident", "incident_at": incident, "description": "x"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(other_policy.status(), 404, "another worker's policy is not confirmed");
    let res = http.post(format!("{policy_url}/cancel")).bearer_auth(&zurich).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let cancelled: Value = res.json().await.unwrap();
    assert_eq!((cancelled["status"].as_str(), cancelled["refund"].as_str()), (Some("cancelled"), Some("0")));
    assert_eq!(http.post(format!("{policy_url}/cancel")).bearer_auth(&zurich).send().await.unwrap().status(), 409);
    let events: Vec<String> =
        sqlx::query_scalar("SELECT event_type FROM pricing.outbox ORDER BY position").fetch_all(&pool).await.unwrap();
    assert!(
        events.contains(&"quote.created".to_owned())
            && events.ends_with(&["policy.bound".into(), "policy.cancelled".into()])
    );

    let other_worker = keys.token(Role::Worker, &uuid::Uuid::now_v7().to_string(), None);
    let res = http
        .post(pricing("/v1/quotes"))
        .bearer_auth(&other_worker)
        .json(&json!({"worker_id": worker, "kind": "accident"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}
