// The official Node tus server, as a peer for bench/run_tus.py.
//
//   node bench/tus/server.mjs DIR [PORT]      (PORT also from $PORT; default 1080)
//
// @tus/server + @tus/file-store or @tus/s3-store (versions pinned in package-lock.json; install with
// `npm ci --prefix bench/tus`), uploads stored as files under DIR, tus endpoint at
// http://127.0.0.1:PORT/files/, no auth, no size limit. Listens on 127.0.0.1 only.
// GET /healthz answers 200 (HAProxy's check, bench/run_tus.py --instances 2).
// Prints one "listening on URL" line when ready; exits on SIGTERM/SIGINT.
//
// With TUS_STORE=s3 the uploads go to an S3 bucket through @tus/s3-store instead
// (DIR is then only created, not used): TUS_S3_ENDPOINT, TUS_S3_BUCKET,
// TUS_S3_ACCESS_KEY, TUS_S3_SECRET_KEY; path-style, region us-east-1 (or
// TUS_S3_REGION), partSize 8 MiB (or TUS_S3_PART_SIZE bytes).
import fs from 'node:fs';
import path from 'node:path';
import { Server } from '@tus/server';
import { FileStore } from '@tus/file-store';

const [dirArg, portArg] = process.argv.slice(2);
if (!dirArg) {
  console.error('usage: node server.mjs DIR [PORT]');
  process.exit(2);
}
const directory = path.resolve(dirArg);
const port = Number(portArg ?? process.env.PORT ?? 1080);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error(`server.mjs: bad port ${portArg ?? process.env.PORT}`);
  process.exit(2);
}
fs.mkdirSync(directory, { recursive: true });

async function makeStore() {
  if ((process.env.TUS_STORE ?? 'file') !== 's3') return new FileStore({ directory });
  const need = (k) => {
    const v = process.env[k];
    if (!v) {
      console.error(`server.mjs: TUS_STORE=s3 needs ${k}`);
      process.exit(2);
    }
    return v;
  };
  const { S3Store } = await import('@tus/s3-store');
  return new S3Store({
    partSize: Number(process.env.TUS_S3_PART_SIZE ?? 8 * 1024 * 1024),
    s3ClientConfig: {
      endpoint: need('TUS_S3_ENDPOINT'),
      forcePathStyle: true,
      region: process.env.TUS_S3_REGION ?? 'us-east-1',
      bucket: need('TUS_S3_BUCKET'),
      credentials: {
        accessKeyId: need('TUS_S3_ACCESS_KEY'),
        secretAccessKey: need('TUS_S3_SECRET_KEY'),
      },
    },
  });
}
const store = process.env.TUS_STORE === 's3' ? 's3' : 'file';

const tus = new Server({
  path: '/files',
  datastore: await makeStore(),
  relativeLocation: true,
});
tus.get('/healthz', () => new Response('ok\n'));

const http = tus.listen({ host: '127.0.0.1', port }, () => {
  console.log(`listening on http://127.0.0.1:${port}/files/ storing ${store === 's3' ? `in bucket ${process.env.TUS_S3_BUCKET} at ${process.env.TUS_S3_ENDPOINT}` : `under ${directory}`}`);
});
http.on('error', (err) => {
  console.error(`server.mjs: ${err.message}`);
  process.exit(1);
});

const stop = (sig) => {
  console.log(`got ${sig}, closing`);
  http.close(() => process.exit(0));
  http.closeAllConnections?.();
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
