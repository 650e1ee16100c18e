import { describe, expect, it } from 'vitest';
import { readCertificateFields } from '../../src/x509/certificate-fields.ts';
import { decodePem } from '../../src/x509/pem.ts';
import { nameFields, nameToString } from '../../src/x509/name.ts';
import { OpensslPki } from '../pki/openssl.ts';

/*
 * A certificate's issuer Name in the shape of a CA's subject (what `issuer` on the CA shows), read
 * from certificates the openssl CLI made with names the service itself never writes.
 */

const pki = new OpensslPki();
const issuerOf = (pem: string) => {
  const der = decodePem(pem)[0]!.der;
  const { issuer } = readCertificateFields(der);
  return { fields: nameFields(der, issuer), text: nameToString(der.subarray(issuer.start, issuer.end)) };
};

describe('nameFields', () => {
  it('ok/every field of a CA subject, whatever the order of the RDNs (PrintableString, UTF8String, IA5String)', () => {
    const root = pki.root({ subject: '/CN=Outside Root/emailAddress=pki@acme.example/serialNumber=42/L=Cologne/ST=NRW/OU=PKI/O=Acme United/C=DE' });
    expect(issuerOf(root.cert).fields).toEqual({
      commonName: 'Outside Root',
      organization: 'Acme United',
      organizationalUnit: 'PKI',
      country: 'DE',
      state: 'NRW',
      locality: 'Cologne',
      serialNumber: '42',
      emailAddress: 'pki@acme.example',
    });
  });

  it('ok/attributes without a field are left out, the first of a repeated one is kept, and a Name without a commonName has none', () => {
    const root = pki.root({ subject: '/DC=internal/DC=acme/O=Acme/OU=First/OU=Second' });
    const { fields, text } = issuerOf(root.cert);
    expect(fields).toEqual({ organization: 'Acme', organizationalUnit: 'First' });
    // The RFC 4514 string still names them all.
    expect(text).toBe('OU=Second,OU=First,O=Acme,DC=acme,DC=internal');
  });
});
