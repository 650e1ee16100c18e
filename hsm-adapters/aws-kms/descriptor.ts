import type { KeyStoreDescriptor } from '../../src/ports/key-store.ts';
import { AwsKmsKeyStore } from './aws-kms-key-store.ts';

/**
 * Keys in AWS KMS, configured when AWS_REGION or AWS_DEFAULT_REGION is set; the endpoint
 * (AWS_ENDPOINT_URL_KMS) and the credentials come from the AWS SDK's standard chain.
 */
export const awsKmsKeyStore: KeyStoreDescriptor<{ region: string }> = {
  type: 'aws-kms',
  scheme: 'awskms',
  readConfig(env) {
    const region = env.AWS_REGION || env.AWS_DEFAULT_REGION;
    return region ? { region } : undefined;
  },
  async create(c) {
    return new AwsKmsKeyStore({ region: c.region });
  },
};
