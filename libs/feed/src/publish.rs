//! Writing events in the same transaction as the change they describe.

use sqlx::{PgConnection, Postgres, Transaction};

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
    let current = gigcover_telemetry::current_trace_parent();
    let ids: Vec<_> = events.iter().map(|e| e.id).collect();
    let types: Vec<_> = events.iter().map(|e| e.event_type).collect();
    let payloads: Vec<_> = events.iter().map(|e| e.payload.clone()).collect();
    let traces: Vec<_> = events.iter().map(|e| e.trace.as_ref().or(current.as_ref())).collect();
    let parents: Vec<Option<&str>> = traces.iter().map(|t| t.map(|t| t.traceparent.as_str())).collect();
    let states: Vec<Option<&str>> = traces.iter().map(|t| t.and_then(|t| t.tracestate.as_deref())).collect();

    // One statement: the lock, the wake-up for the feed's listeners (Postgres delivers it
    // at commit, and only if the transaction commits), then the events. Every row the
    // insert takes comes through the `lock` row, so positions are drawn under the lock.
    sqlx::query(
        "WITH lock AS MATERIALIZED (
             SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.outbox')),
                    pg_notify(current_schema() || '_outbox', ''))
         INSERT INTO outbox (position, event_id, event_type, payload, traceparent, tracestate)
         SELECT nextval('outbox_position'), e.id, e.type, e.payload, e.traceparent, e.tracestate
         FROM lock, unnest($1::uuid[], $2::text[], $3::jsonb[], $4::text[], $5::text[])
              WITH ORDINALITY AS e(id, type, payload, traceparent, tracestate, n)
         ORDER BY e.n",
    )
    .bind(&ids)
    .bind(&types)
    .bind(&payloads)
    .bind(&parents)
    .bind(&states)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
