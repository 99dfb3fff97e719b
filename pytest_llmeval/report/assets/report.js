/* pytest-llmeval report: filters and row expansion for the per-sample table.
 * Untrusted text (model output, prompts, targets) only ever reaches the page through textContent,
 * never innerHTML, so it renders as text whatever it contains. */
(function () {
  'use strict';
  var root = document.getElementById('llmeval-samples');
  if (!root) { return; }
  var body = root.querySelector('tbody.lle-body');
  if (!body) { return; }
  var rows = Array.prototype.slice.call(body.querySelectorAll('tr.lle-row'));
  var selects = Array.prototype.slice.call(root.querySelectorAll('select[data-filter]'));
  var shown = root.querySelector('.lle-shown');
  var data = null;

  function details() {
    if (data === null) {
      data = JSON.parse(document.getElementById('llmeval-samples-data').textContent);
    }
    return data;
  }

  function applyFilters() {
    var wanted = selects.map(function (s) { return [s.getAttribute('data-filter'), s.value]; });
    var count = 0;
    rows.forEach(function (row) {
      var ok = wanted.every(function (w) { return !w[1] || row.getAttribute('data-' + w[0]) === w[1]; });
      row.hidden = !ok;
      var next = row.nextElementSibling;
      if (next && next.classList.contains('lle-detail')) { next.hidden = !ok; }
      if (ok) { count += 1; }
    });
    if (shown) { shown.textContent = 'showing ' + count + ' of ' + rows.length; }
  }

  function block(parent, title, text) {
    if (text === undefined || text === null || text === '') { return; }
    var div = document.createElement('div');
    div.className = 'lle-block';
    var h = document.createElement('h4');
    h.textContent = title;
    var pre = document.createElement('pre');
    pre.textContent = String(text);
    div.appendChild(h);
    div.appendChild(pre);
    parent.appendChild(div);
  }

  function joinChunks(indices) {
    var chunks = details().chunks;
    return indices.map(function (i) { return chunks[i]; }).join('');
  }

  function facts(s) {
    var parts = [];
    if (s.n) { parts.push('node id: ' + s.n); }
    if (s.s && Object.keys(s.s).length) { parts.push('metrics: ' + JSON.stringify(s.s)); }
    if (s.u) { parts.push('usage: ' + JSON.stringify(s.u)); }
    if (s.t !== undefined) { parts.push('time to first token: ' + s.t + ' s'); }
    if (s.c) { parts.push('answer from the response cache'); }
    return parts.join('\n');
  }

  function buildDetail(row) {
    var s = details().samples[Number(row.getAttribute('data-i'))];
    var tr = document.createElement('tr');
    tr.className = 'lle-detail';
    var td = document.createElement('td');
    td.colSpan = row.children.length;
    tr.appendChild(td);
    block(td, 'error' + (s.k ? ' (' + s.k + ')' : ''), s.e);
    block(td, 'sample', facts(s));
    (s.m || []).forEach(function (m, i) { block(td, 'message ' + (i + 1) + ': ' + m[0], joinChunks(m[1])); });
    block(td, 'reasoning', s.r);
    block(td, 'raw output', s.o);
    (s.os || []).forEach(function (text, i) { block(td, 'generation ' + (i + 1), text); });
    block(td, 'extracted (full)', s.xf);
    block(td, 'expected (full)', s.tf);
    block(td, 'explanation', s.x);
    return tr;
  }

  function toggle(row, open) {
    var next = row.nextElementSibling;
    var isOpen = !!(next && next.classList.contains('lle-detail'));
    if (open === undefined) { open = !isOpen; }
    if (open && !isOpen) {
      row.parentNode.insertBefore(buildDetail(row), row.nextSibling);
    } else if (!open && isOpen) {
      next.parentNode.removeChild(next);
    }
    row.classList.toggle('lle-open', open);
    row.setAttribute('aria-expanded', open ? 'true' : 'false');
  }

  body.addEventListener('click', function (event) {
    var row = event.target.closest('tr.lle-row');
    if (row) { toggle(row); }
  });
  body.addEventListener('keydown', function (event) {
    var row = event.target.closest('tr.lle-row');
    if (row && (event.key === 'Enter' || event.key === ' ')) { event.preventDefault(); toggle(row); }
  });
  selects.forEach(function (s) { s.addEventListener('change', applyFilters); });

  /* #lle-... in the address (the links from pytest-html's rows) opens that sample. */
  function openFromHash() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    if (id.indexOf('lle-') !== 0) { return; }
    var row = document.getElementById(id);
    if (!row || !row.classList.contains('lle-row')) { return; }
    if (row.hidden) { selects.forEach(function (s) { s.value = ''; }); applyFilters(); }
    toggle(row, true);
    row.scrollIntoView();
  }
  window.addEventListener('hashchange', openFromHash);
  openFromHash();
}());
