//! A corpus of malformed content (`tests/corpus/<case>/`) with the exact diagnostics expected
//! for each (`expected.txt`, one `path:line:col: severity: message` per line).

use std::path::{Path, PathBuf};

use nudge::authoring::check::load_paths;

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(root).unwrap().map(|entry| entry.unwrap().path()).collect();
    cases.sort();
    cases
}

#[test]
fn every_malformed_case_gets_exactly_the_expected_diagnostics() {
    let cases = cases();
    assert!(cases.len() >= 20, "the corpus is there");
    let mut wrong = Vec::new();
    for case in cases {
        let target = if case.join("pack").is_dir() { case.join("pack") } else { case.join("lesson.md") };
        let loaded = load_paths(std::slice::from_ref(&target));
        let prefix = format!("{}/", case.display());
        let got: Vec<String> = loaded.problems.iter().map(|problem| problem.headline().replace(&prefix, "")).collect();
        let expected = std::fs::read_to_string(case.join("expected.txt")).unwrap();
        let expected: Vec<&str> = expected.lines().collect();
        if got != expected {
            wrong.push(format!("case {}\n  got:      {got:#?}\n  expected: {expected:#?}", case.display()));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
