import { useState } from 'preact/hooks';
import { Button } from './button.tsx';

interface Props {
  text: string;
  /** Element holding `text`, selected when the clipboard API is unavailable (plain-HTTP LAN access). */
  targetId: string;
}

function selectContents(id: string): boolean {
  const el = document.getElementById(id);
  const selection = window.getSelection();
  if (!el || !selection) return false;
  const range = document.createRange();
  range.selectNodeContents(el);
  selection.removeAllRanges();
  selection.addRange(range);
  // Deprecated, but it is the only copy path in insecure contexts, where navigator.clipboard is missing.
  return document.execCommand('copy');
}

export function CopyButton({ text, targetId }: Props) {
  const [status, setStatus] = useState('');

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setStatus('Copied to the clipboard.');
    } catch {
      setStatus(selectContents(targetId) ? 'Copied to the clipboard.' : 'Selected. Press Ctrl+C (or ⌘C) to copy.');
    }
  };

  return (
    <div class="copy">
      <Button variant="primary" onClick={() => void copy()}>
        Copy
      </Button>
      <span class="copy-status" role="status">
        {status}
      </span>
    </div>
  );
}
