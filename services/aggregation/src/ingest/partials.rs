//! Activities that arrive in pieces (a task's start, its end, its pay): the pieces are
//! merged in `open_intervals`, and an activity exists once both ends are known. A piece
//! that would make its activity invalid (an end before the stored start) is refused and
//! leaves the stored state as it was.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use gigcover_domain::{Activity, ActivityDraft, ActivityKind, ActivityStatus, Currency, Distance, Earnings, Money};
use rust_decimal::Decimal;
use sqlx::PgConnection;

use super::engine::{ItemStatus, Outcome};
use super::rows::{kind_text, status_text};
use crate::adapters::{Partial, Rejected};
use crate::platforms::directory::PlatformInfo;

type OpenRow = (
    String,
    String,
    String,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<String>,
    Option<Decimal>,
    Option<String>,
    Option<Decimal>,
    Option<Decimal>,
    Option<Decimal>,
    Option<Decimal>,
);

/// The merged state of one task or shift.
#[derive(Clone)]
struct Open {
    worker_ref: String,
    kind: ActivityKind,
    started_at: Option<DateTime<Utc>>,
    ended_at: Option<DateTime<Utc>>,
    status: Option<ActivityStatus>,
    distance: Option<Distance>,
    earnings: Option<Earnings>,
}

impl Open {
    fn apply(&mut self, p: &Partial) {
        self.worker_ref = p.worker_ref.as_str().to_owned();
        self.started_at = p.started_at.or(self.started_at);
        self.ended_at = p.ended_at.or(self.ended_at);
        self.status = p.status.or(self.status);
        self.distance = p.distance.or(self.distance);
        self.earnings = p.earnings.or(self.earnings);
    }

    fn activity(&self, platform: &PlatformInfo, external_id: &str) -> Option<Result<Activity, Rejected>> {
        let (start, end) = (self.started_at?, self.ended_at?);
        Some(
            Activity::try_from(ActivityDraft {
                platform: Some(platform.id.clone()),
                external_id: Some(external_id.to_owned()),
                worker_ref: Some(self.worker_ref.clone()),
                kind: Some(self.kind),
                start: Some(start),
                end: Some(end),
                status: Some(self.status.unwrap_or(ActivityStatus::Completed)),
                distance_km: self.distance.map(|d| d.km()),
                earnings: self.earnings.map(Ok),
            })
            .map_err(|e| Rejected::new("invalid_record", e.0)),
        )
    }
}

fn decimal_to_money(v: Option<Decimal>, c: Currency) -> Money {
    Money::new(v.unwrap_or_default(), c)
}

/// Merges the pieces into `open_intervals` and returns the activities they complete.
pub(super) async fn merge(
    conn: &mut PgConnection,
    platform: &PlatformInfo,
    partials: &[(usize, &Partial)],
    out: &mut Outcome,
) -> anyhow::Result<Vec<(usize, Activity)>> {
    if partials.is_empty() {
        return Ok(Vec::new());
    }
    let mut keys: Vec<String> = partials.iter().map(|(_, p)| p.external_id.as_str().to_owned()).collect();
    keys.sort_unstable();
    keys.dedup();
    let stored: Vec<OpenRow> = sqlx::query_as(
        "SELECT external_id, worker_ref, kind, started_at, ended_at, status, distance_km, currency, pay, tips, bonus, fees
         FROM open_intervals WHERE platform_id = $1 AND external_id = ANY($2) ORDER BY external_id FOR UPDATE",
    )
    .bind(platform.id.as_str())
    .bind(&keys)
    .fetch_all(&mut *conn)
    .await?;
    let mut state: BTreeMap<String, Open> = BTreeMap::new();
    for (id, worker_ref, kind, started_at, ended_at, status, distance, currency, pay, tips, bonus, fees) in stored {
        let currency = currency.and_then(|c| Currency::parse(&c).ok()).unwrap_or(platform.currency);
        let earnings = if pay.is_some() || tips.is_some() || bonus.is_some() || fees.is_some() {
            Earnings::new(
                decimal_to_money(pay, currency),
                decimal_to_money(tips, currency),
                decimal_to_money(bonus, currency),
                decimal_to_money(fees, currency),
            )
            .ok()
        } else {
            None
        };
        let kind = if kind == "session" { ActivityKind::Session } else { ActivityKind::Engagement };
        let status = match status.as_deref() {
            Some("cancelled") => Some(ActivityStatus::Cancelled),
            Some(_) => Some(ActivityStatus::Completed),
            None => None,
        };
        let distance = distance.and_then(|d| Distance::from_km(d).ok());
        state.insert(id, Open { worker_ref, kind, started_at, ended_at, status, distance, earnings });
    }

    let mut completes: BTreeMap<String, usize> = BTreeMap::new();
    for &(index, p) in partials {
        let key = p.external_id.as_str().to_owned();
        let before = state.get(&key).cloned();
        let mut next = before.clone().unwrap_or(Open {
            worker_ref: p.worker_ref.as_str().to_owned(),
            kind: p.kind,
            started_at: None,
            ended_at: None,
            status: None,
            distance: None,
            earnings: None,
        });
        next.apply(p);
        match next.activity(platform, &key) {
            Some(Err(rejected)) => out.reject(index, rejected),
            Some(Ok(_)) => {
                if let Some(earlier) = completes.insert(key.clone(), index) {
                    out.statuses[earlier] = ItemStatus::Updated;
                }
                state.insert(key, next);
            }
            None => {
                out.statuses[index] = ItemStatus::Pending;
                state.insert(key, next);
            }
        }
    }

    let mut cols = OpenColumns::default();
    for (key, o) in &state {
        cols.push(key, o);
    }
    sqlx::query(
        "INSERT INTO open_intervals AS o (platform_id, external_id, worker_ref, kind, started_at, ended_at, status,
                                          distance_km, currency, pay, tips, bonus, fees)
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::text[],
                                  $8::numeric[], $9::text[], $10::numeric[], $11::numeric[], $12::numeric[], $13::numeric[])
         ON CONFLICT (platform_id, external_id) DO UPDATE SET
             worker_ref = EXCLUDED.worker_ref, started_at = EXCLUDED.started_at, ended_at = EXCLUDED.ended_at,
             status = EXCLUDED.status, distance_km = EXCLUDED.distance_km, currency = EXCLUDED.currency,
             pay = EXCLUDED.pay, tips = EXCLUDED.tips, bonus = EXCLUDED.bonus, fees = EXCLUDED.fees, updated_at = now()",
    )
    .bind(platform.id.as_str())
    .bind(&cols.external_id)
    .bind(&cols.worker_ref)
    .bind(&cols.kind)
    .bind(&cols.started_at)
    .bind(&cols.ended_at)
    .bind(&cols.status)
    .bind(&cols.distance_km)
    .bind(&cols.currency)
    .bind(&cols.pay)
    .bind(&cols.tips)
    .bind(&cols.bonus)
    .bind(&cols.fees)
    .execute(&mut *conn)
    .await?;

    Ok(completes
        .into_iter()
        .filter_map(|(key, index)| match state.get(&key).and_then(|o| o.activity(platform, &key)) {
            Some(Ok(a)) => Some((index, a)),
            _ => None,
        })
        .collect())
}

/// Column arrays for upserting merged pieces.
#[derive(Default)]
struct OpenColumns {
    external_id: Vec<String>,
    worker_ref: Vec<String>,
    kind: Vec<&'static str>,
    started_at: Vec<Option<DateTime<Utc>>>,
    ended_at: Vec<Option<DateTime<Utc>>>,
    status: Vec<Option<&'static str>>,
    distance_km: Vec<Option<Decimal>>,
    currency: Vec<Option<String>>,
    pay: Vec<Option<Decimal>>,
    tips: Vec<Option<Decimal>>,
    bonus: Vec<Option<Decimal>>,
    fees: Vec<Option<Decimal>>,
}

impl OpenColumns {
    fn push(&mut self, key: &str, o: &Open) {
        self.external_id.push(key.to_owned());
        self.worker_ref.push(o.worker_ref.clone());
        self.kind.push(kind_text(o.kind));
        self.started_at.push(o.started_at);
        self.ended_at.push(o.ended_at);
        self.status.push(o.status.map(status_text));
        self.distance_km.push(o.distance.map(|d| d.km()));
        self.currency.push(o.earnings.map(|e| e.currency().code().to_owned()));
        self.pay.push(o.earnings.map(|e| e.pay().amount()));
        self.tips.push(o.earnings.map(|e| e.tips().amount()));
        self.bonus.push(o.earnings.map(|e| e.bonus().amount()));
        self.fees.push(o.earnings.map(|e| e.fees().amount()));
    }
}
