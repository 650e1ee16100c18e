import type { KeyStoreDescriptor } from '../src/ports/key-store.ts';
import { awsKmsKeyStore } from './aws-kms/descriptor.ts';
import { pkcs11KeyStore } from './pkcs11/descriptor.ts';
import { softwareKeyStore } from './software/descriptor.ts';

/**
 * Every key store the service knows. Adding one is a folder beside these with a descriptor, and one
 * line here; configuration, the API's keyStore.type, the registry and the contract suite follow.
 */
export const KEY_STORES: readonly KeyStoreDescriptor<any>[] = [softwareKeyStore, pkcs11KeyStore, awsKmsKeyStore];
