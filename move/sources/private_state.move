/// What a private task stores (one dynamic field of the `Task`, key `PrivacyKey`): its
/// `DpParams`, the private registration of each registered sender (its data and seed
/// commitments and the first round it may use) and the accepted updates of each sender. The
/// contributions are keyed by address and survive leaving and re-registering: leaving cannot
/// reset a privacy budget. `wafl::task` passes its UID; the rules are `wafl::privacy`'s.
/// Package-internal, except the getters of `PrivateRegistration`.
module wafl::private_state;

use sui::dynamic_field as df;
use sui::table::{Self, Table};
use wafl::privacy::DpParams;

/// Key of the dynamic field of the `Task` that makes it private.
public struct PrivacyKey() has copy, drop, store;

/// A sender's private registration (`protocol.task.PrivateRegistration`).
public struct PrivateRegistration has copy, drop, store {
    data_commitment: u256,
    seed_commitment: u256,
    first_round: u64,
}

/// The value of the `PrivacyKey` field.
public struct Privacy has store {
    params: DpParams,
    registrations: Table<address, PrivateRegistration>,
    contributions: Table<address, u64>,
}

public(package) fun set(id: &mut UID, params: DpParams, ctx: &mut TxContext) {
    let privacy = Privacy { params, registrations: table::new(ctx), contributions: table::new(ctx) };
    df::add(id, PrivacyKey(), privacy);
}

public(package) fun is_private(id: &UID): bool { df::exists_(id, PrivacyKey()) }

/// The task's parameters (aborts on a non-private task: check `is_private`).
public(package) fun params(id: &UID): DpParams { borrow(id).params }

public(package) fun register(id: &mut UID, sender: address, data_commitment: u256, seed_commitment: u256, first_round: u64) {
    borrow_mut(id).registrations.add(sender, PrivateRegistration { data_commitment, seed_commitment, first_round });
}

/// Remove the private registration of `sender`, if any (leaving; a no-op on other tasks).
public(package) fun unregister(id: &mut UID, sender: address) {
    if (!is_private(id)) return;
    let privacy = borrow_mut(id);
    if (privacy.registrations.contains(sender)) {
        privacy.registrations.remove(sender);
    };
}

public(package) fun registration(id: &UID, sender: address): Option<PrivateRegistration> {
    let privacy = borrow(id);
    if (privacy.registrations.contains(sender)) option::some(privacy.registrations[sender]) else option::none()
}

/// Accepted private updates of `sender` (0 if none, or on a non-private task).
public(package) fun contributions(id: &UID, sender: address): u64 {
    if (!is_private(id)) return 0;
    let privacy = borrow(id);
    if (privacy.contributions.contains(sender)) privacy.contributions[sender] else 0
}

/// Count one more accepted update of `sender`.
public(package) fun add_contribution(id: &mut UID, sender: address) {
    let privacy = borrow_mut(id);
    if (privacy.contributions.contains(sender)) {
        let c = table::borrow_mut(&mut privacy.contributions, sender);
        *c = *c + 1;
    } else privacy.contributions.add(sender, 1);
}

fun borrow(id: &UID): &Privacy { df::borrow(id, PrivacyKey()) }

fun borrow_mut(id: &mut UID): &mut Privacy { df::borrow_mut(id, PrivacyKey()) }

// === PrivateRegistration getters ===

public fun data_commitment(r: &PrivateRegistration): u256 { r.data_commitment }

public fun seed_commitment(r: &PrivateRegistration): u256 { r.seed_commitment }

public fun first_round(r: &PrivateRegistration): u64 { r.first_round }
