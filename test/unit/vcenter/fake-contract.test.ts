/**
 * The fake vCenter is only as useful as it is strict: requests of the wrong shape must fail there as
 * they would on vCenter (so the client tests above can fail). Sent through the real transports.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VcenterError } from '../../../server/vcenter/errors.js';
import { VcenterSession } from '../../../server/vcenter/session.js';
import type { VimParams } from '../../../server/vcenter/transport.js';
import { FakeVcenter } from '../../support/fake-vcenter.js';

const CM = { type: 'CryptoManagerKmip', value: 'CryptoManager' };
const PC = { type: 'PropertyCollector', value: 'propertyCollector' };
const pid = { _typeName: 'KeyProviderId', id: 'kp' };
const info = (port: number | string) => ({ _typeName: 'KmipServerInfo', name: 's', address: '127.0.0.1', port: port as number });
const filter = (selection: Record<string, unknown>): VimParams => ({
  specSet: [
    {
      _typeName: 'PropertyFilterSpec',
      propSet: [{ _typeName: 'PropertySpec', type: 'VirtualMachine', all: false, pathSet: ['name'] }],
      objectSet: [{ _typeName: 'ObjectSpec', obj: { _typeName: 'ManagedObjectReference', type: 'ContainerView', value: 'v' }, skip: true, selectSet: [selection as never] }],
    },
  ],
});

describe('the fake vCenter refuses requests of the wrong shape', () => {
  let fake: FakeVcenter;
  const sessions: VcenterSession[] = [];
  beforeAll(async () => {
    fake = await FakeVcenter.start();
    for (const api of ['json', 'soap'] as const) sessions.push(await VcenterSession.open({ url: fake.url, user: fake.user, password: fake.password, ca: fake.ca.certificatePem, api }));
  });
  afterAll(async () => {
    for (const s of sessions) await s.close();
    await fake?.close();
  });

  const refused = async (s: VcenterSession, obj: typeof CM, method: string, params: VimParams, why: RegExp) => {
    const err = await s.call(obj, method, params).catch((e: unknown) => e);
    expect(err, `${s.transport.kind} ${method}`).toBeInstanceOf(VcenterError);
    expect((err as VcenterError).faultType).toBe('InvalidRequest');
    expect((err as VcenterError).message).toMatch(why);
  };

  it('VI/JSON: a single object for an array, a string for a number, a subtype without _typeName, an unknown field', async () => {
    const s = sessions[0]!;
    await refused(s, CM, 'RetrieveKmipServersStatus_Task', { clusters: { _typeName: 'KmipClusterInfo', clusterId: pid, useAsDefault: false } }, /clusters: expected an array/);
    await refused(s, CM, 'RegisterKmipServer', { server: { _typeName: 'KmipServerSpec', clusterId: pid, info: info('5696') } }, /port: expected a number/);
    await refused(s, PC, 'RetrievePropertiesEx', filter({ name: 'v', type: 'ContainerView', path: 'view', skip: false }), /needs "_typeName": "TraversalSpec"/);
    await refused(s, CM, 'MarkDefault', { clusterId: pid, extra: 'x' }, /extra: unknown field/);
  });

  it('SOAP: fields out of WSDL order, a subtype without xsi:type', async () => {
    const s = sessions[1]!;
    await refused(s, CM, 'RemoveKmipServer', { serverName: 's', clusterId: pid }, /clusterId: out of WSDL order/);
    await refused(s, CM, 'RegisterKmipServer', { server: { _typeName: 'KmipServerSpec', info: info(5696), clusterId: pid } }, /out of WSDL order/);
    // The client's encoder adds xsi:type only for TraversalSpec: another type name here gets none.
    await refused(s, PC, 'RetrievePropertiesEx', filter({ _typeName: 'SelectionSpec', name: 'v', type: 'ContainerView', path: 'view', skip: false }), /needs xsi:type="TraversalSpec"/);
  });
});
