import { useId } from 'preact/hooks';
import type { EmbeddingsStatus, RetrievalMode } from '../api.ts';

export const modeLabels: Record<RetrievalMode, string> = {
  hybrid: 'Hybrid (keywords + meaning)',
  keyword: 'Keyword',
  vector: 'Meaning only (vector)',
};

const MODES: readonly RetrievalMode[] = ['hybrid', 'keyword', 'vector'];

export const needsEmbeddings = (mode: RetrievalMode) => mode !== 'keyword';

/** The usable mode: anything but keyword needs an embedding model. */
export const effectiveMode = (mode: RetrievalMode, embeddings: EmbeddingsStatus): RetrievalMode =>
  embeddings.available || !needsEmbeddings(mode) ? mode : 'keyword';

interface Props {
  label: string;
  value: RetrievalMode;
  onValue(mode: RetrievalMode): void;
  embeddings: EmbeddingsStatus;
}

/** Retrieval mode picker; modes that need embeddings stay listed but disabled, with the reason. */
export function ModeSelect({ label, value, onValue, embeddings }: Props) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} value={value} aria-describedby={embeddings.available ? undefined : `${id}-hint`} onChange={(e) => onValue(e.currentTarget.value as RetrievalMode)}>
        {MODES.map((m) => (
          <option key={m} value={m} disabled={!embeddings.available && needsEmbeddings(m)}>
            {modeLabels[m]}
          </option>
        ))}
      </select>
      {!embeddings.available && (
        <p class="field-hint" id={`${id}-hint`}>
          Hybrid and meaning-based search need an embedding model, and none is installed.
        </p>
      )}
    </div>
  );
}
