//! The `Message` enum: one variant per MsgType. It only dispatches; the
//! meaning of each message lives in its family's module.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use crate::agent::*;
use crate::codec::{Body, Fields, MAX_DATAGRAM, Name, TextEncoding, XmlWriter, parse_fields};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::event::*;
use crate::ipseat::*;
use crate::monitor::ChannelStatus;
use crate::reply::*;
use crate::tags::Tag;
use crate::value::escape_into;

/// Who sends a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Client to server: agent requests and IP-seat requests.
    Request,
    /// Server to client: replies, events, monitor states.
    FromServer,
}

/// A MsgType this build does not know. A value, not a crash: the gateway
/// answers it with 9000 Result=0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownMessage {
    /// The MsgType text as received.
    pub msg_type: String,
}

macro_rules! messages {
    ($( $dir:ident $variant:ident($ty:ty) ),+ $(,)?) => {
        /// Every message of the protocol.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum Message {
            $( $variant($ty), )+
            /// A MsgType this build does not know.
            Unknown(UnknownMessage),
        }

        $( impl From<$ty> for Message {
            fn from(m: $ty) -> Self { Message::$variant(m) }
        } )+

        impl Message {
            /// Every known MsgType code.
            pub const CODES: &'static [u32] = &[$(<$ty as Body>::MSG_TYPE),+];

            /// The MsgType code (0 for an unknown message whose type is not a number).
            pub fn msg_type(&self) -> u32 {
                match self {
                    $( Message::$variant(_) => <$ty as Body>::MSG_TYPE, )+
                    Message::Unknown(u) => u.msg_type.parse().unwrap_or(0),
                }
            }

            /// The variant's name, for logs and metrics.
            pub fn name(&self) -> &'static str {
                match self {
                    $( Message::$variant(_) => stringify!($variant), )+
                    Message::Unknown(_) => "Unknown",
                }
            }

            /// Who sends this message (`None` for unknown ones).
            pub fn direction(&self) -> Option<Direction> {
                match self {
                    $( Message::$variant(_) => Some(Direction::$dir), )+
                    Message::Unknown(_) => None,
                }
            }

            fn decode_body(code: u32, f: &Fields<'_>) -> Option<Result<Message, DecodeErrorKind>> {
                $( if code == <$ty as Body>::MSG_TYPE {
                    return Some(<$ty as Body>::decode(f).map(Message::$variant));
                } )+
                None
            }

            fn encode_body(&self, w: &mut XmlWriter<'_>) {
                match self {
                    $( Message::$variant(m) => m.encode(w), )+
                    Message::Unknown(_) => {}
                }
            }
        }
    };
}

messages! {
    Request Login(Login),
    Request SetBusy(SetBusy),
    Request PlaceCall(PlaceCall),
    Request Logout(Logout),
    Request SwitchFlow(SwitchFlow),
    Request GetVariable(GetVariable),
    Request RetrieveCall(RetrieveCall),
    Request Transfer(Transfer),
    Request CancelTransfer(CancelTransfer),
    Request PickUp(PickUp),
    Request ChannelInfoQuery(ChannelInfoQuery),
    Request StatsQuery(StatsQuery),
    Request SetMonitor(SetMonitor),
    Request Mute(Mute),
    Request Listen(Listen),
    Request BargeIn(BargeIn),
    Request TakeOver(TakeOver),
    Request ForceHangup(ForceHangup),
    Request SendFax(SendFax),
    Request DataExchange(DataExchange),
    Request ForceRelease(ForceRelease),
    Request Timer(Timer),
    Request ReloadFlow(ReloadFlow),
    Request SetGlobal(SetGlobal),
    Request PhoneControl(PhoneControl),
    Request ConfQuery(ConfQuery),
    Request TwoPartyConference(TwoPartyConference),
    Request Heartbeat(Heartbeat),
    FromServer Ack(Ack),
    FromServer VariableValue(VariableValue),
    FromServer ChannelInfo(ChannelInfo),
    FromServer Stats(Stats),
    FromServer TransferResult(TransferResult),
    FromServer ConfInfo(ConfInfo),
    FromServer PickUpResult(PickUpResult),
    FromServer MonitorSet(MonitorSet),
    FromServer HeartbeatAck(HeartbeatAck),
    FromServer AgentStateChanged(AgentStateChanged),
    FromServer ScreenPop(ScreenPop),
    FromServer CallConnected(CallConnected),
    FromServer LocalHangup(LocalHangup),
    FromServer RemoteHangup(RemoteHangup),
    FromServer CallResult(CallResult),
    FromServer ChannelStatus(ChannelStatus),
    FromServer CallAccepted(CallAccepted),
    FromServer FaxSent(FaxSent),
    FromServer FaxReceived(FaxReceived),
    FromServer DataReceived(DataReceived),
    Request IpSeatDial(IpSeatDial),
    Request IpSeatAnswer(IpSeatAnswer),
    Request IpSeatHangup(IpSeatHangup),
    FromServer IpSeatRinging(IpSeatRinging),
    FromServer IpSeatConnected(IpSeatConnected),
    FromServer IpSeatHungUp(IpSeatHungUp),
    FromServer IpSeatRegistration(IpSeatRegistration),
}

/// A decoded datagram: the message and the request's `Seq`, which the reply echoes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub message: Message,
    pub seq: Option<String>,
}

impl Envelope {
    /// A message with no `Seq`.
    pub fn new(message: impl Into<Message>) -> Self {
        Envelope {
            message: message.into(),
            seq: None,
        }
    }

    /// Refuses an unknown MsgType, the way a server must answer it.
    pub fn known(self) -> Result<Envelope, DecodeError> {
        match &self.message {
            Message::Unknown(u) => Err(DecodeError {
                req: self.message.msg_type(),
                seq: self.seq.clone(),
                kind: DecodeErrorKind::UnknownMsgType(crate::error::clip(&u.msg_type)),
            }),
            _ => Ok(self),
        }
    }
}

fn decode_fields(fields: &Fields<'_>) -> Result<Envelope, DecodeError> {
    let seq = fields
        .get(Tag::Seq)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let refuse = |req: u32, kind| DecodeError {
        req,
        seq: seq.clone(),
        kind,
    };
    let msg_type = match fields.get(Tag::MsgType) {
        Some(t) if !t.is_empty() => t,
        _ => return Err(refuse(0, DecodeErrorKind::MissingMsgType)),
    };
    let unknown = || UnknownMessage {
        msg_type: msg_type.to_owned(),
    };
    // Digits only: `+1013` is not 1013 but an unknown MsgType.
    let code = match msg_type.bytes().all(|b| b.is_ascii_digit()) {
        true => msg_type.parse::<u32>().ok(),
        false => None,
    };
    let message = match code {
        Some(code) => match Message::decode_body(code, fields) {
            Some(Ok(m)) => m,
            Some(Err(kind)) => return Err(refuse(code, kind)),
            None => Message::Unknown(unknown()),
        },
        None => Message::Unknown(unknown()),
    };
    Ok(Envelope { message, seq })
}

/// Decodes one datagram.
///
/// An unknown MsgType is returned as [`Message::Unknown`]; call
/// [`Envelope::known`] to refuse it.
pub fn decode(bytes: &[u8], encoding: TextEncoding) -> Result<Envelope, DecodeError> {
    let refuse = |kind| DecodeError {
        req: 0,
        seq: None,
        kind,
    };
    if bytes.len() > MAX_DATAGRAM {
        return Err(refuse(DecodeErrorKind::TooLarge(bytes.len())));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(refuse(DecodeErrorKind::Empty));
    }
    let text = encoding.decode_bytes(bytes).map_err(refuse)?;
    let fields = parse_fields(&text).map_err(refuse)?;
    decode_fields(&fields)
}

/// Appends a message's text (before the listener's encoding is applied).
///
/// `MsgType` comes first and `Seq` last; a gateway keeps one `String` and
/// clears it between datagrams, so steady-state encoding does not allocate.
pub fn encode_into(message: &Message, seq: Option<&str>, out: &mut String) {
    out.push_str("<MsgType>");
    match message {
        Message::Unknown(u) => escape_into(out, &u.msg_type),
        m => {
            let _ = write!(out, "{}", m.msg_type());
        }
    }
    out.push_str("</MsgType>");
    let mut w = XmlWriter::new(out);
    message.encode_body(&mut w);
    if let Some(seq) = seq {
        w.field(Tag::Seq, &seq.to_owned());
    }
}

/// Encodes a datagram in the listener's encoding.
pub fn encode(message: &Message, seq: Option<&str>, encoding: TextEncoding) -> Vec<u8> {
    let mut text = String::with_capacity(256);
    encode_into(message, seq, &mut text);
    match encoding {
        TextEncoding::Utf8 => text.into_bytes(),
        TextEncoding::Gbk => encoding.encode_text(&text).into_owned(),
    }
}

/// The list replies, whose runs become arrays of objects in JSON.
fn list_shape(msg_type: u32) -> Option<(Tag, &'static str)> {
    match msg_type {
        9011 => Some((Tag::ChNum, "Channels")),
        9032 => Some((Tag::ConfNo, "Conferences")),
        _ => None,
    }
}

fn insert_text(map: &mut Map<String, Value>, key: &str, value: &str) {
    match map.get_mut(key) {
        None => {
            map.insert(key.to_owned(), Value::String(value.to_owned()));
        }
        Some(Value::Array(items)) => items.push(Value::String(value.to_owned())),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, Value::String(value.to_owned())]);
        }
    }
}

/// A message as one JSON object whose keys are the canonical tag names and
/// whose values are the texts. In the list replies 9011 and 9032 each
/// channel or conference becomes an object in `Channels` / `Conferences`,
/// and a tag that repeats inside one (`Member`) becomes an array.
pub fn to_json(envelope: &Envelope) -> Value {
    let mut text = String::new();
    encode_into(&envelope.message, envelope.seq.as_deref(), &mut text);
    let fields = parse_fields(&text).expect("the encoder writes well-formed XML");
    let shape = list_shape(envelope.message.msg_type());
    let mut top = Map::new();
    let mut runs: Vec<Map<String, Value>> = Vec::new();
    for (name, value) in fields.iter() {
        let in_runs = match shape {
            Some((start, _)) if *name == Name::Known(start) => {
                runs.push(Map::new());
                true
            }
            _ => !runs.is_empty() && *name != Name::Known(Tag::Seq),
        };
        let target = if in_runs {
            runs.last_mut().expect("a run was started")
        } else {
            &mut top
        };
        insert_text(target, name.as_str(), value);
    }
    if let Some((_, key)) = shape {
        top.insert(
            key.to_owned(),
            Value::Array(runs.into_iter().map(Value::Object).collect()),
        );
    }
    Value::Object(top)
}

fn json_text(key: &str, value: &Value) -> Result<String, DecodeErrorKind> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(if *b { "1" } else { "0" }.to_owned()),
        Value::Null => Ok(String::new()),
        _ => Err(DecodeErrorKind::Syntax(format!(
            "JSON key {key}: expected a string, number or list of strings"
        ))),
    }
}

fn json_object_to_xml(obj: &Map<String, Value>, out: &mut String) -> Result<(), DecodeErrorKind> {
    for (key, value) in obj {
        if !crate::event::is_xml_name(key) {
            return Err(DecodeErrorKind::Syntax(format!(
                "JSON key {:?} is not a tag name",
                crate::error::clip(key)
            )));
        }
        let items: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            v => vec![v],
        };
        for item in items {
            if let Value::Object(inner) = item {
                json_object_to_xml(inner, out)?;
                continue;
            }
            let text = json_text(key, item)?;
            out.push('<');
            out.push_str(key);
            out.push('>');
            escape_into(out, &text);
            out.push_str("</");
            out.push_str(key);
            out.push('>');
        }
    }
    Ok(())
}

/// The reverse of [`to_json`]: a JSON object to a message, checked exactly
/// as a datagram would be.
pub fn from_json(value: &Value) -> Result<Envelope, DecodeError> {
    let refuse = |kind| DecodeError {
        req: 0,
        seq: None,
        kind,
    };
    let Value::Object(obj) = value else {
        return Err(refuse(DecodeErrorKind::Syntax(
            "expected a JSON object".into(),
        )));
    };
    let mut text = String::new();
    json_object_to_xml(obj, &mut text).map_err(refuse)?;
    let fields = parse_fields(&text).map_err(refuse)?;
    decode_fields(&fields)
}
