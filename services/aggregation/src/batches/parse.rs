//! The parse stage of a batch: turns lines into accepted records and per-line refusals on
//! a blocking thread of its own, a chunk ahead of the database writes, so parsing one
//! chunk overlaps with writing the previous one.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use gigcover_kit::ApiError;
use tokio::sync::mpsc;

use super::lines::Line;
use crate::adapters::csv::Resolved;
use crate::adapters::{self, Accepted, ParseContext, Rejected};
use crate::platforms::directory::PlatformInfo;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Ndjson,
    Csv,
}

/// One chunk of lines, parsed.
#[derive(Default)]
pub struct Parsed {
    pub lines: usize,
    pub accepted: Vec<Accepted>,
    /// The line number of each accepted record.
    pub numbers: Vec<usize>,
    pub refused: Vec<(usize, Rejected)>,
}

struct LineParser {
    platform: Arc<PlatformInfo>,
    format: Format,
    now: DateTime<Utc>,
    future_tolerance: Duration,
    header: Option<(csv::StringRecord, Resolved)>,
}

impl LineParser {
    fn line(&mut self, line: &Line) -> Result<Option<Accepted>, Rejected> {
        let ctx = ParseContext { platform: &self.platform, now: self.now, future_tolerance: self.future_tolerance };
        match self.format {
            Format::Ndjson => {
                let json = std::str::from_utf8(&line.bytes)
                    .map_err(|e| Rejected::one("malformed_json", "(line)", format!("not valid JSON: {e}")))?;
                adapters::parse_json(json, &ctx).map(Some)
            }
            Format::Csv => {
                let record = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .from_reader(line.bytes.as_slice())
                    .records()
                    .next()
                    .transpose()
                    .map_err(|e| Rejected::one("malformed_csv", "(line)", e.to_string()))?
                    .unwrap_or_default();
                let Some(mapping) = self.platform.csv_mapping.as_ref() else {
                    return Err(Rejected::one("no_csv_mapping", "(line)", "no CSV mapping"));
                };
                match &self.header {
                    None => {
                        let resolved = mapping.resolve(&record)?;
                        self.header = Some((record, resolved));
                        Ok(None)
                    }
                    Some((header, resolved)) => mapping.parse(resolved, header, &record, &ctx).map(Some),
                }
            }
        }
    }

    /// A whole chunk; a CSV header that does not fit the mapping fails the batch.
    fn chunk(&mut self, lines: Vec<Line>) -> Result<Parsed, ApiError> {
        let mut parsed = Parsed { lines: lines.len(), ..Parsed::default() };
        for line in &lines {
            match self.line(line) {
                Ok(Some(a)) => {
                    parsed.accepted.push(a);
                    parsed.numbers.push(line.number);
                }
                Ok(None) => {}
                Err(r) if self.format == Format::Csv && self.header.is_none() => {
                    return Err(ApiError::unprocessable(
                        "invalid_header",
                        format!("the CSV header does not fit the mapping: {}", r.describe()),
                    )
                    .with_errors(r.problems));
                }
                Err(r) => parsed.refused.push((line.number, r)),
            }
        }
        Ok(parsed)
    }
}

/// Chunks of lines in, parsed chunks out, in order. The stage ends when its input is closed
/// or its output dropped (the request failed).
pub struct ParseStage {
    input: mpsc::Sender<Vec<Line>>,
    output: mpsc::Receiver<Result<Parsed, ApiError>>,
    in_flight: usize,
}

impl ParseStage {
    pub fn start(platform: Arc<PlatformInfo>, format: Format, now: DateTime<Utc>, future_tolerance: Duration) -> Self {
        let (input, mut lines) = mpsc::channel::<Vec<Line>>(1);
        let (results, output) = mpsc::channel(1);
        let mut parser = LineParser { platform, format, now, future_tolerance, header: None };
        tokio::task::spawn_blocking(move || {
            while let Some(chunk) = lines.blocking_recv() {
                let parsed = parser.chunk(chunk);
                let failed = parsed.is_err();
                if results.blocking_send(parsed).is_err() || failed {
                    return;
                }
            }
        });
        Self { input, output, in_flight: 0 }
    }

    pub async fn send(&mut self, lines: Vec<Line>) -> Result<(), ApiError> {
        self.input.send(lines).await.map_err(|_| stage_gone())?;
        self.in_flight += 1;
        Ok(())
    }

    /// Chunks sent and not yet received.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// The next parsed chunk, in the order sent.
    pub async fn next(&mut self) -> Result<Parsed, ApiError> {
        let parsed = self.output.recv().await.ok_or_else(stage_gone)??;
        self.in_flight -= 1;
        Ok(parsed)
    }
}

fn stage_gone() -> ApiError {
    ApiError::from(anyhow::anyhow!("the batch parse stage stopped"))
}
