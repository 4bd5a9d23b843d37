//! Identifiers. Slugs name reference data people edit (categories, bodies, districts); UUIDv7s
//! name records created at run time (users, reports), so that a phone can mint them offline.

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// Why a slug was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a slug is 1–64 characters of lowercase a–z, 0–9 and '-', starting with a letter")]
pub struct SlugError;

macro_rules! slug_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses a slug: lowercase ASCII letters, digits and '-', starting with a letter.
            pub fn parse(s: impl Into<String>) -> Result<Self, SlugError> {
                let s = s.into();
                let ok = !s.is_empty()
                    && s.len() <= 64
                    && s.starts_with(|c: char| c.is_ascii_lowercase())
                    && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
                if ok { Ok(Self(s)) } else { Err(SlugError) }
            }

            /// The slug as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = SlugError;
            fn try_from(s: String) -> Result<Self, SlugError> {
                Self::parse(s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

slug_id!(
    /// A report category, e.g. `street-lighting`.
    CategoryId
);
slug_id!(
    /// A responsible body (service, agency, district administration, company), e.g.
    /// `gamgeoba-gldani`.
    BodyId
);
slug_id!(
    /// One of Tbilisi's districts (raioni), e.g. `gldani`.
    DistrictId
);

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh time-ordered identifier (UUIDv7).
            pub fn new_v7() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

uuid_id!(
    /// An account.
    UserId
);
uuid_id!(
    /// A Fix-Tbilisi report.
    ReportId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lowercase_words() {
        assert!(CategoryId::parse("street-lighting").is_ok());
        assert!(DistrictId::parse("gldani").is_ok());
        assert_eq!(CategoryId::parse(""), Err(SlugError));
        assert_eq!(CategoryId::parse("Street"), Err(SlugError));
        assert_eq!(CategoryId::parse("9lives"), Err(SlugError));
        assert_eq!(CategoryId::parse("a b"), Err(SlugError));
        assert_eq!(CategoryId::parse("x".repeat(65)), Err(SlugError));
    }
}
