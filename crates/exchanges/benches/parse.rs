//! Parse + normalise throughput per exchange and message kind: one frame in, domain events
//! out, exactly as a feed does it (the output vector is reused, as the session reuses it).
//!
//! Run with `cargo bench -p tickmesh-exchanges`; the target is at least 1,000,000 Upbit
//! SIMPLE trade frames per second per core.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

mod frames;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use frames::Parser;
use tickmesh_domain::UtcMicros;

fn bench_one(c: &mut Criterion, name: &str, parse: Parser, frame: &str) {
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(1));
    let mut out = Vec::with_capacity(4);
    // Fail loudly if the frame does not parse: a benchmark of an error path is worthless.
    parse(frame.as_bytes(), UtcMicros(0), false, &mut out).unwrap();
    assert_eq!(out.len(), 1);
    group.bench_function("frame", |b| {
        b.iter(|| {
            out.clear();
            let control = parse(black_box(frame.as_bytes()), UtcMicros(0), false, &mut out);
            black_box((&control, &out));
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    for (name, parse, frame) in frames::all() {
        bench_one(c, name, parse, &frame);
    }
}

criterion_group!(parse, benches);
criterion_main!(parse);
