//! Typed field values: how each kind of tag text is parsed and written.
//!
//! Every value on the wire is text. [`FieldValue`] is the one place that says
//! what text a type accepts (the error names what is allowed, so it can go
//! straight into a 9000 `ResultSTR`) and how it is written back. Writers push
//! straight into the output buffer: numbers never allocate, strings are
//! escaped in place.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::net::IpAddr;

use chrono::NaiveDateTime;

/// A type that can be the text of one tag.
pub trait FieldValue: Sized {
    /// Parses trimmed, unescaped, non-empty text. The error says what is allowed.
    fn parse_text(text: &str) -> Result<Self, String>;
    /// Appends the value as escaped XML text.
    fn write_xml(&self, out: &mut String);
    /// The value as plain (unescaped) text, for JSON and logs.
    fn text(&self) -> Cow<'_, str>;
}

/// Characters XML 1.0 cannot carry at all, not even as references.
pub fn is_forbidden_char(c: char) -> bool {
    (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
}

/// Appends `s` as element content: `&`, `<` and `>` escaped, CR written as
/// `&#13;` (a raw CR would be read back as LF), and characters XML cannot
/// carry dropped (a datagram with them would be refused by every reader).
pub fn escape_into(out: &mut String, s: &str) {
    let mut rest = s;
    while let Some(i) =
        rest.find(|c: char| matches!(c, '&' | '<' | '>' | '\r') || is_forbidden_char(c))
    {
        out.push_str(&rest[..i]);
        let c = rest[i..].chars().next().expect("found a char");
        out.push_str(match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '\r' => "&#13;",
            _ => "",
        });
        rest = &rest[i + c.len_utf8()..];
    }
    out.push_str(rest);
}

impl FieldValue for String {
    fn parse_text(text: &str) -> Result<Self, String> {
        Ok(text.to_owned())
    }
    fn write_xml(&self, out: &mut String) {
        escape_into(out, self);
    }
    fn text(&self) -> Cow<'_, str> {
        Cow::Borrowed(self)
    }
}

macro_rules! int_value {
    ($($t:ty),*) => {$(
        impl FieldValue for $t {
            fn parse_text(text: &str) -> Result<Self, String> {
                // Digits only (a `-` for signed types): Rust's parser also
                // takes `+1`, which no client of the original sends.
                let digits = text.strip_prefix('-').filter(|_| <$t>::MIN != 0).unwrap_or(text);
                let plain = !digits.is_empty()
                    && digits.bytes().all(|b| b.is_ascii_digit())
                    && !(digits.len() < text.len() && digits.bytes().all(|b| b == b'0'));
                plain.then(|| text.parse().ok()).flatten().ok_or_else(|| {
                    format!("expected a whole number from {} to {}", <$t>::MIN, <$t>::MAX)
                })
            }
            fn write_xml(&self, out: &mut String) {
                let _ = write!(out, "{self}");
            }
            fn text(&self) -> Cow<'_, str> {
                Cow::Owned(self.to_string())
            }
        }
    )*};
}
int_value!(u8, u16, u32, u64, i32);

/// Flags are written `1`/`0`; on input `on`/`off`, `true`/`false` and
/// `yes`/`no` are accepted too (the seed's timer message uses on/off).
impl FieldValue for bool {
    fn parse_text(text: &str) -> Result<Self, String> {
        const TRUE: [&str; 4] = ["1", "on", "true", "yes"];
        const FALSE: [&str; 4] = ["0", "off", "false", "no"];
        if TRUE.iter().any(|t| t.eq_ignore_ascii_case(text)) {
            Ok(true)
        } else if FALSE.iter().any(|t| t.eq_ignore_ascii_case(text)) {
            Ok(false)
        } else {
            Err("expected 1 or 0".into())
        }
    }
    fn write_xml(&self, out: &mut String) {
        out.push(if *self { '1' } else { '0' });
    }
    fn text(&self) -> Cow<'_, str> {
        Cow::Borrowed(if *self { "1" } else { "0" })
    }
}

impl FieldValue for IpAddr {
    fn parse_text(text: &str) -> Result<Self, String> {
        text.parse()
            .map_err(|_| "expected an IPv4 or IPv6 address".into())
    }
    fn write_xml(&self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
    fn text(&self) -> Cow<'_, str> {
        Cow::Owned(self.to_string())
    }
}

/// The wall-clock format of the `Time` tag: `YYYY-MM-DD HH:MM:SS`.
pub const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

impl FieldValue for NaiveDateTime {
    fn parse_text(text: &str) -> Result<Self, String> {
        NaiveDateTime::parse_from_str(text, TIME_FORMAT)
            .map_err(|_| "expected YYYY-MM-DD HH:MM:SS".into())
    }
    fn write_xml(&self, out: &mut String) {
        let _ = write!(out, "{}", self.format(TIME_FORMAT));
    }
    fn text(&self) -> Cow<'_, str> {
        Cow::Owned(self.format(TIME_FORMAT).to_string())
    }
}

/// Declares an enum whose variants have exactly one wire spelling each.
///
/// The same table serves XML, the database and the monitors, so nothing ever
/// compares strings in a routing loop (docs/architecture.md, rule 6). Parsing is
/// case-insensitive, writing is canonical.
#[macro_export]
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $( $(#[$vmeta])* $variant ),+ }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The canonical wire spelling.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Case-insensitive lookup of a wire spelling.
            pub fn from_text(text: &str) -> Option<Self> {
                $( if text.eq_ignore_ascii_case($text) { return Some($name::$variant); } )+
                None
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = String;
            fn from_str(text: &str) -> Result<Self, String> {
                Self::from_text(text).ok_or_else(|| {
                    let allowed: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    format!("expected one of {}", allowed.join(", "))
                })
            }
        }

        impl $crate::value::FieldValue for $name {
            fn parse_text(text: &str) -> Result<Self, String> {
                text.parse()
            }
            fn write_xml(&self, out: &mut String) {
                out.push_str(self.as_str());
            }
            fn text(&self) -> ::std::borrow::Cow<'_, str> {
                ::std::borrow::Cow::Borrowed(self.as_str())
            }
        }
    };
}

/// A string newtype that must be a single token (no whitespace or control
/// characters) of bounded length: extension numbers, job numbers.
macro_rules! token_newtype {
    ($(#[$meta:meta])* $name:ident, $max:expr, $what:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Checks and wraps a token.
            pub fn new(text: impl Into<String>) -> Result<Self, String> {
                let text = text.into();
                if text.is_empty() || text.chars().count() > $max {
                    return Err(format!("{} must be 1 to {} characters", $what, $max));
                }
                if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    return Err(format!("{} must not contain spaces", $what));
                }
                Ok(Self(text))
            }
            /// The number as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FieldValue for $name {
            fn parse_text(text: &str) -> Result<Self, String> {
                Self::new(text)
            }
            fn write_xml(&self, out: &mut String) {
                escape_into(out, &self.0);
            }
            fn text(&self) -> Cow<'_, str> {
                Cow::Borrowed(&self.0)
            }
        }
    };
}
pub(crate) use token_newtype;

/// A numeric newtype id.
macro_rules! number_newtype {
    ($(#[$meta:meta])* $name:ident($inner:ty)) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub $inner);

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl FieldValue for $name {
            fn parse_text(text: &str) -> Result<Self, String> {
                <$inner as FieldValue>::parse_text(text).map($name)
            }
            fn write_xml(&self, out: &mut String) {
                self.0.write_xml(out)
            }
            fn text(&self) -> Cow<'_, str> {
                Cow::Owned(self.0.to_string())
            }
        }
    };
}
pub(crate) use number_newtype;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_only_what_content_needs() {
        let mut out = String::new();
        escape_into(&mut out, "a<b & c>d \"e\" 'f'\r\n\u{1}\u{FFFF}中");
        assert_eq!(out, "a&lt;b &amp; c&gt;d \"e\" 'f'&#13;\n中");
    }

    #[test]
    fn flags_accept_the_seed_spellings() {
        assert_eq!(bool::parse_text("on"), Ok(true));
        assert_eq!(bool::parse_text("OFF"), Ok(false));
        assert_eq!(bool::parse_text("1"), Ok(true));
        assert!(bool::parse_text("2").is_err());
    }

    #[test]
    fn integers_name_their_range() {
        assert_eq!(
            u16::parse_text("70000").unwrap_err(),
            "expected a whole number from 0 to 65535"
        );
    }
}
