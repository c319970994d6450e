// The call page: signs in to the hub with an access token, starts or joins a call, publishes the camera and
// microphone when allowed, and subscribes to every other participant's feed. Plain JS, no framework.
// Parameters can also come from the URL fragment: #token=...&chat=...&call=...&plan=...&lesson=1&relay=1&autostart=1
// Without a token in the fragment the page uses the web client's session (same origin, localStorage 'chat.tokens'),
// so the chat's «Начать урок» / «Присоединиться» open it with no token in the URL. That session is read again
// whenever the hub (re)connects: the main client may have refreshed it meanwhile; when it is about to expire, the
// page refreshes it itself, under the same browser-wide lock as the chat's tabs (js/tokens.js: a refresh token works
// once, and a spent one coming back ends the session; a tab that finds the pair renewed by another takes that one).
'use strict';

const TOKENS_KEY = 'chat.tokens';

function storedTokens() {
  try { return JSON.parse(localStorage.getItem(TOKENS_KEY)) || null; } catch (e) { return null; }
}

function storedToken() {
  const t = storedTokens();
  return (t && t.accessToken) || '';
}

function tokenPayload(token) {
  try { return JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))); } catch (e) { return null; }
}

function expiresSoon(token) {
  const p = tokenPayload(token);
  return !p || p.exp * 1000 - Date.now() < 30000;
}

/**
 * The web client's current access token, refreshed when it is about to expire: js/tokens.js renews under the
 * browser-wide lock, or takes the pair another tab has just renewed.
 */
async function sessionToken() {
  const t = storedTokens();
  if (!t || !t.accessToken) return '';
  if (!expiresSoon(t.accessToken) || !t.refreshToken) return t.accessToken;
  try {
    const { renewTokens } = await import('./js/tokens.js');
    const { tokens } = await renewTokens(t.refreshToken);
    if (tokens && tokens.accessToken) return tokens.accessToken;
  } catch (e) { /* offline: the stored token is the best there is */ }
  return storedToken() || t.accessToken;
}

const state = {
  hub: null, callId: null, me: null, iceServers: [], relay: false, publisher: null, watching: false,
  starting: false, // «Войти» is joining a call now
  mayHost: false, // I could have started this call: I may take the place of a host who is away (TakeOverCall)
  waitingReconnected: null, // waiting in the waiting room: asks again after a reconnect (the decision may have been missed)
  subscribers: new Map(), // feedId -> RTCPeerConnection (cameras and screens alike)
  publishing: false,
  screen: null, screenFeed: null, // my screen share: its RTCPeerConnection and, once Janus took it, its feed id
  screenStream: null, // the capture of my screen share (kept when its connection is built again)
  screenAgainFor: null, // the capture whose screen share is being published again (screenAgain), or null
  local: null, // my camera and microphone (MediaStream) while publishing
  feedAccounts: new Map(), // camera feedId -> accountId (whose tile lights up when they speak)
  speaking: new Set(), // accountIds speaking now
  mainSpeaker: null, // the last one who spoke (first and larger among many tiles)
  videoMids: new Map(), // camera feedId -> mid of its video in my subscription (once answered)
  videoOn: new Map(), // camera feedId -> whether Janus sends me its video (false: paused, the tile shows its name)
  videoSince: new Map(), // camera feedId -> when its video was last turned on or off here
  videoRetryAt: 0, // after a failed SetFeedStream: not before this time (performance.now())
  spokeAt: new Map(), // accountId -> when they last began to speak (who gets video first among many)
  sharingVideo: false, shareAgain: false, // shareVideo() is running / must run again when done
  lastCall: null, // the call as last applied
  republishing: false, // a new publish after a failed connection or a media server restart is under way (its run's token)
  publishRun: null, // the publish attempt running now (a promise), shared by whoever asks to publish meanwhile
  iceRestarts: 0, subscriptionIceRestarts: 0, // ICE restarts done so far: of my camera's connection / of my subscriptions
  screenIceRestarts: 0, screenRepublishes: 0, // my screen share's connection: ICE restarts / built again after it failed
  mediaRebuilds: 0, // rejoins on a server that held none of my media connections (rebuildMedia)
  statePushes: 0, // pushes of the call's state received (a rejoin's answer read before one of them is older than it)
  mediaAway: false, // gave up publishing because the media server was away (its restart push tries again)
  iceExpireAt: 0, iceTimer: null, iceRenewals: 0, // when the TURN credentials expire (ms), the renewal's timer, renewals so far
  /** My participant in it as the server last described it (audioMuted/videoMuted/speakAllowed), or null. */
  get mine() { return this.lastCall?.participants.find(p => p.accountId === this.me) || null; },
  wasIn: false, // this page has seen itself among the participants (so a state without me means I am out)
  rejoinRun: null, // the rejoin after the latest reconnect (rejoin()); a newer one ends older ones
  videoOff: new Set(), // accountIds whose camera is off (their tiles show so)
};
window.callState = state; // for tests: getStats on the peer connections

const $ = id => document.getElementById(id);
const status = (text, error) => { $('status').textContent = text; $('status').className = error ? 'error' : ''; };
/** What the browser's refusals of a camera, a microphone or a screen mean, for the person (their own texts are English). */
const MEDIA_ERRORS = {
  NotAllowedError: 'Браузер не дал доступ к камере или микрофону. Разрешите его в настройках сайта (значок слева от адреса) и попробуйте снова.',
  NotFoundError: 'Камера или микрофон не найдены. Подключите их и попробуйте снова.',
  NotReadableError: 'Камера или микрофон заняты другой программой или не отвечают. Закройте её и попробуйте снова.',
  OverconstrainedError: 'Выбранная камера или микрофон недоступны. Выберите другие.',
  AbortError: 'Браузер прервал доступ к камере или микрофону. Попробуйте снова.',
  SecurityError: 'Браузер не даёт этой странице камеру и микрофон: откройте её по защищённому адресу (https).',
};
/** The server's code of a refused hub call («HubException: code: message»), or null (no answer: the connection). */
const serverCode = e => { const m = /HubException: ([a-z_]+): /.exec(String(e && e.message)); return m ? m[1] : null; };
/** SignalR's own (English) errors of a lost connection: an invocation cut off, a socket closed, no negotiation. */
const CONNECTION_LOST = /connection|websocket|negotiat|failed to fetch|networkerror|network error|server timeout/i;
const NO_CONNECTION = 'Нет связи с сервером.';
/**
 * A refusal's Russian text: the server's «code: message» without the code (SignalR's own prefix removed too), what
 * the browser's refusal of a device means, or «Нет связи с сервером.» for SignalR's English words of a lost connection.
 */
const message = e => {
  if (e && typeof DOMException !== 'undefined' && e instanceof DOMException && MEDIA_ERRORS[e.name]) return MEDIA_ERRORS[e.name];
  const m = String(e && e.message || e); const i = m.indexOf('HubException: ');
  if (i < 0 && CONNECTION_LOST.test(m)) return NO_CONNECTION;
  return (i < 0 ? m : m.slice(i + 14)).replace(/^[a-z_]+: /, '');
};
/**
 * JoinCall's refusals that mean «you are out of this call» (docs/calls.md): it ended, the host removed me, I am no longer
 * in its chat (left, removed, another school) or blocked in it, the chat is archived, or the call is closed or full to
 * me now. Anything else (the connection broke mid-call, service_unavailable, request_cancelled, rate_limited, an
 * internal error) is worth asking again.
 */
const OUT_OF_CALL = new Set(['call_not_found', 'removed_from_call', 'not_in_call', 'chat_not_found', 'chat_archived',
  'member_blocked', 'call_locked', 'call_full', 'call_guest_rejected', 'call_guest_waiting']);
const RECONNECTING = 'Нет связи с сервером, подключаемся снова…';
/**
 * This page, for the server: one id per tab, kept across the hub's reconnects (the `page` parameter of the hub's URL)
 * and across reloads of the tab (sessionStorage, with the call it joined: a reload, or the browser restoring the tab,
 * is the same page). A person's media in a call comes from one page only, the one that joined last (docs/calls.md,
 * «Two pages of one person»): another tab or device taking the call tells this one (CallMovedToAnotherPage), and the
 * server refuses this page's media requests from then on (call_moved_to_another_page).
 */
const PAGE_KEY = 'chat.callPage';
const KEPT_PAGE = (() => {
  try {
    const kept = JSON.parse(sessionStorage.getItem(PAGE_KEY) || 'null');
    return kept && typeof kept.page === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(kept.page) ? kept : null;
  } catch { return null; }
})();
const PAGE_ID = KEPT_PAGE ? KEPT_PAGE.page : (globalThis.crypto && crypto.randomUUID) ? crypto.randomUUID()
  : Array.from({ length: 4 }, () => Math.random().toString(36).slice(2, 10)).join('-');
/** The call this tab joined before its reload (its autostart rejoins it with RejoinCall, not taking it from another page). */
const KEPT_CALL = KEPT_PAGE && typeof KEPT_PAGE.call === 'string' ? KEPT_PAGE.call : null;
/** Remembers, for a reload of this tab, that this page joined the call. */
const keepPage = callId => { try { sessionStorage.setItem(PAGE_KEY, JSON.stringify({ page: PAGE_ID, call: callId })); } catch { /* private mode: a reload is a new page */ } };
const MOVED = 'call_moved_to_another_page';
const MOVED_TEXT = 'Вы подключились к звонку в другой вкладке или на другом устройстве.';
/** The status line while in a call. */
const inCallText = call => (call && call.lessonMode ? 'Вы на уроке.' : 'Вы в звонке.');
/** A toast (js/dialog.js's notice, as in the chat view); the status line if the module cannot load. */
const notify = (text, kind = 'error') => import('./js/dialog.js').then(m => m.notice(text, { kind })).catch(() => status(text, kind === 'error'));

function rtcConfig() {
  return { iceServers: state.iceServers.map(s => ({ urls: s.urls, username: s.username, credential: s.credential })),
    iceTransportPolicy: state.relay ? 'relay' : 'all', bundlePolicy: 'max-bundle' };
}

function trickle(pc, feedId, screen) {
  pc.onicecandidate = e => {
    const c = e.candidate;
    state.hub.invoke('Trickle', { callId: state.callId, feedId, candidate: c ? c.candidate : null,
      sdpMid: c ? c.sdpMid : null, sdpMLineIndex: c ? c.sdpMLineIndex : null, screen: !!screen }).catch(err => console.warn('trickle', message(err)));
  };
}

// Devices: «Камера» and «Микрофон» on the page; the choice is kept in this browser and used when joining next time.
const DEVICES_KEY = 'chat.callDevices';
const NO_DEVICE = 'none'; // «Без камеры» (and, internally, a microphone that vanished with no other left)

function chosenDevices() {
  try { return JSON.parse(localStorage.getItem(DEVICES_KEY)) || {}; } catch (e) { return {}; }
}

function rememberDevice(kind, deviceId) {
  localStorage.setItem(DEVICES_KEY, JSON.stringify({ ...chosenDevices(), [kind]: deviceId }));
}

/** One kind's constraints, for exactly that device when one is named ('' = the default). */
function constraint(kind, deviceId) {
  const c = kind === 'video' ? { width: 640, height: 480 } : {};
  if (deviceId) c.deviceId = { exact: deviceId };
  return c;
}

/**
 * The chosen camera and microphone; when one of them is gone, the default ones. Whatever exists is used: a microphone
 * without a camera sends sound only. Throws the browser's error when there is neither, or no permission.
 */
async function localMedia() {
  const want = chosenDevices();
  const kinds = want.video === NO_DEVICE ? ['audio'] : ['audio', 'video'];
  const ask = (list, chosen) => navigator.mediaDevices.getUserMedia(Object.fromEntries(list.map(k => [k, constraint(k, chosen ? want[k] : '')])));
  let error = null;
  for (const chosen of want.audio || (want.video && want.video !== NO_DEVICE) ? [true, false] : [false]) {
    try {
      return await ask(kinds, chosen);
    } catch (err) {
      error = err;
      if (err.name === 'NotAllowedError') throw err;
    }
  }
  const stream = new MediaStream();
  for (const k of kinds.length > 1 ? kinds : []) (await ask([k], false).catch(() => null))?.getTracks().forEach(t => stream.addTrack(t));
  if (!stream.getTracks().length) throw error;
  return stream;
}

/** My publisher's sender of a kind (it exists, perhaps empty, for both kinds). */
function senderOf(kind) {
  const t = state.publisher && state.publisher.getTransceivers().find(x => x.receiver.track.kind === kind);
  return t ? t.sender : null;
}

/** The device of my live track of a kind, or null. */
function liveDevice(kind) {
  const t = state.local && state.local.getTracks().find(x => x.kind === kind && x.readyState === 'live');
  return t ? t.getSettings().deviceId || '' : null;
}

/**
 * Uses another device (NO_DEVICE: none) in the call: the new track replaces the old one on the publisher's sender, with
 * no new offer and no leaving. Not publishing yet: the choice is only remembered, for when the page publishes.
 */
async function useDevice(kind, deviceId, remember = true) {
  if (remember) rememberDevice(kind, deviceId);
  const stream = state.local;
  if (!stream) return;
  const track = deviceId === NO_DEVICE ? null
    : (await navigator.mediaDevices.getUserMedia({ [kind]: constraint(kind, deviceId) })).getTracks()[0];
  const sender = senderOf(kind);
  if (sender) await sender.replaceTrack(track);
  for (const old of stream.getTracks().filter(t => t.kind === kind)) { old.stop(); stream.removeTrack(old); }
  if (track) stream.addTrack(track);
}

function fillDevices(select, devices, noun, current, none) {
  // Before access is given the browser names no device (and hides the ids): one «… по умолчанию» stands for them.
  const options = devices.filter(d => d.deviceId).map((d, i) => [d.deviceId, d.label || `${noun} ${i + 1}`]);
  if (!options.length && devices.length) options.push(['', noun + ' по умолчанию']);
  if (none) options.push([NO_DEVICE, none]);
  select.replaceChildren(...options.map(([value, label]) => new Option(label, value)));
  select.value = options.some(([v]) => v === current) ? current : options.length ? options[0][0] : '';
}

/** Fills «Камера» and «Микрофон» from the browser's devices, the one in use (or the remembered one) selected. */
async function refreshDevices() {
  const md = navigator.mediaDevices;
  const all = md && md.enumerateDevices ? await md.enumerateDevices().catch(() => []) : [];
  const want = chosenDevices();
  fillDevices($('mic'), all.filter(d => d.kind === 'audioinput'), 'Микрофон', liveDevice('audio') ?? want.audio, null);
  fillDevices($('camera'), all.filter(d => d.kind === 'videoinput'), 'Камера',
    state.local ? liveDevice('video') ?? NO_DEVICE : want.video, 'Без камеры');
  // «Динамик»: where the others are heard (a browser that cannot choose, or has one output, shows no choice).
  const outputs = canChooseSpeaker() ? all.filter(d => d.kind === 'audiooutput') : [];
  fillDevices($('speaker'), outputs, 'Динамик', speakerId(outputs), null);
  $('speaker-choice').hidden = outputs.filter(d => d.deviceId).length < 2;
  $('devices').hidden = !all.some(d => d.kind === 'audioinput' || d.kind === 'videoinput');
  return all;
}

const canChooseSpeaker = () => typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;

/** The remembered speaker if the browser still has it, else the default one (''). */
function speakerId(outputs = null) {
  const id = chosenDevices().speaker || '';
  return !outputs || outputs.some(d => d.deviceId === id) ? id : '';
}

/** Plays one tile's sound on the chosen speaker (the default one when none is chosen or it is gone). */
function routeSound(audio) {
  if (!canChooseSpeaker()) return Promise.resolve();
  return audio.setSinkId(speakerId()).catch(() => audio.setSinkId('').catch(() => {}));
}

/** The speaker chosen in «Динамик»: every tile's sound moves there at once, and the choice is kept in this browser. */
async function chooseSpeaker(deviceId) {
  rememberDevice('speaker', deviceId);
  try {
    await Promise.all([...document.querySelectorAll('#videos .tile audio')].map(a => a.setSinkId(deviceId)));
  } catch (err) {
    notify('Не удалось включить этот динамик: ' + message(err));
  }
  await refreshDevices();
}

async function chooseDevice(kind, deviceId) {
  try {
    await useDevice(kind, deviceId);
  } catch (err) {
    notify((kind === 'audio' ? 'Не удалось включить этот микрофон: ' : 'Не удалось включить эту камеру: ') + message(err));
  }
  await refreshDevices();
  if (kind === 'video') await reportCamera();
}

/**
 * Tells the call whether this page sends video (SetMuted's videoMuted), so that the others see «камера выключена»
 * instead of the last frame frozen on my tile. The microphone's state is sent back as the server has it.
 */
async function reportCamera() {
  const mine = state.mine;
  if (!state.hub || !state.callId || !state.publishing || !mine) return;
  const off = !state.local || !state.local.getVideoTracks().some(t => t.readyState === 'live');
  if (mine.videoMuted === off || (!off && !mine.speakAllowed)) return; // nothing new, or video is not mine to turn on
  try {
    await applyState(await state.hub.invoke('SetMuted', state.callId, mine.audioMuted, off));
  } catch (err) {
    status('Не удалось сообщить участникам, что камера ' + (off ? 'выключена: ' : 'включена: ') + message(err), true);
  }
}

/** A device in use went away (unplugged): the default one of its kind takes over, or none when there is no other. */
async function devicesChanged() {
  const all = await refreshDevices();
  for (const kind of ['audio', 'video']) {
    const track = state.local && state.local.getTracks().find(t => t.kind === kind);
    if (!track || (track.readyState === 'live' && all.some(d => d.kind === kind + 'input' && d.deviceId === track.getSettings().deviceId))) continue;
    const name = track.label;
    const mic = kind === 'audio';
    try {
      if (!all.some(d => d.kind === kind + 'input')) throw new Error('no device');
      await useDevice(kind, '', false);
      notify(mic ? `Микрофон «${name}» отключён: включён микрофон по умолчанию.` : `Камера «${name}» отключена: включена камера по умолчанию.`, 'info');
    } catch (e) {
      await useDevice(kind, NO_DEVICE, false).catch(() => {});
      notify(mic ? `Микрофон «${name}» отключён, другого нет: вас не слышно.` : `Камера «${name}» отключена, другой нет: вы без видео.`, 'info');
    }
  }
  await refreshDevices();
  await reportCamera();
}

/**
 * Publishes my camera and microphone. One attempt at a time: a call while one runs (the button, a media server restart,
 * a retry) shares it, so two cameras are never opened and two connections never fight.
 */
function publish() {
  if (!state.publishRun) state.publishRun = publishOnce().finally(() => { state.publishRun = null; });
  return state.publishRun;
}

async function publishOnce() {
  const callId = state.callId;
  // Left (or joined another call) while this attempt waited: what it opened is closed, nothing stays on.
  const leftMeanwhile = (stream, pc) => {
    if (state.callId === callId) return false;
    if (pc) pc.close();
    if (stream && stream !== state.local) stream.getTracks().forEach(t => t.stop());
    return true;
  };
  if (state.publisher) { state.publisher.close(); state.publisher = null; } // an earlier attempt that failed
  // Publishing again (a failed connection, the media server back): the camera and microphone already open are kept, so
  // their light does not blink and the browser does not ask again.
  const kept = state.local && state.local.getTracks().some(t => t.readyState === 'live') ? state.local : null;
  if (!kept) stopLocal();
  const stream = kept || await localMedia();
  if (leftMeanwhile(stream, null)) throw new Error('Вы вышли из звонка.');
  state.local = stream;
  $('local').srcObject = stream;
  $('local').parentElement.hidden = false;
  layoutTiles();
  const pc = new RTCPeerConnection(rtcConfig());
  state.publisher = pc;
  whenFailed(pc, () => state.publisher === pc, () => republish('Связь с медиасервером прервалась, подключаемся снова…'));
  whenDisconnected(pc, () => state.publisher === pc && state.publishing, () => restartIce(pc));
  // Both kinds get a sender, an empty one for a missing device, so a device chosen later needs no new offer.
  for (const kind of ['audio', 'video']) pc.addTransceiver(stream.getTracks().find(t => t.kind === kind) || kind, { direction: 'sendonly', streams: [stream] });
  refreshDevices();
  trickle(pc, null);
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  const answer = await state.hub.invoke('Publish', callId, offer.sdp);
  if (leftMeanwhile(null, pc)) throw new Error('Вы вышли из звонка.');
  await pc.setRemoteDescription({ type: 'answer', sdp: answer });
  state.publishing = true;
  state.micApplied = undefined; // a new stream: the microphone's state is applied to it once
  renderMic(state.mine);
  state.mediaAway = false;
  await reportCamera(); // joined without a camera (none, or «Без камеры» chosen before)
}

/**
 * A tile: the video with the participant's name over it (text only); a camera's tile knows whose it is. The sound plays
 * in an audio element of its own: a video element whose video track brings no frames (someone without a camera)
 * never starts playing, and its sound would never be heard.
 */
function addTile(feedId, label, accountId) {
  const video = document.createElement('video');
  video.autoplay = true; video.playsInline = true; video.muted = true; video.dataset.feed = String(feedId);
  const tile = document.createElement('figure');
  tile.className = 'tile'; tile.dataset.feed = String(feedId);
  if (accountId) tile.dataset.account = accountId;
  tile.classList.toggle('speaking', !!accountId && state.speaking.has(accountId));
  tile.classList.toggle('main', !!accountId && state.mainSpeaker === accountId);
  tile.classList.toggle('camera-off', !!accountId && state.videoOff.has(accountId));
  const caption = document.createElement('figcaption');
  caption.textContent = label || 'Участник';
  const audio = document.createElement('audio');
  audio.autoplay = true; audio.dataset.feed = String(feedId);
  routeSound(audio);
  tile.append(video, audio, caption);
  $('videos').appendChild(tile);
  layoutTiles();
  return { video, audio };
}

/**
 * Plays a participant's sound. A browser that allows no sound before a click on the page (autoplay rules) keeps it
 * muted and the page offers «Включить звук».
 */
function playWithSound(audio) {
  if (state.soundBlocked) return;
  audio.muted = false;
  audio.play().catch(() => {
    audio.muted = true;
    state.soundBlocked = true;
    $('sound').hidden = false;
  });
}

/** More than six tiles: the compact grid (css: `.videos.many`), the last speaker first and larger. */
function layoutTiles() {
  $('videos').classList.toggle('many', $('videos').querySelectorAll('.tile:not([hidden])').length > 6);
}

async function subscribe(feedId, label, accountId) {
  if (state.subscribers.has(feedId)) return;
  const pc = new RTCPeerConnection(rtcConfig());
  state.subscribers.set(feedId, pc);
  // Its connection failed (the network changed, a long outage): a new subscription to the same feed, if it is still live.
  whenFailed(pc, () => state.subscribers.get(feedId) === pc, () => {
    closeSubscriber(feedId);
    setTimeout(async () => {
      await freshIce();
      if (state.callId && state.lastCall) applyState(state.lastCall).catch(() => {});
    }, 1000);
  });
  whenDisconnected(pc, () => state.subscribers.get(feedId) === pc, () => restartSubscriptionIce(feedId, pc));
  if (accountId) state.feedAccounts.set(feedId, accountId);
  const { video, audio } = addTile(feedId, label, accountId);
  pc.ontrack = e => {
    if (e.track.kind === 'audio') {
      audio.srcObject = new MediaStream([e.track]);
      playWithSound(audio);
    } else {
      video.srcObject = e.streams[0] || new MediaStream([e.track]); // muted: its sound is the audio element's
    }
  };
  trickle(pc, feedId);
  // A feed becomes available in Janus only once its publisher's connection is up: retry "feed_not_found" briefly.
  // A feed still missing after 2 and 6 s may be one the page knows from a state that is no longer true (a push lost
  // or overtaken while the hub reconnected): the call is read again, and if the feed is gone from it, so is this
  // subscription (the loop ends quietly; the feed that replaced it is subscribed by that state).
  let offer = null;
  for (let attempt = 0; offer === null; attempt++) {
    try {
      offer = await state.hub.invoke('Subscribe', state.callId, feedId);
    } catch (err) {
      const text = String(err && err.message);
      const limited = text.includes('rate_limited'); // a page joining a big call asks for much at once: slower, not never
      const missing = text.includes('feed_not_found');
      if ((attempt === 8 || attempt === 24) && missing && state.subscribers.has(feedId)) await readCallAgain();
      if (attempt >= 40 || !(missing || limited) || !state.subscribers.has(feedId)) {
        closeSubscriber(feedId);
        throw err;
      }
      await new Promise(r => setTimeout(r, limited ? 1000 : 250));
    }
  }
  await pc.setRemoteDescription({ type: 'offer', sdp: offer });
  const answer = await pc.createAnswer();
  await pc.setLocalDescription(answer);
  await state.hub.invoke('Answer', state.callId, feedId, answer.sdp);
  const received = pc.getTransceivers().find(t => t.receiver.track.kind === 'video');
  if (accountId && received && received.mid !== null && state.subscribers.get(feedId) === pc) {
    state.videoMids.set(feedId, received.mid);
    state.videoOn.set(feedId, true); // Janus sends everything it offered until told otherwise
    state.videoSince.set(feedId, 0); // not held: a new camera over the budget is paused at once
    shareVideo();
  }
}

/**
 * How many cameras the page receives video of at once: 4 on a phone, 9 elsewhere, or what the person chose in «Видео
 * других» (one camera, or none on a poor connection; remembered with the devices). Everyone's sound and shared
 * screens are always received; a gallery of 30 cameras would take a phone's whole connection and processor. Tests
 * set localStorage['chat.maxVideo'] for the automatic budget.
 */
function videoBudget() {
  const mode = chosenDevices().receive;
  if (mode === 'none') return 0;
  if (mode === 'one') return 1;
  const set = Number(localStorage.getItem('chat.maxVideo'));
  if (set > 0) return set;
  return window.matchMedia && window.matchMedia('(max-width: 700px)').matches ? 4 : 9;
}

/** A camera that got video keeps it at least this long (ms): a cough elsewhere does not swap it out at once. */
const VIDEO_HOLD = 5000;

/**
 * Receives video of the cameras that matter most and pauses the rest (Janus stops sending it: SetFeedStream): the host,
 * cameras that are on (a camera turned off takes no place), cameras that got video less than VIDEO_HOLD ago, whoever
 * speaks now, then who spoke last, then who has video already, then who came first. Screens are never paused. Runs
 * once at a time; asked again meanwhile, it runs once more after. A failure is tried again 3 s later (not at every
 * change of who speaks).
 */
async function shareVideo() {
  if (state.sharingVideo) { state.shareAgain = true; return; }
  if (performance.now() < state.videoRetryAt) return; // its timer runs it
  state.sharingVideo = true;
  try {
    do {
      state.shareAgain = false;
      const hostId = state.lastCall && state.lastCall.hostId;
      const feeds = [...state.videoMids.keys()];
      const now = performance.now();
      const rank = (feed, order) => {
        const a = state.feedAccounts.get(feed);
        const held = state.videoOn.get(feed) && now - (state.videoSince.get(feed) || 0) < VIDEO_HOLD;
        return [a === hostId ? 0 : 1, state.videoOff.has(a) ? 1 : 0, held ? 0 : 1, state.speaking.has(a) ? 0 : 1,
          -(state.spokeAt.get(a) || 0), state.videoOn.get(feed) ? 0 : 1, order];
      };
      const compare = (x, y) => { for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] - y[i]; return 0; };
      const ranked = feeds.map((f, i) => [f, rank(f, i)]).sort((x, y) => compare(x[1], y[1])).map(([f]) => f);
      const wanted = new Set(ranked.slice(0, videoBudget()));
      // Pauses first, then resumes, so that the budget holds between the two (a new subscription sends video until
      // its first pass here).
      for (const feed of [...feeds.filter(f => !wanted.has(f)), ...feeds.filter(f => wanted.has(f))]) {
        const on = wanted.has(feed);
        const pc = state.subscribers.get(feed);
        if (state.videoOn.get(feed) === on || !state.videoMids.has(feed) || !state.callId || !pc) continue;
        try {
          await state.hub.invoke('SetFeedStream', state.callId, feed, state.videoMids.get(feed), on);
          if (state.subscribers.get(feed) !== pc) continue; // subscribed again meanwhile: that one starts afresh
          state.videoOn.set(feed, on);
          state.videoSince.set(feed, performance.now());
          const tile = document.querySelector(`figure[data-feed="${feed}"]`);
          if (tile) tile.classList.toggle('video-paused', !on);
        } catch (err) {
          console.warn('video of a feed', message(err));
          if (String(err && err.message).includes('feed_not_found') && state.subscribers.get(feed) === pc) {
            // The media server no longer knows this subscription (its handle was dropped): subscribe to it again.
            closeSubscriber(feed);
            setTimeout(() => { if (state.callId && state.lastCall) applyState(state.lastCall).catch(() => {}); }, 1000);
          }
          state.videoRetryAt = performance.now() + 3000;
          setTimeout(() => shareVideo(), 3000);
          return;
        }
      }
    } while (state.shareAgain);
  } finally {
    state.sharingVideo = false;
  }
}

// Screen sharing: a second publisher connection with the screen's video (no sound), feed kind "screen".
async function shareScreen() {
  if (state.screen || state.choosingScreen) return;
  // One picker at a time: a second click while the browser asks what to share would open another and leak the first.
  state.choosingScreen = true;
  $('share').disabled = true;
  let stream;
  try {
    stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
  } catch (err) {
    $('share').disabled = !(state.mine && state.mine.shareAllowed);
    throw err;
  } finally {
    state.choosingScreen = false;
  }
  state.screenStream = stream;
  stream.getVideoTracks()[0].onended = () => { if (state.screenStream === stream) stopScreen(true); };
  try {
    await publishScreen(stream);
  } catch (err) {
    if (state.screenStream === stream) stopScreen(false);
    throw err;
  }
}

/**
 * Publishes the shared screen on a new connection: at first, and again when that connection failed (with the same
 * capture: the teacher is not asked to pick the screen again). The server replaces the earlier screen feed.
 */
async function publishScreen(stream) {
  const callId = state.callId;
  if (state.screen) state.screen.close(); // the failed one; its capture is kept
  const pc = new RTCPeerConnection(rtcConfig());
  state.screen = pc;
  whenFailed(pc, () => state.screen === pc, () => screenAgain(stream));
  whenDisconnected(pc, () => state.screen === pc, () => restartScreenIce(pc, stream));
  pc.addTransceiver(stream.getVideoTracks()[0], { direction: 'sendonly', streams: [stream] });
  trickle(pc, null, true);
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  const answer = await state.hub.invoke('PublishScreen', callId, offer.sdp);
  if (state.screen !== pc) { // stopped meanwhile: the server may have taken the share after stopScreen told it to stop
    if (!state.screenStream && state.callId === callId) state.hub.invoke('StopScreenShare', callId, null).catch(() => {});
    return;
  }
  await pc.setRemoteDescription({ type: 'answer', sdp: answer });
  const call = await state.hub.invoke('GetCall', callId);
  const mine = call.participants.find(p => p.accountId === state.me);
  if (state.screen !== pc) return;
  state.screenFeed = mine ? mine.screenFeedId : null;
  $('share').disabled = true; $('stopshare').disabled = false;
}

/**
 * The screen share's connection failed for good, or the media server restarted: the screen is published again with the
 * same capture, after the hub is back (a network change breaks both) and while the media server is away per
 * retryPlan(); another refusal, or giving up, stops the share and the page says so.
 */
async function screenAgain(stream) {
  if (state.screenAgainFor === stream) return; // one rebuild at a time
  state.screenAgainFor = stream;
  const callId = state.callId;
  const sharing = () => state.screenStream === stream && state.callId === callId
    && stream.getVideoTracks().some(t => t.readyState === 'live');
  const plan = retryPlan();
  const until = Date.now() + plan.for;
  try {
    while (sharing() && await hubConnected(callId) && sharing()) {
      try {
        await freshIce();
        await publishScreen(stream);
        if (state.screenStream === stream) state.screenRepublishes++;
        return;
      } catch (err) {
        console.warn('screen again', message(err));
        const again = retryable(err) || String(err && err.message).includes('rate_limited');
        if (!again || Date.now() + plan.every > until) break;
        await new Promise(r => setTimeout(r, plan.every));
      }
    }
    if (state.screenStream === stream) {
      stopScreen(true);
      status('Показ экрана прервался: связь потерялась. Нажмите «Показать экран», чтобы начать снова.', true);
    }
  } finally {
    if (state.screenAgainFor === stream) state.screenAgainFor = null;
  }
}

function stopScreen(tellServer) {
  const pc = state.screen;
  const stream = state.screenStream;
  if (!pc && !stream) return;
  if (stream) stream.getTracks().forEach(t => t.stop());
  if (pc) pc.close();
  state.screen = null; state.screenStream = null; state.screenFeed = null;
  $('share').disabled = !(state.mine && state.mine.shareAllowed); $('stopshare').disabled = true;
  if (tellServer) state.hub.invoke('StopScreenShare', state.callId, null).catch(err => console.warn('stop screen', message(err)));
}

function closeSubscriber(feedId) {
  const pc = state.subscribers.get(feedId);
  if (pc) pc.close();
  state.subscribers.delete(feedId);
  state.feedAccounts.delete(feedId);
  const hadVideo = state.videoOn.get(feedId);
  state.videoMids.delete(feedId);
  state.videoOn.delete(feedId);
  state.videoSince.delete(feedId);
  if (hadVideo && state.callId) shareVideo(); // a place in the video budget is free
  const tile = document.querySelector(`figure[data-feed="${feedId}"]`);
  if (tile) tile.remove();
  layoutTiles();
}

/**
 * Speaking or not from audio levels (0..1) sampled a few times a second, with hysteresis: on at once above `on`; kept
 * while above `off`; off only after `hold` ms without that, so pauses between words do not make the ring flicker.
 */
class SpeakingState {
  constructor({ on = 0.05, off = 0.02, hold = 1000 } = {}) {
    Object.assign(this, { on, off, hold, speaking: false, loudAt: -Infinity });
  }

  update(level, now) {
    if (level >= this.on || (this.speaking && level >= this.off)) {
      this.speaking = true;
      this.loudAt = now;
    } else if (this.speaking && now - this.loudAt >= this.hold) {
      this.speaking = false;
    }
    return this.speaking;
  }
}

const meters = new Map(); // accountId -> { speaking: SpeakingState, energy, duration }
let polling = false;

/**
 * The level since the last poll: the root of the mean audio energy (totalAudioEnergy over totalSamplesDuration) of a
 * subscription's inbound audio or of my microphone's media source, so a short sound between two polls still counts.
 */
function levelOf(meter, stats, trackId) {
  let energy = null, duration = null;
  for (const s of stats.values()) {
    if ((s.type === 'inbound-rtp' || (s.type === 'media-source' && s.trackIdentifier === trackId)) && s.kind === 'audio' && s.totalAudioEnergy !== undefined) {
      energy = s.totalAudioEnergy; duration = s.totalSamplesDuration;
    }
  }
  if (energy === null) return 0;
  const de = energy - (meter.energy ?? energy), dd = duration - (meter.duration ?? duration);
  meter.energy = energy; meter.duration = duration;
  return dd > 0 && de > 0 ? Math.sqrt(de / dd) : 0;
}

/** The level of a subscription's last audio packet (the RTP audio-level extension; known even when not played out). */
function packetLevel(pc) {
  const r = pc.getReceivers().find(x => x.track.kind === 'audio');
  const s = r && r.getSynchronizationSources ? r.getSynchronizationSources()[0] : null;
  return (s && s.audioLevel) || 0;
}

/** Polls everyone's audio level (mine from my sender, the others' from their subscriptions) and lights who speaks. */
async function pollSpeaking() {
  if (polling) return;
  polling = true;
  try {
    const sources = []; // [accountId, peer connection, my microphone's track id]
    const mine = senderOf('audio');
    if (mine && mine.track && state.me) sources.push([state.me, state.publisher, mine.track.id]);
    for (const [feed, pc] of state.subscribers) {
      if (state.feedAccounts.has(feed)) sources.push([state.feedAccounts.get(feed), pc, null]);
    }
    const now = performance.now();
    const speaking = new Set();
    await Promise.all(sources.map(async ([account, pc, trackId]) => {
      const stats = await pc.getStats().catch(() => null);
      if (!stats) return;
      if (!meters.has(account)) meters.set(account, { speaking: new SpeakingState(), energy: null, duration: null });
      const meter = meters.get(account);
      const level = Math.max(levelOf(meter, stats, trackId), trackId ? 0 : packetLevel(pc));
      if (meter.speaking.update(level, now)) speaking.add(account);
    }));
    for (const account of [...meters.keys()]) if (!sources.some(([a]) => a === account)) meters.delete(account);
    showSpeaking(speaking);
  } finally {
    polling = false;
  }
}

/** Rings the tiles and marks the list entries of who speaks (visual only: no live region, no announcements). */
function showSpeaking(speaking) {
  const began = [...speaking].filter(a => !state.speaking.has(a));
  const ended = [...state.speaking].some(a => !speaking.has(a));
  const now = performance.now();
  began.forEach(a => state.spokeAt.set(a, now));
  state.speaking = speaking;
  if ((began.length || ended) && state.videoMids.size > videoBudget()) shareVideo();
  // The main tile is the last one of the others who spoke (my own tile never pushes others aside).
  const other = [...speaking].find(a => a !== state.me);
  if (other && !speaking.has(state.mainSpeaker)) state.mainSpeaker = other;
  for (const tile of $('videos').querySelectorAll('.tile[data-account]')) {
    tile.classList.toggle('speaking', speaking.has(tile.dataset.account));
    tile.classList.toggle('main', tile.dataset.account === state.mainSpeaker);
  }
  for (const li of $('participants').querySelectorAll('li[data-account-id]')) markSpeaking(li, speaking.has(li.dataset.accountId));
}

function markSpeaking(li, on) {
  li.classList.toggle('speaking', on);
  const mark = li.querySelector('.speaking-mark');
  if (on && !mark) {
    const span = document.createElement('span');
    span.className = 'speaking-mark';
    span.textContent = ' · говорит';
    li.querySelector('strong').after(span);
  } else if (!on && mark) {
    mark.remove();
  }
}

const names = new Map(); // accountId -> display name (from the chat's members)

async function loadNames(chatId) {
  try {
    for (const m of await state.hub.invoke('GetChatMembers', chatId)) names.set(m.accountId, m.displayName);
  } catch (e) { /* names are a nicety (a guest may not read the chat's members: learnNames names them) */ }
}

/**
 * Someone in the call the page cannot name (a guest from the waiting room; for a guest, everyone): the server names
 * everyone who is or was in the call (GetCallNames), once per unknown person; the list and the tiles are named again.
 */
const namesAsked = new Set();
async function learnNames(call) {
  const unknown = call.participants.map(p => p.accountId).filter(id => !names.has(id) && !namesAsked.has(id));
  if (!unknown.length) return;
  unknown.forEach(id => namesAsked.add(id));
  let list;
  try { list = await state.hub.invoke('GetCallNames', call.callId); } catch (e) { return; }
  for (const n of list) names.set(n.accountId, n.displayName);
  if (state.lastCall) renderParticipants(state.lastCall);
  for (const tile of document.querySelectorAll('#videos .tile[data-account]:not([data-local])')) {
    const name = names.get(tile.dataset.account);
    if (name) tile.querySelector('figcaption').textContent = name;
  }
}

function hostAction(label, fn) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'btn small';
  b.textContent = label;
  b.addEventListener('click', () => fn().then(s => { if (s) applyState(s); }).catch(err => status(message(err), true)));
  return b;
}

/** Asks in the page's own dialog before what cannot be undone (removing someone, ending the call for all). */
function confirmFirst(title, text, submit) {
  return import('./js/dialog.js').then(m => m.formDialog({ title, text, submit, onSubmit: () => true }), () => null)
    .then(r => r === true);
}

function renderParticipants(call) {
  const list = $('participants');
  list.replaceChildren();
  const iAmHost = call.hostId === state.me;
  $('host').hidden = !iAmHost;
  // No longer the host (someone took my place while I was away), or the room closed (the server dropped its queue):
  // nobody to let in here.
  if (!iAmHost || !call.waitingRoom) $('waiting').replaceChildren();
  // The waiting room lets people of the school outside the chat knock; never in a direct chat (the server refuses too).
  $('waitroom').hidden = !iAmHost || !state.chatKind || state.chatKind === 'direct';
  $('waitroom').textContent = call.waitingRoom ? 'Закрыть зал ожидания' : 'Открыть зал ожидания';
  $('waitroom').setAttribute('aria-pressed', String(!!call.waitingRoom));
  state.waitingRoom = !!call.waitingRoom;
  for (const p of call.participants) {
    const li = document.createElement('li');
    li.dataset.accountId = p.accountId;
    const flags = [p.isHost ? 'ведущий' : '', p.audioMuted ? 'микрофон выключен' : 'микрофон включён',
      p.feedId && p.videoMuted ? 'камера выключена' : '', call.lessonMode && !p.isHost && !p.speakAllowed ? 'слушает' : ''].filter(Boolean).join(', ');
    const name = document.createElement('strong');
    name.textContent = (names.get(p.accountId) || 'Участник') + (p.accountId === state.me ? ' (вы)' : '');
    li.append(name, ' — ' + flags + ' ');
    if (p.handRaised) {
      const hand = document.createElement('span');
      hand.className = 'hand';
      hand.textContent = '✋ поднял(а) руку ';
      li.append(hand);
    }
    markSpeaking(li, state.speaking.has(p.accountId));
    if (iAmHost && !p.isHost) {
      if (call.lessonMode) {
        li.append(hostAction(p.speakAllowed ? 'Запретить говорить' : 'Разрешить говорить', () => state.hub.invoke('AllowToSpeak', state.callId, p.accountId, !p.speakAllowed)));
      }
      li.append(' ', hostAction('Выключить микрофон', () => state.hub.invoke('MuteParticipant', state.callId, p.accountId)),
        ' ', hostAction('Удалить из звонка', async () => (await confirmFirst(`Удалить из звонка: ${names.get(p.accountId) || 'участник'}?`,
          `${names.get(p.accountId) || 'Участник'} выйдет из звонка и не сможет вернуться в него, пока он идёт.`, 'Удалить'))
          ? state.hub.invoke('RemoveParticipant', state.callId, p.accountId) : null));
    }
    list.append(li);
  }
  $('lock').textContent = call.locked ? 'Открыть вход' : 'Закрыть вход';
  state.locked = call.locked;
}

/** Whether the call as last applied still lists the feed (a camera or a screen of someone in it). */
const feedListed = feed => !!state.lastCall && state.lastCall.participants.some(p => p.feedId === feed || p.screenFeedId === feed);

/**
 * The call as the server has it, read until no push came while it was read (a push applied meanwhile may be newer
 * than the read): starting from `call`, read when pushes came since `seen`. Null when the pushes never settle (then
 * what they applied is at least as new as any read).
 */
async function settledCall(hub, callId, seen, call) {
  for (let i = 0; i < 10 && state.statePushes !== seen; i++) {
    seen = state.statePushes;
    call = await hub.invoke('GetCall', callId);
  }
  return state.statePushes === seen ? call : null;
}

/** Reads the call again and applies it (a subscription's feed is missing: the state the page holds may be stale). */
async function readCallAgain() {
  const hub = state.hub, callId = state.callId;
  if (!hub || !callId || !hubUp()) return;
  try {
    await applyState(await settledCall(hub, callId, state.statePushes - 1, null));
  } catch (err) {
    console.warn('call', message(err)); // the next attempt or the next push will do
  }
}

async function applyState(call, confirmed = false) {
  if (!call || call.callId !== state.callId) return;
  if (call.kind === 'broadcast') $('viewers').textContent = 'Зрителей: ' + (call.viewerCount || 0);
  renderParticipants(call);
  const live = new Set();
  for (const p of call.participants) {
    if (p.accountId === state.me) continue;
    for (const feed of [p.feedId, p.screenFeedId]) {
      if (!feed) continue;
      live.add(feed);
      const who = names.get(p.accountId) || 'Участник';
      const screen = feed === p.screenFeedId;
      subscribe(feed, screen ? who + ' — экран' : who, screen ? null : p.accountId).catch(err => {
        // Nothing to say when the hub is away (its reconnect subscribes again) or the feed is gone meanwhile (its
        // publisher left or published anew, e.g. after a chat-server restart: the new feed is subscribed by itself).
        if (!hubUp() || !feedListed(feed)) return;
        status('Не удалось подключиться к участнику: ' + message(err), true);
      });
    }
  }
  for (const feed of [...state.subscribers.keys()]) if (!live.has(feed)) closeSubscriber(feed);
  const mine = call.participants.find(p => p.accountId === state.me);
  // Not among the participants any more (removed by the host, or left on another device): out of the call here too.
  // A broadcast lists only its presenters, so there a viewer is never among them.
  if (!mine && state.wasIn && call.kind !== 'broadcast') {
    // Asked once before giving up: a push that I left may be older than my own rejoin (the server took me out after my
    // page had been away too long, just as it came back and joined again).
    if (!confirmed && hubUp()) {
      const now = await state.hub.invoke('GetCall', state.callId).catch(() => null);
      if (now && now.callId === state.callId && now.participants.some(p => p.accountId === state.me)) return applyState(now, true);
    }
    teardown('Вы больше не в звонке: ведущий удалил вас или вы вышли на другом устройстве.');
    return;
  }
  if (mine) state.wasIn = true;
  // The host took the word back (a lesson) or made me a viewer again (a broadcast): stop sending, camera off.
  if (state.publishing && (mine ? !mine.speakAllowed : call.kind === 'broadcast')) {
    stopPublishing();
    status('Ведущий выключил вам микрофон и камеру.');
  }
  // Someone took the place of a host who was away: everyone hears who runs the call now.
  if (state.lastCall && state.lastCall.callId === call.callId && state.lastCall.hostId !== call.hostId && call.hostId !== state.me) {
    status(`Ведущий теперь — ${names.get(call.hostId) || 'другой участник'}.`);
  }
  state.lastCall = call;
  learnNames(call);
  // A camera turned off: its tile says so on a dark background instead of showing the last frame it sent.
  state.videoOff = new Set(call.participants.filter(p => p.videoMuted).map(p => p.accountId));
  if (state.videoMids.size) shareVideo(); // a camera turned off gives its place up, the host may have changed
  for (const tile of document.querySelectorAll('#videos .tile[data-account]')) tile.classList.toggle('camera-off', state.videoOff.has(tile.dataset.account));
  $('unmute').disabled = !mine || !mine.speakAllowed || state.publishing || !!state.republishing || !!state.publishRun;
  renderMic(mine);
  // The host stopped my screen share (or took the permission back): close it here too. While the page publishes the
  // screen again, a new feed of mine is that share, not a stop.
  if (state.screen && state.screenFeed && (!mine || mine.screenFeedId !== state.screenFeed)
      && !(state.screenAgainFor && mine && mine.screenFeedId)) {
    stopScreen(false);
    status('Ведущий остановил показ экрана.');
  }
  $('share').disabled = !mine || !mine.shareAllowed || !!state.screen;
  // «Поднять руку» is for participants; the host has nobody to ask.
  state.handRaised = !!(mine && mine.handRaised);
  $('hand').hidden = !mine || mine.isHost || call.kind === 'broadcast';
  // The host is away (their connection died, the planner never came): whoever could have started the call may run it;
  // the one who started it takes the place back at any time. (A broadcast lists its presenters only: a viewer is in it
  // without being listed.)
  const inCall = !!mine || (call.kind === 'broadcast' && !!state.callId);
  $('take-over').hidden = !state.mayHost || !inCall || (mine && mine.isHost)
    || (call.participants.some(p => p.isHost) && call.startedBy !== state.me);
  $('hand').textContent = state.handRaised ? 'Опустить руку' : 'Поднять руку';
  $('hand').setAttribute('aria-pressed', String(state.handRaised));
}

async function start(params) {
  // Joining again after leaving: the connection of the last call goes first (its pushes are ignored already).
  if (state.hub) { const old = state.hub; state.hub = null; await old.stop().catch(() => {}); }
  state.relay = !!params.relay;
  // A token given explicitly (tests, the form) is used as is; the web client's session is read again on every connect.
  const fromSession = !params.token || params.token === storedToken();
  const hub = new signalR.HubConnectionBuilder()
    .withUrl('/hubs/chat?page=' + encodeURIComponent(PAGE_ID), { accessTokenFactory: async () => (fromSession && await sessionToken()) || params.token })
    // Never gives up (SignalR's default stops after ~40 s): a teacher on a bad connection comes back whenever the
    // network does, every 1, 2, 4 … at most 10 s.
    .withAutomaticReconnect({ nextRetryDelayInMilliseconds: r => Math.min(10_000, 1000 * 2 ** Math.min(r.previousRetryCount, 4)) })
    .build();
  state.hub = hub;
  state.params = params;
  $('continue-here').hidden = true;
  // Any refusal of a media request (publish, subscribe, trickle, ICE restart…) saying another page of mine has the call
  // now: this page lets go of it (the push that says so may have been missed while the hub was away).
  const invoke = hub.invoke.bind(hub);
  hub.invoke = (...args) => invoke(...args).catch(err => {
    if (serverCode(err) === MOVED && state.hub === hub) movedAway();
    throw err;
  });
  hub.on('CallMovedToAnotherPage', id => { if (id === state.callId && state.hub === hub) movedAway(); });
  // statePushes counts this call's pushes only: the hub is in all my chats' groups, and other lessons' joins at nine
  // o'clock must not make a read look stale (settledCall).
  hub.on('CallStateChanged', call => { if (call && call.callId === state.callId) state.statePushes++; applyState(call); });
  hub.on('CallEnded', id => {
    if (id === state.callId) teardown('Звонок завершён.');
    // A page that let the call go to another of mine offers no way back into a call that has ended.
    else if (id === state.movedFrom) { dropContinueHere(); status('Звонок завершён.'); }
  });
  const refresh = async id => { if (id === state.callId) applyState(await hub.invoke('GetCall', id)).catch(() => {}); };
  // Someone joined or left: applied to the call as last applied, without asking the server (with a GetCall per join
  // on every page, a class of 30 joining made 900 calls). The call is read again only when there is nothing to apply
  // it to, or when the host left (who hosts now is the server's to say).
  const others = (call, accountId) => call.participants.filter(p => p.accountId !== accountId);
  hub.on('ParticipantJoined', (id, participant) => {
    const call = state.lastCall;
    if (id !== state.callId) return;
    state.statePushes++;
    if (!call || !participant) { refresh(id).catch(() => {}); return; }
    applyState({ ...call, participants: [...others(call, participant.accountId), participant] }).catch(() => {});
  });
  hub.on('ParticipantLeft', (id, accountId) => {
    const call = state.lastCall;
    if (id !== state.callId) return;
    state.statePushes++;
    if (!call || accountId === call.hostId) { refresh(id).catch(() => {}); return; }
    applyState({ ...call, participants: others(call, accountId) }).catch(() => {});
  });
  hub.on('SfuRestarted', async id => {
    if (id !== state.callId) return;
    const restarted = 'Медиасервер перезапущен, подключаемся снова…';
    status(restarted);
    for (const feed of [...state.subscribers.keys()]) closeSubscriber(feed);
    // My screen share is published again with the same capture (the server forgot its feed with the old room).
    if (state.screenStream) { state.screenFeed = null; screenAgain(state.screenStream); }
    // Publishing, or gave up while the media server was away: publish (again) on the new room.
    if (state.publisher || (state.mediaAway && !state.publishing)) await republish(restarted);
  });
  hub.onreconnecting(() => { if (state.callId) status(RECONNECTING, true); });
  hub.onreconnected(() => { if (state.waitingReconnected) state.waitingReconnected(); rejoin(hub); });
  hub.on('BroadcastViewers', (id, n) => { if (id === state.callId) $('viewers').textContent = 'Зрителей: ' + n; });
  // The host sees who waits in the waiting room and lets them in or not.
  hub.on('CallGuestWaiting', (id, guest) => { if (id === state.callId) showGuest(guest); });
  await hub.start();
  const joined = params.plan
    ? await hub.invoke('JoinScheduledCall', params.plan)
    // This tab reloaded (or restored by the browser) into the call it had joined: RejoinCall, which does not take the
    // call from another page of mine that has it now (the laptop's camera stays); refused, the page offers «Продолжить здесь».
    : params.rejoin && params.call
    ? await hub.invoke('RejoinCall', params.call)
    : params.call
    ? await joinOrWait(hub, params.call)
    : params.broadcast
      ? await hub.invoke('StartBroadcast', params.chat)
      : await hub.invoke('StartCall', params.chat, !!params.lesson);
  state.callId = joined.call.callId;
  state.mayHost = !!joined.mayHost;
  keepPage(state.callId);
  // A reload rejoins this call (or says it has ended): it never opens the plan again nor starts another call.
  const address = new URLSearchParams(location.hash.slice(1));
  for (const k of ['chat', 'plan', 'lesson', 'broadcast']) address.delete(k);
  address.set('call', state.callId);
  history.replaceState(null, '', '#' + address);
  takeIce(joined.iceServers || [], joined.iceServersExpireAt);
  state.me = tokenPayload(params.token || storedToken()).sub;
  $('local').parentElement.dataset.account = state.me;
  // Once per page: joining again (the form) must not add another listener and another poll each time.
  if (!state.watching) {
    state.watching = true;
    if (navigator.mediaDevices) navigator.mediaDevices.addEventListener('devicechange', () => devicesChanged().catch(err => console.warn('devices', message(err))));
    setInterval(() => pollSpeaking().catch(err => console.warn('levels', message(err))), 250);
  }
  await loadNames(joined.call.chatId);
  state.chatKind = (await hub.invoke('GetChat', joined.call.chatId).catch(() => null))?.chat?.kind || null;
  $('title').textContent = joined.call.kind === 'broadcast' ? 'Трансляция' : joined.call.lessonMode ? 'Урок' : 'Звонок';
  document.title = $('title').textContent;
  status(inCallText(joined.call));
  await applyState(joined.call);
  const mine = joined.call.participants.find(p => p.accountId === state.me);
  if (mine && mine.speakAllowed) {
    // Without a camera or the media server the person stays in the call (and sees who is there). The media server
    // away: tried again for a while with the camera kept on; any other failure turns what was opened off.
    const joinedId = state.callId;
    await publish().catch(err => {
      if (state.callId !== joinedId) return; // left while the camera opened: teardown said so
      if (retryable(err)) { republish(mediaUnavailable(err) ? MEDIA_AWAY : RECONNECTING, { waitFirst: true }); return; }
      stopPublishing();
      status(err && (err.name === 'NotFoundError' || err.name === 'NotAllowedError' || err.name === 'NotReadableError')
        ? 'Камера и микрофон не найдены или доступ к ним не разрешён: вы в звонке без видео и звука.'
        : 'Камера и микрофон не подключены: ' + message(err), true);
    });
    // The join's state is older than what publishing changed (my feed, «камера выключена»): read the call again rather
    // than show the join's state over the pushes that came meanwhile (and again while pushes come during the read).
    await applyState(await settledCall(hub, state.callId, state.statePushes - 1, null).catch(() => null));
  }
  await refreshDevices();
  ['hand', 'leave'].forEach(id => { $(id).disabled = false; });
  $('receive-choice').hidden = false;
  if (state.mine && state.mine.isHost) loadWaitingRoom();
  return state.callId;
}

/**
 * After the hub reconnected: joins the call again (the new connection is in none). Only a refusal that means «you are
 * out» (OUT_OF_CALL) ends the call on the page. On a flapping network the connection often breaks again while JoinCall
 * is under way: the call stays (media, list, controls) and the next reconnect tries again; a passing refusal of a
 * connected server (service_unavailable and the like) is asked again after 1, 2, 4 … at most 10 s. A newer reconnect,
 * leaving, or joining another call ends this run.
 */
async function rejoin(hub) {
  const callId = state.callId;
  if (!callId) return; // left: nothing to rejoin
  const run = Symbol('rejoin');
  state.rejoinRun = run;
  const current = () => state.rejoinRun === run && state.callId === callId && state.hub === hub;
  for (let attempt = 0; current(); attempt++) {
    try {
      const seen = state.statePushes;
      // RejoinCall, not JoinCall: a page that missed being told that another one took the call (its hub was away then)
      // does not take it back by itself; the server answers call_moved_to_another_page and the page lets go (above).
      const j = await hub.invoke('RejoinCall', callId);
      state.mayHost = !!j.mayHost;
      if (!current()) return;
      takeIce(j.iceServers || state.iceServers, j.iceServersExpireAt); // fresh TURN credentials
      // Pushes that came while it was read (others rejoining and publishing again after a server restart, my own join)
      // may be newer than the answer and are applied already: the call is read again rather than put back, as long
      // as pushes keep coming during the reads. Applying an older read over them would close a live subscription
      // and ask for a feed that is gone.
      const call = await settledCall(hub, callId, seen, j.call);
      if (!current()) return;
      status(inCallText(call || state.lastCall || j.call));
      if (j.mediaHere === false) closeMedia(); // built again below: subscriptions by applyState, the rest by rebuildMedia
      await applyState(call || state.lastCall);
      if (j.mediaHere === false) rebuildMedia();
      if (state.mine && state.mine.isHost) loadWaitingRoom();
      return;
    } catch (err) {
      if (!current() || serverCode(err) === MOVED) return;
      if (OUT_OF_CALL.has(serverCode(err))) { teardown('Не удалось вернуться в звонок: ' + message(err)); return; }
      console.warn('rejoin', message(err));
      status(RECONNECTING, true);
      if (hub.state !== signalR.HubConnectionState.Connected) return; // its next reconnect rejoins
      await new Promise(r => setTimeout(r, Math.min(10_000, 1000 * 2 ** Math.min(attempt, 4))));
      if (hub.state !== signalR.HubConnectionState.Connected) return;
    }
  }
}

/**
 * After a rejoin on a server that holds none of my media connections (it restarted, or another server took the hub
 * connection; Janus handles are per server): there they can be neither restarted nor trickled, and Janus dropped them
 * (or will, with the old server's session) while the browser may still call them "connected" for seconds. So they are
 * built again now rather than when the browser gives up on them: every subscription anew (closeMedia, then applying the
 * call subscribes; a feed that went with the old server is followed to its new one when its publisher publishes again),
 * my screen share with the capture I have, my camera on a new connection (rebuildMedia).
 */
function closeMedia() {
  for (const feed of [...state.subscribers.keys()]) closeSubscriber(feed);
}

function rebuildMedia() {
  state.mediaRebuilds++;
  if (state.screen && state.screenStream) { state.screenFeed = null; screenAgain(state.screenStream); }
  if (state.publisher) republish('Связь с медиасервером прервалась, подключаемся снова…');
}

/**
 * Joins a call; someone of the school outside its chat knocks on the waiting room instead and waits for the host.
 */
async function joinOrWait(hub, callId) {
  try {
    return await hub.invoke('JoinCall', callId);
  } catch (err) {
    const text = String(err && err.message);
    if (!text.includes('chat_not_found') && !text.includes('call_guest_waiting')) throw err;
    // The wait ends with the host's decision, with the call's end (the lesson is over), or — when the connection was
    // lost meanwhile and the push with it — with what asking again says after the reconnect.
    let settle;
    const decided = new Promise(resolve => { settle = resolve; });
    const decide = (id, admitted) => { if (id === callId) settle(admitted ? 'admitted' : 'rejected'); };
    const ended = id => { if (id === callId) settle('ended'); };
    hub.on('CallGuestDecided', decide);
    hub.on('CallEnded', ended);
    state.waitingReconnected = () => hub.invoke('AskToJoinCall', callId).then(
      again => { if (again.status !== 'waiting') settle(again.status); },
      e => {
        // Only the server's answer settles it: a connection that broke again asks again at its next reconnect.
        const code = serverCode(e);
        if (code === 'call_not_found') settle('ended');
        else if (code === 'chat_not_found') settle('rejected'); // the room closed meanwhile
      });
    try {
      const asked = await hub.invoke('AskToJoinCall', callId).catch(() => { throw err; });
      let outcome = asked.status;
      if (outcome === 'waiting') {
        status('Ждём, когда ведущий впустит вас…');
        outcome = await decided;
      }
      if (outcome === 'ended') throw new Error('Звонок уже завершён.');
      if (outcome === 'rejected') throw new Error('Ведущий не впустил вас в этот звонок.');
      return await hub.invoke('JoinCall', callId);
    } finally {
      state.waitingReconnected = null;
      hub.off('CallGuestDecided', decide);
      hub.off('CallEnded', ended);
    }
  }
}

/** Stops my camera and microphone (after leaving, or before publishing again). */
function stopLocal() {
  if (state.local) state.local.getTracks().forEach(t => t.stop());
  state.local = null;
}

/**
 * Takes TURN credentials (a join's or a renewal's) for every connection: new ones use them, existing ones get them for
 * their next ICE work (what a browser does with a live relay is its own business; one that fails is built again, with
 * these). A renewal is planned 5 minutes before they expire: a lesson has no time limit, the credentials one hour.
 */
function takeIce(servers, expireAt) {
  state.iceServers = servers;
  state.iceExpireAt = expireAt ? Date.parse(expireAt) : 0;
  const config = rtcConfig();
  for (const pc of [state.publisher, state.screen, ...state.subscribers.values()]) {
    if (pc) try { pc.setConfiguration(config); } catch (e) { /* a closed connection */ }
  }
  clearTimeout(state.iceTimer);
  if (!state.iceExpireAt || !state.callId) return;
  const early = Number(localStorage.getItem('chat.iceRenewMs')) || 0; // tests renew within seconds
  state.iceTimer = setTimeout(renewIce, early || Math.max(30_000, state.iceExpireAt - Date.now() - 5 * 60_000));
}

/** Asks for new TURN credentials (GetIceServers); offline or refused, tries again in a minute. */
async function renewIce() {
  const callId = state.callId;
  if (!callId) return;
  try {
    const fresh = await state.hub.invoke('GetIceServers', callId);
    if (state.callId !== callId) return;
    state.iceRenewals++;
    takeIce(fresh.iceServers, fresh.expireAt);
  } catch (e) {
    if (state.callId === callId) state.iceTimer = setTimeout(renewIce, 60_000);
  }
}

/** Before building a connection again: credentials that expire within a minute are renewed first. */
async function freshIce() {
  if (state.iceExpireAt && state.iceExpireAt - Date.now() < 60_000) await renewIce();
}

/**
 * Calls recover() once when the peer connection fails for good ("failed": ICE gave up, e.g. after the network changed)
 * while it is still the page's current one; "disconnected" is left alone, it often comes back by itself.
 */
function whenFailed(pc, isCurrent, recover) {
  pc.addEventListener('connectionstatechange', () => { if (pc.connectionState === 'failed' && isCurrent()) recover(); });
}

/** How long a connection may stay "disconnected" before an ICE restart is tried (ms). */
const ICE_RESTART_AFTER = 2000;

/**
 * Calls restart() when the connection stays "disconnected" for ICE_RESTART_AFTER (Wi-Fi to mobile data, a flaky
 * network): an ICE restart finds a new path on the same connection, long before the browser would give up ("failed",
 * then it is built anew).
 */
function whenDisconnected(pc, isCurrent, restart) {
  let timer = null;
  pc.addEventListener('connectionstatechange', () => {
    clearTimeout(timer);
    if (pc.connectionState !== 'disconnected' || !isCurrent()) return;
    timer = setTimeout(() => { if (pc.connectionState === 'disconnected' && isCurrent()) restart(); }, ICE_RESTART_AFTER);
  });
}

/** The page's hub connection is up (a network change breaks it together with the media connections). */
const hubUp = () => !!state.hub && state.hub.state === signalR.HubConnectionState.Connected;

const iceRestarting = new WeakSet(); // connections (publisher or subscriptions) with an ICE restart under way

/** True once the hub is connected (at once if it is); false if the call was left or a minute passed. */
async function hubConnected(callId) {
  for (let i = 0; i < 120; i++) {
    if (state.callId !== callId) return false;
    if (hubUp()) return true;
    await new Promise(r => setTimeout(r, 500));
  }
  return false;
}

/**
 * An ICE restart of one connection, once at a time per connection. A network change usually breaks the hub's
 * connection too: the restart then waits until the hub is back and is tried again (three tries in all) instead of
 * rebuilding at once; a definite refusal (e.g. feed_not_found: Janus no longer has the handle) rebuilds (`rebuild`).
 */
async function iceRestart(pc, isCurrent, restartOnce, rebuild) {
  if (iceRestarting.has(pc)) return;
  iceRestarting.add(pc);
  const callId = state.callId;
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      if (!await hubConnected(callId) || !isCurrent()) return; // left, or no hub for a minute: "failed" rebuilds it
      try {
        await restartOnce();
        return;
      } catch (err) {
        console.warn('ice restart', message(err));
        if (!isCurrent() || state.callId !== callId) return;
        if (hubUp() && !String(err && err.message).includes('rate_limited')) break;
        await new Promise(r => setTimeout(r, 1000));
      }
    }
    if (isCurrent() && state.callId === callId) rebuild();
  } finally {
    iceRestarting.delete(pc);
  }
}

/**
 * An ICE restart of my camera's connection: a new offer with new ICE credentials to the same Janus handle (RestartIce),
 * so the feed stays and nobody has to subscribe again. If it cannot be done, the camera is published anew.
 */
function restartIce(pc) {
  return restartPublisherIce(pc, () => state.publisher === pc, 'RestartIce', () => { state.iceRestarts++; },
    () => republish('Связь с медиасервером прервалась, подключаемся снова…'));
}

/** The same for my screen share's connection (RestartScreenIce); if it cannot be done, the screen is published anew. */
function restartScreenIce(pc, stream) {
  return restartPublisherIce(pc, () => state.screen === pc, 'RestartScreenIce', () => { state.screenIceRestarts++; },
    () => screenAgain(stream));
}

function restartPublisherIce(pc, isCurrent, method, restarted, rebuild) {
  return iceRestart(pc, isCurrent, async () => {
    await freshIce();
    pc.setConfiguration(rtcConfig());
    const offer = await pc.createOffer({ iceRestart: true });
    await pc.setLocalDescription(offer);
    const answer = await state.hub.invoke(method, state.callId, offer.sdp);
    if (!isCurrent()) return;
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    restarted();
  }, rebuild);
}

/**
 * An ICE restart of my subscription to a feed: Janus makes a new offer with new ICE credentials on the same handle
 * (RestartSubscriptionIce), the page answers as at first. If it cannot be done, the feed is subscribed anew.
 */
function restartSubscriptionIce(feedId, pc) {
  const current = () => state.subscribers.get(feedId) === pc;
  return iceRestart(pc, current, async () => {
    await freshIce();
    pc.setConfiguration(rtcConfig());
    const offer = await state.hub.invoke('RestartSubscriptionIce', state.callId, feedId);
    if (!current()) return;
    await pc.setRemoteDescription({ type: 'offer', sdp: offer });
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    if (!current()) return; // a late answer must not reach a newer subscription's handle
    await state.hub.invoke('Answer', state.callId, feedId, answer.sdp);
    state.subscriptionIceRestarts++;
  }, () => {
    closeSubscriber(feedId);
    setTimeout(() => { if (state.callId && state.lastCall) applyState(state.lastCall).catch(() => {}); }, 1000);
  });
}

const MEDIA_AWAY = 'Медиасервер звонков временно недоступен, подключаемся снова…';
const mediaUnavailable = err => String(err && err.message).includes('media_unavailable');
/** Worth trying again: the media server is away, or the hub connection is (a network change breaks both at once). */
const retryable = err => mediaUnavailable(err) || !hubUp();

/**
 * How often and how long publishing is tried again while the media server is away: every second for a minute.
 * Tests shorten or stretch it with localStorage['chat.publishRetry'] = '{"every": ms, "for": ms}'.
 */
function retryPlan() {
  const plan = { every: 1000, for: 60_000 };
  try { return { ...plan, ...JSON.parse(localStorage.getItem('chat.publishRetry') || '{}') }; } catch (e) { return plan; }
}

/**
 * Publishes again on a new connection: after it failed, after a media server restart, or when the media server was
 * away at the join (waitFirst: that attempt was just made). The camera and microphone stay on meanwhile (the person
 * sees themselves, the light does not blink); media_unavailable is tried again per retryPlan(). While the hub is away
 * (a network change, a chat-server restart) nothing is tried: the page waits for its reconnect, however long, and the
 * plan's time counts from its return. Giving up, or any other error, turns them off and says what to do: «Включить
 * микрофон и камеру» tries again.
 */
async function republish(reason, { waitFirst = false } = {}) {
  if (state.republishing) return;
  const callId = state.callId;
  const run = Symbol('republish');
  state.republishing = run; // teardown clears it: a loop of a call that was left ends at its next step
  state.publishing = false;
  $('unmute').disabled = true;
  // The hub away too: that is what the person should read (its reconnect says so as well).
  status(hubUp() ? reason : RECONNECTING, !hubUp());
  const plan = retryPlan();
  let until = Date.now() + plan.for;
  const wait = () => new Promise(r => setTimeout(r, plan.every));
  try {
    if (waitFirst) await wait();
    await freshIce();
    while (state.callId === callId && state.republishing === run && !state.publishing) {
      if (!hubUp()) {
        await hubConnected(callId); // the call left meanwhile ends the loop; a minute without the hub waits again
        until = Date.now() + plan.for;
        continue;
      }
      if (!(state.mine && state.mine.speakAllowed)) {
        // The host took the word back meanwhile.
        stopPublishing();
        status('Ведущий выключил вам микрофон и камеру.');
        return;
      }
      try {
        await publish();
        state.mediaAway = false;
        status(inCallText(state.lastCall));
      } catch (err) {
        if (state.callId !== callId || state.republishing !== run) return; // left meanwhile: teardown turned everything off
        if (!hubUp()) continue; // the hub broke meanwhile: wait for it (above)
        if (!retryable(err) || Date.now() + plan.every > until) { gaveUp(err); return; }
        await wait();
      }
    }
  } finally {
    if (state.republishing === run) {
      state.republishing = false;
      if (state.callId) $('unmute').disabled = !(state.mine && state.mine.speakAllowed) || state.publishing;
    }
  }
}

/** Publishing again did not work: nothing stays on, and the person learns why and that the button tries again. */
function gaveUp(err) {
  stopPublishing();
  state.mediaAway = mediaUnavailable(err);
  status(mediaUnavailable(err)
    ? 'Медиасервер звонков недоступен: вы в звонке без видео и звука. Нажмите «Включить микрофон и камеру», чтобы попробовать снова.'
    : 'Не удалось снова включить камеру: ' + message(err), true);
}

/** Stops sending: the publisher closed, camera and microphone released (their light goes off), my tile hidden. */
/**
 * «Выключить микрофон» / «Включить микрофон» while this page sends: my microphone as the call has it. Muted (by me or
 * by the host) the track sends silence here too; the host's mute is said once, and I may turn the microphone on again
 * unless a lesson took the word back.
 */
function renderMic(mine) {
  const button = $('mic-off');
  const on = !!mine && state.publishing && !mine.audioMuted;
  if (state.micOn && !on && mine && state.publishing && !state.mutingMyself) status('Ведущий выключил вам микрофон. Включить его снова — «Включить микрофон».');
  state.micOn = on;
  // Only while sending (a preview waiting for the media server keeps its microphone: its level shows on my tile), and
  // only when the call's state of my microphone changes: each push does not switch the track again.
  if (state.publishing && state.micApplied !== on) {
    for (const t of state.local?.getAudioTracks() ?? []) t.enabled = on;
    state.micApplied = on;
  }
  button.disabled = !mine || !state.publishing || (!on && !mine.speakAllowed);
  button.textContent = on ? 'Выключить микрофон' : 'Включить микрофон';
  button.setAttribute('aria-pressed', String(!on));
}

function stopPublishing() {
  if (state.publisher) state.publisher.close();
  state.publisher = null; state.publishing = false;
  renderMic(state.mine);
  stopLocal();
  $('local').srcObject = null;
  $('local').parentElement.hidden = true;
  layoutTiles();
}

/**
 * This page is out of the call (left, ended, removed): media off first, every connection closed, the controls
 * disabled, and the page stops following the call (pushes and reconnects of it are ignored from now on).
 */
function teardown(text) {
  if (!state.callId) return;
  state.callId = null; state.lastCall = null; state.wasIn = false; state.mediaAway = false; state.republishing = false;
  clearTimeout(state.iceTimer);
  stopPublishing();
  stopScreen(false);
  for (const feed of [...state.subscribers.keys()]) closeSubscriber(feed);
  for (const id of ['unmute', 'mic-off', 'share', 'stopshare', 'hand', 'leave']) $(id).disabled = true;
  $('take-over').hidden = true;
  $('host').hidden = true;
  $('link-box').hidden = true;
  $('receive-choice').hidden = true;
  $('waiting').replaceChildren();
  $('participants').replaceChildren();
  if (text) status(text);
}

/**
 * Another page of mine (a tab, a device) joined this call and has it now: this one stops its media and its controls, says
 * so, and offers «Продолжить здесь», which joins again from here (taking the call back; the other page is told in turn).
 * The hub stays connected, but no longer keeps the person in the call: the page that took it does (docs/calls.md).
 */
function movedAway() {
  const callId = state.callId;
  if (!callId) return;
  teardown(MOVED_TEXT);
  offerContinueHere(callId);
}

/** «Продолжить здесь» for a call another page of mine has: after being told, or when this tab's rejoin was refused. */
function offerContinueHere(callId) {
  state.movedFrom = callId;
  $('join').hidden = true;
  $('continue-here').hidden = false;
  $('continue-here').disabled = false;
}

/** Nothing to come back to: the page forgets the call it let go of, and «Продолжить здесь» goes. */
function dropContinueHere() {
  state.movedFrom = null;
  $('continue-here').hidden = true;
}

/** «Продолжить здесь»: joins the call this page let go of again, on a new hub connection (start closes the old one). */
async function continueHere() {
  const callId = state.movedFrom;
  if (!callId || state.starting || state.callId) return;
  state.starting = true;
  $('continue-here').disabled = true;
  try {
    await start({ ...state.params, call: callId, chat: null, plan: null, broadcast: false, rejoin: false });
    state.movedFrom = null;
  } catch (err) {
    status(message(err), true);
    if (OUT_OF_CALL.has(serverCode(err))) {
      // The call is over for me (ended, removed, locked, no longer in its chat): nothing to come back to.
      dropContinueHere();
      return;
    }
    // start() hid the button: a join that failed (no connection, the server away) leaves it to try again with.
    if (!state.callId) $('continue-here').hidden = false;
    $('continue-here').disabled = false;
  } finally { state.starting = false; }
}

/** A guest waiting to be let in, in the host's «Зал ожидания» with «Впустить» and «Отклонить» (once per guest). */
function showGuest(guest) {
  if (guest.status && guest.status !== 'waiting') return;
  if (document.querySelector(`#waiting li[data-account="${guest.accountId}"]`)) return;
  const name = guest.displayName || 'Гость';
  const li = document.createElement('li');
  li.dataset.account = guest.accountId;
  li.textContent = name + ' ';
  names.set(guest.accountId, name); // a guest is not among the chat's members: keep the name for the list
  for (const [label, admit] of [['Впустить', true], ['Отклонить', false]]) {
    const b = document.createElement('button');
    b.textContent = label; b.dataset.admit = String(admit); b.className = 'btn small';
    b.addEventListener('click', () => state.hub.invoke('AdmitToCall', state.callId, guest.accountId, admit)
      .then(() => li.remove()).catch(err => status(message(err), true)));
    li.appendChild(b);
  }
  $('waiting').appendChild(li);
}

/** The host's waiting room as the server has it: guests who knocked before this page came (or while it reconnected). */
async function loadWaitingRoom() {
  try {
    const guests = await state.hub.invoke('GetCallWaitingRoom', state.callId);
    for (const li of [...$('waiting').children]) if (!guests.some(g => g.accountId === li.dataset.account && g.status === 'waiting')) li.remove();
    guests.forEach(showGuest);
  } catch { /* not the host, or the call is gone: nothing to show */ }
}

/**
 * «Ссылка на звонок» (host): the call's address, shown selected and copied when the browser allows. The chat's members
 * join from the chat anyway; the link is for people of the school outside it, who knock on the waiting room.
 */
async function copyCallLink() {
  const url = `${location.origin}${location.pathname}#call=${state.callId}`;
  $('link').value = url;
  $('link-box').hidden = false;
  $('link').select();
  const guests = state.waitingRoom || !state.chatKind || state.chatKind === 'direct' ? '' : ' Людей школы не из чата пустит зал ожидания: откройте его.';
  try {
    await navigator.clipboard.writeText(url);
    notify('Ссылка на звонок скопирована.' + guests, 'info');
  } catch {
    notify('Скопируйте ссылку из поля «Ссылка».' + guests, 'info');
  }
}

window.startCall = start; // for tests

function fromFragment() {
  const p = new URLSearchParams(location.hash.slice(1));
  // A token only when the link carries one (tests, tools): otherwise the web client's session, read again on every
  // connect — a token copied into the form at load would be stale by the time «Войти» is pressed.
  return { token: p.get('token'), chat: p.get('chat'), call: p.get('call'), plan: p.get('plan'), lesson: p.get('lesson') === '1',
    broadcast: p.get('broadcast') === '1', relay: p.get('relay') === '1', autostart: p.get('autostart') === '1' };
}

document.addEventListener('DOMContentLoaded', () => {
  const f = fromFragment();
  let autostarting = false; // the form's submit comes from the link's autostart, not from «Войти»
  $('token').value = f.token || ''; $('chat').value = f.chat || ''; $('call').value = f.call || '';
  $('lesson').checked = f.lesson; $('relay').checked = f.relay;
  // The token and «Только через TURN» are for tools: a teacher or a parent whose join failed sees neither.
  $('token').closest('label').hidden = !f.token;
  $('relay').closest('label').hidden = !f.token && !f.relay;
  $('join').addEventListener('submit', e => {
    e.preventDefault();
    // One call per page at a time: a second «Войти» while joining or in a call would open a second connection.
    if (state.starting || state.callId) return;
    state.starting = true;
    const call = $('call').value.trim() || null;
    // Only the autostart of a reloaded tab into the call it had joined is a rejoin; «Войти» pressed by hand joins.
    const rejoin = autostarting && !!call && call === KEPT_CALL;
    autostarting = false;
    start({ token: $('token').value.trim() || null, chat: $('chat').value.trim() || null, call, plan: f.plan, broadcast: f.broadcast && !call,
      lesson: $('lesson').checked, relay: $('relay').checked, rejoin }).catch(err => {
      if (rejoin && serverCode(err) === MOVED && !state.callId) { status(MOVED_TEXT); offerContinueHere(call); return; }
      status(message(err), true);
      if (!state.callId) $('join').hidden = false; // an autostart link that could not join: «Войти» tries again
    }).finally(() => { state.starting = false; });
  });
  $('unmute').addEventListener('click', async () => {
    // Disabled while it works: a second click while the browser asks for the camera would publish twice.
    $('unmute').disabled = true;
    try {
      await state.hub.invoke('SetMuted', state.callId, false, false);
      if (!state.publishing) {
        await publish();
        status(inCallText(state.lastCall)); // over a «could not» of an earlier attempt
      }
    } catch (err) {
      if (!state.publishing && !state.republishing) stopPublishing(); // nothing half-open stays on (the camera's light)
      status(message(err), true);
      $('unmute').disabled = !(state.mine && state.mine.speakAllowed) || state.publishing || !!state.republishing;
    }
  });
  $('mic-off').addEventListener('click', async () => {
    const mine = state.mine;
    if (!mine || !state.callId) return;
    $('mic-off').disabled = true;
    state.mutingMyself = !mine.audioMuted;
    try {
      await applyState(await state.hub.invoke('SetMuted', state.callId, !mine.audioMuted, mine.videoMuted));
    } catch (err) {
      status(message(err), true);
      renderMic(state.mine);
    } finally { state.mutingMyself = false; }
  });
  $('mic').addEventListener('change', () => chooseDevice('audio', $('mic').value));
  $('camera').addEventListener('change', () => chooseDevice('video', $('camera').value));
  $('speaker').addEventListener('change', () => chooseSpeaker($('speaker').value));
  $('receive').value = chosenDevices().receive || 'auto';
  $('receive').addEventListener('change', () => {
    rememberDevice('receive', $('receive').value);
    shareVideo();
  });
  $('sound').addEventListener('click', () => {
    state.soundBlocked = false;
    $('sound').hidden = true;
    document.querySelectorAll('#videos .tile:not([data-local]) audio').forEach(playWithSound);
  });
  // Closing the browser's picker without choosing is a refusal too (NotAllowedError): the person changed their mind.
  $('share').addEventListener('click', () => shareScreen().catch(err => (err && err.name === 'NotAllowedError'
    ? status('Показ экрана отменён.') : status(message(err), true))));
  $('stopshare').addEventListener('click', () => stopScreen(true));
  $('take-over').addEventListener('click', async () => {
    $('take-over').disabled = true;
    try {
      await applyState(await state.hub.invoke('TakeOverCall', state.callId));
      status('Теперь вы ведущий.');
      loadWaitingRoom();
    } catch (err) {
      status(message(err), true);
    } finally {
      $('take-over').disabled = false;
    }
  });
  $('hand').addEventListener('click', () => state.hub.invoke('RaiseHand', state.callId, !state.handRaised).then(applyState).catch(err => status(message(err), true)));
  $('leave').addEventListener('click', async () => {
    const callId = state.callId;
    teardown('Вы вышли из звонка.');
    await state.hub.invoke('LeaveCall', callId).catch(() => {});
  });
  $('mute-all').addEventListener('click', () => state.hub.invoke('MuteParticipant', state.callId, null).then(applyState).catch(err => status(message(err), true)));
  $('waitroom').addEventListener('click', () => state.hub.invoke('SetWaitingRoom', state.callId, !state.waitingRoom).then(applyState).catch(err => status(message(err), true)));
  $('lock').addEventListener('click', () => state.hub.invoke('LockCall', state.callId, !state.locked).then(applyState).catch(err => status(message(err), true)));
  $('end').addEventListener('click', async () => {
    if (!await confirmFirst('Завершить звонок для всех?', 'Звонок закончится у всех участников. Чтобы уйти одной, нажмите «Выйти».', 'Завершить')) return;
    state.hub.invoke('EndCall', state.callId).catch(err => status(message(err), true));
  });
  $('copy-link').addEventListener('click', copyCallLink);
  $('continue-here').addEventListener('click', continueHere);
  if (f.autostart && (f.token || storedToken())) { autostarting = true; $('join').hidden = true; $('join').requestSubmit(); }
});
