//! Shared helpers of the integration tests: a small client for the fake's API.
#![allow(dead_code)]

use md5::Digest as _;
use reqwest::multipart::{Form, Part};
use reqwest::{header::HeaderMap, StatusCode};
use serde_json::{json, Value};
use sha2::Sha256;
use uploads_fake::FakeServer;

/// A small test client.
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub key: String,
}

/// A response: status, headers, JSON body.
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn error_param(&self) -> Option<&str> {
        self.body["error"]["param"].as_str()
    }

    pub fn error_message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or("")
    }

    pub fn request_id(&self) -> String {
        self.headers
            .get("x-request-id")
            .expect("x-request-id header")
            .to_str()
            .unwrap()
            .to_string()
    }

    /// Asserts the common shape of an error response.
    pub fn assert_error(&self, status: StatusCode, kind: &str) {
        assert_eq!(self.status, status, "body: {}", self.body);
        let err = self.body["error"].as_object().expect("error envelope");
        assert_eq!(err["type"], kind, "body: {}", self.body);
        assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(err.contains_key("param") && err.contains_key("code"));
        assert_eq!(err.len(), 4, "exactly message/type/param/code");
        assert!(self.request_id().starts_with("req_"));
        assert_eq!(self.headers["content-type"], "application/json");
    }
}

impl Api {
    pub fn new(server: &FakeServer) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: server.base_url(),
            key: server.api_key(),
        }
    }

    pub async fn read(resp: reqwest::Response) -> Resp {
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body");
        let body = serde_json::from_slice(&bytes).expect("JSON body");
        Resp {
            status,
            headers,
            body,
        }
    }

    pub async fn post_raw(&self, path: &str, body: &str) -> Resp {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("send");
        Self::read(resp).await
    }

    /// A GET of `path` (with its query), authenticated.
    pub async fn get(&self, path: &str) -> Resp {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .send()
            .await
            .expect("send");
        Self::read(resp).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.post_raw(path, &body.to_string()).await
    }

    pub async fn create(&self, bytes: u64) -> String {
        self.create_named("f.jsonl", "batch", bytes).await
    }

    pub async fn create_named(&self, filename: &str, purpose: &str, bytes: u64) -> String {
        let r = self
            .post(
                "/uploads",
                json!({"filename": filename, "purpose": purpose, "bytes": bytes, "mime_type": "application/jsonl"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body["id"].as_str().unwrap().to_string()
    }

    /// A JSON POST to `path`, to send (or time out) as the test likes.
    pub fn request(&self, path: &str, body: Value) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .json(&body)
    }

    pub fn part_request(&self, upload: &str, data: Vec<u8>) -> reqwest::RequestBuilder {
        let form = Form::new().part("data", Part::bytes(data).file_name("blob"));
        self.http
            .post(format!("{}/uploads/{upload}/parts", self.base))
            .bearer_auth(&self.key)
            .multipart(form)
    }

    pub async fn try_part(&self, upload: &str, data: Vec<u8>) -> reqwest::Result<Resp> {
        let resp = self.part_request(upload, data).send().await?;
        Ok(Self::read(resp).await)
    }

    pub async fn part(&self, upload: &str, data: Vec<u8>) -> Resp {
        self.try_part(upload, data).await.expect("part request")
    }

    pub async fn part_ok(&self, upload: &str, data: Vec<u8>) -> String {
        let r = self.part(upload, data).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body["id"].as_str().unwrap().to_string()
    }

    pub async fn complete(&self, upload: &str, body: Value) -> Resp {
        self.post(&format!("/uploads/{upload}/complete"), body)
            .await
    }

    pub async fn cancel(&self, upload: &str) -> Resp {
        self.post_raw(&format!("/uploads/{upload}/cancel"), "")
            .await
    }
}

pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

pub fn md5_hex(data: &[u8]) -> String {
    hex::encode(md5::Md5::digest(data))
}

pub fn files_in(server: &FakeServer) -> usize {
    std::fs::read_dir(server.storage_dir().expect("disk storage"))
        .unwrap()
        .count()
}
