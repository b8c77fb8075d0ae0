//! Applies a [`FaultPlan`]: counts requests per route, picks the fault for
//! each one and keeps the log the inspection API reads.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::faults::{Fault, FaultPlan, InjectedFault, When};
use crate::route::Route;

/// The plan in force, its per-route counters, random generator and log.
pub(crate) struct Injector {
    plan: FaultPlan,
    rng: StdRng,
    counts: [u64; Route::ALL.len()],
    log: Vec<InjectedFault>,
}

impl Injector {
    pub fn new(plan: FaultPlan) -> Self {
        Self {
            rng: StdRng::seed_from_u64(plan.seed),
            plan,
            counts: [0; Route::ALL.len()],
            log: Vec::new(),
        }
    }

    /// Replaces the plan, re-seeds the generator and restarts the counters
    /// (the log of earlier injections is kept).
    pub fn set_plan(&mut self, plan: FaultPlan) {
        let log = std::mem::take(&mut self.log);
        *self = Self::new(plan);
        self.log = log;
    }

    pub fn plan(&self) -> &FaultPlan {
        &self.plan
    }

    pub fn log(&self) -> &[InjectedFault] {
        &self.log
    }

    /// Counts one request to `route` and returns the fault to inject, if any:
    /// the first `nth`/`every` rule that matches, else the random draw.
    pub fn decide(&mut self, route: Route, object_id: Option<&str>) -> Option<Fault> {
        let slot = &mut self.counts[route as usize];
        *slot += 1;
        let nth = *slot;
        let rules = || self.plan.rules.iter().filter(|r| r.route == route);
        let scheduled = rules()
            .find(|r| match r.when {
                When::Nth(n) => n == nth,
                When::Every(n) => nth.is_multiple_of(n),
                When::Fraction(_) => false,
            })
            .map(|r| r.fault.clone());
        let fault = scheduled.or_else(|| {
            let mut fractions = rules()
                .filter_map(|r| match r.when {
                    When::Fraction(f) => Some((f, &r.fault)),
                    When::Nth(_) | When::Every(_) => None,
                })
                .peekable();
            fractions.peek()?;
            let draw: f64 = self.rng.random();
            let mut acc = 0.0;
            fractions
                .find(|(f, _)| {
                    acc += f;
                    draw < acc
                })
                .map(|(_, fault)| fault.clone())
        })?;
        self.log.push(InjectedFault {
            route,
            nth,
            fault: fault.clone(),
            object_id: object_id.map(str::to_owned),
        });
        Some(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nth_rules_hit_exactly_their_request_per_route() {
        let plan = FaultPlan::new()
            .nth(Route::AddPart, 2, Fault::status(500))
            .nth(Route::Complete, 1, Fault::DropAfterCommit);
        let mut inj = Injector::new(plan);
        assert_eq!(inj.decide(Route::AddPart, Some("u")), None);
        assert_eq!(inj.decide(Route::Create, None), None);
        assert_eq!(
            inj.decide(Route::AddPart, Some("u")),
            Some(Fault::status(500))
        );
        assert_eq!(inj.decide(Route::AddPart, Some("u")), None);
        assert_eq!(
            inj.decide(Route::Complete, Some("u")),
            Some(Fault::DropAfterCommit)
        );
        let log: Vec<_> = inj.log().iter().map(|f| (f.route, f.nth)).collect();
        assert_eq!(log, [(Route::AddPart, 2), (Route::Complete, 1)]);
        // A new plan restarts the counters.
        inj.set_plan(FaultPlan::new().nth(Route::AddPart, 1, Fault::DropBeforeBody));
        assert_eq!(
            inj.decide(Route::AddPart, None),
            Some(Fault::DropBeforeBody)
        );
        assert_eq!(inj.log().len(), 3);
    }

    #[test]
    fn every_rules_hit_one_request_in_n_and_nth_rules_win() {
        let slow = Fault::Throttle {
            bytes_per_sec: 1000,
        };
        let plan = FaultPlan::new()
            .nth(Route::AddPart, 6, Fault::status(500))
            .every(Route::AddPart, 3, slow.clone());
        let mut inj = Injector::new(plan);
        let got: Vec<_> = (0..9).map(|_| inj.decide(Route::AddPart, None)).collect();
        let want = [
            None,
            None,
            Some(slow.clone()),
            None,
            None,
            Some(Fault::status(500)),
            None,
            None,
            Some(slow),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn fractions_are_seeded_and_cumulative() {
        let plan = FaultPlan::new()
            .seed(5)
            .random(Route::AddPart, 0.25, Fault::status(500))
            .random(Route::AddPart, 0.25, Fault::html(502));
        let run = |plan: &FaultPlan| {
            let mut inj = Injector::new(plan.clone());
            (0..400)
                .map(|_| inj.decide(Route::AddPart, None))
                .collect::<Vec<_>>()
        };
        let first = run(&plan);
        assert_eq!(first, run(&plan));
        assert_ne!(first, run(&plan.clone().seed(6)));
        let count = |f: &Fault| first.iter().filter(|d| d.as_ref() == Some(f)).count();
        // 100 expected each; a binomial(400, 0.25) lands in 70..130 with overwhelming odds.
        assert!((70..130).contains(&count(&Fault::status(500))), "{first:?}");
        assert!((70..130).contains(&count(&Fault::html(502))), "{first:?}");
    }
}
