// The floor a Node front can reach: bare node:http in one process, reading each request's body (the
// cls scenario's ~110 KB KServe v2 binary body, taken as raw bytes, chunks not joined) and answering
// 200 with two bytes. No routing, no parsing, no model: its CPU per request is what Node's HTTP layer
// and the body's bytes cost alone, the figure our fronts' CPU per request is compared with.
import http from 'node:http';

const OK = Buffer.from('ok');

const server = http.createServer((req, res) => {
  let bytes = 0;
  req.on('data', (c: Buffer) => (bytes += c.length));
  req.on('end', () => {
    res.writeHead(bytes > 0 ? 200 : 400, { 'content-type': 'text/plain', 'content-length': OK.length });
    res.end(OK);
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);
});
