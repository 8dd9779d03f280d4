//! This week's stand-up question: the `## Team` section of the furthest lesson that at least
//! half of the active learners have reached and that the leads were not offered before. Half,
//! so the question meets a team that has mostly read the lesson; not offered before, so a
//! team that stalls gets no repeats.

use crate::content::{Lesson, Pack};
use crate::domain::{Learner, Status};

/// The lesson whose team question the leads get this week, if any is ready.
///
/// `learners`: the cohort's roster; only active ones (not paused, not gone) count. `offered`:
/// ids of the lessons whose question was offered before.
pub fn choose<'a>(pack: &'a Pack, learners: &[&Learner], offered: &[String]) -> Option<&'a Lesson> {
    let active: Vec<&&Learner> = learners.iter().filter(|learner| learner.status == Status::Active).collect();
    if active.is_empty() {
        return None;
    }
    let reached =
        |lesson: &Lesson| active.iter().filter(|learner| learner.progress.lessons_started.contains(&lesson.id)).count();
    pack.lessons
        .iter()
        .rev()
        .filter(|lesson| lesson.team.is_some() && !offered.contains(&lesson.id))
        .find(|lesson| 2 * reached(lesson) >= active.len())
        .map(|lesson| lesson.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{learner, pack};

    const WITH_TEAM: [&str; 3] = [
        "+++\nid = \"a\"\ntitle = \"A\"\n+++\nA.\n## Team\nQuestion A?\n",
        "+++\nid = \"b\"\ntitle = \"B\"\n+++\nB.\n",
        "+++\nid = \"c\"\ntitle = \"C\"\n+++\nC.\n## Team\nQuestion C?\n",
    ];

    fn reached(id: i64, lessons: &[&str]) -> Learner {
        let mut learner = learner(crate::testkit::id(id));
        learner.progress.lessons_started = lessons.iter().map(|id| (*id).to_owned()).collect();
        learner
    }

    fn chosen(learners: &[Learner], offered: &[&str]) -> Option<String> {
        let pack = pack(&WITH_TEAM);
        let roster: Vec<&Learner> = learners.iter().collect();
        let offered: Vec<String> = offered.iter().map(|id| (*id).to_owned()).collect();
        choose(&pack, &roster, &offered).map(|lesson| lesson.id.clone())
    }

    #[test]
    fn the_furthest_lesson_half_the_team_reached_wins() {
        let team = [reached(1, &["a", "b", "c"]), reached(2, &["a", "b", "c"]), reached(3, &["a"]), reached(4, &["a"])];
        assert_eq!(chosen(&team, &[]), Some("c".to_owned()), "two of four reached c");
        let team = [reached(1, &["a", "b", "c"]), reached(2, &["a"]), reached(3, &["a"])];
        assert_eq!(chosen(&team, &[]), Some("a".to_owned()), "one of three is not half");
    }

    #[test]
    fn a_question_offered_before_is_not_offered_again() {
        let team = [reached(1, &["a", "b", "c"]), reached(2, &["a", "b", "c"])];
        assert_eq!(chosen(&team, &["c"]), Some("a".to_owned()));
        assert_eq!(chosen(&team, &["c", "a"]), None);
    }

    #[test]
    fn paused_learners_do_not_count_and_nobody_active_means_no_question() {
        let mut paused = reached(2, &["a"]);
        paused.status = Status::Paused { until: None };
        let team = [reached(1, &["a", "b", "c"]), paused.clone()];
        assert_eq!(chosen(&team, &[]), Some("c".to_owned()), "the one active learner reached c");
        assert_eq!(chosen(&[paused], &[]), None);
        assert_eq!(chosen(&[reached(1, &[])], &[]), None, "no lesson reached yet");
    }
}
