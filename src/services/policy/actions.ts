/**
 * The actions of privateca's policies: `privateca:` + the operation. Each /v1 route names one
 * (api/routes); `*` and `?` wildcards in a policy match against this list.
 */
export const ACTIONS = [
  'CreateCertificateAuthority',
  'ListCertificateAuthorities',
  'DescribeCertificateAuthority',
  'UpdateCertificateAuthority',
  'DeleteCertificateAuthority',
  'RestoreCertificateAuthority',
  'GetCertificateAuthorityCsr',
  'ImportCertificateAuthorityCertificate',
  'GetCertificateAuthorityCertificate',
  'IssueCertificate',
  'ListCertificates',
  'GetCertificate',
  'RevokeCertificate',
  'PublishCrl',
  'DescribeCrl',
  'CreateAuditReport',
  'DescribeAuditReport',
  'ListAuditEvents',
  'VerifyAuditLog',
  'CreatePrincipal',
  'ListPrincipals',
  'DescribePrincipal',
  'UpdatePrincipal',
  'DeletePrincipal',
  'CreateToken',
  'ListTokens',
  'DeleteToken',
  'CreatePolicy',
  'ListPolicies',
  'DescribePolicy',
  'UpdatePolicy',
  'DeletePolicy',
  /** POST /v1/authorize for another principal (the console's "would this be allowed?"), as IAM's SimulatePrincipalPolicy. */
  'SimulatePrincipalPolicy',
] as const;

export type ActionName = (typeof ACTIONS)[number];

export const SERVICE_PREFIX = 'privateca:';

/** `privateca:IssueCertificate` */
export const qualified = (a: ActionName): string => SERVICE_PREFIX + a;

/** Resource names (docs/policies.md): `ca/{caId}`, `principal/{id}`, `policy/{id}`, `audit`; `ca/*` etc. for create and list. */
export const RESOURCE_PATTERN = /^(\*|audit|(ca|principal|policy)\/.+)$/;
