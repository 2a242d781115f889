use crate::cli::RehydrateArgs;
use crate::error::{Error, Result};
use crate::registry::Store;

pub fn run(_store: &Store, _args: &RehydrateArgs) -> Result<u8> {
    Err(Error::invalid("not implemented yet"))
}
