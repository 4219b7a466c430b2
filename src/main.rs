//! `writeback-sim`: parses the command line, runs the library, maps the result to an exit
//! code (0 all passed, 1 a scenario failed, 2 bad input or usage).

use clap::Parser;
use std::io::Write;
use std::process::ExitCode;
use writeback_sim::cli::{self, Cli, Outcome};

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WRITEBACK_SIM_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
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
        Err(e) => {
            eprintln!("writeback-sim: {e:#}");
            ExitCode::from(2)
        }
    }
}
