//! The SIP driver's sans-I/O cores (docs/sip.md): transactions
//! (RFC 3261 §17), dialogs (§12), digest authentication, the seats'
//! registrar (§10), SDP offer/answer, and the endpoint that puts a
//! datagram through them: messages and the time in, actions out.

pub mod dialog;
pub mod digest;
pub mod endpoint;
pub mod registrar;
pub mod sdp;
pub mod transaction;

#[cfg(test)]
mod transaction_tests;
