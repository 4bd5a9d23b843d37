//! One answer, two formats. Every Open311 answer is built once as a [`Node`] tree and written
//! either as XML or as JSON by the same rules (the spec's "Spark convention"), so the two formats
//! cannot drift apart: a record is an element with child elements or a JSON object; a list is an
//! element wrapping repeated item elements or a JSON array; a missing value is an empty element
//! or `null`.
//!
//! The XML writer is deliberately small: element names are static identifiers, and text is
//! escaped (`&`, `<`, `>`, and `\r`, which a parser would otherwise fold into `\n`) with every
//! character XML 1.0 cannot carry (NUL and the other C0 controls, U+FFFE, U+FFFF) dropped, so a
//! description with stray control characters still yields a well-formed document.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

/// The two formats an answer is written in, chosen by the resource's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.xml`: `text/xml`, the spec's required format.
    Xml,
    /// `.json`: `application/json`.
    Json,
}

impl Format {
    /// The format named by an extension (`xml`, `json`; case-insensitive).
    pub fn from_extension(ext: &str) -> Option<Format> {
        match ext.to_ascii_lowercase().as_str() {
            "xml" => Some(Format::Xml),
            "json" => Some(Format::Json),
            _ => None,
        }
    }

    /// The `Content-Type` of an answer in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Xml => "text/xml; charset=utf-8",
            Format::Json => "application/json; charset=utf-8",
        }
    }
}

/// A value in an answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// Text: an XML text node, a JSON string (ids and codes are text, as the spec asks).
    Text(String),
    /// A whole number.
    Int(i64),
    /// A decimal number (coordinates).
    Float(f64),
    /// `true` or `false`.
    Bool(bool),
    /// Nothing: an empty element, `null`.
    Null,
    /// Named fields in order: child elements, a JSON object.
    Record(Vec<(&'static str, Node)>),
    /// Items: repeated child elements named by the first member, a JSON array.
    List(&'static str, Vec<Node>),
}

impl Node {
    /// Text, or [`Node::Null`] for `None`.
    pub fn opt_text(text: Option<impl Into<String>>) -> Node {
        text.map_or(Node::Null, |t| Node::Text(t.into()))
    }

    /// Text.
    pub fn text(text: impl Into<String>) -> Node {
        Node::Text(text.into())
    }
}

/// A whole answer: the root element's name and what it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The root element (`services`, `service_requests`, `errors`, …); JSON has no root name.
    pub root: &'static str,
    /// The root's content: a record (JSON object) or a list (JSON array).
    pub body: Node,
}

impl Document {
    /// A document whose root holds a list of `item` elements (a top-level JSON array).
    pub fn list(root: &'static str, item: &'static str, items: Vec<Node>) -> Document {
        Document { root, body: Node::List(item, items) }
    }

    /// A document whose root is a record (a top-level JSON object).
    pub fn record(root: &'static str, fields: Vec<(&'static str, Node)>) -> Document {
        Document { root, body: Node::Record(fields) }
    }

    /// The XML text, with its declaration.
    pub fn to_xml(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        write_element(&mut out, self.root, &self.body);
        out.push('\n');
        out
    }

    /// The JSON value.
    pub fn to_json(&self) -> Value {
        json_of(&self.body)
    }

    /// The document as an HTTP answer in `format`.
    pub fn respond(&self, format: Format, status: StatusCode) -> Response {
        let body = match format {
            Format::Xml => self.to_xml(),
            Format::Json => self.to_json().to_string(),
        };
        let mut response = (status, body).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
        response
    }
}

fn write_element(out: &mut String, name: &str, node: &Node) {
    let content = match node {
        Node::Null => None,
        Node::Record(fields) if fields.is_empty() => None,
        Node::List(_, items) if items.is_empty() => None,
        Node::Text(t) if t.is_empty() => None,
        other => Some(other),
    };
    let Some(content) = content else {
        out.push('<');
        out.push_str(name);
        out.push_str("/>");
        return;
    };
    out.push('<');
    out.push_str(name);
    out.push('>');
    match content {
        Node::Text(t) => escape_text(out, t),
        Node::Int(n) => out.push_str(&n.to_string()),
        Node::Float(x) if x.is_finite() => out.push_str(&x.to_string()),
        Node::Float(_) => {}
        Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Node::Record(fields) => {
            for (field, value) in fields {
                write_element(out, field, value);
            }
        }
        Node::List(item, items) => {
            for value in items {
                write_element(out, item, value);
            }
        }
        Node::Null => {}
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// Whether XML 1.0 can carry `c` at all (its `Char` production; Rust chars are never surrogates).
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
}

/// Appends `text` as XML character data.
fn escape_text(out: &mut String, text: &str) {
    for c in text.chars().filter(|&c| xml_char(c)) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

fn json_of(node: &Node) -> Value {
    match node {
        Node::Text(t) => Value::String(t.clone()),
        Node::Int(n) => Value::from(*n),
        Node::Float(x) => serde_json::Number::from_f64(*x).map_or(Value::Null, Value::Number),
        Node::Bool(b) => Value::Bool(*b),
        Node::Null => Value::Null,
        Node::Record(fields) => {
            Value::Object(fields.iter().map(|(k, v)| ((*k).to_owned(), json_of(v))).collect::<Map<_, _>>())
        }
        Node::List(_, items) => Value::Array(items.iter().map(json_of).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Document {
        Document::list(
            "service_requests",
            "request",
            vec![Node::Record(vec![
                ("service_request_id", Node::text("17")),
                ("status_notes", Node::Null),
                ("description", Node::text("Tom & Jerry <b>\"bench\"</b>\r\nline two\u{0}\u{7}")),
                ("lat", Node::Float(41.8027)),
                ("metadata", Node::Bool(true)),
                ("order", Node::Int(2)),
                ("values", Node::List("value", vec![Node::Record(vec![("key", Node::text("off"))])])),
                ("notes", Node::List("note", vec![])),
            ])],
        )
    }

    #[test]
    fn xml_and_json_follow_the_same_tree() {
        let doc = sample();
        assert_eq!(
            doc.to_xml(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<service_requests><request>\
             <service_request_id>17</service_request_id><status_notes/>\
             <description>Tom &amp; Jerry &lt;b&gt;\"bench\"&lt;/b&gt;&#13;\nline two</description>\
             <lat>41.8027</lat><metadata>true</metadata><order>2</order>\
             <values><value><key>off</key></value></values><notes/></request></service_requests>\n"
        );
        assert_eq!(
            doc.to_json(),
            json!([{
                "service_request_id": "17",
                "status_notes": null,
                "description": "Tom & Jerry <b>\"bench\"</b>\r\nline two\u{0}\u{7}",
                "lat": 41.8027,
                "metadata": true,
                "order": 2,
                "values": [{ "key": "off" }],
                "notes": [],
            }])
        );
    }

    #[test]
    fn a_record_root_is_a_json_object() {
        let doc = Document::record("service_definition", vec![("service_code", Node::text("cleaning"))]);
        assert_eq!(doc.to_json(), json!({ "service_code": "cleaning" }));
        assert!(
            doc.to_xml().contains("<service_definition><service_code>cleaning</service_code></service_definition>")
        );
    }

    #[test]
    fn formats_come_from_extensions() {
        assert_eq!(Format::from_extension("xml"), Some(Format::Xml));
        assert_eq!(Format::from_extension("JSON"), Some(Format::Json));
        assert_eq!(Format::from_extension("csv"), None);
        assert_eq!(Format::from_extension(""), None);
    }
}
