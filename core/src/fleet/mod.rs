//! fleet
pub mod client;
pub mod ledger;
pub mod protocol;
#[cfg(test)]
mod tests;
pub mod wire;
