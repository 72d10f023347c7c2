//! The spcti wire protocol: typed messages for every MsgType of the agent,
//! monitor and IP-seat links, and their XML codecs; SIP messages (`sip`),
//! RTP and RFC 4733 events (`rtp`) and G.711 (`g711`).
//! Pure data, no I/O.
//!
//! ```
//! use spcti_protocol::{decode, encode, Message, TextEncoding};
//! let env = decode(b"<MsgType>1099</MsgType><TelNum>8001</TelNum>", TextEncoding::Utf8).unwrap();
//! assert!(matches!(env.message, Message::Heartbeat(_)));
//! let bytes = encode(&env.message, None, TextEncoding::Utf8);
//! assert_eq!(bytes, b"<MsgType>1099</MsgType><TelNum>8001</TelNum>");
//! ```

pub mod agent;
pub mod codec;
pub mod error;
pub mod event;
pub mod g711;
pub mod ids;
pub mod ipseat;
pub mod message;
pub mod monitor;
pub mod reply;
pub mod rtcp;
pub mod rtp;
pub mod sip;
pub mod tags;
pub mod value;

pub use codec::{Body, MAX_DATAGRAM, TextEncoding};
pub use error::{DecodeError, DecodeErrorKind};
pub use ids::*;
pub use message::{
    Direction, Envelope, Message, UnknownMessage, decode, encode, encode_into, from_json, to_json,
};
