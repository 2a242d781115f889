//! TEST_COVERAGE_REQUIRED: every changed source module has a test.
//!
//! What counts as a test, per language:
//! - Python: `test_<name>.py` or `<name>_test.py` anywhere in the tree. Test files
//!   themselves, `__init__.py`, `conftest.py` and `setup.py` need none.
//! - Rust: a `#[cfg(test)]` module in the file, or a file under a `tests/` directory
//!   named after the module (`tests/<name>.rs`, `test_<name>.rs`, `<name>_test.rs`,
//!   `<name>_tests.rs`). A `mod.rs` is named after its directory, and `lib.rs` and
//!   `main.rs` are covered by any file under `tests/`. Files under `tests/`,
//!   `benches/` and `examples/`, `build.rs` and `tests.rs` need none.
//! - JavaScript and TypeScript: `<name>.test.<ext>` or `<name>.spec.<ext>` anywhere
//!   in the tree, or `__tests__/<name>.<ext>`. Test files, `.d.ts` declarations and
//!   `*.config.*` files need none.
//!
//! Other files are not source modules under this rule.

use std::path::{Component, Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use super::{Finding, files};

const SCRIPT_EXTENSIONS: &[&str] = &["js", "jsx", "mjs", "cjs", "ts", "tsx", "mts", "cts"];

/// The maximum number of files listed from a tree that is not a git work tree.
// NOTE: a larger tree is cut off at this count, so a test beyond it is not seen.
const MAX_WALKED_FILES: usize = 100_000;

/// Directories never walked outside git: version control, dependencies and build
/// output, where no project test lives.
const SKIPPED_DIRECTORIES: &[&str] = &["node_modules", "target", "__pycache__", "venv"];

static CFG_TEST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^\s*#\[cfg\((?:all\(|any\()?\s*test\b")
        .expect("the cfg(test) pattern is a valid regex")
});

/// The files of the tree that tests are searched in.
pub struct Tree {
    root: PathBuf,
    /// Paths relative to `root`.
    files: Vec<PathBuf>,
}

impl Tree {
    /// Lists the files under `root`: with git in a work tree (tracked, staged and
    /// untracked but not ignored), else by walking the directory, skipping hidden
    /// directories and [`SKIPPED_DIRECTORIES`].
    pub fn list(root: &Path, in_git: bool) -> Tree {
        let listed = if in_git {
            files::git_tree_files(root)
        } else {
            None
        };
        let files = listed.unwrap_or_else(|| walk(root));
        let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
        Tree { root, files }
    }

    fn any(&self, matches: impl Fn(&Path) -> bool) -> bool {
        self.files.iter().any(|file| matches(file))
    }
}

fn walk(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(root.join(&relative)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let path = relative.join(&name);
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let name = name.to_string_lossy();
            if kind.is_dir() && !name.starts_with('.') && !SKIPPED_DIRECTORIES.contains(&&*name) {
                pending.push(path);
            } else if kind.is_file() {
                files.push(path);
                if files.len() >= MAX_WALKED_FILES {
                    return files;
                }
            }
        }
    }
    files
}

/// Checks one changed file, at absolute `path` with content `bytes`.
pub fn check(path: &Path, bytes: &[u8], tree: &Tree) -> Option<Finding> {
    // Directory names above the tree, such as a checkout under `~/tests/`, say
    // nothing about the file.
    let path = path.strip_prefix(&tree.root).unwrap_or(path);
    let name = path.file_name()?.to_str()?;
    let (stem, extension) = name.rsplit_once('.')?;
    let message = match extension {
        "py" => check_python(name, stem, tree)?,
        "rs" => check_rust(path, stem, bytes, tree)?,
        extension if SCRIPT_EXTENSIONS.contains(&extension) => {
            check_script(path, name, stem, extension, tree)?
        }
        _ => return None,
    };
    Some(Finding::new(1, message))
}

fn check_python(name: &str, stem: &str, tree: &Tree) -> Option<String> {
    let exempt = ["__init__.py", "conftest.py", "setup.py"].contains(&name)
        || stem.starts_with("test_")
        || stem.ends_with("_test");
    if exempt {
        return None;
    }
    let candidates = [format!("test_{stem}.py"), format!("{stem}_test.py")];
    if tree.any(|file| file_name_is(file, &candidates)) {
        return None;
    }
    Some(format!(
        "module has no test; add {} or {} anywhere in the tree",
        candidates[0], candidates[1]
    ))
}

fn check_rust(path: &Path, stem: &str, bytes: &[u8], tree: &Tree) -> Option<String> {
    let in_test_directory = has_component(path, &["tests", "benches", "examples"]);
    if in_test_directory || ["build", "tests", "test"].contains(&stem) {
        return None;
    }
    if CFG_TEST.is_match(&String::from_utf8_lossy(bytes)) {
        return None;
    }
    let under_tests = |file: &Path| {
        has_component(file, &["tests"]) && file.extension().is_some_and(|ext| ext == "rs")
    };
    if stem == "lib" || stem == "main" {
        if tree.any(under_tests) {
            return None;
        }
        return Some(
            "crate root has no #[cfg(test)] module and the tree has no tests/ directory with Rust tests"
                .to_string(),
        );
    }

    let module = if stem == "mod" {
        path.parent()?.file_name()?.to_str()?
    } else {
        stem
    };
    let candidates = [
        format!("{module}.rs"),
        format!("test_{module}.rs"),
        format!("{module}_test.rs"),
        format!("{module}_tests.rs"),
    ];
    if tree.any(|file| under_tests(file) && file_name_is(file, &candidates)) {
        return None;
    }
    Some(format!(
        "module has no #[cfg(test)] module and no test under tests/ named after it, such as tests/{module}.rs"
    ))
}

fn check_script(
    path: &Path,
    name: &str,
    stem: &str,
    extension: &str,
    tree: &Tree,
) -> Option<String> {
    let exempt = name.contains(".test.")
        || name.contains(".spec.")
        || name.contains(".config.")
        || name.ends_with(".d.ts")
        || has_component(path, &["__tests__"]);
    if exempt {
        return None;
    }
    let is_test = |file: &Path| {
        let Some(file_name) = file.file_name().and_then(|name| name.to_str()) else {
            return false;
        };
        let Some((file_stem, file_extension)) = file_name.rsplit_once('.') else {
            return false;
        };
        let named_test =
            [format!("{stem}.test"), format!("{stem}.spec")].contains(&file_stem.to_string());
        let in_tests_directory = has_component(file, &["__tests__"]) && file_stem == stem;
        SCRIPT_EXTENSIONS.contains(&file_extension) && (named_test || in_tests_directory)
    };
    if tree.any(is_test) {
        return None;
    }
    Some(format!(
        "module has no test; add {stem}.test.{extension} or {stem}.spec.{extension} anywhere in the tree"
    ))
}

fn file_name_is(file: &Path, candidates: &[String]) -> bool {
    file.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| candidates.iter().any(|candidate| candidate == name))
}

/// True when a directory in `path` (not its file name) is one of `names`.
fn has_component(path: &Path, names: &[&str]) -> bool {
    let Some(parent) = path.parent() else {
        return false;
    };
    parent.components().any(|component| match component {
        Component::Normal(name) => names.iter().any(|wanted| name == *wanted),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[&str]) -> Tree {
        Tree {
            root: PathBuf::from("/r"),
            files: files.iter().map(PathBuf::from).collect(),
        }
    }

    fn missing(path: &str, text: &str, files: &[&str]) -> bool {
        check(Path::new(path), text.as_bytes(), &tree(files)).is_some()
    }

    #[test]
    fn python_test_names_anywhere() {
        assert!(!missing("/r/app/loader.py", "", &["tests/test_loader.py"]));
        assert!(!missing("/r/app/loader.py", "", &["app/loader_test.py"]));
        assert!(missing("/r/app/loader.py", "", &["tests/test_load.py"]));
        assert!(!missing("/r/tests/test_loader.py", "", &[]));
        assert!(!missing("/r/app/__init__.py", "", &[]));
    }

    #[test]
    fn rust_cfg_test_or_tests_directory() {
        let with_module = "fn f() {}\n\n#[cfg(test)]\nmod tests {}\n";
        assert!(!missing("/r/src/parse.rs", with_module, &[]));
        assert!(missing(
            "/r/src/parse.rs",
            "fn f() {}\n",
            &["tests/other.rs"]
        ));
        assert!(!missing(
            "/r/src/parse.rs",
            "fn f() {}\n",
            &["tests/parse.rs"]
        ));
        assert!(!missing(
            "/r/src/parse/mod.rs",
            "",
            &["tests/parse_tests.rs"]
        ));
        assert!(!missing("/r/src/lib.rs", "", &["tests/anything.rs"]));
        assert!(missing("/r/src/lib.rs", "", &["src/lib.rs"]));
        assert!(!missing("/r/tests/parse.rs", "", &[]));
        assert!(!missing("/r/build.rs", "", &[]));
    }

    #[test]
    fn rust_cfg_test_in_comment_ignored() {
        let text = "// add #[cfg(test)] later\nfn f() {}\n";
        assert!(missing("/r/src/parse.rs", text, &[]));
    }

    #[test]
    fn script_tests_use_test_or_spec_names() {
        assert!(!missing("/r/src/cart.ts", "", &["src/cart.test.ts"]));
        assert!(!missing("/r/src/cart.js", "", &["test/cart.spec.js"]));
        assert!(!missing("/r/src/cart.tsx", "", &["src/__tests__/cart.tsx"]));
        assert!(missing("/r/src/cart.ts", "", &["src/carts.test.ts"]));
        assert!(!missing("/r/src/cart.test.ts", "", &[]));
        assert!(!missing("/r/src/types.d.ts", "", &[]));
        assert!(!missing("/r/jest.config.js", "", &[]));
    }

    #[test]
    fn directories_above_the_tree_do_not_count() {
        let outside = Tree {
            root: PathBuf::from("/home/dev/tests/project"),
            files: Vec::new(),
        };
        let path = Path::new("/home/dev/tests/project/src/parse.rs");
        assert!(check(path, b"fn f() {}\n", &outside).is_some());
    }

    #[test]
    fn other_files_are_not_modules() {
        assert!(!missing("/r/README.md", "", &[]));
        assert!(!missing("/r/Makefile", "", &[]));
    }
}
