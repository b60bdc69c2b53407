/**
 * How long to wait after a service-to-service authorization before the service that needs it is created: IAM
 * takes a moment to propagate it, and a database or bucket created at once fails now and then with
 * ServiceNotAuthorized (provider issue 4478; IBM's own modules wait after the authorization the same way).
 * Terraform waits with hashicorp/time's time_sleep, which the stacks pin beside the IBM provider.
 */
export const AUTHORIZATION_SETTLE = '30s';
