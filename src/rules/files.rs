//! The file set `validate` checks, and the git commit recorded when a task starts.
//!
//! In order of precedence:
//! 1. the files given with `--files`;
//! 2. for a task started in a git work tree, the files changed since the recorded
//!    commit (`git diff --name-only COMMIT`, which covers staged and unstaged changes)
//!    plus untracked files that git does not ignore
//!    (`git ls-files --others --exclude-standard`);
//! 3. otherwise the existing files that the task's command names, such as
//!    `process_data.py` in `python process_data.py`.
//!
//! Deleted files are not checked, and neither is anything in the registry's own
//! directory (`.claude/` by default), which contains this program's state and logs.
//! git runs as a child process without a shell.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use crate::registry::{GitBase, Task};

/// The files to check and where they came from.
#[derive(Debug)]
pub struct FileSet {
    pub source: Source,
    /// The tree searched for tests: the git work tree, or the task's directory.
    pub root: PathBuf,
    /// True when `root` is a git work tree, so its files are listed with git.
    pub in_git: bool,
    /// Absolute, canonical and sorted.
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// Changed since `commit` in the work tree `repo`; every file when the repository
    /// had no commit yet.
    Git {
        repo: String,
        commit: Option<String>,
    },
    /// Given with `--files`.
    Given,
    /// Named in the task's command.
    Command,
}

impl FileSet {
    /// Returns a short machine-readable name for the source: `git`, `files` or `command`.
    pub fn kind(&self) -> &'static str {
        match self.source {
            Source::Git { .. } => "git",
            Source::Given => "files",
            Source::Command => "command",
        }
    }

    /// Says in words which files these are.
    pub fn describe(&self) -> String {
        match &self.source {
            Source::Git {
                repo,
                commit: Some(commit),
            } => format!(
                "changed since commit {} in {repo}, plus untracked files",
                short_hash(commit)
            ),
            Source::Git { repo, commit: None } => {
                format!("every file in {repo}, which had no commit when the task started")
            }
            Source::Given => "given with --files".to_string(),
            Source::Command => {
                "named in the task's command, because it was not started in a git work tree"
                    .to_string()
            }
        }
    }
}

fn short_hash(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

/// Records the git work tree that contains `dir` and its `HEAD` commit, or nothing
/// when `dir` is not in a work tree or git cannot be run.
pub fn git_base(dir: &Path) -> Option<GitBase> {
    // One git run: it prints the top level, then the commit when `HEAD` has one and
    // exits 1 when it has none.
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "rev-parse",
            "--show-toplevel",
            "--verify",
            "--quiet",
            "HEAD^{commit}",
        ])
        .env("GIT_OPTIONAL_LOCKS", "0")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output();
    let output = match output {
        Ok(output) if matches!(output.status.code(), Some(0 | 1)) => output,
        Ok(output) => {
            tracing::debug!(dir = %dir.display(), status = %output.status, "not in a git work tree");
            return None;
        }
        Err(error) => {
            tracing::debug!(dir = %dir.display(), %error, "cannot run git");
            return None;
        }
    };
    let text = String::from_utf8(output.stdout).ok()?;
    let mut lines = text.lines();
    let repo = lines.next().filter(|line| !line.is_empty())?.to_string();
    let commit = lines
        .next()
        .filter(|_| output.status.success())
        .map(str::to_string);
    Some(GitBase { repo, commit })
}

/// Chooses the files to check for task `id`; `registry_dir` is left out.
pub fn choose(id: &str, task: &Task, given: &[PathBuf], registry_dir: &Path) -> Result<FileSet> {
    let excluded = registry_dir
        .canonicalize()
        .unwrap_or_else(|_| registry_dir.to_path_buf());
    if !given.is_empty() {
        return given_files(task, given);
    }
    match &task.git_base {
        Some(base) => changed_files(base, &excluded),
        None => command_files(id, task, &excluded),
    }
}

fn given_files(task: &Task, given: &[PathBuf]) -> Result<FileSet> {
    let mut files = Vec::new();
    for path in given {
        let shown = path.display();
        if path.is_dir() {
            return Err(Error::invalid(format!(
                "{shown} given with --files is a directory; name the files to check"
            )));
        }
        let file = path.canonicalize().map_err(|error| {
            if error.kind() == std::io::ErrorKind::NotFound {
                Error::invalid(format!(
                    "file {shown} given with --files does not exist; check the path"
                ))
            } else {
                Error::io(format!("cannot open {shown} given with --files"), error)
            }
        })?;
        files.push(file);
    }
    files.sort();
    files.dedup();

    let current = std::env::current_dir()
        .map_err(|error| Error::io("cannot read the current directory", error))?;
    let recorded = task
        .git_base
        .as_ref()
        .map(|base| PathBuf::from(&base.repo))
        .filter(|repo| repo.is_dir());
    let (root, in_git) = match recorded.or_else(|| git_toplevel(&current)) {
        Some(repo) => (repo, true),
        None => (current, false),
    };
    Ok(FileSet {
        source: Source::Given,
        root,
        in_git,
        files,
    })
}

fn changed_files(base: &GitBase, excluded: &Path) -> Result<FileSet> {
    let repo = PathBuf::from(&base.repo);
    if !repo.is_dir() {
        return Err(Error::invalid(format!(
            "the git work tree {} recorded for the task no longer exists; pass the files to check with --files",
            repo.display()
        )));
    }
    let failed = |error: String| {
        let since = base
            .commit
            .as_deref()
            .map_or(String::new(), |commit| format!(" since commit {commit}"));
        Error::invalid(format!(
            "cannot list the files changed{since} in {} ({error}); pass the files to check with --files",
            repo.display()
        ))
    };

    let mut names = match &base.commit {
        Some(commit) => git(
            &repo,
            ["diff", "--name-only", "--no-renames", "-z", commit, "--"],
        ),
        None => git(&repo, ["ls-files", "--cached", "-z"]),
    }
    .map_err(failed)?;
    names.extend(git(&repo, ["ls-files", "--others", "--exclude-standard", "-z"]).map_err(failed)?);

    let files = existing_files(&repo, nul_separated(&names), excluded);
    Ok(FileSet {
        source: Source::Git {
            repo: base.repo.clone(),
            commit: base.commit.clone(),
        },
        root: repo,
        in_git: true,
        files,
    })
}

fn command_files(id: &str, task: &Task, excluded: &Path) -> Result<FileSet> {
    let base = match task.cwd.as_deref().map(PathBuf::from) {
        Some(cwd) if cwd.is_dir() => cwd,
        _ => std::env::current_dir()
            .map_err(|error| Error::io("cannot read the current directory", error))?,
    };
    let candidates = split_words(&task.command)
        .into_iter()
        .flat_map(|word| match word.split_once('=') {
            Some((_, value)) => vec![word.clone(), value.to_string()],
            None => vec![word],
        })
        .filter(|word| !word.is_empty());
    let files: Vec<PathBuf> = existing_files(&base, candidates, excluded)
        .into_iter()
        .filter(|file| !is_binary_file(file))
        .collect();
    if files.is_empty() {
        return Err(Error::invalid(format!(
            "task {id:?} was not started in a git work tree and its command {:?} names no existing file; pass the files to check with --files",
            task.command
        )));
    }
    Ok(FileSet {
        source: Source::Command,
        root: base,
        in_git: false,
        files,
    })
}

/// Resolves `names` against `base` and keeps the regular files outside `excluded`,
/// canonical, sorted and each once.
fn existing_files(
    base: &Path,
    names: impl IntoIterator<Item = impl AsRef<Path>>,
    excluded: &Path,
) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = names
        .into_iter()
        .map(|name| base.join(name))
        .filter(|path| path.is_file())
        .filter_map(|path| path.canonicalize().ok())
        .filter(|path| !path.starts_with(excluded))
        .collect();
    files.sort();
    files.dedup();
    files
}

/// True when the file's first 8 KiB contain a NUL byte, as in a compiled program.
fn is_binary_file(path: &Path) -> bool {
    use std::io::Read;

    let mut head = Vec::with_capacity(8192);
    std::fs::File::open(path)
        .and_then(|file| file.take(8192).read_to_end(&mut head))
        .map_or(true, |_| head.contains(&0))
}

/// Splits a command line into words as a POSIX shell would for quoting: single
/// quotes, double quotes and backslash escapes. Expansions are left as text.
pub fn split_words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                word.extend(chars.by_ref().take_while(|&inner| inner != '\''));
            }
            '"' => {
                in_word = true;
                while let Some(inner) = chars.next() {
                    match inner {
                        '"' => break,
                        '\\' => word.extend(chars.next()),
                        other => word.push(other),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.extend(chars.next());
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            other => {
                in_word = true;
                word.push(other);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// Finds the top-level directory of the git work tree that contains `dir`.
pub fn git_toplevel(dir: &Path) -> Option<PathBuf> {
    let output = git(dir, ["rev-parse", "--show-toplevel"]).ok()?;
    let text = String::from_utf8(output).ok()?;
    Some(PathBuf::from(text.trim_end()))
}

/// Lists every file git tracks or would track in the work tree `repo`, relative to
/// it: committed, staged and untracked but not ignored.
pub fn git_tree_files(repo: &Path) -> Option<Vec<PathBuf>> {
    let output = git(
        repo,
        [
            "ls-files",
            "--cached",
            "--others",
            "--exclude-standard",
            "-z",
        ],
    )
    .ok()?;
    Some(nul_separated(&output).map(PathBuf::from).collect())
}

fn nul_separated(bytes: &[u8]) -> impl Iterator<Item = String> + '_ {
    bytes
        .split(|byte| *byte == 0)
        .filter(|name| !name.is_empty())
        .map(|name| String::from_utf8_lossy(name).into_owned())
}

/// Runs `git -C dir ARGS` and returns its stdout, or the first line of its stderr
/// when it fails. `GIT_OPTIONAL_LOCKS=0` makes git skip optional steps that take a
/// lock, such as refreshing the index, so the user's own git commands are not held up.
fn git<I, S>(dir: &Path, args: I) -> std::result::Result<Vec<u8>, String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_OPTIONAL_LOCKS", "0")
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("cannot run git: {error}"))?;
    if output.status.success() {
        return Ok(output.stdout);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(stderr
        .lines()
        .next()
        .unwrap_or("git failed with no message")
        .trim()
        .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_words_follows_shell_quoting() {
        assert_eq!(
            split_words("python process_data.py --out='my file.csv'"),
            ["python", "process_data.py", "--out=my file.csv"]
        );
        assert_eq!(
            split_words(r#"sh -c "echo \"hi\"" a\ b ''"#),
            ["sh", "-c", "echo \"hi\"", "a b", ""]
        );
        assert_eq!(split_words("   "), Vec::<String>::new());
    }

    #[test]
    fn short_hash_keeps_twelve_characters() {
        assert_eq!(
            short_hash("0123456789abcdef0123456789abcdef01234567"),
            "0123456789ab"
        );
        assert_eq!(short_hash("abc"), "abc");
    }
}
