//! The `foerderakte` binary: parses the command line and hands over to the library.

fn main() -> std::process::ExitCode {
    foerderakte::cli::main()
}
