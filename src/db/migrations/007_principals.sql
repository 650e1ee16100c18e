-- Principals, their tokens and the policies attached to them.

CREATE TABLE policies (
  id          uuid PRIMARY KEY,
  name        text NOT NULL UNIQUE,
  description text,
  -- the IAM-shaped document, validated on write
  document    jsonb NOT NULL,
  built_in    boolean NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL
);

CREATE TABLE principals (
  id          uuid PRIMARY KEY,
  name        text NOT NULL,
  description text,
  status      text NOT NULL CHECK (status IN ('ACTIVE', 'DISABLED')),
  tags        jsonb NOT NULL DEFAULT '{}',
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  -- deleted principals are kept, so that their tokens are still recognised (and refused, on record)
  deleted_at  timestamptz
);
CREATE UNIQUE INDEX principals_name ON principals (name) WHERE deleted_at IS NULL;

CREATE TABLE principal_policies (
  principal_id uuid NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
  policy_id    uuid NOT NULL REFERENCES policies (id),
  PRIMARY KEY (principal_id, policy_id)
);
CREATE INDEX principal_policies_policy ON principal_policies (policy_id);

-- Tokens belong to principals. The administrator tokens made before principals existed get the
-- principal 'admin' at start-up (src/services/auth-service.ts: bootstrap).
ALTER TABLE api_tokens ADD COLUMN principal_id uuid REFERENCES principals (id);
ALTER TABLE api_tokens ADD COLUMN description text;
ALTER TABLE api_tokens ADD COLUMN expires_at timestamptz;
ALTER TABLE api_tokens ADD COLUMN last_used_at timestamptz;
ALTER TABLE api_tokens ADD COLUMN deleted_at timestamptz;
UPDATE api_tokens SET deleted_at = revoked_at WHERE revoked_at IS NOT NULL;
ALTER TABLE api_tokens DROP COLUMN revoked_at;
ALTER TABLE api_tokens ALTER COLUMN role DROP NOT NULL;
CREATE INDEX api_tokens_principal ON api_tokens (principal_id, created_at);
