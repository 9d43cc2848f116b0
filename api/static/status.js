// The status page's updates: every few seconds the rows are filled again from GET zones, the
// way the server rendered them, and each "Force transfer" button POSTs force_axfr.
'use strict';
(function () {
  const tbody = document.querySelector('#zones tbody');
  const banner = document.getElementById('banner');
  const summaryLine = document.getElementById('summary');
  let skew = 0; // the server's clock minus ours, in ms, from the Date header
  let timer = null;
  let interval = 2000;

  function human(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    if (s < 60) return s + 's';
    if (s < 3600) return Math.floor(s / 60) + 'm ' + (s % 60) + 's';
    if (s < 86400) return Math.floor(s / 3600) + 'h ' + Math.floor((s % 3600) / 60) + 'm';
    return Math.floor(s / 86400) + 'd ' + Math.floor((s % 86400) / 3600) + 'h';
  }
  function since(iso) {
    return (Date.now() + skew - Date.parse(iso)) / 1000;
  }
  function ago(iso) {
    return iso ? human(since(iso)) + ' ago' : 'never';
  }
  function size(n) {
    if (n < 1e3) return n + ' B';
    if (n < 1e6) return (n / 1e3).toFixed(1) + ' kB';
    if (n < 1e9) return (n / 1e6).toFixed(1) + ' MB';
    return (n / 1e9).toFixed(1) + ' GB';
  }
  function expiresIn(z) {
    if (z.state === 'expired') return 'expired';
    if (z.expires_in_seconds === null) return '—';
    return human(z.expires_in_seconds);
  }
  function transferText(t) {
    if (!t) return 'none yet';
    const took = t.duration_seconds < 1 ? Math.round(t.duration_seconds * 1000) + ' ms' : t.duration_seconds.toFixed(2) + 's';
    return t.type.toUpperCase() + ', ' + size(t.size_bytes) + ' in ' + took + ', ' + ago(t.time);
  }
  function peerTitle(p) {
    const parts = [];
    if (p.tsig_id) parts.push('TSIG ' + p.tsig_id);
    if (p.ixfr_enable) parts.push('IXFR');
    if (p.last_ok_time) parts.push('last answered ' + ago(p.last_ok_time));
    if (p.failures > 0) parts.push(p.failures + ' failures in a row, last: ' + p.last_error);
    return parts.join('; ');
  }
  function cell(tr, cls) {
    return tr.querySelector('td.' + cls);
  }
  function text(node, value) {
    if (node.textContent !== value) node.textContent = value;
  }

  // newRow builds an empty row with the cells of the server's template.
  function newRow(name) {
    const tr = document.createElement('tr');
    tr.dataset.zone = name;
    for (const cls of ['zone', 'serial', 'state', 'records', 'checked', 'expires', 'peers', 'transfer', 'actions']) {
      const td = document.createElement('td');
      td.className = cls;
      tr.appendChild(td);
    }
    cell(tr, 'zone').textContent = name;
    const badge = document.createElement('span');
    const err = document.createElement('div');
    err.className = 'error';
    cell(tr, 'state').append(badge, err);
    cell(tr, 'peers').appendChild(document.createElement('ul'));
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'force';
    button.textContent = 'Force transfer';
    const result = document.createElement('span');
    result.className = 'result';
    result.setAttribute('role', 'status');
    cell(tr, 'actions').append(button, ' ', result);
    return tr;
  }

  // fill writes a zone's status into its row.
  function fill(tr, z) {
    text(cell(tr, 'serial'), z.state === 'loading' ? '—' : String(z.soa_serial));
    const badge = cell(tr, 'state').querySelector('.badge');
    badge.className = 'badge state-' + z.state;
    text(badge, z.state);
    text(cell(tr, 'state').querySelector('.error'), z.last_error);
    text(cell(tr, 'records'), String(z.records));
    // The last time a primary answered: an SOA check, or the transfer that loaded the zone.
    let last = z.checked_time;
    if (z.last_success_time && (!last || Date.parse(z.last_success_time) > Date.parse(last))) last = z.last_success_time;
    const checked = cell(tr, 'checked');
    checked.dataset.time = last || '';
    text(checked, ago(last));
    text(cell(tr, 'expires'), expiresIn(z));
    const ul = cell(tr, 'peers').querySelector('ul');
    const items = z.peer_health.map(function (p) {
      const li = document.createElement('li');
      li.className = 'peer peer-' + p.status;
      li.title = peerTitle(p);
      const st = document.createElement('span');
      st.className = 'peer-status';
      st.textContent = p.status;
      li.append(p.id + ' ', st);
      return li;
    });
    ul.replaceChildren(...items);
    const transfer = cell(tr, 'transfer');
    const time = z.last_transfer ? z.last_transfer.time : '';
    const result = tr.querySelector('.result');
    if (result.dataset.before !== undefined && time !== result.dataset.before) {
      result.textContent = 'transferred';
      delete result.dataset.before;
    }
    if (result.dataset.before !== undefined && z.last_error && z.last_error !== result.dataset.error) {
      result.textContent = 'failed';
      delete result.dataset.before;
    }
    transfer.dataset.time = time;
    transfer.title = z.last_transfer ? 'serial ' + z.last_transfer.serial + ', ' + z.last_transfer.records + ' records from ' + z.last_transfer.peer : '';
    text(transfer, transferText(z.last_transfer));
  }

  function summarize(zones) {
    const counts = {};
    for (const z of zones) counts[z.state] = (counts[z.state] || 0) + 1;
    const parts = ['fresh', 'retrying', 'expired', 'loading'].filter(s => counts[s]).map(s => counts[s] + ' ' + s);
    const head = zones.length + (zones.length === 1 ? ' zone' : ' zones');
    return parts.length ? head + ': ' + parts.join(', ') : head;
  }

  function update(zones) {
    const rows = new Map();
    for (const tr of tbody.querySelectorAll('tr[data-zone]')) rows.set(tr.dataset.zone, tr);
    const empty = tbody.querySelector('tr.empty');
    if (empty && zones.length) empty.remove();
    zones.forEach(function (z, i) {
      let tr = rows.get(z.name);
      if (!tr) tr = newRow(z.name);
      rows.delete(z.name);
      fill(tr, z);
      if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] || null);
    });
    for (const tr of rows.values()) tr.remove();
    text(summaryLine, summarize(zones));
    // Big tables are fetched less often: a second per thousand zones, two at least.
    interval = Math.max(2000, zones.length);
  }

  function showError(msg) {
    banner.textContent = msg;
    banner.hidden = false;
  }

  async function refresh() {
    clearTimeout(timer);
    try {
      const resp = await fetch('zones', { cache: 'no-store', credentials: 'same-origin', headers: { Accept: 'application/json' } });
      if (resp.status === 401) {
        location.reload(); // the token changed: back to the sign-in page
        return;
      }
      const body = await resp.json();
      if (!body.success) throw new Error(body.errors.map(e => e.message).join('; '));
      const date = resp.headers.get('Date');
      if (date) skew = Date.parse(date) - Date.now();
      update(body.result);
      banner.hidden = true;
    } catch (err) {
      showError('Cannot read the zones: ' + err.message);
    } finally {
      timer = setTimeout(refresh, document.hidden ? 4 * interval : interval);
    }
  }

  async function force(tr, button) {
    const result = tr.querySelector('.result');
    const name = tr.dataset.zone;
    button.disabled = true;
    result.textContent = 'requesting…';
    try {
      const resp = await fetch('zones/' + encodeURIComponent(name) + '/secondary_dns/force_axfr', {
        method: 'POST', credentials: 'same-origin', headers: { Accept: 'application/json' },
      });
      const body = await resp.json();
      if (!body.success) throw new Error(body.errors.map(e => e.message).join('; '));
      result.dataset.before = cell(tr, 'transfer').dataset.time || '';
      result.dataset.error = tr.querySelector('.state .error').textContent;
      result.textContent = 'transfer requested';
    } catch (err) {
      result.textContent = 'failed: ' + err.message;
    } finally {
      setTimeout(function () { button.disabled = false; }, 1000);
    }
    setTimeout(refresh, 300);
  }

  tbody.addEventListener('click', function (ev) {
    const button = ev.target.closest('button.force');
    if (button) force(button.closest('tr'), button);
  });
  document.addEventListener('visibilitychange', function () {
    if (!document.hidden) refresh();
  });
  refresh();
})();
