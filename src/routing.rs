//! Automatic routing: after any change that queues an inquiry or frees an agent
//! (a room opened or returned, an agent available, a chat closed, an agent added to a
//! department or given a higher limit), queued inquiries go, in the queue's order, to
//! the agents the routing method picks, as long as one may take them.
//!
//! Every instance routes after its own changes; they share nothing but the database.
//! Each assignment is `Store::take_inquiry`, the same statements a manual take runs,
//! so two instances choosing the same inquiry or the same last free place of an agent
//! cannot both win: the loser chooses again.

use crate::domain::permissions::ROLE_AGENT;
use crate::domain::settings::{ContactManagerRouting, RoutingMethodSetting, SortingMechanism};
use crate::domain::time::Millis;
use crate::store::{Store, StoreResult, TakeOutcome, Visitor};

/// Assignments one pass may lose to concurrent changes before it stops. Every loss
/// is another instance's (or request's) win, and that one goes on routing, so the
/// queue keeps draining while this pass gives up.
const LOST_RACES_BEFORE_GIVING_UP: usize = 8;

/// Assigns queued inquiries until none can be; returns how many this pass assigned.
/// Does nothing under Manual_Selection (and External).
pub async fn route_queue(store: &Store, now: Millis) -> StoreResult<usize> {
    let method = store.setting::<RoutingMethodSetting>().await?;
    if !method.assigns_automatically() {
        return Ok(0);
    }
    let sort = store.setting::<SortingMechanism>().await?;
    let (mut assigned, mut lost) = (0, 0);
    while lost < LOST_RACES_BEFORE_GIVING_UP {
        let Some((inquiry_id, agent_id)) = store.next_assignment(method, sort).await? else { break };
        match store.take_inquiry(&inquiry_id, &agent_id, None, now).await? {
            TakeOutcome::Taken => assigned += 1,
            _ => lost += 1,
        }
    }
    Ok(assigned)
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
