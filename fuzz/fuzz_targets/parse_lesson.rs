//! Fuzzes the lesson parser: no input may panic, and every problem must point inside the file.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use nudge::content::parse::{LessonDefaults, parse_lesson};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let defaults = LessonDefaults { file_stem: "01-fuzz", follow_up_days: 3 };
    let (_, problems) = parse_lesson(Path::new("fuzz.md"), &text, defaults);
    let body = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let lines: Vec<&str> = body.split('\n').map(|line| line.strip_suffix('\r').unwrap_or(line)).collect();
    for problem in problems {
        assert!(problem.line >= 1 && problem.line <= lines.len().max(1));
        let width = lines.get(problem.line - 1).map_or(0, |line| line.chars().count());
        assert!(problem.col >= 1 && problem.col <= width + 1);
    }
});
