//! `shoal completions SHELL`: a shell completion script.

use crate::cli::Cli;
use crate::{ExitStatus, Result};

pub fn run(shell: clap_complete::Shell) -> Result<ExitStatus> {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    clap_complete::generate(shell, &mut cmd, "shoal", &mut std::io::stdout());
    Ok(ExitStatus::Success)
}
