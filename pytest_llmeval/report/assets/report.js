/* pytest-llmbench report: sortable tables, and search, filters and row expansion for the sample tables
 * (the run's samples section and the side-by-side page of several runs).
 * Untrusted text (model output, prompts, targets) only ever reaches the page through textContent,
 * never innerHTML, so it renders as text whatever it contains. */
(function () {
  'use strict';
  if (window.__llmevalReport) { return; }
  window.__llmevalReport = true;

  function each(list, fn) { Array.prototype.forEach.call(list, fn); }

  /* The payload's keys: readable field name -> short key on the page. Written in by the report
   * builder from report/payload.py (KEYS), so the builders and this script share one table. */
  var K = {/*LLMEVAL_PAYLOAD_KEYS*/};

  /* ---- sortable tables: a header click sorts by that column, a second click reverses ---- */
  var NUMBER = /^[-+]?[\d,]*\.?\d+(e[-+]?\d+)?$/i;
  function sortValue(cell) {
    if (!cell) { return null; }
    var raw = cell.getAttribute('data-sort');
    if (raw !== null) { return parseFloat(raw); }
    var text = cell.textContent.trim();
    if (text === '' || text === '-' || text === 'n/a') { return null; }
    if (!cell.hasAttribute('data-sort-natural') && NUMBER.test(text)) { return parseFloat(text.replace(/,/g, '')); }
    return text;
  }
  function compare(a, b) {
    if (a === null || b === null) { return a === b ? 0 : (a === null ? 1 : -1); }  /* empty cells last */
    if (typeof a === 'number' && typeof b === 'number') { return a - b; }
    return String(a).localeCompare(String(b), undefined, { numeric: true, sensitivity: 'base' });
  }
  function sortTable(table, th) {
    var column = th.hasAttribute('data-col') ? Number(th.getAttribute('data-col')) : th.cellIndex;
    var ascending = th.getAttribute('aria-sort') !== 'ascending';
    each(table.querySelectorAll('thead th'), function (h) { h.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
    var body = table.tBodies[0];
    var groups = [];
    each(body.children, function (row) {
      if (row.classList.contains('lle-detail')) { groups[groups.length - 1].push(row); } else { groups.push([row]); }
    });
    groups.forEach(function (g, i) { g.key = sortValue(g[0].children[column]); g.pos = i; });
    groups.sort(function (x, y) {
      var order = compare(x.key, y.key);
      if (x.key !== null && y.key !== null && !ascending) { order = -order; }
      return order || x.pos - y.pos;
    });
    groups.forEach(function (g) { g.forEach(function (row) { body.appendChild(row); }); });
  }
  each(document.querySelectorAll('table.lle-sortable'), function (table) {
    each(table.querySelectorAll('thead th'), function (th) {
      if (th.hasAttribute('colspan')) { return; }  /* a group header: its sub-columns sort */
      th.classList.add('lle-sort');
      th.tabIndex = 0;
      th.title = (th.title ? th.title + ' \u2014 ' : '') + 'click to sort';
      th.addEventListener('click', function () { sortTable(table, th); });
      th.addEventListener('keydown', function (event) {
        if (event.key === 'Enter' || event.key === ' ') { event.preventDefault(); sortTable(table, th); }
      });
    });
  });

  /* ---- sample tables: search, filters, expandable rows ---- */
  /* a titled block of the expanded row: <div class="lle-block"><h4>title</h4>content</div> */
  function titled(parent, title, content) {
    var div = document.createElement('div');
    div.className = 'lle-block';
    var h = document.createElement('h4');
    h.textContent = title;
    div.appendChild(h);
    div.appendChild(content);
    parent.appendChild(div);
  }
  function block(parent, title, text) {
    if (text === undefined || text === null || text === '') { return; }
    var pre = document.createElement('pre');
    pre.textContent = String(text);
    titled(parent, title, pre);
  }
  function facts(parent, title, pairs) {
    pairs = pairs.filter(function (p) { return p[1] !== undefined && p[1] !== null && p[1] !== ''; });
    if (!pairs.length) { return; }
    var dl = document.createElement('dl');
    dl.className = 'lle-facts';
    pairs.forEach(function (p) {
      var dt = document.createElement('dt');
      dt.textContent = p[0];
      var dd = document.createElement('dd');
      dd.textContent = String(p[1]);
      dl.appendChild(dt);
      dl.appendChild(dd);
    });
    titled(parent, title, dl);
  }
  function seconds(v) { return v === undefined || v === null ? null : (Math.round(v * 1000) / 1000) + ' s'; }
  function number(v) { return typeof v === 'number' ? String(Math.round(v * 10000) / 10000) : v; }

  function setupSamples(root) {
    var body = root.querySelector('tbody.lle-body');
    var dataNode = root.querySelector('script[type="application/json"]');
    if (!body || !dataNode) { return; }
    var rows = Array.prototype.slice.call(body.querySelectorAll('tr.lle-row'));
    var selects = Array.prototype.slice.call(root.querySelectorAll('select[data-filter]'));
    var search = root.querySelector('input[data-search]');
    var shown = root.querySelector('.lle-shown');
    var data = null;
    var haystacks = null;

    function details() {
      if (data === null) { data = JSON.parse(dataNode.textContent); }
      return data;
    }
    function joinChunks(indices) {
      var chunks = details().chunks || [];
      return indices.map(function (i) { return chunks[i]; }).join('');
    }
    function fullText(s) {
      var parts = [];
      (s[K.messages] || []).forEach(function (m) { parts.push(joinChunks(m[1])); });
      [K.output, K.reasoning, K.explanation, K.error, K.extracted_full, K.target_full, K.nodeid, K.prompt].forEach(function (k) {
        if (s[k]) { parts.push(String(s[k])); }
      });
      (s[K.outputs] || []).concat(s[K.run_outputs] || []).forEach(function (t) { if (t) { parts.push(String(t)); } });
      return parts.join('\n');
    }
    function haystack(i) {
      if (haystacks === null) {
        var samples = details().samples;
        haystacks = rows.map(function (row) {
          return (row.textContent + '\n' + fullText(samples[Number(row.getAttribute('data-i'))])).toLowerCase();
        });
      }
      return haystacks[i];
    }

    function apply() {
      var wanted = selects.map(function (s) { return [s.getAttribute('data-filter'), s.value]; });
      var terms = search && search.value.trim() ? search.value.trim().toLowerCase().split(/\s+/) : [];
      var count = 0;
      rows.forEach(function (row, i) {
        var ok = wanted.every(function (w) { return !w[1] || row.getAttribute('data-' + w[0]) === w[1]; });
        if (ok && terms.length) {
          var text = haystack(i);
          ok = terms.every(function (t) { return text.indexOf(t) >= 0; });
        }
        row.hidden = !ok;
        var next = row.nextElementSibling;
        if (next && next.classList.contains('lle-detail')) { next.hidden = !ok; }
        if (ok) { count += 1; }
      });
      if (shown) { shown.textContent = 'showing ' + count + ' of ' + rows.length; }
    }

    function media(td, items) {
      // Previews come as data: URLs made by the plugin; anything else is shown as text only.
      if (!items || !items.length) { return; }
      var box = document.createElement('div');
      box.className = 'lle-media';
      items.forEach(function (item) {
        var fig = document.createElement('figure');
        var url = typeof item.url === 'string' ? item.url : '';
        if (item.kind === 'image' && url.indexOf('data:image/') === 0) {
          var img = document.createElement('img');
          img.src = url;
          img.alt = item.label;
          fig.appendChild(img);
        } else if (item.kind === 'audio' && url.indexOf('data:audio/') === 0) {
          var audio = document.createElement('audio');
          audio.controls = true;
          audio.src = url;
          fig.appendChild(audio);
        }
        var cap = document.createElement('figcaption');
        cap.textContent = item.label;
        fig.appendChild(cap);
        box.appendChild(fig);
      });
      td.appendChild(box);
    }
    function sampleDetail(td, s) {
      var kind = s[K.error_kind];
      block(td, 'error' + (kind ? ' (' + kind + ')' : ''), s[K.error]);
      var usage = s[K.usage] || {};
      var metrics = s[K.metrics] || {};
      var pairs = [['node id', s[K.nodeid]]];
      Object.keys(metrics).forEach(function (k) { pairs.push([k, number(metrics[k])]); });
      pairs.push(['request time', seconds(s[K.latency_s])], ['queued before sending', seconds(s[K.queued_s])],
        ['time to first token', seconds(s[K.ttft_s])],
        ['prompt tokens', usage.prompt_tokens], ['completion tokens', usage.completion_tokens],
        ['reasoning tokens', usage.reasoning_tokens], ['finish reason', s[K.finish_reason]],
        ['answer from the response cache', s[K.cached] ? 'yes' : null]);
      facts(td, 'sample', pairs);
      (s[K.messages] || []).forEach(function (m, i) { block(td, 'message ' + (i + 1) + ': ' + m[0], joinChunks(m[1])); });
      media(td, s[K.media]);
      block(td, 'reasoning', s[K.reasoning]);
      block(td, 'raw output', s[K.output]);
      (s[K.outputs] || []).forEach(function (text, i) { block(td, 'generation ' + (i + 1), text); });
      block(td, 'extracted (full)', s[K.extracted_full]);
      block(td, 'expected (full)', s[K.target_full]);
      block(td, 'choice log-probabilities (summed over the continuation)', s[K.choice_logprobs]);
      block(td, 'ranking (top 10, then every relevant document ranked lower)', s[K.ranking]);
      block(td, 'explanation', s[K.explanation]);
    }
    function compareDetail(td, s) {
      var runs = details().runs || [];
      block(td, 'prompt', s[K.prompt]);
      block(td, 'expected', s[K.target_full]);
      var grid = document.createElement('div');
      grid.className = 'lle-side';
      runs.forEach(function (name, r) {
        var col = document.createElement('div');
        col.className = 'lle-side-col';
        var h = document.createElement('h4');
        h.className = 'lle-side-title';
        h.textContent = name;
        col.appendChild(h);
        var one = (s[K.run_outputs] || [])[r];
        if (one === undefined || one === null) { block(col, 'not in this run', '-'); } else {
          block(col, 'error', (s[K.run_errors] || [])[r]);
          block(col, 'reasoning', (s[K.run_reasonings] || [])[r]);
          block(col, 'output', one);
          block(col, 'explanation', (s[K.run_explanations] || [])[r]);
        }
        grid.appendChild(col);
      });
      td.appendChild(grid);
    }
    function buildDetail(row) {
      var s = details().samples[Number(row.getAttribute('data-i'))];
      var tr = document.createElement('tr');
      tr.className = 'lle-detail';
      var td = document.createElement('td');
      td.colSpan = row.children.length;
      tr.appendChild(td);
      if (details().runs) { compareDetail(td, s); } else { sampleDetail(td, s); }
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
    selects.forEach(function (s) { s.addEventListener('change', apply); });
    if (search) {
      var timer = null;
      search.addEventListener('input', function () { clearTimeout(timer); timer = setTimeout(apply, 120); });
      search.addEventListener('search', apply);
    }

    /* #lle-... in the address (the links from pytest-html's rows) opens that sample. */
    function openFromHash() {
      var id = decodeURIComponent(window.location.hash.slice(1));
      if (id.indexOf('lle-') !== 0) { return; }
      var row = document.getElementById(id);
      if (!row || !row.classList.contains('lle-row') || !root.contains(row)) { return; }
      if (row.hidden) {
        selects.forEach(function (s) { s.value = ''; });
        if (search) { search.value = ''; }
        apply();
      }
      toggle(row, true);
      row.scrollIntoView();
    }
    window.addEventListener('hashchange', openFromHash);
    openFromHash();
  }
  each(document.querySelectorAll('.lle-filterable'), setupSamples);
}());
