//! Storage that loses nothing: every record is appended to a spool on disk
//! first, then written to the database by a thread of its own; reads
//! (screen pops, whitelist, SIP passwords) go through an r2d2 pool on the
//! store's `SyncArbiter`.

pub mod directory;
pub mod query;
pub mod rows;
pub mod spool;
