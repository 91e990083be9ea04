//! A webhook's body: one event in the platform's format, or `{"events": [...]}`. Each
//! event is kept as its JSON text, which its adapter reads in one pass.

use gigcover_domain::FieldProblem;
use gigcover_kit::ApiError;
use gigcover_kit::http::parse_json;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;

use crate::adapters::{self, Accepted, ParseContext, Rejected};

/// The events of a body, in order.
pub struct Events {
    pub list: Vec<Box<RawValue>>,
    /// Sent as `{"events": [...]}`: problems are located as `events[i].field`.
    pub many: bool,
}

/// The one field of a body that decides its form (the others are read by the adapter).
#[derive(Deserialize)]
struct Envelope {
    events: Option<Box<RawValue>>,
}

impl Events {
    /// The events of `body`, or why it holds none.
    pub fn of(body: &[u8]) -> Result<Self, ApiError> {
        let not_an_event =
            || ApiError::unprocessable("invalid_body", "the body must be an event object or {\"events\": [...]}");
        if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            // Not JSON is a 400, JSON of another kind a 422.
            parse_json::<IgnoredAny>(body)?;
            return Err(not_an_event());
        }
        let envelope: Envelope = parse_json(body)?;
        let (list, many) = match envelope.events {
            Some(events) => match serde_json::from_str::<Vec<Box<RawValue>>>(events.get()) {
                Ok(list) => (list, true),
                Err(_) => return Err(ApiError::unprocessable("invalid_body", "events must be an array")),
            },
            None => {
                // `parse_json` took the whole body as JSON, so it is UTF-8 and one value.
                let text = std::str::from_utf8(body).map_err(|_| not_an_event())?;
                (vec![RawValue::from_string(text.trim().to_owned()).map_err(|_| not_an_event())?], false)
            }
        };
        if list.is_empty() {
            return Err(ApiError::unprocessable("invalid_body", "events is empty"));
        }
        Ok(Self { list, many })
    }

    /// Each event through the platform's adapter, in order.
    pub fn parse(self, ctx: &ParseContext<'_>) -> impl Iterator<Item = Result<Accepted, Rejected>> {
        self.list.into_iter().map(move |event| adapters::parse_json(event.get(), ctx))
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
