//! The value tree a `db.php` array becomes: literals, nested arrays, and *computed* values that remember their line and how they were written.

/// A parsed PHP value.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Value {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
    Array(Vec<Entry>),
    /// Anything PHP would have to run to know: `construct` says how it is written, `line` where.
    Computed {
        construct: String,
        line: usize,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Node {
    pub(super) value: Value,
    /// The line where the value starts.
    pub(super) line: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Key {
    Int(i64),
    Str(String),
    /// A computed key (`PDO::ATTR_TIMEOUT`): kept, but never equal to a name we look up.
    Opaque,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Entry {
    pub(super) key: Key,
    pub(super) node: Node,
}

impl Value {
    /// What kind of value this is, for messages (never the value itself).
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Value::Str(_) => "a string",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Bool(_) => "a boolean",
            Value::Null => "null",
            Value::Array(_) => "an array",
            Value::Computed { .. } => "a computed value",
        }
    }
}

/// The entry for `name`; with duplicate keys the last one wins, as in PHP.
pub(super) fn lookup<'a>(entries: &'a [Entry], name: &str) -> Option<&'a Node> {
    entries
        .iter()
        .rev()
        .find(|e| matches!(&e.key, Key::Str(k) if k == name))
        .map(|e| &e.node)
}
