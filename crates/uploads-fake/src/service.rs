//! The service: everything the request handlers share (settings, store,
//! storage, fault plan, link model, counters), built from a [`FakeConfig`].

use std::io;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::watch;

use crate::clock::FakeClock;
use crate::config::FakeConfig;
use crate::faults::{Fault, FaultPlan, InjectedFault};
use crate::fractions::Faults;
use crate::inject::Injector;
use crate::link::{LinkModel, SharedLink};
use crate::mutex::lock;
use crate::route::Route;
use crate::stats::{Counters, Stats};
use crate::storage::PartStorage;
use crate::store::Store;

/// The link model in force and its shared link.
struct Link {
    model: LinkModel,
    shared: Option<Arc<SharedLink>>,
}

/// State shared by the server tasks and the [`crate::FakeServer`] handle.
pub(crate) struct Service {
    pub api_key: String,
    pub max_part_bytes: u64,
    pub max_upload_bytes: u64,
    pub upload_ttl: Duration,
    pub storage: PartStorage,
    pub store: Store,
    injector: Mutex<Injector>,
    faults: Mutex<Faults>,
    link: Mutex<Link>,
    counters: Mutex<Counters>,
    pub in_flight: watch::Sender<usize>,
    max_in_flight: AtomicUsize,
    pub holds: watch::Sender<usize>,
    /// Bumped on every request counted, for [`crate::FakeServer::wait_for_requests`].
    pub requests_seen: watch::Sender<u64>,
    request_prefix: u64,
    request_counter: AtomicU64,
}

impl Service {
    pub fn new(config: FakeConfig) -> io::Result<Self> {
        let clock = FakeClock::new();
        clock.set_offset_secs(config.clock_offset_secs);
        let plan = config.initial_plan();
        let link = config.initial_link();
        Ok(Self {
            api_key: config.api_key,
            max_part_bytes: config.max_part_bytes,
            max_upload_bytes: config.max_upload_bytes,
            upload_ttl: config.upload_ttl,
            storage: PartStorage::new(config.storage)?,
            store: Store::new(clock, config.state_file),
            injector: Mutex::new(Injector::new(plan)),
            faults: Mutex::new(config.faults),
            link: Mutex::new(Link {
                model: link,
                shared: link.shared.map(|r| Arc::new(SharedLink::new(r))),
            }),
            counters: Mutex::new(Counters::default()),
            in_flight: watch::Sender::new(0),
            max_in_flight: AtomicUsize::new(0),
            holds: watch::Sender::new(0),
            requests_seen: watch::Sender::new(0),
            request_prefix: rand::random(),
            request_counter: AtomicU64::new(0),
        })
    }

    pub fn clock(&self) -> &FakeClock {
        &self.store.clock
    }

    pub fn next_request_id(&self) -> String {
        let n = self.request_counter.fetch_add(1, Ordering::Relaxed);
        format!("req_{:016x}{:016x}", self.request_prefix, n)
    }

    // ----- faults and link -----

    pub fn set_faults(&self, faults: Faults) {
        self.set_fault_plan(faults.to_plan());
        self.set_link(faults.link());
        *lock(&self.faults) = faults;
    }

    pub fn faults(&self) -> Faults {
        lock(&self.faults).clone()
    }

    pub fn set_fault_plan(&self, plan: FaultPlan) {
        lock(&self.injector).set_plan(plan);
    }

    pub fn fault_plan(&self) -> FaultPlan {
        lock(&self.injector).plan().clone()
    }

    pub fn injected(&self) -> Vec<InjectedFault> {
        lock(&self.injector).log().to_vec()
    }

    /// Counts a request to `route` and picks its fault (also counted in the stats).
    pub fn decide(&self, route: Route, object_id: Option<&str>) -> Option<Fault> {
        let fault = lock(&self.injector).decide(route, object_id)?;
        self.counters().faults.record(&fault);
        Some(fault)
    }

    pub fn set_link(&self, model: LinkModel) {
        let mut link = lock(&self.link);
        let keep = link.model.shared == model.shared;
        link.model = model;
        if !keep {
            link.shared = model.shared.map(|r| Arc::new(SharedLink::new(r)));
        }
    }

    pub fn link(&self) -> LinkModel {
        lock(&self.link).model
    }

    /// The link model and the link shared by all connections.
    pub fn link_and_shared(&self) -> (LinkModel, Option<Arc<SharedLink>>) {
        let link = lock(&self.link);
        (link.model, link.shared.clone())
    }

    // ----- stats -----

    pub fn stats(&self) -> Stats {
        let c = lock(&self.counters);
        Stats {
            requests: c.requests,
            faults: c.faults,
            parts_in_flight: *self.in_flight.borrow(),
            max_parts_in_flight: self.max_in_flight.load(Ordering::SeqCst),
            part_bytes_received: c.part_bytes_received,
            part_bytes_stored: c.part_bytes_stored,
            parts_stored: c.parts_stored,
        }
    }

    pub fn reset_stats(&self) {
        let mut c = lock(&self.counters);
        *c = Counters::default();
        self.max_in_flight
            .store(*self.in_flight.borrow(), Ordering::SeqCst);
    }

    /// Counts a request to `route` (`None`: an unknown route) and tells the waiters.
    pub fn count_request(&self, route: Option<Route>) {
        self.counters().requests.bump(route);
        self.requests_seen.send_modify(|n| *n += 1);
    }

    pub fn counters(&self) -> MutexGuard<'_, Counters> {
        lock(&self.counters)
    }

    /// Counts a part request in flight until the guard is dropped.
    pub fn enter_part(self: &Arc<Self>) -> InFlightGuard {
        self.in_flight.send_modify(|n| {
            *n += 1;
            self.max_in_flight.fetch_max(*n, Ordering::SeqCst);
        });
        InFlightGuard(self.clone())
    }
}

/// Decrements the in-flight gauge when a part request finishes (or is dropped).
pub(crate) struct InFlightGuard(Arc<Service>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.in_flight.send_modify(|n| *n = n.saturating_sub(1));
    }
}
