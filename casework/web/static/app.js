// 话务员工作台: one page, one origin. Casework's API (/api/v1/...) and the call
// service's agent API (/api/v1/agent/..., proxied by casework) are called with
// the session cookie plus the CSRF token; nothing here holds a bearer token.
import { Softphone } from './phone.js';
import { $, CATEGORY, alertMsg, client, onSignIn, showSignInForm } from './common.js';

const STATE = { logged_out: '未签入', ready: '就绪', on_call: '通话中', wrap_up: '话后整理', paused: '小休' };
const CASE_STATE = { registered: '已登记', answered: '已直接答复', referred: '已告知转出', pending_approval: '待批办', transferred: '已转办',
  accepted: '已签收', passed_down: '已下派', replied: '已反馈', completed: '已办结', callback: '回访中', closed: '已关闭', archived: '已归档', returned: '退回重办' };
// 行政区划 of the city (region field of C1).
const REGIONS = [['110101', '东城区'], ['110102', '西城区'], ['110105', '朝阳区'], ['110106', '丰台区'], ['110107', '石景山区'],
  ['110108', '海淀区'], ['110109', '门头沟区'], ['110111', '房山区'], ['110112', '通州区'], ['110113', '顺义区'], ['110114', '昌平区'],
  ['110115', '大兴区'], ['110116', '怀柔区'], ['110117', '平谷区'], ['110118', '密云区'], ['110119', '延庆区']];

let session = null;   // GET /desk/api/session
let phone = null;     // Softphone, when the agent chose the browser
let agent = {};       // GET /api/v1/agent
let pop = null;       // the current call's screen pop
let units = [];
let callStart = 0;
window.desk = { timing: {} }; // read by the Chromium tests (and handy in devtools)

// A 401 from the call service while the desk session is still good means the
// call service refused the session's credentials: say so instead of signing out.
const api = client(() => session?.csrf_token, async (path, detail) => {
  if (path.startsWith('/api/v1/agent')) {
    const s = await fetch('/desk/api/session', { credentials: 'same-origin' });
    if (s.ok) { alertMsg('话务服务拒绝了本次登录的凭证（' + (detail || '401') + '），请联系管理员'); return; }
  }
  showSignIn(detail || '请重新登录');
});

function note(el, msg, err) { $(el).textContent = msg; $(el).className = err ? 'error' : ''; }

// ---- sign-in ----
function showSignIn(msg) {
  teardown();
  session = null;
  showSignInForm('desk', msg);
}

onSignIn(api, () => document.querySelector('input[name=phone]:checked').value, async (s) => { session = s; await enterDesk(); });

async function enterDesk() {
  $('signin').hidden = true;
  $('desk').hidden = false;
  const u = session.user;
  $('who').textContent = `${u.name}${u.staff_number ? '（工号 ' + u.staff_number + '）' : ''}`;
  $('pause-reason').replaceChildren(...session.pause_reasons.map((r) => new Option(r, r)));
  $('f-region').replaceChildren(...REGIONS.map(([c, n]) => new Option(`${n}`, c)));
  loadUnits();
  loadInbox();
  if (u.role !== 'agent') { alertMsg('此工作台供话务员使用；当前账号不是话务员。'); return; }
  if (session.phone === 'browser') await startPhone();
  else {
    await api('POST', '/api/v1/agent/softphone', { kind: 'sip' }).catch(() => {});
    $('phone-status').textContent = 'SIP 软电话';
  }
  await refreshAgent();
  openPops();
}

async function startPhone() {
  try {
    const acc = await api('POST', '/api/v1/agent/softphone', { kind: 'browser' });
    phone = new Softphone({ username: acc.username, password: acc.password, wsPath: session.sip_websocket, audio: $('remote-audio'),
      onState: (s) => { $('phone-status').textContent = s; if (s === '已注册') alertMsg(''); },
      onIncoming: ringing, onEnded: callEnded, onFault: phoneFault });
    await phone.start();
  } catch (err) { phoneFault(err.message); }
}

// phoneFault: a phone that cannot ring takes the agent out of the queue.
async function phoneFault(msg) {
  $('phone-status').textContent = '故障';
  alertMsg(msg + '。已暂停接听，排除故障后请点“就绪”。');
  // The state as the call service has it now: the page's copy may predate a
  // "ready" clicked a moment ago.
  await refreshAgent();
  if (agent.state === 'ready' || agent.state === 'wrap_up') {
    await api('POST', '/api/v1/agent/pause', { reason: '软电话故障' }).catch(() => {});
    refreshAgent();
  }
}

function teardown() {
  phone?.stop(); phone = null;
  window.desk.events?.close();
  clearInterval(window.desk.poll);
}

// ---- agent state ----
async function refreshAgent() {
  try { agent = await api('GET', '/api/v1/agent'); } catch (_) { return; }
  $('agent-state').textContent = STATE[agent.state] || agent.state;
  const since = agent.since ? Math.max(0, Math.round((Date.now() - Date.parse(agent.since)) / 1000)) : 0;
  $('state-detail').textContent = agent.state === 'paused' ? `（${agent.reason || ''}）` : agent.state === 'wrap_up' ? `已 ${since} 秒` : '';
  $('btn-login-queue').disabled = agent.state !== 'logged_out';
  $('btn-ready').disabled = agent.state === 'ready' || agent.state === 'on_call';
  $('btn-logout-queue').disabled = agent.state === 'logged_out';
  document.body.dataset.agentState = agent.state;
}

async function agentAction(act, body) {
  try { await api('POST', '/api/v1/agent/' + act, body); alertMsg(''); } catch (err) { alertMsg(err.message); }
  refreshAgent();
}
$('btn-login-queue').onclick = () => agentAction('login');
$('btn-ready').onclick = async () => {
  // No silent rings: with the browser softphone chosen, ready only when it is registered.
  if (session?.phone === 'browser' && !phone?.registered) { alertMsg('网页软电话未注册，不能就绪：请检查麦克风和网络后刷新页面'); return; }
  if (agent.state === 'logged_out') await agentAction('login');
  agentAction('ready');
};
$('btn-pause').onclick = () => agentAction('pause', { reason: $('pause-reason').value });
$('btn-logout-queue').onclick = () => agentAction('logout');

async function signOut(everywhere) {
  try { await api('POST', '/desk/api/signout', { everywhere }); } catch (_) { /* signed out anyway */ }
  showSignIn(everywhere ? '已在所有设备上退出登录' : '已退出登录');
}
$('btn-signout').onclick = () => signOut(false);
$('btn-signout-all').onclick = () => signOut(true);

// ---- calls ----
function ringing(from) {
  window.desk.timing.invite = Date.now();
  $('ring-from').textContent = from || '（号码未显示）';
  $('incoming').hidden = false;
  document.title = '【来电】12345 工作台';
  requestAnimationFrame(() => requestAnimationFrame(() => { window.desk.timing.ringPainted = Date.now(); }));
  $('btn-answer').focus();
}

function answer() {
  if (!phone?.answer()) return;
  $('incoming').hidden = true;
  document.title = '12345 热线 · 话务员工作台';
  callStart = Date.now();
}
$('btn-answer').onclick = answer;
$('btn-hangup').onclick = () => phone?.hangup();

function callEnded(why) {
  $('incoming').hidden = true;
  document.title = '12345 热线 · 话务员工作台';
  callStart = 0;
  note('case-note', why);
  refreshAgent();
}

setInterval(() => {
  if (!callStart) return;
  const s = Math.floor((Date.now() - callStart) / 1000);
  $('call-timer').textContent = `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}, 500);

function openPops() {
  const es = new EventSource('/api/v1/agent/screenpops');
  es.addEventListener('screenpop', (e) => showPop(JSON.parse(e.data)));
  es.onerror = () => { if (es.readyState === EventSource.CLOSED) alertMsg('来电弹屏连接中断，请刷新页面'); };
  window.desk.events = es;
  window.desk.poll = setInterval(refreshAgent, 2000);
}

function showPop(p) {
  pop = p;
  if (!callStart) callStart = Date.now();
  $('pop-caller').textContent = p.anonymous ? '（号码未显示）' : p.caller;
  $('pop-call').textContent = `呼叫 ${p.call_id}`;
  const cases = p.cases || [];
  $('pop-repeat').hidden = cases.length === 0;
  $('pop-cases').replaceChildren(...(cases.length ? cases.map((c) => {
    const li = document.createElement('li');
    li.textContent = `${c.number} · ${CATEGORY[c.category] || c.category} · ${CASE_STATE[c.state] || c.state}${c.deadline ? ' · 期限 ' + fmtTime(c.deadline) : ''}`;
    return li;
  }) : [Object.assign(document.createElement('li'), { className: 'muted', textContent: p.cases_error ? '历史工单暂不可查' : '无' })]));
  // The case form opens pre-filled with the number, the call linked.
  clearForm();
  $('f-phone').value = p.anonymous ? '' : p.caller;
  $('f-call').value = p.call_id;
  $('f-content').focus();
  refreshAgent();
}

function confidential() { return $('f-category').value === 'report' || $('f-confidentiality').value !== 'none'; }
function syncConfidential() {
  // 举报 and confidential cases: the unit sees the hotline's number, never the caller's (T13).
  const c = confidential();
  $('show-caller').disabled = c;
  if (c) $('show-caller').checked = false;
  $('case-note').textContent = c ? '举报/保密工单：三方通话时单位只看到热线号码' : '';
}
$('f-category').onchange = syncConfidential;
$('f-confidentiality').onchange = syncConfidential;

async function callOp(path, body, ok) {
  try { await api('POST', '/api/v1/agent/call/' + path, body); alertMsg(''); note('case-result', ok); } catch (err) { alertMsg(err.message); }
  refreshAgent();
}
$('btn-threeway').onclick = () => {
  const unit = $('unit-select').value;
  if (!unit) { alertMsg('请先选择单位'); return; }
  callOp('threeway', { unit_id: unit, confidential: confidential() || !$('show-caller').checked }, '已接通单位，三方通话中');
};
$('btn-threeway-drop').onclick = () => callOp('threeway/drop', {}, '已移出单位');
$('btn-threeway-leave').onclick = () => callOp('threeway/leave', {}, '您已退出，市民与单位继续通话');
$('btn-transfer').onclick = () => { const to = $('transfer-to').value.trim(); callOp('transfer', to ? { to } : {}, to ? `已转接 ${to}` : '已转回队列'); };
$('btn-polite-end').onclick = () => callOp('polite-ending', {}, '已播放结束语并结束通话');

// ---- units ----
async function loadUnits() {
  try { units = (await api('GET', '/api/v1/units?limit=200&active=true')).items || []; } catch (_) { units = []; }
  filterUnits();
  const opts = () => units.filter((u) => u.active !== false && u.level > 1).map((u) => new Option(`${u.name}（${u.id}）`, u.id));
  $('f-lead').replaceChildren(new Option('— 选择主办单位 —', ''), ...opts());
  $('f-assisting').replaceChildren(...opts());
}
function filterUnits() {
  const q = $('unit-search').value.trim().toLowerCase();
  const hit = units.filter((u) => u.duty_line && (!q || u.name.toLowerCase().includes(q) || u.id.toLowerCase().includes(q)));
  $('unit-select').replaceChildren(...hit.map((u) => new Option(`${u.name}（${u.id}）`, u.id)));
  if (hit.length === 1) $('unit-select').value = hit[0].id;
}
$('unit-search').addEventListener('input', filterUnits);

// ---- case form ----
document.querySelectorAll('input[name=action]').forEach((r) => r.addEventListener('change', () => {
  const a = document.querySelector('input[name=action]:checked').value;
  $('act-transfer').hidden = a !== 'transfer';
  $('act-text').hidden = a === 'transfer';
}));
function clearForm() {
  $('case-form').reset();
  $('f-call').value = '';
  $('act-transfer').hidden = false; $('act-text').hidden = true;
  syncConfidential();
}
$('btn-clear').onclick = clearForm;

function registration(channel) {
  const reg = {
    caller: { name: $('f-name').value.trim(), phone: $('f-phone').value.trim(), employer: $('f-employer').value.trim(), address: $('f-address').value.trim() },
    content: $('f-content').value.trim(), category: $('f-category').value, region: $('f-region').value, urgency: $('f-urgency').value,
    confidentiality: $('f-confidentiality').value, channel, handling_mode: $('f-mode').value, callback_consent: $('f-callback').checked,
  };
  if ($('f-call').value) reg.call_id = $('f-call').value;
  return reg;
}

async function afterRegister(c) {
  const a = document.querySelector('input[name=action]:checked').value;
  if (pop && $('f-call').value === pop.call_id && agent.state === 'on_call') {
    // The call (and its recording) belongs to the case; a report makes the call confidential.
    await api('POST', '/api/v1/agent/call/case', { case_id: c.id }).catch((e) => alertMsg('关联通话失败：' + e.message));
  }
  if (a === 'transfer') {
    const lead = $('f-lead').value;
    if (!lead) return `工单 ${c.number} 已登记（未选主办单位，未转办）`;
    const assisting = [...$('f-assisting').selectedOptions].map((o) => o.value).filter((v) => v !== lead);
    const t = await api('POST', `/api/v1/cases/${c.id}/transfer`, { lead, assisting });
    return `工单 ${c.number} 已登记并转办 ${lead}${t.deadline ? '，办理期限 ' + fmtTime(t.deadline) : ''}`;
  }
  const text = $('f-text').value.trim();
  if (a === 'answer') { await api('POST', `/api/v1/cases/${c.id}/answer`, { text }); return `工单 ${c.number} 已直接答复办结`; }
  await api('POST', `/api/v1/cases/${c.id}/refer`, { advice: text });
  return `工单 ${c.number} 已登记为告知转出`;
}

$('case-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('btn-register').disabled = true;
  try {
    const filing = window.desk.filing; // a voicemail or fax being filed
    const c = filing ? await api('POST', `/api/v1/${filing.kind}/${filing.id}/case`, registration(filing.kind === 'voicemails' ? 'voicemail' : 'fax'))
      : await api('POST', '/api/v1/cases', registration('phone'));
    window.desk.filing = null;
    window.desk.lastCase = c;
    note('case-result', await afterRegister(c));
    loadInbox();
  } catch (err) { note('case-result', '登记失败：' + err.message, true); } finally { $('btn-register').disabled = false; }
});

// ---- inbox ----
function fmtTime(t) { return new Date(t).toLocaleString('zh-CN', { hour12: false }); }
async function loadInbox() {
  try {
    const vms = (await api('GET', '/api/v1/voicemails?limit=50')).items || [];
    $('vm-list').replaceChildren(...vms.map((v) => {
      const li = document.createElement('li');
      li.dataset.id = v.id;
      li.innerHTML = '<div class="vm-head"></div><audio class="vm-audio" controls preload="none"></audio><button class="vm-file">立案</button>';
      li.querySelector('.vm-head').textContent = `${fmtTime(v.left_at)} · ${v.caller || '（号码未显示）'} · ${Math.round(v.duration_ms / 1000)} 秒${v.heard_at ? ' · 已听' : ''}`;
      const au = li.querySelector('audio');
      au.src = `/api/v1/voicemails/${v.id}/audio`; // listening marks it heard (by this agent)
      li.querySelector('.vm-file').onclick = () => fileItem('voicemails', v.id, v.caller);
      return li;
    }));
  } catch (_) { /* shown on the next refresh */ }
  try {
    const faxes = (await api('GET', '/api/v1/faxes?limit=50')).items || [];
    $('fax-list').replaceChildren(...faxes.map((f) => {
      const li = document.createElement('li');
      li.dataset.id = f.id;
      li.innerHTML = '<span class="fax-head"></span> <button class="fax-show">查看</button> <button class="fax-file">立案</button>';
      li.querySelector('.fax-head').textContent = `${fmtTime(f.at)} · ${f.caller || '（号码未显示）'} · ${f.pages} 页`;
      li.querySelector('.fax-show').onclick = () => { $('fax-view').src = `/api/v1/faxes/${f.id}/pdf`; $('fax-view').hidden = false; };
      li.querySelector('.fax-file').onclick = () => fileItem('faxes', f.id, f.caller);
      return li;
    }));
  } catch (_) { /* idem */ }
  try {
    const cases = (await api('GET', '/api/v1/cases?limit=30')).items || [];
    $('my-cases').replaceChildren(...cases.map((c) => {
      const li = document.createElement('li');
      const late = c.deadline && Date.parse(c.deadline) < Date.now();
      li.textContent = `${c.number} · ${CATEGORY[c.category] || c.category} · ${CASE_STATE[c.state] || c.state}${c.deadline ? ' · 期限 ' + fmtTime(c.deadline) : ''}`;
      if (late) li.className = 'overdue';
      return li;
    }));
  } catch (_) { /* idem */ }
}

function fileItem(kind, id, caller) {
  clearForm();
  window.desk.filing = { kind, id };
  $('f-phone').value = caller || '';
  note('case-note', kind === 'voicemails' ? '正在将留言立案' : '正在将传真立案');
  $('f-content').focus();
}

function tab(name) {
  for (const n of ['voicemail', 'fax', 'cases']) {
    $('tab-' + n).setAttribute('aria-selected', String(n === name));
    $('pane-' + n).hidden = n !== name;
  }
  loadInbox();
}
$('tab-voicemail').onclick = () => tab('voicemail');
$('tab-fax').onclick = () => tab('fax');
$('tab-cases').onclick = () => tab('cases');

// ---- keyboard ----
document.addEventListener('keydown', (e) => {
  const keys = { F2: answer, F3: () => $('btn-ready').click(), F4: () => $('btn-pause').click(), F6: () => $('case-form').requestSubmit(),
    F7: () => $('btn-threeway').click(), F8: () => $('btn-transfer').click(), F9: () => $('btn-polite-end').click(), Escape: () => alertMsg('') };
  if (keys[e.key] && !$('desk').hidden) { e.preventDefault(); keys[e.key](); }
});

window.desk.phone = () => phone;
window.desk.pop = () => pop;

// Start: an existing session goes straight to the desk.
(async () => {
  try {
    const r = await fetch('/desk/api/session', { credentials: 'same-origin' });
    if (!r.ok) { showSignIn(''); return; }
    session = await r.json();
    await enterDesk();
  } catch (_) { showSignIn(''); }
})();
