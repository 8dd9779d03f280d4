//! Call parameters: query string plus a JSON, urlencoded or multipart body, in one JSON map.

use std::collections::HashMap;

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header;
use serde_json::{Map, Value, json};

use crate::error::{ApiError, BODY_LIMIT};

/// An uploaded file.
pub struct Upload {
    pub file_name: String,
    pub data: Vec<u8>,
}

/// Call parameters from the query string and a JSON, urlencoded or multipart body.
#[derive(Default)]
pub struct Params {
    map: Map<String, Value>,
    files: HashMap<String, Upload>,
}

pub async fn read_params(req: Request) -> Result<Params, ApiError> {
    let mut p = Params::default();
    if let Some(q) = req.uri().query() {
        p.add_form(q.as_bytes());
    }
    let ctype = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let ctype = ctype.to_ascii_lowercase();
    let bad_body = |_| ApiError::bad("can't read the request body");
    if ctype.starts_with("multipart/form-data") {
        let mut form =
            Multipart::from_request(req, &()).await.map_err(|_| ApiError::bad("can't parse multipart body"))?;
        while let Some(field) = form.next_field().await.map_err(|_| ApiError::bad("can't parse multipart body"))? {
            let name = field.name().unwrap_or_default().to_owned();
            match field.file_name().map(str::to_owned) {
                Some(file_name) => {
                    let data = field.bytes().await.map_err(bad_body)?.to_vec();
                    p.files.insert(name, Upload { file_name, data });
                }
                None => {
                    let text = field.text().await.map_err(bad_body)?;
                    p.map.insert(name, Value::String(text));
                }
            }
        }
        return Ok(p);
    }
    let body = axum::body::to_bytes(req.into_body(), BODY_LIMIT)
        .await
        .map_err(|_| ApiError::bad("can't read the request body"))?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(p);
    }
    if ctype.starts_with("application/x-www-form-urlencoded") {
        p.add_form(&body);
        return Ok(p);
    }
    match serde_json::from_slice(&body) {
        Ok(Value::Object(m)) => p.map.extend(m),
        _ => return Err(ApiError::bad("can't parse JSON object")),
    }
    Ok(p)
}

impl Params {
    /// The parameters of a JSON object (a method a webhook answered with).
    pub fn from_json(map: Map<String, Value>) -> Params {
        Params { map, files: HashMap::new() }
    }

    fn add_form(&mut self, bytes: &[u8]) {
        for (k, v) in form_urlencoded::parse(bytes) {
            self.map.insert(k.into_owned(), Value::String(v.into_owned()));
        }
    }

    /// A scalar parameter as text.
    pub fn text(&self, key: &str) -> Option<String> {
        match self.map.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            v @ (Value::Number(_) | Value::Bool(_)) => Some(v.to_string()),
            _ => None,
        }
    }

    /// An integer parameter, given as a number or as text.
    pub fn int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        let parsed = match self.map.get(key) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            Some(_) => None,
        };
        parsed.map(Some).ok_or_else(|| ApiError::bad(&format!("field \"{key}\" must be of type Integer")))
    }

    pub fn flag(&self, key: &str) -> bool {
        matches!(self.map.get(key), Some(Value::Bool(true))) || matches!(self.text(key).as_deref(), Some("true" | "1"))
    }

    /// An object/array parameter, given as JSON or as a JSON string (form and multipart).
    pub fn json(&self, key: &str) -> Result<Option<Value>, ApiError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => {
                serde_json::from_str(s).map(Some).map_err(|_| ApiError::bad(&format!("can't parse {key} JSON object")))
            }
            Some(v) => Ok(Some(v.clone())),
        }
    }

    /// `allowed_updates` (getUpdates, setWebhook): `None` when not given.
    pub fn allowed_updates(&self) -> Result<Option<Vec<String>>, ApiError> {
        let Some(allowed) = self.json("allowed_updates")? else { return Ok(None) };
        let allowed = serde_json::from_value(allowed);
        allowed.map(Some).map_err(|_| ApiError::bad("can't parse allowed_updates JSON array"))
    }

    /// A file: the part named `key`, or the part `key` points to with "attach://name".
    pub fn file(&self, key: &str) -> Option<&Upload> {
        let attached = self.text(key).and_then(|v| v.strip_prefix("attach://").map(str::to_owned));
        self.files.get(key).or_else(|| self.files.get(&attached?))
    }

    /// The parameters as JSON, files as `{"file_name","size","content_utf8"}` (replacing
    /// "attach://" references).
    pub fn recorded(&self) -> Value {
        let describe = |f: &Upload| {
            json!({
                "file_name": f.file_name, "size": f.data.len(), "content_utf8": std::str::from_utf8(&f.data).ok(),
            })
        };
        let mut map = self.map.clone();
        let mut files: Vec<(&String, &Upload)> = self.files.iter().collect();
        for v in map.values_mut() {
            let target = v.as_str().and_then(|s| s.strip_prefix("attach://")).map(str::to_owned);
            if let Some(i) = target.and_then(|t| files.iter().position(|(k, _)| **k == t)) {
                *v = describe(files.remove(i).1);
            }
        }
        for (k, f) in files {
            map.insert(k.clone(), describe(f));
        }
        Value::Object(map)
    }
}
