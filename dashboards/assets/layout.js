// Sekisho dashboard: the layout on small screens. Two things CSS cannot do alone:
// - each table cell gets its column's heading as `data-label`, so that below 900 px a row becomes
//   a card whose cells say what they are (app.css, "Tables become cards");
// - the menu collapses behind a button on phones instead of wrapping the header into columns of
//   single characters.
// Rows added later (the Live page's updates) are labelled as they arrive.

function headings(table) {
  const row = table.tHead?.rows[0];
  if (!row) return null;
  const out = [];
  for (const th of row.cells) {
    const text = th.textContent.trim().replace(/\s+/g, ' ');
    const span = th.colSpan || 1;
    for (let i = 0; i < span; i++) out.push(text);
  }
  return out;
}

function labelTable(table) {
  const names = headings(table);
  if (!names) return;
  for (const body of table.tBodies)
    for (const tr of body.rows) {
      let col = 0;
      for (const td of tr.cells) {
        if (!td.hasAttribute('data-label') && names[col]) td.setAttribute('data-label', names[col]);
        col += td.colSpan || 1;
      }
    }
}

function labelAll(root) {
  for (const table of root.querySelectorAll('table')) labelTable(table);
}

labelAll(document);
new MutationObserver((changes) => {
  const tables = new Set();
  for (const c of changes) {
    const t = c.target.closest?.('table');
    if (t) tables.add(t);
    for (const n of c.addedNodes) {
      if (n.nodeType !== 1) continue;
      if (n.matches('table')) tables.add(n);
      for (const x of n.querySelectorAll('table')) tables.add(x);
    }
  }
  for (const t of tables) labelTable(t);
}).observe(document.body, { childList: true, subtree: true });

// The menu button: made here, since without this script the menu simply stays open.
const header = document.querySelector('header.top');
const nav = document.querySelector('nav.main-nav');
if (header && nav) {
  document.documentElement.classList.add('has-menu');
  const ja = document.documentElement.lang === 'ja';
  const button = document.createElement('button');
  button.type = 'button';
  button.id = 'menu-toggle';
  button.className = 'menu-toggle';
  button.setAttribute('aria-expanded', 'false');
  button.setAttribute('aria-controls', 'main-nav');
  nav.id ||= 'main-nav';
  const active = nav.querySelector('a.active');
  button.textContent = ja ? 'メニュー' : 'Menu';
  if (active) {
    const here = document.createElement('span');
    here.className = 'menu-here';
    here.textContent = active.firstChild?.textContent?.trim() ?? '';
    button.append(here);
  }
  // The count of unacknowledged alarms stays in sight with the menu closed, also when the live
  // updates add, change or remove the menu's own count.
  const badge = document.createElement('span');
  badge.className = 'count';
  badge.setAttribute('aria-hidden', 'true');
  button.append(badge);
  const syncCount = () => {
    const count = nav.querySelector('.count');
    const text = count && !count.hidden ? count.textContent.trim() : '';
    badge.textContent = text;
    badge.hidden = text === '' || text === '0';
  };
  syncCount();
  new MutationObserver(syncCount).observe(nav, {
    childList: true,
    characterData: true,
    subtree: true,
    attributes: true,
    attributeFilter: ['hidden', 'class'],
  });
  header.querySelector('.brand')?.after(button);
  button.addEventListener('click', () => {
    const open = !document.body.classList.contains('menu-open');
    document.body.classList.toggle('menu-open', open);
    button.setAttribute('aria-expanded', String(open));
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && document.body.classList.contains('menu-open')) {
      document.body.classList.remove('menu-open');
      button.setAttribute('aria-expanded', 'false');
      button.focus();
    }
  });
}

// A printed report shows every person's entry times, folded away on screen.
const folded = [];
window.addEventListener('beforeprint', () => {
  for (const d of document.querySelectorAll('details.times:not([open])')) {
    d.open = true;
    folded.push(d);
  }
});
window.addEventListener('afterprint', () => {
  for (const d of folded.splice(0)) d.open = false;
});
