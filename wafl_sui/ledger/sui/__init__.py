"""Real Sui networks: the pure layer (BCS, transactions, abort decoding, deployments file) and a
thin network shell over pysui's gRPC client.

    bcs            BCS encoders/decoder and pure-argument encoders
    transactions   programmable transactions -> TransactionData bytes and digest
    aborts         clever Move abort codes -> our #[error] names
    deployments    $WAFL_HOME/deployments.json (package, UpgradeCap, tasks per network)
    network        network names -> node / faucet URLs, chain ids, SuiNetworkError
    grpc_plaintext pysui's gRPC client with plaintext for http:// (local `sui start`)
    client         SuiClient, the synchronous facade the ledger uses
    faucet         faucet requests (`python -m wafl_sui.ledger.sui.faucet`)
    task_object    the Task object and the events, BCS by the compiled Move layouts
    publish        publish the package from its offline build (`python -m wafl_sui.ledger.sui.publish`)
    ledger         SuiLedger (the ledger interface on Sui) and the offline transaction builders

Nothing here imports pysui until a client is made.
"""
