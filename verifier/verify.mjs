// An independent verifier of digiskill credentials: Digital Bazaar's VC 2.0 / Data Integrity stack
// (@digitalbazaar/vc, data-integrity, eddsa-rdfc-2022-cryptosuite, ed25519-multikey), entirely offline.
//
// usage: node verify.mjs CREDENTIAL.json ISSUER_MULTIKEY [STATUS_LIST.json]
// prints one JSON line {"verified": bool, "revoked": bool|null, "errors": [...]}; exit 0 verified and not revoked,
// 1 not verified, 4 revoked. The document loader serves only the contexts digiskill pins (its own copies, checked by
// SHA-256 in digiskill), the bundled contexts of Digital Bazaar's libraries, and the issuer's verification method and
// controller document built from the Multikey the caller trusts. Nothing is fetched from the network.
import {readFileSync} from 'node:fs';
import {createHash} from 'node:crypto';
import {gunzipSync} from 'node:zlib';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022CryptoSuite} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import multikeyContext from '@digitalbazaar/multikey-context';

const here = dirname(fileURLToPath(import.meta.url));
const contextsDir = join(here, '..', 'src', 'digiskill', 'data', 'contexts');
const index = JSON.parse(readFileSync(join(contextsDir, 'index.json'), 'utf8'));
const pinned = new Map();
for(const [url, entry] of Object.entries(index.contexts)) {
  const raw = readFileSync(join(contextsDir, entry.file));
  const digest = createHash('sha256').update(raw).digest('hex');
  if(digest !== entry.sha256) {
    throw new Error(`pinned context ${url} does not match its SHA-256`);
  }
  pinned.set(url, JSON.parse(raw.toString('utf8')));
}

const [credentialPath, multikey, statusListPath] = process.argv.slice(2);
const credential = JSON.parse(readFileSync(credentialPath, 'utf8'));
const issuerId = typeof credential.issuer === 'string' ? credential.issuer : credential.issuer.id;
const vmId = `${issuerId}#${multikey}`;
const MULTIKEY_CONTEXT = 'https://w3id.org/security/multikey/v1';
const verificationMethod = {
  '@context': MULTIKEY_CONTEXT,
  id: vmId,
  type: 'Multikey',
  controller: issuerId,
  publicKeyMultibase: multikey
};
const controllerDocument = {
  '@context': ['https://w3id.org/security/v2', MULTIKEY_CONTEXT],
  id: issuerId,
  verificationMethod: [verificationMethod],
  assertionMethod: [vmId]
};
const statusList = statusListPath ? JSON.parse(readFileSync(statusListPath, 'utf8')) : null;

async function documentLoader(url) {
  if(pinned.has(url)) {
    return {contextUrl: null, documentUrl: url, document: structuredClone(pinned.get(url))};
  }
  if(url === multikeyContext.CONTEXT_URL) {
    return {contextUrl: null, documentUrl: url, document: multikeyContext.CONTEXT};
  }
  if(url === vmId) {
    return {contextUrl: null, documentUrl: url, document: structuredClone(verificationMethod)};
  }
  if(url === issuerId) {
    return {contextUrl: null, documentUrl: url, document: structuredClone(controllerDocument)};
  }
  if(statusList && url === statusList.id) {
    return {contextUrl: null, documentUrl: url, document: structuredClone(statusList)};
  }
  return vc.defaultDocumentLoader(url); // Digital Bazaar's bundled contexts; anything else is refused
}

const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022CryptoSuite});

// Bitstring Status List v1.0: verify the list credential with the same stack, then read the bit
async function checkStatus({credential: cred}) {
  const entry = cred.credentialStatus;
  if(!statusList) {
    return {verified: false, error: 'no status list given'};
  }
  if(entry.type !== 'BitstringStatusListEntry' || entry.statusListCredential !== statusList.id) {
    return {verified: false, error: 'the status entry does not name the given list'};
  }
  const listResult = await vc.verifyCredential({credential: statusList, suite, documentLoader});
  if(!listResult.verified) {
    return {verified: false, error: 'the status list credential does not verify'};
  }
  const encoded = statusList.credentialSubject.encodedList;
  if(!encoded.startsWith('u')) {
    return {verified: false, error: 'encodedList is not multibase base64url'};
  }
  const bits = gunzipSync(Buffer.from(encoded.slice(1), 'base64url'));
  const index = Number.parseInt(entry.statusListIndex, 10);
  const revoked = ((bits[index >> 3] >> (7 - (index % 8))) & 1) === 1;
  return {verified: true, revoked};
}

const result = await vc.verifyCredential({credential, suite, documentLoader, checkStatus});
const errors = [];
const collect = e => {
  if(!e) {
    return;
  }
  for(const x of (Array.isArray(e) ? e : [e])) {
    errors.push(String(x.message || x) + (x.details ? " " + JSON.stringify(x.details).slice(0, 400) : ""));
    if(x.errors) {
      collect(x.errors);
    }
  }
};
collect(result.error);
for(const r of result.results || []) {
  collect(r.error);
}
if(result.statusResult && result.statusResult.error) {
  errors.push(result.statusResult.error);
}
const revoked = result.statusResult ? Boolean(result.statusResult.revoked) : null;
console.log(JSON.stringify({verified: result.verified, revoked, errors}));
process.exit(result.verified ? (revoked ? 4 : 0) : 1);
