//! Logging: the tracing subscriber on stderr, text or JSON lines.
//! `-v`/`-q` set the default filter; `RUST_LOG` overrides it.

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Installs the tracing subscriber on stderr. `verbosity`: -1 quiet, 0 info, 1 debug, 2 trace.
/// `RUST_LOG` overrides the filter.
pub fn init(format: LogFormat, verbosity: i8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbosity {
        i8::MIN..=-1 => "warn",
        // The Delta engine logs every snapshot it builds at info level: that
        // is its debugging, not the run's story.
        0 => "info,buoyant_kernel=warn,deltalake_core=warn",
        1 => "shoal=debug,info,buoyant_kernel=warn,deltalake_core=warn",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
    };
}
