use crate::cli::LogsArgs;
use crate::error::{Error, Result};
use crate::registry::Store;

pub fn run(_store: &Store, _args: &LogsArgs) -> Result<u8> {
    Err(Error::invalid("not implemented yet"))
}
