/**
 * The debug view in the browser: outlines every fragment where it sits (the
 * assembler wraps each in `<!--tessera:KEY-->…<!--/tessera-->` comments, which
 * change neither layout nor styles), labels it, and shows a panel with the
 * waterfall, the route and the response headers. Everything lives in one
 * shadow root, styled by a constructed stylesheet, so the page's own CSS and
 * scripts neither touch it nor are touched by it.
 */
export const OVERLAY_SCRIPT = `(() => {
  const source = document.getElementById('tessera-debug-data');
  if (!source) return;
  const data = JSON.parse(source.textContent);
  const byKey = new Map(data.fragments.map((f) => [f.key, f]));
  const host = document.createElement('tessera-debug');
  host.style.setProperty('all', 'initial');
  host.style.setProperty('position', 'absolute');
  host.style.setProperty('top', '0');
  host.style.setProperty('left', '0');
  host.style.setProperty('z-index', '2147483647');
  const root = host.attachShadow({ mode: 'open' });
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(\`
    :host { all: initial; }
    .box { position: absolute; box-sizing: border-box; border: 2px solid var(--c); pointer-events: none; }
    .box.empty { border-style: dashed; }
    .tag { position: absolute; top: -2px; left: -2px; transform: translateY(-100%); background: var(--c); color: #fff;
      font: 600 11px/1.4 ui-monospace, Menlo, monospace; padding: 1px 5px; white-space: nowrap; border-radius: 3px 3px 0 0; }
    .panel { position: fixed; right: 12px; bottom: 12px; width: min(560px, calc(100vw - 24px)); max-height: 60vh; overflow: auto;
      background: #11181f; color: #e6edf3; font: 12px/1.45 ui-monospace, Menlo, monospace; border-radius: 8px;
      box-shadow: 0 6px 24px #0008; padding: 10px 12px; pointer-events: auto; }
    .note { background: #cf222e33; border-left: 3px solid #cf222e; padding: 3px 6px; margin: 4px 0; white-space: pre-wrap; }
    .panel h2 { font: 700 13px/1.4 system-ui, sans-serif; margin: 0 0 6px; }
    .row { display: grid; grid-template-columns: 150px 1fr 60px; gap: 6px; align-items: center; margin: 2px 0; }
    .name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
    .track { position: relative; height: 12px; background: #ffffff10; border-radius: 2px; }
    .seg { position: absolute; top: 0; height: 12px; border-radius: 2px; }
    .queued { background: repeating-linear-gradient(45deg, #8b949e55 0 4px, #8b949e22 4px 8px); }
    .ms { text-align: right; color: #8b949e; }
    details { margin-top: 6px; } summary { cursor: pointer; color: #8b949e; }
    pre { white-space: pre-wrap; word-break: break-all; margin: 4px 0; color: #c9d1d9; }
    .legend span { margin-right: 10px; } .dot { display: inline-block; width: 8px; height: 8px; border-radius: 50%; background: var(--c); margin-right: 3px; }
  \`);
  root.adoptedStyleSheets = [sheet];
  const colour = (f) => {
    if (!f || !f.source) return '#8b949e';
    if (f.source === 'src') return f.outcome === 'hit' ? '#2da44e' : f.outcome === 'stale' || f.outcome === 'revalidated' ? '#bf8700' : '#0969da';
    if (f.source === 'keep' || f.source === 'empty') return f.outcome === 'timeout' || f.outcome === 'error' || f.outcome === 'refused' ? '#cf222e' : '#8b949e';
    return '#d4670c';
  };
  const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; };
  const layer = el('div');
  root.append(layer);

  /** Every fragment's comment pair, innermost first. */
  const pairs = [];
  const walker = document.createTreeWalker(document.documentElement, NodeFilter.SHOW_COMMENT);
  const open = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.data;
    if (text.startsWith('tessera:')) open.push({ start: node, key: decodeURIComponent(text.slice(8)) });
    else if (text === '/tessera' && open.length) { const o = open.pop(); pairs.push({ ...o, end: node }); }
  }
  const draw = () => {
    layer.replaceChildren();
    for (const { start, end, key } of pairs) {
      const f = byKey.get(key);
      const range = document.createRange();
      range.setStartAfter(start);
      range.setEndBefore(end);
      let rect = range.getBoundingClientRect();
      const empty = rect.width === 0 && rect.height === 0;
      if (empty && start.parentElement) rect = start.parentElement.getBoundingClientRect();
      const box = el('div', empty ? 'box empty' : 'box');
      box.style.setProperty('--c', colour(f));
      box.style.left = rect.left + scrollX + 'px';
      box.style.top = rect.top + scrollY + 'px';
      box.style.width = Math.max(rect.width, 8) + 'px';
      box.style.height = Math.max(rect.height, 8) + 'px';
      box.dataset.fragment = f ? f.fragment : key;
      box.dataset.label = f ? f.label : 'unknown';
      const tag = el('div', 'tag', (f ? f.fragment + ' · ' + f.label + (f.durationMs !== undefined ? ' · ' + f.durationMs + 'ms' : '') : key));
      // A box at the very top of the page keeps its label inside, where it can be seen.
      if (rect.top + scrollY < 18) tag.style.transform = 'none';
      box.append(tag);
      layer.append(box);
    }
  };

  const panel = el('div', 'panel');
  panel.append(el('h2', '', 'Tessera · ' + data.path + ' · ' + data.totalMs + ' ms'));
  for (const note of data.notes || []) panel.append(el('div', 'note', note));
  panel.append(el('div', 'ms', 'route ' + data.route.name + ' (' + data.route.file + ') · trace ' + data.traceId));
  const legend = el('div', 'legend');
  for (const [name, c] of [['miss', '#0969da'], ['hit', '#2da44e'], ['stale', '#bf8700'], ['fallback', '#d4670c'], ['failed', '#cf222e'], ['queued', '#8b949e']]) {
    const s = el('span'); const d = el('span', 'dot'); d.style.setProperty('--c', c); s.append(d, name); legend.append(s);
  }
  panel.append(legend);
  const scale = Math.max(data.totalMs, 1);
  const addRow = (name, parts, ms, title) => {
    const row = el('div', 'row'); row.title = title || '';
    row.append(el('span', 'name', name));
    const track = el('div', 'track');
    for (const [from, to, c, cls] of parts) {
      const seg = el('div', 'seg' + (cls ? ' ' + cls : ''));
      seg.style.left = (from / scale) * 100 + '%';
      seg.style.width = Math.max(((to - from) / scale) * 100, 0.5) + '%';
      if (c) seg.style.background = c;
      track.append(seg);
    }
    row.append(track, el('span', 'ms', ms));
    panel.append(row);
  };
  addRow('origin', [[0, data.originMs, '#6e7781']], data.originMs + 'ms', 'origin response headers');
  for (const f of data.fragments) {
    const parts = [];
    const sent = f.sentAt !== undefined ? f.sentAt : f.startAt;
    if (f.queuedMs > 0) parts.push([sent - f.queuedMs, sent, '', 'queued']);
    parts.push([sent, f.endAt !== undefined ? f.endAt : data.totalMs, colour(f)]);
    addRow(f.fragment, parts, f.durationMs !== undefined ? f.durationMs + 'ms' : '…', f.label + (f.detail ? ' — ' + f.detail : ''));
  }
  const route = el('details'); route.append(el('summary', '', 'manifest route'), el('pre', '', JSON.stringify(data.route, null, 2)));
  const headers = el('details'); headers.append(el('summary', '', 'response headers'), el('pre', '', data.headers.map(([k, v]) => k + ': ' + v).join('\\n')));
  panel.append(route, headers);
  root.append(panel);

  const mount = () => { document.documentElement.append(host); draw(); };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', mount); else mount();
  addEventListener('load', draw);
  addEventListener('resize', draw);
})();`;
