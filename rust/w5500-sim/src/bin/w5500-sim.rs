//! `w5500-sim`: serves the simulated W5500 to programs in other languages over a Unix socket
//! or loopback TCP. The wire protocol is documented in `w5500_sim::bridge`.

use std::process::ExitCode;

use w5500_sim::bridge::{
    parse_args, Command, Listener, Options, RegisterFile, Server, ServerConfig, USAGE,
};

fn main() -> ExitCode {
    let opts = match parse_args(std::env::args().skip(1)) {
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Run(o)) => o,
        Err(e) => {
            eprintln!("w5500-sim: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("w5500-sim: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(opts: &Options) -> Result<(), String> {
    if !opts.selftest_target {
        return Err(
            "not yet wired: the simulated chip is not in this build yet; \
                    use --selftest-target to serve a plain register file"
                .into(),
        );
    }
    let listener = Listener::bind(&opts.listen).map_err(|e| format!("{}: {e}", opts.listen))?;
    let shown = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| opts.listen.to_string());
    println!("w5500-sim: serving a register file on {shown}");
    let config = ServerConfig {
        clock: opts.clock,
        spi_hz: opts.spi_hz,
    };
    let mut server = Server::new(RegisterFile::new(opts.clock, opts.spi_hz), config);
    server
        .serve(&listener, opts.max_clients)
        .map_err(|e| format!("serving: {e}"))
}
