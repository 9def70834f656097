//! The event bus of one server instance: reads the events the store writes (see
//! `store::events`) and fans them out to this instance's realtime connections.
//!
//! With PostgreSQL every instance runs one bus with a dedicated `LISTEN` connection: a
//! notification names an event id and the bus reads that row. When the listening
//! connection drops, the bus reconnects, listens again, then reads every event after
//! the last one it saw, so none committed meanwhile is missed. With SQLite (one
//! instance) the bus is woken in-process after each write transaction and reads the
//! rows after the last one it saw.
//!
//! Every [`SWEEP_EVERY`] the bus also reads the events after the last one it saw, in
//! case a notification was lost; an event found twice is published once.
//!
//! The events table is bounded: the bus deletes events older than [`EVENT_RETENTION`]
//! every [`PRUNE_EVERY`].
//!
//! Queue places: connections watching rooms' `stream-livechat-room` register the rooms
//! here ([`EventBus::watch_queue_place`]). On each event that changes the queue (an
//! inquiry queued, taken, its room closed or removed) the bus reads the places of the
//! watched rooms still queued in one statement and hands subscribers the places that
//! changed since it last saw them; nothing is read while no room is watched.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{broadcast, watch};

use crate::domain::settings::{ShowAgentEmail, ShowAgentInfo, SortingMechanism};
use crate::domain::time::Clock;
use crate::store::events::{
    EVENT_BATCH, Event, EventFeed, EventWake, INQUIRY_QUEUED, INQUIRY_TAKEN, ROOM_CLOSED, ROOM_REMOVED, VISITOR_CHANGED,
};
use crate::store::{Inquiry, Room, Store, StoreResult, User, Visitor};

/// Events a connection may fall behind by before it is disconnected as too slow.
pub const BUS_CAPACITY: usize = 4096;

/// How long events are kept.
pub const EVENT_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);

/// How often old events are pruned.
pub const PRUNE_EVERY: Duration = Duration::from_secs(10 * 60);

/// The pause before trying again after the database failed the bus.
const RETRY_PAUSE: Duration = Duration::from_secs(1);

/// How often the bus reads the events after the last one it saw without being woken: a
/// safety net for notifications lost on a listening connection that died silently.
const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// How many published event ids the bus remembers, so that an event both notified and
/// found by a catch-up is published once.
const REMEMBERED_IDS: usize = 4096;

/// Where the bus stands: the highest event id it saw and the ids it published lately.
#[derive(Default)]
struct Cursor {
    last_seen: i64,
    published: HashSet<i64>,
    published_order: VecDeque<i64>,
}

impl Cursor {
    /// Records `id`; false when it was published already.
    fn first_sight(&mut self, id: i64) -> bool {
        self.last_seen = self.last_seen.max(id);
        if !self.published.insert(id) {
            return false;
        }
        self.published_order.push_back(id);
        if self.published_order.len() > REMEMBERED_IDS
            && let Some(oldest) = self.published_order.pop_front()
        {
            self.published.remove(&oldest);
        }
        true
    }
}

/// An event as the bus hands it to subscribers: with the room's inquiry as it is when
/// the bus reads the event, for the inquiry kinds, and the room and the agent serving
/// it then, for a take (and the room for a close); read once per instance, not once
/// per subscriber.
#[derive(Debug)]
pub struct BusEvent {
    pub event: Event,
    pub inquiry: Option<Inquiry>,
    pub serving_agent: Option<RoomAgent>,
    /// The room, for a take and a close.
    pub room: Option<Room>,
    /// For an event that changes the queue: the watched rooms whose place in it changed,
    /// with their new place (1: the next routing takes).
    pub queue_places: Vec<(String, i64)>,
    /// For `visitor.changed`: the visitor as it is when the bus reads the event.
    pub visitor: Option<Visitor>,
}

/// The agent serving a room and how much of it visitors are shown
/// (`Livechat_show_agent_info`, `Livechat_show_agent_email`).
#[derive(Debug)]
pub struct RoomAgent {
    pub agent: User,
    pub show_info: bool,
    pub show_email: bool,
}

impl RoomAgent {
    async fn read(store: &Store, agent_id: &str) -> StoreResult<Option<Self>> {
        let Some(agent) = store.user_by_id(agent_id).await? else { return Ok(None) };
        let show_info = store.setting::<ShowAgentInfo>().await?;
        let show_email = store.setting::<ShowAgentEmail>().await?;
        Ok(Some(Self { agent, show_info, show_email }))
    }
}

/// The rooms whose queue place this instance's connections watch, and the place each
/// was last seen at (none: not known, or not queued).
#[derive(Default)]
struct QueueWatch {
    watchers: HashMap<String, usize>,
    places: HashMap<String, i64>,
}

/// A connection's watch on a room's queue place; dropping it ends the watch.
pub struct PlaceWatch {
    bus: Arc<EventBus>,
    room_id: String,
}

impl Drop for PlaceWatch {
    fn drop(&mut self) {
        let mut watch = self.bus.watch.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = watch.watchers.get_mut(&self.room_id) {
            *count -= 1;
            if *count == 0 {
                watch.watchers.remove(&self.room_id);
                watch.places.remove(&self.room_id);
            }
        }
    }
}

/// Fans events out to every subscriber of this instance; cheap to share.
pub struct EventBus {
    sender: broadcast::Sender<Arc<BusEvent>>,
    closing: watch::Sender<bool>,
    watch: Mutex<QueueWatch>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self { sender: broadcast::channel(BUS_CAPACITY).0, closing: watch::channel(false).0, watch: Mutex::default() }
    }
}

impl EventBus {
    /// Every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<BusEvent>> {
        self.sender.subscribe()
    }

    /// Becomes true when the server shuts down: realtime connections close.
    pub fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }

    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Watches the queue place of room `room_id`, last seen at `place` (the subscriber
    /// read it when it subscribed; a place already known to the bus is kept).
    pub fn watch_queue_place(self: &Arc<Self>, room_id: &str, place: Option<i64>) -> PlaceWatch {
        let mut watch = self.watch.lock().unwrap_or_else(PoisonError::into_inner);
        *watch.watchers.entry(room_id.to_owned()).or_default() += 1;
        if let Some(place) = place {
            watch.places.entry(room_id.to_owned()).or_insert(place);
        }
        PlaceWatch { bus: Arc::clone(self), room_id: room_id.to_owned() }
    }

    /// The watched rooms whose queue place differs from the one last seen, with the new
    /// place; read in one statement, and only while some room is watched.
    async fn changed_places(&self, store: &Store) -> StoreResult<Vec<(String, i64)>> {
        let watched: Vec<String> = {
            let watch = self.watch.lock().unwrap_or_else(PoisonError::into_inner);
            watch.watchers.keys().cloned().collect()
        };
        if watched.is_empty() {
            return Ok(Vec::new());
        }
        let sort = store.setting::<SortingMechanism>().await?;
        let places: HashMap<String, i64> = store.queue_spots(&watched, sort).await?.into_iter().collect();
        let mut watch = self.watch.lock().unwrap_or_else(PoisonError::into_inner);
        let mut changed = Vec::new();
        for room_id in watched {
            if !watch.watchers.contains_key(&room_id) {
                continue;
            }
            match places.get(&room_id) {
                Some(&place) => {
                    if watch.places.insert(room_id.clone(), place) != Some(place) {
                        changed.push((room_id, place));
                    }
                }
                None => {
                    watch.places.remove(&room_id);
                }
            }
        }
        Ok(changed)
    }

    async fn publish(&self, store: &Store, event: Event) {
        let inquiry = match (event.kind.as_str(), &event.room_id) {
            (INQUIRY_QUEUED | INQUIRY_TAKEN, Some(room_id)) => match store.inquiry_of_room(room_id).await {
                Ok(inquiry) => inquiry,
                Err(error) => {
                    tracing::warn!(%error, event = event.id, "reading the inquiry of an event failed");
                    None
                }
            },
            _ => None,
        };
        let serving_agent = match (event.kind.as_str(), inquiry.as_ref().and_then(|inquiry| inquiry.served_by.as_ref()))
        {
            (INQUIRY_TAKEN, Some(agent_id)) => RoomAgent::read(store, agent_id).await.unwrap_or_else(|error| {
                tracing::warn!(%error, event = event.id, "reading the serving agent of an event failed");
                None
            }),
            _ => None,
        };
        let room = match (event.kind.as_str(), &event.room_id) {
            (INQUIRY_TAKEN | ROOM_CLOSED, Some(room_id)) => store.room_by_id(room_id).await.unwrap_or_else(|error| {
                tracing::warn!(%error, event = event.id, "reading the room of an event failed");
                None
            }),
            _ => None,
        };
        let queue_places = match event.kind.as_str() {
            INQUIRY_QUEUED | INQUIRY_TAKEN | ROOM_CLOSED | ROOM_REMOVED => {
                self.changed_places(store).await.unwrap_or_else(|error| {
                    tracing::warn!(%error, event = event.id, "reading the queue places of an event failed");
                    Vec::new()
                })
            }
            _ => Vec::new(),
        };
        let visitor = match event.kind.as_str() {
            VISITOR_CHANGED => {
                let visitor_id = serde_json::from_str::<serde_json::Value>(&event.payload)
                    .ok()
                    .and_then(|payload| payload["visitorId"].as_str().map(str::to_owned));
                match visitor_id {
                    Some(visitor_id) => store.visitor_by_id(&visitor_id).await.unwrap_or_else(|error| {
                        tracing::warn!(%error, event = event.id, "reading the visitor of an event failed");
                        None
                    }),
                    None => None,
                }
            }
            _ => None,
        };
        // No receiver is not an error: nobody is connected.
        let _ = self.sender.send(Arc::new(BusEvent { event, inquiry, serving_agent, room, queue_places, visitor }));
    }

    /// Reads and publishes the store's events, and prunes old ones, until the task
    /// running it is dropped.
    pub async fn run(&self, store: Store, clock: Arc<dyn Clock>) {
        let (mut feed, mut cursor) = loop {
            match start(&store).await {
                Ok(started) => break started,
                Err(error) => {
                    tracing::warn!(%error, "the event bus cannot start; trying again");
                    tokio::time::sleep(RETRY_PAUSE).await;
                }
            }
        };
        let mut prune = tokio::time::interval(PRUNE_EVERY);
        let mut sweep = tokio::time::interval(SWEEP_EVERY);
        loop {
            tokio::select! {
                wake = feed.next() => {
                    let delivered = match wake {
                        Ok(EventWake::Event(id)) => self.deliver_one(&store, id, &mut cursor).await,
                        Ok(EventWake::Check) => self.catch_up(&store, &mut cursor).await,
                        Err(error) => Err(error),
                    };
                    if let Err(error) = delivered {
                        tracing::warn!(%error, "the event bus failed to read events; catching up shortly");
                        tokio::time::sleep(RETRY_PAUSE).await;
                        if let Err(error) = self.catch_up(&store, &mut cursor).await {
                            tracing::warn!(%error, "the event bus failed to catch up");
                        }
                    }
                }
                _ = sweep.tick() => {
                    if let Err(error) = self.catch_up(&store, &mut cursor).await {
                        tracing::warn!(%error, "the event bus failed to catch up");
                    }
                }
                _ = prune.tick() => {
                    let retention = i64::try_from(EVENT_RETENTION.as_millis()).unwrap_or(i64::MAX);
                    match store.prune_events(clock.now().saturating_sub(retention)).await {
                        Ok(pruned) if pruned > 0 => tracing::debug!(pruned, "old events pruned"),
                        Ok(_) => {}
                        Err(error) => tracing::warn!(%error, "pruning old events failed"),
                    }
                }
            }
        }
    }

    /// Publishes the notified event. Notifications arrive in commit order, which may
    /// differ from id order, so each is read by its id.
    async fn deliver_one(&self, store: &Store, id: i64, cursor: &mut Cursor) -> StoreResult<()> {
        if cursor.published.contains(&id) {
            return Ok(());
        }
        if let Some(event) = store.event_by_id(id).await?
            && cursor.first_sight(event.id)
        {
            self.publish(store, event).await;
        }
        Ok(())
    }

    /// Publishes every event after the last one seen.
    async fn catch_up(&self, store: &Store, cursor: &mut Cursor) -> StoreResult<()> {
        loop {
            let events = store.events_after(cursor.last_seen).await?;
            let full = events.len() as i64 == EVENT_BATCH;
            for event in events {
                if cursor.first_sight(event.id) {
                    self.publish(store, event).await;
                }
            }
            if !full {
                return Ok(());
            }
        }
    }
}

/// Listens first, then reads where the events stand, so nothing falls in between.
async fn start(store: &Store) -> StoreResult<(EventFeed, Cursor)> {
    let feed = store.event_feed().await?;
    let last_seen = store.latest_event_id().await?;
    Ok((feed, Cursor { last_seen, ..Cursor::default() }))
}
