/**
 * A minimal KMIP client for tests: real TLS to 127.0.0.1, requests built with the server's own
 * schemas, responses decoded field by field (payloads with each operation's response schema).
 */
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { decodeTtlv, encodeTtlv, FrameReader, ItemType, type TtlvItem } from '../../server/ttlv/index.js';
import { Tag } from '../../server/kmip/generated/tags.js';
import { ResultStatus } from '../../server/kmip/generated/enums.js';
import { RequestMessageSchema, ResponseMessageSchema, type RequestHeader, type ResponseBatchItem, type ResponseHeader } from '../../server/kmip/model/messages.js';
import { OPERATIONS } from '../../server/kmip/operations/index.js';
import type { KmipVersion } from '../../server/kmip/version.js';
import { noteSecret } from './secrets-ledger.js';

export interface ItemSpec {
  readonly operation: number;
  /** A typed payload (encoded with the operation's request schema) or a ready TTLV item. */
  readonly payload?: Record<string, unknown> | TtlvItem;
  readonly id?: Uint8Array | string;
}

export interface RequestOptions {
  readonly version?: KmipVersion;
  readonly wire?: { major: number; minor: number };
  readonly header?: Partial<RequestHeader>;
}

export interface DecodedItem extends ResponseBatchItem {
  /** The response payload decoded with the operation's schema (success only). */
  readonly payload: Record<string, unknown> | undefined;
}

export interface DecodedResponse {
  readonly header: ResponseHeader;
  readonly items: readonly DecodedItem[];
}

function isTtlvItem(x: unknown): x is TtlvItem {
  return typeof x === 'object' && x !== null && 'tag' in x && 'type' in x && typeof (x as { tag: unknown }).tag === 'number';
}

function versionOf(o: RequestOptions): KmipVersion {
  return o.version ?? (o.wire ? o.wire.major * 10 + o.wire.minor : 11);
}

export function encodeRequest(items: readonly ItemSpec[], options: RequestOptions = {}): Uint8Array {
  const version = versionOf(options);
  const ctx = { version };
  const wire = options.wire ?? { major: Math.floor(version / 10), minor: version % 10 };
  return encodeTtlv(
    RequestMessageSchema.encode(
      Tag.RequestMessage,
      {
        header: { protocolVersion: wire, attestationTypes: [], batchCount: items.length, ...options.header },
        batchItems: items.map((i) => {
          const handler = OPERATIONS.find((o) => o.operation === i.operation);
          let payload: TtlvItem;
          if (i.payload === undefined) payload = { tag: Tag.RequestPayload, type: ItemType.Structure, value: [] };
          else if (isTtlvItem(i.payload)) payload = i.payload;
          else if (handler) payload = handler.request.encode(Tag.RequestPayload, i.payload as never, ctx);
          else throw new Error(`no schema for operation ${i.operation}; pass a TTLV payload`);
          const id = typeof i.id === 'string' ? new TextEncoder().encode(i.id) : i.id;
          return { operation: i.operation, uniqueBatchItemId: id, requestPayload: payload };
        }),
      },
      ctx,
    ),
  );
}

export function decodeResponse(bytes: Uint8Array, version: KmipVersion): DecodedResponse {
  const ctx = { version };
  const message = ResponseMessageSchema.decode(decodeTtlv(bytes), ctx);
  return {
    header: message.header,
    items: message.batchItems.map((item) => {
      const handler = OPERATIONS.find((o) => o.operation === item.operation);
      const payload =
        (item.resultStatus === ResultStatus.Success || item.resultStatus === ResultStatus.OperationUndone) && handler && item.responsePayload
          ? (handler.response.decode(item.responsePayload, ctx) as Record<string, unknown>)
          : undefined;
      return { ...item, payload };
    }),
  };
}

/** Key bytes a server hands out are secrets: the suite-wide scan makes sure no log shows them. */
function noteKeyMaterial(item: TtlvItem): void {
  if (item.type === ItemType.Structure) for (const child of item.value) noteKeyMaterial(child);
  else if ((item.tag === Tag.KeyMaterial || item.tag === Tag.Key) && item.type === ItemType.ByteString && item.value.length >= 16) {
    noteSecret('key material (hex)', Buffer.from(item.value).toString('hex'));
    noteSecret('key material (base64)', Buffer.from(item.value).toString('base64'));
  }
}

export class TestKmipClient {
  private readonly framer = new FrameReader(16 * 1024 * 1024);
  private readonly waiting: Array<(b: Buffer) => void> = [];
  private readonly ready: Buffer[] = [];
  private closedError: Error | undefined;

  private constructor(readonly socket: TLSSocket) {
    socket.on('data', (chunk: Buffer) => {
      for (const m of this.framer.push(chunk)) {
        const w = this.waiting.shift();
        if (w) w(m);
        else this.ready.push(m);
      }
    });
    socket.on('close', () => {
      this.closedError = new Error('connection closed');
      for (const w of this.waiting.splice(0)) w(Buffer.alloc(0));
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number, options: Omit<ConnectionOptions, 'port' | 'host'> = {}): Promise<TestKmipClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ...options }, () => resolve(new TestKmipClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Sends raw bytes and resolves with the next whole response (empty when the server closed). */
  send(bytes: Uint8Array): Promise<Buffer> {
    return new Promise((resolve) => {
      const ready = this.ready.shift();
      if (ready) {
        this.socket.write(bytes);
        resolve(ready);
        return;
      }
      if (this.closedError) {
        resolve(Buffer.alloc(0));
        return;
      }
      this.waiting.push(resolve);
      this.socket.write(bytes);
    });
  }

  async request(items: readonly ItemSpec[], options: RequestOptions = {}): Promise<DecodedResponse> {
    const bytes = await this.send(encodeRequest(items, options));
    if (bytes.length === 0) throw new Error('server closed the connection');
    noteKeyMaterial(decodeTtlv(bytes));
    return decodeResponse(bytes, Math.min(versionOf(options), 21));
  }

  /** One operation; returns its payload and fails the test on a non-success result. */
  async ok(operation: number, payload?: Record<string, unknown>, options: RequestOptions = {}): Promise<Record<string, unknown>> {
    const response = await this.request([{ operation, ...(payload ? { payload } : {}) }], options);
    const item = response.items[0]!;
    if (item.resultStatus !== ResultStatus.Success) {
      throw new Error(`operation ${operation} failed: reason ${item.resultReason} ${item.resultMessage ?? ''}`);
    }
    return item.payload ?? {};
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1000).unref();
    });
  }
}
