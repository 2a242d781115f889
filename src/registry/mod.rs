//! The registry: schema, the locked read-modify-write store, and the event log.

mod events;
mod schema;
mod store;

pub use events::{Event, EventLog};
pub use schema::{Native, ProcessRef, Registry, Status, Task, TaskEntry, now_rfc3339, parse_time};
pub use store::{DEFAULT_PATH, Store};
