//! Personal data in a box that will not print itself: `Debug` and `Display` show `***`,
//! so a stray `?field` in a log or span never leaks it. Reading the value takes an
//! explicit `expose()`; serialising it (into an API answer meant for the data subject
//! or into encrypted storage) is deliberate.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Pii<T>(T);

impl<T> Pii<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &T {
        &self.0
    }

    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for Pii<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<T> fmt::Display for Pii<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<T> From<T> for Pii<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_data_never_prints_itself() {
        let email = Pii::new("jane@example.com".to_owned());
        assert_eq!(format!("{email}"), "***");
        assert_eq!(format!("{email:?}"), "***");
        assert_eq!(format!("{:?}", Some(&email)), "Some(***)");
        assert_eq!(email.expose(), "jane@example.com");
    }
}
