/**
 * Schemas of the vim25 data objects we read (field names as on the wire, reference §B.3), written to
 * accept both transports: SOAP gives "true"/"5696" where JSON gives true/5696, and a lone element
 * where JSON gives a one-element array. Parsing here is also where a malformed answer is caught.
 */
import { z } from 'zod';
import { VcenterError } from './errors.js';
import { unwrapAny } from './transport.js';

const bool = z.preprocess(unwrapAny, z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')]));
const int = z.preprocess(unwrapAny, z.union([z.number().int(), z.string().regex(/^-?\d+$/).transform(Number)]));
const str = z.preprocess(unwrapAny, z.string());
/** A list: absent → [], one SOAP element → [it]; `ArrayOfX` wrappers (any-typed fields) unwrapped. */
export function list<T extends z.ZodType>(item: T) {
  return z.preprocess((v) => {
    const u = typeof v === 'object' && v !== null && '_value' in v && Array.isArray((v as { _value: unknown })._value) ? (v as { _value: unknown[] })._value : v;
    return u === undefined || u === null || u === '' ? [] : Array.isArray(u) ? u : [u];
  }, z.array(item));
}

export const MoRefSchema = z.object({ type: z.string(), value: z.string() });
const ProviderId = z.object({ id: z.string() });

export const ServiceContentSchema = z.object({
  rootFolder: MoRefSchema,
  propertyCollector: MoRefSchema,
  viewManager: MoRefSchema.optional(),
  sessionManager: MoRefSchema.optional(),
  cryptoManager: MoRefSchema.optional(),
  about: z.object({ apiVersion: z.string(), fullName: z.string().default('vCenter'), apiType: z.string().optional(), version: z.string().optional() }),
});
export type ServiceContent = z.infer<typeof ServiceContentSchema>;

export const KmipServerInfoSchema = z.object({
  name: z.string(),
  address: z.string(),
  port: int,
  proxyAddress: z.string().optional(),
  proxyPort: int.optional(),
  userName: z.string().optional(),
  protocol: z.string().optional(),
});
export type KmipServerInfo = z.infer<typeof KmipServerInfoSchema>;

export const KmipClusterInfoSchema = z.object({
  clusterId: ProviderId,
  servers: list(KmipServerInfoSchema),
  useAsDefault: bool.default(false),
  managementType: z.string().optional(),
  useAsEntityDefault: list(MoRefSchema),
});
export type KmipClusterInfo = z.infer<typeof KmipClusterInfoSchema>;

const CertInfoSchema = z.object({
  subject: z.string().optional(),
  issuer: z.string().optional(),
  serialNumber: z.string().optional(),
  notBefore: z.string().optional(),
  notAfter: z.string().optional(),
  fingerprint: z.string().optional(),
  secondsBeforeExpire: int.optional(),
});

export const ServerStatusSchema = z.object({
  name: z.string(),
  status: z.string().default('gray'),
  connectionStatus: z.string().default(''),
  certInfo: CertInfoSchema.optional(),
  clientTrustServer: bool.optional(),
  serverTrustClient: bool.optional(),
});

export const ClusterStatusSchema = z.object({
  clusterId: ProviderId,
  overallStatus: z.string().optional(),
  managementType: z.string().optional(),
  servers: list(ServerStatusSchema),
  clientCertInfo: CertInfoSchema.optional(),
});
export type ClusterStatus = z.infer<typeof ClusterStatusSchema>;

export const ServerCertInfoSchema = z.object({ certificate: z.string().default(''), clientTrustServer: bool.optional() });

export const TaskInfoSchema = z.object({
  state: z.enum(['queued', 'running', 'success', 'error']),
  result: z.unknown().optional(),
  error: z
    .object({ fault: z.object({ _typeName: z.string().optional() }).loose().optional(), localizedMessage: z.string().optional() })
    .optional(),
});
export type TaskInfo = z.infer<typeof TaskInfoSchema>;

export const ObjectContentSchema = z.object({
  obj: MoRefSchema,
  propSet: list(z.object({ name: z.string(), val: z.unknown() })),
});
export const RetrieveResultSchema = z.object({ token: z.string().optional(), objects: list(ObjectContentSchema) });
export type RetrieveResult = z.infer<typeof RetrieveResultSchema>;

export const CryptoKeyIdSchema = z.object({ keyId: z.string().default(''), providerId: ProviderId.optional() });
export const ClusterConfigExSchema = z.object({
  vsanConfigInfo: z.object({ enabled: bool.optional() }).optional(),
  cryptoConfig: z.object({ cryptoMode: z.string().optional(), policy: z.object({ providerId: ProviderId.optional(), keyId: CryptoKeyIdSchema.optional() }).optional() }).optional(),
});
export const VsanConfigInfoExSchema = z.object({
  enabled: bool.optional(),
  dataEncryptionConfig: z
    .object({ encryptionEnabled: bool.optional(), kmsProviderId: ProviderId.optional(), changing: bool.optional() })
    .optional(),
});

export const KeyResultSchema = z.object({ keyId: CryptoKeyIdSchema.optional(), success: bool.default(false), reason: z.string().optional() });
export const KeyStatusSchema = z.object({
  keyId: CryptoKeyIdSchema,
  keyAvailable: bool.optional(),
  reason: z.string().optional(),
  encryptedVMs: list(MoRefSchema),
  affectedHosts: list(MoRefSchema),
  referencedByTags: list(z.string()),
});
export type KeyStatus = z.infer<typeof KeyStatusSchema>;

export const StringResult = z.preprocess((v) => (v === undefined || v === null ? '' : unwrapAny(v)), z.string());
export const MoRefResult = MoRefSchema;
export { bool as BoolSchema, int as IntSchema, str as StrSchema };

/** Parses one answer, naming the call when vCenter sent something we cannot read. */
export function read<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new VcenterError('VC_ERR_PROTOCOL', `${what}: unexpected answer from vCenter (${issue ? `${issue.path.join('.') || 'value'}: ${issue.message}` : 'invalid'})`);
}
