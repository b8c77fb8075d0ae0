//! Cross-crate tests for openai-uploads: the generated crate's guarantees (64-bit integers, open enums,
//! streamed parts, nullable fields) and the wire conformance of the client against the vendored spec.
//! The tests live beside this file (`tests/*.rs`); this library is intentionally empty.

// Compiles the repository README's Rust examples as doc tests, so the quickstart cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct RepositoryReadmeDoctests;

// The uploads-fake README's examples (its crate compiles only its own doc comments).
#[cfg(doctest)]
#[doc = include_str!("../../crates/uploads-fake/README.md")]
struct FakeReadmeDoctests;
