//! What a benchmark that runs the world in its own process needs to measure what a user of
//! the `writeback-sim` binary gets: the binary's allocator (src/main.rs), and the world on a
//! worker of a multi-thread runtime, where `writeback-sim run` puts each scenario and the
//! lab its requests (from `block_on`'s own thread, every wake of the world's tasks crossed
//! threads: the device benchmark's initial sync took twice as long).

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Run `body` to its end on a worker of a new multi-thread runtime.
pub fn on_worker(body: impl std::future::Future<Output = ()> + Send + 'static) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(rt.spawn(body))
        .expect("the benchmark ran to its end");
}
