import { useState } from 'preact/hooks';
import { api, type Settings } from '../api.ts';
import { useForm } from '../hooks/use-form.ts';
import { useToast } from '../hooks/use-toast.ts';
import { NumberField } from './field.tsx';
import { Form } from './form.tsx';

const MIN_SECONDS = 5;
const MAX_SECONDS = 300;

/** How long a spoken answer may take: the voice says the best sentences that fit, the screen shows the whole answer. */
export function VoiceSettingsForm({ settings, canEdit }: { settings: Settings; canEdit: boolean }) {
  const toast = useToast();
  const [saved, setSaved] = useState(settings.voice);
  const form = useForm({
    initial: { answerSeconds: String(saved.answerSeconds) },
    validate: (v) => {
      const n = Number(v.answerSeconds);
      return { answerSeconds: /^\d+$/.test(v.answerSeconds) && n >= MIN_SECONDS && n <= MAX_SECONDS ? undefined : `Enter a whole number of seconds from ${MIN_SECONDS} to ${MAX_SECONDS}.` };
    },
    submit: async (v) => {
      const next = await api.updateSettings({ voice: { answerSeconds: Number(v.answerSeconds) } });
      setSaved(next.voice);
      toast.success(`Saved. Spoken answers now take about ${next.voice.answerSeconds} s.`);
    },
  });
  const hint = 'About how long the voice speaks an answer: the sentences that answer the question, then where they are from. The chat shows the whole answer and its sources.';
  if (!canEdit) {
    return (
      <p>
        Spoken answers take about <strong>{saved.answerSeconds} s</strong>. <span class="muted">{hint} Only admins can change it.</span>
      </p>
    );
  }
  return (
    <Form form={form} submitLabel="Save">
      <NumberField label="Spoken answer length (seconds)" hint={hint} min={MIN_SECONDS} max={MAX_SECONDS} {...form.field('answerSeconds')} />
    </Form>
  );
}
