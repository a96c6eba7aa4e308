// The walink page: sessions with their QR codes, the live inspector (the session machine's diagram
// with active states highlighted, and the event log), and media jobs. Plain DOM, no framework: every
// update arrives as a Server-Sent Event from /api/events.

const state = {
  sessions: new Map(),
  jobs: new Map(),
  events: new Map(),
  selected: null,
  info: null,
};

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

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const result = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(result.error ?? `${response.status}`);
  return result;
}

// ------------------------------------------------------------------------------------------- sessions

function secondsLeft(qr) {
  return Math.max(0, Math.ceil((qr.expiresAt - Date.now()) / 1000));
}

function renderSessions() {
  const list = $('#sessions');
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
      element('div', { class: 'name' }, session.name),
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
    const path = `/api/sessions/${encodeURIComponent(session.name)}`;
    if (session.qr && state.info?.emulator)
      act("Scan with the emulator's phone", () => api('POST', `${path}/scan`, {}));
    if (session.tags.includes('ready')) act('Log out', () => api('POST', `${path}/logout`));
    if (session.tags.includes('offline'))
      act(session.state === 'conflict' ? 'Take over' : 'Restart', () => api('POST', `${path}/restart`));
    act('Stop', () => api('DELETE', path));
    item.append(actions);
    list.append(item);
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
  state.selected = name;
  $('#inspected').textContent = name ? `— ${name}` : '';
  renderSessions();
  highlight();
  renderEvents();
  if (name && !state.events.has(name)) {
    api('GET', `/api/sessions/${encodeURIComponent(name)}/events`)
      .then(({ events }) => {
        state.events.set(name, events.concat(state.events.get(name) ?? []));
        renderEvents();
      })
      .catch(() => undefined);
  }
}

function highlight() {
  const diagram = $('#diagram');
  const session = state.sessions.get(state.selected);
  const active = new Set(session ? session.active : []);
  for (const group of diagram.querySelectorAll('g[id^="state:"]')) {
    group.classList.toggle('active', active.has(group.id.slice('state:'.length)));
  }
  diagram.dataset.active = [...active].join(' ');
}

function flashTransitions(transitionIds) {
  // Edges are drawn per (source, target); a taken transition lights the edge from its source.
  const diagram = $('#diagram');
  for (const edge of diagram.querySelectorAll('g.edge.taken')) edge.classList.remove('taken');
  for (const id of transitionIds) {
    const source = id.slice(0, id.indexOf(' '));
    for (const edge of diagram.querySelectorAll(`g.edge[id^="edge:${CSS.escape(source)}~"]`)) {
      edge.classList.add('taken');
    }
  }
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
  return element('li', {}, `${time} `, element('span', { class: 'type' }, event.type), text);
}

function appendEvent(name, event) {
  const events = state.events.get(name) ?? [];
  events.push(event);
  if (events.length > 500) events.shift();
  state.events.set(name, events);
  if (name === state.selected) {
    const log = $('#event-log');
    log.append(eventLine(event));
    while (log.children.length > 500) log.firstChild.remove();
    log.scrollTop = log.scrollHeight;
  }
}

async function loadDiagram() {
  const response = await fetch('/api/machines/session/diagram.svg');
  const svg = await response.text();
  const diagram = $('#diagram');
  diagram.innerHTML = svg;
  // Graphviz gives the drawing a fixed size; the page scales it (Fit) or shows it 1:1.
  const drawing = diagram.querySelector('svg');
  drawing.dataset.width = drawing.getAttribute('width');
  drawing.removeAttribute('width');
  drawing.removeAttribute('height');
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
  });
  source.addEventListener('hello', (message) => {
    const { sessions, jobs } = JSON.parse(message.data);
    state.sessions = new Map(sessions.map((s) => [s.name, s]));
    state.jobs = new Map(jobs.map((j) => [j.id, j]));
    if (!state.sessions.has(state.selected)) state.selected = null;
    if (!state.selected && sessions.length) select(sessions[0].name);
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
      if (update.session.name === state.selected) highlight();
    } else if (update.type === 'session.removed') {
      state.sessions.delete(update.name);
      if (state.selected === update.name) select(null);
      renderSessions();
    } else if (update.type === 'event') {
      appendEvent(update.session, update.event);
    } else if (update.type === 'transition' && update.session === state.selected) {
      flashTransitions(update.transitions);
    } else if (update.type === 'job') {
      state.jobs.set(update.job.id, update.job);
      renderJobs();
    }
  });
}

async function main() {
  state.info = await api('GET', '/api/info');
  $('#info').textContent =
    `server ${state.info.server} · ${state.info.emulator ? 'embedded emulator · ' : ''}media queue: ${state.info.queue}`;
  $('#new-session').addEventListener('submit', (event) => {
    event.preventDefault();
    const name = $('#new-session-name').value.trim();
    api('POST', '/api/sessions', name ? { name } : {})
      .then((session) => {
        $('#new-session-name').value = '';
        select(session.name);
      })
      .catch((error) => showError(error.message));
  });
  $('#zoom').addEventListener('click', () => {
    const diagram = $('#diagram');
    diagram.classList.toggle('actual-size');
    $('#zoom').textContent = diagram.classList.contains('actual-size') ? 'Fit' : '1:1';
  });
  await loadDiagram();
  connect();
  setInterval(tickCountdowns, 500);
  setInterval(() => void refreshQueueCounts(), 2000);
}

main().catch((error) => showError(error.message));
