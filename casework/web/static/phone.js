// The browser softphone: JsSIP over the desktop's own /desk/sip WebSocket
// (proxied to Asterisk), DTLS-SRTP media. Every failure is reported through
// onFault so that the page takes the agent out of the queue: an agent whose
// phone cannot ring must never be offered a call.

export class Softphone {
  constructor({ username, password, wsPath, audio, onState, onIncoming, onEnded, onFault }) {
    Object.assign(this, { username, password, wsPath, audio, onState, onIncoming, onEnded, onFault });
    this.session = null;
    this.mic = null;
    this.timing = {};
  }

  // start asks for the microphone first: no microphone, no registration.
  async start() {
    if (!window.JsSIP) throw new Error('软电话组件未加载（请运行 make web 后重新构建）');
    if (!navigator.mediaDevices?.getUserMedia) throw new Error('此浏览器不支持网页通话（需要 http://127.0.0.1 或 HTTPS 页面）');
    try {
      this.mic = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
    } catch (e) {
      const why = e.name === 'NotAllowedError' ? '麦克风权限被拒绝' : e.name === 'NotFoundError' ? '未找到麦克风设备' : '麦克风不可用：' + e.message;
      throw new Error(why);
    }
    const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + this.wsPath;
    const socket = new JsSIP.WebSocketInterface(url);
    this.socket = socket;
    this.ua = new JsSIP.UA({
      sockets: [socket], uri: `sip:${this.username}@${location.hostname}`, authorization_user: this.username,
      password: this.password, register: true, register_expires: 120, session_timers: false,
      connection_recovery_min_interval: 2, connection_recovery_max_interval: 10, user_agent: 'hotline-desk',
    });
    this.ua.on('registered', () => { this.registered = true; this.onState('已注册'); });
    this.ua.on('unregistered', () => { this.registered = false; this.onState('未注册'); });
    this.ua.on('registrationFailed', (e) => { this.registered = false; this.onFault('软电话注册失败：' + (e.cause || '未知原因')); });
    this.ua.on('disconnected', () => { this.registered = false; if (!this.stopping) this.onFault('软电话连接中断（WebSocket 断开）'); });
    this.ua.on('connected', () => this.onState('已连接'));
    this.ua.on('newRTCSession', (e) => this.incoming(e));
    this.onState('连接中');
    this.ua.start();
  }

  incoming(e) {
    if (e.originator !== 'remote') return;
    const s = e.session;
    if (this.session) { s.terminate({ status_code: 486 }); return; }
    this.session = s;
    this.timing.invite = Date.now();
    const attach = (pc) => {
      pc.addEventListener('track', (ev) => { this.audio.srcObject = ev.streams[0] || new MediaStream([ev.track]); });
      // Media trouble is the first thing support asks about: keep it in the console.
      pc.addEventListener('iceconnectionstatechange', () => console.info('softphone ICE', pc.iceConnectionState));
      pc.addEventListener('connectionstatechange', () => {
        console.info('softphone media', pc.connectionState);
        if (pc.connectionState === 'failed') this.onFault('通话媒体连接失败（ICE/DTLS）');
      });
    };
    if (s.connection) attach(s.connection);
    s.on('peerconnection', (ev) => attach(ev.peerconnection));
    const done = (why) => { if (this.session === s) { this.session = null; this.onEnded(why); } };
    s.on('ended', () => done('通话结束'));
    s.on('failed', (ev) => done(ev.cause === 'Canceled' ? '对方已挂断（未接通）' : '呼叫失败：' + ev.cause));
    s.on('confirmed', () => { this.timing.confirmed = Date.now(); });
    const from = s.remote_identity?.uri?.user || '';
    this.onIncoming(from, s.remote_identity?.display_name || '');
  }

  answer() {
    if (!this.session) return false;
    this.timing.answer = Date.now();
    this.session.answer({ mediaStream: this.mic, pcConfig: { iceServers: [] }, rtcOfferConstraints: {} });
    return true;
  }

  hangup() { if (this.session) this.session.terminate(); }

  // inboundEnergy is what the page has heard of the citizen (WebRTC stats).
  async inboundEnergy() {
    const pc = this.session?.connection;
    if (!pc) return 0;
    let energy = 0;
    (await pc.getStats()).forEach((r) => { if (r.type === 'inbound-rtp' && r.kind === 'audio') energy += r.totalAudioEnergy || 0; });
    return energy;
  }

  stop() {
    this.stopping = true;
    try { this.ua?.stop(); } catch (_) { /* closing anyway */ }
    this.mic?.getTracks().forEach((t) => t.stop());
  }
}
