//! Request, fault, concurrency and byte counters, and the public [`Stats`]
//! read from them.

use serde::{Deserialize, Serialize};

use crate::faults::Fault;
use crate::route::Route;

/// Number of requests seen per operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RequestCounts {
    /// `POST /v1/uploads`
    pub create: u64,
    /// `/v1/uploads/{id}/parts`
    pub add_part: u64,
    /// `/v1/uploads/{id}/complete`
    pub complete: u64,
    /// `/v1/uploads/{id}/cancel`
    pub cancel: u64,
    /// `GET /v1/files`
    pub list_files: u64,
    /// `GET /v1/files/{file_id}`
    pub retrieve_file: u64,
    /// Requests to unknown routes.
    pub other: u64,
    /// Requests (to any route) rejected with 401.
    pub unauthorized: u64,
}

impl RequestCounts {
    /// The count for one operation.
    pub fn get(&self, route: Route) -> u64 {
        match route {
            Route::Create => self.create,
            Route::AddPart => self.add_part,
            Route::Complete => self.complete,
            Route::Cancel => self.cancel,
            Route::ListFiles => self.list_files,
            Route::RetrieveFile => self.retrieve_file,
        }
    }

    /// Every request seen (including unknown routes).
    pub fn total(&self) -> u64 {
        self.create
            + self.add_part
            + self.complete
            + self.cancel
            + self.list_files
            + self.retrieve_file
            + self.other
    }

    pub(crate) fn bump(&mut self, route: Option<Route>) {
        match route {
            Some(Route::Create) => self.create += 1,
            Some(Route::AddPart) => self.add_part += 1,
            Some(Route::Complete) => self.complete += 1,
            Some(Route::Cancel) => self.cancel += 1,
            Some(Route::ListFiles) => self.list_files += 1,
            Some(Route::RetrieveFile) => self.retrieve_file += 1,
            None => self.other += 1,
        }
    }
}

/// Number of injected faults per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FaultCounts {
    /// Requests answered with an injected 5xx status.
    pub server_error: u64,
    /// Requests answered 429.
    pub rate_limited: u64,
    /// Requests answered with another injected status.
    pub other_status: u64,
    /// Connections dropped (before, during or after the request).
    pub dropped: u64,
    /// Requests stalled or delayed.
    pub stalled: u64,
    /// Requests answered 200 with an undecodable body, or a File of the wrong size.
    pub undecodable: u64,
    /// Requests slowed down in proportion to the upload's size.
    pub slow: u64,
    /// Requests whose body was throttled ([`Fault::Throttle`]).
    pub throttled: u64,
}

impl FaultCounts {
    /// Total injected faults.
    pub fn total(&self) -> u64 {
        self.server_error
            + self.rate_limited
            + self.other_status
            + self.dropped
            + self.stalled
            + self.undecodable
            + self.slow
            + self.throttled
    }

    pub(crate) fn record(&mut self, fault: &Fault) {
        let slot = match fault {
            Fault::Status(s) if s.status == 429 => &mut self.rate_limited,
            Fault::Status(s) if s.status >= 500 => &mut self.server_error,
            Fault::Status(_) => &mut self.other_status,
            Fault::DropBeforeBody | Fault::DropMidBody | Fault::DropAfterCommit => {
                &mut self.dropped
            }
            Fault::Stall(_) | Fault::StallMidBody { .. } | Fault::Delay(_) => &mut self.stalled,
            Fault::UndecodableOk | Fault::ShortFileOk => &mut self.undecodable,
            Fault::Slow { .. } => &mut self.slow,
            Fault::Throttle { .. } => &mut self.throttled,
        };
        *slot += 1;
    }
}

/// Server statistics, see [`FakeServer::stats`](crate::FakeServer::stats).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Stats {
    /// Requests per operation.
    pub requests: RequestCounts,
    /// Injected faults per kind.
    pub faults: FaultCounts,
    /// Part requests being handled right now.
    pub parts_in_flight: usize,
    /// Highest value `parts_in_flight` has reached (since start or the last
    /// [`FakeServer::reset_stats`](crate::FakeServer::reset_stats)).
    pub max_parts_in_flight: usize,
    /// Bytes of the `data` field read by the part handler, whether or not
    /// the part was then accepted (bodies of requests failed by fault
    /// injection are not parsed and not counted).
    pub part_bytes_received: u64,
    /// Bytes of part data in accepted parts.
    pub part_bytes_stored: u64,
    /// Number of accepted parts.
    pub parts_stored: u64,
}

/// Counters kept under a mutex (the in-flight gauge lives elsewhere).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub requests: RequestCounts,
    pub faults: FaultCounts,
    pub part_bytes_received: u64,
    pub part_bytes_stored: u64,
    pub parts_stored: u64,
}
