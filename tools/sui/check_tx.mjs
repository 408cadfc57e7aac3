#!/usr/bin/env node
// Decode Sui TransactionData bytes with the official TS SDK (@mysten/sui) and print JSON, so
// Python tests can check our own BCS encoder, digests and signatures against it.
//
// Input: flags (values base64), or on stdin a JSON request object or a list of them:
//   --tx B64                 TransactionData BCS bytes
//   --signature B64          serialized signature over --tx (or over --message if no --tx)
//   --message B64            a personal message (checked with verifyPersonalMessageSignature)
//   --messageSignature B64   its signature when --tx and --message are both given
//   JSON only: "pure": [{"type": "vector<u32>", "value": [1, 2]}, ...] -> the TS SDK's pure
//              encoding of each value (tx.pure(type, value)), base64
//   JSON only: "dynamicFieldIds": [{"parentId": "0x..", "typeTag": "address", "key": B64}, ...]
//              -> deriveDynamicFieldID of each (the object id of a Table entry)
// Output (stdout, one JSON object, or a list for a list):
//   {transaction: {sender, expiration, gasData, inputs, commands, digest, sdkDigest, roundTrip},
//    signature: {valid, address, publicKey, error}, personalMessage: {valid, address, error},
//    pure: [B64, ...], dynamicFieldIds: ["0x..", ...]}
// Exit status: 0 when decoding worked (signature results are reported, not fatal), 2 on bad input.

import { bcs, pureBcsSchemaFromTypeName } from '@mysten/sui/bcs';
import { Transaction, TransactionDataBuilder } from '@mysten/sui/transactions';
import { verifyPersonalMessageSignature, verifyTransactionSignature } from '@mysten/sui/verify';
import { deriveDynamicFieldID, fromBase64, toBase64 } from '@mysten/sui/utils';

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i];
    if (!key.startsWith('--') || i + 1 >= argv.length) throw new Error(`bad argument ${key}`);
    out[key.slice(2)] = argv[i + 1];
  }
  return out;
}

async function readStdin() {
  if (process.stdin.isTTY) return '';
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8').trim();
}

const b64 = (u8) => toBase64(Uint8Array.from(u8));

function argument(a) {
  switch (a.$kind) {
    case 'GasCoin':
      return { kind: 'GasCoin' };
    case 'Input':
      return { kind: 'Input', index: a.Input };
    case 'Result':
      return { kind: 'Result', index: a.Result };
    case 'NestedResult':
      return { kind: 'NestedResult', index: a.NestedResult[0], result: a.NestedResult[1] };
    default:
      throw new Error(`unknown argument ${JSON.stringify(a)}`);
  }
}

function objectRef(r) {
  return { objectId: r.objectId, version: String(r.version), digest: r.digest };
}

function input(i) {
  if (i.$kind === 'Pure') return { kind: 'Pure', bytes: i.Pure.bytes };
  if (i.$kind !== 'Object') throw new Error(`unknown input ${i.$kind}`);
  const o = i.Object;
  switch (o.$kind) {
    case 'ImmOrOwnedObject':
      return { kind: 'ImmOrOwnedObject', ...objectRef(o.ImmOrOwnedObject) };
    case 'Receiving':
      return { kind: 'Receiving', ...objectRef(o.Receiving) };
    case 'SharedObject':
      return {
        kind: 'SharedObject',
        objectId: o.SharedObject.objectId,
        initialSharedVersion: String(o.SharedObject.initialSharedVersion),
        mutable: o.SharedObject.mutable,
      };
    default:
      throw new Error(`unknown object input ${o.$kind}`);
  }
}

function command(c) {
  const k = c.$kind;
  const v = c[k];
  switch (k) {
    case 'MoveCall':
      return {
        kind: k,
        target: `${v.package}::${v.module}::${v.function}`,
        package: v.package,
        module: v.module,
        function: v.function,
        typeArguments: v.typeArguments,
        arguments: v.arguments.map(argument),
      };
    case 'TransferObjects':
      return { kind: k, objects: v.objects.map(argument), address: argument(v.address) };
    case 'SplitCoins':
      return { kind: k, coin: argument(v.coin), amounts: v.amounts.map(argument) };
    case 'MergeCoins':
      return { kind: k, destination: argument(v.destination), sources: v.sources.map(argument) };
    case 'Publish':
      return { kind: k, modules: v.modules, dependencies: v.dependencies };
    case 'MakeMoveVec':
      return { kind: k, type: v.type, elements: v.elements.map(argument) };
    case 'Upgrade':
      return {
        kind: k,
        modules: v.modules,
        dependencies: v.dependencies,
        package: v.package,
        ticket: argument(v.ticket),
      };
    default:
      throw new Error(`unknown command ${k}`);
  }
}

async function decodeTransaction(bytes) {
  const data = bcs.TransactionData.parse(bytes);
  if (data.$kind !== 'V1') throw new Error(`TransactionData ${data.$kind} is not V1`);
  const v1 = data.V1;
  if (v1.kind.$kind !== 'ProgrammableTransaction') throw new Error(`kind ${v1.kind.$kind}`);
  const ptb = v1.kind.ProgrammableTransaction;
  const reencoded = bcs.TransactionData.serialize(data).toBytes();
  let sdkDigest = null;
  let sdkDigestError = null;
  try {
    sdkDigest = await Transaction.from(bytes).getDigest();
  } catch (e) {
    sdkDigestError = String(e?.message ?? e);
  }
  return {
    sender: v1.sender,
    expiration: v1.expiration.$kind === 'None' ? null : { epoch: String(v1.expiration.Epoch) },
    gasData: {
      payment: v1.gasData.payment.map(objectRef),
      owner: v1.gasData.owner,
      price: String(v1.gasData.price),
      budget: String(v1.gasData.budget),
    },
    inputs: ptb.inputs.map(input),
    commands: ptb.commands.map(command),
    digest: TransactionDataBuilder.getDigestFromBytes(bytes),
    sdkDigest,
    sdkDigestError,
    roundTrip: b64(reencoded) === b64(bytes),
  };
}

async function check(verify, bytes, signature) {
  try {
    const pk = await verify(bytes, signature);
    return { valid: true, address: pk.toSuiAddress(), publicKey: pk.toBase64(), scheme: pk.flag() };
  } catch (e) {
    return { valid: false, error: String(e?.message ?? e) };
  }
}

function pure(items) {
  return items.map(({ type, value }) => {
    return pureBcsSchemaFromTypeName(type).serialize(value).toBase64();
  });
}

async function handle(req) {
  if (!req.tx && !req.message && !req.pure && !req.dynamicFieldIds) {
    throw new Error('a request needs tx, message, pure or dynamicFieldIds');
  }
  const out = {};
  if (req.pure) out.pure = pure(req.pure);
  if (req.dynamicFieldIds) {
    out.dynamicFieldIds = req.dynamicFieldIds.map(({ parentId, typeTag, key }) =>
      deriveDynamicFieldID(parentId, typeTag, fromBase64(key)),
    );
  }
  if (req.tx) {
    const bytes = fromBase64(req.tx);
    out.transaction = await decodeTransaction(bytes);
    if (req.signature) out.signature = await check(verifyTransactionSignature, bytes, req.signature);
  }
  if (req.message) {
    const msg = fromBase64(req.message);
    const sig = req.messageSignature ?? req.signature;
    if (!sig) throw new Error('--message needs --signature');
    out.personalMessage = await check(verifyPersonalMessageSignature, msg, sig);
  }
  return out;
}

async function main() {
  let req = parseArgs(process.argv.slice(2));
  if (Object.keys(req).length === 0) {
    const text = await readStdin();
    if (!text) throw new Error('give --tx and/or --message (base64), or a JSON request on stdin');
    req = JSON.parse(text);
  }
  const out = Array.isArray(req) ? await Promise.all(req.map(handle)) : await handle(req);
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stderr.write(`check_tx: ${e?.stack ?? e}\n`);
  process.exit(2);
});
