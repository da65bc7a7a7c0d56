// 承办单位工作台 (issue 13): a unit's inbox by deadline, the case page with its
// actions and history, and notifications. One origin, the session cookie plus
// the CSRF token, as the agent desktop. Everything shown is what the API gives
// a unit, which never includes a protected caller; text is set with
// textContent only.
import { $, ACTION, CATEGORY, alertMsg, client, el, onSignIn, showSignInForm } from './common.js';

const STATE = { registered: '已登记', transferred: '待签收', accepted: '已签收（办理中）', replied: '已反馈', completed: '完成处理',
  closed: '已办结', archived: '已归档', referred: '已告知', pending_approval: '待批办', approved: '已批办' };
const URGENCY = { normal: '一般', urgent: '紧急' };

let session = null;
let me = null;
let inbox = [];
let current = null;
let lastNote = -1; // newest notification seen; -1 before the first load
let poll = null;
window.portal = { exportCSV: () => csv() }; // read by the Chromium tests

const api = client(() => session?.csrf_token, (_, detail) => showSignIn(detail || '请重新登录'));

const fmt = (t) => t ? new Date(t).toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false }).replace(/:\d\d$/, '') : '—';

// ---- sign-in ----
function showSignIn(msg) {
  clearInterval(poll);
  session = null;
  showSignInForm('portal', msg);
}

onSignIn(api, () => 'sip', async (s) => { session = s; await enter(); });

async function enter() {
  me = await api('GET', '/api/v1/me');
  if (me.role !== 'unit') { showSignIn('此工作台供承办单位使用；当前账号不是单位账号。'); return; }
  $('signin').hidden = true;
  $('portal').hidden = false;
  const units = await api('GET', '/api/v1/units').catch(() => ({ items: [] }));
  const all = units.items || [];
  const mine = all.find((u) => u.id === me.unit_id);
  $('who').textContent = `${mine ? mine.name : me.unit_id} · ${me.name}`;
  const subs = all.filter((u) => u.parent_id === me.unit_id && u.level === 3 && u.active);
  $('a-sub').replaceChildren(new Option('— 选择下级单位 —', ''), ...subs.map((u) => new Option(u.name, u.id)));
  await Promise.all([loadInbox(), loadNotes()]);
  // New notifications while the page is open: a light poll with the session
  // (idle sessions still end: the poll is a GET and the server's idle clock
  // is what ends them).
  clearInterval(poll);
  poll = setInterval(() => { loadNotes().catch(() => {}); }, 10000);
}

// ---- inbox ----
async function loadInbox() {
  const all = $('show-all').checked ? '?all=true' : '';
  inbox = (await api('GET', '/api/v1/portal/inbox' + all)).items;
  const rows = inbox.map((c) => {
    const tr = el('tr', undefined, 'row');
    tr.tabIndex = 0;
    tr.dataset.id = c.id;
    tr.append(el('td', c.number), el('td', CATEGORY[c.category] || c.category), el('td', STATE[c.state] || c.state));
    const dl = el('td', fmt(c.deadline));
    if (c.deadline_provisional) dl.append(el('span', '暂定', 'prov'));
    const left = el('td', c.working_days_left === undefined ? '—' : (c.working_days_left < 0 ? `超期 ${-c.working_days_left} 个工作日` : `${c.working_days_left} 个工作日`));
    left.className = 'left' + (c.overdue ? ' overdue' : '');
    tr.append(dl, left);
    if (current && current.id === c.id) tr.classList.add('sel');
    tr.addEventListener('click', () => openCase(c.id));
    tr.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); openCase(c.id); } });
    return tr;
  });
  $('inbox').replaceChildren(...rows);
  $('inbox-empty').hidden = rows.length > 0;
}

function csv() {
  const q = (s) => '"' + String(s ?? '').replaceAll('"', '""') + '"';
  const lines = [['工单号', '类别', '状态', '办理期限', '期限暂定', '剩余工作日'].map(q).join(',')];
  for (const c of inbox) {
    lines.push([c.number, CATEGORY[c.category] || c.category, STATE[c.state] || c.state, fmt(c.deadline),
      c.deadline_provisional ? '是' : '否', c.working_days_left ?? ''].map(q).join(','));
  }
  return '\ufeff' + lines.join('\r\n') + '\r\n';
}

$('btn-export').addEventListener('click', () => {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([csv()], { type: 'text/csv;charset=utf-8' }));
  a.download = '待办工单.csv';
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
});

// ---- case page ----
async function openCase(id) {
  let c;
  try { c = await api('GET', '/api/v1/cases/' + encodeURIComponent(id)); } catch (err) { alertMsg('无法打开工单：' + err.message); return; }
  current = c;
  document.querySelectorAll('#inbox tr').forEach((tr) => tr.classList.toggle('sel', tr.dataset.id === id));
  $('case-empty').hidden = true;
  $('case-body').hidden = false;
  $('c-number').textContent = c.number;
  $('c-state').textContent = STATE[c.state] || c.state;
  $('c-category').textContent = CATEGORY[c.category] || c.category;
  $('c-urgency').textContent = URGENCY[c.urgency] || c.urgency;
  $('c-lead').textContent = c.lead ? c.lead.name : '—';
  $('c-deadline').textContent = fmt(c.deadline) + (c.deadline_provisional ? '（暂定：当年放假安排尚未公布）' : '');
  $('c-caller').textContent = c.caller_redacted ? '（保密，不向承办单位显示）' : [c.caller?.name, c.caller?.phone].filter(Boolean).join(' ') || '—';
  $('c-content').textContent = c.content;
  const mine = c.lead && c.lead.id === me.unit_id;
  $('a-accept').disabled = !(mine && c.state === 'transferred');
  $('a-pass').disabled = !(mine && c.state === 'accepted' && $('a-sub').options.length > 1);
  for (const b of ['a-progress', 'a-reply', 'a-extend']) $(b).disabled = !(mine && c.state === 'accepted');
  $('c-history').replaceChildren(...c.history.map((h) => {
    const li = el('li', `${fmt(h.at)} ${ACTION[h.action] || h.action}`);
    const text = h.note || h.details?.text || h.details?.reason || '';
    if (text) li.append(el('span', '：' + text));
    return li;
  }));
  $('a-msg').textContent = '';
}

async function act(path, body, done) {
  $('a-msg').className = '';
  try {
    await api('POST', `/api/v1/cases/${encodeURIComponent(current.id)}/${path}`, body);
    $('a-msg').textContent = done;
    $('a-text').value = '';
    await loadInbox();
    await openCase(current.id);
    $('a-msg').textContent = done;
  } catch (err) { $('a-msg').textContent = '操作未成功：' + err.message; $('a-msg').className = 'error'; }
}

$('a-accept').addEventListener('click', () => act('accept', {}, '已签收'));
$('a-pass').addEventListener('click', () => {
  if (!$('a-sub').value) { $('a-msg').textContent = '请选择下级单位'; return; }
  act('pass-down', { sub_unit: $('a-sub').value, note: $('a-text').value.trim() || undefined }, '已下派');
});
$('a-progress').addEventListener('click', () => act('progress', { text: $('a-text').value.trim() }, '已汇报进度'));
$('a-reply').addEventListener('click', () => act('reply', { text: $('a-text').value.trim() }, '已反馈办理结果'));
$('a-extend').addEventListener('click', () => act('extension-requests', { working_days: Number($('a-days').value), reason: $('a-text').value.trim() }, '已申请延期'));

// ---- notifications ----
async function loadNotes() {
  const n = await api('GET', '/api/v1/notifications?limit=50');
  $('unread').textContent = String(n.unread);
  $('note-list').replaceChildren(...n.items.map((x) => {
    const p = x.notification;
    const li = el('li', `${fmt(p.at)} 【${p.label}】 ${p.case_number}${p.note ? '：' + p.note : ''}`, x.read ? '' : 'unread');
    li.dataset.id = x.id;
    li.dataset.kind = p.kind;
    return li;
  }));
  const newest = n.items.length ? n.items[0].id : 0;
  if (lastNote >= 0 && newest > lastNote) await loadInbox(); // a new case or a changed deadline
  lastNote = Math.max(lastNote, newest);
  if (n.unread > 0) $('notes').hidden = false;
}

$('btn-notes').addEventListener('click', () => { $('notes').hidden = !$('notes').hidden; });
$('btn-read-all').addEventListener('click', async () => { await api('POST', '/api/v1/notifications/read', { all: true }); await loadNotes(); });
$('btn-refresh').addEventListener('click', () => { loadInbox(); loadNotes(); });
$('show-all').addEventListener('change', () => loadInbox());
$('btn-signout').addEventListener('click', async () => {
  try { await api('POST', '/desk/api/signout', {}); } catch (_) { /* signed out anyway */ }
  showSignIn('已退出登录');
});

// A session still open (reload) goes straight to the inbox.
(async () => {
  try {
    const r = await fetch('/desk/api/session', { credentials: 'same-origin' });
    if (!r.ok) { showSignIn(''); return; }
    session = await r.json();
    await enter();
  } catch (_) { showSignIn(''); }
})();
