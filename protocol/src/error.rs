//! Why a datagram was refused. The text of [`DecodeErrorKind`] is what the
//! client reads in the 9000 reply's `ResultSTR`.

use thiserror::Error;

/// A refused datagram: the reason, plus what could be read of the request
/// (its MsgType and Seq) so the 9000 reply can still name and echo them.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{kind}")]
pub struct DecodeError {
    /// The request's MsgType, or 0 when it could not be read.
    pub req: u32,
    /// The request's `Seq`, echoed in the reply.
    pub seq: Option<String>,
    /// Why.
    pub kind: DecodeErrorKind,
}

/// The reasons a datagram is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeErrorKind {
    #[error("datagram of {0} bytes is over the 8 KiB limit")]
    TooLarge(usize),
    #[error("datagram is empty")]
    Empty,
    #[error("datagram is not valid {0} text")]
    BadEncoding(&'static str),
    /// Not UTF-8, but valid GBK: a Chinese Windows client on a UTF-8
    /// server (the original spoke GBK).
    #[error(
        "datagram is not valid utf-8 text but is valid GBK: the sender uses GBK (set the encoding to gbk, or send UTF-8)"
    )]
    GbkOnUtf8,
    #[error("DOCTYPE is not allowed")]
    Doctype,
    #[error("processing instructions are not allowed")]
    ProcessingInstruction,
    #[error("the XML declaration is only allowed at the start")]
    LateDeclaration,
    #[error("<{0}> has attributes; values go in element text")]
    Attributes(String),
    #[error("<{inner}> is nested inside <{outer}>; values must be plain text")]
    Nested { outer: String, inner: String },
    #[error("<{0}> is not closed")]
    Unclosed(String),
    #[error("</{found}> does not close <{open}>")]
    Mismatched { open: String, found: String },
    #[error("</{0}> closes no element")]
    UnexpectedEnd(String),
    #[error("text outside any element")]
    StrayText,
    #[error("unknown entity &{0};")]
    UnknownEntity(String),
    #[error("bad character reference &{0};")]
    BadCharRef(String),
    #[error("character U+{0:04X} is not allowed in XML")]
    ForbiddenChar(u32),
    #[error("malformed XML: {0}")]
    Syntax(String),
    #[error("tag name {0} is not a valid XML name")]
    BadTagName(String),
    #[error("missing MsgType")]
    MissingMsgType,
    #[error("unknown MsgType {0}")]
    UnknownMsgType(String),
    #[error("missing {0}")]
    MissingTag(&'static str),
    #[error("missing {0}")]
    MissingOneOf(&'static str),
    #[error("bad {tag} '{value}': {allowed}")]
    BadValue {
        tag: &'static str,
        value: String,
        allowed: String,
    },
}

/// Cuts a value for an error message, on a character boundary.
pub(crate) fn clip(value: &str) -> String {
    const MAX: usize = 40;
    match value.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}...", &value[..i]),
        None => value.to_owned(),
    }
}
