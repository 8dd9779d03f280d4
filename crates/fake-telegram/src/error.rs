//! The error replies of the fake Bot API, shaped as Telegram's, and the request size limit: what
//! every route, parameter reader and fault shares.

/// Largest request body the fake reads (documents included).
pub const BODY_LIMIT: usize = 64 << 20;

/// An error reply: `{"ok":false,"error_code":..,"description":..}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub description: String,
    pub retry_after: Option<u32>,
}

impl ApiError {
    pub fn new(code: u16, description: &str) -> ApiError {
        ApiError { code, description: description.to_owned(), retry_after: None }
    }

    /// 400 "Bad Request: {text}".
    pub fn bad(text: &str) -> ApiError {
        ApiError::new(400, &format!("Bad Request: {text}"))
    }
}
