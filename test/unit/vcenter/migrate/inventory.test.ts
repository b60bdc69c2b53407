/** Reading a VM for a rekey: the device list as vCenter gives it, over both transports' shapes. */
import { describe, expect, it } from 'vitest';
import { vmRecord } from '../../../../server/vcenter/migrate/inventory.js';

const ide = (key: number, device?: number[]) => ({ _typeName: 'VirtualIDEController', key, deviceInfo: { label: `IDE ${key - 200}` }, busNumber: key - 200, ...(device ? { device } : {}) });
const disk = { _typeName: 'VirtualDisk', key: 2000, deviceInfo: { label: 'Hard disk 1' }, backing: { _typeName: 'VirtualDiskFlatVer2BackingInfo', fileName: '[ds] a/a.vmdk', keyId: { keyId: 'k1', providerId: { id: 'old' } } }, controllerKey: 1000 };
const vm = (devices: unknown) => vmRecord({ ref: { type: 'VirtualMachine', value: 'vm-1' }, props: new Map<string, unknown>([['name', 'app'], ['config.hardware.device', devices], ['runtime.powerState', 'poweredOn']]) });

describe('a VM as the migration reads it', () => {
  it('does not count the two empty IDE controllers every VM has, only one with a device on it', () => {
    expect(vm([ide(200), ide(201), disk]).hasIde).toBe(false);
    expect(vm([ide(200, [3002]), ide(201), disk, { _typeName: 'VirtualCdrom', key: 3002, controllerKey: 200 }]).hasIde).toBe(true);
    // SOAP: a lone device id is an element, not a list; the ArrayOfVirtualDevice wrapper around the list.
    expect(vm({ _typeName: 'ArrayOfVirtualDevice', _value: [ide(200, 3002 as unknown as number[]), disk] }).hasIde).toBe(true);
  });

  it('keeps each disk exactly as read (the rekey echoes it) with its key and provider', () => {
    const r = vm([ide(200), disk]);
    expect(r.disks).toHaveLength(1);
    expect(r.disks[0]!.device).toBe(disk);
    expect(r.disks[0]!.key).toEqual({ keyId: 'k1', providerId: 'old' });
    expect(r.disks[0]!.label).toBe('Hard disk 1');
  });
});
