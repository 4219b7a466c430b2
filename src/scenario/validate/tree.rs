//! The scenario file read into a tree that keeps where each node is (line, column, byte
//! range), with granit-parser — the YAML parser under serde-saphyr — so every problem can
//! point at its place.

use super::Problem;
use serde_saphyr::granit_parser::{Event, Marker, Parser, ScalarStyle};

/// A YAML node and where it is.
#[derive(Debug, Clone)]
pub(super) struct Node {
    pub(super) value: Value,
    pub(super) at: Place,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Place {
    pub(super) line: usize,
    pub(super) column: usize,
    pub(super) offset: usize,
    pub(super) len: usize,
}

#[derive(Debug, Clone)]
pub(super) enum Value {
    /// `plain` scalars may be numbers, booleans or null; quoted ones are strings.
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    pub(super) fn text(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }
    pub(super) fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.text() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
    pub(super) fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }
    pub(super) fn entries(&self) -> &[(Node, Node)] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }
    pub(super) fn kind(&self) -> &'static str {
        match &self.value {
            Value::Scalar { .. } => "a scalar",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a map",
        }
    }
    /// The JSON Schema types this node can stand for (a plain scalar is read as YAML 1.2's
    /// core schema: null, boolean, integer, number, or else a string).
    pub(super) fn types(&self) -> Vec<&'static str> {
        match &self.value {
            Value::Seq(_) => vec!["array"],
            Value::Map(_) => vec!["object"],
            Value::Scalar { plain: false, .. } => vec!["string"],
            Value::Scalar { text, plain: true } => {
                let t = text.as_str();
                if matches!(t, "" | "~" | "null" | "Null" | "NULL") {
                    vec!["null"]
                } else if matches!(t, "true" | "false" | "True" | "False" | "TRUE" | "FALSE") {
                    vec!["boolean", "string"]
                } else if t.parse::<i64>().is_ok() {
                    vec!["integer", "number", "string"]
                } else if t.parse::<f64>().is_ok() {
                    vec!["number", "string"]
                } else {
                    vec!["string"]
                }
            }
        }
    }
}

/// Line starts, to turn a (line, char column) into a byte offset.
pub(super) struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { text, starts }
    }
    fn offset(&self, m: &Marker) -> usize {
        if let Some(b) = m.byte_offset() {
            return b;
        }
        let start = self
            .starts
            .get(m.line().saturating_sub(1))
            .copied()
            .unwrap_or(self.text.len());
        let line = &self.text[start..];
        start
            + line
                .char_indices()
                .nth(m.col())
                .map_or(line.len(), |(i, _)| i)
    }
    fn place(&self, start: &Marker, end: &Marker) -> Place {
        let offset = self.offset(start);
        let stop = self.offset(end).max(offset);
        // A node's end may be on a later line (a block map); underline its first line.
        let first_line_end = self.text[offset..]
            .find('\n')
            .map_or(self.text.len(), |i| offset + i);
        Place {
            line: start.line(),
            column: start.col() + 1,
            offset,
            len: stop.min(first_line_end).saturating_sub(offset).max(1),
        }
    }
    /// The place of a single point (a syntax error).
    pub(super) fn point(&self, line: usize, column: usize) -> Place {
        let start = self
            .starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(self.text.len());
        let line_text = &self.text[start..];
        let offset = start
            + line_text
                .char_indices()
                .nth(column.saturating_sub(1))
                .map_or(line_text.len(), |(i, _)| i);
        Place {
            line,
            column,
            offset: offset.min(self.text.len()),
            len: 1,
        }
    }
}

/// Read the whole document into a located tree. `Err` is a syntax error.
pub(super) fn tree(text: &str) -> Result<Option<Node>, Problem> {
    let lines = Lines::new(text);
    let mut parser = Parser::new_from_str(text);
    // Open collections: their start, and what they hold so far.
    enum Open {
        Seq(Marker, Vec<Node>),
        Map(Marker, Vec<Node>),
    }
    let mut stack: Vec<Open> = Vec::new();
    let mut root = None;
    let finish = |node: Node, stack: &mut Vec<Open>, root: &mut Option<Node>| match stack.last_mut()
    {
        Some(Open::Seq(_, items) | Open::Map(_, items)) => items.push(node),
        None => *root = Some(node),
    };
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| {
            let m = e.marker();
            let at = lines.point(m.line(), m.col() + 1);
            Problem {
                line: at.line,
                column: at.column,
                offset: at.offset,
                len: at.len,
                message: format!("not valid YAML: {}", e.info()),
                help: Some("check the indentation and quoting around here".into()),
            }
        })?;
        match event {
            Event::Scalar(text, style, _, _) => {
                let node = Node {
                    value: Value::Scalar {
                        text: text.to_string(),
                        plain: style == ScalarStyle::Plain,
                    },
                    at: lines.place(&span.start, &span.end),
                };
                finish(node, &mut stack, &mut root);
            }
            Event::Alias(_) => {
                let node = Node {
                    value: Value::Scalar {
                        text: String::new(),
                        plain: true,
                    },
                    at: lines.place(&span.start, &span.end),
                };
                finish(node, &mut stack, &mut root);
            }
            Event::SequenceStart(..) => stack.push(Open::Seq(span.start, Vec::new())),
            Event::MappingStart(..) => stack.push(Open::Map(span.start, Vec::new())),
            Event::SequenceEnd | Event::MappingEnd => {
                let node = match stack.pop() {
                    Some(Open::Seq(start, items)) => Node {
                        value: Value::Seq(items),
                        at: lines.place(&start, &span.end),
                    },
                    Some(Open::Map(start, items)) => {
                        let mut entries = Vec::new();
                        let mut it = items.into_iter();
                        while let (Some(k), Some(v)) = (it.next(), it.next()) {
                            entries.push((k, v));
                        }
                        Node {
                            value: Value::Map(entries),
                            at: lines.place(&start, &span.end),
                        }
                    }
                    None => continue,
                };
                finish(node, &mut stack, &mut root);
            }
            Event::DocumentEnd if root.is_some() => break,
            _ => {}
        }
    }
    Ok(root)
}
