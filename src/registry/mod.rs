//! The registry: schema, the locked read-modify-write store, and the event log.

mod events;
mod schema;
mod store;

pub use events::{Event, EventLog};
pub use schema::{now_rfc3339, parse_time, Native, ProcessRef, Registry, Status, Task, TaskEntry};
pub use store::{Store, DEFAULT_PATH};
