//! Adapters: each platform speaks one format; its adapter turns a record of that format
//! into a [`Change`] of the canonical model. Unknown fields are ignored (and never stored);
//! missing or invalid required fields are reported, all of them, by name.

pub mod csv;
pub mod gig_events;
pub mod gig_records;
pub mod shifts;

use chrono::{DateTime, Duration, Utc};
use gigcover_domain::{
    Activity, ActivityKind, ActivityStatus, Currency, Distance, Earnings, ExternalRef, FieldProblem, Money,
};
use gigcover_kit::http::{deserialize_tracked, without_position};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::platforms::directory::PlatformInfo;
use crate::platforms::model::Adapter;

/// What a record asks us to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A complete activity (create, or correct the one with the same external id).
    Upsert(Activity),
    /// Part of an activity that arrives in pieces (a task's start, its end, its pay):
    /// merged with what we hold; an activity exists once start and end are both known.
    Partial(Partial),
    /// Remove an activity from the worker's hours (kept in history).
    Retract(ExternalRef),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Partial {
    pub external_id: ExternalRef,
    pub worker_ref: ExternalRef,
    pub kind: ActivityKind,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub status: Option<ActivityStatus>,
    pub distance: Option<Distance>,
    pub earnings: Option<Earnings>,
}

/// A record we accept: the change, the platform's event id (to drop replays), and the
/// record as we read it (the fields we use, in the platform's format) for the archive.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub event_id: Option<String>,
    pub change: Change,
    pub raw: RawRecord,
}

/// A record as archived: its JSON text, written once where the record is read (for a
/// batch, on the parse stage's thread, not between the batch's database writes).
#[derive(Debug, Clone)]
pub struct RawRecord(Box<serde_json::value::RawValue>);

impl RawRecord {
    pub fn of(record: &impl serde::Serialize) -> Self {
        Self(serde_json::value::to_raw_value(record).unwrap_or_else(|_| serde_json::value::RawValue::NULL.to_owned()))
    }

    pub fn json(&self) -> &str {
        self.0.get()
    }
}

/// A record we refuse, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    /// A stable reason code (also the metric attribute).
    pub code: &'static str,
    pub problems: Vec<FieldProblem>,
}

impl Rejected {
    pub fn new(code: &'static str, problems: Vec<FieldProblem>) -> Self {
        Self { code, problems }
    }

    pub fn one(code: &'static str, field: &str, message: impl Into<String>) -> Self {
        Self::new(code, vec![FieldProblem::new(field, message)])
    }

    /// `field: message; field: message`.
    pub fn describe(&self) -> String {
        self.problems.iter().map(|p| format!("{}: {}", p.field, p.message)).collect::<Vec<_>>().join("; ")
    }
}

/// What parsing needs besides the record.
pub struct ParseContext<'a> {
    pub platform: &'a PlatformInfo,
    pub now: DateTime<Utc>,
    pub future_tolerance: Duration,
}

/// Parses one JSON record (its text) in the platform's format.
pub fn parse_json(json: &str, ctx: &ParseContext<'_>) -> Result<Accepted, Rejected> {
    let accepted = match ctx.platform.adapter {
        Adapter::GigEvents => gig_events::parse(json, ctx),
        Adapter::GigRecords => gig_records::parse(json, ctx),
        Adapter::Shifts => shifts::parse(json, ctx),
        Adapter::Csv => Err(Rejected::one("wrong_format", "(body)", "this platform sends CSV, not JSON")),
    }?;
    check_times(&accepted.change, ctx)?;
    Ok(accepted)
}

/// Deserialises the JSON text `json` as `T` in one pass: a field of the wrong type is
/// `invalid_record`, named; text that is not JSON is `malformed_json`.
pub(crate) fn typed<T: DeserializeOwned>(json: &str) -> Result<T, Rejected> {
    let parsed = deserialize_tracked(serde_json::Deserializer::from_str(json));
    parsed.map_err(|(path, e)| match e.classify() {
        serde_json::error::Category::Data => {
            let field = if path == "." || path.is_empty() { "(record)".to_owned() } else { path };
            Rejected::one("invalid_record", &field, without_position(&e.to_string()))
        }
        _ => Rejected::one("malformed_json", "(line)", format!("not valid JSON: {e}")),
    })
}

/// Collects "is required" problems for missing fields.
#[derive(Default)]
pub(crate) struct Problems(pub Vec<FieldProblem>);

impl Problems {
    pub fn require<T>(&mut self, field: &str, value: Option<T>) -> Option<T> {
        if value.is_none() {
            self.0.push(FieldProblem::new(field, "is required"));
        }
        value
    }

    pub fn reference(&mut self, field: &str, value: Option<String>) -> Option<ExternalRef> {
        match self.require(field, value).map(|v| ExternalRef::parse(&v)) {
            Some(Ok(r)) => Some(r),
            Some(Err(e)) => {
                self.0.push(FieldProblem::new(field, e.to_string()));
                None
            }
            None => None,
        }
    }

    pub fn push(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldProblem::new(field, message));
    }

    pub fn into_result(self) -> Result<(), Rejected> {
        if self.0.is_empty() { Ok(()) } else { Err(Rejected::new("invalid_record", self.0)) }
    }
}

/// Earnings in the platform's currency, each part non-negative.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
pub struct EarningsParts {
    pub currency: Option<String>,
    pub pay: Option<Decimal>,
    pub tips: Option<Decimal>,
    pub bonus: Option<Decimal>,
    pub fees: Option<Decimal>,
}

impl EarningsParts {
    /// Missing parts count as zero; the currency, when given, must be the platform's.
    pub(crate) fn build(&self, field: &str, platform_currency: Currency, problems: &mut Problems) -> Option<Earnings> {
        let currency = match self.currency.as_deref() {
            None => platform_currency,
            Some(code) => match Currency::parse(code) {
                Ok(c) if c == platform_currency => c,
                Ok(c) => {
                    problems.push(
                        &format!("{field}.currency"),
                        format!("is {c}; this platform's currency is {platform_currency}"),
                    );
                    return None;
                }
                Err(e) => {
                    problems.push(&format!("{field}.currency"), e.to_string());
                    return None;
                }
            },
        };
        let money = |d: Option<Decimal>| Money::new(d.unwrap_or_default(), currency);
        match Earnings::new(money(self.pay), money(self.tips), money(self.bonus), money(self.fees)) {
            Ok(e) => Some(e),
            Err(message) => {
                problems.push(field, message);
                None
            }
        }
    }
}

/// A distance in km or miles; negative or absurd distances are refused.
pub(crate) fn distance(
    value: Option<Decimal>,
    unit: Option<&str>,
    field: &str,
    problems: &mut Problems,
) -> Option<Distance> {
    let value = value?;
    let km = match unit.unwrap_or("km") {
        "km" | "kilometers" | "kilometres" => value,
        "mi" | "miles" => value * Decimal::new(1_609_344, 6),
        "m" | "meters" | "metres" => value / Decimal::from(1000),
        other => {
            problems.push(&format!("{field}_unit"), format!("unknown unit {other:?} (km, miles or m)"));
            return None;
        }
    };
    match Distance::from_km(km.round_dp(3)) {
        Ok(d) => Some(d),
        Err(message) => {
            problems.push(field, message);
            None
        }
    }
}

/// Refuses activities that end (or start) in the future beyond the clock-skew tolerance.
fn check_times(change: &Change, ctx: &ParseContext<'_>) -> Result<(), Rejected> {
    let limit = ctx.now + ctx.future_tolerance;
    let latest = match change {
        Change::Upsert(a) => Some(a.interval.end()),
        Change::Partial(p) => p.ended_at.or(p.started_at),
        Change::Retract(_) => None,
    };
    match latest {
        Some(t) if t > limit => Err(Rejected::one(
            "future_timestamp",
            "end",
            format!("{t} is in the future (more than {} s ahead of our clock)", ctx.future_tolerance.num_seconds()),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use std::sync::Arc;

    use super::*;
    use crate::platforms::model::Adapter;

    pub fn platform(adapter: Adapter) -> Arc<PlatformInfo> {
        platform_in(adapter, "EUR")
    }

    pub fn platform_in(adapter: Adapter, currency: &str) -> Arc<PlatformInfo> {
        Arc::new(PlatformInfo {
            id: gigcover_domain::PlatformId::parse("test-platform").unwrap(),
            time_zone: chrono_tz::Europe::Berlin,
            currency: Currency::parse(currency).unwrap(),
            adapter,
            csv_mapping: None,
            secrets: vec![],
        })
    }

    /// A test database with aggregation's tables (dropped with the returned guard).
    pub async fn database() -> (sqlx::PgPool, gigcover_testkit::TestDatabase) {
        let db = gigcover_testkit::TestDatabase::create().await;
        let schema = gigcover_kit::ServiceName::Aggregation.schema();
        let options = gigcover_kit::db::connect_options(&db.secret_url(), schema).unwrap();
        let pool = sqlx::postgres::PgPoolOptions::new().max_connections(4).connect_with(options).await.unwrap();
        crate::migrate(pool.clone()).await.unwrap();
        (pool, db)
    }

    /// [`database`] with the platform of [`platform`] registered.
    pub async fn database_with_platform() -> (sqlx::PgPool, gigcover_testkit::TestDatabase) {
        let (pool, db) = database().await;
        sqlx::query(
            "INSERT INTO platforms (id, name, country, time_zone, currency, category, adapter)
             VALUES ('test-platform', 'Test', 'DE', 'Europe/Berlin', 'EUR', 'food_delivery', 'gig_records')",
        )
        .execute(&pool)
        .await
        .unwrap();
        (pool, db)
    }

    pub fn ctx(p: &PlatformInfo) -> ParseContext<'_> {
        ParseContext {
            platform: p,
            now: "2026-11-28T12:00:00Z".parse().unwrap(),
            future_tolerance: Duration::seconds(300),
        }
    }
}
