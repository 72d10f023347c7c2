//! The SIP driver's sans-I/O cores (docs/sip.md): transactions
//! (RFC 3261 §17) and digest authentication. Dialogs and SDP offer/answer
//! follow on the same model: messages and the time in, actions out.

pub mod digest;
pub mod transaction;

#[cfg(test)]
mod transaction_tests;
