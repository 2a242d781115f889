//! The registry: schema, the locked read-modify-write store, and the event log.

mod events;
mod schema;
mod store;

pub use events::{Event, EventLog};
pub use schema::{
    GitBase, Native, ProcessRef, Registry, Status, Task, TaskEntry, Validation, now_rfc3339,
    parse_time,
};
pub use store::{DEFAULT_PATH, Store};
