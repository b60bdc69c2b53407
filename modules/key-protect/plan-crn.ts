/**
 * Pure parsing of IBM Cloud resource names (no cdktf):
 * crn:v1:<cname>:<ctype>:<service-name>:<location>:<scope>:<service-instance>:<resource-type>:<resource>
 */
export interface ParsedCrn {
  readonly cname: string;
  readonly ctype: string;
  readonly serviceName: string;
  readonly location: string;
  /** "a/<account id>" for account-scoped resources. */
  readonly scope: string;
  readonly serviceInstance: string;
  readonly resourceType: string;
  readonly resource: string;
}

const CRN = /^crn:v1:([a-z0-9-]+):(public|private|dedicated|local):([a-z0-9-]+):([a-z0-9-]*):([a-z0-9/_-]*):([a-z0-9-]*):([a-z0-9-]*):([A-Za-z0-9_.-]*)$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function parseCrn(text: string): ParsedCrn {
  const m = CRN.exec(text);
  if (!m) throw new Error(`not a CRN (crn:v1:…, 10 colon-separated parts): ${JSON.stringify(text)}`);
  const [, cname, ctype, serviceName, location, scope, serviceInstance, resourceType, resource] = m as unknown as string[];
  return { cname: cname!, ctype: ctype!, serviceName: serviceName!, location: location!, scope: scope!, serviceInstance: serviceInstance!, resourceType: resourceType!, resource: resource! };
}

/** A Key Protect instance CRN in `region`; returns the instance GUID the KMS API calls "bluemix-instance". */
export function keyProtectInstanceGuid(crn: string, region: string): string {
  const c = parseCrn(crn);
  const problems: string[] = [];
  if (c.serviceName !== 'kms') problems.push(`service is ${JSON.stringify(c.serviceName)}, not "kms" (Key Protect)`);
  if (c.location !== region) problems.push(`instance is in ${JSON.stringify(c.location)}, the stack is in ${JSON.stringify(region)} (Key Protect must be in the same region)`);
  if (!UUID.test(c.serviceInstance)) problems.push(`instance id ${JSON.stringify(c.serviceInstance)} is not a GUID`);
  if (c.resourceType !== '' || c.resource !== '') problems.push('CRN names a resource inside the instance, not the instance itself');
  if (problems.length) throw new Error(`Key Protect instance CRN ${crn}: ${problems.join('; ')}`);
  return c.serviceInstance;
}
