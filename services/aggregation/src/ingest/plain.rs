//! Plain inserts first. A large insert whose rows are all expected new (a fresh batch's
//! activities, a webhook group's event ids) runs as a plain `INSERT` inside a savepoint,
//! which costs Postgres less than `ON CONFLICT`'s speculative insertion: about half for an
//! event id (3.7 → 2.0 µs, Postgres 15 here, groups of 2,000), about a quarter for an
//! activity. When a row exists already, the savepoint rolls back, nothing of it stays, and
//! the caller takes its `ON CONFLICT` path.

use sqlx::PgConnection;

/// Inserts of fewer rows take the `ON CONFLICT` path directly: the savepoint's round trips
/// would cost more than the plain insert saves.
const PLAIN_INSERT_FROM: usize = 256;

/// The tables whose inserts are tried plain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Activities,
    WebhookEvents,
}

/// How many more inserts of one transaction may be tried plain, and into which tables.
/// Each try leaves a subtransaction until the commit; Postgres keeps 64 per session in
/// shared memory, and past that every snapshot in the cluster consults `pg_subtrans` while
/// the transaction runs. A table whose plain insert met a known row is not tried again in
/// that transaction: it will likely meet more (a batch sent again, replayed events).
#[derive(Debug)]
pub struct PlainInserts {
    left: u32,
    conflicted: Vec<Table>,
}

impl PlainInserts {
    /// A new transaction's budget, with room to spare below 64.
    pub fn per_transaction() -> Self {
        Self { left: 56, conflicted: Vec::new() }
    }

    /// Takes one from the budget for `table`; false when it is spent or the table met a
    /// known row.
    fn take(&mut self, table: Table) -> bool {
        if self.left == 0 || self.conflicted.contains(&table) {
            return false;
        }
        self.left -= 1;
        true
    }
}

/// Runs `insert`, a plain `INSERT` into `table` of `rows` rows expected all new, inside a
/// savepoint of the open transaction `conn`. `None` (nothing written) when the insert is
/// small, the transaction's budget is spent or `table` met a known row before, or a row
/// exists already (the rolled-back savepoint stays open until the commit).
pub async fn try_plain<T>(
    conn: &mut PgConnection,
    table: Table,
    rows: usize,
    budget: &mut PlainInserts,
    insert: impl AsyncFnOnce(&mut PgConnection) -> Result<T, sqlx::Error>,
) -> anyhow::Result<Option<T>> {
    if rows < PLAIN_INSERT_FROM || !budget.take(table) {
        return Ok(None);
    }
    let mut savepoint = sqlx::Connection::begin(&mut *conn).await?;
    match insert(&mut savepoint).await {
        Ok(written) => {
            savepoint.commit().await?;
            Ok(Some(written))
        }
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            budget.conflicted.push(table);
            savepoint.rollback().await?;
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}
