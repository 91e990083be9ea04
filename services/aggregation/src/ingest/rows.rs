//! Activities as rows, and the content hash that tells a correction from a replay.

use chrono::{DateTime, Utc};
use gigcover_domain::{Activity, ActivityKind, ActivityStatus};
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

pub(crate) fn kind_text(k: ActivityKind) -> &'static str {
    match k {
        ActivityKind::Session => "session",
        ActivityKind::Engagement => "engagement",
    }
}

pub(crate) fn status_text(s: ActivityStatus) -> &'static str {
    match s {
        ActivityStatus::Completed => "completed",
        ActivityStatus::Cancelled => "cancelled",
    }
}

/// The columns of one activity, ready to bind.
pub(crate) struct ActivityRow {
    pub external_id: String,
    pub worker_ref: String,
    pub kind: &'static str,
    pub status: &'static str,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub distance_km: Option<Decimal>,
    pub currency: Option<String>,
    pub pay: Option<Decimal>,
    pub tips: Option<Decimal>,
    pub bonus: Option<Decimal>,
    pub fees: Option<Decimal>,
    pub content_hash: Vec<u8>,
}

impl From<&Activity> for ActivityRow {
    fn from(a: &Activity) -> Self {
        let e = a.earnings.as_ref();
        let mut row = ActivityRow {
            external_id: a.external_id.as_str().to_owned(),
            worker_ref: a.worker_ref.as_str().to_owned(),
            kind: kind_text(a.kind),
            status: status_text(a.status),
            starts_at: a.interval.start(),
            ends_at: a.interval.end(),
            distance_km: a.distance.map(|d| d.km()),
            currency: e.map(|e| e.currency().code().to_owned()),
            pay: e.map(|e| e.pay().amount()),
            tips: e.map(|e| e.tips().amount()),
            bonus: e.map(|e| e.bonus().amount()),
            fees: e.map(|e| e.fees().amount()),
            content_hash: Vec::new(),
        };
        row.content_hash = row.hash();
        row
    }
}

impl ActivityRow {
    /// SHA-256 of everything that makes up the activity's content.
    fn hash(&self) -> Vec<u8> {
        let d = |v: &Option<Decimal>| v.map(|d| d.normalize().to_string()).unwrap_or_default();
        let text = format!(
            "{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}",
            self.worker_ref,
            self.kind,
            self.status,
            self.starts_at.timestamp_micros(),
            self.ends_at.timestamp_micros(),
            d(&self.distance_km),
            self.currency.as_deref().unwrap_or_default(),
            d(&self.pay),
            d(&self.tips),
            d(&self.bonus),
            d(&self.fees),
        );
        Sha256::digest(text.as_bytes()).to_vec()
    }
}

/// Column arrays for one `unnest`-based statement.
#[derive(Default)]
pub(crate) struct ActivityColumns {
    pub external_id: Vec<String>,
    pub worker_ref: Vec<String>,
    pub kind: Vec<&'static str>,
    pub status: Vec<&'static str>,
    pub starts_at: Vec<DateTime<Utc>>,
    pub ends_at: Vec<DateTime<Utc>>,
    pub distance_km: Vec<Option<Decimal>>,
    pub currency: Vec<Option<String>>,
    pub pay: Vec<Option<Decimal>>,
    pub tips: Vec<Option<Decimal>>,
    pub bonus: Vec<Option<Decimal>>,
    pub fees: Vec<Option<Decimal>>,
    pub content_hash: Vec<Vec<u8>>,
}

impl ActivityColumns {
    pub fn push(&mut self, r: ActivityRow) {
        self.external_id.push(r.external_id);
        self.worker_ref.push(r.worker_ref);
        self.kind.push(r.kind);
        self.status.push(r.status);
        self.starts_at.push(r.starts_at);
        self.ends_at.push(r.ends_at);
        self.distance_km.push(r.distance_km);
        self.currency.push(r.currency);
        self.pay.push(r.pay);
        self.tips.push(r.tips);
        self.bonus.push(r.bonus);
        self.fees.push(r.fees);
        self.content_hash.push(r.content_hash);
    }

    /// Binds the columns as the next 13 parameters of `query`, in field order.
    pub fn bind_to<'q, O>(
        &'q self,
        query: sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments> {
        query
            .bind(&self.external_id)
            .bind(&self.worker_ref)
            .bind(&self.kind)
            .bind(&self.status)
            .bind(&self.starts_at)
            .bind(&self.ends_at)
            .bind(&self.distance_km)
            .bind(&self.currency)
            .bind(&self.pay)
            .bind(&self.tips)
            .bind(&self.bonus)
            .bind(&self.fees)
            .bind(&self.content_hash)
    }

    pub fn len(&self) -> usize {
        self.external_id.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gigcover_domain::{ActivityDraft, Earnings, Money, PlatformId};

    fn activity(pay: &str) -> Activity {
        let eur = |s: &str| Money::parse(s, "EUR").unwrap();
        Activity::try_from(ActivityDraft {
            platform: Some(PlatformId::parse("p1").unwrap()),
            external_id: Some("x".into()),
            worker_ref: Some("w".into()),
            kind: Some(ActivityKind::Engagement),
            start: Some("2026-01-01T10:00:00Z".parse().unwrap()),
            end: Some("2026-01-01T11:00:00Z".parse().unwrap()),
            status: None,
            distance_km: None,
            earnings: Some(Earnings::new(eur(pay), eur("0"), eur("0"), eur("0"))),
        })
        .unwrap()
    }

    #[test]
    fn the_same_amount_written_differently_is_the_same_content() {
        assert_eq!(ActivityRow::from(&activity("7.5")).content_hash, ActivityRow::from(&activity("7.50")).content_hash);
        assert_ne!(ActivityRow::from(&activity("7.5")).content_hash, ActivityRow::from(&activity("7.6")).content_hash);
    }
}
