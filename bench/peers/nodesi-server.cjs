// nodesi in front of the bench origin: fetches the page, processes its
// <esi:include> tags (nodesi buffers the page), sends the result. Prints the
// port it listens on.
const http = require('node:http');
const ESI = require('nodesi');

const origin = process.env.ORIGIN;
const esi = new ESI({ baseUrl: origin, allowedHosts: [origin] });
const server = http.createServer(async (request, response) => {
  try {
    const page = await fetch(`${origin}${request.url}`);
    const html = await esi.process(await page.text());
    response.writeHead(page.status, { 'content-type': 'text/html; charset=utf-8' });
    response.end(html);
  } catch (error) {
    response.writeHead(502).end(String(error));
  }
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
