//! Automatic routing: after any change that queues an inquiry or frees an agent
//! (a room opened or returned, an agent available, a chat closed, an agent added to a
//! department or given a higher limit), queued inquiries go, in the queue's order, to
//! the agents the routing method picks, as long as one may take them.
//!
//! Every instance routes after its own changes; they share nothing but the database.
//! A change whose pass never ran (its instance stopped right after committing, or a
//! pass failed) is caught up by a light periodic pass each instance also runs
//! (`route_periodically`), so a routable inquiry never waits longer than
//! [`PERIODIC_PASS_INTERVAL`] plus a pass.
//! Within an instance one pass runs at a time (`PassGate`): concurrent passes would all
//! choose the same inquiry and agent and queue on that agent's row, each losing in
//! turn, so under a burst of changes they would spend their time losing races.
//! A pass makes at most [`ASSIGNMENTS_PER_PASS`] assignments: a request waiting for
//! its pass waits for that many at most, not for a backlog of thousands, and the
//! periodic task goes on with the rest at once.
//! Each assignment is `Store::take_inquiry`, the same statements a manual take runs,
//! so two instances choosing the same inquiry or the same last free place of an agent
//! cannot both win: the loser chooses again.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{Mutex, Notify};
use tokio::time::MissedTickBehavior;

use crate::domain::permissions::ROLE_AGENT;
use crate::domain::settings::{ContactManagerRouting, RoutingMethodSetting, SortingMechanism};
use crate::domain::time::{Clock, Millis};
use crate::store::{Store, StoreResult, TakeOutcome, Visitor};

/// Assignments one pass may lose to concurrent changes before it stops. Every loss
/// is another instance's (or request's) win, and that one goes on routing, so the
/// queue keeps draining while this pass gives up.
const LOST_RACES_BEFORE_GIVING_UP: usize = 8;

/// Most assignments one pass makes before it lets the next waiter of the gate in.
const ASSIGNMENTS_PER_PASS: usize = 25;

/// What a pass did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pass {
    pub assigned: usize,
    /// It stopped at [`ASSIGNMENTS_PER_PASS`]: more may be assignable.
    pub cut_short: bool,
}

/// Assigns queued inquiries until none can be, or [`ASSIGNMENTS_PER_PASS`] were.
/// Does nothing under Manual_Selection (and External). Each assignment is stamped
/// with `now()` read as it is made: a long pass must not date its last assignments
/// back to its start, before the closes that made room for them.
pub async fn route_queue(store: &Store, now: impl Fn() -> Millis) -> StoreResult<Pass> {
    let method = store.setting::<RoutingMethodSetting>().await?;
    if !method.assigns_automatically() {
        return Ok(Pass { assigned: 0, cut_short: false });
    }
    let sort = store.setting::<SortingMechanism>().await?;
    let (mut assigned, mut lost) = (0, 0);
    while lost < LOST_RACES_BEFORE_GIVING_UP {
        if assigned == ASSIGNMENTS_PER_PASS {
            return Ok(Pass { assigned, cut_short: true });
        }
        let Some((inquiry_id, agent_id)) = store.next_assignment(method, sort).await? else { break };
        match store.take_inquiry(&inquiry_id, &agent_id, None, now()).await? {
            TakeOutcome::Taken => assigned += 1,
            _ => lost += 1,
        }
    }
    Ok(Pass { assigned, cut_short: false })
}

/// Under Omnichannel_contact_manager_routing, whatever the routing method, a new
/// inquiry of a visitor whose contact has a manager goes to that manager when it is
/// an active agent that `take_inquiry` lets take it: available, under its chat limit,
/// and of the room's department if it has one. Returns whether it did; otherwise the
/// inquiry stays queued for the routing method.
pub async fn offer_to_contact_manager(
    store: &Store,
    visitor: &Visitor,
    inquiry_id: &str,
    now: Millis,
) -> StoreResult<bool> {
    let Some(username) = visitor.contact_manager.as_deref() else { return Ok(false) };
    if !store.setting::<ContactManagerRouting>().await? {
        return Ok(false);
    }
    let Some(manager) = store.user_by_username(username).await?.filter(|user| user.active) else {
        return Ok(false);
    };
    if !store.user_has_role(&manager.id, ROLE_AGENT).await? {
        return Ok(false);
    }
    Ok(store.take_inquiry(inquiry_id, &manager.id, None, now).await? == TakeOutcome::Taken)
}

/// One routing pass at a time on this instance, and none for a change that a pass
/// started after it has already seen: a burst of changes waits for a few passes
/// instead of running one each.
#[derive(Default)]
pub struct PassGate {
    running: Mutex<()>,
    /// Changes announced so far; each caller's number is its ticket.
    changes: AtomicU64,
    /// The changes announced when the latest pass started, all stored before it read.
    covered: AtomicU64,
    /// Woken when a pass was cut short, so that the periodic task goes on at once.
    unfinished: Notify,
}

impl PassGate {
    /// Routes after a change already stored: returns once a pass that started after
    /// the change has finished, this caller's or another's.
    pub async fn route_after_change(&self, store: &Store, now: impl Fn() -> Millis) -> StoreResult<Pass> {
        let ticket = self.changes.fetch_add(1, Ordering::SeqCst) + 1;
        let _running = self.running.lock().await;
        if self.covered.load(Ordering::SeqCst) >= ticket {
            return Ok(Pass { assigned: 0, cut_short: false });
        }
        self.covered.store(self.changes.load(Ordering::SeqCst), Ordering::SeqCst);
        let pass = route_queue(store, now).await?;
        if pass.cut_short {
            self.unfinished.notify_one();
        }
        Ok(pass)
    }
}

/// How often each instance routes the queue without a change of its own. Under
/// Manual_Selection a pass reads one setting; otherwise, when no agent may take a
/// chat, one query more.
pub const PERIODIC_PASS_INTERVAL: Duration = Duration::from_secs(2);

/// Routes the queue every [`PERIODIC_PASS_INTERVAL`] through `gate`, as a change of
/// this instance would, and at once after a pass cut short, until the task is dropped.
/// A failed pass is logged; the next one tries again.
pub async fn route_periodically(store: Store, gate: Arc<PassGate>, clock: Arc<dyn Clock>) {
    let mut ticks = tokio::time::interval(PERIODIC_PASS_INTERVAL);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            () = gate.unfinished.notified() => {}
        }
        if let Err(error) = gate.route_after_change(&store, || clock.now()).await {
            tracing::warn!(%error, "the periodic routing pass failed");
        }
    }
}
