//! Storage that loses nothing: every record is appended to a spool on disk
//! first, then written to the database by a thread of its own; reads
//! (screen pops, whitelist, SIP passwords) go through an r2d2 pool on the
//! store's `SyncArbiter`. Everything that touches a database is here:
//! connections and migrations (`db`), the tables (`schema`), the store
//! actor (`store`), the spool, rows, directory CRUD and searches.

pub mod db;
pub mod directory;
pub mod ledger;
pub mod priority;
pub mod query;
pub mod quick;
pub mod rows;
pub mod schema;
pub mod spool;
pub mod store;
