// An HTTP server that serves one object slowly (fixed chunks at a fixed pace), so a test can kill a
// worker while it is mid-download.
import { createServer, type Server } from 'node:http';

export async function slowCdn(
  object: Uint8Array,
  chunkBytes = 16 * 1024,
  everyMs = 20,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': object.length });
    let offset = 0;
    const timer = setInterval(() => {
      if (res.destroyed) return clearInterval(timer);
      res.write(object.subarray(offset, offset + chunkBytes));
      offset += chunkBytes;
      if (offset >= object.length) {
        clearInterval(timer);
        res.end();
      }
    }, everyMs);
    res.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/slow.enc`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
