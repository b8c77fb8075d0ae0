//! The upload-wide rate-limit pause.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::rt::Sleep;

/// A shared "nobody sends before" deadline. Every attempt waits on it; a rate-limit answer pushes
/// it out. A chunked upload shares one gate across all its parts, so a 429 pauses the whole
/// upload once instead of each part backing off on its own.
#[derive(Debug, Clone, Default)]
pub(crate) struct BackoffGate {
    resume_at: Arc<Mutex<Option<Instant>>>,
}

impl BackoffGate {
    /// Pushes the deadline to at least `now + delay`.
    pub(crate) fn defer(&self, delay: Duration, sleeper: &dyn Sleep) {
        let target = sleeper.now() + delay;
        let mut guard = self.resume_at.lock().expect("gate lock");
        if guard.is_none_or(|t| t < target) {
            *guard = Some(target);
        }
    }

    /// Waits until the deadline (if any) has passed.
    pub(crate) async fn wait(&self, sleeper: &dyn Sleep) {
        let remaining = {
            let guard = self.resume_at.lock().expect("gate lock");
            guard.and_then(|t| t.checked_duration_since(sleeper.now()))
        };
        if let Some(d) = remaining.filter(|d| !d.is_zero()) {
            sleeper.sleep(d).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rt::SleepFuture;

    /// A sleeper that does not wait: it advances a virtual clock and records each sleep.
    #[derive(Debug)]
    struct VirtualSleep {
        start: Instant,
        slept: Mutex<Vec<Duration>>,
    }

    impl Sleep for VirtualSleep {
        fn sleep(&self, duration: Duration) -> SleepFuture {
            self.slept.lock().unwrap().push(duration);
            Box::pin(std::future::ready(()))
        }
        fn now(&self) -> Instant {
            self.start + self.slept.lock().unwrap().iter().sum::<Duration>()
        }
    }

    #[tokio::test]
    async fn one_deferral_pauses_every_waiter_until_the_deadline() {
        let sleeper = VirtualSleep {
            start: Instant::now(),
            slept: Mutex::new(Vec::new()),
        };
        let gate = BackoffGate::default();
        gate.wait(&sleeper).await;
        assert!(
            sleeper.slept.lock().unwrap().is_empty(),
            "open gate must not sleep"
        );
        gate.defer(Duration::from_secs(3), &sleeper);
        // A shorter deferral never pulls the deadline in.
        gate.defer(Duration::from_secs(1), &sleeper);
        let shared = gate.clone();
        shared.wait(&sleeper).await;
        assert_eq!(*sleeper.slept.lock().unwrap(), vec![Duration::from_secs(3)]);
        // The deadline has passed on the virtual clock: the next waiter goes straight through.
        gate.wait(&sleeper).await;
        assert_eq!(sleeper.slept.lock().unwrap().len(), 1);
    }
}
