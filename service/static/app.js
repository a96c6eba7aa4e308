// The walink page: sessions of either protocol (legacy, multi-device) with their QR codes and MD pair
// codes, the live inspector (the selected session's machine drawn, active states highlighted, and the
// event log), and media jobs. Plain DOM, no framework: every update arrives as a Server-Sent Event from
// /api/events.

const state = {
  sessions: new Map(),
  jobs: new Map(),
  /** name → the events shown, ordered by `seq` (history and live events merged without repeats). */
  events: new Map(),
  /** names whose event history is being fetched (one request each). */
  loadingEvents: new Set(),
  /** transition id → the ids of the diagram's edges that draw it. */
  edgesOf: new Map(),
  /** the machine drawn now (`session`, `md-session`), and each one fetched so far: name → { svg, edgesOf }. */
  drawn: null,
  diagrams: new Map(),
  /** session name → what is typed in its "link with phone number" field (kept across re-renders). */
  phones: new Map(),
  /** the active states the diagram last scrolled to. */
  followed: '',
  selected: null,
  info: null,
};

const MAX_EVENTS = 500;

// The one place the page decides that a session has come to rest: the machine's `resting` tag.
function isResting(session) {
  return Array.isArray(session?.tags) && session.tags.includes('resting');
}

const $ = (selector) => document.querySelector(selector);

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// Everything but a GET sends JSON, even empty: the service refuses other bodies (a page on another
// origin could send those without asking).
async function api(method, path, body) {
  const sendsBody = method !== 'GET';
  const response = await fetch(path, {
    method,
    headers: sendsBody ? { 'content-type': 'application/json' } : {},
    body: sendsBody ? JSON.stringify(body ?? {}) : undefined,
  });
  const result = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, result.error ?? `${response.status}`);
  return result;
}

// ------------------------------------------------------------------------------------------- sessions

function secondsLeft(qr) {
  return Math.max(0, Math.ceil((qr.expiresAt - Date.now()) / 1000));
}

/** Multi-device: the pair code up (XXXX-XXXX, its expiry), or the "link with phone number" form. */
function pairCodePart(session, path) {
  const part = element('div', { class: 'pair-code-part' });
  if (session.pairCode) {
    const countdown = element('div', {
      class: 'muted countdown',
      'data-expires-at': String(session.pairCode.expiresAt),
    });
    countdown.textContent = `type it on +${session.pairCode.phone}'s phone, ${secondsLeft(session.pairCode)} s left`;
    part.append(
      element('div', { class: 'pair-code', 'data-code': session.pairCode.code }, session.pairCode.code),
      countdown,
    );
    return part;
  }
  if (!session.tags.includes('needsScan')) return null;
  const input = element('input', {
    class: 'phone',
    name: 'phone',
    inputmode: 'tel',
    autocomplete: 'off',
    placeholder: 'phone number, e.g. +15551234567',
    'aria-label': `phone number for ${session.name}`,
    oninput: (event) => state.phones.set(session.name, event.target.value),
  });
  input.value = state.phones.get(session.name) ?? '';
  const form = element(
    'form',
    {
      class: 'link-phone',
      // Typing here is not a click on the session (which would redraw the list under the cursor).
      onclick: (event) => event.stopPropagation(),
      onsubmit: (event) => {
        event.preventDefault();
        const phone = input.value.trim();
        api('POST', `${path}/pair-code`, { phone }).catch((error) => showError(error.message));
      },
    },
    input,
    element('button', { type: 'submit' }, 'Link with phone number'),
  );
  part.append(form);
  if (session.pairCodeFailure) {
    part.append(element('div', { class: 'error' }, `no pair code: ${session.pairCodeFailure}`));
  }
  return part;
}

function renderSessions() {
  const list = $('#sessions');
  // A redraw must not take the phone field from under the user's fingers.
  const focused = document.activeElement?.classList?.contains('phone')
    ? document.activeElement.closest('li')?.dataset.session
    : null;
  list.replaceChildren();
  for (const session of state.sessions.values()) {
    const item = element(
      'li',
      {
        class: `session${session.name === state.selected ? ' selected' : ''}`,
        'data-session': session.name,
        'data-state': session.state,
        onclick: () => select(session.name),
      },
      element(
        'div',
        { class: 'name' },
        session.name,
        element(
          'span',
          { class: `protocol ${session.protocol}` },
          session.protocol === 'md' ? 'MD' : 'legacy',
        ),
      ),
      element('div', { class: 'state' }, session.state),
    );
    if (session.wid) item.append(element('div', { class: 'muted' }, session.wid));
    if (session.failure) item.append(element('div', { class: 'muted' }, `reason: ${session.failure}`));
    if (session.qr) {
      const image = element('img', {
        class: 'qr-image',
        alt: `QR code ${session.qr.index + 1} for ${session.name}`,
        src: `/api/sessions/${encodeURIComponent(session.name)}/qr.svg?ref=${encodeURIComponent(session.qr.ref)}`,
        'data-qr-text': session.qr.text,
        'data-qr-index': String(session.qr.index),
      });
      const countdown = element('div', {
        class: 'muted countdown',
        'data-expires-at': String(session.qr.expiresAt),
      });
      countdown.textContent = `code ${session.qr.index + 1}, ${secondsLeft(session.qr)} s left`;
      item.append(element('div', { class: 'qr' }, image, countdown));
    }
    const path = `/api/sessions/${encodeURIComponent(session.name)}`;
    if (session.protocol === 'md') {
      const part = pairCodePart(session, path);
      if (part) item.append(part);
    }
    const actions = element('div', { class: 'actions' });
    const act = (label, run) =>
      actions.append(
        element(
          'button',
          {
            type: 'button',
            onclick: (event) => {
              event.stopPropagation();
              run().catch((error) => showError(error.message));
            },
          },
          label,
        ),
      );
    if (session.qr && state.info?.emulator)
      act("Scan with the emulator's phone", () => api('POST', `${path}/scan`, {}));
    if (session.pairCode && state.info?.emulator)
      act("Type the code on the emulator's phone", () => api('POST', `${path}/type-code`, {}));
    if (session.tags.includes('ready')) act('Log out', () => api('POST', `${path}/logout`));
    if (session.tags.includes('offline'))
      act(session.state === 'conflict' ? 'Take over' : 'Restart', () => api('POST', `${path}/restart`));
    act('Stop', () => api('DELETE', path));
    item.append(actions);
    list.append(item);
  }
  if (focused) {
    const input = list.querySelector(`li[data-session="${CSS.escape(focused)}"] input.phone`);
    input?.focus();
    input?.setSelectionRange(input.value.length, input.value.length);
  }
}

function tickCountdowns() {
  for (const countdown of document.querySelectorAll('.countdown')) {
    const left = Math.max(0, Math.ceil((Number(countdown.dataset.expiresAt) - Date.now()) / 1000));
    countdown.textContent = countdown.textContent.replace(/\d+ s left/, `${left} s left`);
  }
}

function showError(message) {
  const error = $('#form-error');
  error.textContent = message;
  error.hidden = false;
  setTimeout(() => {
    error.hidden = true;
  }, 5000);
}

// ------------------------------------------------------------------------------------------ inspector

function select(name) {
  const changed = state.selected !== name;
  state.selected = name;
  $('#inspected').textContent = name ? `— ${name}` : '';
  renderSessions();
  if (changed) {
    lightTransitions([]);
    state.followed = '';
  }
  highlight();
  renderEvents();
  if (name && !state.events.has(name)) loadEvents(name);
  drawMachineOf(state.sessions.get(name));
}

/** Draws the machine the session runs, when another one is drawn now. */
function drawMachineOf(session) {
  const machine = session?.machine ?? state.drawn ?? 'session';
  if (machine === state.drawn) return;
  loadDiagram(machine).catch((error) => showError(error.message));
}

// The history can overlap the live events that arrived meanwhile: merged by seq, each shown once.
function loadEvents(name) {
  if (state.loadingEvents.has(name)) return;
  state.loadingEvents.add(name);
  api('GET', `/api/sessions/${encodeURIComponent(name)}/events`)
    .then(({ events }) => {
      mergeEvents(name, events);
      if (name === state.selected) renderEvents();
    })
    .catch(() => undefined)
    .finally(() => state.loadingEvents.delete(name));
}

/** Adds the events not shown yet; answers those that were new. */
function mergeEvents(name, incoming) {
  const known = state.events.get(name) ?? [];
  const seen = new Set(known.map((event) => event.seq));
  const fresh = incoming.filter((event) => !seen.has(event.seq));
  const merged = fresh.length ? known.concat(fresh).sort((a, b) => a.seq - b.seq) : known;
  state.events.set(name, merged.slice(-MAX_EVENTS));
  return fresh;
}

function highlight() {
  const diagram = $('#diagram');
  const session = state.sessions.get(state.selected);
  const active = new Set(session ? session.active : []);
  for (const group of diagram.querySelectorAll('g[id^="state:"]')) {
    group.classList.toggle('active', active.has(group.id.slice('state:'.length)));
  }
  diagram.dataset.active = [...active].join(' ');
  // A session at rest takes no more transitions: nothing stays lit.
  if (!session || isResting(session)) lightTransitions([]);
  followActive();
}

/** Lights the edges of the transitions just taken (one microstep), and only those. */
function lightTransitions(transitionIds) {
  const diagram = $('#diagram');
  for (const edge of diagram.querySelectorAll('g.edge.taken')) edge.classList.remove('taken');
  for (const id of transitionIds) {
    for (const edgeId of state.edgesOf.get(id) ?? []) document.getElementById(edgeId)?.classList.add('taken');
  }
  diagram.dataset.taken = transitionIds.join('\n');
}

/** Scrolls the diagram (not the page) so the active states are in view, when they changed. */
function followActive() {
  const diagram = $('#diagram');
  const leaves = [...diagram.querySelectorAll('g.node.active')];
  const key = leaves.map((leaf) => leaf.id).join(' ');
  if (leaves.length === 0 || key === state.followed) return;
  state.followed = key;
  const view = diagram.getBoundingClientRect();
  const rects = leaves.map((leaf) => leaf.getBoundingClientRect());
  const box = {
    left: Math.min(...rects.map((r) => r.left)) - view.left + diagram.scrollLeft,
    top: Math.min(...rects.map((r) => r.top)) - view.top + diagram.scrollTop,
    right: Math.max(...rects.map((r) => r.right)) - view.left + diagram.scrollLeft,
    bottom: Math.max(...rects.map((r) => r.bottom)) - view.top + diagram.scrollTop,
  };
  const margin = 32;
  // Centred when it fits, else its top left corner shown first.
  const scrollTo = (start, end, size) =>
    end - start + 2 * margin <= size ? (start + end - size) / 2 : start - margin;
  const inView =
    box.left >= diagram.scrollLeft &&
    box.right <= diagram.scrollLeft + diagram.clientWidth &&
    box.top >= diagram.scrollTop &&
    box.bottom <= diagram.scrollTop + diagram.clientHeight;
  if (inView) return;
  diagram.scrollTo({
    left: Math.max(0, scrollTo(box.left, box.right, diagram.clientWidth)),
    top: Math.max(0, scrollTo(box.top, box.bottom, diagram.clientHeight)),
  });
}

function renderEvents() {
  const log = $('#event-log');
  log.replaceChildren();
  for (const event of state.events.get(state.selected) ?? []) log.append(eventLine(event));
  log.scrollTop = log.scrollHeight;
}

function eventLine(event) {
  const time = new Date(event.at).toISOString().slice(11, 23);
  const { type: _type, ...payload } = event.payload ?? {};
  const text = Object.keys(payload).length ? ` ${JSON.stringify(payload)}` : '';
  return element(
    'li',
    { 'data-seq': String(event.seq) },
    `${time} `,
    element('span', { class: 'type' }, event.type),
    text,
  );
}

function appendEvent(name, event) {
  const shown = state.events.get(name) ?? [];
  const last = shown.at(-1);
  if (mergeEvents(name, [event]).length === 0 || name !== state.selected) return;
  if (last && event.seq < last.seq) return renderEvents();
  const log = $('#event-log');
  log.append(eventLine(event));
  while (log.children.length > MAX_EVENTS) log.firstChild.remove();
  log.scrollTop = log.scrollHeight;
}

async function fetchDiagram(machine) {
  const known = state.diagrams.get(machine);
  if (known) return known;
  const path = `/api/machines/${encodeURIComponent(machine)}`;
  const [svg, structure] = await Promise.all([
    fetch(`${path}/diagram.svg`).then((response) => response.text()),
    api('GET', `${path}/structure`),
  ]);
  const edgesOf = new Map();
  for (const edge of structure.edges) {
    for (const id of edge.transitionIds) edgesOf.set(id, [...(edgesOf.get(id) ?? []), edge.id]);
  }
  const drawing = { svg, edgesOf };
  state.diagrams.set(machine, drawing);
  return drawing;
}

async function loadDiagram(machine = 'session') {
  state.drawn = machine;
  const diagram = $('#diagram');
  diagram.dataset.ready = 'false';
  const { svg, edgesOf } = await fetchDiagram(machine);
  // Another session was selected meanwhile: its machine is drawn instead.
  if (state.drawn !== machine) return;
  state.edgesOf = edgesOf;
  state.followed = '';
  diagram.innerHTML = svg;
  diagram.dataset.machine = machine;
  $('#machine-name').textContent = machine;
  // Graphviz sizes the drawing in points; one point a pixel keeps its 9 pt labels readable and shows
  // more of it (the page scrolls to the active states). Fit shows it whole.
  const drawing = diagram.querySelector('svg');
  for (const side of ['width', 'height']) {
    drawing.setAttribute(side, String(Number.parseFloat(drawing.getAttribute(side))));
  }
  diagram.dataset.ready = 'true';
  highlight();
}

// ----------------------------------------------------------------------------------------------- jobs

function renderJobs(counts) {
  const body = $('#jobs tbody');
  body.replaceChildren();
  for (const job of state.jobs.values()) {
    const progress = element('progress', { max: String(job.bytesTotal ?? 1), value: String(job.bytesDone) });
    if (job.state === 'done') progress.value = progress.max;
    const outcome =
      job.state === 'done' ? (job.outPath ?? '') : job.state === 'failed' ? (job.reason ?? '') : '';
    body.append(
      element(
        'tr',
        { 'data-job': job.id, 'data-state': job.state },
        element('td', { title: job.id }, job.id.slice(0, 18)),
        element('td', {}, job.session ?? ''),
        element('td', {}, job.state),
        element('td', {}, progress),
        element('td', {}, outcome),
      ),
    );
  }
  if (counts) {
    $('#queue-counts').textContent = `Redis queue: ${Object.entries(counts)
      .map(([name, count]) => `${name} ${count}`)
      .join(', ')}`;
  }
}

async function refreshQueueCounts() {
  if (state.info?.queue !== 'redis') return;
  const { counts } = await api('GET', '/api/jobs').catch(() => ({}));
  renderJobs(counts);
}

// ----------------------------------------------------------------------------------------- live feed

function connect() {
  const source = new EventSource('/api/events');
  source.addEventListener('open', () => {
    $('#live').textContent = 'live';
    $('#live').classList.add('on');
  });
  source.addEventListener('error', () => {
    $('#live').textContent = 'reconnecting';
    $('#live').classList.remove('on');
    // A refused stream is not retried by the browser: a token that no longer holds asks for the new one.
    if (source.readyState === EventSource.CLOSED) {
      api('GET', '/api/info').then(
        () => setTimeout(connect, 1000),
        (error) => (error.status === 401 ? askForToken() : setTimeout(connect, 1000)),
      );
    }
  });
  source.addEventListener('hello', (message) => {
    const { sessions, jobs } = JSON.parse(message.data);
    state.sessions = new Map(sessions.map((s) => [s.name, s]));
    state.jobs = new Map(jobs.map((j) => [j.id, j]));
    if (!state.sessions.has(state.selected)) state.selected = null;
    if (!state.selected && sessions.length) select(sessions[0].name);
    // After a reconnect: what happened meanwhile (merged, nothing twice).
    else if (state.selected) loadEvents(state.selected);
    renderSessions();
    renderJobs();
    highlight();
  });
  source.addEventListener('update', (message) => {
    const update = JSON.parse(message.data);
    if (update.type === 'session') {
      const isNew = !state.sessions.has(update.session.name);
      state.sessions.set(update.session.name, update.session);
      if (isNew && !state.selected) select(update.session.name);
      renderSessions();
      if (update.session.name === state.selected) {
        highlight();
        // Selected before its first update came (the create form's answer): its machine is known now.
        drawMachineOf(update.session);
      }
    } else if (update.type === 'session.removed') {
      state.sessions.delete(update.name);
      // A new session of that name counts its events from 1 again.
      state.events.delete(update.name);
      if (state.selected === update.name) select(null);
      renderSessions();
    } else if (update.type === 'event') {
      appendEvent(update.session, update.event);
    } else if (update.type === 'transition' && update.session === state.selected) {
      if (!isResting(state.sessions.get(update.session))) lightTransitions(update.transitions);
    } else if (update.type === 'job') {
      state.jobs.set(update.job.id, update.job);
      renderJobs();
    }
  });
}

// ------------------------------------------------------------------------------------------- sign-in

// Opened with `/#token=…` (the link walink serve prints in a terminal) the page trades the token for
// an HttpOnly cookie and drops it from the address bar; the fragment never reaches a server.
async function signInFromLink() {
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  if (!token) return;
  history.replaceState(null, '', location.pathname + location.search);
  await api('POST', '/api/login', { token }).catch(() => undefined);
}

function askForToken() {
  const form = $('#sign-in');
  form.hidden = false;
  $('main').hidden = true;
  $('#live').textContent = 'signed out';
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    api('POST', '/api/login', { token: $('#token').value.trim() })
      .then(() => location.reload())
      .catch((error) => {
        $('#sign-in-error').textContent = error.message;
        $('#sign-in-error').hidden = false;
      });
  });
}

async function main() {
  await signInFromLink();
  try {
    state.info = await api('GET', '/api/info');
  } catch (error) {
    if (error.status === 401) return askForToken();
    throw error;
  }
  $('#info').textContent =
    `server ${state.info.server}${state.info.mdServer ? ` · multi-device ${state.info.mdServer}` : ''} · ${state.info.emulator ? 'embedded emulator · ' : ''}media queue: ${state.info.queue}`;
  // Multi-device sessions only when the service has an MD server.
  const mdOption = $('#new-session-protocol option[value="md"]');
  mdOption.disabled = !state.info.mdServer;
  $('#new-session').addEventListener('submit', (event) => {
    event.preventDefault();
    const name = $('#new-session-name').value.trim();
    const protocol = $('#new-session-protocol').value;
    api('POST', '/api/sessions', { ...(name ? { name } : {}), protocol })
      .then((session) => {
        $('#new-session-name').value = '';
        select(session.name);
      })
      .catch((error) => showError(error.message));
  });
  $('#zoom').addEventListener('click', () => {
    const diagram = $('#diagram');
    diagram.classList.toggle('fit');
    $('#zoom').textContent = diagram.classList.contains('fit') ? '1:1' : 'Fit';
    state.followed = '';
    followActive();
  });
  await loadDiagram();
  connect();
  setInterval(tickCountdowns, 500);
  setInterval(() => void refreshQueueCounts(), 2000);
}

main().catch((error) => showError(error.message));
