/**
 * Replays OASIS test cases against the real server over TTLV and real TLS: one fresh server and
 * tenant per folder, the folder's cases in name order on one connection, each request sent as the
 * file writes it (placeholders filled in) and each response compared with the expected one. The
 * message-encoding cases (MSGENC-*) go over the HTTPS transport instead (transport.ts).
 */
import { Buffer } from 'node:buffer';
import { decodeTtlv, encodeTtlv, ItemType, type ItemTypeCode, type TtlvItem } from '../../../server/ttlv/index.js';
import { ObjectType, Operation, ResultStatus } from '../../../server/kmip/generated/enums.js';
import { Tag } from '../../../server/kmip/generated/tags.js';
import { reasonName } from '../../../server/kmip/errors.js';
import { elementToTtlv } from '../../../server/kmip/xml/index.js';
import type { TestKmipClient } from '../../support/kmip-client.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import type { TestClientCert } from '../../support/pki.js';
import { noteSecret } from '../../support/secrets-ledger.js';
import { compareMessages, type CompareEnv } from './compare.js';
import { describeTransport, exchangeHttps, transportFor, type Transport } from './transport.js';
import type { TestCase } from './load.js';

export interface CaseResult {
  readonly name: string;
  readonly pass: boolean;
  /** Why it fails: the step, its operation and the first difference. */
  readonly reason: string | undefined;
}

/** A response slower than this is a failure of the case, not a hung suite. */
const RESPONSE_TIMEOUT_MS = 15_000;

/** Operations whose results hold objects the server generated (their material is the server's own). */
const GENERATING = new Set<number>([Operation.Create, Operation.CreateKeyPair, Operation.ReKey, Operation.ReKeyKeyPair, Operation.DeriveKey, Operation.Certify, Operation.ReCertify, Operation.CreateSplitKey, Operation.JoinSplitKey]);
const ID_TAGS = new Set<number>([Tag.UniqueIdentifier, Tag.PrivateKeyUniqueIdentifier, Tag.PublicKeyUniqueIdentifier]);

const OPERATION_NAMES = new Map<number, string>(Object.entries(Operation).map(([name, code]) => [code, name]));
const NOW = /^\$NOW(?:([+-])(\d{1,10}))?$/;

function children(item: TtlvItem | undefined): readonly TtlvItem[] {
  return item?.type === ItemType.Structure ? item.value : [];
}
const child = (item: TtlvItem | undefined, tag: number) => children(item).find((c) => c.tag === tag);
const batchItems = (message: TtlvItem) => children(message).filter((c) => c.tag === Tag.BatchItem);

/** A stand-in of the declared type for a placeholder in an expected response (compare never reads its value). */
function stub(tag: number, type: ItemTypeCode): TtlvItem {
  switch (type) {
    case ItemType.Structure:
      return { tag, type, value: [] };
    case ItemType.LongInteger:
    case ItemType.BigInteger:
    case ItemType.DateTime:
    case ItemType.DateTimeExtended:
      return { tag, type, value: 0n };
    case ItemType.Boolean:
      return { tag, type, value: false };
    case ItemType.TextString:
      return { tag, type, value: '' };
    case ItemType.ByteString:
      return { tag, type, value: new Uint8Array(0) };
    default:
      return { tag, type, value: 0 };
  }
}

function nowItem(text: string, type: ItemTypeCode, tag: number, nowMs: number): TtlvItem | undefined {
  const m = NOW.exec(text);
  if (!m) return undefined;
  const offset = m[1] === undefined ? 0 : (m[1] === '-' ? -1 : 1) * Number(m[2]);
  const seconds = BigInt(Math.floor(nowMs / 1000) + offset);
  if (type === ItemType.DateTime) return { tag, type, value: seconds };
  if (type === ItemType.DateTimeExtended) return { tag, type, value: seconds * 1_000_000n };
  throw new Error(`${text} in a ${type} item`);
}

export class FolderRun {
  /** Ids of objects the server generated, across the folder (cases read each other's objects). */
  private readonly generatedIds = new Set<string>();
  /** Ids of public and private keys. */
  private readonly asymmetricIds = new Set<string>();
  /** The last id a response returned: what a request without a Unique Identifier means (the ID placeholder). */
  private lastId: string | undefined;

  private constructor(
    private readonly server: TestServer,
    private readonly cert: TestClientCert,
    private client: TestKmipClient,
  ) {}

  static async start(): Promise<FolderRun> {
    const server = await startTestServer({ config: { https: { enabled: true, host: '127.0.0.1', port: 0 } } });
    const { cert } = await server.tenant('oasis');
    return new FolderRun(server, cert, await server.connect(cert));
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private async exchange(bytes: Uint8Array, transport: Transport): Promise<Buffer | 'timeout' | { error: string }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), RESPONSE_TIMEOUT_MS)));
    const target = { port: this.server.app.httpsPort!, ca: this.server.pki.ca.certificatePem, cert: this.cert };
    try {
      const sent = transport.kind === 'kmip' ? this.client.send(bytes) : exchangeHttps(target, transport.encoding, bytes).catch((error: Error) => ({ error: error.message }));
      return await Promise.race([sent, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async reconnect(): Promise<void> {
    await this.client.close();
    this.client = await this.server.connect(this.cert);
  }

  async runCase(tc: TestCase): Promise<CaseResult> {
    const transport = transportFor(tc.name);
    let captures = new Map<string, TtlvItem>();
    const lastByTag = new Map<number, TtlvItem>();
    for (const [index, step] of tc.steps.entries()) {
      const label = (message: TtlvItem | undefined, batch = 0) => {
        const op = child(message ? batchItems(message)[batch] : undefined, Tag.Operation);
        return `step ${index + 1} ${op?.type === ItemType.Enumeration ? (OPERATION_NAMES.get(op.value) ?? op.value) : '?'}`;
      };
      const sentAt = Date.now();
      let request: TtlvItem;
      try {
        request = elementToTtlv(step.request, {
          placeholder: (text, type, tag) => {
            const now = nowItem(text, type, tag, sentAt);
            if (now) return now;
            // A few files send a placeholder no response defined (CS-AC-M-6 sends back $MAC_DATA that its MAC response wrote out):
            // it stands for the value of that field in the latest response.
            const known = captures.get(text) ?? (type === ItemType.ByteString ? lastByTag.get(tag) : undefined);
            if (!known) throw new Error(`the request uses ${text}, which no earlier response in this file returned`);
            if (known.type !== type) throw new Error(`${text} was returned as type ${known.type}, the request sends it as ${type}`);
            return { ...known, tag } as TtlvItem;
          },
        });
      } catch (error) {
        return { name: tc.name, pass: false, reason: `step ${index + 1}: ${(error as Error).message}` };
      }
      const subject = batchItems(request).map((item) => {
        const id = child(child(item, Tag.RequestPayload), Tag.UniqueIdentifier);
        return id?.type === ItemType.TextString ? id.value : this.lastId;
      });
      const generated = subject.map((id) => id !== undefined && this.generatedIds.has(id));
      const asymmetric = subject.map((id) => id !== undefined && this.asymmetricIds.has(id));
      const reply = await this.exchange(encodeTtlv(request), transport);
      if (typeof reply === 'object' && 'error' in reply) {
        return { name: tc.name, pass: false, reason: `${label(request)} over ${describeTransport(transport)}: ${reply.error}` };
      }
      if (reply === 'timeout' || reply.length === 0) {
        await this.reconnect();
        return { name: tc.name, pass: false, reason: `${label(request)}: ${reply === 'timeout' ? 'no response' : 'the server closed the connection'}` };
      }
      let actual: TtlvItem;
      try {
        actual = decodeTtlv(reply);
      } catch (error) {
        return { name: tc.name, pass: false, reason: `${label(request)}: the response is not TTLV (${(error as Error).message})` };
      }
      const env: CompareEnv = { caseName: tc.name, step: index, placeholders: new WeakMap(), nowDates: new WeakSet(), captures, generated, asymmetric };
      let expected: TtlvItem;
      try {
        expected = elementToTtlv(step.response, {
          placeholder: (text, type, tag) => {
            const now = nowItem(text, type, tag, sentAt);
            if (now) {
              env.nowDates.add(now);
              return now;
            }
            const item = stub(tag, type);
            env.placeholders.set(item, text);
            return item;
          },
        });
      } catch (error) {
        return { name: tc.name, pass: false, reason: `step ${index + 1}: the expected response does not decode: ${(error as Error).message}` };
      }
      const difference = compareMessages(expected, actual, env);
      captures = env.captures;
      noteKeyMaterial(actual);
      this.noteIds(request, actual);
      rememberLeaves(actual, lastByTag);
      if (difference) {
        const inItem = /^BatchItem\[(\d+)\]/.exec(difference.path);
        const batch = Number(inItem?.[1] ?? 0);
        const said = inItem ? serverSaid(actual, batch) : batchItems(actual).map((_, i) => serverSaid(actual, i)).join('');
        return { name: tc.name, pass: false, reason: `${label(request, batch)}: ${difference.path || 'message'}: ${difference.message}${said}` };
      }
    }
    return { name: tc.name, pass: true, reason: undefined };
  }

  /** Records which returned ids the server generated and which are public or private keys. */
  private noteIds(request: TtlvItem, response: TtlvItem): void {
    const requested = batchItems(request);
    for (const [index, item] of batchItems(response).entries()) {
      const status = child(item, Tag.ResultStatus);
      const op = child(item, Tag.Operation);
      if (status?.type !== ItemType.Enumeration || status.value !== ResultStatus.Success || op?.type !== ItemType.Enumeration) continue;
      const objectType = child(child(requested[index], Tag.RequestPayload), Tag.ObjectType);
      const asymmetric =
        op.value === Operation.CreateKeyPair ||
        op.value === Operation.ReKeyKeyPair ||
        (objectType?.type === ItemType.Enumeration && (objectType.value === ObjectType.PublicKey || objectType.value === ObjectType.PrivateKey));
      for (const c of children(child(item, Tag.ResponsePayload))) {
        if (!ID_TAGS.has(c.tag) || c.type !== ItemType.TextString) continue;
        if (GENERATING.has(op.value)) this.generatedIds.add(c.value);
        if (asymmetric && op.value !== Operation.Get) this.asymmetricIds.add(c.value);
        this.lastId = c.value;
      }
    }
  }
}

/** Key bytes the server hands out are secrets: the suite-wide scan makes sure no log shows them. */
function noteKeyMaterial(item: TtlvItem): void {
  if (item.type === ItemType.Structure) for (const c of item.value) noteKeyMaterial(c);
  else if ((item.tag === Tag.KeyMaterial || item.tag === Tag.Key) && item.type === ItemType.ByteString && item.value.length >= 16) {
    noteSecret('key material (hex)', Buffer.from(item.value).toString('hex'));
    noteSecret('key material (base64)', Buffer.from(item.value).toString('base64'));
  }
}

function rememberLeaves(item: TtlvItem, into: Map<number, TtlvItem>): void {
  if (item.type === ItemType.Structure) for (const c of item.value) rememberLeaves(c, into);
  else into.set(item.tag, item);
}

/** The server's own result for a failed batch item: what it lacks, in its words. */
function serverSaid(response: TtlvItem, batch: number): string {
  const item = batchItems(response)[batch];
  const status = child(item, Tag.ResultStatus);
  if (status?.type !== ItemType.Enumeration || status.value === ResultStatus.Success) return '';
  const reason = child(item, Tag.ResultReason);
  const message = child(item, Tag.ResultMessage);
  const statusName = Object.entries(ResultStatus).find(([, code]) => code === status.value)?.[0] ?? status.value;
  return ` (server, item ${batch}: ${statusName} ${reason?.type === ItemType.Enumeration ? reasonName(reason.value) : 'no reason'}${message?.type === ItemType.TextString ? ` "${message.value.slice(0, 120)}"` : ''})`;
}
