/**
 * The go-plugin side of a Terraform provider process (go-plugin v1.6.0, as Terraform 1.11 uses
 * it): check the magic cookie, serve gRPC on a unix socket with AutoMTLS, print the handshake
 * line, and serve the controller (Shutdown ends the process), stdio and broker services.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const MAGIC_COOKIE_KEY = 'TF_PLUGIN_MAGIC_COOKIE';
const MAGIC_COOKIE_VALUE = 'd602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2';
const CORE_PROTOCOL_VERSION = 1;
const APP_PROTOCOL_VERSION = 6;

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

type ServiceDefinition = grpc.ServiceDefinition;
interface LoadedPackages {
  readonly provider: ServiceDefinition;
  readonly controller: ServiceDefinition;
  readonly stdio: ServiceDefinition;
  readonly broker: ServiceDefinition;
}

export function loadProtocol(protoDir: string): LoadedPackages {
  const definition = protoLoader.loadSync(['tfplugin6.proto', 'go-plugin.proto'], {
    includeDirs: [protoDir],
    keepCase: true,
    enums: String,
    longs: Number,
    defaults: true,
    oneofs: true,
  });
  const service = (name: string): ServiceDefinition => {
    const entry = definition[name];
    if (!entry || 'format' in entry || 'type' in entry) throw new Error(`${name} is not a service in ${protoDir}`);
    return entry as ServiceDefinition;
  };
  return {
    provider: service('tfplugin6.Provider'),
    controller: service('plugin.GRPCController'),
    stdio: service('plugin.GRPCStdio'),
    broker: service('plugin.GRPCBroker'),
  };
}

export const log = (message: string) => process.stderr.write(`[fake-provider ${process.pid}] ${message}\n`);

/** The certificate in the handshake line: DER, base64 without padding (Go's RawStdEncoding). */
function handshakeCert(pem: string): string {
  const body = pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  return Buffer.from(body, 'base64').toString('base64').replace(/=+$/, '');
}

export async function servePlugin(protocol: LoadedPackages, provider: grpc.UntypedServiceImplementation, tls: TlsFiles): Promise<void> {
  if (process.env[MAGIC_COOKIE_KEY] !== MAGIC_COOKIE_VALUE) {
    process.stderr.write('This binary is a plugin. These are not meant to be executed directly.\nPlease execute the program that consumes these plugins, which will load any plugins automatically.\n');
    process.exit(1);
  }
  const versions = (process.env['PLUGIN_PROTOCOL_VERSIONS'] ?? String(APP_PROTOCOL_VERSION)).split(',').map((v) => v.trim());
  if (!versions.includes(String(APP_PROTOCOL_VERSION))) {
    process.stderr.write(`terraform offers plugin protocol versions ${versions.join(',')}; this fake speaks only ${APP_PROTOCOL_VERSION}\n`);
    process.exit(1);
  }

  const server = new grpc.Server({ 'grpc.max_receive_message_length': 256 << 20, 'grpc.max_send_message_length': 256 << 20 });
  const socket = join(tmpdir(), `plugin${process.pid}-${randomBytes(6).toString('hex')}`);
  const exit = (code: number) => {
    rmSync(socket, { force: true });
    process.exit(code);
  };

  server.addService(protocol.provider, provider);
  server.addService(protocol.controller, {
    Shutdown: (_call: grpc.ServerUnaryCall<object, object>, callback: grpc.sendUnaryData<object>) => {
      callback(null, {});
      setImmediate(() => exit(0));
    },
  });
  // Terraform reads plugin output from stderr; the stdio stream stays open and silent.
  server.addService(protocol.stdio, { StreamStdio: () => undefined });
  server.addService(protocol.broker, {
    StartStream: (call: grpc.ServerDuplexStream<object, object>) => {
      call.on('data', () => undefined);
      call.on('end', () => call.end());
    },
  });

  const clientCert = process.env['PLUGIN_CLIENT_CERT'];
  const certPem = readFileSync(tls.certFile, 'utf8');
  const credentials = clientCert
    ? grpc.ServerCredentials.createSsl(Buffer.from(clientCert), [{ private_key: readFileSync(tls.keyFile), cert_chain: Buffer.from(certPem) }], true)
    : grpc.ServerCredentials.createInsecure();
  await new Promise<void>((resolve, reject) => server.bindAsync(`unix://${socket}`, credentials, (err) => (err ? reject(err) : resolve())));

  // Terraform ends plugins through Shutdown or a kill; Ctrl-C reaches it as StopProvider instead.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => exit(0));
  // Should Terraform die without ending us, do not linger.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) exit(0);
  }, 1000).unref();

  process.stdout.write(`${CORE_PROTOCOL_VERSION}|${APP_PROTOCOL_VERSION}|unix|${socket}|grpc|${clientCert ? handshakeCert(certPem) : ''}\n`);
}
