/* clerk.js - the clerk dispatch page: list, print labels, hand over, act on problems.
 * Plain JavaScript, no framework. The clerk's token stays in sessionStorage and goes
 * to the JSON API as "Authorization: Bearer"; every text is put in with textContent. */
'use strict';

(function () {
  var KEY = 'bcciClerkToken';
  var selected = new Set();
  var readyRows = [];

  function $(id) { return document.getElementById(id); }
  function token() { return sessionStorage.getItem(KEY) || ''; }

  function say(text, isError) {
    var m = $('msg');
    m.textContent = text;
    m.className = isError ? 'error' : '';
  }

  function money(n) { return Number(n || 0).toLocaleString('vi-VN'); }

  function vnTime(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return iso || '';
    var v = new Date(d.getTime() + 7 * 3600 * 1000);
    function p(n) { return (n < 10 ? '0' : '') + n; }
    return p(v.getUTCDate()) + '/' + p(v.getUTCMonth() + 1) + '/' + v.getUTCFullYear() + ' ' +
      p(v.getUTCHours()) + ':' + p(v.getUTCMinutes());
  }

  function cell(tr, text, cls) {
    var td = document.createElement('td');
    td.textContent = text === undefined || text === null ? '' : String(text);
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  function apiError(res, doc) {
    if (res.status === 401) return 'Mã truy cập không đúng hoặc đã bị thu hồi. Vui lòng đăng nhập lại.';
    if (res.status === 403) return 'Mã truy cập này không có quyền thực hiện thao tác.';
    var m = doc && doc.error && doc.error.message;
    return 'Lỗi ' + res.status + (m ? ': ' + m : '');
  }

  /* api - fetch JSON (or a blob when asBlob); throws Error with a Vietnamese message */
  async function api(method, path, body, asBlob) {
    var opts = { method: method, headers: { 'Authorization': 'Bearer ' + token() } };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    var ctrl = new AbortController();
    var timer = setTimeout(function () { ctrl.abort(); }, 30000);
    opts.signal = ctrl.signal;
    var res;
    try {
      res = await fetch(path, opts);
    } catch (e) {
      throw new Error('Không kết nối được máy chủ; vui lòng thử lại.');
    } finally {
      clearTimeout(timer);
    }
    if (!res.ok) {
      var doc = null;
      try { doc = await res.json(); } catch (e) { doc = null; }
      var err = new Error(apiError(res, doc));
      err.status = res.status;
      throw err;
    }
    return asBlob ? res.blob() : res.json();
  }

  function download(blob, name) {
    var url = URL.createObjectURL(blob);
    var a = document.createElement('a');
    a.href = url;
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
  }

  function stamp() {
    var d = new Date();
    return d.toISOString().slice(0, 19).replace(/[-:T]/g, '');
  }

  /* ------------------------------------------------------------ lists */

  function updateSelection() {
    var n = selected.size;
    $('print').disabled = n === 0;
    $('manifest').disabled = n === 0;
    $('selected').textContent = n === 0 ? 'Chưa chọn bưu gửi nào' : 'Đã chọn ' + n + ' bưu gửi';
    $('select-all').checked = n > 0 && n === readyRows.length;
    document.querySelectorAll('#ready tbody tr').forEach(function (tr) {
      tr.classList.toggle('sel', selected.has(tr.dataset.waybill));
    });
  }

  function renderReady(list) {
    readyRows = list;
    var keep = new Set(list.map(function (s) { return s.waybill; }));
    selected.forEach(function (w) { if (!keep.has(w)) selected.delete(w); });
    var tb = $('ready').querySelector('tbody');
    tb.textContent = '';
    list.forEach(function (s) {
      var tr = document.createElement('tr');
      tr.dataset.waybill = s.waybill;
      var td = document.createElement('td');
      var cb = document.createElement('input');
      cb.type = 'checkbox';
      cb.value = s.waybill;
      cb.checked = selected.has(s.waybill);
      cb.setAttribute('aria-label', 'Chọn ' + s.waybill);
      cb.addEventListener('change', function () {
        if (cb.checked) selected.add(s.waybill); else selected.delete(s.waybill);
        updateSelection();
      });
      td.appendChild(cb);
      tr.appendChild(td);
      cell(tr, s.waybill, 'mono');
      cell(tr, s.dossier_code, 'mono');
      cell(tr, s.recipient_name);
      cell(tr, s.commune_code);
      cell(tr, money(s.cod_amount), 'num');
      cell(tr, s.status_text);
      cell(tr, s.label_prints, 'num');
      tb.appendChild(tr);
    });
    $('ready-count').textContent = '(' + list.length + ')';
    $('ready-empty').hidden = list.length > 0;
    updateSelection();
  }

  function renderProblems(list) {
    var tb = $('problems').querySelector('tbody');
    tb.textContent = '';
    list.forEach(function (s) {
      var tr = document.createElement('tr');
      tr.dataset.waybill = s.waybill;
      cell(tr, s.waybill, 'mono');
      cell(tr, s.dossier_code, 'mono');
      cell(tr, s.recipient_name);
      cell(tr, s.status_text);
      cell(tr, s.last_event);
      cell(tr, vnTime(s.status_time));
      tb.appendChild(tr);
    });
    $('problems-count').textContent = '(' + list.length + ')';
    $('problems-empty').hidden = list.length > 0;
  }

  var KINDS = { book: 'Đặt đơn', cancel: 'Hủy đơn', track: 'Tra cứu hành trình', notify: 'Báo hệ thống một cửa' };

  function renderJobs(list) {
    var tb = $('jobs').querySelector('tbody');
    tb.textContent = '';
    list.forEach(function (j) {
      var tr = document.createElement('tr');
      tr.dataset.job = j.id;
      cell(tr, j.id, 'num');
      cell(tr, KINDS[j.kind] || j.kind);
      cell(tr, j.carrier);
      cell(tr, j.attempts, 'num');
      cell(tr, j.last_error);
      var td = document.createElement('td');
      var b = document.createElement('button');
      b.type = 'button';
      b.className = 'secondary';
      b.textContent = 'Chạy lại';
      b.addEventListener('click', function () { retryJob(j.id, b); });
      td.appendChild(b);
      tr.appendChild(td);
      tb.appendChild(tr);
    });
    $('jobs-count').textContent = '(' + list.length + ')';
    $('jobs-empty').hidden = list.length > 0;
  }

  async function load() {
    var ready = await api('GET', '/v1/clerk/shipments?state=ready');
    renderReady(ready.shipments || []);
    var problems = await api('GET', '/v1/clerk/shipments?state=problems');
    renderProblems(problems.shipments || []);
    try {
      var jobs = await api('GET', '/v1/jobs?state=dead');
      renderJobs(jobs.jobs || []);
    } catch (e) {
      renderJobs([]);
      $('jobs-empty').textContent = e.message;
    }
  }

  async function refresh() {
    try {
      await load();
      say('Đã cập nhật lúc ' + vnTime(new Date().toISOString()) + '.');
    } catch (e) {
      say(e.message, true);
      if (e.status === 401) showLogin();
    }
  }

  /* ------------------------------------------------------------ actions */

  function chosen() {
    return readyRows.map(function (s) { return s.waybill; }).filter(function (w) { return selected.has(w); });
  }

  async function printLabels() {
    var waybills = chosen();
    if (!waybills.length) return;
    $('print').disabled = true;
    say('Đang tạo nhãn cho ' + waybills.length + ' bưu gửi…');
    try {
      var blob = await api('POST', '/v1/labels', { waybills: waybills, format: 'pdf' }, true);
      download(blob, 'nhan-buu-gui-' + stamp() + '.pdf');
      say('Đã tạo tệp nhãn cho ' + waybills.length + ' bưu gửi. Mở tệp PDF để in.');
      await load();
    } catch (e) {
      say('Không in được nhãn. ' + e.message, true);
    } finally {
      updateSelection();
    }
  }

  async function createManifest() {
    var waybills = chosen();
    if (!waybills.length) return;
    $('manifest').disabled = true;
    say('Đang lập biên bản giao nhận cho ' + waybills.length + ' bưu gửi…');
    try {
      var doc = await api('POST', '/v1/manifests', { waybills: waybills });
      var m = doc.manifest || doc;
      var id = m.id || m.public_id || m.code;
      showManifest(id, waybills.length);
      selected.clear();
      say('Đã lập biên bản giao nhận số ' + id + ' (' + waybills.length + ' bưu gửi).');
      await load();
    } catch (e) {
      say('Không lập được biên bản. ' + e.message, true);
    } finally {
      updateSelection();
    }
  }

  function showManifest(id, n) {
    var box = $('manifest-done');
    box.textContent = '';
    var t = document.createElement('span');
    t.textContent = 'Biên bản giao nhận số ' + id + ' — ' + n + ' bưu gửi. ';
    box.appendChild(t);
    var b = document.createElement('button');
    b.type = 'button';
    b.id = 'manifest-pdf';
    b.textContent = 'Tải biên bản (PDF)';
    b.addEventListener('click', async function () {
      try {
        var blob = await api('GET', '/v1/manifests/' + encodeURIComponent(id) + '.pdf', undefined, true);
        download(blob, 'bien-ban-giao-nhan-' + id + '.pdf');
        say('Đã tải biên bản giao nhận số ' + id + '. In 2 bản để hai bên ký.');
      } catch (e) {
        say('Không tải được biên bản. ' + e.message, true);
      }
    });
    box.appendChild(b);
    box.hidden = false;
  }

  async function retryJob(id, button) {
    button.disabled = true;
    try {
      await api('POST', '/v1/jobs/' + encodeURIComponent(id) + '/retry');
      await load();
      say('Đã đưa tác vụ ' + id + ' vào hàng đợi để chạy lại.');
    } catch (e) {
      button.disabled = false;
      say('Không chạy lại được tác vụ ' + id + '. ' + e.message, true);
    }
  }

  /* ------------------------------------------------------------ login */

  function showLogin() {
    $('app').hidden = true;
    $('logout').hidden = true;
    $('login').hidden = false;
    $('token').focus();
  }

  async function showApp() {
    $('login').hidden = true;
    $('app').hidden = false;
    $('logout').hidden = false;
    await refresh();
  }

  document.addEventListener('DOMContentLoaded', function () {
    $('login-form').addEventListener('submit', async function (ev) {
      ev.preventDefault();
      var t = $('token').value.trim();
      if (!t) return;
      sessionStorage.setItem(KEY, t);
      $('token').value = '';
      try {
        await api('GET', '/v1/clerk/shipments?state=ready');
      } catch (e) {
        sessionStorage.removeItem(KEY);
        showLogin();
        say(e.message, true);
        return;
      }
      await showApp();
    });
    $('logout').addEventListener('click', function () {
      sessionStorage.removeItem(KEY);
      selected.clear();
      say('');
      showLogin();
    });
    $('refresh').addEventListener('click', refresh);
    $('print').addEventListener('click', printLabels);
    $('manifest').addEventListener('click', createManifest);
    $('select-all').addEventListener('change', function () {
      if ($('select-all').checked) readyRows.forEach(function (s) { selected.add(s.waybill); });
      else selected.clear();
      document.querySelectorAll('#ready tbody input[type=checkbox]').forEach(function (cb) {
        cb.checked = selected.has(cb.value);
      });
      updateSelection();
    });
    if (token()) showApp(); else showLogin();
  });
})();
