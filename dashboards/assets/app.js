// Sekisho dashboard: the main script. Forms and buttons marked data-api call the JSON API with the
// session's CSRF token. The live updates of every page are assets/alarms.js's. No inline script, no
// framework, no build step.

// What the JSON API says, as the server's pages show it (controller/domain/text.ts visibleText,
// with the layout kept, as dashboards/html.ts uses it): a control, bidirectional or invisible
// character or a lone surrogate becomes "[U+202E]", seen and never obeyed. Names written before the
// server refused such characters may still hold one. Exported only for the test that checks that
// the page and the server agree.
const BIDI = new Set([
  0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069,
]);
const INVISIBLE = new Set([0x200b, 0x2060, 0xfeff]);

function unsafeChar(cp) {
  return (
    cp <= 0x1f ||
    (cp >= 0x7f && cp <= 0x9f) ||
    cp === 0x2028 ||
    cp === 0x2029 ||
    (cp >= 0xd800 && cp <= 0xdfff) ||
    BIDI.has(cp) ||
    INVISIBLE.has(cp) ||
    (cp >= 0xe0000 && cp <= 0xe007f)
  );
}

export function visible(text) {
  let out = '';
  // Iterating a string yields a lone surrogate on its own, a pair as one character.
  for (const ch of String(text ?? '')) {
    const cp = ch.codePointAt(0);
    const layout = cp === 0x09 || cp === 0x0a || cp === 0x0d;
    out += !layout && unsafeChar(cp) ? `[U+${cp.toString(16).toUpperCase().padStart(4, '0')}]` : ch;
  }
  return out;
}

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
  // The API's English `message` adds specifics on an English page only: Japanese pages show Japanese
  // alone, and a failure with no words of the server's (the network, a proxy) is said in Japanese.
  const english = document.documentElement.lang !== 'ja';
  const text =
    data?.error?.text ||
    (english
      ? data?.error?.message || `HTTP ${status}`
      : status === 0
        ? 'サーバーと通信できませんでした。接続を確かめて、もう一度お試しください。'
        : `エラーが発生しました（HTTP ${status}）。`);
  const detail =
    english && data?.error?.text && data.error.message !== data.error.text ? data.error.message : '';
  const slot = scope?.querySelector('.form-error');
  if (slot) {
    slot.textContent = visible(detail ? `${text} (${detail})` : text);
    slot.hidden = false;
    describeFields(scope, slot, data?.error?.field);
  } else {
    window.alert(visible(detail ? `${text}\n${detail}` : text));
  }
}

let errorIds = 0;

/**
 * Ties a shown error to the form's fields: each field is described by it (aria-describedby, read
 * with the field), and the field the server named (`error.field`, e.g. `payload.name`) is marked
 * invalid. Undone by `clearFields` when the form is sent again.
 */
function describeFields(form, slot, field) {
  slot.id ||= `form-error-${++errorIds}`;
  for (const el of fieldsOf(form)) {
    const ids = (el.getAttribute('aria-describedby') ?? '').split(/\s+/).filter(Boolean);
    if (!ids.includes(slot.id)) el.setAttribute('aria-describedby', [...ids, slot.id].join(' '));
    const named = typeof field === 'string' && (el.name === field || field.endsWith(`.${el.name}`));
    if (named) el.setAttribute('aria-invalid', 'true');
    else el.removeAttribute('aria-invalid');
  }
}

function clearFields(form, slot) {
  for (const el of fieldsOf(form)) {
    el.removeAttribute('aria-invalid');
    if (!slot?.id) continue;
    const ids = (el.getAttribute('aria-describedby') ?? '').split(/\s+/).filter((x) => x && x !== slot.id);
    if (ids.length) el.setAttribute('aria-describedby', ids.join(' '));
    else el.removeAttribute('aria-describedby');
  }
}

function fieldsOf(scope) {
  if (!scope?.querySelectorAll) return [];
  return [...scope.querySelectorAll('input, select, textarea')].filter(
    (el) => el.name && el.type !== 'hidden' && el.type !== 'submit' && el.type !== 'button',
  );
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
  // One half of an account's activation secret (approver's or applicant's): never shown again.
  if (data && typeof data.activationHalf === 'string') {
    const label =
      document.documentElement.lang === 'ja'
        ? 'アカウント有効化コード（半分）です。この画面でのみ一度だけ表示されます。利用者ご本人に直接お渡しください（もう半分は別の職員からお渡しします）：'
        : 'Activation code (one half), shown only this once. Hand it to the user in person; the other half comes from another colleague:';
    await showOnce(label, data.activationHalf);
  }
  const resultId = el.getAttribute('data-result');
  if (resultId) {
    const out = document.getElementById(resultId);
    if (out && data) {
      const labels = document.getElementById('reason-labels');
      const reason =
        labels?.content.querySelector(`[data-reason="${data.reason}"]`)?.textContent ?? data.reason;
      const verdict = data.granted ? out.dataset.granted : out.dataset.denied;
      out.textContent = visible(
        `${verdict} — ${reason} (${data.door ?? ''} ${data.direction ?? ''}, #${data.seq ?? '-'})`,
      );
      out.className = `result ${data.granted ? 'good' : 'bad'}`;
    }
    return;
  }
  // An accepted input that may be a mistake (a card number's assumed format): said before moving on.
  if (data?.warningText) window.alert(visible(data.warningText));
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
  clearFields(scope, slot);
  try {
    const r = await api(method, url, body);
    if (!r.ok) {
      if (r.status === 401 && r.data?.error?.code === 'unauthorized') {
        window.location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
        return false;
      }
      showError(scope, r.data, r.status);
      return false;
    }
    const done = el.getAttribute('data-done');
    if (done && slot) {
      slot.textContent = done;
      slot.hidden = false;
    }
    await after(el, r.data);
    return true;
  } catch (err) {
    showError(scope, { error: { message: String(err) } }, 0);
    return false;
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
  // An act that cannot be undone from the page (a lost card, a rejection) asks first.
  const question = form.getAttribute('data-confirm');
  if (question && !window.confirm(question)) return;
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
  const form = el.closest('form');
  // A button that sends its form's fields checks them first (a rejection's required reason).
  if (el.hasAttribute('data-form-body') && form && !form.reportValidity()) return;
  const question = el.getAttribute('data-confirm');
  if (question && !window.confirm(question)) return;
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

// The Live page, managers: correct who is inside a room. The dialog lives outside the live panel so
// that live updates do not reset it; it copies the door's rows (a template in the panel) when it opens,
// and says so when the room changes while it is open (the server refuses a correction made on an
// outdated view: `seen`).
const presenceDialog = document.getElementById('presence-dialog');
let presenceDoor = null;
let presenceSeen = [];

function presenceRowsOf(doorId) {
  return [...document.querySelectorAll('template[data-presence-rows]')].find(
    (tpl) => tpl.getAttribute('data-presence-rows') === doorId,
  );
}

function presenceIds(tpl) {
  return tpl
    ? [...tpl.content.querySelectorAll('tr[data-person]')].map((tr) => tr.dataset.person).sort()
    : [];
}

function presenceSync() {
  const form = presenceDialog.querySelector('form');
  const rows = [...form.querySelectorAll('tbody tr[data-person]')];
  form.querySelector('[data-field="nobody"]').hidden = rows.length > 0;
  // A visitor's escort is needed only while the visitor is ticked.
  for (const tr of rows) {
    const select = tr.querySelector('select[name="escort"]');
    if (select) select.disabled = !tr.querySelector('input[name="inside"]').checked;
  }
  const listed = new Set(rows.map((tr) => tr.dataset.person));
  for (const option of form.querySelectorAll('select[name="add"] option[value]')) {
    if (option.value) option.disabled = listed.has(option.value);
  }
}

function presenceOpen(button) {
  const form = presenceDialog.querySelector('form');
  const tpl = presenceRowsOf(button.getAttribute('data-presence-open'));
  presenceDoor = button.getAttribute('data-presence-open');
  presenceSeen = presenceIds(tpl);
  form.reset();
  form.querySelector('[data-field="door-name"]').textContent = button.getAttribute('data-door-name');
  form.querySelector('[data-field="stale"]').hidden = true;
  form.querySelector('.form-error').hidden = true;
  const tbody = form.querySelector('tbody');
  tbody.replaceChildren();
  if (tpl) tbody.append(tpl.content.cloneNode(true));
  presenceSync();
  document.getElementById('presence-done').hidden = true;
  presenceDialog.showModal();
}

function presenceAdd() {
  const form = presenceDialog.querySelector('form');
  const option = form.querySelector('select[name="add"]').selectedOptions[0];
  if (!option?.value) return;
  const tbody = form.querySelector('tbody');
  const existing = [...tbody.querySelectorAll('tr[data-person]')].find(
    (tr) => tr.dataset.person === option.value,
  );
  if (existing) {
    existing.querySelector('input[name="inside"]').checked = true;
  } else {
    const tr = document.createElement('tr');
    tr.dataset.person = option.value;
    tr.dataset.category = option.dataset.category;
    tr.className = 'added';
    const cell = (child) => {
      const td = document.createElement('td');
      if (typeof child === 'string') td.textContent = child;
      else if (child) td.append(child);
      tr.append(td);
      return td;
    };
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.name = 'inside';
    box.checked = true;
    box.setAttribute('aria-label', option.dataset.name);
    cell(box);
    const name = cell(option.dataset.name);
    const tag = document.createElement('span');
    tag.className = 'tag ok';
    tag.textContent = form.dataset.added;
    name.append(' ', tag);
    cell(option.dataset.displayId);
    const cat = document.createElement('span');
    cat.className = `tag cat-${option.dataset.category}`;
    cat.textContent = option.dataset.categoryLabel;
    cell(cat);
    const escort =
      option.dataset.category === 'visitor'
        ? document.getElementById('presence-escort-select').content.firstElementChild.cloneNode(true)
        : null;
    cell(escort);
    tbody.append(tr);
    escort?.focus();
  }
  form.querySelector('select[name="add"]').value = '';
  presenceSync();
}

/**
 * Active people whose name or ID contains `q`, from GET /api/people/search (the pages carry none of
 * a registry that may hold 100,000 people): `{ people, failed }`, no people for an empty `q`.
 */
async function searchPeople(q, limit, category) {
  if (q === '') return { people: [], failed: false };
  const params = new URLSearchParams({ q, limit: String(limit) });
  if (category) params.set('category', category);
  try {
    const res = await fetch(`/api/people/search?${params}`, {
      headers: { accept: 'application/json' },
      credentials: 'same-origin',
    });
    return res.ok ? { people: (await res.json()).people, failed: false } : { people: [], failed: true };
  } catch {
    return { people: [], failed: true };
  }
}

/**
 * Runs `search(key)` 200 ms after the last call for `key`, and hands its answer to `show(key, …)`
 * only if no later search for the same key began meanwhile.
 */
const searchTimers = new WeakMap();
const searchSeqs = new WeakMap();
function searchAsYouType(key, search, show) {
  clearTimeout(searchTimers.get(key));
  searchTimers.set(
    key,
    setTimeout(async () => {
      const mine = (searchSeqs.get(key) ?? 0) + 1;
      searchSeqs.set(key, mine);
      const answer = await search(key);
      if (searchSeqs.get(key) === mine) show(key, answer);
    }, 200),
  );
}

/** The presence dialog's "add a person" picker: the matches fill its list. */
function presenceFind(input) {
  searchAsYouType(
    input,
    (i) => searchPeople(i.value.trim(), 30),
    (i, { people }) => {
      const select = presenceDialog.querySelector('select[name="add"]');
      const placeholder = select.options[0];
      const labels = JSON.parse(select.dataset.categoryLabels);
      const options = people.map((p) => {
        const o = document.createElement('option');
        o.value = p.id;
        o.textContent = visible(`${p.name} (${p.displayId})`);
        // The added row's name, ID and checkbox label are taken from these.
        o.dataset.name = visible(p.name);
        o.dataset.displayId = visible(p.displayId);
        o.dataset.category = p.category;
        o.dataset.categoryLabel = labels[p.category] ?? p.category;
        return o;
      });
      if (i.value.trim() !== '' && options.length === 0) {
        const none = document.createElement('option');
        none.value = '';
        none.disabled = true;
        none.textContent = select.dataset.none;
        options.push(none);
      }
      select.replaceChildren(placeholder, ...options);
      if (people.length === 1) select.value = people[0].id;
    },
  );
}

/**
 * The person pickers of the request and visitor forms (fieldset[data-person-picker]): what is
 * typed is looked up (the picker's categories, active people) and the matches fill its list. The
 * select is required, so a form cannot be sent before someone is chosen; the server checks the id
 * it receives.
 */
function pickerFind(picker) {
  const limit = Number(picker.getAttribute('data-limit')) || 30;
  searchAsYouType(
    picker,
    (p) =>
      searchPeople(
        p.querySelector('[data-person-find]').value.trim(),
        limit,
        p.getAttribute('data-category'),
      ),
    (p, { people, failed }) => {
      const q = p.querySelector('[data-person-find]').value.trim();
      const select = p.querySelector('select');
      const status = p.querySelector('[data-picker-status]');
      const chosen = select.value;
      const options = people.map((x) => {
        const o = document.createElement('option');
        o.value = x.id;
        o.textContent = visible(`${x.name} [${x.displayId}]`);
        return o;
      });
      select.replaceChildren(select.options[0], ...options);
      if (people.some((x) => x.id === chosen)) select.value = chosen;
      else if (people.length === 1) select.value = people[0].id;
      else select.value = '';
      let text = '';
      if (failed) text = select.dataset.failed;
      else if (q !== '' && people.length === 0) text = select.dataset.none;
      else if (people.length >= limit) text = select.dataset.more;
      else if (people.length > 0) text = select.dataset.found.replace('{n}', String(people.length));
      status.textContent = text;
      status.hidden = text === '';
    },
  );
}

document.addEventListener('input', (e) => {
  if (!(e.target instanceof Element) || !e.target.matches('[data-person-picker] [data-person-find]')) return;
  pickerFind(e.target.closest('[data-person-picker]'));
});

/** The live panel was replaced: tell the manager if the room of the open dialog changed. */
function presenceCheckStale() {
  if (!presenceDialog?.open || presenceDoor === null) return;
  const now = presenceIds(presenceRowsOf(presenceDoor));
  const changed = now.length !== presenceSeen.length || now.some((id, i) => id !== presenceSeen[i]);
  presenceDialog.querySelector('[data-field="stale"]').hidden = !changed;
}

if (presenceDialog) {
  const form = presenceDialog.querySelector('form');
  document.addEventListener('click', (e) => {
    const open = e.target.closest('[data-presence-open]');
    if (open) presenceOpen(open);
    else if (e.target.closest('[data-presence-add]')) presenceAdd();
    else if (e.target.closest('[data-presence-cancel]')) presenceDialog.close();
  });
  // Closed (Escape, Cancel, sent): the focus goes back to the door's button. The browser returns it
  // to the button that opened the dialog, but a live update may have replaced that one meanwhile.
  presenceDialog.addEventListener('close', () => {
    const active = document.activeElement;
    if (presenceDoor !== null && (!active || active === document.body || presenceDialog.contains(active)))
      document.getElementById(`presence-open-${presenceDoor}`)?.focus();
  });
  form.addEventListener('input', (e) => {
    if (e.target.matches('[data-presence-find]')) presenceFind(e.target);
  });
  form.addEventListener('change', (e) => {
    if (e.target.name === 'inside') presenceSync();
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (presenceDoor === null) return;
    const present = [...form.querySelectorAll('tbody tr[data-person]')]
      .filter((tr) => tr.querySelector('input[name="inside"]').checked)
      .map((tr) => {
        const escort = tr.querySelector('select[name="escort"]');
        return { personId: tr.dataset.person, escort: escort ? escort.value || null : null };
      });
    const body = { present, note: form.elements.note.value, seen: presenceSeen };
    const url = `/api/doors/${encodeURIComponent(presenceDoor)}/presence`;
    if (await run(form, 'POST', url, body, form)) {
      presenceDialog.close();
      document.getElementById('presence-done').hidden = false;
    }
  });
}

// The Live page: its panel follows the page's event stream (assets/alarms.js, which keeps what is
// being typed); the presence dialog says when the room it shows changed.
document.addEventListener('sekisho:live-updated', () => presenceCheckStale());

// The Integrity page's witness check: the two chosen files are read here and sent as JSON; the
// answer names the first missing or altered row in the page's language.
document.addEventListener('submit', async (e) => {
  const form = e.target.closest('form[data-witness]');
  if (!form) return;
  e.preventDefault();
  const file = (name) => form.elements.namedItem(name)?.files?.[0];
  const history = file('history');
  const key = file('publicKey');
  if (!history || !key) return;
  if (history.size > Number(form.getAttribute('data-max'))) {
    showError(form, { error: { message: form.getAttribute('data-too-big') } }, 413);
    return;
  }
  const button = form.querySelector('button[type="submit"]');
  const label = button.textContent;
  button.disabled = true;
  button.textContent = button.getAttribute('data-busy') || label;
  const slot = form.querySelector('.form-error');
  if (slot) slot.hidden = true;
  const result = document.getElementById('witness-result');
  const detail = document.getElementById('witness-detail');
  try {
    const r = await api('POST', form.getAttribute('data-witness'), {
      history: await history.text(),
      publicKey: await key.text(),
    });
    if (!r.ok) {
      showError(form, r.data, r.status);
      return;
    }
    result.textContent = visible(r.data.message);
    result.className = `result ${r.data.ok ? 'good' : 'bad'}`;
    result.hidden = false;
    detail.textContent = visible([r.data.problem, ...(r.data.notes ?? [])].filter(Boolean).join('\n'));
    detail.hidden = detail.textContent === '';
  } catch (err) {
    showError(form, { error: { message: String(err) } }, 0);
  } finally {
    button.disabled = false;
    button.textContent = label;
  }
});
