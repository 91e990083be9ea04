//! Consuming aggregation's `activity.changed`: fetch the worker's intervals around the days
//! named (before the consumer's transaction), then, in it, refresh our copy of them,
//! recompute those days (and their neighbours) and announce `hours.changed`: exactly once.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use chrono_tz::Tz;
use futures::future::BoxFuture;
use gigcover_feed::{EventHandler, FeedEvent, NewEvent};
use gigcover_kit::client::ServiceClient;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::intervals::WorkerIntervals;
use crate::recompute::{self, Loaded, context};
use crate::store::{self, StoredInterval};

pub const ACTIVITY_CHANGED: &str = "activity.changed";
pub const HOURS_CHANGED: &str = "hours.changed";

/// The part of aggregation's `activity.changed` enrichment reads.
#[derive(Debug, Deserialize)]
struct ActivityChanged {
    worker_id: Uuid,
    time_zone: String,
    days: Vec<NaiveDate>,
}

/// `hours.changed`: a worker's stored days that were recomputed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HoursChanged {
    pub worker_id: Uuid,
    pub time_zone: String,
    pub days: Vec<NaiveDate>,
}

#[derive(Deserialize)]
struct ActivityPage {
    activities: Vec<StoredInterval>,
    next_cursor: Option<String>,
}

pub struct ActivityFeed {
    pub aggregation: ServiceClient,
    pub infer_gap_ms: i64,
}

/// A worker's days to recompute, and every interval they look at, as aggregation has them.
pub struct Refresh {
    worker: Uuid,
    tz: Tz,
    days: BTreeSet<NaiveDate>,
    range: (DateTime<Utc>, DateTime<Utc>),
    fresh: Vec<StoredInterval>,
}

impl ActivityFeed {
    /// The days an `activity.changed` touches with their neighbours, and the intervals
    /// those days look at, fetched from aggregation (`None` for other events).
    async fn refresh(&self, event: &FeedEvent) -> anyhow::Result<Option<Refresh>> {
        if event.event_type != ACTIVITY_CHANGED {
            return Ok(None);
        }
        let change: ActivityChanged = serde_json::from_value(event.payload.clone())?;
        let tz: Tz = change.time_zone.parse().map_err(|_| anyhow::anyhow!("unknown time zone {}", change.time_zone))?;
        let mut days: BTreeSet<NaiveDate> = BTreeSet::new();
        for d in &change.days {
            days.extend([*d - Duration::days(1), *d, *d + Duration::days(1)]);
        }
        let (Some(&first), Some(&last)) = (days.first(), days.last()) else { return Ok(None) };
        let range = context(tz, first, last);
        let fresh = self.fetch(change.worker_id, range).await?;
        Ok(Some(Refresh { worker: change.worker_id, tz, days, range, fresh }))
    }

    /// Makes our copy of the intervals what was fetched, recomputes the days from them
    /// (they are the days' whole input) and announces `hours.changed`.
    async fn apply(&self, conn: &mut PgConnection, refresh: Refresh) -> anyhow::Result<()> {
        let Refresh { worker, tz, days, range, fresh } = refresh;
        store::replace(conn, worker, tz.name(), range, &fresh).await?;
        let loaded = Loaded::new(WorkerIntervals::from(fresh.as_slice()), self.infer_gap_ms);
        recompute::recompute(conn, worker, tz, &days, &loaded).await?;
        let announce =
            HoursChanged { worker_id: worker, time_zone: tz.name().to_owned(), days: days.into_iter().collect() };
        gigcover_feed::publish_within(conn, &[NewEvent::new(HOURS_CHANGED, announce)?]).await?;
        Ok(())
    }

    /// The worker's current activities overlapping `[from, to)`, all pages.
    async fn fetch(
        &self,
        worker: Uuid,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
    ) -> anyhow::Result<Vec<StoredInterval>> {
        let (from, to) =
            (from.to_rfc3339_opts(SecondsFormat::Millis, true), to.to_rfc3339_opts(SecondsFormat::Millis, true));
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/v1/workers/{worker}/activities?from={from}&to={to}&limit=1000");
            if let Some(c) = &cursor {
                path.push_str("&cursor=");
                path.push_str(c);
            }
            let page: ActivityPage = self.aggregation.get_json(&path).await?;
            all.extend(page.activities);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(all),
            }
        }
    }
}

impl EventHandler for ActivityFeed {
    type Prepared = Option<Refresh>;

    fn prepare<'a>(&'a self, event: &'a FeedEvent) -> BoxFuture<'a, anyhow::Result<Option<Refresh>>> {
        Box::pin(self.refresh(event))
    }

    fn handle<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        _: &'a FeedEvent,
        refresh: Option<Refresh>,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            match refresh {
                Some(refresh) => self.apply(conn, refresh).await,
                None => Ok(()),
            }
        })
    }
}
