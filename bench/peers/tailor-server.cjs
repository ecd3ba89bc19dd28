// Zalando Tailor in front of the bench origin: the template is the origin's
// /tailor page (fetched per request, as a layout service fetches it), and its
// <fragment src> tags are filled by Tailor. Prints the port it listens on.
const http = require('node:http');
const Tailor = require('node-tailor');

const origin = process.env.ORIGIN;
const agent = new http.Agent({ keepAlive: true });
const fetchTemplate = (_request, parseTemplate) =>
  new Promise((resolve, reject) => {
    http
      .get(`${origin}/tailor`, { agent }, (response) => {
        let html = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => (html += chunk));
        response.on('end', () => resolve(parseTemplate(html)));
        response.on('error', reject);
      })
      .on('error', reject);
  });
const tailor = new Tailor({ fetchTemplate });
const server = http.createServer(tailor.requestHandler);
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
