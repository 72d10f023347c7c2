//! The SIP driver's sans-I/O cores (docs/sip.md): transactions
//! (RFC 3261 §17). Dialogs, digest authentication and SDP offer/answer
//! follow on the same model: messages and the time in, actions out.

pub mod transaction;

#[cfg(test)]
mod transaction_tests;
