// Reads a JSON array of {app, alipay, root} PEM texts on stdin and writes,
// for each, the serial numbers the official Alipay Node SDK computes when it
// is configured with them: [{appCertSn, alipayCertSn, alipayRootCertSn}].
// An entry the SDK refuses gets {error} instead.
import { AlipaySdk } from 'alipay-sdk';
import { generateKeyPairSync } from 'node:crypto';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const cases = JSON.parse(Buffer.concat(chunks).toString('utf8'));

// The SDK wants an app private key; it plays no part in the serial numbers.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
const key = privateKey.export({ type: 'pkcs1', format: 'pem' });

const out = cases.map(c => {
  try {
    const { config } = new AlipaySdk({
      appId: '2021000000000000',
      privateKey: key,
      appCertContent: c.app,
      alipayPublicCertContent: c.alipay,
      alipayRootCertContent: c.root,
    });
    return { appCertSn: config.appCertSn, alipayCertSn: config.alipayCertSn, alipayRootCertSn: config.alipayRootCertSn };
  } catch (e) {
    return { error: String(e && e.message || e) };
  }
});
process.stdout.write(JSON.stringify(out));
