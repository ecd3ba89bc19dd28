import { CATALOGUE, type Product } from './demo-fragments';

/** The page's own styles. The fragments bring theirs (demo-assets.ts): the header's and footer's, the price's, the recommendations'. */
const STYLE = `
  body { font: 16px/1.5 system-ui, sans-serif; margin: 0; color: #1d232a; background: #f6f7f9; }
  main { max-width: 880px; margin: 24px auto; padding: 0 24px; display: grid; grid-template-columns: 2fr 1fr; gap: 24px; }
  section, aside { background: #fff; border-radius: 8px; padding: 16px 20px; box-shadow: 0 1px 3px #0002; }
  .price { font-size: 1.4em; } .stock { color: #2e7d32; } .unavailable { color: #8a5a00; }
`;

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${title} · Tessera Outdoor</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${STYLE}</style>
</head>
<body>
<esi:include src="/fragments/header"/>
${body}
<esi:include src="/fragments/footer"/>
</body>
</html>
`;
}

export function productPage(id: string, item: Product): string {
  return layout(
    item.name,
    `<main>
  <section>
    <div data-slot="description"><h1>${item.name}</h1></div>
    <p class="price">Price: <span data-slot="price">€${item.price.toFixed(2)}</span></p>
    <p>Availability: <span data-slot="stock">ask in store</span></p>
    <p>Reviews: <span data-slot="comments">…</span></p>
  </section>
  <aside>
    <esi:include src="/fragments/recs/${id}"/>
  </aside>
</main>`,
  );
}

export function homePage(): string {
  const items = Object.entries(CATALOGUE)
    .map(([id, p]) => `<li><a href="/products/${id}">${p.name}</a> — €${p.price.toFixed(2)}</li>`)
    .join('\n    ');
  return layout(
    'Home',
    `<main>
  <section>
    <h1>Gear for wet trails</h1>
    <esi:vars><p>Welcome, $(QUERY_STRING{name}|'hiker')!</p></esi:vars>
    <esi:choose>
      <esi:when test="$(HTTP_ACCEPT_LANGUAGE{de})"><p>Wir liefern auch in die Schweiz.</p></esi:when>
      <esi:otherwise><p>Free shipping on orders over €50.</p></esi:otherwise>
    </esi:choose>
    <!--esi <p class="esi-note">This line is only shown where ESI is processed.</p> -->
    <esi:remove><p>This page was not processed by an ESI engine.</p></esi:remove>
    <ul>
    ${items}
    </ul>
  </section>
  <div data-slot="promo"><aside>Seasonal offers are loading…</aside></div>
</main>`,
  );
}
