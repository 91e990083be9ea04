//! Which database failures of a webhook write are worth another try.

/// Deadlocks, serialisation failures and a lost connection are worth another try (the
/// latter on a tested connection).
pub fn is_retryable(e: &anyhow::Error) -> bool {
    is_lost_connection(e) || sqlx_errors(e).any(is_conflict)
}

/// The database was not there: the connection broke, the server closed it (a failover, a
/// restart, an administrator) or none could be had.
pub fn is_lost_connection(e: &anyhow::Error) -> bool {
    sqlx_errors(e).any(gigcover_kit::error::is_unavailable)
}

/// A deadlock or a serialisation failure: the same write may succeed when tried again.
fn is_conflict(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("40P01" | "40001")))
}

/// The database errors in `e`'s chain.
fn sqlx_errors(e: &anyhow::Error) -> impl Iterator<Item = &sqlx::Error> {
    e.chain().filter_map(|c| c.downcast_ref::<sqlx::Error>())
}
