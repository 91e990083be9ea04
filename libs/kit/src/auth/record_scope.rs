//! The tenant rule for records of a worker held for an insurer (quotes, policies,
//! statements, claims), enforced in the query: the worker, that insurer, ops and our
//! services see such a record; everyone else reads nothing, which handlers answer as "not
//! found" (ids are never confirmed). A loader of such records takes a `RecordScope`, so a
//! handler cannot forget the rule.

use sqlx::Postgres;
use sqlx::postgres::PgArguments;
use sqlx::query::QueryAs;
use uuid::Uuid;

use super::{Principal, Role};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordScope {
    all: bool,
    worker: Option<Uuid>,
    insurer: Option<String>,
}

impl RecordScope {
    pub fn of(caller: &Principal) -> Self {
        match caller.role {
            Role::Ops | Role::Service => Self { all: true, worker: None, insurer: None },
            Role::Worker => Self { all: false, worker: caller.worker_id().map(|w| w.as_uuid()), insurer: None },
            Role::Insurer => Self { all: false, worker: None, insurer: caller.tenant.clone() },
            Role::Platform => Self { all: false, worker: None, insurer: None },
        }
    }

    /// Every record: a service's own background work, acting for no caller.
    pub fn everything() -> Self {
        Self { all: true, worker: None, insurer: None }
    }

    /// The SQL condition on `{alias}.worker_id` and `{alias}.insurer_id`, reading the
    /// parameters `$first` to `$first + 2` that `bind` appends.
    pub fn condition(alias: &str, first: usize) -> String {
        let (a, w, i) = (first, first + 1, first + 2);
        format!("(${a}::bool OR {alias}.worker_id = ${w}::uuid OR {alias}.insurer_id = ${i}::text)")
    }

    /// Appends the three parameters `condition` reads.
    pub fn bind<'q, O>(&self, query: QueryAs<'q, Postgres, O, PgArguments>) -> QueryAs<'q, Postgres, O, PgArguments> {
        query.bind(self.all).bind(self.worker).bind(self.insurer.clone())
    }

    /// The insurer the caller acts for, when it is an insurer.
    pub fn insurer(&self) -> Option<&str> {
        self.insurer.as_deref()
    }

    /// The worker the caller is, when it is a worker.
    pub fn worker(&self) -> Option<Uuid> {
        self.worker
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role, subject: &str, tenant: Option<&str>) -> Principal {
        Principal { subject: subject.into(), role, tenant: tenant.map(str::to_owned), scopes: vec![], token_id: None }
    }

    #[test]
    fn each_role_reads_only_its_own_records() {
        let w = Uuid::now_v7();
        assert_eq!(RecordScope::of(&principal(Role::Worker, &w.to_string(), None)).worker(), Some(w));
        assert_eq!(RecordScope::of(&principal(Role::Insurer, "acme", Some("acme"))).insurer(), Some("acme"));
        let platform = RecordScope::of(&principal(Role::Platform, "eats", Some("eats")));
        assert!(!platform.all && platform.worker.is_none() && platform.insurer.is_none());
        assert!(RecordScope::of(&principal(Role::Ops, "ops", None)).all);
        assert_eq!(RecordScope::condition("q", 2), "($2::bool OR q.worker_id = $3::uuid OR q.insurer_id = $4::text)");
    }
}
