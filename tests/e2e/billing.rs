//! Usage-based billing end to end (the pricing issue's full flow): activity in, hours
//! enriched, quotes from two insurers, a bound per-hour policy, a monthly statement from the
//! actual insured hours, finalised once its month closed; a late event then becomes an
//! adjustment on the next statement while the final one never changes. Also: renewal,
//! cancellation stops the billing, an income protection quote's benefit follows the
//! worker's earnings, and a worker without history gets a clear 422.
//!
//! Time passing is stood in for by one set-up step: the policy is moved to have started at
//! the first of last month (local), so last month is closed (the grace period is 0 here).

use std::time::Duration;

use chrono::{Datelike, NaiveDate, TimeZone as _};
use chrono_tz::Europe::Berlin;
use gigcover_e2e::{Gigcover, Scenario, gig};
use gigcover_kit::ServiceName;
use rust_decimal::Decimal;
use serde_json::{Value, json};

fn accident(rate: &str) -> Value {
    json!({"currency": "EUR", "basis": {"per_insured_hour": {"rate": rate, "definition": "job-plus-15m"}},
           "min_premium": "1.00", "max_premium": "200.00", "rounding": "half_up"})
}

fn dec(v: &Value) -> Decimal {
    v.as_str().unwrap_or_else(|| panic!("not a decimal string: {v}")).parse().unwrap()
}

/// 17:00 UTC on a local day (evening in Berlin, the same date).
fn evening(day: NaiveDate, hour: u32) -> chrono::DateTime<chrono::Utc> {
    day.and_hms_opt(hour, 0, 0).unwrap().and_utc()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_month_of_insured_hours_is_billed_finalised_and_adjusted_by_a_late_event() {
    if gigcover_e2e::skip_without_postgres() {
        return;
    }
    let mut gc = Gigcover::serve(
        "all",
        &[
            ("GIGCOVER_PRICING__STATEMENT_GRACE_HOURS", "0".into()),
            ("GIGCOVER_PRICING__STATEMENT_CHECK_SECS", "3600".into()),
        ],
    );
    gc.wait_for_readyz(&ServiceName::ALL, 200, Duration::from_secs(120)).await;
    let s = Scenario::new(&gc).await;
    let pricing = |p: &str| s.url(ServiceName::Pricing, p);
    let worker = uuid::Uuid::now_v7().to_string();
    let me = s.worker_token(&worker);
    s.platform("eats").await;
    s.link("eats", "e-1", &worker).await;

    // Two evening jobs a day on the 10th to the 14th of last month and the last two days.
    let today = chrono::Utc::now().with_timezone(&Berlin).date_naive();
    let this_month = today.with_day(1).unwrap();
    let last_month = (this_month - chrono::Duration::days(1)).with_day(1).unwrap();
    let billed_days: Vec<NaiveDate> = (9..14).map(|d| last_month + chrono::Duration::days(d)).collect();
    let mut records = Vec::new();
    for day in billed_days.iter().copied().chain([today - chrono::Duration::days(1), today - chrono::Duration::days(2)])
    {
        for hour in [17, 18] {
            records.push(gig(&format!("g-{day}-{hour}"), "e-1", evening(day, hour), 40, "6.00", "1.50"));
        }
    }
    s.records("eats", &records, None).await;

    // Quotes from two insurers; the cheaper per-hour cover is bound.
    s.product("acme", "accident", accident("0.40")).await;
    s.product("zurich", "accident", accident("0.35")).await;
    let quotes = s.quotes(&worker, "accident", None).await;
    assert_eq!(quotes.len(), 2);
    assert_eq!(quotes[0]["insurer_id"], "zurich");
    assert_eq!(quotes[0]["coverage"]["hourly_rate"], "0.35");
    let policy = s.bind(&worker, &quotes[0]).await;
    let start =
        Berlin.from_local_datetime(&last_month.and_hms_opt(0, 0, 0).unwrap()).unwrap().with_timezone(&chrono::Utc);
    s.backdate_policy(&policy, start).await;
    let policy_id = policy["id"].as_str().unwrap();
    let statements_url = pricing(&format!("/v1/policies/{policy_id}/statements"));
    let statements = || async {
        let res = s.http.get(&statements_url).bearer_auth(&me).send().await.unwrap();
        assert_eq!(res.status(), 200, "{}", gc.logs());
        res.json::<Vec<Value>>().await.unwrap()
    };

    // Last month: one line per day, each its insured hours at the hourly rate, rounded;
    // the total is their sum; final, since the month closed.
    let first = statements().await;
    assert!(first.len() >= 2, "last month, this month (and next, as the cover runs into it): {first:#?}");
    let closed = &first[0];
    assert_eq!((closed["month"].as_str(), closed["status"].as_str()), (Some(&*last_month.to_string()), Some("final")));
    assert_eq!(first[1]["status"], "provisional");
    let lines = closed["lines"].as_array().unwrap();
    assert_eq!(lines.len() as u32, (this_month - last_month).num_days() as u32, "a line per day of the month");
    let mut sum = Decimal::ZERO;
    for l in lines {
        let (day, hours, amount): (NaiveDate, Decimal, Decimal) =
            (l["day"].as_str().unwrap().parse().unwrap(), dec(&l["insured_hours"]), dec(&l["amount"]));
        assert_eq!(hours > Decimal::ZERO, billed_days.contains(&day), "{l}");
        let exact = hours * Decimal::new(35, 2);
        assert_eq!(amount, exact.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero));
        sum += amount;
    }
    let min = closed.get("minimum_applied").map(dec).unwrap_or_default();
    assert_eq!(dec(&closed["total"]), sum + min, "{closed}");
    let finalized: Vec<String> =
        sqlx::query_scalar("SELECT event_type FROM pricing.outbox WHERE event_type = 'statement.finalized'")
            .fetch_all(&s.pool)
            .await
            .unwrap();
    assert_eq!(finalized.len(), 1);
    assert_eq!(statements().await[0], *closed, "reading again changes nothing");

    // A late job on the 20th of last month: the final statement stays; the open one
    // carries the difference.
    let late_day = last_month + chrono::Duration::days(19);
    s.records("eats", &[gig("g-late", "e-1", evening(late_day, 17), 50, "7.00", "0")], None).await;
    let second = statements().await;
    assert_eq!(second[0], *closed, "a final statement never changes");
    let adjustments = second[1]["adjustments"].as_array().unwrap();
    assert_eq!(adjustments.len(), 1, "{second:#?}");
    let a = &adjustments[0];
    assert_eq!((a["day"].as_str(), dec(&a["billed_hours"])), (Some(&*late_day.to_string()), Decimal::ZERO));
    let late_hours = dec(&a["insured_hours"]);
    assert!(late_hours > Decimal::ZERO);
    assert_eq!(
        dec(&a["amount"]),
        (late_hours * Decimal::new(35, 2))
            .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
    );

    // Statements per insurer: zurich's lists it; acme's lists none of it.
    let listed = |insurer: &'static str| {
        let token = s.insurer_token(insurer);
        let url = pricing("/v1/statements");
        let http = s.http.clone();
        async move { http.get(url).bearer_auth(token).send().await.unwrap().json::<Vec<Value>>().await.unwrap() }
    };
    assert_eq!(listed("zurich").await.len(), 1);
    assert!(listed("acme").await.is_empty());
    let res = s.http.get(&statements_url).bearer_auth(s.insurer_token("acme")).send().await.unwrap();
    assert_eq!(res.status(), 404, "another insurer's policy is not confirmed");

    // Renewal: a new quote on today's profile; bound, it starts where the policy ends.
    let renew = || s.http.post(pricing(&format!("/v1/policies/{policy_id}/renew"))).bearer_auth(&me).send();
    let res = renew().await.unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
    let renewal: Value = res.json().await.unwrap();
    assert_eq!(renewal["renews"], policy["id"]);
    let renewed = s.bind(&worker, &renewal).await;
    let old: Value = s
        .http
        .get(pricing(&format!("/v1/policies/{policy_id}")))
        .bearer_auth(&me)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(renewed["starts_at"], old["ends_at"]);
    assert_eq!(renewed["renews"], policy["id"]);
    let twice: Value = renew().await.unwrap().json().await.unwrap();
    let res = s
        .http
        .post(pricing("/v1/policies"))
        .bearer_auth(&me)
        .json(&json!({"quote_id": twice["id"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409, "a policy is renewed once");

    // Cancelling stops the billing: no day after today is billed; a cancelled policy is
    // not renewed.
    let res = s.http.post(pricing(&format!("/v1/policies/{policy_id}/cancel"))).bearer_auth(&me).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let after = statements().await;
    let last_line = after.last().unwrap()["lines"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last_line["day"].as_str(), Some(&*today.to_string()), "{last_line}");
    assert_eq!(renew().await.unwrap().status(), 409);

    // Income protection: the daily benefit follows the worker's average daily earnings
    // (two jobs of 6.00 + 1.50 a day: 15.00; the late day 7.00), and an insurer needs
    // consent to earnings to quote it.
    s.product(
        "acme",
        "income_protection",
        json!({"currency": "EUR", "basis": {"income_protection": {"premium": "19.90", "benefit": {
            "percent": "60", "floor": "5", "cap": "80", "reference_weeks": 12, "min_insured_hours": "5",
            "min_jobs": 10, "waiting_days": 1, "max_days": 30}}},
            "min_premium": "5", "max_premium": "100"}),
    )
    .await;
    let ip = s.quotes(&worker, "income_protection", None).await;
    let benefit = &ip[0]["coverage"]["benefit"];
    let avg = dec(&benefit["avg_daily_net"]);
    // (7 days x 15.00 + 7.00) / 8 active days = 14.00; 60 % = 8.40.
    assert_eq!(avg, Decimal::new(1400, 2), "{benefit}");
    assert_eq!(dec(&benefit["daily_benefit"]), Decimal::new(840, 2));
    s.consent(&worker, "acme", "hours").await;
    let res = s
        .http
        .post(pricing("/v1/quotes"))
        .bearer_auth(s.insurer_token("acme"))
        .json(&json!({"worker_id": worker, "kind": "income_protection"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "hours consent does not cover earnings");

    // Rating on what the worker declares and what identity holds: a liability tariff by
    // vehicle, age, market and tenure. Each missing fact is a 422 naming it.
    s.product(
        "zurich",
        "liability",
        json!({"currency": "EUR", "basis": {"fixed_monthly": {"premium": "10.00"}},
        "factors": [
            {"input": "vehicle", "classes": {"bicycle": "1.2", "car": "0.9", "other": "1"}},
            {"input": "age_years", "bands": [{"from": "0", "factor": "1.3"}, {"from": "25", "factor": "1"}]},
            {"input": "market", "classes": {"Europe/Berlin": "1.1", "other": "1"}},
            {"input": "tenure_weeks", "bands": [{"from": "0", "factor": "1.1"}, {"from": "26", "factor": "1"}]}],
        "min_premium": "1", "max_premium": "100"}),
    )
    .await;
    let liability = |vehicle: Option<&'static str>| {
        s.http
            .post(pricing("/v1/quotes"))
            .bearer_auth(&me)
            .json(&json!({"worker_id": worker, "kind": "liability", "vehicle": vehicle}))
            .send()
    };
    let refused = liability(None).await.unwrap();
    assert_eq!(refused.status(), 422);
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(
        (problem["code"].as_str(), problem["errors"][0]["field"].as_str()),
        (Some("missing_rating_fact"), Some("vehicle"))
    );
    let problem: Value = liability(Some("bicycle")).await.unwrap().json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "age_years", "no date of birth yet: {problem}");
    let born = (today - chrono::Duration::days(22 * 365 + 30)).to_string();
    let res = s
        .http
        .put(s.url(ServiceName::Identity, &format!("/v1/workers/{worker}/personal-data")))
        .bearer_auth(&me)
        .json(&json!({"date_of_birth": born}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = liability(Some("bicycle")).await.unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
    let quote = &res.json::<Value>().await.unwrap()["quotes"][0];
    let line =
        |item: &str| quote["explanation"].as_array().unwrap().iter().find(|l| l["item"] == item).cloned().unwrap();
    assert_eq!(
        (line("vehicle")["category"].as_str(), line("vehicle")["factor"].as_str()),
        (Some("bicycle"), Some("1.2"))
    );
    assert_eq!((line("age_years")["input"].as_str(), line("age_years")["factor"].as_str()), (Some("22"), Some("1.3")));
    assert_eq!(line("market")["category"], "Europe/Berlin");
    // The first activity was on the 10th of last month: under 26 weeks of tenure.
    assert_eq!(line("tenure_weeks")["factor"], "1.1", "{quote}");
    let sum: Decimal = quote["explanation"].as_array().unwrap().iter().map(|l| dec(&l["amount"])).sum();
    assert_eq!(sum, dec(&quote["premium"]));

    // A worker with no history gets a clear 422 saying what is missing.
    let newcomer = uuid::Uuid::now_v7().to_string();
    let res = s
        .http
        .post(pricing("/v1/quotes"))
        .bearer_auth(s.worker_token(&newcomer))
        .json(&json!({"worker_id": newcomer, "kind": "accident"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["code"], "insufficient_history", "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("0 active days"), "{problem}");
    // A tariff with a negative rate is refused naming the field.
    let res = s
        .http
        .post(pricing("/v1/products"))
        .bearer_auth(s.insurer_token("acme"))
        .json(&json!({"kind": "accident", "name": "x", "tariff": accident("-0.10")}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "basis.per_insured_hour.rate");
}
