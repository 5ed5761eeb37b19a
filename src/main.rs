//! The `shoal` binary: parses the command line, calls the library, exits.

fn main() {}
