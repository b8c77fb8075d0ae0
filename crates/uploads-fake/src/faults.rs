//! The fault plan: which request gets which failure, chosen by an exact
//! schedule (the n-th request to a route) or by a seeded random draw. Its JSON
//! file format is in `fault_json`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::route::Route;

/// What to do to one request instead of (or on top of) handling it normally.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Fault {
    /// Read the request body, then answer with this status and body without
    /// performing the operation.
    Status(StatusFault),
    /// Close the connection before reading the request body; nothing is performed.
    DropBeforeBody,
    /// Read about half of the request body (by `Content-Length`), then close
    /// the connection; nothing is performed.
    DropMidBody,
    /// Perform (commit) the operation, then close the connection without
    /// sending any answer.
    DropAfterCommit,
    /// Read the request, then send nothing for the duration (`None`: forever,
    /// until the client hangs up) and close the connection. The operation is
    /// NOT performed.
    Stall(Option<Duration>),
    /// Stop reading the request body after `after_bytes` for `duration`
    /// (`None`: forever), then go on normally.
    StallMidBody {
        /// Bytes of the body read before the pause.
        after_bytes: u64,
        /// How long the pause lasts (`None`: until the client hangs up).
        duration: Option<Duration>,
    },
    /// Hold the request for the duration before reading it, then handle it
    /// normally (what [`Faults::with_stall`](crate::Faults::with_stall) does).
    Delay(Duration),
    /// Perform (commit) the operation, then answer 200 with a body that is
    /// not valid JSON. An operation that fails is answered normally.
    UndecodableOk,
    /// Perform (commit) the operation, then answer with its File's `bytes` one less than the
    /// truth: a server that hands back a truncated File (only `complete` answers carry one).
    ShortFileOk,
    /// Perform the operation but take `per_gib` per GiB of the upload's
    /// `bytes` before answering. On `complete` the upload stays "being
    /// completed" meanwhile and the commit happens at the end, even if the
    /// client has hung up.
    Slow {
        /// Time per GiB of the upload's declared size.
        per_gib: Duration,
    },
    /// Read this request's body at most at `bytes_per_sec` (on top of the
    /// link's caps), then handle it normally: a straggler (one slow path
    /// among fast ones) or, at a few bytes per second, a connection that
    /// still moves but too little to be worth keeping.
    Throttle {
        /// The cap for this request's body, in bytes per second (at least 1).
        bytes_per_sec: u64,
    },
}

/// The body of a [`Fault::Status`] answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FaultBody {
    /// The API's JSON error envelope with a type and code fitting the status.
    ApiError,
    /// A `text/html` page, like the one a proxy in front of the API sends.
    Html,
}

/// An injected answer: status, body and optional retry headers.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StatusFault {
    /// The HTTP status (100..=599).
    pub status: u16,
    /// What the body holds.
    pub body: FaultBody,
    /// Delay advertised to the client, in the header chosen by `retry_hint`.
    pub retry_after: Option<Duration>,
    /// Which header carries `retry_after`.
    pub retry_hint: RetryHint,
}

impl Fault {
    /// Answer `code` with the API's JSON error envelope (type and code fit
    /// the status: `server_error` for 5xx, `requests`/`rate_limit_exceeded`
    /// for 429, `invalid_request_error` otherwise).
    pub fn status(code: u16) -> Fault {
        Fault::Status(StatusFault {
            status: code,
            body: FaultBody::ApiError,
            retry_after: None,
            retry_hint: RetryHint::None,
        })
    }

    /// Answer `code` with a `text/html` page, like a proxy's 502.
    pub fn html(code: u16) -> Fault {
        Fault::Status(StatusFault {
            status: code,
            body: FaultBody::Html,
            retry_after: None,
            retry_hint: RetryHint::None,
        })
    }

    /// Answer 429 (`rate_limit_exceeded`) advertising `retry_after` in the
    /// header chosen by `hint`.
    pub fn rate_limited(retry_after: Duration, hint: RetryHint) -> Fault {
        Fault::Status(StatusFault {
            status: 429,
            body: FaultBody::ApiError,
            retry_after: Some(retry_after),
            retry_hint: hint,
        })
    }
}

/// How a 429 response tells the client when to retry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RetryHint {
    /// No retry header at all.
    None,
    /// `retry-after-ms: <milliseconds>` (what the OpenAI API sends).
    #[default]
    Millis,
    /// `Retry-After: <seconds>` (delay rounded up to whole seconds).
    Seconds,
    /// `Retry-After: <HTTP-date>` (fake clock now + delay, rounded up to the
    /// next whole second).
    HttpDate,
}

/// When a rule fires.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum When {
    /// Exactly the n-th request to the route (1-based).
    Nth(u64),
    /// Every n-th request to the route: the n-th, the 2n-th, the 3n-th, ...
    /// (one request in n, at fixed places).
    Every(u64),
    /// A seeded random fraction of the requests to the route.
    Fraction(f64),
}

/// One rule of a [`FaultPlan`].
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    /// The route the rule applies to.
    pub route: Route,
    /// Which requests it hits.
    pub when: When,
    /// What happens to them.
    pub fault: Fault,
}

/// A fault plan: an exact schedule per route and n-th request, plus seeded
/// random fractions.
///
/// Requests are counted per route (1-based, across all uploads) from the
/// moment the plan is set. For each request the first `nth` rule matching
/// its route and number wins; otherwise, if the route has `fraction` rules,
/// one number is drawn from a generator seeded with [`FaultPlan::seed`]
/// and compared against their cumulative fractions in rule order. With the
/// same seed and the same request order, the same requests fail.
///
/// As JSON (`FaultPlan::from_json`, `uploads-fake --fault-plan plan.json`):
///
/// ```
/// let plan = uploads_fake::FaultPlan::from_json(r#"{
///   "seed": 7,
///   "rules": [
///     {"route": "complete", "nth": 1, "fault": {"kind": "drop_after_commit"}},
///     {"route": "add_part", "nth": 2, "fault": {"kind": "html", "status": 502}},
///     {"route": "add_part", "fraction": 0.1,
///      "fault": {"kind": "status", "status": 429, "retry_after_ms": 500, "retry_hint": "millis"}}
///   ]
/// }"#).unwrap();
/// assert_eq!(plan.rules.len(), 3);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultPlan {
    /// Seed of the random draws.
    #[serde(default)]
    pub seed: u64,
    /// The rules, in priority order.
    #[serde(default)]
    pub rules: Vec<FaultRule>,
}

impl FaultPlan {
    /// An empty plan: no faults.
    pub fn new() -> FaultPlan {
        FaultPlan::default()
    }

    /// Adds a rule hitting exactly the `n`-th request (1-based) to `route`.
    pub fn nth(mut self, route: Route, n: u64, fault: Fault) -> FaultPlan {
        self.rules.push(FaultRule {
            route,
            when: When::Nth(n),
            fault,
        });
        self
    }

    /// Adds a rule hitting every `n`-th request to `route` (the n-th, 2n-th, ...).
    pub fn every(mut self, route: Route, n: u64, fault: Fault) -> FaultPlan {
        self.rules.push(FaultRule {
            route,
            when: When::Every(n),
            fault,
        });
        self
    }

    /// Adds a rule hitting a seeded random `fraction` of the requests to `route`.
    pub fn random(mut self, route: Route, fraction: f64, fault: Fault) -> FaultPlan {
        self.rules.push(FaultRule {
            route,
            when: When::Fraction(fraction),
            fault,
        });
        self
    }

    /// Sets the seed of the random draws.
    pub fn seed(mut self, seed: u64) -> FaultPlan {
        self.seed = seed;
        self
    }

    /// Parses the JSON form (see the type's docs).
    pub fn from_json(text: &str) -> Result<FaultPlan, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The JSON form.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Whether the plan has no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// One injected fault, see [`FakeServer::injected`](crate::FakeServer::injected).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct InjectedFault {
    /// The route of the request.
    pub route: Route,
    /// Its number among the requests to that route since the plan was set (1-based).
    pub nth: u64,
    /// What was done to it.
    pub fault: Fault,
    /// The object the request's path named: the upload (`None` for create
    /// and list_files), or the file for retrieve_file.
    pub object_id: Option<String>,
}
