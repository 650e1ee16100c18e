/** A named policy document, attached to principals. */
export interface Policy {
  id: string;
  /** `[A-Za-z0-9._+=,@-]{1,128}`, unique; never UUID-shaped, so that ids and names cannot be confused. */
  name: string;
  description?: string;
  /** The IAM-shaped document (docs/policies.md). */
  document: unknown;
  builtIn: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export const POLICY_NAME = /^[A-Za-z0-9._+=,@-]{1,128}$/;

/** The built-in policies, with fixed ids so that every installation names them alike. */
export const BUILT_IN_POLICIES: readonly (Pick<Policy, 'id' | 'name' | 'description'> & { document: object })[] = [
  {
    id: '00000000-0000-4000-8000-000000000001',
    name: 'AdministratorAccess',
    description: 'Every action on every resource.',
    document: { Version: '2012-10-17', Statement: [{ Sid: 'Everything', Effect: 'Allow', Action: '*', Resource: '*' }] },
  },
  {
    id: '00000000-0000-4000-8000-000000000002',
    name: 'ReadOnlyAccess',
    description: 'Every Get, List and Describe action on every resource.',
    document: {
      Version: '2012-10-17',
      Statement: [{ Sid: 'ReadEverything', Effect: 'Allow', Action: ['privateca:Get*', 'privateca:List*', 'privateca:Describe*'], Resource: '*' }],
    },
  },
];

export const ADMINISTRATOR_ACCESS = BUILT_IN_POLICIES[0]!.id;
