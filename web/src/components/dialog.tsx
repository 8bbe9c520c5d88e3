import type { ComponentChildren } from 'preact';
import { useId, useLayoutEffect, useRef } from 'preact/hooks';

interface Props {
  title: string;
  onClose(): void;
  children: ComponentChildren;
}

/**
 * Modal built on the native <dialog>: showModal() gives us the top layer, an inert background and
 * a focus trap for free. Mount it only while open; unmounting closes it and returns focus.
 */
export function Dialog({ title, onClose, children }: Props) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();

  useLayoutEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    dialog.showModal();
    // Forms start at their first field; read-only dialogs at the title so it is announced.
    const target = dialog.querySelector<HTMLElement>('input, select, textarea') ?? dialog.querySelector<HTMLElement>('h2');
    target?.focus();
    return () => {
      if (dialog.open) dialog.close();
      // The opener may be gone (e.g. the row was deleted); fall back to the page heading.
      const fallback = document.querySelector<HTMLElement>('main h1');
      (opener?.isConnected ? opener : fallback)?.focus();
    };
  }, []);

  return (
    <dialog
      ref={ref}
      class="dialog"
      aria-labelledby={titleId}
      onCancel={(e) => {
        // Let the parent own the open state so Escape and the close button behave the same.
        e.preventDefault();
        onClose();
      }}
    >
      <div class="dialog-header">
        <h2 id={titleId} tabIndex={-1}>
          {title}
        </h2>
        <button type="button" class="icon-button" aria-label="Close dialog" onClick={onClose}>
          <span aria-hidden="true">×</span>
        </button>
      </div>
      <div class="dialog-body">{children}</div>
    </dialog>
  );
}
