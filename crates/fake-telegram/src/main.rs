//! `fake-telegram`: runs the fake Bot API server as a process, optionally as an interactive chat.
//! The bot under test may poll getUpdates or set a webhook, to which the fake then pushes updates.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::time::Duration;

use fake_telegram::{BotMessage, FakeTelegram, Limits, TgUser};

const USAGE: &str = "usage: fake-telegram [--port N] [--limits GLOBAL,PER_CHAT] [--fault-rate R --seed S] \
[--fault-delay-ms MS] [--strict-chats] [--chat USER_ID]";
const HELP: &str = "Serves the Telegram Bot API on 127.0.0.1 (the control API under /_fake/). The bot may poll \
getUpdates or set a webhook with setWebhook (an http or https URL): the fake then pushes each update \
to it as a POST, retrying until it answers 2xx, and getUpdates gets 409 until deleteWebhook.";

#[derive(Default)]
struct Args {
    port: u16,
    limits: Option<Limits>,
    fault_rate: f64,
    seed: u64,
    fault_delay_ms: Option<u64>,
    strict_chats: bool,
    chat: Option<i64>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { seed: 1, ..Args::default() };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--strict-chats" {
            args.strict_chats = true;
            continue;
        }
        if flag == "--help" || flag == "-h" {
            return Err(format!("{USAGE}\n\n{HELP}"));
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let bad = || format!("bad value for {flag}: {value}\n{USAGE}");
        match flag.as_str() {
            "--port" => args.port = value.parse().map_err(|_| bad())?,
            "--fault-rate" => args.fault_rate = value.parse().map_err(|_| bad())?,
            "--seed" => args.seed = value.parse().map_err(|_| bad())?,
            "--fault-delay-ms" => args.fault_delay_ms = Some(value.parse().map_err(|_| bad())?),
            "--chat" => args.chat = Some(value.parse().map_err(|_| bad())?),
            "--limits" => {
                let (g, c) = value.split_once(',').ok_or_else(bad)?;
                args.limits = Some(Limits {
                    global_per_second: g.trim().parse().map_err(|_| bad())?,
                    per_chat_per_second: c.trim().parse().map_err(|_| bad())?,
                });
            }
            _ => return Err(format!("unknown argument {flag}\n{USAGE}")),
        }
    }
    Ok(args)
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let fake = match FakeTelegram::start_on(SocketAddr::from(([127, 0, 0, 1], args.port))) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("fake-telegram: cannot listen on port {}: {e}", args.port);
            std::process::exit(1);
        }
    };
    fake.enforce_limits(args.limits);
    if args.fault_rate > 0.0 {
        fake.random_faults(args.fault_rate, args.seed);
    }
    if let Some(ms) = args.fault_delay_ms {
        fake.set_fault_delay(Duration::from_millis(ms));
    }
    fake.require_known_chats(args.strict_chats);
    println!("listening on {}", fake.api_url());
    let _ = std::io::stdout().flush();
    if let Some(chat) = args.chat {
        interactive(&fake, chat);
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
    if let Ok(rt) = runtime {
        rt.block_on(wait_for_signal());
    }
    fake.shutdown();
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Stdin lines become messages from `chat`; the bot's messages are printed as they arrive.
fn interactive(fake: &FakeTelegram, chat: i64) {
    let user = TgUser::new(chat);
    let printer = fake.clone();
    std::thread::spawn(move || {
        let mut seen: HashMap<i64, u32> = HashMap::new();
        loop {
            for m in printer.sent_to(chat) {
                if seen.insert(m.message_id, m.edits) != Some(m.edits) {
                    print_message(&m);
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let fake = fake.clone();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if let Some(n) = line.strip_prefix("/press ") {
                let latest = fake.sent_to(chat).into_iter().rev().find(|m| !m.buttons.is_empty());
                let target = latest.and_then(|m| {
                    let n: usize = n.trim().parse().ok()?;
                    let data = m.all_buttons().get(n.checked_sub(1)?)?.callback_data.clone()?;
                    Some((m.message_id, data))
                });
                match target {
                    Some((id, data)) => _ = fake.user_presses(&user, id, &data),
                    None => eprintln!("(no callback button {n} on the latest message with buttons)"),
                }
            } else if let Some(text) = line.strip_prefix("/reply ") {
                match fake.last_sent_to(chat) {
                    Some(m) => _ = fake.user_replies(&user, m.message_id, text),
                    None => eprintln!("(no bot message to reply to)"),
                }
            } else {
                fake.user_sends(&user, line);
            }
        }
    });
}

fn print_message(m: &BotMessage) {
    let mut out = String::new();
    if m.edits > 0 {
        out.push_str(&format!("[edited #{}] ", m.message_id));
    }
    if let Some(doc) = &m.document {
        out.push_str(&format!("[document {} ({} bytes)]\n", doc.file_name, doc.size));
    }
    out.push_str(&m.plain_text);
    let labels = m.button_labels();
    if !labels.is_empty() {
        let row: Vec<String> = labels.iter().enumerate().map(|(i, l)| format!("[{}] {l}", i + 1)).collect();
        out.push('\n');
        out.push_str(&row.join("  "));
    }
    println!("{out}\n");
    let _ = std::io::stdout().flush();
}
