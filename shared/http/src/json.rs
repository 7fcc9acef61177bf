//! JSON in: the `ApiJson<T>` extractor. Only `application/json`, bounded size, unknown fields
//! rejected (request types use `deny_unknown_fields`), and every failure a precise problem:
//! `unsupported_media_type` 415, `payload_too_large` 413, `malformed_json` 400, `invalid_field` 422.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::de::DeserializeOwned;

use super::problem::ApiError;

/// The largest body this request may carry (set per request by the route guard).
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// A JSON request body, parsed strictly.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

/// True when the request declares a JSON body.
pub fn is_json(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

/// Refuses a body whose `Content-Type` is not `media` (415, saying what to send instead).
pub fn require_media_type(headers: &axum::http::HeaderMap, media: &str, instead: &str) -> Result<(), ApiError> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if ct.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case(media)) {
        return Ok(());
    }
    Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "Unsupported media type", instead))
}

/// Reads a body up to `limit` bytes.
pub async fn read_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    match Limited::new(body, limit).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large(limit)),
        Err(_) => Err(ApiError::bad_request("body_unreadable", "the request body could not be read")),
    }
}

pub fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "Payload too large",
        format!("the request body exceeds {limit} bytes"),
    )
}

/// Parses JSON bytes into `T`, naming the offending field on failure.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("malformed_json", "the request body is empty; a JSON object is required"));
    }
    // Request bodies are objects; serde would also build a struct from an array.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{')
        && serde_json::from_slice::<serde_json::Value>(bytes).is_ok()
    {
        return Err(ApiError::invalid_field("body", "expected a JSON object"));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_data() {
            let field = if path == "." { "body".to_owned() } else { path };
            ApiError::invalid_field(&field, strip_position(&inner.to_string()))
        } else {
            ApiError::bad_request(
                "malformed_json",
                format!("the request body is not valid JSON (line {}, column {})", inner.line(), inner.column()),
            )
        }
    })?;
    de.end().map_err(|e| {
        ApiError::bad_request(
            "malformed_json",
            format!("unexpected data after the JSON value (line {}, column {})", e.line(), e.column()),
        )
    })?;
    Ok(value)
}

/// serde_json appends " at line X column Y" to data errors; the field path says more.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(&req) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Unsupported media type",
                "send the body as application/json",
            ));
        }
        let limit = req.extensions().get::<BodyLimit>().map_or(64 * 1024, |l| l.0);
        let bytes = read_body(req.into_body(), limit).await?;
        parse(&bytes).map(ApiJson)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct T {
        name: String,
        n: Option<u32>,
    }

    #[test]
    fn good_json_parses() {
        assert_eq!(parse::<T>(br#"{"name":"x","n":3}"#).unwrap(), T { name: "x".into(), n: Some(3) });
    }

    #[test]
    fn failures_name_their_kind_and_field() {
        let cases: &[(&[u8], &str, &str)] = &[
            (b"", "malformed_json", "empty"),
            (b"{\"name\":", "malformed_json", "line 1"),
            (b"{\"name\":\"x\"} trailing", "malformed_json", "after the JSON value"),
            (br#"{"name":"x","extra":1}"#, "invalid_field", "unknown field `extra`"),
            (br#"{"name":5}"#, "invalid_field", "name"),
            (br#"{"name":"x","n":-1}"#, "invalid_field", "n:"),
            (br#"{"n":1}"#, "invalid_field", "missing field `name`"),
            (b"[1,2]", "invalid_field", "body"),
            (br#"["x", 3]"#, "invalid_field", "expected a JSON object"),
        ];
        for (body, code, needle) in cases {
            let e = parse::<T>(body).unwrap_err();
            assert_eq!(e.code, *code, "{}", String::from_utf8_lossy(body));
            assert!(e.detail.contains(needle), "{:?} lacks {needle:?}", e.detail);
        }
    }
}
