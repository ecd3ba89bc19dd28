/**
 * The debug view in the browser: outlines every fragment where it sits (the
 * assembler wraps each in `<!--tessera:KEY-->…<!--/tessera-->` comments, which
 * change neither layout nor styles), labels it, and shows a panel with the
 * waterfall (on a time axis), each fragment's details, the route and the
 * response headers. Everything lives in one shadow root, styled by a
 * constructed stylesheet, so the page's own CSS and scripts neither touch it
 * nor are touched by it.
 *
 * The outlines follow layout: they are fixed boxes in viewport coordinates,
 * measured again in an animation frame after anything that can move a
 * fragment (a scroll in any scroller, a resize, a DOM or attribute change, a
 * transition or animation, an element's size), and for a short while after
 * it, so a header that collapses with a transition is followed to its end.
 * Sticky and fixed elements are measured where they are, like any other.
 *
 * The panel can be minimised to its title bar or closed to a small button;
 * the choice is kept in sessionStorage for the tab. It fits any viewport
 * width (420 px included) and scrolls inside itself.
 *
 * Written without backticks, `${` or backslashes, so the template literal keeps it as it is.
 */
export const OVERLAY_SCRIPT = `(() => {
  const source = document.getElementById('tessera-debug-data');
  if (!source) return;
  const data = JSON.parse(source.textContent);
  const byKey = new Map(data.fragments.map((f) => [f.key, f]));
  const host = document.createElement('tessera-debug');
  for (const [k, v] of [['all', 'initial'], ['position', 'fixed'], ['top', '0'], ['left', '0'], ['width', '0'], ['height', '0'], ['z-index', '2147483647']]) host.style.setProperty(k, v, 'important');
  const root = host.attachShadow({ mode: 'open' });
  const sheet = new CSSStyleSheet();
  sheet.replaceSync([
    ':host { all: initial; }',
    '.box { position: fixed; box-sizing: border-box; border: 2px solid var(--c); pointer-events: none; }',
    '.box.empty { border-style: dashed; } .box.hot { box-shadow: 0 0 0 3px var(--c), 0 0 0 9999px #0003; }',
    '.hide .box { display: none; }',
    '.tag { position: absolute; top: -2px; left: -2px; transform: translateY(-100%); background: var(--c); color: #fff; font: 600 11px/1.4 ui-monospace, Menlo, monospace; padding: 1px 5px; white-space: nowrap; border-radius: 3px 3px 0 0; max-width: 80vw; overflow: hidden; text-overflow: ellipsis; }',
    '.tag.in { transform: none; }',
    '.panel { position: fixed; right: 8px; bottom: 8px; box-sizing: border-box; width: min(640px, calc(100vw - 16px)); max-height: min(70vh, 560px); display: flex; flex-direction: column; background: #11181f; color: #e6edf3; font: 12px/1.45 ui-monospace, Menlo, monospace; border-radius: 8px; box-shadow: 0 6px 24px #0008; pointer-events: auto; overflow: hidden; }',
    '.bar { display: flex; align-items: center; gap: 6px; padding: 6px 8px 6px 12px; border-bottom: 1px solid #ffffff1a; }',
    '.bar h2 { flex: 1; min-width: 0; font: 700 13px/1.4 system-ui, sans-serif; margin: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }',
    'button { font: inherit; color: inherit; background: #ffffff14; border: 0; border-radius: 4px; padding: 2px 8px; cursor: pointer; }',
    'button:hover { background: #ffffff2a; }',
    '.body { overflow: auto; padding: 8px 12px 10px; min-width: 0; }',
    '.min .body { display: none; } .min { width: auto; max-width: calc(100vw - 16px); }',
    '.closed .panel { display: none; } .open { display: none; position: fixed; right: 8px; bottom: 8px; pointer-events: auto; background: #11181f; box-shadow: 0 2px 8px #0008; }',
    '.closed .open { display: block; }',
    '.note { background: #cf222e33; border-left: 3px solid #cf222e; padding: 3px 6px; margin: 0 0 6px; overflow-wrap: anywhere; }',
    '.ms { color: #8b949e; overflow-wrap: anywhere; }',
    '.row { display: grid; grid-template-columns: minmax(56px, 25%) minmax(0, 1fr) 48px; gap: 6px; align-items: center; margin: 2px 0; }',
    'summary.row { cursor: pointer; list-style: none; } summary.row::-webkit-details-marker { display: none; }',
    '.name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }',
    '.track { position: relative; height: 12px; background: #ffffff0d linear-gradient(to right, #ffffff26 1px, transparent 1px) 0 0 / var(--tick) 100%; border-radius: 2px; }',
    '.seg { position: absolute; top: 0; height: 12px; border-radius: 2px; }',
    '.queued { background: repeating-linear-gradient(45deg, #8b949e55 0 4px, #8b949e22 4px 8px); }',
    '.axis { margin-bottom: 4px; } .axis .track { background: none; height: 14px; } .tick { position: absolute; top: 0; transform: translateX(-50%); color: #8b949e; font-size: 10px; }',
    '.tick.last { transform: translateX(-100%); } .tick.first { transform: none; }',
    '.r { text-align: right; }',
    'dl { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 1px 10px; margin: 2px 0 8px 12px; padding: 4px 8px; border-left: 2px solid var(--c); }',
    'dt { color: #8b949e; } dd { margin: 0; overflow-wrap: anywhere; }',
    'details.more { margin-top: 6px; } details.more > summary { cursor: pointer; color: #8b949e; }',
    'pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: 4px 0; color: #c9d1d9; }',
    '.legend { display: flex; flex-wrap: wrap; gap: 2px 10px; margin: 4px 0; } .dot { display: inline-block; width: 8px; height: 8px; border-radius: 50%; background: var(--c); margin-right: 3px; }',
  ].join(' '));
  root.adoptedStyleSheets = [sheet];
  const colour = (f) => {
    if (!f || !f.source) return '#8b949e';
    if (f.source === 'src') return f.outcome === 'hit' ? '#2da44e' : f.outcome === 'stale' || f.outcome === 'revalidated' ? '#bf8700' : '#0969da';
    if (f.source === 'keep' || f.source === 'empty') return f.outcome === 'timeout' || f.outcome === 'error' || f.outcome === 'refused' ? '#cf222e' : '#8b949e';
    return '#d4670c';
  };
  const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; };
  const ms = (n) => (n === undefined ? '…' : Math.round(n) + ' ms');
  const wrap = el('div');
  // The outlines sit under the panel.
  const layer = el('div');
  wrap.append(layer);
  root.append(wrap);

  // The outlines: one box per comment pair, innermost first, found again whenever the DOM changes.
  let boxes = [];
  const collect = () => {
    const pairs = [];
    const open = [];
    const walker = document.createTreeWalker(document.documentElement, NodeFilter.SHOW_COMMENT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.data;
      if (text.startsWith('tessera:')) open.push({ start: node, key: decodeURIComponent(text.slice(8)) });
      else if (text === '/tessera' && open.length) pairs.push({ ...open.pop(), end: node });
    }
    for (const b of boxes) b.box.remove();
    boxes = pairs.map((pair) => {
      const f = byKey.get(pair.key);
      const box = el('div', 'box');
      box.style.setProperty('--c', colour(f));
      box.dataset.key = pair.key;
      box.dataset.fragment = f ? f.fragment : pair.key;
      box.dataset.label = f ? f.label : 'unknown';
      const tag = el('div', 'tag', f ? f.fragment + (f.experiment ? ' · arm ' + f.experiment.arm : '') + ' · ' + f.label + (f.durationMs !== undefined ? ' · ' + f.durationMs + 'ms' : '') : pair.key);
      box.append(tag);
      layer.append(box);
      for (let n = pair.start.nextSibling; n && n !== pair.end; n = n.nextSibling) if (n.nodeType === 1) sizes.observe(n);
      if (pair.start.parentElement) sizes.observe(pair.start.parentElement);
      return { ...pair, box, tag, last: '' };
    });
  };
  const range = document.createRange();
  const place = () => {
    for (const b of boxes) {
      if (!b.start.isConnected || !b.end.isConnected) continue;
      range.setStartAfter(b.start);
      range.setEndBefore(b.end);
      let rect = range.getBoundingClientRect();
      const empty = rect.width === 0 && rect.height === 0;
      if (empty && b.start.parentElement) rect = b.start.parentElement.getBoundingClientRect();
      const at = [rect.left, rect.top, Math.max(rect.width, 8), Math.max(rect.height, 8), empty].join();
      if (at === b.last) continue;
      b.last = at;
      b.box.classList.toggle('empty', empty);
      b.box.style.left = rect.left + 'px';
      b.box.style.top = rect.top + 'px';
      b.box.style.width = Math.max(rect.width, 8) + 'px';
      b.box.style.height = Math.max(rect.height, 8) + 'px';
      // A box at the top of the viewport keeps its label inside, where it can be seen.
      b.tag.classList.toggle('in', rect.top < 18);
    }
  };
  let frame = 0;
  let until = 0;
  const tick = () => { frame = 0; place(); if (performance.now() < until) frame = requestAnimationFrame(tick); };
  const schedule = () => { until = performance.now() + 500; if (!frame) frame = requestAnimationFrame(tick); };
  const sizes = new ResizeObserver(schedule);
  const changes = new MutationObserver((records) => {
    if (records.some((r) => r.type === 'childList' && r.target !== document.documentElement)) collect();
    schedule();
  });

  // The panel: a title bar (outlines on or off, minimise, close) over the notes, the waterfall and the details.
  const STATE = 'tessera-debug-panel';
  const saved = (() => { try { return JSON.parse(sessionStorage.getItem(STATE)) || {}; } catch { return {}; } })();
  const state = { view: saved.view || 'open', outlines: saved.outlines !== false };
  const apply = () => {
    wrap.className = (state.view === 'closed' ? 'closed' : '') + (state.outlines ? '' : ' hide');
    panel.classList.toggle('min', state.view === 'min');
    minimise.textContent = state.view === 'min' ? '▴' : '▾';
    minimise.title = state.view === 'min' ? 'Expand' : 'Minimise';
    outlines.textContent = state.outlines ? 'outlines on' : 'outlines off';
    try { sessionStorage.setItem(STATE, JSON.stringify(state)); } catch {}
  };
  const set = (change) => { Object.assign(state, change); apply(); };
  const panel = el('div', 'panel');
  panel.setAttribute('role', 'dialog');
  panel.setAttribute('aria-label', 'Tessera debug view');
  const bar = el('div', 'bar');
  const outlines = el('button', 'outlines');
  outlines.onclick = () => set({ outlines: !state.outlines });
  const minimise = el('button', 'minimise');
  minimise.onclick = () => set({ view: state.view === 'min' ? 'open' : 'min' });
  const close = el('button', 'close', '×');
  close.title = 'Close';
  close.setAttribute('aria-label', 'Close');
  close.onclick = () => set({ view: 'closed' });
  bar.append(el('h2', '', 'Tessera · ' + data.path + ' · ' + data.totalMs + ' ms'), outlines, minimise, close);
  const body = el('div', 'body');
  panel.append(bar, body);
  const reopen = el('button', 'open', 'Tessera');
  reopen.title = 'Open the Tessera debug view';
  reopen.onclick = () => set({ view: 'open' });
  wrap.append(panel, reopen);

  for (const note of data.notes || []) body.append(el('div', 'note', note));
  body.append(el('div', 'ms', 'route ' + data.route.name + ' (' + data.route.file + ') · trace ' + data.traceId));
  const legend = el('div', 'legend');
  for (const [name, c] of [['miss', '#0969da'], ['hit', '#2da44e'], ['stale', '#bf8700'], ['fallback', '#d4670c'], ['failed', '#cf222e'], ['queued', '#8b949e']]) {
    const s = el('span'); const d = el('span', 'dot'); d.style.setProperty('--c', c); s.append(d, name); legend.append(s);
  }
  body.append(legend);

  // The waterfall, on a time axis: ticks every 1, 2 or 5 × 10^n ms, four to ten of them.
  const scale = Math.max(data.totalMs, data.originMs, ...data.fragments.map((f) => f.endAt || 0), 1);
  let step = Math.pow(10, Math.floor(Math.log10(scale)));
  while (scale / step < 4) step /= String(step).replace(/^[0.]+/, '').startsWith('5') ? 2.5 : 2;
  body.style.setProperty('--tick', (step / scale) * 100 + '%');
  const axis = el('div', 'row axis');
  const ticks = el('div', 'track');
  const count = Math.floor(scale / step + 1e-9);
  for (let i = 0; i <= count; i++) {
    const t = el('span', 'tick' + (i === 0 ? ' first' : i === count && (i * step) / scale > 0.9 ? ' last' : ''), Math.round(i * step * 100) / 100 + '');
    t.style.left = ((i * step) / scale) * 100 + '%';
    ticks.append(t);
  }
  axis.append(el('span', 'name ms', 'ms'), ticks, el('span', 'ms r', ''));
  body.append(axis);
  const row = (tag, name, parts, time) => {
    const r = el(tag, 'row');
    r.append(el('span', 'name', name));
    const track = el('div', 'track');
    for (const [from, to, c, cls] of parts) {
      const seg = el('div', 'seg' + (cls ? ' ' + cls : ''));
      seg.style.left = (from / scale) * 100 + '%';
      seg.style.width = Math.max(((to - from) / scale) * 100, 0.5) + '%';
      if (c) seg.style.background = c;
      track.append(seg);
    }
    r.append(track, el('span', 'ms r', time));
    return r;
  };
  const origin = row('div', 'origin', [[0, data.originMs, '#6e7781']], data.originState ? ms(data.originMs) + ' ' + data.originState : ms(data.originMs));
  origin.title = data.originState ? 'the page came from the page cache: ' + data.originState : 'origin response headers';
  body.append(origin);

  // Each fragment: its row, and under it what someone debugging it asks first.
  const size = (n) => (n < 1024 ? n + ' B' : (n / 1024).toFixed(1) + ' KiB');
  const ttl = (n) => (n % 60000 === 0 && n > 0 ? n / 60000 + ' min' : n / 1000 + ' s');
  for (const f of data.fragments) {
    const sent = f.sentAt !== undefined ? f.sentAt : f.startAt;
    const parts = [];
    if (f.queuedMs > 0) parts.push([sent - f.queuedMs, sent, '', 'queued']);
    parts.push([sent, f.endAt !== undefined ? f.endAt : scale, colour(f)]);
    const item = el('details', 'fragment');
    item.style.setProperty('--c', colour(f));
    const summary = row('summary', f.fragment, parts, ms(f.durationMs));
    if (f.experiment) summary.querySelector('.name').title = f.experiment.name + ': arm ' + f.experiment.arm;
    summary.title = f.label + (f.detail ? ' — ' + f.detail : '');
    const facts = el('dl');
    const fact = (k, v) => { if (v !== undefined && v !== '') facts.append(el('dt', '', k), el('dd', '', v)); };
    fact('result', f.label + (f.detail ? ' — ' + f.detail : ''));
    if (f.experiment) fact('experiment', f.experiment.name + ': arm ' + f.experiment.arm + ' · ' + f.experiment.assigned + ' · ' + f.experiment.exposure);
    f.requests.forEach((r, i) => fact(i === 0 ? 'url' : 'then', r.url + (r.status !== undefined ? ' → ' + r.status : ' → no answer')));
    if (!f.requests.length && f.source === 'src') fact('url', 'none: served from the fragment cache');
    fact('bytes', f.bytes === undefined ? (f.source === 'keep' ? 'the marker’s own content' : undefined) : size(f.bytes));
    const cache = f.ttlMs > 0 ? (f.outcome === 'hit' || f.outcome === 'stale' || f.outcome === 'revalidated' ? f.outcome : f.notStored ? 'not stored: ' + f.notStored : f.outcome === 'miss' ? 'miss, stored' : 'not stored: it failed') + ' · ttl ' + ttl(f.ttlMs) : 'not cached: no ttl';
    fact('cache', cache);
    (f.assets || []).forEach((a, i) => fact(i === 0 ? 'assets' : '', a.rel + ' ' + (a.href || '(Link header)') + ' · from ' + (a.from === 'link' ? 'its Link header' : a.from === 'manifest' ? 'the manifest' : 'its markup') + ' · ' + (a.state === 'placed' ? 'placed' : a.state === 'duplicate' ? 'left out: ' + (a.by === 'page' ? 'the page has it' : a.by + ' placed it first') : 'refused: ' + a.note)));
    fact('placement', f.placement === 'out-of-order' ? 'out of order when not ready in time' + (f.placeholder ? ', placeholder declared' : ', the marker’s content holds its place') : 'in order');
    fact('timing', 'start ' + ms(f.startAt) + (f.queuedMs ? ' · queued ' + ms(f.queuedMs) : '') + (f.sentAt !== undefined ? ' · sent ' + ms(f.sentAt) : '') + (f.responseAt !== undefined ? ' · headers ' + ms(f.responseAt) : '') + ' · end ' + ms(f.endAt));
    fact('key', f.key);
    item.append(summary, facts);
    item.addEventListener('mouseenter', () => { for (const b of boxes) b.box.classList.toggle('hot', b.key === f.key); });
    item.addEventListener('mouseleave', () => { for (const b of boxes) b.box.classList.remove('hot'); });
    body.append(item);
  }
  const route = el('details', 'more'); route.append(el('summary', '', 'manifest route'), el('pre', '', JSON.stringify(data.route, null, 2)));
  const headers = el('details', 'more'); headers.append(el('summary', '', 'response headers'), el('pre', '', data.headers.map(([k, v]) => k + ': ' + v).join(String.fromCharCode(10))));
  body.append(route, headers);
  apply();

  const mount = () => {
    document.documentElement.append(host);
    collect();
    place();
    sizes.observe(document.documentElement);
    changes.observe(document.documentElement, { subtree: true, childList: true, attributes: true, characterData: true });
    addEventListener('scroll', schedule, { capture: true, passive: true });
    addEventListener('resize', schedule);
    for (const type of ['transitionrun', 'transitionend', 'animationstart', 'animationend', 'load']) addEventListener(type, schedule, true);
    if (document.fonts) document.fonts.ready.then(schedule);
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', mount); else mount();
})();`;
