//! One integration test binary (as ripgrep does), one module per area.
//! Every test runs the built `rcon` binary as a user would.

#[macro_use]
mod common;

mod api;
mod api_clients;
mod api_images;
mod api_oracle;
mod api_robust;
mod api_service;
mod archives;
mod build;
mod build_args;
mod build_sources;
mod buildx;
mod compose;
mod concurrency;
mod containers;
mod cp;
mod damaged;
mod docs;
mod engine_api;
mod hostile;
mod images;
mod kube;
mod kube_play;
mod layers;
mod life;
mod network;
mod pods;
mod registry;
mod reliability;
mod user_networks;
mod volumes;
