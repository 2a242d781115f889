//! Python sources parsed with ruff's parser, line numbers for syntax-tree offsets, and
//! the definitions (functions, methods, classes) that the Python rules inspect.

use std::path::Path;

use ruff_python_ast::statement_visitor::{StatementVisitor, walk_stmt};
use ruff_python_ast::{Decorator, Expr, ModModule, Stmt, StmtClassDef, StmtFunctionDef};
use ruff_python_parser::{Parsed, parse_module};
use ruff_text_size::TextSize;

use super::LineIndex;

/// True for files the Python rules read: `.py`.
pub fn is_python(path: &Path) -> bool {
    path.extension().is_some_and(|extension| extension == "py")
}

/// A Python file that parsed.
pub struct Source {
    text: String,
    parsed: Parsed<ModModule>,
    lines: LineIndex,
}

/// A Python file's parse failure: the line and a message.
#[derive(Debug)]
pub struct SyntaxError {
    pub line: usize,
    pub message: String,
}

impl Source {
    /// Parses `bytes` as a Python module. A leading byte order mark is skipped.
    pub fn parse(bytes: &[u8]) -> Result<Source, SyntaxError> {
        let text = std::str::from_utf8(bytes).map_err(|error| SyntaxError {
            line: 1 + bytes[..error.valid_up_to()]
                .iter()
                .filter(|byte| **byte == b'\n')
                .count(),
            message:
                "the file is not valid UTF-8, so it cannot be parsed as Python; save it as UTF-8"
                    .to_string(),
        })?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text).to_string();
        let lines = LineIndex::new(&text);

        match parse_module(&text) {
            Ok(parsed) => Ok(Source {
                text,
                parsed,
                lines,
            }),
            Err(error) => Err(SyntaxError {
                line: lines.line(usize::from(error.location.start())),
                message: format!(
                    "syntax error: {}; fix it so the rules can be checked",
                    error.error
                ),
            }),
        }
    }

    pub fn module(&self) -> &ModModule {
        self.parsed.syntax()
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Returns the 1-based line that contains byte `offset`.
    pub fn line(&self, offset: TextSize) -> usize {
        self.lines.line(usize::from(offset))
    }
}

/// A function, method or class, with its qualified name as Python's `__qualname__`
/// spells it (`Outer.method`, `outer.<locals>.inner`).
pub enum Definition<'a> {
    Function {
        node: &'a StmtFunctionDef,
        qualname: String,
        /// True when the function is defined directly in a class body, so it is a
        /// method.
        in_class: bool,
    },
    Class {
        node: &'a StmtClassDef,
        qualname: String,
    },
}

impl Definition<'_> {
    /// Names the definition for a message: `function "f"`, `method "C.m"`,
    /// `class "C"`.
    pub fn describe(&self) -> String {
        match self {
            Definition::Function {
                qualname,
                in_class: true,
                ..
            } => format!("method \"{qualname}\""),
            Definition::Function { qualname, .. } => format!("function \"{qualname}\""),
            Definition::Class { qualname, .. } => format!("class \"{qualname}\""),
        }
    }

    /// Returns the offset of the defined name, which is on the `def` or `class` line even
    /// when decorators come first.
    pub fn name_offset(&self) -> TextSize {
        match self {
            Definition::Function { node, .. } => node.name.range.start(),
            Definition::Class { node, .. } => node.name.range.start(),
        }
    }

    pub fn body(&self) -> &[Stmt] {
        match self {
            Definition::Function { node, .. } => &node.body,
            Definition::Class { node, .. } => &node.body,
        }
    }
}

/// True when one of `decorators` is `@name` or `@module.name`, such as
/// `@staticmethod` or `@typing.overload`.
pub fn has_decorator(decorators: &[Decorator], name: &str) -> bool {
    decorators
        .iter()
        .any(|decorator| match &decorator.expression {
            Expr::Name(expression) => expression.id.as_str() == name,
            Expr::Attribute(attribute) => attribute.attr.as_str() == name,
            _ => false,
        })
}

/// Lists every function, method and class in `module`, nested ones included, in
/// source order. Lambdas are expressions, not definitions, so they are not listed.
pub fn definitions(module: &ModModule) -> Vec<Definition<'_>> {
    let mut collector = Collector::default();
    collector.visit_body(&module.body);
    collector.found
}

#[derive(Default)]
struct Collector<'a> {
    /// Qualified names of the enclosing definitions, innermost last, each with true
    /// for a class.
    scopes: Vec<(String, bool)>,
    found: Vec<Definition<'a>>,
}

impl Collector<'_> {
    fn qualify(&self, name: &str) -> String {
        match self.scopes.last() {
            None => name.to_string(),
            Some((parent, true)) => format!("{parent}.{name}"),
            Some((parent, false)) => format!("{parent}.<locals>.{name}"),
        }
    }
}

impl<'a> StatementVisitor<'a> for Collector<'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        let (qualname, is_class) = match stmt {
            Stmt::FunctionDef(node) => {
                let qualname = self.qualify(node.name.as_str());
                let in_class = self.scopes.last().is_some_and(|(_, is_class)| *is_class);
                self.found.push(Definition::Function {
                    node,
                    qualname: qualname.clone(),
                    in_class,
                });
                (qualname, false)
            }
            Stmt::ClassDef(node) => {
                let qualname = self.qualify(node.name.as_str());
                self.found.push(Definition::Class {
                    node,
                    qualname: qualname.clone(),
                });
                (qualname, true)
            }
            _ => {
                walk_stmt(self, stmt);
                return;
            }
        };
        self.scopes.push((qualname, is_class));
        walk_stmt(self, stmt);
        self.scopes.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<String> {
        let source = Source::parse(text.as_bytes()).unwrap();
        definitions(source.module())
            .iter()
            .map(Definition::describe)
            .collect()
    }

    #[test]
    fn definitions_use_python_qualnames() {
        let text = "\
class Outer:
    def method(self):
        def helper():
            pass
    if True:
        def conditional(self):
            pass
    class Inner:
        pass

async def fetch():
    square = lambda x: x * x
";
        assert_eq!(
            names(text),
            [
                "class \"Outer\"",
                "method \"Outer.method\"",
                "function \"Outer.method.<locals>.helper\"",
                "method \"Outer.conditional\"",
                "class \"Outer.Inner\"",
                "function \"fetch\"",
            ]
        );
    }

    #[test]
    fn syntax_error_names_its_line() {
        let error = Source::parse(b"x = 1\n\ndef broken(:\n    pass\n")
            .err()
            .unwrap();
        assert_eq!(error.line, 3);
        assert!(error.message.starts_with("syntax error: "), "{error:?}");
    }

    #[test]
    fn invalid_utf8_is_a_syntax_error() {
        let error = Source::parse(b"x = 1\ny = '\xff'\n").err().unwrap();
        assert_eq!(error.line, 2);
        assert!(error.message.contains("UTF-8"));
    }

    #[test]
    fn lines_count_from_one() {
        let source = Source::parse(b"a = 1\nb = 2\n").unwrap();
        assert_eq!(source.line(TextSize::from(0)), 1);
        assert_eq!(source.line(TextSize::from(5)), 1);
        assert_eq!(source.line(TextSize::from(6)), 2);
    }
}
