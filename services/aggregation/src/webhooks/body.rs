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
pub enum Events<'b> {
    /// The body is the event.
    One(&'b str),
    /// `{"events": [...]}`: problems are located as `events[i].field`.
    Many(Vec<Box<RawValue>>),
}

/// The one field of a body that decides its form (the others are read by the adapter).
#[derive(Deserialize)]
struct Envelope {
    events: Option<Box<RawValue>>,
}

impl<'b> Events<'b> {
    /// The events of `body`, or why it holds none.
    pub fn of(body: &'b [u8]) -> Result<Self, ApiError> {
        let not_an_event =
            || ApiError::unprocessable("invalid_body", "the body must be an event object or {\"events\": [...]}");
        if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            // Not JSON is a 400, JSON of another kind a 422.
            parse_json::<IgnoredAny>(body)?;
            return Err(not_an_event());
        }
        let envelope: Envelope = parse_json(body)?;
        let events = match envelope.events {
            Some(events) => match serde_json::from_str::<Vec<Box<RawValue>>>(events.get()) {
                Ok(list) => Self::Many(list),
                Err(_) => return Err(ApiError::unprocessable("invalid_body", "events must be an array")),
            },
            // `parse_json` read the whole body as JSON, so it is UTF-8.
            None => Self::One(std::str::from_utf8(body).map_err(|_| not_an_event())?),
        };
        if events.len() == 0 {
            return Err(ApiError::unprocessable("invalid_body", "events is empty"));
        }
        Ok(events)
    }

    pub fn len(&self) -> usize {
        match self {
            Self::One(_) => 1,
            Self::Many(list) => list.len(),
        }
    }

    /// Sent as `{"events": [...]}`.
    pub fn many(&self) -> bool {
        matches!(self, Self::Many(_))
    }

    /// Each event through the platform's adapter, in order.
    pub fn parse(&self, ctx: &ParseContext<'_>) -> Vec<Result<Accepted, Rejected>> {
        match self {
            Self::One(event) => vec![adapters::parse_json(event, ctx)],
            Self::Many(list) => list.iter().map(|event| adapters::parse_json(event.get(), ctx)).collect(),
        }
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
