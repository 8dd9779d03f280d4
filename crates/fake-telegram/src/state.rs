//! Shared server state: chats and messages, the update queue, recorded calls and counters.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};
use tokio::sync::Notify;

use crate::error::ApiError;
use crate::faults::Faults;
use crate::webhook::WebhookState;
use crate::{BOT_ID, BOT_USERNAME, BotMessage, CallbackAnswer, CommandSet, RecordedRequest, Stats, TgUser, html};

/// Locks, ignoring poisoning (a panicking test must not break other clones).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// State plus the notifications waiters use.
pub struct Shared {
    pub state: Mutex<State>,
    /// Fired on every recorded call and every new update (for `wait_until`).
    pub changed: Notify,
    /// Fired when updates arrive or a new getUpdates starts (for long polls).
    pub updates_arrived: Notify,
    pub started: Instant,
}

/// One stored message of a chat: the user's or the bot's.
pub struct Stored {
    /// The full Message object, as returned to the bot.
    pub json: Value,
    /// Set for the bot's messages.
    pub bot: Option<BotMessage>,
}

#[derive(Default)]
pub struct Chat {
    pub first_name: Option<String>,
    pub known: bool,
    pub next_id: i64,
    pub messages: BTreeMap<i64, Stored>,
}

pub struct Callback {
    pub at: Instant,
    pub answered: bool,
}

#[derive(Default)]
pub struct State {
    pub next_update_id: i64,
    pub updates: VecDeque<Value>,
    pub confirmed: Option<i64>,
    /// Update kinds the bot asked for (getUpdates or setWebhook); `None` = all.
    pub allowed_updates: Option<Vec<String>>,
    /// The webhook, if one is set, and how its deliveries went.
    pub webhook: WebhookState,
    pub poll_generation: u64,
    pub chats: HashMap<i64, Chat>,
    /// (chat, message id) of the bot's messages in sending order.
    pub order: Vec<(i64, i64)>,
    pub requests: Vec<RecordedRequest>,
    pub callbacks: HashMap<String, Callback>,
    pub next_callback: u64,
    pub answers: Vec<CallbackAnswer>,
    pub stats: Stats,
    pub faults: Faults,
    /// (scope key, language code) → commands.
    pub commands: BTreeMap<(String, String), Vec<(String, String)>>,
    pub strict_chats: bool,
    /// The bot's new messages are answered and counted but not stored (see
    /// `FakeTelegram::keep_sent_messages`).
    pub discard_sent: bool,
}

pub fn now_unix() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |d| d.as_secs() as i64)
}

pub fn bot_user_json() -> Value {
    json!({ "id": BOT_ID, "is_bot": true, "first_name": "Nudge Test Bot", "username": BOT_USERNAME })
}

fn user_json(user: &TgUser) -> Value {
    let mut v = json!({ "id": user.id, "is_bot": false, "first_name": user.first_name });
    if let Some(lang) = &user.language_code {
        v["language_code"] = json!(lang);
    }
    v
}

/// Sets `key` to `value`, or removes it for `None`.
pub fn set_opt(obj: &mut Value, key: &str, value: Option<Value>) {
    if let Some(map) = obj.as_object_mut() {
        match value {
            Some(v) => map.insert(key.to_owned(), v),
            None => map.remove(key),
        };
    }
}

impl State {
    pub fn chat_mut(&mut self, id: i64) -> &mut Chat {
        self.chats.entry(id).or_insert_with(|| Chat { next_id: 1, ..Chat::default() })
    }

    /// Whether the bot may write to `id`: positive ids, or only users who wrote when strict.
    pub fn chat_exists(&self, id: i64) -> bool {
        id > 0 && (!self.strict_chats || self.chats.get(&id).is_some_and(|c| c.known))
    }

    fn chat_json(&self, id: i64) -> Value {
        let name = self.chats.get(&id).and_then(|c| c.first_name.clone());
        json!({ "id": id, "type": "private", "first_name": name.unwrap_or_else(|| format!("Learner {id}")) })
    }

    pub fn message(&self, chat: i64, id: i64) -> Option<&Stored> {
        self.chats.get(&chat)?.messages.get(&id)
    }

    /// A stored message without its own `reply_to_message`, for nesting.
    fn reply_json(&self, chat: i64, id: i64) -> Option<Value> {
        let mut v = self.message(chat, id)?.json.clone();
        set_opt(&mut v, "reply_to_message", None);
        Some(v)
    }

    /// Reserves the next message id of the chat.
    pub fn next_message_id(&mut self, chat: i64) -> i64 {
        let c = self.chat_mut(chat);
        c.next_id += 1;
        c.next_id - 1
    }

    /// A Message object sent by the bot: envelope plus `content` (text/entities, document, ...).
    pub fn bot_message_json(&self, chat: i64, id: i64, reply_to: Option<i64>, content: Map<String, Value>) -> Value {
        let mut v =
            json!({ "message_id": id, "from": bot_user_json(), "chat": self.chat_json(chat), "date": now_unix() });
        if let Some(map) = v.as_object_mut() {
            map.extend(content);
        }
        set_opt(&mut v, "reply_to_message", reply_to.and_then(|r| self.reply_json(chat, r)));
        v
    }

    pub fn insert_bot_message(&mut self, bot: BotMessage, json: Value) {
        if self.discard_sent {
            return;
        }
        self.order.push((bot.chat_id, bot.message_id));
        self.chat_mut(bot.chat_id).messages.insert(bot.message_id, Stored { json, bot: Some(bot) });
    }

    pub fn push_update(&mut self, mut update: Value) -> i64 {
        self.next_update_id += 1;
        let id = self.next_update_id;
        set_opt(&mut update, "update_id", Some(json!(id)));
        self.updates.push_back(update);
        id
    }

    /// getUpdates offset semantics: ids below `offset` are confirmed and forgotten; a negative
    /// offset keeps only the last `-offset` updates.
    pub fn confirm(&mut self, offset: i64) {
        let keep_from = if offset < 0 {
            let skip = self.updates.len().saturating_sub(offset.unsigned_abs() as usize);
            match self.updates.get(skip) {
                Some(u) => u["update_id"].as_i64().unwrap_or(0),
                None => self.next_update_id + 1,
            }
        } else {
            offset
        };
        self.updates.retain(|u| u["update_id"].as_i64().unwrap_or(0) >= keep_from);
        if keep_from > 1 {
            self.confirmed = Some(self.confirmed.unwrap_or(0).max(keep_from - 1));
        }
    }

    /// Sets `allowed_updates` as getUpdates and setWebhook do: an empty list means all kinds.
    pub fn set_allowed_updates(&mut self, allowed: Vec<String>) {
        self.allowed_updates = (!allowed.is_empty()).then_some(allowed);
    }

    /// Drops pending updates of kinds outside `allowed_updates`, as Telegram never sends them.
    pub fn drop_disallowed(&mut self) {
        if let Some(allowed) = &self.allowed_updates {
            let kind_ok = |u: &Value| {
                let kind = u.as_object().and_then(|m| m.keys().find(|k| *k != "update_id").cloned());
                kind.is_none_or(|k| allowed.contains(&k))
            };
            self.updates.retain(kind_ok);
        }
    }

    /// Pending updates with id >= offset, dropping kinds outside `allowed_updates`.
    pub fn take_updates(&mut self, offset: Option<i64>, limit: usize) -> Vec<Value> {
        self.drop_disallowed();
        let from = offset.unwrap_or(i64::MIN);
        let ready = self.updates.iter().filter(|u| u["update_id"].as_i64().unwrap_or(0) >= from);
        ready.take(limit).cloned().collect()
    }

    /// Records a call and counts its outcome.
    pub fn record(&mut self, method: &str, params: Value, result: &Result<Value, ApiError>, arrived: Instant) {
        *self.stats.requests.entry(method.to_owned()).or_default() += 1;
        let (status, description) = match result {
            Ok(_) => (200, None),
            Err(e) => (e.code, Some(e.description.clone())),
        };
        match status {
            400 => self.stats.rejected_400 += 1,
            403 => self.stats.sent_403 += 1,
            409 => self.stats.sent_409 += 1,
            429 => self.stats.sent_429 += 1,
            500.. => self.stats.sent_5xx += 1,
            _ => {}
        }
        self.requests.push(RecordedRequest {
            method: method.to_owned(),
            params,
            status,
            description,
            at: Instant::now(),
            arrived,
        });
    }
}

impl Shared {
    pub fn new() -> Shared {
        Shared {
            state: Mutex::new(State::default()),
            changed: Notify::new(),
            updates_arrived: Notify::new(),
            started: Instant::now(),
        }
    }

    pub fn notify(&self) {
        self.updates_arrived.notify_waiters();
        self.changed.notify_waiters();
    }

    pub fn push_update(&self, update: Value) -> i64 {
        let id = lock(&self.state).push_update(update);
        self.notify();
        id
    }

    pub fn user_message(&self, user: &TgUser, text: &str, reply_to: Option<i64>) -> i64 {
        let mut st = lock(&self.state);
        let chat = st.chat_mut(user.id);
        chat.known = true;
        chat.first_name = Some(user.first_name.clone());
        let id = st.next_message_id(user.id);
        let mut msg = json!({
            "message_id": id, "from": user_json(user), "chat": st.chat_json(user.id),
            "date": now_unix(), "text": text,
        });
        set_opt(&mut msg, "entities", html::command_entity(text).map(|e| json!([e])));
        set_opt(&mut msg, "reply_to_message", reply_to.and_then(|r| st.reply_json(user.id, r)));
        st.chat_mut(user.id).messages.insert(id, Stored { json: msg.clone(), bot: None });
        let update_id = st.push_update(json!({ "message": msg }));
        drop(st);
        self.notify();
        update_id
    }

    pub fn user_press(&self, user: &TgUser, message_id: i64, data: &str) -> i64 {
        let mut st = lock(&self.state);
        st.chat_mut(user.id).known = true;
        let message = match st.message(user.id, message_id) {
            Some(m) => m.json.clone(),
            // Telegram's InaccessibleMessage: date 0.
            None => json!({ "message_id": message_id, "chat": st.chat_json(user.id), "date": 0 }),
        };
        st.next_callback += 1;
        let id = (4_000_000_000_000_000_000u64 + st.next_callback).to_string();
        st.callbacks.insert(id.clone(), Callback { at: Instant::now(), answered: false });
        let update_id = st.push_update(json!({ "callback_query": {
            "id": id, "from": user_json(user), "message": message,
            "chat_instance": (user.id.wrapping_mul(2_654_435_761) ^ 0x5bd1e995).to_string(), "data": data,
        }}));
        drop(st);
        self.notify();
        update_id
    }

    pub fn sent(&self, chat: Option<i64>) -> Vec<BotMessage> {
        let st = lock(&self.state);
        let bot = |c: i64, id: i64| st.message(c, id).and_then(|m| m.bot.clone());
        match chat {
            Some(c) => st
                .chats
                .get(&c)
                .map_or_else(Vec::new, |ch| ch.messages.values().filter_map(|m| m.bot.clone()).collect()),
            None => st.order.iter().filter_map(|&(c, id)| bot(c, id)).collect(),
        }
    }

    pub fn commands(&self) -> Vec<CommandSet> {
        let st = lock(&self.state);
        let sets = st.commands.iter().map(|((scope, lang), cmds)| CommandSet {
            scope: scope.clone(),
            language_code: lang.clone(),
            commands: cmds.clone(),
        });
        sets.collect()
    }
}
