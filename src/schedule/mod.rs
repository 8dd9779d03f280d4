//! Time: cron schedules and their slots. Pure: nothing here reads the clock, the store or the
//! network; callers pass `now`.

pub mod agenda;
pub mod cron;
pub mod policy;
pub mod track;

#[cfg(test)]
mod props;
