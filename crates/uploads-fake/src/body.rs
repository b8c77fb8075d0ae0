//! Request bodies read chunk by chunk through the link model's pacers, with
//! an optional pause (the mid-body stall fault).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::Value;

use crate::api_error::ApiError;
use crate::link::LinkPath;

/// Largest JSON body accepted.
const MAX_JSON_BODY: usize = 1024 * 1024;

/// A pause in reading: after `after_bytes`, wait `duration` (`None`: forever).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pause {
    pub after_bytes: u64,
    pub duration: Option<Duration>,
}

/// A request body read chunk by chunk, paced by the link it crosses.
pub(crate) struct ReqBody {
    body: Incoming,
    link: LinkPath,
    pause: Option<Pause>,
    read: u64,
}

impl ReqBody {
    pub fn new(body: Incoming, link: LinkPath) -> Self {
        Self {
            body,
            link,
            pause: None,
            read: 0,
        }
    }

    pub fn pause(&mut self, pause: Pause) {
        self.pause = Some(pause);
    }

    /// Caps this body alone at `bytes_per_sec` (on top of the link's caps).
    pub fn throttle(&mut self, bytes_per_sec: u64) {
        self.link.add_cap(bytes_per_sec);
    }

    /// The next data chunk, `None` at the end.
    pub async fn chunk(&mut self) -> Option<Result<Bytes, hyper::Error>> {
        loop {
            let frame = match self.body.frame().await {
                Some(Ok(f)) => f,
                Some(Err(e)) => return Some(Err(e)),
                None => {
                    self.link.leave();
                    return None;
                }
            };
            let Ok(data) = frame.into_data() else {
                continue;
            };
            if data.is_empty() {
                continue;
            }
            let len = data.len() as u64;
            if let Some(pause) = self.pause.filter(|p| self.read + len > p.after_bytes) {
                self.pause = None;
                // A paused body takes no share of the link.
                self.link.leave();
                match pause.duration {
                    Some(d) => tokio::time::sleep(d).await,
                    None => std::future::pending().await,
                }
            }
            self.read += len;
            self.link.pass(len).await;
            return Some(Ok(data));
        }
    }

    /// Reads and discards up to about `limit` bytes (stops early on error).
    pub async fn drain(&mut self, limit: u64) {
        let start = self.read;
        while self.read - start < limit {
            match self.chunk().await {
                Some(Ok(_)) => {}
                _ => break,
            }
        }
    }

    /// Reads the whole body as JSON.
    pub async fn json(&mut self) -> Result<Value, ApiError> {
        let mut buf = Vec::new();
        while let Some(chunk) = self.chunk().await {
            let chunk =
                chunk.map_err(|e| ApiError::invalid(format!("Failed to read body: {e}")))?;
            buf.extend_from_slice(&chunk);
            if buf.len() > MAX_JSON_BODY {
                return Err(ApiError::invalid("Request body too large."));
            }
        }
        serde_json::from_slice(&buf).map_err(|_| {
            ApiError::invalid(
                "We could not parse the JSON body of your request. (HINT: This likely means \
                 you aren't using your HTTP library correctly. The OpenAI API expects a JSON \
                 payload, but what was sent was not valid JSON.)",
            )
        })
    }

    pub fn into_stream(
        self,
    ) -> impl futures_util::Stream<Item = Result<Bytes, hyper::Error>> + Send + 'static {
        futures_util::stream::unfold(self, |mut body| async move {
            body.chunk().await.map(|c| (c, body))
        })
    }
}
