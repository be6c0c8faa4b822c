//! The integration tests: one binary, one module per stage of the pipeline.

mod browser;
mod damage;
mod fuzz;
mod http;
mod import;
mod ingest;
mod known_items;
mod layouts;
mod regression;
mod relations;
mod search;
mod support;
mod write;
