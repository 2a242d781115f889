//! NO_HARDCODED_SECRETS: no credentials written into a changed text file.
//!
//! Two kinds of finding:
//! - well-known credential formats anywhere in the text: AWS access key IDs, GitHub,
//!   GitLab and Slack tokens, private-key PEM blocks, and passwords embedded in URLs
//!   (`scheme://user:password@host`);
//! - string literals assigned to secret-like names (`password`, `api_key`, `token`,
//!   ...). In Python these come from the syntax tree: assignments, annotated
//!   assignments, keyword arguments, parameter defaults and dict entries. In other
//!   files a `name = "value"` / `name: value` pattern is matched per line.
//!
//! Placeholders (`""`, `changeme`, `<...>`, `xxx`, `***`, `your_..._here`, `${VAR}`)
//! are not secrets. Values read from the environment (`os.environ[...]`,
//! `os.getenv(...)`) are expressions rather than literals, so they are never
//! findings. A finding never shows the whole value, only [`redact`]'s form.

use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;
use ruff_python_ast::visitor::{Visitor, walk_expr, walk_keyword, walk_parameters, walk_stmt};
use ruff_python_ast::{Expr, Keyword, Parameters, Stmt};
use ruff_text_size::{Ranged, TextSize};

use super::python::Source;
use super::{Finding, LineIndex};

const ADVICE: &str = "read it from the environment or a secret store instead";

/// A credential format with a recognizable shape. The regex's first group is the
/// credential itself.
struct Format {
    name: &'static str,
    regex: Regex,
}

static FORMATS: LazyLock<Vec<Format>> = LazyLock::new(|| {
    let format = |name, pattern| Format {
        name,
        regex: Regex::new(pattern).expect("the credential patterns are valid regexes"),
    };
    vec![
        format("AWS access key ID", r"\b((?:AKIA|ASIA)[A-Z0-9]{16})\b"),
        format(
            "GitHub token",
            r"\b((?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,})\b",
        ),
        format("GitHub token", r"\b(github_pat_[A-Za-z0-9_]{22,})"),
        format("GitLab token", r"\b(glpat-[A-Za-z0-9_\-]{20,})"),
        format("Slack token", r"\b(xox[abprs]-[A-Za-z0-9\-]{10,})"),
    ]
});

static PRIVATE_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?)-----")
        .expect("the private-key pattern is a valid regex")
});

/// `scheme://user:password@host`; the groups are the scheme and the password.
static URL_CREDENTIALS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\b([A-Za-z][A-Za-z0-9+.\-]*)://[^\s:/?#@'"<>`]+:([^\s/?#@'"<>`]+)@[A-Za-z0-9\[]"#)
        .expect("the URL pattern is a valid regex")
});

/// `name = "value"`, `name: 'value'`, `"name": "value"`, `name := "value"`, or with
/// an unquoted value. The groups are the name and one of the three value forms.
static KEY_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"([A-Za-z_][A-Za-z0-9_.\-]*)["']?[ \t]*(?::=|=>|=|:)[ \t]*(?:"([^"\n]*)"|'([^'\n]*)'|([^\s"'`,;#]+))"#,
    )
    .expect("the key-value pattern is a valid regex")
});

/// Checks a Python file: well-known formats over its text, and string literals
/// assigned to secret-like names in its syntax tree.
pub fn check_python(source: &Source) -> Vec<Finding> {
    let mut findings = check_known_formats(source.text());
    let mut collector = Assignments::default();
    collector.visit_body(&source.module().body);
    for (name, value, offset) in collector.found {
        push_named(&mut findings, source.line(offset), &name, &value);
    }
    findings.sort_by_key(|finding| finding.line);
    findings
}

/// Checks a text file that is not Python. `allow_bare_values` also takes unquoted
/// values (`PASSWORD=hunter2`), which only configuration files and shell scripts
/// should, because in code an unquoted value is an expression.
pub fn check_text(text: &str, allow_bare_values: bool) -> Vec<Finding> {
    let lines = LineIndex::new(text);
    let mut findings = check_known_formats(text);
    for captures in KEY_VALUE.captures_iter(text) {
        let (Some(whole), Some(name)) = (captures.get(0), captures.get(1)) else {
            continue;
        };
        let value = match (captures.get(2).or(captures.get(3)), captures.get(4)) {
            (Some(quoted), _) => quoted.as_str(),
            (None, Some(bare)) if allow_bare_values && !is_reference(bare.as_str()) => {
                bare.as_str()
            }
            _ => continue,
        };
        push_named(
            &mut findings,
            lines.line(whole.start()),
            name.as_str(),
            value,
        );
    }
    findings.sort_by_key(|finding| finding.line);
    findings
}

/// True for files whose values are often unquoted: `.env` files, INI-like and YAML
/// configuration, and shell scripts.
pub fn allows_bare_values(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let extension = path
        .extension()
        .map(|extension| extension.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    name.starts_with(".env")
        || [
            "env",
            "ini",
            "cfg",
            "conf",
            "properties",
            "yaml",
            "yml",
            "toml",
            "sh",
            "bash",
            "zsh",
        ]
        .contains(&extension.as_str())
}

/// Finds well-known credential formats anywhere in `text`.
pub fn check_known_formats(text: &str) -> Vec<Finding> {
    let lines = LineIndex::new(text);
    let mut findings = Vec::new();
    for format in FORMATS.iter() {
        for captures in format.regex.captures_iter(text) {
            let Some(token) = captures.get(1) else {
                continue;
            };
            if !is_example_token(token.as_str()) {
                findings.push(Finding::new(
                    lines.line(token.start()),
                    format!("{} {}; {ADVICE}", format.name, redact(token.as_str())),
                ));
            }
        }
    }
    for captures in PRIVATE_KEY.captures_iter(text) {
        if let (Some(whole), Some(kind)) = (captures.get(0), captures.get(1)) {
            findings.push(Finding::new(
                lines.line(whole.start()),
                format!(
                    "private key block (BEGIN {}); keep private keys out of the source tree",
                    kind.as_str()
                ),
            ));
        }
    }
    for captures in URL_CREDENTIALS.captures_iter(text) {
        if let (Some(scheme), Some(password)) = (captures.get(1), captures.get(2))
            && !is_placeholder(password.as_str())
        {
            findings.push(Finding::new(
                lines.line(scheme.start()),
                format!(
                    "password embedded in a {}:// URL, {}; {ADVICE}",
                    scheme.as_str(),
                    redact(password.as_str())
                ),
            ));
        }
    }
    findings
}

/// Adds a finding for `name = value` when the name is secret-like, the value is not a
/// placeholder, and no well-known format was already found on that line.
fn push_named(findings: &mut Vec<Finding>, line: usize, name: &str, value: &str) {
    if !is_secret_name(name) || is_placeholder(value) {
        return;
    }
    if findings.iter().any(|finding| finding.line == line) {
        return;
    }
    findings.push(Finding::new(
        line,
        format!(
            "\"{name}\" is set to a hardcoded string {}; {ADVICE}",
            redact(value)
        ),
    ));
}

/// Shows at most the first quarter (up to 4 characters) and the last eighth (up to 2)
/// of `value`, and its length: `AKIA…XY (20 chars)`.
pub fn redact(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let count = chars.len();
    let head: String = chars[..(count / 4).min(4)].iter().collect();
    let tail: String = chars[count - (count / 8).min(2)..].iter().collect();
    format!("{head}…{tail} ({count} chars)")
}

/// Splits an identifier into lower-case words at `_`, `-`, `.`, other punctuation
/// and camel-case boundaries: `awsSecretAccessKey` and `AWS_SECRET_ACCESS_KEY` both
/// give `aws secret access key`, and `APIKey` gives `api key`.
fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (index, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            words.push(std::mem::take(&mut current));
            continue;
        }
        let previous = index.checked_sub(1).map(|before| chars[before]);
        let next = chars.get(index + 1);
        let starts_word = c.is_uppercase()
            && previous.is_some_and(|p| {
                p.is_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_uppercase() && next.is_some_and(|n| n.is_lowercase()))
            });
        if starts_word {
            words.push(std::mem::take(&mut current));
        }
        current.extend(c.to_lowercase());
    }
    words.push(current);
    words.retain(|word| !word.is_empty());
    words
}

/// True when `name` ends in a word that denotes a credential: `password`,
/// `db_pass`, `apiKey`, `GITHUB_TOKEN`, `client_secret`, `AWS_SECRET_ACCESS_KEY`.
/// Names that only start with one (`token_url`, `password_prompt`) are not.
pub fn is_secret_name(name: &str) -> bool {
    const LAST_WORDS: &[&str] = &[
        "password",
        "passwd",
        "pass",
        "passphrase",
        "secret",
        "token",
        "apikey",
        "accesskey",
        "privatekey",
        "secretkey",
        "authtoken",
    ];
    const KEY_KINDS: &[&str] = &[
        "api",
        "access",
        "private",
        "secret",
        "signing",
        "encryption",
        "master",
        "client",
        "auth",
    ];
    let words = words(name);
    match words.as_slice() {
        [.., kind, key] if key == "key" => KEY_KINDS.contains(&kind.as_str()),
        [.., last] => LAST_WORDS.contains(&last.as_str()),
        [] => false,
    }
}

/// True for values that stand in for a secret rather than being one.
pub fn is_placeholder(value: &str) -> bool {
    const WORDS: &[&str] = &[
        "changeme",
        "replaceme",
        "placeholder",
        "redacted",
        "example",
        "dummy",
        "fake",
        "test",
        "none",
        "null",
        "nil",
        "todo",
        "tbd",
        "fixme",
        "password",
        "pass",
        "secret",
        "token",
    ];
    let value = value.trim();
    let letters: String = value
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    value.is_empty()
        || (value.starts_with('<') && value.ends_with('>'))
        || (value.starts_with('{') && value.ends_with('}'))
        || value.starts_with("${")
        || value.starts_with("%(")
        || is_environment_variable(value)
        || value.chars().all(|c| "xX*•.…-_#0 ".contains(c))
        || WORDS.contains(&letters.as_str())
        || letters.starts_with("your")
        || letters.contains("example")
}

/// True for a bare `$NAME`, a shell or `.env` reference to another variable.
fn is_environment_variable(value: &str) -> bool {
    value.strip_prefix('$').is_some_and(|name| {
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// True when an unquoted value is an expression, a reference or a YAML tag, anchor or
/// block marker rather than a literal: `$(cat key)`, `%(pw)s`, `!vault`, `|`, `==`.
fn is_reference(value: &str) -> bool {
    value.starts_with(['$', '%', '{', '!', '|', '>', '&', '*', '(', '[', '='])
}

/// True for documentation examples of a token: AWS's `...EXAMPLE` keys, or a body
/// of filler such as `ghp_xxxx...`.
fn is_example_token(token: &str) -> bool {
    let body = token.split_once(['_', '-']).map_or(token, |(_, body)| body);
    token.contains("EXAMPLE") || body.chars().all(|c| "xX*0_-".contains(c))
}

/// Collects `(name, value, offset)` for every string literal bound to a name in a
/// Python syntax tree.
#[derive(Default)]
struct Assignments {
    found: Vec<(String, String, TextSize)>,
}

impl Assignments {
    fn record(&mut self, name: &str, value: &Expr, offset: TextSize) {
        if let Expr::StringLiteral(literal) = value {
            self.found
                .push((name.to_string(), literal.value.to_str().to_string(), offset));
        }
    }

    /// Records `target = value` for a name, an attribute (`self.token`), a subscript
    /// with a string key (`config["password"]`), or a tuple unpacked from a tuple.
    fn record_target(&mut self, target: &Expr, value: &Expr) {
        match target {
            Expr::Name(name) => self.record(name.id.as_str(), value, name.range.start()),
            Expr::Attribute(attribute) => {
                self.record(attribute.attr.as_str(), value, attribute.attr.range.start());
            }
            Expr::Subscript(subscript) => {
                if let Expr::StringLiteral(key) = &*subscript.slice {
                    self.record(key.value.to_str(), value, key.range.start());
                }
            }
            Expr::Tuple(targets) => {
                if let Expr::Tuple(values) = value
                    && targets.elts.len() == values.elts.len()
                {
                    for (target, value) in targets.elts.iter().zip(&values.elts) {
                        self.record_target(target, value);
                    }
                }
            }
            _ => {}
        }
    }
}

impl<'a> Visitor<'a> for Assignments {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Assign(assign) => {
                for target in &assign.targets {
                    self.record_target(target, &assign.value);
                }
            }
            Stmt::AnnAssign(assign) => {
                if let Some(value) = &assign.value {
                    self.record_target(&assign.target, value);
                }
            }
            _ => {}
        }
        walk_stmt(self, stmt);
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Dict(dict) = expr {
            for item in &dict.items {
                if let Some(Expr::StringLiteral(key)) = &item.key {
                    self.record(key.value.to_str(), &item.value, key.range.start());
                }
            }
        }
        walk_expr(self, expr);
    }

    fn visit_keyword(&mut self, keyword: &'a Keyword) {
        if let Some(name) = &keyword.arg {
            self.record(name.as_str(), &keyword.value, keyword.start());
        }
        walk_keyword(self, keyword);
    }

    fn visit_parameters(&mut self, parameters: &'a Parameters) {
        for parameter in parameters.iter_non_variadic_params() {
            if let Some(default) = &parameter.default {
                self.record(
                    parameter.parameter.name.as_str(),
                    default,
                    parameter.start(),
                );
            }
        }
        walk_parameters(self, parameters);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn python(text: &str) -> Vec<Finding> {
        check_python(&Source::parse(text.as_bytes()).unwrap())
    }

    fn python_lines(text: &str) -> Vec<usize> {
        python(text).iter().map(|finding| finding.line).collect()
    }

    /// Builds a fake AWS key at run time, so the source contains no credential-shaped
    /// string for scanners to flag.
    fn fake_aws_key() -> String {
        format!("AKIA{}", "Q7W3E5R7T9Y1U3I5")
    }

    #[test]
    fn secret_names_end_in_a_credential_word() {
        for name in [
            "password",
            "DB_PASSWORD",
            "db_pass",
            "apiKey",
            "API_KEY",
            "APIKey",
            "apikey",
            "GITHUB_TOKEN",
            "client_secret",
            "AWS_SECRET_ACCESS_KEY",
            "private_key",
            "spring.datasource.password",
            "passwd",
        ] {
            assert!(is_secret_name(name), "{name} should be secret-like");
        }
        for name in [
            "token_url",
            "password_prompt",
            "max_tokens",
            "primary_key",
            "cache_key",
            "secret_name",
            "bypass",
            "username",
        ] {
            assert!(!is_secret_name(name), "{name} should not be secret-like");
        }
    }

    #[test]
    fn placeholders_are_not_secrets() {
        for value in [
            "",
            "  ",
            "changeme",
            "CHANGE_ME",
            "<your-token>",
            "xxx",
            "XXXX-XXXX",
            "***",
            "your_api_key_here",
            "YOUR-PASSWORD",
            "${DB_PASSWORD}",
            "$DB_PASSWORD",
            "{password}",
            "%(password)s",
            "password",
            "example-secret",
        ] {
            assert!(is_placeholder(value), "{value:?} should be a placeholder");
        }
        for value in ["hunter2", "s3cr3t-Pa55", "$ecret!", "correct horse"] {
            assert!(
                !is_placeholder(value),
                "{value:?} should not be a placeholder"
            );
        }
    }

    #[test]
    fn redact_never_shows_the_whole_value() {
        assert_eq!(redact(&fake_aws_key()), "AKIA…I5 (20 chars)");
        assert_eq!(redact("hunter2"), "h… (7 chars)");
        assert_eq!(redact("abc"), "… (3 chars)");
        assert_eq!(redact(""), "… (0 chars)");
        assert_eq!(redact("pässwörter"), "pä…r (10 chars)");
    }

    #[test]
    fn python_assignments_are_found_by_syntax() {
        let text = "\
import os
password = 'hunter2'
config = {'api_key': 'k-12345678'}
connect(token='t0k3n-value')
self_ref = None
class Client:
    def __init__(self, secret='s3cr3t-value') -> None:
        self.secret = 's3cr3t-other'
user, passwd = 'admin', 'pa55w0rd'
settings['client_secret'] = 'abc123def'
";
        assert_eq!(python_lines(text), [2, 3, 4, 7, 8, 9, 10]);
        let first = &python(text)[0];
        assert!(first.message.contains("\"password\""));
        assert!(!first.message.contains("hunter2"), "{first:?}");
    }

    #[test]
    fn python_environment_and_placeholders_pass() {
        let text = "\
import os
password = os.environ['DB_PASSWORD']
token = os.getenv('TOKEN')
api_key = os.environ.get('API_KEY', '')
secret = ''
PASSWORD = 'changeme'
token_url = 'https://example.com/token'
message = 'password: hunter2 is only text'
def login(password: str = '<password>') -> None:
    '''Uses the password = hunter2 example in a docstring.'''
";
        assert_eq!(python(text), []);
    }

    #[test]
    fn python_text_is_searched_for_known_formats() {
        let text = format!(
            "# leaked key: {}\nKEY_ID = '{}'\n",
            fake_aws_key(),
            fake_aws_key()
        );
        let findings = python(&text);
        assert_eq!(findings.len(), 2, "{findings:?}");
        assert_eq!(findings[1].line, 2);
        assert!(
            findings[1]
                .message
                .starts_with("AWS access key ID AKIA…I5 (20 chars)")
        );
        assert!(!findings[1].message.contains(&fake_aws_key()));
    }

    #[test]
    fn known_formats_are_found() {
        let github = format!("ghp_{}", "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8");
        let slack = format!("xoxb-{}", "123456789012-abcdefABCDEF");
        let gitlab = format!("glpat-{}", "Ab3De6Gh9Jk2Mn5Pq8St");
        let text = format!(
            "a {github}\nb {slack}\nc {gitlab}\n-----BEGIN RSA PRIVATE KEY-----\nMIIB\n\
             url = postgres://app:Tr0ub4dor@db.internal:5432/app\n"
        );
        let findings = check_known_formats(&text);
        let mut lines: Vec<usize> = findings.iter().map(|finding| finding.line).collect();
        lines.sort();
        assert_eq!(lines, [1, 2, 3, 4, 6], "{findings:?}");
        for finding in &findings {
            for secret in [&github, &slack, &gitlab, &"Tr0ub4dor".to_string()] {
                assert!(!finding.message.contains(secret.as_str()), "{finding:?}");
            }
        }
    }

    #[test]
    fn example_tokens_and_url_placeholders_pass() {
        let text = "\
aws_docs = AKIAIOSFODNN7EXAMPLE
gh = ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
url = https://user:${PASSWORD}@example.com
url = https://user:password@example.com
url = https://example.com/path
";
        assert_eq!(check_known_formats(text), []);
    }

    #[test]
    fn text_files_match_name_value_pairs() {
        let code =
            "const apiKey = \"k3y-value-1\";\nlet password: string;\nif (password == \"x\") {}\n";
        let findings = check_text(code, false);
        assert_eq!(
            findings.iter().map(|f| f.line).collect::<Vec<_>>(),
            [1],
            "{findings:?}"
        );

        let env = "DB_PASSWORD=hunter2\nTOKEN=$(cat token.txt)\nSECRET=${SECRET}\nUSER=app\n";
        let findings = check_text(env, true);
        assert_eq!(
            findings.iter().map(|f| f.line).collect::<Vec<_>>(),
            [1],
            "{findings:?}"
        );

        let yaml = "db:\n  password: \"{{ vault_db_password }}\"\n  token: !vault |\n";
        assert_eq!(check_text(yaml, true), []);
    }

    #[test]
    fn bare_values_need_a_config_file() {
        assert!(allows_bare_values(Path::new(".env")));
        assert!(allows_bare_values(Path::new("deploy/.env.production")));
        assert!(allows_bare_values(Path::new("config/app.yaml")));
        assert!(!allows_bare_values(Path::new("src/app.ts")));
    }
}
