//! The fault plan: which request gets which failure, chosen by an exact
//! schedule (the n-th request to a route) or by a seeded random draw, plus
//! its JSON file format.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::route::Route;

/// What to do to one request instead of (or on top of) handling it normally.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "FaultSpec", try_from = "FaultSpec")]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "RuleSpec", try_from = "RuleSpec")]
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

// ----- JSON form -----

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The JSON shape of a [`Fault`] (`{"kind": ..., ...}`), durations in milliseconds.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum FaultSpec {
    Status {
        status: u16,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
        #[serde(default)]
        retry_hint: RetryHint,
    },
    Html {
        status: u16,
    },
    DropBeforeBody,
    DropMidBody,
    DropAfterCommit,
    Stall {
        #[serde(default)]
        ms: Option<u64>,
    },
    StallMidBody {
        after_bytes: u64,
        #[serde(default)]
        ms: Option<u64>,
    },
    Delay {
        ms: u64,
    },
    UndecodableOk,
    ShortFileOk,
    Slow {
        per_gib_ms: u64,
    },
    Throttle {
        bytes_per_sec: u64,
    },
}

impl From<Fault> for FaultSpec {
    fn from(f: Fault) -> Self {
        match f {
            Fault::Status(s) if s.body == FaultBody::Html => FaultSpec::Html { status: s.status },
            Fault::Status(s) => FaultSpec::Status {
                status: s.status,
                retry_after_ms: s.retry_after.map(ms),
                retry_hint: s.retry_hint,
            },
            Fault::DropBeforeBody => FaultSpec::DropBeforeBody,
            Fault::DropMidBody => FaultSpec::DropMidBody,
            Fault::DropAfterCommit => FaultSpec::DropAfterCommit,
            Fault::Stall(d) => FaultSpec::Stall { ms: d.map(ms) },
            Fault::StallMidBody {
                after_bytes,
                duration,
            } => FaultSpec::StallMidBody {
                after_bytes,
                ms: duration.map(ms),
            },
            Fault::Delay(d) => FaultSpec::Delay { ms: ms(d) },
            Fault::UndecodableOk => FaultSpec::UndecodableOk,
            Fault::ShortFileOk => FaultSpec::ShortFileOk,
            Fault::Slow { per_gib } => FaultSpec::Slow {
                per_gib_ms: ms(per_gib),
            },
            Fault::Throttle { bytes_per_sec } => FaultSpec::Throttle { bytes_per_sec },
        }
    }
}

impl TryFrom<FaultSpec> for Fault {
    type Error = String;

    fn try_from(spec: FaultSpec) -> Result<Self, String> {
        let check = |status: u16| {
            if (100..=599).contains(&status) {
                Ok(status)
            } else {
                Err(format!("status {status} is not an HTTP status (100..=599)"))
            }
        };
        let d = Duration::from_millis;
        Ok(match spec {
            FaultSpec::Status {
                status,
                retry_after_ms,
                retry_hint,
            } => Fault::Status(StatusFault {
                status: check(status)?,
                body: FaultBody::ApiError,
                retry_after: retry_after_ms.map(d),
                retry_hint: if retry_after_ms.is_some() {
                    retry_hint
                } else {
                    RetryHint::None
                },
            }),
            FaultSpec::Html { status } => Fault::html(check(status)?),
            FaultSpec::DropBeforeBody => Fault::DropBeforeBody,
            FaultSpec::DropMidBody => Fault::DropMidBody,
            FaultSpec::DropAfterCommit => Fault::DropAfterCommit,
            FaultSpec::Stall { ms } => Fault::Stall(ms.map(d)),
            FaultSpec::StallMidBody { after_bytes, ms } => Fault::StallMidBody {
                after_bytes,
                duration: ms.map(d),
            },
            FaultSpec::Delay { ms } => Fault::Delay(d(ms)),
            FaultSpec::UndecodableOk => Fault::UndecodableOk,
            FaultSpec::ShortFileOk => Fault::ShortFileOk,
            FaultSpec::Slow { per_gib_ms } => Fault::Slow {
                per_gib: d(per_gib_ms),
            },
            FaultSpec::Throttle { bytes_per_sec: 0 } => {
                return Err("a throttle needs bytes_per_sec of at least 1".into())
            }
            FaultSpec::Throttle { bytes_per_sec } => Fault::Throttle { bytes_per_sec },
        })
    }
}

/// The JSON shape of a [`FaultRule`]: exactly one of `nth`, `every` and `fraction`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    route: Route,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nth: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    every: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fraction: Option<f64>,
    fault: Fault,
}

impl From<FaultRule> for RuleSpec {
    fn from(r: FaultRule) -> Self {
        let (nth, every, fraction) = match r.when {
            When::Nth(n) => (Some(n), None, None),
            When::Every(n) => (None, Some(n), None),
            When::Fraction(f) => (None, None, Some(f)),
        };
        RuleSpec {
            route: r.route,
            nth,
            every,
            fraction,
            fault: r.fault,
        }
    }
}

impl TryFrom<RuleSpec> for FaultRule {
    type Error = String;

    fn try_from(r: RuleSpec) -> Result<Self, String> {
        let when = match (r.nth, r.every, r.fraction) {
            (Some(0), None, None) => return Err("nth counts from 1".into()),
            (Some(n), None, None) => When::Nth(n),
            (None, Some(0), None) => return Err("every counts from 1".into()),
            (None, Some(n), None) => When::Every(n),
            (None, None, Some(f)) if (0.0..=1.0).contains(&f) => When::Fraction(f),
            (None, None, Some(f)) => return Err(format!("fraction {f} is not within 0..=1")),
            _ => {
                return Err(
                    "a rule needs exactly one of \"nth\", \"every\" and \"fraction\"".into(),
                )
            }
        };
        Ok(FaultRule {
            route: r.route,
            when,
            fault: r.fault,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_round_trips_through_json() {
        let faults = [
            Fault::status(500),
            Fault::html(502),
            Fault::status(503),
            Fault::rate_limited(Duration::from_millis(1500), RetryHint::Seconds),
            Fault::DropBeforeBody,
            Fault::DropMidBody,
            Fault::DropAfterCommit,
            Fault::Stall(None),
            Fault::Stall(Some(Duration::from_millis(250))),
            Fault::StallMidBody {
                after_bytes: 4096,
                duration: None,
            },
            Fault::Delay(Duration::from_secs(2)),
            Fault::UndecodableOk,
            Fault::ShortFileOk,
            Fault::Slow {
                per_gib: Duration::from_secs(3),
            },
            Fault::Throttle {
                bytes_per_sec: 2_000_000,
            },
        ];
        let mut plan = FaultPlan::new().seed(9);
        for (i, f) in faults.into_iter().enumerate() {
            plan = plan.nth(Route::AddPart, i as u64 + 1, f);
        }
        plan = plan.random(Route::Complete, 0.25, Fault::status(500));
        plan = plan.every(Route::AddPart, 20, Fault::Throttle { bytes_per_sec: 1 });
        let back = FaultPlan::from_json(&plan.to_json()).unwrap();
        assert_eq!(back, plan);
    }

    #[test]
    fn bad_plans_are_rejected_with_a_reason() {
        for (text, want) in [
            (
                r#"{"rules":[{"route":"add_part","fault":{"kind":"drop_after_commit"}}]}"#,
                "exactly one",
            ),
            (
                r#"{"rules":[{"route":"add_part","nth":0,"fault":{"kind":"drop_after_commit"}}]}"#,
                "from 1",
            ),
            (
                r#"{"rules":[{"route":"add_part","fraction":1.5,"fault":{"kind":"drop_after_commit"}}]}"#,
                "within",
            ),
            (
                r#"{"rules":[{"route":"add_part","nth":1,"fault":{"kind":"status","status":1000}}]}"#,
                "HTTP status",
            ),
            (
                r#"{"rules":[{"route":"add_part","nth":1,"fault":{"kind":"explode"}}]}"#,
                "unknown variant",
            ),
            (
                r#"{"rules":[{"route":"parts","nth":1,"fault":{"kind":"undecodable_ok"}}]}"#,
                "unknown variant",
            ),
            (
                r#"{"rules":[{"route":"add_part","nth":1,"every":2,"fault":{"kind":"drop_after_commit"}}]}"#,
                "exactly one",
            ),
            (
                r#"{"rules":[{"route":"add_part","every":0,"fault":{"kind":"drop_after_commit"}}]}"#,
                "from 1",
            ),
            (
                r#"{"rules":[{"route":"add_part","nth":1,"fault":{"kind":"throttle","bytes_per_sec":0}}]}"#,
                "at least 1",
            ),
            (r#"{"seed":1,"rulez":[]}"#, "unknown field"),
        ] {
            let err = FaultPlan::from_json(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
    }
}
