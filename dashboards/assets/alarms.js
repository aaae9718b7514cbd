// Sekisho dashboard, every signed-in page: the alarms live over one event stream per page (the
// menu's count, the critical-alarm banner, the Alarms page's list, the Live panel), the tab title
// flashing while a critical alarm waits, an optional sound, announcements for screen readers, and
// the session's end: a warning before the idle timeout with "stay signed in", and a visible notice
// when the session is over (the page then no longer follows). Nothing here moves the focus.

const body = document.body;
const streamUrl = body?.dataset.stream;

const TYPED =
  'input:not([type=hidden]):not([type=checkbox]):not([type=radio]):not([type=submit]):not([type=button]), textarea';

/** Whether `el` holds something the user is doing: focus, or a typed value. */
function busy(el) {
  const active = document.activeElement;
  if (active && active !== document.body && el.contains(active) && active.matches('input, textarea, select'))
    return true;
  return [...el.querySelectorAll(TYPED)].some((i) => i.value !== '');
}

/** A stable key for an element among its siblings: alarm, door, id; else none. */
function keyOf(el) {
  if (el.nodeType !== 1) return null;
  if (el.dataset.alarm) return `a:${el.dataset.alarm}`;
  if (el.dataset.door) return `d:${el.dataset.door}`;
  if (el.id) return `#${el.id}`;
  return null;
}

/**
 * Replaces `container`'s content with `html`, except the keyed parts (an alarm, a door) in which
 * the user is typing or has focus: those stay the same nodes, so the focus, the caret and an IME
 * composition are kept, and everything around them is updated.
 */
export function replaceKeeping(container, html) {
  const tpl = document.createElement('template');
  tpl.innerHTML = html;
  const kept = [...container.querySelectorAll('[data-alarm], [data-door]')].filter(
    (el) => busy(el) && !el.parentElement.closest('[data-alarm], [data-door]'),
  );
  // Keep only the innermost busy items, e.g. the alarm in the Live panel's list.
  const keep = kept.flatMap((el) => {
    const inner = [...el.querySelectorAll('[data-alarm]')].filter(busy);
    return inner.length ? inner : [el];
  });
  // Whatever has the keyboard's focus (a link, a button, a summary) stays the same node too:
  // replacing it would send the focus back to the top of the page.
  const active = document.activeElement;
  if (active && active !== container && container.contains(active) && !keep.some((k) => k.contains(active)))
    keep.push(active);
  if (keep.length === 0) {
    container.replaceChildren(tpl.content);
    return;
  }
  patch(container, tpl.content, keep);
}

/** Makes `oldEl`'s children those of `newEl`, keeping (and patching down to) the nodes in `keep`. */
function patch(oldEl, newEl, keep) {
  const olds = [...oldEl.childNodes];
  const news = [...newEl.childNodes];
  const byKey = new Map(olds.filter((n) => keyOf(n)).map((n) => [keyOf(n), n]));
  const holds = (n) => keep.some((k) => n === k || n.contains(k));
  // Unkeyed elements pair up by their place among the siblings of the same tag and class.
  const shapeIndex = (list, n) => list.filter((x) => x.nodeType === 1 && sameShape(x, n)).indexOf(n);
  const out = news.map((n) => {
    const key = keyOf(n);
    const old =
      key !== null
        ? byKey.get(key)
        : n.nodeType === 1
          ? olds.filter((o) => o.nodeType === 1 && sameShape(o, n))[shapeIndex(news, n)]
          : undefined;
    if (old && holds(old)) {
      if (!keep.includes(old)) {
        for (const a of [...n.attributes]) old.setAttribute(a.name, a.value);
        patch(old, n, keep);
      }
      return old;
    }
    return n;
  });
  // Insert around the kept nodes without moving them (moving a focused node would blur it).
  const stay = new Set(out.filter((n) => olds.includes(n)));
  for (const o of olds) if (!stay.has(o)) o.remove();
  let cursor = null;
  for (let i = out.length - 1; i >= 0; i--) {
    const n = out[i];
    if (stay.has(n)) {
      cursor = n;
      continue;
    }
    oldEl.insertBefore(n, cursor);
    cursor = n;
  }
}

function sameShape(a, b) {
  return a.tagName === b.tagName && a.className === b.className;
}

// ------------------------------------------------------------------------------------------------
// The tab title, the sound, the announcements.

const originalTitle = document.title;
let flashTimer = null;

function flashTitle(on) {
  if (on && flashTimer === null) {
    const mark = body.dataset.titleAlarm || '!';
    let lit = false;
    flashTimer = setInterval(() => {
      lit = !lit;
      document.title = lit ? `${mark} ${originalTitle}` : originalTitle;
    }, 1000);
    document.title = `${mark} ${originalTitle}`;
  } else if (!on && flashTimer !== null) {
    clearInterval(flashTimer);
    flashTimer = null;
    document.title = originalTitle;
  }
}

const SOUND_KEY = 'sekisho.alarmSound';
const soundButton = document.getElementById('alarm-sound');
let soundOn = false;
let audio = null;
try {
  soundOn = localStorage.getItem(SOUND_KEY) === 'on';
} catch {
  soundOn = false;
}

function renderSound() {
  if (!soundButton) return;
  soundButton.setAttribute('aria-pressed', String(soundOn));
  const blocked = soundOn && audio?.state !== 'running';
  const label = soundButton.querySelector('.sound-label') ?? soundButton;
  label.textContent = soundOn
    ? blocked
      ? soundButton.dataset.blocked
      : soundButton.dataset.on
    : soundButton.dataset.off;
}

/** The browser lets a page play sound only after a click or key press on it. */
function unlockAudio() {
  if (!soundOn) return;
  try {
    audio ??= new AudioContext();
    audio.resume().then(renderSound, renderSound);
  } catch {
    audio = null;
  }
  renderSound();
}

/** Three short tones; answers whether they could play. */
function beep() {
  if (!soundOn || !audio || audio.state !== 'running') return false;
  const start = audio.currentTime;
  for (let i = 0; i < 3; i++) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.value = 0.2;
    osc.connect(gain).connect(audio.destination);
    osc.start(start + i * 0.35);
    osc.stop(start + i * 0.35 + 0.2);
  }
  body.dataset.alarmSounds = String(Number(body.dataset.alarmSounds ?? 0) + 1);
  return true;
}

if (soundButton) {
  renderSound();
  soundButton.addEventListener('click', () => {
    soundOn = !soundOn;
    try {
      localStorage.setItem(SOUND_KEY, soundOn ? 'on' : 'off');
    } catch {
      // A browser that keeps nothing: the choice lasts for this page.
    }
    unlockAudio();
    renderSound();
  });
  // Remembered as on: the first click or key anywhere on the page lets it play.
  for (const type of ['pointerdown', 'keydown'])
    document.addEventListener(type, unlockAudio, { capture: true, passive: true });
}

const announcer = document.getElementById('alarm-announcer');
const announced = new Set();
let firstUpdate = true;
let soundTimer = null;

/** The alarms part of a status event. */
function showAlarms(a) {
  const count = document.getElementById('nav-alarm-count');
  if (count) {
    count.textContent = String(a.unacked);
    count.hidden = a.unacked === 0;
  }
  const banner = document.getElementById('alarm-banner');
  if (banner) {
    const tpl = document.createElement('template');
    tpl.innerHTML = a.banner;
    const fresh = tpl.content.firstElementChild;
    if (fresh) {
      replaceKeeping(banner, fresh.innerHTML);
      banner.hidden = fresh.hidden;
    }
  }
  const list = document.querySelector('[data-live-alarms]');
  if (list) {
    const tpl = document.createElement('template');
    tpl.innerHTML = a.list;
    const fresh = tpl.content.firstElementChild;
    if (fresh) replaceKeeping(list, fresh.innerHTML);
  }
  flashTitle(a.critical > 0);
  const fresh = a.announce.filter((x) => !announced.has(x.id));
  for (const x of a.announce) announced.add(x.id);
  if (!firstUpdate && fresh.length && announcer) {
    // Read out by screen readers; the focus stays where it is.
    announcer.textContent = fresh.map((x) => `${announcer.dataset.new} ${x.text}`).join('。 ');
    if (a.critical > 0) beep();
  }
  firstUpdate = false;
  // While a critical alarm waits, the sound comes back every 30 s.
  if (a.critical > 0 && soundTimer === null) soundTimer = setInterval(beep, 30_000);
  else if (a.critical === 0 && soundTimer !== null) {
    clearInterval(soundTimer);
    soundTimer = null;
  }
}

// ------------------------------------------------------------------------------------------------
// The session's end.

const warning = document.getElementById('session-warning');
const ended = document.getElementById('session-ended');
const idleMs = Number(body?.dataset.idleMs ?? 0);
const warnMs = Number(body?.dataset.warnMs ?? 0);
let warnTimer = null;
let countdown = null;
let over = false;
let source = null;

function sessionOver() {
  if (over) return;
  over = true;
  clearTimeout(warnTimer);
  clearInterval(countdown);
  source?.close();
  if (warning) warning.hidden = true;
  const lost = document.getElementById('stream-lost');
  if (lost) lost.hidden = true;
  if (ended) {
    const login = document.getElementById('session-login');
    if (login) login.href = `/login?next=${encodeURIComponent(location.pathname + location.search)}`;
    ended.hidden = false;
  }
  body.classList.add('session-over');
  const indicator = document.getElementById('live-indicator');
  if (indicator) {
    indicator.textContent = indicator.dataset.lost;
    indicator.className = 'live-indicator off';
  }
}

function scheduleCheck(leftMs) {
  clearTimeout(warnTimer);
  warnTimer = setTimeout(checkSession, Math.max(0, leftMs - warnMs));
}

function mmss(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

async function sessionState() {
  try {
    const res = await fetch('/api/session/state', {
      headers: { accept: 'application/json' },
      credentials: 'same-origin',
    });
    if (res.status === 401) return { over: true };
    if (!res.ok) return null;
    return await res.json();
  } catch {
    return null;
  }
}

async function checkSession() {
  if (over) return;
  const s = await sessionState();
  if (s === null) {
    warnTimer = setTimeout(checkSession, 10_000);
    return;
  }
  if (s.over) return sessionOver();
  if (s.idleExpiresAt === null) return;
  const left = s.idleExpiresAt - s.now;
  if (left > warnMs + 1000) {
    if (warning) warning.hidden = true;
    clearInterval(countdown);
    scheduleCheck(left);
    return;
  }
  // Shown, not focused: the user may be typing elsewhere on the page.
  const text = document.getElementById('session-warning-text');
  const until = Date.now() + left;
  const tick = () => {
    if (text) text.textContent = text.dataset.text.replace('{time}', mmss(until - Date.now()));
  };
  tick();
  clearInterval(countdown);
  countdown = setInterval(tick, 1000);
  if (warning) warning.hidden = false;
  warnTimer = setTimeout(checkSession, left + 1000);
}

document.getElementById('session-stay')?.addEventListener('click', async () => {
  try {
    const res = await fetch('/api/session', {
      headers: { accept: 'application/json' },
      credentials: 'same-origin',
    });
    if (res.status === 401) return sessionOver();
  } catch {
    // Not reachable now: the next check says.
  }
  await checkSession();
});

// ------------------------------------------------------------------------------------------------
// The stream.

if (streamUrl && 'EventSource' in window) {
  const live = document.querySelector('[data-live]');
  const indicator = document.getElementById('live-indicator');
  const setState = (ok) => {
    if (!indicator || over) return;
    indicator.textContent = ok ? indicator.dataset.ok : indicator.dataset.lost;
    indicator.className = `live-indicator ${ok ? 'on' : 'off'}`;
  };
  const lost = document.getElementById('stream-lost');
  let lostTimer = null;
  const connected = () => {
    clearTimeout(lostTimer);
    lostTimer = null;
    if (lost) lost.hidden = true;
    setState(true);
  };
  // Not reconnected within 20 s (the controller restarting takes less): the page says it is not
  // following any more, and keeps trying.
  const lostMs = Number(body.dataset.lostMs) || 20_000;
  const disconnected = () => {
    setState(false);
    lostTimer ??= setTimeout(() => {
      if (lost && !over) lost.hidden = false;
    }, lostMs);
  };
  const open = () => {
    source = new EventSource(streamUrl);
    source.addEventListener('open', connected);
    source.addEventListener('error', async () => {
      disconnected();
      if (source.readyState !== EventSource.CLOSED) return; // the browser reconnects by itself
      // Refused for good: the session ended (say so), or something else (try again later).
      const s = await sessionState();
      if (s?.over) sessionOver();
      else if (!over) setTimeout(open, 15_000);
    });
    source.addEventListener('status', onStatus);
    source.addEventListener('alarm-history', onHistory);
    source.addEventListener('expired', () => sessionOver());
  };
  const onStatus = (ev) => {
    connected();
    const data = JSON.parse(ev.data);
    if (live && typeof data.html === 'string') {
      replaceKeeping(live, data.html);
      live.dispatchEvent(new CustomEvent('sekisho:live-updated', { bubbles: true }));
    }
    if (live) live.dataset.seq = String(data.status?.journal?.headSeq ?? '');
    if (data.alarms) showAlarms(data.alarms);
  };
  // The Alarms page's history (its first page): replaced as the active list is, the focus kept.
  const onHistory = (ev) => {
    const target = document.querySelector('[data-live-history]');
    if (!target) return;
    const tpl = document.createElement('template');
    tpl.innerHTML = JSON.parse(ev.data).html;
    const fresh = tpl.content.firstElementChild;
    if (fresh) replaceKeeping(target, fresh.innerHTML);
    target.dataset.updates = String(Number(target.dataset.updates ?? 0) + 1);
  };
  open();
  if (idleMs > 0) scheduleCheck(idleMs);
}
