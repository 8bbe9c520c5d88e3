// `/v1/realtime`: the WebSocket endpoint. Authentication and the knowledge-base check happen on
// the HTTP upgrade, before any WebSocket exists, so a refused client gets a plain 401/404 it can
// read. After that, this file owns the socket's health (heartbeat, idle timeout, backpressure)
// and hands validated events to the session.

import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';
import type { AuthService } from '../auth/auth.ts';
import { SESSION_COOKIE } from '../auth/middleware.ts';
import type { Acting, Principal } from '../auth/principal.ts';
import { RECHECK_MS, revokes, type Revocations, type Revoked } from '../auth/revocation.ts';
import { newId } from '../auth/tokens.ts';
import type { Random } from '../clock.ts';
import type { AnswerService } from '../conversations/answer.ts';
import type { ConversationService } from '../conversations/conversations.ts';
import { AppError, errorEvent, errors, toErrorBody } from '../errors.ts';
import type { KnowledgeBaseService } from '../kb/knowledge-bases.ts';
import type { Logger } from '../logger.ts';
import type { RateLimits } from '../limits/rate-limits.ts';
import type { VoiceMetrics } from '../metrics/recorder.ts';
import { CLIENT_EVENT_TYPES, clientEvent } from './protocol.ts';
import { MemoryDetachedSessions, ownerOf, type DetachedSessions } from './resume-state.ts';
import { RealtimeSession, type RealtimeSessionDeps, type RealtimeSpeech, type SessionSnapshot } from './session.ts';
import { createSynthesisQueues } from './synthesis-queue.ts';
import type { ClientSecrets } from './client-secrets.ts';

export const REALTIME_PATH = '/v1/realtime';

export interface RealtimeDeps {
  auth: Pick<AuthService, 'fromApiKey' | 'fromSessionToken' | 'holds'>;
  /** A session closes (4001) when the credential it was opened with is revoked. */
  revocations: Pick<Revocations, 'subscribe'>;
  /** Short-lived secrets minted by POST /api/v1/realtime/sessions. */
  clientSecrets: Pick<ClientSecrets, 'resolve'>;
  kbs: Pick<KnowledgeBaseService, 'get'>;
  /** To continue an existing conversation (`?conversation=<id>`): it must be visible to the caller. */
  conversations: Pick<ConversationService, 'get'>;
  answers: Pick<AnswerService, 'ask' | 'prepare' | 'truncate' | 'recordVoice'>;
  speech: RealtimeSpeech;
  /**
   * The recogniser and voice of one organisation's sessions, under its engine policy (cloud STT/TTS
   * only where it allows); without it every session uses `speech`.
   */
  speechFor?: ((acting: Acting) => Promise<Pick<RealtimeSpeech, 'stt' | 'sttReason' | 'tts' | 'ttsReason'>>) | undefined;
  /** VAD_MIN_SPEECH_MS: shorter sounds neither start a turn nor interrupt an answer. */
  minSpeechMs?: number | undefined;
  /** REALTIME_TURN_DETECTION: a new session's turn detection until its client chooses. */
  turnDetection?: RealtimeSessionDeps['turnDetection'];
  log: Logger;
  random: Random;
  /** The public origin (PUBLIC_URL); otherwise the request's own Host is the origin cookies may come from. */
  publicUrl?: string | undefined;
  limits?: Partial<RealtimeLimits> | undefined;
  /** Open sessions per caller and organisation (refused 429 at the upgrade), and voice input per day. */
  rateLimits?: Pick<RateLimits, 'take' | 'release'> | undefined;
  /**
   * Where dropped sessions wait to be resumed; defaults to this process's memory. Shared (Redis),
   * a client may resume on any process.
   */
  detachedSessions?: DetachedSessions | undefined;
  /** Open sessions and per-turn voice latencies, for /metrics. */
  metrics?: VoiceMetrics | undefined;
  /** How long an organisation's spoken answers may take (its `voice.answerSeconds`); 20 s without it. */
  voiceAnswerSeconds?: ((organisationId: string) => Promise<number>) | undefined;
}

export interface RealtimeLimits {
  /** Largest client frame; larger ones close the socket with 1009. */
  maxPayload: number;
  /** Past this much unsent output the client is not reading: close with 1013 rather than buffer. */
  maxBufferedBytes: number;
  heartbeatMs: number;
  /** No client event for this long closes the session. */
  idleMs: number;
  /** A dropped session can be resumed this long; 0 turns resuming off. */
  resumeMs: number;
  /** Open sessions beyond this are refused with 503. */
  maxSessions: number;
  /** How far a spoken answer's audio may run ahead of real-time playback before sending is paced. */
  audioLeadMs: number;
  /**
   * Synthesis shared by all sessions through one queue per kind of voice, a turn's first sentence
   * ahead of others' later ones. Off (false), each sentence is synthesised as it comes, all
   * sessions at once: only for the benchmark to compare.
   */
  firstSentencesFirst: boolean;
  /**
   * How often each session's credential is checked again, for a revocation whose notice never
   * came and for a session that reached its expiry; client events do not keep a socket alive past it.
   */
  recheckMs: number;
}

export const DEFAULT_REALTIME_LIMITS: RealtimeLimits = { maxPayload: 1 << 20, maxBufferedBytes: 4 << 20, heartbeatMs: 20_000, idleMs: 10 * 60_000, resumeMs: 120_000, maxSessions: 64, audioLeadMs: 800, firstSentencesFirst: true, recheckMs: RECHECK_MS };

/**
 * Client events a session may have waiting before the socket stops being read (TCP backpressure on
 * a client sending audio faster than it is processed), and the level at which reading resumes.
 */
const INPUT_HIGH_WATER = 64;
const INPUT_LOW_WATER = 16;

/** The close code of a session whose credential was revoked or has lapsed: the client must not reconnect with it. */
export const CLOSE_REVOKED = 4001;
/** The close code of a session whose caller (or organisation) used its voice input for the day: reconnecting will not help until then. */
export const CLOSE_QUOTA = 4029;

/** Refuses an upgrade with a plain HTTP response carrying the usual JSON error body. */
function refuse(socket: Duplex, err: unknown, traceId: string): void {
  const { status, body, headers } = toErrorBody(err, traceId);
  const json = JSON.stringify(body);
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.end(
    `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 404 ? 'Not Found' : 'Error'}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n${extra}\r\n${json}`,
  );
}

function cookie(header: string | undefined, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return decodeURIComponent(value.join('='));
  }
  return null;
}

const INSECURE_KEY_PROTOCOL = 'openai-insecure-api-key.';

/**
 * The credential of an upgrade: `Authorization: Bearer` (API key or client secret), or — for
 * browsers, which cannot set headers on a WebSocket — a client secret in the
 * `openai-insecure-api-key.<secret>` subprotocol, as OpenAI's own clients send it.
 */
function bearerOf(req: http.IncomingMessage): string | null {
  const header = req.headers.authorization;
  if (header) return /^Bearer ([\x21-\x7e]{1,256})$/i.exec(header)?.[1] ?? '';
  const protocol = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).find((p) => p.startsWith(INSECURE_KEY_PROTOCOL));
  return protocol ? protocol.slice(INSECURE_KEY_PROTOCOL.length) : null;
}

/** Bearer API key or client secret, or the session cookie from a page of this very origin (CSRF for sockets). */
async function authenticate(req: http.IncomingMessage, deps: RealtimeDeps): Promise<{ principal: Principal; kbId?: string }> {
  const bearer = bearerOf(req);
  if (bearer !== null) {
    // A client secret is bound to one knowledge base; an API key is not.
    const secret = bearer.startsWith('ek_') ? await deps.clientSecrets.resolve(bearer) : null;
    if (secret) return secret;
    const principal = bearer ? await deps.auth.fromApiKey(bearer) : null;
    if (!principal) throw errors.unauthenticated();
    return { principal };
  }
  const token = cookie(req.headers.cookie, SESSION_COOKIE);
  if (!token) throw errors.unauthenticated();
  const origin = req.headers.origin;
  const own = deps.publicUrl ? [new URL(deps.publicUrl).origin] : [`http://${req.headers.host}`, `https://${req.headers.host}`];
  // A cookie arrives with any cross-site socket; only the Origin tells us which page opened it.
  if (!origin || !own.includes(origin)) throw errors.unauthenticated();
  const resolved = await deps.auth.fromSessionToken(token);
  if (!resolved) throw errors.unauthenticated();
  return { principal: resolved.principal };
}

const modelParam = z.string().regex(/^kb:[A-Za-z0-9_-]{1,64}$/);
const resumeParam = z.string().regex(/^sess_[A-Za-z0-9_-]{1,64}$/);
const idParam = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

/** A resume asked for at the upgrade: the session given back, or why a new one starts instead. */
interface Reclaimed {
  snapshot?: SessionSnapshot;
  refused?: AppError;
}

export interface AttachedRealtime {
  readonly sessions: number;
  /** Closes every session (1001 going away) and stops accepting upgrades. */
  close(): Promise<void>;
}

export function attachRealtime(server: http.Server, deps: RealtimeDeps): AttachedRealtime {
  const limits = { ...DEFAULT_REALTIME_LIMITS, ...deps.limits };
  const synthesis = limits.firstSentencesFirst ? createSynthesisQueues() : undefined;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: limits.maxPayload,
    // Browsers offer `realtime` next to the secret's subprotocol and require one echoed back; the
    // secret itself is never echoed.
    handleProtocols: (protocols) => (protocols.has('realtime') ? 'realtime' : false),
  });
  const log = deps.log.child({ component: 'realtime' });
  const traceId = () => newId(deps.random);
  const open = new Set<Promise<void>>();
  // A store of this process's own is emptied with it; a shared one outlives it.
  const own = deps.detachedSessions ? null : new MemoryDetachedSessions();
  const detached: DetachedSessions = deps.detachedSessions ?? own!;
  /** Each open session's way to end itself, with the principal it acts for. */
  const live = new Map<(reason: string) => void, Principal>();
  let closing = false;

  const unsubscribe = deps.revocations.subscribe((notice) => {
    for (const [end, principal] of live) if (revokes(notice, principal)) end(`credential revoked: ${notice.reason}`);
  });
  const recheck = setInterval(() => {
    for (const [end, principal] of live) {
      deps.auth.holds(principal).then(
        (holds) => holds || end('credential expired or revoked'),
        (err: unknown) => log.warn({ err }, 'realtime credential re-check failed'),
      );
    }
  }, limits.recheckMs);
  recheck.unref();

  const detach = async (snapshot: SessionSnapshot, principal: Principal, kbId: string): Promise<void> => {
    if (limits.resumeMs <= 0 || (closing && !detached.outlivesProcess)) return;
    await detached.detach(snapshot, { owner: ownerOf(principal), kbId }, limits.resumeMs);
  };

  /** The dropped session a reconnecting client asked for, if it is theirs and still kept. */
  const reclaim = async (id: string | null, principal: Principal, kbId: string): Promise<Reclaimed> => {
    if (id === null) return {};
    let snapshot: SessionSnapshot | null = null;
    if (resumeParam.safeParse(id).success) {
      // The client gets a new session rather than no session while the store of dropped ones is away.
      snapshot = await detached.reclaim(id, { owner: ownerOf(principal), kbId }).catch((err: unknown) => (log.warn({ err, sessionId: id }, 'could not reclaim a dropped realtime session'), null));
    }
    if (snapshot) return { snapshot };
    return { refused: new AppError(409, 'resume_unavailable', `Session ${JSON.stringify(id)} cannot be resumed (it ended more than ${Math.round(limits.resumeMs / 1000)} s ago, or is not yours); this is a new session.`) };
  };

  const onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== REALTIME_PATH) return; // another upgrade handler's, or none: Node closes it
    socket.on('error', () => socket.destroy());
    // A notice published while this upgrade is under way would find no session to end yet.
    const noticed: Revoked[] = [];
    const stopNoticing = deps.revocations.subscribe((notice) => noticed.push(notice));
    void (async () => {
      if (closing) throw errors.unavailable('The server is shutting down.');
      if (open.size >= limits.maxSessions) throw errors.unavailable(`The server is at its limit of ${limits.maxSessions} realtime sessions; try again shortly.`);
      const { principal, kbId } = await authenticate(req, deps);
      const model = modelParam.safeParse(url.searchParams.get('model'));
      if (!model.success) throw errors.badRequest('Choose a knowledge base with ?model=kb:<id>.');
      if (kbId && kbId !== model.data.slice(3)) throw errors.notFound('knowledge base');
      const kb = await deps.kbs.get(principal.organisationId, model.data.slice(3));
      const acting: Acting = { principal, ip: req.socket.remoteAddress ?? null };
      // Voice can pick up a conversation begun in text (or an earlier session): the caller's own, on this kb.
      const continued = url.searchParams.get('conversation');
      let conversationId: string | null = null;
      if (continued !== null) {
        const conversation = idParam.safeParse(continued).success ? await deps.conversations.get(principal, continued) : null;
        if (!conversation || conversation.kbId !== kb._id) throw errors.notFound('conversation');
        conversationId = conversation._id;
      }
      const speech: RealtimeSpeech = { ...deps.speech, ...(await deps.speechFor?.(acting)) };
      // Last, so nothing after it fails with the slot taken; it is given back when the socket
      // closes, however that happens (a refused upgrade, a session ending, a client giving up).
      const rateLimits = deps.rateLimits;
      if (rateLimits) {
        await rateLimits.take(principal, 'realtimeSessions');
        const release = () => void rateLimits.release(principal, 'realtimeSessions').catch((err: unknown) => log.warn({ err }, 'could not release a realtime session slot'));
        if (socket.destroyed) release();
        else socket.once('close', release);
      }
      // Last of all: a resume takes the dropped session out of the store, so nothing may refuse the upgrade after it.
      const reclaimed = await reclaim(url.searchParams.get('resume'), principal, kb._id);
      return { acting, model: model.data, kbId: kb._id, reclaimed, speech, conversationId };
    })().then(
      (ok) => {
        stopNoticing();
        if (noticed.some((notice) => revokes(notice, ok.acting.principal))) return refuse(socket, errors.unauthenticated(), traceId());
        // `run` registers the session in this same turn: a later notice finds it.
        wss.handleUpgrade(req, socket, head, (ws) => run(ws, ok));
      },
      (err: unknown) => {
        stopNoticing();
        const id = traceId();
        if (!(err instanceof AppError)) log.error({ err, traceId: id }, 'realtime upgrade failed');
        refuse(socket, err, id);
      },
    );
  };

  const run = (ws: WebSocket, ctx: { acting: Acting; model: string; kbId: string; reclaimed: Reclaimed; speech: RealtimeSpeech; conversationId: string | null }) => {
    const { principal } = ctx.acting;
    const sessionLog = log.child({ kbId: ctx.kbId, organisationId: principal.organisationId });
    const fail = (err: unknown) => {
      if (ws.readyState !== ws.OPEN) return;
      const id = traceId();
      // Through `send`, so an error carries an event_id like every other server event.
      const { event, expected } = errorEvent(err, id);
      send(event);
      if (!expected) sessionLog.error({ err, traceId: id }, 'realtime session error');
    };
    let eventCount = 0;
    const send = (event: Record<string, unknown>) => {
      if (ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount > limits.maxBufferedBytes) {
        sessionLog.warn({ buffered: ws.bufferedAmount }, 'realtime client is not reading: closing');
        ws.close(1013, 'client too slow: output backlog');
        return;
      }
      ws.send(JSON.stringify({ event_id: `event_${++eventCount}`, ...event }));
    };
    const { snapshot, refused } = ctx.reclaimed;
    // Voice input counts against the caller's daily quota as it arrives. Once spent, the client
    // gets one `rate_limited` error and the session closes with CLOSE_QUOTA; audio still queued
    // behind it is dropped without being counted (or refused) again.
    let quotaSpent: AppError | null = null;
    const rateLimits = deps.rateLimits;
    const admitAudio = rateLimits
      ? async (ms: number) => {
          if (quotaSpent) throw quotaSpent;
          try {
            await rateLimits.take(principal, 'audio', ms);
          } catch (err) {
            if (!(err instanceof AppError) || err.status !== 429) throw err;
            quotaSpent = err;
            // The error goes out before the close frame; once the socket is closing, the session's
            // own report of this rejection (and of any audio behind it) sends nothing more.
            fail(err);
            ws.close(CLOSE_QUOTA, 'voice input quota reached for today');
            throw err;
          }
        }
      : undefined;
    const answerSeconds = deps.voiceAnswerSeconds;
    const session = new RealtimeSession({
      acting: ctx.acting,
      kbId: ctx.kbId,
      model: ctx.model,
      answers: deps.answers,
      speech: ctx.speech,
      newId: (prefix) => `${prefix}_${newId(deps.random)}`,
      send,
      fail,
      minSpeechMs: deps.minSpeechMs,
      turnDetection: deps.turnDetection,
      audioLeadMs: limits.audioLeadMs,
      resume: snapshot,
      conversationId: ctx.conversationId,
      admitAudio,
      voiceAnswerSeconds: answerSeconds && (() => answerSeconds(principal.organisationId)),
      synthesis,
      onTurn: (m) => deps.metrics?.turn({ transcriptMs: m.speech_end_to_transcript_ms, firstTokenMs: m.speech_end_to_first_token_ms, firstAudioMs: m.speech_end_to_first_audio_ms }),
    });

    let stopping: Promise<void> | null = null;
    const stop = () => (stopping ??= session.close());
    let revoked = false;
    const end = (reason: string) => {
      if (revoked) return;
      revoked = true;
      sessionLog.info({ reason }, 'realtime credential no longer valid: closing');
      // Nothing is sent once the socket is closing; the answer in flight stops now, not when the
      // client completes the closing handshake.
      ws.close(CLOSE_REVOKED, reason.slice(0, 120));
      stop().catch(() => {});
    };
    live.set(end, principal);

    let alive = true;
    let paused = false;
    let idle: NodeJS.Timeout;
    const touch = () => {
      clearTimeout(idle);
      idle = setTimeout(() => ws.close(1000, 'idle timeout'), limits.idleMs);
    };
    const heartbeat = setInterval(() => {
      if (!alive) return ws.terminate();
      alive = false;
      ws.ping();
    }, limits.heartbeatMs);
    ws.on('pong', () => (alive = true));
    touch();

    ws.on('message', (data, isBinary) => {
      touch();
      if (isBinary) return fail(errors.badRequest('Send events as JSON text frames; audio goes base64 in input_audio_buffer.append.'));
      let json: unknown;
      try {
        json = JSON.parse(data.toString());
      } catch {
        return fail(errors.invalidJson());
      }
      const parsed = clientEvent.safeParse(json);
      if (parsed.success) {
        session.handle(parsed.data);
        if (session.pending >= INPUT_HIGH_WATER && !paused) {
          paused = true;
          ws.pause();
          void session.drained(INPUT_LOW_WATER).then(() => {
            paused = false;
            if (ws.readyState === ws.OPEN) ws.resume();
          });
        }
        return;
      }
      const type = (json as { type?: unknown } | null)?.type;
      if (typeof type !== 'string' || !CLIENT_EVENT_TYPES.includes(type as never)) {
        return fail(new AppError(400, 'unknown_event', `Unsupported event type ${JSON.stringify(type)}; supported: ${CLIENT_EVENT_TYPES.join(', ')}.`));
      }
      fail(errors.validation(parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }))));
    });
    ws.on('error', (err) => sessionLog.warn({ err }, 'realtime socket error'));
    const closed = new Promise<void>((resolve) => {
      ws.once('close', (code) => {
        clearInterval(heartbeat);
        clearTimeout(idle);
        live.delete(end);
        sessionLog.info({ code }, 'realtime session closed');
        // A session whose credential went is not kept for resuming.
        const kept = () => (revoked ? undefined : detach(session.snapshot(), principal, ctx.kbId).catch((err: unknown) => sessionLog.warn({ err }, 'could not keep a dropped realtime session for resuming')));
        stop().then(
          async () => (await kept(), resolve()),
          (err: unknown) => (sessionLog.warn({ err }, 'realtime session cleanup failed'), resolve()),
        );
      });
    });
    open.add(closed);
    deps.metrics?.sessionOpened();
    void closed.then(() => (open.delete(closed), deps.metrics?.sessionClosed()));
    sessionLog.info({ sessionId: session.config.id, via: principal.via, resumed: Boolean(snapshot) }, 'realtime session opened');
    session.start();
    if (refused) fail(refused);
  };

  server.on('upgrade', onUpgrade);
  return {
    get sessions() {
      return open.size;
    },
    async close() {
      closing = true;
      unsubscribe();
      clearInterval(recheck);
      own?.clear();
      server.off('upgrade', onUpgrade);
      // 1012 (service restart) tells a client its session waits for it on another process.
      const [code, reason] = detached.outlivesProcess ? [1012, 'server restarting: reconnect to resume'] : [1001, 'server shutting down'];
      for (const ws of wss.clients) ws.close(code, reason);
      // A client that never answers the close handshake must not hold up the shutdown.
      const force = setTimeout(() => wss.clients.forEach((ws) => ws.terminate()), 2_000);
      await Promise.all(open);
      clearTimeout(force);
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
