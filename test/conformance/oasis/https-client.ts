/** One KMIP request over the HTTPS transport (POST /kmip) with node:https and a client certificate. */
import { request, type RequestOptions } from 'node:https';

export interface HttpsAnswer {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: Buffer;
}

export interface HttpsTarget {
  readonly port: number;
  readonly ca: string;
  /** The client certificate and key (PEM); none sends no certificate. */
  readonly cert?: { readonly certificatePem: string; readonly privateKeyPem: string } | undefined;
}

export function postKmip(target: HttpsTarget, body: Uint8Array | string, contentType: string, extra: Partial<RequestOptions> = {}): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: target.port,
        servername: 'localhost',
        method: 'POST',
        path: '/kmip',
        ca: target.ca,
        ...(target.cert ? { cert: target.cert.certificatePem, key: target.cert.privateKeyPem } : {}),
        // A fresh connection per request: no TLS session or socket shared between clients of a test.
        agent: false,
        headers: { 'content-type': contentType, 'content-length': String(Buffer.byteLength(body)) },
        ...extra,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
