//! Property tests of the lesson parser: no input makes it panic, and every problem it reports
//! points inside the file (a line that exists, a column on that line).

use std::path::Path;

use proptest::prelude::*;

use super::parse::{LessonDefaults, parse_lesson};

const DEFAULTS: LessonDefaults<'static> = LessonDefaults { file_stem: "01-lesson", follow_up_days: 3 };

/// Lines that look like the format, broken in the usual ways, plus arbitrary text.
fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("+++".to_owned()),
        Just("title = \"A title\"".to_owned()),
        Just("id = \"what-for\"".to_owned()),
        Just("id = not quoted".to_owned()),
        Just("title =".to_owned()),
        Just("## Quiz".to_owned()),
        Just("## Quiz {#q-1}".to_owned()),
        Just("## Reflect".to_owned()),
        Just("## Practice {days=5}".to_owned()),
        Just("## Practice {days=x".to_owned()),
        Just("## Practice {#Bad Id days=999 what}".to_owned()),
        Just("## Anything else".to_owned()),
        Just("##".to_owned()),
        Just("- [ ] an option".to_owned()),
        Just("- [x] the right one".to_owned()),
        Just("* [X] ".to_owned()),
        Just("- a plain item".to_owned()),
        Just("> an explanation".to_owned()),
        Just(">".to_owned()),
        Just("1. a question?".to_owned()),
        Just("   continued".to_owned()),
        Just(String::new()),
        Just("```".to_owned()),
        Just("**bold** _it_ [link](https://example.org) `code` <b> & &amp;".to_owned()),
        "[- *>#{}=\\[\\]x0-9 ]{0,12}",
        "\\PC{0,40}",
        any::<String>(),
    ]
}

fn lesson_text() -> impl Strategy<Value = String> {
    (prop::collection::vec(line(), 0..40), prop::bool::ANY, prop::bool::ANY).prop_map(|(lines, crlf, trailing)| {
        let separator = if crlf { "\r\n" } else { "\n" };
        let mut text = lines.join(separator);
        if trailing {
            text.push_str(separator);
        }
        text
    })
}

fn assert_positions_inside(text: &str) {
    let (_, problems) = parse_lesson(Path::new("p.md"), text, DEFAULTS);
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = body.split('\n').map(|line| line.strip_suffix('\r').unwrap_or(line)).collect();
    for problem in &problems {
        assert!(
            problem.line >= 1 && problem.line <= lines.len().max(1),
            "line {} of {}: {problem:?}",
            problem.line,
            lines.len()
        );
        let width = lines.get(problem.line - 1).map_or(0, |line| line.chars().count());
        assert!(problem.col >= 1 && problem.col <= width + 1, "col {} on a line of {width}: {problem:?}", problem.col);
        assert!(!problem.message.is_empty());
    }
}

#[test]
fn a_problem_at_the_end_of_a_crlf_line_points_after_its_last_character() {
    // Found by `format_like_input_never_panics_and_problems_point_inside`: the column of an
    // unterminated string at the end of a CRLF line counted the `\r`.
    assert_positions_inside("+++\r\n\"\r\n+++");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn format_like_input_never_panics_and_problems_point_inside(text in lesson_text()) {
        assert_positions_inside(&text);
    }

    #[test]
    fn any_text_never_panics(text in any::<String>()) {
        assert_positions_inside(&text);
    }

    #[test]
    fn a_front_matter_with_anything_after_never_panics(rest in lesson_text()) {
        assert_positions_inside(&format!("+++\ntitle = \"T\"\n+++\n{rest}"));
    }
}
