/// The task's data contract (its manifest): feature names and scaling, class names in order,
/// label column, model architecture and spec, as canonical JSON bytes written once by the
/// task's admin (`task::set_manifest`) and read by every client and evaluator. The contract
/// checks only its size and records its hash; the content is the clients' (mirrored by
/// `wafl_sui/protocol/manifest.py`).
module wafl::manifest;

use std::hash;

#[error]
const EManifestSize: vector<u8> = b"The manifest is empty or larger than MAX_MANIFEST_BYTES (16 KiB)";

/// Largest manifest in bytes (a dynamic field of the Task, far below Sui's object size limit).
const MAX_MANIFEST_BYTES: u64 = 16384;

public(package) fun max_manifest_bytes(): u64 { MAX_MANIFEST_BYTES }

/// EManifestSize unless 0 < length <= MAX_MANIFEST_BYTES.
public(package) fun check_size(manifest: &vector<u8>) {
    let n = manifest.length();
    assert!(n > 0 && n <= MAX_MANIFEST_BYTES, EManifestSize);
}

/// The manifest's SHA3-256 digest read as a big-endian u256 (what `ManifestSet` carries).
public(package) fun manifest_hash(manifest: &vector<u8>): u256 {
    let digest = hash::sha3_256(*manifest);
    let mut value: u256 = 0;
    let mut i = 0;
    while (i < digest.length()) {
        value = (value << 8) | (*digest.borrow(i) as u256);
        i = i + 1;
    };
    value
}
