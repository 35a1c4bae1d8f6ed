//! Parses one benchmark frame `N` times, for counting instructions: wall-clock benchmarks
//! swing with whatever else the machine runs, an instruction count does not.
//!
//! ```text
//! cargo build --release -p tickmesh-exchanges --example parse_frames
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/parse_frames korbit/orderbook30 2000
//! ```
//!
//! With no arguments it lists the frame names. Subtract the count for `N` = 0 (start-up) from
//! the count for `N` to get the cost of `N` frames.

#![allow(clippy::print_stdout, missing_docs)]

#[path = "../benches/frames.rs"]
mod frames;

use std::hint::black_box;
use std::process::ExitCode;

use tickmesh_domain::UtcMicros;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(name), count) = (args.next(), args.next()) else {
        for (name, _, _) in frames::all() {
            println!("{name}");
        }
        return ExitCode::SUCCESS;
    };
    let Some((_, parse, frame)) = frames::all().into_iter().find(|(n, _, _)| *n == name) else {
        eprintln!("no frame named `{name}`; run without arguments for the list");
        return ExitCode::FAILURE;
    };
    let Ok(count) = count.as_deref().unwrap_or("2000").parse::<u32>() else {
        eprintln!("the count must be a whole number");
        return ExitCode::FAILURE;
    };
    let mut out = Vec::with_capacity(4);
    for _ in 0..count {
        out.clear();
        let control = parse(black_box(frame.as_bytes()), UtcMicros(0), false, &mut out);
        if let Err(error) = black_box(control) {
            eprintln!("{name} does not parse: {error}");
            return ExitCode::FAILURE;
        }
        black_box(&out);
    }
    ExitCode::SUCCESS
}
