// An independent TUF client (tuf-js's Updater) reading a repository over
// HTTP: refreshes from a trusted root, downloads one target and prints
// "<sha256>  <file>" for the driver to compare with the original.
//
// usage: node tufjs_client.mjs --metadata-url URL --targets-url URL
//            --cache DIR --root ROOT.json --target NAME --out DIR
// --root seeds DIR/root.json only when the cache has no root yet, so a
// second run starts from what the first one trusted (rotations included).
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Updater } from 'tuf-js';

const { values: args } = parseArgs({
    options: {
        'metadata-url': { type: 'string' },
        'targets-url': { type: 'string' },
        cache: { type: 'string' },
        root: { type: 'string' },
        target: { type: 'string', multiple: true },
        out: { type: 'string' },
    },
});
for (const required of ['metadata-url', 'targets-url', 'cache', 'root', 'target', 'out']) {
    if (!args[required]) {
        console.error(`tufjs_client: --${required} is required`);
        process.exit(2);
    }
}

mkdirSync(args.cache, { recursive: true });
mkdirSync(args.out, { recursive: true });
if (!existsSync(join(args.cache, 'root.json'))) {
    copyFileSync(args.root, join(args.cache, 'root.json'));
}

const updater = new Updater({
    metadataBaseUrl: args['metadata-url'],
    targetBaseUrl: args['targets-url'],
    metadataDir: args.cache,
    targetDir: args.out,
});

try {
    await updater.refresh();
    for (const name of args.target) {
        const info = await updater.getTargetInfo(name);
        if (!info) throw new Error(`target ${name} is not listed by the repository`);
        const file = join(args.out, name.replaceAll('/', '_'));
        const path = await updater.downloadTarget(info, file);
        const sha256 = createHash('sha256').update(readFileSync(path)).digest('hex');
        console.log(`${sha256}  ${name}`);
    }
    const root = JSON.parse(readFileSync(join(args.cache, 'root.json'), 'utf8'));
    console.log(`trusted root version ${root.signed.version}`);
} catch (err) {
    console.error(`tufjs_client: ${err.constructor.name}: ${err.message}`);
    process.exit(1);
}
