//! Writing events in the same transaction as the change they describe.

use std::sync::LazyLock;

use sqlx::postgres::PgArguments;
use sqlx::query::QueryAs;
use sqlx::{PgConnection, Postgres, Transaction};
use uuid::Uuid;

use crate::event::NewEvent;

/// Publishes `events` with the change made in `tx`, and commits.
///
/// Positions are taken here, at the very end, under an advisory lock that Postgres holds
/// until the commit is visible; so the feed's readers see positions in commit order.
/// The lock is held only for the insert and the commit itself.
pub async fn publish(mut tx: Transaction<'_, Postgres>, events: &[NewEvent]) -> Result<(), sqlx::Error> {
    publish_within(&mut tx, events).await?;
    tx.commit().await
}

/// Publishes `events` in the transaction open on `conn`, for a caller that commits later
/// (a feed consumer's handler): the advisory lock is then held until that commit, so keep
/// the rest of the transaction short after calling this.
pub async fn publish_within(conn: &mut PgConnection, events: &[NewEvent]) -> Result<(), sqlx::Error> {
    static STATEMENT: LazyLock<String> = LazyLock::new(|| format!("WITH {} SELECT true", publish_ctes(1, "true")));
    if events.is_empty() {
        return Ok(());
    }
    let columns = EventColumns::of(events);
    columns.bind_to(sqlx::query_as::<_, (bool,)>(STATEMENT.as_str())).fetch_one(&mut *conn).await?;
    Ok(())
}

/// The publishing statement as common table expressions, for a caller that writes its
/// change and the change's events in one statement (which Postgres runs as one
/// transaction when no other is open): `outbox_lock` and `outbox_published`. The events
/// are parameters `$first` to `$first + 4`, bound by [`EventColumns::bind_to`]; nothing
/// is published, and no lock taken, unless the SQL condition `when` holds.
///
/// The lock, the wake-up for the feed's listeners (Postgres delivers it at commit, and
/// only if the transaction commits), then the events: every row the insert takes comes
/// through the `outbox_lock` row, so positions are drawn under the lock.
pub fn publish_ctes(first: usize, when: &str) -> String {
    let [ids, types, payloads, parents, states] = std::array::from_fn::<_, 5, _>(|i| first + i);
    format!(
        "outbox_lock AS MATERIALIZED (
             SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.outbox')),
                    pg_notify(current_schema() || '_outbox', '')
             WHERE cardinality(${ids}::uuid[]) > 0 AND ({when})),
         outbox_published AS (
             INSERT INTO outbox (position, event_id, event_type, payload, traceparent, tracestate)
             SELECT nextval('outbox_position'), e.id, e.type, e.payload, e.traceparent, e.tracestate
             FROM outbox_lock, unnest(${ids}::uuid[], ${types}::text[], ${payloads}::jsonb[], ${parents}::text[], ${states}::text[])
                  WITH ORDINALITY AS e(id, type, payload, traceparent, tracestate, n)
             ORDER BY e.n)"
    )
}

/// Events as the column arrays [`publish_ctes`] reads, each traced to its own trace or,
/// without one, to the publishing span's.
pub struct EventColumns<'e> {
    ids: Vec<Uuid>,
    types: Vec<&'static str>,
    payloads: Vec<&'e serde_json::Value>,
    parents: Vec<Option<String>>,
    states: Vec<Option<String>>,
}

impl<'e> EventColumns<'e> {
    pub fn of(events: &'e [NewEvent]) -> Self {
        let current = gigcover_telemetry::current_trace_parent();
        let traces: Vec<_> = events.iter().map(|e| e.trace.as_ref().or(current.as_ref())).collect();
        Self {
            ids: events.iter().map(|e| e.id).collect(),
            types: events.iter().map(|e| e.event_type).collect(),
            payloads: events.iter().map(|e| &e.payload).collect(),
            parents: traces.iter().map(|t| t.map(|t| t.traceparent.clone())).collect(),
            states: traces.iter().map(|t| t.and_then(|t| t.tracestate.clone())).collect(),
        }
    }

    /// Binds the events as the next five parameters of `query`.
    pub fn bind_to<'q, O>(
        &'q self,
        query: QueryAs<'q, Postgres, O, PgArguments>,
    ) -> QueryAs<'q, Postgres, O, PgArguments> {
        query.bind(&self.ids).bind(&self.types).bind(&self.payloads).bind(&self.parents).bind(&self.states)
    }
}
