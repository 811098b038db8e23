fn main() -> std::process::ExitCode {
    gaptrack::cli::main()
}
