//! Exit detection by polling, for machines with no event mechanism and as the
//! baseline benchmarks compare against.
//!
//! One tokio task checks every watched process's identity each interval, so an exit
//! is noticed half an interval late on average, and the daemon wakes once per
//! interval even when nothing happens.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::{Token, WatchOutcome};
use crate::identity::{self, Liveness};
use crate::{Pid, ProcessIdentity};

type WatchMap = Arc<Mutex<HashMap<Token, (Pid, ProcessIdentity)>>>;

pub struct Watches {
    watched: WatchMap,
    ticker: JoinHandle<()>,
}

impl Watches {
    pub fn new(sender: mpsc::UnboundedSender<Token>, interval: Duration) -> Self {
        let watched: WatchMap = Arc::default();
        let ticker = tokio::spawn(check_every(interval, Arc::clone(&watched), sender));
        Self { watched, ticker }
    }

    pub fn watch(
        &mut self,
        token: Token,
        pid: Pid,
        expected: &ProcessIdentity,
    ) -> io::Result<WatchOutcome> {
        match identity::check(pid, expected)? {
            Liveness::Alive => {}
            Liveness::Gone => return Ok(WatchOutcome::Exited),
            Liveness::Reused => return Ok(WatchOutcome::Reused),
        }
        lock(&self.watched).insert(token, (pid, expected.clone()));
        Ok(WatchOutcome::Watching)
    }

    pub fn unwatch(&mut self, token: Token) {
        lock(&self.watched).remove(&token);
    }

    pub fn is_watching(&self, token: Token) -> bool {
        lock(&self.watched).contains_key(&token)
    }
}

impl Drop for Watches {
    fn drop(&mut self) {
        self.ticker.abort();
    }
}

fn lock(watched: &WatchMap) -> std::sync::MutexGuard<'_, HashMap<Token, (Pid, ProcessIdentity)>> {
    // A panic while holding this lock can only come from a HashMap operation; the
    // map is still consistent, so keep using it.
    watched
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn check_every(interval: Duration, watched: WatchMap, sender: mpsc::UnboundedSender<Token>) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let snapshot: Vec<(Token, Pid, ProcessIdentity)> = lock(&watched)
            .iter()
            .map(|(token, (pid, identity))| (*token, *pid, identity.clone()))
            .collect();
        for (token, pid, expected) in snapshot {
            if matches!(identity::check(pid, &expected), Ok(Liveness::Alive)) {
                continue;
            }
            lock(&watched).remove(&token);
            if sender.send(token).is_err() {
                return;
            }
        }
    }
}
