// A minimal static file server (node:http) standing in for "any web server
// or CDN": serves DIR over HTTP on 127.0.0.1 and a free port, printing
// "serving http://127.0.0.1:PORT/" when ready. GET only, no directory
// listings, nothing outside DIR.
//
// usage: node static_server.mjs DIR
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { resolve, sep } from 'node:path';

const root = resolve(process.argv[2] ?? '.');
const server = createServer((req, res) => {
    const path = resolve(root, '.' + decodeURIComponent(new URL(req.url, 'http://x').pathname));
    let stat;
    try {
        stat = path.startsWith(root + sep) ? statSync(path) : null;
    } catch {
        stat = null;
    }
    if (req.method !== 'GET' || !stat?.isFile()) {
        // An explicit empty body: hvkit's HttpFetcher refuses chunked answers.
        res.writeHead(req.method === 'GET' ? 404 : 405, { 'Content-Length': 0 }).end();
        return;
    }
    res.writeHead(200, { 'Content-Length': stat.size, 'Content-Type': 'application/octet-stream' });
    createReadStream(path).pipe(res);
});
server.listen(0, '127.0.0.1', () => {
    console.log(`serving http://127.0.0.1:${server.address().port}/`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
