//! State that can be rebuilt: session state with a TTL, result caches, and pub/sub
//! events between replicas. Redis (`REDIS_URL`) in production, which the runbook runs
//! with `allkeys-lru`, so nothing here may be the only copy of anything; an in-process
//! store (moka + a broadcast channel) for the embedded default. Same API for both.
//!
//! Keys and channels are prefixed with `qa:` so a shared Redis stays tidy.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::broadcast;

use crate::StoreError;

const PREFIX: &str = "qa:";
/// Events a slow subscriber may fall behind by before it misses some (it is told).
const EVENT_BUFFER: usize = 1024;
/// Entries the in-process store keeps (least recently used go first, as with Redis'
/// `allkeys-lru`).
const MEMORY_ENTRIES: u64 = 100_000;

/// The channel of the event every listener of this process receives when live delivery
/// may have lost events (Redis was unreachable and is back): listeners then catch up from
/// their durable source. No Redis channel maps to it (they all carry the `qa:` prefix).
pub const RESYNC: &str = "\u{0}resync";

/// One published event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The channel, without the `qa:` prefix.
    pub channel: String,
    pub payload: Vec<u8>,
}

#[derive(Clone)]
pub enum Ephemeral {
    Redis(RedisState),
    Memory(MemoryState),
}

#[derive(Clone)]
pub struct RedisState {
    manager: ConnectionManager,
    events: broadcast::Sender<Event>,
    /// A publish failed: some listener may have missed it (cleared by the next resync).
    lost: Arc<AtomicBool>,
}

impl RedisState {
    /// Runs `cmd`, and once more if the connection turned out to be gone (Redis restarted
    /// since the last command): that first failure is what makes the manager reconnect,
    /// and a caller should not see it. A dropped connection, not a timeout: a command that
    /// timed out may have run, and a repeated `SET NX` would then find its own mark. The
    /// connection having been gone also means published events may have been lost.
    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> redis::RedisResult<T> {
        match cmd.query_async(&mut self.manager.clone()).await {
            Err(e) if e.is_connection_dropped() && !e.is_timeout() => {
                self.lost.store(true, Ordering::Relaxed);
                cmd.query_async(&mut self.manager.clone()).await
            }
            other => other,
        }
    }
}

#[derive(Clone)]
pub struct MemoryState {
    cache: moka::sync::Cache<String, Entry>,
    events: broadcast::Sender<Event>,
}

#[derive(Clone)]
struct Entry {
    value: std::sync::Arc<[u8]>,
    ttl: Duration,
}

/// Each entry expires `ttl` after it was written (or touched).
struct PerEntryTtl;

impl moka::Expiry<String, Entry> for PerEntryTtl {
    fn expire_after_create(&self, _: &String, e: &Entry, _: Instant) -> Option<Duration> {
        Some(e.ttl)
    }
    fn expire_after_update(
        &self,
        _: &String,
        e: &Entry,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(e.ttl)
    }
}

impl Ephemeral {
    /// Redis at `url` (connected lazily and reconnected by itself, so a service starts
    /// while Redis is down and recovers when it is back), or the in-process store.
    /// Must be called inside the Tokio runtime.
    pub fn open(url: Option<&str>) -> Result<Ephemeral, StoreError> {
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let Some(url) = url else {
            let cache = moka::sync::Cache::builder()
                .max_capacity(MEMORY_ENTRIES)
                .expire_after(PerEntryTtl)
                .build();
            return Ok(Ephemeral::Memory(MemoryState { cache, events }));
        };
        if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
            return Err(StoreError::UnsupportedRedisUrl(crate::redact(url)));
        }
        // RESP3 carries pub/sub messages on the managed connection, which resubscribes
        // after a reconnect.
        let url = if url.contains("protocol=") {
            url.to_string()
        } else if url.contains('?') {
            format!("{url}&protocol=resp3")
        } else {
            format!("{url}?protocol=resp3")
        };
        let client = redis::Client::open(url.as_str())
            .map_err(|_| StoreError::UnsupportedRedisUrl(crate::redact(&url)))?;
        let sender = events.clone();
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500))
            .set_push_sender(move |info: redis::PushInfo| {
                if info.kind == redis::PushKind::Message
                    && let [channel, payload] = info.data.as_slice()
                    && let (Ok(channel), Ok(payload)) = (
                        redis::from_redis_value_ref::<String>(channel),
                        redis::from_redis_value_ref::<Vec<u8>>(payload),
                    )
                {
                    let channel = channel.strip_prefix(PREFIX).unwrap_or(&channel).to_string();
                    // No receiver is not an error: nobody listens on this replica.
                    let _ = sender.send(Event { channel, payload });
                }
                Ok::<(), std::convert::Infallible>(())
            })
            .set_automatic_resubscription();
        let manager = ConnectionManager::new_lazy_with_config(client, config)?;
        // The manager reconnects when a command finds the connection gone, and that
        // command fails. A ping every 2 s is that command, so the connection (and its
        // subscriptions) is back within 2 s of Redis returning, before a user's request
        // finds it broken; when it comes back after a failed ping or publish, listeners
        // are told to resync. The task lives as long as the process: open this once per
        // process.
        let lost = Arc::new(AtomicBool::new(false));
        let (keepalive, listeners, lost_flag) = (manager.clone(), events.clone(), lost.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(2)).await;
                let mut c = keepalive.clone();
                let up = redis::cmd("PING")
                    .query_async::<String>(&mut c)
                    .await
                    .is_ok();
                if !up {
                    lost_flag.store(true, Ordering::Relaxed);
                } else if lost_flag.swap(false, Ordering::Relaxed) {
                    // No receiver is not an error: nobody listens in this process.
                    let _ = listeners.send(Event {
                        channel: RESYNC.to_string(),
                        payload: Vec::new(),
                    });
                }
            }
        });
        Ok(Ephemeral::Redis(RedisState {
            manager,
            events,
            lost,
        }))
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Ephemeral::Redis(_) => "redis",
            Ephemeral::Memory(_) => "memory",
        }
    }

    /// A round trip (Redis `PING`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        match self {
            Ephemeral::Redis(r) => {
                let mut c = r.manager.clone();
                let _: String = redis::cmd("PING").query_async(&mut c).await?;
                Ok(())
            }
            Ephemeral::Memory(_) => Ok(()),
        }
    }

    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let key = format!("{PREFIX}{key}");
        match self {
            Ephemeral::Redis(r) => Ok(r.query(redis::cmd("GET").arg(&key)).await?),
            Ephemeral::Memory(m) => Ok(m.cache.get(&key).map(|e| e.value.to_vec())),
        }
    }

    /// Stores `value` under `key` for `ttl`.
    pub async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
        let key = format!("{PREFIX}{key}");
        match self {
            Ephemeral::Redis(r) => {
                let secs = ttl.as_secs().max(1);
                let _: () = r
                    .query(redis::cmd("SET").arg(&key).arg(value).arg("EX").arg(secs))
                    .await?;
            }
            Ephemeral::Memory(m) => m.cache.insert(
                key,
                Entry {
                    value: value.into(),
                    ttl,
                },
            ),
        }
        Ok(())
    }

    /// Sets `key` only if it is absent; whether it was set (a mark only one holder gets).
    pub async fn set_if_absent(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let key = format!("{PREFIX}{key}");
        match self {
            Ephemeral::Redis(r) => {
                let set: Option<String> = r
                    .query(
                        redis::cmd("SET")
                            .arg(&key)
                            .arg(value)
                            .arg("NX")
                            .arg("PX")
                            .arg(ttl.as_millis().max(1) as u64),
                    )
                    .await?;
                Ok(set.is_some())
            }
            Ephemeral::Memory(m) => {
                let entry = m.cache.entry(key).or_insert_with(|| Entry {
                    value: value.into(),
                    ttl,
                });
                Ok(entry.is_fresh())
            }
        }
    }

    /// Deletes `key` only if it still holds `value` (the holder's own mark, not one a
    /// later holder set); whether it did.
    pub async fn delete_if(&self, key: &str, value: &[u8]) -> Result<bool, StoreError> {
        let full = format!("{PREFIX}{key}");
        match self {
            Ephemeral::Redis(r) => {
                let n: i64 = r
                    .query(
                        redis::cmd("EVAL")
                            .arg("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end")
                            .arg(1)
                            .arg(&full)
                            .arg(value),
                    )
                    .await?;
                Ok(n > 0)
            }
            Ephemeral::Memory(m) => {
                let mine = m.cache.get(&full).is_some_and(|e| *e.value == *value);
                if mine {
                    m.cache.invalidate(&full);
                }
                Ok(mine)
            }
        }
    }

    /// Restarts `key`'s TTL (activity on a session); `false` if it is gone.
    pub async fn touch(&self, key: &str, ttl: Duration) -> Result<bool, StoreError> {
        let key = format!("{PREFIX}{key}");
        match self {
            Ephemeral::Redis(r) => {
                let secs = ttl.as_secs().max(1) as i64;
                Ok(r.query(redis::cmd("EXPIRE").arg(&key).arg(secs)).await?)
            }
            Ephemeral::Memory(m) => match m.cache.get(&key) {
                Some(mut e) => {
                    e.ttl = ttl;
                    m.cache.insert(key, e);
                    Ok(true)
                }
                None => Ok(false),
            },
        }
    }

    pub async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let key = format!("{PREFIX}{key}");
        match self {
            Ephemeral::Redis(r) => {
                let n: i64 = r.query(redis::cmd("DEL").arg(&key)).await?;
                Ok(n > 0)
            }
            Ephemeral::Memory(m) => Ok(m.cache.remove(&key).is_some()),
        }
    }

    /// Deletes every key starting with `prefix`; returns how many. Redis: `SCAN` in
    /// batches and `UNLINK`, never `KEYS`, so a big keyspace does not stall the server.
    pub async fn delete_prefix(&self, prefix: &str) -> Result<u64, StoreError> {
        let pattern = format!("{PREFIX}{}*", escape_glob(prefix));
        match self {
            Ephemeral::Redis(r) => {
                let mut c = r.manager.clone();
                let mut cursor: u64 = 0;
                let mut removed = 0u64;
                loop {
                    let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(&pattern)
                        .arg("COUNT")
                        .arg(500)
                        .query_async(&mut c)
                        .await?;
                    if !keys.is_empty() {
                        let n: u64 = redis::cmd("UNLINK").arg(&keys).query_async(&mut c).await?;
                        removed += n;
                    }
                    if next == 0 {
                        return Ok(removed);
                    }
                    cursor = next;
                }
            }
            Ephemeral::Memory(m) => {
                let full = format!("{PREFIX}{prefix}");
                let keys: Vec<String> = m
                    .cache
                    .iter()
                    .filter(|(k, _)| k.starts_with(&full))
                    .map(|(k, _)| (*k).clone())
                    .collect();
                for k in &keys {
                    m.cache.remove(k);
                }
                Ok(keys.len() as u64)
            }
        }
    }

    /// Sends `payload` to every subscriber of `channel`, on every replica.
    pub async fn publish(&self, channel: &str, payload: &[u8]) -> Result<(), StoreError> {
        match self {
            Ephemeral::Redis(r) => {
                let published: Result<i64, _> = r
                    .query(
                        redis::cmd("PUBLISH")
                            .arg(format!("{PREFIX}{channel}"))
                            .arg(payload),
                    )
                    .await;
                if let Err(e) = published {
                    r.lost.store(true, Ordering::Relaxed);
                    return Err(e.into());
                }
            }
            Ephemeral::Memory(m) => {
                let _ = m.events.send(Event {
                    channel: channel.to_string(),
                    payload: payload.to_vec(),
                });
            }
        }
        Ok(())
    }

    /// Receives the events of the channels this process subscribed to (and [`RESYNC`]),
    /// without asking Redis anything: for a listener that comes and goes while the
    /// process stays subscribed.
    pub fn listen(&self) -> broadcast::Receiver<Event> {
        match self {
            Ephemeral::Redis(r) => r.events.subscribe(),
            Ephemeral::Memory(m) => m.events.subscribe(),
        }
    }

    /// Starts receiving the events of `channel` (on Redis, subscribes this replica). The
    /// receiver carries every subscribed channel's events: filter on [`Event::channel`].
    pub async fn subscribe(&self, channel: &str) -> Result<broadcast::Receiver<Event>, StoreError> {
        match self {
            Ephemeral::Redis(r) => {
                let rx = r.events.subscribe();
                r.manager
                    .clone()
                    .subscribe(format!("{PREFIX}{channel}"))
                    .await?;
                Ok(rx)
            }
            Ephemeral::Memory(m) => Ok(m.events.subscribe()),
        }
    }
}

/// `prefix` as a literal in a Redis glob pattern.
fn escape_glob(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len());
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
