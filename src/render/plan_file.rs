//! The saved plan file, which is exactly the JSON output: its fields and order, and reading it
//! back for `apply PLANFILE`. A file of another `format_version` is refused before anything
//! else is read from it, so `apply` never acts on fields it might misread.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Header, FORMAT_VERSION};
use crate::manifest::model::Target;
use crate::plan::{
    Action, AimPatterns, DuplicateRuns, KeptEval, Plan, Refusal, RunsRecord, Summary,
};

/// The JSON plan, in the order tools see its keys. Borrowed when written, owned when read.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct PlanFile<'a> {
    pub format_version: u32,
    pub target: Target,
    pub endpoint: Cow<'a, str>,
    pub project: Cow<'a, str>,
    pub fingerprint: Cow<'a, str>,
    pub summary: Summary,
    pub actions: Cow<'a, [Action]>,
    pub kept: Cow<'a, [KeptEval]>,
    #[serde(default)]
    pub duplicate_runs: Cow<'a, [DuplicateRuns]>,
    #[serde(default, skip_serializing_if = "AimPatterns::is_everything")]
    pub aim: Cow<'a, AimPatterns>,
    #[serde(default, skip_serializing_if = "<[Refusal]>::is_empty")]
    pub refusals: Cow<'a, [Refusal]>,
    #[serde(default, skip_serializing_if = "<[RunsRecord]>::is_empty")]
    pub records: Cow<'a, [RunsRecord]>,
    #[serde(default, skip_serializing_if = "<[String]>::is_empty")]
    pub listed_runs_of: Cow<'a, [String]>,
}

impl<'a> PlanFile<'a> {
    pub(crate) fn new(plan: &'a Plan, header: &'a Header) -> PlanFile<'a> {
        PlanFile {
            format_version: FORMAT_VERSION,
            target: header.target,
            endpoint: Cow::Borrowed(&header.endpoint),
            project: Cow::Borrowed(&plan.project),
            fingerprint: Cow::Borrowed(&plan.fingerprint),
            summary: plan.summary(),
            actions: Cow::Borrowed(&plan.actions),
            kept: Cow::Borrowed(&plan.kept),
            duplicate_runs: Cow::Borrowed(&plan.duplicate_runs),
            aim: Cow::Borrowed(&plan.aim),
            refusals: Cow::Borrowed(&plan.refusals),
            records: Cow::Borrowed(&plan.records),
            listed_runs_of: Cow::Borrowed(&plan.listed_runs_of),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    #[error("the plan file is not valid JSON")]
    NotJson(#[source] serde_json::Error),
    #[error("this is not an evalctl plan file: it has no `format_version` (save a plan with `evalctl plan --out FILE`)")]
    NoFormatVersion,
    #[error("the plan file has format_version {found}, but this evalctl reads only format_version {supported}: plan again with this evalctl (`evalctl plan --out FILE`)")]
    UnsupportedVersion { found: String, supported: u32 },
    #[error("the plan file does not match format_version {FORMAT_VERSION}")]
    Invalid(#[source] serde_json::Error),
    #[error("the plan file's summary does not match its actions: the file was edited after `evalctl plan`; plan again")]
    SummaryMismatch,
}

/// Reads a saved plan (the JSON output) back: the header it was computed against and the plan.
pub fn read_plan_file(text: &str) -> Result<(Header, Plan), PlanFileError> {
    let value: Value = serde_json::from_str(text).map_err(PlanFileError::NotJson)?;
    match value.get("format_version") {
        None => return Err(PlanFileError::NoFormatVersion),
        Some(v) if v.as_u64() == Some(u64::from(FORMAT_VERSION)) => {}
        Some(v) => {
            return Err(PlanFileError::UnsupportedVersion {
                found: v.to_string(),
                supported: FORMAT_VERSION,
            })
        }
    }
    let file = PlanFile::deserialize(value).map_err(PlanFileError::Invalid)?;
    let header = Header {
        target: file.target,
        endpoint: file.endpoint.into_owned(),
        credential: None,
    };
    let plan = Plan {
        project: file.project.into_owned(),
        actions: file.actions.into_owned(),
        kept: file.kept.into_owned(),
        duplicate_runs: file.duplicate_runs.into_owned(),
        aim: file.aim.into_owned(),
        refusals: file.refusals.into_owned(),
        records: file.records.into_owned(),
        listed_runs_of: file.listed_runs_of.into_owned(),
        fingerprint: file.fingerprint.into_owned(),
    };
    // The summary is derived; a mismatch means hands were on the file.
    if plan.summary() != file.summary {
        return Err(PlanFileError::SummaryMismatch);
    }
    Ok((header, plan))
}
