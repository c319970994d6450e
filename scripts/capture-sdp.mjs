// Captures real SDP from headless Chromium for the Chat.Signaling tests.
// Usage: node scripts/capture-sdp.mjs <outdir>   (needs `npm install playwright-core` and /usr/bin/chromium)
// Runs inside its own network namespace when started through scripts/capture-sdp.sh.
import { chromium } from 'playwright-core';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

const out = process.argv[2];
const server = http.createServer((_, res) => { res.setHeader('content-type', 'text/html'); res.end('<!doctype html><title>sdp</title>'); });
await new Promise(r => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${server.address().port}/`;
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-first-run', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--allow-loopback-in-peer-connection',
    '--disable-features=WebRtcHideLocalIpsWithMdns', '--disable-dev-shm-usage'],
});
try {
  const page = await browser.newPage();
  await page.goto(url);
  const result = await page.evaluate(async () => {
    const gather = pc => new Promise(resolve => {
      const candidates = [];
      pc.onicecandidate = e => { if (e.candidate) candidates.push(e.candidate.candidate); else resolve(candidates); };
      setTimeout(() => resolve(candidates), 3000);
    });
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    const a = new RTCPeerConnection();
    stream.getTracks().forEach(t => a.addTrack(t, stream));
    const aCandidates = gather(a);
    const offer = await a.createOffer();
    await a.setLocalDescription(offer);
    const candidates = await aCandidates;
    const b = new RTCPeerConnection();
    await b.setRemoteDescription(offer);
    const answer = await b.createAnswer();
    await b.setLocalDescription(answer);
    const r = new RTCPeerConnection();
    r.addTransceiver('audio', { direction: 'recvonly' });
    r.addTransceiver('video', { direction: 'recvonly' });
    const recvOffer = await r.createOffer();
    const s = new RTCPeerConnection();
    s.createDataChannel('x');
    const dataOffer = await s.createOffer();
    return { offer: offer.sdp, answer: answer.sdp, recvOffer: recvOffer.sdp, dataOffer: dataOffer.sdp, withCandidates: a.localDescription.sdp, candidates, ua: navigator.userAgent };
  });
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'chromium-offer-sendrecv.sdp'), result.offer);
  fs.writeFileSync(path.join(out, 'chromium-answer.sdp'), result.answer);
  fs.writeFileSync(path.join(out, 'chromium-offer-recvonly.sdp'), result.recvOffer);
  fs.writeFileSync(path.join(out, 'chromium-offer-datachannel.sdp'), result.dataOffer);
  fs.writeFileSync(path.join(out, 'chromium-offer-with-candidates.sdp'), result.withCandidates);
  fs.writeFileSync(path.join(out, 'chromium-candidates.txt'), result.candidates.join('\n') + '\n');
  fs.writeFileSync(path.join(out, 'README.txt'), `Captured by scripts/capture-sdp.sh from ${result.ua}\n`);
  console.log(`captured ${result.candidates.length} candidates`);
} finally {
  await browser.close();
  server.close();
}
