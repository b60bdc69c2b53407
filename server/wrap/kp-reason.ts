/**
 * The reason code of a Key Protect error body (`resources[0].reasons[0].code`), only when it has the shape Key
 * Protect's codes have: it reaches error messages and call logs, so text of any other shape never does.
 */
const REASON_CODE = /^[A-Z0-9_]{1,64}$/;

export function keyProtectReasonCode(body: unknown): string | undefined {
  const code = (body as { resources?: Array<{ reasons?: Array<{ code?: unknown }> }> } | undefined)?.resources?.[0]?.reasons?.[0]?.code;
  return typeof code === 'string' && REASON_CODE.test(code) ? code : undefined;
}
