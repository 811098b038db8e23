//! Credentials of `gaptrack serve`: the Flight SQL bearer token and the PostgreSQL
//! password, from the environment or from files (never from the command line), and their
//! checks. Secrets are never logged or echoed.

use std::path::Path;

use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::{Request, Status};

use crate::error::{Error, Result};

/// The user name of PostgreSQL clients.
pub const PG_USER: &str = "gaptrack";

/// A secret: compared in constant time, shown as `***`.
#[derive(Clone)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Equal, in time that depends only on the lengths.
    pub fn matches(&self, given: &[u8]) -> bool {
        let mine = self.0.as_bytes();
        mine.len() == given.len()
            && mine
                .iter()
                .zip(given)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

/// The secret from `file` (its first line) or else the variable `var`; `None` when
/// neither is given. An empty secret is a usage error.
pub fn load(var: &str, file: Option<&Path>, flag: &str) -> Result<Option<Secret>> {
    let raw = match file {
        Some(p) => Some(std::fs::read_to_string(p).map_err(|e| {
            Error::Usage(format!(
                "{flag} {}: cannot read it: {}",
                p.display(),
                crate::spec::io_reason(&e)
            ))
        })?),
        None => std::env::var(var).ok(),
    };
    match raw {
        None => Ok(None),
        Some(s) => {
            let s = s.lines().next().unwrap_or("").trim().to_string();
            if s.is_empty() {
                Err(Error::Usage(format!(
                    "the secret in {} is empty",
                    file.map(|p| p.display().to_string())
                        .unwrap_or_else(|| var.to_string())
                )))
            } else {
                Ok(Some(Secret(s)))
            }
        }
    }
}

/// Whether the `authorization` header carries the token: `Bearer TOKEN`, or `Basic` with
/// user `gaptrack` and the token as password (clients that log in with a handshake).
fn authorized(meta: &MetadataMap, token: &Secret) -> bool {
    let Some(h) = meta.get("authorization").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    if let Some(t) = h.strip_prefix("Bearer ") {
        return token.matches(t.trim().as_bytes());
    }
    if let Some(b) = h.strip_prefix("Basic ") {
        use base64::Engine as _;
        let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(b.trim()) else {
            return false;
        };
        let Some(pos) = bytes.iter().position(|&c| c == b':') else {
            return false;
        };
        return &bytes[..pos] == PG_USER.as_bytes() && token.matches(&bytes[pos + 1..]);
    }
    false
}

/// The interceptor of every Flight call: without a token configured all pass; with one,
/// a call without it is refused as unauthenticated.
#[allow(clippy::result_large_err)]
pub fn interceptor(
    token: Option<Secret>,
) -> impl FnMut(Request<()>) -> std::result::Result<Request<()>, Status> + Clone + Send + Sync + 'static
{
    move |req: Request<()>| match &token {
        None => Ok(req),
        Some(t) if authorized(req.metadata(), t) => Ok(req),
        Some(_) => Err(Status::unauthenticated(
            "gaptrack serve: a bearer token is required (the value of GAPTRACK_SERVE_TOKEN)",
        )),
    }
}

/// The bearer header a handshake answers with (a client that logged in with user and
/// password sends it on its next calls); `None` for a client that sent a bearer itself.
pub fn handshake_token(meta: &MetadataMap) -> Option<MetadataValue<tonic::metadata::Ascii>> {
    let h = meta.get("authorization")?.to_str().ok()?;
    let b = h.strip_prefix("Basic ")?;
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b.trim())
        .ok()?;
    let pos = bytes.iter().position(|&c| c == b':')?;
    let token = std::str::from_utf8(&bytes[pos + 1..]).ok()?;
    format!("Bearer {token}").parse().ok()
}
