/**
 * The SOAP pieces on their own: the XML reader's strictness and limits, request encoding (order,
 * references, xsi:type only where the schema needs it), and answers/faults back into the VI/JSON
 * shape that wire.ts reads.
 */
import { describe, expect, it } from 'vitest';
import { VcenterError } from '../../../server/vcenter/errors.js';
import { decodeResponse, encodeRequest } from '../../../server/vcenter/soap-codec.js';
import { escapeXml, parseXml, XmlError } from '../../../server/vcenter/soap-xml.js';
import type { VimParams, VimValue } from '../../../server/vcenter/transport.js';
import { list, read, KmipClusterInfoSchema } from '../../../server/vcenter/wire.js';
import { checkJsonRequest, checkSoapRequest } from '../../support/fake-vcenter-contract.js';

const env = (body: string) =>
  `<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soapenv:Body>${body}</soapenv:Body></soapenv:Envelope>`;

describe('XML reader', () => {
  it('reads elements, namespaces, attributes, entities and CDATA', () => {
    const root = parseXml(`<?xml version="1.0"?><!-- c --><a:r xmlns:a="urn:x" xmlns="urn:d" k='v &amp; w'><b>1 &lt; 2 &#65;&#x42;</b><c/><d><![CDATA[<raw>&amp;]]></d></a:r>`);
    expect([root.name, root.ns, root.attrs[0]]).toEqual(['r', 'urn:x', { name: 'k', ns: '', value: 'v & w' }]);
    expect(root.children.map((c) => [c.name, c.ns, c.text])).toEqual([
      ['b', 'urn:d', '1 < 2 AB'],
      ['c', 'urn:d', ''],
      ['d', 'urn:d', '<raw>&amp;'],
    ]);
    expect(escapeXml(`<a b="c" & 'd'>`)).toBe('&lt;a b=&quot;c&quot; &amp; &apos;d&apos;&gt;');
  });

  it.each([
    ['<!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>', /DTD/],
    ['<a><b></a></b>', /closes/],
    ['<a>', /unterminated/],
    ['<a/><b/>', /second root/],
    ['<p:a/>', /undeclared namespace prefix p/],
    ['<a>&bogus;</a>', /unknown entity/],
    ['<a x=1/>', /not quoted/],
    ['text', /outside the root/],
  ])('refuses %s', (xml, why) => {
    expect(() => parseXml(xml)).toThrow(why);
  });

  it('bounds depth and element count', () => {
    expect(() => parseXml('<a>'.repeat(70) + '</a>'.repeat(70))).toThrow(/nested too deeply/);
    expect(() => parseXml(`<a>${'<b/>'.repeat(50)}</a>`, { maxDepth: 64, maxElements: 10 })).toThrow(XmlError);
  });
});

describe('SOAP requests', () => {
  it('writes parameters in order, references as type attributes, xsi:type only for subtypes', () => {
    const xml = encodeRequest('urn:vim25', { type: 'PropertyCollector', value: 'propertyCollector' }, 'RetrievePropertiesEx', {
      specSet: [
        {
          _typeName: 'PropertyFilterSpec',
          propSet: [{ _typeName: 'PropertySpec', type: 'VirtualMachine', all: false, pathSet: ['name', 'config.keyId'] }],
          objectSet: [
            {
              _typeName: 'ObjectSpec',
              obj: { _typeName: 'ManagedObjectReference', type: 'ContainerView', value: 'session[x]1' },
              skip: true,
              selectSet: [{ _typeName: 'TraversalSpec', name: 'v', type: 'ContainerView', path: 'view', skip: false }],
            },
          ],
        },
      ],
      options: { _typeName: 'RetrieveOptions', maxObjects: 100 },
      absent: undefined,
    });
    expect(xml).toContain(
      '<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>VirtualMachine</type><all>false</all><pathSet>name</pathSet><pathSet>config.keyId</pathSet></propSet>' +
        '<objectSet><obj type="ContainerView">session[x]1</obj><skip>true</skip><selectSet xsi:type="TraversalSpec"><name>v</name><type>ContainerView</type><path>view</path><skip>false</skip></selectSet></objectSet></specSet><options><maxObjects>100</maxObjects></options></RetrievePropertiesEx>',
    );
    expect(xml).not.toContain('absent');
    // Text is escaped: a PEM or a password with XML characters cannot break the envelope.
    expect(encodeRequest('urn:vim25', { type: 'SessionManager', value: 'SessionManager' }, 'Login', { userName: 'a&b', password: '<x>' })).toContain('<userName>a&amp;b</userName><password>&lt;x&gt;</password>');
  });

  it('a rekey echoes the disk as read: its independent filters carry xsi:type (the schema declares their base type)', () => {
    const filter = { _typeName: 'VirtualMachineIndependentFilterSpec', filterName: 'x' };
    const params = (independentFilters: readonly VimValue[]): VimParams => ({
      spec: {
        _typeName: 'VirtualMachineConfigSpec',
        changeVersion: 'cv-1',
        deviceChange: [
          {
            _typeName: 'VirtualDeviceConfigSpec',
            operation: 'edit',
            device: {
              _typeName: 'VirtualDisk',
              key: 2000,
              backing: { _typeName: 'VirtualDiskFlatVer2BackingInfo', fileName: '[ds] vm/vm.vmdk', diskMode: 'persistent' },
              capacityInKB: 1024,
              independentFilters,
            },
            backing: {
              _typeName: 'VirtualDeviceConfigSpecBackingSpec',
              crypto: { _typeName: 'CryptoSpecShallowRecrypt', newKeyId: { _typeName: 'CryptoKeyId', keyId: 'k-1', providerId: { _typeName: 'KeyProviderId', id: 'kp-new' } } },
            },
          },
        ],
      },
    });
    const xml = encodeRequest('urn:vim25', { type: 'VirtualMachine', value: 'vm-42' }, 'ReconfigVM_Task', params([filter]));
    const soapCall = (x: string) => parseXml(x).children[0]!.children[0]!;
    expect(() => checkSoapRequest('ReconfigVM_Task', soapCall(xml))).not.toThrow();
    // The fake holds clients to it: a filter echoed without its type is refused, as vCenter refuses it.
    const untyped = xml.replace('<independentFilters xsi:type="VirtualMachineIndependentFilterSpec">', '<independentFilters>');
    expect(() => checkSoapRequest('ReconfigVM_Task', soapCall(untyped))).toThrow(/independentFilters: needs xsi:type of VirtualMachineIndependentFilterSpec, got none/);
    expect(() => checkJsonRequest('ReconfigVM_Task', params([filter]))).not.toThrow();
    expect(() => checkJsonRequest('ReconfigVM_Task', params([{ filterName: 'x' } as unknown as VimValue]))).toThrow(/independentFilters\[0\]: needs "_typeName" of VirtualMachineIndependentFilterSpec/);
    expect(xml).toContain(
      '<ReconfigVM_Task xmlns="urn:vim25"><_this type="VirtualMachine">vm-42</_this><spec><changeVersion>cv-1</changeVersion><deviceChange><operation>edit</operation>' +
        '<device xsi:type="VirtualDisk"><key>2000</key><backing xsi:type="VirtualDiskFlatVer2BackingInfo"><fileName>[ds] vm/vm.vmdk</fileName><diskMode>persistent</diskMode></backing><capacityInKB>1024</capacityInKB>' +
        '<independentFilters xsi:type="VirtualMachineIndependentFilterSpec"><filterName>x</filterName></independentFilters></device>' +
        '<backing><crypto xsi:type="CryptoSpecShallowRecrypt"><newKeyId><keyId>k-1</keyId><providerId><id>kp-new</id></providerId></newKeyId></crypto></backing></deviceChange></spec></ReconfigVM_Task>',
    );
  });
});

describe('SOAP answers', () => {
  it('turns returnvals into the VI/JSON shape wire.ts reads (a lone element is a one-element list)', () => {
    const one = decodeResponse(
      env(
        `<ListKmsClustersResponse xmlns="urn:vim25"><returnval><clusterId><id>kp</id></clusterId><servers><name>s1</name><address>10.0.0.1</address><port>5696</port></servers><useAsDefault>true</useAsDefault><managementType>vCenter</managementType><useAsEntityDefault type="ClusterComputeResource">domain-c1</useAsEntityDefault></returnval></ListKmsClustersResponse>`,
      ),
      'ListKmsClusters',
      200,
    );
    expect(read(list(KmipClusterInfoSchema), one, 'x')).toEqual([
      { clusterId: { id: 'kp' }, servers: [{ name: 's1', address: '10.0.0.1', port: 5696 }], useAsDefault: true, managementType: 'vCenter', useAsEntityDefault: [{ type: 'ClusterComputeResource', value: 'domain-c1' }] },
    ]);
    const any = decodeResponse(
      env(
        `<R xmlns="urn:vim25"></R><XResponse xmlns="urn:vim25"><returnval><val xsi:type="xsd:boolean">true</val><arr xsi:type="ArrayOfManagedObjectReference"><ManagedObjectReference type="Folder">f1</ManagedObjectReference><ManagedObjectReference type="Folder">f2</ManagedObjectReference></arr></returnval><returnval>second</returnval></XResponse>`,
      ),
      'X',
      200,
    );
    expect(any).toEqual([
      {
        val: { _typeName: 'boolean', _value: true },
        arr: {
          _typeName: 'ArrayOfManagedObjectReference',
          _value: [
            { _typeName: 'ManagedObjectReference', type: 'Folder', value: 'f1' },
            { _typeName: 'ManagedObjectReference', type: 'Folder', value: 'f2' },
          ],
        },
      },
      'second',
    ]);
    expect(decodeResponse(env('<VoidResponse xmlns="urn:vim25"></VoidResponse>'), 'Void', 200)).toBeUndefined();
  });

  it('turns a fault into a VcenterError with the fault type and text', () => {
    const xml = env(
      `<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>Permission to perform this operation was denied.</faultstring><detail><NoPermissionFault xmlns="urn:vim25" xsi:type="NoPermission"><privilegeId>Cryptographer.ManageKeyServers</privilegeId></NoPermissionFault></detail></soapenv:Fault>`,
    );
    const err = (() => {
      try {
        decodeResponse(xml, 'UploadKmipServerCert', 500);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(VcenterError);
    expect((err as VcenterError).faultType).toBe('NoPermission');
    expect((err as VcenterError).message).toBe('UploadKmipServerCert: NoPermission: Permission to perform this operation was denied.');
  });

  it('reports what is not a SOAP answer', () => {
    expect(() => decodeResponse('<html>proxy error</html>', 'X', 502)).toThrow(/HTTP 502/);
    expect(() => decodeResponse('not xml', 'X', 200)).toThrow(/not XML/);
    expect(() => decodeResponse(env('<Other xmlns="urn:vim25"/>'), 'X', 200)).toThrow(/no XResponse/);
  });
});
