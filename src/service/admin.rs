//! Admin commands in the chat: `/report [cohort]` sends configured admins a short summary and
//! the HTML report as a file; anyone else is refused. Building the report reads the whole store,
//! so the service only decides here; the Telegram edge builds and sends it off the update loop.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::{Handled, Service};
use crate::chat::Person;
use crate::domain::{LearnerId, Outgoing};
use crate::i18n::{Lang, fill, tr};
use crate::render;
use crate::report::from_store::{ReportError, ReportRequest, report_from_store, report_zone};
use crate::report::{CohortReport, Guarded, Report, format, html_in};
use crate::store::StoreError;

/// An admin's request for a report, to build off the update loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AdminReport {
    /// The admin's Telegram id.
    pub admin: LearnerId,
    /// The language of the admin's texts and of the report: their learner language if they
    /// are enrolled, else their Telegram app's, else English.
    pub lang: Lang,
    /// What was asked for.
    pub request: ReportRequest,
}

impl Service {
    /// `/report [cohort]`: a request to build for admins, a refusal for anyone else.
    pub(super) fn report_command(
        &self,
        from: &Person,
        cohort: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Handled, StoreError> {
        if !self.is_admin(from.id) {
            return self.reply_only(from, now, |lang, _| tr(lang, "admin.refused").to_owned());
        }
        let lang = self.store.learner(from.id)?.map_or(from.language.unwrap_or(Lang::En), |learner| learner.lang);
        let request = ReportRequest { cohort, ..ReportRequest::default() };
        Ok(Handled { admin_report: Some(AdminReport { admin: from.id, lang, request }), ..Handled::default() })
    }

    /// Whether `id` is one of the configured admins.
    pub(crate) fn is_admin(&self, id: LearnerId) -> bool {
        self.settings.telegram.admins.contains(&id)
    }

    /// Builds the report an admin asked for: a summary message and the HTML report as a file,
    /// or one message saying why there is none. Reads the whole store: call it off the update
    /// loop. Nothing is recorded: the report is made fresh each time and not kept.
    pub(crate) fn admin_report(&self, asked: &AdminReport, now: DateTime<Utc>) -> Vec<Outgoing> {
        let library = self.library();
        let report =
            report_from_store(&*self.store, &self.settings, &library, &asked.request, || self.store.report_key(), now);
        let tz = report_zone(&self.settings, asked.request.cohort.as_deref());
        let date = now.with_timezone(&tz).format("%Y-%m-%d").to_string();
        match report {
            Ok(report) => {
                let summary = Outgoing::Send { message: render::text(summary(asked.lang, tz, &report)) };
                let mut messages = render::fit_outgoing(asked.lang, summary);
                messages.push(Outgoing::Document {
                    file_name: format!("nudge-report-{date}.html"),
                    caption: fill(asked.lang, "admin.report_caption", &[("date", &date)]),
                    content: html_in(&report, asked.lang, tz),
                });
                messages
            }
            Err(error) => {
                tracing::warn!(error = %error, "an admin's report could not be made");
                vec![Outgoing::Send { message: render::text(failure(asked.lang, &error)) }]
            }
        }
    }
}

/// Why there is no report, in the admin's language. The error's own text is for the server's
/// log: it names the config file and the store, and no server path goes into a chat.
fn failure(lang: Lang, error: &ReportError) -> String {
    match error {
        ReportError::UnknownCohort { cohort, known, .. } => {
            fill(lang, "admin.report_unknown_cohort", &[("cohort", cohort), ("known", known)])
        }
        _ => tr(lang, "admin.report_failed").to_owned(),
    }
}

/// A few lines an admin can read in the chat: per cohort, who is active, how much is answered
/// and how well quizzes go. Hidden cohorts stay hidden here too. Dated in zone `tz`.
fn summary(lang: Lang, tz: Tz, report: &Report) -> String {
    let date = report.generated_at.with_timezone(&tz).format("%Y-%m-%d").to_string();
    let mut lines = vec![fill(lang, "admin.report_heading", &[("date", &date)])];
    lines.extend(report.cohorts.iter().map(|cohort| cohort_line(lang, report.min_group, cohort)));
    if report.cohorts.is_empty() {
        lines.push(tr(lang, "admin.report_no_cohorts").to_owned());
    }
    lines.join("\n\n")
}

fn cohort_line(lang: Lang, min_group: usize, cohort: &CohortReport) -> String {
    let Guarded::Shown(figures) = &cohort.figures else {
        return fill(lang, "admin.report_hidden", &[("cohort", &cohort.cohort), ("min", &min_group.to_string())]);
    };
    let totals = &figures.totals;
    if totals.learners_enrolled == 0 {
        return fill(lang, "admin.report_empty", &[("cohort", &cohort.cohort)]);
    }
    fill(
        lang,
        "admin.report_cohort",
        &[
            ("cohort", &cohort.cohort),
            ("active", &totals.learners_active.to_string()),
            ("enrolled", &totals.learners_enrolled.to_string()),
            ("response", &format::percent(&totals.response_rate)),
            ("first", &format::percent(&totals.quiz_first_try)),
            ("review", &format::percent(&totals.quiz_retention)),
        ],
    )
}
