//! Identifiers. Workers get opaque UUIDs (pseudonymous everywhere but in identity);
//! platforms and insurers are tenants named by a short slug that reads well in URLs,
//! tokens and metrics; `ExternalRef` is whatever reference a platform uses for its own records.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{kind} must be a UUID")]
    NotUuid { kind: &'static str },
    #[error("{kind} must be 2 to 40 characters of a-z, 0-9 and '-', starting with a letter")]
    BadSlug { kind: &'static str },
    #[error("{kind} must be 1 to 128 printable characters")]
    BadExternalRef { kind: &'static str },
}

/// A gigcover worker: pseudonymous, the only worker key outside the identity service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, format = Uuid)]
pub struct WorkerId(Uuid);

impl WorkerId {
    /// A new, time-ordered id.
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    pub fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl Default for WorkerId {
    fn default() -> Self {
        Self::new()
    }
}

impl FromStr for WorkerId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self).map_err(|_| IdError::NotUuid { kind: "worker id" })
    }
}

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A lower-case slug: 2 to 40 characters of `a-z`, `0-9` and `-`, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slug(String);

impl Slug {
    pub fn parse(kind: &'static str, s: &str) -> Result<Self, IdError> {
        let ok = (2..=40).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !s.ends_with('-');
        if ok { Ok(Self(s.to_owned())) } else { Err(IdError::BadSlug { kind }) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! slug_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(try_from = "String", into = "String")]
        #[schema(value_type = String, example = "acme-1", min_length = 2, max_length = 40, pattern = "^[a-z][a-z0-9-]*[a-z0-9]$")]
        pub struct $name(Slug);

        impl $name {
            pub fn parse(s: &str) -> Result<Self, IdError> {
                Slug::parse($kind, s).map(Self)
            }

            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0 .0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

slug_id!(
    /// A gig platform (a tenant that writes activity), e.g. `doordash-us`.
    PlatformId,
    "platform id"
);
slug_id!(
    /// An insurer partner (a tenant that prices and adjudicates), e.g. `acme-insurance`.
    InsurerId,
    "insurer id"
);

/// A platform's own reference for one of its records or workers: opaque to us,
/// unique only within that platform.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "trip-8812", min_length = 1, max_length = 128, pattern = "^[^\\s\\x00-\\x1f\\x7f-\\x9f]([^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f])?$")]
pub struct ExternalRef(String);

impl ExternalRef {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let ok = (1..=128).contains(&s.chars().count()) && s.chars().all(|c| !c.is_control()) && s.trim() == s;
        if ok { Ok(Self(s.to_owned())) } else { Err(IdError::BadExternalRef { kind: "external reference" }) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ExternalRef {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<ExternalRef> for String {
    fn from(r: ExternalRef) -> String {
        r.0
    }
}

impl fmt::Display for ExternalRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn slugs_accept_lowercase_words_and_refuse_the_rest() {
        assert!(PlatformId::parse("doordash-us").is_ok());
        for bad in ["", "a", "Uber", "-x", "x-", "9lives", "a_b", "a b", &"a".repeat(41)] {
            assert!(PlatformId::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn a_slug_id_deserialises_only_when_valid() {
        let ok: InsurerId = serde_json::from_str("\"acme\"").unwrap();
        assert_eq!(ok.as_str(), "acme");
        assert!(serde_json::from_str::<InsurerId>("\"ACME\"").is_err());
    }

    #[test]
    fn worker_ids_round_trip_through_text() {
        let id = WorkerId::new();
        assert_eq!(id.to_string().parse::<WorkerId>().unwrap(), id);
        assert!("not-a-uuid".parse::<WorkerId>().is_err());
    }

    #[test]
    fn external_refs_refuse_blank_padded_and_control_text() {
        for bad in ["", " x", "x ", "a\nb", &"x".repeat(129)] {
            assert!(ExternalRef::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(ExternalRef::parse("trip 42/ü").is_ok());
    }

    proptest! {
        #[test]
        fn every_accepted_slug_survives_a_round_trip(s in "[a-z][a-z0-9-]{0,39}") {
            if let Ok(id) = PlatformId::parse(&s) {
                prop_assert_eq!(PlatformId::parse(&id.to_string()).unwrap(), id);
            }
        }
    }
}
