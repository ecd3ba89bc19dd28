/**
 * The markup scan on the hot path, alone: `node --import tsx bench/markup-tokenizer.ts`.
 *
 * A 100 KB page with includes, ESI constructs (vars, choose, remove, comments,
 * a try) and data-slot markers, in 16 KiB chunks as an origin sends it, run
 * through the ESI pass and then the marker scanner, as compose-page does.
 * Prints the median time per page over interleaved rounds, after warm-up.
 * Node only; no network.
 */
import { ESI_VARIABLES } from '../gateway/contract/esi-variable-names';
import { EsiStream } from '../gateway/markup/esi-stream';
import { MarkupScanner } from '../gateway/markup/markup-scanner';
import { EsiVariables } from '../gateway/request/esi-variables';
import { RequestReadings } from '../gateway/request/request-readings';

const ROUNDS = Number(process.argv[2] ?? 40);
const PAGES_PER_ROUND = 50;
const CHUNK = 16 * 1024;

/** One block of ordinary markup with a marker or an ESI construct in it, `n` its number. */
function block(n: number): string {
  const markup = [
    `<div class="card card-${n}" id="c${n}"><h2 title="Item &amp; ${n}">Item ${n}</h2><p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore.</p>`,
    `<a href="/items/${n}?ref=home&amp;x=1" data-track='{"n":${n}}'><img src="/img/${n}.png" alt="item ${n}" loading=lazy></a>`,
    '<ul><li>one</li><li>two</li><li>three</li></ul>',
  ];
  switch (n % 8) {
    case 0:
      markup.push(`<esi:include src="/fragments/f${n}" alt="/fallback" onerror="continue"/>`);
      break;
    case 1:
      markup.push(`<section data-slot="slot-${n}"><p>placeholder</p></section>`);
      break;
    case 2:
      markup.push(`<esi:vars><span class="user">Hello $(HTTP_COOKIE{name}|'guest')</span></esi:vars>`);
      break;
    case 3:
      markup.push(`<esi:choose><esi:when test="$(HTTP_COOKIE{tier}) == 'gold'">gold</esi:when><esi:otherwise>plain</esi:otherwise></esi:choose>`);
      break;
    case 4:
      markup.push(`<esi:remove><a href="/no-esi">no ESI</a></esi:remove><!-- a plain comment ${n} -->`);
      break;
    case 5:
      markup.push(`<script>var item${n} = {"id": ${n}, "html": "<b>x</b>"}; if (a < b) {}</script>`);
      break;
    case 6:
      markup.push(`<!--esi <esi:include src="/fragments/hidden${n}"/> -->`);
      break;
    case 7:
      markup.push(`<esi:try><esi:attempt><esi:include src="/fragments/try${n}"/></esi:attempt><esi:except>sorry</esi:except></esi:try>`);
      break;
  }
  return `${markup.join('\n')}</div>\n`;
}

function page(bytes: number): Uint8Array {
  let html = '<!doctype html><html><head><title>Bench</title><style>.card{margin:0}</style></head><body>\n';
  for (let n = 0; html.length < bytes - 20; n++) html += block(n);
  return new TextEncoder().encode(`${html}</body></html>`);
}

const PAGE = page(100 * 1024);
const CHUNKS: Uint8Array[] = [];
for (let at = 0; at < PAGE.length; at += CHUNK) CHUNKS.push(PAGE.subarray(at, at + CHUNK));
const url = 'https://shop.test/page?x=1';
const variables = new EsiVariables(new RequestReadings(new Request(url, { headers: { cookie: 'name=Eve; tier=gold' } })), new URL(url), new Set(ESI_VARIABLES));

let markers = 0;
let sink = 0;
function run(): void {
  const esi = new EsiStream({ variables, onError: () => {}, onTry: () => '<tessera-try data-index="0"></tessera-try>' });
  const scanner = new MarkupScanner(
    {
      include: () => ++markers > 0,
      slot: () => ++markers > 0,
      waiting: () => true,
      inline: () => Promise.resolve(new Uint8Array(0)),
    },
    true,
  );
  for (const chunk of CHUNKS) for (const piece of esi.transform(chunk)) sink += scanner.pieces(piece).length;
  for (const piece of esi.flush()) sink += scanner.pieces(piece).length;
}

for (let i = 0; i < 200; i++) run();
const samples: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const start = performance.now();
  for (let i = 0; i < PAGES_PER_ROUND; i++) run();
  samples.push((performance.now() - start) / PAGES_PER_ROUND);
}
samples.sort((a, b) => a - b);
const median = samples[Math.floor(samples.length / 2)];
console.log(
  `ESI pass + marker scan, ${(PAGE.length / 1024).toFixed(0)} KB page in ${CHUNKS.length} chunks: ${(median * 1000).toFixed(0)} µs per page (median of ${ROUNDS} rounds; min ${(samples[0] * 1000).toFixed(0)} µs)`,
);
if (sink < 0) console.log(markers);
