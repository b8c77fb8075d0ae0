//! A faithful, stateful fake of the OpenAI Uploads API for tests.
//!
//! [`FakeServer`] is a real HTTP/1.1 server on `127.0.0.1` (ephemeral port by
//! default) that implements the four Uploads endpoints and the two Files
//! reads under `/v1`:
//!
//! * `POST /v1/uploads` – create (full request validation, 400 on any violation),
//! * `POST /v1/uploads/{id}/parts` – add a part (`multipart/form-data`, field
//!   `data`; streamed to disk, size limited while streaming),
//! * `POST /v1/uploads/{id}/complete` – complete (ownership, duplicates, total
//!   size and optional md5 checks; computes the content's sha256 and md5),
//! * `POST /v1/uploads/{id}/cancel` – cancel,
//! * `GET /v1/files` – the Files completed uploads produced (`purpose`,
//!   `limit`, `order` (default `desc` by `created_at`) and `after` cursor;
//!   `{"object":"list","data","first_id","last_id","has_more"}`),
//! * `GET /v1/files/{file_id}` – one File (404 when there is none).
//!
//! Every response carries `x-request-id` and `content-type: application/json`;
//! errors use the API envelope `{"error":{"message","type","param","code"}}`.
//! Bearer auth is enforced on every route. Uploads expire one hour after
//! creation on a controllable [`FakeClock`].
//!
//! A [`FaultPlan`] injects the failures real networks produce, on exactly
//! the n-th request to a route or on a seeded random fraction: statuses with
//! API or proxy (HTML) bodies, 429s with retry headers, connections dropped
//! before the body or after the commit, stalls, mid-body stalls, undecodable
//! 200s, slow completes and throttled bodies (stragglers) ([`Fault`]). A
//! [`LinkModel`] adds latency, a bandwidth cap per connection and one link
//! shared fairly by all connections; the [`FakeClock`] can run
//! ahead or behind. [`Faults`] is the short form of random fractions. Tests
//! inspect the server with [`FakeServer::stats`], [`FakeServer::injected`],
//! [`FakeServer::upload`] and [`FakeServer::read_content`].
//!
//! ```no_run
//! use uploads_fake::{FakeConfig, FakeServer, Faults};
//!
//! # async fn example() -> std::io::Result<()> {
//! let server = FakeServer::start_with(
//!     FakeConfig::default().with_faults(Faults::default().with_seed(7).with_fail_500(0.2)),
//! )
//! .await?;
//! let base_url = server.base_url(); // "http://127.0.0.1:PORT/v1"
//! let api_key = server.api_key();   // "sk-fake-uploads"
//! // ... point the client under test at base_url / api_key ...
//! # let _ = (base_url, api_key);
//! let stats = server.stats();
//! assert!(stats.max_parts_in_flight <= 4);
//! for upload in server.uploads() {
//!     println!("{} {} {:?}", upload.id, upload.status, upload.content_sha256);
//! }
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! The `uploads-fake` binary (feature `cli`) runs the same server from the
//! command line (see the crate README).

//! # Layout
//!
//! Each module imports only modules listed above it in this table, so the
//! code reads bottom-up without circles (`scripts/check-layering` from the
//! repository root checks it, in CI too).
//!
//! | module | job | imports of the crate |
//! | --- | --- | --- |
//! | `route` | the vocabulary of requests: [`Route`], the parsed `Endpoint` | none |
//! | `clock`, `link`, `mutex`, `state`, `api_error`, `storage` | the clock; link model and its pacers; lock helper; upload state and [`UploadSnapshot`]; the error envelope; storage modes and part sinks | none |
//! | `faults` | the fault vocabulary: [`Fault`], [`FaultPlan`], [`RetryHint`] and their JSON | `route` |
//! | `reply`, `auth`, `validate` | what a request gets; bearer auth; request field checks | `api_error` |
//! | `body`, `conn` | paced request bodies; one connection's cap and hang-up | `link`, `api_error`, `mutex` |
//! | `fractions`, `inject`, `stats` | random fault fractions; deciding each request's fault; counters | `faults`, `route`, `link` |
//! | `store` | uploads by id, expiry, snapshots, state file | `state`, `storage`, `clock`, `api_error`, `mutex` |
//! | `config` | [`FakeConfig`] | `faults`, `fractions`, `link`, `storage` |
//! | `service` | what the handlers share, built from the config | the modules above |
//! | `ops/*` | one operation each (`ops/files.rs`: the Files list and retrieve) | `service`, `store`, `state`, `body`, `route`, ... |
//! | `fault_effects` | what each fault does before and after the operation | `faults`, `body`, `reply`, `clock` |
//! | `router` | dispatch only: route, auth, gauge, link, fault, operation | `ops`, `fault_effects`, `service`, `conn`, `reply`, `route` |
//! | `http` | accept loop, connections, responses | `router`, `conn`, `reply`, `service` |
//! | `server` | [`FakeServer`]: lifecycle, steering, inspection | `http`, `service`, ... |

mod api_error;
mod auth;
mod body;
mod clock;
mod config;
mod conn;
mod fault_effects;
mod fault_json;
mod faults;
mod fractions;
mod http;
mod inject;
mod link;
mod mutex;
mod ops;
mod reply;
mod route;
mod router;
mod server;
mod service;
mod state;
mod stats;
mod storage;
mod store;
mod validate;

pub use clock::FakeClock;
pub use config::{
    FakeConfig, DEFAULT_API_KEY, DEFAULT_MAX_PART_BYTES, DEFAULT_MAX_UPLOAD_BYTES,
    DEFAULT_UPLOAD_TTL,
};
pub use faults::{
    Fault, FaultBody, FaultPlan, FaultRule, InjectedFault, RetryHint, StatusFault, When,
};
pub use fractions::Faults;
pub use link::LinkModel;
pub use route::Route;
pub use server::{FakeServer, PartsHold};
pub use state::{PartSnapshot, UploadSnapshot, UploadStatus};
pub use stats::{FaultCounts, RequestCounts, Stats};
pub use storage::Storage;

/// The README's examples run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
