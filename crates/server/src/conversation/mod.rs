//! The conversation manager's WebSocket (`ws://host:8080/ws`, docs/conversation.md).
//!
//! A session is a conversation. Everything the server tells a client about it is stored
//! first (`conversation_events`, with an id that increases per conversation) and then
//! published on Redis (or the in-process bus), so a client connected to any replica
//! receives it, and one that reconnects gets what it missed from the database, after the
//! last id it saw: no gaps, no duplicates. A turn (a question being answered) runs in a
//! task of its own that streams the orchestrator's steps into events; a client that goes
//! away does not stop it. A turn whose process died is reported as `interrupted` the next
//! time its conversation is opened.

pub mod live;
pub mod protocol;
mod turn;

use std::time::{Duration, Instant};

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::{Caller, check_credential};
use protocol::{ClientFrame, VERSION, error};

/// The channel every replica listens on; events carry their conversation.
pub const CHANNEL: &str = "conversation-events";
/// Keepalive pings from the server.
const PING_EVERY: Duration = Duration::from_secs(20);
/// How often an open session compares what it sent with what is stored: a safety net
/// for events whose live delivery was lost (Redis down when they were published).
const CATCH_UP_EVERY: Duration = Duration::from_secs(15);
/// A frame the client does not take within this long: it cannot keep up.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Time to send `hello` after connecting.
const HELLO_WITHIN: Duration = Duration::from_secs(10);
/// Frames per second a client may send on average, and in a burst.
const RATE_PER_SEC: f64 = 5.0;
const RATE_BURST: f64 = 20.0;
/// Bytes read from a socket at a time.
const READ_BUFFER: usize = 4096;
/// Bytes a connection may have waiting to be written before sends fail.
const MAX_WRITE_BUFFER: usize = 1 << 20;
/// Events replayed per database read when a client resumes.
const REPLAY_PAGE: i64 = 500;

/// Close codes (4000–4999 are the application's).
const CLOSE_UNAUTHORIZED: u16 = 4401;
const CLOSE_FORBIDDEN: u16 = 4403;
const CLOSE_POLICY: u16 = 1008;
const CLOSE_TRY_LATER: u16 = 1013;

/// Subscribes this process to [`CHANNEL`], once for all its connections (retrying while
/// Redis is unreachable; the subscription then survives reconnects by itself), so that
/// opening a session never waits on Redis and a Redis outage does not refuse sessions;
/// the router hands the events to the connections watching their conversation.
pub fn subscribe(cache: qa_store::Ephemeral) -> std::sync::Arc<live::Router> {
    let router = live::Router::start(&cache);
    tokio::spawn(async move {
        let mut delay = Duration::from_millis(200);
        while let Err(e) = cache.subscribe(CHANNEL).await {
            tracing::warn!(error = %e, "cannot subscribe to live conversation events yet; retrying");
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    });
    router
}

/// `GET /ws`: upgrades, authenticating by the `Authorization` header now, or by the
/// `token` of the client's `hello`.
pub async fn upgrade(
    State(state): State<AppState>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let pre = match headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
    {
        Some((_, credential)) => match check_credential(&state, credential.trim()).await {
            Ok(c) => Some(c),
            Err(e) => return e.into_response(),
        },
        None => None,
    };
    let max = state.config.ws_max_frame_bytes;
    // Small buffers: most sessions are idle, and the defaults (128 KiB each way) would
    // make an idle session cost far more than its state.
    ws.max_message_size(max)
        .max_frame_size(max)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .on_upgrade(move |socket| async move {
            let metrics = &state.metrics.conversation;
            metrics.connections.inc();
            if let Err(why) = Connection::new(&state, socket).run(pre).await {
                tracing::debug!(reason = %why, "websocket closed");
            }
            metrics.connections.dec();
        })
}

/// An event stored, ready to publish.
pub struct Stored {
    pub conversation_id: i64,
    /// The conversation's creation time (with its id, what names it across replicas).
    pub created_at: i64,
    /// As clients receive it (with `type` and `id`).
    pub event: Value,
}

/// Stores an event under the conversation's next id (only if the last is still
/// `expected`, when given; `None` otherwise), counting it in the metrics.
pub async fn store_event(
    state: &AppState,
    conversation_id: i64,
    expected: Option<i64>,
    kind: &str,
    mut payload: Value,
    message: Option<(&str, &str)>,
) -> Result<Option<Stored>, qa_store::StoreError> {
    let metrics = &state.metrics.conversation;
    let started = Instant::now();
    let stored = state
        .db
        .db
        .append_event_after(
            conversation_id,
            expected,
            kind,
            &payload.to_string(),
            message,
        )
        .await;
    metrics
        .write_duration
        .get_or_create(&Vec::new())
        .observe(started.elapsed().as_secs_f64());
    let outcome = if stored.is_ok() { "ok" } else { "failed" };
    metrics
        .writes
        .get_or_create(&crate::metrics::OutcomeLabels {
            outcome: outcome.into(),
        })
        .inc();
    let Some((id, created_at)) = stored.inspect_err(|_| {
        metrics.failures.get_or_create(&Vec::new()).inc();
    })?
    else {
        return Ok(None);
    };
    if let Some((role, _)) = message {
        metrics
            .messages
            .get_or_create(&crate::metrics::RoleLabels { role: role.into() })
            .inc();
    }
    payload["type"] = kind.into();
    payload["id"] = id.into();
    Ok(Some(Stored {
        conversation_id,
        created_at,
        event: payload,
    }))
}

/// Publishes a stored event to every replica. A failure loses only the live delivery:
/// clients get the event from the database (the next event's gap, or the catch-up tick).
pub async fn publish(state: &AppState, s: &Stored) {
    let envelope = json!({ "conversation_id": s.conversation_id, "created_at": s.created_at, "event": s.event });
    if let Err(e) = state
        .cache
        .publish(CHANNEL, envelope.to_string().as_bytes())
        .await
    {
        tracing::warn!(error = %e, conversation_id = s.conversation_id, "cannot publish a conversation event");
        state.metrics.conversation.error("publish");
    }
}

/// Stores an event and publishes it; returns its id.
pub async fn emit(
    state: &AppState,
    conversation_id: i64,
    kind: &str,
    payload: Value,
    message: Option<(&str, &str)>,
) -> Result<i64, qa_store::StoreError> {
    let stored = store_event(state, conversation_id, None, kind, payload, message)
        .await?
        .ok_or_else(|| {
            qa_store::StoreError::Invalid(format!("conversation {conversation_id} is gone"))
        })?;
    publish(state, &stored).await;
    Ok(stored.event["id"].as_i64().unwrap_or_default())
}

/// Whether read-only mode is on (then nothing new is stored; reading goes on).
async fn read_only(state: &AppState) -> bool {
    state.db.db.read_only().await.unwrap_or(false)
}

/// A stored event as a client receives it.
fn wire_event(e: &qa_store::StoredEvent) -> Value {
    let mut v: Value = serde_json::from_str(&e.payload).unwrap_or_else(|_| json!({}));
    v["type"] = e.kind.clone().into();
    v["id"] = e.event_id.into();
    v
}

/// The mark of a running turn (namespaced by installation: a Redis may be shared).
fn turn_key(deployment: &str, conversation_id: i64) -> String {
    format!("turn:{deployment}:{conversation_id}")
}

fn session_key(deployment: &str, conversation_id: i64) -> String {
    format!("session:{deployment}:{conversation_id}")
}

struct Connection<'a> {
    state: &'a AppState,
    socket: WebSocket,
    caller: Option<Caller>,
    conversation: Option<qa_store::Conversation>,
    /// The last event id this client has been sent.
    last_sent: i64,
    tokens: f64,
    refilled: Instant,
    last_heard: Instant,
    /// The turn this connection started: its task, the nonce its mark holds, and how to
    /// ask it to stop.
    turn: Option<Turn>,
    /// The kind of the last stored event sent (an open turn ends in `message`/`step`).
    last_kind: String,
    deployment: String,
    /// Live events of its conversation, from the moment this client authenticated.
    live: Option<tokio::sync::broadcast::Receiver<live::Live>>,
}

/// The next live event, or never before there is a receiver.
async fn next_live(
    live: &mut Option<tokio::sync::broadcast::Receiver<live::Live>>,
) -> Result<live::Live, tokio::sync::broadcast::error::RecvError> {
    match live {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

struct Turn {
    task: tokio::task::JoinHandle<()>,
    stop: tokio::sync::oneshot::Sender<()>,
}

/// Takes a free one of the user's turn slots (`userturn:<installation>:<user>:<n>`, held
/// like the turn mark); its key, or none when all are taken.
async fn take_user_slot(
    state: &AppState,
    deployment: &str,
    user_id: i64,
    nonce: &str,
) -> Result<Option<String>, qa_store::StoreError> {
    for n in 0..state.config.turns_per_user {
        let slot = format!("userturn:{deployment}:{user_id}:{n}");
        if state
            .cache
            .set_if_absent(&slot, nonce.as_bytes(), turn::LIVENESS)
            .await?
        {
            return Ok(Some(slot));
        }
    }
    Ok(None)
}

impl Drop for Connection<'_> {
    fn drop(&mut self) {
        if let Some(c) = &self.conversation {
            self.live.take();
            self.state.live.leave(c.id, c.created_at);
        }
    }
}

/// Why a connection ended.
type Closed = String;

impl<'a> Connection<'a> {
    fn new(state: &'a AppState, socket: WebSocket) -> Connection<'a> {
        Connection {
            state,
            socket,
            caller: None,
            conversation: None,
            last_sent: 0,
            tokens: RATE_BURST,
            refilled: Instant::now(),
            last_heard: Instant::now(),
            turn: None,
            last_kind: String::new(),
            deployment: String::new(),
            live: None,
        }
    }

    async fn send(&mut self, v: &Value) -> Result<(), Closed> {
        match tokio::time::timeout(
            SEND_TIMEOUT,
            self.socket.send(Message::Text(v.to_string().into())),
        )
        .await
        {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("send failed: {e}")),
            Err(_) => {
                // The client does not read: say so (best effort) and let it go, rather
                // than buffer for it.
                self.state.metrics.conversation.error("slow_consumer");
                Err("slow consumer".into())
            }
        }
    }

    async fn close(&mut self, code: u16, reason: &str) -> Closed {
        let _ = self
            .socket
            .send(Message::Close(Some(CloseFrame {
                code,
                reason: reason.to_string().into(),
            })))
            .await;
        reason.to_string()
    }

    async fn fail(&mut self, kind: &str, detail: &str) -> Result<(), Closed> {
        self.state.metrics.conversation.error(kind);
        self.send(&error(kind, detail)).await
    }

    /// Takes a token from the frame budget; false when the client floods.
    fn admit_frame(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens
            + now.duration_since(self.refilled).as_secs_f64() * RATE_PER_SEC)
            .min(RATE_BURST);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    async fn run(mut self, pre: Option<Caller>) -> Result<(), Closed> {
        self.caller = pre;
        self.deployment = match self.state.db.deployment().await {
            Ok(d) => d,
            Err(e) => {
                self.fail(
                    "database",
                    &format!("conversations are unavailable ({e}); try again shortly"),
                )
                .await?;
                return Err(self.close(CLOSE_TRY_LATER, "database unavailable").await);
            }
        };
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.tick().await;
        let mut catch_up = tokio::time::interval(CATCH_UP_EVERY);
        catch_up.tick().await;
        let idle = Duration::from_secs(self.state.config.ws_idle_secs);
        let hello_deadline = Instant::now() + HELLO_WITHIN;
        loop {
            if self.conversation.is_none() && Instant::now() > hello_deadline {
                self.fail("no_hello", "send `hello` first").await?;
                return Err(self.close(CLOSE_POLICY, "no hello").await);
            }
            if self.last_heard.elapsed() > idle {
                self.state.metrics.conversation.error("idle");
                return Err(self.close(1000, "idle").await);
            }
            tokio::select! {
                frame = self.socket.recv() => {
                    let Some(Ok(frame)) = frame else {
                        return Err("client went away".into());
                    };
                    self.last_heard = Instant::now();
                    match frame {
                        Message::Text(text) => self.on_text(&text).await?,
                        Message::Binary(_) => self.fail("bad_frame", "frames are JSON text").await?,
                        Message::Close(_) => return Ok(()),
                        Message::Ping(_) | Message::Pong(_) => {}
                    }
                }
                event = next_live(&mut self.live) => match event {
                    // Redis is back after an outage: what was published meanwhile is lost.
                    Ok(live::Live::Resync) => {
                        let before = self.last_sent;
                        self.replay().await?;
                        if self.last_sent > before {
                            self.state.metrics.conversation.error("live_missed");
                        }
                    }
                    Ok(live::Live::Event(e)) => self.on_live(&e).await?,
                    // Missed some: catch up from the database.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => self.replay().await?,
                    Err(_) => return Err(self.close(CLOSE_TRY_LATER, "live delivery stopped").await),
                },
                // Only while a turn is open: an idle session costs no query.
                _ = catch_up.tick(), if self.last_kind == "message" || self.last_kind == "step" => {
                    if let (Some(c), Some(caller)) = (self.conversation.clone(), self.caller.clone()) {
                        let stored = self.state.db.db.conversation(caller.0.tenant_id, caller.0.user_id, c.id).await;
                        if let Ok(Some(now)) = stored {
                            // Behind by an event stored over 2 s ago: its live delivery
                            // was lost, not merely in flight.
                            if now.last_event_id > self.last_sent && now.updated_at < qa_store::now_ms() - 2000 {
                                self.state.metrics.conversation.error("live_missed");
                                self.replay().await?;
                            } else if now.last_event_id == self.last_sent {
                                // Its process may have died while this client watched.
                                let _ = self.report_interrupted(&now).await;
                            }
                        }
                    }
                }
                _ = ping.tick() => {
                    if self.socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                        return Err("client went away".into());
                    }
                    if let Some(c) = &self.conversation {
                        // Live state: which conversation is open, refreshed while it is.
                        let _ = self.state.cache.touch(&session_key(&self.deployment, c.id), Duration::from_secs(self.state.config.session_ttl_secs)).await;
                    }
                }
            }
        }
    }

    /// A live event of this connection's conversation (the router picked it).
    async fn on_live(&mut self, event: &Value) -> Result<(), Closed> {
        let id = event["id"].as_i64().unwrap_or(0);
        if id <= self.last_sent {
            return Ok(());
        }
        if id > self.last_sent + 1 {
            // A gap: something was published before this client subscribed, or lost.
            return self.replay().await;
        }
        self.last_sent = id;
        self.last_kind = event["type"].as_str().unwrap_or_default().to_string();
        self.send(event).await
    }

    /// Sends the stored events after the last one sent.
    async fn replay(&mut self) -> Result<(), Closed> {
        let Some(c) = self.conversation.clone() else {
            return Ok(());
        };
        loop {
            let page = match self
                .state
                .db
                .db
                .events_after(c.id, self.last_sent, REPLAY_PAGE)
                .await
            {
                Ok(p) => p,
                Err(e) => {
                    self.fail(
                        "database",
                        &format!("cannot read the conversation's history ({e}); resume later"),
                    )
                    .await?;
                    return Err(self.close(CLOSE_TRY_LATER, "database unavailable").await);
                }
            };
            let n = page.len() as i64;
            for e in &page {
                self.last_sent = e.event_id;
                self.last_kind = e.kind.clone();
                self.send(&wire_event(e)).await?;
            }
            if n < REPLAY_PAGE {
                return Ok(());
            }
        }
    }

    async fn on_text(&mut self, text: &str) -> Result<(), Closed> {
        if !self.admit_frame() {
            self.fail(
                "rate_limited",
                &format!("more than {RATE_PER_SEC} frames a second; this one was dropped"),
            )
            .await?;
            return Ok(());
        }
        let frame: ClientFrame = match serde_json::from_str(text) {
            Ok(f) => f,
            Err(e) => {
                let kind = if serde_json::from_str::<Value>(text).is_ok() {
                    "unknown_type"
                } else {
                    "bad_frame"
                };
                return self
                    .fail(kind, &format!("not a frame of protocol v{VERSION}: {e}"))
                    .await;
            }
        };
        match frame {
            ClientFrame::Ping => {
                self.send(&json!({ "type": "pong", "id": Value::Null }))
                    .await
            }
            ClientFrame::Hello {
                v,
                token,
                conversation_id,
                last_event_id,
            } => self.hello(v, token, conversation_id, last_event_id).await,
            ClientFrame::Resume {
                v,
                token,
                conversation_id,
                last_event_id,
            } => {
                self.hello(v, token, Some(conversation_id), last_event_id)
                    .await
            }
            other => {
                let (Some(caller), Some(c)) = (self.caller.clone(), self.conversation.clone())
                else {
                    return self.fail("no_session", "send `hello` first").await;
                };
                match other {
                    ClientFrame::Message {
                        text,
                        path,
                        analysis_id,
                        specialists,
                        mode,
                    } => {
                        self.message(
                            caller,
                            c,
                            turn::Question {
                                text,
                                path,
                                analysis_id,
                                specialists,
                                mode,
                            },
                        )
                        .await
                    }
                    ClientFrame::Feedback {
                        target,
                        target_id,
                        kind,
                        rating,
                        thumb,
                        reason,
                        comment,
                        intent,
                    } => {
                        let submission = qa_learning::Submission {
                            target,
                            target_id,
                            kind,
                            rating,
                            thumb,
                            reason,
                            comment,
                            intent,
                        };
                        self.feedback(&caller.0, submission).await
                    }
                    ClientFrame::Cancel => self.cancel(&c).await,
                    _ => Ok(()),
                }
            }
        }
    }

    async fn hello(
        &mut self,
        v: Option<u32>,
        token: Option<String>,
        conversation_id: Option<i64>,
        last_event_id: i64,
    ) -> Result<(), Closed> {
        if v.is_some_and(|v| v != VERSION) {
            self.fail(
                "version",
                &format!("this server speaks protocol v{VERSION}"),
            )
            .await?;
            return Err(self.close(CLOSE_POLICY, "protocol version").await);
        }
        if self.conversation.is_some() {
            return self
                .fail(
                    "already_open",
                    "this connection has its session; open another connection for another one",
                )
                .await;
        }
        if let Some(t) = token {
            match check_credential(self.state, t.trim()).await {
                Ok(c) => self.caller = Some(c),
                Err(e) => {
                    self.fail("unauthorized", &e.detail).await?;
                    return Err(self.close(CLOSE_UNAUTHORIZED, "unauthorized").await);
                }
            }
        }
        let Some(caller) = self.caller.clone() else {
            self.fail(
                "unauthorized",
                "authenticate: `Authorization: Bearer <key>` on the upgrade, or `token` in `hello`",
            )
            .await?;
            return Err(self.close(CLOSE_UNAUTHORIZED, "unauthorized").await);
        };
        let db = &self.state.db.db;
        let (conversation, resumed) = match conversation_id {
            Some(id) => match db
                .conversation(caller.0.tenant_id, caller.0.user_id, id)
                .await
            {
                Ok(Some(c)) => (c, true),
                Ok(None) => {
                    // Someone else's, or none: the same answer, so ids reveal nothing.
                    self.fail(
                        "forbidden",
                        &format!("conversation {id} is not one of yours"),
                    )
                    .await?;
                    return Err(self.close(CLOSE_FORBIDDEN, "forbidden").await);
                }
                Err(e) => return self.unavailable(e).await,
            },
            None if read_only(self.state).await => {
                self.fail("read_only", "qa-agent is in read-only mode: new conversations cannot be started; resume one").await?;
                return Err(self.close(CLOSE_TRY_LATER, "read-only").await);
            }
            None => match db
                .create_conversation(caller.0.tenant_id, caller.0.user_id, None)
                .await
            {
                Ok(c) => (c, false),
                Err(e) => return self.unavailable(e).await,
            },
        };
        if resumed {
            self.state
                .metrics
                .conversation
                .restores
                .get_or_create(&Vec::new())
                .inc();
        }
        // The newest stored event: the conversation as read, or the report just stored.
        let latest = if resumed {
            self.report_interrupted(&conversation)
                .await
                .unwrap_or(conversation.last_event_id)
        } else {
            0
        };
        let _ = self
            .state
            .cache
            .set(
                &session_key(&self.deployment, conversation.id),
                json!({ "user_id": caller.0.user_id, "opened_at": qa_store::now_ms() })
                    .to_string()
                    .as_bytes(),
                Duration::from_secs(self.state.config.session_ttl_secs),
            )
            .await;
        // An id past the newest (a client ahead of a restored database) starts over.
        self.last_sent = if last_event_id > latest {
            0
        } else {
            last_event_id.max(0)
        };
        self.conversation = Some(conversation.clone());
        // Listening before the replay: an event stored in between arrives live too, and
        // its id (not above the last sent) drops it.
        self.live = Some(
            self.state
                .live
                .watch(conversation.id, conversation.created_at),
        );
        self.send(&json!({
            "type": "session", "id": Value::Null, "v": VERSION,
            "conversation_id": conversation.id, "last_event_id": latest, "resumed": resumed,
        }))
        .await?;
        self.replay().await
    }

    async fn unavailable(&mut self, e: qa_store::StoreError) -> Result<(), Closed> {
        self.fail(
            "database",
            &format!("conversations are unavailable ({e}); try again shortly"),
        )
        .await?;
        Err(self.close(CLOSE_TRY_LATER, "database unavailable").await)
    }

    /// A conversation whose last turn never ended, and no process is answering it: the
    /// turn is reported as interrupted, once (stored only if nothing came after the event
    /// it was found on, so two clients finding it at once store one report). A turn is
    /// taken for dead only when its mark is gone and its last event is older than the
    /// mark lasts; when Redis cannot be asked, nothing is reported.
    /// Returns the id of the report it stored, if it stored one.
    async fn report_interrupted(&mut self, c: &qa_store::Conversation) -> Option<i64> {
        if c.last_event_id == 0 {
            return None;
        }
        let Ok(last) = self
            .state
            .db
            .db
            .events_after(c.id, c.last_event_id - 1, 1)
            .await
        else {
            return None;
        };
        let last = last.first()?;
        let open = last.kind == "message" || last.kind == "step";
        let stale = last.created_at < qa_store::now_ms() - turn::LIVENESS.as_millis() as i64;
        if !open || !stale {
            return None;
        }
        match self
            .state
            .cache
            .get(&turn_key(&self.deployment, c.id))
            .await
        {
            Ok(None) => {}
            _ => return None,
        }
        let stored = store_event(
            self.state,
            c.id,
            Some(c.last_event_id),
            "error",
            json!({ "code": "interrupted", "detail": "the answer to the last question was interrupted (its server stopped); ask again" }),
            None,
        )
        .await;
        let stored = stored.ok().flatten()?;
        self.state
            .metrics
            .conversation
            .turns
            .get_or_create(&crate::metrics::OutcomeLabels {
                outcome: "interrupted".into(),
            })
            .inc();
        publish(self.state, &stored).await;
        stored.event["id"].as_i64()
    }

    async fn message(
        &mut self,
        caller: Caller,
        c: qa_store::Conversation,
        q: turn::Question,
    ) -> Result<(), Closed> {
        if q.text.trim().is_empty() {
            return self.fail("invalid", "`text` is empty").await;
        }
        if read_only(self.state).await {
            return self
                .fail(
                    "read_only",
                    "qa-agent is in read-only mode: questions are not taken now",
                )
                .await;
        }
        // One turn per conversation, across replicas: the mark is taken atomically, and
        // holds this turn's own nonce so only it can release it. It is taken before the
        // question is stored, so a resume in between never takes the turn for dead.
        let nonce = qa_store::generate_api_key()[4..24].to_string();
        let unavailable = |e: qa_store::StoreError| {
            format!("questions cannot be taken while Redis is unavailable ({e}); try again shortly")
        };
        // One of the user's turn slots first: however many conversations (or replicas)
        // they use, one user cannot hold every reasoning slot of the orchestrator.
        let slot = match take_user_slot(self.state, &self.deployment, caller.0.user_id, &nonce)
            .await
        {
            Ok(Some(slot)) => slot,
            Ok(None) => {
                let n = self.state.config.turns_per_user;
                return self.fail("too_many_turns", &format!("{n} of your questions are being answered already; wait for one of them or cancel it")).await;
            }
            Err(e) => return self.fail("unavailable", &unavailable(e)).await,
        };
        let key = turn_key(&self.deployment, c.id);
        let taken = self
            .state
            .cache
            .set_if_absent(&key, nonce.as_bytes(), turn::LIVENESS)
            .await;
        if !matches!(taken, Ok(true)) {
            let _ = self.state.cache.delete_if(&slot, nonce.as_bytes()).await;
        }
        match taken {
            Ok(true) => {}
            Ok(false) => {
                return self.fail("busy", "a question is being answered in this conversation; wait for it or send `cancel`").await;
            }
            Err(e) => return self.fail("unavailable", &unavailable(e)).await,
        }
        let question = q.text.trim().to_string();
        let stored = emit(
            self.state,
            c.id,
            "message",
            json!({ "role": "user", "text": question }),
            Some(("user", &question)),
        )
        .await;
        if let Err(e) = stored {
            let _ = self.state.cache.delete_if(&key, nonce.as_bytes()).await;
            let _ = self.state.cache.delete_if(&slot, nonce.as_bytes()).await;
            return self
                .fail(
                    "database",
                    &format!("the message could not be stored ({e}); it was not sent"),
                )
                .await;
        }
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(turn::run(
            self.state.clone(),
            caller,
            (c.id, c.created_at),
            q,
            turn::Mark::new(key, slot, nonce),
            stopped,
        ));
        self.turn = Some(Turn { task, stop });
        Ok(())
    }

    /// Stops the conversation's turn: this connection's own by its signal, one asked from
    /// another connection (or replica) by a request on the bus. The turn stores
    /// `cancelled` once it stopped the orchestrator's reasoning.
    async fn cancel(&mut self, c: &qa_store::Conversation) -> Result<(), Closed> {
        if let Some(turn) = self.turn.take()
            && !turn.task.is_finished()
        {
            let _ = turn.stop.send(());
            return Ok(());
        }
        match self
            .state
            .cache
            .get(&turn_key(&self.deployment, c.id))
            .await
        {
            Ok(Some(_)) => {
                let request = turn::cancel_request(c.id, c.created_at).to_string();
                if let Err(e) = self.state.cache.publish(CHANNEL, request.as_bytes()).await {
                    return self
                        .fail(
                            "unavailable",
                            &format!("cannot reach the turn to cancel it ({e}); try again shortly"),
                        )
                        .await;
                }
                Ok(())
            }
            Ok(None) => {
                self.fail(
                    "nothing_to_cancel",
                    "no question is being answered in this conversation",
                )
                .await
            }
            Err(e) => {
                self.fail(
                    "unavailable",
                    &format!(
                        "cannot tell whether a question is being answered ({e}); try again shortly"
                    ),
                )
                .await
            }
        }
    }

    async fn feedback(
        &mut self,
        who: &qa_store::Principal,
        submission: qa_learning::Submission,
    ) -> Result<(), Closed> {
        if let Err(wait) = self.state.flood.admit(who.user_id) {
            return self
                .fail(
                    "rate_limited",
                    &format!("too much feedback from you this minute; wait {wait} s"),
                )
                .await;
        }
        let f = match crate::learning::intake::resolve(&self.state.db.db, who, submission).await {
            Ok(f) => f,
            Err(e) => {
                use crate::learning::intake::IntakeError as E;
                let kind = match &e {
                    E::Invalid(_) => "invalid",
                    E::TooLarge(_) => "too_large",
                    E::NotFound(_) => "not_found",
                    E::Store(_) => "database",
                };
                return self.fail(kind, &e.to_string()).await;
            }
        };
        if read_only(self.state).await {
            return self
                .fail(
                    "read_only",
                    "qa-agent is in read-only mode: feedback is not taken now",
                )
                .await;
        }
        match self.state.db.db.add_feedback(&f).await {
            Ok(id) => {
                self.state.learning.wake.notify_one();
                self.send(&json!({ "type": "feedback", "id": Value::Null, "stored": true, "feedback_id": id })).await
            }
            Err(e) => {
                self.fail(
                    "database",
                    &format!("the feedback could not be stored ({e}); send it again later"),
                )
                .await
            }
        }
    }
}
