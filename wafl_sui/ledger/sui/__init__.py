"""Real Sui networks: the pure layer (BCS, transactions, abort decoding, deployments file) and a
thin network shell over pysui's gRPC client.

    bcs            BCS encoders/decoder and pure-argument encoders
    transactions   programmable transactions -> TransactionData bytes and digest
    aborts         clever Move abort codes -> our #[error] names
    deployments    $WAFL_HOME/deployments.json (package, UpgradeCap, tasks per network)
    network        network names -> node / faucet URLs, chain ids, SuiNetworkError
    grpc_plaintext pysui's gRPC client with plaintext for http:// (local `sui start`)
    client         SuiClient, the synchronous facade the ledger uses
    faucet         faucet requests (`wafl faucet`)
    task_object    the Task object and the events, BCS by the compiled Move layouts
    task_calls     one transaction builder per entry of move/sources/task.move, publish included
    errors         SuiLedgerError and its kinds; the Sui layer's errors translated
    history        a task's events: the transactions that wrote its versions, cached
    unsigned       unsigned TransactionData (--serialize-unsigned-transaction), offline or looked up
    sending        simulate, sign, send safe to repeat, fund from the faucet
    ledger         SuiLedger, the ledger interface on Sui: a thin shell over the above
    publish        publish the package from its offline build (`wafl deploy`)

Nothing here imports pysui until a client is made.
"""
