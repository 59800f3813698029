/* envq map pages: the controls laid out for phones and desktops, collapsible boxes, popups kept
   clear of the controls, names on the map without collisions, the level/class marks on the points,
   and an offline search. Needs Leaflet only. Every text from data is set with textContent (or was
   escaped when the page was rendered). See maps/layout.py and docs/maps.md. */
(function () {
  'use strict';
  var PHONE = '(max-width: 640px)';

  function el(tag, cls, parent) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (parent) parent.appendChild(e);
    return e;
  }
  function find(root, sel) { return root.querySelector(sel) || document.querySelector(sel); }
  function rect(e) { return e.getBoundingClientRect(); }
  function overlap(a, b, pad) {
    return a.left < b.right + pad && b.left < a.right + pad && a.top < b.bottom + pad && b.top < a.bottom + pad;
  }

  /* ---- layout ------------------------------------------------------------------------------ */
  // where each control goes: [selector, desktop slot, phone slot]; in this order inside a slot
  var PLACES = [
    ['.leaflet-control-zoom', 'tl', 'float-r'],
    ['.envq-title', 'tls', 'top'],
    ['.envq-search', 'tls', 'top'],
    ['.leaflet-control-layers', 'tr', 'float-r'],
    ['.envq-day-control', 'tr', 'bottom'],
    ['.envq-reach-panel', 'tr', 'sheet'],
    ['.envq-legend', 'br', 'sheet'],
    ['.envq-unplaced', 'bl', 'sheet'],
    ['.leaflet-control-scale', 'bl', 'float-l'],
    ['.leaflet-control-attribution', 'br', 'end']
  ];

  function buildUI(map) {
    var root = map.getContainer();
    var ui = el('div', 'envq-ui', root);
    var s = {};
    // desktop: two columns, each a top and a bottom group; phone: one column, top / bottom
    var colL = el('div', 'envq-col envq-col-l', ui), colR = el('div', 'envq-col envq-col-r', ui);
    s.tl = el('div', 'envq-slot envq-slot-tl', colL);
    s.tls = el('div', 'envq-slot envq-slot-tls', s.tl);
    el('div', 'envq-spacer', colL);
    s.bl = el('div', 'envq-slot envq-slot-bl', colL);
    s.tr = el('div', 'envq-slot envq-slot-tr', colR);
    el('div', 'envq-spacer', colR);
    s.br = el('div', 'envq-slot envq-slot-br', colR);
    var phone = el('div', 'envq-phone-ui', ui);
    s.top = el('div', 'envq-slot envq-slot-top', phone);
    el('div', 'envq-spacer', phone);
    var fl = el('div', 'envq-slot envq-slot-float', phone);
    s['float-l'] = el('div', 'envq-slot envq-float-l', fl);
    s['float-r'] = el('div', 'envq-slot envq-float-r', fl);
    s.bottom = el('div', 'envq-slot envq-slot-bottom', phone);
    s.sheet = el('div', 'envq-slot envq-slot-sheet', s.bottom);
    s.end = el('div', 'envq-slot envq-slot-end', s.bottom);
    // the search row on phones: the box beside nothing else, full width
    return {root: root, ui: ui, slots: s};
  }

  function place(L_, map, ui, isPhone) {
    ui.ui.className = 'envq-ui ' + (isPhone ? 'envq-is-phone' : 'envq-is-desktop');
    PLACES.forEach(function (p) {
      var box = find(ui.root, p[0]);
      if (!box) return;
      var slot = ui.slots[isPhone ? p[2] : p[1]];
      // the day control sits above the sheet on phones
      if (slot === ui.slots.bottom) ui.slots.bottom.insertBefore(box, ui.slots.sheet);
      else if (slot === ui.slots.tl) ui.slots.tl.insertBefore(box, ui.slots.tls);  // zoom left of the title
      else slot.appendChild(box);
    });
  }

  function controls(ui) {
    return Array.prototype.slice.call(ui.ui.querySelectorAll('.envq-slot > *'));
  }

  /* the part of the map not under a control, in client coordinates */
  function freeArea(map, ui) {
    var r = rect(map.getContainer());
    var a = {left: r.left, top: r.top, right: r.right, bottom: r.bottom};
    var phone = ui.ui.classList.contains('envq-is-phone');
    controls(ui).forEach(function (c) {
      var b = rect(c);
      if (!b.width || !b.height) return;
      if (phone || c.parentNode === ui.slots.tls || c.parentNode === ui.slots.tl) {
        if (b.top - r.top < r.bottom - b.bottom) a.top = Math.max(a.top, b.bottom);
        else a.bottom = Math.min(a.bottom, b.top);
      } else if (b.left - r.left < r.right - b.right) {
        a.left = Math.max(a.left, b.right);
      } else {
        a.right = Math.min(a.right, b.left);
      }
    });
    return a;
  }

  /* fit *bounds* into the free area (falls back to the whole map when that is too small) */
  function fitFree(map, ui, bounds) {
    var r = rect(map.getContainer()), a = freeArea(map, ui), pad = 8;
    var tl = [a.left - r.left + pad, a.top - r.top + pad], br = [r.right - a.right + pad, r.bottom - a.bottom + pad];
    if (r.width - tl[0] - br[0] < 120 || r.height - tl[1] - br[1] < 120) { tl = [pad, pad]; br = [pad, pad]; }
    map.fitBounds(bounds, {paddingTopLeft: tl, paddingBottomRight: br, animate: false});
  }

  /* a popup (or any element over the map) moved clear of the controls when it fits */
  function keepClear(map, ui, elem) {
    if (!elem) return;
    var a = freeArea(map, ui), b = rect(elem), dx = 0, dy = 0, pad = 6;
    if (b.height + 2 * pad <= a.bottom - a.top) {
      if (b.top < a.top + pad) dy = b.top - a.top - pad;
      else if (b.bottom > a.bottom - pad) dy = b.bottom - a.bottom + pad;
    } else {
      dy = b.top - a.top - pad;
    }
    if (b.width + 2 * pad <= a.right - a.left) {
      if (b.left < a.left + pad) dx = b.left - a.left - pad;
      else if (b.right > a.right - pad) dx = b.right - a.right + pad;
    }
    if (dx || dy) map.panBy([Math.round(dx), Math.round(dy)], {animate: false});
  }

  /* ---- names on the map ---------------------------------------------------------------------- */
  function labels(map, items, opts) {
    if (!items || !items.length) return;
    var root = map.getContainer();
    map.createPane('envq-labels').style.zIndex = 450;
    var all = items.map(function (d) {
      var inner = el('div', 'envq-label-text envq-at-' + (d.a || 'c'));
      el('span', 'envq-label-name', inner).textContent = d.t;
      if (d.s) el('span', 'envq-label-sub', inner).textContent = d.s;
      var mk = L.marker(d.p, {
        icon: L.divIcon({className: 'envq-label envq-label-' + d.c, html: inner, iconSize: null}),
        interactive: false, keyboard: false, pane: 'envq-labels'
      }).addTo(map);
      return {d: d, mk: mk, inner: inner};
    });
    // a label beside a point (a section) also keeps clear of the other points: right of its point,
    // else left of it, else hidden
    var points = opts.points ? root.querySelectorAll(opts.points) : [];
    function place(it, side) {
      var o = it.d.o || 10;
      it.inner.style.transform = side === 'l' ? 'translate(calc(-100% - ' + o + 'px),-50%)'
                                              : 'translate(' + o + 'px,-50%)';
      return rect(it.inner);
    }
    function declutter() {
      var z = map.getZoom(), kept = [], c = rect(root);
      var obstacles = Array.prototype.map.call(points, rect).filter(function (b) { return b.width; });
      all.forEach(function (it) {
        var e = it.mk.getElement();
        if (e) e.style.visibility = z >= (it.d.z || 0) ? '' : 'hidden';
      });
      all.forEach(function (it) {
        var e = it.mk.getElement();
        if (!e || e.style.visibility === 'hidden') return;
        var sides = it.d.a === 'r' ? ['r', 'l'] : [null];
        for (var k = 0; k < sides.length; k++) {
          var b = sides[k] ? place(it, sides[k]) : rect(it.inner);
          var off = b.right < c.left || b.left > c.right || b.bottom < c.top || b.top > c.bottom;
          var hit = off || kept.some(function (q) { return overlap(q, b, 2); }) ||
            (sides[k] && obstacles.some(function (q) { return overlap(q, b, 0); }));
          if (!hit) { kept.push(b); return; }
        }
        e.style.visibility = 'hidden';
      });
    }
    map.on('zoomend moveend', declutter);
    declutter();
    return declutter;
  }

  /* the level or class written on each point, so that colour is never the only carrier */
  function marks(map, items) {
    if (!items || !items.length) return {};
    map.createPane('envq-marks').style.zIndex = 420;
    var byVar = {};
    items.forEach(function (d) {
      var layer = window[d.v];
      if (!layer || !layer.getLatLng) return;
      var inner = el('span', 'envq-mark-text');
      var mk = L.marker(layer.getLatLng(), {
        icon: L.divIcon({className: 'envq-mark', html: inner, iconSize: null}),
        interactive: false, keyboard: false, pane: 'envq-marks'
      }).addTo(map);
      // the day control of the air map rewrites the mark with the level of the day it shows
      layer.envqMark = function (text, ink) { inner.textContent = text; inner.style.color = ink || '#000'; };
      layer.envqMark(d.t, d.k);
      byVar[d.v] = mk;
    });
    return byVar;
  }

  /* ---- search --------------------------------------------------------------------------------- */
  function norm(s) { return (s || '').toLowerCase().replace(/\s+/g, ''); }

  /* does the query (latin letters) match the initials, each place a set of letters ("x j cz")? */
  function initialsMatch(q, ini) {
    if (!ini || !/^[a-z]+$/.test(q)) return false;
    var sets = ini.split(' ');
    for (var start = 0; start + q.length <= sets.length; start++) {
      var ok = true;
      for (var k = 0; k < q.length && ok; k++) ok = sets[start + k].indexOf(q.charAt(k)) >= 0;
      if (ok) return start === 0 ? 2 : 1;
    }
    return 0;
  }

  function search(map, ui, index, opts) {
    var box = find(ui.root, '.envq-search');
    if (!box || !index || !index.length) return;
    var input = box.querySelector('input'), list = box.querySelector('.envq-search-results');
    var status = box.querySelector('.envq-search-status');
    var shown = [], active = -1;

    function score(it, q) {
      var n = norm(it.n);
      if (n === q) return 100;
      if (n.indexOf(q) === 0) return 80;
      if (n.indexOf(q) > 0) return 60;
      if (it.x && norm(it.x).indexOf(q) >= 0) return 40;
      var m = initialsMatch(q, it.i);
      return m ? 20 + 10 * m : 0;
    }
    function render() {
      var q = norm(input.value);
      list.textContent = '';
      shown = [];
      active = -1;
      if (q) {
        shown = index.map(function (it) { return [score(it, q), it]; })
          .filter(function (p) { return p[0] > 0; })
          .sort(function (a, b) { return b[0] - a[0] || a[1].n.length - b[1].n.length; })
          .slice(0, 8).map(function (p) { return p[1]; });
      }
      shown.forEach(function (it, k) {
        var li = el('li', 'envq-search-result', list);
        li.id = box.id + '-r' + k;
        li.setAttribute('role', 'option');
        li.setAttribute('aria-selected', 'false');
        el('span', 'envq-search-name', li).textContent = it.n;
        el('span', 'envq-search-kind', li).textContent = it.k;
        li.addEventListener('click', function () { go(it); });
      });
      list.hidden = !shown.length;
      input.setAttribute('aria-expanded', shown.length ? 'true' : 'false');
      status.textContent = q ? (shown.length ? shown.length + ' 个结果 results' : '无结果 no match') : '';
    }
    function highlight(k) {
      var items = list.children;
      for (var j = 0; j < items.length; j++) items[j].setAttribute('aria-selected', j === k ? 'true' : 'false');
      active = k;
      if (k >= 0) input.setAttribute('aria-activedescendant', items[k].id);
      else input.removeAttribute('aria-activedescendant');
    }
    function go(it) {
      list.hidden = true;
      input.setAttribute('aria-expanded', 'false');
      input.value = it.n;
      input.blur();
      closeSheets(ui);
      if (it.action === 'panel') {  // the page's own reach: its panel
        var panel = find(ui.root, '.envq-reach-panel');
        if (panel) { panel.open = true; panel.scrollIntoView({block: 'nearest'}); }
        if (it.b) fitFree(map, ui, it.b);
        return;
      }
      var layer = it.v ? window[it.v] : null;
      if (it.b) fitFree(map, ui, it.b);
      else if (it.p) map.setView(it.p, Math.max(map.getZoom(), it.z || 10), {animate: false});
      if (layer && layer.openPopup) {
        if (layer.getLayers) layer.openPopup(it.p || undefined);
        else layer.openPopup();
      } else if (it.h) {  // a place without its own popup: its name and kind
        var div = el('div', 'envq-popup envq-search-popup');
        el('b', null, div).textContent = it.n;
        el('div', null, div).textContent = it.h;
        if (it.u && !/[:\\]/.test(it.u)) {  // a relative link only (a reach's page)
          var a = el('a', null, el('div', null, div));
          a.href = it.u;
          a.textContent = '打开页面 open its page →';
        }
        L.popup({maxWidth: 320, autoPan: false}).setLatLng(it.p || map.getCenter()).setContent(div).openOn(map);
      }
    }
    input.addEventListener('input', render);
    input.addEventListener('keydown', function (e) {
      if (e.key === 'ArrowDown' && shown.length) { highlight((active + 1) % shown.length); e.preventDefault(); }
      else if (e.key === 'ArrowUp' && shown.length) { highlight((active + shown.length - 1) % shown.length); e.preventDefault(); }
      else if (e.key === 'Enter' && shown.length) { go(shown[Math.max(active, 0)]); e.preventDefault(); }
      else if (e.key === 'Escape') { list.hidden = true; input.setAttribute('aria-expanded', 'false'); }
    });
    box.querySelector('form').addEventListener('submit', function (e) { e.preventDefault(); });
  }

  /* ---- collapsible boxes ---------------------------------------------------------------------- */
  function closeSheets(ui) {
    if (!ui.ui.classList.contains('envq-is-phone')) return;
    Array.prototype.forEach.call(ui.slots.sheet.querySelectorAll('details[open]'), function (d) { d.open = false; });
  }

  window.envqMapUI = function (map, opts) {
    opts = opts || {};
    var ui = buildUI(map);
    // the map and its controls are the page's main content (one landmark holds every control)
    map.getContainer().setAttribute('role', 'main');
    map.getContainer().setAttribute('aria-label', document.title || '地图 map');
    var mq = window.matchMedia(PHONE);
    map.attributionControl && map.attributionControl.setPrefix(opts.prefix || 'Leaflet');
    // every box of the page: no click, drag or wheel reaches the map through it
    Array.prototype.forEach.call(document.querySelectorAll('.envq-box'), function (b) {
      L.DomEvent.disableClickPropagation(b);
      L.DomEvent.disableScrollPropagation(b);
    });
    function layout(first) {
      var phone = mq.matches;
      place(L, map, ui, phone);
      if (first) {  // boxes start open on desktops, closed (a bar to tap) on phones
        Array.prototype.forEach.call(ui.ui.querySelectorAll('details.envq-box'), function (d) { d.open = !phone; });
      }
      map.invalidateSize({pan: false});
    }
    layout(true);
    if (mq.addEventListener) mq.addEventListener('change', function () { layout(false); if (opts.bounds) fitFree(map, ui, opts.bounds); });
    if (opts.bounds) fitFree(map, ui, opts.bounds);
    map.on('popupopen', function (e) {
      closeSheets(ui);
      var pop = e.popup;
      window.requestAnimationFrame(function () { keepClear(map, ui, pop.getElement()); });
    });
    var declutter = labels(map, opts.labels, opts);
    var m = marks(map, opts.marks);
    search(map, ui, opts.search, opts);
    ui.ui.dataset.ready = '1';
    window.envqUI = {map: map, ui: ui, marks: m, declutter: declutter, fit: function (b) { fitFree(map, ui, b); }};
    return window.envqUI;
  };
})();
