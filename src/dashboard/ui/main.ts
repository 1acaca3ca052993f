/// <reference lib="dom" />
import { api, ProblemError, session, type Me } from './api.js';
import { auditView, deadLettersView } from './dead-letters.js';
import { h } from './dom.js';
import { entitiesView, entityView } from './entity.js';
import { reconciliationView } from './reconciliation.js';
import { supportView } from './support.js';
import { topologyView } from './topology.js';

const view = document.getElementById('view')!;
const login = document.getElementById('login') as HTMLFormElement;
const nav = document.getElementById('nav')!;
const who = document.getElementById('who')!;
let me: Me | undefined;
let timer: number | undefined;

async function render(): Promise<void> {
  if (!me) return;
  const route = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  for (const a of nav.querySelectorAll('a'))
    a.classList.toggle('active', a.getAttribute('href') === `#/${route[0] || 'topology'}`);
  let content: HTMLElement;
  try {
    if (route[0] === 'entity' && route[1] && route[2])
      content = await entityView(route[1], route.slice(2).join('/'));
    else if (route[0] === 'entities') content = await entitiesView();
    else if (route[0] === 'dead-letters') content = await deadLettersView(me, () => void render());
    else if (route[0] === 'audit') content = await auditView();
    else if (route[0] === 'support') content = await supportView(route.slice(1).filter((x) => x !== ''));
    else if (route[0] === 'reconciliation') content = await reconciliationView();
    else content = await topologyView();
  } catch (error) {
    if (error instanceof ProblemError && error.status === 401)
      return signOut('Your token is no longer accepted.');
    content = h('p', { class: 'error' }, error instanceof Error ? error.message : String(error));
  }
  view.replaceChildren(content);
}

function signOut(reason = ''): void {
  session.token = null;
  me = undefined;
  nav.hidden = true;
  login.hidden = false;
  who.textContent = '';
  view.replaceChildren();
  document.getElementById('login-error')!.textContent = reason;
}

async function signIn(): Promise<void> {
  try {
    me = await api<Me>('/api/me');
  } catch (error) {
    return signOut(error instanceof ProblemError ? `${error.title}: ${error.message}` : String(error));
  }
  login.hidden = true;
  nav.hidden = false;
  who.replaceChildren(
    `${me.name} (${me.role}) `,
    h('button', { onclick: () => signOut(), 'data-testid': 'sign-out' }, 'Sign out'),
  );
  who.dataset.role = me.role;
  await render();
  // Lag and dead letters move on their own: keep the topology and the queue fresh.
  window.clearInterval(timer);
  timer = window.setInterval(() => {
    const route = location.hash.replace(/^#\/?/, '');
    // Re-rendering while someone types (a reason, an id) would take the field away from them.
    if (document.activeElement instanceof HTMLInputElement) return;
    if (me && (route === '' || route.startsWith('topology') || route.startsWith('dead-letters')))
      void render();
  }, 3000);
}

login.addEventListener('submit', (event) => {
  event.preventDefault();
  session.token = (document.getElementById('token') as HTMLInputElement).value.trim();
  void signIn();
});
window.addEventListener('hashchange', () => void render());
if (session.token) void signIn();
