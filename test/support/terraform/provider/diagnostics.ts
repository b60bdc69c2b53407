/** Diagnostics and attribute paths, and their protocol form (Terraform prints the path as "with <address>, on <file>..."). */

export type PathStep = { readonly attr: string } | { readonly index: number } | { readonly key: string };
export type Path = readonly PathStep[];

export interface Diag {
  readonly severity: 'ERROR' | 'WARNING';
  readonly summary: string;
  readonly detail?: string;
  readonly path?: Path;
}

export const error = (summary: string, detail?: string, path?: Path): Diag => ({ severity: 'ERROR', summary, ...(detail !== undefined ? { detail } : {}), ...(path ? { path } : {}) });
export const warning = (summary: string, detail?: string, path?: Path): Diag => ({ severity: 'WARNING', summary, ...(detail !== undefined ? { detail } : {}), ...(path ? { path } : {}) });

type ProtoStep = { attribute_name: string } | { element_key_int: number } | { element_key_string: string };

export function protoPath(path: Path): { steps: ProtoStep[] } {
  return {
    steps: path.map((step): ProtoStep => {
      if ('attr' in step) return { attribute_name: step.attr };
      if ('index' in step) return { element_key_int: step.index };
      return { element_key_string: step.key };
    }),
  };
}

export function protoDiagnostics(diags: readonly Diag[]) {
  return diags.map((d) => ({
    severity: d.severity,
    summary: d.summary,
    detail: d.detail ?? '',
    ...(d.path && d.path.length > 0 ? { attribute: protoPath(d.path) } : {}),
  }));
}

/** The SDK's flat key for a path: `tcp.0.port_min`. */
export function sdkKey(path: Path): string {
  return path.map((step) => ('attr' in step ? step.attr : 'index' in step ? String(step.index) : step.key)).join('.');
}

/** Path to text for logs and the operation log: `tcp[0].port_min`. */
export function pathText(path: Path): string {
  let out = '';
  for (const step of path) {
    if ('attr' in step) out += out ? `.${step.attr}` : step.attr;
    else if ('index' in step) out += `[${step.index}]`;
    else out += `[${JSON.stringify(step.key)}]`;
  }
  return out;
}
