// The local dashboard page: plain DOM, no framework, no CDN. Every value from the API is untrusted (tool
// descriptions and evidence come from MCP servers), so text is only ever set with textContent.
'use strict';

const SEVERITIES = ['critical', 'high', 'medium', 'low', 'informational'];
const token = new URLSearchParams(location.hash.slice(1)).get('token');

async function api(path) {
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  const response = await fetch(path, { headers });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === 'class') node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function severityChip(severity) {
  return el('span', { class: `sev ${SEVERITIES.includes(severity) ? severity : 'informational'}` }, severity);
}

function shortTime(iso) {
  return iso.replace('T', ' ').slice(0, 19);
}

function oneLine(value) {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 160 ? `${text.slice(0, 157)}…` : text;
}

function renderTotals(summary) {
  const totals = document.getElementById('totals');
  totals.replaceChildren(
    el('span', {}, el('strong', {}, summary.alerts), ' alerts'),
    el('span', {}, el('strong', {}, summary.events), ' events'),
    el('span', {}, el('strong', {}, summary.sessions), ' sessions'),
    el('span', {}, el('strong', {}, summary.servers.length), ' servers'),
  );
}

function renderCounts(summary) {
  document
    .getElementById('severity-counts')
    .replaceChildren(
      ...SEVERITIES.filter((severity) => summary.bySeverity[severity]).map((severity) =>
        el('span', {}, severityChip(severity), ` ${summary.bySeverity[severity]}`),
      ),
    );
  const rows = Object.entries(summary.byRule)
    .sort(([, a], [, b]) => b - a)
    .map(([rule, count]) => el('tr', {}, el('td', { class: 'mono' }, rule), el('td', { class: 'num' }, count)));
  document.querySelector('#rule-counts tbody').replaceChildren(...rows);
  const select = document.querySelector('#filters select[name=rule]');
  const chosen = select.value;
  select.replaceChildren(
    el('option', { value: '' }, 'all'),
    ...Object.keys(summary.byRule)
      .sort()
      .map((rule) => el('option', { value: rule }, rule)),
  );
  select.value = chosen;
}

function renderTimeline(summary) {
  const svg = document.getElementById('timeline');
  const width = svg.clientWidth || 800;
  const height = 180;
  const pad = { left: 32, right: 8, top: 8, bottom: 24 };
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  const ns = 'http://www.w3.org/2000/svg';
  const node = (tag, attributes) => {
    const element = document.createElementNS(ns, tag);
    for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
    return element;
  };
  const points = summary.timeline;
  if (points.length === 0) {
    const empty = node('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle' });
    empty.textContent = 'No alerts yet';
    svg.replaceChildren(empty);
    return;
  }
  const max = Math.max(...points.map((point) => point.count));
  const barWidth = Math.max(4, Math.min(40, (width - pad.left - pad.right) / points.length - 4));
  const children = [];
  points.forEach((point, index) => {
    const x = pad.left + index * (barWidth + 4);
    const barHeight = ((height - pad.top - pad.bottom) * point.count) / max;
    const bar = node('rect', {
      x,
      y: height - pad.bottom - barHeight,
      width: barWidth,
      height: barHeight,
      class: 'bar',
      rx: 2,
    });
    const title = document.createElementNS(ns, 'title');
    title.textContent = `${point.minute}: ${point.count} alerts`;
    bar.append(title);
    children.push(bar);
    if (index === 0 || index === points.length - 1) {
      const label = node('text', { x, y: height - 6 });
      label.textContent = point.minute.slice(11);
      children.push(label);
    }
  });
  const top = node('text', { x: 4, y: pad.top + 10 });
  top.textContent = String(max);
  children.push(top);
  svg.replaceChildren(...children);
}

async function renderAlerts() {
  const form = new FormData(document.getElementById('filters'));
  const query = new URLSearchParams([...form].filter(([, value]) => value !== ''));
  const alerts = await api(`/api/alerts?${query}`);
  const rows = alerts.map((alert) =>
    el(
      'tr',
      { 'data-rule': alert.ruleId },
      el('td', { class: 'mono' }, shortTime(alert.time)),
      el('td', {}, severityChip(alert.severity)),
      el('td', { class: 'mono' }, alert.ruleId),
      el('td', {}, alert.title, alert.count > 1 ? ` ×${alert.count}` : ''),
      el(
        'td',
        { class: 'entities' },
        ...Object.entries(alert.entities).map(([name, value]) =>
          el('span', {}, `${name} `, el('b', {}, oneLine(value))),
        ),
      ),
      el('td', { class: 'evidence mono' }, oneLine(alert.evidence)),
      el('td', {}, el('button', { type: 'button', class: 'open-detail', 'data-alert-id': alert.alertId }, 'Details')),
    ),
  );
  const body = document.querySelector('#alerts tbody');
  body.replaceChildren(
    ...(rows.length > 0 ? rows : [el('tr', {}, el('td', { colspan: 7, class: 'empty' }, 'No alerts match.'))]),
  );
}

/** A value of the evidence: scalars as text, anything nested as indented JSON. */
function evidenceValue(value) {
  if (value === null || typeof value !== 'object') return el('span', { class: 'mono' }, String(value));
  return el('pre', { class: 'mono' }, JSON.stringify(value, null, 2));
}

function kqlBlock(title, kql) {
  return el('div', { class: 'kql-pivot' }, el('h4', {}, title), el('pre', { class: 'mono' }, kql));
}

async function showAlertDetail(alertId) {
  const detail = await api(`/api/alerts/${encodeURIComponent(alertId)}`);
  const { alert, events, missingEventIds, kql } = detail;
  const entities = el(
    'dl',
    { class: 'entities-list' },
    ...Object.entries(alert.entities).flatMap(([name, value]) => [
      el('dt', {}, name),
      el('dd', { class: 'mono' }, value),
    ]),
  );
  const evidence = el(
    'table',
    { class: 'evidence-table' },
    el(
      'tbody',
      {},
      ...Object.entries(alert.evidence).map(([name, value]) =>
        el('tr', {}, el('th', {}, name), el('td', {}, evidenceValue(value))),
      ),
    ),
  );
  const eventRows = events.map((event) =>
    el(
      'tr',
      {},
      el('td', { class: 'mono' }, shortTime(event.time)),
      el('td', {}, event.kind),
      el('td', { class: 'mono' }, [event.method, event.tool].filter(Boolean).join(' ') || event.action || ''),
      el('td', { class: 'mono' }, (event.sessionId ?? '').slice(0, 18)),
      el('td', { class: 'mono' }, (event.principal?.id ?? '').slice(0, 28)),
      el('td', {}, event.outcome ?? ''),
    ),
  );
  const linked = el(
    'table',
    { class: 'linked-events' },
    el(
      'thead',
      {},
      el('tr', {}, ...['Time', 'Kind', 'What', 'Session', 'Principal', 'Outcome'].map((h) => el('th', {}, h))),
    ),
    el('tbody', {}, ...eventRows),
  );
  const panel = document.getElementById('alert-detail');
  panel.replaceChildren(
    el(
      'div',
      { class: 'detail-head' },
      severityChip(alert.severity),
      el('h3', {}, alert.title),
      el('button', { type: 'button', class: 'close-detail' }, 'Close'),
    ),
    el('p', { class: 'mono' }, `${alert.ruleId} v${alert.ruleVersion} · ${shortTime(alert.time)} · ${alert.alertId}`),
    el('p', {}, alert.description),
    el('p', { class: 'tags mono' }, [...(alert.owasp ?? []), ...(alert.attack ?? [])].join(' · ')),
    el('h4', {}, 'Entities'),
    entities,
    el('h4', {}, 'Evidence'),
    evidence,
    el(
      'h4',
      {},
      `Linked events (${events.length}${missingEventIds.length > 0 ? `, ${missingEventIds.length} no longer held here` : ''})`,
    ),
    events.length > 0
      ? linked
      : el('p', { class: 'empty' }, 'None of the linked events is held by the local dashboard.'),
    el('h4', {}, 'Pivot in Microsoft Sentinel'),
    kqlBlock('This alert', kql.alert),
    kqlBlock('Its events', kql.events),
    ...(kql.entities ? [kqlBlock('Activity of its entities', kql.entities)] : []),
  );
  panel.hidden = false;
  panel.dataset.alertId = alertId;
  panel.scrollIntoView({ block: 'start' });
}

async function renderSessions() {
  const sessions = await api('/api/sessions');
  const rows = sessions.map((session) =>
    el(
      'tr',
      {},
      el('td', { class: 'mono' }, session.sessionId.slice(0, 18)),
      el('td', {}, session.server),
      el(
        'td',
        { class: session.principals.length > 1 ? 'mono multi' : 'mono' },
        session.principals.map((id) => id.slice(0, 28)).join(', '),
      ),
      el('td', {}, session.clients.join(', ')),
      el('td', { class: 'num' }, session.calls),
      el('td', { class: 'mono' }, shortTime(session.lastSeen)),
    ),
  );
  document.querySelector('#sessions tbody').replaceChildren(...rows);
}

function renderDiff(before, after, rows) {
  const grid = el(
    'div',
    { class: 'diff' },
    el('div', { class: 'head' }, `before · ${shortTime(before.time)} · ${before.hash.slice(0, 19)}`),
    el('div', { class: 'head' }, `after · ${shortTime(after.time)} · ${after.hash.slice(0, 19)}`),
  );
  for (const row of rows) {
    const leftClass = row.change === 'changed' ? 'changed-left' : row.change === 'removed' ? 'removed' : '';
    const rightClass = row.change === 'changed' ? 'changed-right' : row.change === 'added' ? 'added' : '';
    grid.append(el('div', { class: leftClass }, row.left ?? ''), el('div', { class: rightClass }, row.right ?? ''));
  }
  return grid;
}

async function renderCatalog() {
  const catalog = await api('/api/catalog');
  const items = catalog.map((entry) => {
    const drifted = entry.versions.length > 1;
    const details = el(
      'details',
      { class: 'tool', 'data-tool': `${entry.server}/${entry.tool}` },
      el(
        'summary',
        {},
        el('span', { class: 'mono' }, `${entry.server} / ${entry.tool}`),
        drifted ? el('span', { class: 'drift' }, `  changed ${entry.versions.length - 1}×`) : '',
      ),
    );
    if (drifted) {
      details.open = true;
      entry.diffs.forEach((rows, index) =>
        details.append(renderDiff(entry.versions[index], entry.versions[index + 1], rows)),
      );
    } else {
      details.append(el('pre', { class: 'mono' }, JSON.stringify(entry.versions[0].definition, null, 2)));
    }
    return details;
  });
  document
    .getElementById('catalog')
    .replaceChildren(...(items.length > 0 ? items : [el('p', { class: 'empty' }, 'No tool catalog seen yet.')]));
}

async function renderKql() {
  const kql = await api('/api/kql');
  for (const pre of document.querySelectorAll('pre[data-kql]')) pre.textContent = kql[pre.dataset.kql] ?? '';
}

async function refresh() {
  try {
    const summary = await api('/api/summary');
    renderTotals(summary);
    renderCounts(summary);
    renderTimeline(summary);
    await Promise.all([renderAlerts(), renderSessions(), renderCatalog()]);
    document.body.dataset.loaded = 'true';
  } catch (error) {
    document.getElementById('totals').textContent = `Dashboard API unavailable: ${error.message}`;
  }
}

document.getElementById('filters').addEventListener('input', () => void renderAlerts());
document.querySelector('#alerts tbody').addEventListener('click', (event) => {
  const button = event.target.closest('button.open-detail');
  if (button) void showAlertDetail(button.dataset.alertId).catch((error) => console.error(error));
});
document.getElementById('alert-detail').addEventListener('click', (event) => {
  if (event.target.closest('button.close-detail')) event.currentTarget.hidden = true;
});
document.getElementById('filters').addEventListener('submit', (event) => event.preventDefault());
void renderKql();
void refresh();
setInterval(() => void refresh(), 3000);
