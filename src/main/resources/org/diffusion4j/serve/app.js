// The page of `diffusion4j serve`. It reads the server-sent events of /v1/stream through fetch (not EventSource),
// so it sees HTTP errors with their JSON message and can abort the connection, which cancels the sampling.
'use strict';
const $ = (id) => document.getElementById(id);
let models = [];
let running = null; // {controller, id}

function status(text, isError) {
  $('status').textContent = text;
  $('status').className = isError ? 'error' : '';
}

function currentModel() {
  return models.find((m) => m.name === $('model').value);
}

function onModelChange() {
  const m = currentModel();
  $('sampler').replaceChildren(...m.samplers.map((s) => new Option(s, s, false, s === m.default_sampler)));
  $('conditional').style.display = m.classes > 0 ? '' : 'none';
  const classes = [new Option('none (unconditional)', '')];
  for (let c = 0; c < m.classes; c++) classes.push(new Option(String(c), String(c)));
  $('class').replaceChildren(...classes);
  $('steps').max = Math.min(m.training_timesteps, window.maxSteps || m.training_timesteps);
  $('steps').value = m.default_steps;
}

function addToGallery(item, first) {
  const fig = document.createElement('figure');
  const link = document.createElement('a');
  link.href = item.url;
  link.download = item.id + '.png';
  link.title = 'download ' + item.id + '.png';
  const img = document.createElement('img');
  img.src = item.image || item.url;
  img.alt = item.label;
  link.append(img);
  const cap = document.createElement('figcaption');
  cap.textContent = item.label + ' (' + item.seconds.toFixed(1) + ' s)';
  fig.append(link, cap);
  fig.className = 'gallery-item';
  if (first) $('gallery').prepend(fig); else $('gallery').append(fig);
}

// Splits a text/event-stream into {event, data} messages.
async function* events(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length) yield { event, data: JSON.parse(data.join('\n')) };
    }
  }
}

async function generate(ev) {
  ev.preventDefault();
  if (running) return;
  const m = currentModel();
  if ($('random-seed').checked) $('seed').value = Math.floor(Math.random() * 2 ** 31);
  const params = new URLSearchParams({ model: m.name, sampler: $('sampler').value, steps: $('steps').value,
    seed: $('seed').value });
  if (m.classes > 0 && $('class').value !== '') {
    params.set('class', $('class').value);
    params.set('guidance', $('guidance').value);
  }
  const controller = new AbortController();
  running = { controller, id: null };
  $('generate').disabled = true;
  $('cancel').disabled = false;
  $('frames').textContent = '0';
  $('progress').value = 0;
  status('starting…');
  let frames = 0;
  try {
    const response = await fetch('/v1/stream?' + params, { signal: controller.signal });
    if (!response.ok) {
      const body = await response.json().catch(() => ({ error: response.statusText }));
      status('error ' + response.status + ': ' + body.error, true);
      return;
    }
    for await (const msg of events(response.body)) {
      if (msg.event === 'queued') {
        running.id = msg.data.id;
        status(msg.data.position > 0 ? 'queued behind ' + msg.data.position + ' request(s)…' : 'sampling…');
      } else if (msg.event === 'frame') {
        $('xt').src = msg.data.xt;
        $('x0').src = msg.data.x0;
        $('progress').value = (msg.data.index + 1) / msg.data.count;
        $('frames').textContent = String(++frames);
        status('step ' + (msg.data.index + 1) + ' / ' + msg.data.count);
      } else if (msg.event === 'done') {
        $('x0').src = msg.data.image;
        status('done in ' + msg.data.seconds.toFixed(1) + ' s: ' + msg.data.label);
        addToGallery(msg.data, true);
      } else if (msg.event === 'error') {
        status(msg.data.error, true);
      }
    }
  } catch (e) {
    status(e.name === 'AbortError' ? 'cancelled' : 'connection lost: ' + e.message, e.name !== 'AbortError');
  } finally {
    running = null;
    $('generate').disabled = false;
    $('cancel').disabled = true;
  }
}

function cancel() {
  if (!running) return;
  if (running.id) fetch('/v1/jobs/' + encodeURIComponent(running.id), { method: 'DELETE' });
  running.controller.abort();
}

async function init() {
  try {
    const r = await fetch('/v1/models');
    const body = await r.json();
    models = body.models;
    window.maxSteps = body.limits.max_steps;
    $('model').replaceChildren(...models.map((m) => new Option(m.name + ' (' + m.data + ')', m.name)));
    onModelChange();
    const g = await (await fetch('/v1/gallery')).json();
    g.images.slice().reverse().forEach((item) => addToGallery(item, false));
    status('ready');
  } catch (e) {
    status('cannot reach the server: ' + e.message, true);
  }
}

$('model').addEventListener('change', onModelChange);
$('form').addEventListener('submit', generate);
$('cancel').addEventListener('click', cancel);
init();
