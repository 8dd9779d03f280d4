//! Reports from the store: the I/O side of [`crate::report`], shared by `nudge report` and the
//! admins' `/report` in Telegram. Streams the records through the report builder, so memory
//! does not grow with the number of answers.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::config::Settings;
use crate::content::Library;
use crate::engine::srs;
use crate::i18n::Lang;
use crate::report::{CohortInfo, PerLearner, Report, ReportBuilder, ReportOptions};
use crate::store::{Storage, StoreError};

/// What an admin asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRequest {
    /// Only this cohort; every configured cohort when `None`.
    pub cohort: Option<String>,
    /// First UTC date of activity to count.
    pub since: Option<NaiveDate>,
    /// Last UTC date of activity to count.
    pub until: Option<NaiveDate>,
    /// First names instead of pseudonyms in per-learner rows.
    pub names: bool,
    /// No per-learner rows whatever `[reports] per_learner` says: what team leads get.
    #[serde(default)]
    pub aggregates_only: bool,
}

/// Output of `nudge report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    /// A readable table.
    Table,
    /// The same figures as JSON.
    Json,
    /// Comma-separated values for a spreadsheet: one row per cohort and week (see `--by`).
    Csv,
    /// One self-contained web page with charts, readable offline.
    Html,
}

/// What one row of `nudge report --format csv` is about.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CsvRows {
    /// One row per cohort and ISO week: the trend.
    #[default]
    Week,
    /// One row per cohort and lesson: where content works and where learners stop.
    Lesson,
    /// One row per cohort and learner (only with `reports.per_learner = true`).
    Learner,
    /// One row per cohort and quiz item: first tries and the answers wrong that learners were
    /// sure of.
    Item,
}

/// `report` as text in `format` (a CSV with rows `by`; a page in `lang`, dated in `tz`).
pub(crate) fn render(report: &Report, format: ReportFormat, by: CsvRows, lang: Lang, tz: Tz) -> String {
    match format {
        ReportFormat::Table => crate::report::table_in(report, lang),
        ReportFormat::Json => crate::report::json(report),
        ReportFormat::Csv => match by {
            CsvRows::Week => crate::report::csv(report, lang),
            CsvRows::Lesson => crate::report::csv_by_lesson(report, lang),
            CsvRows::Learner => crate::report::csv_by_learner(report, lang),
            CsvRows::Item => crate::report::csv_by_item(report, lang),
        },
        ReportFormat::Html => crate::report::html_in(report, lang, tz),
    }
}

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The cohort asked for is not configured.
    #[error("there is no cohort `{cohort}` in {config}; the cohorts are: {known}")]
    UnknownCohort {
        /// What was asked for.
        cohort: String,
        /// The config file.
        config: String,
        /// The configured cohort ids.
        known: String,
    },
    /// `--names` was asked for while the config keeps per-learner rows off.
    #[error("names appear only in per-learner rows, which are off: set `reports.per_learner = true` in {config}")]
    NamesWithoutPerLearner {
        /// The config file.
        config: String,
    },
    /// The period ends before it starts.
    #[error("the period is empty: --since {since} is after --until {until}")]
    EmptyPeriod {
        /// First day asked for.
        since: NaiveDate,
        /// Last day asked for.
        until: NaiveDate,
    },
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The time zone a report's dates are shown in: the requested cohort's; for several cohorts,
/// the one zone they share, else UTC.
pub(crate) fn report_zone(settings: &Settings, cohort: Option<&str>) -> Tz {
    if let Some(cohort) = cohort.and_then(|id| settings.cohort(id)) {
        return cohort.timezone;
    }
    let mut zones = settings.cohorts.iter().map(|cohort| cohort.timezone);
    match zones.next() {
        Some(first) if zones.all(|zone| zone == first) => first,
        _ => chrono_tz::UTC,
    }
}

/// The language of `nudge report` when none is asked for: the requested cohort's, else English.
pub(crate) fn report_language(settings: &Settings, cohort: Option<&str>) -> Lang {
    cohort.and_then(|id| settings.cohort(id)).map_or(Lang::En, |cohort| cohort.language)
}

/// The report `request` asks for, from every record in `store`.
///
/// `report_key` is the pseudonym key (see [`Storage::report_key`]); it is only used when the
/// config turns per-learner rows on.
pub fn report_from_store(
    store: &dyn Storage,
    settings: &Settings,
    library: &Library,
    request: &ReportRequest,
    report_key: impl FnOnce() -> Result<Vec<u8>, StoreError>,
    now: DateTime<Utc>,
) -> Result<Report, ReportError> {
    let mut options = options(settings, library, request, report_key, now)?;
    for info in &mut options.cohorts {
        let Some(cohort) = settings.cohort(&info.id) else { continue };
        let fitted = store.tuning(&cohort.pack)?.and_then(|tuning| tuning.weights);
        info.weights = fitted.as_deref().and_then(srs::Parameters::new).unwrap_or_default();
    }
    let mut builder = ReportBuilder::new(options);
    for learner in store.learners() {
        builder.learner(&learner?);
    }
    // One pass: each delivery comes before the answers to it, as the builder needs.
    for exchange in store.exchanges() {
        let exchange = exchange?;
        if let Some(delivery) = &exchange.delivery {
            builder.delivery(delivery);
        }
        for answer in &exchange.answers {
            builder.answer(answer);
        }
    }
    Ok(builder.finish())
}

/// The builder's options: the cohorts asked for with their packs, the period and, when the
/// config allows it, per-learner rows.
fn options(
    settings: &Settings,
    library: &Library,
    request: &ReportRequest,
    report_key: impl FnOnce() -> Result<Vec<u8>, StoreError>,
    now: DateTime<Utc>,
) -> Result<ReportOptions, ReportError> {
    let config = settings.source.display().to_string();
    if let (Some(since), Some(until)) = (request.since, request.until)
        && since > until
    {
        return Err(ReportError::EmptyPeriod { since, until });
    }
    let cohorts: Vec<CohortInfo> = settings
        .cohorts
        .iter()
        .filter(|cohort| request.cohort.as_ref().is_none_or(|wanted| *wanted == cohort.id))
        .map(|cohort| CohortInfo {
            id: cohort.id.clone(),
            pack: library.pack(&cohort.pack).cloned(),
            target_retention: cohort.policy.target_retention,
            weights: srs::Parameters::default(),
        })
        .collect();
    if let Some(wanted) = &request.cohort
        && cohorts.is_empty()
    {
        let known = settings.cohorts.iter().map(|cohort| cohort.id.as_str()).collect::<Vec<_>>().join(", ");
        return Err(ReportError::UnknownCohort { cohort: wanted.clone(), config, known });
    }
    if request.names && !settings.reports.per_learner {
        return Err(ReportError::NamesWithoutPerLearner { config });
    }
    let per_learner = match settings.reports.per_learner && !request.aggregates_only {
        true => Some(PerLearner { key: report_key()?, names: request.names }),
        false => None,
    };
    let mut options = ReportOptions::new(cohorts, now);
    options.since = request.since;
    options.until = request.until;
    options.per_learner = per_learner;
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit;

    #[test]
    fn an_unknown_cohort_names_the_known_ones() {
        let settings = testkit::settings();
        let request = ReportRequest { cohort: Some("nope".into()), ..ReportRequest::default() };
        let error = options(&settings, &Library::default(), &request, || Ok(vec![1]), Utc::now()).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("`nope`") && message.contains(&settings.cohorts[0].id), "{message}");
    }

    #[test]
    fn names_need_per_learner_rows() {
        let settings = testkit::settings();
        assert!(!settings.reports.per_learner);
        let request = ReportRequest { names: true, ..ReportRequest::default() };
        let error = options(&settings, &Library::default(), &request, || Ok(vec![1]), Utc::now()).unwrap_err();
        assert!(matches!(error, ReportError::NamesWithoutPerLearner { .. }));
    }

    #[test]
    fn per_learner_rows_use_the_stores_key_only_when_configured() {
        let mut settings = testkit::settings();
        let request = ReportRequest::default();
        let off = options(&settings, &Library::default(), &request, || panic!("no key needed"), Utc::now()).unwrap();
        assert!(off.per_learner.is_none());
        settings.reports.per_learner = true;
        let on = options(&settings, &Library::default(), &request, || Ok(vec![7; 32]), Utc::now()).unwrap();
        let per_learner = on.per_learner.expect("rows asked for");
        assert_eq!((per_learner.key, per_learner.names), (vec![7; 32], false));
    }

    #[test]
    fn a_leads_report_has_no_per_learner_rows_whatever_the_config_says() {
        let mut settings = testkit::settings();
        settings.reports.per_learner = true;
        let request = ReportRequest { aggregates_only: true, ..ReportRequest::default() };
        let options = options(&settings, &Library::default(), &request, || panic!("no key needed"), Utc::now());
        assert!(options.unwrap().per_learner.is_none());
    }

    #[test]
    fn a_backwards_period_is_refused() {
        let settings = testkit::settings();
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).expect("valid date");
        let request = ReportRequest { since: Some(day(20)), until: Some(day(10)), ..ReportRequest::default() };
        let error = options(&settings, &Library::default(), &request, || Ok(vec![1]), Utc::now()).unwrap_err();
        assert!(matches!(error, ReportError::EmptyPeriod { .. }));
    }
}
