//! The one error type of the phone core, with messages a log (and, for the user-facing variants,
//! a person) can act on.

use smartmap_shared::photo::PhotoError;

/// Everything that can go wrong in the phone core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The local database failed (disk full, corrupted file, a bug in a query).
    #[error("the local database failed: {0}")]
    Store(#[from] rusqlite::Error),
    /// The local database was written by a newer version of the app.
    #[error("the local database has schema version {found}; this app understands up to {supported}")]
    SchemaTooNew {
        /// The file's `user_version`.
        found: i64,
        /// The newest this build migrates to.
        supported: i64,
    },
    /// Something stored locally or received from the server is not what it should be.
    #[error("invalid data: {0}")]
    Corrupt(String),
    /// Categories, districts and routing have never been downloaded, so nothing can be
    /// previewed yet.
    #[error("reference data (categories, districts, routing) has not been synced yet: connect to the internet once")]
    NotYetSynced,
    /// The category slug is not one the phone knows (or it is no longer active).
    #[error("unknown category '{0}'")]
    UnknownCategory(String),
    /// The location is in no district of Tbilisi.
    #[error("the location {0} is outside Tbilisi")]
    OutsideTbilisi(String),
    /// The report is not on this phone.
    #[error("report {0} is not on this phone")]
    ReportNotFound(String),
    /// The user's input cannot be queued as it is.
    #[error("{0}")]
    InvalidInput(String),
    /// A photo was refused by the photo pipeline (too large, not an image, damaged).
    #[error("photo {index}: {source}")]
    Photo {
        /// Its position among the photos given.
        index: usize,
        /// Why.
        #[source]
        source: PhotoError,
    },
    /// No valid session: the user must sign in again. Captures still work and stay queued.
    #[error("signed out: sign in again to send queued changes")]
    NeedsLogin,
    /// Another account signed in (or the session changed hands) while the sync was sending what
    /// belongs to the previous one: it was not sent, and stays queued for its account.
    #[error("the signed-in account changed during the sync; queued changes stay with their account")]
    AccountChanged,
    /// The e-mail or password was wrong.
    #[error("wrong e-mail or password")]
    InvalidCredentials,
    /// The server could not be reached or the connection broke.
    #[error("network error: {0}")]
    Network(#[from] reqwest::Error),
    /// The server answered with an unexpected status.
    #[error("the server answered {status}: {body}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The start of the answer's body (problem+json, usually).
        body: String,
    },
    /// A background task (photo preparation) died.
    #[error("a background task failed: {0}")]
    Task(String),
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Corrupt(e.to_string())
    }
}

impl Error {
    /// Whether retrying later may help (network trouble, 429, 5xx), as opposed to a state only the
    /// user or a developer can fix.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Network(_) => true,
            Error::Server { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}

/// The phone core's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
