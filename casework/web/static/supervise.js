// 督查工作台 (issue 13): the live wallboard, oversight queues with the actions in
// place, case search and the case file with its recordings, reports with
// charts and CSV, the quarterly assessment. One origin, the session cookie plus
// the CSRF token, as the agent desktop; text is set with textContent only and
// charts are SVG built with DOM calls (no library, no innerHTML).
import { $, ACTION, CATEGORY, alertMsg, client, el, onSignIn, showSignInForm } from './common.js';

const STATE = { registered: '已登记', pending_approval: '待批办', approved: '已批办', transferred: '已转办', accepted: '已签收',
  replied: '已反馈', completed: '完成处理', closed: '已办结', archived: '已归档', referred: '已告知转出' };
const AGENT_STATE = { ready: '就绪', on_call: '通话中', wrap_up: '话后处理', paused: '小休' };
const REGION = { 110101: '东城区', 110102: '西城区', 110105: '朝阳区', 110106: '丰台区', 110107: '石景山区', 110108: '海淀区',
  110109: '门头沟区', 110111: '房山区', 110112: '通州区', 110113: '顺义区', 110114: '昌平区', 110115: '大兴区', 110116: '怀柔区',
  110117: '平谷区', 110118: '密云区', 110119: '延庆区' };
const BOARD_EVERY_MS = 2000; // the wallboard's refresh: well inside the 5 s a big screen may lag

let session = null;
let units = {};
let board = null;
let boardTimer = null;
let report = null;
let assess = null;
let current = null;
let lastTab = 'board';

const api = client(() => session?.csrf_token, (_, detail) => showSignIn(detail || '请重新登录'));

const fmt = (t) => t && !t.startsWith('0001') ? new Date(t).toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false }).replace(/:\d\d$/, '') : '—';
const dur = (ms) => { const s = Math.floor(ms / 1000); return s >= 3600 ? `${Math.floor(s / 3600)}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}` : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`; };
const pct = (n, d) => d ? (100 * n / d).toFixed(1) + '%' : '—';
const unitName = (id) => units[id] || id || '—';
function btn(text, fn, cls) { const b = el('button', text, cls); b.type = 'button'; b.addEventListener('click', fn); return b; }
const today = () => new Date().toLocaleDateString('sv-SE', { timeZone: 'Asia/Shanghai' });

// ---- sign-in ----
function showSignIn(msg) {
  clearInterval(boardTimer);
  session = null;
  showSignInForm('sup', msg);
}

onSignIn(api, () => 'sip', async (s) => { session = s; await enter(); });

$('btn-signout').addEventListener('click', async () => {
  await api('POST', '/desk/api/signout', {}).catch(() => {});
  showSignIn('已退出');
});

async function enter() {
  const me = await api('GET', '/api/v1/me');
  if (me.role !== 'supervisor') { showSignIn('此工作台供督查人员使用；当前账号不是督查账号。'); return; }
  $('signin').hidden = true;
  $('sup').hidden = false;
  $('who').textContent = `督查 · ${me.name}`;
  const all = (await api('GET', '/api/v1/units').catch(() => ({ items: [] }))).items || [];
  units = Object.fromEntries(all.map((u) => [u.id, u.name]));
  $('s-unit').replaceChildren(new Option('— 全部 —', ''), ...all.filter((u) => u.level > 1).map((u) => new Option(u.name, u.id)));
  $('s-state').replaceChildren(new Option('— 全部 —', ''), ...Object.entries(STATE).map(([k, v]) => new Option(v, k)));
  $('r-date').value = today();
  const now = new Date();
  $('a-year').value = now.getFullYear();
  $('a-quarter').value = String(Math.floor(now.getMonth() / 3) + 1);
  show('board');
}

// ---- tabs (Alt+1..5; Esc leaves the case file) ----
const TABS = ['board', 'oversight', 'search', 'reports', 'assess'];
function show(tab) {
  for (const s of document.querySelectorAll('.tab')) s.hidden = s.id !== 'tab-' + tab;
  for (const b of document.querySelectorAll('[role=tab]')) b.setAttribute('aria-selected', String(b.dataset.tab === tab));
  if (tab !== 'case') lastTab = tab;
  clearInterval(boardTimer);
  if (tab === 'board') { loadBoard(); boardTimer = setInterval(loadBoard, BOARD_EVERY_MS); }
  if (tab === 'oversight') loadQueues().catch((e) => alertMsg(e.message));
  if (tab === 'reports' && !report) loadReports().catch((e) => alertMsg(e.message));
  if (tab === 'assess' && !assess) loadAssessment().catch((e) => alertMsg(e.message));
}
for (const b of document.querySelectorAll('[role=tab]')) b.addEventListener('click', () => show(b.dataset.tab));
document.addEventListener('keydown', (e) => {
  if (!session) return;
  if (e.altKey && e.key >= '1' && e.key <= '5') { e.preventDefault(); show(TABS[Number(e.key) - 1]); }
  if (e.key === 'Escape' && !$('tab-case').hidden) show(lastTab);
});

// ---- wallboard ----
async function loadBoard() {
  try {
    board = await api('GET', '/api/v1/wallboard');
  } catch (e) { if (e.status !== 401) alertMsg('大屏数据获取失败：' + e.message); return; }
  alertMsg('');
  $('w-waiting').textContent = board.waiting;
  $('w-waiting').parentElement.classList.toggle('warn', board.waiting > 0);
  $('w-longest').textContent = dur(board.longest_wait_ms);
  $('w-longest').parentElement.classList.toggle('bad', board.longest_wait_ms > board.service_level_seconds * 1000);
  $('w-offered').textContent = board.offered;
  $('w-answered').textContent = board.answered;
  $('w-within').textContent = board.answered_within_15s;
  $('w-sl').textContent = `服务水平 ${pct(board.answered_within_15s, board.offered)}`;
  $('w-abandoned').textContent = board.abandoned;
  const rate = board.answer_rate_24h;
  $('w-rate').textContent = rate === null ? '—' : (100 * rate).toFixed(1) + '%';
  $('w-rate').parentElement.classList.toggle('bad', rate !== null && rate < board.answer_rate_target);
  $('w-rate').parentElement.classList.toggle('good', rate !== null && rate >= board.answer_rate_target);
  $('w-rate-n').textContent = `${board.answered_24h} / ${board.offered_24h}`;
  const by = {};
  for (const a of board.agents) by[a.state] = (by[a.state] || 0) + 1;
  $('w-states').textContent = Object.entries(AGENT_STATE).map(([k, v]) => `${v} ${by[k] || 0}`).join(' · ');
  $('w-agents').replaceChildren(...board.agents.map((a) => {
    const li = el('li', undefined, 'agent ' + a.state);
    li.append(el('b', a.staff_number), el('span', (AGENT_STATE[a.state] || a.state) + (a.reason ? `（${a.reason}）` : '')), el('span', dur(a.in_state_ms), 'dur'));
    if (a.state !== 'logged_out') {
      // A supervisor's order, with a reason, on record (audit log).
      const order = (action, label) => btn(label, async () => {
        const reason = (window.prompt(`${label}话务员 ${a.staff_number} 的原因：`) || '').trim();
        if (!reason) return;
        try { await api('POST', `/api/v1/agents/${encodeURIComponent(a.staff_number)}/${action}`, { reason }); alertMsg(''); }
        catch (err) { alertMsg(`${label}失败：${err.message}`); }
      }, 'small');
      const acts = el('span', undefined, 'force');
      if (a.state !== 'paused') acts.append(order('pause', '暂停'));
      acts.append(order('logout', '签出'));
      li.append(acts);
    }
    return li;
  }));
  $('w-at').textContent = fmt(board.at).slice(-5) + ':' + new Date(board.at).getSeconds().toString().padStart(2, '0');
}

// ---- oversight queues ----
function caseLine(c, ...actions) {
  const li = el('li', undefined, 'qline');
  const a = el('a', c.number);
  a.href = '#case=' + c.id;
  a.addEventListener('click', (e) => { e.preventDefault(); openCase(c.id); });
  const late = c.deadline && !c.deadline.startsWith('0001') && new Date(c.deadline) < new Date();
  li.append(a, el('span', ` ${CATEGORY[c.category] || c.category} · ${unitName(c.lead_unit)} · 期限 ${fmt(c.deadline)}`, late ? 'overdue' : ''));
  const row = el('div', undefined, 'qacts');
  row.append(...actions);
  li.append(row);
  li.dataset.id = c.id;
  return li;
}

async function act(id, path, body, what) {
  try {
    await api('POST', `/api/v1/cases/${id}/${path}`, body);
    $('q-msg').textContent = `${what}：已完成`;
    $('q-msg').className = 'ok';
  } catch (e) {
    $('q-msg').textContent = `${what}失败：${e.message}`;
    $('q-msg').className = 'error';
  }
  await loadQueues();
  if (current && current.id === id) await openCase(id, true);
}

function approveButtons(c) {
  const input = el('input'); input.placeholder = '批示意见'; input.setAttribute('aria-label', '批示意见'); input.className = 'opinion';
  return [input, btn('批办', () => act(c.id, 'approve', { opinion: input.value.trim() || '同意' }, `批办 ${c.number}`), 'primary')];
}
function deadlineButtons(c) {
  return [btn('催办', () => act(c.id, 'remind', { note: '督查催办' }, `催办 ${c.number}`)),
    btn('督办', () => act(c.id, 'supervise', { note: '督查督办' }, `督办 ${c.number}`), 'primary')];
}
function reviewButtons(c) {
  const input = el('input'); input.placeholder = '退回理由'; input.setAttribute('aria-label', '退回理由'); input.className = 'opinion';
  return [btn('审查通过', () => act(c.id, 'review', { result: 'complete' }, `审查 ${c.number}`), 'primary'), input,
    btn('退回重办', () => act(c.id, 'review', { result: 'return', reason: input.value.trim() || '办理不到位' }, `退回 ${c.number}`))];
}

async function loadQueues() {
  const horizon = new Date(Date.now() + 2 * 86400000).toISOString(); // near: due within two days
  const [pend, due, replied] = await Promise.all([
    api('GET', '/api/v1/cases?state=pending_approval&limit=200'),
    api('GET', '/api/v1/cases?due_before=' + encodeURIComponent(horizon) + '&limit=200'),
    api('GET', '/api/v1/cases?state=replied&limit=200')]);
  const near = due.items.sort((a, b) => new Date(a.deadline) - new Date(b.deadline));
  const fill = (id, items, buttons) => $(id).replaceChildren(...(items.length ? items.map((c) => caseLine(c, ...buttons(c))) : [el('li', '无', 'muted')]));
  fill('q-approval', pend.items, approveButtons);
  fill('q-deadline', near, deadlineButtons);
  fill('q-review', replied.items, reviewButtons);
}

// ---- search ----
$('s-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const p = new URLSearchParams({ limit: '100' });
  for (const [k, id] of [['q', 's-q'], ['phone', 's-phone'], ['unit', 's-unit'], ['state', 's-state'], ['from', 's-from'], ['to', 's-to']]) {
    const v = $(id).value.trim();
    if (v) p.set(k, v);
  }
  try {
    const res = await api('GET', '/api/v1/cases?' + p);
    $('s-rows').replaceChildren(...res.items.map((c) => {
      const tr = el('tr', undefined, 'row');
      tr.tabIndex = 0;
      tr.dataset.id = c.id;
      tr.append(el('td', c.number), el('td', CATEGORY[c.category] || c.category), el('td', REGION[c.region] || c.region),
        el('td', STATE[c.state] || c.state), el('td', unitName(c.lead_unit)), el('td', fmt(c.deadline)), el('td', fmt(c.created_at)));
      tr.addEventListener('click', () => openCase(c.id));
      tr.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') openCase(c.id); });
      return tr;
    }));
    $('s-empty').hidden = res.items.length > 0;
  } catch (err) { alertMsg('查询失败：' + err.message); }
});

// ---- case file ----
async function openCase(id, stay) {
  const [c, media] = await Promise.all([api('GET', '/api/v1/cases/' + id), api('GET', `/api/v1/cases/${id}/media`)]);
  current = c;
  if (!stay) show('case');
  $('c-number').textContent = c.number;
  $('c-state').textContent = STATE[c.state] || c.state;
  const who = c.caller || {};
  $('c-caller').textContent = [who.name, who.phone, who.address].filter(Boolean).join(' · ') || '匿名';
  $('c-kind').textContent = `${CATEGORY[c.category] || c.category} · ${REGION[c.region] || c.region}` + (c.confidentiality !== 'none' ? ' · 保密' : '');
  $('c-received').textContent = fmt(c.received_at);
  $('c-lead').textContent = c.lead ? c.lead.name || unitName(c.lead.id) : '—';
  $('c-deadline').textContent = fmt(c.deadline) + (c.deadline_provisional ? '（暂定）' : '');
  $('c-counts').textContent = `${c.reminders} / ${c.supervisions} / ${c.redos}`;
  $('c-content').textContent = c.content;
  const acts = c.state === 'pending_approval' ? approveButtons(c) : ['transferred', 'accepted'].includes(c.state) ? deadlineButtons(c)
    : c.state === 'replied' ? reviewButtons(c) : [];
  $('c-actions').replaceChildren(...acts);
  $('c-recordings').replaceChildren(...(media.recordings.length ? media.recordings.map((r) => {
    const li = el('li', `${fmt(r.saved_at)} · 时长 ${dur(r.duration_ms)} · 通话 ${r.call_id}`);
    const au = el('audio'); au.controls = true; au.preload = 'none'; au.src = `/api/v1/cases/${c.id}/recordings/${encodeURIComponent(r.recording_id)}/audio`;
    au.dataset.recording = r.recording_id;
    li.append(au);
    return li;
  }) : [el('li', '无录音', 'muted')]));
  const items = [...media.voicemails.map((v) => {
    const li = el('li', `留言 ${fmt(v.at)}`);
    const au = el('audio'); au.controls = true; au.preload = 'none'; au.src = `/api/v1/voicemails/${v.id}/audio`;
    li.append(au);
    return li;
  }), ...media.faxes.map((f) => {
    const li = el('li', `传真 ${fmt(f.at)} `);
    const a = el('a', '查看 PDF'); a.href = `/api/v1/faxes/${f.id}/pdf`; a.target = '_blank'; a.rel = 'noopener';
    li.append(a);
    return li;
  })];
  $('c-items').replaceChildren(...(items.length ? items : [el('li', '无', 'muted')]));
  $('c-materials').replaceChildren(...((c.materials || []).length ? c.materials.map((m) => el('li', `${({ recording: '录音', voicemail: '留言', fax: '传真', document: '文件' })[m.kind] || m.kind} ${fmt(m.added_at)}`)) : [el('li', '无', 'muted')]));
  $('c-history').replaceChildren(...c.history.map((h) => {
    const li = el('li');
    li.append(el('time', fmt(h.at)), el('b', ACTION[h.action] || h.action), el('span', `${h.actor?.role === 'unit' ? unitName(h.actor.unit_id) : h.actor?.id || ''}`, 'muted'));
    const text = h.note || h.details?.text || h.details?.reason || h.details?.opinion || '';
    if (h.lead) li.append(el('span', `→ ${unitName(h.lead)}`));
    if (text) li.append(el('p', text));
    return li;
  }));
}
$('c-back').addEventListener('click', () => show(lastTab));
$('c-print').addEventListener('click', () => window.print());

// ---- reports ----
function period() {
  const kind = $('r-period').value;
  if (kind === 'range') return `from=${$('r-from').value}&to=${$('r-to').value}`;
  return `period=${kind}&date=${$('r-date').value || today()}`;
}

async function loadReports() {
  const q = period();
  const [calls, staff, business] = await Promise.all(['calls', 'staff', 'business'].map((k) => api('GET', `/api/v1/reports/${k}?${q}`)));
  report = { calls, staff, business };
  const kind = $('r-period').selectedOptions[0].textContent;
  const to = new Date(new Date(calls.to).getTime() - 1);
  $('r-title').textContent = `${kind} ${fmt(calls.from).slice(0, 10)} 至 ${fmt(to.toISOString()).slice(0, 10)}`;
  kv('r-calls', callRows());
  const st = $('r-staff');
  st.replaceChildren(row('th', ...STAFF_HEAD), ...staff.staff.map((l) => row('td', ...staffRow(l))));
  kv('r-business', businessRows());
  chart('ch-trend', business.trend.map((c) => [c.key.slice(5), c.n]), 'line');
  chart('ch-category', business.by_category.map((c) => [CATEGORY[c.key] || c.key, c.n]));
  chart('ch-region', business.by_region.map((c) => [REGION[c.key] || c.key, c.n]));
  chart('ch-unit', business.by_unit.map((c) => [unitName(c.key), c.n]));
}
const STAFF_HEAD = ['工号', '接听量', '通话时长', '办理工单'];
const staffRow = (l) => [l.staff_number, l.calls, dur(l.talk_ms), l.cases_handled];
function callRows() {
  const c = report.calls;
  const q = c.queue;
  return [['呼入总量', c.inbound], ['呼出总量', c.outbound], ['通话总量', c.total], ['通话总时长', dur(c.total_duration_ms)],
    ['系统接通', c.answered], ['失败', c.failed], ['三方转接', c.transferred],
    ['排队呼入（人工服务请求）', q.offered], ['人工接听', q.agent_answered], ['15 秒内接听', q.answered_within_15s],
    ['排队放弃', q.queue_abandoned], ['平均应答等待', dur(q.average_answer_wait_ms)],
    ['人工接通率', pct(q.agent_answered, q.offered)], ['服务水平（15 秒）', pct(q.answered_within_15s, q.offered)]];
}
function businessRows() {
  const b = report.business;
  return [['登记工单', b.registered], ['单位反馈', b.replies], ['超期反馈', b.late_replies], ['退回重办', b.returns],
    ['催办', b.reminders], ['督办', b.supervisions], ['当前超期', b.overdue_now],
    ['热点问题', b.hot.map((h) => { const [r, c] = h.key.split('/'); return `${REGION[r] || r}/${CATEGORY[c] || c} ${h.n}`; }).join('；') || '—'],
    ['重复反映', b.recurring.map((h) => `${h.key} ×${h.n}`).join('；') || '—']];
}
function row(cell, ...vals) { const tr = el('tr'); tr.append(...vals.map((v) => el(cell, String(v)))); return tr; }
function kv(id, rows) { $(id).replaceChildren(...rows.map(([k, v]) => { const tr = el('tr'); tr.append(el('th', k), el('td', String(v))); return tr; })); }

// chart draws bars (or a line) as inline SVG: a few dozen elements, no library.
const SVG = 'http://www.w3.org/2000/svg';
function svgEl(tag, attrs, text) { const e = document.createElementNS(SVG, tag); for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v); if (text !== undefined) e.textContent = text; return e; }
function chart(id, data, kind) {
  const W = 300, H = 150, pad = 22, n = data.length;
  const svg = svgEl('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': data.map(([k, v]) => `${k} ${v}`).join('，') || '无数据' });
  if (!n) { svg.append(svgEl('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'lbl' }, '无数据')); $(id).replaceChildren(svg); return; }
  const max = Math.max(1, ...data.map(([, v]) => v));
  const bw = (W - 2 * pad) / n;
  const y = (v) => H - pad - (H - 2 * pad) * v / max;
  svg.append(svgEl('line', { x1: pad, y1: H - pad, x2: W - pad, y2: H - pad, class: 'axis' }));
  if (kind === 'line') {
    svg.append(svgEl('polyline', { points: data.map(([, v], i) => `${pad + bw * (i + 0.5)},${y(v)}`).join(' '), class: 'trend' }));
  }
  data.forEach(([k, v], i) => {
    const x = pad + bw * i;
    if (kind === 'line') svg.append(svgEl('circle', { cx: x + bw / 2, cy: y(v), r: 3, class: 'dot' }));
    else svg.append(svgEl('rect', { x: x + bw * 0.15, y: y(v), width: bw * 0.7, height: H - pad - y(v), class: 'bar' }));
    svg.append(svgEl('text', { x: x + bw / 2, y: y(v) - 3, 'text-anchor': 'middle', class: 'val' }, String(v)));
    if (n <= 12 || i % Math.ceil(n / 12) === 0) svg.append(svgEl('text', { x: x + bw / 2, y: H - 8, 'text-anchor': 'middle', class: 'lbl' }, String(k).slice(0, 6)));
  });
  $(id).replaceChildren(svg);
}

$('r-form').addEventListener('submit', (e) => { e.preventDefault(); loadReports().catch((err) => alertMsg('报表生成失败：' + err.message)); });
$('r-print').addEventListener('click', () => window.print());

function csvText(rows) {
  const q = (s) => '"' + String(s ?? '').replaceAll('"', '""') + '"';
  return '\ufeff' + rows.map((r) => r.map(q).join(',')).join('\r\n') + '\r\n';
}
function csv(kind) {
  if (kind === 'calls') return csvText([['项目', '数值'], ...callRows()]);
  if (kind === 'staff') return csvText([STAFF_HEAD, ...report.staff.staff.map(staffRow)]);
  if (kind === 'business') {
    const b = report.business;
    const groups = [['类别', b.by_category, (k) => CATEGORY[k] || k], ['区域', b.by_region, (k) => REGION[k] || k],
      ['承办单位', b.by_unit, unitName], ['日期', b.trend, (k) => k]];
    return csvText([['项目', '数值'], ...businessRows(), ...groups.flatMap(([g, list, name]) => list.map((c) => [`${g}:${name(c.key)}`, c.n]))]);
  }
  if (kind === 'assess') return csvText(assessRows());
  return '';
}
function download(name, text) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}
for (const b of document.querySelectorAll('button.csv')) {
  b.addEventListener('click', () => report && download(`12345-${b.dataset.csv}-${period().replace(/[^0-9a-z-]+/g, '_')}.csv`, csv(b.dataset.csv)));
}

// ---- assessment ----
async function loadAssessment() {
  assess = await api('GET', `/api/v1/assessment?year=${$('a-year').value}&quarter=${$('a-quarter').value}`);
  const rows = assessRows();
  $('a-head').replaceChildren(row('th', ...rows[0]));
  $('a-rows').replaceChildren(...rows.slice(1).map((r) => row('td', ...r)));
}
function assessRows() {
  const defs = assess.ground_definitions || [];
  const head = ['排名', '承办单位', ...defs.map((d) => `${d.number}. ${d.label}`), '按时办结率', '满意率'];
  const rate = (r) => r && r.den ? pct(r.num, r.den) : '—';
  return [head, ...assess.units.map((u) => [u.rank || '—', unitName(u.unit_id),
    ...defs.map((d) => (u.grounds.find((g) => g.ground === d.code) || {}).count || 0), rate(u.on_time_rate), rate(u.satisfaction_rate)])];
}
$('a-form').addEventListener('submit', (e) => { e.preventDefault(); loadAssessment().catch((err) => alertMsg('考核查询失败：' + err.message)); });
$('a-csv').addEventListener('click', () => assess && download(`12345-assessment-${$('a-year').value}Q${$('a-quarter').value}.csv`, csv('assess')));
$('a-print').addEventListener('click', () => window.print());

// Read by the Chromium tests: the exports as the buttons save them, the board
// as last drawn.
window.sup = { csv, board: () => board, openCase };

// ---- start: an existing session goes straight in ----
(async () => {
  try {
    session = await api('GET', '/desk/api/session');
    await enter();
  } catch (_) { showSignIn(''); }
})();
