//! Webhook replays: an event id seen before is skipped.

use std::collections::{HashMap, HashSet};

use sqlx::PgConnection;

use super::engine::{ItemStatus, Outcome};
use super::plain::{PlainInserts, Table, try_plain};
use crate::adapters::Accepted;
use crate::platforms::directory::PlatformInfo;

/// Remembers event ids `$2` of platform `$1` (a conflict clause may follow).
macro_rules! insert_event_ids {
    () => {
        "INSERT INTO webhook_events (platform_id, event_id) SELECT $1, unnest($2::text[])"
    };
}

/// Records the webhook event ids of `items` and returns the indices of the items that
/// are not replays (items without an event id always pass). A large group of ids is
/// tried as all new first (`plain`).
pub(super) async fn drop_replays(
    conn: &mut PgConnection,
    platform: &PlatformInfo,
    items: &[Accepted],
    out: &mut Outcome,
    plain: &mut PlainInserts,
) -> anyhow::Result<Vec<usize>> {
    let mut first: HashMap<&str, usize> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        if let Some(id) = item.event_id.as_deref() {
            first.entry(id).or_insert(i);
        }
    }
    if first.is_empty() {
        return Ok((0..items.len()).collect());
    }
    let mut ids: Vec<&str> = first.keys().copied().collect();
    ids.sort_unstable();
    let all_new = async |conn: &mut PgConnection| {
        sqlx::query(insert_event_ids!()).bind(platform.id.as_str()).bind(&ids).execute(conn).await
    };
    let fresh: HashSet<&str> = match try_plain(conn, Table::WebhookEvents, ids.len(), plain, all_new).await? {
        Some(_) => ids.iter().copied().collect(),
        None => {
            sqlx::query_scalar::<_, String>(concat!(insert_event_ids!(), " ON CONFLICT DO NOTHING RETURNING event_id"))
                .bind(platform.id.as_str())
                .bind(&ids)
                .fetch_all(&mut *conn)
                .await?
                .into_iter()
                // The ids taken in, as the items' own strings.
                .filter_map(|id| first.get_key_value(id.as_str()).map(|(k, _)| *k))
                .collect()
        }
    };
    let mut live = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item.event_id.as_deref() {
            Some(id) if first.get(id) == Some(&i) && fresh.contains(id) => live.push(i),
            Some(_) => out.statuses[i] = ItemStatus::Duplicate,
            None => live.push(i),
        }
    }
    Ok(live)
}
