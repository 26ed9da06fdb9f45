// The official Node tus server, as a peer for bench/run_tus.py.
//
//   node bench/tus/server.mjs DIR [PORT]      (PORT also from $PORT; default 1080)
//
// @tus/server + @tus/file-store (versions pinned in package-lock.json; install with
// `npm ci --prefix bench/tus`), uploads stored as files under DIR, tus endpoint at
// http://127.0.0.1:PORT/files/, no auth, no size limit. Listens on 127.0.0.1 only.
// Prints one "listening on URL" line when ready; exits on SIGTERM/SIGINT.
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

const tus = new Server({
  path: '/files',
  datastore: new FileStore({ directory }),
  relativeLocation: true,
});

const http = tus.listen({ host: '127.0.0.1', port }, () => {
  console.log(`listening on http://127.0.0.1:${port}/files/ storing under ${directory}`);
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
