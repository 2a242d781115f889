//! DOCSTRINGS_REQUIRED: every Python function, method and class has a docstring,
//! nested ones included.
//!
//! A docstring is what Python stores in `__doc__`: a plain string literal (not an
//! f-string or bytes) as the first statement of the body. `@overload` stubs need none,
//! as in pydocstyle and ruff's `D` rules, because the implementation carries it.

use ruff_python_ast::{Expr, Stmt};

use super::Finding;
use super::python::{Definition, Source, has_decorator};

pub fn check(definitions: &[Definition], source: &Source) -> Vec<Finding> {
    definitions
        .iter()
        .filter(|definition| !has_docstring(definition.body()) && !is_overload(definition))
        .map(|definition| {
            Finding::new(
                source.line(definition.name_offset()),
                format!("{} has no docstring", definition.describe()),
            )
        })
        .collect()
}

fn is_overload(definition: &Definition) -> bool {
    match definition {
        Definition::Function { node, .. } => has_decorator(&node.decorator_list, "overload"),
        Definition::Class { .. } => false,
    }
}

fn has_docstring(body: &[Stmt]) -> bool {
    match body.first() {
        Some(Stmt::Expr(statement)) => matches!(*statement.value, Expr::StringLiteral(_)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::python::definitions;

    fn check_text(text: &str) -> Vec<Finding> {
        let source = Source::parse(text.as_bytes()).unwrap();
        check(&definitions(source.module()), &source)
    }

    #[test]
    fn documented_code_passes() {
        let text = r#"
class Store:
    """Keeps items."""

    def get(self, key):
        '''Return the item.'''
        def inner():
            """Helps."""
        return key

async def fetch():
    "Fetch it."
"#;
        assert_eq!(check_text(text), []);
    }

    #[test]
    fn missing_docstrings_are_named_with_lines() {
        let text = r#"class Store:
    x = 1

    def get(self):
        """Return it."""
        def inner():
            return 1
        return inner

def plain():
    pass
"#;
        let findings = check_text(text);
        let summary: Vec<(usize, &str)> = findings
            .iter()
            .map(|finding| (finding.line, finding.message.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                (1, "class \"Store\" has no docstring"),
                (6, "function \"Store.get.<locals>.inner\" has no docstring"),
                (10, "function \"plain\" has no docstring"),
            ]
        );
    }

    #[test]
    fn overload_stubs_need_no_docstring() {
        let text = r#"
from typing import overload

@overload
def parse(x: int) -> int: ...
@overload
def parse(x: str) -> str: ...
def parse(x):
    """Parse x."""
    return x
"#;
        assert_eq!(check_text(text), []);
    }

    #[test]
    fn f_string_and_comment_are_not_docstrings() {
        let text = "def a():\n    f\"text {1}\"\n\ndef b():\n    # comment\n    pass\n";
        let lines: Vec<usize> = check_text(text).iter().map(|f| f.line).collect();
        assert_eq!(lines, [1, 4]);
    }
}
