import { useState } from 'preact/hooks';
import { api, type Feedback, type Message } from '../api.ts';
import { useAction } from '../hooks/use-action.ts';
import { useForm } from '../hooks/use-form.ts';
import { useToast } from '../hooks/use-toast.ts';
import { FormDialog } from './form-dialog.tsx';
import { TextAreaField } from './text-area-field.tsx';

const COMMENT_MAX = 2000;
const THANKS = 'Thanks, your feedback was saved.';

interface Props {
  conversationId: string;
  messageId: string;
  feedback: Feedback | null;
  onSaved(message: Message): void;
}

/** Thumb outline from Feather icons (MIT); the down thumb is the same path turned over. */
function Thumb({ down = false }: { down?: boolean }) {
  return (
    <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false" class="thumb">
      <path transform={down ? 'rotate(180 12 12)' : undefined} d="M14 9V5a3 3 0 0 0-3-3l-4 9v11h11.28a2 2 0 0 0 2-1.7l1.38-9a2 2 0 0 0-2-2.3zM7 22H4a2 2 0 0 1-2-2v-7a2 2 0 0 1 2-2h3" />
    </svg>
  );
}

function CommentDialog({ initial, onClose, send }: { initial: string; onClose(): void; send(comment: string): Promise<void> }) {
  const form = useForm({
    initial: { comment: initial },
    submit: async (v) => {
      await send(v.comment.trim());
      onClose();
    },
  });
  return (
    <FormDialog title="What was wrong with this answer?" submitLabel="Send feedback" form={form} onClose={onClose}>
      <TextAreaField
        label="Comment (optional)"
        hint="For example a wrong fact, a missing source, or what you expected. Admins of your organisation can read it."
        maxLength={COMMENT_MAX}
        {...form.field('comment')}
      />
    </FormDialog>
  );
}

/** Thumbs up is saved at once; thumbs down asks what was wrong first. Either may be changed later. */
export function FeedbackButtons({ conversationId, messageId, feedback, onSaved }: Props) {
  const toast = useToast();
  const action = useAction(() => undefined);
  const [commenting, setCommenting] = useState(false);
  const save = async (rating: Feedback['rating'], comment?: string) => onSaved(await api.sendFeedback(conversationId, messageId, comment ? { rating, comment } : { rating }));
  return (
    <>
      <button
        type="button"
        class="icon-toggle"
        aria-pressed={feedback?.rating === 'up'}
        aria-label="Helpful"
        title="Helpful"
        disabled={action.busy !== null}
        onClick={() => void action.run('up', () => save('up'), THANKS)}
      >
        <Thumb />
      </button>
      <button type="button" class="icon-toggle" aria-pressed={feedback?.rating === 'down'} aria-label="Not helpful" title="Not helpful" onClick={() => setCommenting(true)}>
        <Thumb down />
      </button>
      {commenting && (
        <CommentDialog
          initial={feedback?.rating === 'down' ? (feedback.comment ?? '') : ''}
          onClose={() => setCommenting(false)}
          send={async (comment) => {
            await save('down', comment);
            toast.success(THANKS);
          }}
        />
      )}
    </>
  );
}
