"""The embedded local ledger: the Move contract's rules on one SQLite file (see `ledger`).

    from wafl_sui.ledger.local import LocalLedger
    with LocalLedger("run/ledger.sqlite") as ledger:      # default: $WAFL_HOME/ledger.sqlite
        ref = ledger.create_task(owner, spec, rules, aggregation, lr_q, True, model, vk, name="digits")
        ledger.submit_update(client, ref.task_id, new_weights, data_commitment, proof)

Modules: `ledger` (LocalLedger), `ops` (signed operations), `store` (the file), `state_codec`
(TaskState as JSON), `verify` (the pairing check).
"""

from wafl_sui.ledger.local.ledger import LocalLedger, TxRecord, derive_object_id, task_view, wall_clock_ms
from wafl_sui.ledger.local.ops import InvalidSignature, MalformedOperation, Operation, SignedOp
from wafl_sui.ledger.local.store import FORMAT, SCHEMA_VERSION, LedgerBusy, LedgerFileError, default_path

__all__ = [
    "FORMAT", "InvalidSignature", "LedgerBusy", "LedgerFileError", "LocalLedger", "MalformedOperation",
    "Operation", "SCHEMA_VERSION", "SignedOp", "TxRecord", "default_path", "derive_object_id", "task_view",
    "wall_clock_ms",
]
