//! Constitution rules: checks of the files a task changed, which decide whether its
//! work may be checkpointed.
//!
//! A task carries rule names in `constitution_rules`. Four are known (see [`Rule`]);
//! names are matched ignoring case, with `_`, `-` and spaces treated alike. Names that
//! match no known rule are reported as not checked and never block.
//!
//! Python files are parsed with ruff's parser, so the Python rules see the syntax tree
//! rather than text. A Python file that does not parse is one violation that names the
//! syntax error, because none of the Python rules can be checked in it.

mod docstrings;
pub mod files;
mod python;
mod secrets;
mod test_coverage;
mod type_hints;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::registry::Validation;

pub use files::FileSet;

/// A rule that `validate` checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    TypeHintsRequired,
    DocstringsRequired,
    NoHardcodedSecrets,
    TestCoverageRequired,
}

impl Rule {
    pub const ALL: [Rule; 4] = [
        Rule::TypeHintsRequired,
        Rule::DocstringsRequired,
        Rule::NoHardcodedSecrets,
        Rule::TestCoverageRequired,
    ];

    /// Returns the canonical name, as `validate` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Rule::TypeHintsRequired => "TYPE_HINTS_REQUIRED",
            Rule::DocstringsRequired => "DOCSTRINGS_REQUIRED",
            Rule::NoHardcodedSecrets => "NO_HARDCODED_SECRETS",
            Rule::TestCoverageRequired => "TEST_COVERAGE_REQUIRED",
        }
    }

    /// Finds the rule called `name`, ignoring case and treating `_`, `-` and spaces
    /// alike.
    pub fn from_name(name: &str) -> Option<Rule> {
        let key = normalize_name(name);
        Rule::ALL.into_iter().find(|rule| rule.name() == key)
    }

    /// True for the rules that need a Python file's syntax tree.
    fn reads_python_syntax(self) -> bool {
        matches!(
            self,
            Rule::TypeHintsRequired | Rule::DocstringsRequired | Rule::NoHardcodedSecrets
        )
    }
}

impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// Upper-cases `name` and joins its words with `_`, where `_`, `-` and whitespace all
/// separate words: `type hints-required` becomes `TYPE_HINTS_REQUIRED`.
pub fn normalize_name(name: &str) -> String {
    name.split(|c: char| c == '_' || c == '-' || c.is_whitespace())
        .filter(|word| !word.is_empty())
        .map(str::to_uppercase)
        .collect::<Vec<_>>()
        .join("_")
}

/// A task's rule names, split into the rules that are checked and the names that
/// match none.
#[derive(Debug, Default, PartialEq)]
pub struct Selection {
    /// Known rules, in the order of [`Rule::ALL`], each once.
    pub checked: Vec<Rule>,
    /// Unknown names as the task gave them, each once.
    pub not_checked: Vec<String>,
}

pub fn select(names: &[String]) -> Selection {
    let mut selection = Selection::default();
    for name in names {
        match Rule::from_name(name) {
            Some(rule) if !selection.checked.contains(&rule) => selection.checked.push(rule),
            Some(_) => {}
            None if !selection.not_checked.contains(name) => {
                selection.not_checked.push(name.clone());
            }
            None => {}
        }
    }
    selection.checked.sort();
    selection
}

/// One rule broken at one place.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Violation {
    pub path: String,
    /// 1-based.
    pub line: usize,
    pub rule: Rule,
    pub message: String,
}

/// A rule's result in one file, a line and a message, before the path and rule are
/// attached.
#[derive(Debug, Clone, PartialEq)]
struct Finding {
    line: usize,
    message: String,
}

impl Finding {
    fn new(line: usize, message: impl Into<String>) -> Self {
        Finding {
            line,
            message: message.into(),
        }
    }
}

/// Line numbers for byte offsets in one text.
struct LineIndex {
    /// The byte offset at which each line starts; the first is 0.
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(index, _)| index + 1))
            .collect();
        LineIndex { starts }
    }

    /// Returns the 1-based line that contains byte `offset`.
    fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|start| *start <= offset)
    }
}

/// The stack size of the thread that checks files. Syntax trees are walked and
/// dropped recursively, so a long chain such as `x = 1 + 1 + ...` needs one frame per
/// term: in a debug build 8 MiB overflows at about 20,000 terms. The memory is only
/// reserved, and touched as deep as a file needs.
// NOTE: 400,000 terms, the longest chain tried, fit in a debug build. A much longer one
// can still overflow this stack and abort the process.
const CHECK_STACK_BYTES: usize = 1 << 30;

/// Checks every file of `file_set` against `rules` and returns the violations, sorted
/// by path, line and rule. The work runs on a thread with a large stack (see
/// [`CHECK_STACK_BYTES`]), or on this thread when none can be started.
pub fn check(rules: &[Rule], file_set: &FileSet) -> Vec<Violation> {
    let spawned = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("validate".to_string())
            .stack_size(CHECK_STACK_BYTES)
            .spawn_scoped(scope, || check_files(rules, file_set))
            .map(|worker| worker.join())
    });
    match spawned {
        Ok(Ok(violations)) => violations,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(error) => {
            tracing::debug!(%error, "cannot start a checking thread, checking on this one");
            check_files(rules, file_set)
        }
    }
}

fn check_files(rules: &[Rule], file_set: &FileSet) -> Vec<Violation> {
    let tree = rules
        .contains(&Rule::TestCoverageRequired)
        .then(|| test_coverage::Tree::list(&file_set.root, file_set.in_git));
    let mut violations = Vec::new();
    for path in &file_set.files {
        let display = display_path(path);
        for (rule, finding) in check_file(rules, path, tree.as_ref()) {
            violations.push(Violation {
                path: display.clone(),
                line: finding.line,
                rule,
                message: finding.message,
            });
        }
    }
    violations.sort_by(|a, b| (&a.path, a.line, a.rule).cmp(&(&b.path, b.line, b.rule)));
    violations
}

fn check_file(
    rules: &[Rule],
    path: &Path,
    tree: Option<&test_coverage::Tree>,
) -> Vec<(Rule, Finding)> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) => {
            let finding = Finding::new(1, format!("cannot read the file ({error})"));
            return rules
                .first()
                .map(|rule| (*rule, finding))
                .into_iter()
                .collect();
        }
    };
    let mut found = Vec::new();
    if python::is_python(path) {
        found.extend(check_python(rules, &bytes));
    } else if rules.contains(&Rule::NoHardcodedSecrets) && !is_binary(&bytes) {
        let text = String::from_utf8_lossy(&bytes);
        let findings = secrets::check_text(&text, secrets::allows_bare_values(path));
        found.extend(tag(Rule::NoHardcodedSecrets, findings));
    }
    if let Some(tree) = tree
        && let Some(finding) = test_coverage::check(path, &bytes, tree)
    {
        found.push((Rule::TestCoverageRequired, finding));
    }
    found
}

/// Runs the rules that read Python on one Python file. A file that does not parse
/// yields one violation, under the first of those rules that is checked, and only the
/// well-known secret formats, which need no syntax tree, are still looked for.
fn check_python(rules: &[Rule], bytes: &[u8]) -> Vec<(Rule, Finding)> {
    let Some(first) = rules
        .iter()
        .copied()
        .find(|rule| rule.reads_python_syntax())
    else {
        return Vec::new();
    };
    let source = match python::Source::parse(bytes) {
        Ok(source) => source,
        Err(error) => {
            let mut found = vec![(first, Finding::new(error.line, error.message))];
            if rules.contains(&Rule::NoHardcodedSecrets) {
                let text = String::from_utf8_lossy(bytes);
                let findings = secrets::check_known_formats(&text);
                found.extend(tag(Rule::NoHardcodedSecrets, findings));
            }
            return found;
        }
    };

    let definitions = python::definitions(source.module());
    let mut found = Vec::new();
    for rule in rules {
        let findings = match rule {
            Rule::TypeHintsRequired => type_hints::check(&definitions, &source),
            Rule::DocstringsRequired => docstrings::check(&definitions, &source),
            Rule::NoHardcodedSecrets => secrets::check_python(&source),
            Rule::TestCoverageRequired => continue,
        };
        found.extend(tag(*rule, findings));
    }
    found
}

fn tag(rule: Rule, findings: Vec<Finding>) -> impl Iterator<Item = (Rule, Finding)> {
    findings.into_iter().map(move |finding| (rule, finding))
}

/// True for content that is not text: it contains a NUL byte in its first 8 KiB, as
/// git's own binary detection assumes.
fn is_binary(bytes: &[u8]) -> bool {
    bytes.iter().take(8192).any(|byte| *byte == 0)
}

/// Shows `path` relative to the current directory when it lies under it, so editors
/// and terminals can open `path:line`, and absolute otherwise.
pub fn display_path(path: &Path) -> String {
    let relative = std::env::current_dir()
        .ok()
        .and_then(|cwd| cwd.canonicalize().ok())
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(PathBuf::from));
    relative
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}

/// Describes a stored validation in one line, for `check`.
pub fn describe(validation: &Validation) -> String {
    let rules = if validation.rules_checked.is_empty() {
        "no known rules".to_string()
    } else {
        validation.rules_checked.join(", ")
    };
    if validation.passed {
        format!("passed at {}; checked {rules}", validation.time)
    } else {
        format!(
            "failed at {} with {}; checked {rules}",
            validation.time,
            plural(validation.violations, "violation")
        )
    }
}

/// Describes a stored validation in a few words, for `rehydrate`.
pub fn describe_briefly(validation: &Validation) -> String {
    if validation.passed {
        "validation passed".to_string()
    } else {
        format!(
            "validation failed ({})",
            plural(validation.violations, "violation")
        )
    }
}

/// Formats `count` with `noun`, adding an `s` unless the count is one.
pub fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_names_match_loosely() {
        assert_eq!(
            Rule::from_name("type hints required"),
            Some(Rule::TypeHintsRequired)
        );
        assert_eq!(
            Rule::from_name("Docstrings-Required"),
            Some(Rule::DocstringsRequired)
        );
        assert_eq!(
            Rule::from_name("  no_hardcoded  secrets "),
            Some(Rule::NoHardcodedSecrets)
        );
        assert_eq!(
            Rule::from_name("TEST_COVERAGE_REQUIRED"),
            Some(Rule::TestCoverageRequired)
        );
        assert_eq!(Rule::from_name("no_destructive_ops"), None);
        assert_eq!(Rule::from_name("TYPEHINTS_REQUIRED"), None);
    }

    #[test]
    fn select_splits_and_deduplicates() {
        let names: Vec<String> = [
            "docstrings required",
            "no_destructive_ops",
            "TYPE_HINTS_REQUIRED",
            "DOCSTRINGS_REQUIRED",
            "no_destructive_ops",
        ]
        .iter()
        .map(|name| name.to_string())
        .collect();
        let selection = select(&names);
        assert_eq!(
            selection.checked,
            [Rule::TypeHintsRequired, Rule::DocstringsRequired]
        );
        assert_eq!(selection.not_checked, ["no_destructive_ops"]);
    }

    #[test]
    fn binary_detection_looks_for_nul() {
        assert!(is_binary(b"PK\x03\x04\x00\x00"));
        assert!(!is_binary("password = 'é'".as_bytes()));
    }
}
