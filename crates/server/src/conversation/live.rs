//! Live events, routed per conversation: one task per process reads the bus, parses each
//! envelope once and hands the event to the connections watching that conversation, so
//! a thousand idle sessions cost nothing when another conversation is busy (before, every
//! connection woke for and parsed every event of the installation).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::broadcast;

/// What a watching connection receives.
#[derive(Debug, Clone)]
pub enum Live {
    /// A stored event of its conversation, as clients receive it.
    Event(Arc<Value>),
    /// Live delivery may have lost events (Redis was away, or this process fell behind):
    /// catch up from the database.
    Resync,
}

/// A conversation as the bus names it: its id and creation time (ids alone could repeat
/// across installations sharing a Redis).
type Key = (i64, i64);

/// Events a watcher may fall behind by before it is told to resync (a turn stores about
/// ten). Small: the channel's slots are allocated when a conversation is opened.
const PER_CONVERSATION: usize = 64;

#[derive(Default)]
pub struct Router {
    watchers: Mutex<HashMap<Key, broadcast::Sender<Live>>>,
}

impl Router {
    /// Starts routing the events `cache` receives (this process must be subscribed to
    /// the conversation channel: [`super::subscribe`]).
    pub fn start(cache: &qa_store::Ephemeral) -> Arc<Router> {
        let router = Arc::new(Router::default());
        let (mut rx, routing) = (cache.listen(), router.clone());
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(e) if e.channel == qa_store::RESYNC => routing.everyone(Live::Resync),
                    Ok(e) if e.channel == super::CHANNEL => routing.route(&e.payload),
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => routing.everyone(Live::Resync),
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        router
    }

    /// Watches a conversation; [`Router::leave`] when done.
    pub fn watch(&self, conversation_id: i64, created_at: i64) -> broadcast::Receiver<Live> {
        let mut w = self.watchers.lock().unwrap_or_else(|p| p.into_inner());
        w.entry((conversation_id, created_at))
            .or_insert_with(|| broadcast::channel(PER_CONVERSATION).0)
            .subscribe()
    }

    /// Forgets a conversation nobody watches any more (call after dropping the receiver).
    pub fn leave(&self, conversation_id: i64, created_at: i64) {
        let mut w = self.watchers.lock().unwrap_or_else(|p| p.into_inner());
        if w.get(&(conversation_id, created_at))
            .is_some_and(|s| s.receiver_count() == 0)
        {
            w.remove(&(conversation_id, created_at));
        }
    }

    fn route(&self, payload: &[u8]) {
        let Ok(mut envelope) = serde_json::from_slice::<Value>(payload) else {
            return;
        };
        let (Some(id), Some(created_at)) = (
            envelope["conversation_id"].as_i64(),
            envelope["created_at"].as_i64(),
        ) else {
            return;
        };
        let w = self.watchers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(watchers) = w.get(&(id, created_at)) {
            let _ = watchers.send(Live::Event(Arc::new(envelope["event"].take())));
        }
    }

    fn everyone(&self, what: Live) {
        let w = self.watchers.lock().unwrap_or_else(|p| p.into_inner());
        for watchers in w.values() {
            let _ = watchers.send(what.clone());
        }
    }

    /// Conversations watched in this process.
    #[cfg(test)]
    fn watched(&self) -> usize {
        self.watchers.lock().map_or(0, |w| w.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn events_reach_only_their_conversations_watchers_and_nobody_is_kept_for_nothing() {
        let cache = qa_store::Ephemeral::open(None).unwrap();
        let router = Router::start(&cache);
        let mut mine = router.watch(1, 100);
        let mut other = router.watch(2, 100);
        let envelope = |id: i64, created_at: i64, n: i64| {
            serde_json::json!({ "conversation_id": id, "created_at": created_at, "event": { "id": n } })
                .to_string()
        };
        // Same id, another installation's conversation: not ours.
        for (id, created_at, n) in [(1, 999, 7), (1, 100, 1), (2, 100, 5)] {
            cache
                .publish(
                    super::super::CHANNEL,
                    envelope(id, created_at, n).as_bytes(),
                )
                .await
                .unwrap();
        }
        let Live::Event(e) = mine.recv().await.unwrap() else {
            panic!()
        };
        assert_eq!(e["id"], 1);
        let Live::Event(e) = other.recv().await.unwrap() else {
            panic!()
        };
        assert_eq!(e["id"], 5);
        assert!(mine.try_recv().is_err(), "nothing else for conversation 1");
        drop(mine);
        router.leave(1, 100);
        assert_eq!(router.watched(), 1);
    }
}
