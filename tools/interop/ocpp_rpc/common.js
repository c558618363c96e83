// Shared by the ocpp-rpc interop peers of bidicharge (tests/interop/test_ocpprpc_*.py).
// Strict mode for 2.0.1 uses ocpp-rpc's bundled validator; for 2.1 the bundled schemas carry
// ids "urn:<Action>Request/Response" while the validator looks up "urn:<Action>.req/.conf"
// (see shared reference ocpp.md §5), so the ids are renamed, the schemas left as they are.
'use strict';
const { createValidator } = require('ocpp-rpc');

// ajv reports the schemas' "additionalProperties" on enum types as "strictTypes" chatter when it
// compiles them (lazily, on first use); keep other warnings.
const warn = console.warn;
console.warn = (...args) => {
    if (typeof args[0] === 'string' && args[0].startsWith('strict mode:')) return;
    warn(...args);
};

function strictValidators() {
    const raw21 = require('ocpp-rpc/lib/schemas/ocpp2_1.json').map(s => ({
        ...s, $id: s.$id.replace(/Request$/, '.req').replace(/Response$/, '.conf'),
    }));
    return [
        createValidator('ocpp2.0.1', require('ocpp-rpc/lib/schemas/ocpp2_0_1.json')),
        createValidator('ocpp2.1', raw21),
    ];
}

function emit(obj) {
    process.stdout.write(JSON.stringify(obj) + '\n');
}

function errorInfo(err) {
    return { rpcErrorCode: err && err.rpcErrorCode, message: String(err && err.message) };
}

module.exports = { strictValidators, emit, errorInfo };
