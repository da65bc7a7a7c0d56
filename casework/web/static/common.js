// What the three pages (desk, portal, supervise) share: element lookup, the
// JSON client that sends the CSRF token and reads problem details, labels
// for categories and case actions, and the sign-in form. One copy, so a fix
// to sign-in or error handling reaches every page.

export const $ = (id) => document.getElementById(id);

export const CATEGORY = { inquiry: '咨询', help: '求助', complaint: '投诉', report: '举报', suggestion: '建议', praise: '表扬' };
export const ACTION = { register: '登记', transfer: '转办', accept: '签收', pass_down: '下派', report_progress: '汇报进度',
  request_extension: '申请延期', approve_extension: '同意延期', refuse_extension: '不同意延期', remind: '催办', supervise: '督办',
  reply: '反馈', complete: '审查通过', return_for_redo: '退回重办', callback: '回访', callback_reopen: '回访不满意重办', close: '办结',
  archive: '归档', attach_material: '附加材料', link_call: '关联通话', record_repeat: '重复反映', record_finding: '督查认定',
  recompute_deadline: '重算时限', submit_for_approval: '呈批', approve: '批办', answer_directly: '直接办理', refer_out: '告知转出' };

export class APIError extends Error { constructor(status, detail) { super(detail); this.status = status; } }

export function alertMsg(msg) { const a = $('alert'); a.textContent = msg; a.hidden = !msg; }
export function el(tag, text, cls) { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; }

// client returns the page's api(method, path, body). csrf() is the signed-in
// session's token; unauthorized(path, detail) runs on a 401 (other than a
// failed sign-in) before the call throws, and is where a page signs out.
export function client(csrf, unauthorized) {
  return async function api(method, path, body) {
    const opt = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
    if (method !== 'GET') opt.headers['X-CSRF-Token'] = csrf() || '';
    if (body !== undefined) { opt.headers['Content-Type'] = 'application/json'; opt.body = JSON.stringify(body); }
    const r = await fetch(path, opt);
    const text = await r.text();
    let data = {};
    try { data = text ? JSON.parse(text) : {}; } catch (_) { data = { detail: text }; }
    if (r.status === 401 && path !== '/desk/api/signin') { await unauthorized(path, data.detail); throw new APIError(401, data.detail); }
    if (!r.ok) throw new APIError(r.status, data.detail || data.title || r.statusText);
    return data;
  };
}

// showSignInForm hides the page's work area and puts the cursor in the
// sign-in form, with msg saying why.
export function showSignInForm(workArea, msg) {
  $(workArea).hidden = true;
  $('signin').hidden = false;
  $('signin-error').textContent = msg || '';
  $('signin-password').value = '';
  $('signin-login').focus();
}

// onSignIn wires the sign-in form: it posts the login with the phone the
// page asks for (phone()) and hands the new session to signedIn.
export function onSignIn(api, phone, signedIn) {
  $('signin-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    $('signin-submit').disabled = true;
    try {
      const s = await api('POST', '/desk/api/signin', { login: $('signin-login').value.trim(), password: $('signin-password').value, phone: phone() });
      await signedIn(s);
    } catch (err) {
      $('signin-error').textContent = err.message || '登录失败';
    } finally { $('signin-submit').disabled = false; }
  });
}
