//! `validate`: check the files a task changed against its constitution rules, record
//! the result on the task and in the event log, and exit 0 when the work complies or
//! [`BLOCKED`] when violations block the checkpoint.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::cli::ValidateArgs;
use crate::error::{Error, Result};
use crate::registry::{Event, Store, Validation, now_rfc3339};
use crate::rules::{self, FileSet, Selection, Violation, files::Source};

/// The exit status when violations block the checkpoint.
pub const BLOCKED: u8 = 3;

/// Everything one run found, for printing.
struct Outcome<'a> {
    id: &'a str,
    selection: Selection,
    /// None when no known rule is checked, so no file needs reading.
    file_set: Option<FileSet>,
    violations: Vec<Violation>,
    validation: Validation,
}

pub fn run(store: &Store, args: &ValidateArgs) -> Result<u8> {
    let registry = store.load()?;
    let task = super::find_task(store, &registry, &args.id)?;
    let selection = rules::select(&task.constitution_rules);
    let file_set = if selection.checked.is_empty() {
        None
    } else {
        Some(rules::files::choose(
            &args.id,
            task,
            &args.files,
            store.directory(),
        )?)
    };
    let violations = match &file_set {
        Some(file_set) => rules::check(&selection.checked, file_set),
        None => Vec::new(),
    };

    let validation = Validation {
        time: now_rfc3339(),
        passed: violations.is_empty(),
        violations: violations.len(),
        rules_checked: selection
            .checked
            .iter()
            .map(|rule| rule.name().to_string())
            .collect(),
    };
    record(store, &args.id, &validation)?;

    let outcome = Outcome {
        id: &args.id,
        selection,
        file_set,
        violations,
        validation,
    };
    if args.json {
        super::print_json(&json_view(&outcome))?;
    } else {
        super::write_stdout(&human_view(&outcome))?;
    }
    Ok(if outcome.validation.passed {
        0
    } else {
        BLOCKED
    })
}

/// Stores `validation` on task `id` and appends a `validated` event.
fn record(store: &Store, id: &str, validation: &Validation) -> Result<()> {
    store.update(|registry, events| {
        let Some(task) = registry.task_mut(id) else {
            return Err(Error::TaskNotFound {
                id: id.to_string(),
                registry: store.path().to_path_buf(),
            });
        };
        task.validation = Some(validation.clone());
        events.push(
            Event::new(id, "validated")
                .with("passed", validation.passed)
                .with("violations", validation.violations)
                .with("rules_checked", validation.rules_checked.clone()),
        );
        Ok(())
    })
}

fn human_view(outcome: &Outcome) -> String {
    let mut out = String::new();
    for violation in &outcome.violations {
        let _ = writeln!(
            out,
            "{}:{}: {}: {}",
            violation.path,
            violation.line,
            violation.rule.name(),
            violation.message
        );
    }
    if !outcome.violations.is_empty() {
        out.push('\n');
    }

    let verdict = if outcome.validation.passed {
        "passed; the checkpoint may proceed".to_string()
    } else if outcome.violations.len() == 1 {
        "1 violation blocks the checkpoint".to_string()
    } else {
        format!(
            "{} violations block the checkpoint",
            outcome.violations.len()
        )
    };
    let _ = writeln!(out, "Task {}: {verdict}", outcome.id);
    let files = match &outcome.file_set {
        Some(file_set) => format!("{} checked, {}", file_set.files.len(), file_set.describe()),
        None => "none read, because no known rule is checked".to_string(),
    };
    let _ = writeln!(out, "  Files:             {files}");
    let checked = if outcome.validation.rules_checked.is_empty() {
        "none".to_string()
    } else {
        outcome.validation.rules_checked.join(", ")
    };
    let _ = writeln!(out, "  Rules checked:     {checked}");
    if !outcome.selection.not_checked.is_empty() {
        let _ = writeln!(
            out,
            "  Rules not checked: {} (unknown rules never block)",
            outcome.selection.not_checked.join(", ")
        );
    }
    let _ = writeln!(out, "  Violations:        {}", outcome.violations.len());
    out
}

fn json_view(outcome: &Outcome) -> Value {
    let file_set = outcome.file_set.as_ref().map(|file_set| {
        let (repo, commit) = match &file_set.source {
            Source::Git { repo, commit } => (Some(repo.clone()), commit.clone()),
            Source::Given | Source::Command => (None, None),
        };
        let files: Vec<String> = file_set
            .files
            .iter()
            .map(|file| rules::display_path(file))
            .collect();
        json!({
            "kind": file_set.kind(),
            "description": file_set.describe(),
            "repo": repo,
            "commit": commit,
            "files": files,
        })
    });
    json!({
        "id": outcome.id,
        "time": outcome.validation.time,
        "passed": outcome.validation.passed,
        "file_set": file_set,
        "files_checked": outcome.file_set.as_ref().map_or(0, |file_set| file_set.files.len()),
        "rules_checked": outcome.validation.rules_checked,
        "rules_not_checked": outcome.selection.not_checked,
        "violations": outcome.violations,
    })
}
