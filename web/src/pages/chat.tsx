import type { Ref } from 'preact';
import { useEffect, useId, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { useLocation, useRoute } from 'preact-iso';
import { api, toApiError, type ApiError, type Kb, type Message } from '../api.ts';
import { announcement, turnsFromMessages, withFeedback, withHeard, type Turn } from '../chat-model.ts';
import { AnswerView } from '../components/answer.tsx';
import { Breadcrumbs } from '../components/breadcrumbs.tsx';
import { Button } from '../components/button.tsx';
import { ErrorBanner } from '../components/error-banner.tsx';
import { NoModelNotice } from '../components/no-model-notice.tsx';
import { Page } from '../components/page.tsx';
import { ResourceView } from '../components/resource-view.tsx';
import { VoicePanel, type VoiceControl } from '../components/voice-panel.tsx';
import { useAsk } from '../hooks/use-ask.ts';
import { useResource } from '../hooks/use-resource.ts';
import { useMe } from '../hooks/use-session.ts';
import { chatPath, ConversationList } from './chat-sidebar.tsx';
import { kbPath } from './kbs.tsx';

const QUESTION_MAX = 4000;
// Within this many pixels of the bottom the thread follows a streaming answer; further up, the
// reader has scrolled away on purpose and is left alone.
const FOLLOW_PX = 160;

interface ComposerProps {
  busy: boolean;
  onSend(question: string): void;
  onStop(): void;
  inputRef: Ref<HTMLTextAreaElement>;
}

/**
 * Enter sends and Shift+Enter breaks the line, as in other chat tools. While an answer streams the
 * box stays editable (focus stays put, the next question can be drafted) but cannot send; Stop or
 * Escape cancels the answer.
 */
function Composer({ busy, onSend, onStop, inputRef }: ComposerProps) {
  const id = useId();
  const [text, setText] = useState('');
  const [error, setError] = useState('');

  const submit = () => {
    if (busy) return;
    const question = text.trim();
    if (!question) {
      setError('Type a question first.');
      return;
    }
    setText('');
    setError('');
    onSend(question);
  };

  return (
    <form
      class="composer"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      <label for={id} class="composer-label">
        Your question
      </label>
      <div class="composer-row">
        <textarea
          id={id}
          ref={inputRef}
          rows={2}
          placeholder="Ask a question…"
          value={text}
          maxLength={QUESTION_MAX}
          aria-invalid={error !== ''}
          aria-describedby={`${id}-hint`}
          onInput={(e) => setText(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Escape' && busy) {
              e.preventDefault();
              onStop();
            } else if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
              e.preventDefault();
              submit();
            }
          }}
        />
        {busy ? (
          <Button variant="danger" onClick={onStop}>
            Stop
          </Button>
        ) : (
          <Button type="submit" variant="primary">
            Send
          </Button>
        )}
      </div>
      <p id={`${id}-hint`} class={error ? 'field-error' : 'field-hint'}>
        {error || (busy ? 'Answering… Stop (or Escape) cancels the answer.' : 'Enter sends; Shift+Enter starts a new line.')}
      </p>
    </form>
  );
}

/**
 * Keeps the newest text in view while an answer streams, unless the reader scrolled up to read.
 * Opening a conversation does not jump: focus and view start at the top together.
 */
function useFollow(live: Turn | null): { follow(): void } {
  const near = useRef(true);
  useEffect(() => {
    const onScroll = () => {
      near.current = window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - FOLLOW_PX;
    };
    window.addEventListener('scroll', onScroll, { passive: true });
    return () => window.removeEventListener('scroll', onScroll);
  }, []);
  useLayoutEffect(() => {
    if (live && near.current) window.scrollTo({ top: document.documentElement.scrollHeight });
  }, [live]);
  return { follow: () => (near.current = true) };
}

interface ThreadProps {
  kb: Kb;
  turns: readonly Turn[];
  conversationId: string | null;
  onFeedback(message: Message): void;
}

function Thread({ kb, turns, conversationId, onFeedback }: ThreadProps) {
  return (
    <ol class="turns">
      {turns.map((t, i) => (
        <li key={t.key} class="turn">
          <h3 class="visually-hidden">Question {i + 1}</h3>
          <p class="question">{t.question}</p>
          <h3 class="visually-hidden">Answer {i + 1}</h3>
          {t.reply ? (
            <AnswerView kbId={kb.id} reply={t.reply} conversationId={conversationId} onFeedback={onFeedback} />
          ) : (
            <p class="answer muted">No answer was recorded for this question.</p>
          )}
        </li>
      ))}
    </ol>
  );
}

function EmptyThread({ kb }: { kb: Kb }) {
  return (
    <div class="chat-empty">
      <p>
        Ask anything the documents in “{kb.name}” can answer. Answers quote and cite the passages they come from; follow the
        numbers to read each one in its document.
      </p>
      {kb.stats.ready === 0 && (
        <p class="banner banner-warning">
          This knowledge base has no documents ready yet, so there is nothing to answer from. <a href={kbPath(kb.id)}>Add documents</a>
        </p>
      )}
    </div>
  );
}

function ChatView({ kb, conversationId }: { kb: Kb; conversationId: string | null }) {
  const me = useMe();
  const { route } = useLocation();
  const asking = useAsk(kb.id);
  const conversations = useResource(() => api.listConversations(kb.id).then((r) => r.conversations), [kb.id]);
  const [turns, setTurns] = useState<Turn[]>([]);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState('');
  const [attempt, setAttempt] = useState(0);
  // The conversation whose turns are in state; undefined when none is. An answer that starts a
  // conversation puts its id here before changing the URL, so the thread is not loaded again.
  const held = useRef<string | null | undefined>(undefined);
  const input = useRef<HTMLTextAreaElement>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const firstLoad = useRef(true);
  // Voice: the turns being spoken now, and a way to stop voice when the person leaves its conversation.
  const [voiceLive, setVoiceLive] = useState<Turn[]>([]);
  const voice = useRef<VoiceControl | null>(null);
  /** The next navigation is voice's own (to the conversation its answers went to): voice and focus stay. */
  const voiceNavigation = useRef(false);
  const { follow } = useFollow(asking.live ?? voiceLive.at(-1) ?? null);

  useEffect(() => {
    if (conversationId === held.current) return;
    held.current = conversationId;
    const byVoice = voiceNavigation.current;
    voiceNavigation.current = false;
    // A voice session answers into its own conversation: opening another one ends it.
    if (!byVoice) voice.current?.stop();
    asking.stop();
    setTurns([]);
    setError(null);
    // After the page's own mount (which focuses the h1), moving between conversations lands on the
    // thread; voice moving to its conversation leaves focus on the voice controls.
    const moveFocus = !firstLoad.current && !byVoice;
    firstLoad.current = false;
    if (!conversationId) return;
    let current = true;
    setLoading(true);
    api
      .getConversation(conversationId)
      .then((c) => {
        if (!current) return;
        setTurns(turnsFromMessages(c.messages));
        if (moveFocus) heading.current?.focus();
      })
      .catch((err: unknown) => current && setError(toApiError(err)))
      .finally(() => current && setLoading(false));
    return () => {
      current = false;
    };
    // oxlint-disable-next-line react/exhaustive-deps -- asking.stop is stable; `attempt` forces a retry
  }, [conversationId, attempt]);

  const retry = () => {
    held.current = undefined;
    setAttempt((n) => n + 1);
  };

  const startNew = () => {
    voice.current?.stop();
    asking.stop();
    held.current = null;
    setTurns([]);
    setError(null);
    setStatus('');
    route(chatPath(kb.id));
    input.current?.focus();
  };

  /** The conversation a stopped or failed first question created: the stream ended before saying. */
  const findCreated = async (known: ReadonlySet<string>): Promise<string | null> => {
    const { conversations: list } = await api.listConversations(kb.id).catch(() => ({ conversations: [] }));
    return list.find((c) => !known.has(c.id) && c.userId === me.user.id)?.id ?? null;
  };

  const send = async (question: string) => {
    const askedIn = held.current ?? null;
    const known = new Set((conversations.data ?? []).map((c) => c.id));
    setBusy(true);
    setStatus('');
    follow();
    input.current?.focus();
    try {
      const result = await asking.ask(question, askedIn);
      if (!result || held.current !== askedIn) return;
      setTurns((list) => [...list, result.turn]);
      if (result.turn.reply) setStatus(announcement(result.turn.reply));
      if (askedIn === null) {
        const created = result.conversationId ?? (await findCreated(known));
        if (created && held.current === null) {
          held.current = created;
          route(chatPath(kb.id, created), true);
        }
      }
      conversations.reload();
    } finally {
      setBusy(false);
      // Stop is about to give way to Send (and a removed button drops focus to the body): the
      // question box is where the next step starts. Focus elsewhere, the reader put it there.
      const focused = document.activeElement;
      if (!focused || focused === document.body || input.current?.form?.contains(focused)) input.current?.focus();
    }
  };

  /** A spoken turn has ended: into the thread, and the conversation it was stored in onto the screen. */
  const voiceTurn = (turn: Turn, stored: string | null) => {
    conversations.reload();
    if (!stored || stored === held.current) {
      setTurns((list) => [...list, turn]);
      return;
    }
    if (held.current === null) {
      // The first answer of a new conversation, as for a typed question: the URL catches up.
      held.current = stored;
      setTurns((list) => [...list, turn]);
      route(chatPath(kb.id, stored), true);
      return;
    }
    // Another conversation was on screen: show the voice one, loaded whole from the server.
    held.current = undefined;
    voiceNavigation.current = true;
    route(chatPath(kb.id, stored));
  };

  // A finished spoken turn reaches the thread a render before the panel stops listing it as live.
  const thread = [...turns, ...voiceLive.filter((v) => !turns.some((t) => t.key === v.key)), ...(asking.live ? [asking.live] : [])];
  const title = conversations.data?.find((c) => c.id === conversationId)?.title ?? (conversationId ? 'Conversation' : 'New conversation');

  return (
    <div class="chat">
      <ConversationList
        kbId={kb.id}
        conversations={conversations}
        current={conversationId}
        onNew={startNew}
        onDeleted={(c) => {
          conversations.reload();
          if (c.id === conversationId) startNew();
        }}
      />
      <section class="chat-main" aria-labelledby="thread-heading">
        {/* Hidden: the first question, shown just below, is the title. It is the focus target when switching. */}
        <h2 id="thread-heading" class="visually-hidden" ref={heading} tabIndex={-1}>
          {title}
        </h2>
        <NoModelNotice user={me.user} />
        {error && <ErrorBanner error={error} onRetry={retry} />}
        {loading && <p class="loading">Loading the conversation…</p>}
        {!loading && !error && thread.length === 0 && <EmptyThread kb={kb} />}
        <Thread kb={kb} turns={thread} conversationId={conversationId} onFeedback={(m) => setTurns((list) => withFeedback(list, m))} />
        <p class="visually-hidden" role="status">
          {status}
        </p>
        <div class="chat-dock">
          <VoicePanel
            kbId={kb.id}
            conversationId={conversationId}
            onLive={setVoiceLive}
            onTurn={voiceTurn}
            onTruncated={(messageId, heard) => setTurns((list) => withHeard(list, messageId, heard))}
            controlRef={voice}
          />
          <Composer busy={busy} onSend={(q) => void send(q)} onStop={asking.stop} inputRef={input} />
        </div>
      </section>
    </div>
  );
}

export function ChatPage() {
  const { params } = useRoute();
  const kbId = params['kbId'] ?? '';
  const conversationId = params['conversationId'] || null;
  const kb = useResource(() => api.getKb(kbId), [kbId]);
  const crumbs = [{ href: '/kbs', label: 'Knowledge bases' }, ...(kb.data ? [{ href: kbPath(kbId), label: kb.data.name }] : [])];
  return (
    <>
      <Breadcrumbs trail={crumbs} />
      <Page title={kb.data ? `Ask “${kb.data.name}”` : 'Ask'}>
        <ResourceView resource={kb}>{(data) => <ChatView key={data.id} kb={data} conversationId={conversationId} />}</ResourceView>
      </Page>
    </>
  );
}
