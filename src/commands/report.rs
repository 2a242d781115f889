use crate::cli::JsonArgs;
use crate::error::{Error, Result};
use crate::registry::Store;

pub fn run(_store: &Store, _args: &JsonArgs) -> Result<u8> {
    Err(Error::invalid("not implemented yet"))
}
