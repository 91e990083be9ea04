//! `GET /v1/workers/{id}/activity-at?t=`: was the worker online, engaged or insured at an
//! instant, and on which platform. Claims verification asks this.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use gigcover_kit::ApiResult;
use gigcover_kit::auth::{ReadsWorker, needs};
use gigcover_kit::http::Query;
use serde::{Deserialize, Serialize};

use super::{State, zone_of};
use crate::definitions;
use crate::engine::calendar::{DayWindow, local_date};
use crate::engine::spans::contains;
use crate::recompute::Loaded;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AtQuery {
    /// The instant (RFC 3339).
    pub t: DateTime<Utc>,
    /// Only this definition (`name` or `name@version`); default: the latest of each.
    pub definition: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InsuredAt {
    /// `name@version`.
    pub definition: String,
    pub insured: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ActivityAt {
    pub worker_id: uuid::Uuid,
    pub t: DateTime<Utc>,
    pub online: bool,
    pub engaged: bool,
    /// Platforms the worker was online on (engaged included).
    pub platforms_online: Vec<String>,
    pub platforms_engaged: Vec<String>,
    /// Online time at `t` was inferred (the platform sends no sessions).
    pub online_inferred: bool,
    pub insured: Vec<InsuredAt>,
}

/// The worker's state at an instant.
#[utoipa::path(get, path = "/v1/workers/{id}/activity-at", tag = "hours", security(("bearer" = [])),
    params(("id" = String, Path), AtQuery),
    responses((status = 200, body = ActivityAt),
              (status = 400, body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
              (status = 404, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn get(
    reader: ReadsWorker<needs::ActivityDetail>,
    req: HttpRequest,
    state: web::Data<State>,
) -> ApiResult<HttpResponse> {
    let query = Query::<AtQuery>::parse(&req)?;
    let worker = reader.worker;
    let mut conn = state.pool.acquire().await?;
    let tz = zone_of(&mut conn, worker).await?;
    let defs = match &query.definition {
        Some(d) => vec![state.definitions.resolve(&mut *conn, d).await?],
        None => definitions::latest(&mut *conn).await?,
    };
    let t = query.t.timestamp_millis();
    let date = local_date(tz, t);
    let infer_gap = state.settings.infer_gap_ms();
    let loaded = Loaded::around(&mut conn, worker, tz, (date, date), infer_gap).await?;
    drop(conn);
    // The same timeline the stored day was computed from.
    let timeline = loaded.timeline(&DayWindow::new(tz, date), infer_gap);
    let (on, engaged) = timeline.at(t);
    let names = |ps: &[usize]| ps.iter().map(|&p| loaded.platforms[p].clone()).collect::<Vec<_>>();
    let body = ActivityAt {
        worker_id: worker,
        t: query.t,
        online: !on.is_empty(),
        engaged: !engaged.is_empty(),
        online_inferred: on.iter().any(|&p| timeline.inferred(p, (t, t + 1))),
        platforms_online: names(&on),
        platforms_engaged: names(&engaged),
        insured: defs
            .iter()
            .map(|d| InsuredAt {
                definition: format!("{}@{}", d.name, d.version),
                insured: contains(&d.spec.insured(&timeline), t),
            })
            .collect(),
    };
    Ok(HttpResponse::Ok().json(body))
}
