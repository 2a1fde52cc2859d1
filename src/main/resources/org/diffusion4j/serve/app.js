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

// img2img and inpainting: the uploaded image and the painted mask, both kept at the model's own resolution
// (offscreen canvases) and shown scaled up on the visible canvas, the mask as a red overlay.
const start = { image: null, mask: null, painted: false, strengthTouched: false };

function modelSize() {
  const m = currentModel();
  return m ? { w: m.image_shape[2], h: m.image_shape[1] } : { w: 28, h: 28 };
}

function resetMask() {
  const { w, h } = modelSize();
  start.mask = document.createElement('canvas');
  start.mask.width = w;
  start.mask.height = h;
  const g = start.mask.getContext('2d');
  g.fillStyle = '#000';
  g.fillRect(0, 0, w, h);
  start.painted = false;
  drawStart();
}

function drawStart() {
  const view = $('mask');
  const g = view.getContext('2d');
  g.imageSmoothingEnabled = false;
  g.fillStyle = '#000';
  g.fillRect(0, 0, view.width, view.height);
  if (start.image) g.drawImage(start.image, 0, 0, view.width, view.height);
  if (start.mask && start.painted) {
    // The mask's white pixels, tinted red over the image.
    const { w, h } = modelSize();
    const data = start.mask.getContext('2d').getImageData(0, 0, w, h);
    const tint = document.createElement('canvas');
    tint.width = w;
    tint.height = h;
    const t = tint.getContext('2d');
    const out = t.createImageData(w, h);
    for (let i = 0; i < w * h; i++) {
      const on = data.data[4 * i] > 127;
      out.data.set(on ? [230, 40, 40, 150] : [0, 0, 0, 0], 4 * i);
    }
    t.putImageData(out, 0, 0);
    g.drawImage(tint, 0, 0, view.width, view.height);
  }
}

function paintAt(ev) {
  const view = $('mask');
  const r = view.getBoundingClientRect();
  const { w, h } = modelSize();
  const x = ((ev.clientX - r.left) / r.width) * w;
  const y = ((ev.clientY - r.top) / r.height) * h;
  const g = start.mask.getContext('2d');
  g.fillStyle = '#fff';
  g.beginPath();
  g.arc(x, y, Math.max(1, w / 14), 0, 2 * Math.PI);
  g.fill();
  if (!start.painted && !start.strengthTouched) setStrength(1); // inpainting starts from noise, as diffusers
  start.painted = true;
  drawStart();
}

function setStrength(v) {
  $('strength').value = String(v);
  $('strength-value').textContent = Number(v).toFixed(2);
}

function loadImage(file) {
  const img = new Image();
  img.onload = () => {
    const { w, h } = modelSize();
    const c = document.createElement('canvas');
    c.width = w;
    c.height = h;
    c.getContext('2d').drawImage(img, 0, 0, w, h);
    start.image = c;
    drawStart();
    status('image loaded: ' + file.name);
  };
  img.onerror = () => status('cannot read ' + file.name + ' as an image', true);
  // A data: URL, which the page's Content-Security-Policy allows (blob: URLs it does not).
  const reader = new FileReader();
  reader.onload = () => { img.src = reader.result; };
  reader.onerror = () => status('cannot read ' + file.name, true);
  reader.readAsDataURL(file);
}

function base64(canvas) {
  return canvas.toDataURL('image/png').split(',')[1];
}

function onModelChange() {
  const m = currentModel();
  $('sampler').replaceChildren(...m.samplers.map((s) => new Option(s, s, false, s === m.default_sampler)));
  // A pipeline takes a prompt and guidance; a class-conditional model a class and guidance.
  $('prompted').style.display = m.prompts ? '' : 'none';
  $('conditional').style.display = m.classes > 0 || m.prompts ? '' : 'none';
  $('class-box').style.display = m.classes > 0 ? '' : 'none';
  if (m.prompts) $('guidance').value = m.default_guidance;
  const classes = [new Option('none (unconditional)', '')];
  for (let c = 0; c < m.classes; c++) classes.push(new Option(String(c), String(c)));
  $('class').replaceChildren(...classes);
  $('steps').max = Math.min(m.training_timesteps, window.maxSteps || m.training_timesteps);
  $('steps').value = Math.min(m.default_steps, $('steps').max);
  start.image = null;
  $('init-image').value = '';
  resetMask();
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
  if (m.prompts) {
    params.set('prompt', $('prompt').value);
    if ($('negative-prompt').value !== '') params.set('negative_prompt', $('negative-prompt').value);
    params.set('guidance', $('guidance').value);
  } else if (m.classes > 0 && $('class').value !== '') {
    params.set('class', $('class').value);
    params.set('guidance', $('guidance').value);
  }
  if (start.image) {
    params.set('init_image', base64(start.image));
    params.set('strength', $('strength').value);
    if (start.painted) params.set('mask', base64(start.mask));
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
$('init-image').addEventListener('change', (ev) => { if (ev.target.files[0]) loadImage(ev.target.files[0]); });
$('strength').addEventListener('input', (ev) => { start.strengthTouched = true; setStrength(ev.target.value); });
$('clear-mask').addEventListener('click', resetMask);
$('clear-image').addEventListener('click', () => { start.image = null; $('init-image').value = ''; resetMask(); });
$('mask').addEventListener('pointerdown', (ev) => {
  if (!start.image) { status('load an image first: the mask marks what to repaint in it', true); return; }
  $('mask').setPointerCapture(ev.pointerId);
  paintAt(ev);
});
$('mask').addEventListener('pointermove', (ev) => { if (ev.buttons & 1 && start.image) paintAt(ev); });
$('form').addEventListener('submit', generate);
$('cancel').addEventListener('click', cancel);
init();
