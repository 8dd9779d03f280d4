//! The HTML report in a real browser: headless Chromium parses the page (the DOM holds the
//! charts and cohort names) and renders it to a PNG of plausible size.
//!
//! The browser part needs `/usr/bin/chromium` (`apt-get install chromium`). Without it a plain
//! `cargo test` skips that part with a message; `.ci/run` sets `NUDGE_REQUIRE_BROWSER=1`, which
//! makes a missing browser a failure. `NUDGE_NO_BROWSER=1` skips it anyway. `NUDGE_KEEP_SCREENSHOT=<path>` copies the screenshot there for a human to look at.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use nudge::domain::{
    Answer, AnswerKind, Delivery, DeliverySeq, DeliveryState, ItemId, Learner, LearnerId, Progress, Purpose, Status,
};
use nudge::i18n::Lang;
use nudge::report::synthetic::{Workload, pack};
use nudge::report::{CohortInfo, Guarded, PerLearner, Report, build, html};

const CHROMIUM: &str = "/usr/bin/chromium";
/// Longest a browser run may take before the test gives up on it.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);

#[test]
fn html_report_parses_and_renders_in_a_headless_browser() {
    let report = realistic_report();
    let page = html(&report);
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("<html lang=\"en\">"));
    assert_eq!(external_references(&page), Vec::<String>::new(), "the page must be self-contained");
    assert!(!page.contains("<script"), "no scripts");
    assert!(page.contains("&lt;script&gt;alert(&#39;hi&#39;)&lt;/script&gt;"), "learner text is escaped");
    if std::env::var_os("NUDGE_NO_BROWSER").is_some() {
        return;
    }
    if !Path::new(CHROMIUM).exists() {
        assert!(
            std::env::var_os("NUDGE_REQUIRE_BROWSER").is_none(),
            "{CHROMIUM} is missing and NUDGE_REQUIRE_BROWSER is set: run `apt-get install chromium`"
        );
        eprintln!("skipped the headless-browser check: {CHROMIUM} is missing (`apt-get install chromium`)");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("report.html");
    std::fs::write(&file, &page).expect("write the page");
    let url = format!("file://{}", file.display());

    let dom = chromium(dir.path(), &["--dump-dom", &url]);
    assert!(dom.matches("<svg").count() >= 9, "three charts per shown cohort:\n{}", &dom[..dom.len().min(2000)]);
    for cohort in ["sales-north", "support-emea", "product", "pilot"] {
        assert!(dom.contains(cohort), "cohort {cohort} in the DOM");
    }
    assert!(dom.contains("fewer than 5 learners: figures hidden to protect privacy"));
    assert!(!dom.contains("<script"), "escaped learner text did not become an element");

    let png = dir.path().join("report.png");
    chromium(dir.path(), &[&format!("--screenshot={}", png.display()), "--window-size=1280,2400", &url]);
    let bytes = std::fs::read(&png).expect("chromium wrote a screenshot");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    assert!(bytes.len() > 30_000, "a rendered page, not a blank one: {} bytes", bytes.len());
    assert_eq!(png_size(&bytes), Some((1280, 2400)));
    if let Some(keep) = std::env::var_os("NUDGE_KEEP_SCREENSHOT") {
        std::fs::copy(&png, keep).expect("copy the screenshot");
    }
}

/// What the probe script measured in the browser.
#[derive(Debug, serde::Deserialize)]
struct Fit {
    /// The layout viewport's width in CSS px: the window size asked for.
    width: f64,
    /// The page's scroll width: more than `width` means the page scrolls sideways.
    scroll: f64,
    /// Elements reaching past the right edge outside a box that scrolls on its own.
    over: Vec<String>,
    /// The smallest chart text as it appears on screen, in CSS px.
    min_chart_font: f64,
}

/// Phone and desktop widths at which the page must not scroll sideways and chart text must stay
/// readable, in English data and in Dutch and Danish names and texts (long compound words).
#[test]
fn html_report_fits_a_phone_and_a_desktop_without_scrolling_sideways() {
    if std::env::var_os("NUDGE_NO_BROWSER").is_some() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let mut problems = Vec::new();
    for (lang, report) in [("en", realistic_report()), ("nl", localised(Lang::Nl)), ("da", localised(Lang::Da))] {
        let page = html(&report);
        for width in [390, 1200] {
            let fit = measure(dir.path(), &page, &format!("{lang}-{width}"), width);
            assert_eq!(fit.width, f64::from(width), "{lang}: the page got the width asked for");
            if fit.scroll > fit.width || !fit.over.is_empty() {
                problems
                    .push(format!("{lang} at {width} px scrolls sideways ({} px wide): {:?}", fit.scroll, fit.over));
            }
            if fit.min_chart_font < 11.0 {
                problems.push(format!("{lang} at {width} px: chart text of {:.1} px", fit.min_chart_font));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// Loads `page` into a frame `width` px wide (headless Chromium's window is at least 500 px
/// wide, a frame is as narrow as asked: a phone's viewport with `width=device-width`), measures
/// it with a probe script in the test's wrapper page (the product page has none) and returns
/// what it found; with `NUDGE_KEEP_SCREENSHOTS=<dir>` also leaves `report-<name>.png` there.
fn measure(dir: &Path, page: &str, name: &str, width: u32) -> Fit {
    let srcdoc = page.replace('&', "&amp;").replace('"', "&quot;");
    let wrapper = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>body{{margin:0}}iframe{{border:0;display:block;width:{width}px;height:3000px}}</style></head><body><iframe id=\"page\" srcdoc=\"{srcdoc}\"></iframe><script>{PROBE}</script></body></html>"
    );
    let file = dir.join(format!("probe-{name}.html"));
    std::fs::write(&file, wrapper).expect("write the wrapper page");
    let url = format!("file://{}", file.display());
    let window = format!("--window-size={},3000", width.max(500));
    if let Some(keep) = std::env::var_os("NUDGE_KEEP_SCREENSHOTS") {
        let shot = format!("--screenshot={}", Path::new(&keep).join(format!("report-{name}.png")).display());
        chromium(dir, &["--hide-scrollbars", &shot, &window, &url]);
    }
    let dom = chromium(dir, &["--hide-scrollbars", "--virtual-time-budget=5000", &window, "--dump-dom", &url]);
    let json = dom
        .split_once("id=\"probe\"")
        .and_then(|(_, rest)| rest.split_once('>'))
        .and_then(|(_, rest)| rest.split_once("</pre>"))
        .map(|(json, _)| json);
    let json = json.unwrap_or_else(|| panic!("the probe wrote nothing:\n{}", &dom[dom.len().saturating_sub(2000)..]));
    serde_json::from_str(&json.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
        .expect("the probe's JSON")
}

/// Once the framed page has loaded, measures it and writes the result into a `<pre id="probe">`.
const PROBE: &str = r#"
const frame = document.getElementById('page');
const probe = () => {
  const doc = frame.contentDocument, win = frame.contentWindow;
  const width = doc.documentElement.clientWidth;
  const scrolls = (el) => { for (let e = el.parentElement; e; e = e.parentElement) { const x = win.getComputedStyle(e).overflowX; if (x === 'auto' || x === 'scroll' || x === 'hidden') return true; } return false; };
  const over = [...doc.body.querySelectorAll('*')]
    .filter((el) => el.getBoundingClientRect().right > width + 0.5 && !scrolls(el))
    .slice(0, 8)
    .map((el) => `${el.tagName.toLowerCase()}.${el.getAttribute('class') || ''}: ${Math.round(el.getBoundingClientRect().right)} px, ${(el.textContent || '').trim().slice(0, 40)}`);
  let min = 1000;
  for (const text of doc.querySelectorAll('svg text')) {
    const svg = text.ownerSVGElement;
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    min = Math.min(min, parseFloat(win.getComputedStyle(text).fontSize) * scale);
  }
  const result = { width, scroll: doc.documentElement.scrollWidth, over, min_chart_font: min };
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify(result);
  document.body.append(pre);
};
if (frame.contentDocument && frame.contentDocument.readyState === 'complete' && frame.contentDocument.body.childElementCount) probe();
else frame.addEventListener('load', probe);
"#;

/// The realistic report with Dutch or Danish cohort names, pack and lesson titles, questions and
/// shared texts: longer words than English, which is where layouts break.
fn localised(lang: Lang) -> Report {
    let (cohorts, pack, lesson, question, answer): ([&str; 4], &str, &str, &str, &str) = match lang {
        Lang::Da => (
            ["kundeservice-nordjylland", "salgsafdelingen-københavn", "produktudvikling", "pilotgruppe"],
            "Kundeorienteret rådgivning i praksis",
            "Forventningsafstemning med kunden",
            "Hvilket skridt kommer først, når en utilfreds kunde ringer om en fejlagtig faktura?",
            "Jeg spurgte først ind til kundens situation, og samtalen blev straks roligere.",
        ),
        _ => (
            ["klantenservice-noord-nederland", "verkoopbinnendienst-zuid", "productontwikkeling", "pilotgroep"],
            "Klantgerichtheid in de praktijk",
            "Verwachtingsmanagement bij klantgesprekken",
            "Welke stap komt eerst wanneer een ontevreden klant belt over een onjuiste factuur?",
            "Ik vroeg eerst naar de situatie van de klant en het gesprek werd meteen rustiger.",
        ),
    };
    let mut report = realistic_report();
    for (cohort, name) in report.cohorts.iter_mut().zip(cohorts) {
        cohort.cohort = name.to_owned();
        cohort.pack_title = Some(pack.to_owned());
        let Guarded::Shown(figures) = &mut cohort.figures else { continue };
        for (idx, row) in figures.lessons.iter_mut().enumerate() {
            row.title = format!("{lesson} {}", idx + 1);
        }
        for item in &mut figures.hardest_items {
            item.question = question.to_owned();
            item.common_wrong_answer = Some(answer.to_owned());
        }
        for shared in &mut figures.shared_reflections {
            shared.question = question.to_owned();
            shared.lesson = lesson.to_owned();
            shared.answers = vec![answer.to_owned()];
        }
    }
    report
}

/// Three cohorts of 8 learners over several weeks, plus a pilot of 3 whose figures stay hidden.
fn realistic_report() -> Report {
    let workload = Workload::new(24, 24 * 110);
    let mut options = workload.options();
    options.cohorts.push(CohortInfo {
        id: "pilot".to_owned(),
        pack: Some(Arc::new(pack())),
        target_retention: 0.9,
        weights: Default::default(),
    });
    options.per_learner = Some(PerLearner { key: b"test key".to_vec(), names: false });
    let pilot: Vec<Learner> = (1..=3).map(pilot_learner).collect();
    let shared_note = shared_reflection(workload.learners().next().expect("a learner"));
    let learners = workload.learners().chain(pilot);
    let deliveries = workload.deliveries().chain([shared_note.0]);
    let answers = workload.answers().chain([shared_note.1]);
    build(options, learners, deliveries, answers)
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).single().expect("a time")
}

fn pilot_learner(id: i64) -> Learner {
    Learner {
        id: LearnerId::new(id),
        cohort: "pilot".to_owned(),
        name: format!("Pilot {id}"),
        lang: Lang::En,
        status: Status::Active,
        enrolled_at: start(),
        progress: Progress::default(),
        prefs: Default::default(),
        next_nudge: None,
        pending_move: None,
        notice_version: nudge::domain::PRIVACY_NOTICE,
        team: Default::default(),
    }
}

/// A shared reflection with markup in it, which must come out as text.
fn shared_reflection(learner: Learner) -> (Delivery, Answer) {
    let item = ItemId::parse("l01/reflect").unwrap();
    let seq = DeliverySeq::new(u64::MAX - 1);
    let delivery = Delivery {
        seq,
        learner: learner.id,
        cohort: learner.cohort.clone(),
        created: start(),
        slot: None,
        purpose: Purpose::Reflect { item: item.clone(), question: 0 },
        state: DeliveryState::Sent { message_id: 1, at: start() },
        outgoing: None,
    };
    let text = "Asking first <script>alert('hi')</script> & listening worked".to_owned();
    let answer = Answer {
        learner: learner.id,
        cohort: learner.cohort,
        delivery: seq,
        item,
        at: start() + chrono::Duration::minutes(5),
        prompt_sent_at: Some(start()),
        kind: AnswerKind::Reflect { question: 0, text, shared: true },
    };
    (delivery, answer)
}

/// `src=` and `href=` values with a scheme or a network path (`//host`).
fn external_references(page: &str) -> Vec<String> {
    ["src=", "href="]
        .iter()
        .flat_map(|attribute| page.match_indices(attribute).map(move |(at, _)| &page[at + attribute.len()..]))
        .map(|rest| rest.trim_start_matches(['"', '\'']).chars().take(40).collect::<String>())
        .filter(|value| {
            let lower = value.to_ascii_lowercase();
            lower.starts_with("//")
                || lower.split_once(':').is_some_and(|(scheme, _)| scheme.chars().all(char::is_alphanumeric))
        })
        .collect()
}

/// Runs headless Chromium with a fresh profile in `dir`; returns its stdout.
fn chromium(dir: &Path, arguments: &[&str]) -> String {
    let profile = tempfile::tempdir_in(dir).expect("profile dir");
    let mut child = Command::new(CHROMIUM)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"])
        .args(["--disable-background-networking", "--disable-component-update", "--disable-sync"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(arguments)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut text).map(|_| text)
    });
    let deadline = Instant::now() + BROWSER_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll chromium") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium took longer than {BROWSER_TIMEOUT:?} with {arguments:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "chromium failed ({status}) with {arguments:?}");
    reader.join().expect("reader thread").expect("chromium output is UTF-8")
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let width = u32::from_be_bytes(bytes.get(16..20)?.try_into().ok()?);
    let height = u32::from_be_bytes(bytes.get(20..24)?.try_into().ok()?);
    Some((width, height))
}
