//! The event feed delivers exactly once, in order: concurrent producers write 10,000 events
//! while the consumer process is killed (SIGKILL) and restarted again and again.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use gigcover_feed::NewEvent;
use gigcover_kit::db::DatabaseSettings;
use gigcover_testkit::{TestApp, TestDatabase};
use rand::Rng as _;
use sqlx::PgPool;

const PRODUCERS: usize = 4;
const EVENTS_PER_PRODUCER: usize = 2500;
const TOTAL: i64 = (PRODUCERS * EVENTS_PER_PRODUCER) as i64;

fn start_consumer(db: &TestDatabase, feed_url: &str, token: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_feed_consumer"))
        .env("DATABASE_URL", db.url())
        .env("CONSUMER_SCHEMA", "sink")
        .env("FEED_URL", feed_url)
        .env("FEED_TOKEN", token)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the consumer")
}

/// One producer: events in transactions of random size, committed at random moments, so
/// the producers' commits interleave and finish out of the order they began in.
async fn produce(pool: PgPool, producer: usize) {
    let mut written = 0;
    while written < EVENTS_PER_PRODUCER {
        let (size, pause) = {
            let mut rng = rand::rng();
            (rng.random_range(1..=40).min(EVENTS_PER_PRODUCER - written), rng.random_range(0..4))
        };
        let events: Vec<NewEvent> = (written..written + size)
            .map(|i| NewEvent::new("test.tick", serde_json::json!({"n": producer * EVENTS_PER_PRODUCER + i})).unwrap())
            .collect();
        let tx = pool.begin().await.unwrap();
        tokio::time::sleep(Duration::from_millis(pause)).await;
        gigcover_feed::publish(tx, &events).await.unwrap();
        written += size;
    }
}

async fn applied(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM sink.applied").fetch_one(pool).await.unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_and_restarted_consumer_applies_every_event_exactly_once_in_order() {
    let db = TestDatabase::create().await;
    let producer = TestApp::spawn(&gigcover_aggregation::SPEC, &db).await;
    let token = producer.keys.service_token("sink");
    let outbox_pool = gigcover_kit::db::pool(&DatabaseSettings::default(), &db.secret_url(), "aggregation").unwrap();
    let plain = db.pool().await;

    let producers: Vec<_> = (0..PRODUCERS).map(|p| tokio::spawn(produce(outbox_pool.clone(), p))).collect();
    let mut consumer = start_consumer(&db, &producer.address, &token);
    let mut kills = 0;
    while kills < 6 || producers.iter().any(|p| !p.is_finished()) {
        let wait = rand::rng().random_range(300..900);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        consumer.kill().expect("SIGKILL the consumer");
        consumer.wait().expect("reap the consumer");
        kills += 1;
        consumer = start_consumer(&db, &producer.address, &token);
    }
    for p in producers {
        p.await.unwrap();
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while applied(&plain).await < TOTAL && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    consumer.kill().ok();
    consumer.wait().ok();

    let published: i64 = sqlx::query_scalar("SELECT count(*) FROM aggregation.outbox WHERE event_type = 'test.tick'")
        .fetch_one(&plain)
        .await
        .unwrap();
    assert_eq!(published, TOTAL);
    let (rows, distinct): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(DISTINCT event_id) FROM sink.applied").fetch_one(&plain).await.unwrap();
    assert_eq!(rows, TOTAL, "every event applied, none twice (after {kills} kills)");
    assert_eq!(distinct, TOTAL);
    let missing: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM aggregation.outbox o WHERE o.event_type = 'test.tick'
         AND NOT EXISTS (SELECT 1 FROM sink.applied a WHERE a.event_id = o.event_id)",
    )
    .fetch_one(&plain)
    .await
    .unwrap();
    assert_eq!(missing, 0, "no published event was skipped");
    let out_of_order: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT position, lag(position) OVER (ORDER BY seq) AS previous FROM sink.applied) t
         WHERE previous >= position",
    )
    .fetch_one(&plain)
    .await
    .unwrap();
    assert_eq!(out_of_order, 0, "events were applied in feed order");
    producer.stop().await;
}
