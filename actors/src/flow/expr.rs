//! Flow expressions and templates (flows.md "Expressions").
//!
//! Expressions are rhai, compiled once when a flow version is loaded
//! (never per call) and evaluated against the call's variables and the
//! globals. The engine is sandboxed: expressions only (no statements, no
//! loops, no `let`), no modules, no printing, and limits on operations,
//! string, array and map sizes and nesting, so a flow written by a
//! non-programmer cannot stall a trunk's thread or grow without bound.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use rhai::{AST, Dynamic, Engine, Map, Scope};

/// At most this many rhai operations per evaluation.
const MAX_OPERATIONS: u64 = 20_000;
/// Longest string an expression may build.
const MAX_STRING: usize = 4_096;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut e = Engine::new();
        e.set_max_operations(MAX_OPERATIONS)
            .set_max_string_size(MAX_STRING)
            .set_max_array_size(256)
            .set_max_map_size(256)
            .set_max_expr_depths(32, 16)
            .set_max_call_levels(8);
        // Expressions have no output: `print` and `debug` go nowhere.
        e.on_print(|_| {});
        e.on_debug(|_, _, _| {});
        e
    })
}

/// A compiled expression (shared by every call on its flow version).
#[derive(Clone)]
pub struct Expr {
    pub src: String,
    ast: Arc<AST>,
}

impl std::fmt::Debug for Expr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Expr({:?})", self.src)
    }
}

impl PartialEq for Expr {
    fn eq(&self, other: &Self) -> bool {
        self.src == other.src
    }
}
impl Eq for Expr {}

/// What an expression sees: the call's variables and the globals.
pub struct Vars<'a> {
    pub call: &'a BTreeMap<String, String>,
    pub globals: &'a BTreeMap<String, String>,
}

impl Expr {
    /// Compiles `src`; the error says what is wrong and where.
    pub fn compile(src: &str) -> Result<Self, String> {
        if src.trim().is_empty() {
            return Err("empty expression".into());
        }
        let ast = engine()
            .compile_expression(src)
            .map_err(|e| e.to_string())?;
        Ok(Expr {
            src: src.to_owned(),
            ast: Arc::new(ast),
        })
    }

    /// The value, or why it could not be computed (an unknown variable,
    /// a type mismatch, a limit reached).
    pub fn eval(&self, vars: &Vars<'_>) -> Result<Dynamic, String> {
        let mut scope = Scope::new();
        for (k, v) in vars.call {
            scope.push_constant(k.as_str(), v.clone());
        }
        let mut g = Map::new();
        for (k, v) in vars.globals {
            g.insert(k.as_str().into(), Dynamic::from(v.clone()));
        }
        scope.push_constant("global", g);
        engine()
            .eval_ast_with_scope::<Dynamic>(&mut scope, &self.ast)
            .map_err(|e| e.to_string())
    }

    /// A condition: anything but `true` is false (an error is reported).
    pub fn truth(&self, vars: &Vars<'_>) -> Result<bool, String> {
        let v = self.eval(vars)?;
        v.as_bool()
            .map_err(|t| format!("`{}` gave a {t}, not true or false", self.src))
    }

    /// A value for a variable: its text (`()` is empty).
    pub fn text(&self, vars: &Vars<'_>) -> Result<String, String> {
        let v = self.eval(vars)?;
        Ok(if v.is_unit() {
            String::new()
        } else {
            v.to_string()
        })
    }
}

/// Text with `{name}` or `{global.name}` holes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub src: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Var(String),
    Global(String),
}

/// Whether `name` can be a flow variable (and a rhai identifier).
pub fn is_var_name(name: &str) -> bool {
    let mut c = name.chars();
    matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_')
        && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Template {
    pub fn parse(src: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = src;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            let after = &rest[open + 1..];
            let close = after.find('}').ok_or_else(|| {
                format!("`{{` at {} is never closed", src.len() - rest.len() + open)
            })?;
            let name = after[..close].trim();
            let part = match name.strip_prefix("global.") {
                Some(g) if is_var_name(g) => Part::Global(g.to_owned()),
                None if is_var_name(name) => Part::Var(name.to_owned()),
                _ => return Err(format!("`{{{name}}}` is not a variable name")),
            };
            parts.push(part);
            rest = &after[close + 1..];
        }
        if rest.contains('}') {
            return Err("`}` without `{`".into());
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Template {
            src: src.to_owned(),
            parts,
        })
    }

    /// The text with each hole filled (an unknown variable is empty).
    pub fn fill(&self, vars: &Vars<'_>) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Var(v) => out.push_str(vars.call.get(v).map_or("", String::as_str)),
                Part::Global(g) => out.push_str(vars.globals.get(g).map_or("", String::as_str)),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> (BTreeMap<String, String>, BTreeMap<String, String>) {
        let call = [("customer_id", "9123"), ("caller", "138")]
            .into_iter()
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .collect();
        let globals = [("holiday".to_owned(), "1".to_owned())].into();
        (call, globals)
    }

    #[test]
    fn expressions_see_the_calls_variables_and_the_globals() {
        let (call, globals) = vars();
        let v = Vars {
            call: &call,
            globals: &globals,
        };
        let e = Expr::compile("customer_id.starts_with(\"9\")").unwrap();
        assert!(e.truth(&v).unwrap());
        assert!(
            Expr::compile("global.holiday == \"1\"")
                .unwrap()
                .truth(&v)
                .unwrap()
        );
        assert!(
            !Expr::compile("global.nope == \"1\"")
                .unwrap()
                .truth(&v)
                .unwrap()
        );
        assert_eq!(
            Expr::compile("caller + \"-\" + customer_id")
                .unwrap()
                .text(&v)
                .unwrap(),
            "138-9123"
        );
        // Not a condition: an error, which the engine reports.
        assert!(Expr::compile("caller").unwrap().truth(&v).is_err());
        assert!(Expr::compile("nobody == 1").unwrap().eval(&v).is_err());
    }

    #[test]
    fn statements_loops_and_runaway_work_are_refused() {
        assert!(Expr::compile("loop {}").is_err());
        assert!(Expr::compile("let x = 1; x").is_err());
        assert!(Expr::compile("").is_err());
        assert!(Expr::compile("1 +").is_err());
        let (call, globals) = vars();
        let v = Vars {
            call: &call,
            globals: &globals,
        };
        // A string that would grow past the limit stops with an error.
        let e = Expr::compile("\"x\".pad(100000, \"y\")").unwrap();
        assert!(e.eval(&v).is_err());
    }

    #[test]
    fn templates_fill_holes_and_refuse_bad_ones() {
        let (call, globals) = vars();
        let v = Vars {
            call: &call,
            globals: &globals,
        };
        let t = Template::parse("id={customer_id}&h={global.holiday}&x={none}").unwrap();
        assert_eq!(t.fill(&v), "id=9123&h=1&x=");
        assert!(Template::parse("{customer id}").is_err());
        assert!(Template::parse("{open").is_err());
        assert!(Template::parse("close}").is_err());
        assert_eq!(Template::parse("plain").unwrap().fill(&v), "plain");
    }
}
