import { useRef, useState } from 'preact/hooks';
import { Button } from './button.tsx';

interface Props {
  onFiles(files: File[]): void;
  hint: string;
}

/**
 * Drag-and-drop target around a real file input. The input is hidden, not removed: the visible
 * button opens it, so keyboard, touch and assistive technology get the platform's own picker.
 * Any file is offered; the server decides the type by content.
 */
export function UploadZone({ onFiles, hint }: Props) {
  const input = useRef<HTMLInputElement>(null);
  const [over, setOver] = useState(false);
  const hasFiles = (e: DragEvent) => Boolean(e.dataTransfer?.types.includes('Files'));

  return (
    <div
      class={over ? 'upload-zone upload-zone-over' : 'upload-zone'}
      onDragEnter={(e) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        setOver(true);
      }}
      onDragOver={(e) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
      }}
      onDragLeave={(e) => {
        // Leaving for a child element is not leaving the zone.
        if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setOver(false);
      }}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        onFiles([...(e.dataTransfer?.files ?? [])]);
      }}
    >
      <p class="upload-zone-title">Drop files here</p>
      <p class="upload-zone-or">or</p>
      <Button variant="primary" class="upload-zone-button" onClick={() => input.current?.click()}>
        Choose files…
      </Button>
      <p class="field-hint">{hint}</p>
      <input
        ref={input}
        type="file"
        multiple
        class="visually-hidden"
        tabIndex={-1}
        aria-hidden="true"
        onChange={(e) => {
          const files = [...(e.currentTarget.files ?? [])];
          // Reset so choosing the same file again still fires a change.
          e.currentTarget.value = '';
          onFiles(files);
        }}
      />
    </div>
  );
}
