//! What a database failure of a webhook write says: worth another try, the webhook's own
//! fault, or neither.

/// The database away, or a failure that passes with time: a lost connection, a deadlock
/// or serialisation failure (40), too few resources (53: disk, memory, connections), a
/// lock or statement timeout (55P03, 57014), a system error (58).
pub fn is_retryable(e: &anyhow::Error) -> bool {
    is_lost_connection(e)
        || sqlx_errors(e).any(|e| {
            code(e).is_some_and(|c| {
                c.starts_with("40")
                    || c.starts_with("53")
                    || c.starts_with("58")
                    || matches!(c.as_str(), "55P03" | "57014")
            })
        })
}

/// The database was not there: the connection broke, the server closed it (a failover, a
/// restart, an administrator) or none could be had.
pub fn is_lost_connection(e: &anyhow::Error) -> bool {
    sqlx_errors(e).any(gigcover_kit::error::is_unavailable)
}

/// The database refused the data itself: a data exception (22), an integrity constraint
/// (23), or a rule of our own raised in PL/pgSQL (P0). Another try fails the same way.
pub fn is_the_datas_fault(e: &anyhow::Error) -> bool {
    sqlx_errors(e).any(|e| code(e).is_some_and(|c| c.starts_with("22") || c.starts_with("23") || c.starts_with("P0")))
}

fn code(e: &sqlx::Error) -> Option<String> {
    match e {
        sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
        _ => None,
    }
}

/// The database errors in `e`'s chain.
fn sqlx_errors(e: &anyhow::Error) -> impl Iterator<Item = &sqlx::Error> {
    e.chain().filter_map(|c| c.downcast_ref::<sqlx::Error>())
}
