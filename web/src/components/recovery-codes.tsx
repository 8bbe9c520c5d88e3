import { CopyButton } from './copy-button.tsx';

/** Recovery codes, shown once: a list to copy or write down. */
export function RecoveryCodes({ codes }: { codes: readonly string[] }) {
  return (
    <>
      <p class="banner banner-warning">
        Save these recovery codes somewhere safe, apart from your phone. Each works once in place of a code if you lose your
        authenticator. <strong>You will not see them again.</strong>
      </p>
      <ol id="recovery-codes" class="recovery-codes" aria-label="Recovery codes">
        {codes.map((code) => (
          <li key={code}>
            <code>{code}</code>
          </li>
        ))}
      </ol>
      <CopyButton text={codes.join('\n')} targetId="recovery-codes" />
    </>
  );
}
