//! A strategy's parameters by name, as the user wrote them, and the one
//! registry of planners built from them.
//!
//! The bindings hand every strategy to [`build`] as `(name, n, Params)`, so
//! a new planner needs no binding code: its file declares
//! `pub const PLANNER: Registration` and its module name goes into the one
//! `planners!` list in `plan/mod.rs`. Integers arrive as `i128` (every
//! Python int that fits; larger ones as [`Value::TooLarge`]) and are
//! converted here, once, with errors that name the parameter.

use std::collections::BTreeMap;
use std::str::FromStr;

use super::{check_n, Planner};
use crate::error::{Error, Result};

/// One parameter value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i128),
    /// An integer outside `i128`, with its decimal text.
    TooLarge(String),
    Float(f64),
    Str(String),
    List(Vec<Value>),
    /// Anything else, by its type name.
    Other(String),
}

impl Value {
    fn type_name(&self) -> String {
        match self {
            Value::None => "None",
            Value::Bool(_) => "a bool",
            Value::Int(_) | Value::TooLarge(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Str(_) => "a string",
            Value::List(_) => "a list",
            Value::Other(t) => return format!("a {t}"),
        }
        .to_string()
    }
}

/// Convert one integer, naming the argument when it does not fit.
fn int_as<T: TryFrom<i128>>(arg: &str, v: &Value, what: &str) -> Result<T> {
    match v {
        Value::Int(x) => T::try_from(*x).map_err(|_| Error::invalid(arg, format!("must be {what}, got {x}"))),
        Value::TooLarge(s) => Err(Error::invalid(arg, format!("must be {what}, got {s}"))),
        other => Err(Error::invalid(arg, format!("must be an integer, got {}", other.type_name()))),
    }
}

/// Parameters by name; every one must be read (an unread one is a typo).
#[derive(Debug, Default)]
pub struct Params {
    values: BTreeMap<String, Value>,
    read: Vec<String>,
}

impl Params {
    pub fn new(values: impl IntoIterator<Item = (String, Value)>) -> Self {
        Params { values: values.into_iter().collect(), read: Vec::new() }
    }

    /// Add (or replace) one parameter.
    pub fn push(&mut self, arg: &str, v: Value) {
        self.values.insert(arg.to_string(), v);
    }

    fn take(&mut self, arg: &str) -> Result<Value> {
        self.read.push(arg.to_string());
        self.values.remove(arg).ok_or_else(|| Error::invalid(arg, "missing"))
    }

    /// A count or size (a non-negative integer that fits `usize`).
    pub fn usize(&mut self, arg: &str) -> Result<usize> {
        int_as(arg, &self.take(arg)?, "a non-negative integer that fits 64 bits")
    }

    /// `None` or a count.
    pub fn opt_usize(&mut self, arg: &str) -> Result<Option<usize>> {
        match self.take(arg)? {
            Value::None => Ok(None),
            v => int_as(arg, &v, "None or a non-negative integer that fits 64 bits").map(Some),
        }
    }

    /// A seed: any integer in `0..2^64`.
    pub fn u64(&mut self, arg: &str) -> Result<u64> {
        int_as(arg, &self.take(arg)?, "an integer in 0..2^64")
    }

    /// A name, parsed by its enum (see [`crate::names`]).
    pub fn name<T: FromStr<Err = Error>>(&mut self, arg: &str) -> Result<T> {
        match self.take(arg)? {
            Value::Str(s) => s.parse(),
            other => Err(Error::invalid(arg, format!("must be a string, got {}", other.type_name()))),
        }
    }

    /// A list of counts.
    pub fn usizes(&mut self, arg: &str) -> Result<Vec<usize>> {
        match self.take(arg)? {
            Value::List(v) => {
                v.iter().map(|x| int_as(arg, x, "a list of non-negative integers that fit 64 bits")).collect()
            }
            other => Err(Error::invalid(arg, format!("must be a list of integers, got {}", other.type_name()))),
        }
    }

    /// Refuse parameters nobody read.
    pub fn finish(self, planner: &str) -> Result<()> {
        match self.values.keys().next() {
            None => Ok(()),
            Some(k) => Err(Error::invalid(
                k.as_str(),
                format!("not a parameter of {planner} (it takes {})", self.read.join(", ")),
            )),
        }
    }
}

/// How a planner is built from its parameters.
pub struct Registration {
    /// Its name (`-` and `_` alike when looked up).
    pub name: &'static str,
    /// Build the planner for `n` items (`n` already checked).
    pub build: fn(n: usize, p: &mut Params) -> Result<Box<dyn Planner>>,
}

/// Build the planner `name` for `n` items: `n` is checked first, then
/// each parameter as the planner reads it, then that none was left unread.
pub fn build(name: &str, n: usize, mut p: Params) -> Result<Box<dyn Planner>> {
    let key = crate::names::key(name);
    let reg = super::PLANNERS
        .iter()
        .find(|r| crate::names::key(r.name) == key)
        .ok_or_else(|| crate::names::unknown("planner", name, &names()))?;
    check_n(n)?;
    let planner = (reg.build)(n, &mut p)?;
    p.finish(reg.name)?;
    Ok(planner)
}

/// The registered planners' names.
pub fn names() -> Vec<&'static str> {
    super::PLANNERS.iter().map(|r| r.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(v: &[(&str, Value)]) -> Params {
        Params::new(v.iter().map(|(k, v)| (k.to_string(), v.clone())))
    }

    #[test]
    fn integers_are_checked_once_naming_the_argument() {
        let mut p = params(&[
            ("a", Value::Int(-1)),
            ("b", Value::TooLarge("99999999999999999999999999999999999999999".into())),
            ("c", Value::Int(1 << 70)),
            ("d", Value::Str("x".into())),
            ("e", Value::Int(3)),
        ]);
        assert!(p.usize("a").unwrap_err().to_string().starts_with("a: must be a non-negative"));
        assert!(p.usize("b").unwrap_err().to_string().starts_with("b: must be"));
        assert!(p.usize("c").unwrap_err().to_string().contains("1180591620717411303424"));
        assert_eq!(p.usize("d").unwrap_err().to_string(), "d: must be an integer, got a string");
        assert_eq!(p.usize("e").unwrap(), 3);
        assert!(p.usize("e").unwrap_err().to_string().starts_with("e: missing"));
    }

    #[test]
    fn unknown_planners_and_parameters_are_refused() {
        let e = build("nope", 10, Params::default()).err().unwrap().to_string();
        assert!(e.starts_with("planner: unknown planner \"nope\"; expected one of "), "{e}");
        let e = build("pointwise", 10, params(&[("windw", Value::Int(3))])).err().unwrap().to_string();
        assert!(e.starts_with("windw: not a parameter of pointwise"), "{e}");
        assert!(build("point-wise", 10, Params::default()).is_err());
        assert!(build("pointwise", 10, Params::default()).is_ok());
        assert!(build("pointwise", usize::MAX, Params::default()).err().unwrap().to_string().starts_with("n: "));
    }
}
