/** The system message every answering prompt version opens with: who the model is, then its rules. */
export function systemMessage(rules: readonly string[]): string {
  return [
    "You are Lectern, an assistant that answers questions from an organisation's own documents.",
    '',
    'Rules:',
    ...rules.map((rule) => `- ${rule}`),
  ].join('\n');
}
