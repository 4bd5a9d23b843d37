//! A server answer read whole, with assertions that say what was asked when they fail.

use reqwest::header::HeaderMap;
use serde_json::Value;

/// An HTTP answer: status, headers and body, plus the request line for failure messages.
#[derive(Debug)]
pub struct Reply {
    /// `METHOD /path`, for messages.
    pub request: String,
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    /// Reads a response whole.
    pub async fn read(request: String, response: reqwest::Response) -> Reply {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.unwrap_or_else(|e| panic!("{request}: reading the body: {e}")).to_vec();
        Reply { request, status, headers, body }
    }

    /// The body as text (lossy), for messages and searches.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{} → {}: body is not JSON ({e}): {}", self.request, self.status, self.text()))
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status and returns the JSON body (or `null` for an empty one).
    #[track_caller]
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "{} → {}: {}", self.request, self.status, self.text());
        if self.body.is_empty() { Value::Null } else { self.json() }
    }

    /// Asserts an RFC 9457 problem: the status, `application/problem+json`, the `status` member
    /// and the machine `code`. Returns the problem.
    #[track_caller]
    pub fn expect_problem(&self, status: u16, code: &str) -> Value {
        assert_eq!(self.status, status, "{} → {}: {}", self.request, self.status, self.text());
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{} → {}: not problem+json",
            self.request,
            self.status
        );
        let problem = self.json();
        assert_eq!(problem["status"], status, "{}: problem.status: {problem}", self.request);
        assert_eq!(problem["code"], code, "{}: problem.code: {problem}", self.request);
        problem
    }

    /// Asserts a problem that names `field` with `code` among its `errors`. Returns the problem.
    #[track_caller]
    pub fn expect_field_error(&self, status: u16, field: &str, code: &str) -> Value {
        assert_eq!(self.status, status, "{} → {}: {}", self.request, self.status, self.text());
        let problem_code = match status {
            413 => "too_large",
            _ => "invalid_input",
        };
        let problem = self.expect_problem(status, problem_code);
        let named = problem["errors"]
            .as_array()
            .is_some_and(|errors| errors.iter().any(|e| e["field"] == field && e["code"] == code));
        assert!(named, "{}: expected an error on `{field}` with code `{code}`: {problem}", self.request);
        problem
    }
}
