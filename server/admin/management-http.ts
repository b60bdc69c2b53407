/** Request and response helpers of the management API: bounded JSON bodies, validation, problems. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';

export type Handler = [method: string, path: RegExp, handle: (req: IncomingMessage, res: ServerResponse, m: RegExpExecArray, url: URL) => Promise<void>];

export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export const MAX_BODY = 256 * 1024;
export const NAME = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'letters, digits, dot, dash or underscore, at most 63');

/** The body as JSON, refused (413) past `limit` bytes: most calls carry a name or a certificate. */
export async function readJson(req: IncomingMessage, limit = MAX_BODY): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw new HttpProblem(413, `request body too large (at most ${limit} bytes)`);
    chunks.push(c as Buffer);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpProblem(400, 'request body is not JSON');
  }
}

export function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new HttpProblem(400, r.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; '));
  return r.data;
}

export function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
}
