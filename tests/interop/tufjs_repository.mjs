// Interop (2), the repository side: writes a complete TUF 1.0 repository with
// consistent snapshots using only @tufjs/models and node:crypto (Ed25519),
// independently of hvkit. It includes a root rotation (1.root.json signed by
// key A; 2.root.json by A and B, listing only B), a target with custom
// metadata, a snapshot entry carrying only a version (as python-tuf writes
// it) and a timestamp entry with sha256 and sha512.
//
// usage: node tufjs_repository.mjs --dir REPO --target-file FILE --target-name NAME
// writes REPO/metadata/{1.root,2.root,root,1.targets,1.snapshot,timestamp}.json
// and REPO/targets/DIR/SHA256.BASE
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import {
    Key, MetaFile, Metadata, Root, Signature, Snapshot, TargetFile, Targets, Timestamp,
} from '@tufjs/models';

const { values: args } = parseArgs({
    options: {
        dir: { type: 'string' },
        'target-file': { type: 'string' },
        'target-name': { type: 'string' },
    },
});
for (const required of ['dir', 'target-file', 'target-name']) {
    if (!args[required]) {
        console.error(`tufjs_repository: --${required} is required`);
        process.exit(2);
    }
}

const SPEC_VERSION = '1.0.31';
const DAY = 24 * 60 * 60 * 1000;
// TUF's expiry form: no fractional seconds.
const expiresIn = (days) => new Date(Date.now() + days * DAY).toISOString().replace(/\.\d+Z$/, 'Z');
const hex = (alg, bytes) => createHash(alg).update(bytes).digest('hex');

// An Ed25519 key pair as a @tufjs/models Key plus a signer callback.
function newKey() {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x, 'base64url');
    const keyVal = { public: raw.toString('hex') };
    // Key ID: sha256 of the key's canonical JSON (keys already in sorted order).
    const canonical = JSON.stringify({ keytype: 'ed25519', keyval: keyVal, scheme: 'ed25519' });
    const keyID = hex('sha256', canonical);
    const key = new Key({ keyID, keyType: 'ed25519', scheme: 'ed25519', keyVal });
    const signer = (data) => new Signature({ keyID, sig: sign(null, data, privateKey).toString('hex') });
    return { key, signer };
}

const metadataDir = join(args.dir, 'metadata');
mkdirSync(metadataDir, { recursive: true });
function write(name, metadata) {
    const bytes = Buffer.from(JSON.stringify(metadata.toJSON(), null, 1));
    writeFileSync(join(metadataDir, name), bytes);
    return bytes;
}

const rootA = newKey();
const rootB = newKey();
const targetsKey = newKey();
const snapshotKey = newKey();
const timestampKey = newKey();

function rootVersion(version, rootKey) {
    const root = new Root({ version, specVersion: SPEC_VERSION, expires: expiresIn(365), consistentSnapshot: true });
    root.addKey(rootKey.key, 'root');
    root.addKey(targetsKey.key, 'targets');
    root.addKey(snapshotKey.key, 'snapshot');
    root.addKey(timestampKey.key, 'timestamp');
    return new Metadata(root);
}

// Root v1 (key A), then v2 (key B) signed by both: the rotation hvkit must follow.
const root1 = rootVersion(1, rootA);
root1.sign(rootA.signer);
write('1.root.json', root1);
const root2 = rootVersion(2, rootB);
root2.sign(rootA.signer);
root2.sign(rootB.signer);
write('2.root.json', root2);
write('root.json', root2);

// The target, stored under its consistent name.
const payload = readFileSync(args['target-file']);
const sha256 = hex('sha256', payload);
const name = args['target-name'];
const slash = name.lastIndexOf('/');
const stored = join(args.dir, 'targets', name.slice(0, slash + 1) + sha256 + '.' + name.slice(slash + 1));
mkdirSync(dirname(stored), { recursive: true });
writeFileSync(stored, payload);

const targets = new Targets({ version: 1, specVersion: SPEC_VERSION, expires: expiresIn(90) });
targets.addTarget(new TargetFile({
    path: name,
    length: payload.length,
    hashes: { sha256, sha512: hex('sha512', payload) },
    unrecognizedFields: { custom: { producer: 'tuf-js' } },
}));
const targetsMd = new Metadata(targets);
targetsMd.sign(targetsKey.signer);
write('1.targets.json', targetsMd);

const snapshot = new Snapshot({
    version: 1, specVersion: SPEC_VERSION, expires: expiresIn(7),
    meta: { 'targets.json': new MetaFile({ version: 1 }) },
});
const snapshotMd = new Metadata(snapshot);
snapshotMd.sign(snapshotKey.signer);
const snapshotBytes = write('1.snapshot.json', snapshotMd);

const timestamp = new Timestamp({
    version: 1, specVersion: SPEC_VERSION, expires: expiresIn(1),
    snapshotMeta: new MetaFile({
        version: 1,
        length: snapshotBytes.length,
        hashes: { sha256: hex('sha256', snapshotBytes), sha512: hex('sha512', snapshotBytes) },
    }),
});
const timestampMd = new Metadata(timestamp);
timestampMd.sign(timestampKey.signer);
write('timestamp.json', timestampMd);

console.log(`wrote a tuf-js repository to ${args.dir}: root v2, target ${name} (sha256 ${sha256})`);
