// An ocpp-rpc charging station in strict mode, run against bidicharge's CSMS.
// usage: node station.js <ws url without identity> <identity> <ocpp2.0.1|ocpp2.1>
// Runs: Boot, Authorize, TransactionEvent Started (meter values import AND export), Updated,
// NotifyEVChargingNeeds (2.1: with v2xChargingParameters incl. _L2/_L3), waits for the CSMS's
// SetChargingProfile, then TransactionEvent Ended. stdout: one JSON object per line.
'use strict';
const { RPCClient } = require('ocpp-rpc');
const { strictValidators, emit, errorInfo } = require('./common');

const [url, identity, protocol] = process.argv.slice(2);
const v21 = protocol === 'ocpp2.1';
const now = () => new Date().toISOString();

function meter(importWh, exportWh) {
    return [{ timestamp: now(), sampledValue: [
        { value: importWh, measurand: 'Energy.Active.Import.Register', unitOfMeasure: { unit: 'Wh' } },
        { value: exportWh, measurand: 'Energy.Active.Export.Register', unitOfMeasure: { unit: 'Wh' } },
    ] }];
}

function chargingNeeds() {
    if (v21) {
        return { requestedEnergyTransfer: 'AC_BPT', availableEnergyTransfer: ['AC_BPT', 'AC_three_phase'],
            controlMode: 'DynamicControl', departureTime: new Date(Date.now() + 8 * 3600e3).toISOString(),
            v2xChargingParameters: { maxChargePower: 11000, maxChargePower_L2: 3700, maxChargePower_L3: 3700,
                maxDischargePower: 11000, maxDischargePower_L2: 3700, maxDischargePower_L3: 3700,
                minChargePower: 1400, evTargetEnergyRequest: 30000, evMinEnergyRequest: 5000,
                evMaxEnergyRequest: 50000, targetSoC: 80 } };
    }
    return { requestedEnergyTransfer: 'AC_three_phase', departureTime: new Date(Date.now() + 8 * 3600e3).toISOString(),
        acChargingParameters: { energyAmount: 30000, evMinCurrent: 6, evMaxCurrent: 16, evMaxVoltage: 400 } };
}

(async () => {
    const cli = new RPCClient({ endpoint: url, identity, protocols: [protocol], strictMode: true,
        strictModeValidators: strictValidators(), reconnect: false, callTimeoutMs: 10000 });
    cli.on('strictValidationFailure', e => emit({ invalid: e.method, outbound: e.outbound, error: errorInfo(e.error) }));
    let gotProfile;
    const profile = new Promise(resolve => { gotProfile = resolve; });
    cli.handle('SetChargingProfile', ({ params }) => {
        emit({ recv: 'SetChargingProfile', params });
        gotProfile(params);
        return { status: 'Accepted' };
    });
    const step = async (action, params) => {
        try {
            const response = await cli.call(action, params);
            emit({ sent: action, response });
            return response;
        } catch (err) {
            emit({ sent: action, error: errorInfo(err) });
            return null;
        }
    };
    await cli.connect();
    emit({ connected: cli.protocol });
    await step('BootNotification', { reason: 'PowerUp', chargingStation: { model: 'ocpp-rpc-station', vendorName: 'node' } });
    await step('Authorize', { idToken: { idToken: 'TOKEN-1', type: 'ISO14443' } });
    await step('Authorize', { idToken: { idToken: 'BAD', type: 'ISO14443' } });
    const tx = { transactionId: 'TX-1' };
    await step('TransactionEvent', { eventType: 'Started', timestamp: now(), triggerReason: 'Authorized', seqNo: 0,
        transactionInfo: tx, idToken: { idToken: 'TOKEN-1', type: 'ISO14443' }, evse: { id: 1, connectorId: 1 },
        meterValue: meter(1000, 0) });
    await step('TransactionEvent', { eventType: 'Updated', timestamp: now(), triggerReason: 'MeterValuePeriodic',
        seqNo: 1, transactionInfo: tx, meterValue: meter(3500, 1200) });
    await step('NotifyEVChargingNeeds', { evseId: 1, chargingNeeds: chargingNeeds() });
    const timeout = new Promise(resolve => setTimeout(() => resolve(null), 10000));
    await Promise.race([profile, timeout]);
    await step('TransactionEvent', { eventType: 'Ended', timestamp: now(), triggerReason: 'StopAuthorized', seqNo: 2,
        transactionInfo: { ...tx, stoppedReason: 'Local' }, meterValue: meter(4100, 2300) });
    emit({ done: true });
    await cli.close({ code: 1000 });
    process.exit(0);
})().catch(err => { emit({ fatal: String(err && err.stack) }); process.exit(1); });
