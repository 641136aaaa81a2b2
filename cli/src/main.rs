//! The `m2mctl` binary: see the library for everything.

fn main() -> std::process::ExitCode {
    m2mctl::main()
}
