/* clerk.js - the clerk dispatch page: hand over, search, print, act on problems.
 * Plain JavaScript, no framework. The clerk's token stays in sessionStorage and goes
 * to the JSON API as "Authorization: Bearer"; every text is put in with textContent.
 * Every error the API answers is shown in Vietnamese (ERRORS, by the API's error code). */
'use strict';

(function () {
  var KEY = 'bcciClerkToken';
  var PER_PAGE = 25;
  var selected = new Set();
  var readyRows = [];
  var searchPage = 1;
  var searchPages = 0;
  var deadJobs = [];

  /* the API's error codes (docs/openapi.yaml) in the clerk's words */
  var ERRORS = {
    unauthorized: 'Mã truy cập không đúng hoặc đã bị thu hồi. Vui lòng đăng nhập lại.',
    forbidden: 'Mã truy cập này không có quyền thực hiện thao tác.',
    not_found: 'Không tìm thấy trên hệ thống, hoặc không thuộc cơ quan của bạn.',
    unknown_shipment: 'Không tìm thấy bưu gửi trên hệ thống.',
    unknown_waybill: 'Có số hiệu bưu gửi không có trên hệ thống; vui lòng làm mới trang.',
    unknown_carrier: 'Hãng vận chuyển không được hỗ trợ.',
    invalid_query: 'Điều kiện tra cứu chưa hợp lệ',
    invalid_field: 'Thông tin nhập chưa hợp lệ',
    missing_field: 'Còn thiếu thông tin bắt buộc',
    invalid_json: 'Yêu cầu không hợp lệ; vui lòng tải lại trang.',
    invalid_body: 'Yêu cầu không hợp lệ; vui lòng tải lại trang.',
    unknown_field: 'Yêu cầu không hợp lệ; vui lòng tải lại trang.',
    invalid_path: 'Đường dẫn không hợp lệ; vui lòng tải lại trang.',
    invalid_code: 'Mã quét không hợp lệ.',
    invalid_waybill: 'Số hiệu bưu gửi không hợp lệ.',
    invalid_format: 'Khổ nhãn này không dùng được cho thao tác đã chọn; hãy chọn PDF hoặc ZPL.',
    invalid_option: 'Tùy chọn in nhãn không hợp lệ.',
    method_not_allowed: 'Thao tác không được hỗ trợ; vui lòng tải lại trang.',
    unsupported_media_type: 'Yêu cầu không hợp lệ; vui lòng tải lại trang.',
    body_too_large: 'Yêu cầu quá lớn; vui lòng chọn ít bưu gửi hơn.',
    already_on_manifest: 'Bưu gửi đã có trong một biên bản giao nhận đang mở.',
    mixed_agencies: 'Các bưu gửi thuộc nhiều cơ quan; mỗi biên bản chỉ gồm bưu gửi của một cơ quan.',
    already_picked_up: 'Bưu điện đã nhận bưu gửi nên không thể hủy nữa.',
    not_failed_delivery: 'Chỉ bưu gửi phát không thành công mới hẹn phát lại hoặc chuyển hoàn được.',
    shipment_cancelled: 'Bưu gửi đã bị hủy.',
    shipment_final: 'Bưu gửi đã kết thúc (đã phát, đã chuyển hoàn hoặc đã hủy).',
    duplicate_waybill: 'Một số hiệu bưu gửi được chọn hai lần.',
    empty_list: 'Chưa chọn bưu gửi nào.',
    nothing_ready: 'Không có bưu gửi nào sẵn sàng bàn giao.',
    too_many: 'Chọn quá nhiều bưu gửi cho một lần; vui lòng chia nhỏ.',
    manifest_void: 'Biên bản không còn bưu gửi nào (tất cả đã bị hủy).',
    not_arrived: 'Bưu gửi chưa đến Bộ phận một cửa.',
    already_received: 'Bưu gửi đã được tiếp nhận trước đó.',
    not_send_leg: 'Đây không phải hồ sơ gửi đến cơ quan.',
    conflict: 'Thao tác xung đột với dữ liệu hiện có; vui lòng làm mới trang rồi thử lại.',
    last_admin_token: 'Không thể thu hồi mã quản trị cuối cùng.',
    id_collision: 'Trùng số biên bản; vui lòng thử lại.',
    storage_unavailable: 'Cơ sở dữ liệu đang bận; vui lòng thử lại sau ít phút.',
    unavailable: 'Máy chủ đang bận; vui lòng thử lại.',
    code_pool_empty: 'Hết số hiệu bưu gửi; vui lòng báo quản trị viên nhập thêm dải số.',
    render_failed: 'Không tạo được tệp; vui lòng thử lại hoặc báo quản trị viên.',
    internal: 'Lỗi hệ thống; vui lòng thử lại hoặc báo quản trị viên.',
    rate_limited: 'Thao tác quá nhanh; vui lòng thử lại sau ít giây.'
  };
  var FIELDS = {
    reason: 'lý do', note: 'ghi chú', date: 'ngày phát lại', q: 'ô tìm kiếm', from: 'từ ngày', to: 'đến ngày',
    agency: 'mã cơ quan', status: 'trạng thái', page: 'trang', format: 'khổ nhãn'
  };
  var ROLES = { clerk: 'cán bộ một cửa', admin: 'quản trị viên', case_system: 'hệ thống một cửa',
    post_office: 'bưu điện', carrier: 'hãng vận chuyển' };
  var KINDS = { book: 'Đặt đơn', cancel: 'Hủy đơn', track: 'Tra cứu hành trình', notify: 'Báo hệ thống một cửa',
    sms: 'Tin nhắn cho người dân', email: 'Thư điện tử cho người dân', 'return': 'Yêu cầu chuyển hoàn' };
  var CANCELLABLE = { created: 1, booked: 1, pickup_pending: 1, exception: 1 };

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

  /* vnDay - "yyyy-mm-dd" of today + days, in Vietnam time */
  function vnDay(days) {
    return new Date(Date.now() + 7 * 3600 * 1000 + days * 86400000).toISOString().slice(0, 10);
  }

  function cell(tr, text, cls) {
    var td = document.createElement('td');
    td.textContent = text === undefined || text === null ? '' : String(text);
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  /* labelCells - each cell of table gets its column's header as data-label: on a phone the
   * rows become cards that name every value (clerk.css) */
  function labelCells(table) {
    var heads = Array.prototype.map.call($(table).querySelectorAll('thead th'), function (th) {
      return th.textContent.trim();
    });
    $(table).querySelectorAll('tbody tr').forEach(function (tr) {
      Array.prototype.forEach.call(tr.children, function (td, i) { td.dataset.label = heads[i] || ''; });
    });
  }

  function button(text, cls, onClick, label) {
    var b = document.createElement('button');
    b.type = 'button';
    b.className = cls || 'secondary';
    b.textContent = text;
    if (label) b.setAttribute('aria-label', label);
    b.addEventListener('click', function () { onClick(b); });
    return b;
  }

  function apiError(res, doc) {
    var e = doc && doc.error ? doc.error : {};
    var text = ERRORS[e.code];
    if (!text && res.status === 401) text = ERRORS.unauthorized;
    if (!text && res.status === 403) text = ERRORS.forbidden;
    if (!text && res.status === 429) text = ERRORS.rate_limited;
    if (!text && res.status >= 500) text = ERRORS.internal;
    if (!text) text = 'Máy chủ từ chối thao tác (mã lỗi ' + res.status + ').';
    if (e.field && FIELDS[e.field] && (e.code === 'invalid_field' || e.code === 'invalid_query' ||
        e.code === 'missing_field')) text += ': ' + FIELDS[e.field] + '.';
    else if (e.code === 'invalid_field' || e.code === 'invalid_query' || e.code === 'missing_field') text += '.';
    return text;
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
      err.code = doc && doc.error ? doc.error.code : '';
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
    return new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '');
  }

  var EXT = { pdf: 'pdf', 'pdf-a4': 'pdf', png: 'png', svg: 'svg', zpl: 'zpl', 'zpl-font': 'zpl' };

  /* labels - a file of the labels of waybills in format: many go in one POST /v1/labels,
   * a picture format (png, svg) is one label per file */
  async function labels(waybills, format) {
    if (format === 'png' || format === 'svg') {
      for (var i = 0; i < waybills.length; i++) {
        var one = await api('GET', '/v1/shipments/' + encodeURIComponent(waybills[i]) + '/label?format=' + format,
          undefined, true);
        download(one, 'nhan-' + waybills[i] + '.' + format);
      }
      return;
    }
    var blob = await api('POST', '/v1/labels', { waybills: waybills, format: format }, true);
    download(blob, (waybills.length === 1 ? 'nhan-' + waybills[0] : 'nhan-buu-gui-' + stamp()) + '.' + EXT[format]);
  }

  /* ------------------------------------------------------------ the dialog */

  /* ask - a modal question; resolves {date, reason} or null when closed */
  function ask(opts) {
    var dlg = $('ask');
    $('ask-h').textContent = opts.title;
    $('ask-text').textContent = opts.text || '';
    $('ask-date-row').hidden = !opts.date;
    $('ask-date').value = opts.date ? vnDay(1) : '';
    $('ask-date').min = vnDay(1);
    $('ask-date').max = vnDay(30);
    $('ask-reason-label').textContent = opts.reasonLabel || 'Lý do';
    $('ask-reason').value = '';
    /* checked here, not by the browser's own bubble, so the message is ours and in Vietnamese */
    $('ask-reason').setAttribute('aria-required', opts.required ? 'true' : 'false');
    $('ask-ok').textContent = opts.ok || 'Xác nhận';
    $('ask-error').textContent = '';
    return new Promise(function (resolve) {
      function done(value) {
        $('ask-form').removeEventListener('submit', onSubmit);
        $('ask-cancel').removeEventListener('click', onCancel);
        dlg.removeEventListener('cancel', onCancel);
        if (dlg.open) dlg.close();
        if (opts.back) opts.back.focus();
        resolve(value);
      }
      function onSubmit(ev) {
        ev.preventDefault();
        var reason = $('ask-reason').value.trim();
        if (opts.required && !reason) {
          $('ask-error').textContent = 'Vui lòng nhập ' + (opts.reasonLabel || 'lý do').toLowerCase() + '.';
          $('ask-reason').focus();
          return;
        }
        if (opts.date && !/^\d{4}-\d{2}-\d{2}$/.test($('ask-date').value)) {
          $('ask-error').textContent = 'Vui lòng chọn ngày phát lại.';
          $('ask-date').focus();
          return;
        }
        done({ date: $('ask-date').value, reason: reason });
      }
      function onCancel(ev) {
        if (ev) ev.preventDefault();
        done(null);
      }
      $('ask-form').addEventListener('submit', onSubmit);
      $('ask-cancel').addEventListener('click', onCancel);
      dlg.addEventListener('cancel', onCancel);
      dlg.showModal();
      (opts.date ? $('ask-date') : $('ask-reason')).focus();
    });
  }

  /* ------------------------------------------------------------ ready to hand over */

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
      tr.dataset.agency = s.agency_code;
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
      cell(tr, s.agency_code, 'mono');
      cell(tr, s.recipient_name);
      cell(tr, s.commune_code);
      cell(tr, money(s.cod_amount), 'num');
      cell(tr, s.status_text);
      cell(tr, s.label_prints, 'num');
      tb.appendChild(tr);
    });
    labelCells('ready');
    $('ready-count').textContent = '(' + list.length + ')';
    $('ready-empty').hidden = list.length > 0;
    updateSelection();
  }

  function chosen() {
    return readyRows.filter(function (s) { return selected.has(s.waybill); });
  }

  async function printLabels() {
    var waybills = chosen().map(function (s) { return s.waybill; });
    var format = $('print-format').value;
    if (!waybills.length) return;
    $('print').disabled = true;
    say('Đang tạo nhãn cho ' + waybills.length + ' bưu gửi…');
    try {
      await labels(waybills, format);
      say('Đã tạo tệp nhãn cho ' + waybills.length + ' bưu gửi. Mở tệp để in.');
      await load();
    } catch (e) {
      say('Không in được nhãn. ' + e.message, true);
    } finally {
      updateSelection();
    }
  }

  /* createManifest - one manifest per agency of the selection (a manifest holds one agency) */
  async function createManifest() {
    var rows = chosen();
    if (!rows.length) return;
    var groups = new Map();
    rows.forEach(function (s) {
      if (!groups.has(s.agency_code)) groups.set(s.agency_code, []);
      groups.get(s.agency_code).push(s.waybill);
    });
    $('manifest').disabled = true;
    say('Đang lập ' + groups.size + ' biên bản giao nhận cho ' + rows.length + ' bưu gửi…');
    var made = [];
    var failed = [];
    for (var [agency, waybills] of groups) {
      try {
        var doc = await api('POST', '/v1/manifests', { waybills: waybills });
        var m = doc.manifest || doc;
        made.push({ id: m.id || m.public_id || m.code, n: waybills.length, agency: agency });
        waybills.forEach(function (w) { selected.delete(w); });
      } catch (e) {
        failed.push('Cơ quan ' + agency + ': ' + e.message);
      }
    }
    showManifests(made);
    if (failed.length) say('Không lập được biên bản. ' + failed.join(' '), true);
    else if (made.length === 1) say('Đã lập biên bản giao nhận số ' + made[0].id + ' (' + made[0].n + ' bưu gửi).');
    else say('Đã lập ' + made.length + ' biên bản giao nhận, mỗi cơ quan một biên bản.');
    await load().catch(function () {});
    updateSelection();
  }

  async function manifestPdf(id) {
    try {
      var blob = await api('GET', '/v1/manifests/' + encodeURIComponent(id) + '.pdf', undefined, true);
      download(blob, 'bien-ban-giao-nhan-' + id + '.pdf');
      say('Đã tải biên bản giao nhận số ' + id + '. In 2 bản để hai bên ký.');
    } catch (e) {
      say('Không tải được biên bản. ' + e.message, true);
    }
  }

  function showManifests(made) {
    var box = $('manifest-done');
    box.textContent = '';
    made.forEach(function (m, i) {
      var p = document.createElement('p');
      var t = document.createElement('span');
      t.textContent = 'Biên bản giao nhận số ' + m.id + ' — ' + m.n + ' bưu gửi (cơ quan ' + m.agency + '). ';
      p.appendChild(t);
      var b = button('Tải biên bản (PDF)', '', function () { manifestPdf(m.id); },
        'Tải biên bản giao nhận số ' + m.id + ' (PDF)');
      b.id = i === 0 ? 'manifest-pdf' : 'manifest-pdf-' + (i + 1);
      b.dataset.manifest = m.id;
      p.appendChild(b);
      box.appendChild(p);
    });
    box.hidden = made.length === 0;
  }

  /* ------------------------------------------------------------ search */

  function searchQuery() {
    var f = $('search-form');
    var p = new URLSearchParams();
    ['q', 'status', 'service', 'carrier', 'agency', 'from', 'to', 'sort'].forEach(function (k) {
      var v = f.elements[k].value.trim();
      if (v) p.set(k, v);
    });
    p.set('page', String(searchPage));
    p.set('per_page', String(PER_PAGE));
    return p.toString();
  }

  async function cancelShipment(s, b) {
    var answer = await ask({ title: 'Hủy bưu gửi ' + s.waybill, text: 'Hồ sơ ' + s.dossier_code + ' — ' +
      s.recipient_name + '. Bưu gửi chỉ hủy được trước khi bưu điện nhận.', reasonLabel: 'Lý do hủy',
      required: true, ok: 'Hủy bưu gửi', back: b });
    if (!answer) return;
    try {
      var doc = await api('POST', '/v1/shipments/' + encodeURIComponent(s.waybill) + '/cancel',
        { reason: answer.reason });
      say(doc.status === 'cancelled' ? 'Đã hủy bưu gửi ' + s.waybill + '.' :
        'Đã gửi yêu cầu hủy bưu gửi ' + s.waybill + ' sang bưu điện.');
      await load();
    } catch (e) {
      say('Không hủy được bưu gửi ' + s.waybill + '. ' + e.message, true);
    }
  }

  async function reprint(s, b) {
    var format = $('reprint-format').value;
    b.disabled = true;
    say('Đang in lại nhãn ' + s.waybill + '…');
    try {
      await labels([s.waybill], format);
      say('Đã tạo lại nhãn ' + s.waybill + ' (' + $('reprint-format').selectedOptions[0].textContent + ').');
      await load();
    } catch (e) {
      say('Không in lại được nhãn ' + s.waybill + '. ' + e.message, true);
    } finally {
      b.disabled = false;
    }
  }

  function renderResults(doc) {
    var tb = $('results').querySelector('tbody');
    tb.textContent = '';
    (doc.shipments || []).forEach(function (s) {
      var tr = document.createElement('tr');
      tr.dataset.waybill = s.waybill;
      cell(tr, s.waybill, 'mono');
      cell(tr, s.dossier_code, 'mono');
      cell(tr, s.agency_name ? s.agency_code + ' — ' + s.agency_name : s.agency_code);
      cell(tr, s.recipient_name);
      cell(tr, s.recipient_phone, 'mono');
      cell(tr, s.status_text);
      cell(tr, vnTime(s.created_at));
      var td = document.createElement('td');
      td.className = 'ops';
      if (s.status !== 'cancelled')
        td.appendChild(button('In lại nhãn', 'secondary reprint', function (b) { reprint(s, b); },
          'In lại nhãn ' + s.waybill));
      if (CANCELLABLE[s.status])
        td.appendChild(button('Hủy', 'danger cancel', function (b) { cancelShipment(s, b); },
          'Hủy bưu gửi ' + s.waybill));
      tr.appendChild(td);
      tb.appendChild(tr);
    });
    labelCells('results');
    searchPages = doc.pages || 0;
    $('search-count').textContent = '(' + (doc.total || 0) + ')';
    $('results-empty').hidden = (doc.shipments || []).length > 0;
    $('page-info').textContent = searchPages ? 'Trang ' + doc.page + '/' + searchPages + ' — ' + doc.total +
      ' bưu gửi' : '';
    $('prev').disabled = searchPage <= 1;
    $('next').disabled = searchPage >= searchPages;
  }

  async function runSearch() {
    renderResults(await api('GET', '/v1/shipments?' + searchQuery()));
  }

  /* ------------------------------------------------------------ failed deliveries */

  async function redeliver(s, b) {
    var answer = await ask({ title: 'Hẹn phát lại ' + s.waybill, text: 'Người nhận ' + s.recipient_name +
      ', điện thoại ' + (s.recipient_phone || '—') + '. Lý do lần trước: ' + (s.failure_reason || 'không rõ') + '.',
      date: true, reasonLabel: 'Ghi chú cho bưu tá (không bắt buộc)', ok: 'Hẹn phát lại', back: b });
    if (!answer) return;
    try {
      await api('POST', '/v1/shipments/' + encodeURIComponent(s.waybill) + '/redeliver',
        { date: answer.date, note: answer.reason });
      say('Đã hẹn phát lại bưu gửi ' + s.waybill + ' ngày ' + answer.date.split('-').reverse().join('/') + '.');
      await load();
    } catch (e) {
      say('Không hẹn phát lại được bưu gửi ' + s.waybill + '. ' + e.message, true);
    }
  }

  async function returnNow(s, b) {
    var answer = await ask({ title: 'Chuyển hoàn ngay ' + s.waybill, text: 'Kết quả sẽ được chuyển về Bộ phận ' +
      'một cửa; người dân nhận trực tiếp tại đây.', reasonLabel: 'Lý do chuyển hoàn', required: true,
      ok: 'Chuyển hoàn ngay', back: b });
    if (!answer) return;
    try {
      await api('POST', '/v1/shipments/' + encodeURIComponent(s.waybill) + '/return', { reason: answer.reason });
      say('Đã yêu cầu chuyển hoàn bưu gửi ' + s.waybill + ' về Bộ phận một cửa.');
      await load();
    } catch (e) {
      say('Không chuyển hoàn được bưu gửi ' + s.waybill + '. ' + e.message, true);
    }
  }

  function renderFailed(list) {
    var tb = $('failed').querySelector('tbody');
    tb.textContent = '';
    list.forEach(function (s) {
      var tr = document.createElement('tr');
      tr.dataset.waybill = s.waybill;
      cell(tr, s.waybill, 'mono');
      cell(tr, s.dossier_code, 'mono');
      cell(tr, s.recipient_name);
      var tdp = document.createElement('td');
      tdp.className = 'mono';
      if (s.recipient_phone) {
        var a = document.createElement('a');
        a.href = 'tel:' + s.recipient_phone;
        a.textContent = s.recipient_phone;
        tdp.appendChild(a);
      }
      tr.appendChild(tdp);
      cell(tr, s.failure_reason || 'Bưu điện chưa báo lý do', 'reason');
      cell(tr, vnTime(s.last_attempt_at || s.status_time));
      var td = document.createElement('td');
      td.className = 'ops';
      td.appendChild(button('Hẹn phát lại', 'secondary redeliver', function (b) { redeliver(s, b); },
        'Hẹn phát lại ' + s.waybill));
      td.appendChild(button('Chuyển hoàn ngay', 'secondary return', function (b) { returnNow(s, b); },
        'Chuyển hoàn ngay ' + s.waybill));
      tr.appendChild(td);
      tb.appendChild(tr);
    });
    labelCells('failed');
    $('failed-count').textContent = '(' + list.length + ')';
    $('failed-empty').hidden = list.length > 0;
  }

  /* ------------------------------------------------------------ problems, jobs, manifests */

  function renderProblems(list) {
    var tb = $('problems').querySelector('tbody');
    tb.textContent = '';
    list.forEach(function (s) {
      var tr = document.createElement('tr');
      tr.dataset.waybill = s.waybill;
      cell(tr, s.waybill, 'mono');
      cell(tr, s.dossier_code, 'mono');
      cell(tr, s.agency_code, 'mono');
      cell(tr, s.recipient_name);
      cell(tr, s.status_text);
      cell(tr, s.last_event);
      cell(tr, vnTime(s.status_time));
      tb.appendChild(tr);
    });
    labelCells('problems');
    $('problems-count').textContent = '(' + list.length + ')';
    $('problems-empty').hidden = list.length > 0;
  }

  function renderJobs(list) {
    deadJobs = list;
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
      td.appendChild(button('Chạy lại', 'secondary', function (b) { retryJob(j.id, b); }, 'Chạy lại tác vụ ' + j.id));
      tr.appendChild(td);
      tb.appendChild(tr);
    });
    labelCells('jobs');
    $('retry-all').disabled = list.length === 0;
    $('jobs-empty').hidden = list.length > 0;
    $('jobs-count').textContent = '(' + list.length + ')';
  }

  function renderManifests(doc) {
    var tb = $('manifests').querySelector('tbody');
    tb.textContent = '';
    (doc.manifests || []).forEach(function (m) {
      var tr = document.createElement('tr');
      tr.dataset.manifest = m.id;
      cell(tr, m.id, 'mono');
      cell(tr, m.agency_code, 'mono');
      cell(tr, vnTime(m.created_at));
      cell(tr, m.created_by);
      cell(tr, m.items, 'num');
      cell(tr, m.state === 'accepted' ? 'Bưu điện đã nhận lúc ' + vnTime(m.accepted_at) : 'Chờ bưu điện nhận');
      var td = document.createElement('td');
      td.appendChild(button('In lại (PDF)', 'secondary', function () { manifestPdf(m.id); },
        'In lại biên bản ' + m.id));
      tr.appendChild(td);
      tb.appendChild(tr);
    });
    labelCells('manifests');
    $('manifests-count').textContent = '(' + (doc.total || 0) + ')';
    $('manifests-empty').hidden = (doc.manifests || []).length > 0;
  }

  function agencyOptions(lists) {
    var seen = new Set();
    var dl = $('agencies');
    dl.textContent = '';
    lists.forEach(function (list) {
      list.forEach(function (s) {
        if (!s.agency_code || seen.has(s.agency_code)) return;
        seen.add(s.agency_code);
        var o = document.createElement('option');
        o.value = s.agency_code;
        dl.appendChild(o);
      });
    });
  }

  async function load() {
    var ready = await api('GET', '/v1/clerk/shipments?state=ready');
    renderReady(ready.shipments || []);
    var problems = await api('GET', '/v1/clerk/shipments?state=problems');
    renderProblems(problems.shipments || []);
    var failed = await api('GET', '/v1/shipments?status=delivery_failed&sort=status_time&per_page=200');
    renderFailed(failed.shipments || []);
    agencyOptions([ready.shipments || [], problems.shipments || []]);
    try {
      renderManifests(await api('GET', '/v1/manifests?per_page=20'));
    } catch (e) {
      renderManifests({});
      $('manifests-empty').textContent = e.message;
    }
    await runSearch();
    try {
      var jobs = await api('GET', '/v1/jobs?state=dead');
      renderJobs(jobs.jobs || []);
    } catch (e) {
      $('jobs-empty').textContent = e.message;
      renderJobs([]);
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

  async function retryJob(id, b) {
    b.disabled = true;
    try {
      await api('POST', '/v1/jobs/' + encodeURIComponent(id) + '/retry');
      await load();
      say('Đã đưa tác vụ ' + id + ' vào hàng đợi để chạy lại.');
    } catch (e) {
      b.disabled = false;
      say('Không chạy lại được tác vụ ' + id + '. ' + e.message, true);
    }
  }

  /* retryAll - every dead job listed, one by one (each is checked against the clerk's agency) */
  async function retryAll() {
    var ids = deadJobs.map(function (j) { return j.id; });
    var ok = 0;
    var failed = [];
    $('retry-all').disabled = true;
    for (var i = 0; i < ids.length; i++) {
      try {
        await api('POST', '/v1/jobs/' + encodeURIComponent(ids[i]) + '/retry');
        ok++;
      } catch (e) {
        failed.push(ids[i] + ': ' + e.message);
      }
    }
    await load().catch(function () {});
    if (failed.length) say('Đã chạy lại ' + ok + ' tác vụ; không chạy lại được ' + failed.join('; '), true);
    else say('Đã đưa ' + ok + ' tác vụ vào hàng đợi để chạy lại.');
  }

  /* ------------------------------------------------------------ login */

  async function showWho() {
    try {
      var w = await api('GET', '/v1/whoami');
      var t = 'Đăng nhập: ' + w.name + ' (' + (ROLES[w.role] || w.role) + ')';
      t += w.agency_code ? ' — cơ quan ' + w.agency_code + (w.agency_name ? ' ' + w.agency_name : '')
        : ' — mọi cơ quan';
      $('who').textContent = t;
      $('who').hidden = false;
    } catch (e) {
      $('who').hidden = true;
    }
  }

  function showLogin() {
    $('app').hidden = true;
    $('logout').hidden = true;
    $('who').hidden = true;
    $('login').hidden = false;
    $('token').focus();
  }

  async function showApp() {
    $('login').hidden = true;
    $('app').hidden = false;
    $('logout').hidden = false;
    await showWho();
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
        await api('GET', '/v1/whoami');
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
    $('retry-all').addEventListener('click', retryAll);
    $('search-form').addEventListener('submit', async function (ev) {
      ev.preventDefault();
      searchPage = 1;
      try {
        await runSearch();
        say('Tìm thấy ' + $('search-count').textContent.replace(/[()]/g, '') + ' bưu gửi.');
      } catch (e) {
        say('Không tra cứu được. ' + e.message, true);
      }
    });
    $('search-form').addEventListener('reset', function () {
      searchPage = 1;
      setTimeout(function () { runSearch().catch(function (e) { say(e.message, true); }); }, 0);
    });
    $('prev').addEventListener('click', function () {
      if (searchPage > 1) searchPage--;
      runSearch().catch(function (e) { say('Không tra cứu được. ' + e.message, true); });
    });
    $('next').addEventListener('click', function () {
      if (searchPage < searchPages) searchPage++;
      runSearch().catch(function (e) { say('Không tra cứu được. ' + e.message, true); });
    });
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
