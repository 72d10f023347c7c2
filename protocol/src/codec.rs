//! Framing: bytes to a flat list of (tag, text) fields and back.
//!
//! A datagram is a root-less run of `<Tag>text</Tag>` elements. This module
//! knows nothing of meanings; the message modules turn [`Fields`] into typed
//! messages through [`Body`].

use std::borrow::Cow;

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::error::{DecodeErrorKind, clip};
use crate::tags::Tag;
use crate::value::{FieldValue, escape_into, is_forbidden_char};

/// The largest datagram accepted (docs/protocol.md section 1).
pub const MAX_DATAGRAM: usize = 8 * 1024;

/// The text encoding of a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextEncoding {
    /// The default.
    #[default]
    Utf8,
    /// Legacy Windows clients.
    Gbk,
}

impl TextEncoding {
    /// The config spelling (`utf-8`, `gbk`).
    pub const fn as_str(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "utf-8",
            TextEncoding::Gbk => "gbk",
        }
    }

    /// Parses the config spelling (case-insensitive; `utf8` is accepted).
    pub fn from_text(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Some(TextEncoding::Utf8),
            "gbk" => Some(TextEncoding::Gbk),
            _ => None,
        }
    }

    /// Bytes to text; invalid bytes refuse the datagram rather than being replaced.
    pub fn decode_bytes(self, bytes: &[u8]) -> Result<Cow<'_, str>, DecodeErrorKind> {
        match self {
            TextEncoding::Utf8 => std::str::from_utf8(bytes).map(Cow::Borrowed).map_err(|_| {
                // Say what it is when it is the likely mistake.
                if encoding_rs::GBK
                    .decode_without_bom_handling_and_without_replacement(bytes)
                    .is_some()
                {
                    DecodeErrorKind::GbkOnUtf8
                } else {
                    DecodeErrorKind::BadEncoding("utf-8")
                }
            }),
            TextEncoding::Gbk => encoding_rs::GBK
                .decode_without_bom_handling_and_without_replacement(bytes)
                .ok_or(DecodeErrorKind::BadEncoding("gbk")),
        }
    }

    /// Text to bytes. Characters GBK cannot carry become numeric character
    /// references, which every XML reader turns back into the character.
    pub fn encode_text(self, text: &str) -> Cow<'_, [u8]> {
        match self {
            TextEncoding::Utf8 => Cow::Borrowed(text.as_bytes()),
            TextEncoding::Gbk => {
                let (bytes, _, _) = encoding_rs::GBK.encode(text);
                bytes
            }
        }
    }
}

impl std::str::FromStr for TextEncoding {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        TextEncoding::from_text(s).ok_or_else(|| "expected utf-8 or gbk".into())
    }
}

/// A tag name as read: known, or kept as written (flow variables in 6003).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Name<'a> {
    Known(Tag),
    Other(Cow<'a, str>),
}

impl Name<'_> {
    /// The name to show: canonical for known tags.
    pub fn as_str(&self) -> &str {
        match self {
            Name::Known(t) => t.name(),
            Name::Other(s) => s,
        }
    }
}

/// The fields of one datagram, in order, repeats kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields<'a> {
    items: Vec<(Name<'a>, Cow<'a, str>)>,
}

impl<'a> Fields<'a> {
    /// The first value of `tag` (the first wins on repeats).
    pub fn get(&self, tag: Tag) -> Option<&str> {
        self.items.iter().find_map(|(n, v)| match n {
            Name::Known(t) if *t == tag => Some(v.as_ref()),
            _ => None,
        })
    }

    /// Every field in order.
    pub fn iter(&self) -> impl Iterator<Item = (&Name<'a>, &str)> {
        self.items.iter().map(|(n, v)| (n, v.as_ref()))
    }

    /// Appends a field (used by the JSON bridge and tests).
    pub fn push(&mut self, name: Name<'a>, value: Cow<'a, str>) {
        self.items.push((name, value));
    }
}

fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn trim_value(v: Cow<'_, str>) -> Cow<'_, str> {
    match v {
        Cow::Borrowed(s) => Cow::Borrowed(s.trim_matches(is_xml_space)),
        Cow::Owned(s) => {
            let t = s.trim_matches(is_xml_space);
            if t.len() == s.len() {
                Cow::Owned(s)
            } else {
                Cow::Owned(t.to_owned())
            }
        }
    }
}

/// Whether `name` is an XML 1.0 Name (a tag name). The XML reader splits
/// on `<`, `>` and whitespace only, so a NUL or a control character inside
/// a tag name would otherwise pass as an unknown tag.
pub fn is_xml_name(name: &str) -> bool {
    fn start(c: char) -> bool {
        c.is_ascii_alphabetic()
            || c == '_'
            || c == ':'
            || matches!(c as u32,
                0xC0..=0xD6 | 0xD8..=0xF6 | 0xF8..=0x2FF | 0x370..=0x37D | 0x37F..=0x1FFF
                | 0x200C..=0x200D | 0x2070..=0x218F | 0x2C00..=0x2FEF | 0x3001..=0xD7FF
                | 0xF900..=0xFDCF | 0xFDF0..=0xFFFD | 0x10000..=0xEFFFF)
    }
    fn rest(c: char) -> bool {
        start(c)
            || c.is_ascii_digit()
            || c == '-'
            || c == '.'
            || matches!(c as u32, 0xB7 | 0x300..=0x36F | 0x203F..=0x2040)
    }
    let mut chars = name.chars();
    chars.next().is_some_and(start) && chars.all(rest)
}

fn name_of(raw: &str) -> Result<Name<'static>, DecodeErrorKind> {
    if !is_xml_name(raw) {
        return Err(DecodeErrorKind::BadTagName(
            raw.escape_debug().take(40).collect(),
        ));
    }
    Ok(match Tag::from_name(raw) {
        Some(t) => Name::Known(t),
        None => Name::Other(Cow::Owned(raw.to_owned())),
    })
}

fn resolve_entity(name: &str, out: &mut String) -> Result<(), DecodeErrorKind> {
    let c = match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ if name.starts_with('#') => {
            let num = &name[1..];
            let code = match num.strip_prefix('x') {
                Some(hex) => u32::from_str_radix(hex, 16).ok(),
                None => num.parse().ok(),
            };
            match code.and_then(char::from_u32) {
                Some(c) if !is_forbidden_char(c) => c,
                _ => return Err(DecodeErrorKind::BadCharRef(clip(name))),
            }
        }
        _ => return Err(DecodeErrorKind::UnknownEntity(clip(name))),
    };
    out.push(c);
    Ok(())
}

fn check_chars(text: &str) -> Result<(), DecodeErrorKind> {
    match text.chars().find(|c| is_forbidden_char(*c)) {
        Some(c) => Err(DecodeErrorKind::ForbiddenChar(c as u32)),
        None => Ok(()),
    }
}

/// Parses the text of one datagram into fields.
///
/// Refuses what docs/protocol.md calls malformed: DOCTYPE, nested elements,
/// attributes, unclosed or mismatched tags, stray text, unknown entities.
pub fn parse_fields(text: &str) -> Result<Fields<'_>, DecodeErrorKind> {
    let mut reader = Reader::from_str(text);
    {
        let cfg = reader.config_mut();
        // We track the one open element ourselves, case-insensitively.
        cfg.check_end_names = false;
        cfg.allow_unmatched_ends = true;
        cfg.trim_text(false);
    }
    let mut fields = Fields::default();
    let mut open: Option<Name<'static>> = None;
    let mut value: Option<Cow<'_, str>> = None;
    let mut seen_content = false;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| DecodeErrorKind::Syntax(clip(&e.to_string())))?;
        match event {
            Event::Decl(_) => {
                if seen_content {
                    return Err(DecodeErrorKind::LateDeclaration);
                }
            }
            Event::DocType(_) => return Err(DecodeErrorKind::Doctype),
            Event::PI(_) => return Err(DecodeErrorKind::ProcessingInstruction),
            Event::Comment(_) => {}
            Event::Start(e) | Event::Empty(e) if open.is_some() => {
                let outer = open
                    .as_ref()
                    .map(|n| n.as_str().to_owned())
                    .unwrap_or_default();
                return Err(DecodeErrorKind::Nested {
                    outer,
                    inner: clip(e.name().as_ref()),
                });
            }
            Event::Start(e) => {
                let name = name_of(e.name().as_ref())?;
                if !e.attributes_raw().chars().all(is_xml_space) {
                    return Err(DecodeErrorKind::Attributes(name.as_str().to_owned()));
                }
                open = Some(name);
                value = None;
            }
            Event::Empty(e) => {
                let name = name_of(e.name().as_ref())?;
                if !e.attributes_raw().chars().all(is_xml_space) {
                    return Err(DecodeErrorKind::Attributes(name.as_str().to_owned()));
                }
                fields.push(name, Cow::Borrowed(""));
            }
            Event::Text(t) => {
                let piece = t.xml10_content();
                check_chars(&piece)?;
                if open.is_none() {
                    if !piece.chars().all(is_xml_space) {
                        return Err(DecodeErrorKind::StrayText);
                    }
                } else {
                    match &mut value {
                        None => value = Some(piece),
                        Some(v) => v.to_mut().push_str(&piece),
                    }
                }
            }
            Event::CData(c) => {
                if open.is_none() {
                    return Err(DecodeErrorKind::StrayText);
                }
                let piece = c.into_inner();
                check_chars(&piece)?;
                value
                    .get_or_insert_with(Cow::default)
                    .to_mut()
                    .push_str(&piece);
            }
            Event::GeneralRef(r) => {
                if open.is_none() {
                    return Err(DecodeErrorKind::StrayText);
                }
                let v = value.get_or_insert_with(Cow::default).to_mut();
                resolve_entity(&r, v)?;
            }
            Event::End(e) => {
                let found = e.name().as_ref().to_owned();
                match open.take() {
                    Some(name) => {
                        let matches = match &name {
                            Name::Known(t) => Tag::from_name(&found) == Some(*t),
                            Name::Other(s) => s.eq_ignore_ascii_case(&found),
                        };
                        if !matches {
                            return Err(DecodeErrorKind::Mismatched {
                                open: name.as_str().to_owned(),
                                found: clip(&found),
                            });
                        }
                        fields.push(name, trim_value(value.take().unwrap_or_default()));
                    }
                    None => return Err(DecodeErrorKind::UnexpectedEnd(clip(&found))),
                }
            }
            Event::Eof => {
                if let Some(name) = open {
                    return Err(DecodeErrorKind::Unclosed(name.as_str().to_owned()));
                }
                return Ok(fields);
            }
        }
        seen_content = true;
    }
}

/// Writes fields as a datagram's text. Borrows the caller's buffer so a
/// gateway can reuse one allocation for every datagram it sends.
pub struct XmlWriter<'o> {
    out: &'o mut String,
}

impl<'o> XmlWriter<'o> {
    /// Writes into `out` (appending).
    pub fn new(out: &'o mut String) -> Self {
        XmlWriter { out }
    }

    /// `<Tag>value</Tag>`.
    pub fn field<T: FieldValue>(&mut self, tag: Tag, value: &T) {
        self.open(tag.name());
        value.write_xml(self.out);
        self.close(tag.name());
    }

    /// `<Tag></Tag>`: a tag with no value (events keep a stable shape).
    pub fn empty(&mut self, tag: Tag) {
        self.open(tag.name());
        self.close(tag.name());
    }

    /// A tag that is not in the table (flow variables in a screen pop).
    pub fn other(&mut self, name: &str, value: &str) {
        self.open(name);
        escape_into(self.out, value);
        self.close(name);
    }

    fn open(&mut self, name: &str) {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
    }

    fn close(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }
}

/// A message body: what one MsgType carries besides `MsgType` and `Seq`.
pub trait Body: Sized {
    /// The MsgType code.
    const MSG_TYPE: u32;
    /// Reads the body from a datagram's fields.
    fn decode(fields: &Fields<'_>) -> Result<Self, DecodeErrorKind>;
    /// Writes the body's fields.
    fn encode(&self, w: &mut XmlWriter<'_>);
}

fn bad_value(tag: Tag, text: &str, allowed: String) -> DecodeErrorKind {
    DecodeErrorKind::BadValue {
        tag: tag.name(),
        value: clip(text),
        allowed,
    }
}

/// A tag that must be present and non-empty.
pub fn req<T: FieldValue>(f: &Fields<'_>, tag: Tag) -> Result<T, DecodeErrorKind> {
    match f.get(tag) {
        Some(text) if !text.is_empty() => {
            T::parse_text(text).map_err(|allowed| bad_value(tag, text, allowed))
        }
        _ => Err(DecodeErrorKind::MissingTag(tag.name())),
    }
}

/// A tag that may be absent; absent and empty are the same.
pub fn opt<T: FieldValue>(f: &Fields<'_>, tag: Tag) -> Result<Option<T>, DecodeErrorKind> {
    match f.get(tag) {
        Some(text) if !text.is_empty() => T::parse_text(text)
            .map(Some)
            .map_err(|allowed| bad_value(tag, text, allowed)),
        _ => Ok(None),
    }
}

/// A tag whose absence means the type's default.
pub fn dft<T: FieldValue + Default>(f: &Fields<'_>, tag: Tag) -> Result<T, DecodeErrorKind> {
    opt(f, tag).map(Option::unwrap_or_default)
}

/// Declares a message body: the struct, its decoder and its encoder.
///
/// Field kinds: `req` must be present; `opt` is an `Option` omitted when
/// `None`; `nul` is an `Option` written as an empty tag when `None` (events
/// keep a stable shape for clients); `dft` is always written, absent means
/// the default. `check` names a function run on the decoded body (for "one
/// of these tags" rules).
macro_rules! message {
    (
        $(#[$meta:meta])*
        pub struct $name:ident = $code:literal $(, check = $check:path)? {
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty = $kind:ident $tag:ident ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name { $( $(#[$fmeta])* pub $field: $ty ),* }

        impl $crate::codec::Body for $name {
            const MSG_TYPE: u32 = $code;

            #[allow(unused_variables)]
            fn decode(f: &$crate::codec::Fields<'_>) -> Result<Self, $crate::error::DecodeErrorKind> {
                let body = Self { $( $field: message!(@get $kind, f, $crate::tags::Tag::$tag) ),* };
                $( $check(&body)?; )?
                Ok(body)
            }

            #[allow(unused_variables)]
            fn encode(&self, w: &mut $crate::codec::XmlWriter<'_>) {
                $( message!(@put $kind, w, $crate::tags::Tag::$tag, &self.$field); )*
            }
        }
    };
    (@get req, $f:ident, $tag:expr) => { $crate::codec::req($f, $tag)? };
    (@get opt, $f:ident, $tag:expr) => { $crate::codec::opt($f, $tag)? };
    (@get nul, $f:ident, $tag:expr) => { $crate::codec::opt($f, $tag)? };
    (@get dft, $f:ident, $tag:expr) => { $crate::codec::dft($f, $tag)? };
    (@put req, $w:ident, $tag:expr, $v:expr) => { $w.field($tag, $v) };
    (@put dft, $w:ident, $tag:expr, $v:expr) => { $w.field($tag, $v) };
    (@put opt, $w:ident, $tag:expr, $v:expr) => {
        if let Some(v) = $v { $w.field($tag, v) }
    };
    (@put nul, $w:ident, $tag:expr, $v:expr) => {
        match $v { Some(v) => $w.field($tag, v), None => $w.empty($tag) }
    };
}
pub(crate) use message;

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Result<Vec<(String, String)>, DecodeErrorKind> {
        parse_fields(text).map(|f| {
            f.iter()
                .map(|(n, v)| (n.as_str().to_owned(), v.to_owned()))
                .collect()
        })
    }

    #[test]
    fn entities_and_references_inside_values() {
        let f = one("<Data> a &amp; b &lt;c&gt; &#x41;&#66; </Data>").unwrap();
        assert_eq!(f, vec![("Data".into(), "a & b <c> AB".into())]);
    }

    #[test]
    fn malformed_inputs_are_named() {
        use DecodeErrorKind as K;
        assert!(matches!(one("<A>1</B>"), Err(K::Mismatched { .. })));
        assert!(matches!(one("<A>1"), Err(K::Unclosed(_))));
        assert!(matches!(one("</A>"), Err(K::UnexpectedEnd(_))));
        assert!(matches!(one("<A><B>1</B></A>"), Err(K::Nested { .. })));
        assert!(matches!(one("<A x=\"1\">1</A>"), Err(K::Attributes(_))));
        assert!(matches!(one("<!DOCTYPE x><A>1</A>"), Err(K::Doctype)));
        assert!(matches!(one("junk<A>1</A>"), Err(K::StrayText)));
        assert!(matches!(one("<A>&bogus;</A>"), Err(K::UnknownEntity(_))));
        assert!(matches!(one("<A>&#0;</A>"), Err(K::BadCharRef(_))));
        assert!(matches!(one("<A>&#1;</A>"), Err(K::BadCharRef(_))));
        assert!(matches!(one("<A>a\u{0}b</A>"), Err(K::ForbiddenChar(0))));
        assert_eq!(one("<A>a&#13;b\r\nc</A>").unwrap()[0].1, "a\rb\nc");
        assert!(matches!(
            one("<A>1</A><?xml version=\"1.0\"?>"),
            Err(K::LateDeclaration)
        ));
    }

    #[test]
    fn end_tags_match_case_insensitively() {
        assert_eq!(one("<telnum>8001</TELNUM>").unwrap()[0].1, "8001");
    }

    #[test]
    fn gbk_round_trip_and_refusal() {
        let bytes = TextEncoding::Gbk.encode_text("<ShowState>午休</ShowState>");
        assert_eq!(
            TextEncoding::Gbk.decode_bytes(&bytes).unwrap(),
            "<ShowState>午休</ShowState>"
        );
        assert!(TextEncoding::Gbk.decode_bytes(&[0x81, 0x20]).is_err());
        assert!(TextEncoding::Utf8.decode_bytes(&[0xff]).is_err());
    }
}
