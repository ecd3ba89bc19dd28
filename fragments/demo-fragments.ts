import type { IncomingMessage } from 'node:http';

export interface Product {
  name: string;
  price: number;
  blurb: string;
}

export const CATALOGUE: Record<string, Product> = {
  '42': { name: 'Trail Runner 42', price: 119.9, blurb: 'A light trail shoe with a rock plate and a 6 mm drop.' },
  '7': { name: 'Rain Shell 7', price: 189, blurb: 'Three-layer shell, taped seams, pit zips.' },
  '3': { name: 'Wool Socks 3-pack', price: 24.5, blurb: 'Merino blend, cushioned heel, made to last.' },
};

interface Reply {
  html: string;
  status?: number;
  headers?: Record<string, string>;
  /** Its stylesheets and scripts (fragments/demo-assets.ts), which the origin names in a Link header. */
  assets?: string[];
  /** Those the manifest declares for it instead (a fragment "you cannot change"). */
  declared?: string[];
}

interface FragmentRoute {
  pattern: RegExp;
  /** Injected latency, so the waterfall and the fallbacks are visible. */
  delayMs: number;
  render(match: RegExpExecArray, url: URL, req: IncomingMessage): Reply;
}

const money = (value: number, currency: string) =>
  new Intl.NumberFormat('en-GB', { style: 'currency', currency: /^[A-Z]{3}$/.test(currency) ? currency : 'EUR' }).format(value);

/** Both recommendation engines' stylesheet and script (fragments/demo-assets.ts). */
const RECS_ASSETS = ['/assets/recs.css', '/assets/recs.js'];

export const fragmentRoutes: FragmentRoute[] = [
  {
    pattern: /^\/fragments\/header$/,
    delayMs: 30,
    // Its stylesheet, shared with the footer, declared in a Link header: the gateway puts it in once, before the header.
    render: () => ({
      assets: ['/assets/chrome.css'],
      html: `<header class="site"><a class="logo" href="/">Tessera Outdoor</a><nav><a href="/products/42">Shoes</a> <a href="/products/7">Jackets</a> <a href="/products/3">Socks</a></nav></header>`,
    }),
  },
  {
    pattern: /^\/fragments\/footer$/,
    delayMs: 20,
    // Contains an include of its own: processed because the footer comes from the origin. It links the shared
    // stylesheet in its own markup too, as many fragments do: the gateway leaves that copy out, the header's is there.
    render: () => ({
      html: `<link rel="stylesheet" href="/assets/chrome.css"><footer class="site"><p>© 2026 Tessera Outdoor · assembled at the edge</p><esi:include src="/fragments/newsletter"/></footer>`,
    }),
  },
  {
    pattern: /^\/fragments\/newsletter$/,
    delayMs: 40,
    render: () => ({ html: `<p class="newsletter">Get 10% off your first order — <a href="/">sign up</a>.</p>` }),
  },
  {
    pattern: /^\/fragments\/description\/([\w-]+)$/,
    delayMs: 60,
    render: (m) => {
      const item = CATALOGUE[m[1]];
      return item ? { html: `<h1>${item.name}</h1><p>${item.blurb}</p>` } : { html: 'unknown product', status: 404 };
    },
  },
  {
    pattern: /^\/fragments\/price\/([\w-]+)$/,
    delayMs: 25,
    render: (m, url) => {
      const item = CATALOGUE[m[1]];
      if (!item) return { html: 'unknown product', status: 404 };
      return {
        html: `<strong>${money(item.price, url.searchParams.get('cur') ?? 'EUR')}</strong> <small>live price</small>`,
        declared: ['/assets/price.css'],
        // Never reaches the browser: a fragment's cookies are dropped by the gateway (and the price is never cached anyway).
        headers: { 'set-cookie': 'price-tracker=1; Path=/' },
      };
    },
  },
  {
    // The slow one: a recommendation engine that takes most of a second.
    pattern: /^\/fragments\/recs\/([\w-]+)$/,
    delayMs: 700,
    render: (m) => {
      const others = Object.entries(CATALOGUE).filter(([id]) => id !== m[1]);
      return {
        assets: RECS_ASSETS,
        html: `<div class="recs"><h2>You may also like</h2><ul>${others.map(([id, p]) => `<li><a href="/products/${id}">${p.name}</a></li>`).join('')}</ul></div>`,
      };
    },
  },
  {
    // The new recommendation engine, the demo's experiment (manifests/product.yaml): faster, with prices.
    pattern: /^\/fragments\/recs-v2\/([\w-]+)$/,
    delayMs: 400,
    render: (m) => {
      const others = Object.entries(CATALOGUE).filter(([id]) => id !== m[1]);
      const cards = others.map(([id, p]) => `<li><a href="/products/${id}">${p.name}</a> <small>${money(p.price, 'EUR')}</small></li>`).join('');
      return {
        assets: RECS_ASSETS,
        html: `<div class="recs"><h2>You may also like</h2><ul class="recs-new">${cards}</ul><p class="recs-note">New recommendations</p></div>`,
      };
    },
  },
  {
    // The failing one: the comments service is down.
    pattern: /^\/fragments\/comments\/([\w-]+)$/,
    delayMs: 15,
    render: () => ({ html: 'comments backend unavailable', status: 503 }),
  },
  {
    // The one that times out: stock levels take 3 s, the manifest allows 250 ms.
    pattern: /^\/fragments\/stock\/([\w-]+)$/,
    delayMs: 3000,
    render: () => ({ html: '<span class="stock">In stock</span>' }),
  },
  {
    pattern: /^\/fragments\/promo$/,
    delayMs: 50,
    render: () => ({ html: `<aside class="promo"><strong>Winter sale:</strong> 20% off shells this week.</aside>` }),
  },
];
