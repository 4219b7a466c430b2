//! `writeback-sim`: parses the command line, runs the library, maps the result to an exit
//! code (0 all passed, 1 a scenario failed, 2 bad input or usage). The commands live in
//! `cli/` beside this file: the binary's own code, so the library has no CLI (and no
//! anyhow).

mod cli;

use clap::Parser;
use cli::{Cli, Outcome};
use std::io::Write;
use std::process::ExitCode;

/// mimalloc instead of the C library's allocator: a world of 100,000 objects allocates
/// millions of small blocks on several threads, where glibc's malloc spent a quarter of
/// the run consolidating and searching its free lists (README, Benchmarks).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A scenario's own story (a dropped relay link, a DC that is down) is in its report;
    // the log says only what went wrong with the tool, unless WRITEBACK_SIM_LOG asks more.
    // The standalone directory logs its warnings.
    let server = matches!(
        cli.command,
        cli::Command::Directory(_) | cli::Command::Lab(_)
    );
    let default_filter = if server {
        "warn,ldap3_proto=error"
    } else {
        "error,ldap3_proto=off"
    };
    // Whatever is asked, the libraries that print message contents stay at debug or less.
    let spec = std::env::var("WRITEBACK_SIM_LOG").unwrap_or_else(|_| default_filter.into());
    let filter = tracing_subscriber::EnvFilter::try_new(cli::log::capped(&spec))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    cli::prepare_environment(&cli);
    // A reader that stops reading (`writeback-sim list | head -1`) ends a command the way
    // it ends any Unix tool: by SIGPIPE, quietly — not by a panic on the failed print (Rust
    // ignores SIGPIPE by default). The servers (lab, directory) keep ignoring it: a client
    // gone away must not stop them.
    #[cfg(unix)]
    if !server {
        // SAFETY: called once, before any thread of ours is started; SIG_DFL is a valid
        // disposition for SIGPIPE.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    // One line per panic, no backtrace: a snapshot mismatch is reported by insta (with its
    // diff) and then by the runner; anything else still names its place.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("panic");
        if !msg.contains("snapshot assertion") {
            let at = info
                .location()
                .map(|l| format!(" at {}:{}", l.file(), l.line()))
                .unwrap_or_default();
            eprintln!("writeback-sim: internal error{at}: {msg}");
        }
    }));
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("writeback-sim: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(cli::run(cli));
    let _ = std::io::stdout().flush();
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::from(1),
        Ok(Outcome::Invalid) => ExitCode::from(2),
        Err(e) => {
            eprintln!("writeback-sim: {e:#}");
            ExitCode::from(2)
        }
    }
}
