/** How the Key Protect client authenticates: one credential source, one TokenSource for it. */
import type { Dispatcher } from 'undici';
import type { RetryPolicy } from './http.js';
import { IamTokenSource } from './iam-token.js';
import { TrustedProfileTokenSource } from './metadata-token.js';
import type { TokenSource } from './token-source.js';

export type KeyProtectAuth =
  /** A service ID's API key exchanged at IAM. */
  | { readonly kind: 'apiKey'; readonly apiKey: string; readonly iamEndpoint: string }
  /** The VPC instance's trusted profile, through the instance metadata service: no secret on the node. */
  | { readonly kind: 'trustedProfile'; readonly profileId: string; readonly metadataEndpoint: string };

export interface TokenSourceContext {
  readonly dispatcher: Dispatcher;
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly now: () => number;
}

export function createTokenSource(auth: KeyProtectAuth, context: TokenSourceContext): TokenSource {
  if (auth.kind === 'apiKey') return new IamTokenSource({ url: auth.iamEndpoint, apiKey: auth.apiKey, ...context });
  return new TrustedProfileTokenSource({ metadataEndpoint: auth.metadataEndpoint, profileId: auth.profileId, ...context });
}
