//! Locking std mutexes without poisoning. A leaf.

use std::sync::{Mutex, MutexGuard};

/// Locks a std mutex, ignoring poisoning (state stays usable after a panic
/// in a test thread).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
