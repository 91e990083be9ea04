//! Writing events in the same transaction as the change they describe.

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
    if events.is_empty() {
        return Ok(());
    }
    let columns = EventColumns::of(events);
    columns.bind_to(sqlx::query_as::<_, (bool,)>(PUBLISH)).fetch_one(&mut *conn).await?;
    Ok(())
}

/// The lock, the wake-up for the feed's listeners (Postgres delivers it at commit, and
/// only if the transaction commits), then the events ($1 to $5, bound by
/// [`EventColumns::bind_to`]): every row the insert takes comes through the `outbox_lock`
/// row, so positions are drawn under the lock.
const PUBLISH: &str = "WITH outbox_lock AS MATERIALIZED (
         SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.outbox')),
                pg_notify(current_schema() || '_outbox', '')),
     outbox_published AS (
         INSERT INTO outbox (position, event_id, event_type, payload, traceparent, tracestate)
         SELECT nextval('outbox_position'), e.id, e.type, e.payload, e.traceparent, e.tracestate
         FROM outbox_lock, unnest($1::uuid[], $2::text[], $3::jsonb[], $4::text[], $5::text[])
              WITH ORDINALITY AS e(id, type, payload, traceparent, tracestate, n)
         ORDER BY e.n)
     SELECT true";

/// Events as the column arrays [`PUBLISH`] reads, each traced to its own trace or,
/// without one, to the publishing span's.
struct EventColumns<'e> {
    ids: Vec<Uuid>,
    types: Vec<&'static str>,
    payloads: Vec<&'e serde_json::Value>,
    parents: Vec<Option<String>>,
    states: Vec<Option<String>>,
}

impl<'e> EventColumns<'e> {
    fn of(events: &'e [NewEvent]) -> Self {
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

    /// Binds the events as the parameters of `query`.
    fn bind_to<'q, O>(&'q self, query: QueryAs<'q, Postgres, O, PgArguments>) -> QueryAs<'q, Postgres, O, PgArguments> {
        query.bind(&self.ids).bind(&self.types).bind(&self.payloads).bind(&self.parents).bind(&self.states)
    }
}
