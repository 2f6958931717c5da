//! The CLI's built-in downstream: [`model`] (its parameters, validated), [`sim`] (a simulator
//! for the adaptive controllers), [`server`] (a real HTTP server on its own thread) and [`wire`]
//! (the bounds of its options, which `bin/downstream.js` checks first).

pub mod model;
pub mod server;
pub mod sim;
pub mod wire;
