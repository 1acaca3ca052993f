/* global HTMLElement, EventSource, customElements */
// <tidemark-status entity="customer/42" decision="send-letter"></tidemark-status>
// A consistency badge with no framework: it follows the entity's ledger over Server-Sent Events
// and shows whether a change is in effect everywhere, pending somewhere, or held.
// Attributes: entity (<type>/<id>), decision (optional), base (URL prefix of the API, default '').

const colours = {
  current: '#1b7f3b',
  ready: '#1b7f3b',
  pending: '#9a6700',
  held: '#b42318',
  unknown: '#57606a',
};

class TidemarkStatus extends HTMLElement {
  static get observedAttributes() {
    return ['entity', 'decision', 'base'];
  }

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    root.innerHTML =
      '<style>:host{display:inline-flex;align-items:center;gap:.4em;font:0.85em system-ui,sans-serif;' +
      'padding:.15em .6em;border-radius:1em;border:1px solid currentColor;color:#57606a}' +
      '.dot{width:.6em;height:.6em;border-radius:50%;background:currentColor}</style>' +
      '<span class="dot" part="dot"></span><span class="text" part="text">connecting…</span>';
    this.textEl = root.querySelector('.text');
    this.source = undefined;
  }

  connectedCallback() {
    this.open();
  }

  disconnectedCallback() {
    this.close();
  }

  attributeChangedCallback() {
    if (this.isConnected) this.open();
  }

  close() {
    if (this.source) this.source.close();
    this.source = undefined;
  }

  show(state, text) {
    this.setAttribute('state', state);
    this.style.color = colours[state] || colours.unknown;
    this.textEl.textContent = text;
  }

  open() {
    this.close();
    const entity = this.getAttribute('entity') || '';
    const slash = entity.indexOf('/');
    if (slash <= 0 || slash === entity.length - 1) {
      this.show('unknown', 'entity must be <type>/<id>');
      return;
    }
    const type = encodeURIComponent(entity.slice(0, slash));
    const id = encodeURIComponent(entity.slice(slash + 1));
    const decision = this.getAttribute('decision');
    const base = this.getAttribute('base') || '';
    const query = decision ? `?decision=${encodeURIComponent(decision)}` : '';
    const source = new EventSource(`${base}/api/entities/${type}/${id}/events${query}`);
    this.source = source;
    source.addEventListener('status', (event) => {
      const { badge } = JSON.parse(event.data);
      this.show(badge.state, badge.text);
      this.dispatchEvent(new CustomEvent('tidemark-status', { detail: badge }));
    });
    source.addEventListener('problem', (event) => {
      const problem = JSON.parse(event.data);
      this.show('unknown', problem.title || 'unavailable');
      source.close();
    });
  }
}

if (!customElements.get('tidemark-status')) customElements.define('tidemark-status', TidemarkStatus);
