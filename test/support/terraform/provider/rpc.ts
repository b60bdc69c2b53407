/**
 * The tfplugin6.Provider service: protocol messages in, engine calls, protocol messages out. A
 * handler that throws answers with an error diagnostic, so Terraform shows the fake's problem
 * instead of a bare RPC failure.
 */
import type * as grpc from '@grpc/grpc-js';
import { error, protoDiagnostics, protoPath, type Diag } from './diagnostics.js';
import type { Engine } from './engine.js';
import { log } from './plugin-server.js';
import { protoSchema, type JsonSchema } from './schema.js';
import { fromDynamic, toDynamic, type DynamicValue } from './values.js';

interface TypedRequest {
  type_name: string;
}
interface ConfigRequest extends TypedRequest {
  config: DynamicValue | null;
}

type Handler<Req> = (req: Req) => Promise<object> | object;

function unary<Req>(name: string, handler: Handler<Req>, onError: (diags: ReturnType<typeof protoDiagnostics>) => object) {
  return async (call: grpc.ServerUnaryCall<Req, object>, callback: grpc.sendUnaryData<object>) => {
    try {
      callback(null, await handler(call.request));
    } catch (e) {
      const err = e as Error;
      log(`${name} failed: ${err.stack ?? err.message}`);
      callback(null, onError(protoDiagnostics([error(`fake provider: ${name} failed`, err.message)])));
    }
  };
}

const SERVER_CAPABILITIES = { plan_destroy: false, get_provider_schema_optional: true, move_resource_state: false };

export function providerService(engine: Engine): grpc.UntypedServiceImplementation {
  const def = engine.def;
  let schemaResponse: object | undefined;
  const schemas = (entries: Record<string, JsonSchema> | undefined) => Object.fromEntries(Object.entries(entries ?? {}).map(([type, schema]) => [type, protoSchema(schema)]));
  const diagnostics = (diags: readonly Diag[]) => ({ diagnostics: protoDiagnostics(diags) });
  const onlyDiagnostics = (diags: ReturnType<typeof protoDiagnostics>) => ({ diagnostics: diags });

  return {
    GetMetadata: unary<object>('GetMetadata', () => ({
      server_capabilities: SERVER_CAPABILITIES,
      diagnostics: [],
      resources: Object.keys(def.schema.resource_schemas ?? {}).map((type_name) => ({ type_name })),
      data_sources: Object.keys(def.schema.data_source_schemas ?? {}).map((type_name) => ({ type_name })),
    }), onlyDiagnostics),

    GetProviderSchema: unary<object>('GetProviderSchema', () => {
      schemaResponse ??= {
        provider: protoSchema(def.schema.provider),
        resource_schemas: schemas(def.schema.resource_schemas),
        data_source_schemas: schemas(def.schema.data_source_schemas),
        diagnostics: [],
        server_capabilities: SERVER_CAPABILITIES,
      };
      return schemaResponse;
    }, onlyDiagnostics),

    ValidateProviderConfig: unary<{ config: DynamicValue | null }>('ValidateProviderConfig', () => diagnostics([]), onlyDiagnostics),

    ValidateResourceConfig: unary<ConfigRequest>('ValidateResourceConfig', (req) => diagnostics(engine.validate(req.type_name, 'resource', fromDynamic(req.config))), onlyDiagnostics),

    ValidateDataResourceConfig: unary<ConfigRequest>('ValidateDataResourceConfig', (req) => diagnostics(engine.validate(req.type_name, 'data', fromDynamic(req.config))), onlyDiagnostics),

    UpgradeResourceState: unary<TypedRequest & { raw_state: { json: Buffer } | null }>('UpgradeResourceState', (req) => {
      const json = req.raw_state?.json;
      const raw = json && json.length > 0 ? fromDynamic({ json }) : null;
      return { upgraded_state: toDynamic(engine.upgrade(req.type_name, raw)), diagnostics: [] };
    }, onlyDiagnostics),

    ConfigureProvider: unary<{ config: DynamicValue | null }>('ConfigureProvider', (req) => diagnostics(engine.configure(fromDynamic(req.config))), onlyDiagnostics),

    ReadResource: unary<TypedRequest & { current_state: DynamicValue | null; private: Buffer }>('ReadResource', (req) => {
      const { newState, diags } = engine.read(req.type_name, fromDynamic(req.current_state));
      return { new_state: toDynamic(newState), private: req.private, ...diagnostics(diags) };
    }, onlyDiagnostics),

    PlanResourceChange: unary<TypedRequest & { prior_state: DynamicValue | null; proposed_new_state: DynamicValue | null; prior_private: Buffer }>('PlanResourceChange', (req) => {
      const { planned, requiresReplace, diags } = engine.plan(req.type_name, fromDynamic(req.prior_state), fromDynamic(req.proposed_new_state));
      return {
        planned_state: toDynamic(planned),
        requires_replace: requiresReplace.map(protoPath),
        planned_private: req.prior_private,
        legacy_type_system: def.legacyTypeSystem,
        ...diagnostics(diags),
      };
    }, onlyDiagnostics),

    ApplyResourceChange: unary<TypedRequest & { prior_state: DynamicValue | null; planned_state: DynamicValue | null; planned_private: Buffer }>('ApplyResourceChange', async (req) => {
      const { newState, diags } = await engine.apply(req.type_name, fromDynamic(req.prior_state), fromDynamic(req.planned_state));
      return { new_state: toDynamic(newState), private: req.planned_private, legacy_type_system: def.legacyTypeSystem, ...diagnostics(diags) };
    }, onlyDiagnostics),

    ImportResourceState: unary<TypedRequest & { id: string }>('ImportResourceState', (req) => {
      const { state, diags } = engine.importState(req.type_name, req.id);
      return { imported_resources: [{ type_name: req.type_name, state: toDynamic(state), private: Buffer.alloc(0) }], ...diagnostics(diags) };
    }, onlyDiagnostics),

    ReadDataSource: unary<ConfigRequest>('ReadDataSource', (req) => {
      const { state, diags } = engine.readData(req.type_name, fromDynamic(req.config));
      return { state: toDynamic(state), ...diagnostics(diags) };
    }, onlyDiagnostics),

    StopProvider: unary<object>('StopProvider', () => ({ Error: '' }), () => ({ Error: 'stop failed' })),
  };
}
