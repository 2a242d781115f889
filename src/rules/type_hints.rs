//! TYPE_HINTS_REQUIRED: every Python function and method annotates its parameters and
//! its return type.
//!
//! The conventions follow mypy's `disallow_untyped_defs` and ruff's `ANN` rules with
//! `mypy-init-return` on:
//! - the first parameter of a method (`self`, `cls`) needs no annotation, unless the
//!   method is a `@staticmethod`;
//! - `__init__` needs no return annotation when at least one other parameter is
//!   annotated, because mypy then takes its return type to be `None`;
//! - `*args` and `**kwargs` need annotations;
//! - nested and `async` functions count, and lambdas do not.

use ruff_python_ast::StmtFunctionDef;

use super::Finding;
use super::python::{Definition, Source, has_decorator};

pub fn check(definitions: &[Definition], source: &Source) -> Vec<Finding> {
    let mut findings = Vec::new();
    for definition in definitions {
        let Definition::Function { node, in_class, .. } = definition else {
            continue;
        };
        let missing = missing_annotations(node, *in_class);
        if !missing.is_empty() {
            findings.push(Finding::new(
                source.line(definition.name_offset()),
                format!(
                    "{} has no type annotation for {}",
                    definition.describe(),
                    join_words(&missing)
                ),
            ));
        }
    }
    findings
}

/// Lists what `function` leaves unannotated: `parameter "x"`, `parameter "*args"`,
/// `the return type`.
fn missing_annotations(function: &StmtFunctionDef, is_method: bool) -> Vec<String> {
    let parameters = &function.parameters;
    let skips_first = is_method && !has_decorator(&function.decorator_list, "staticmethod");
    let mut missing = Vec::new();
    let mut any_annotated = false;

    let positional = parameters.posonlyargs.iter().chain(&parameters.args);
    let named = positional
        .skip(usize::from(skips_first))
        .map(|parameter| ("", &parameter.parameter))
        .chain(
            parameters
                .vararg
                .iter()
                .map(|parameter| ("*", &**parameter)),
        )
        .chain(
            parameters
                .kwonlyargs
                .iter()
                .map(|parameter| ("", &parameter.parameter)),
        )
        .chain(
            parameters
                .kwarg
                .iter()
                .map(|parameter| ("**", &**parameter)),
        );
    for (stars, parameter) in named {
        if parameter.annotation.is_some() {
            any_annotated = true;
        } else {
            missing.push(format!("parameter \"{stars}{}\"", parameter.name.as_str()));
        }
    }

    let init_returns_none = is_method && function.name.as_str() == "__init__" && any_annotated;
    if function.returns.is_none() && !init_returns_none {
        missing.push("the return type".to_string());
    }
    missing
}

/// Joins `words` as `a`, `a and b`, or `a, b and c`.
fn join_words(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [only] => only.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
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

    fn lines(text: &str) -> Vec<usize> {
        check_text(text)
            .iter()
            .map(|finding| finding.line)
            .collect()
    }

    #[test]
    fn fully_annotated_code_passes() {
        let text = "\
def add(a: int, b: int = 0, *rest: int, scale: float, **options: str) -> int:
    return a + b

class Point:
    def __init__(self, x: int) -> None:
        self.x = x

    @classmethod
    def origin(cls) -> 'Point':
        return cls(0)

    def __repr__(self) -> str:
        return 'Point'

async def fetch(url: str) -> bytes:
    key = lambda item: item
    return b''
";
        assert_eq!(check_text(text), []);
    }

    #[test]
    fn self_and_cls_need_no_annotation() {
        let text = "\
class Box:
    def get(self) -> int:
        return 1

    @classmethod
    def make(cls, size: int) -> 'Box':
        return cls()

    def odd_name(this) -> None:
        pass
";
        assert_eq!(lines(text), Vec::<usize>::new());
    }

    #[test]
    fn staticmethod_first_parameter_needs_annotation() {
        let text = "\
class Tools:
    @staticmethod
    def double(value) -> int:
        return value * 2
";
        let findings = check_text(text);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].line, 3);
        assert!(findings[0].message.contains("parameter \"value\""));
    }

    #[test]
    fn init_return_follows_mypy() {
        let annotated = "\
class A:
    def __init__(self, name: str):
        self.name = name
";
        assert_eq!(lines(annotated), Vec::<usize>::new());

        let only_self = "\
class B:
    def __init__(self):
        pass
";
        let findings = check_text(only_self);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].line, 2);
        assert!(findings[0].message.contains("the return type"));

        let unannotated = "\
class C:
    def __init__(self, name):
        pass
";
        let findings = check_text(unannotated);
        assert_eq!(findings.len(), 1);
        assert!(
            findings[0]
                .message
                .ends_with("parameter \"name\" and the return type"),
            "{:?}",
            findings[0]
        );
    }

    #[test]
    fn star_parameters_count() {
        let text = "def call(*args, **kwargs) -> None:\n    pass\n";
        let findings = check_text(text);
        assert_eq!(findings.len(), 1);
        assert_eq!(
            findings[0].message,
            "function \"call\" has no type annotation for parameter \"*args\" and parameter \"**kwargs\""
        );
    }

    #[test]
    fn nested_and_async_functions_count() {
        let text = "\
def outer() -> None:
    def inner(x):
        return x

async def fetch(url: str):
    return url
";
        assert_eq!(lines(text), [2, 5]);
        let messages: Vec<String> = check_text(text)
            .into_iter()
            .map(|finding| finding.message)
            .collect();
        assert!(messages[0].starts_with("function \"outer.<locals>.inner\""));
        assert!(messages[1].ends_with("for the return type"));
    }

    #[test]
    fn line_is_the_def_line_after_decorators() {
        let text = "\
import functools

@functools.cache
def slow(
    n,
) -> int:
    return n
";
        assert_eq!(lines(text), [4]);
    }

    #[test]
    fn positional_only_self_is_skipped() {
        let text = "\
class K:
    def get(self, /, key: str) -> str:
        return key
";
        assert_eq!(lines(text), Vec::<usize>::new());
    }

    #[test]
    fn join_words_reads_as_a_list() {
        let words = |list: &[&str]| list.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        assert_eq!(join_words(&words(&["a"])), "a");
        assert_eq!(join_words(&words(&["a", "b"])), "a and b");
        assert_eq!(join_words(&words(&["a", "b", "c"])), "a, b and c");
    }
}
