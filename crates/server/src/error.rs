//! API errors as RFC 9457 problem details (`application/problem+json`): a status, a
//! stable `type` (documented in docs/api.md), a short title and a detail that says what
//! to do. Every `/api/v1` error goes through [`ApiError`], extractor rejections included.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// The last segment of the problem type, e.g. `unauthorized`.
    pub kind: &'static str,
    pub detail: String,
    retry_after: Option<u32>,
}

impl ApiError {
    pub fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            kind,
            detail: detail.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> ApiError {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", detail)
    }

    pub fn invalid(detail: impl Into<String>) -> ApiError {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-request", detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> ApiError {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> ApiError {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    /// Also what another tenant's resource answers: its existence is not revealed.
    pub fn not_found(what: impl std::fmt::Display) -> ApiError {
        Self::new(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("{what} does not exist"),
        )
    }

    /// [`ApiError::not_found`] for a record looked up by id in the caller's tenant; when it
    /// exists in another tenant, the attempt is counted (`cross_tenant_denials_total`) and
    /// logged, without telling the caller.
    pub async fn not_found_for(
        state: &crate::AppState,
        caller: &crate::auth::Caller,
        kind: qa_store::Owned,
        id: i64,
        what: impl std::fmt::Display,
    ) -> ApiError {
        if let Ok(Some(owner)) = state.db.db.owner_of(kind, id).await
            && owner != caller.0.tenant_id
        {
            state
                .metrics
                .cross_tenant_denials
                .get_or_create(&crate::metrics::ResourceLabels {
                    resource: kind.as_str().into(),
                })
                .inc();
            tracing::warn!(
                resource = kind.as_str(),
                id,
                tenant = caller.0.tenant_id,
                actor = %caller.actor(),
                "request for another tenant's record denied"
            );
        }
        ApiError::not_found(what)
    }

    pub fn conflict(detail: impl Into<String>) -> ApiError {
        Self::new(StatusCode::CONFLICT, "conflict", detail)
    }

    pub fn too_large(detail: impl Into<String>) -> ApiError {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large", detail)
    }

    /// A dependency is down or the service refuses writes: try again later.
    pub fn unavailable(kind: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError {
            retry_after: Some(5),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, kind, detail)
        }
    }

    /// How long the client should wait before trying again.
    pub fn retry_after(mut self, secs: u64) -> ApiError {
        self.retry_after = Some(u32::try_from(secs).unwrap_or(u32::MAX));
        self
    }

    pub fn internal(detail: impl Into<String>) -> ApiError {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", detail)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "type": format!("/problems/{}", self.kind),
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"qa-agent\""),
            );
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<qa_store::StoreError> for ApiError {
    fn from(e: qa_store::StoreError) -> ApiError {
        use qa_store::StoreError as E;
        match e {
            E::Conflict(what) => ApiError::conflict(format!("{what} already exists")),
            E::Invalid(why) => ApiError::invalid(why),
            ref e if e.is_unavailable() => ApiError::unavailable(
                "database-unavailable",
                format!("the database is unavailable ({e}); try again shortly"),
            ),
            other => {
                tracing::error!(error = %other, "database error");
                ApiError::internal("a database operation failed; the server log has the cause")
            }
        }
    }
}

/// `axum::Json` whose rejections are problem details: malformed JSON is 400, a body
/// of the wrong shape (wrong types, unknown or missing fields) 422, a missing JSON
/// content type 415, a body over the limit 413.
#[derive(axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `axum::extract::Query` whose rejection is a 400 problem detail naming the parameter.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// `axum::extract::Path` whose rejection is a 400 problem detail.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> ApiError {
        match r {
            JsonRejection::JsonDataError(e) => ApiError::invalid(e.body_text()),
            JsonRejection::JsonSyntaxError(e) => {
                ApiError::bad_request(format!("malformed JSON: {}", e.body_text()))
            }
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "send the body as JSON with `Content-Type: application/json`",
            ),
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::too_large(format!("the body is too large: {}", e.body_text()))
            }
            other => ApiError::bad_request(other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> ApiError {
        ApiError::bad_request(r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> ApiError {
        ApiError::bad_request(r.body_text())
    }
}
