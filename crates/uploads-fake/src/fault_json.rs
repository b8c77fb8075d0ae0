//! The JSON file format of a [`FaultPlan`]: `{"seed": .., "rules": [{"route": .., "nth" |
//! "every" | "fraction": .., "fault": {"kind": .., ..}}]}`, durations in milliseconds. Unknown
//! fields and impossible values are refused with a reason.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::faults::{Fault, FaultBody, FaultRule, RetryHint, StatusFault, When};
use crate::route::Route;

impl Serialize for Fault {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        FaultSpec::from(self.clone()).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Fault {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Fault::try_from(FaultSpec::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl Serialize for FaultRule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        RuleSpec::from(self.clone()).serialize(s)
    }
}

impl<'de> Deserialize<'de> for FaultRule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        FaultRule::try_from(RuleSpec::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

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
    use crate::faults::FaultPlan;

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
