//! The allocator the `writeback-sim` binary runs with (src/main.rs): a benchmark that runs
//! the world in its own process measures what a user of the binary gets.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
