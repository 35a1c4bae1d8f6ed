//! The tickmesh protobuf contract: generated prost messages and tonic services for every
//! package under `proto/tickmesh/`, the descriptor set for server reflection, and the
//! conversions between these wire types and the domain model.
//!
//! Protobuf types stop here: services convert at their gRPC edge with the functions in
//! [`convert`] and hand domain types inward.
//!
//! Code is generated at build time by `build.rs` (protox + tonic-prost-build), so building
//! needs no system `protoc`.

pub mod codec;
pub mod convert;
mod encode;
pub mod envelope;
pub mod routing;
mod shared;

/// Generated code is exempt from our lints: it is not ours to style.
macro_rules! generated {
    ($(#[$doc:meta])* $name:ident, $file:literal) => {
        $(#[$doc])*
        #[allow(
            clippy::all,
            clippy::pedantic,
            missing_debug_implementations,
            rust_2018_idioms,
            unreachable_pub
        )]
        pub mod $name {
            /// Version 1 of the package.
            pub mod v1 {
                include!(concat!(env!("OUT_DIR"), "/", $file));
            }
        }
    };
}

generated!(
    /// `tickmesh.market.v1`: market events, markets, exchanges.
    market,
    "tickmesh.market.v1.rs"
);
generated!(
    /// `tickmesh.subscription.v1`: `SubscriptionService`.
    subscription,
    "tickmesh.subscription.v1.rs"
);
generated!(
    /// `tickmesh.stream.v1`: `TickStreamService`.
    stream,
    "tickmesh.stream.v1.rs"
);
generated!(
    /// `tickmesh.ingestion.v1`: `IngestionService`.
    ingestion,
    "tickmesh.ingestion.v1.rs"
);
generated!(
    /// `tickmesh.bridge.v1`: `BridgeService`.
    bridge,
    "tickmesh.bridge.v1.rs"
);
generated!(
    /// `tickmesh.history.v1`: `HistoryService`.
    history,
    "tickmesh.history.v1.rs"
);

/// The encoded `FileDescriptorSet` of every tickmesh package, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/tickmesh_descriptor.bin"));
