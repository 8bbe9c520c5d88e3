import { useId } from 'preact/hooks';
import type { AnswerEngine, AnswerUsage, AskSearch, Citation, Message, VoiceMetrics } from '../api.ts';
import { cutShort, type Reply } from '../chat-model.ts';
import { duration as seconds, voiceTimings } from '../voice/timings.ts';
import { paragraphs, splitCitations } from './citation-text.ts';
import { answerForClipboard, CitationList, citationHref, citationPlace } from './citation-list.tsx';
import { CopyButton } from './copy-button.tsx';
import { ErrorBanner } from './error-banner.tsx';
import { FeedbackButtons } from './feedback.tsx';
import { Badge } from './format.tsx';

function AnswerText({ kbId, text, citations }: { kbId: string; text: string; citations: readonly Citation[] }) {
  return (
    <>
      {paragraphs(text).map((p, i) => (
        <p key={i}>
          {splitCitations(p, citations).map((piece, j) =>
            'text' in piece ? (
              piece.text
            ) : piece.citation.removed ? (
              <span key={j} class="cite cite-removed" title={citationPlace(piece.citation)}>
                [{piece.citation.n}]<span class="visually-hidden"> {citationPlace(piece.citation)}</span>
              </span>
            ) : (
              <a key={j} class="cite" href={citationHref(kbId, piece.citation) ?? undefined} title={citationPlace(piece.citation)}>
                [{piece.citation.n}]<span class="visually-hidden"> {citationPlace(piece.citation)}</span>
              </a>
            ),
          )}
        </p>
      ))}
    </>
  );
}

function Searches({ searches }: { searches: ReadonlyArray<Omit<AskSearch, 'k'>> }) {
  return (
    <ul class="answer-searches">
      {searches.map((s, i) => (
        <li key={i}>
          Searched: “{s.query}” · {s.hits} passage{s.hits === 1 ? '' : 's'}
          {s.documentIds && s.documentIds.length > 0 && ` in ${s.documentIds.length} document${s.documentIds.length === 1 ? '' : 's'}`}
        </li>
      ))}
    </ul>
  );
}

const engineLabel = (e: AnswerEngine) => (e.kind === 'extractive' ? 'passage search (no language model)' : [e.name, e.model].filter(Boolean).join(' · '));

/** How a spoken answer was heard and said: the wait after the person stopped talking up front, the breakdown behind it. */
function VoiceMeta({ voice }: { voice: VoiceMetrics }) {
  const { summary, details } = voiceTimings(voice);
  return (
    <details class="answer-voice">
      <summary>
        <span class="visually-hidden">Voice timings: </span>
        {summary}
      </summary>
      {details.length > 0 && (
        <dl>
          {details.map((d) => (
            <div key={d.term}>
              <dt>{d.term}</dt>
              <dd>{d.value}</dd>
            </div>
          ))}
        </dl>
      )}
    </details>
  );
}

interface MetaProps {
  engine: AnswerEngine | null;
  usage: AnswerUsage | null;
  sentToCloud: boolean;
  voice: VoiceMetrics | null;
}

/** Which engine answered and why (in a disclosure: keyboard-operable, unlike a hover tooltip), how long it took, and for a spoken answer how it was heard. */
function AnswerMeta({ engine, usage, sentToCloud, voice }: MetaProps) {
  return (
    <div class="answer-meta">
      {engine && (
        <details class="answer-engine">
          <summary>Answered by {engineLabel(engine)}</summary>
          <p>
            {engine.reason.replace(/\.?$/, '.')} <a href="/settings">Engine policy</a>
          </p>
        </details>
      )}
      {sentToCloud && <Badge tone="info">Sent to a cloud engine</Badge>}
      {usage && (
        <span class="answer-timing">
          {usage.firstTokenMs !== null && `First token ${seconds(usage.firstTokenMs)} · `}Total {seconds(usage.totalMs)}
        </span>
      )}
      {voice && <VoiceMeta voice={voice} />}
    </div>
  );
}

function Pending({ searched }: { searched: boolean }) {
  return (
    <p class="answer-pending">
      <span class="spinner" aria-hidden="true" />
      {searched ? 'Reading the passages…' : 'Searching the knowledge base…'}
    </p>
  );
}

interface Props {
  kbId: string;
  reply: Reply;
  /** Null until the conversation is known; feedback needs it. */
  conversationId: string | null;
  onFeedback(message: Message): void;
}

/** One reply: searches made, the text with linked [n] markers, its sources, and what to do with it. */
export function AnswerView({ kbId, reply, conversationId, onFeedback }: Props) {
  const id = useId();
  const streaming = reply.status === 'streaming';
  const canRate = reply.status === 'complete' && reply.messageId !== null && conversationId !== null;
  const ended = cutShort(reply);
  return (
    <div class="answer" aria-busy={streaming}>
      {reply.searches.length > 0 && <Searches searches={reply.searches} />}
      {/* The server's extractive text explains itself too; the tag marks it at a glance, even when skimming. */}
      {reply.notCovered ? (
        <p class="answer-mode">Not in your documents</p>
      ) : (
        reply.mode === 'extractive' && <p class="answer-mode">Quoted passages · no language model available</p>
      )}
      <div class="answer-text" id={`${id}-text`}>
        {streaming && reply.text === '' ? <Pending searched={reply.searches.length > 0} /> : <AnswerText kbId={kbId} text={reply.text} citations={reply.citations} />}
      </div>
      {ended && (
        <p class="answer-stopped">
          <Badge>{ended.tag}</Badge> {ended.text}
        </p>
      )}
      {reply.status === 'failed' && reply.error && <ErrorBanner error={reply.error} />}
      {reply.citations.length > 0 && <CitationList kbId={kbId} citations={reply.citations} />}
      {/* Passages near the question, offered so the reader can judge: never presented as its answer. */}
      {reply.related.length > 0 && <CitationList kbId={kbId} citations={reply.related} heading="Related, not an answer" />}
      {!streaming && reply.text !== '' && (
        <div class="answer-actions" role="group" aria-label="Answer actions">
          <CopyButton text={answerForClipboard(reply.text, reply.citations)} targetId={`${id}-text`} />
          {canRate && <FeedbackButtons conversationId={conversationId} messageId={reply.messageId ?? ''} feedback={reply.feedback} onSaved={onFeedback} />}
        </div>
      )}
      {(reply.engine || reply.voice) && <AnswerMeta engine={reply.engine} usage={reply.usage} sentToCloud={reply.sentToCloud} voice={reply.voice} />}
    </div>
  );
}
