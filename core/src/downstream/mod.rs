//! The CLI's built-in downstream: [`model`] (its parameters, validated), [`sim`] (a simulator
//! for the adaptive controllers) and [`server`] (a real HTTP server on its own thread).

pub mod model;
pub mod server;
pub mod sim;
pub mod wire;
