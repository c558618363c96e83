// An ocpp-rpc CSMS in strict mode, for bidicharge's station to talk to.
// usage: node csms.js <port> <ocpp2.0.1|ocpp2.1> [startSchedule ISO time, default now]
// stdout: one JSON object per line: {"listening": port}, {"recv": action, "params": …},
//         {"sent": action, "response": …} or {"sent": action, "error": …}, {"invalid": …}.
'use strict';
const { RPCServer } = require('ocpp-rpc');
const { strictValidators, emit, errorInfo } = require('./common');

const port = Number(process.argv[2]);
const protocol = process.argv[3];
const v21 = protocol === 'ocpp2.1';
const startSchedule = process.argv[4] || new Date().toISOString();

function setChargingProfile() {
    const period = v21
        ? { startPeriod: 0, operationMode: 'CentralSetpoint', setpoint: -7000, setpoint_L2: -2300,
            setpoint_L3: -2300, dischargeLimit: -11000, dischargeLimit_L2: -3700, limit: 11000, limit_L2: 3700 }
        : { startPeriod: 0, limit: 7400, numberPhases: 3 };
    return { evseId: 1, chargingProfile: { id: 7, stackLevel: 0, chargingProfilePurpose: 'TxProfile',
        chargingProfileKind: 'Absolute', transactionId: 'TX-1',
        chargingSchedule: [{ id: 1, chargingRateUnit: 'W', startSchedule,
            chargingSchedulePeriod: [period] }] } };
}

(async () => {
    const server = new RPCServer({ protocols: [protocol], strictMode: true, strictModeValidators: strictValidators() });
    server.on('client', (client) => {
        client.on('strictValidationFailure', e => emit({ invalid: e.method, outbound: e.outbound, error: errorInfo(e.error) }));
        const record = (action, result) => client.handle(action, ({ params }) => {
            emit({ recv: action, identity: client.identity, params });
            return typeof result === 'function' ? result(params) : result;
        });
        record('BootNotification', { currentTime: new Date().toISOString(), interval: 300, status: 'Accepted' });
        record('StatusNotification', {});
        record('Heartbeat', () => ({ currentTime: new Date().toISOString() }));
        record('Authorize', p => ({ idTokenInfo: { status: p.idToken.idToken === 'BAD' ? 'Invalid' : 'Accepted' } }));
        record('TransactionEvent', p => (p.eventType === 'Started' ? { idTokenInfo: { status: 'Accepted' } } : {}));
        record('MeterValues', {});
        record('NotifyEVChargingNeeds', () => {
            // answer first, then steer the EV: the V2X profile follows the needs (OCPP 2.x K15)
            setImmediate(async () => {
                try {
                    const response = await client.call('SetChargingProfile', setChargingProfile());
                    emit({ sent: 'SetChargingProfile', response });
                } catch (err) {
                    emit({ sent: 'SetChargingProfile', error: errorInfo(err) });
                }
            });
            return { status: 'Accepted' };
        });
    });
    await server.listen(port, '127.0.0.1');
    emit({ listening: port });
    process.stdin.resume();
    process.stdin.on('end', () => process.exit(0));  // the test closes our stdin to stop us
})().catch(err => { emit({ fatal: String(err && err.stack) }); process.exit(1); });
