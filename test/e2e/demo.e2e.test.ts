import { afterAll, beforeAll, expect, it } from 'vitest';
import { type DevServer, startDevServer } from '../../cli/dev/dev-server';
import { freePort, quietIo } from '../../tools/local-server';

/** What `npm run dev` starts: the embedded demo shop behind the gateway, with the shipped manifests. */
let dev: DevServer;
beforeAll(async () => {
  dev = await startDevServer({ manifests: 'manifests', port: await freePort(), demo: true, io: quietIo(process.cwd()).io });
});
afterAll(() => dev?.close());

it('assembles the demo product page, with its slow, failing and timing-out fragments', async () => {
  // Once to warm the Worker's connections: the price has a 150 ms timeout, which a cold start on a loaded machine can miss.
  await (await fetch(`${dev.url}/products/42`)).text();
  const response = await fetch(`${dev.url}/products/42`, { headers: { cookie: 'currency=GBP' } });
  const page = await response.text();
  expect(response.status).toBe(200);
  expect(page).toContain('<header class="site"><a class="logo" href="/">Tessera Outdoor</a><nav>'); // esi:include
  expect(page).toContain('<h1>Trail Runner 42</h1><p>A light trail shoe'); // data-slot, 5m ttl
  expect(page).toContain('<span data-slot="price"><strong>£119.90</strong>'); // cookie-driven template
  expect(page).toMatch(/<link rel="stylesheet" href="\/assets\/price.css"><\/head>/); // its declared stylesheet, known before the body, in the head
  expect(page).toContain('<h2>You may also like</h2>'); // slow (700 ms) but within its timeout
  expect(page).toContain('<span class="unavailable">Reviews are unavailable right now</span>'); // 503 → fallback html
  expect(page).toContain('<span data-slot="stock">ask in store</span>'); // timeout → keep
  expect(page).toContain('<p class="newsletter">'); // include inside the footer fragment
  expect(page).not.toContain('<esi:');
  expect(response.headers.getSetCookie()).toEqual([]); // the price fragment's cookie stays behind
  // The header's and the footer's shared stylesheet goes in once, before the header; the page's Link header preloads it.
  expect(page.split('href="/assets/chrome.css"')).toHaveLength(2);
  expect(page).toContain('<link rel="stylesheet" href="/assets/chrome.css"><header class="site">');
  expect(response.headers.get('link')).toContain('</assets/chrome.css>; rel=preload; as=style');
});

it('renders the ESI language on the demo home page: variables, a choice, an ESI comment and a removal', async () => {
  const german = await (await fetch(`${dev.url}/?name=%3Cb%3EAnna%3C/b%3E`, { headers: { 'accept-language': 'de-CH' } })).text();
  expect(german).toContain('<p>Welcome, &#60;b&#62;Anna&#60;/b&#62;!</p>');
  expect(german).toContain('<p>Wir liefern auch in die Schweiz.</p>');
  expect(german).not.toContain('Free shipping');
  const other = await (await fetch(`${dev.url}/`)).text();
  expect(other).toContain('<p>Welcome, hiker!</p>');
  expect(other).toContain('<p>Free shipping on orders over €50.</p>');
  expect(other).toContain('<p class="esi-note">This line is only shown where ESI is processed.</p>');
  expect(other).not.toContain('not processed by an ESI engine');
  expect(other).not.toContain('<esi:');
});

it('caches the page chrome as the README says: the second view gets the header from the cache', async () => {
  const timing = async () => (await fetch(`${dev.url}/products/42`)).headers.get('server-timing') ?? '';
  await timing();
  expect(await timing()).toMatch(/fragment\.header;dur=\d+;desc="hit"/);
});

it('caches the demo product page itself: the second view does not ask the origin, and its price is still live', async () => {
  const view = (currency: string) => fetch(`${dev.url}/products/3?view=cached`, { headers: { cookie: `currency=${currency}` } });
  const first = await view('EUR');
  await first.text();
  const second = await view('GBP');
  expect(second.headers.get('server-timing')).toMatch(/^origin;dur=\d+;desc="hit"/);
  expect(await second.text()).toContain('<span data-slot="price"><strong>£');
});

it('previews a fragment failure with ?tessera-fault through tessera dev', async () => {
  const response = await fetch(`${dev.url}/products/42?tessera-fault=recs:error,description:timeout`);
  const page = await response.text();
  expect(page).not.toContain('<h2>You may also like</h2>'); // recs failed: its fallback instead
  expect(page).toContain('Recommendations are taking a break');
  expect(page).toContain('<div data-slot="description"><h1>Trail Runner 42</h1></div>'); // timeout → keep the origin's own
  expect(response.headers.get('cache-control')).toBe('private, no-store');
  expect(response.headers.get('server-timing')).toMatch(/fragment\.recs;dur=\d+;desc="fallback";cause="error"/);
});

it('streams the demo product page past its slow recommendations, and shows it in order with ?tessera-placement=in-order', async () => {
  // Another product than above, so its recommendations are not cached yet.
  // A browser's user agent: fetch's own ("node") is a bot's, and bots get pages in order.
  const browser = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36' };
  const streamed = await (await fetch(`${dev.url}/products/7`, { headers: browser })).text();
  const footer = streamed.indexOf('<footer class="site">');
  // Placeholder names are random per response: read this one's from the page.
  const name = /<\?start name="(tessera-[0-9a-z]+-1)"><div class="recs-loading"/.exec(streamed)?.[1];
  expect(name).toBeDefined();
  expect(streamed.indexOf(`<template for="${name}"><div class="recs"><h2>You may also like</h2>`)).toBeGreaterThan(footer);
  const inOrder = await fetch(`${dev.url}/products/3?tessera-placement=in-order`, { headers: browser });
  const page = await inOrder.text();
  expect(page.indexOf('<h2>You may also like</h2>')).toBeLessThan(page.indexOf('<footer class="site">'));
  expect(page).not.toContain('<template for=');
  expect(inOrder.headers.get('cache-control')).toBe('private, no-store');
});

it('runs the demo experiment on the recommendations: a browser keeps its arm through its cookie, and ?tessera-variant shows the new one', async () => {
  const browser = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36' };
  const first = await fetch(`${dev.url}/products/3?tessera-placement=in-order`, { headers: browser });
  const cookie = (first.headers.get('set-cookie') ?? '').split(';')[0];
  expect(cookie).toMatch(/^tessera-visitor=[0-9a-f-]{36}$/);
  const arm = /exp="recs-2026-12";arm="(new|default)"/.exec(first.headers.get('server-timing') ?? '')?.[1];
  expect(arm).toBeDefined();
  const isNew = (page: string) => page.includes('class="recs-new"');
  expect(isNew(await first.text())).toBe(arm === 'new');
  const again = await fetch(`${dev.url}/products/3?tessera-placement=in-order`, { headers: { ...browser, cookie } });
  expect(isNew(await again.text())).toBe(arm === 'new');
  expect(again.headers.get('set-cookie')).toBeNull();
  const forced = await fetch(`${dev.url}/products/3?tessera-variant=recs:new`, { headers: browser });
  expect(isNew(await forced.text())).toBe(true);
  expect(forced.headers.get('cache-control')).toBe('private, no-store');
});
