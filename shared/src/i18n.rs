//! Text in the two languages the product speaks: Georgian first, English second.

use serde::{Deserialize, Serialize};

/// A language the product is translated into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Georgian, the default.
    #[default]
    Ka,
    /// English.
    En,
}

impl Lang {
    /// Picks a language from an `Accept-Language`-style value; Georgian unless English is asked
    /// for first.
    pub fn negotiate(accept: &str) -> Lang {
        for tag in accept.split(',') {
            let tag = tag.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            if tag.starts_with("ka") {
                return Lang::Ka;
            }
            if tag.starts_with("en") {
                return Lang::En;
            }
        }
        Lang::Ka
    }
}

/// A piece of content (a category's name, a body's name) in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Localized {
    /// Georgian text.
    pub ka: String,
    /// English text.
    pub en: String,
}

impl Localized {
    /// Builds a pair from Georgian and English text.
    pub fn new(ka: impl Into<String>, en: impl Into<String>) -> Self {
        Localized { ka: ka.into(), en: en.into() }
    }

    /// The text in `lang`.
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Ka => &self.ka,
            Lang::En => &self.en,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn georgian_is_the_default_language() {
        assert_eq!(Lang::negotiate(""), Lang::Ka);
        assert_eq!(Lang::negotiate("fr-FR,de"), Lang::Ka);
        assert_eq!(Lang::negotiate("en-GB,en;q=0.9"), Lang::En);
        assert_eq!(Lang::negotiate("ka-GE,en;q=0.5"), Lang::Ka);
    }
}
