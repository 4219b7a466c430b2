//! The `writeback-sim` commands (the binary's own module). `main.rs` parses the command
//! line with these types and calls [`run`]; everything here returns errors instead of
//! exiting.

use anyhow::Context;
use writeback_sim::clock::OffsetClock;
use writeback_sim::directory::server::Running;
use writeback_sim::directory::{Directory, DirectoryConfig};
use writeback_sim::scenario::{runner, suite};
use writeback_sim::tls::TlsMaterial;

mod lab;
pub mod log;
mod new;
mod run;
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(
    name = "writeback-sim",
    version,
    about = "Microsoft Entra Connect writeback simulator: embedded AD, fake tenant, fake relay, real engine"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run scenarios (files or directories; default `scenarios/`) and check their
    /// expectations and snapshots.
    Run {
        paths: Vec<PathBuf>,
        /// Only scenarios whose name (`group/cloud-sync-ok`) contains this text.
        #[arg(long)]
        filter: Option<String>,
        /// Only scenarios with this tag (repeat for any of several).
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// Scenarios run at once (default: one per core).
        #[arg(short, long, default_value_t = 0, hide_default_value = true)]
        jobs: usize,
        /// Write a JUnit XML report here (for CI systems).
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// A missing snapshot fails instead of being written as pending (also when the
        /// environment has CI=true).
        #[arg(long)]
        ci: bool,
        /// Write this run's reports as the stored snapshots (review `git diff` after).
        #[arg(long, conflicts_with = "ci")]
        accept: bool,
        /// Run the scenarios N times, later rounds in a shuffled order, and fail any
        /// whose report is not byte-identical every time.
        #[arg(long, default_value_t = 1, value_name = "N")]
        repeat: u32,
        /// Stop a scenario that has not finished after this many seconds of wall-clock
        /// time and report it as not finished (0: no limit).
        #[arg(long, default_value_t = 600, value_name = "SECONDS")]
        timeout: u64,
        #[command(flatten)]
        directory: ExternalDirectoryArgs,
        /// With --directory: run each scenario on the embedded AD too (expectations and
        /// snapshot) and compare the AD parts of the two reports, after masking what each
        /// server assigns; print "same" or the differing lines, and fail on a difference
        /// dc-differences.yaml does not list.
        #[arg(long, requires = "directory")]
        compare: bool,
    },
    /// Parse scenarios and report every problem, without running them.
    Validate { paths: Vec<PathBuf> },
    /// List the scenarios with their summaries.
    List {
        paths: Vec<PathBuf>,
        /// Only scenarios whose name contains this text.
        #[arg(long)]
        filter: Option<String>,
        /// Only scenarios with this tag (repeat for any of several).
        #[arg(long = "tag")]
        tags: Vec<String>,
    },
    /// Run one scenario and print its report (what the snapshot holds): the steps as the
    /// user and the admin saw them, the AD entries that changed, the run history, the
    /// event log. Exits 1 when an expectation failed; the snapshot is not checked.
    Show { file: PathBuf },
    /// Write a commented starting scenario AREA/NAME (e.g. password/my-case), or a copy of
    /// an existing one with --from.
    New {
        name: String,
        /// Start from this scenario (a name such as password/complexity-rejected, or a file).
        #[arg(long, value_name = "CASE")]
        from: Option<String>,
        /// The scenarios directory.
        #[arg(long, default_value = "scenarios")]
        dir: PathBuf,
    },
    /// Print the JSON Schema of the scenario format (for editors; scenarios name it in a
    /// `# yaml-language-server: $schema=...` first line), or with --markdown the format's
    /// reference generated from it (docs/scenario-format.md).
    Schema {
        /// The reference as Markdown: every key, action (with an example) and type.
        #[arg(long)]
        markdown: bool,
    },
    /// Serve the embedded AD on its own, for ldapsearch / ldapmodify, until Ctrl-C.
    Directory(Box<DirectoryArgs>),
    /// Keep the whole world running for a homelab — AD, Graph and sign-in, the relay, the
    /// engine on the real clock — resumed from its state folder; `lab ctl` talks to it.
    Lab(Box<lab::LabArgs>),
}

#[derive(Debug, clap::Args)]
pub struct DirectoryArgs {
    /// DNS name of the forest (gntech.me → DC=gntech,DC=me).
    #[arg(long, default_value = "gntech.me")]
    pub forest: String,
    /// Plain LDAP (with StartTLS) listener.
    #[arg(long, default_value = "127.0.0.1:10389")]
    pub ldap: SocketAddr,
    /// LDAPS listener.
    #[arg(long, default_value = "127.0.0.1:10636")]
    pub ldaps: SocketAddr,
    /// LDIF files to import after provisioning, in order.
    #[arg(long = "ldif", value_name = "FILE")]
    pub ldif: Vec<PathBuf>,
    /// Password of CN=Administrator,CN=Users,<domain>.
    #[arg(long, default_value = "Adm1n!Pass2026")]
    pub admin_password: String,
    /// Password of the MSOL_ connector account (generated from the seed when omitted).
    #[arg(long)]
    pub connector_password: Option<String>,
    /// Do not create the MSOL_ connector account.
    #[arg(long)]
    pub no_connector: bool,
    /// Seed for GUIDs, SIDs and generated names.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Refuse simple binds over plain LDAP (8 strongerAuthRequired), like LDAP signing enforced.
    #[arg(long)]
    pub require_tls_for_bind: bool,
    /// PEM certificate chain for LDAPS/StartTLS (generated when omitted).
    #[arg(long, requires = "key")]
    pub cert: Option<PathBuf>,
    /// PEM private key for --cert.
    #[arg(long, requires = "cert")]
    pub key: Option<PathBuf>,
    /// Write the certificate clients should trust to this file.
    #[arg(long)]
    pub write_cert: Option<PathBuf>,
    /// Where the URLs and credentials go (JSON, mode 0600); the terminal shows no password.
    #[arg(long, value_name = "FILE", default_value = "writeback-directory.json")]
    pub credentials: PathBuf,
}

/// What a command ended with, for the exit code.
pub enum Outcome {
    Ok,
    /// A scenario failed (exit 1).
    Failed,
    /// Input could not be used (exit 2).
    Invalid,
}

/// The scenario files named on the command line (default `scenarios/`).
fn files(paths: Vec<PathBuf>) -> anyhow::Result<Vec<PathBuf>> {
    let paths = if paths.is_empty() {
        vec![PathBuf::from("scenarios")]
    } else {
        paths
    };
    let mut out = Vec::new();
    for p in paths {
        if !p.exists() {
            anyhow::bail!("{}: no such file or directory", p.display());
        }
        out.extend(suite::discover(&p).with_context(|| format!("reading {}", p.display()))?);
    }
    Ok(out)
}

/// The files whose name contains `filter` and that carry one of `tags` (each when given).
/// A file that does not parse is kept: running it reports why.
fn select(files: Vec<PathBuf>, filter: Option<&str>, tags: &[String]) -> Vec<PathBuf> {
    files
        .into_iter()
        .filter(|f| {
            let name = runner::scenario_name(f, &suite::root_of(f));
            filter.is_none_or(|x| name.contains(x))
        })
        .filter(|f| {
            tags.is_empty()
                || runner::parse(f).map_or(true, |s| s.tags.iter().any(|t| tags.contains(t)))
        })
        .collect()
}

/// Process-wide settings to make before any thread starts (insta reads them from the
/// environment): `run` prints its own snapshot diffs, so insta's are turned off, and
/// `run --accept` has insta write the snapshots.
pub fn prepare_environment(cli: &Cli) {
    if std::env::var_os("INSTA_OUTPUT").is_none() {
        std::env::set_var("INSTA_OUTPUT", "none");
    }
    if let Command::Run { accept: true, .. } = cli.command {
        std::env::set_var("INSTA_UPDATE", "always");
    }
}

/// `--directory` and the rest: a real DC to run scenarios on.
#[derive(Debug, Clone, clap::Args)]
pub struct ExternalDirectoryArgs {
    /// Run on this domain controller (`ldaps://HOST:PORT`) instead of the embedded AD:
    /// each scenario's directory part is provisioned there over LDAP and removed afterwards.
    #[arg(long, value_name = "URL")]
    directory: Option<String>,
    /// The DC's administrator (a DN or user@domain) to provision as.
    #[arg(long, value_name = "DN", requires = "directory")]
    directory_admin: Option<String>,
    /// Its password (or the environment's WBSIM_DIRECTORY_PASSWORD, which keeps it out of
    /// the process list).
    #[arg(long, value_name = "PW", requires = "directory")]
    directory_password: Option<String>,
    /// A CA certificate (PEM) the DC's certificate is issued by.
    #[arg(
        long,
        value_name = "FILE",
        requires = "directory",
        conflicts_with = "directory_insecure"
    )]
    directory_ca: Option<PathBuf>,
    /// Do not verify the DC's certificate (a lab DC with a self-signed one).
    #[arg(long, requires = "directory")]
    directory_insecure: bool,
    /// Where a scenario's forest is prepared for Exchange and the DC's schema lacks
    /// mailNickname, add it (as Exchange's /PrepareSchema would; needs Schema Admins, and
    /// a schema extension is permanent). Without it such a scenario stops with what to do.
    #[arg(long, requires = "directory")]
    directory_prepare_schema: bool,
}

impl ExternalDirectoryArgs {
    pub(crate) fn target(
        self,
    ) -> anyhow::Result<Option<writeback_sim::world::external::DirectoryTarget>> {
        let Some(url) = self.directory else {
            return Ok(None);
        };
        if !url.starts_with("ldaps://") {
            anyhow::bail!(
                "--directory {url}: give an ldaps:// URL (passwords are set over TLS only)"
            );
        }
        let admin_dn = self.directory_admin.ok_or_else(|| {
            anyhow::anyhow!("--directory needs --directory-admin (the DC's administrator)")
        })?;
        let admin_password = match self.directory_password {
            Some(p) => p,
            None => std::env::var("WBSIM_DIRECTORY_PASSWORD").map_err(|_| {
                anyhow::anyhow!(
                    "--directory needs --directory-password or WBSIM_DIRECTORY_PASSWORD"
                )
            })?,
        };
        let ca_pem = match &self.directory_ca {
            Some(f) => Some(
                std::fs::read_to_string(f)
                    .with_context(|| format!("--directory-ca {}", f.display()))?,
            ),
            None => None,
        };
        Ok(Some(writeback_sim::world::external::DirectoryTarget {
            url,
            admin_dn,
            admin_password,
            ca_pem,
            insecure: self.directory_insecure,
            prepare_schema: self.directory_prepare_schema,
        }))
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Run {
            paths,
            filter,
            tags,
            jobs,
            junit,
            ci,
            accept,
            repeat,
            timeout,
            directory,
            compare,
        } => {
            let chosen = select(files(paths)?, filter.as_deref(), &tags);
            if chosen.is_empty() {
                println!("no scenario matches");
                return Ok(Outcome::Invalid);
            }
            let mut opts = run::RunOptions::new(jobs, junit, ci, repeat);
            opts.timeout = (timeout > 0).then(|| std::time::Duration::from_secs(timeout));
            if let Some(target) = directory.target()? {
                if accept || repeat > 1 {
                    anyhow::bail!("--accept and --repeat compare the embedded AD's reports: they do not go with --directory (a real DC assigns its own GUIDs, SIDs and times)");
                }
                // One scenario at a time on a DC: each leaves it as it found it.
                opts.jobs = 1;
                let snapshots = if compare {
                    "each compared with the embedded AD's run"
                } else {
                    "stored snapshots are not compared"
                };
                println!(
                    "on the directory at {} as {}: one scenario at a time, each left as found; {snapshots}",
                    target.url, target.admin_dn
                );
                opts.directory = Some(target);
                opts.compare = compare;
            }
            run::run(&chosen, &opts).await
        }
        Command::Validate { paths } => {
            use std::io::IsTerminal;
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            let files = files(paths)?;
            let mut bad = 0;
            for f in &files {
                let text = match writeback_sim::files::read_text(
                    f,
                    writeback_sim::files::SCENARIO_LIMIT,
                ) {
                    Ok(t) => t,
                    Err(e) => {
                        bad += 1;
                        println!("invalid {}: cannot be read: {e}", f.display());
                        continue;
                    }
                };
                let problems = writeback_sim::scenario::validate::check_in(&text, f.parent());
                if problems.is_empty() {
                    println!("ok      {}", f.display());
                    continue;
                }
                bad += 1;
                println!(
                    "invalid {} ({} problem{})",
                    f.display(),
                    problems.len(),
                    if problems.len() == 1 { "" } else { "s" }
                );
                print!(
                    "{}",
                    writeback_sim::scenario::validate::render(f, &text, &problems, color)
                );
            }
            println!("{} valid, {bad} invalid", files.len() - bad);
            Ok(if bad == 0 {
                Outcome::Ok
            } else {
                Outcome::Invalid
            })
        }
        Command::List {
            paths,
            filter,
            tags,
        } => {
            for f in select(files(paths)?, filter.as_deref(), &tags) {
                let root = suite::root_of(&f);
                let (tags, summary) = match runner::parse(&f) {
                    Ok(s) => (s.tags.join(","), s.summary.unwrap_or_default()),
                    Err(_) => (String::new(), "(does not parse: see validate)".into()),
                };
                println!(
                    "{:<45} {:<32} {summary}",
                    runner::scenario_name(&f, &root),
                    format!("[{tags}]")
                );
            }
            Ok(Outcome::Ok)
        }
        Command::Show { file } => show(&file).await,
        Command::New { name, from, dir } => new::new(&name, from.as_deref(), &dir),
        Command::Schema { markdown } => {
            if markdown {
                print!("{}", writeback_sim::scenario::model::reference_markdown());
            } else {
                let schema = writeback_sim::scenario::model::json_schema();
                println!("{}", serde_json::to_string_pretty(&schema)?);
            }
            Ok(Outcome::Ok)
        }
        Command::Directory(args) => directory(*args).await.map(|()| Outcome::Ok),
        Command::Lab(args) => lab::lab(*args).await,
    }
}

async fn show(file: &std::path::Path) -> anyhow::Result<Outcome> {
    if !file.is_file() {
        anyhow::bail!("{}: no such scenario file", file.display());
    }
    let root = suite::root_of(file);
    let outcome = match runner::run(file, &root).await {
        Ok(o) => o,
        Err(e) => {
            println!("invalid {e}");
            return Ok(Outcome::Invalid);
        }
    };
    print!("{}", suite::render(&outcome.report));
    if outcome.failures.is_empty() {
        return Ok(Outcome::Ok);
    }
    eprintln!(
        "{} expectation(s) failed (seed {}):",
        outcome.failures.len(),
        outcome.report.seed
    );
    for f in &outcome.failures {
        eprintln!("  {f}");
    }
    Ok(Outcome::Failed)
}

/// Write `bytes` to `path` readable by its owner only (it holds passwords).
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    use std::os::unix::fs::PermissionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // An existing file keeps its mode on open: make it the owner's only.
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    f.write_all(bytes)
}

async fn directory(args: DirectoryArgs) -> anyhow::Result<()> {
    let config = DirectoryConfig {
        forest: args.forest.clone(),
        admin_password: args.admin_password.clone(),
        seed: args.seed,
        require_tls_for_bind: args.require_tls_for_bind,
        connector: !args.no_connector,
        connector_password: args.connector_password.clone(),
        ..DirectoryConfig::default()
    };
    // The forest and the fixtures are made a month ago, as in a scenario or a lab: their
    // accounts' passwords are past the domain's one-day minimum age (a fixture user can
    // change their own password at once) and within the maximum age. Then the clock is
    // the real one.
    let clock = OffsetClock::new(-chrono::Duration::days(30));
    let dir = Directory::new(config, Arc::new(clock.clone())).context("provisioning the forest")?;
    for file in &args.ldif {
        let text = writeback_sim::files::read_text(file, writeback_sim::files::LDIF_LIMIT)
            .with_context(|| format!("reading {}", file.display()))?;
        let n = dir.import_ldif(&text, &file.display().to_string())?;
        println!("imported {n} records from {}", file.display());
    }
    clock.set_offset(chrono::Duration::zero());
    let domain = dir.domain();
    let tls = match (&args.cert, &args.key) {
        (Some(c), Some(k)) => TlsMaterial::from_files(c, k)?,
        _ => TlsMaterial::generate(&[
            domain.dc_host.clone(),
            "localhost".into(),
            "127.0.0.1".into(),
        ])?,
    };
    if let Some(path) = &args.write_cert {
        std::fs::write(path, &tls.cert_pem)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let running = Running::start(dir.clone(), Some(args.ldap), Some(args.ldaps), tls)
        .await
        .context("binding the LDAP/LDAPS listeners (another directory or lab on them? --ldap and --ldaps choose others)")?;
    let admin_dn = format!("CN=Administrator,CN=Users,{}", domain.dn);
    let credentials = serde_json::json!({
        "ldap_url": running.ldap_url(),
        "ldaps_url": running.ldaps_url(),
        "admin_dn": admin_dn,
        "admin_password": args.admin_password,
        "connector_dn": dir.connector_dn(),
        "connector_password": dir.connector_password(),
        "certificate": args.write_cert.as_ref().map(|p| p.display().to_string()),
    });
    write_private(&args.credentials, &serde_json::to_vec_pretty(&credentials)?)
        .with_context(|| format!("writing {}", args.credentials.display()))?;
    let creds = args.credentials.display();
    println!("embedded AD for {} ({})", domain.dns_name, domain.dn);
    if let Some(u) = running.ldap_url() {
        println!("  ldap:  {u}  (StartTLS available)");
    }
    if let Some(u) = running.ldaps_url() {
        println!("  ldaps: {u}");
    }
    println!("  admin: {admin_dn}");
    if let Some(dn) = dir.connector_dn() {
        println!("  connector: {dn}");
    }
    println!("  credentials: {creds} (mode 0600: the passwords are there, not here)");
    if let Some(path) = &args.write_cert {
        println!("  certificate: {}", path.display());
    }
    println!(
        "try: LDAPTLS_REQCERT=never ldapsearch -x -H {} -D Administrator@{} -w \"$(jq -r .admin_password {creds})\" -b {} '(objectClass=user)' cn",
        running.ldaps_url().unwrap_or_default(),
        domain.dns_name,
        domain.dn
    );
    println!("ready; Ctrl-C stops");
    wait_for_stop().await;
    println!("stopping");
    running.shutdown().await;
    Ok(())
}

/// Until Ctrl-C or SIGTERM.
pub(crate) async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
