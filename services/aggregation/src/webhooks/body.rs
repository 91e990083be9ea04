//! A webhook's body: one event in the platform's format, or `{"events": [...]}`.

use gigcover_domain::FieldProblem;
use gigcover_kit::ApiError;
use gigcover_kit::http::parse_json;

use crate::adapters::{self, Accepted, ParseContext, Rejected};

/// The events of a body, in order.
pub struct Events {
    pub list: Vec<serde_json::Value>,
    /// Sent as `{"events": [...]}`: problems are located as `events[i].field`.
    pub many: bool,
}

impl Events {
    /// The events of `body`, or why it holds none.
    pub fn of(body: &[u8]) -> Result<Self, ApiError> {
        let (list, many) = match parse_json(body)? {
            serde_json::Value::Object(mut o) if o.contains_key("events") => match o.remove("events") {
                Some(serde_json::Value::Array(a)) => (a, true),
                _ => return Err(ApiError::unprocessable("invalid_body", "events must be an array")),
            },
            v @ serde_json::Value::Object(_) => (vec![v], false),
            _ => {
                return Err(ApiError::unprocessable(
                    "invalid_body",
                    "the body must be an event object or {\"events\": [...]}",
                ));
            }
        };
        if list.is_empty() {
            return Err(ApiError::unprocessable("invalid_body", "events is empty"));
        }
        Ok(Self { list, many })
    }

    /// Each event through the platform's adapter, in order.
    pub fn parse(self, ctx: &ParseContext<'_>) -> impl Iterator<Item = Result<Accepted, Rejected>> {
        self.list.into_iter().map(move |event| adapters::parse_json(event, ctx))
    }
}

/// `r`'s problems, located at event `index` of a body with `many` events.
pub fn located(many: bool, index: usize, r: &Rejected) -> Vec<FieldProblem> {
    r.problems
        .iter()
        .map(|p| {
            FieldProblem::new(
                if many { format!("events[{index}].{}", p.field) } else { p.field.clone() },
                p.message.clone(),
            )
        })
        .collect()
}
