//! What both adapters say about an AWS SDK failure: short, no request details (those go to the
//! log with their full context, at the call site).

use aws_sdk_dynamodb::error::SdkError;

/// Longest service message passed on in a `Validation` error.
const MAX_MESSAGE_CHARS: usize = 200;

/// `msg`, cut to [`MAX_MESSAGE_CHARS`] characters.
pub(crate) fn short(msg: &str) -> String {
    match msg.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((i, _)) => format!("{}…", &msg[..i]),
        None => msg.to_owned(),
    }
}

/// The description of a failure that is not a service error (`None` for a service error,
/// which each adapter classifies by its code).
pub(crate) fn transport_fault<E, R>(op: &str, service: &str, err: &SdkError<E, R>) -> Option<String> {
    Some(match err {
        SdkError::ServiceError(_) => return None,
        SdkError::TimeoutError(_) => format!("{op}: timed out"),
        SdkError::DispatchFailure(_) => format!("{op}: could not reach {service}"),
        SdkError::ResponseError(_) => format!("{op}: unreadable response"),
        SdkError::ConstructionFailure(_) => format!("{op}: could not build request"),
        _ => format!("{op}: request failed"),
    })
}
