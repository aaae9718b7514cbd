// Sekisho dashboard: the only script. Forms and buttons marked data-api call the JSON API with the
// session's CSRF token; the Live page follows the server-sent event stream. No inline script, no
// framework, no build step.

const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';

async function api(method, url, body) {
  const headers = { accept: 'application/json' };
  if (csrf) headers['x-csrf-token'] = csrf;
  const init = { method, headers, credentials: 'same-origin' };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(url, init);
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  return { ok: res.ok, status: res.status, data };
}

/** The fields of a form as JSON: `a.b` names nest, checkboxes are booleans, empty fields are left out. */
function formBody(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name || el.disabled || el.type === 'submit' || el.type === 'button') continue;
    let value;
    if (el.type === 'checkbox') value = el.checked;
    else if (el.value === '') {
      if (!el.hasAttribute('data-null-if-empty')) continue;
      value = null;
    } else if (el.type === 'number') value = Number(el.value);
    else value = el.value;
    const path = el.name.split('.');
    let target = out;
    for (const key of path.slice(0, -1)) target = target[key] ??= {};
    target[path.at(-1)] = value;
  }
  return out;
}

function showError(scope, data, status) {
  const text = data?.error ? data.error.text || data.error.message : `HTTP ${status}`;
  const detail = data?.error?.text && data.error.message !== data.error.text ? data.error.message : '';
  const slot = scope?.querySelector('.form-error');
  if (slot) {
    slot.textContent = detail ? `${text} (${detail})` : text;
    slot.hidden = false;
  } else {
    window.alert(detail ? `${text}\n${detail}` : text);
  }
}

function showOnce(label, value) {
  return new Promise((resolve) => {
    const dialog = document.createElement('dialog');
    dialog.className = 'once';
    const p = document.createElement('p');
    p.textContent = label;
    const code = document.createElement('code');
    code.textContent = value;
    code.id = 'once-value';
    const ok = document.createElement('button');
    ok.textContent = 'OK';
    ok.className = 'primary';
    ok.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve();
    });
    dialog.append(p, code, ok);
    document.body.append(dialog);
    dialog.showModal();
  });
}

async function after(el, data) {
  if (data && typeof data.initialPassword === 'string') {
    const label =
      document.documentElement.lang === 'ja'
        ? '初期パスワード（一度だけ表示されます。本人に渡してください）：'
        : 'Initial password (shown once; hand it to the user):';
    await showOnce(label, data.initialPassword);
  }
  const resultId = el.getAttribute('data-result');
  if (resultId) {
    const out = document.getElementById(resultId);
    if (out && data) {
      const labels = document.getElementById('reason-labels');
      const reason =
        labels?.content.querySelector(`[data-reason="${data.reason}"]`)?.textContent ?? data.reason;
      const verdict = data.granted ? out.dataset.granted : out.dataset.denied;
      out.textContent = `${verdict} — ${reason} (${data.door ?? ''} ${data.direction ?? ''}, #${data.seq ?? '-'})`;
      out.className = `result ${data.granted ? 'good' : 'bad'}`;
    }
    return;
  }
  const then = el.getAttribute('data-then');
  if (!then) return;
  if (then === 'reload') window.location.reload();
  else window.location.assign(then.replace(/\{(\w+)\}/g, (_m, k) => encodeURIComponent(data?.[k] ?? '')));
}

async function run(el, method, url, body, scope) {
  const busy = el.getAttribute('data-busy');
  const button = el.tagName === 'FORM' ? el.querySelector('button[type="submit"]') : el;
  const label = button?.textContent;
  if (button) button.disabled = true;
  if (busy && button) button.textContent = busy;
  const slot = scope?.querySelector('.form-error');
  if (slot) slot.hidden = true;
  try {
    const r = await api(method, url, body);
    if (!r.ok) {
      if (r.status === 401 && r.data?.error?.code === 'unauthorized') {
        window.location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
        return;
      }
      showError(scope, r.data, r.status);
      return;
    }
    const done = el.getAttribute('data-done');
    if (done && slot) {
      slot.textContent = done;
      slot.hidden = false;
    }
    await after(el, r.data);
  } catch (err) {
    showError(scope, { error: { message: String(err) } }, 0);
  } finally {
    if (button) {
      button.disabled = false;
      if (busy) button.textContent = label;
    }
  }
}

document.addEventListener('submit', (e) => {
  const form = e.target.closest('form[data-api]');
  if (!form) return;
  e.preventDefault();
  const method = form.getAttribute('data-method') || 'POST';
  run(form, method, form.getAttribute('data-api'), formBody(form), form);
});

document.addEventListener('click', (e) => {
  const langButton = e.target.closest('[data-lang-switch]');
  if (langButton) {
    // biome-ignore lint/suspicious/noDocumentCookie: a plain preference cookie, read by the server
    document.cookie = `sekisho_lang=${langButton.getAttribute('data-lang-switch')}; path=/; max-age=31536000; samesite=strict`;
    window.location.reload();
    return;
  }
  if (e.target.closest('[data-print]')) {
    window.print();
    return;
  }
  const el = e.target.closest('button[data-api]');
  if (!el) return;
  e.preventDefault();
  const question = el.getAttribute('data-confirm');
  if (question && !window.confirm(question)) return;
  const form = el.closest('form');
  let body;
  if (el.hasAttribute('data-form-body') && form) body = formBody(form);
  else if (el.hasAttribute('data-body')) body = JSON.parse(el.getAttribute('data-body'));
  const method = el.getAttribute('data-method') || 'POST';
  run(
    el,
    method,
    el.getAttribute('data-api'),
    method === 'GET' || method === 'DELETE' ? body : (body ?? {}),
    form ?? el.parentElement,
  );
});

// The Live page: replace the panel with each `status` event; reconnects by itself.
const live = document.querySelector('[data-live]');
if (live && 'EventSource' in window) {
  const indicator = document.getElementById('live-indicator');
  const setState = (ok) => {
    if (!indicator) return;
    indicator.textContent = ok ? indicator.dataset.ok : indicator.dataset.lost;
    indicator.className = `live-indicator ${ok ? 'on' : 'off'}`;
  };
  const source = new EventSource(live.getAttribute('data-live'));
  source.addEventListener('open', () => setState(true));
  source.addEventListener('error', () => setState(false));
  source.addEventListener('status', (ev) => {
    setState(true);
    const data = JSON.parse(ev.data);
    // Keep what someone is typing: do not replace the panel while a field in it has focus.
    const active = document.activeElement;
    if (active && live.contains(active) && active.tagName === 'INPUT' && active.value) return;
    if (typeof data.html === 'string') live.innerHTML = data.html;
    live.dataset.seq = String(data.status?.journal?.headSeq ?? '');
    const count = document.getElementById('nav-alarm-count');
    const unacked = (data.status?.alarms ?? []).filter((a) => !a.acknowledged).length;
    if (count) count.textContent = String(unacked);
  });
  source.addEventListener('expired', () => {
    source.close();
    window.location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
  });
}
