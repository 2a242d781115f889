use crate::cli::WaitArgs;
use crate::error::{Error, Result};
use crate::registry::Store;

pub fn run(_store: &Store, _args: &WaitArgs) -> Result<u8> {
    Err(Error::invalid("not implemented yet"))
}
