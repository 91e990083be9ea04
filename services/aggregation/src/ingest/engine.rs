//! One write of accepted records, inside the caller's transaction.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use gigcover_domain::{Activity, Interval, WorkerId};
use sqlx::PgConnection;
use uuid::Uuid;

use super::plain::{PlainInserts, Table, try_plain};
use super::rows::{ActivityColumns, ActivityRow};
use super::sql::insert_activities;
use super::{partials, replays};
use crate::adapters::{Accepted, Change, Partial, Rejected};
use crate::metrics::IngestMetrics;
use crate::platforms::directory::PlatformInfo;

/// What happened to one input record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemStatus {
    Inserted,
    /// A new version of an existing activity (or replaced by a later record of the same write).
    Updated,
    /// The same content again: nothing changed.
    Unchanged,
    Retracted,
    /// A webhook event seen before (a replay), skipped.
    Duplicate,
    /// A piece stored while its activity waits for its other end.
    Pending,
    /// Refused while writing (see `Outcome::rejected`).
    Rejected,
}

/// Counts of statuses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Counts {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub retracted: u64,
    pub duplicates: u64,
    pub pending: u64,
    pub rejected: u64,
}

impl Counts {
    pub fn of(statuses: &[ItemStatus]) -> Self {
        let mut c = Counts::default();
        for s in statuses {
            match s {
                ItemStatus::Inserted => c.inserted += 1,
                ItemStatus::Updated => c.updated += 1,
                ItemStatus::Unchanged => c.unchanged += 1,
                ItemStatus::Retracted => c.retracted += 1,
                ItemStatus::Duplicate => c.duplicates += 1,
                ItemStatus::Pending => c.pending += 1,
                ItemStatus::Rejected => c.rejected += 1,
            }
        }
        c
    }

    pub fn add(&mut self, o: Counts) {
        self.inserted += o.inserted;
        self.updated += o.updated;
        self.unchanged += o.unchanged;
        self.retracted += o.retracted;
        self.duplicates += o.duplicates;
        self.pending += o.pending;
        self.rejected += o.rejected;
    }

    /// Records taken in (stored, or recognised as already stored).
    pub fn accepted(&self) -> u64 {
        self.inserted + self.updated + self.unchanged + self.retracted + self.pending
    }
}

/// What one write did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// One status per input record, in input order.
    pub statuses: Vec<ItemStatus>,
    /// Records refused while writing (index into the input, reason).
    pub rejected: Vec<(usize, Rejected)>,
    /// Local days touched, per worker, and the first input record that touched them.
    pub affected: BTreeMap<WorkerId, Touched>,
    /// The latest end time among the activities written.
    pub last_end: Option<DateTime<Utc>>,
}

impl Outcome {
    pub fn counts(&self) -> Counts {
        Counts::of(&self.statuses)
    }

    pub(super) fn reject(&mut self, index: usize, r: Rejected) {
        self.statuses[index] = ItemStatus::Rejected;
        self.rejected.push((index, r));
    }

    pub(super) fn touch(&mut self, index: usize, worker: Option<Uuid>, interval: Interval, tz: Tz) {
        if let Some(w) = worker {
            let touched = self
                .affected
                .entry(WorkerId::from_uuid(w))
                .or_insert_with(|| Touched { days: BTreeSet::new(), first: index });
            touched.first = touched.first.min(index);
            touched.days.extend(interval.split_at_local_midnight(tz).into_iter().map(|p| p.date));
        }
    }

    /// Adds another write's outcome (a later chunk of the same batch, `offset` records on).
    pub fn absorb(&mut self, other: Outcome, offset: usize) {
        self.statuses.extend(other.statuses);
        self.rejected.extend(other.rejected.into_iter().map(|(i, r)| (i + offset, r)));
        for (worker, t) in other.affected {
            let mine = self
                .affected
                .entry(worker)
                .or_insert_with(|| Touched { days: BTreeSet::new(), first: t.first + offset });
            mine.days.extend(t.days);
        }
        self.last_end = self.last_end.max(other.last_end);
    }
}

/// The local days of one worker that a write touched.
#[derive(Debug, Clone)]
pub struct Touched {
    pub days: BTreeSet<NaiveDate>,
    /// The first input record (index) that touched them.
    pub first: usize,
}

/// The final operation on one external id after the records of this write are applied in order.
enum Final {
    Upsert(Box<Activity>),
    Retract,
}

/// A current row, as it was before this write.
struct OldRow {
    worker_id: Option<Uuid>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    content_hash: Vec<u8>,
    retracted: bool,
    version: i32,
    content: serde_json::Value,
}

/// Writes `items` for `platform` in the open transaction `conn`; does not commit. `plain`
/// is the transaction's budget of plain inserts, shared by its writes (each may take two:
/// event ids and activities).
pub async fn write(
    conn: &mut PgConnection,
    platform: &PlatformInfo,
    items: &[Accepted],
    metrics: &IngestMetrics,
    plain: &mut PlainInserts,
) -> anyhow::Result<Outcome> {
    let mut out = Outcome { statuses: vec![ItemStatus::Pending; items.len()], ..Outcome::default() };
    let live = replays::drop_replays(conn, platform, items, &mut out, plain).await?;

    // Pieces first: they may complete activities.
    let partials: Vec<(usize, &Partial)> = live
        .iter()
        .filter_map(|&i| match &items[i].change {
            Change::Partial(p) => Some((i, p)),
            _ => None,
        })
        .collect();
    let completed = partials::merge(conn, platform, &partials, &mut out).await?;

    // The last word on each external id, in input order.
    let mut finals: BTreeMap<String, (usize, Final)> = BTreeMap::new();
    let mut superseded = Vec::new();
    let mut apply = |key: String, index: usize, op: Final| {
        if let Some((earlier, _)) = finals.insert(key, (index, op)) {
            superseded.push(earlier);
        }
    };
    for &i in &live {
        match &items[i].change {
            Change::Upsert(a) => apply(a.external_id.as_str().to_owned(), i, Final::Upsert(Box::new(a.clone()))),
            Change::Retract(id) => apply(id.as_str().to_owned(), i, Final::Retract),
            Change::Partial(_) => {}
        }
    }
    for (i, a) in completed {
        apply(a.external_id.as_str().to_owned(), i, Final::Upsert(Box::new(a)));
    }
    for earlier in superseded {
        out.statuses[earlier] = ItemStatus::Updated;
    }
    if finals.is_empty() {
        return Ok(out);
    }

    let now = Utc::now();
    for (_, op) in finals.values() {
        if let Final::Upsert(activity) = op {
            metrics.lag(&platform.id, activity.interval.end(), now);
            out.last_end = out.last_end.max(Some(activity.interval.end()));
        }
    }
    insert_new(conn, platform, &mut finals, &mut out, plain).await?;
    if finals.is_empty() {
        return Ok(out);
    }

    let keys: Vec<String> = finals.keys().cloned().collect();
    let old = load_current(conn, platform, &keys).await?;
    let mut columns = ActivityColumns::default();
    let mut history: Vec<(String, i32, serde_json::Value)> = Vec::new();
    let mut retract: Vec<String> = Vec::new();
    let mut new_intervals: HashMap<String, (usize, Interval)> = HashMap::new();

    for (key, (index, op)) in finals {
        let before = old.get(&key);
        match op {
            Final::Upsert(activity) => {
                let row = ActivityRow::from(activity.as_ref());
                match before {
                    Some(b) if b.content_hash == row.content_hash && !b.retracted => {
                        out.statuses[index] = ItemStatus::Unchanged
                    }
                    Some(b) => {
                        out.statuses[index] = ItemStatus::Updated;
                        history.push((key.clone(), b.version, b.content.clone()));
                        if let Ok(i) = Interval::new(b.starts_at, b.ends_at) {
                            out.touch(index, b.worker_id, i, platform.time_zone);
                        }
                        new_intervals.insert(key.clone(), (index, activity.interval));
                        columns.push(row);
                    }
                    None => {
                        out.statuses[index] = ItemStatus::Inserted;
                        new_intervals.insert(key.clone(), (index, activity.interval));
                        columns.push(row);
                    }
                }
            }
            Final::Retract => match before {
                Some(b) if !b.retracted => {
                    out.statuses[index] = ItemStatus::Retracted;
                    history.push((key.clone(), b.version, b.content.clone()));
                    if let Ok(i) = Interval::new(b.starts_at, b.ends_at) {
                        out.touch(index, b.worker_id, i, platform.time_zone);
                    }
                    retract.push(key);
                }
                Some(_) => out.statuses[index] = ItemStatus::Unchanged,
                None => {
                    out.reject(index, Rejected::one("unknown_activity", "id", format!("no activity {key} to retract")))
                }
            },
        }
    }

    if !history.is_empty() {
        let (ids, versions, contents): (Vec<_>, Vec<_>, Vec<_>) =
            history.into_iter().fold((Vec::new(), Vec::new(), Vec::new()), |(mut a, mut b, mut c), (k, v, j)| {
                a.push(k);
                b.push(v);
                c.push(j);
                (a, b, c)
            });
        sqlx::query(
            "INSERT INTO activity_history (platform_id, external_id, version, content)
             SELECT $1, * FROM unnest($2::text[], $3::int[], $4::jsonb[])
             ON CONFLICT DO NOTHING",
        )
        .bind(platform.id.as_str())
        .bind(&ids)
        .bind(&versions)
        .bind(&contents)
        .execute(&mut *conn)
        .await?;
    }

    if !retract.is_empty() {
        sqlx::query(
            "UPDATE activities SET retracted = true, version = version + 1, recorded_at = now()
             WHERE platform_id = $1 AND external_id = ANY($2)",
        )
        .bind(platform.id.as_str())
        .bind(&retract)
        .execute(&mut *conn)
        .await?;
    }

    if columns.len() > 0 {
        let query = sqlx::query_as(concat!(
            insert_activities!(),
            " ON CONFLICT (platform_id, external_id) DO UPDATE SET
                 worker_id = CASE WHEN activities.worker_ref = EXCLUDED.worker_ref AND activities.worker_id IS NOT NULL
                                  THEN activities.worker_id ELSE EXCLUDED.worker_id END,
                 worker_ref = EXCLUDED.worker_ref, kind = EXCLUDED.kind, status = EXCLUDED.status,
                 starts_at = EXCLUDED.starts_at, ends_at = EXCLUDED.ends_at, distance_km = EXCLUDED.distance_km,
                 currency = EXCLUDED.currency, pay = EXCLUDED.pay, tips = EXCLUDED.tips, bonus = EXCLUDED.bonus,
                 fees = EXCLUDED.fees, content_hash = EXCLUDED.content_hash, retracted = false,
                 version = activities.version + 1, recorded_at = now()
             RETURNING external_id, worker_id",
        ))
        .bind(platform.id.as_str());
        let written: Vec<(String, Option<Uuid>)> = columns.bind_to(query).fetch_all(&mut *conn).await?;
        for (key, worker) in written {
            if let Some((index, interval)) = new_intervals.get(&key) {
                out.touch(*index, worker, *interval, platform.time_zone);
            }
        }
    }
    Ok(out)
}

/// The fast path for external ids seen for the first time (most records): inserts them
/// without reading anything first, and takes them out of `finals`. Ids that exist (or are
/// being inserted by a concurrent write) stay in `finals` for the read-compare-update path.
async fn insert_new(
    conn: &mut PgConnection,
    platform: &PlatformInfo,
    finals: &mut BTreeMap<String, (usize, Final)>,
    out: &mut Outcome,
    plain: &mut PlainInserts,
) -> anyhow::Result<()> {
    let mut columns = ActivityColumns::default();
    for (_, op) in finals.values() {
        if let Final::Upsert(activity) = op {
            columns.push(ActivityRow::from(activity.as_ref()));
        }
    }
    if columns.len() == 0 {
        return Ok(());
    }
    let plain_insert = async |conn: &mut PgConnection| {
        let query = sqlx::query_as(concat!(insert_activities!(), " RETURNING external_id, worker_id"))
            .bind(platform.id.as_str());
        let inserted: Vec<(String, Option<Uuid>)> = columns.bind_to(query).fetch_all(conn).await?;
        Ok(inserted)
    };
    let inserted = match try_plain(conn, Table::Activities, columns.len(), plain, plain_insert).await? {
        Some(inserted) => inserted,
        None => {
            let query = sqlx::query_as(concat!(
                insert_activities!(),
                " ON CONFLICT (platform_id, external_id) DO NOTHING RETURNING external_id, worker_id"
            ))
            .bind(platform.id.as_str());
            columns.bind_to(query).fetch_all(&mut *conn).await?
        }
    };
    for (key, worker) in inserted {
        if let Some((index, Final::Upsert(activity))) = finals.remove(&key) {
            out.statuses[index] = ItemStatus::Inserted;
            out.touch(index, worker, activity.interval, platform.time_zone);
        }
    }
    Ok(())
}

/// The current rows for `keys`, locked for this transaction (in key order, so concurrent
/// writers cannot deadlock on each other).
async fn load_current(
    conn: &mut PgConnection,
    platform: &PlatformInfo,
    keys: &[String],
) -> anyhow::Result<HashMap<String, OldRow>> {
    type Row = (String, Option<Uuid>, DateTime<Utc>, DateTime<Utc>, Vec<u8>, bool, i32, serde_json::Value);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT external_id, worker_id, starts_at, ends_at, content_hash, retracted, version, to_jsonb(a) - 'content_hash'
         FROM activities a WHERE platform_id = $1 AND external_id = ANY($2) ORDER BY external_id FOR UPDATE",
    )
    .bind(platform.id.as_str())
    .bind(keys)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(k, worker_id, starts_at, ends_at, content_hash, retracted, version, content)| {
            (k, OldRow { worker_id, starts_at, ends_at, content_hash, retracted, version, content })
        })
        .collect())
}
