/* global HTMLElement, EventSource, customElements */
// <tidemark-status entity="customer/42" decision="send-letter"></tidemark-status>
// A consistency badge with no framework: it follows the entity's ledger over Server-Sent Events
// and shows whether a change is in effect everywhere, pending somewhere, or held.
// Attributes: entity (<type>/<id>), decision (optional), base (URL prefix of the API, default ''),
// token (optional bearer token). EventSource cannot send headers, so with a token the stream is
// read with fetch() and parsed here; without one, EventSource does the work (and reconnects).

const colours = {
  current: '#1b7f3b',
  ready: '#1b7f3b',
  pending: '#9a6700',
  held: '#b42318',
  unknown: '#57606a',
  error: '#b42318',
};

class TidemarkStatus extends HTMLElement {
  static get observedAttributes() {
    return ['entity', 'decision', 'base', 'token'];
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
    this.aborter = undefined;
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
    if (this.aborter) this.aborter.abort();
    this.aborter = undefined;
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
    const url = `${base}/api/entities/${type}/${id}/events${query}`;
    const token = this.getAttribute('token');
    if (token) {
      this.stream(url, token);
      return;
    }
    const source = new EventSource(url);
    this.source = source;
    source.addEventListener('status', (event) => this.onEvent('status', event.data));
    source.addEventListener('problem', (event) => {
      this.onEvent('problem', event.data);
      source.close();
    });
  }

  onEvent(name, data) {
    if (name === 'status') {
      const { badge } = JSON.parse(data);
      this.show(badge.state, badge.text);
      this.dispatchEvent(new CustomEvent('tidemark-status', { detail: badge }));
    } else if (name === 'problem') {
      const problem = JSON.parse(data);
      this.show('unknown', problem.title || 'unavailable');
    }
  }

  fail(text) {
    this.show('error', text);
    this.dispatchEvent(new CustomEvent('tidemark-status-error', { detail: { text } }));
  }

  async stream(url, token) {
    const aborter = new AbortController();
    this.aborter = aborter;
    try {
      const response = await fetch(url, {
        headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
        signal: aborter.signal,
      });
      if (!response.ok) {
        let title = '';
        try {
          title = (await response.json()).title || '';
        } catch {
          // Not a problem document; the status code alone says enough.
        }
        const why =
          response.status === 401 || response.status === 403 ? 'not authorised: check the token' : title;
        this.fail(`${why || 'unavailable'} (HTTP ${response.status})`);
        return;
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffered = '';
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffered += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
        let end;
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          let name = 'message';
          const data = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) name = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
          }
          if (data.length > 0) this.onEvent(name, data.join('\n'));
          if (name === 'problem') {
            aborter.abort();
            return;
          }
        }
      }
      if (this.aborter === aborter) this.fail('stream ended; reload to reconnect');
    } catch (error) {
      if (aborter.signal.aborted) return;
      this.fail(`unavailable: ${error && error.message ? error.message : error}`);
    }
  }
}

if (!customElements.get('tidemark-status')) customElements.define('tidemark-status', TidemarkStatus);
