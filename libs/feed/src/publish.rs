//! Writing events in the same transaction as the change they describe.

use sqlx::{Postgres, Transaction};

use crate::event::NewEvent;

/// Publishes `events` with the change made in `tx`, and commits.
///
/// Positions are taken here, at the very end, under an advisory lock that Postgres holds
/// until the commit is visible; so the feed's readers see positions in commit order.
/// The lock is held only for the insert and the commit itself.
pub async fn publish(mut tx: Transaction<'_, Postgres>, events: &[NewEvent]) -> Result<(), sqlx::Error> {
    if events.is_empty() {
        return tx.commit().await;
    }
    let trace = gigcover_telemetry::current_trace_parent();
    let ids: Vec<_> = events.iter().map(|e| e.id).collect();
    let types: Vec<_> = events.iter().map(|e| e.event_type).collect();
    let payloads: Vec<_> = events.iter().map(|e| e.payload.clone()).collect();

    sqlx::query("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.outbox'))")
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO outbox (position, event_id, event_type, payload, traceparent, tracestate)
         SELECT nextval('outbox_position'), e.id, e.type, e.payload, $4, $5
         FROM unnest($1::uuid[], $2::text[], $3::jsonb[]) WITH ORDINALITY AS e(id, type, payload, n)
         ORDER BY e.n",
    )
    .bind(&ids)
    .bind(&types)
    .bind(&payloads)
    .bind(trace.as_ref().map(|t| t.traceparent.as_str()))
    .bind(trace.as_ref().and_then(|t| t.tracestate.as_deref()))
    .execute(&mut *tx)
    .await?;
    sqlx::query("SELECT pg_notify(current_schema() || '_outbox', '')")
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}
