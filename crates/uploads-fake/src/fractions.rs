//! Random fault fractions: the short form of a [`FaultPlan`] plus latency and
//! a per-connection bandwidth cap.

use std::time::Duration;

use crate::faults::{Fault, FaultPlan, RetryHint};
use crate::link::LinkModel;
use crate::route::Route;

/// Random fault fractions, the simple form of a [`FaultPlan`]. Change them
/// at runtime with [`FakeServer::set_faults`](crate::FakeServer::set_faults).
///
/// They convert into a plan ([`Faults::to_plan`]: one `fraction` rule per
/// kind and listed operation) and a link model ([`Faults::link`]: `latency`
/// and `bandwidth`, which apply to every route).
///
/// For every request to an operation listed in [`Faults::apply_to`], one
/// random number is drawn from `StdRng::seed_from_u64(seed)` in arrival order
/// and compared against the cumulative fractions in this order: `fail_500`,
/// `fail_429`, `drop_connection`, `stall`. So with the same seed and the same
/// request order, the same requests fail. The fractions should sum to at most 1.
///
/// Every fault happens before a part is stored, so a faulted part request
/// never leaves a part behind.
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// Seed of the decision RNG (re-seeded each time faults are set).
    pub seed: u64,
    /// Fraction of requests answered `500` (`type: "server_error"`) after the
    /// request body has been read.
    pub fail_500: f64,
    /// Fraction of requests answered `429` (`type: "requests"`,
    /// `code: "rate_limit_exceeded"`) after the body has been read.
    pub fail_429: f64,
    /// The delay advertised by 429 responses.
    pub retry_after: Duration,
    /// Which header carries the 429 retry delay.
    pub retry_hint: RetryHint,
    /// Fraction of requests whose connection is dropped after roughly half of
    /// the request body has been read, without any response.
    pub drop_connection: f64,
    /// Fraction of requests that hang for [`Faults::stall_for`] before being
    /// handled normally (to exercise client timeouts; [`Fault::Delay`]).
    pub stall: f64,
    /// How long a stalled request hangs.
    pub stall_for: Duration,
    /// Latency added to every request (of every route) before it is handled.
    pub latency: Duration,
    /// Cap on how fast request bodies are read, in bytes per second per
    /// connection (every route).
    pub bandwidth: Option<u64>,
    /// Routes the faults apply to. Default: only `AddPart`.
    pub apply_to: Vec<Route>,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            seed: 0,
            fail_500: 0.0,
            fail_429: 0.0,
            retry_after: Duration::from_millis(100),
            retry_hint: RetryHint::Millis,
            drop_connection: 0.0,
            stall: 0.0,
            stall_for: Duration::from_secs(30),
            latency: Duration::ZERO,
            bandwidth: None,
            apply_to: vec![Route::AddPart],
        }
    }
}

impl Faults {
    /// No faults at all (same as `Faults::default()`).
    pub fn none() -> Self {
        Self::default()
    }

    /// Sets the RNG seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the fraction of requests answered 500.
    pub fn with_fail_500(mut self, fraction: f64) -> Self {
        self.fail_500 = fraction;
        self
    }

    /// Sets the fraction of requests answered 429 and how the delay is advertised.
    pub fn with_fail_429(mut self, fraction: f64, retry_after: Duration, hint: RetryHint) -> Self {
        self.fail_429 = fraction;
        self.retry_after = retry_after;
        self.retry_hint = hint;
        self
    }

    /// Sets the fraction of requests whose connection is dropped mid-body.
    pub fn with_drop_connection(mut self, fraction: f64) -> Self {
        self.drop_connection = fraction;
        self
    }

    /// Sets the fraction of requests that stall, and for how long.
    pub fn with_stall(mut self, fraction: f64, stall_for: Duration) -> Self {
        self.stall = fraction;
        self.stall_for = stall_for;
        self
    }

    /// Sets the latency added to every affected request.
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Sets the body read bandwidth cap in bytes per second.
    pub fn with_bandwidth(mut self, bytes_per_sec: u64) -> Self {
        self.bandwidth = Some(bytes_per_sec);
        self
    }

    /// Sets the operations the faults apply to.
    pub fn with_apply_to(mut self, ops: impl IntoIterator<Item = Route>) -> Self {
        self.apply_to = ops.into_iter().collect();
        self
    }

    /// The fault plan these fractions stand for: per listed operation, one
    /// `fraction` rule per kind in the order 500, 429, drop, stall.
    pub fn to_plan(&self) -> FaultPlan {
        let kinds = [
            (self.fail_500, Fault::status(500)),
            (
                self.fail_429,
                Fault::rate_limited(self.retry_after, self.retry_hint),
            ),
            (self.drop_connection, Fault::DropMidBody),
            (self.stall, Fault::Delay(self.stall_for)),
        ];
        let mut plan = FaultPlan::new().seed(self.seed);
        for &op in &self.apply_to {
            for (fraction, fault) in &kinds {
                if *fraction > 0.0 {
                    plan = plan.random(op, *fraction, fault.clone());
                }
            }
        }
        plan
    }

    /// The link model of `latency` and `bandwidth` (per connection).
    pub fn link(&self) -> LinkModel {
        LinkModel::new()
            .latency(self.latency)
            .per_connection(self.bandwidth.unwrap_or(0))
    }
}
